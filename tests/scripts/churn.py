# A target whose threads come and go, for pyflame's signal tests
# (tests/signals.rs); valid on Python 2.7 and every 3.x, ASCII only.
#
# A spawner thread starts short-lived threads two at a time, forever; each runs
# Python code in short_lived() for a few milliseconds and ends. The main thread
# prints READY once the churn has begun, then blocks in a read of stdin (the
# protocol of tests/util/target.rs).

import sys
import time

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

PY2 = sys.version_info[0] == 2
STARTED = [0]


def short_lived(done):
    total = 0
    for i in range(20000):
        total += i  # MARK:short_lived
    done.release()


def spawner():
    while True:
        locks = []
        for _ in range(2):
            done = thread_mod.allocate_lock()
            done.acquire()
            thread_mod.start_new_thread(short_lived, (done,))
            locks.append(done)
        for done in locks:
            done.acquire()
        STARTED[0] += 2


def main():
    thread_mod.start_new_thread(spawner, ())
    deadline = time.time() + 60
    while STARTED[0] < 10:
        if time.time() > deadline:
            sys.stderr.write("churn.py: no threads started\n")
            sys.exit(3)
        time.sleep(0.01)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    stdin_read = sys.stdin.read if PY2 else sys.stdin.buffer.read
    stdin_read(1)


if __name__ == "__main__":
    main()
