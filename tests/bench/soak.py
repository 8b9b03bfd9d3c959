#!/usr/bin/env python3
"""make soak: pyflame at 1 kHz for a long time against a target that keeps it busy with events.

The target (soak_target.py) does CPU work in Python on its main thread, starts and joins 100
short-lived threads a second, and counts in a Python handler the SIGUSR1 this driver sends it
100 times a second, evenly spaced (on a 10 ms grid, never less than 9 ms apart: a slot the
driver wakes up for over 5 ms late is skipped), so that a signal is normally handled before the
next one comes and neither the kernel nor CPython merges two. The same target then runs as
long again without pyflame, for comparison: signals it loses too are the machine's (a loaded
machine that leaves the target off the CPU for 10 ms, or the GIL held as long by another
thread), not pyflame's.

Fails (exit 1) unless:
- no sample is lost: pyflame's profile holds the samples due (seconds x 1000) within 0.5%;
- every signal is handled: the signals sent equal those the target's handler counted;
- pyflame's RSS stays flat: VmRSS, read every second, grows by less than 1 MiB from the first
  minute (half the run for runs under two minutes) to the end (the series: target/soak/rss.txt,
  seconds and KiB).
Reports besides: the idle and failed samples, pyflame's CPU time, how long after it was sent
each signal was handled, the threads started and joined a second, the target's slowdown (its
main-thread work rate alone / with pyflame), and how busy other processes kept the machine.

Usage: soak.py PYFLAME   (environment: SOAK_PYTHON, SOAK_SECONDS=600; the run takes twice that)"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "target", "soak")
TARGET = os.path.join(HERE, "soak_target.py")
SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
RATE = 1000
SIGNALS_PER_SECOND = 100
# What the target aims at (soak_target.THREADS_PER_SECOND), for the report.
THREADS_PER_SECOND = 100
SAMPLE_TOLERANCE = 0.005
RSS_GROWTH_LIMIT_KIB = 1024
# The RSS is compared from here to the end: pyflame's caches fill during the first minute.
WARMUP = min(60.0, SECONDS / 2.0)
# A signal slot the driver wakes up for this late is skipped rather than sent close to the next,
# and no signal is sent less than GAP after the one before.
LATE = 0.5 / SIGNALS_PER_SECOND
GAP = 0.9 / SIGNALS_PER_SECOND
# Time for signals still on their way (with pyflame gone, the kernel delivers them at once).
SETTLE = 0.2
# Other processes keeping more CPU than this busy (the target needs a CPU and a bit) make a failure
# likely the machine's: the verdict says so.
BUSY = 0.25
# How long pyflame may overrun its -s before the soak gives up on it.
GRACE = 30


def python():
    if os.environ.get("SOAK_PYTHON"):
        return os.environ["SOAK_PYTHON"]
    pyenv = os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12")
    return pyenv if os.path.exists(pyenv) else "python3"


def vm_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def busy_seconds():
    """The CPU time the machine has spent busy, all CPUs together (from /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / float(os.sysconf("SC_CLK_TCK"))


def own_cpu():
    t = os.times()
    return t[0] + t[1]


def profile_counts(path):
    """(samples, idle, failed) of a collapsed profile: every line's count summed."""
    total = idle = failed = 0
    with open(path) as f:
        for line in f:
            head, _, count = line.rstrip("\n").rpartition(" ")
            if not head or not count.isdigit():
                raise SystemExit("soak: %s: not a collapsed line: %r" % (path, line))
            total += int(count)
            if head == "(idle)":
                idle += int(count)
            elif head == "(failed)":
                failed += int(count)
    return total, idle, failed


class Run:
    """One run of the target, with pyflame or without: the signals sent, pyflame's RSS series,
    exit status, CPU time and profile, and the target's own figures."""

    def __init__(self, pyflame):
        self.name = "pyflame" if pyflame else "alone"
        self.stats = os.path.join(OUT, "stats-%s.json" % self.name)
        self.profile = os.path.join(OUT, "profile.txt")
        self.stderr = os.path.join(OUT, "pyflame.stderr")
        self.sent = []  # when each signal was sent (time.monotonic)
        self.skipped = 0
        self.rss = []  # (seconds since pyflame started, KiB), from 1 s on (at 0 s pyflame has barely started)
        self.status = self.cpu = None
        # The CPUs other processes kept busy meanwhile: the soak's timings mean little beside them.
        self.others = None
        self.machine = (time.monotonic(), busy_seconds(), own_cpu())
        if os.path.exists(self.stats):
            os.remove(self.stats)
        self.target = subprocess.Popen([python(), TARGET, self.stats], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, universal_newlines=True)
        if self.target.stdout.readline().strip() != "READY":
            raise SystemExit("soak: the target did not start")
        self.target.stdin.write("\n")
        self.target.stdin.flush()
        self.pyflame = None
        if pyflame:
            with open(self.stderr, "w") as err:
                self.pyflame = subprocess.Popen(
                    [pyflame, "-s", str(SECONDS), "-r", str(1.0 / RATE), "-p", str(self.target.pid),
                     "-o", self.profile], stdout=subprocess.DEVNULL, stderr=err)

    def drive(self):
        """Sends SIGUSR1 every 10 ms and reads pyflame's RSS every second, until pyflame exits
        (or, alone, for SECONDS)."""
        start = time.monotonic()
        k = 0
        while True:
            due = start + float(k) / SIGNALS_PER_SECOND
            now = time.monotonic()
            at = max(due, self.sent[-1] + GAP) if self.sent else due
            if at > now:
                time.sleep(at - now)
            if self.target.poll() is not None:
                raise SystemExit("soak: the target exited early (status %s)" % self.target.returncode)
            if self.pyflame is None:
                if k >= SECONDS * SIGNALS_PER_SECOND:
                    break
            elif self.reaped():
                break
            elif now - start > SECONDS + GRACE:
                self.pyflame.kill()
                raise SystemExit("soak: pyflame still runs %d s after its %d s" % (GRACE, SECONDS))
            if time.monotonic() - due > LATE:
                self.skipped += 1
            else:
                self.sent.append(time.monotonic())
                os.kill(self.target.pid, signal.SIGUSR1)
            if self.pyflame is not None and k and k % SIGNALS_PER_SECOND == 0:
                kib = vm_rss_kib(self.pyflame.pid)
                if kib is not None:
                    self.rss.append((time.monotonic() - start, kib))
            k += 1

    def reaped(self):
        pid, status, usage = os.wait4(self.pyflame.pid, os.WNOHANG)
        if not pid:
            return False
        self.status = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        self.cpu = usage.ru_utime + usage.ru_stime
        self.pyflame.returncode = self.status
        return True

    def finish(self):
        """Stops the target and returns its figures."""
        time.sleep(SETTLE)
        self.target.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        while True:
            pid, status, usage = os.wait4(self.target.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                raise SystemExit("soak: the target did not stop on SIGTERM")
            time.sleep(0.05)
        self.target.returncode = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        start, busy, own = self.machine
        ours = usage.ru_utime + usage.ru_stime + (self.cpu or 0) + own_cpu() - own
        self.others = (busy_seconds() - busy - ours) / (time.monotonic() - start)
        if self.target.returncode != 0 or not os.path.exists(self.stats):
            raise SystemExit("soak: the target ended with status %s and no figures" % self.target.returncode)
        with open(self.stats) as f:
            return json.load(f)

    def kill(self):
        for p in (self.pyflame, self.target):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def handling_delays(sent, handled):
    """For each signal sent, the time until the handler next ran (None: it never did)."""
    delays = []
    j = 0
    for t in sent:
        while j < len(handled) and handled[j] < t:
            j += 1
        delays.append(handled[j] - t if j < len(handled) else None)
    return delays


def signals(run, stats):
    """(lost, report line): the signals sent and handled, how long after they were sent, and when
    those were sent that the handler did not run for before the next one (merged, or lost)."""
    sent, handled = run.sent, stats["handled"]
    line = "%d sent, %d handled (slots skipped as the driver woke up late: %d)" % (
        len(sent), len(handled), run.skipped)
    if stats["clock"] == "monotonic" and sent:
        delays = handling_delays(sent, handled)
        gaps = [b - a for a, b in zip(sent, sent[1:])] + [float("inf")]
        unhandled = [t - sent[0] for t, d, g in zip(sent, delays, gaps) if d is None or d >= g]
        known = sorted(d for d in delays if d is not None)
        if known:
            at = lambda q: 1e3 * known[min(len(known) - 1, int(q * len(known)))]
            line += "; handled after %.2f ms (median), %.1f ms (99%%), %.1f ms (99.9%%), %.1f ms (max)" % (
                at(0.5), at(0.99), at(0.999), 1e3 * known[-1])
        where = ""
        if unhandled:
            where = " (sent at %s%s)" % (", ".join("%.2f s" % t for t in unhandled[:5]),
                                         ", ..." if len(unhandled) > 5 else "")
        line += "; %d not handled before the next was sent%s" % (len(unhandled), where)
    return len(sent) - len(handled), line


def run(pyflame):
    r = Run(pyflame)
    try:
        r.drive()
        return r, r.finish()
    finally:
        r.kill()


def main():
    pyflame = os.path.abspath(sys.argv[1])
    os.makedirs(OUT, exist_ok=True)
    failures = []

    def report(what, line, ok=True):
        print("soak: %s: %s%s" % (what, line, "" if ok else "  <- FAILED"), flush=True)
        if not ok:
            failures.append(what)

    print("soak: python %s, %d s at %d Hz, then %d s without pyflame; the target starts and joins "
          "%d threads/s and gets %d SIGUSR1/s; %d CPUs" % (python(), SECONDS, RATE, SECONDS, THREADS_PER_SECOND,
                                                          SIGNALS_PER_SECOND, os.cpu_count()), flush=True)
    prof, ours = run(pyflame)

    if prof.status != 0:
        report("pyflame", "exit status %s" % prof.status, False)
    with open(prof.stderr) as f:
        err = f.read().strip()
    if err:
        print("soak: pyflame's stderr: %s" % err.replace("\n", "\n    "), flush=True)

    due = SECONDS * RATE
    total, idle, failed = profile_counts(prof.profile) if os.path.exists(prof.profile) else (0, 0, 0)
    off = (total - due) / float(due)
    report("samples", "%d of %d due (%+.2f%%, limit %.1f%%), %d idle, %d failed"
           % (total, due, 100 * off, 100 * SAMPLE_TOLERANCE, idle, failed), abs(off) <= SAMPLE_TOLERANCE)
    if prof.cpu is not None and total:
        report("pyflame CPU", "%.1f s, %.1f us a sample" % (prof.cpu, 1e6 * prof.cpu / total))

    lost, line = signals(prof, ours)
    report("signals", line, lost == 0)

    if prof.rss:
        with open(os.path.join(OUT, "rss.txt"), "w") as f:
            f.write("".join("%.1f %d\n" % r for r in prof.rss))
        kib = [k for _, k in prof.rss]
        at_warmup = next((k for t, k in prof.rss if t >= WARMUP), kib[-1])
        growth = kib[-1] - at_warmup
        report("pyflame RSS", "%.2f to %.2f MiB (min to max, %d readings); %+.0f KiB from %.0f s to the "
               "end (limit %d KiB)" % (min(kib) / 1024.0, max(kib) / 1024.0, len(kib), growth, WARMUP,
                                       RSS_GROWTH_LIMIT_KIB), growth < RSS_GROWTH_LIMIT_KIB)
    else:
        report("pyflame RSS", "never read", False)

    alone_run, alone = run(None)
    lost_alone, line = signals(alone_run, alone)
    report("signals alone", line)
    if lost and lost_alone:
        failures[failures.index("signals")] = "signals: %d lost, and %d without pyflame" % (lost, lost_alone)
    report("threads", "%.1f/s started and joined with pyflame, %.1f/s alone (%d/s due)"
           % (ours["joined"] / ours["elapsed"], alone["joined"] / alone["elapsed"], THREADS_PER_SECOND))
    ours_rate = ours["units"] / ours["elapsed"]
    alone_rate = alone["units"] / alone["elapsed"]
    report("target slowdown", "%.3fx (main-thread work units/s: %.0f alone, %.0f with pyflame)"
           % (alone_rate / ours_rate, alone_rate, ours_rate))

    report("machine", "other processes kept %.2f of %d CPUs busy during the run with pyflame, %.2f during "
           "the run alone" % (prof.others, os.cpu_count(), alone_run.others))

    if failures:
        busy = max(prof.others, alone_run.others)
        if busy > BUSY:
            failures.append("other processes kept up to %.2f CPUs busy: run it on a quiet machine" % busy)
        print("soak: FAILED (%s)" % "; ".join(failures))
        sys.exit(1)
    print("soak: ok")


if __name__ == "__main__":
    main()
