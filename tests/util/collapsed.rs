//! Parsing pyflame's profile outputs strictly (reference §2.2 and §2.4).
//!
//! Collapsed (default):
//! ```text
//! (idle) N          only if N > 0; always first
//! (failed) N        only if N > 0; after (idle)
//! root;...;leaf N   one line per distinct stack, sorted (byte order), unique
//! ```
//! Frames are `file:function:line`, or `file:function` with `-n`; file and
//! function contain no ':' (the reference test suite's regexes). Every count is a
//! positive decimal without leading zeros, and every line ends with '\n'.
//!
//! Flamechart (`--flamechart`): per record, a line of integer microseconds since
//! the epoch, then `(idle)`, `(failed)` or the frames root-first, EACH followed by ';'.

use super::marks::line_of;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// A parsed collapsed profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collapsed {
    pub idle: u64,
    pub failed: u64,
    /// In output order (sorted); frames root-first, as printed.
    pub stacks: Vec<(Vec<String>, u64)>,
}

impl Collapsed {
    /// Every count added up: the number of samples (thread-samples with --threads).
    pub fn total(&self) -> u64 {
        self.idle + self.failed + self.stacks.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// The count of exactly this stack (0 if absent).
    pub fn count_of(&self, frames: &[String]) -> u64 {
        self.stacks
            .iter()
            .find(|(f, _)| f.as_slice() == frames)
            .map_or(0, |(_, n)| *n)
    }

    /// The distinct stacks, without counts.
    pub fn stack_set(&self) -> HashSet<Vec<String>> {
        self.stacks.iter().map(|(f, _)| f.clone()).collect()
    }

    /// Whether some stack has a frame of function `func` (any file, any line).
    pub fn has_function(&self, func: &str) -> bool {
        self.stacks
            .iter()
            .any(|(frames, _)| frames.iter().any(|f| frame_function(f) == Some(func)))
    }
}

/// The function part of a frame text (`file:function[:line]`).
pub fn frame_function(frame: &str) -> Option<&str> {
    frame.split(':').nth(1)
}

/// `file:func:line`, or `file:func` when `line` is None.
pub fn frame_text(file: &Path, func: &str, line: Option<u32>) -> String {
    match line {
        Some(line) => format!("{}:{func}:{line}", file.display()),
        None => format!("{}:{func}", file.display()),
    }
}

/// A root-first stack in `script` from (function, marker) pairs.
pub fn marked_stack(
    script: &Path,
    marks: &HashMap<String, u32>,
    frames: &[(&str, &str)],
) -> Vec<String> {
    frames
        .iter()
        .map(|(func, mark)| frame_text(script, func, Some(line_of(marks, mark))))
        .collect()
}

/// Checks one frame: `file:function:line` (or `file:function` without line numbers).
pub fn check_frame(frame: &str, line_numbers: bool) -> Result<(), String> {
    let parts: Vec<&str> = frame.split(':').collect();
    let ok = match (line_numbers, parts.as_slice()) {
        (true, [file, func, line]) => !file.is_empty() && !func.is_empty() && is_number(line, true),
        (false, [file, func]) => !file.is_empty() && !func.is_empty(),
        _ => false,
    };
    let shape = if line_numbers {
        "file:function:line"
    } else {
        "file:function"
    };
    if ok && !frame.contains(['\n', '\r', ';']) {
        Ok(())
    } else {
        Err(format!("frame {frame:?} is not {shape}"))
    }
}

/// Decimal digits only, no leading zero (a lone "0" only if `zero_ok`).
fn is_number(text: &str, zero_ok: bool) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" && zero_ok || !text.starts_with('0'))
}

fn count(text: &str, line: &str) -> Result<u64, String> {
    if !is_number(text, false) {
        return Err(format!("line {line:?}: bad count {text:?}"));
    }
    text.parse()
        .map_err(|e| format!("line {line:?}: count {text:?}: {e}"))
}

/// Every line of `text`, each of which must end with '\n'.
fn lines(text: &str) -> Result<Vec<&str>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("the output does not end with a newline")?;
    let lines: Vec<&str> = body.split('\n').collect();
    if let Some(n) = lines.iter().position(|l| l.is_empty()) {
        return Err(format!("line {} is empty", n + 1));
    }
    Ok(lines)
}

/// Parses a collapsed profile, enforcing the whole grammar.
pub fn parse_collapsed(text: &str, line_numbers: bool) -> Result<Collapsed, String> {
    let mut out = Collapsed::default();
    let mut rest = lines(text)?.into_iter().peekable();
    if let Some(n) = rest.peek().and_then(|l| l.strip_prefix("(idle) ")) {
        out.idle = count(n, "(idle)")?;
        rest.next();
    }
    if let Some(n) = rest.peek().and_then(|l| l.strip_prefix("(failed) ")) {
        out.failed = count(n, "(failed)")?;
        rest.next();
    }
    let mut previous: Option<&str> = None;
    let mut seen = HashSet::new();
    for line in rest {
        let (stack, n) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("line {line:?} is not \"<stack> <count>\""))?;
        let frames: Vec<String> = stack.split(';').map(String::from).collect();
        for frame in &frames {
            check_frame(frame, line_numbers).map_err(|e| format!("line {line:?}: {e}"))?;
        }
        let n = count(n, line)?;
        if previous.is_some_and(|p| p >= line) {
            return Err(format!(
                "lines not sorted and unique: {previous:?} before {line:?}"
            ));
        }
        if !seen.insert(stack) {
            return Err(format!("stack {stack:?} appears twice"));
        }
        previous = Some(line);
        out.stacks.push((frames, n));
    }
    Ok(out)
}

