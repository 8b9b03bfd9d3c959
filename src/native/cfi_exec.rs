//! The CFA instructions (DWARF 5 §6.4.2): a CIE's initial instructions, then an FDE's up to a
//! pc, give the row for that pc. Bounded by `MAX_INSTRUCTIONS` and `MAX_REMEMBERED`.

use super::entry::{Cie, Fde, Frames};
use super::read::{Bases, Reader};
use super::{Arch, Cfa, CfiError, Row, Rule, MAX_EXPR_LEN, MAX_INSTRUCTIONS, MAX_REMEMBERED};

const DW_CFA_ADVANCE_LOC: u8 = 0x40;
const DW_CFA_OFFSET: u8 = 0x80;
const DW_CFA_RESTORE: u8 = 0xc0;
const DW_CFA_NOP: u8 = 0x00;
const DW_CFA_SET_LOC: u8 = 0x01;
const DW_CFA_ADVANCE_LOC1: u8 = 0x02;
const DW_CFA_ADVANCE_LOC2: u8 = 0x03;
const DW_CFA_ADVANCE_LOC4: u8 = 0x04;
const DW_CFA_OFFSET_EXTENDED: u8 = 0x05;
const DW_CFA_RESTORE_EXTENDED: u8 = 0x06;
const DW_CFA_UNDEFINED: u8 = 0x07;
const DW_CFA_SAME_VALUE: u8 = 0x08;
const DW_CFA_REGISTER: u8 = 0x09;
const DW_CFA_REMEMBER_STATE: u8 = 0x0a;
const DW_CFA_RESTORE_STATE: u8 = 0x0b;
const DW_CFA_DEF_CFA: u8 = 0x0c;
const DW_CFA_DEF_CFA_REGISTER: u8 = 0x0d;
const DW_CFA_DEF_CFA_OFFSET: u8 = 0x0e;
const DW_CFA_DEF_CFA_EXPRESSION: u8 = 0x0f;
const DW_CFA_EXPRESSION: u8 = 0x10;
const DW_CFA_OFFSET_EXTENDED_SF: u8 = 0x11;
const DW_CFA_DEF_CFA_SF: u8 = 0x12;
const DW_CFA_DEF_CFA_OFFSET_SF: u8 = 0x13;
const DW_CFA_VAL_OFFSET: u8 = 0x14;
const DW_CFA_VAL_OFFSET_SF: u8 = 0x15;
const DW_CFA_VAL_EXPRESSION: u8 = 0x16;
/// DW_CFA_GNU_window_save on SPARC, DW_CFA_AARCH64_negate_ra_state on AArch64.
const DW_CFA_AARCH64_NEGATE_RA_STATE: u8 = 0x2d;
const DW_CFA_GNU_ARGS_SIZE: u8 = 0x2e;
const DW_CFA_GNU_NEGATIVE_OFFSET_EXTENDED: u8 = 0x2f;

/// The state of one execution: the row being built, where it starts, the instruction count.
struct Machine<'a> {
    frames: &'a Frames,
    cie: Cie,
    row: Row<'a>,
    /// The row after the CIE's initial instructions, for DW_CFA_restore.
    initial: Option<[Rule<'a>; super::NREGS]>,
    remembered: Vec<Row<'a>>,
    executed: usize,
}

/// The row of `fde` that holds at `pc` (which must be inside the FDE).
pub fn row_at<'a>(frames: &'a Frames, fde: &Fde, arch: Arch, pc: u64) -> Result<Row<'a>, CfiError> {
    let cfa = Cfa::RegOffset {
        reg: arch.sp(),
        offset: 0,
    };
    let row = Row {
        arch,
        start: fde.pc_begin,
        end: fde.pc_end,
        cfa,
        ra: fde.cie.ra,
        rules: [Rule::Default; super::NREGS],
        signal_frame: fde.cie.signal_frame,
        ra_signed: false,
        args_size: 0,
    };
    let mut m = Machine {
        frames,
        cie: fde.cie.clone(),
        row,
        initial: None,
        remembered: Vec::new(),
        executed: 0,
    };
    m.run(fde.cie.instructions.clone(), None)?;
    m.initial = Some(m.row.rules);
    m.run(fde.instructions.clone(), Some(pc))?;
    Ok(m.row)
}

