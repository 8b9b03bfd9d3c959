# multiprocessing.Pool(3) for pyflame's process-tree tests (tests/trees.rs); valid on Python 2.7
# and every 3.x whose build has multiprocessing (any start method: fork, or 3.14's forkserver,
# where the workers are the forkserver's children); ASCII only.
#
#   pool.py [EXECUTABLE]
#
# The parent gives the pool three tasks that never end, so each worker takes exactly one and
# spins in a function of its own: spin_a, spin_b or spin_c. Each worker sends its function's
# name and its PID through a queue; the parent prints "WORKER <function> <pid>" for each, then
# READY, then spins in parent_wait until its stdin closes (a thread reads it), and terminates
# the pool. A worker exits when the parent has gone. EXECUTABLE, if given, is what
# multiprocessing runs to start a process (3.x: a wrapper script that starts this interpreter).

import multiprocessing
import os
import sys
import threading

PY2 = sys.version_info[0] == 2
LOOP = xrange(10000) if PY2 else range(10000)  # noqa: F821 (xrange on 2.7)
RUN = [True]
WORKER = {}


def init_worker(queue, parent):
    WORKER["queue"] = queue
    WORKER["parent"] = parent


def alive():
    # Called every 10,000 iterations: its frame is rare. Once the parent has gone (and been
    # reaped), the worker exits at once (returning would make the pool write to closed pipes).
    try:
        os.kill(WORKER["parent"], 0)
    except OSError:
        os._exit(0)
    return True


def spin_a():
    while alive():
        for _ in LOOP: pass  # MARK:spin_a


def spin_b():
    while alive():
        for _ in LOOP: pass  # MARK:spin_b


def spin_c():
    while alive():
        for _ in LOOP: pass  # MARK:spin_c


SPINNERS = {"spin_a": spin_a, "spin_b": spin_b, "spin_c": spin_c}


def run_task(name):
    WORKER["queue"].put((name, os.getpid()))
    SPINNERS[name]()  # MARK:run_task


def read_stdin():
    # os.read, not sys.stdin: a worker forked while this thread held sys.stdin's buffer lock
    # would hang in multiprocessing's sys.stdin.close().
    while os.read(0, 1):
        pass
    RUN[0] = False


def parent_wait():
    n = 0
    while RUN[0]: n += 1  # MARK:parent_wait


def main():
    if len(sys.argv) > 1 and hasattr(multiprocessing, "set_executable"):
        multiprocessing.set_executable(sys.argv[1])
    queue = multiprocessing.Queue()
    pool = multiprocessing.Pool(3, init_worker, (queue, os.getpid()))
    for name in sorted(SPINNERS):
        pool.apply_async(run_task, (name,))
    seen = {}
    while len(seen) < 3:
        name, pid = queue.get(True, 60)
        seen[name] = pid
    for name in sorted(seen):
        sys.stdout.write("WORKER %s %d\n" % (name, seen[name]))
    reader = threading.Thread(target=read_stdin)
    reader.daemon = True
    reader.start()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    parent_wait()  # MARK:main_wait
    pool.terminate()
    pool.join()


if __name__ == "__main__":
    main()  # MARK:module
