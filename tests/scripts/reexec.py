# A command that re-executes itself after start-up, for pyflame's conduct
# tests of trace mode (tests/conduct/pthread_exit.rs); valid on Python 2.7 and
# every 3.x (free-threaded builds too), ASCII only.
#
#   reexec.py PYTHON
#
# The first image prints "FIRST <pid>", spins for 0.3 s in first_image(),
# then calls os.execv(PYTHON, [PYTHON, "-E", "-s", "-B", <this file>, PYTHON,
# "--second"]) from its main thread (PYTHON is the interpreter's command as the
# test knows it: for some builds a script that starts the interpreter). The
# second image prints "SECOND <pid>", spins for 1 s in second_image() and
# exits with status 5.

import os
import sys
import time


def spin(seconds):
    end = time.time() + seconds
    n = 0
    while time.time() < end: n += 1  # MARK:spin


def first_image():
    spin(0.3)  # MARK:first_image


def second_image():
    spin(1.0)  # MARK:second_image


def say(word):
    sys.stdout.write("%s %d\n" % (word, os.getpid()))
    sys.stdout.flush()


def main():
    python = sys.argv[1]
    if sys.argv[2:] == ["--second"]:
        say("SECOND")
        second_image()  # MARK:main_second
        sys.exit(5)
    say("FIRST")
    first_image()  # MARK:main_first
    script = os.path.abspath(__file__)
    os.execv(python, [python, "-E", "-s", "-B", script, python, "--second"])


if __name__ == "__main__":
    main()  # MARK:module
