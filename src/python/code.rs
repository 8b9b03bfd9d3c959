//! Code objects: their headers read in one batch per stack, checked to be code objects, cached
//! by address (with a cheap check that the address still holds the same object), their line
//! tables cached once per table object, and the line a frame is at.
//!
//! The cache is bounded in entries and in bytes, whatever the target holds, and keeps only what
//! was seen lately (what no stack used for a second or two is dropped), so a target that makes
//! new code objects all the time does not make it grow: many code objects sharing one large line
//! table cost that table once, and a line decoded once for a (table, position) is remembered, so
//! a stack of a thousand frames over one huge table does not decode it a thousand times. A part that cannot be read is a placeholder (`<unreadable>`, line 0),
//! never a lost stack.

use crate::hash::Map;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::layout::{Layout, LineFormat};
use super::types::{Kind as TypeKind, Types};
use super::walk::{Code, Frame, WalkError};
use super::{lines, strings};
use crate::budget::{Budget, Exhausted};
use crate::bytes::{i32_at, i64_at, u64_at};
use crate::memory::{Memory, Prefetched};

/// Code objects remembered between samples.
const MAX_CACHED: usize = 16_384;
/// Bytes of names and line tables remembered between samples.
const MAX_CACHED_BYTES: usize = 24 << 20;
/// Lines remembered by (table, co_firstlineno, position), for tables above `SMALL_TABLE`.
const MAX_LINES: usize = 65_536;
/// Line tables up to this size are decoded every time rather than looked up.
const SMALL_TABLE: usize = 1024;
/// How often what was not used since the sweep before is dropped.
const SWEEP: Duration = Duration::from_secs(1);

/// Where a frame is in its code: a byte offset (to 3.10) or an instruction pointer (3.11+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// None when the line table could not be read: the line is then 0.
    table: Option<Rc<[u8]>>,
    /// The sweep generation it was last used in.
    used: u32,
}

/// A line table, by the address of its `bytes` object, with the length it had.
struct Table {
    len: i64,
    data: Rc<[u8]>,
}

#[derive(Default)]
pub struct Codes {
    entries: Map<u64, Entry>,
    tables: Map<u64, Table>,
    lines: Map<(u64, i32, i64), i32>,
    /// Bytes held by `entries` and `tables`.
    bytes: usize,
    types: Types,
    generation: u32,
    swept: Option<Instant>,
}

impl Codes {
    /// The frames running the code objects in `raw` (innermost first), one per entry: a code
    /// object that cannot be read, or an object that is not one, is an unreadable frame.
    /// Errors only when the process is gone, memory cannot be read at all, or the stopped time
    /// ran out.
    pub fn frames(
        &mut self,
        mem: &dyn Memory,
        layout: &Layout,
        code_type: Option<u64>,
        budget: &Budget,
        raw: &[(u64, Lasti)],
    ) -> Result<Vec<Frame>, WalkError> {
        self.sweep();
        let mut addrs: Vec<u64> = raw.iter().map(|r| r.0).collect();
        addrs.sort_unstable();
        addrs.dedup();
        let len = layout.code_read_len();
        let batch = Prefetched::read(mem, &addrs, len).map_err(WalkError::read("code objects"));
        let batch = keep_fatal(batch)?;
        // The frames of each code object are made right after its entry is made current, so
        // that the cache may start over at any code object without losing one.
        let mut order: Vec<usize> = (0..raw.len()).collect();
        order.sort_by_key(|&i| raw[i].0);
        let mut frames: Vec<Option<Frame>> = vec![None; raw.len()];
        let mut single = [0u8; 256];
        for group in order.chunk_by(|&a, &b| raw[a].0 == raw[b].0) {
            let addr = raw[group[0]].0;
            let header = match batch.as_ref().and_then(|b| b.get(addr)) {
                Some(h) => Ok(h),
                None => {
                    let buf = &mut single[..len.min(256)];
                    mem.read(addr, buf)
                        .map(|()| &buf[..])
                        .map_err(WalkError::read("code object"))
                }
            };
            let known = match keep_fatal(header)? {
                Some(h) => self.update(mem, layout, code_type, addr, h)?,
                None => false,
            };
            // Frames of one code object at one position (a recursion) are named once.
            let mut last: Option<(Lasti, Frame)> = None;
            for &i in group {
                let frame = match (&last, known) {
                    (Some((at, frame)), _) if *at == raw[i].1 => frame.clone(),
                    (_, true) => self.frame(layout, budget, addr, raw[i].1)?,
                    (_, false) => Frame::unreadable(),
                };
                last = Some((raw[i].1, frame.clone()));
                frames[i] = Some(frame);
            }
        }
        Ok(frames.into_iter().flatten().collect())
    }

