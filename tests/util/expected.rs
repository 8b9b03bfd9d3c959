//! What pyflame must print for the hostile targets (tests/scripts/hostile.py): the
//! stacks the script announces before READY, turned into frame texts by the rules of
//! issue 11 (names escaped, long names cut, `<unreadable>` fields, deep stacks cut to
//! their innermost and outermost frames), and matchers for dumps and profiles.

use super::dump_format::{parse_dump, DumpThread};

/// Innermost and outermost frames a long stack keeps (issue 11).
pub const KEEP: usize = 1024;
/// Characters of a name shown before `...[N chars]`.
pub const NAME_MAX: usize = 1024;
pub const UNREADABLE: &str = "<unreadable>";
pub const NOT_READ: &str = "<pyflame>:<frames not read>:0";
pub const OMITTED_IN_SAMPLES: &str = "<pyflame>:<frames omitted>:0";

/// One thread the script announced; `frames` leaf first, as pyflame must print them
/// before any cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedThread {
    pub id: u64,
    pub frames: Vec<String>,
}

/// The script's preamble: its threads (fake thread states repeated) and skipped cases.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub threads: Vec<ExpectedThread>,
    pub skipped: Vec<String>,
}

/// Parses the lines hostile.py prints before READY (see its header).
pub fn parse_preamble(lines: &[String]) -> Result<Expected, String> {
    let mut out = Expected::default();
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["SKIPPED", ..] => out.skipped.push(line["SKIPPED ".len()..].to_string()),
            ["THREAD", id] => out.threads.push(ExpectedThread {
                id: number(id, line)?,
                frames: Vec::new(),
            }),
            ["FRAME", file, func, line_no, repeat @ ..] => {
                let thread = out.threads.last_mut().ok_or("FRAME before THREAD")?;
                let frame = format!("{}:{}:{}", name(file)?, name(func)?, line_no);
                let times = match repeat {
                    [] => 1,
                    [n] => number(n, line)?,
                    _ => return Err(format!("bad line {line:?}")),
                };
                thread
                    .frames
                    .extend(std::iter::repeat_n(frame, times as usize));
            }
            ["FAKES", n, id] => {
                let id = number(id, line)?;
                let copy = out.threads.iter().find(|t| t.id == id).cloned();
                let copy = copy.ok_or_else(|| format!("{line:?}: no thread {id}"))?;
                out.threads
                    .extend(std::iter::repeat_n(copy, number(n, line)? as usize));
            }
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    Ok(out)
}

fn number(text: &str, line: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("bad number {text:?} in {line:?}"))
}

/// A name token: `-` (unreadable), or code points in hex (`cp*n` for a run of n).
fn name(token: &str) -> Result<String, String> {
    if token == "-" {
        return Ok(UNREADABLE.to_string());
    }
    let mut points = Vec::new();
    for item in token.split(',') {
        let (hex, times) = item.split_once('*').unwrap_or((item, "1"));
        let point = u32::from_str_radix(hex, 16).map_err(|_| format!("bad name {token:?}"))?;
        let times: usize = times.parse().map_err(|_| format!("bad name {token:?}"))?;
        points.extend(std::iter::repeat_n(point, times));
    }
    Ok(shown_name(&points))
}

/// A name as pyflame shows it: cut after [`NAME_MAX`] characters, then escaped.
pub fn shown_name(points: &[u32]) -> String {
    let mut out = String::new();
    for &point in points.iter().take(NAME_MAX) {
        escape(point, &mut out);
    }
    if points.len() > NAME_MAX {
        out += &format!("...[{} chars]", points.len());
    }
    out
}

/// The escaping of issue 11: `\n \r \t`; other C0 controls, DEL and C1 controls and `;`
/// as `\xHH`; bidi controls and the line/paragraph separators as `\uHHHH`; lone
/// surrogates as U+FFFD; everything else unchanged.
pub fn escape(point: u32, out: &mut String) {
    match point {
        0x0a => out.push_str("\\n"),
        0x0d => out.push_str("\\r"),
        0x09 => out.push_str("\\t"),
        0x00..=0x1f | 0x7f..=0x9f | 0x3b => out.push_str(&format!("\\x{point:02x}")),
        0x061c | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0x2028 | 0x2029 => {
            out.push_str(&format!("\\u{point:04x}"))
        }
        0xd800..=0xdfff => out.push('\u{fffd}'),
        _ => out.push(char::from_u32(point).expect("a code point")),
    }
}

