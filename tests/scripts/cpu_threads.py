# Three CPU-bound Python threads that never block, for pyflame's conduct tests
# (tests/conduct/rates.rs, tests/conduct/ctrl_z.rs); valid on Python 2.7 and
# every 3.x (free-threaded builds too), ASCII only.
#
#   cpu_threads.py [CHECK_INTERVAL]
#
# Two threads spin in spin_worker(); once both run, the main thread prints
# READY and spins in <module> -> main -> spin_main(). None of them ever sleeps,
# waits or does I/O again: in a GIL build the GIL only passes between them, so
# a sample taken at any moment should find one of them holding it. On 2.7,
# CHECK_INTERVAL is given to sys.setcheckinterval (the bytecodes between two
# releases of the GIL; 100 by default).

import sys
import threading

RUNNING = []


def spin_worker():
    RUNNING.append(True)
    n = 0
    while True: n += 1  # MARK:spin_worker


def spin_main():
    n = 0
    while True: n += 1  # MARK:spin_main


def main():
    if len(sys.argv) > 1 and sys.version_info[0] == 2:
        sys.setcheckinterval(int(sys.argv[1]))
    for _ in range(2):
        worker = threading.Thread(target=spin_worker)
        worker.daemon = True
        worker.start()
    while len(RUNNING) < 2:
        pass
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    spin_main()  # MARK:main


if __name__ == "__main__":
    main()  # MARK:module
