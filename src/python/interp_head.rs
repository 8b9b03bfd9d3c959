//! Where `interp_head` is in 2.x to 3.6, whose runtime has no `_PyRuntime`: its `.symtab`
//! entry, or, in a stripped build, the address `PyInterpreterState_Head()` loads (x86-64
//! machine code decoded, its only architecture-specific part).

use super::{Object, HEAD_FN};

/// `&interp_head` (2.x to 3.6): from `.symtab`, or, when stripped, decoded from the body of
/// `PyInterpreterState_Head()`, which is `[endbr64] mov interp_head(%rip),%rax; ret`.
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
    let vaddr = decode_rip_load(&code, func)?;
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
}