/// A character that must never appear raw in pyflame's output.
pub fn forbidden(c: char) -> bool {
    let point = c as u32;
    let mut escaped = String::new();
    escape(point, &mut escaped);
    point != 0x0a && escaped != c.to_string() && !(0xd800..=0xdfff).contains(&point)
}

/// Which output a cut stack is for: the dump says how many frames it left out,
/// samples say it the same way every time (so that they aggregate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Dump,
    Sample,
}

/// `frames` (leaf first) as printed: at most [`KEEP`] innermost and outermost frames.
pub fn cut(frames: &[String], how: Cut) -> Vec<String> {
    if frames.len() <= 2 * KEEP {
        return frames.to_vec();
    }
    let left_out = frames.len() - 2 * KEEP;
    let marker = match how {
        Cut::Dump => format!("<pyflame>:<{left_out} frames omitted>:0"),
        Cut::Sample => OMITTED_IN_SAMPLES.to_string(),
    };
    let mut out = frames[..KEEP].to_vec();
    out.push(marker);
    out.extend_from_slice(&frames[frames.len() - KEEP..]);
    out
}

/// Whether `got` (leaf first) is `full` as printed, or, when a budget cut the walk,
/// an innermost part of it (itself cut as a dump would cut it) ending with
/// [`NOT_READ`].
pub fn is_full_or_budget_cut(got: &[String], full: &[String], how: Cut) -> bool {
    if got == cut(full, how) {
        return true;
    }
    let Some((last, read)) = got.split_last() else {
        return false;
    };
    if last != NOT_READ || read.len() > full.len() {
        return false;
    }
    if read.len() <= KEEP || full[..read.len()] == *read {
        return full[..read.len()] == *read;
    }
    // innermost KEEP, a marker, then frames further out
    let tail = &read[KEEP + 1..];
    let left_out = match how {
        Cut::Sample if read[KEEP] == OMITTED_IN_SAMPLES => None,
        _ => read[KEEP]
            .strip_prefix("<pyflame>:<")
            .and_then(|m| m.strip_suffix(" frames omitted>:0"))
            .and_then(|n| n.parse::<usize>().ok()),
    };
    let start = match (how, left_out) {
        (Cut::Dump, Some(n)) => KEEP + n,
        // samples do not say how many: find where the tail starts
        (Cut::Sample, None) => match (KEEP..full.len()).find(|&s| full[s..].starts_with(tail)) {
            Some(s) => s,
            None => return false,
        },
        _ => return false,
    };
    read[..KEEP] == full[..KEEP] && full.get(start..start + tail.len()) == Some(tail)
}

/// A dump's threads, matched with the expected ones by thread id, must be exactly the
/// expected stacks (`exact`), or each a full-or-budget-cut form of one. Returns the
/// threads, or what differs.
pub fn match_dump(text: &str, expected: &Expected, exact: bool) -> Result<Vec<DumpThread>, String> {
    let threads = parse_dump(text).map_err(|e| format!("bad dump: {e}"))?;
    let mut unmatched: Vec<&ExpectedThread> = expected.threads.iter().collect();
    let mut problems = Vec::new();
    for thread in &threads {
        let got: Vec<String> = thread.frames.iter().map(|f| f.to_string()).collect();
        let fits = |e: &&ExpectedThread| {
            e.id == thread.id
                && if exact {
                    got == cut(&e.frames, Cut::Dump)
                } else {
                    is_full_or_budget_cut(&got, &e.frames, Cut::Dump)
                }
        };
        match unmatched.iter().position(fits) {
            Some(n) => {
                unmatched.remove(n);
            }
            None => problems.push(explain(thread.id, &got, expected)),
        }
    }
    if exact && !unmatched.is_empty() {
        let ids: Vec<u64> = unmatched.iter().map(|t| t.id).collect();
        problems.push(format!("{} expected threads missing: {ids:?}", ids.len()));
    }
    match problems.is_empty() {
        true => Ok(threads),
        false => Err(problems.join("\n")),
    }
}

