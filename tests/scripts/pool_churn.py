# multiprocessing.Pool(2, maxtasksperchild=1) for pyflame's process-tree tests (tests/trees.rs):
# workers that exit and are replaced all the time. Valid on Python 2.7 and every 3.x whose
# build has multiprocessing; ASCII only.
#
#   pool_churn.py [EXECUTABLE]
#
# The parent maps short tasks onto the pool, four at a time, over and over: each task spins in
# churn_task for 100 ms (wall clock) and returns its worker's PID, and each worker runs one task
# and exits, so the pool starts a new one. After the first round the parent prints READY. When
# its stdin closes (a thread reads it), the parent finishes the round in progress, maps one more
# pure function (square) over range(10), prints "PIDS <pid> <pid> ..." (every worker PID that
# ran a task, sorted) and "RESULT <sum of squares> <rounds>", closes and joins the pool (which
# waits for its workers) and exits 0. EXECUTABLE, if given, is what multiprocessing runs to
# start a process (3.x: a wrapper script that starts this interpreter).

import multiprocessing
import os
import sys
import threading
import time

PY2 = sys.version_info[0] == 2
SPIN = 0.1
RUN = [True]


def churn_task(i):
    end = time.time() + SPIN
    n = 0
    while time.time() < end: n += 1  # MARK:churn_task
    return os.getpid()


def square(i):
    return i * i


def say(text):
    # os.write, not sys.stdout: the pool's handler thread forks new workers at any moment, and
    # a worker forked while this thread held sys.stdout's buffer lock would hang in the flush
    # multiprocessing makes when the worker exits (a hazard of fork() in a process with
    # threads, which CPython 3.12 warns about), pyflame or not.
    data = text.encode("ascii")
    while data:
        data = data[os.write(1, data):]


def read_stdin():
    # os.read, not sys.stdin: a worker forked while this thread held sys.stdin's buffer lock
    # would hang in multiprocessing's sys.stdin.close().
    while os.read(0, 1):
        pass
    RUN[0] = False


def main():
    if len(sys.argv) > 1 and hasattr(multiprocessing, "set_executable"):
        multiprocessing.set_executable(sys.argv[1])
    pool = multiprocessing.Pool(2, maxtasksperchild=1)
    reader = threading.Thread(target=read_stdin)
    reader.daemon = True
    reader.start()
    pids = set()
    rounds = 0
    while RUN[0]:
        pids.update(pool.map(churn_task, range(4), 1))  # MARK:map
        rounds += 1
        if rounds == 1:
            say("READY\n")
    squares = pool.map(square, range(10))
    say("PIDS %s\nRESULT %d %d\n" % (" ".join(str(p) for p in sorted(pids)), sum(squares), rounds))
    pool.close()
    pool.join()


if __name__ == "__main__":
    main()  # MARK:module
