//! The SVG and speedscope formats end to end, on every interpreter: `-o FILE.svg` and
//! `-o FILE.json` of a target with a known stack (spinner.py chain) give files that Python's
//! XML and JSON parsers read, with the stack's frames, the run in the title, widths and weights
//! that add up; `--flamechart` keeps the time order; `--format` writes to stdout; a script
//! whose path has `&`, `<` and quotes in it does not break either file.

use crate::util::formats::{label_of, read_speedscope, read_svg, summary_samples, SvgFile};
use crate::util::interp::run_on;
use crate::util::live::{spawn_busy, wait_for_progress, wait_until, Busy, WAIT};
use crate::util::process::{temp_dir, ChildGuard};
use crate::util::{assert_target_running, per_interpreter, pyflame, Interp, Output};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// spinner.py chain's stack, root first, as the SVG labels it.
fn chain_labels(t: &Busy) -> Vec<String> {
    let stack = crate::util::launch::chain_stack(&t.script, &t.marks);
    stack.iter().map(|f| label_of(f)).collect()
}

fn run_ok(what: &str, args: &[&str]) -> Output {
    let out = pyflame(args);
    out.assert_clean_success(what);
    out
}

/// The title names the target and its Python; the summary has the run's numbers.
fn assert_title(svg_or_name: &str, pid: u32, py: &Interp) {
    let want = format!("PID {pid}: ");
    assert!(
        svg_or_name.contains(&want)
            && svg_or_name.contains("spinner.py chain")
            && svg_or_name.contains(&format!("(Python {}.{}", py.major, py.minor)),
        "title {svg_or_name:?}"
    );
}

/// One frame per rect: `all`, perhaps `(failed)`, then the chain, one level each, every
/// frame of the chain as wide as the samples that saw it.
fn assert_chain(svg: &SvgFile, chain: &[String]) {
    let root = &svg.frames[0];
    assert_eq!(
        (root.label.as_str(), root.x, root.width),
        ("all", 10.0, 1180.0)
    );
    let total = summary_samples(&svg.summary);
    assert_eq!(root.samples, total, "{}", svg.summary);
    let failed: Vec<_> = svg.find("(failed)");
    let rest = &svg.frames[1 + failed.len()..];
    let labels: Vec<&str> = rest.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, chain, "the chain, outermost first");
    let seen = total - failed.iter().map(|f| f.samples).sum::<u64>();
    for (depth, f) in rest.iter().enumerate() {
        assert_eq!(f.samples, seen, "{}", f.label);
        assert_eq!(f.y, root.y - 16.0 * (depth as f64 + 1.0), "{}", f.label);
        let want = 1180.0 * seen as f64 / total as f64;
        assert!((f.width - want).abs() < 0.01, "{}: {} px", f.label, f.width);
    }
}

per_interpreter!(svg_and_speedscope_files);

