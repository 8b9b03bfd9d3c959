//! Malformed and hostile call-frame information: truncated entries, lengths past the section,
//! remember_state loops, enormous advances, endless expressions. Each gives an error or None;
//! nothing panics, hangs, or allocates what the input asks for.

use super::expr::evaluate;
use super::tests::{cie, eh_frame, table, EH_ADDR, X86_CIE};
use super::*;

/// A section with one FDE at 0x1000..0x1100 running `instructions`.
fn with_fde(instructions: &[u8]) -> Vec<u8> {
    eh_frame(&cie(16, 1, &X86_CIE), &[(0x1000, 0x100, instructions)])
}

/// Every query on `bytes` returns; the results do not matter.
fn query_all(bytes: &[u8]) {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let Ok(t) = table(arch, bytes) else {
            continue;
        };
        for pc in [0, 0xfff, 0x1000, 0x1001, 0x1050, 0x10ff, 0x1100, u64::MAX] {
            if let Ok(row) = t.find_row(pc) {
                assert!(row.start <= pc && pc < row.end);
                let regs = Regs::new(arch, pc, 0x7000, 0x7100);
                let _ = step(&row, &regs, |a| Some(a ^ 0x55));
            }
        }
    }
}

#[test]
fn every_truncation_and_corruption_returns() {
    let fde = [
        0x41, 0x0e, 16, 0x86, 2, 0x0a, 0x43, 0x0d, 6, 0x0b, 0x0f, 2, 0x77, 8,
    ];
    let bytes = with_fde(&fde);
    for len in 0..bytes.len() {
        query_all(&bytes[..len]);
    }
    for i in 0..bytes.len() {
        for v in [0x00, 0x7f, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] = v;
            query_all(&b);
        }
    }
}

#[test]
fn a_truncated_cie_is_an_error() {
    let bytes = with_fde(&[]);
    // Cut the CIE's length to 6: its augmentation string runs past it.
    let mut cut = bytes.clone();
    cut[..4].copy_from_slice(&6u32.to_le_bytes());
    let t = table(Arch::X86_64, &cut).unwrap();
    assert!(t.find_row(0x1000).is_err());
    assert_eq!(t.fde_count(), 0);
}

#[test]
fn lengths_past_the_section_are_errors() {
    let bytes = with_fde(&[]);
    let fde_at = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize + 4;
    for length in [0xffff_fff0u32, 0x7fff_ffff, 0xffff_ffff] {
        let mut b = bytes.clone();
        b[fde_at..fde_at + 4].copy_from_slice(&length.to_le_bytes());
        let t = table(Arch::X86_64, &b).unwrap();
        assert_eq!(t.fde_count(), 0);
        assert!(t.row(0x1000).is_none());
    }
    // A 64-bit length of 2^64 - 1.
    let mut b = bytes[..fde_at].to_vec();
    b.extend([0xff; 12]);
    assert_eq!(table(Arch::X86_64, &b).unwrap().fde_count(), 0);
}

#[test]
fn a_remember_state_loop_hits_the_depth_cap() {
    let t = table(Arch::X86_64, &with_fde(&[0x0a; 200])).unwrap();
    assert_eq!(
        t.find_row(0x1000),
        Err(CfiError::Limit("DW_CFA_remember_state depth"))
    );
    // Exactly the cap is fine; restoring more than was remembered is not.
    let t = table(Arch::X86_64, &with_fde(&[0x0a; MAX_REMEMBERED])).unwrap();
    assert!(t.row(0x1000).is_some());
    let t = table(Arch::X86_64, &with_fde(&[0x0a, 0x0b, 0x0b])).unwrap();
    assert!(matches!(t.find_row(0x1000), Err(CfiError::Malformed(_))));
}

#[test]
fn remember_state_keeps_the_cfa() {
    // remember; def_cfa_offset 32; advance 4; restore_state: back to rsp + 8.
    let t = table(Arch::X86_64, &with_fde(&[0x0a, 0x0e, 32, 0x44, 0x0b])).unwrap();
    assert_eq!(
        t.row(0x1002).unwrap().cfa,
        Cfa::RegOffset { reg: 7, offset: 32 }
    );
    assert_eq!(
        t.row(0x1004).unwrap().cfa,
        Cfa::RegOffset { reg: 7, offset: 8 }
    );
}

#[test]
fn enormous_advances_end_the_row_or_fail() {
    // advance_loc4 by 2^32 - 1: past the FDE, so the first row holds to its end.
    let t = table(
        Arch::X86_64,
        &with_fde(&[0x04, 0xff, 0xff, 0xff, 0xff, 0x0e, 64]),
    )
    .unwrap();
    let row = t.row(0x10ff).unwrap();
    assert_eq!(
        (row.end, row.cfa),
        (0x1100, Cfa::RegOffset { reg: 7, offset: 8 })
    );
    // A code alignment of 2^62 makes the same advance overflow the address space.
    let mut c = vec![
        0, 0, 0, 0, 1, b'z', b'R', 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40,
    ];
    c.extend([0x78, 16, 1, 0x1b, 0x0c, 7, 8]);
    let bytes = eh_frame(
        &super::tests::framed(c),
        &[(0x1000, 0x100, &[0x04, 0xff, 0xff, 0xff, 0xff])],
    );
    let t = table(Arch::X86_64, &bytes).unwrap();
    assert!(matches!(t.find_row(0x1000), Err(CfiError::Malformed(_))));
}

