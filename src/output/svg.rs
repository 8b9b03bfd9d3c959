//! The interactive SVG (`--format svg`, `-o *.svg`): one self-contained file that a browser
//! opens directly. The frames of flame.rs are drawn as flamegraph.pl draws them (root at the
//! bottom, one `<g>` per frame holding a `<title>`, a `<rect>` and a `<text>` label cut to fit),
//! coloured by file; a title says what was profiled; the embedded script (svg_script.js) and
//! style (svg_style.css) make it interactive. Nothing is fetched from anywhere.

use std::fmt::Write;

use super::fixed::{fixed, trimmed};
use super::flame::{self, Node, Rect, Shape};
use super::RunInfo;
use crate::profile::Profile;
use crate::python::walk::FrameKind;

const WIDTH: u64 = 1200;
/// Left and right margins.
const PAD: u64 = 10;
const FRAME_HEIGHT: u64 = 16;
/// Title, summary and the controls row.
const TOP: u64 = 84;
/// The details line.
const BOTTOM: u64 = 34;
/// Estimated advance of a character in the 12 px font (flamegraph.pl's 0.59 em, rounded up;
/// non-ASCII characters count a full em). svg_script.js uses the same numbers.
const ASCII_WIDTH: f64 = 7.2;
const OTHER_WIDTH: f64 = 12.0;
const SCRIPT: &str = include_str!("svg_script.js");
const STYLE: &str = include_str!("svg_style.css");

