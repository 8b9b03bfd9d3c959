//! One unwind step: from a frame's registers and its row to the caller's registers (DWARF 5
//! §6.4.1: the CFA is the caller's stack pointer, the return-address column its pc); and the
//! frame-pointer chain, for code without call-frame information.

use super::expr::evaluate;
use super::{Arch, Cfa, Regs, Row, Rule, NREGS};

/// AArch64 return addresses signed with pointer authentication keep the address in the low
/// 48 bits (Linux user space, 48-bit virtual addresses); the PAC (and a tag) sit above.
pub const AARCH64_VA_MASK: u64 = (1 << 48) - 1;

/// The caller's registers, or None when a value the step needs cannot be computed (unknown
/// register, unreadable memory, a bad expression) or the return address is undefined (the
/// outermost frame; `Row::outermost` tells the two apart). The caller's pc is the return
/// address: look its row up at `pc - 1` unless the row is a signal frame.
pub fn step(row: &Row<'_>, regs: &Regs, mut read: impl FnMut(u64) -> Option<u64>) -> Option<Regs> {
    let cfa = match row.cfa {
        Cfa::RegOffset { reg, offset } => regs.get(reg)?.checked_add_signed(offset)?,
        Cfa::Expression(e) => evaluate(e, regs, None, &mut read).ok()?,
    };
    let value = |rule: Rule<'_>, reg: u16, read: &mut dyn FnMut(u64) -> Option<u64>| match rule {
        Rule::Default | Rule::SameValue => regs.get(reg),
        Rule::Undefined => None,
        Rule::Offset(off) => read(cfa.checked_add_signed(off)?),
        Rule::ValOffset(off) => cfa.checked_add_signed(off),
        Rule::Register(other) => regs.get(other),
        Rule::Expression(e) => {
            let addr = evaluate(e, regs, Some(cfa), read).ok()?;
            read(addr)
        }
        Rule::ValExpression(e) => evaluate(e, regs, Some(cfa), read).ok(),
    };
    let ra_rule = row.rule(row.ra);
    if ra_rule == Rule::Undefined {
        return None;
    }
    let mut pc = value(ra_rule, row.ra, &mut read)?;
    // Signed or not (a PAC left by a frame whose row says unsigned, a tagged pointer), a
    // user-space return address is below 2^48.
    if row.arch == Arch::Aarch64 {
        pc &= AARCH64_VA_MASK;
    }
    let mut caller = Regs::new(row.arch, pc, cfa, 0);
    let sp = row.arch.sp();
    for reg in (0..NREGS as u16).filter(|&r| r != sp && Some(r) != row.arch.pc()) {
        // A register the caller does not need may fail to unwind; only the pc must not.
        caller.set(reg, value(row.rule(reg), reg, &mut read));
    }
    match row.rule(sp) {
        Rule::Default | Rule::SameValue => {}
        rule => caller.set(sp, Some(value(rule, sp, &mut read)?)),
    }
    Some(caller)
}

/// The frame-pointer chain: x86-64 `push rbp; mov rbp, rsp` leaves the caller's rbp at [rbp]
/// and the return address at [rbp + 8], the caller's rsp is rbp + 16; AArch64's frame record
/// is x29 = [x29], x30 = [x29 + 8], and sp = x29 + 16. None for a null or misaligned fp.
pub fn step_fp(regs: &Regs, mut read: impl FnMut(u64) -> Option<u64>) -> Option<Regs> {
    let fp = regs.fp().filter(|&fp| fp != 0 && fp % 8 == 0)?;
    let caller_fp = read(fp)?;
    let mut ra = read(fp.checked_add(8)?)?;
    // A frame record's saved x30 is signed where the code uses pointer authentication.
    if regs.arch == Arch::Aarch64 {
        ra &= AARCH64_VA_MASK;
    }
    let mut caller = Regs::new(regs.arch, ra, fp.checked_add(16)?, caller_fp);
    if regs.arch == Arch::Aarch64 {
        caller.set(30, Some(ra));
    }
    Some(caller)
}
