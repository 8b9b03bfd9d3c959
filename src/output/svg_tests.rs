//! Tests of the SVG writer: escaping, one frame group per rect, widths, determinism, the
//! title, label fitting, colours; `make bench` times 100,000 stacks (an ignored test here).

use super::*;
use crate::output::testing::{distinct_stacks, profile, run_info};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

/// (x, y, width, title) of every frame, read back from the file (the writer's own layout).
fn frames(svg: &str) -> Vec<(f64, u64, f64, String)> {
    let body = &svg[svg.find("<g id=\"frames\"").expect("frames")..];
    body.split("<g><title>")
        .skip(1)
        .map(|g| {
            let title = &g[..g.find("</title>").expect("title")];
            let attr = |name: &str| {
                let at = g.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
                g[at..at + g[at..].find('"').unwrap()].to_string()
            };
            (
                attr("x").parse().unwrap(),
                attr("y").parse().unwrap(),
                attr("width").parse().unwrap(),
                title.to_string(),
            )
        })
        .collect()
}

/// Parses the document with Python's XML parser, when there is a python3 to run.
fn assert_well_formed(svg: &str) {
    let code = "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.buffer.read())";
    let child = Command::new("/usr/bin/python3")
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("SKIPPED: XML parse check: no /usr/bin/python3");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(svg.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not well-formed XML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn names_and_paths_are_escaped() {
    let p = profile(
        &[(
            &[
                ("/srv/a&b/<x>.py", "<module>", 1),
                ("/srv/a&b/<x>.py", "<lambda>", 2),
                ("/srv/\"q\"/'s'\u{1}.py", "caf\u{e9}", 3),
            ],
            1,
        )],
        0,
        0,
    );
    let mut run = run_info();
    run.command = "python3 -c 'x = 1 < 2 & 3 > 0'".into();
    let svg = render(&p, &run, false);
    assert_well_formed(&svg);
    assert!(!svg.contains("<lambda") && !svg.contains("<module") && !svg.contains("a&b"));
    // Control characters were made visible before the writer saw them (`escape.rs`).
    assert!(!svg.contains('\u{1}'));
    assert!(svg.contains("&lt;lambda&gt; (/srv/a&amp;b/&lt;x&gt;.py:2) (1 sample, 100.00%)"));
    assert!(svg.contains("caf\u{e9} (/srv/&quot;q&quot;/&apos;s&apos;\\x01.py:3)"));
    assert!(svg.contains("python3 -c &apos;x = 1 &lt; 2 &amp; 3 &gt; 0&apos;"));
    // The embedded script and style cannot end their CDATA sections early.
    assert!(!SCRIPT.contains("]]>") && !STYLE.contains("]]>"));
}

#[test]
fn one_frame_per_rect_and_widths_add_up() {
    let p = profile(
        &[
            (&[("a.py", "main", 1), ("a.py", "work", 5)], 30),
            (&[("a.py", "main", 1), ("b.py", "load", 9)], 20),
            (&[("a.py", "main", 1)], 10),
        ],
        25,
        15,
    );
    let svg = render(&p, &run_info(), false);
    assert_well_formed(&svg);
    let got = frames(&svg);
    let titles: Vec<&str> = got.iter().map(|f| f.3.as_str()).collect();
    assert_eq!(
        titles,
        [
            "all (100 samples, 100.00%)",
            "(idle) (25 samples, 25.00%)",
            "(failed) (15 samples, 15.00%)",
            "main (a.py:1) (60 samples, 60.00%)",
            "work (a.py:5) (30 samples, 30.00%)",
            "load (b.py:9) (20 samples, 20.00%)",
        ]
    );
    let (root_x, root_y, root_w) = (got[0].0, got[0].1, got[0].2);
    assert_eq!((root_x, root_w), (10.0, 1180.0));
    // Each level is the root's width at most; the first level adds up to all of it.
    for depth in 1..3 {
        let sum: f64 = got
            .iter()
            .filter(|f| f.1 == root_y - depth * 16)
            .map(|f| f.2)
            .sum();
        assert!(sum <= root_w + 0.01, "level {depth}: {sum}");
        if depth == 1 {
            assert!((sum - root_w).abs() < 0.01, "{sum}");
        }
    }
    // main starts after idle and failed (40 samples, 472 px); work and load sit side by side
    // after main's own 10 samples (118 px).
    assert_eq!(got[3].0, 482.0);
    assert_eq!(
        (got[4].0, got[4].2, got[5].0, got[5].2),
        (600.0, 354.0, 954.0, 236.0)
    );
}

#[test]
fn deterministic_for_the_same_samples() {
    let stacks: [(crate::output::testing::Spec, u64); 3] = [
        (&[("a.py", "main", 1), ("a.py", "work", 5)], 3),
        (&[("a.py", "main", 1), ("b.py", "load", 9)], 2),
        (&[("c.py", "other", 1)], 1),
    ];
    let a = render(&profile(&stacks, 1, 0), &run_info(), false);
    assert_eq!(a, render(&profile(&stacks, 1, 0), &run_info(), false));
    let mut reversed = stacks;
    reversed.reverse();
    assert_eq!(a, render(&profile(&reversed, 1, 0), &run_info(), false));
}

#[test]
fn title_says_what_was_profiled() {
    let p = profile(&[(&[("a.py", "main", 1)], 4)], 1, 0);
    let svg = render(&p, &run_info(), false);
    assert!(svg.contains(
        "<text id=\"title\" x=\"600\" y=\"24\">PID 42: python3 app.py (Python 3.12.1)</text>"
    ));
    assert!(svg.contains(
        ">pyflame flame graph: 2.00 s, 5 samples at 100/s (-r 0.01), 1 idle, 0 failed</text>"
    ));
    // A long command line keeps its end (the script and its arguments).
    let mut run = run_info();
    run.command = format!(
        "/opt/{}/bin/python3 -u /srv/app/main.py --serve",
        "x".repeat(200)
    );
    let title = run.target(110);
    assert_eq!(title.chars().count(), 110);
    assert!(title.starts_with("PID 42: \u{2026}"), "{title}");
    assert!(title.ends_with("/bin/python3 -u /srv/app/main.py --serve (Python 3.12.1)"));
    run.interval = 0.003;
    run.threads = true;
    assert_eq!(
        run.summary(&p),
        "2.00 s, 5 samples at 333/s (-r 0.003), 4 thread stacks, 1 idle, 0 failed"
    );
    let empty = render(&Profile::new(true, true, false), &run_info(), false);
    assert_well_formed(&empty);
    assert!(empty.contains(">No samples</text>"));
    assert_eq!(frames(&empty).len(), 1);
}

#[test]
fn labels_are_cut_to_fit() {
    assert_eq!(
        fit("work (a.py:5)", 200.0).as_deref(),
        Some("work (a.py:5)")
    );
    // 6 px of padding, 7.2 px a character, ".." counted as two.
    assert_eq!(
        fit("work (a.py:5)", 6.0 + 13.0 * 7.2).as_deref(),
        Some("work (a.py:5)")
    );
    assert_eq!(
        fit("work (a.py:5)", 6.0 + 12.0 * 7.2).as_deref(),
        Some("work (a.py..")
    );
    assert_eq!(
        fit("work (a.py:5)", 6.0 + 3.0 * 7.2).as_deref(),
        Some("w..")
    );
    assert_eq!(fit("work (a.py:5)", 6.0 + 2.9 * 7.2), None);
    assert_eq!(fit("été (x)", 6.0 + 4.0 * 7.2).as_deref(), Some("é.."));
}

#[test]
fn colours_group_files_by_origin() {
    for (file, family) in [
        ("/usr/lib/python3.11/json/encoder.py", Family::Stdlib),
        (
            "/root/.pyenv/versions/2.7.18/lib/python2.7/threading.py",
            Family::Stdlib,
        ),
        ("<frozen importlib._bootstrap>", Family::Stdlib),
        (
            "/venv/lib/python3.12/site-packages/requests/api.py",
            Family::Library,
        ),
        (
            "/usr/lib/python3/dist-packages/yaml/__init__.py",
            Family::Library,
        ),
        ("/srv/app/lib/pythonic/x.py", Family::Own),
        ("app.py", Family::Own),
    ] {
        assert_eq!(Family::of(file), family, "{file}");
    }
    let p = profile(
        &[(
            &[
                ("/srv/app.py", "main", 1),
                ("/srv/app.py", "work", 2),
                ("/usr/lib/python3.11/json/encoder.py", "encode", 3),
            ],
            1,
        )],
        0,
        0,
    );
    let svg = render(&p, &run_info(), false);
    let fills: Vec<&str> = svg
        .split(" fill=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .filter(|f| f.starts_with("#"))
        .collect();
    let frames = &fills[fills.len() - 4..]; // all, main, work, encode
    assert_eq!(frames[0], "#e0e0e0");
    let rgb = |hex: &str| {
        let v = |i| i64::from_str_radix(&hex[i..i + 2], 16).unwrap();
        (v(1), v(3), v(5))
    };
    // Own code is warm (red above blue), the standard library blue (blue above red).
    let (main, work, encode) = (rgb(frames[1]), rgb(frames[2]), rgb(frames[3]));
    assert!(main.0 > main.2 && work.0 > work.2, "{main:?} {work:?}");
    assert!(encode.2 > encode.0, "{encode:?}");
    assert_eq!(hsl(0.0, 1.0, 0.5), "#ff0000");
    assert_eq!(hsl(240.0, 1.0, 0.5), "#0000ff");
}

#[test]
fn frames_pyflame_could_not_read_are_grey() {
    use crate::profile::Observation;
    use crate::python::walk::{Frame, FrameKind};
    let mut p = Profile::new(true, false, false);
    let own = crate::output::testing::frames(&[("/srv/app.py", "main", 3)]).remove(0);
    // Innermost first: a frame that could not be read, under a marker, under own code.
    let stack = vec![Frame::unreadable(), Frame::marker(FrameKind::Omitted), own];
    p.record(0, Observation::Stacks(std::slice::from_ref(&stack)));
    let svg = render(&p, &run_info(), false);
    let fills: Vec<&str> = svg
        .split(" fill=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .filter(|f| f.starts_with('#'))
        .collect();
    // all, main, the marker, the unreadable frame.
    assert_eq!(
        fills[fills.len() - 2..],
        ["#c0c0c0", "#c0c0c0"],
        "{fills:?}"
    );
    assert_ne!(fills[fills.len() - 3], "#c0c0c0");
    assert!(svg.contains("&lt;frames omitted&gt; (&lt;pyflame&gt;:0)"));
}

/// This thread's CPU time in nanoseconds (the first field of /proc/thread-self/schedstat).
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `make bench`: 100,000 distinct stacks rendered (release build), timed: the best of 3,
/// wall and CPU time (the CPU time does not count waiting for a loaded machine).
#[test]
#[ignore = "a measurement: make bench runs it in a release build"]
fn render_100k_stacks() {
    let p = distinct_stacks(100_000);
    let (mut wall, mut cpu, mut svg) = (f64::MAX, f64::MAX, String::new());
    for _ in 0..3 {
        let (start, start_cpu) = (Instant::now(), thread_cpu_ns());
        svg = render(&p, &run_info(), false);
        wall = wall.min(start.elapsed().as_secs_f64() * 1000.0);
        cpu = cpu.min((thread_cpu_ns() - start_cpu) as f64 / 1e6);
    }
    println!(
        "svg of 100,000 distinct stacks: {wall:.0} ms ({cpu:.0} ms of CPU), {} frames, {} KiB",
        frames(&svg).len(),
        svg.len() / 1024
    );
}
