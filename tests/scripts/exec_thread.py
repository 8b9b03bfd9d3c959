# A target that calls exec() from a thread that is not its main thread, for
# pyflame's conduct tests (tests/conduct/exec.rs); valid on Python 2.7 and
# every 3.x (free-threaded builds too), ASCII only.
#
#   exec_thread.py PYTHON STATUS [--recheck]
#
# The main thread and two more threads spin in Python (spin_main, spin_other).
# READY is printed once they all run; then a fourth thread waits until the
# process is traced (TracerPid in /proc/self/status), sleeps a random 0.05 to
# 0.5 s, then (with --recheck: as soon as it is traced again, busy-polling)
# prints "EXEC <TracerPid> <delay>" and calls
#   os.execv(PYTHON, [PYTHON, "-E", "-s", "-B", "-c", NEW_PROGRAM, STATUS])
# PYTHON is the interpreter's command as the test knows it (for some builds a
# script that starts the interpreter: sys.executable cannot be run alone).
# The new program prints "NEW PROGRAM <pid>", spins for 0.3 s in its
# <module> (co_filename "<string>") and exits with STATUS.

import os
import sys
import threading
import time

NEW_PROGRAM = "\n".join([
    "import os, sys, time",
    "sys.stdout.write('NEW PROGRAM %d\\n' % os.getpid())",
    "sys.stdout.flush()",
    "end = time.time() + 0.3",
    "n = 0",
    "while time.time() < end: n += 1",
    "sys.exit(int(sys.argv[1]))",
])

RUNNING = {}


def random_delay():
    # 0.05 to 0.5 s; os.urandom, as the free-threaded builds here lack random.
    high, low = os.urandom(2)[0:1], os.urandom(2)[1:2]
    return 0.05 + 0.45 * (ord(high) * 256 + ord(low)) / 65535.0


def tracer():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


def spin_other(name):
    RUNNING[name] = True
    n = 0
    while True: n += 1  # MARK:spin_other


def exec_later(python, status, recheck):
    while not tracer():
        time.sleep(0.001)
    delay = random_delay()
    time.sleep(delay)
    seen = tracer()
    while recheck and not seen:
        seen = tracer()
    os.write(1, ("EXEC %d %.3f\n" % (seen, delay)).encode("ascii"))
    os.execv(python, [python, "-E", "-s", "-B", "-c", NEW_PROGRAM, status])


def spin_main():
    n = 0
    while True: n += 1  # MARK:spin_main


def main():
    python, status = sys.argv[1], sys.argv[2]
    recheck = "--recheck" in sys.argv[3:]
    for name in ("a", "b"):
        worker = threading.Thread(target=spin_other, args=(name,))
        worker.daemon = True
        worker.start()
    while len(RUNNING) < 2:
        time.sleep(0.001)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    execer = threading.Thread(target=exec_later,
                              args=(python, status, recheck))
    execer.daemon = True
    execer.start()
    spin_main()  # MARK:main


if __name__ == "__main__":
    main()  # MARK:module
