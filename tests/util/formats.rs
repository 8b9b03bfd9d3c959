//! Reading pyflame's SVG and speedscope files back for the end-to-end tests, through
//! tests/tools/check_formats.py: Python's own XML and JSON parsers check that the files are
//! well-formed (and the speedscope file has the schema's required fields), and the script
//! prints what it read for the tests to compare.

use super::interp::any_interp;
use super::process::run_with_watchdog;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One frame of an SVG, as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgFrame {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    /// `function (file:line)`, "all", "(idle)", ...
    pub label: String,
    pub samples: u64,
}

#[derive(Debug, Clone, Default)]
pub struct SvgFile {
    pub title: String,
    pub summary: String,
    /// In document order: the root first, parents before their callees.
    pub frames: Vec<SvgFrame>,
}

impl SvgFile {
    /// The frames whose label starts with `prefix`.
    pub fn find(&self, prefix: &str) -> Vec<&SvgFrame> {
        self.frames
            .iter()
            .filter(|f| f.label.starts_with(prefix))
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct SpeedscopeFile {
    pub name: String,
    /// (name, sum of the weights, endValue).
    pub profiles: Vec<(String, u64, u64)>,
    /// (profile index, weight, frames outermost first as `function (file:line)`).
    pub samples: Vec<(usize, u64, Vec<String>)>,
}

/// A Python 3 to run the checker with: the system's, else any discovered 3.x.
fn python3() -> PathBuf {
    let system = Path::new("/usr/bin/python3");
    if system.exists() {
        return system.to_path_buf();
    }
    match any_interp() {
        Some(py) if py.major == 3 => py.path.clone(),
        _ => panic!("no python3 to check the output files with"),
    }
}

/// The checker's lines for `kind` ("svg" or "speedscope"); fails the test on a bad file.
fn check(kind: &str, file: &Path) -> Vec<Vec<String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/check_formats.py");
    let mut cmd = Command::new(python3());
    cmd.arg("-E").arg(&script).arg(kind).arg(file);
    let out = run_with_watchdog(&mut cmd, "check_formats.py", Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{} is not a good {kind} file: {}",
        file.display(),
        out.stderr
    );
    out.stdout
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

pub fn read_svg(file: &Path) -> SvgFile {
    let mut svg = SvgFile::default();
    for fields in check("svg", file) {
        match fields[0].as_str() {
            "title" => svg.title = fields[1].clone(),
            "summary" => svg.summary = fields[1].clone(),
            "frame" => {
                let title = &fields[4];
                let (label, samples) = split_title(title)
                    .unwrap_or_else(|| panic!("frame title {title:?} has no sample count"));
                let num = |i: usize| -> f64 { fields[i].parse().expect("a number") };
                svg.frames.push(SvgFrame {
                    x: num(1),
                    y: num(2),
                    width: num(3),
                    label,
                    samples,
                });
            }
            other => panic!("unexpected line {other:?} from check_formats.py"),
        }
    }
    svg
}

/// `label (N samples, P%)` -> (label, N).
fn split_title(title: &str) -> Option<(String, u64)> {
    let (label, rest) = title.rsplit_once(" (")?;
    let count = rest.split_once(" sample")?.0.parse().ok()?;
    Some((label.to_string(), count))
}

pub fn read_speedscope(file: &Path) -> SpeedscopeFile {
    let mut s = SpeedscopeFile::default();
    for fields in check("speedscope", file) {
        let num = |i: usize| -> u64 { fields[i].parse().expect("a number") };
        match fields[0].as_str() {
            "name" => s.name = fields[1].clone(),
            "profile" => s.profiles.push((fields[1].clone(), num(2), num(3))),
            "sample" => {
                let frames = fields[3].split(';').map(String::from).collect();
                s.samples.push((num(1) as usize, num(2), frames));
            }
            other => panic!("unexpected line {other:?} from check_formats.py"),
        }
    }
    s
}

/// `file:function:line` (the collapsed format's frame) as the SVG and speedscope name it:
/// `function (file:line)`.
pub fn label_of(collapsed_frame: &str) -> String {
    let mut parts = collapsed_frame.rsplitn(3, ':');
    let (line, func, file) = (parts.next(), parts.next(), parts.next());
    match (line, func, file) {
        (Some(line), Some(func), Some(file)) => format!("{func} ({file}:{line})"),
        _ => panic!("not a file:function:line frame: {collapsed_frame:?}"),
    }
}

/// "N samples" in a title's summary (`2.00 s, 200 samples at 100/s ...`).
pub fn summary_samples(summary: &str) -> u64 {
    summary
        .split(", ")
        .find_map(|part| part.split_once(" samples at ").map(|(n, _)| n))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no sample count in {summary:?}"))
}

#[test]
fn titles_and_labels_parse() {
    assert_eq!(
        split_title("f (a (b).py:3) (12 samples, 1.20%)"),
        Some(("f (a (b).py:3)".to_string(), 12))
    );
    assert_eq!(
        split_title("all (1 sample, 100.00%)"),
        Some(("all".to_string(), 1))
    );
    assert_eq!(label_of("/x/a.py:<module>:7"), "<module> (/x/a.py:7)");
    assert_eq!(
        summary_samples("0.50 s, 50 samples at 100/s (-r 0.01), 0 idle, 0 failed"),
        50
    );
}
