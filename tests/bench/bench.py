#!/usr/bin/env python3
"""make bench: pyflame measured beside py-spy, in the same run, on this machine.

Reports: the binary sizes; the wall time of a stack dump of a 30-frame stack; the slowdown of
a CPU-bound target at 100 Hz and 1 kHz (default and --nonblocking); the profiler's CPU time per
sample; the slowdown with 100 idle threads at 100 Hz; the slowdown of the busy worker of a
process tree (workers.py: a parent, one busy worker, 1 or 16 idle ones) profiled whole with
--subprocesses at 100 Hz, and the profiler's CPU per tick (one sample of every process); the
highest sampling rate sustained; and the profiler's peak RSS over a long 1 kHz run. Medians of
several runs; the numbers move with the machine's load, so compare the two tools within one run.

A second table holds goals measured against other references, each met or not: `floor`
(floor.py) sets pyflame beside the null profiler (null.c: the schedule and one read of the
target per wake-up, no more), and gives the target's slowdowns and pyflame's thread stops;
`sampler315` (sampler315.py) sets it beside CPython 3.15's own sampler (`python3.15 -m
profiling.sampling`) on a 3.15 target, at 1 kHz and at the highest rate of each; `native`
(native.py) what --native costs, beside py-spy's --native; `tasks` (tasks.py) what -d --async costs on
1,000 tasks, beside CPython 3.14's own `python -m asyncio pstree`.

Usage: bench.py PYFLAME   (environment: BENCH_PYTHON, BENCH_RUNS=5, BENCH_RSS_SECONDS=30;
BENCH_RSS_SECONDS=600 measures the 10-minute figure of the goal; BENCH_ONLY=GROUP,... runs only
those groups of rows, of size, dump, rates, threads, workers, maxrate, rss, floor, sampler315, native, tasks,
e.g. BENCH_ONLY=workers, and writes only them to results.md)"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "target", "bench")
WORKLOAD = os.path.join(HERE, "workload.py")
WORKERS = os.path.join(HERE, "workers.py")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
RSS_SECONDS = int(os.environ.get("BENCH_RSS_SECONDS", "30"))
# Iterations of the 30-frame workload: about 1.5 s of CPU on this kind of machine.
WORK = int(os.environ.get("BENCH_WORK", "6000"))
ONLY = [g for g in os.environ.get("BENCH_ONLY", "").split(",") if g]
# The groups of the first table (pyflame beside py-spy), then those of the second.
VERSUS = ["size", "dump", "rates", "threads", "workers", "maxrate", "rss"]
GROUPS = VERSUS + ["floor", "sampler315", "native", "tasks"]
# floor.py and sampler315.py `import bench`: this module, also when run as a script (and no
# __pycache__ is left beside them).
sys.modules.setdefault("bench", sys.modules[__name__])
sys.dont_write_bytecode = True


def python():
    if os.environ.get("BENCH_PYTHON"):
        return os.environ["BENCH_PYTHON"]
    pyenv = os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12")
    return pyenv if os.path.exists(pyenv) else "python3"


def py_spy():
    """py-spy from PyPI in a virtualenv under target/bench, or None if it cannot be had."""
    venv = os.path.join(OUT, "venv")
    exe = os.path.join(venv, "bin", "py-spy")
    if not os.path.exists(exe):
        try:
            subprocess.run([sys.executable, "-m", "venv", venv], check=True, capture_output=True)
            subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "py-spy"], check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as e:
            print("bench: py-spy unavailable (%s); its columns are left empty" % e, file=sys.stderr)
            return None
    return exe


class Workload:
    """The target, started and parked at READY; `go()` runs the work and returns its time.
    `idle` threads, or with program=WORKERS `idle` idle worker processes beside the busy one;
    run by `interpreter`, by default python()."""

    def __init__(self, iterations, idle=0, program=WORKLOAD, interpreter=None):
        self.p = subprocess.Popen([interpreter or python(), program, str(iterations), str(idle)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, universal_newlines=True)
        if self.p.stdout.readline().strip() != "READY":
            raise SystemExit("bench: the workload did not start")
        self.pid = self.p.pid

    def go(self):
        self.p.stdin.write("\n")
        self.p.stdin.flush()
        elapsed = float(self.p.stdout.readline())
        self.p.wait()
        return elapsed

    def start_spinning(self):
        self.p.stdin.write("\n")
        self.p.stdin.flush()
        time.sleep(0.3)

    def kill(self):
        self.p.kill()
        self.p.wait()


def spawn(cmd, out):
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)


def hwm_kib(pid):
    """VmHWM, the peak RSS of the program a process runs (reset by exec, unlike ru_maxrss,
    which also counts the forked copy of this Python before the exec)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reap(proc):
    """Waits for a profiler; returns its CPU seconds and peak RSS in KiB (sampled while it
    runs, every 0.2 s)."""
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, hwm_kib(proc.pid))
        time.sleep(0.2)
    proc.returncode = 0
    return usage.ru_utime + usage.ru_stime, peak


