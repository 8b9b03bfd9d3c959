//! ELF reader tests on real files: this test binary, the libc it maps, pyenv's libpython,
//! checked against the process's own memory.

use super::*;

/// Marker whose address and code the self-tests compare with what the file says.
#[inline(never)]
pub fn elf_test_marker_function(x: u64) -> u64 {
    x.wrapping_mul(0x9e37_79b9).rotate_left(7) ^ 0x5a5a
}

/// Mappings of `path` in /proc/self/maps as (start, offset, perms).
fn self_mappings(path: &Path) -> Vec<(u64, u64, String)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut out = Vec::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || Path::new(fields[5]) != path {
            continue;
        }
        let start = u64::from_str_radix(fields[0].split('-').next().unwrap(), 16).unwrap();
        let offset = u64::from_str_radix(fields[2], 16).unwrap();
        out.push((start, offset, fields[1].to_string()));
    }
    out
}

/// `n` bytes of this process's memory at `addr`.
fn self_memory(addr: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mem = File::open("/proc/self/mem").unwrap();
    mem.read_exact_at(&mut buf, addr).unwrap();
    buf
}

/// `n` bytes of `file` at the file offset of `vaddr`.
fn file_bytes(elf: &Elf, file: &File, vaddr: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, elf.vaddr_to_offset(vaddr).unwrap())
        .unwrap();
    buf
}

/// The bias all the loader's mappings of `path` agree on; panics if they disagree. Other
/// mappings of the file (std's backtrace code maps the executable whole to read its debug
/// info) are told apart by lying outside the image placed by the r-xp mapping.
fn agreed_bias(elf: &Elf, path: &Path) -> u64 {
    let maps = self_mappings(path);
    let code: Vec<_> = maps.iter().filter(|m| m.2 == "r-xp").collect();
    assert_eq!(code.len(), 1, "{path:?}: {maps:x?}");
    let bias = elf.load_bias(code[0].0, code[0].1).unwrap();
    let loads = elf.segments.iter().filter(|s| s.p_type == PT_LOAD);
    let extent = loads.map(|s| s.p_vaddr + s.p_memsz).max().unwrap();
    let image: Vec<_> = maps
        .iter()
        .filter(|m| m.0 >= bias && m.0 < bias + extent)
        .collect();
    let offsets: std::collections::BTreeSet<u64> = image.iter().map(|m| m.1).collect();
    assert!(offsets.len() >= 3, "{path:?}: {maps:x?}");
    for &&(start, offset, _) in &image {
        assert_eq!(elf.load_bias(start, offset), Some(bias), "{maps:x?}");
    }
    bias
}

/// The full name of the first .symtab symbol whose name contains `needle`, read without the
/// code under test beyond the section headers.
fn symtab_name_containing(elf: &Elf, file: &File, needle: &str) -> Option<String> {
    let symtab = elf.section(".symtab")?;
    let strtab = &elf.sections[symtab.sh_link as usize];
    let mut syms = vec![0u8; symtab.sh_size as usize];
    file.read_exact_at(&mut syms, symtab.sh_offset).unwrap();
    let mut strs = vec![0u8; strtab.sh_size as usize];
    file.read_exact_at(&mut strs, strtab.sh_offset).unwrap();
    syms.chunks_exact(24).find_map(|e| {
        let off = get(e, 0, 4) as usize;
        let name = strs.get(off..)?.split(|&c| c == 0).next()?;
        let name = std::str::from_utf8(name).ok()?;
        name.contains(needle).then(|| name.to_string())
    })
}

