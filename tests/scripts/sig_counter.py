# A busy target that counts signals, for pyflame's conduct tests
# (tests/conduct/behind.rs); valid on Python 2.7 and every 3.x (free-threaded
# builds too), ASCII only.
#
#   sig_counter.py [IDLE_THREADS]
#
# Starts IDLE_THREADS threads (default 0) that block on a lock forever (so
# they are asleep), then prints READY and spins in <module> -> main -> spin().
# A Python handler counts each SIGUSR1 it runs; on SIGUSR2 a handler writes
# "COUNT <SIGUSR1 handled so far>". On SIGTERM the handler writes
# "TERM <SIGUSR1 handled so far>" at once and the process exits 0. Nothing else
# is written, so the test can time the SIGTERM handler by that line.

import os
import signal
import sys
import threading

HANDLED = [0]
BLOCK = threading.Lock()
BLOCK.acquire()


def on_usr1(signum, frame):
    HANDLED[0] += 1


def on_usr2(signum, frame):
    os.write(1, ("COUNT %d\n" % HANDLED[0]).encode("ascii"))


def on_term(signum, frame):
    # os.write, not sys.stdout: a handler may run inside a buffered write.
    os.write(1, ("TERM %d\n" % HANDLED[0]).encode("ascii"))
    os._exit(0)


def sleeper():
    BLOCK.acquire()  # never released


def spin():
    n = 0
    while True: n += 1  # MARK:spin


def main():
    idle = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGTERM, on_term)
    if idle:
        threading.stack_size(256 * 1024)
    for _ in range(idle):
        thread = threading.Thread(target=sleeper)
        thread.daemon = True
        thread.start()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    spin()  # MARK:main


if __name__ == "__main__":
    main()  # MARK:module
