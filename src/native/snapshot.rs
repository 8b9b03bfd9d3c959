//! A stopped thread's snapshot: its registers, as the unwinder numbers them, and its stack
//! from the stack pointer up, taken while it is stopped and unwound once it runs again.

use super::cfi::Regs;
use super::stack::{ARCH, STACK_WINDOW};
use crate::memory::Memory;
use crate::proc;
use crate::sys::ptrace;

/// The registers of stopped thread `tid`, as the unwinder numbers them.
pub fn registers(tid: i32) -> std::io::Result<Regs> {
    let mut words = [0u64; 40];
    let n = ptrace::regset(tid, &mut words)?;
    let words = &words[..n.min(words.len())];
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    #[cfg(target_arch = "x86_64")]
    let regs = {
        // struct user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi
        // orig_rax rip cs eflags rsp ...; DWARF numbers rax rdx rcx rbx rsi rdi rbp rsp r8-r15.
        const DWARF: [usize; 16] = [10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0];
        let mut regs = Regs::new(ARCH, word(16), word(19), word(4));
        for (reg, &i) in DWARF.iter().enumerate() {
            regs.set(reg as u16, Some(word(i)));
        }
        regs
    };
    #[cfg(target_arch = "aarch64")]
    let regs = {
        // struct user_pt_regs: x0-x30, sp, pc, pstate; DWARF numbers x0-x30, sp.
        let mut regs = Regs::new(ARCH, word(32), word(31), word(29));
        for reg in 0..31 {
            regs.set(reg as u16, Some(word(reg)));
        }
        regs
    };
    Ok(regs)
}

/// What a stopped thread's machine stack is unwound from once the thread runs again: its
/// registers, the stack from its stack pointer up, and the system call it is in.
pub struct Snapshot {
    pub(super) regs: Regs,
    /// The stack from the stack pointer up.
    pub(super) window: Vec<u8>,
    /// The system call number (/proc/PID/task/TID/syscall), when the thread is in one and
    /// it was asked for.
    pub syscall: Option<u64>,
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot {
            regs: Regs::new(ARCH, 0, 0, 0),
            window: Vec::new(),
            syscall: None,
        }
    }

    /// Takes the snapshot of stopped thread `tid` of process `pid`, with `window` bytes of
    /// its stack at most (reusing this one's memory), and its system call if `syscall`.
    pub fn take(
        &mut self,
        (pid, tid): (i32, i32),
        mem: &dyn Memory,
        window: usize,
        syscall: bool,
    ) -> std::io::Result<()> {
        self.regs = registers(tid)?;
        self.window.resize(window.min(STACK_WINDOW), 0);
        let sp = self.regs.sp().unwrap_or(0);
        let got = mem.read_prefix(sp, &mut self.window).unwrap_or(0);
        self.window.truncate(got);
        self.syscall = syscall
            .then(|| proc::task_syscall(pid, tid).or_else(|| restarting(mem, &self.regs)))
            .flatten();
        Ok(())
    }
}

/// The system call a stopped thread will restart, where /proc does not say: an AArch64
/// thread stopped while in one is no longer in it (the kernel forgot the call and put its pc
/// back on the `svc #0`, to make it again once the thread runs), but x8 still holds its number.
#[cfg(target_arch = "aarch64")]
fn restarting(mem: &dyn Memory, regs: &Regs) -> Option<u64> {
    const SVC_0: [u8; 4] = [0x01, 0x00, 0x00, 0xd4];
    let mut code = [0u8; 4];
    mem.read(regs.pc, &mut code).ok()?;
    regs.get(8).filter(|_| code == SVC_0)
}

/// x86-64's kernel keeps the call's number (orig_rax) for /proc while the thread is stopped.
#[cfg(not(target_arch = "aarch64"))]
fn restarting(_: &dyn Memory, _: &Regs) -> Option<u64> {
    None
}
