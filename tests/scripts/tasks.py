# asyncio task graphs of known shapes for `pyflame --async` (tests/asyncio/). Python 3.8+;
# ASCII only. Lines where the tests expect a frame carry marker comments.
#
# Before READY the script prints what `pyflame -d --async` must show after the thread dump:
# exactly the lines pyflame prints for the loop's section, without the `tree:` part (the test
# draws the tree from these lines), or the one line `asyncio: no event loop`, or
# `SKIPPED <why>` when the mode cannot run here (no asyncio, no uvloop). Each task is
#
#   task <name> [<state>]
#     <file>:<function>:<line>          coroutine frames, innermost first
#     awaits: task <name>, future (<what>), ...
#     awaited by: task <name>, ...
#
# read from the live objects: frames by walking each coroutine's cr_await chain (f_lineno,
# checked against the markers for this file's frames), what a task awaits from its
# `_fut_waiter`: a Task is `task <name>`, a gather()'s future stands for its children, any
# other future is `future (asyncio.sleep)` when the task's innermost frame is asyncio's sleep,
# else `future (<type name>)` (tp_name: `_asyncio.Future` for C's Future). `awaited by` is
# the reverse of the tasks' `awaits`. The order of the items in both lines is not part of the
# contract (the test compares them as sets).
#
#   named        asyncio.run(runner()) in the main thread. runner is the task asyncio.run
#                names (Task-1); it creates `main` and awaits it, so Task-1 is the root:
#                  Task-1 awaits main
#                  main gathers fetch-1 ... fetch-5
#                  fetch-1 awaits db-pool (in fetch)
#                  fetch-2 sleeps in asyncio.sleep(3600)
#                  fetch-3 runs: busy() spins in pure Python and never yields [running]
#                  fetch-4 waits for an asyncio.Event never set
#                  fetch-5 awaits db-pool from a coroutine it awaits (fetch -> query)
#                  db-pool sleeps in asyncio.sleep(3600)
#                Once all but fetch-3 are parked, a loop callback prints the preamble and
#                sets the event fetch-3 waits for; fetch-3 prints READY and spins in busy()
#                (holding the main thread for ever: the test kills the script).
#   many N       Task-1 gathers N tasks sleeper-00001 ... each in asyncio.sleep(3600); READY
#                is printed from a loop callback, after which the loop waits in epoll.
#   cycle        Task-1 awaits cycle-a, cycle-a awaits cycle-b and cycle-b awaits cycle-a
#                (a deadlock asyncio does not detect); the loop then waits in epoll.
#   noloop       imports asyncio, runs no loop; the main thread reads stdin.
#   bare         imports nothing asyncio; the main thread reads stdin.
#   uvloop DIR   `named` under uvloop's loop (DIR, on sys.path first, holds uvloop; see
#                tests/servers/uvloop); `SKIPPED uvloop not installed ...` when it cannot be
#                imported (the main thread then reads stdin).

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marks import find_marks  # noqa: E402

MARKS = find_marks(os.path.abspath(__file__))
THIS = os.path.realpath(__file__)
RUN = [True]
TASKS = {}  # name -> task: keeps every task alive whatever asyncio keeps
PEERS = {}
SLEEP = []  # asyncio.sleep's co_filename, and the directory of asyncio's sources


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def fail(message):
    sys.stderr.write("tasks.py: %s\n" % message)
    sys.stderr.flush()
    os._exit(3)


def park_on_stdin():
    write("READY\n")
    sys.stdin.read()


# ---------------------------------------------------------------- the task graphs


def busy():
    n = 0
    while RUN[0]: n += 1  # MARK:busy


async def runner():
    PEERS["go"] = asyncio.Event()
    PEERS["never"] = asyncio.Event()
    TASKS["main"] = asyncio.create_task(main(), name="main")
    checks = {
        asyncio.current_task().get_name(): ([], [at("runner", "runner")]),
        "main": ([], [at("main", "main")]),
        "db-pool": (["sleep"], [at("pool", "pool")]),
        "fetch-1": ([], [at("fetch", "fetch_pool")]),
        "fetch-2": (["sleep"], [at("fetch", "fetch_sleep")]),
        "fetch-4": (["wait"], [at("fetch", "fetch_event")]),
        "fetch-5": ([], [at("query", "query"), at("fetch", "fetch_query")]),
    }
    asyncio.get_running_loop().call_soon(describe_when_parked, 8, "fetch-3", checks)
    await TASKS["main"]  # MARK:runner