impl<'a> Machine<'a> {
    /// Executes the instructions in `range`; with `pc`, stops at the first advance past it
    /// (the row then ends there).
    fn run(&mut self, range: std::ops::Range<usize>, pc: Option<u64>) -> Result<(), CfiError> {
        let bytes: &'a [u8] = &self.frames.bytes;
        let mut r = Reader::new(bytes, range.start, range.end);
        while !r.at_end() {
            self.executed += 1;
            if self.executed > MAX_INSTRUCTIONS {
                return Err(CfiError::Limit("CFA instructions per row"));
            }
            let op = r.u8()?;
            let low = op & 0x3f;
            let advance = match op & 0xc0 {
                DW_CFA_ADVANCE_LOC => Some(self.factored_loc(u64::from(low))?),
                DW_CFA_OFFSET => {
                    let off = self.data(r.uleb()? as i128)?;
                    self.set(u16::from(low), Rule::Offset(off));
                    None
                }
                DW_CFA_RESTORE => {
                    self.restore(u16::from(low));
                    None
                }
                _ => self.extended(op, &mut r)?,
            };
            if let (Some(next), Some(pc)) = (advance, pc) {
                if next > pc {
                    self.row.end = next.min(self.row.end);
                    return Ok(());
                }
                self.row.start = next;
            }
        }
        Ok(())
    }

    /// The instructions with a zero high part; Some(new location) for the advances.
    fn extended(&mut self, op: u8, r: &mut Reader<'a>) -> Result<Option<u64>, CfiError> {
        let cie = &self.cie;
        match op {
            DW_CFA_NOP => {}
            DW_CFA_SET_LOC => {
                let bases = Bases {
                    section: self.frames.addr,
                    data: self.frames.data_base,
                };
                return Ok(Some(r.pointer(
                    cie.fde_encoding,
                    cie.address_size,
                    bases,
                )?));
            }
            DW_CFA_ADVANCE_LOC1 => return self.factored_loc(u64::from(r.u8()?)).map(Some),
            DW_CFA_ADVANCE_LOC2 => return self.factored_loc(u64::from(r.u16()?)).map(Some),
            DW_CFA_ADVANCE_LOC4 => return self.factored_loc(u64::from(r.u32()?)).map(Some),
            DW_CFA_OFFSET_EXTENDED => {
                let reg = r.reg()?;
                let off = self.data(r.uleb()? as i128)?;
                self.set(reg, Rule::Offset(off));
            }
            DW_CFA_RESTORE_EXTENDED => {
                let reg = r.reg()?;
                self.restore(reg);
            }
            DW_CFA_UNDEFINED => self.set(r.reg()?, Rule::Undefined),
            DW_CFA_SAME_VALUE => self.set(r.reg()?, Rule::SameValue),
            DW_CFA_REGISTER => {
                let reg = r.reg()?;
                let other = r.reg()?;
                self.set(reg, Rule::Register(other));
            }
            DW_CFA_REMEMBER_STATE => {
                if self.remembered.len() >= MAX_REMEMBERED {
                    return Err(CfiError::Limit("DW_CFA_remember_state depth"));
                }
                self.remembered.push(self.row);
            }
            DW_CFA_RESTORE_STATE => {
                let saved = self.remembered.pop();
                let saved = saved.ok_or(CfiError::Malformed(
                    "DW_CFA_restore_state: nothing remembered",
                ))?;
                // The location is not part of the state.
                self.row = Row {
                    start: self.row.start,
                    end: self.row.end,
                    ..saved
                };
            }
            DW_CFA_DEF_CFA => {
                let reg = r.reg()?;
                let offset =
                    i64::try_from(r.uleb()?).map_err(|_| CfiError::Malformed("CFA offset"))?;
                self.row.cfa = Cfa::RegOffset { reg, offset };
            }
            DW_CFA_DEF_CFA_SF => {
                let reg = r.reg()?;
                let offset = self.data(i128::from(r.sleb()?))?;
                self.row.cfa = Cfa::RegOffset { reg, offset };
            }
            DW_CFA_DEF_CFA_REGISTER => {
                let reg = r.reg()?;
                let Cfa::RegOffset { offset, .. } = self.row.cfa else {
                    return Err(CfiError::Malformed(
                        "DW_CFA_def_cfa_register after an expression",
                    ));
                };
                self.row.cfa = Cfa::RegOffset { reg, offset };
            }
            DW_CFA_DEF_CFA_OFFSET => {
                let offset =
                    i64::try_from(r.uleb()?).map_err(|_| CfiError::Malformed("CFA offset"))?;
                self.cfa_offset(offset)?;
            }
            DW_CFA_DEF_CFA_OFFSET_SF => {
                let offset = self.data(i128::from(r.sleb()?))?;
                self.cfa_offset(offset)?;
            }
            DW_CFA_DEF_CFA_EXPRESSION => self.row.cfa = Cfa::Expression(block(r)?),
            DW_CFA_EXPRESSION => {
                let reg = r.reg()?;
                self.set(reg, Rule::Expression(block(r)?));
            }
            DW_CFA_VAL_EXPRESSION => {
                let reg = r.reg()?;
                self.set(reg, Rule::ValExpression(block(r)?));
            }
            DW_CFA_OFFSET_EXTENDED_SF => {
                let reg = r.reg()?;
                let off = self.data(i128::from(r.sleb()?))?;
                self.set(reg, Rule::Offset(off));
            }
            DW_CFA_VAL_OFFSET => {
                let reg = r.reg()?;
                let off = self.data(r.uleb()? as i128)?;
                self.set(reg, Rule::ValOffset(off));
            }
            DW_CFA_VAL_OFFSET_SF => {
                let reg = r.reg()?;
                let off = self.data(i128::from(r.sleb()?))?;
                self.set(reg, Rule::ValOffset(off));
            }
            DW_CFA_GNU_ARGS_SIZE => self.row.args_size = r.uleb()?,
            DW_CFA_GNU_NEGATIVE_OFFSET_EXTENDED => {
                let reg = r.reg()?;
                let off = self.data(-(r.uleb()? as i128))?;
                self.set(reg, Rule::Offset(off));
            }
            DW_CFA_AARCH64_NEGATE_RA_STATE if self.row.arch == Arch::Aarch64 => {
                self.row.ra_signed = !self.row.ra_signed;
            }
            _ => return Err(CfiError::Instruction(op)),
        }
        Ok(None)
    }