    /// Makes sure the code object at `addr` (whose first bytes are `b`) has a current entry.
    /// False if it is not a code object.
    fn update(
        &mut self,
        mem: &dyn Memory,
        layout: &Layout,
        code_type: Option<u64>,
        addr: u64,
        b: &[u8],
    ) -> Result<bool, WalkError> {
        let c = &layout.code;
        let (Some(ob_type), Some(filename), Some(name), Some(linetable), Some(firstlineno)) = (
            u64_at(b, layout.objects.ob_type as usize),
            u64_at(b, c.filename as usize),
            u64_at(b, c.name as usize),
            u64_at(b, c.linetable as usize),
            i32_at(b, c.firstlineno as usize),
        ) else {
            return Ok(false);
        };
        if self.types.of_type(mem, layout, code_type, ob_type)? != TypeKind::Code {
            return Ok(false);
        }
        let key = Key {
            ob_type,
            filename,
            name,
            linetable,
            firstlineno,
        };
        let generation = self.generation;
        if let Some(e) = self.entries.get_mut(&addr).filter(|e| e.key == key) {
            e.used = generation;
            return Ok(true);
        }
        let code = Code {
            filename: or_unreadable(strings::read_str(mem, layout, &mut self.types, filename))?,
            name: or_unreadable(strings::read_str(mem, layout, &mut self.types, name))?,
            kind: super::walk::FrameKind::Python,
        };
        let table = self.table(mem, layout, linetable)?;
        let size = code.filename.len() + code.name.len();
        if self.entries.len() >= MAX_CACHED || self.bytes + size > MAX_CACHED_BYTES {
            self.clear();
            // The table just read stays: this entry uses it.
            if let Some(t) = &table {
                self.bytes += t.len();
                self.tables.insert(
                    linetable,
                    Table {
                        len: t.len() as i64,
                        data: t.clone(),
                    },
                );
            }
        }
        self.bytes += size;
        let old = self.entries.insert(
            addr,
            Entry {
                key,
                code: Rc::new(code),
                table,
                used: generation,
            },
        );
        if let Some(old) = old {
            self.bytes = self
                .bytes
                .saturating_sub(old.code.filename.len() + old.code.name.len());
        }
        Ok(true)
    }

    /// The line table at `addr`, from the cache when the object there still has the length it
    /// had, else read (and cached if the cache has room).
    fn table(
        &mut self,
        mem: &dyn Memory,
        layout: &Layout,
        addr: u64,
    ) -> Result<Option<Rc<[u8]>>, WalkError> {
        if let Some(t) = self.tables.get(&addr) {
            let mut b = [0u8; 8];
            let size_at = addr.wrapping_add(layout.objects.bytes_size);
            let now = keep_fatal(mem.read(size_at, &mut b).map_err(WalkError::read("bytes")))?;
            if now.is_some() && i64_at(&b, 0) == Some(t.len) {
                return Ok(Some(t.data.clone()));
            }
        }
        let read =
            strings::read_bytes(mem, layout, &mut self.types, addr, strings::MAX_TABLE_BYTES);
        let Some(data) = keep_fatal(read)? else {
            return Ok(None);
        };
        let data: Rc<[u8]> = data.into();
        if self.bytes + data.len() <= MAX_CACHED_BYTES {
            self.bytes += data.len();
            let old = self.tables.insert(
                addr,
                Table {
                    len: data.len() as i64,
                    data: data.clone(),
                },
            );
            if let Some(old) = old {
                self.bytes = self.bytes.saturating_sub(old.data.len());
            }
        }
        Ok(Some(data))
    }

