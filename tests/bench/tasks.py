"""make bench's `tasks` group (issue 17): what `-d --async` costs on 1,000 asyncio tasks
(tests/scripts/tasks.py `many 1000`: one gathering task and 1,000 sleepers, the loop in epoll)
on the provisioned Debian 3.14, beside `-d` alone and beside CPython's own
`python3.14 -m asyncio pstree PID` (which needs the target's exact Python), and on the bench's
Python (3.12, whose tasks are found through asyncio's globals). Each figure is the median wall
time of BENCH_RUNS runs. Goal: `-d --async` under a second."""
import os
import statistics
import subprocess
import sys
import time

import bench

PYTHON314 = os.path.join(bench.ROOT, "target", "pythons", "debian-3.14", "python")
SCRIPT = os.path.join(bench.ROOT, "tests", "scripts", "tasks.py")
TASKS = 1000


def wall(cmd):
    """Seconds `cmd` took, or None when it failed."""
    start = time.monotonic()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    took = time.monotonic() - start
    if done.returncode != 0:
        print("bench: %s failed: %s" % (" ".join(cmd), done.stderr[-500:]), file=sys.stderr, flush=True)
        return None
    return took


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def measure(pyflame, python, pstree):
    """Median seconds of `-d`, `-d --async` (and `pstree`, when asked) on `python`'s target."""
    target = subprocess.Popen([python, SCRIPT, "many", str(TASKS)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        for line in target.stdout:
            if line.strip() == "READY":
                break
        pid = str(target.pid)
        plain, tasks, tree = [], [], []
        for _ in range(bench.RUNS):
            plain.append(wall([pyflame, "-d", "-p", pid]))
            tasks.append(wall([pyflame, "-d", "--async", "-p", pid]))
            if pstree:
                tree.append(wall([python, "-m", "asyncio", "pstree", pid]))
    finally:
        target.kill()
        target.wait()
    return median(plain), median(tasks), median(tree)


def run(pyflame, row):
    """The group's rows, through row(what, value, spec, goal, test of the goal)."""
    ms = lambda s: None if s is None else 1e3 * s
    if os.path.exists(PYTHON314):
        plain, tasks, pstree = measure(pyflame, PYTHON314, True)
        row("-d on the 1,000-task target (ms)", ms(plain), "%.1f")
        row("-d --async on 1,000 tasks (ms)", ms(tasks), "%.1f", "< 1000", lambda x: x < 1000)
        row("python3.14 -m asyncio pstree on the same target (ms)", ms(pstree), "%.1f")
    else:
        print("bench: no %s (make pythons provides it); the 3.14 tasks rows are left empty" % PYTHON314,
              file=sys.stderr, flush=True)
    # Before 3.14 the tasks are found through asyncio's globals (dicts read by hand).
    older = bench.python()
    _, tasks, _ = measure(pyflame, older, False)
    row("-d --async on 1,000 tasks, the bench's Python (3.12: tasks from asyncio's globals) (ms)",
        ms(tasks), "%.1f", "< 1000", lambda x: x < 1000)