pub fn render(p: &Profile, run: &RunInfo, per_thread: bool) -> String {
    let shape = Shape {
        per_thread,
        time_order: p.timeline.is_some(),
        pixels: WIDTH - 2 * PAD,
    };
    let graph = flame::layout(p, shape);
    let height = TOP + (u64::from(graph.max_depth) + 1) * FRAME_HEIGHT + BOTTOM;
    let mut out = String::with_capacity(2048 + graph.rects.len() * 200);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH}\" \
         height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">\n<style><![CDATA[\n{STYLE}]]></style>\n\
         <rect id=\"background\" width=\"100%\" height=\"100%\"/>\n"
    );
    let kind = if shape.time_order {
        "flame chart"
    } else {
        "flame graph"
    };
    // About 110 characters of the 17 px title font fit in the width.
    text(&mut out, "title", WIDTH / 2, 24, &run.target(110));
    let summary = format!("pyflame {kind}: {}", run.summary(p));
    text(&mut out, "summary", WIDTH / 2, 44, &summary);
    out.push_str("<text id=\"unzoom\" class=\"hide\" x=\"10\" y=\"70\">Reset Zoom</text>\n");
    legend(&mut out);
    let _ = writeln!(
        out,
        "<foreignObject x=\"{}\" y=\"54\" width=\"240\" height=\"22\"><input \
         xmlns=\"http://www.w3.org/1999/xhtml\" id=\"search\" type=\"search\" \
         placeholder=\"Search (Ctrl-F): regular expression\" autocomplete=\"off\"/></foreignObject>",
        WIDTH - PAD - 240
    );
    if graph.total == 0 {
        text(&mut out, "empty", WIDTH / 2, TOP + 24, "No samples");
    }
    let root_y = height - BOTTOM - FRAME_HEIGHT;
    let _ = writeln!(
        out,
        "<g id=\"frames\" data-x=\"{PAD}\" data-w=\"{}\" data-h=\"{FRAME_HEIGHT}\">",
        WIDTH - 2 * PAD
    );
    let scale = (WIDTH - 2 * PAD) as f64 / graph.total.max(1) as f64;
    let mut label = String::new();
    for r in &graph.rects {
        label.clear();
        frame_label(&mut label, p, r);
        let x = PAD as f64 + r.start as f64 * scale;
        let w = r.count as f64 * scale;
        let y = root_y - u64::from(r.depth) * FRAME_HEIGHT;
        let percent = 100.0 * r.count as f64 / graph.total.max(1) as f64;
        let plural = if r.count == 1 { "" } else { "s" };
        out.push_str("<g><title>");
        escape_into(&mut out, &label);
        let _ = write!(
            out,
            " ({} sample{plural}, {}%)</title><rect x=\"{}\" y=\"{y}\" width=\"{}\" \
             height=\"{}\" fill=\"{}\"/>",
            r.count,
            fixed(percent, 2),
            decimal(x),
            decimal(w),
            FRAME_HEIGHT - 1,
            colour(p, r)
        );
        if let Some(fitted) = fit(&label, w) {
            let _ = write!(out, "<text x=\"{}\" y=\"{}.5\">", decimal(x + 3.0), y + 11);
            escape_into(&mut out, &fitted);
            out.push_str("</text>");
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
    let _ = write!(
        out,
        "<text id=\"details\" x=\"{PAD}\" y=\"{}\"></text>\n\
         <text id=\"matched\" x=\"{}\" y=\"{}\"></text>\n\
         <script><![CDATA[\n{SCRIPT}]]></script>\n</svg>\n",
        height - 12,
        WIDTH - PAD,
        height - 12
    );
    out
}

fn text(out: &mut String, id: &str, x: u64, y: u64, content: &str) {
    let _ = write!(out, "<text id=\"{id}\" x=\"{x}\" y=\"{y}\">");
    escape_into(out, content);
    out.push_str("</text>\n");
}

/// What the colours mean, between "Reset Zoom" and the search box.
fn legend(out: &mut String) {
    out.push_str("<text id=\"legend\" x=\"200\" y=\"70\">");
    for (family, name) in [
        (Family::Own, "your code"),
        (Family::Library, "site-packages"),
        (Family::Stdlib, "standard library"),
    ] {
        let _ = write!(
            out,
            "<tspan dx=\"12\" fill=\"{}\">\u{25A0}</tspan> {name}",
            hsl(family.hue(0), 0.7, 0.55)
        );
    }
    out.push_str(
        "<tspan dx=\"12\" fill=\"#c8c8c8\">\u{25A0}</tspan> idle, failed, merged</text>\n",
    );
}

/// `function (file:line)`, or `function (file)` with `-n`; "all", "(idle)", "(failed)",
/// a thread's name, or "(N narrow frames)" for merged ones.
pub fn frame_label(out: &mut String, p: &Profile, r: &Rect) {
    if r.merged > 1 {
        let _ = write!(out, "({} narrow frames)", r.merged);
        return;
    }
    match r.node {
        Node::Root => out.push_str("all"),
        Node::Idle => out.push_str("(idle)"),
        Node::Failed => out.push_str("(failed)"),
        Node::Thread(t) => out.push_str(&p.thread_label(t)),
        Node::Frame((code, _)) if p.codes[code as usize].kind == FrameKind::Label => {
            out.push_str(&p.codes[code as usize].name);
        }
        Node::Frame((code, line)) => {
            let c = &p.codes[code as usize];
            let _ = write!(out, "{} ({}", c.name, c.filename);
            if p.line_numbers() {
                let _ = write!(out, ":{line}");
            }
            out.push(')');
        }
    }
}

/// The label, or as much of it as fits in `width` pixels followed by "..", or None.
pub fn fit(label: &str, width: f64) -> Option<String> {
    // 0.01: a label that fits exactly is not cut by rounding.
    let room = width - 6.0 + 0.01;
    let (mut used, mut cut) = (0.0, 0);
    for (at, ch) in label.char_indices() {
        used += if ch.is_ascii() {
            ASCII_WIDTH
        } else {
            OTHER_WIDTH
        };
        if used <= room - 2.0 * ASCII_WIDTH {
            cut = at + ch.len_utf8();
        }
        if used > room {
            return (cut > 0).then(|| format!("{}..", &label[..cut]));
        }
    }
    Some(label.to_string())
}

/// A coordinate with at most two decimals, trailing zeros dropped.
fn decimal(v: f64) -> String {
    trimmed(v, 2)
}

/// Escapes text for XML content and attribute values; characters XML 1.0 does not allow
/// (control characters in a file name) become U+FFFD.
pub fn escape_into(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Where a file comes from, which decides its colour family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Warm colours: the program's own code stands out.
    Own,
    /// Greens: site-packages, dist-packages.
    Library,
    /// Blues: the standard library (`.../lib/pythonX.Y/...`, `<frozen ...>`).
    Stdlib,
}

impl Family {
    pub fn of(file: &str) -> Family {
        if file.contains("/site-packages/") || file.contains("/dist-packages/") {
            Family::Library
        } else if file.starts_with("<frozen ")
            || file
                .match_indices("/lib/python")
                .any(|(at, m)| file[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
        {
            Family::Stdlib
        } else {
            Family::Own
        }
    }

    /// A hue in the family's range, chosen by `hash`.
    fn hue(self, hash: u32) -> f64 {
        let (base, span) = match self {
            Family::Own => (0, 50),
            Family::Library => (85, 55),
            Family::Stdlib => (190, 45),
        };
        f64::from(base + hash % span)
    }
}

/// One colour per file (hue from its family and name), a little lighter or darker per function.
fn colour(p: &Profile, r: &Rect) -> String {
    match r.node {
        _ if r.merged > 1 => "#c8c8c8".to_string(),
        Node::Root => "#e0e0e0".to_string(),
        Node::Idle => "#d4d4d4".to_string(),
        Node::Failed => "#d8b0b0".to_string(),
        Node::Thread(_) => "#b4b4d4".to_string(),
        Node::Frame((code, _)) if p.codes[code as usize].kind == FrameKind::Label => {
            // A process, or its idle and failed samples: like the root and the threads.
            match p.codes[code as usize].name.as_str() {
                "(idle)" => "#d4d4d4".to_string(),
                "(failed)" => "#d8b0b0".to_string(),
                _ => "#b4c8d4".to_string(),
            }
        }
        Node::Frame((code, _)) if p.codes[code as usize].kind != FrameKind::Python => {
            // What pyflame could not read or left out: grey, like the other non-frames.
            "#c0c0c0".to_string()
        }
        Node::Frame((code, _)) => {
            let c = &p.codes[code as usize];
            let family = Family::of(&c.filename);
            let (saturation, lightness) = match family {
                Family::Own => (0.75, 0.6),
                Family::Library => (0.5, 0.55),
                Family::Stdlib => (0.45, 0.65),
            };
            let shade = f64::from(fnv1a(&c.name) % 9) / 100.0 - 0.04;
            hsl(
                family.hue(fnv1a(&c.filename)),
                saturation,
                lightness + shade,
            )
        }
    }
}

/// FNV-1a: a stable hash, so the same file has the same colour in every run.
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// `#rrggbb` from hue (degrees), saturation and lightness (0 to 1).
fn hsl(hue: f64, s: f64, l: f64) -> String {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let h = hue / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
