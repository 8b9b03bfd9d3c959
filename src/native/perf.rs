//! CPython's perf trampolines (`python -X perf`, `PYTHONPERFSUPPORT=1`, 3.12 and later): one
//! copy of a few instructions per code object, in anonymous memory, between each evaluation
//! and its caller, so that `perf` can name Python functions. No object file holds them and
//! they have no call-frame information, so a return address into one is stepped by the
//! epilogue it returns to: the instructions after the call, each a form CPython has used.

use super::cfi::{Arch, Regs};
use crate::memory::Memory;

/// The name the frames get (CPython's for the code copied).
pub const FUNCTION: &str = "_Py_trampoline_func_start";

/// An epilogue a trampoline's call returns to, and what it restores from the stack (at sp).
struct Epilogue {
    code: &'static [u8],
    /// The frame pointer, from [sp] (else the trampoline left it alone).
    fp_at_sp: bool,
    /// The return address's offset from sp; the caller's sp is sp + 16.
    ra_at: u64,
}

/// x86-64: `add $8, %rsp; ret` (3.12's `sub $8, %rsp; call *%rcx`), and `pop %rbp; ret`
/// (later: `push %rbp; mov %rsp, %rbp; call *%rcx`).
const X86_64: [Epilogue; 2] = [
    Epilogue {
        code: &[0x48, 0x83, 0xc4, 0x08, 0xc3],
        fp_at_sp: false,
        ra_at: 8,
    },
    Epilogue {
        code: &[0x5d, 0xc3],
        fp_at_sp: true,
        ra_at: 8,
    },
];

/// AArch64: `ldp x29, x30, [sp], #16; ret` (after `stp x29, x30, [sp, #-16]!; mov x29, sp;
/// blr x3`), and `ldr x30, [sp], #16; ret`.
const AARCH64: [Epilogue; 2] = [
    Epilogue {
        code: &[0xfd, 0x7b, 0xc1, 0xa8, 0xc0, 0x03, 0x5f, 0xd6],
        fp_at_sp: true,
        ra_at: 8,
    },
    Epilogue {
        code: &[0xfe, 0x07, 0x41, 0xf8, 0xc0, 0x03, 0x5f, 0xd6],
        fp_at_sp: false,
        ra_at: 0,
    },
];

/// The caller of a trampoline frame whose pc (a return address, in no object) is at one of
/// the epilogues; None if the code there is none of them or the stack cannot be read. Every
/// other register is the trampoline's caller's too (it touches none).
pub fn step(mem: &dyn Memory, regs: &Regs, read: &dyn Fn(u64) -> Option<u64>) -> Option<Regs> {
    // The last trampoline of a mapping may end fewer than 8 bytes before it does.
    let mut code = [0u8; 8];
    let got = mem.read_prefix(regs.pc, &mut code).ok()?;
    let epilogues = match regs.arch {
        Arch::X86_64 => &X86_64,
        Arch::Aarch64 => &AARCH64,
    };
    let e = epilogues.iter().find(|e| code[..got].starts_with(e.code))?;
    let sp = regs.sp()?;
    let mut ra = read(sp.checked_add(e.ra_at)?)?;
    if regs.arch == Arch::Aarch64 {
        ra &= super::cfi::AARCH64_VA_MASK;
    }
    let mut caller = *regs;
    caller.pc = ra;
    caller.set(regs.arch.sp(), Some(sp.checked_add(16)?));
    if e.fp_at_sp {
        caller.set(regs.arch.fp(), Some(read(sp)?));
    }
    if regs.arch == Arch::Aarch64 {
        caller.set(30, Some(ra));
    }
    Some(caller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::FakeMemory;

    /// A stack at 0x1000 holding a saved frame pointer and a return address, and each epilogue
    /// at 0x500: the caller's pc, sp and frame pointer as the epilogue would leave them.
    #[test]
    fn steps_each_epilogue() {
        for (arch, epilogues) in [(Arch::X86_64, &X86_64), (Arch::Aarch64, &AARCH64)] {
            for e in epilogues {
                let mut mem = FakeMemory::default();
                mem.write(0x500, e.code);
                let words = [0x7000u64, 0x4242, 0x9999];
                let stack: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                mem.write(0x1000, &stack);
                let read = |a: u64| mem.u64(a).ok();
                let mut regs = Regs::new(arch, 0x500, 0x1000, 0x2222);
                regs.set(3, Some(33));
                let caller = step(&mem, &regs, &read).expect("a step");
                assert_eq!(caller.pc, if e.ra_at == 8 { 0x4242 } else { 0x7000 });
                assert_eq!(caller.sp(), Some(0x1010));
                assert_eq!(caller.fp(), Some(if e.fp_at_sp { 0x7000 } else { 0x2222 }));
                assert_eq!(caller.get(3), Some(33), "other registers are kept");
            }
        }
    }

    #[test]
    fn other_code_is_no_trampoline() {
        let mut mem = FakeMemory::default();
        mem.write(0x500, &[0x5d, 0x90, 0xc3]); // pop %rbp; nop; ret
        mem.write(0x600, &[0x5d, 0xc3]); // an epilogue, where its region ends
        mem.write(0x1000, &[0; 32]);
        let read = |a: u64| mem.u64(a).ok();
        let step_at = |pc, sp| step(&mem, &Regs::new(Arch::X86_64, pc, sp, 0), &read);
        assert_eq!(step_at(0x500, 0x1000), None);
        assert_eq!(step_at(0x9000, 0x1000), None, "unreadable code");
        assert_eq!(step_at(0x600, 0x8000), None, "unreadable stack");
        assert!(
            step_at(0x600, 0x1000).is_some(),
            "an epilogue where memory ends"
        );
    }
}
