"""Benchmark target: a parent that forks one busy worker and IDLE idle ones, like a gunicorn
master with its workers.

Usage: workers.py ITERATIONS IDLE
The busy worker does workload.py's CPU-bound work under the same 30-frame stack; the idle
workers block in a read of a pipe that stays empty (as idle workers wait for a connection).
The parent prints READY once every worker is forked and parked, waits for a line on stdin,
lets the busy worker go, prints the seconds its work took (timed in the worker), then ends the
idle workers, reaps them all, and exits. Works on Python 2.7 and 3.x."""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree from the import below
from workload import DEPTH, descend  # noqa: E402


def busy(iterations, ready, go, result):
    os.write(ready, b"b")
    if not os.read(go, 1):
        return  # the parent ended without a go
    start = time.time()
    for _ in range(iterations):
        # As deep as workload.py's stack: here <module>, main, fork, <lambda> and busy are the
        # frames above descend(), three more than there.
        descend(DEPTH - 5, 2000)
    os.write(result, ("%.6f\n" % (time.time() - start)).encode())


def idle(ready, wait):
    os.write(ready, b"i")
    # Returns at end of file: when the parent closes its end.
    while os.read(wait, 1):
        pass


def fork(run):
    pid = os.fork()
    if pid == 0:
        try:
            run()
        finally:
            os._exit(0)
    return pid


def main():
    iterations = int(sys.argv[1])
    idle_workers = int(sys.argv[2])
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    result_r, result_w = os.pipe()
    sys.stdout.flush()
    # Each worker closes the write ends it must not hold, so that all end with the parent.
    pids = [fork(lambda: (os.close(go_w), busy(iterations, ready_w, go_r, result_w)))]
    os.close(go_r)
    os.close(result_w)
    # Made after the busy worker is forked: only the parent and the idle workers hold it.
    wait_r, wait_w = os.pipe()
    for _ in range(idle_workers):
        pids.append(fork(lambda: (os.close(wait_w), os.close(go_w), idle(ready_w, wait_r))))
    os.close(ready_w)
    os.close(wait_r)
    parked = 0
    while parked < len(pids):
        parked += len(os.read(ready_r, len(pids) - parked))
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    sys.stdin.readline()
    os.write(go_w, b"g")
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(result_r, 64)
        if not chunk:
            raise SystemExit("workers.py: the busy worker ended without a result")
        line += chunk
    sys.stdout.write(line.decode())
    sys.stdout.flush()
    os.close(wait_w)
    for pid in pids:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
