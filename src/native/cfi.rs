//! DWARF call-frame information (`.eh_frame`, `.eh_frame_hdr`, `.debug_frame`): the unwind
//! rows of an object file, and one step from a frame's registers to its caller's.
//!
//! Everything here is pure: the section bytes come from the object file (`UnwindTable::new`
//! or `from_elf`), memory comes through a closure. Names follow DWARF 5 §6.4 ("Call Frame
//! Information") and the LSB's `.eh_frame` chapter (`DW_EH_PE_*`). The file may be hostile:
//! every length and offset is checked, and the caps below bound time and memory.

#[path = "cfi_entry.rs"]
mod entry;
#[path = "cfi_exec.rs"]
mod exec;
#[path = "cfi_expr.rs"]
mod expr;
#[path = "cfi_read.rs"]
mod read;
#[path = "cfi_step.rs"]
mod step;
#[path = "cfi_table.rs"]
mod table;

#[cfg(test)]
#[path = "cfi_malformed_tests.rs"]
mod malformed_tests;
#[cfg(test)]
#[path = "cfi_readelf_tests.rs"]
mod readelf_tests;
#[cfg(test)]
#[path = "cfi_tests.rs"]
mod tests;

pub use step::{step, step_fp, AARCH64_VA_MASK};
pub use table::{SectionData, Sections, UnwindTable};

use std::fmt;

/// Registers a row or a register set tracks: DWARF numbers 0..=32 (x86_64 uses 0..=16,
/// AArch64 0..=31). Rules for higher numbers (vector registers) are parsed and dropped.
pub const NREGS: usize = 33;
/// Largest section accepted (libpython's `.eh_frame` is about 1 MiB).
pub const MAX_SECTION: u64 = 64 << 20;
/// FDEs indexed per section when there is no `.eh_frame_hdr` table.
pub const MAX_FDES: usize = 1 << 20;
/// CFA instructions executed to compute one row.
pub const MAX_INSTRUCTIONS: usize = 100_000;
/// Depth of the DW_CFA_remember_state stack.
pub const MAX_REMEMBERED: usize = 64;
/// Bytes in one DWARF expression; operations executed in one evaluation; its stack depth.
pub const MAX_EXPR_LEN: usize = 1024;
pub const MAX_EXPR_STEPS: usize = 1024;
pub const MAX_EXPR_STACK: usize = 64;

/// The machine whose register numbers (DWARF for x86-64 psABI §3.6.2, AADWARF64) apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The stack pointer: rsp = 7, sp = 31.
    pub const fn sp(self) -> u16 {
        match self {
            Arch::X86_64 => 7,
            Arch::Aarch64 => 31,
        }
    }
    /// The frame pointer: rbp = 6, x29 = 29.
    pub const fn fp(self) -> u16 {
        match self {
            Arch::X86_64 => 6,
            Arch::Aarch64 => 29,
        }
    }
    /// The register number that reads as the pc itself (x86-64's 16 is rip; AArch64 has none).
    const fn pc(self) -> Option<u16> {
        match self {
            Arch::X86_64 => Some(16),
            Arch::Aarch64 => None,
        }
    }
}

/// How the canonical frame address is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cfa<'a> {
    /// DW_CFA_def_cfa: register + offset.
    RegOffset { reg: u16, offset: i64 },
    /// DW_CFA_def_cfa_expression: the value of the expression.
    Expression(&'a [u8]),
}

