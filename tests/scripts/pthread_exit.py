# A process whose main thread has called pthread_exit() while its other
# threads run on, for pyflame's conduct tests (tests/conduct/pthread_exit.rs);
# valid on Python 2.7 and every 3.x that has ctypes, ASCII only.
#
# Two threads spin in Python, in worker_a() and worker_b(). Once both run,
# the main thread calls pthread_exit(NULL) through ctypes.CDLL (which releases
# the GIL first): the main thread ends, the process lives on, and its
# thread-group leader shows as a zombie in /proc. worker_a then waits until
# it does, prints READY, and goes back to spinning.

import ctypes
import os
import sys
import threading
import time

RUNNING = []


def leader_state():
    with open("/proc/%d/stat" % os.getpid()) as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def worker_a():
    RUNNING.append("a")
    while leader_state() != "Z":
        time.sleep(0.001)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    n = 0
    while True: n += 1  # MARK:worker_a


def worker_b():
    RUNNING.append("b")
    n = 0
    while True: n -= 1  # MARK:worker_b


def end_main_thread():
    libc = ctypes.CDLL(None)
    libc.pthread_exit(None)  # MARK:pthread_exit


def main():
    for function in (worker_a, worker_b):
        thread = threading.Thread(target=function)
        thread.daemon = True
        thread.start()
    while len(RUNNING) < 2:
        time.sleep(0.001)
    end_main_thread()  # MARK:main


if __name__ == "__main__":
    main()  # MARK:module
