//! DWARF expressions (DWARF 5 §2.5) as call-frame information uses them: the PLT's CFA
//! expression, glibc's `__restore_rt` register rules, and the stack and arithmetic operations
//! around them. Bounded by `MAX_EXPR_LEN`, `MAX_EXPR_STEPS` and `MAX_EXPR_STACK`.

use super::read::Reader;
use super::{CfiError, Regs, MAX_EXPR_LEN, MAX_EXPR_STACK, MAX_EXPR_STEPS};

const DW_OP_ADDR: u8 = 0x03;
const DW_OP_DEREF: u8 = 0x06;
const DW_OP_CONST1U: u8 = 0x08;
const DW_OP_CONST1S: u8 = 0x09;
const DW_OP_CONST2U: u8 = 0x0a;
const DW_OP_CONST2S: u8 = 0x0b;
const DW_OP_CONST4U: u8 = 0x0c;
const DW_OP_CONST4S: u8 = 0x0d;
const DW_OP_CONST8U: u8 = 0x0e;
const DW_OP_CONST8S: u8 = 0x0f;
const DW_OP_CONSTU: u8 = 0x10;
const DW_OP_CONSTS: u8 = 0x11;
const DW_OP_DUP: u8 = 0x12;
const DW_OP_DROP: u8 = 0x13;
const DW_OP_OVER: u8 = 0x14;
const DW_OP_PICK: u8 = 0x15;
const DW_OP_SWAP: u8 = 0x16;
const DW_OP_ROT: u8 = 0x17;
const DW_OP_AND: u8 = 0x1a;
const DW_OP_MINUS: u8 = 0x1c;
const DW_OP_MUL: u8 = 0x1e;
const DW_OP_NEG: u8 = 0x1f;
const DW_OP_NOT: u8 = 0x20;
const DW_OP_OR: u8 = 0x21;
const DW_OP_PLUS: u8 = 0x22;
const DW_OP_PLUS_UCONST: u8 = 0x23;
const DW_OP_SHL: u8 = 0x24;
const DW_OP_SHR: u8 = 0x25;
const DW_OP_SHRA: u8 = 0x26;
const DW_OP_XOR: u8 = 0x27;
const DW_OP_BRA: u8 = 0x28;
const DW_OP_EQ: u8 = 0x29;
const DW_OP_GE: u8 = 0x2a;
const DW_OP_GT: u8 = 0x2b;
const DW_OP_LE: u8 = 0x2c;
const DW_OP_LT: u8 = 0x2d;
const DW_OP_NE: u8 = 0x2e;
const DW_OP_SKIP: u8 = 0x2f;
const DW_OP_LIT0: u8 = 0x30;
const DW_OP_LIT31: u8 = 0x4f;
const DW_OP_BREG0: u8 = 0x70;
const DW_OP_BREG31: u8 = 0x8f;
const DW_OP_BREGX: u8 = 0x92;
const DW_OP_DEREF_SIZE: u8 = 0x94;
const DW_OP_NOP: u8 = 0x96;

/// A bounded value stack.
struct Stack {
    vals: [u64; MAX_EXPR_STACK],
    len: usize,
}

impl Stack {
    fn push(&mut self, v: u64) -> Result<(), CfiError> {
        let slot = self.vals.get_mut(self.len);
        *slot.ok_or(CfiError::Limit("DWARF expression stack depth"))? = v;
        self.len += 1;
        Ok(())
    }
    fn pop(&mut self) -> Result<u64, CfiError> {
        self.len = self
            .len
            .checked_sub(1)
            .ok_or(CfiError::Malformed("expression stack underflow"))?;
        self.vals.get(self.len).copied().ok_or(CfiError::Truncated)
    }
    /// The entry `i` below the top (0 is the top).
    fn pick(&self, i: usize) -> Result<u64, CfiError> {
        let at = self.len.checked_sub(i.saturating_add(1));
        at.and_then(|at| self.vals.get(at).copied())
            .ok_or(CfiError::Malformed("expression stack underflow"))
    }
}