    /// The location `delta` code-alignment units after the current one.
    fn factored_loc(&self, delta: u64) -> Result<u64, CfiError> {
        delta
            .checked_mul(self.cie.code_align)
            .and_then(|d| self.row.start.checked_add(d))
            .ok_or(CfiError::Malformed("advance past the address space"))
    }

    /// A factored offset times the data alignment, if it fits.
    fn data(&self, factored: i128) -> Result<i64, CfiError> {
        factored
            .checked_mul(i128::from(self.cie.data_align))
            .and_then(|v| i64::try_from(v).ok())
            .ok_or(CfiError::Malformed("offset overflows"))
    }

    fn cfa_offset(&mut self, offset: i64) -> Result<(), CfiError> {
        let Cfa::RegOffset { reg, .. } = self.row.cfa else {
            return Err(CfiError::Malformed(
                "DW_CFA_def_cfa_offset after an expression",
            ));
        };
        self.row.cfa = Cfa::RegOffset { reg, offset };
        Ok(())
    }

    fn set(&mut self, reg: u16, rule: Rule<'a>) {
        if let Some(slot) = self.row.rules.get_mut(usize::from(reg)) {
            *slot = rule;
        }
    }

    /// DW_CFA_restore: the rule after the CIE's instructions (Default inside the CIE).
    fn restore(&mut self, reg: u16) {
        let rule = self
            .initial
            .as_ref()
            .and_then(|i| i.get(usize::from(reg)).copied());
        self.set(reg, rule.unwrap_or(Rule::Default));
    }
}

/// A ULEB128 length and that many bytes: a DWARF expression, at most `MAX_EXPR_LEN` long.
fn block<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], CfiError> {
    let len = r.uleb()?;
    match usize::try_from(len) {
        Ok(n) if n <= MAX_EXPR_LEN => r.bytes(n),
        _ => Err(CfiError::Limit("DWARF expression length")),
    }
}
