//! The one escaping of names (a code object's file and function names, which the target
//! chooses) before any writer sees them, so that no name can break a line, a frame or a
//! terminal:
//!
//! - `\n`, `\r` and `\t` as those two characters;
//! - every other C0 control (U+0000 to U+001F), DEL and the C1 controls (U+0080 to U+009F,
//!   which terminals also act on) as `\xHH`;
//! - `;`, the frame separator of the collapsed and flamechart formats, as `\x3b`;
//! - the bidirectional controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069),
//!   which reorder what a terminal or editor shows, and the line and paragraph separators
//!   U+2028 and U+2029, which some readers take for line ends, as `\uHHHH`.
//!
//! Hex digits are lowercase. Everything else is unchanged (a backslash too, so ordinary names
//! stay byte for byte what they were); lone surrogates and invalid UTF-8 were made U+FFFD when
//! the names were decoded.

use std::borrow::Cow;
use std::fmt::Write;

/// `name`, escaped; borrowed when nothing needed escaping, which is nearly always.
pub fn name(name: &str) -> Cow<'_, str> {
    escape(name, needs_escape)
}

/// A message for the operator's terminal (an error naming a file the target mapped, a status
/// line with its command line): escaped as a name is, but for `;`.
pub fn message(text: &str) -> Cow<'_, str> {
    escape(text, |c| c != ';' && needs_escape(c))
}

fn escape(text: &str, needs_escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | ';'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_unchanged() {
        for s in [
            "/usr/lib/python3.12/threading.py",
            "<module>",
            "<frozen importlib._bootstrap>",
            "café 函数 𓀀",
            "C:\\path\\n not a newline",
            "a: b",
            "",
        ] {
            assert!(matches!(name(s), Cow::Borrowed(b) if b == s), "{s}");
        }
    }

    #[test]
    fn controls_separators_and_bidi_become_visible() {
        let cases = [
            ("a\nb", "a\\nb"),
            ("a\r\n", "a\\r\\n"),
            ("\t", "\\t"),
            ("nul\0", "nul\\x00"),
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            ("del\x7f", "del\\x7f"),
            ("nel\u{85}", "nel\\x85"),
            ("csi\u{9b}", "csi\\x9b"),
            ("a;b", "a\\x3bb"),
            ("evil\u{202e}txt.py", "evil\\u202etxt.py"),
            ("\u{61c}\u{200e}\u{200f}", "\\u061c\\u200e\\u200f"),
            ("\u{2066}x\u{2069}", "\\u2066x\\u2069"),
            ("ls\u{2028}ps\u{2029}", "ls\\u2028ps\\u2029"),
            ("\u{1f}\u{1c}", "\\x1f\\x1c"),
            ("\u{fffd}", "\u{fffd}"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(name(raw), escaped, "{raw:?}");
        }
        // Whatever the name, the result holds no character a terminal or a line reader acts on.
        let all: String = (0..0x3000u32).filter_map(char::from_u32).collect();
        let out = name(&all);
        assert!(!out.chars().any(needs_escape));
        assert!(!out.contains(';'));
        assert_eq!(
            message("a; b\x1b[2J\n"),
            "a; b\\x1b[2J\\n",
            "messages keep their semicolons"
        );
    }
}
