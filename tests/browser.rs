//! The SVG in a real browser (headless Chromium): the profile of spinner.py two with
//! `--threads` (main, spin_a and spin_b in every sample) opened with tests/browser/driver.js
//! appended, which hovers a frame, clicks one, resets the zoom, presses Ctrl-F and types
//! searches; the test checks what the driver saw against the profile's own numbers, and
//! leaves a screenshot under target/browser/ for review. Without Chromium the test is
//! skipped, except under CI (`PYFLAME_REQUIRE_INTERPRETERS`), where it fails.

use crate::util::formats::{read_svg, SvgFile};
use crate::util::interp::{required, run_on};
use crate::util::process::{pyflame, run_with_watchdog, temp_dir};
use crate::util::{assert_target_running, spawn_script, Interp};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Chromium on a loaded two-core machine can take a while to start.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(180);

/// The browser: `chromium` (Debian's package) or `chromium-browser` on the PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Headless Chromium on `page` with the flags that work as root on a closed network, and a
/// fresh profile directory; `extra` says what to produce.
fn run_chromium(browser: &Path, page: &Path, height: u64, extra: &str) -> String {
    let profile = temp_dir("chromium-profile");
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    // The window is taller than the page: its frame takes some of the height.
    .arg(format!("--window-size=1200,{}", height + 200))
    .arg(extra)
    .arg(format!("file://{}", page.display()));
    let out = run_with_watchdog(&mut cmd, "chromium", BROWSER_TIMEOUT);
    let _ = std::fs::remove_dir_all(profile);
    assert!(out.status.success(), "chromium failed\n{}", out.describe());
    out.stdout
}

/// The driver's `key<TAB>value` lines from the dumped DOM.
fn driver_result(dom: &str) -> HashMap<String, String> {
    let start = dom
        .find("<desc id=\"driver-result\">")
        .unwrap_or_else(|| panic!("the driver left no result; the DOM:\n{dom}"));
    let body = &dom[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</desc>").unwrap()];
    let body = body
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    body.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The one frame whose label starts with `prefix`.
fn frame<'a>(svg: &'a SvgFile, prefix: &str) -> &'a crate::util::formats::SvgFrame {
    match svg.find(prefix)[..] {
        [f] => f,
        _ => panic!("expected one frame {prefix:?}: {:?}", svg.frames),
    }
}