def samples_in(path):
    total = 0
    with open(path) as f:
        for line in f:
            head, _, count = line.rstrip("\n").rpartition(" ")
            if head and count.isdigit():
                total += int(count)
    return total


def process_samples(path):
    """Samples per process of a profile written in tree mode: {PID: count}, from the process
    frame of each stack (pyflame's root `process PID cmdline`; py-spy's `process PID:"cmdline"`,
    one per generation from the root down, of which the last is the process sampled)."""
    counts = {}
    with open(path) as f:
        for line in f:
            head, _, count = line.rstrip("\n").rpartition(" ")
            pids = [int(m.group(1)) for m in (re.match(r"process (\d+)[ :]", frame) for frame in head.split(";")) if m]
            if pids and count.isdigit():
                counts[pids[-1]] = counts.get(pids[-1], 0) + int(count)
    return counts


def descendants(pid):
    """The PIDs of every descendant of pid, from the PPid of each process in /proc."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    # The command may hold spaces and parentheses: the fields follow the last ')'.
                    parent[int(name)] = int(f.read().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


def tracer(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_for_tree(tool, prof, pid):
    """Waits until the profiler has every process of pid's tree. pyflame holds each process it
    profiles seized (its TracerPid), so that is waited for; py-spy attaches only for the moment
    of a sample, so it is given a fixed 2 s (it looks for new children about every 100 ms)."""
    tree = [pid] + descendants(pid)
    if tool != "pyflame":
        time.sleep(2.0)
        return
    deadline = time.time() + 10
    while any(tracer(p) != prof.pid for p in tree):
        if time.time() > deadline or prof.poll() is not None:
            raise SystemExit("bench: pyflame --subprocesses did not attach to all of %s (tracers %s)"
                             % (tree, [tracer(p) for p in tree]))
        time.sleep(0.05)


def workers_run(tool, exe, idle):
    """One profiled run of workers.py, whole tree at 100 Hz, next to an unprofiled one: (the
    busy worker's slowdown, the profiler's CPU seconds per tick). A tick samples every process;
    the ticks are the samples of the parent, which is profiled from start to end and idle
    throughout (so counted by pyflame's (idle) lines and py-spy's --idle)."""
    base = Workload(WORK, idle, WORKERS).go()
    w = Workload(WORK, idle, WORKERS)
    with tempfile.NamedTemporaryFile(dir=OUT, suffix=".txt") as out:
        if tool == "pyflame":
            cmd = [exe, "--subprocesses", "-s", "-1", "-r", "0.01", "-p", str(w.pid), "-o", out.name]
        else:
            cmd = [exe, "record", "--subprocesses", "--idle", "-r", "100", "-p", str(w.pid), "-f", "raw",
                   "-o", out.name]
        prof = spawn(cmd, subprocess.DEVNULL)
        try:
            wait_for_tree(tool, prof, w.pid)
        except BaseException:
            w.kill()
            prof.kill()
            raise
        elapsed = w.go()
        cpu, _ = reap(prof)
        counts = process_samples(out.name)
    n = counts.get(w.pid, 0)
    if len(counts) < 2 + idle:
        print("bench: %s sampled %d of the %d processes of the tree" % (tool, len(counts), 2 + idle),
              file=sys.stderr, flush=True)
    return elapsed / base, (cpu / n if n else float("nan"))


def profiler_cmd(tool, exe, pid, hz, out, nonblocking):
    if tool == "pyflame":
        cmd = [exe, "-s", "-1", "-r", str(1.0 / hz), "-p", str(pid), "-o", out]
    else:
        cmd = [exe, "record", "-r", str(hz), "-p", str(pid), "-f", "raw", "-o", out]
    return cmd + (["--nonblocking"] if nonblocking else [])


def profiled_run(tool, exe, hz, nonblocking=False, idle=0):
    """One profiled run next to an unprofiled one: (target slowdown, profiler CPU seconds per
    sample). Pairing each profiled run with its own baseline cancels the drift of a shared
    machine's speed over the minutes a benchmark takes."""
    base = Workload(WORK, idle).go()
    w = Workload(WORK, idle)
    with tempfile.NamedTemporaryFile(dir=OUT, suffix=".txt") as out:
        prof = spawn(profiler_cmd(tool, exe, w.pid, hz, out.name, nonblocking), subprocess.DEVNULL)
        time.sleep(0.5)
        elapsed = w.go()
        cpu, _ = reap(prof)
        n = samples_in(out.name)
    return elapsed / base, (cpu / n if n else float("nan"))


