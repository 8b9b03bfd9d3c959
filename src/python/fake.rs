//! A fake CPython process in `FakeMemory`, laid out with any `Layout`, for unit tests of the
//! walker and the string decoder.

use super::layout::{Frame, FrameRoot, GilHolder, InterpRoot, Layout, LineFormat, Str};
use super::walk::Roots;
use crate::memory::FakeMemory;

pub struct FakePython {
    pub mem: FakeMemory,
    pub layout: Layout,
    pub roots: Roots,
    /// The type objects of `str` and `bytes` (2.x: both `str`).
    pub str_type: u64,
    pub bytes_type: u64,
    top: u64,
}

pub fn put(b: &mut [u8], off: u64, v: u64) {
    b[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes());
}

pub fn put32(b: &mut [u8], off: u64, v: u32) {
    b[off as usize..off as usize + 4].copy_from_slice(&v.to_le_bytes());
}

/// The bytes of a compact `str` object holding `s` (a 2.x `str` for 2.x layouts), whose type
/// object is at `ob_type`.
pub fn str_object(layout: &Layout, ob_type: u64, s: &str) -> Vec<u8> {
    let mut b = str_body(layout, s);
    put(&mut b, layout.objects.ob_type, ob_type);
    b
}

fn str_body(layout: &Layout, s: &str) -> Vec<u8> {
    match layout.string {
        Str::Bytes { ob_size, ob_sval } => {
            let mut b = vec![0u8; ob_sval as usize];
            put(&mut b, ob_size, s.len() as u64);
            b.extend_from_slice(s.as_bytes());
            b.push(0);
            b
        }
        Str::Pep393 {
            length,
            state,
            ascii_data,
            compact_data,
            ready_mask,
            bits,
            ..
        } => {
            let chars: Vec<u32> = s.chars().map(|c| c as u32).collect();
            let (kind, ascii) = match chars.iter().copied().max().unwrap_or(0) {
                0..=0x7f => (1, true),
                0x80..=0xff => (1, false),
                0x100..=0xffff => (2, false),
                _ => (4, false),
            };
            let mut b = vec![0u8; if ascii { ascii_data } else { compact_data } as usize];
            put(&mut b, length, chars.len() as u64);
            let ascii_bit = if ascii { bits.ascii } else { 0 };
            let word =
                (kind << bits.kind_shift) | bits.compact | ascii_bit | ready_mask.unwrap_or(0);
            put32(&mut b, state, word);
            for c in chars {
                b.extend_from_slice(&c.to_le_bytes()[..kind as usize]);
            }
            // The terminating NUL code unit.
            b.extend(std::iter::repeat_n(0, kind as usize));
            b
        }
    }
}

/// A line table in the layout's format, and the position in it (a byte offset, or a code
/// unit index for the 3.11+ table) whose line is `co_firstlineno + 3`.
pub fn sample_linetable(layout: &Layout) -> (Vec<u8>, u32) {
    match layout.code.lines {
        // (addr, line) increments: 0 -> +1, 6 -> +2.
        LineFormat::Lnotab { .. } => (vec![0, 1, 6, 2], 8),
        // (range length, line delta): [0,6) +1, [6,16) +2.
        LineFormat::Table310 => (vec![6, 1, 10, 2], 8),
        // Two "no column" entries of 3 code units each: +1, then +2.
        LineFormat::Location => (vec![0x80 | (13 << 3) | 2, 2, 0x80 | (13 << 3) | 2, 4], 4),
    }
}

impl FakePython {
    pub fn new(layout: Layout) -> FakePython {
        let mut f = FakePython {
            mem: FakeMemory::default(),
            layout,
            roots: Roots::default(),
            str_type: 0,
            bytes_type: 0,
            top: 0x10_0000,
        };
        let py2 = matches!(layout.string, Str::Bytes { .. });
        f.roots.code_type = Some(f.type_object("code", 0));
        f.str_type = match py2 {
            true => f.type_object("str", 1 << 27),
            false => f.type_object("str", 1 << 28),
        };
        f.bytes_type = match py2 {
            true => f.str_type,
            false => f.type_object("bytes", 1 << 27),
        };
        match layout.interp_root {
            InterpRoot::InterpHead => f.roots.interp_head = Some(f.alloc(vec![0; 8])),
            InterpRoot::Runtime(off) => {
                let gil = match layout.gil {
                    GilHolder::Runtime(o) => o,
                    _ => 0,
                };
                f.roots.runtime = Some(f.alloc(vec![0; (off.max(gil) + 8) as usize]));
            }
        }
        if layout.gil == GilHolder::CurrentSymbol {
            f.roots.tstate_current = Some(f.alloc(vec![0; 8]));
        }
        f
    }