/// "Matched: 66.67%" -> 66.67.
fn matched_percent(text: &str) -> f64 {
    text.strip_prefix("Matched: ")
        .and_then(|t| t.strip_suffix('%'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not a matched percentage: {text:?}"))
}

#[test]
fn svg_in_a_browser() {
    if chromium().is_none() {
        assert!(
            required().is_empty(),
            "svg_in_a_browser: chromium is required under CI ({}) but not installed \
             (apt-get install chromium)",
            crate::util::interp::REQUIRE_VAR
        );
        eprintln!("SKIPPED: svg_in_a_browser: chromium is not installed");
        return;
    }
    run_on("svg_in_a_browser", "3.12", |py: &Interp| {
        let browser = chromium().expect("found above");
        let t = spawn_script(py, "spinner.py", &["two"]);
        let dir = temp_dir("browser");
        let svg_path = dir.join("two.svg");
        let out = pyflame(&[
            "--threads",
            "-s",
            "1",
            "-o",
            svg_path.to_str().unwrap(),
            "-p",
            &t.pid.to_string(),
        ]);
        out.assert_clean_success("pyflame --threads -o two.svg");
        assert_target_running(t.pid);
        drop(t);
        let svg = read_svg(&svg_path);
        let total = svg.frames[0].samples;
        let (a, b) = (
            frame(&svg, "spin_a (").samples,
            frame(&svg, "spin_b (").samples,
        );
        let main = frame(&svg, "main (");
        assert!(a > 0 && a == b && 3 * a + frame_count(&svg, "(failed)") == total);

        // The page: the SVG with the driver's settings and the driver before </svg>.
        let text = std::fs::read_to_string(&svg_path).unwrap();
        let body = text.strip_suffix("</svg>\n").expect("ends with </svg>");
        let driver = include_str!("browser/driver.js");
        let settings = "window.PYFLAME_DRIVER = {zoom: \"main (\", child: \"wait_stdin (\", \
                        other: \"spin_b (\", narrow: \"^spin_a\", \
                        nested: \"^(main|wait_stdin) \", search: \"spin_\"};";
        let page = dir.join("two-driven.svg");
        let driven = format!("{body}<script><![CDATA[\n{settings}\n{driver}]]></script>\n</svg>\n");
        std::fs::write(&page, driven).unwrap();
        let height = svg.frames[0].y as u64 + 40;

        let seen = driver_result(&run_chromium(&browser, &page, height, "--dump-dom"));
        let get = |key: &str| -> &str {
            seen.get(key)
                .map(String::as_str)
                .unwrap_or_else(|| panic!("the driver did not report {key}: {seen:?}"))
        };
        let num = |key: &str| -> f64 { get(key).parse().expect("a number") };
        assert!(!seen.contains_key("error"), "the driver failed: {seen:?}");
        assert_eq!(get("done"), "yes");
        assert_eq!(num("frames") as usize, svg.frames.len());
        let full = num("full_width");
        assert_eq!(full, 1180.0);

        // Hover: the frame under the pointer is named with its samples and share.
        assert!(get("hover_hit").starts_with("spin_b ("), "{seen:?}");
        assert_eq!(get("hover_details"), get("hover_hit"));
        assert!(get("hover_details").ends_with(&format!(" ({b} samples, {:.2}%)", pct(b, total))));

        // Click: main fills the width, so does its callee; spin_b hides; "all" stays, dimmed.
        assert!(get("click_hit").starts_with("main ("), "{seen:?}");
        assert!((num("zoom_before") - main.width).abs() < 0.01);
        assert!(num("zoom_before") < full / 2.0);
        assert!((num("zoom_width") - full).abs() < 0.01, "{seen:?}");
        assert!((num("zoom_child_width") - full).abs() < 0.01, "{seen:?}");
        // At full width the callee's whole label shows.
        assert_eq!(get("zoom_child_text"), frame(&svg, "wait_stdin (").label);
        assert_eq!(get("zoom_other_shown"), "false");
        assert_eq!(get("zoom_root_dimmed"), "true");
        assert_eq!(num("zoom_root_width"), full);
        assert_eq!(get("unzoom_shown"), "true");

        // Reset Zoom: back to the first layout.
        assert_eq!(get("reset_hit"), "unzoom");
        assert_eq!(num("reset_width"), num("zoom_before"));
        // The script cuts labels as the writer did.
        assert_eq!(get("reset_text"), get("zoom_text_before"));
        assert!(get("zoom_text_before").starts_with("main ("), "{seen:?}");
        assert_eq!(get("reset_other_shown"), "true");
        assert_eq!(get("unzoom_after_reset"), "false");

        // Ctrl-F goes to the search box; a search highlights and measures; Escape clears.
        assert_eq!(get("ctrl_f_handled"), "true");
        assert_eq!(get("focused"), "search");
        assert_eq!(get("narrow_highlighted"), "spin_a");
        let want = pct(a, total);
        let got = matched_percent(get("narrow_matched"));
        assert!((got - want).abs() <= 0.0051, "^spin_a: {got} != {want}");
        assert_eq!(get("cleared_value"), "\"\"");
        assert_eq!(get("cleared_highlighted"), "");
        assert_eq!(get("cleared_matched"), "");
        // main and its callee both match: their samples count once.
        assert_eq!(get("nested_highlighted"), "main|wait_stdin");
        let want = pct(main.samples, total);
        let got = matched_percent(get("nested_matched"));
        assert!(
            (got - want).abs() <= 0.0051,
            "main|wait_stdin: {got} != {want}"
        );
        assert_eq!(get("search_highlighted"), "spin_a|spin_b");
        let want = pct(a + b, total);
        let got = matched_percent(get("search_matched"));
        assert!((got - want).abs() <= 0.0051, "spin_: {got} != {want}");
        assert!(
            (60.0..=66.67).contains(&got),
            "spin_a and spin_b are 2/3 of {total}"
        );

        // A picture of the end state (search highlighted) for review.
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target directory")
            .join("browser");
        std::fs::create_dir_all(&shots).unwrap();
        let png = shots.join("spinner-two-search.png");
        let _ = std::fs::remove_file(&png);
        run_chromium(
            &browser,
            &page,
            height,
            &format!("--screenshot={}", png.display()),
        );
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 1000);
        std::fs::copy(&svg_path, shots.join("spinner-two.svg")).unwrap();
        eprintln!("svg_in_a_browser: screenshot {}", png.display());
        let _ = std::fs::remove_dir_all(dir);
    });
}

fn pct(part: u64, total: u64) -> f64 {
    100.0 * part as f64 / total as f64
}

fn frame_count(svg: &SvgFile, prefix: &str) -> u64 {
    svg.find(prefix).iter().map(|f| f.samples).sum()
}
