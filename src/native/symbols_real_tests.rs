//! Symbols of real libraries: pyenv's libpython (`.symtab`) and the system libc (`.dynsym`),
//! every function `nm` lists named at its first, middle and last pc.

use super::*;
use std::collections::HashMap;

/// Every sized function `nm` lists in `path` (`.dynsym` with `dynamic`) is named at its first,
/// middle and last pc by one of the functions holding that pc.
fn check_real_object(symbols: &Symbols, path: &Path, dynamic: bool) -> usize {
    let funcs = nm(path, dynamic);
    let mut by_name: HashMap<&str, Vec<&Func>> = HashMap::new();
    for f in &funcs {
        by_name.entry(&f.name).or_default().push(f);
    }
    let mut checked = 0;
    for f in funcs.iter().filter(|f| f.size > 0) {
        for pc in [f.addr, f.addr + f.size / 2, f.addr + f.size - 1] {
            let (name, off) = symbols.name(pc).unwrap_or_else(|| panic!("{f:?} {pc:#x}"));
            let holds = |g: &&Func| g.addr <= pc && pc - g.addr < g.size && pc - g.addr == off;
            let named = by_name.get(name.as_str()).into_iter().flatten();
            assert!(
                named.into_iter().any(holds),
                "{f:?} {pc:#x}: {name}+{off:#x}"
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn names_functions_of_pyenv_libpython() {
    let path = Path::new("/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0");
    if !path.exists() {
        eprintln!("skipped: no {path:?}");
        return;
    }
    let root = TempDir::new("libpython");
    let symbols = Symbols::load(path, &root.0).unwrap();
    assert_eq!(symbols.origin(), &Origin::Symtab);
    assert!(
        symbols.len() > 5000 && !symbols.truncated(),
        "{}",
        symbols.len()
    );
    assert_eq!(symbols.build_id().map(<[u8]>::len), Some(20));
    let file = File::open(path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    let eval = elf.lookup(&file, &["_PyEval_EvalFrameDefault"]).unwrap()[0].unwrap();
    let want = |off| Some(("_PyEval_EvalFrameDefault".to_string(), off));
    assert_eq!(symbols.name(eval.value), want(0));
    assert_eq!(
        symbols.name(eval.value + eval.size - 1),
        want(eval.size - 1)
    );
    assert!(check_real_object(&symbols, path, false) > 10_000);
}

#[test]
fn names_exported_functions_of_the_system_libc() {
    let path = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    if !path.exists() {
        eprintln!("skipped: no {path:?}");
        return;
    }
    let root = TempDir::new("libc");
    let symbols = Symbols::load(path, &root.0).unwrap();
    assert!(symbols.build_id().is_some());
    let dynamic = symbols.origin() == &Origin::Dynsym;
    assert!(check_real_object(&symbols, path, dynamic) > 1000);
}
