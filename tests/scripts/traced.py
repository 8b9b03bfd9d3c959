# A command for pyflame's trace mode (-t) tests (tests/trace.rs); valid on
# Python 2.7 and every 3.x, ASCII only. Marker comments are parsed by
# tests/util/marks.rs.
#
# It prints HELLO (the tests look for it in pyflame's stdout, before the
# profile), spins for a while in work(), then ends according to its arguments:
#   traced.py exit N   exits with status N;
#   traced.py kill     kills itself with SIGKILL;
#   traced.py fork     forks three children one after the other; each spins in
#                      child_work() and exits while the parent spins in
#                      parent_work() (so SIGCHLD arrives while it is sampled);
#                      then the parent spins in after_children() and exits 5.
# Nothing is written to stderr.

import os
import signal
import sys
import time

HELLO = "traced.py says hello"
WORK = 0.5  # seconds


def spin(seconds):
    end = time.time() + seconds
    n = 0
    while time.time() < end: n += 1  # MARK:spin


def work():
    spin(WORK)  # MARK:work


def child_work():
    spin(0.1)  # MARK:child_work


def parent_work():
    spin(0.2)  # MARK:parent_work


def after_children():
    spin(WORK)  # MARK:after_children


def forking():
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            child_work()
            os._exit(0)
        parent_work()  # MARK:forking_parent
        os.waitpid(pid, 0)
    after_children()  # MARK:forking_after
    return 5


def main():
    sys.stdout.write(HELLO + "\n")
    sys.stdout.flush()
    mode = sys.argv[1]
    if mode == "fork":
        return forking()  # MARK:main_fork
    work()  # MARK:main_work
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return int(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())  # MARK:module
