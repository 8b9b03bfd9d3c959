# A target with known, frozen Python stacks for pyflame's end-to-end tests.
#
# Valid on Python 2.7 and every 3.x (no f-strings, no 3-only syntax; this file
# stays ASCII so that 2.7 parses it without a coding line).
#
# Every line where the tests expect a frame carries a marker comment. The script
# finds its own marker lines by reading its source, and tests/util/marks.rs
# parses the same markers, so editing this file never breaks a line number.
#
# Threads, once READY has been printed and the main thread is blocked in read(0):
#   main     <module> -> main -> Widget.method -> outer -> inner -> wrapper ->
#            decorated -> <lambda> -> gen -> [3.x: cafe, CJK, astral names from
#            unicode_names.py] -> recurse x (DEPTH + 1) -> wait_for_test, blocked
#            in a read of stdin (fd 0);
#   spinner  spin(), looping forever on ONE line while holding the GIL;
#   blocked  blocked(), in LOCK.acquire() (LOCK is held by main forever);
#   sleepy   sleepy(), in time.sleep(3600).
# The threads are started with the low-level thread module, so that their only
# Python frame is their own function (threading.Thread adds run/_bootstrap
# frames whose lines change between versions).
#
# Who holds the GIL, and how it gets there (the order matters):
# * The spinner must hold the GIL whenever it is sampled. In 2.7 the running
#   thread drops the GIL and sets _PyThreadState_Current to NULL every
#   "check interval" (100 bytecodes), so a sample could catch nobody holding it;
#   sys.setcheckinterval(2**31 - 1) makes that window once every few tens of
#   seconds. In 3.x the holder only drops the GIL when another thread has been
#   waiting for `switchinterval`; we set it to 1000 s so that even a stray
#   waiter cannot take the GIL away from the spinner during a test.
# * With such an interval, any thread that needs the GIL while the spinner
#   spins is stuck for a long time (2.7: until the 2**31 ticks run out; 3.x:
#   1000 s). So every other thread must be inside its blocking call BEFORE the
#   spinner starts: the spinner first waits on GATE (a lock held by main).
#   Main checks with sys._current_frames() that the blocked and sleepy threads
#   are at their final lines and the spinner is waiting at the gate, prints
#   READY (a write that may release the GIL, harmless while nobody spins), then
#   raises the interval, releases GATE and goes straight into the read. Between
#   GATE.release() and the read, main never releases the GIL (2.7: the huge
#   check interval; 3.x: no blocking call, and the woken spinner would have to
#   wait 1000 s before asking main to drop it), so the spinner can only get the
#   GIL when main's read releases it, and then keeps it.
# * Consequence: after READY the spinner still has a few bytecodes to run
#   (return from GATE.acquire, `n = 0`) before reaching its loop line. The
#   harness (tests/util/stacks.rs) waits until main is blocked in read(0) AND
#   the process has burnt a few clock ticks of CPU since then: only the spinner
#   can burn CPU at that point, so it is in its loop, holding the GIL.
# * After stdin closes, main cannot get the GIL back for a long time: the
#   harness kills the target (SIGKILL) instead of waiting for it to exit.
#
# Self-check mode (`stacks.py --self-check`, used by the harness's own tests):
# the intervals are left alone and main, after opening the gate, waits for the
# spinner to reach its loop line and prints every thread's stack as Python
# itself sees it (dump format, between SELFCHECK BEGIN/END) before READY, so
# the harness can check its expectations without pyflame.

import os
import sys
import time
from functools import partial

from marks import find_marks

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

PY2 = sys.version_info[0] == 2
DEPTH = 500  # recurse() frames at the recursive-call line
TIMEOUT = 60.0  # seconds to wait for the other threads to get in place
SELF_CHECK = "--self-check" in sys.argv[1:]


def fail(message):
    sys.stderr.write("stacks.py: %s\n" % message)
    sys.stderr.flush()
    os._exit(3)


MARKS = find_marks(os.path.abspath(__file__))
LOCK = thread_mod.allocate_lock()  # held by main forever; blocked() waits on it
GATE = thread_mod.allocate_lock()  # held by main until the end; spin() waits on it
RUN = [True]
THREADS = {}  # role -> thread ident


# ---- the three other threads -------------------------------------------------

def spin():
    GATE.acquire()  # MARK:spin_gate
    n = 0
    while RUN[0]: n += 1  # MARK:spin


