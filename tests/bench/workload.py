"""Benchmark target: a fixed amount of CPU-bound work under a 30-frame stack.

Usage: workload.py ITERATIONS [IDLE_THREADS]
Prints READY once started (and its idle threads are parked), waits for a line on stdin, does
the work, prints the seconds it took, exits. Works on Python 2.7 and 3.x."""
import sys
import threading
import time

DEPTH = 30


def leaf(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def descend(depth, n):
    if depth <= 1:
        return leaf(n)
    return descend(depth - 1, n)


def main():
    iterations = int(sys.argv[1])
    idle = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    stop = threading.Event()
    for _ in range(idle):
        t = threading.Thread(target=stop.wait)
        t.daemon = True
        t.start()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    sys.stdin.readline()
    start = time.time()
    for _ in range(iterations):
        # descend() itself is frame 2 (after <module> and main); 28 more levels.
        descend(DEPTH - 2, 2000)
    sys.stdout.write("%.6f\n" % (time.time() - start))
    sys.stdout.flush()
    stop.set()


if __name__ == "__main__":
    main()
