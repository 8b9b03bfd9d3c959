# A busy target that counts signals, for pyflame's conduct tests
# (tests/conduct/behind.rs); valid on Python 2.7 and every 3.x (free-threaded
# builds too), ASCII only.
#
#   sig_counter.py [SLEEPERS] [--ack]
#
# Starts SLEEPERS threads (default 1) that block on a lock forever, so they
# are asleep and never hold the GIL: a profiler samples the main thread only
# (with _thread, which does not wait for each thread to run: 2,000 threading
# starts take a minute on a loaded machine). Once they all run it prints READY
# and spins in <module> -> main -> spin().
#
# Python handlers count each SIGUSR1 and each SIGUSR2 they run (a test sends
# SIGUSR1 to the process, which the kernel gives to the main thread unless it
# is stopped, and SIGUSR2 to a sleeper with tgkill: CPython's C-level handler
# runs in that thread, the Python handler in the main thread). Python runs one
# handler call for all the signals of a kind that arrived since it last
# looked; on 3.x the C-level handler also writes one byte, the signal's
# number, per signal it receives to the wakeup fd (signal.set_wakeup_fd), so
# the deliveries are counted too (2.7 writes one byte per batch: -1 there).
#
# With --ack, each SIGUSR1 or SIGUSR2 handler run writes "ACK <signal number>
# <runs of that signal so far>" at once. On SIGHUP a handler writes
#   COUNT <SIGUSR1 runs> <SIGUSR2 runs> <SIGUSR1 received> <SIGUSR2 received>
# (so far). On SIGTERM a handler writes the same line with TERM for COUNT, at
# once, and the process exits 0. Nothing else is written, so the test can time
# the SIGTERM handler by that line.

import os
import signal
import sys
import time

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

HANDLED = {signal.SIGUSR1: 0, signal.SIGUSR2: 0}
DELIVERED = {signal.SIGUSR1: 0, signal.SIGUSR2: 0}
PY2 = sys.version_info[0] == 2
WAKEUP = [None]
ACK = "--ack" in sys.argv[1:]
STARTED = []
BLOCK = thread_mod.allocate_lock()
BLOCK.acquire()


def count_wakeups():
    if PY2:
        return
    while True:
        try:
            chunk = os.read(WAKEUP[0], 4096)
        except OSError:  # empty: EAGAIN
            return
        for number in DELIVERED:
            DELIVERED[number] += chunk.count(bytes([number]))


def on_usr(signum, frame):
    HANDLED[signum] += 1
    if ACK:
        line = "ACK %d %d\n" % (signum, HANDLED[signum])
        os.write(1, line.encode("ascii"))


def report(word):
    # os.write, not sys.stdout: a handler may run inside a buffered write.
    count_wakeups()
    counts = [word]
    for table in (HANDLED, DELIVERED):
        for number in (signal.SIGUSR1, signal.SIGUSR2):
            counts.append(-1 if PY2 and table is DELIVERED else table[number])
    os.write(1, ("%s %d %d %d %d\n" % tuple(counts)).encode("ascii"))


def on_hup(signum, frame):
    report("COUNT")


def on_term(signum, frame):
    report("TERM")
    os._exit(0)


def sleeper():
    STARTED.append(True)
    BLOCK.acquire()  # never released


def spin():
    n = 0
    while True: n += 1  # MARK:spin


def main():
    numbers = [a for a in sys.argv[1:] if a != "--ack"]
    sleepers = int(numbers[0]) if numbers else 1
    for number in (signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, on_usr)
    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_term)
    if not PY2:
        WAKEUP[0], write_end = os.pipe()
        os.set_blocking(WAKEUP[0], False)
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end)
    if sleepers > 1:
        thread_mod.stack_size(256 * 1024)
    for _ in range(sleepers):
        thread_mod.start_new_thread(sleeper, ())
    while len(STARTED) < sleepers:
        time.sleep(0.001)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    spin()  # MARK:main


if __name__ == "__main__":
    main()  # MARK:module
