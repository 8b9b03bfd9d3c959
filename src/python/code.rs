//! Code objects: their headers read in one batch per sample, checked to be code objects,
//! cached by address (with a cheap check that the address still holds the same object), and
//! the line a frame is at.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::layout::{Frame as FrameLayout, Layout, LineFormat};
use super::walk::{Code, Frame, WalkError};
use super::{lines, strings};
use crate::bytes::{i32_at, u64_at};
use crate::memory::{Memory, Prefetched};

/// Code objects remembered between samples (each holds two strings and a line table).
const MAX_CACHED: usize = 16_384;

/// Where a frame is in its code: a byte offset (to 3.10) or an instruction pointer (3.11+).
#[derive(Debug, Clone, Copy)]
pub enum Lasti {
    Bytes(i32),
    Instr(u64),
}

/// What identifies a cached code object: if any of these changed, the address was reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    ob_type: u64,
    filename: u64,
    name: u64,
    linetable: u64,
    firstlineno: i32,
}

struct Entry {
    key: Key,
    code: Rc<Code>,
    linetable: Vec<u8>,
}

#[derive(Default)]
pub struct Codes {
    entries: HashMap<u64, Entry>,
    /// Type objects already checked to be named "code" (when PyCode_Type is unknown).
    code_types: HashSet<u64>,
}

impl Codes {
    /// Makes sure each address in `addrs` that holds a code object has a current entry, and
    /// says which do. Not holding one is an error unless the layout allows frames to run other
    /// objects (3.13+ shims run `None`).
    pub fn refresh(
        &mut self,
        mem: &impl Memory,
        layout: &Layout,
        code_type: Option<u64>,
        addrs: &[u64],
    ) -> Result<Vec<bool>, WalkError> {
        let len = layout.code_read_len();
        let batch = Prefetched::read(mem, addrs, len).map_err(WalkError::read("code objects"))?;
        let mut single = [0u8; 256];
        let mut is_code = Vec::with_capacity(addrs.len());
        for &addr in addrs {
            let header = match batch.get(addr) {
                Some(h) => h,
                None => {
                    // A non-code executable (3.13+ `None`) may be smaller than a code object.
                    let buf = &mut single[..len.min(256)];
                    let got = mem
                        .read_prefix(addr, buf)
                        .map_err(WalkError::read("code object"))?;
                    &buf[..got]
                }
            };
            is_code.push(self.update(mem, layout, code_type, addr, header)?);
        }
        Ok(is_code)
    }

    fn update(
        &mut self,
        mem: &impl Memory,
        layout: &Layout,
        code_type: Option<u64>,
        addr: u64,
        b: &[u8],
    ) -> Result<bool, WalkError> {
        let c = &layout.code;
        let short = || WalkError::Garbage(format!("short code object at {addr:#x}"));
        let ob_type = u64_at(b, layout.objects.ob_type as usize).ok_or_else(short)?;
        if !self.is_code_type(mem, layout, code_type, ob_type)? {
            return match layout.frame {
                FrameLayout::Interpreter {
                    shim_owner: Some(_),
                    ..
                } => Ok(false),
                _ => Err(WalkError::Garbage(format!(
                    "object at {addr:#x} is not a code object"
                ))),
            };
        }
        let key = Key {
            ob_type,
            filename: u64_at(b, c.filename as usize).ok_or_else(short)?,
            name: u64_at(b, c.name as usize).ok_or_else(short)?,
            linetable: u64_at(b, c.linetable as usize).ok_or_else(short)?,
            firstlineno: i32_at(b, c.firstlineno as usize).ok_or_else(short)?,
        };
        if self.entries.get(&addr).is_some_and(|e| e.key == key) {
            return Ok(true);
        }
        let code = Code {
            filename: strings::read_str(mem, layout, key.filename)?,
            name: strings::read_str(mem, layout, key.name)?,
        };
        let linetable = strings::read_bytes(mem, layout, key.linetable)?;
        if self.entries.len() >= MAX_CACHED {
            self.entries.clear();
        }
        self.entries.insert(
            addr,
            Entry {
                key,
                code: Rc::new(code),
                linetable,
            },
        );
        Ok(true)
    }

    fn is_code_type(
        &mut self,
        mem: &impl Memory,
        layout: &Layout,
        code_type: Option<u64>,
        ob_type: u64,
    ) -> Result<bool, WalkError> {
        if let Some(t) = code_type {
            return Ok(t == ob_type);
        }
        if self.code_types.contains(&ob_type) {
            return Ok(true);
        }
        // PyTypeObject.tp_name is a `const char *`.
        let name_ptr = mem
            .u64(ob_type.wrapping_add(layout.objects.tp_name))
            .map_err(WalkError::read("type object"))?;
        let mut name = [0u8; 5];
        mem.read(name_ptr, &mut name)
            .map_err(WalkError::read("type name"))?;
        let is_code = &name == b"code\0";
        if is_code {
            self.code_types.insert(ob_type);
        }
        Ok(is_code)
    }

    /// The frame running the (refreshed) code object at `addr`, at `at`.
    pub fn frame(&self, layout: &Layout, addr: u64, at: Lasti) -> Option<Frame> {
        let e = self.entries.get(&addr)?;
        let c = &layout.code;
        let first = e.key.firstlineno;
        let line = match (c.lines, at) {
            (LineFormat::Lnotab { signed }, Lasti::Bytes(l)) => {
                lines::lnotab_line(&e.linetable, first, l, signed)
            }
            (LineFormat::Table310, Lasti::Bytes(l)) => {
                lines::linetable310_line(&e.linetable, first, l)
            }
            (LineFormat::Location, Lasti::Instr(ip)) => {
                let start = addr.wrapping_add(c.code_adaptive.unwrap_or(0));
                let units = (ip.wrapping_sub(start) as i64) / 2;
                lines::location_table_line(
                    &e.linetable,
                    first,
                    units.clamp(-1, i32::MAX as i64) as i32,
                )
            }
            _ => first,
        };
        Some(Frame {
            code: e.code.clone(),
            line,
        })
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}