    pub fn alloc(&mut self, bytes: Vec<u8>) -> u64 {
        let at = self.top;
        self.top += (bytes.len() as u64 + 0x10f) & !0xf;
        self.mem.write(at, &bytes);
        at
    }

    pub fn set(&mut self, addr: u64, value: u64) {
        self.mem.patch(addr, &value.to_le_bytes());
    }

    /// A type object named `name` with these `tp_flags`.
    pub fn type_object(&mut self, name: &str, flags: u64) -> u64 {
        let o = self.layout.objects;
        let name = self.alloc([name.as_bytes(), b"\0"].concat());
        let mut ty = vec![0u8; 256];
        put(&mut ty, o.tp_name, name);
        put(&mut ty, o.tp_flags, flags);
        self.alloc(ty)
    }

    /// An object of a new type named `type_name` with these `tp_flags` (an int: `1 << 24`).
    pub fn object(&mut self, type_name: &str, flags: u64) -> u64 {
        let ty = self.type_object(type_name, flags);
        let mut b = vec![0u8; 128];
        put(&mut b, self.layout.objects.ob_type, ty);
        self.alloc(b)
    }

    pub fn string(&mut self, s: &str) -> u64 {
        let b = str_object(&self.layout, self.str_type, s);
        self.alloc(b)
    }

    pub fn bytes(&mut self, data: &[u8]) -> u64 {
        let o = self.layout.objects;
        let mut b = vec![0u8; o.bytes_data as usize];
        put(&mut b, o.ob_type, self.bytes_type);
        put(&mut b, o.bytes_size, data.len() as u64);
        b.extend_from_slice(data);
        b.push(0);
        self.alloc(b)
    }

    /// A code object whose sample position (see `sample_linetable`) is line `firstlineno + 3`.
    pub fn code(&mut self, filename: &str, name: &str, firstlineno: i32) -> u64 {
        let table = sample_linetable(&self.layout).0;
        self.code_with_table(filename, name, firstlineno, &table)
    }

    /// A code object with this line table.
    pub fn code_with_table(
        &mut self,
        filename: &str,
        name: &str,
        firstlineno: i32,
        table: &[u8],
    ) -> u64 {
        let c = self.layout.code;
        let filename = self.string(filename);
        let name = self.string(name);
        let linetable = self.bytes(table);
        let mut b = vec![0u8; c.size as usize + 64];
        put(
            &mut b,
            self.layout.objects.ob_type,
            self.roots.code_type.unwrap_or(0),
        );
        put(&mut b, c.filename, filename);
        put(&mut b, c.name, name);
        put(&mut b, c.linetable, linetable);
        put32(&mut b, c.firstlineno, firstlineno as u32);
        self.alloc(b)
    }

    /// A frame running `code` at its sample position, called from `back`.
    pub fn frame(&mut self, code: u64, back: u64) -> u64 {
        self.frame_with_owner(code, back, 0)
    }

    pub fn frame_with_owner(&mut self, code: u64, back: u64, owner_value: u8) -> u64 {
        let at = sample_linetable(&self.layout).1;
        self.frame_at(code, back, owner_value, at)
    }

    /// A frame running `code` at `at` (bytes up to 3.10, code units from 3.11).
    pub fn frame_at(&mut self, code: u64, back: u64, owner_value: u8, at: u32) -> u64 {
        match self.layout.frame {
            Frame::Object {
                f_back,
                f_code,
                f_lasti,
                lasti_scale,
                size,
            } => {
                let mut b = vec![0u8; size as usize];
                put(&mut b, f_back, back);
                put(&mut b, f_code, code);
                put32(&mut b, f_lasti, at / lasti_scale as u32);
                self.alloc(b)
            }
            Frame::Interpreter {
                previous,
                code: code_off,
                instr,
                owner,
                size,
                ..
            } => {
                let mut b = vec![0u8; size as usize];
                put(&mut b, previous, back);
                put(&mut b, code_off, code);
                let start = code + self.layout.code.code_adaptive.unwrap_or(0);
                put(&mut b, instr, start + 2 * at as u64);
                b[owner as usize] = owner_value;
                self.alloc(b)
            }
        }
    }

