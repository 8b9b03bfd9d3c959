"""make bench's `floor` group: pyflame against the null profiler (null.c), the least a
profiler does on pyflame's schedule (an absolute clock_nanosleep, then one process_vm_readv of
256 bytes of the target per wake-up), and the goals of issue 15 that follow from it.

Each of BENCH_RUNS rounds runs, one after the other so that they see the same machine: pyflame
at 1 kHz (default mode, --verbose), the null profiler at 1 kHz, and pyflame at 100 Hz on a
target with 100 idle threads, each run next to its own unprofiled baseline. A ratio of two
profilers is the median of the ratios of each round."""
import os
import re
import shutil
import statistics
import subprocess
import sys

import bench

NULL_C = os.path.join(bench.HERE, "null.c")


def null_profiler():
    """target/bench/null, compiled from null.c with gcc when older than it; None (and a line
    saying why) when it cannot be."""
    exe = os.path.join(bench.OUT, "null")
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(NULL_C):
        return exe
    if not shutil.which("gcc"):
        print("bench: gcc not found, so no null profiler; its rows are left empty", file=sys.stderr, flush=True)
        return None
    built = subprocess.run(["gcc", "-O2", "-Wall", "-o", exe, NULL_C], capture_output=True, universal_newlines=True)
    if built.returncode:
        print("bench: gcc could not build the null profiler; its rows are left empty:\n" + built.stderr,
              file=sys.stderr, flush=True)
        return None
    return exe


def pyflame_1khz(pyflame):
    """(slowdown, CPU seconds per sample, thread stops per 100 samples, samples) at 1 kHz,
    default mode."""
    ran = bench.beside(lambda pid, out: bench.profiler_cmd("pyflame", pyflame, pid, 1000, out, False) + ["--verbose"])
    summary = bench.verbose_summary(ran.stderr)
    if summary is None:
        print("bench: pyflame --verbose gave no closing line: %r" % ran.stderr[-300:], file=sys.stderr, flush=True)
    stops = 100.0 * summary["stops"] / summary["samples"] if summary and summary["samples"] else float("nan")
    return ran.slowdown, (ran.cpu / ran.samples if ran.samples else float("nan")), stops, ran.samples


def startup(pyflame):
    """pyflame's CPU seconds to attach, find the runtime and take one sample (`-s 0`) of a
    spinning target: what a run costs whatever its length, left out of the per-sample ratio
    (the null profiler has next to none)."""
    w = bench.Workload(10 ** 9)
    w.start_spinning()
    try:
        prof = subprocess.Popen([pyflame, "-s", "0", "-p", str(w.pid), "-o", os.devnull],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu, _ = bench.reap(prof)
    finally:
        w.kill()
    return cpu


def null_1khz(null):
    """(slowdown, CPU seconds per wake-up) of the null profiler at 1 kHz, until the target exits."""
    ran = bench.beside(lambda pid, out: [null, str(pid), "1000000", "-1"])
    m = re.search(r"wakeups (\d+) failed (\d+)", ran.stdout)
    if not m or int(m.group(2)):
        print("bench: the null profiler said %r %r" % (ran.stdout, ran.stderr), file=sys.stderr, flush=True)
    wakeups = int(m.group(1)) if m else 0
    return ran.slowdown, (ran.cpu / wakeups if wakeups else float("nan"))


def pyflame_threads(pyflame):
    """The slowdown at 100 Hz, default mode, of a target with 100 idle threads."""
    return bench.beside(lambda pid, out: bench.profiler_cmd("pyflame", pyflame, pid, 100, out, False), idle=100).slowdown


def median(values):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else None


def us(seconds):
    return None if seconds is None else 1e6 * seconds


def run(pyflame, row):
    """The group's rows, through row(what, value, spec, goal, test of the goal)."""
    null = null_profiler()
    ours, floor, threads, starts = [], [], [], []
    for _ in range(bench.RUNS):
        starts.append(startup(pyflame))
        slowdown, per_sample, stops, samples = pyflame_1khz(pyflame)
        ours.append((slowdown, per_sample, stops, max(0.0, per_sample - starts[-1] / samples) if samples else None))
        floor.append(null_1khz(null) if null else (None, None))
        threads.append(pyflame_threads(pyflame))
    row("null profiler CPU per wake-up at 1 kHz (us)", us(median(f[1] for f in floor)), "%.1f")
    row("target slowdown, null profiler at 1 kHz (x)", median(f[0] for f in floor), "%.3f")
    row("pyflame start-up CPU: attach, find the runtime, one sample (ms)", 1e3 * median(starts), "%.1f")
    row("pyflame CPU per sample at 1 kHz, default (us)", us(median(o[1] for o in ours)), "%.1f")
    row("the same, start-up left out (us)", us(median(o[3] for o in ours)), "%.1f")
    row("pyflame CPU per sample, start-up left out / null CPU per wake-up, 1 kHz (x)",
        median(o[3] / f[1] for o, f in zip(ours, floor) if f[1] and o[3] is not None), "%.2f", "<= 1.5",
        lambda x: x <= 1.5)
    row("target slowdown at 1 kHz, default (x)", median(o[0] for o in ours), "%.3f", "<= 1.03", lambda x: x <= 1.03)
    row("target slowdown, 100 idle threads, 100 Hz, default (x)", median(threads), "%.3f", "<= 1.02",
        lambda x: x <= 1.02)
    row("thread stops per 100 samples at 1 kHz, default", median(o[2] for o in ours), "%.1f")