class Ran:
    """What `beside` measured: the target's slowdown, the profiler's CPU seconds, the number of
    samples in the profile it wrote (0 if none), and its stdout and stderr."""

    def __init__(self, slowdown, cpu, samples, stdout, stderr):
        self.slowdown, self.cpu, self.samples, self.stdout, self.stderr = slowdown, cpu, samples, stdout, stderr


def beside(cmd_for, idle=0, interpreter=None, settle=0.5, work=WORK):
    """profiled_run for any profiler, given as cmd_for(pid, output path): one run of the
    target (`work` iterations) while it is profiled, next to an unprofiled one, the profiler
    started `settle` seconds before the work; returns a Ran."""
    base = Workload(work, idle, interpreter=interpreter).go()
    w = Workload(work, idle, interpreter=interpreter)
    with tempfile.NamedTemporaryFile(dir=OUT, suffix=".txt") as out, tempfile.TemporaryFile("w+") as so, \
            tempfile.TemporaryFile("w+") as se:
        prof = subprocess.Popen(cmd_for(w.pid, out.name), stdout=so, stderr=se)
        time.sleep(settle)
        elapsed = w.go()
        cpu, _ = reap(prof)
        so.seek(0)
        se.seek(0)
        return Ran(elapsed / base, cpu, samples_in(out.name), so.read(), se.read())


def verbose_summary(stderr):
    """pyflame --verbose's closing line, `... N samples in S s (I idle, F failed); K thread
    stops ...` (src/output/status.rs), as a dict of samples, seconds, idle, failed and stops;
    None without one. The stops are `1 thread stop` or `K thread stops`; a line that does not
    count them (a mode that never stops the target may not) counts 0."""
    for line in reversed(stderr.splitlines()):
        m = re.search(r"(\d+) samples in ([\d.]+) s \((\d+) idle, (\d+) failed\)", line)
        if m:
            stops = re.search(r"(\d+) thread stops?\b", line)
            return {"samples": int(m.group(1)), "seconds": float(m.group(2)), "idle": int(m.group(3)),
                    "failed": int(m.group(4)), "stops": int(stops.group(1)) if stops else 0}
    return None


def median_runs(fn):
    results = [fn() for _ in range(RUNS)]
    if isinstance(results[0], tuple):
        return tuple(statistics.median(r[i] for r in results) for i in range(len(results[0])))
    return statistics.median(results)


def dump_time(cmd_for, runs):
    w = Workload(10 ** 9)
    w.start_spinning()
    times = []
    try:
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd_for(w.pid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t)
    finally:
        w.kill()
    return statistics.median(times)


def max_rate(exe):
    w = Workload(10 ** 9)
    w.start_spinning()
    with tempfile.NamedTemporaryFile(dir=OUT, suffix=".txt") as out:
        subprocess.run([exe, "-r", "0", "-s", "2", "-p", str(w.pid), "-o", out.name], check=True)
        n = samples_in(out.name)
    w.kill()
    return n / 2.0


def peak_rss(tool, exe):
    w = Workload(10 ** 9)
    w.start_spinning()
    with tempfile.NamedTemporaryFile(dir=OUT, suffix=".txt") as out:
        if tool == "pyflame":
            cmd = [exe, "-s", str(RSS_SECONDS), "-r", "0.001", "-p", str(w.pid), "-o", out.name]
        else:
            cmd = [exe, "record", "-r", "1000", "-d", str(RSS_SECONDS), "-p", str(w.pid), "-f", "raw", "-o", out.name]
        _, rss = reap(spawn(cmd, subprocess.DEVNULL))
    w.kill()
    return rss / 1024.0


TABLE = "| measure | pyflame | py-spy | py-spy / pyflame | goal |\n|---|---|---|---|---|\n"
GOALS = "| measure | value | goal | met |\n|---|---|---|---|\n"


def fmt(x, spec):
    return "-" if x is None else spec % x