fn svg_and_speedscope_files(py: &Interp) {
    let t = spawn_busy(py, "spinner.py", &["chain"]);
    let pid = t.pid.to_string();
    let dir = temp_dir("formats");
    let chain = chain_labels(&t);

    let svg_path = dir.join("chain.svg");
    let svg_arg = svg_path.to_str().unwrap();
    let out = run_ok("-o chain.svg", &["-s", "0.5", "-o", svg_arg, "-p", &pid]);
    assert_eq!(out.stdout, "");
    let svg = read_svg(&svg_path);
    assert_title(&svg.title, t.pid, py);
    assert!(
        svg.summary.starts_with("pyflame flame graph: "),
        "{}",
        svg.summary
    );
    assert!(svg
        .summary
        .contains(" samples at 100/s (-r 0.01), 0 idle, "));
    assert_chain(&svg, &chain);

    let json_path = dir.join("chain.json");
    let json_arg = json_path.to_str().unwrap();
    run_ok("-o chain.json", &["-s", "0.5", "-o", json_arg, "-p", &pid]);
    let s = read_speedscope(&json_path);
    assert_title(&s.name, t.pid, py);
    let total = summary_samples(&s.name);
    assert_eq!(s.profiles.len(), 1, "{s:?}");
    assert_eq!(
        (s.profiles[0].1, s.profiles[0].2),
        (total, total),
        "weights add up"
    );
    let chain_weight: u64 = (s.samples.iter())
        .filter(|(_, _, frames)| *frames == chain)
        .map(|(_, w, _)| w)
        .sum();
    let failed: u64 = (s.samples.iter())
        .filter(|(_, _, frames)| *frames == ["(failed)"])
        .map(|(_, w, _)| w)
        .sum();
    assert!(chain_weight > 0 && chain_weight + failed == total, "{s:?}");

    // --flamechart: time order, the one stack in a row is one sample.
    let path = dir.join("chart.json");
    let out = run_ok(
        "--flamechart -o chart.json",
        &[
            "--flamechart",
            "-s",
            "0.3",
            "-o",
            path.to_str().unwrap(),
            "-p",
            &pid,
        ],
    );
    assert_eq!(out.stdout, "");
    let s = read_speedscope(&path);
    let total = summary_samples(&s.name);
    assert_eq!(s.profiles[0].1, total);
    if !s.samples.iter().any(|(_, _, f)| *f == ["(failed)"]) {
        assert_eq!(s.samples.len(), 1, "one run of one stack: {s:?}");
    }

    // --format writes to stdout as well.
    let out = run_ok("--format svg", &["--format", "svg", "-s", "0", "-p", &pid]);
    assert!(out.stdout.starts_with("<?xml") && out.stdout.ends_with("</svg>\n"));
    let out = run_ok(
        "--format speedscope",
        &["--format", "speedscope", "-s", "0", "-p", &pid],
    );
    assert!(
        out.stdout.starts_with("{\"$schema\":"),
        "{}",
        out.describe()
    );
    assert_target_running(t.pid);
    wait_for_progress(t.pid, t.pid, 2);
    let _ = std::fs::remove_dir_all(dir);
}

/// A copy of spinner.py in a directory whose name has `&`, `<`, `>` and quotes, running
/// its chain: both files still parse and name the path exactly.
#[test]
fn odd_characters_in_paths() {
    run_on("odd_characters_in_paths", "3.12", |py| {
        let dir = temp_dir("formats-odd");
        let odd = dir.join("a&b <c> \"d\" 'e'");
        std::fs::create_dir_all(&odd).unwrap();
        let script = odd.join("spin&ner.py");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/spinner.py");
        std::fs::copy(source, &script).unwrap();
        let mut cmd = Command::new(&py.path);
        cmd.args(["-E", "-s", "-B"])
            .arg(&script)
            .arg("chain")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = ChildGuard::spawn(&mut cmd);
        let pid = child.pid();
        let mut lines = BufReader::new(child.child().stdout.take().unwrap()).lines();
        assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("READY"));
        wait_until(
            WAIT,
            || crate::util::live::cpu_ticks(pid, pid) >= 3,
            || "the copied spinner does not spin".to_string(),
        );
        let pid_arg = pid.to_string();
        let svg_path = dir.join("odd.svg");
        run_ok(
            "odd path svg",
            &[
                "-s",
                "0.2",
                "-o",
                svg_path.to_str().unwrap(),
                "-p",
                &pid_arg,
            ],
        );
        let svg = read_svg(&svg_path);
        let hot = format!("hot ({}:", script.display());
        assert_eq!(svg.find(&hot).len(), 1, "{:?}", svg.frames);
        let json_path = dir.join("odd.json");
        run_ok(
            "odd path speedscope",
            &[
                "-s",
                "0.2",
                "-o",
                json_path.to_str().unwrap(),
                "-p",
                &pid_arg,
            ],
        );
        let s = read_speedscope(&json_path);
        assert!(
            s.samples
                .iter()
                .any(|(_, _, f)| f.last().is_some_and(|leaf| leaf.starts_with(&hot))),
            "{s:?}"
        );
        drop(child);
        let _ = std::fs::remove_dir_all(dir);
    });
}

