//! Unit tests of the call-frame reader: hand-built sections (a frame-pointer function, the
//! 64-bit `.debug_frame` format, AArch64 pointer authentication), the PLT's CFA expression and
//! glibc's signal trampoline taken from the system libc, `step` on fabricated stacks, and
//! malformed input that must give errors or None, never a panic or a hang.

use super::expr::evaluate;
use super::*;
use std::collections::HashMap;

/// Where the hand-built `.eh_frame` sections are linked.
pub(super) const EH_ADDR: u64 = 0x4000;

/// A CIE (augmentation "zR", FDE pointers pcrel|sdata4) with `ra`, `code_align`, data
/// alignment -8 and `instructions`, padded with DW_CFA_nop.
pub(super) fn cie(ra: u8, code_align: u8, instructions: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0, 1, b'z', b'R', 0, code_align, 0x78, ra, 1, 0x1b];
    body.extend_from_slice(instructions);
    framed(body)
}

/// `body` (which starts with the id field) behind its 32-bit length, padded to 4 bytes.
pub(super) fn framed(mut body: Vec<u8>) -> Vec<u8> {
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// An `.eh_frame` of `cie` (at offset 0) and FDEs (pc_begin, length, instructions), ending with
/// a zero terminator.
pub(super) fn eh_frame(cie: &[u8], fdes: &[(u64, u32, &[u8])]) -> Vec<u8> {
    let mut out = cie.to_vec();
    for &(begin, len, instructions) in fdes {
        let at = out.len();
        let mut body = ((at + 4) as u32).to_le_bytes().to_vec();
        let field = EH_ADDR + at as u64 + 8;
        body.extend_from_slice(&(begin.wrapping_sub(field) as u32).to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.push(0);
        body.extend_from_slice(instructions);
        out.extend(framed(body));
    }
    out.extend([0; 4]);
    out
}

pub(super) fn table(arch: Arch, bytes: &[u8]) -> Result<UnwindTable, CfiError> {
    let eh = SectionData {
        bytes,
        addr: EH_ADDR,
    };
    let sections = Sections {
        eh_frame: Some(eh),
        ..Sections::default()
    };
    UnwindTable::new(arch, &sections)
}

/// x86-64 CIE: CFA = rsp + 8, return address at CFA - 8.
pub(super) const X86_CIE: [u8; 5] = [0x0c, 7, 8, 0x90, 1];
/// `push rbp` (1 byte) then `mov rbp, rsp` (3 bytes): the usual prologue's CFI.
const PROLOGUE: [u8; 7] = [0x41, 0x0e, 16, 0x86, 2, 0x43, 0x0d];

fn prologue_table() -> UnwindTable {
    let mut fde = PROLOGUE.to_vec();
    fde.push(6);
    let outermost = [0x07, 16]; // DW_CFA_undefined rip
    let bytes = eh_frame(
        &cie(16, 1, &X86_CIE),
        &[(0x1000, 0x100, &fde), (0x2000, 0x10, &outermost)],
    );
    table(Arch::X86_64, &bytes).unwrap()
}

/// Memory of 8-byte words.
fn memory(words: &[(u64, u64)]) -> impl FnMut(u64) -> Option<u64> {
    let map: HashMap<u64, u64> = words.iter().copied().collect();
    move |addr| map.get(&addr).copied()
}

#[test]
fn rows_of_a_frame_pointer_prologue() {
    let t = prologue_table();
    let row = t.row(0x1000).unwrap();
    assert_eq!(row.cfa, Cfa::RegOffset { reg: 7, offset: 8 });
    assert_eq!((row.start, row.end), (0x1000, 0x1001));
    assert_eq!(row.rule(16), Rule::Offset(-8));
    assert_eq!(row.rule(6), Rule::Default);
    let row = t.row(0x1003).unwrap();
    assert_eq!(row.cfa, Cfa::RegOffset { reg: 7, offset: 16 });
    assert_eq!((row.start, row.end), (0x1001, 0x1004));
    assert_eq!(row.rule(6), Rule::Offset(-16));
    let row = t.row(0x10ff).unwrap();
    assert_eq!(row.cfa, Cfa::RegOffset { reg: 6, offset: 16 });
    assert_eq!((row.start, row.end), (0x1004, 0x1100));
    assert!(t.row(0x1100).is_none() && t.row(0xfff).is_none());
    assert_eq!(t.find_row(0x3000), Err(CfiError::NoFde(0x3000)));
}

#[test]
fn step_and_step_fp_agree_on_a_fabricated_stack() {
    let t = prologue_table();
    // The frame: rbp = 0x7000 holds the caller's rbp, the return address is above it.
    let regs = Regs::new(Arch::X86_64, 0x1010, 0x6f00, 0x7000);
    let words = [(0x7000, 0x8000), (0x7008, 0x2222)];
    let caller = step(&t.row(0x1010).unwrap(), &regs, memory(&words)).unwrap();
    assert_eq!(
        (caller.pc, caller.sp(), caller.fp()),
        (0x2222, Some(0x7010), Some(0x8000))
    );
    let by_fp = step_fp(&regs, memory(&words)).unwrap();
    assert_eq!(
        (by_fp.pc, by_fp.sp(), by_fp.fp()),
        (0x2222, Some(0x7010), Some(0x8000))
    );
    // At the first instruction the return address is on top of the stack; rbp is unchanged.
    let regs = Regs::new(Arch::X86_64, 0x1000, 0x6f00, 0x7000);
    let caller = step(&t.row(0x1000).unwrap(), &regs, memory(&[(0x6f00, 0x3333)])).unwrap();
    assert_eq!(
        (caller.pc, caller.sp(), caller.fp()),
        (0x3333, Some(0x6f08), Some(0x7000))
    );
    // Unreadable memory, a null or misaligned frame pointer: no step.
    assert!(step(&t.row(0x1010).unwrap(), &regs, memory(&[])).is_none());
    assert!(step_fp(&Regs::new(Arch::X86_64, 0, 0, 0), memory(&words)).is_none());
    assert!(step_fp(&Regs::new(Arch::X86_64, 0, 0, 0x7001), memory(&words)).is_none());
    // The outermost frame: the return address is undefined.
    let row = t.row(0x2000).unwrap();
    assert!(row.outermost());
    assert!(step(&row, &regs, memory(&[(0x6f00, 0x3333)])).is_none());
}

/// The CFA expression of every x86-64 PLT entry (binutils): rsp + 8, plus 8 more once the
/// entry's `push` has run (from byte 11 of the 16-byte entry on).
const PLT_EXPR: [u8; 11] = [0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22];

#[test]
fn the_plt_expression_evaluates() {
    for at in 0..32u64 {
        let pc = 0x1030 + at;
        let regs = Regs::new(Arch::X86_64, pc, 0x7ff0, 0);
        let want = 0x7ff0 + 8 + if pc & 15 >= 11 { 8 } else { 0 };
        let got = evaluate(&PLT_EXPR, &regs, None, &mut |_| None);
        assert_eq!(got, Ok(want), "pc {pc:#x}");
    }
}

fn libc() -> Option<(crate::elf::Elf, std::fs::File)> {
    let path = "/lib/x86_64-linux-gnu/libc.so.6";
    let Ok(file) = std::fs::File::open(path) else {
        eprintln!("skipped: no {path}");
        return None;
    };
    Some((crate::elf::Elf::parse(&file).unwrap(), file))
}

#[test]
fn the_plt_row_of_libc_steps() {
    let Some((elf, file)) = libc() else { return };
    let t = UnwindTable::from_elf(Arch::X86_64, &elf, &file).unwrap();
    let plt = elf.section(".plt").expect("libc has a .plt").sh_addr;
    // The second entry: after its `push` (byte 11) the return address is 16 bytes up.
    let pc = plt + 16 + 12;
    let row = t.row(pc).unwrap();
    assert_eq!(row.cfa, Cfa::Expression(&PLT_EXPR));
    let regs = Regs::new(Arch::X86_64, pc, 0x7000, 0x9000);
    let caller = step(&row, &regs, memory(&[(0x7008, 0x5555)])).unwrap();
    assert_eq!(
        (caller.pc, caller.sp(), caller.fp()),
        (0x5555, Some(0x7010), Some(0x9000))
    );
}

/// glibc's `__restore_rt` (the signal trampoline, CIE augmentation "zRS"): every register is
/// read from the `ucontext_t` at rsp (uc_mcontext.gregs: rbp at 120, rsp at 160, rip at 168).
#[test]
fn the_signal_trampoline_of_libc_steps() {
    let Some((elf, file)) = libc() else { return };
    let Ok(out) = std::process::Command::new("readelf")
        .arg("-wf")
        .arg("/lib/x86_64-linux-gnu/libc.so.6")
        .output()
    else {
        eprintln!("skipped: no readelf");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // The FDE of the "zRS" CIE; readelf names its CIE by offset.
    let mut cie_off = None;
    let mut last_cie = "";
    for line in text.lines() {
        if line.ends_with(" CIE") {
            last_cie = line.split_whitespace().next().unwrap();
        } else if line.contains("Augmentation:") && line.contains("\"zRS\"") {
            cie_off = Some(last_cie);
        }
    }
    let cie_off = cie_off.expect("a signal-frame CIE");
    let fde_line = text
        .lines()
        .find(|l| l.contains(&format!("cie={cie_off}")))
        .unwrap();
    let range = fde_line
        .split("pc=")
        .nth(1)
        .unwrap()
        .split("..")
        .next()
        .unwrap();
    let begin = u64::from_str_radix(range, 16).unwrap();
    let t = UnwindTable::from_elf(Arch::X86_64, &elf, &file).unwrap();
    // A signal frame's pc is not a return address: its row is looked up at the pc itself
    // (`__restore_rt`, one byte after the FDE's start: the FDE covers the nop before it too).
    let row = t.row(begin + 1).unwrap();
    assert!(row.signal_frame);
    let rsp = 0x7f00_0000;
    let regs = Regs::new(Arch::X86_64, begin, rsp, 1);
    let words = [
        (rsp + 120, 0x7f00_5000),
        (rsp + 160, 0x7f00_4000),
        (rsp + 168, 0x40_1234),
    ];
    let caller = step(&row, &regs, memory(&words)).unwrap();
    assert_eq!(caller.pc, 0x40_1234);
    assert_eq!(
        (caller.sp(), caller.fp()),
        (Some(0x7f00_4000), Some(0x7f00_5000))
    );
}

#[test]
fn aarch64_pointer_authentication_and_frame_records() {
    // CIE: CFA = sp + 0, code alignment 4; FDE: paciasp, stp x29, x30, [sp, #-16]!.
    let fde = [0x2d, 0x41, 0x0e, 16, 0x9d, 2, 0x9e, 1];
    let bytes = eh_frame(&cie(30, 4, &[0x0c, 31, 0]), &[(0x1000, 0x40, &fde)]);
    let t = table(Arch::Aarch64, &bytes).unwrap();
    let row = t.row(0x1000).unwrap();
    assert!(row.ra_signed);
    assert_eq!(row.rule(30), Rule::Default);
    let row = t.row(0x1004).unwrap();
    assert_eq!(
        (row.cfa, row.rule(29), row.rule(30)),
        (
            Cfa::RegOffset {
                reg: 31,
                offset: 16
            },
            Rule::Offset(-16),
            Rule::Offset(-8)
        )
    );
    let regs = Regs::new(Arch::Aarch64, 0x1008, 0x7000, 0x7000);
    let signed_lr = 0x002a_0000_0040_1234;
    let caller = step(
        &row,
        &regs,
        memory(&[(0x7000, 0x8000), (0x7008, signed_lr)]),
    )
    .unwrap();
    assert_eq!(
        (caller.pc, caller.sp(), caller.fp()),
        (0x40_1234, Some(0x7010), Some(0x8000))
    );
    // The frame record: x29 = [x29], x30 = [x29 + 8].
    let by_fp = step_fp(&regs, memory(&[(0x7000, 0x8000), (0x7008, 0x40_1000)])).unwrap();
    assert_eq!(
        (by_fp.pc, by_fp.get(30), by_fp.fp()),
        (0x40_1000, Some(0x40_1000), Some(0x8000))
    );
    // 0x2d is not an x86-64 instruction.
    let t = table(Arch::X86_64, &bytes).unwrap();
    assert_eq!(t.find_row(0x1000), Err(CfiError::Instruction(0x2d)));
}

/// A `.debug_frame` in 64-bit DWARF: CIE version 4 (address and segment sizes), no
/// augmentation, an FDE with a 64-bit CIE offset and absolute addresses.
#[test]
fn debug_frame_in_64_bit_dwarf() {
    let mut cie = u64::MAX.to_le_bytes().to_vec();
    cie.extend([4, 0, 8, 0, 1, 0x78, 16, 0x0c, 7, 8, 0x90, 1]);
    let mut out = vec![0xff; 4];
    out.extend((cie.len() as u64).to_le_bytes());
    out.extend(&cie);
    let mut fde = 0u64.to_le_bytes().to_vec();
    fde.extend(0x5000u64.to_le_bytes());
    fde.extend(0x20u64.to_le_bytes());
    fde.extend([0x44, 0x0e, 32]);
    out.extend([0xff; 4]);
    out.extend((fde.len() as u64).to_le_bytes());
    out.extend(&fde);
    let sections = Sections {
        debug_frame: Some(&out),
        ..Sections::default()
    };
    let t = UnwindTable::new(Arch::X86_64, &sections).unwrap();
    assert_eq!(t.fde_count(), 1);
    assert_eq!(
        t.row(0x5003).unwrap().cfa,
        Cfa::RegOffset { reg: 7, offset: 8 }
    );
    assert_eq!(
        t.row(0x5004).unwrap().cfa,
        Cfa::RegOffset { reg: 7, offset: 32 }
    );
    assert!(t.row(0x5020).is_none());
}