async def main():
    PEERS["pool"] = TASKS["db-pool"] = asyncio.create_task(pool(), name="db-pool")
    fetches = []
    for n in range(1, 6):
        name = "fetch-%d" % n
        TASKS[name] = asyncio.create_task(fetch(n), name=name)
        fetches.append(TASKS[name])
    await asyncio.gather(*fetches)  # MARK:main


async def pool():
    await asyncio.sleep(3600)  # MARK:pool


async def fetch(n):
    if n == 1:
        await PEERS["pool"]  # MARK:fetch_pool
    elif n == 2:
        await asyncio.sleep(3600)  # MARK:fetch_sleep
    elif n == 3:
        await PEERS["go"].wait()
        write("READY\n")
        busy()  # MARK:fetch_busy
    elif n == 4:
        await PEERS["never"].wait()  # MARK:fetch_event
    else:
        await query()  # MARK:fetch_query


async def query():
    await PEERS["pool"]  # MARK:query


async def gatherer(n):
    checks = {asyncio.current_task().get_name(): ([], [at("gatherer", "gatherer")])}
    sleepers = []
    for i in range(1, n + 1):
        name = "sleeper-%05d" % i
        TASKS[name] = asyncio.create_task(sleeper(), name=name)
        sleepers.append(TASKS[name])
        checks[name] = (["sleep"], [at("sleeper", "sleeper")])
    asyncio.get_running_loop().call_soon(describe_when_parked, n + 1, None, checks)
    await asyncio.gather(*sleepers)  # MARK:gatherer


async def sleeper():
    await asyncio.sleep(3600)  # MARK:sleeper


async def cycle_root():
    PEERS["a"] = TASKS["cycle-a"] = asyncio.create_task(cycle_a(), name="cycle-a")
    PEERS["b"] = TASKS["cycle-b"] = asyncio.create_task(cycle_b(), name="cycle-b")
    checks = {
        asyncio.current_task().get_name(): ([], [at("cycle_root", "cycle_root")]),
        "cycle-a": ([], [at("cycle_a", "cycle_a")]),
        "cycle-b": ([], [at("cycle_b", "cycle_b")]),
    }
    asyncio.get_running_loop().call_soon(describe_when_parked, 3, None, checks)
    await PEERS["a"]  # MARK:cycle_root


async def cycle_a():
    await PEERS["b"]  # MARK:cycle_a


async def cycle_b():
    await PEERS["a"]  # MARK:cycle_b


# ---------------------------------------------------------------- what pyflame must show


def at(function, mark):
    return (THIS, function, MARKS[mark])


def frames_of(coro):
    """A suspended task's coroutine frames, innermost first, as (file, function, line)."""
    chain = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        chain.append((frame.f_code.co_filename, frame.f_code.co_name, frame.f_lineno))
        if hasattr(coro, "cr_await"):
            coro = coro.cr_await
        else:
            coro = getattr(coro, "gi_yieldfrom", None)
    chain.reverse()
    return chain


def type_name(obj):
    # tp_name: "module.Name" for a type defined in C, "Name" for a class defined in Python.
    cls = type(obj)
    source = getattr(sys.modules.get(cls.__module__), "__file__", None) or ""
    if source.endswith(".py"):
        return cls.__name__
    return "%s.%s" % (cls.__module__, cls.__name__)


def awaited_items(waiter, innermost):
    if waiter is None:
        return []
    if isinstance(waiter, asyncio.Task):
        return ["task " + waiter.get_name()]
    if type(waiter).__name__ == "_GatheringFuture":
        items = []
        for child in waiter._children:
            items += awaited_items(child, None)
        return items
    if innermost is not None and innermost[:2] == (SLEEP[0], "sleep"):
        return ["future (asyncio.sleep)"]
    return ["future (%s)" % type_name(waiter)]