#[test]
fn too_many_instructions_hit_the_cap() {
    let t = table(Arch::X86_64, &with_fde(&vec![0; MAX_INSTRUCTIONS + 8])).unwrap();
    assert_eq!(
        t.find_row(0x1000),
        Err(CfiError::Limit("CFA instructions per row"))
    );
}

#[test]
fn unknown_instructions_and_encodings_are_errors() {
    let t = table(Arch::X86_64, &with_fde(&[0x3f])).unwrap();
    assert_eq!(t.find_row(0x1000), Err(CfiError::Instruction(0x3f)));
    // An expression block longer than MAX_EXPR_LEN.
    let t = table(Arch::X86_64, &with_fde(&[0x0f, 0xff, 0xff, 0x03])).unwrap();
    assert!(matches!(t.find_row(0x1000), Err(CfiError::Limit(_))));
    // DW_EH_PE_indirect | pcrel | sdata4 as the FDE encoding: the FDE is not indexed.
    let mut c = cie(16, 1, &X86_CIE);
    c[16] = 0x9b;
    let bytes = eh_frame(&c, &[(0x1000, 0x100, &[])]);
    assert_eq!(table(Arch::X86_64, &bytes).unwrap().fde_count(), 0);
}

#[test]
fn hostile_expressions_are_bounded() {
    let regs = Regs::new(Arch::X86_64, 0x1000, 0x7000, 0);
    let mut read = |a: u64| Some(a);
    // DW_OP_skip -3: an endless loop.
    let endless = [0x30, 0x2f, 0xfd, 0xff];
    assert_eq!(
        evaluate(&endless, &regs, None, &mut read),
        Err(CfiError::Limit("DWARF expression steps"))
    );
    let deep = [0x30; MAX_EXPR_STACK + 1];
    assert_eq!(
        evaluate(&deep, &regs, None, &mut read),
        Err(CfiError::Limit("DWARF expression stack depth"))
    );
    assert!(evaluate(&[0x22], &regs, None, &mut read).is_err());
    assert!(evaluate(&[], &regs, None, &mut read).is_err());
    assert!(evaluate(&[0x2f, 0x10, 0x00], &regs, None, &mut read).is_err());
    assert_eq!(
        evaluate(&[0x50], &regs, None, &mut read),
        Err(CfiError::Operation(0x50))
    );
    assert!(evaluate(&[0x77], &regs, None, &mut read).is_err());
    // Unknown registers and unreadable memory.
    assert!(evaluate(&[0x73, 0], &regs, None, &mut read).is_err());
    assert!(evaluate(&[0x77, 0, 0x06], &regs, None, &mut |_| None).is_err());
    // Stack operations, comparisons (signed) and the initial value.
    let ops = [
        0x31, 0x32, 0x14, 0x16, 0x13, 0x1c, 0x12, 0x22, 0x15, 1, 0x2d,
    ];
    assert_eq!(evaluate(&ops, &regs, Some(5), &mut read), Ok(1));
    assert_eq!(
        evaluate(&[0x11, 0x7f, 0x30, 0x2d], &regs, None, &mut read),
        Ok(1)
    );
    assert_eq!(
        evaluate(&[0x23, 4, 0x06], &regs, Some(0x10), &mut read),
        Ok(0x14)
    );
}

#[test]
fn a_bad_eh_frame_hdr_is_ignored_or_refused() {
    let bytes = with_fde(&[]);
    let eh = SectionData {
        bytes: &bytes,
        addr: EH_ADDR,
    };
    let hdr_addr = 0x3000u64;
    let eh_ptr = (EH_ADDR - (hdr_addr + 4)) as u32;
    let mut hdr = vec![1, 0x1b, 0x03, 0x3b];
    hdr.extend(eh_ptr.to_le_bytes());
    hdr.extend(1000u32.to_le_bytes());
    // One entry: 0x1000 at an FDE address far outside .eh_frame.
    hdr.extend((0x1000u32.wrapping_sub(hdr_addr as u32)).to_le_bytes());
    hdr.extend(0x7fff_0000u32.to_le_bytes());
    let sections = Sections {
        eh_frame: Some(eh),
        eh_frame_hdr: Some(SectionData {
            bytes: &hdr,
            addr: hdr_addr,
        }),
        debug_frame: None,
    };
    let t = UnwindTable::new(Arch::X86_64, &sections).unwrap();
    assert!(t.uses_eh_frame_hdr());
    assert_eq!(t.fde_count(), 1, "the count is capped by the table's bytes");
    assert!(t.find_row(0x1000).is_err());
    assert!(t.find_row(0xfff).is_err());
    // A wrong version or an eh_frame_ptr elsewhere: the FDEs are indexed instead.
    for (i, v) in [(0, 2u8), (4, 0)] {
        let mut h = hdr.clone();
        h[i] = v;
        let sections = Sections {
            eh_frame_hdr: Some(SectionData {
                bytes: &h,
                addr: hdr_addr,
            }),
            ..sections
        };
        let t = UnwindTable::new(Arch::X86_64, &sections).unwrap();
        assert!(!t.uses_eh_frame_hdr());
        assert!(t.row(0x1000).is_some());
    }
}
