# A target with threads in uninterruptible sleep (state D), for pyflame's
# conduct tests (tests/conduct/dstate.rs); valid on Python 2.7 and every 3.x
# (free-threaded builds too), ASCII only.
#
#   dsleep.py MODE N MS PATH
#
# Starts N threads that each, over and over, wait in the kernel for MS
# milliseconds in state D, in in_d(); the main thread prints READY once they
# have started, lets them go on, then spins in <module> -> main -> spin()
# whenever it can run. (They wait for READY: in a free-threaded build,
# starting a thread while another one is in D inside posix_spawn, which runs
# without detaching its thread state, was seen to take 30 s and more on a
# loaded machine.)
# How a thread gets into state D, by MODE:
#   pydll   PATH, the library built from tests/c/dstate.c, is loaded with
#           ctypes.PyDLL: vfork_sleep() runs with the GIL held, so that thread
#           is a GIL holder in D (the main thread waits for the GIL meanwhile);
#   cdll    the same through ctypes.CDLL, which releases the GIL;
#   spawn   no ctypes (the free-threaded builds have none): os.posix_spawn,
#           which glibc implements with a vfork-like clone, of a child whose
#           first file action opens a FIFO for reading; the open blocks (and
#           the thread waits in D) until a helper process, started just
#           before, opens the FIFO for writing, MS milliseconds later. The
#           FIFOs are made in directory PATH.
# The test finds the threads in D in /proc/PID/task.

import os
import sys
import threading
import time

GO = threading.Lock()
GO.acquire()


def wait_for_go():
    GO.acquire()
    GO.release()


def with_library(call, ms):
    wait_for_go()
    time.sleep(0.05)  # let the main thread spin first
    while True:
        in_d(call, ms)  # MARK:library_loop


def in_d(call, ms):
    call(ms)  # MARK:in_d


def with_spawn(ms, fifo):
    # The FIFO's writer is a process of its own, so that a child left waiting
    # in its open() by a killed target is let go when the wait is over.
    opener = "sleep %.3f; exec 3>%s" % (ms / 1000.0, fifo)
    opens = [(os.POSIX_SPAWN_OPEN, 3, fifo, os.O_RDONLY, 0)]
    wait_for_go()
    time.sleep(0.05)

    def spawn(ms):
        writer = os.posix_spawn("/bin/sh", ["sh", "-c", opener], {})
        pid = os.posix_spawn("/bin/true", ["true"], {}, file_actions=opens)
        os.waitpid(pid, 0)
        os.waitpid(writer, 0)

    while True:
        in_d(spawn, ms)  # MARK:spawn_loop


def spin():
    n = 0
    while True: n += 1  # MARK:spin


def main():
    mode, count, ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == "spawn":
        targets = []
        for k in range(count):
            fifo = os.path.join(sys.argv[4], "fifo%d" % k)
            os.mkfifo(fifo)
            targets.append((with_spawn, (ms, fifo)))
    else:
        import ctypes
        loader = ctypes.PyDLL if mode == "pydll" else ctypes.CDLL
        library = loader(sys.argv[4])
        library.vfork_sleep.argtypes = [ctypes.c_int]
        targets = [(with_library, (library.vfork_sleep, ms))] * count
    for function, args in targets:
        thread = threading.Thread(target=function, args=args)
        thread.daemon = True
        thread.start()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    GO.release()
    spin()  # MARK:main


if __name__ == "__main__":
    main()  # MARK:module