def blocked():
    LOCK.acquire()  # MARK:blocked


def sleepy():
    time.sleep(3600)  # MARK:sleepy


# ---- the main thread's chain, outermost first ---------------------------------

def main():
    LOCK.acquire()
    GATE.acquire()
    THREADS["blocked"] = thread_mod.start_new_thread(blocked, ())
    THREADS["sleepy"] = thread_mod.start_new_thread(sleepy, ())
    THREADS["spinner"] = thread_mod.start_new_thread(spin, ())
    Widget().method()  # MARK:main


class Widget(object):
    def method(self):
        return outer()  # MARK:method


def outer():
    def inner():
        return decorated()  # MARK:inner
    return inner()  # MARK:outer


def traced(fn):
    def wrapper():
        return fn()  # MARK:wrapper
    return wrapper


@traced
def decorated():
    return call_gen()  # MARK:decorated


call_gen = lambda: next(gen())  # MARK:lambda


def gen():
    yield TAIL()  # MARK:gen


def recurse(n, then):
    if n == 0:
        return then()  # MARK:recurse_base
    return recurse(n - 1, then)  # MARK:recurse


def wait_for_test():
    stdin_read = sys.stdin.read if PY2 else sys.stdin.buffer.read
    blocked_at = ("blocked", MARKS["blocked"])
    sleepy_at = ("sleepy", MARKS["sleepy"])
    wait_until(blocked=blocked_at, sleepy=sleepy_at, spinner=("spin", MARKS["spin_gate"]))
    if SELF_CHECK:
        GATE.release()
        wait_until(blocked=blocked_at, sleepy=sleepy_at, spinner=("spin", MARKS["spin"]))
        print_python_view()  # MARK:self_check_view
    write("READY\n")
    if not SELF_CHECK:
        hog_the_gil()
        GATE.release()
    stdin_read(1)  # MARK:wait_read
    os._exit(0)


# ---- helpers (none of them is on a final stack) ---------------------------------

# functools.partial is implemented in C: the chain goes gen -> [unicode names]
# -> recurse without any extra Python frame (3.12 does add its hidden
# "<interpreter trampoline>" entry frame here, which profilers must skip).
if PY2:
    TAIL = partial(recurse, DEPTH, wait_for_test)
else:
    import unicode_names

    TAIL = partial(unicode_names.ENTRY, partial(recurse, DEPTH, wait_for_test))


def hog_the_gil():
    if PY2:
        sys.setcheckinterval(2 ** 31 - 1)
    else:
        sys.setswitchinterval(1000)


def wait_until(**wanted):
    # wanted: role -> (function name, line). Every thread must be in place in
    # two polls in a row; the sleep in between releases the GIL, so a thread
    # that reached its line but still waits for the GIL gets the chance to
    # enter its blocking call.
    deadline = time.time() + TIMEOUT
    in_a_row = 0
    while in_a_row < 2:
        frames = sys._current_frames()
        places = {}
        for role in wanted:
            frame = frames.get(THREADS[role])
            places[role] = frame and (frame.f_code.co_name, frame.f_lineno)
            frame = None
        frames = None
        in_a_row = in_a_row + 1 if places == wanted else 0
        if time.time() > deadline:
            fail("threads not in place after %ds: %r, wanted %r" % (TIMEOUT, places, wanted))
        time.sleep(0.01)


def write(text):
    data = text.encode("utf-8") if not PY2 else text
    out = sys.stdout if PY2 else sys.stdout.buffer
    out.write(data)
    out.flush()


def print_python_view():
    # Python's own view of the four stacks, in pyflame's dump format.
    frames = sys._current_frames()
    frames[thread_mod.get_ident()] = sys._getframe(1)  # wait_for_test
    roles = dict((ident, role) for role, ident in THREADS.items())
    roles[thread_mod.get_ident()] = "main"
    blocks = []
    for ident, role in sorted(roles.items(), key=lambda item: item[1]):
        lines = ["%d: role=%s" % (ident, role)]
        frame = frames[ident]
        while frame is not None:
            code = frame.f_code
            lines.append("%s:%s:%d" % (code.co_filename, code.co_name, frame.f_lineno))
            frame = frame.f_back
        blocks.append("\n".join(lines) + "\n")
    frames = frame = None
    write("SELFCHECK BEGIN\n" + "\n".join(blocks) + "SELFCHECK END\n")


if __name__ == "__main__":
    main()  # MARK:module
