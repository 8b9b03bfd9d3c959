//! Walking a thread's frames: `PyFrameObject` chains (to 3.10) and `_PyInterpreterFrame`
//! chains (3.11+, without entry shims, with 3.14t's per-thread bytecode), bounded.

use super::{Frame, WalkError, Walker, MAX_DEPTH, MAX_TLBC};
use crate::bytes::{i32_at, i64_at, u64_at, u8_at};
use crate::memory::Memory;
use crate::python::code::Lasti;
use crate::python::layout::Frame as FrameLayout;

impl<M: Memory> Walker<'_, M> {
    /// The frames from `frame` outwards, innermost first, without entry shims.
    #[cfg(test)]
    pub fn stack(&mut self, frame: u64) -> Result<Vec<Frame>, WalkError> {
        self.stack_and_leaf(frame).map(|(frames, _)| frames)
    }

    /// `stack`, and the code (or executable) of the innermost frame, shim or not.
    pub(super) fn stack_and_leaf(
        &mut self,
        mut frame: u64,
    ) -> Result<(Vec<Frame>, u64), WalkError> {
        let len = self.layout.frame_read_len().min(256);
        let mut depth = 0;
        let mut raw = Vec::new();
        let mut leaf_code = 0;
        let mut buf = [0u8; 256];
        while frame != 0 {
            if depth >= MAX_DEPTH {
                return Err(WalkError::TooLong("frames", MAX_DEPTH));
            }
            depth += 1;
            self.mem
                .read(frame, &mut buf[..len])
                .map_err(WalkError::read("frame"))?;
            let b = &buf[..len];
            let short = || WalkError::Garbage(format!("short frame at {frame:#x}"));
            if depth == 1 {
                leaf_code = u64_at(b, self.code_field() as usize).ok_or_else(short)?;
            }
            let next = match self.layout.frame {
                FrameLayout::Object {
                    f_back,
                    f_code,
                    f_lasti,
                    lasti_scale,
                    ..
                } => {
                    let lasti = i32_at(b, f_lasti as usize).ok_or_else(short)?;
                    let code = u64_at(b, f_code as usize).ok_or_else(short)?;
                    raw.push((code, Lasti::Bytes(lasti.saturating_mul(lasti_scale))));
                    u64_at(b, f_back as usize).ok_or_else(short)?
                }
                FrameLayout::Interpreter {
                    previous,
                    code,
                    instr,
                    owner,
                    shim_owner,
                    tag_bits,
                    tlbc_index,
                    ..
                } => {
                    let owner = u8_at(b, owner as usize).ok_or_else(short)?;
                    // Entry shims (3.12+) are not Python frames.
                    if shim_owner.is_none_or(|s| owner < s) {
                        let code = u64_at(b, code as usize).ok_or_else(short)? & !tag_bits;
                        let mut ip = u64_at(b, instr as usize).ok_or_else(short)?;
                        if let Some(off) = tlbc_index {
                            let index = i32_at(b, off as usize).ok_or_else(short)?;
                            ip = self.in_main_bytecode(code, index, ip)?;
                        }
                        raw.push((code, Lasti::Instr(ip)));
                    }
                    u64_at(b, previous as usize).ok_or_else(short)?
                }
            };
            if next == frame {
                return Err(WalkError::TooLong("frames", MAX_DEPTH));
            }
            frame = next;
        }
        let mut addrs: Vec<u64> = raw.iter().map(|r| r.0).collect();
        addrs.sort_unstable();
        addrs.dedup();
        let is_code = self
            .codes
            .refresh(self.mem, &self.layout, self.roots.code_type, &addrs)?;
        let frames = raw
            .iter()
            .filter(|(code, _)| addrs.binary_search(code).is_ok_and(|i| is_code[i]))
            .filter_map(|&(code, at)| self.codes.frame(&self.layout, code, at))
            .collect();
        Ok((frames, leaf_code))
    }

    /// `ip`, which points into copy `index` of the bytecode of `code` (3.14t runs one copy per
    /// thread, `co_tlbc->entries[index]`; copy 0 is `co_code_adaptive`), moved to the same
    /// instruction in copy 0, where the line table applies.
    fn in_main_bytecode(&self, code: u64, index: i32, ip: u64) -> Result<u64, WalkError> {
        let (Some(tlbc), Some(adaptive)) = (self.layout.code.tlbc, self.layout.code.code_adaptive)
        else {
            return Ok(ip);
        };
        if index <= 0 {
            return Ok(ip);
        }
        let array = self.ptr(code.wrapping_add(tlbc), "PyCodeObject.co_tlbc")?;
        let mut b = [0u8; 8];
        self.mem
            .read(array, &mut b)
            .map_err(WalkError::read("_PyCodeArray"))?;
        let size = i64_at(&b, 0).unwrap_or(0);
        if i64::from(index) >= size || size > MAX_TLBC {
            return Err(WalkError::Garbage(format!(
                "bytecode copy {index} of {size} at {array:#x}"
            )));
        }
        let entry = self.ptr(
            array.wrapping_add(8 + 8 * index as u64),
            "_PyCodeArray.entries",
        )?;
        Ok(ip
            .wrapping_sub(entry)
            .wrapping_add(code.wrapping_add(adaptive)))
    }
}
