//! What an object in the target is: a code object, a `str` (exactly, or a subclass), a
//! `bytes`, or something else, told by its type object and remembered by the type's address.
//!
//! Nothing is decoded before its type is checked: a name pointing at an int or a dict is not a
//! string, and a frame running a dict is not running code. `str` and `bytes` (2.x: `str`) are
//! told by their `Py_TPFLAGS_*_SUBCLASS` bit in `tp_flags` (`Include/object.h`), which every
//! subclass inherits; code objects by `PyCode_Type`'s address when the symbol is known, else by
//! `tp_name`.

use crate::hash::Map;

use super::layout::{Layout, Str};
use super::walk::WalkError;
use crate::bytes::u64_at;
use crate::memory::Memory;

/// `Py_TPFLAGS_BYTES_SUBCLASS` (3.x), which is `Py_TPFLAGS_STRING_SUBCLASS` in 2.x.
const BYTES_SUBCLASS: u64 = 1 << 27;
/// `Py_TPFLAGS_LONG_SUBCLASS`.
const LONG_SUBCLASS: u64 = 1 << 24;
/// `Py_TPFLAGS_UNICODE_SUBCLASS`.
const UNICODE_SUBCLASS: u64 = 1 << 28;
/// Type objects remembered; a target has a few hundred.
const MAX_TYPES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Code,
    /// A `str`; `exact` when its type is `str` itself, not a subclass.
    Str {
        exact: bool,
    },
    /// A `bytes` (2.x: a `str`, which is also what 2.x names are).
    Bytes {
        exact: bool,
    },
    /// An `int` (3.x), or a subclass.
    Int,
    Other,
}

/// Type objects already looked at, by address.
#[derive(Default)]
pub struct Types {
    known: Map<u64, Kind>,
}

impl Types {
    /// What the object at `addr` is. A type object that cannot be read makes it `Other`.
    #[cfg(test)]
    pub fn of_object(
        &mut self,
        mem: &dyn Memory,
        layout: &Layout,
        code_type: Option<u64>,
        addr: u64,
    ) -> Result<Kind, WalkError> {
        match mem.u64(addr.wrapping_add(layout.objects.ob_type)) {
            Ok(ob_type) => self.of_type(mem, layout, code_type, ob_type),
            Err(e) => Err(WalkError::read("object header")(e)),
        }
    }

    /// What objects of the type object at `ob_type` are.
    pub fn of_type(
        &mut self,
        mem: &dyn Memory,
        layout: &Layout,
        code_type: Option<u64>,
        ob_type: u64,
    ) -> Result<Kind, WalkError> {
        if code_type == Some(ob_type) {
            return Ok(Kind::Code);
        }
        if let Some(&kind) = self.known.get(&ob_type) {
            return Ok(kind);
        }
        let kind = match self.inspect(mem, layout, code_type, ob_type) {
            Ok(kind) => kind,
            Err(WalkError::Read { .. } | WalkError::Garbage(_)) => Kind::Other,
            Err(e) => return Err(e),
        };
        if self.known.len() >= MAX_TYPES {
            self.known.clear();
        }
        self.known.insert(ob_type, kind);
        Ok(kind)
    }

    fn inspect(
        &self,
        mem: &dyn Memory,
        layout: &Layout,
        code_type: Option<u64>,
        ob_type: u64,
    ) -> Result<Kind, WalkError> {
        let o = &layout.objects;
        let end = (o.tp_name.max(o.tp_flags) as usize).saturating_add(8);
        let mut b = [0u8; 256];
        let b = &mut b[..end.min(256)];
        mem.read(ob_type, b)
            .map_err(WalkError::read("type object"))?;
        let short = || WalkError::Garbage("short type object".into());
        let flags = u64_at(b, o.tp_flags as usize).ok_or_else(short)?;
        let name_ptr = u64_at(b, o.tp_name as usize).ok_or_else(short)?;
        // `tp_name` of a built-in type is its bare name ("str"); enough for "is it exactly".
        let mut name = [0u8; 8];
        let name = match mem.read_prefix(name_ptr, &mut name) {
            Ok(n) => &name[..n],
            Err(e) => return Err(WalkError::read("type name")(e)),
        };
        let named = |n: &[u8]| name.len() > n.len() && name.starts_with(n) && name[n.len()] == 0;
        let is_py2 = matches!(layout.string, Str::Bytes { .. });
        Ok(if flags & UNICODE_SUBCLASS != 0 && !is_py2 {
            Kind::Str {
                exact: named(b"str"),
            }
        } else if flags & BYTES_SUBCLASS != 0 {
            // 2.x names and line tables are both `str` objects.
            let exact = named(if is_py2 { b"str" } else { b"bytes" });
            match is_py2 {
                true => Kind::Str { exact },
                false => Kind::Bytes { exact },
            }
        } else if code_type.is_none() && named(b"code") {
            Kind::Code
        } else if flags & LONG_SUBCLASS != 0 && !is_py2 {
            Kind::Int
        } else {
            Kind::Other
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::fake::FakePython;
    use crate::python::layout::for_version;

    #[test]
    fn tells_str_bytes_code_and_the_rest() {
        for (major, minor) in [(2, 7), (3, 6), (3, 12)] {
            let layout = *for_version(major, minor).unwrap();
            let mut py = FakePython::new(layout);
            let s = py.string("name");
            let b = py.bytes(b"\x01\x02");
            let int = py.object("int", 1 << 24);
            let sub = py.object("MyStr", if major == 2 { 1 << 27 } else { 1 << 28 });
            let code = py.code("f.py", "f", 1);
            // A type object that cannot be read.
            let mut broken = vec![0u8; 64];
            crate::python::fake::put(&mut broken, layout.objects.ob_type, 0x10);
            let broken = py.alloc(broken);
            let mut types = Types::default();
            let mut of =
                |addr, code_type| types.of_object(&py.mem, &layout, code_type, addr).unwrap();
            assert_eq!(of(s, None), Kind::Str { exact: true });
            let bytes = match major {
                2 => Kind::Str { exact: true },
                _ => Kind::Bytes { exact: true },
            };
            assert_eq!(of(b, None), bytes);
            let int_kind = if major == 2 { Kind::Other } else { Kind::Int };
            assert_eq!(of(int, None), int_kind);
            assert_eq!(of(sub, None), Kind::Str { exact: false });
            assert_eq!(of(code, py.roots.code_type), Kind::Code);
            // Without PyCode_Type's address, by name.
            assert_eq!(of(code, None), Kind::Code);
            assert_eq!(of(broken, None), Kind::Other);
        }
    }
}