    /// Once a `SWEEP`: drops the code objects not used since the sweep before, the line tables
    /// only they used, and the remembered lines.
    fn sweep(&mut self) {
        let now = Instant::now();
        let first = match self.swept {
            Some(t) if now.duration_since(t) < SWEEP => return,
            swept => swept.is_none(),
        };
        self.swept = Some(now);
        if !first {
            self.drop_unused();
        }
    }

    /// Drops the code objects used in neither this sweep generation nor the one before, and
    /// starts a new one.
    pub(super) fn drop_unused(&mut self) {
        let (current, recent) = (self.generation, self.generation.wrapping_sub(1));
        self.entries
            .retain(|_, e| e.used == current || e.used == recent);
        self.tables.retain(|_, t| Rc::strong_count(&t.data) > 1);
        self.lines.clear();
        let names: usize = self
            .entries
            .values()
            .map(|e| e.code.filename.len() + e.code.name.len())
            .sum();
        self.bytes = names + self.tables.values().map(|t| t.data.len()).sum::<usize>();
        self.generation = current.wrapping_add(1);
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.tables.clear();
        self.lines.clear();
        self.bytes = 0;
    }

    /// The frame running the (updated) code object at `addr`, at `at`.
    fn frame(
        &mut self,
        layout: &Layout,
        budget: &Budget,
        addr: u64,
        at: Lasti,
    ) -> Result<Frame, WalkError> {
        let Some(e) = self.entries.get(&addr) else {
            return Ok(Frame::unreadable());
        };
        let c = &layout.code;
        let first = e.key.firstlineno;
        let position = match (c.lines, at) {
            (LineFormat::Lnotab { .. } | LineFormat::Table310, Lasti::Bytes(l)) => i64::from(l),
            // A position pyflame could not work out (a garbage bytecode copy, 3.14t).
            (LineFormat::Location, Lasti::Instr(0)) => i64::MIN,
            (LineFormat::Location, Lasti::Instr(ip)) => {
                let start = addr.wrapping_add(c.code_adaptive.unwrap_or(0));
                (ip.wrapping_sub(start) as i64) / 2
            }
            _ => i64::MIN,
        };
        let code = e.code.clone();
        let line = match &e.table {
            None => 0,
            Some(_) if position == i64::MIN => 0,
            // A small table decodes faster than a lookup.
            Some(table) if table.len() <= SMALL_TABLE => decode(c.lines, table, first, position),
            Some(table) => {
                let key = (e.key.linetable, first, position);
                match self.lines.get(&key) {
                    Some(&line) => line,
                    None => {
                        // Decoding a large table takes time: only while the budget has some.
                        match budget.check() {
                            Err(Exhausted::Stopped) => {
                                return Err(WalkError::Budget(Exhausted::Stopped))
                            }
                            Err(_) => 0,
                            Ok(()) => {
                                let line = decode(c.lines, table, first, position);
                                if self.lines.len() >= MAX_LINES {
                                    self.lines.clear();
                                }
                                self.lines.insert(key, line);
                                line
                            }
                        }
                    }
                }
            }
        };
        Ok(Frame { code, line })
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub fn cached_bytes(&self) -> usize {
        self.bytes
    }
}

/// The line at `position` (bytes to 3.10, code units from 3.11) of a table in `format`.
fn decode(format: LineFormat, table: &[u8], first: i32, position: i64) -> i32 {
    let at = position.clamp(-1, i64::from(i32::MAX)) as i32;
    match format {
        LineFormat::Lnotab { signed } => lines::lnotab_line(table, first, at, signed),
        LineFormat::Table310 => lines::linetable310_line(table, first, at),
        LineFormat::Location => lines::location_table_line(table, first, at),
    }
}

/// `<unreadable>` for a name that is garbage or cannot be read; errors that end the walk
/// (the process is gone, memory cannot be read at all, a budget ran out) pass.
fn or_unreadable(r: Result<String, WalkError>) -> Result<String, WalkError> {
    Ok(keep_fatal(r)?.unwrap_or_else(|| super::walk::UNREADABLE.to_string()))
}

/// Ok(None) for a failure confined to one object (garbage, an unmapped address); the errors
/// that concern the whole walk stay errors.
fn keep_fatal<T>(r: Result<T, WalkError>) -> Result<Option<T>, WalkError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_local() => Ok(None),
        Err(e) => Err(e),
    }
}
