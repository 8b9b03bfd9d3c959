"""make bench's `native` group (issue 16): what `--native` costs. On the bench's 30-frame
CPU-bound target at 1 kHz, in rounds that run one after the other so that they see the same
machine: pyflame's default mode, pyflame --native, and py-spy record --native, each next to
its own unprofiled baseline. Goals: pyflame's CPU per sample with --native at most 3x its
Python-only figure, and below py-spy's with --native."""
import statistics

import bench


def per_sample(ran):
    return ran.cpu / ran.samples if ran.samples else None


def median(values):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else None


def run(pyflame, row):
    """The group's rows, through row(what, value, spec, goal, test of the goal)."""
    spy = bench.py_spy()
    plain, native, theirs = [], [], []
    for _ in range(bench.RUNS):
        cmd = lambda pid, out: bench.profiler_cmd("pyflame", pyflame, pid, 1000, out, False)
        plain.append(bench.beside(cmd))
        native.append(bench.beside(lambda pid, out: cmd(pid, out) + ["--native"]))
        if spy:
            theirs.append(bench.beside(lambda pid, out: bench.profiler_cmd("py-spy", spy, pid, 1000, out, False)
                                       + ["--native"]))
    us = lambda s: None if s is None else 1e6 * s
    row("pyflame CPU per sample at 1 kHz, Python frames only (us)", us(median(per_sample(r) for r in plain)), "%.1f")
    row("pyflame CPU per sample at 1 kHz, --native (us)", us(median(per_sample(r) for r in native)), "%.1f")
    row("py-spy CPU per sample at 1 kHz, --native (us)", us(median(per_sample(r) for r in theirs)), "%.1f")
    row("target slowdown at 1 kHz, pyflame --native (x)", median(r.slowdown for r in native), "%.3f")
    row("target slowdown at 1 kHz, py-spy --native (x)", median(r.slowdown for r in theirs), "%.3f")
    ratios = [per_sample(n) / per_sample(p) for n, p in zip(native, plain) if per_sample(n) and per_sample(p)]
    row("pyflame --native CPU per sample / Python frames only (x)", median(ratios), "%.2f", "<= 3", lambda x: x <= 3)
    versus = [per_sample(n) / per_sample(t) for n, t in zip(native, theirs) if per_sample(n) and per_sample(t)]
    row("pyflame --native CPU per sample / py-spy --native's (x)", median(versus), "%.2f", "< 1", lambda x: x < 1)