/// Why a dumped thread matches none: the first frame where it leaves the closest
/// expected stack of its id.
fn explain(id: u64, got: &[String], expected: &Expected) -> String {
    let Some(want) = expected.threads.iter().find(|t| t.id == id) else {
        return format!("thread {id} was not expected ({} frames)", got.len());
    };
    let want = cut(&want.frames, Cut::Dump);
    let at = (0..got.len().max(want.len()))
        .find(|&n| got.get(n) != want.get(n))
        .unwrap_or(0);
    format!(
        "thread {id}: {} frames, expected {}; first difference at frame {at} (leaf = 0):\n  \
         got:      {:?}\n  expected: {:?}",
        got.len(),
        want.len(),
        got.get(at).map(|s| short(s)),
        want.get(at).map(|s| short(s))
    )
}

fn short(frame: &str) -> String {
    match frame.chars().count() > 300 {
        true => format!(
            "{}... ({} chars)",
            frame.chars().take(300).collect::<String>(),
            frame.len()
        ),
        false => frame.to_string(),
    }
}

/// The exact collapsed output of one sample with `--threads` (`-s 0`): every expected
/// thread's stack, outermost first, cut as samples are, equal stacks counted together,
/// lines sorted.
pub fn one_sample_collapsed(expected: &Expected) -> String {
    let mut counts: Vec<(String, u64)> = Vec::new();
    for thread in &expected.threads {
        let stack = root_first(&cut(&thread.frames, Cut::Sample));
        match counts.iter_mut().find(|(s, _)| *s == stack) {
            Some((_, n)) => *n += 1,
            None => counts.push((stack, 1)),
        }
    }
    let mut lines: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}\n")).collect();
    lines.sort();
    lines.concat()
}

/// Frames leaf first -> `root;...;leaf`.
pub fn root_first(frames: &[String]) -> String {
    let mut frames = frames.to_vec();
    frames.reverse();
    frames.join(";")
}

#[test]
fn names_are_cut_then_escaped() {
    assert_eq!(
        shown_name(&[0x61, 0x0a, 0x3b, 0x202e, 0xd800, 0xe9, 0x5c]),
        "a\\n\\x3b\\u202e\u{fffd}é\\"
    );
    assert_eq!(
        shown_name(&[0x00, 0x1b, 0x7f, 0x85, 0x09, 0x0d]),
        "\\x00\\x1b\\x7f\\x85\\t\\r"
    );
    let long = shown_name(&[0x78; 1025]);
    assert_eq!(long, format!("{}...[1025 chars]", "x".repeat(1024)));
    assert_eq!(shown_name(&[0x78; 1024]), "x".repeat(1024));
    assert!(forbidden('\u{202e}') && forbidden('\u{1b}') && !forbidden('\n') && !forbidden('é'));
}

#[test]
fn preamble_and_cuts() {
    let lines: Vec<String> = [
        "SKIPPED no reason",
        "THREAD 7",
        "FRAME 61 66 3",
        "FRAME - 67,3b 0 3000",
        "FAKES 2 7",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let e = parse_preamble(&lines).unwrap();
    assert_eq!(e.skipped, ["no reason"]);
    assert_eq!(e.threads.len(), 3);
    assert_eq!(e.threads[2].frames.len(), 3001);
    assert_eq!(e.threads[0].frames[1], "<unreadable>:g\\x3b:0");
    let dumped = cut(&e.threads[0].frames, Cut::Dump);
    assert_eq!(dumped.len(), 2 * KEEP + 1);
    assert_eq!(dumped[KEEP], "<pyflame>:<953 frames omitted>:0");
    let full = &e.threads[0].frames;
    let mut partial = full[..KEEP].to_vec();
    partial.push("<pyflame>:<100 frames omitted>:0".into());
    partial.extend_from_slice(&full[KEEP + 100..KEEP + 150]);
    partial.push(NOT_READ.into());
    assert!(is_full_or_budget_cut(&partial, full, Cut::Dump));
    assert!(is_full_or_budget_cut(
        &[full[0].clone(), NOT_READ.into()],
        full,
        Cut::Sample
    ));
    assert!(!is_full_or_budget_cut(
        &[full[1].clone(), NOT_READ.into()],
        full,
        Cut::Sample
    ));
    assert!(is_full_or_budget_cut(&dumped, full, Cut::Dump));
}
