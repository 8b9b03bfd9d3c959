//! The oracle: `readelf --debug-dump=frames-interp` prints every FDE's rows (LOC, the CFA as
//! `rsp+8` or `exp`, each register as `c-16`, `u`, `exp`, ...). For every FDE and row LOC of
//! real objects (C compiled here by gcc, the system libc, pyenv's libpython), `find_row` must
//! give the same CFA rule and the same rule for every register readelf shows.

use super::*;
use crate::elf::{Elf, Source};
use std::path::{Path, PathBuf};
use std::process::Command;

/// readelf's names of the x86-64 DWARF registers 0..=16.
const X86_64_NAMES: [&str; 17] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip",
];

/// One FDE as readelf prints it: its range, then (LOC, [(column, value)]) rows.
struct Fde {
    begin: u64,
    end: u64,
    rows: Vec<(u64, Vec<(String, String)>)>,
}

/// readelf's FDEs of each call-frame section of `path`, by section name.
fn readelf(path: &Path) -> Option<Vec<(String, Vec<Fde>)>> {
    let out = Command::new("readelf").arg("-wF").arg(path).output().ok()?;
    // readelf exits 1 on libc.so.6 (it cannot follow the .gnu_debuglink) but prints the frames.
    assert!(!out.stdout.is_empty(), "readelf -wF {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sections: Vec<(String, Vec<Fde>)> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut in_fde = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Contents of the ") {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            sections.push((name, Vec::new()));
            in_fde = false;
        } else if line.contains(" FDE ") {
            let range = line.split("pc=").nth(1).expect("an FDE range");
            let (b, e) = range.trim().split_once("..").expect("begin..end");
            let fde = Fde {
                begin: u64::from_str_radix(b, 16).unwrap(),
                end: u64::from_str_radix(e, 16).unwrap(),
                rows: Vec::new(),
            };
            sections.last_mut().expect("a section").1.push(fde);
            in_fde = true;
        } else if line.contains(" CIE") || line.contains("ZERO terminator") {
            in_fde = false;
        } else if let Some(rest) = line.trim_start().strip_prefix("LOC") {
            columns = rest.split_whitespace().map(String::from).collect();
        } else if in_fde && line.len() > 16 && line.as_bytes()[16] == b' ' {
            let mut fields = line.split_whitespace();
            let Some(loc) = fields.next().and_then(|l| u64::from_str_radix(l, 16).ok()) else {
                continue;
            };
            // DW_CFA_register prints as `r9 (r9)`: the name in parentheses is the value.
            let mut values: Vec<String> = Vec::new();
            for field in fields {
                match field.strip_prefix('(').and_then(|f| f.strip_suffix(')')) {
                    Some(name) if !values.is_empty() => *values.last_mut().unwrap() = name.into(),
                    _ => values.push(field.into()),
                }
            }
            let row = columns.iter().cloned().zip(values.iter().cloned());
            let fde = sections.last_mut().unwrap().1.last_mut().unwrap();
            // A row whose fields do not line up with the header (a column readelf leaves
            // blank) is recorded empty and counted as not checked.
            let row = match values.len() == columns.len() {
                true => row.collect(),
                false => Vec::new(),
            };
            fde.rows.push((loc, row));
        }
    }
    Some(sections)
}

/// readelf's text for a rule.
fn show(rule: Rule<'_>) -> String {
    match rule {
        Rule::Default | Rule::Undefined => "u".into(),
        Rule::SameValue => "s".into(),
        Rule::Offset(o) => format!("c{o:+}"),
        Rule::ValOffset(o) => format!("v{o:+}"),
        Rule::Register(r) => X86_64_NAMES.get(usize::from(r)).unwrap_or(&"?").to_string(),
        Rule::Expression(_) => "exp".into(),
        Rule::ValExpression(_) => "vexp".into(),
    }
}

fn show_cfa(cfa: Cfa<'_>) -> String {
    match cfa {
        Cfa::RegOffset { reg, offset } => {
            let name = X86_64_NAMES.get(usize::from(reg)).unwrap_or(&"?");
            format!("{name}{:+}", offset as i32)
        }
        Cfa::Expression(_) => "exp".into(),
    }
}