def state_of(task, running):
    if task is running:
        return "running"
    if task.cancelled():
        return "cancelled"
    if task.done():
        return "done"
    return "pending"


def check_frames(name, frames, checks):
    """Our own frames must be at their markers, under asyncio's (`stdlib`, by function)."""
    stdlib, own = checks[name]
    k = len(stdlib)
    ok = len(frames) == k + len(own) and frames[k:] == own
    for (path, function, _), want in zip(frames, stdlib):
        ok = ok and function == want and os.path.dirname(path) == SLEEP[1]
    if not ok:
        fail("task %s: frames %r; expected %r then %r" % (name, frames, stdlib, own))


def describe(tasks, running, running_frames, checks):
    """The loop's section as pyflame prints it, without the tree."""
    loop = asyncio.get_running_loop()
    shown = {}
    for task in tasks:
        name = task.get_name()
        if task is running:
            frames, awaits = running_frames, []
        else:
            frames = frames_of(task.get_coro())
            check_frames(name, frames, checks)
            awaits = awaited_items(task._fut_waiter, frames[0] if frames else None)
        shown[name] = (state_of(task, running), frames, awaits)
    by = {}
    for name in sorted(shown):
        for item in shown[name][2]:
            if item.startswith("task "):
                by.setdefault(item[len("task "):], []).append("task " + name)
    lines = [
        "asyncio event loop %s (thread %d: tid=%d): %d tasks"
        % (hex(id(loop)), threading.get_ident(), threading.get_native_id(), len(shown))
    ]
    for name in sorted(shown):
        state, frames, awaits = shown[name]
        lines.append("task %s [%s]" % (name, state))
        lines += ["  %s:%s:%d" % f for f in frames]
        if awaits:
            lines.append("  awaits: " + ", ".join(awaits))
        if by.get(name):
            lines.append("  awaited by: " + ", ".join(by[name]))
    return lines


def describe_when_parked(count, running_name, checks):
    """A loop callback (no task of its own): once `count` tasks exist and all but
    `running_name` wait on a future, prints the preamble and lets `running_name` (if any) go
    on to print READY and spin; else prints READY (the loop then waits in epoll)."""
    loop = asyncio.get_running_loop()
    tasks = asyncio.all_tasks(loop)
    if len(tasks) != count or any(t._fut_waiter is None for t in tasks):
        loop.call_later(0.01, describe_when_parked, count, running_name, checks)
        return
    running = [t for t in tasks if t.get_name() == running_name]
    running_frames = [at("busy", "busy"), at("fetch", "fetch_busy")]
    lines = describe(tasks, running[0] if running else None, running_frames, checks)
    write("".join(line + "\n" for line in lines))
    if running:
        PEERS["go"].set()
    else:
        write("READY\n")


def main_mode(argv):
    global asyncio
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "bare":
        write("asyncio: no event loop\n")
        park_on_stdin()
        return
    if mode == "uvloop":
        if len(argv) != 3:
            fail("usage: tasks.py uvloop DIR")
        sys.path.insert(0, argv[2])
    try:
        import asyncio
    except ImportError as e:
        write("SKIPPED asyncio unavailable (%s)\n" % e)
        park_on_stdin()
        return
    sleep_file = asyncio.tasks.sleep.__code__.co_filename
    SLEEP[:] = [sleep_file, os.path.dirname(sleep_file)]
    if mode == "noloop":
        write("asyncio: no event loop\n")
        park_on_stdin()
        return
    if mode == "named":
        asyncio.run(runner())
    elif mode == "uvloop":
        try:
            import uvloop
        except ImportError as e:
            write("SKIPPED uvloop not installed (%s)\n" % e)
            park_on_stdin()
            return
        if hasattr(asyncio, "Runner"):
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
                r.run(runner())
        else:  # before 3.11: through the event loop policy
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            asyncio.run(runner())
    elif mode == "many" and len(argv) == 3:
        asyncio.run(gatherer(int(argv[2])))
    elif mode == "cycle":
        asyncio.run(cycle_root())
    else:
        fail("usage: tasks.py named|many N|cycle|noloop|bare|uvloop DIR")
    fail("the event loop returned")


if __name__ == "__main__":
    main_mode(sys.argv)
