//! Signal frames: a signal's return trampoline (its code, whose return address a handler's
//! frame holds) and the registers of the code the signal interrupted, from the frame the
//! kernel left on the stack, for trampolines without call-frame information: musl's, and on
//! AArch64 the vdso's.

use std::rc::Rc;

use super::cfi::Regs;
use super::stack::{NativeFrame, ARCH};
use crate::memory::Memory;

/// Names the last frame, a signal's return trampoline at `offset`, as gdb does: the code it
/// leads back to was interrupted by a signal whose handler is the frame inner of it.
pub fn mark_trampoline(frames: &mut [NativeFrame], offset: u64) {
    if let Some(last) = frames.last_mut() {
        last.offset = offset;
        last.function = Some((Rc::from("<signal handler called>"), 0));
    }
}

/// x86-64's rt_sigreturn trampoline: `mov $15, %rax; syscall` (musl's `__restore_rt`).
#[cfg(target_arch = "x86_64")]
const SIGRETURN: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];
/// AArch64's: `mov x8, #139; svc #0` (musl's `__restore_rt`, the vdso's
/// `__kernel_rt_sigreturn`).
#[cfg(target_arch = "aarch64")]
const SIGRETURN: [u8; 8] = [0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4];

/// Whether the code at `pc` is the rt_sigreturn trampoline (its bytes, read from the process).
pub fn sigreturn_at(mem: &dyn Memory, pc: u64) -> bool {
    let mut code = [0u8; SIGRETURN.len()];
    mem.read(pc, &mut code).is_ok() && code == SIGRETURN
}

/// The interrupted code's registers, from the `ucontext_t` at the trampoline's sp: after
/// uc_flags, uc_link and uc_stack (40 bytes), `struct sigcontext`'s r8-r15, rdi, rsi, rbp,
/// rbx, rdx, rax, rcx, rsp, rip (x86-64).
#[cfg(target_arch = "x86_64")]
pub fn sigreturn_caller(regs: &Regs, read: &dyn Fn(u64) -> Option<u64>) -> Option<Regs> {
    // DWARF numbers (rax rdx rcx rbx rsi rdi rbp rsp r8-r15) as sigcontext words.
    const WORD: [u64; 16] = [13, 12, 14, 11, 9, 8, 10, 15, 0, 1, 2, 3, 4, 5, 6, 7];
    let mcontext = regs.sp()?.checked_add(40)?;
    let word = |i: u64| read(mcontext.checked_add(8 * i)?);
    let mut caller = Regs::new(ARCH, word(16)?, word(15)?, word(10)?);
    for (reg, &i) in WORD.iter().enumerate() {
        caller.set(reg as u16, word(i));
    }
    Some(caller)
}

/// The interrupted code's registers, from the `struct rt_sigframe` at the trampoline's sp
/// (AArch64): `siginfo_t` (128 bytes), then the `ucontext_t`, whose `struct sigcontext` is at
/// 176 (uc_flags, uc_link, uc_stack, and uc_sigmask padded to 1024 bits: 168, aligned to 16):
/// fault_address, x0-x30, sp, pc.
#[cfg(target_arch = "aarch64")]
pub fn sigreturn_caller(regs: &Regs, read: &dyn Fn(u64) -> Option<u64>) -> Option<Regs> {
    let x0 = regs.sp()?.checked_add(128 + 176 + 8)?;
    let word = |i: u64| read(x0.checked_add(8 * i)?);
    let mut caller = Regs::new(ARCH, word(32)?, word(31)?, word(29)?);
    for reg in 0..31u16 {
        caller.set(reg, word(u64::from(reg)));
    }
    Some(caller)
}
