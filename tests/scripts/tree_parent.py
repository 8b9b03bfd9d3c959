# A Python parent with two children for pyflame's process-tree tests (tests/trees.rs): one that
# is not Python (sleep) and one that is (tree_spin.py one stdin, spinning in spin_one). Valid
# on Python 2.7 and every 3.x, minimal builds too (os, sys and time only); ASCII only.
#
#   tree_parent.py PYTHON      PYTHON runs the child (a path: the tests give the interpreter's)
#
# Prints "SLEEP <pid>" and "PYTHON <pid>" once sleep has replaced its forked copy of this
# process and the Python child spins (it said READY through a pipe), then READY, then blocks in
# a read of stdin (fd 0, which the Python child shares). When stdin closes, kills sleep, waits
# for both children and exits 0.

import os
import signal
import sys
import time


def start(argv, stdout=None):
    pid = os.fork()
    if pid == 0:
        try:
            if stdout is not None:
                os.dup2(stdout, 1)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    return pid


def read_line(fd):
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line.decode("ascii").strip()


def wait_exec(pid):
    # Until the forked child has become another program: before its exec it is a Python
    # process (a copy of this one), which a profiler of the tree rightly shows.
    deadline = time.time() + 60
    while os.readlink("/proc/%d/exe" % pid) == os.readlink("/proc/self/exe"):
        if time.time() > deadline:
            sys.stderr.write("tree_parent.py: child %d did not exec\n" % pid)
            sys.exit(3)
        time.sleep(0.01)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sleeper = start(["sleep", "120"])
    wait_exec(sleeper)
    ready_r, ready_w = os.pipe()
    child = start([sys.argv[1], "-E", "-s", "-B", os.path.join(here, "tree_spin.py"), "one",
                   "stdin"], ready_w)
    os.close(ready_w)
    said = read_line(ready_r)
    if said != "READY":
        sys.stderr.write("tree_parent.py: the Python child said %r\n" % said)
        sys.exit(3)
    sys.stdout.write("SLEEP %d\nPYTHON %d\nREADY\n" % (sleeper, child))
    sys.stdout.flush()
    while os.read(0, 1):  # MARK:parent_read
        pass
    os.kill(sleeper, signal.SIGKILL)
    os.waitpid(sleeper, 0)
    os.waitpid(child, 0)


if __name__ == "__main__":
    main()  # MARK:module