#[test]
fn this_test_binary() {
    let path = std::env::current_exe().unwrap();
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    assert!(
        elf.e_type == ET_DYN || elf.e_type == ET_EXEC,
        "e_type {}",
        elf.e_type
    );
    assert_eq!(elf.e_machine, crate::arch::EM);
    assert!(elf.segments.iter().filter(|s| s.p_type == PT_LOAD).count() >= 2);
    let text = elf.section(".text").expect(".text");
    assert!(text.sh_size > 0 && text.sh_flags & 4 != 0); // SHF_EXECINSTR
    if elf.section(".symtab").is_none() {
        eprintln!("test binary is stripped: skipping its symbol checks");
        return;
    }
    let found = elf
        .lookup(&file, &["main", "no_such_symbol_anywhere"])
        .unwrap();
    let main = found[0].expect("main is defined");
    assert!(main.value >= text.sh_addr && main.value < text.sh_addr + text.sh_size);
    assert_eq!(found[1], None);
    // A libc function this binary imports is SHN_UNDEF in both tables: never "found".
    #[cfg(all(target_env = "gnu", not(target_feature = "crt-static")))]
    {
        assert!(elf.section(".interp").is_some());
        assert_eq!(
            elf.lookup(&file, &["getpid", "malloc"]).unwrap(),
            [None, None]
        );
    }
}

#[test]
fn this_test_binary_mappings_agree_on_the_bias() {
    // The separate-code regression test: the executable is mapped at several file offsets
    // (r--p, r-xp, r--p, rw-p), and each mapping must give the same, correct bias.
    let path = std::fs::read_link("/proc/self/exe").unwrap();
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    let bias = agreed_bias(&elf, &path);
    if elf.e_type == ET_EXEC {
        assert_eq!(bias, 0);
    }
    let Some(name) = symtab_name_containing(&elf, &file, "elf_test_marker_function") else {
        eprintln!("test binary is stripped: skipping the marker address check");
        return;
    };
    let marker = elf.lookup(&file, &[&name]).unwrap()[0].expect("marker in .symtab");
    assert!(marker.in_symtab);
    let marker_fn: fn(u64) -> u64 = elf_test_marker_function;
    let addr = marker_fn as usize as u64;
    assert_eq!(bias.wrapping_add(marker.value), addr);
    assert_eq!(
        self_memory(addr, 32),
        file_bytes(&elf, &file, marker.value, 32)
    );
    assert_eq!(elf_test_marker_function(1), elf_test_marker_function(1));
}

/// The dynamic C library this process has mapped, if any.
fn mapped_libc() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let path = Path::new(line.split_whitespace().nth(5)?);
        let name = path.file_name()?.to_str()?;
        let libc = name.starts_with("libc.so") || name.starts_with("libc-");
        (libc || name.starts_with("ld-musl")).then(|| path.to_path_buf())
    })
}

#[test]
fn mapped_libc_agrees_with_memory() {
    let Some(path) = mapped_libc() else {
        eprintln!("no dynamic libc mapped (static build): skipping");
        return;
    };
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    assert_eq!(elf.e_type, ET_DYN);
    let bias = agreed_bias(&elf, &path);
    let found = elf.lookup(&file, &["getpid", "malloc"]).unwrap();
    for sym in found {
        let sym = sym.expect("libc defines getpid and malloc");
        assert!(!sym.in_symtab);
        // Code is not relocated: the bytes at bias + st_value are the bytes in the file.
        let code = self_memory(bias + sym.value, 16);
        assert_eq!(code, file_bytes(&elf, &file, sym.value, 16));
    }
}

fn pyenv_lib(version: &str, file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(format!("/root/.pyenv/versions/{version}/lib/{file}"));
    path.exists().then_some(path)
}

/// The allocated, non-TLS section whose address range holds `vaddr`.
fn section_at(elf: &Elf, vaddr: u64) -> &Section {
    let mapped = |s: &&Section| s.sh_flags & 0x402 == 2; // SHF_ALLOC and not SHF_TLS
    let mut hits = elf.sections.iter().filter(mapped);
    hits.find(|s| s.sh_addr <= vaddr && vaddr < s.sh_addr + s.sh_size)
        .unwrap()
}

