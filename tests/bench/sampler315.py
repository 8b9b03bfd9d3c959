"""make bench's `sampler315` group: CPython 3.15's own sampling profiler (`python3.15 -m
profiling.sampling attach`) and pyflame, on workload.py run by the provisioned 3.15
(target/pythons/debian-3.15/python, from `make pythons`).

The sampler is run as `attach -r RATE [-d SECONDS] --collapsed -o FILE PID` with LC_ALL=C; it
prints `Captured N samples in S seconds`, `Sample rate: R samples/sec` and `Error rate: E`
on stdout, E being the percentage of its samples whose read of the target failed (N counts
them). Its CPU per sample at 1 kHz leaves out its startup (an interpreter and the module's
imports, a few hundred ms of CPU, as much as several seconds of sampling at 1 kHz), measured
in the same round as the CPU of an `attach -d 0` of the target. Its highest rate is asked with
-r 100khz for 3 s (it then samples in a busy loop, as fast as it can); its valid samples/s are
R x (1 - E/100). pyflame's are from -r 0.00001 -s 3 --verbose, whose closing line counts the
samples, the failed ones and the seconds: (samples - failed) / seconds.

Each of BENCH_RUNS rounds runs the sampler at 1 kHz beside its baseline, then against one
spinning 3.15 target the sampler at its highest rate, pyflame, and pyflame --nonblocking; a
ratio of two profilers is the median of the ratios of each round. If the sampler cannot run
(`attach` reads the target's memory, with _remote_debugging.RemoteUnwinder, which needs the
permission to ptrace it), the reason is printed and its rows are left empty."""
import os
import re
import statistics
import subprocess
import sys
import tempfile

import bench

PYTHON315 = os.path.join(bench.ROOT, "target", "pythons", "debian-3.15", "python")
# 3.15 runs workload.py about twice as fast as 3.12: twice the work keeps the run near 1.5 s.
WORK = 2 * bench.WORK


def sampler(*args):
    """The sampler's command line; LC_ALL=C, as it formats its numbers in the locale's way."""
    return ["env", "LC_ALL=C", PYTHON315, "-m", "profiling.sampling", "attach"] + list(args)


def sampler_report(stdout):
    """(samples, seconds, error rate in %) from the sampler's stdout; None without them."""
    captured = re.search(r"Captured (\d+) samples? in ([\d.]+) seconds", stdout)
    errors = re.search(r"Error rate: ([\d.]+)", stdout)
    if not captured or not errors:
        return None
    return int(captured.group(1)), float(captured.group(2)), float(errors.group(1))


def sampler_1khz():
    """(slowdown, CPU seconds per sample with its startup left out, startup CPU seconds) of the
    sampler at 1 kHz, attached until the target exits."""
    start = sampler_startup()
    if start is None:
        return None, None, None
    ran = bench.beside(lambda pid, out: sampler("-r", "1khz", "--collapsed", "-o", out, str(pid)),
                       interpreter=PYTHON315, settle=1.5, work=WORK)
    report = sampler_report(ran.stdout)
    if not report or not report[0]:
        print("bench: the 3.15 sampler at 1 kHz said %r %r" % (ran.stdout, ran.stderr[-500:]), file=sys.stderr)
        return ran.slowdown, None, start
    return ran.slowdown, (ran.cpu - start) / report[0], start


def sampler_startup():
    """The CPU seconds of the sampler's startup and end: those of an `attach -d 0` of a parked
    3.15 target, which samples nothing. None (and a line saying why) if the sampler failed."""
    w = bench.Workload(WORK, interpreter=PYTHON315)
    try:
        with tempfile.NamedTemporaryFile(dir=bench.OUT, suffix=".txt") as out, tempfile.TemporaryFile("w+") as so:
            prof = subprocess.Popen(sampler("-d", "0", "--collapsed", "-o", out.name, str(w.pid)),
                                    stdout=so, stderr=subprocess.STDOUT)
            cpu, _ = bench.reap(prof)
            so.seek(0)
            said = so.read()
    finally:
        w.kill()
    if sampler_report(said) is None:
        print("bench: the 3.15 sampler cannot run; its rows are left empty. It said:\n" + said.strip()[-1000:],
              file=sys.stderr, flush=True)
        return None
    return cpu


