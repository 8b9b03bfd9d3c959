# The target of tests/native.rs: the main thread in C, called from Python, and threads
# waiting where an operator would look: a sleep, a lock, the GIL.
#
#   native.py ctypes LIB   main -> call_spin -> LIB's spin_outer -> spin_inner (ctypes)
#   native.py ext DIR      main -> via_c -> nativeext.call -> inner_py -> nativeext.spin
#                          (DIR holds the nativeext module; it spins holding the GIL, and the
#                          thread `waiter` waits for the GIL)
#   native.py clock        main -> clock: time.time() for ever (in the vdso, mostly)
#   native.py perf         main -> perf -> perf_outer -> perf_spin, through CPython's perf
#                          trampolines (3.12+; prints UNSUPPORTED where they are not built)
#
# Every thread notes itself before it blocks; READY comes when all have, then SPINNING
# right before the main thread enters C for good. A thread `collector` waits inside the
# garbage collector (3.x with a GIL). Valid on Python 2.7 and every 3.x.
import gc
import sys
import threading
import time

LOCK = threading.Lock()
started = []


def sleeper():
    started.append("sleeper")
    time.sleep(100000)  # MARK:sleep


def locked():
    started.append("locked")
    LOCK.acquire()  # MARK:lock


def waiter():
    started.append("waiter")
    while True:
        time.sleep(0.001)  # MARK:wait


def in_gc(phase, info):
    if phase == "start" and threading.current_thread().name == "collector":
        started.append("collector")
        time.sleep(100000)  # MARK:gc_wait


def collector():
    gc.callbacks.append(in_gc)
    gc.collect()  # MARK:collect


def call_spin(lib):
    print("SPINNING")
    sys.stdout.flush()
    lib.spin_outer()  # MARK:call_spin


def inner_py():
    import nativeext
    print("SPINNING")
    sys.stdout.flush()
    nativeext.spin()  # MARK:inner_py


def via_c():
    import nativeext
    nativeext.call(inner_py)  # MARK:via_c


def clock():
    print("SPINNING")
    sys.stdout.flush()
    while True:
        time.time()  # MARK:clock


def perf_spin():
    n = 0
    while True:
        n += 1  # MARK:perf_spin


def perf_outer():
    perf_spin()  # MARK:perf_outer


def perf():
    try:
        sys.activate_stack_trampoline("perf")
    except (AttributeError, ValueError, RuntimeError) as e:
        print("UNSUPPORTED %s" % e)
        sys.stdout.flush()
        time.sleep(100000)
    print("SPINNING")
    sys.stdout.flush()
    perf_outer()  # MARK:perf


def main():
    LOCK.acquire()
    threads = [sleeper, locked]
    if sys.argv[1] == "ext":
        threads.append(waiter)
        sys.path.insert(0, sys.argv[2])
        import nativeext  # noqa: F401 (loaded before READY)
    # A thread in the garbage collector, held in a callback (3.x; not free-threaded builds,
    # whose collector stops every other thread).
    free_threaded = getattr(sys, "_is_gil_enabled", lambda: True)() is False
    if sys.version_info[0] >= 3 and not free_threaded:
        threads.append(collector)
    for target in threads:
        t = threading.Thread(target=target, name=target.__name__)
        t.daemon = True
        t.start()
    while len(started) < len(threads):
        time.sleep(0.01)
    time.sleep(0.2)
    print("READY")
    sys.stdout.flush()
    sys.stdin.readline()
    if sys.argv[1] == "ctypes":
        import ctypes
        call_spin(ctypes.CDLL(sys.argv[2]))  # MARK:main_ctypes
    elif sys.argv[1] == "clock":
        clock()  # MARK:main_clock
    elif sys.argv[1] == "perf":
        perf()  # MARK:main_perf
    else:
        via_c()  # MARK:main_ext


main()  # MARK:module
