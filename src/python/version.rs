//! CPython versions: decoding PY_VERSION_HEX, reading a version from a file name or from the
//! `PY_VERSION` string in the image, and parsing `--abi`.

use std::fmt;

/// A CPython version; `micro` is None when only major.minor is known (from a file name or
/// `--abi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    pub micro: Option<u8>,
}

impl Version {
    pub fn new(major: u8, minor: u8, micro: Option<u8>) -> Version {
        Version {
            major,
            minor,
            micro,
        }
    }

    /// From PY_VERSION_HEX: `(major << 24) | (minor << 16) | (micro << 8) | (level << 4) | serial`.
    pub fn from_hex(hex: u64) -> Version {
        Version::new((hex >> 24) as u8, (hex >> 16) as u8, Some((hex >> 8) as u8))
    }

    /// The original Pyflame's ABI number: 27, 36, 310 ...
    pub fn abi(&self) -> String {
        format!("{}{}", self.major, self.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.micro {
            Some(micro) => write!(f, "{}.{}.{}", self.major, self.minor, micro),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

/// Parses `--abi`: the original's numbers (26, 27, 34, 35, 36), their continuation (37 ...
/// 313, 314 ...), or a dotted version (3.7, 3.13). Only the form is checked here.
pub fn parse_abi(s: &str) -> Option<(u8, u8)> {
    let (major, minor) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None if s.len() >= 2 => s.split_at(1),
        None => return None,
    };
    let all_digits =
        |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|c| c.is_ascii_digit());
    if !all_digits(major) || !all_digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// major.minor from a file name such as `libpython3.6m.so.1.0`, `libpython3.13t.so`,
/// `libpython2.7.so.1.0` or `python3.11`. `prefix` is "libpython" or "python".
pub fn from_file_name(name: &str, prefix: &str) -> Option<Version> {
    let rest = name.strip_prefix(prefix)?;
    let (major, rest) = rest.split_once('.')?;
    let minor: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let tail = &rest[minor.len()..];
    // What may follow: ABI flags (d, m, t, u) then ".so..." or nothing.
    let tail = tail.trim_start_matches(['d', 'm', 't', 'u']);
    if !(tail.is_empty() || tail.starts_with(".so")) || major.len() != 1 {
        return None;
    }
    Some(Version::new(major.parse().ok()?, minor.parse().ok()?, None))
}

/// Finds the `PY_VERSION` literal (e.g. "3.9.18", "2.7.18", "3.12.0rc1", "3.8.10+") in read-only
/// data. The linker may merge it into the tail of a longer string (an install path ending in
/// the version), so a candidate is `M.m.p` followed by NUL or a release-level suffix, not
/// preceded by a digit or a dot. Only candidates of major `major` (when known) count, and the
/// one that stands alone (preceded by NUL) wins over a tail match.
#[cfg(test)]
pub fn find_version_string(data: &[u8], major: Option<u8>) -> Option<Version> {
    let (exact, first) = scan_version_string(data, major);
    exact.or(first)
}

/// What `find_version_string` looks for, for a search over several pieces of one block: the
/// first candidate that stands alone, and the first tail match (the first kind anywhere wins).
pub fn scan_version_string(data: &[u8], major: Option<u8>) -> (Option<Version>, Option<Version>) {
    let mut tail_match = None;
    let mut i = 0;
    while i + 5 < data.len() {
        let c = data[i];
        let first = (b'2'..=b'3').contains(&c) && data[i + 1] == b'.';
        let before_ok = i == 0 || !(data[i - 1].is_ascii_digit() || data[i - 1] == b'.');
        if first && before_ok && major.is_none_or(|m| c - b'0' == m) {
            if let Some(v) = parse_version_at(&data[i..]) {
                if i > 0 && data[i - 1] == 0 {
                    return (Some(v), tail_match);
                }
                tail_match.get_or_insert(v);
            }
        }
        i += 1;
    }
    (None, tail_match)
}

/// `M.m.p` then NUL, `+`, or a release level (`a`, `b`, `rc`) with its serial and NUL.
fn parse_version_at(s: &[u8]) -> Option<Version> {
    let number = |s: &[u8]| -> Option<(u8, usize)> {
        let n = s.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
        let v = std::str::from_utf8(s.get(..n)?).ok()?.parse().ok()?;
        (n > 0 && n <= 2).then_some((v, n))
    };
    let major = s[0] - b'0';
    let (minor, n1) = number(s.get(2..)?)?;
    let at = 2 + n1;
    if s.get(at) != Some(&b'.') {
        return None;
    }
    let (micro, n2) = number(s.get(at + 1..)?)?;
    let mut end = at + 1 + n2;
    // Release level suffixes: "a1", "b2", "rc1", and a trailing "+" for builds from git.
    for suffix in [&b"rc"[..], b"a", b"b"] {
        if s.get(end..end + suffix.len()) == Some(suffix) {
            end += suffix.len();
            end += s
                .get(end..)?
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            break;
        }
    }
    if s.get(end) == Some(&b'+') {
        end += 1;
    }
    (s.get(end) == Some(&0)).then_some(Version::new(major, minor, Some(micro)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_py_version_hex() {
        assert_eq!(Version::from_hex(0x030d00f0), Version::new(3, 13, Some(0)));
        assert_eq!(Version::from_hex(0x020712f0).to_string(), "2.7.18");
        assert_eq!(Version::new(3, 10, None).abi(), "310");
    }

    #[test]
    fn parses_abi_numbers_and_dotted_versions() {
        assert_eq!(parse_abi("26"), Some((2, 6)));
        assert_eq!(parse_abi("36"), Some((3, 6)));
        assert_eq!(parse_abi("310"), Some((3, 10)));
        assert_eq!(parse_abi("3.13"), Some((3, 13)));
        assert_eq!(parse_abi("2.7"), Some((2, 7)));
        for bad in ["", "3", "foo", "3.", ".7", "3.1x", "-36", "3.100", "3.7.1"] {
            assert_eq!(parse_abi(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_versions_from_file_names() {
        let lib = |n| from_file_name(n, "libpython");
        assert_eq!(lib("libpython3.6m.so.1.0"), Some(Version::new(3, 6, None)));
        assert_eq!(lib("libpython2.7.so.1.0"), Some(Version::new(2, 7, None)));
        assert_eq!(
            lib("libpython3.13t.so.1.0"),
            Some(Version::new(3, 13, None))
        );
        assert_eq!(lib("libpython3.12.so"), Some(Version::new(3, 12, None)));
        assert_eq!(lib("libpython3.5m.so.1.0"), Some(Version::new(3, 5, None)));
        assert_eq!(lib("libpython3.4m.so"), Some(Version::new(3, 4, None)));
        assert_eq!(lib("libpython2.6.so.1.0"), Some(Version::new(2, 6, None)));
        assert_eq!(lib("libpython3.so"), None);
        assert_eq!(lib("libpython3.10-pyflame.so"), None);
        assert_eq!(
            from_file_name("python3.11", "python"),
            Some(Version::new(3, 11, None))
        );
        assert_eq!(from_file_name("python3", "python"), None);
        assert_eq!(from_file_name("python3.11-config", "python"), None);
    }

    #[test]
    fn finds_the_version_string_in_read_only_data() {
        let rodata =
            b"\0zlib 1.2.13\0/root/.pyenv/versions/3.9.18\0expat_2.5.0\0%s\x003.9.18\0more";
        assert_eq!(
            find_version_string(rodata, Some(3)),
            Some(Version::new(3, 9, Some(18)))
        );
        // Only a path tail: still found, as the fallback.
        let merged = b"\0/opt/python/3.8.10\0x";
        assert_eq!(
            find_version_string(merged, None),
            Some(Version::new(3, 8, Some(10)))
        );
        assert_eq!(
            find_version_string(b"\x002.7.18+\0", Some(2)),
            Some(Version::new(2, 7, Some(18)))
        );
        // The original's other ABIs: 2.6, 3.4 and 3.5.
        let found = |s: &[u8], m| find_version_string(s, m);
        assert_eq!(
            found(b"x\x002.6.9\0", Some(2)),
            Some(Version::new(2, 6, Some(9)))
        );
        assert_eq!(
            found(b"\x003.4.10\0\x003.5\0", Some(3)),
            Some(Version::new(3, 4, Some(10)))
        );
        assert_eq!(
            found(b"/usr/lib/python3.5\0\x003.5.10\0", None),
            Some(Version::new(3, 5, Some(10)))
        );
        assert_eq!(
            find_version_string(b"\x003.12.0rc1\0", None),
            Some(Version::new(3, 12, Some(0)))
        );
        // Not versions: preceded by a digit or dot, no terminator, or the wrong major.
        assert_eq!(
            find_version_string(b"\x0013.1.2\0 1.3.9.1\0 3.4.5x\0", None),
            None
        );
        assert_eq!(find_version_string(b"\x002.5.0\0", Some(3)), None);
        assert_eq!(find_version_string(b"", None), None);
    }
}
