# A Python process for pyflame's process-tree tests (tests/trees.rs) that spins in a function
# of its own name, so that a profile of several processes shows which one ran where. Valid on
# Python 2.7 and every 3.x, minimal builds too (no module beyond sys, time and the thread
# module); ASCII only.
#
#   tree_spin.py NAME SECONDS   spins in spin_NAME for SECONDS (wall clock), then exits 0;
#                               prints nothing
#   tree_spin.py NAME stdin     prints READY, spins in spin_NAME until its stdin closes (a
#                               thread reads it), then exits 0
#
# NAME is one, two or three.

import sys
import time

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

PY2 = sys.version_info[0] == 2
RUN = [True]
UNTIL = [0.0]


def running():
    # Called every 10,000 iterations (a few hundred microseconds): its frame is rare.
    if UNTIL[0]:
        return time.time() < UNTIL[0]
    return RUN[0]


def spin_one():
    while running():
        for _ in LOOP: pass  # MARK:spin_one


def spin_two():
    while running():
        for _ in LOOP: pass  # MARK:spin_two


def spin_three():
    while running():
        for _ in LOOP: pass  # MARK:spin_three


def read_stdin():
    stdin_read = sys.stdin.read if PY2 else sys.stdin.buffer.read
    while stdin_read(1):
        pass
    RUN[0] = False


LOOP = xrange(10000) if PY2 else range(10000)  # noqa: F821 (xrange on 2.7)
SPINNERS = {"one": spin_one, "two": spin_two, "three": spin_three}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SPINNERS:
        sys.stderr.write("usage: tree_spin.py one|two|three SECONDS|stdin\n")
        sys.exit(2)
    spin = SPINNERS[sys.argv[1]]
    if sys.argv[2] == "stdin":
        thread_mod.start_new_thread(read_stdin, ())
        sys.stdout.write("READY\n")
        sys.stdout.flush()
    else:
        UNTIL[0] = time.time() + float(sys.argv[2])
    spin()  # MARK:main_spin


if __name__ == "__main__":
    main()  # MARK:module
