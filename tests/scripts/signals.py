# A busy target for pyflame's signal tests (tests/signals.rs); valid on Python
# 2.7 and every 3.x, ASCII only.
#
# The main thread prints READY and spins in <module> -> main -> work(). Each
# SIGUSR1 runs a Python handler that prints "USR1 <n>" (n counts the handler
# runs). SIGTERM, SIGHUP and SIGINT are left alone (SIGTERM and SIGHUP keep
# their default action: they kill the process).
#
# A second thread reads orders from stdin, one per line; the main thread
# carries them out between two loop iterations:
#   exit       -> exit with status 0 (also on end of file);
#   exec       -> os.execv("/bin/sleep", ["sleep", "3600"]);
# and ignores any other line.

import errno
import os
import signal
import sys

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

ORDERS = []
HANDLED = [0]


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def on_usr1(signum, frame):
    # os.write, not sys.stdout: a handler may run inside sys.stdout.flush() (after
    # its write(2) returned), and re-entering the buffered stdout fails.
    HANDLED[0] += 1
    os.write(1, ("USR1 %d\n" % HANDLED[0]).encode("ascii"))


def read_orders():
    pending = b""
    while True:
        try:
            chunk = os.read(0, 4096)
        except OSError as e:  # 2.7 does not retry after a signal handler ran
            if e.errno == errno.EINTR:
                continue
            chunk = b""
        if not chunk:
            ORDERS.append("exit")
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.decode("ascii") in ("exit", "exec"):
                ORDERS.append(line.decode("ascii"))


def work():
    n = 0
    while not ORDERS: n += 1  # MARK:work
    return ORDERS[0]


def main():
    signal.signal(signal.SIGUSR1, on_usr1)
    thread_mod.start_new_thread(read_orders, ())
    write("READY\n")
    order = work()  # MARK:main_work
    if order == "exec":
        os.execv("/bin/sleep", ["sleep", "3600"])
    os._exit(0)


if __name__ == "__main__":
    main()  # MARK:module