#[test]
fn pyenv_libpython_3_12() {
    let Some(path) = pyenv_lib("3.12.1", "libpython3.12.so.1.0") else {
        eprintln!("no pyenv 3.12.1: skipping");
        return;
    };
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    assert_eq!(elf.e_type, ET_DYN);
    let found = elf.lookup(&file, &["_PyRuntime", "Py_Version"]).unwrap();
    let runtime = found[0].expect("_PyRuntime");
    let version = found[1].expect("Py_Version");
    assert!(!runtime.in_symtab && !version.in_symtab);
    assert_eq!(version.size, 8);
    // Py_Version holds PY_VERSION_HEX: 3.12.1 final.
    let bytes = file_bytes(&elf, &file, version.value, 8);
    assert_eq!(u64::from_le_bytes(bytes.try_into().unwrap()), 0x030c_01f0);
    // Segments and sections must agree on where _PyRuntime is in the file.
    let sec = section_at(&elf, runtime.value);
    assert!(
        sec.name == ".PyRuntime" || sec.name == ".data",
        "{}",
        sec.name
    );
    let offset = elf.vaddr_to_offset(runtime.value).unwrap();
    assert_eq!(offset, sec.sh_offset + (runtime.value - sec.sh_addr));
    // The mappings ld.so makes: each PT_LOAD from its page-rounded p_offset, and the RW one
    // split where PT_GNU_RELRO ends (mprotect up to the page-rounded end of its p_memsz).
    let relro = elf
        .segments
        .iter()
        .find(|s| s.p_type == PT_GNU_RELRO)
        .unwrap();
    let relro_end = (relro.p_vaddr + relro.p_memsz) & !0xfff;
    let mut maps = 0;
    for seg in elf.segments.iter().filter(|s| s.p_type == PT_LOAD) {
        let (offset, vaddr) = (seg.p_offset & !0xfff, seg.p_vaddr & !0xfff);
        assert_eq!(elf.load_bias(BIAS + vaddr, offset), Some(BIAS));
        maps += 1;
        if relro_end > vaddr && relro_end < seg.p_vaddr + seg.p_filesz {
            let split = offset + (relro_end - vaddr);
            assert_eq!(elf.load_bias(BIAS + relro_end, split), Some(BIAS));
            maps += 1;
        }
    }
    assert_eq!(maps, 5);
}

#[test]
fn pyenv_libpython_2_7_static_symbol() {
    let Some(path) = pyenv_lib("2.7.18", "libpython2.7.so.1.0") else {
        eprintln!("no pyenv 2.7.18: skipping");
        return;
    };
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    let names = ["_PyThreadState_Current", "interp_head"];
    let found = elf.lookup(&file, &names).unwrap();
    // interp_head is static in pystate.c: a LOCAL symbol, only in .symtab.
    let current = found[0].expect("_PyThreadState_Current");
    let head = found[1].expect("interp_head");
    assert!(!current.in_symtab && head.in_symtab);
    for s in [current, head] {
        assert_eq!(s.size, 8);
        let sec = section_at(&elf, s.value);
        assert!(sec.name == ".bss" || sec.name == ".data", "{}", sec.name);
    }
}

#[test]
fn every_pyenv_libpython() {
    let Ok(versions) = std::fs::read_dir("/root/.pyenv/versions") else {
        return;
    };
    for dir in versions.flatten() {
        let Ok(libs) = std::fs::read_dir(dir.path().join("lib")) else {
            continue;
        };
        for lib in libs.flatten() {
            let name = lib.file_name().to_string_lossy().into_owned();
            if !name.starts_with("libpython") || !name.ends_with(".so.1.0") {
                continue;
            }
            let file = File::open(lib.path()).unwrap();
            let elf = Elf::parse(&file).unwrap();
            let found = elf
                .lookup(&file, &["Py_Initialize", "PyEval_SaveThread"])
                .unwrap();
            for s in found {
                let s = s.unwrap_or_else(|| panic!("{name}: missing a Py_ function"));
                let text = section_at(&elf, s.value);
                assert_eq!(text.name, ".text", "{name}");
                let offset = elf.vaddr_to_offset(s.value);
                assert_eq!(
                    offset,
                    Some(text.sh_offset + (s.value - text.sh_addr)),
                    "{name}"
                );
            }
        }
    }
}