/// Evaluates `expr` over `regs` (DW_OP_breg*) and memory (`read`, 8-byte words), with
/// `initial` pushed first (the CFA, for register rules); the value on top at the end.
pub fn evaluate(
    expr: &[u8],
    regs: &Regs,
    initial: Option<u64>,
    read: &mut dyn FnMut(u64) -> Option<u64>,
) -> Result<u64, CfiError> {
    if expr.len() > MAX_EXPR_LEN {
        return Err(CfiError::Limit("DWARF expression length"));
    }
    let mut s = Stack {
        vals: [0; MAX_EXPR_STACK],
        len: 0,
    };
    if let Some(v) = initial {
        s.push(v)?;
    }
    let mut r = Reader::new(expr, 0, expr.len());
    let mut steps = 0;
    while !r.at_end() {
        steps += 1;
        if steps > MAX_EXPR_STEPS {
            return Err(CfiError::Limit("DWARF expression steps"));
        }
        let op = r.u8()?;
        match op {
            DW_OP_LIT0..=DW_OP_LIT31 => s.push(u64::from(op - DW_OP_LIT0))?,
            DW_OP_BREG0..=DW_OP_BREG31 => {
                let base = register(regs, u16::from(op - DW_OP_BREG0))?;
                s.push(base.wrapping_add(r.sleb()? as u64))?;
            }
            DW_OP_BREGX => {
                let base = register(regs, r.reg()?)?;
                s.push(base.wrapping_add(r.sleb()? as u64))?;
            }
            DW_OP_ADDR | DW_OP_CONST8U | DW_OP_CONST8S => s.push(r.u64()?)?,
            DW_OP_CONST1U => s.push(u64::from(r.u8()?))?,
            DW_OP_CONST1S => s.push(r.u8()? as i8 as u64)?,
            DW_OP_CONST2U => s.push(u64::from(r.u16()?))?,
            DW_OP_CONST2S => s.push(r.u16()? as i16 as u64)?,
            DW_OP_CONST4U => s.push(u64::from(r.u32()?))?,
            DW_OP_CONST4S => s.push(r.u32()? as i32 as u64)?,
            DW_OP_CONSTU => s.push(r.uleb()?)?,
            DW_OP_CONSTS => s.push(r.sleb()? as u64)?,
            DW_OP_DEREF => {
                let addr = s.pop()?;
                s.push(read(addr).ok_or(CfiError::Malformed("expression reads unmapped memory"))?)?;
            }
            DW_OP_DEREF_SIZE => {
                let size = r.u8()?;
                let addr = s.pop()?;
                let word =
                    read(addr).ok_or(CfiError::Malformed("expression reads unmapped memory"))?;
                let v = match size {
                    1..=7 => word & ((1u64 << (8 * u32::from(size))) - 1),
                    8 => word,
                    _ => return Err(CfiError::Malformed("DW_OP_deref_size size")),
                };
                s.push(v)?;
            }
            DW_OP_DUP => s.push(s.pick(0)?)?,
            DW_OP_DROP => {
                s.pop()?;
            }
            DW_OP_OVER => s.push(s.pick(1)?)?,
            DW_OP_PICK => {
                let i = usize::from(r.u8()?);
                s.push(s.pick(i)?)?;
            }
            DW_OP_SWAP => {
                let (a, b) = (s.pop()?, s.pop()?);
                s.push(a)?;
                s.push(b)?;
            }
            DW_OP_ROT => {
                let (a, b, c) = (s.pop()?, s.pop()?, s.pop()?);
                s.push(a)?;
                s.push(c)?;
                s.push(b)?;
            }
            DW_OP_NEG => {
                let a = s.pop()?;
                s.push((a as i64).wrapping_neg() as u64)?;
            }
            DW_OP_NOT => {
                let a = s.pop()?;
                s.push(!a)?;
            }
            DW_OP_PLUS_UCONST => {
                let a = s.pop()?;
                s.push(a.wrapping_add(r.uleb()?))?;
            }
            DW_OP_AND
            | DW_OP_MINUS
            | DW_OP_MUL
            | DW_OP_OR
            | DW_OP_PLUS
            | DW_OP_SHL
            | DW_OP_SHR
            | DW_OP_SHRA
            | DW_OP_XOR
            | DW_OP_EQ..=DW_OP_NE => {
                let b = s.pop()?;
                let a = s.pop()?;
                s.push(binary(op, a, b))?;
            }
            DW_OP_SKIP | DW_OP_BRA => {
                let delta = r.u16()? as i16;
                if op == DW_OP_BRA && s.pop()? == 0 {
                    continue;
                }
                let to = r.pos.checked_add_signed(isize::from(delta));
                match to {
                    Some(to) if to <= expr.len() => r = Reader::new(expr, to, expr.len()),
                    _ => return Err(CfiError::Malformed("branch outside the expression")),
                }
            }
            DW_OP_NOP => {}
            _ => return Err(CfiError::Operation(op)),
        }
    }
    s.pick(0)
}

fn register(regs: &Regs, reg: u16) -> Result<u64, CfiError> {
    regs.get(reg)
        .ok_or(CfiError::Malformed("expression reads an unknown register"))
}

/// `a op b` for the two-operand operations; comparisons are signed (DWARF 5 §2.5.1.4).
fn binary(op: u8, a: u64, b: u64) -> u64 {
    let (sa, sb) = (a as i64, b as i64);
    let shift = u32::try_from(b).unwrap_or(u32::MAX);
    match op {
        DW_OP_AND => a & b,
        DW_OP_MINUS => a.wrapping_sub(b),
        DW_OP_MUL => a.wrapping_mul(b),
        DW_OP_OR => a | b,
        DW_OP_PLUS => a.wrapping_add(b),
        DW_OP_SHL => a.checked_shl(shift).unwrap_or(0),
        DW_OP_SHR => a.checked_shr(shift).unwrap_or(0),
        DW_OP_SHRA => sa.checked_shr(shift).unwrap_or(if sa < 0 { -1 } else { 0 }) as u64,
        DW_OP_XOR => a ^ b,
        DW_OP_EQ => u64::from(sa == sb),
        DW_OP_GE => u64::from(sa >= sb),
        DW_OP_GT => u64::from(sa > sb),
        DW_OP_LE => u64::from(sa <= sb),
        DW_OP_LT => u64::from(sa < sb),
        _ => u64::from(sa != sb),
    }
}
