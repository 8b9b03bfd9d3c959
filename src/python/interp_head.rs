//! Where `interp_head` is in 2.x to 3.6, whose runtime has no `_PyRuntime`: its `.symtab`
//! entry, or, in a stripped build, the address `PyInterpreterState_Head()` loads (its machine
//! code decoded: x86-64's `mov` or AArch64's `adrp` and `ldr`, for the machine pyflame is
//! built for).

use super::{Object, HEAD_FN};

/// `&interp_head` (2.x to 3.6): from `.symtab`, or, when stripped, decoded from the body of
/// `PyInterpreterState_Head()`: `[endbr64] mov interp_head(%rip),%rax; ret` on x86-64,
/// `[bti c] adrp x0, interp_head; ldr x0, [x0, #:lo12:interp_head]; ret` on AArch64.
pub(super) fn interp_head(object: &Object) -> Option<u64> {
    use crate::elf::Source;
    if let Ok(found) = object.elf.lookup(&object.file, &["interp_head"]) {
        if let Some(sym) = found[0] {
            return Some(object.bias.wrapping_add(sym.value));
        }
    }
    let func = object.symbols[HEAD_FN]?.value;
    let mut code = [0u8; 16];
    object
        .file
        .read_exact_at(&mut code, object.elf.vaddr_to_offset(func)?)
        .ok()?;
    #[cfg(target_arch = "x86_64")]
    let vaddr = decode_rip_load(&code, func)?;
    #[cfg(target_arch = "aarch64")]
    let vaddr = decode_adrp_ldr(&code, func)?;
    // It must point into a writable segment (.data or .bss).
    let writable = object.elf.segments.iter().any(|s| {
        s.p_type == crate::elf::PT_LOAD
            && s.p_flags & 2 != 0
            && (s.p_vaddr..s.p_vaddr.saturating_add(s.p_memsz)).contains(&vaddr)
    });
    writable.then(|| object.bias.wrapping_add(vaddr))
}

/// The address loaded by `mov disp32(%rip),%rax; ret` at the start of `code` (which sits at
/// `vaddr`), after an optional `endbr64`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn decode_rip_load(code: &[u8], vaddr: u64) -> Option<u64> {
    let (code, vaddr) = match code.strip_prefix(&[0xf3, 0x0f, 0x1e, 0xfa]) {
        Some(rest) => (rest, vaddr.wrapping_add(4)),
        None => (code, vaddr),
    };
    if code.get(..3)? != [0x48, 0x8b, 0x05] || *code.get(7)? != 0xc3 {
        return None;
    }
    let disp = i32::from_le_bytes(code.get(3..7)?.try_into().ok()?);
    Some(vaddr.wrapping_add(7).wrapping_add(disp as i64 as u64))
}

/// The address loaded by `adrp x0, PAGE; ldr x0, [x0, #OFF]; ret` at the start of `code`
/// (which sits at `vaddr`), after an optional `bti c` (Arm ARM: ADRP, LDR (immediate,
/// unsigned offset), RET).
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
fn decode_adrp_ldr(code: &[u8], vaddr: u64) -> Option<u64> {
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            code.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    const BTI_C: u32 = 0xd503_245f;
    const RET: u32 = 0xd65f_03c0;
    let first = usize::from(word(0)? == BTI_C);
    let (adrp, ldr, ret) = (word(first)?, word(first + 1)?, word(first + 2)?);
    let pc = vaddr.wrapping_add(4 * first as u64);
    // ADRP x0: op=1, bits 28..24 = 10000, Rd = 0; immlo in 30..29, immhi in 23..5.
    if adrp & 0x9f00_001f != 0x9000_0000 || ret != RET {
        return None;
    }
    // LDR x0, [x0, #imm12 * 8]: 0xf9400000 | imm12 << 10 | Rn << 5 | Rt.
    if ldr & 0xffc0_03ff != 0xf940_0000 {
        return None;
    }
    let imm = (((adrp >> 5) & 0x7_ffff) << 2 | ((adrp >> 29) & 3)) as u64;
    // 21 bits, signed, in pages.
    let pages = ((imm << 43) as i64 >> 43) as u64;
    let page = (pc & !0xfff).wrapping_add(pages << 12);
    Some(page.wrapping_add((((ldr >> 10) & 0xfff) as u64) * 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_py_interpreter_state_head() {
        // 2.7.18 as measured: PyInterpreterState_Head at 0x116e00, interp_head at 0x1f76d0.
        let code = [0x48, 0x8b, 0x05, 0xc9, 0x08, 0x0e, 0x00, 0xc3];
        assert_eq!(decode_rip_load(&code, 0x116e00), Some(0x1f76d0));
        let with_endbr = [
            0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8b, 0x05, 0xc5, 0x08, 0x0e, 0x00, 0xc3,
        ];
        assert_eq!(decode_rip_load(&with_endbr, 0x116e00), Some(0x1f76d0));
        // Anything else (a function with a prologue, a truncated body) is refused.
        assert_eq!(decode_rip_load(&[0x55, 0x48, 0x89, 0xe5], 0x1000), None);
        assert_eq!(
            decode_rip_load(&[0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x90], 0x1000),
            None
        );
        assert_eq!(decode_rip_load(&[0x48, 0x8b], 0x1000), None);
    }

    #[test]
    fn decodes_adrp_ldr() {
        // adrp x0, 0x4a0000 at 0x412340 (+0x8e pages); ldr x0, [x0, #0x1a8]; ret.
        let adrp: u32 = 0x9000_0000 | ((0x8e & 3) << 29) | ((0x8e >> 2) << 5);
        let ldr: u32 = 0xf940_0000 | ((0x1a8 / 8) << 10);
        let words = |w: &[u32]| w.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        let code = words(&[adrp, ldr, 0xd65f_03c0]);
        assert_eq!(decode_adrp_ldr(&code, 0x412340), Some(0x4a01a8));
        let with_bti = words(&[0xd503_245f, adrp, ldr, 0xd65f_03c0]);
        assert_eq!(decode_adrp_ldr(&with_bti, 0x41233c), Some(0x4a01a8));
        // A page below the pc: -2 pages.
        let back: u32 = 0x9000_0000 | ((0x1f_fffe & 3) << 29) | ((0x1f_fffe >> 2) << 5);
        let code = words(&[back, 0xf940_0000, 0xd65f_03c0]);
        assert_eq!(decode_adrp_ldr(&code, 0x412340), Some(0x410000));
        // Another register, a missing ret, a truncated body: refused.
        assert_eq!(
            decode_adrp_ldr(&words(&[adrp | 1, ldr, 0xd65f_03c0]), 0),
            None
        );
        assert_eq!(decode_adrp_ldr(&words(&[adrp, ldr, 0xd503_201f]), 0), None);
        assert_eq!(decode_adrp_ldr(&words(&[adrp, ldr]), 0), None);
    }
}
