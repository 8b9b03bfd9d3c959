# Busy targets with known stacks for pyflame's recording tests (tests/record.rs).
# Valid on Python 2.7 and every 3.x; ASCII only. Lines where the tests expect a
# frame carry marker comments (parsed by tests/util/marks.rs).
#
#   spinner.py chain  main prints READY and spins forever in
#                     <module> -> main -> chain_root -> descend x (DEPTH + 1) -> hot,
#                     on ONE line, holding the GIL the whole time.
#   spinner.py wide   the same, but the loop spans two lines:
#                     <module> -> main -> wide (lines wide_a and wide_b).
#   spinner.py two    two threads spin in spin_a() and spin_b() (their only
#                     Python frames) and share the GIL; main waits until both are
#                     in their loops, prints READY and blocks in a read of stdin
#                     in <module> -> main -> wait_stdin.
#
# In chain and wide modes the main thread is the only thread. 3.x never takes
# the GIL away from a lone thread; 2.7 drops it (and sets the current thread
# state to NULL) every "check interval" bytecodes, so the interval is raised
# to 2**31 - 1 and a sample cannot see "nobody holds the GIL".

import sys
import time

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

PY2 = sys.version_info[0] == 2
DEPTH = 50  # descend() frames at the recursive-call line
RUN = [True]
THREADS = {}


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def fail(message):
    sys.stderr.write("spinner.py: %s\n" % message)
    sys.stderr.flush()
    sys.exit(3)


def chain_root():
    descend(DEPTH)  # MARK:chain_root


def descend(n):
    if n == 0:
        return hot()  # MARK:descend_base
    return descend(n - 1)  # MARK:descend


def hot():
    n = 0
    while RUN[0]: n += 1  # MARK:hot


def wide():
    n = 0
    while RUN[0]:  # MARK:wide_a
        n += 1  # MARK:wide_b


def spin_a():
    n = 0
    while RUN[0]: n += 1  # MARK:spin_a


def spin_b():
    n = 0
    while RUN[0]: n -= 1  # MARK:spin_b


def loop_line(name):
    # The line of the loop of function `name`: its only line with "while".
    code = globals()[name].__code__
    with open(__file__.replace(".pyc", ".py")) as source:
        lines = source.read().split("\n")
    for number in range(code.co_firstlineno, len(lines) + 1):
        if "while" in lines[number - 1]:
            return number
    fail("no loop in %s" % name)


def wait_in_loops():
    # Both spinners at their loop lines in two polls in a row; the sleep in
    # between lets the other threads take the GIL.
    wanted = dict((role, (role, loop_line(role))) for role in THREADS)
    deadline = time.time() + 60
    in_a_row = 0
    while in_a_row < 2:
        frames = sys._current_frames()
        places = {}
        for role, ident in THREADS.items():
            frame = frames.get(ident)
            places[role] = frame and (frame.f_code.co_name, frame.f_lineno)
            frame = None
        frames = None
        in_a_row = in_a_row + 1 if places == wanted else 0
        if time.time() > deadline:
            fail("threads not in place: %r, wanted %r" % (places, wanted))
        time.sleep(0.01)


def wait_stdin():
    stdin_read = sys.stdin.read if PY2 else sys.stdin.buffer.read
    write("READY\n")
    stdin_read(1)  # MARK:wait_read


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "chain"
    if mode == "two":
        THREADS["spin_a"] = thread_mod.start_new_thread(spin_a, ())
        THREADS["spin_b"] = thread_mod.start_new_thread(spin_b, ())
        wait_in_loops()
        wait_stdin()  # MARK:main_two
        return
    if PY2:
        sys.setcheckinterval(2 ** 31 - 1)
    write("READY\n")
    if mode == "wide":
        wide()  # MARK:main_wide
    elif mode == "chain":
        chain_root()  # MARK:main_chain
    else:
        fail("unknown mode %r" % mode)


if __name__ == "__main__":
    main()  # MARK:module
