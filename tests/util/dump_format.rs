//! Parsing `pyflame -d` output (reference §2.3), strictly:
//!
//! ```text
//! <thread_id>[*]:[ <extra info, e.g. tid=1234>]
//! <leaf frame: co_filename:co_name:line>
//! ...
//! <outermost frame>
//! <one blank line between threads, none after the last>
//! ```

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub file: String,
    pub func: String,
    pub line: u32,
}

impl Frame {
    pub fn new(file: &str, func: &str, line: u32) -> Self {
        Frame {
            file: file.to_string(),
            func: func.to_string(),
            line,
        }
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.func, self.line)
    }
}

/// One thread of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpThread {
    /// PyThreadState.thread_id (the pthread_t).
    pub id: u64,
    /// The `*` after the id: this thread holds the GIL.
    pub holds_gil: bool,
    /// Whatever follows "<id>[*]:", trimmed.
    pub info: String,
    /// Leaf first.
    pub frames: Vec<Frame>,
}

impl DumpThread {
    /// The kernel thread id from a `tid=N` word in the header, if there is one.
    pub fn tid(&self) -> Option<u32> {
        self.info_value("tid").and_then(|v| v.parse().ok())
    }

    /// The value of a `key=value` word in the header.
    pub fn info_value(&self, key: &str) -> Option<&str> {
        self.info
            .split_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
    }

    pub fn leaf(&self) -> &str {
        self.frames.first().map_or("", |f| f.func.as_str())
    }
}

/// Parses a whole dump. An empty dump (no thread has a frame) is valid.
pub fn parse_dump(text: &str) -> Result<Vec<DumpThread>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("the dump does not end with a newline")?;
    if body.ends_with('\n') {
        return Err("blank line after the last thread".into());
    }
    body.split("\n\n")
        .enumerate()
        .map(|(n, block)| parse_block(block).map_err(|e| format!("thread #{}: {e}", n + 1)))
        .collect()
}

fn parse_block(block: &str) -> Result<DumpThread, String> {
    let mut lines = block.split('\n');
    let header = lines.next().unwrap_or_default();
    let (id_part, info) = header
        .split_once(':')
        .ok_or_else(|| format!("header {header:?} has no ':'"))?;
    let (digits, holds_gil) = match id_part.strip_suffix('*') {
        Some(digits) => (digits, true),
        None => (id_part, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "header {header:?} does not start with <thread id>[*]:"
        ));
    }
    let id = digits
        .parse()
        .map_err(|e| format!("thread id {digits:?}: {e}"))?;
    if !info.is_empty() && !info.starts_with(' ') {
        return Err(format!("header {header:?}: extra info must follow ': '"));
    }
    let frames = lines.map(parse_frame).collect::<Result<Vec<_>, _>>()?;
    if frames.is_empty() {
        return Err(format!("thread {header:?} has no frames"));
    }
    Ok(DumpThread {
        id,
        holds_gil,
        info: info.trim().to_string(),
        frames,
    })
}

/// `file:func:line`, split from the right (a file name may contain ':').
pub fn parse_frame(line: &str) -> Result<Frame, String> {
    let mut parts = line.rsplitn(3, ':');
    let (Some(number), Some(func), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("frame {line:?} is not file:function:line"));
    };
    let line_no = number
        .parse()
        .map_err(|_| format!("frame {line:?}: bad line number"))?;
    if file.is_empty() || func.is_empty() {
        return Err(format!("frame {line:?}: empty file or function"));
    }
    Ok(Frame::new(file, func, line_no))
}

/// Frames one per line, runs of identical frames folded ("... (x500)").
pub fn render_frames(frames: &[Frame]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < frames.len() {
        let run = frames[i..].iter().take_while(|f| **f == frames[i]).count();
        out += &format!("  {}", frames[i]);
        if run > 1 {
            out += &format!("  (x{run})");
        }
        out.push('\n');
        i += run;
    }
    out
}

/// A whole dump with recursion runs folded, for failure messages.
pub fn render_dump(threads: &[DumpThread]) -> String {
    threads
        .iter()
        .map(|t| {
            let star = if t.holds_gil { "*" } else { "" };
            format!("{}{star}: {}\n{}", t.id, t.info, render_frames(&t.frames))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn parse_dump_accepts_the_contract_and_nothing_else() {
    let text = "140*: tid=7\n/a/b.py:spin:3\n\n141:\n/a/b.py:f:9\n/a/b.py:<module>:12\n";
    let threads = parse_dump(text).unwrap();
    assert_eq!(threads.len(), 2);
    assert!(threads[0].holds_gil && !threads[1].holds_gil);
    assert_eq!(threads[0].tid(), Some(7));
    assert_eq!(threads[1].tid(), None);
    assert_eq!(threads[1].frames[1], Frame::new("/a/b.py", "<module>", 12));
    assert_eq!(parse_dump("").unwrap(), vec![]);
    for bad in [
        "140:\n/a.py:f:1",                        // no final newline
        "140:\n/a.py:f:1\n\n",                    // blank line after the last thread
        "140:\n/a.py:f:1\n\n\n141:\n/a.py:f:1\n", // two blank lines
        "140:\n",                                 // no frames
        "x140:\n/a.py:f:1\n",                     // bad id
        "140:\n/a.py:f\n",                        // frame without line
        "140:tid=1\n/a.py:f:1\n",                 // info not after ": "
    ] {
        assert!(parse_dump(bad).is_err(), "accepted {bad:?}");
    }
}