    /// A thread state whose innermost frame is `frame` (0: none).
    pub fn tstate(&mut self, frame: u64, thread_id: u64, native_id: u32) -> u64 {
        let t = self.layout.tstate;
        let mut b = vec![0u8; t.size as usize];
        put(&mut b, t.thread_id, thread_id);
        if let Some(off) = t.native_thread_id {
            put32(&mut b, off, native_id);
        }
        match t.frame {
            FrameRoot::Frame(off) | FrameRoot::CurrentFrame(off) => put(&mut b, off, frame),
            FrameRoot::CFrame {
                cframe,
                current_frame,
            } => {
                let mut cf = vec![0u8; 24];
                put(&mut cf, current_frame, frame);
                put(&mut b, cframe, self.alloc(cf));
            }
        }
        self.alloc(b)
    }

    /// An interpreter with these thread states (in list order), prepended to the runtime's
    /// list as CPython does. Returns its address.
    pub fn interp(&mut self, tstates: &[u64], id: i64) -> u64 {
        let l = self.layout;
        for pair in tstates.windows(2) {
            self.set(pair[0] + l.tstate.next, pair[1]);
        }
        let i = l.interp;
        let mut size = [i.next, i.threads_head, i.id.unwrap_or(0)]
            .into_iter()
            .max()
            .unwrap_or(0)
            + 8;
        if let GilHolder::Interp { ceval_gil, .. } = l.gil {
            size = size.max(ceval_gil + 8);
        }
        let mut b = vec![0u8; size as usize];
        put(
            &mut b,
            i.threads_head,
            tstates.first().copied().unwrap_or(0),
        );
        if let Some(off) = i.id {
            put(&mut b, off, id as u64);
        }
        let head = match l.interp_root {
            InterpRoot::InterpHead => self.roots.interp_head.unwrap_or(0),
            InterpRoot::Runtime(off) => self.roots.runtime.unwrap_or(0) + off,
        };
        let old_head = self.mem_u64(head);
        put(&mut b, i.next, old_head);
        if let GilHolder::Interp { ceval_gil, .. } = l.gil {
            let gil = self.alloc(vec![0u8; 32]);
            put(&mut b, ceval_gil, gil);
        }
        let interp = self.alloc(b);
        self.set(head, interp);
        interp
    }

    /// Makes `tstate` (0: nobody) the GIL holder of `interp`.
    pub fn set_gil_holder(&mut self, interp: u64, tstate: u64) {
        match self.layout.gil {
            GilHolder::CurrentSymbol => self.set(self.roots.tstate_current.unwrap_or(0), tstate),
            GilHolder::Runtime(off) => self.set(self.roots.runtime.unwrap_or(0) + off, tstate),
            GilHolder::Interp {
                ceval_gil,
                last_holder,
                locked,
            } => {
                let gil = self.mem_u64(interp + ceval_gil);
                self.set(gil + last_holder, tstate);
                self.mem
                    .patch(gil + locked, &u32::from(tstate != 0).to_le_bytes());
            }
            GilHolder::Disabled => {}
        }
    }

    /// A frame running `code` at `at`, in the thread's own copy `index` (> 0) of the bytecode
    /// (3.14t, `co_tlbc`), which this creates and lists in the code object.
    pub fn frame_in_copy(&mut self, code: u64, back: u64, at: u32, index: u32) -> u64 {
        let (Some(tlbc), Frame::Interpreter { tlbc_index, .. }) =
            (self.layout.code.tlbc, self.layout.frame)
        else {
            panic!("the layout has no per-thread bytecode");
        };
        let copy = self.alloc(vec![0u8; 64]);
        let main = code + self.layout.code.code_adaptive.unwrap_or(0);
        let mut array = vec![0u8; 8 + 8 * (index as usize + 1)];
        put(&mut array, 0, u64::from(index) + 1);
        for i in 0..index as u64 {
            put(&mut array, 8 + 8 * i, main);
        }
        put(&mut array, 8 + 8 * u64::from(index), copy);
        let array = self.alloc(array);
        self.set(code + tlbc, array);
        let frame = self.frame_at(code, back, 0, at);
        let Frame::Interpreter { instr, .. } = self.layout.frame else {
            unreachable!()
        };
        self.set(frame + instr, copy + 2 * u64::from(at));
        self.mem.patch(
            frame + tlbc_index.expect("with co_tlbc"),
            &index.to_le_bytes(),
        );
        frame
    }

    pub fn mem_u64(&self, addr: u64) -> u64 {
        use crate::memory::Memory;
        self.mem.u64(addr).expect("mapped")
    }
}