/// A register's rule (DWARF 5 §6.4.1), offsets already multiplied by the data alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule<'a> {
    /// No rule given: the ABI's default, which unwinders take as "same value".
    Default,
    Undefined,
    SameValue,
    /// Saved at CFA + N.
    Offset(i64),
    /// The value is CFA + N.
    ValOffset(i64),
    /// Saved in another register.
    Register(u16),
    /// Saved at the address the expression computes (the CFA pushed first).
    Expression(&'a [u8]),
    /// The value is what the expression computes (the CFA pushed first).
    ValExpression(&'a [u8]),
}

/// The unwind row that holds for the pcs `start..end` of one FDE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    pub arch: Arch,
    pub start: u64,
    pub end: u64,
    pub cfa: Cfa<'a>,
    /// The return-address column of the CIE.
    pub ra: u16,
    pub rules: [Rule<'a>; NREGS],
    /// The CIE's "S" augmentation: the frame of a signal handler's trampoline, whose pc is
    /// not a return address (no `pc - 1` when looking its row up).
    pub signal_frame: bool,
    /// AArch64: the return address is signed (DW_CFA_AARCH64_negate_ra_state toggled it).
    pub ra_signed: bool,
    /// DW_CFA_GNU_args_size: bytes of outgoing arguments pushed at this pc.
    pub args_size: u64,
}

impl<'a> Row<'a> {
    /// The rule for `reg`; `Default` for registers above `NREGS`.
    pub fn rule(&self, reg: u16) -> Rule<'a> {
        self.rules
            .get(usize::from(reg))
            .copied()
            .unwrap_or(Rule::Default)
    }
    /// The return address is undefined: this is the outermost frame (`_start`, `clone`).
    pub fn outermost(&self) -> bool {
        self.rule(self.ra) == Rule::Undefined
    }
}

/// A frame's registers: the pc and those of DWARF numbers `0..NREGS` that are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Regs {
    pub arch: Arch,
    pub pc: u64,
    vals: [Option<u64>; NREGS],
}

impl Regs {
    /// The registers every unwind starts from: pc, stack pointer and frame pointer.
    pub fn new(arch: Arch, pc: u64, sp: u64, fp: u64) -> Regs {
        let mut regs = Regs {
            arch,
            pc,
            vals: [None; NREGS],
        };
        regs.set(arch.sp(), Some(sp));
        regs.set(arch.fp(), Some(fp));
        regs
    }
    /// Register `reg` by DWARF number (x86-64's 16 is the pc), if known.
    pub fn get(&self, reg: u16) -> Option<u64> {
        if self.arch.pc() == Some(reg) {
            return Some(self.pc);
        }
        self.vals.get(usize::from(reg)).copied().flatten()
    }
    /// Sets (or forgets, with None) register `reg`; numbers above `NREGS` are ignored.
    pub fn set(&mut self, reg: u16, value: Option<u64>) {
        if self.arch.pc() == Some(reg) {
            if let Some(v) = value {
                self.pc = v;
            }
            return;
        }
        if let Some(slot) = self.vals.get_mut(usize::from(reg)) {
            *slot = value;
        }
    }
    pub fn sp(&self) -> Option<u64> {
        self.get(self.arch.sp())
    }
    pub fn fp(&self) -> Option<u64> {
        self.get(self.arch.fp())
    }
}

/// Why a table could not be built or a row computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CfiError {
    /// An entry, instruction or expression runs past its end.
    Truncated,
    /// A field holds a value the format does not allow.
    Malformed(&'static str),
    /// A DW_EH_PE_* pointer encoding that is not supported (indirect, textrel, ...).
    Encoding(u8),
    /// A DW_CFA_* instruction that is unknown or not valid for the architecture.
    Instruction(u8),
    /// A DW_OP_* operation that is unknown or not supported in call-frame expressions.
    Operation(u8),
    /// A cap was hit (named).
    Limit(&'static str),
    /// No FDE covers the pc.
    NoFde(u64),
    /// Reading a section from the file failed.
    Io(std::io::ErrorKind),
}

impl fmt::Display for CfiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CfiError::Truncated => f.write_str("call-frame information is truncated"),
            CfiError::Malformed(what) => write!(f, "malformed call-frame information: {what}"),
            CfiError::Encoding(e) => write!(f, "unsupported pointer encoding DW_EH_PE {e:#04x}"),
            CfiError::Instruction(op) => write!(f, "unsupported CFA instruction {op:#04x}"),
            CfiError::Operation(op) => write!(f, "unsupported DWARF expression op {op:#04x}"),
            CfiError::Limit(what) => write!(f, "call-frame information exceeds a limit: {what}"),
            CfiError::NoFde(pc) => write!(f, "no FDE covers pc {pc:#x}"),
            CfiError::Io(kind) => write!(f, "cannot read call-frame information: {kind}"),
        }
    }
}

impl std::error::Error for CfiError {}