def main():
    pyflame = os.path.abspath(sys.argv[1])
    unknown = [g for g in ONLY if g not in GROUPS]
    if unknown:
        raise SystemExit("bench: unknown BENCH_ONLY group %s (groups: %s)" % (", ".join(unknown), ", ".join(GROUPS)))
    os.makedirs(OUT, exist_ok=True)

    def want(group):
        return not ONLY or group in ONLY

    spy = py_spy() if any(want(g) for g in VERSUS) else None
    rows = []

    def row(what, ours, theirs, spec, goal=""):
        ratio = "%.1fx" % (theirs / ours) if ours and theirs else "-"
        rows.append("| %s | %s | %s | %s | %s |" % (what, fmt(ours, spec), fmt(theirs, spec), ratio, goal))
        print(rows[-1], flush=True)

    goals = []

    def goal_row(what, value, spec, goal="", test=None):
        """A row of the second table; `test(value)` says whether the goal is met."""
        met = "-" if test is None or value is None else "yes" if test(value) else "no"
        goals.append("| %s | %s | %s | %s |" % (what, fmt(value, spec), goal, met if goal else ""))
        print(goals[-1], flush=True)

    print("bench: python %s, %d runs per figure" % (python(), RUNS), flush=True)
    if any(want(g) for g in VERSUS):
        print(TABLE, end="", flush=True)
    if want("size"):
        row("binary size (MiB)", os.path.getsize(pyflame) / 2 ** 20, spy and os.path.getsize(spy) / 2 ** 20, "%.2f",
            "<= 1 MiB")
    if want("dump"):
        row("dump of a 30-frame stack, wall (ms)", 1000 * dump_time(lambda pid: [pyflame, "-d", "-p", str(pid)], 30),
            spy and 1000 * dump_time(lambda pid: [spy, "dump", "-p", str(pid)], 10), "%.2f", "<= 2 ms")
    for hz, nb in [(100, False), (1000, False), (100, True), (1000, True)] if want("rates") else []:
        mode = "--nonblocking" if nb else "default"
        ours = median_runs(lambda: profiled_run("pyflame", pyflame, hz, nb))
        theirs = spy and median_runs(lambda: profiled_run("py-spy", spy, hz, nb))
        row("target slowdown at %d Hz, %s (x)" % (hz, mode), ours[0], theirs and theirs[0], "%.3f",
            "<= 1.05" if hz == 1000 and not nb else "")
        row("profiler CPU per sample at %d Hz, %s (us)" % (hz, mode), 1e6 * ours[1], theirs and 1e6 * theirs[1], "%.1f",
            "<= 10 us" if hz == 1000 and not nb else "")
    if want("threads"):
        ours = median_runs(lambda: profiled_run("pyflame", pyflame, 100, idle=100))
        theirs = spy and median_runs(lambda: profiled_run("py-spy", spy, 100, idle=100))
        row("target slowdown, 100 idle threads, 100 Hz (x)", ours[0], theirs and theirs[0], "%.3f",
            "<= 1.05")
    for idle in [1, 16] if want("workers") else []:
        siblings = "%d idle sibling%s" % (idle, "s" if idle > 1 else "")
        ours = median_runs(lambda: workers_run("pyflame", pyflame, idle))
        theirs = spy and median_runs(lambda: workers_run("py-spy", spy, idle))
        row("busy worker slowdown, %s, --subprocesses, 100 Hz (x)" % siblings, ours[0], theirs and theirs[0], "%.3f",
            "<= 1.02" if idle == 1 else "<= 1.02, as with 1")
        row("profiler CPU per tick, %s, --subprocesses, 100 Hz (us)" % siblings, 1e6 * ours[1],
            theirs and 1e6 * theirs[1], "%.1f")
    if want("maxrate"):
        row("highest rate sustained (samples/s)", max_rate(pyflame), None, "%.0f")
    if want("rss"):
        row("peak RSS, %d s at 1 kHz (MiB)" % RSS_SECONDS, peak_rss("pyflame", pyflame),
            spy and peak_rss("py-spy", spy), "%.2f", "<= 8 MiB")
    if want("floor") or want("sampler315") or want("native") or want("tasks"):
        print(GOALS, end="", flush=True)
    if want("floor"):
        import floor
        floor.run(pyflame, goal_row)
    if want("sampler315"):
        import sampler315
        sampler315.run(pyflame, goal_row)
    if want("native"):
        import native
        native.run(pyflame, goal_row)
    if want("tasks"):
        import tasks
        tasks.run(pyflame, goal_row)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        if rows:
            f.write(TABLE + "\n".join(rows) + "\n")
        if goals:
            f.write(("\n" if rows else "") + GOALS + "\n".join(goals) + "\n")
    print("bench: table written to %s" % os.path.join(OUT, "results.md"))


if __name__ == "__main__":
    main()