/// Idle samples are their own frame at the root; `-x` leaves them out (and an empty
/// profile is still a good file).
#[test]
fn idle_frame() {
    run_on("idle_frame", "3.12", |py| {
        let t = crate::util::spawn_script(py, "idle.py", &[]);
        let pid = t.pid.to_string();
        let dir = temp_dir("formats-idle");
        let path = dir.join("idle.svg");
        let file = path.to_str().unwrap();
        run_ok("idle svg", &["-s", "0.3", "-o", file, "-p", &pid]);
        let svg = read_svg(&path);
        let labels: Vec<&str> = svg.frames.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["all", "(idle)"]);
        assert_eq!(svg.frames[1].samples, summary_samples(&svg.summary));
        assert!((svg.frames[1].width - 1180.0).abs() < 0.01);
        run_ok("idle svg -x", &["-x", "-s", "0.3", "-o", file, "-p", &pid]);
        let svg = read_svg(&path);
        assert_eq!((svg.frames.len(), svg.frames[0].samples), (1, 0));
        let path = dir.join("idle.json");
        let file = path.to_str().unwrap();
        run_ok("idle json", &["-s", "0.3", "-o", file, "-p", &pid]);
        let s = read_speedscope(&path);
        assert!(s.samples.iter().all(|(_, _, f)| *f == ["(idle)"]), "{s:?}");
        run_ok("idle json -x", &["-x", "-s", "0.3", "-o", file, "-p", &pid]);
        let s = read_speedscope(&path);
        assert!(s.samples.is_empty() && s.profiles[0].1 == 0, "{s:?}");
        assert_target_running(t.pid);
        let _ = std::fs::remove_dir_all(dir);
    });
}

per_interpreter!(one_profile_or_tower_per_thread);

/// spinner.py two with `--threads`: the speedscope file has one profile per thread (main in
/// its read, spin_a, spin_b), each seeing every sample; `--per-thread` gives the SVG one tower
/// per thread under `all`.
fn one_profile_or_tower_per_thread(py: &Interp) {
    let t = crate::util::spawn_script(py, "spinner.py", &["two"]);
    let pid = t.pid.to_string();
    let dir = temp_dir("formats-threads");
    let json = dir.join("threads.json");
    let args = [
        "--threads",
        "-s",
        "0.3",
        "-o",
        json.to_str().unwrap(),
        "-p",
        &pid,
    ];
    run_ok("--threads -o threads.json", &args);
    let s = read_speedscope(&json);
    let total = summary_samples(&s.name);
    let threads: Vec<_> = s
        .profiles
        .iter()
        .filter(|p| p.0.starts_with("thread "))
        .collect();
    let innermost = |i: usize| -> Vec<String> {
        let mut leaves: Vec<String> = (s.samples.iter())
            .filter(|(p, _, _)| *p == i)
            .filter_map(|(_, _, f)| f.last().cloned())
            .collect();
        leaves.dedup();
        leaves
    };
    assert_eq!(threads.len(), 3, "one profile per thread: {s:?}");
    let mut leaves: Vec<String> = (0..s.profiles.len())
        .filter(|&i| s.profiles[i].0.starts_with("thread "))
        .flat_map(innermost)
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect();
    leaves.sort();
    assert_eq!(leaves, ["spin_a", "spin_b", "wait_stdin"], "{s:?}");
    // Every thread is seen in every sample that did not fail.
    let failed: u64 = (s.samples.iter())
        .filter(|(_, _, f)| *f == ["(failed)"])
        .map(|(_, w, _)| w)
        .sum();
    for p in &threads {
        assert_eq!(p.1 + failed, total, "{}: {s:?}", p.0);
    }

    let svg_path = dir.join("threads.svg");
    let args = [
        "--per-thread",
        "-s",
        "0.3",
        "-o",
        svg_path.to_str().unwrap(),
        "-p",
        &pid,
    ];
    run_ok("--per-thread -o threads.svg", &args);
    let svg = read_svg(&svg_path);
    let towers = svg.find("thread ");
    assert_eq!(towers.len(), 3, "one tower per thread: {:?}", svg.frames);
    let root = &svg.frames[0];
    for tower in &towers {
        assert_eq!(tower.y, root.y - 16.0, "{}: right above all", tower.label);
    }
    let width: f64 = towers.iter().map(|f| f.width).sum::<f64>()
        + svg.find("(failed)").iter().map(|f| f.width).sum::<f64>();
    assert!((width - root.width).abs() < 0.01, "towers fill the width");
    assert_target_running(t.pid);
    let _ = std::fs::remove_dir_all(dir);
}