/// What one flamechart record shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChartStack {
    Idle,
    Failed,
    /// Root-first.
    Frames(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRecord {
    /// Microseconds since the Unix epoch.
    pub micros: u64,
    pub stack: ChartStack,
}

/// Parses flamechart output, enforcing the grammar (not the timestamp order).
pub fn parse_flamechart(text: &str, line_numbers: bool) -> Result<Vec<ChartRecord>, String> {
    let lines = lines(text)?;
    if lines.len() % 2 != 0 {
        return Err(format!("{} lines: not pairs", lines.len()));
    }
    lines
        .chunks(2)
        .map(|pair| {
            let (time, stack) = (pair[0], pair[1]);
            if !is_number(time, false) {
                return Err(format!("timestamp line {time:?} is not an integer"));
            }
            let micros = time
                .parse()
                .map_err(|e| format!("timestamp {time:?}: {e}"))?;
            let stack = match stack {
                "(idle)" => ChartStack::Idle,
                "(failed)" => ChartStack::Failed,
                _ => {
                    let body = stack
                        .strip_suffix(';')
                        .ok_or_else(|| format!("stack line {stack:?} does not end with ';'"))?;
                    let frames: Vec<String> = body.split(';').map(String::from).collect();
                    for frame in &frames {
                        check_frame(frame, line_numbers)
                            .map_err(|e| format!("stack line {stack:?}: {e}"))?;
                    }
                    ChartStack::Frames(frames)
                }
            };
            Ok(ChartRecord { micros, stack })
        })
        .collect()
}

#[test]
fn parse_collapsed_accepts_the_contract_and_nothing_else() {
    let text = "(idle) 3\n(failed) 1\n/a.py:<module>:9;/a.py:f:2 5\n/a.py:<module>:9;/a.py:g:4 1\n";
    let p = parse_collapsed(text, true).unwrap();
    assert_eq!((p.idle, p.failed, p.total()), (3, 1, 10));
    assert_eq!(
        p.count_of(&["/a.py:<module>:9".into(), "/a.py:f:2".into()]),
        5
    );
    assert!(p.has_function("g") && !p.has_function("h"));
    assert_eq!(parse_collapsed("", true).unwrap(), Collapsed::default());
    assert_eq!(
        parse_collapsed("/a.py:<module>;/a.py:f 2\n", false)
            .unwrap()
            .total(),
        2
    );
    for bad in [
        "/a.py:f:1 1",                            // no final newline
        "(failed) 1\n(idle) 2\n",                 // idle after failed
        "(idle) 0\n",                             // zero count
        "(idle) 2\n(idle) 2\n",                   // twice
        "/a.py:f:1 01\n",                         // leading zero
        "/a.py:f:1 0\n",                          // zero count
        "/a.py:g:1 1\n/a.py:f:1 1\n",             // not sorted
        "/a.py:f:1 1\n/a.py:f:1 2\n",             // not unique
        "/a.py:f:1 1\n\n",                        // blank line
        "/a.py:f 1\n",                            // no line number
        "/a.py:f:x 1\n",                          // bad line number
        "/a.py:f:1;;/a.py:g:2 1\n",               // empty frame
        "/a.py:f:1;\n",                           // no count
        "/a.py:f:1 1\n(idle) 2\n",                // idle not first
        "a:b.py:f:1 1\n",                         // ':' in the file
        "/a.py:f:1 1\r\n",                        // CR
        "/a.py:<module>:3;/a.py:f:1;/a.py:g 1\n", // mixed
    ] {
        assert!(parse_collapsed(bad, true).is_err(), "accepted {bad:?}");
    }
    assert!(parse_collapsed("/a.py:f:1 1\n", false).is_err());
}

#[test]
fn parse_flamechart_accepts_the_contract_and_nothing_else() {
    let text = "1700000000000000\n/a.py:<module>:9;/a.py:f:2;\n1700000000010000\n(idle)\n\
                1700000000020000\n(failed)\n";
    let records = parse_flamechart(text, true).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[1].stack, ChartStack::Idle);
    assert_eq!(records[2].stack, ChartStack::Failed);
    assert_eq!(records[0].micros, 1_700_000_000_000_000);
    assert_eq!(
        records[0].stack,
        ChartStack::Frames(vec!["/a.py:<module>:9".into(), "/a.py:f:2".into()])
    );
    assert!(parse_flamechart("1\n/a.py:f;\n", false).is_ok());
    for bad in [
        "17\n/a.py:f:2\n",   // no trailing ';'
        "17\n/a.py:f:2;",    // no final newline
        "17\n",              // odd number of lines
        "x17\n(idle)\n",     // bad timestamp
        "17\n(idle);\n",     // decorated idle
        "17\n;\n",           // no frames
        "17\n/a.py:f;\n",    // no line number
        "17\n/a.py:f:1 3\n", // a count
    ] {
        assert!(parse_flamechart(bad, true).is_err(), "accepted {bad:?}");
    }
}