def sampler_fastest(pid):
    """(samples/s, error rate in %) of the sampler at -r 100khz for 3 s; (None, None) if it failed."""
    with tempfile.NamedTemporaryFile(dir=bench.OUT, suffix=".txt") as out:
        done = subprocess.run(sampler("-r", "100khz", "-d", "3", "--collapsed", "-o", out.name, str(pid)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    report = sampler_report(done.stdout)
    if not report or not report[1]:
        print("bench: the 3.15 sampler at 100 kHz said %r" % done.stdout[-1000:], file=sys.stderr, flush=True)
        return None, None
    return report[0] / report[1], report[2]


def pyflame_fastest(pyflame, pid, nonblocking):
    """(samples/s not (failed), failed share in %) of pyflame -r 0.00001 -s 3; (None, None) if
    its --verbose closing line is missing."""
    with tempfile.NamedTemporaryFile(dir=bench.OUT, suffix=".txt") as out:
        cmd = [pyflame, "-r", "0.00001", "-s", "3", "--verbose", "-p", str(pid), "-o", out.name]
        done = subprocess.run(cmd + (["--nonblocking"] if nonblocking else []), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, universal_newlines=True)
    summary = bench.verbose_summary(done.stderr)
    if not summary or not summary["samples"] or not summary["seconds"]:
        print("bench: pyflame at 100 kHz on 3.15 said %r" % done.stderr[-1000:], file=sys.stderr, flush=True)
        return None, None
    valid = summary["samples"] - summary["failed"]
    return valid / summary["seconds"], 100.0 * summary["failed"] / summary["samples"]


def fastest(pyflame, can_sample):
    """One round of the highest rates against one spinning 3.15 target: the sampler's
    (samples/s, error rate), pyflame's and pyflame --nonblocking's (valid samples/s, failed share)."""
    w = bench.Workload(10 ** 9, interpreter=PYTHON315)
    w.start_spinning()
    try:
        theirs = sampler_fastest(w.pid) if can_sample else (None, None)
        ours = pyflame_fastest(pyflame, w.pid, False)
        nonblocking = pyflame_fastest(pyflame, w.pid, True)
    finally:
        w.kill()
    return theirs, ours, nonblocking


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def us(seconds):
    return None if seconds is None else 1e6 * seconds


def run(pyflame, row):
    """The group's rows, through row(what, value, spec, goal, test of the goal)."""
    if not os.path.exists(PYTHON315):
        print("bench: no %s (make pythons provides it); the sampler315 rows are left empty" % PYTHON315,
              file=sys.stderr, flush=True)
    slow, per_sample, start, top = [], [], [], []
    can_sample = True
    for _ in range(bench.RUNS if os.path.exists(PYTHON315) else 0):
        s = sampler_1khz() if can_sample else (None, None, None)
        can_sample = s[2] is not None
        slow.append(s[0])
        per_sample.append(s[1])
        start.append(s[2])
        top.append(fastest(pyflame, can_sample))
    theirs = [t[0] for t in top]

    def valid(rate, errors):
        return rate * (1 - errors / 100.0) if rate is not None else None

    row("3.15 sampler CPU per sample at 1 kHz, startup left out (us)", us(median(per_sample)), "%.1f")
    row("3.15 sampler startup CPU, attach -d 0 (ms)", us(median(start)) and us(median(start)) / 1e3, "%.0f")
    row("target slowdown at 1 kHz, 3.15 sampler (x)", median(slow), "%.3f")
    row("3.15 sampler highest rate, -r 100khz, 3 s (samples/s)", median(t[0] for t in theirs), "%.0f")
    row("3.15 sampler error rate at its highest rate (%)", median(t[1] for t in theirs), "%.2f")
    row("3.15 sampler valid samples/s at its highest rate", median(valid(*t) for t in theirs), "%.0f")
    # -r 0.00001 asks for 100,000 samples a second: the highest ratio any profiler could reach.
    row("ceiling of the ratio below: 100,000 samples/s / the sampler's valid samples/s (x)",
        median(1e5 / valid(*t) for t in theirs if valid(*t)), "%.2f")
    for i, mode in [(1, "default"), (2, "--nonblocking")]:
        goal = mode == "default"
        row("pyflame -r 0.00001 -s 3 on 3.15, %s: samples/s not (failed)" % mode, median(t[i][0] for t in top), "%.0f")
        row("pyflame -r 0.00001 -s 3 on 3.15, %s: failed share (%%)" % mode, median(t[i][1] for t in top), "%.2f",
            "<= 1%" if goal else "", (lambda x: x <= 1.0) if goal else None)
        row("pyflame valid samples/s / 3.15 sampler's, %s (x)" % mode,
            median(t[i][0] / valid(*t[0]) for t in top if t[i][0] is not None and valid(*t[0])), "%.2f",
            ">= 2" if goal else "", (lambda x: x >= 2.0) if goal else None)
