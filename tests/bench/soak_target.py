"""Soak target: CPU work in Python on the main thread, 100 short-lived threads started and
joined a second, a Python handler counting SIGUSR1.

Usage: soak_target.py STATS_FILE
Prints READY once its handlers are installed, waits for a line on stdin, then works until it
gets SIGTERM; then it writes STATS_FILE (JSON: signals handled and when, by `clock`, units of
main-thread work, threads started and joined, seconds elapsed) and exits. Works on Python 2.7
and 3.6 to 3.15."""
import json
import os
import signal
import sys
import threading
import time

THREADS_PER_SECOND = 100
# The main thread's unit of work (about 0.1 ms here), under a few frames of its own.
UNIT = 1000
# A short-lived thread's work: a little Python, so that it is seen holding the GIL.
SMALL = 200

clock = getattr(time, "monotonic", time.time)
# When the handler ran, for the driver to tell how long after it sent each signal.
handled = []
stopping = threading.Event()
threads = {"started": 0, "joined": 0}


def on_usr1(signum, frame):
    handled.append(clock())


def on_term(signum, frame):
    stopping.set()


def leaf(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def short_lived():
    leaf(SMALL)


def spawner():
    """Starts a thread and joins it every 1/THREADS_PER_SECOND s, on an absolute schedule
    (a late one is followed by the missed ones back to back)."""
    start = clock()
    k = 0
    while not stopping.is_set():
        t = threading.Thread(target=short_lived)
        t.daemon = True
        t.start()
        threads["started"] += 1
        t.join()
        threads["joined"] += 1
        k += 1
        delay = start + float(k) / THREADS_PER_SECOND - clock()
        if delay > 0:
            time.sleep(delay)


def work():
    units = 0
    while not stopping.is_set():
        leaf(UNIT)
        units += 1
    return units


def main():
    stats = sys.argv[1]
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGTERM, on_term)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    sys.stdin.readline()
    start = clock()
    s = threading.Thread(target=spawner)
    s.daemon = True
    s.start()
    units = work()
    s.join()
    elapsed = clock() - start
    tmp = stats + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"handled": handled, "clock": clock.__name__, "units": units,
                   "started": threads["started"], "joined": threads["joined"], "elapsed": elapsed}, f)
    os.rename(tmp, stats)


if __name__ == "__main__":
    main()
