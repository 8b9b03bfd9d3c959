# A single-threaded program whose stack changes as fast as Python can call and return, for
# pyflame's test that every stack it reports is one the program really had (tests/exact.rs):
# a read that mixed two moments of the stack must show a stack this program can never have.
# Valid on Python 2.7 and every 3.x (free-threaded builds too), ASCII only.
#
# Usage: updown.py DEPTH_A DEPTH_B DEPTH_AB. After READY, main() loops forever over three
# phases, each a recursion down and back up again:
#   a(DEPTH_A, False)    a chain of a frames, each calling a on line a_calls_a;
#   b(DEPTH_B, False)    a chain of b frames, each calling b on line b_calls_b;
#   a(DEPTH_AB, True)    a, b, a, b, ...: a calls b on line a_calls_b, b calls a on b_calls_a.
# So the whole stack is <module> (line module_calls_main) -> main (at the line of its phase's
# call, or itself the innermost frame) -> at most DEPTH + 1 frames of its phase, where every
# frame but the innermost stands at the line that calls the next one. The three depths
# differ, and every call is on a line of its own, so that mixing two phases (an a frame
# above a b frame outside the alternating phase, a caller at a line that is not its call,
# a chain deeper than its phase) is visible in the stack alone.
#
# Its only thread never releases the GIL (no I/O after READY, no sleep, no other thread)
# and never leaves Python. Every call and every line the test expects carries a marker
# comment (tests/util/marks.rs).

import sys


def a(n, alternate):  # MARK:a_def
    if n:
        if alternate:
            b(n - 1, True)  # MARK:a_calls_b
        else:
            a(n - 1, False)  # MARK:a_calls_a
    return n  # MARK:a_end


def b(n, alternate):  # MARK:b_def
    if n:
        if alternate:
            a(n - 1, True)  # MARK:b_calls_a
        else:
            b(n - 1, False)  # MARK:b_calls_b
    return n  # MARK:b_end


def main():
    depth_a, depth_b, depth_ab = [int(arg) for arg in sys.argv[1:4]]
    limit = max(depth_a, depth_b, depth_ab) + 50
    if sys.getrecursionlimit() < limit:
        sys.setrecursionlimit(limit)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    while True:  # MARK:main_loop
        a(depth_a, False)  # MARK:main_calls_a
        b(depth_b, False)  # MARK:main_calls_b
        a(depth_ab, True)  # MARK:main_calls_ab


main()  # MARK:module_calls_main
