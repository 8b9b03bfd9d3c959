//! speedscope's file format (`--format speedscope`, `-o *.json`), as its published schema
//! (https://www.speedscope.app/file-format-schema.json) describes it: `shared.frames` (name,
//! file, line) and `sampled` profiles whose `samples` are stacks of frame indices, outermost
//! first, with `weights` in samples. With `--threads`, one profile per thread; with
//! `--flamechart`, samples keep their time order (neighbouring equal samples are one, weighted).

use std::collections::HashMap;
use std::fmt::Write;

use super::RunInfo;
use crate::profile::{Event, FrameId, Profile};
use crate::python::walk::FrameKind;

pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// The frame indices of what one sample saw.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    Idle,
    Failed,
    Stack(u32),
}

/// Which samples a profile holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Every sample (without `--threads`, or when the threads were not named).
    All,
    /// The stacks of one thread (`Profile::threads`), or of unnamed ones.
    Thread(Option<u32>),
    /// Idle and failed samples, which belong to no thread.
    NoThread,
    /// The stacks of one process of a tree (those starting with this root label), and its
    /// idle and failed samples.
    Process(u32),
}

pub fn render(p: &Profile, run: &RunInfo) -> String {
    let mut frames = Frames::default();
    let mut profiles = Vec::new();
    for group in groups(p, run) {
        let mut samples = String::new();
        let mut weights = String::new();
        let mut total = 0;
        for (seen, weight) in runs(p, group) {
            if total > 0 {
                samples.push(',');
                weights.push(',');
            }
            samples.push('[');
            match seen {
                Seen::Idle | Seen::Failed => write_index(&mut samples, frames.special(seen)),
                Seen::Stack(id) => {
                    for (i, &f) in p.stacks[id as usize].frames.iter().enumerate() {
                        if i > 0 {
                            samples.push(',');
                        }
                        write_index(&mut samples, frames.frame(f));
                    }
                }
            }
            samples.push(']');
            let _ = write!(weights, "{weight}");
            total += weight;
        }
        let name = match group {
            Group::All => run.target(200),
            Group::Thread(Some(t)) => p.thread_label(t),
            // In a tree, the stacks of no thread are the processes' idle and failed samples.
            Group::Thread(None) if p.rooted => "(idle) and (failed)".to_string(),
            Group::Thread(None) => "unnamed threads".to_string(),
            Group::NoThread => "(idle) and (failed)".to_string(),
            Group::Process(root) => p.codes[root as usize].name.clone(),
        };
        profiles.push((name, samples, weights, total));
    }
    // Open the busiest profile first (the first of equals).
    let active = (0..profiles.len())
        .max_by_key(|&i| (profiles[i].3, std::cmp::Reverse(i)))
        .unwrap_or(0);

    let mut out = String::new();
    out.push_str("{\"$schema\":");
    string(&mut out, SCHEMA);
    out.push_str(",\"shared\":{\"frames\":[");
    for (i, (key, name)) in frames.list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        match key {
            Some((code, _)) if p.codes[*code as usize].kind == FrameKind::Label => {
                string(&mut out, &p.codes[*code as usize].name);
            }
            Some((code, line)) => {
                let c = &p.codes[*code as usize];
                string(&mut out, &c.name);
                out.push_str(",\"file\":");
                string(&mut out, &c.filename);
                if p.line_numbers() {
                    let _ = write!(out, ",\"line\":{line}");
                }
            }
            None => string(&mut out, name),
        }
        out.push('}');
    }
    out.push_str("]},\"profiles\":[");
    for (i, (name, samples, weights, total)) in profiles.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("\n{\"type\":\"sampled\",\"name\":");
        string(&mut out, name);
        let _ = write!(
            out,
            ",\"unit\":\"none\",\"startValue\":0,\"endValue\":{total},\
             \"samples\":[{samples}],\"weights\":[{weights}]}}"
        );
    }
    out.push_str("],\n\"name\":");
    string(
        &mut out,
        &format!("{}: {}", run.target(200), run.summary(p)),
    );
    let _ = writeln!(
        out,
        ",\"activeProfileIndex\":{active},\"exporter\":\"pyflame@{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// One profile for everything, or (with `--threads`, when the sampler named the threads)
/// one per thread, ordered by thread id, and one for idle and failed samples if any.
fn groups(p: &Profile, run: &RunInfo) -> Vec<Group> {
    if p.rooted && (!run.threads || p.threads.is_empty()) {
        // One per process, in the order of their labels (`process <PID> ...`, by PID).
        let roots: Vec<u32> = p
            .stacks
            .iter()
            .filter_map(|s| s.frames.first())
            .map(|f| f.0)
            .collect();
        let key = |i: usize| (pid_of(&p.codes[roots[i] as usize].name), roots[i]);
        let order = super::flame::sorted(roots.len(), &|a, b| key(a).cmp(&key(b)));
        let mut groups: Vec<Group> = order
            .into_iter()
            .map(|i| Group::Process(roots[i]))
            .collect();
        groups.dedup();
        return groups;
    }
    if !run.threads || p.threads.is_empty() {
        return vec![Group::All];
    }
    let threads = super::flame::thread_order(p);
    let mut groups = Vec::new();
    if p.stacks.iter().any(|s| s.thread.is_none()) {
        groups.push(Group::Thread(None));
    }
    groups.extend(threads.into_iter().map(|t| Group::Thread(Some(t as u32))));
    let (idle, failed) = p.specials();
    if idle + failed > 0 {
        groups.push(Group::NoThread);
    }
    groups
}

/// A group's samples with their weights: merged stacks, or the time line with neighbouring
/// equal samples joined.
fn runs(p: &Profile, group: Group) -> Vec<(Seen, u64)> {
    let wanted = |seen: Seen| match (group, seen) {
        (Group::All, _) => true,
        (Group::Thread(t), Seen::Stack(id)) => p.stacks[id as usize].thread == t,
        (Group::Process(root), Seen::Stack(id)) => {
            p.stacks[id as usize].frames.first().map(|f| f.0) == Some(root)
        }
        (Group::NoThread, Seen::Idle | Seen::Failed) => true,
        _ => false,
    };
    let mut runs: Vec<(Seen, u64)> = Vec::new();
    match &p.timeline {
        Some(timeline) => {
            for &(_, event) in timeline {
                let seen = match event {
                    Event::Idle => Seen::Idle,
                    Event::Failed => Seen::Failed,
                    Event::Stack(id) => Seen::Stack(id),
                };
                if !wanted(seen) {
                    continue;
                }
                match runs.last_mut() {
                    Some((last, n)) if *last == seen => *n += 1,
                    _ => runs.push((seen, 1)),
                }
            }
        }
        None => {
            let (idle, failed) = p.specials();
            let specials = [(Seen::Idle, idle), (Seen::Failed, failed)];
            let stacks =
                (p.stacks.iter().enumerate()).map(|(id, s)| (Seen::Stack(id as u32), s.count));
            runs.extend(
                specials
                    .into_iter()
                    .chain(stacks)
                    .filter(|&(seen, n)| n > 0 && wanted(seen)),
            );
        }
    }
    runs
}

/// The PID in a process label (`process <PID> ...`), to order processes by.
fn pid_of(label: &str) -> u64 {
    let digits = label.trim_start_matches("process ");
    let end = digits.find(' ').unwrap_or(digits.len());
    digits[..end].parse().unwrap_or(u64::MAX)
}

/// `shared.frames`, in the order first used: a code and line, or a special name.
#[derive(Default)]
struct Frames {
    list: Vec<(Option<FrameId>, &'static str)>,
    index: HashMap<FrameId, u32>,
    idle: Option<u32>,
    failed: Option<u32>,
}

impl Frames {
    fn frame(&mut self, f: FrameId) -> u32 {
        let next = self.list.len() as u32;
        let i = *self.index.entry(f).or_insert(next);
        if i == next {
            self.list.push((Some(f), ""));
        }
        i
    }

    fn special(&mut self, seen: Seen) -> u32 {
        let (slot, name) = match seen {
            Seen::Idle => (&mut self.idle, "(idle)"),
            _ => (&mut self.failed, "(failed)"),
        };
        *slot.get_or_insert_with(|| {
            self.list.push((None, name));
            self.list.len() as u32 - 1
        })
    }
}

fn write_index(out: &mut String, i: u32) {
    let _ = write!(out, "{i}");
}

/// A JSON string: `"`, `\` and control characters escaped.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[path = "speedscope_tests.rs"]
mod tests;