/// What a comparison covered.
#[derive(Debug, Default)]
struct Checked {
    fdes: usize,
    rows: usize,
    /// Rows readelf printed with blank columns, not compared.
    skipped: usize,
    exp_cfa: usize,
    rbp_cfa: usize,
}

/// Compares every FDE and row readelf prints for `section` with `table`.
fn compare(table: &UnwindTable, fdes: &[Fde], what: &str) -> Checked {
    let mut checked = Checked::default();
    let mut failures = Vec::new();
    for fde in fdes.iter().filter(|f| f.begin < f.end) {
        checked.fdes += 1;
        if let Err(e) = table.find_row(fde.begin) {
            failures.push(format!("FDE {:#x}..{:#x}: {e}", fde.begin, fde.end));
            continue;
        }
        // The last row printed for a LOC is the one that holds there.
        for (i, (loc, cols)) in fde.rows.iter().enumerate() {
            let superseded = fde.rows.get(i + 1).is_some_and(|(next, _)| next == loc);
            if superseded || *loc >= fde.end {
                continue;
            }
            if cols.is_empty() {
                checked.skipped += 1;
                continue;
            }
            let row = match table.find_row(*loc) {
                Ok(row) => row,
                Err(e) => {
                    failures.push(format!("{loc:#x}: {e}"));
                    continue;
                }
            };
            checked.rows += 1;
            assert!(row.start <= *loc && *loc < row.end, "{loc:#x}: {row:?}");
            for (name, want) in cols {
                let got = match name.as_str() {
                    "CFA" => show_cfa(row.cfa),
                    "ra" => show(row.rule(row.ra)),
                    reg => match X86_64_NAMES.iter().position(|n| *n == reg) {
                        Some(r) => show(row.rule(r as u16)),
                        None => continue,
                    },
                };
                if &got != want {
                    failures.push(format!("{loc:#x} {name}: readelf {want}, pyflame {got}"));
                }
            }
            let cfa = cols
                .iter()
                .find(|(n, _)| n == "CFA")
                .map(|(_, v)| v.as_str());
            checked.exp_cfa += usize::from(cfa == Some("exp"));
            checked.rbp_cfa += usize::from(cfa.is_some_and(|c| c.starts_with("rbp")));
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: {} differences, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    println!("{what}: {checked:?}");
    checked
}

/// The bytes and address of section `name` of the ELF file at `path`.
fn section_bytes(elf: &Elf, file: &std::fs::File, name: &str) -> Option<(Vec<u8>, u64)> {
    let s = elf.section(name)?;
    let mut buf = vec![0; s.sh_size as usize];
    file.read_exact_at(&mut buf, s.sh_offset).unwrap();
    Some((buf, s.sh_addr))
}

/// Checks every call-frame section readelf prints for `path`: `.eh_frame` through
/// `.eh_frame_hdr` and through the table's own index, `.debug_frame`. Per section name, the
/// totals.
fn check_object(path: &Path) -> Vec<(String, Checked)> {
    let sections = readelf(path).expect("readelf runs");
    let file = std::fs::File::open(path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    let mut out = Vec::new();
    for (name, fdes) in &sections {
        let (bytes, addr) = section_bytes(&elf, &file, name).expect("the section readelf dumped");
        let data = SectionData {
            bytes: &bytes,
            addr,
        };
        let what = format!("{} {name}", path.display());
        if name == ".eh_frame" {
            let hdr = section_bytes(&elf, &file, ".eh_frame_hdr");
            let hdr = hdr
                .as_ref()
                .map(|(b, a)| SectionData { bytes: b, addr: *a });
            let sections = Sections {
                eh_frame: Some(data),
                eh_frame_hdr: hdr,
                debug_frame: None,
            };
            let table = UnwindTable::new(Arch::X86_64, &sections).unwrap();
            assert_eq!(table.uses_eh_frame_hdr(), hdr.is_some(), "{what}");
            out.push((
                name.clone(),
                compare(&table, fdes, &format!("{what} (with .eh_frame_hdr)")),
            ));
            let own = Sections {
                eh_frame_hdr: None,
                ..sections
            };
            let table = UnwindTable::new(Arch::X86_64, &own).unwrap();
            compare(&table, fdes, &format!("{what} (own index)"));
        } else if name == ".debug_frame" {
            let sections = Sections {
                debug_frame: Some(&bytes),
                ..Sections::default()
            };
            let table = UnwindTable::new(Arch::X86_64, &sections).unwrap();
            out.push((name.clone(), compare(&table, fdes, &what)));
        }
        // The table from_elf builds answers for every FDE too.
        let all = UnwindTable::from_elf(Arch::X86_64, &elf, &file).unwrap();
        let missed = fdes
            .iter()
            .filter(|f| f.begin < f.end && all.row(f.begin).is_none());
        assert_eq!(missed.count(), 0, "{what}: from_elf");
    }
    out
}

const C_SOURCE: &str = r#"
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
int vla(int n) { char buf[n]; memset(buf, n, n); return puts(buf) + buf[n / 2]; }
int grow(int n) { char *p = __builtin_alloca(n * 2); memset(p, 1, n); return p[n] + vla(n); }
long many(long a, long b, long c) {
    long s = 0;
    for (long i = 0; i < a; i++) s += strlen(getenv("X") ? getenv("X") : "ab") * b + grow((int)c);
    return s;
}
"#;

/// Compiles `C_SOURCE` into a shared object with `flags`; None if gcc is missing.
fn compile(name: &str, flags: &[&str]) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pyflame-cfi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("cfi.c");
    std::fs::write(&src, C_SOURCE).unwrap();
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status();
    match status {
        Ok(s) if s.success() => Some(out),
        Ok(s) => panic!("gcc {flags:?}: {s}"),
        Err(_) => None,
    }
}

fn have_readelf() -> bool {
    let ok = Command::new("readelf").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipped: no readelf");
    }
    ok
}

#[test]
fn matches_readelf_on_gcc_output() {
    if !have_readelf() {
        return;
    }
    let shared = ["-O2", "-shared", "-fPIC", "-Wl,-z,lazy"];
    for (name, extra) in [
        ("omit.so", "-fomit-frame-pointer"),
        ("fp.so", "-fno-omit-frame-pointer"),
    ] {
        let flags: Vec<&str> = shared.iter().copied().chain([extra]).collect();
        let Some(path) = compile(name, &flags) else {
            eprintln!("skipped: no gcc");
            return;
        };
        let checked = check_object(&path);
        let (_, eh) = checked
            .iter()
            .find(|(n, _)| n == ".eh_frame")
            .expect(".eh_frame");
        assert!(eh.exp_cfa > 0, "{name}: the PLT's expression CFA");
        assert!(eh.rbp_cfa > 0, "{name}: the VLA's CFA in rbp");
        assert_eq!(eh.skipped, 0);
    }
}

#[test]
fn matches_readelf_on_debug_frame() {
    if !have_readelf() {
        return;
    }
    let flags = [
        "-O2",
        "-g",
        "-fno-asynchronous-unwind-tables",
        "-shared",
        "-fPIC",
        "-nostdlib",
    ];
    let Some(path) = compile("debug.so", &flags) else {
        eprintln!("skipped: no gcc");
        return;
    };
    let checked = check_object(&path);
    let (_, debug) = checked
        .iter()
        .find(|(n, _)| n == ".debug_frame")
        .expect("readelf prints .debug_frame");
    assert!(debug.fdes >= 3 && debug.rows > 3, "{debug:?}");
}

#[test]
fn matches_readelf_on_system_libraries() {
    if !have_readelf() {
        return;
    }
    for path in [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
    ] {
        if !Path::new(path).exists() {
            eprintln!("skipped: no {path}");
            continue;
        }
        let checked = check_object(Path::new(path));
        let (_, eh) = checked
            .iter()
            .find(|(n, _)| n == ".eh_frame")
            .expect(".eh_frame");
        assert!(eh.fdes > 1000 && eh.rows > 5000, "{path}: {eh:?}");
        assert_eq!(eh.skipped, 0, "{path}");
    }
}
