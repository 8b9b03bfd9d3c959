//! A stopped thread's machine stack: its registers, then one caller after another by the call-
//! frame information of the object each pc is in (the frame-pointer chain where an object has
//! none), each frame named from its object's symbols.
//!
//! The objects are the target's own files, opened through /proc/PID/root (a container's
//! libraries, not the host's), parsed once per device and inode. Everything read is bounded:
//! frames per stack, bytes of stack, the caps of `cfi` and `symbols`; a stack that cannot be
//! followed further ends where it could, and says why (`End`).

use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::cfi::{self, Arch, UnwindTable};
use super::perf;
use super::signal::{mark_trampoline, sigreturn_at, sigreturn_caller};
pub use super::snapshot::Snapshot;
use super::symbols::Symbols;
use crate::elf::Elf;
use crate::hash::Map;
use crate::memory::Memory;
use crate::proc::{self, Mapping};

/// Frames of one stack, at most.
pub const MAX_FRAMES: usize = 256;
/// Words of one stack read from the process beyond its snapshot, at most.
const MAX_LIVE_READS: usize = 1024;
/// Bytes of stack kept from the stack pointer up, at most (reads beyond go to the process).
pub const STACK_WINDOW: usize = 256 << 10;
/// Objects whose tables are kept, at most (then the cache starts over).
const MAX_OBJECTS: usize = 512;
/// How often, at most, the mappings are read again for a pc in none of them.
const MAPS_TTL: Duration = Duration::from_secs(1);
/// Bytes of call-frame sections and symbol index kept for all objects, at most: an object
/// loaded beyond it has neither (frame pointers only, no names). Each object's own are capped
/// by `cfi` and `symbols`; a target that maps many large crafted files is bounded here.
const MAX_TABLE_BYTES: usize = 256 << 20;

/// The object named for code in anonymous memory.
pub const ANONYMOUS: &str = "[anon]";
/// The name /proc/PID/maps gives the kernel's virtual shared object.
const VDSO: &str = "[vdso]";

#[cfg(target_arch = "x86_64")]
pub const ARCH: Arch = Arch::X86_64;
#[cfg(target_arch = "aarch64")]
pub const ARCH: Arch = Arch::Aarch64;

/// One native frame: where it is, the object it is in (the file name), and its function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeFrame {
    pub pc: u64,
    pub object: Rc<str>,
    /// The function and pc's offset in it; None where no symbol names it.
    pub function: Option<(Rc<str>, u64)>,
    /// The pc's address in the object's own terms (what `addr2line -e object` takes).
    pub offset: u64,
}

/// Why a stack ends where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The outermost frame: its return address is undefined or zero.
    Root,
    /// A pc in no file mapping (JIT code, a corrupted stack).
    NoObject,
    /// The caller's registers could not be computed (no rule, unreadable stack, a bad table).
    Lost,
    /// `MAX_FRAMES`, or a stack pointer that did not grow towards the caller (a loop).
    Cut,
}

/// One object file: its headers (which say how far a mapping of it is loaded from its own
/// addresses), its unwind table and symbols.
struct Object {
    name: Rc<str>,
    elf: Elf,
    table: Option<UnwindTable>,
    symbols: Option<Symbols>,
    /// The vdso, whose AArch64 signal return trampoline is read by its code, not its table.
    vdso: bool,
    /// Names already looked up, by offset.
    names: Map<u64, Option<(Rc<str>, u64)>>,
    /// The interpreter's evaluation loop, where no symbol names it (see `Objects::interpreter`).
    eval: Option<(Rc<str>, u64, u64)>,
}

/// The objects of one process, by the mapping a pc falls in.
pub struct Objects {
    pid: i32,
    maps: Vec<Mapping>,
    /// When `maps` was read: it is read again when a pc is in none of them (a library loaded
    /// since), at most once per `MAPS_TTL`.
    read: Instant,
    by_file: Map<(String, u64), Option<Object>>,
    /// The file name of the interpreter's object and its evaluation loop's function.
    interpreter: Option<(String, &'static str)>,
    /// Bytes of tables kept (see `MAX_TABLE_BYTES`).
    bytes: usize,
}

impl Objects {
    /// The objects of process `pid` as mapped now.
    pub fn new(pid: i32) -> std::io::Result<Objects> {
        Ok(Objects {
            pid,
            maps: file_maps(pid)?,
            read: Instant::now(),
            by_file: Map::default(),
            interpreter: None,
            bytes: 0,
        })
    }

    /// Names the evaluation loop `eval` in the object `object` (a file name) where its symbols
    /// do not: a stripped interpreter (Debian's), or one whose loop the compiler cloned under
    /// a local name. The loop is by far the longest function CPython has (29-84 KiB, the next
    /// longest at most two thirds of it, 2.7 to 3.15); so the longest function the object's
    /// call-frame information describes, if the next is less than two thirds of it.
    pub fn interpreter(&mut self, object: &str, eval: &'static str) {
        self.interpreter = Some((object.to_string(), eval));
    }

    /// The object `pc` is in, loaded on first use, and how far that mapping of it is loaded
    /// from the object's own addresses; None outside any file mapping (after reading the
    /// mappings again, if that was not done lately) or for a file that cannot be read as ELF.
    /// The vdso is read from the process (`mem`).
    fn at(&mut self, pc: u64, mem: &dyn Memory) -> Option<(&mut Object, u64)> {
        let mapping = |maps: &[Mapping]| {
            let i = maps.partition_point(|m| m.start <= pc).checked_sub(1)?;
            (pc < maps[i].end).then_some(i)
        };
        let i = match mapping(&self.maps) {
            Some(i) => i,
            None if self.read.elapsed() >= MAPS_TTL => {
                self.read = Instant::now();
                self.maps = file_maps(self.pid).ok()?;
                mapping(&self.maps)?
            }
            None => return None,
        };
        let m = &self.maps[i];
        let key = (m.dev.clone(), m.inode);
        if !self.by_file.contains_key(&key) {
            if self.by_file.len() >= MAX_OBJECTS {
                self.by_file.clear();
                self.bytes = 0;
            }
            let eval = self
                .interpreter
                .as_ref()
                .filter(|(name, _)| name == m.file_name())
                .map(|&(_, eval)| eval);
            let object = match m.is_file() {
                true => load(self.pid, m, eval, &mut self.bytes),
                false => load_vdso(m, mem),
            };
            self.by_file.insert(key.clone(), object);
        }
        let (start, offset) = (m.start, m.offset);
        let object = self.by_file.get_mut(&key)?.as_mut()?;
        let bias = object.elf.load_bias(start, offset)?;
        Some((object, bias))
    }
}

/// Bytes of the vdso read, at most (it is 8 KiB on x86-64 and AArch64 Linux).
const MAX_VDSO: u64 = 1 << 20;

/// The vdso mapped by `m`, from a copy of its image: the kernel's code a thread may be
/// stopped in (x86-64's `clock_gettime` and friends, AArch64's signal return trampoline), with
/// its call-frame information and symbols.
/// It is copied into an anonymous file, read then as any object's.
fn load_vdso(m: &Mapping, mem: &dyn Memory) -> Option<Object> {
    let mut image = vec![0; m.end.checked_sub(m.start)?.min(MAX_VDSO) as usize];
    mem.read(m.start, &mut image).ok()?;
    let file = crate::sys::process::memory_file(c"pyflame-vdso", &image).ok()?;
    let elf = Elf::parse(&file).ok()?;
    let table = UnwindTable::from_elf(ARCH, &elf, &file).ok();
    Some(Object {
        name: Rc::from(VDSO),
        elf,
        table,
        symbols: Symbols::from_source(file).ok(),
        vdso: true,
        names: Map::default(),
        eval: None,
    })
}

/// The file mappings of process `pid`, and its vdso (the kernel's code: AArch64's signal
/// return trampoline is there), by address.
fn file_maps(pid: i32) -> std::io::Result<Vec<Mapping>> {
    let mut maps = proc::maps(pid)?;
    maps.retain(|m| m.is_file() || m.path == VDSO);
    crate::order::by_key(&mut maps, |m| m.start);
    Ok(maps)
}

/// Reads the object mapped by `m`: its unwind table and symbols (each may be absent, and
/// both are once `kept` bytes of them are), and where its evaluation loop `eval` is, for the
/// interpreter's.
fn load(pid: i32, m: &Mapping, eval: Option<&'static str>, kept: &mut usize) -> Option<Object> {
    let path = proc::in_root(pid, m.file_path());
    let file = std::fs::File::open(&path).ok()?;
    let elf = Elf::parse(&file).ok()?;
    let (mut table, mut symbols) = (None, None);
    if *kept < MAX_TABLE_BYTES {
        table = UnwindTable::from_elf(ARCH, &elf, &file).ok();
        let root = proc::in_root(pid, "/");
        symbols = Symbols::load(&path, Path::new(&root)).ok();
        let sections = [".eh_frame", ".eh_frame_hdr", ".debug_frame"];
        let sizes = sections
            .iter()
            .filter_map(|s| elf.section(s))
            .map(|s| s.sh_size as usize);
        let index = symbols.as_ref().map_or(0, |s| s.len() * 16);
        *kept = kept
            .saturating_add(sizes.sum::<usize>())
            .saturating_add(index);
    }
    let longest = eval.and_then(|_| table.as_ref()?.longest_fde());
    let eval = match (eval, longest) {
        (Some(name), Some(((start, end), second))) if second < (end - start) / 3 * 2 => {
            Some((Rc::from(name), start, end))
        }
        _ => None,
    };
    Some(Object {
        name: Rc::from(m.file_name()),
        elf,
        table,
        symbols,
        vdso: false,
        names: Map::default(),
        eval,
    })
}

impl Object {
    fn name(&mut self, offset: u64) -> Option<(Rc<str>, u64)> {
        if let Some(known) = self.names.get(&offset) {
            return known.clone();
        }
        let named = self.symbols.as_ref().and_then(|s| s.name(offset));
        let eval = || {
            let (name, start, end) = self.eval.as_ref()?;
            (*start <= offset && offset < *end).then(|| (name.clone(), offset - start))
        };
        let found = named.map(|(n, off)| (Rc::from(n), off)).or_else(eval);
        if self.names.len() < 4096 {
            self.names.insert(offset, found.clone());
        }
        found
    }
}

/// A thread's machine stack as its snapshot found it, innermost first, how it ends, and how
/// many bytes above the stack pointer it read (memory beyond the snapshot's window is read
/// from the process as it is now).
pub struct Unwound {
    pub frames: Vec<NativeFrame>,
    pub end: End,
    pub depth: usize,
}

pub fn unwind(objects: &mut Objects, mem: &dyn Memory, snap: &Snapshot) -> Unwound {
    let depth = std::cell::Cell::new(0usize);
    let (frames, end) = walk(objects, mem, snap, &depth);
    Unwound {
        frames,
        end,
        depth: depth.get(),
    }
}

fn walk(
    objects: &mut Objects,
    mem: &dyn Memory,
    snap: &Snapshot,
    depth: &std::cell::Cell<usize>,
) -> (Vec<NativeFrame>, End) {
    let regs = snap.regs;
    let sp = regs.sp().unwrap_or(0);
    let window = &snap.window;
    // Words read from the process (outside the snapshot) for one stack, at most: each is a
    // system call, and a corrupted stack could otherwise ask for one per register per frame.
    let live = std::cell::Cell::new(0usize);
    let read = |addr: u64| -> Option<u64> {
        let at = usize::try_from(addr.checked_sub(sp)?).ok()?;
        depth.set(depth.get().max(at.saturating_add(8)));
        match window.get(at..at.checked_add(8)?) {
            Some(b) => crate::bytes::u64_at(b, 0),
            None if live.get() < MAX_LIVE_READS => {
                live.set(live.get() + 1);
                mem.u64(addr).ok()
            }
            None => None,
        }
    };
    let mut frames = Vec::new();
    let mut regs = regs;
    // The innermost pc is where the thread is; a caller's is a return address, whose call
    // instruction ends just before it (unless the frame below was a signal's).
    let mut exact = true;
    loop {
        if frames.len() >= MAX_FRAMES {
            return (frames, End::Cut);
        }
        if regs.pc == 0 {
            return (frames, End::Root);
        }
        // Where the thread (or code a signal interrupted) was, not a call: a leaf, or code
        // before its prologue, may have no frame of its own yet (an AArch64 call pushes
        // nothing, so there the caller's sp is this one's).
        let interrupted = exact;
        let at = if exact { regs.pc } else { regs.pc - 1 };
        let Some((object, bias)) = objects.at(at, mem) else {
            // A return address into no object: one of CPython's perf trampolines, or the end.
            let Some(caller) = (!exact).then(|| perf::step(mem, &regs, &read)).flatten() else {
                return (frames, End::NoObject);
            };
            frames.push(NativeFrame {
                pc: regs.pc,
                object: Rc::from(ANONYMOUS),
                function: Some((Rc::from(perf::FUNCTION), 0)),
                offset: 0,
            });
            regs = caller;
            continue;
        };
        let offset = at.wrapping_sub(bias);
        frames.push(NativeFrame {
            pc: regs.pc,
            object: object.name.clone(),
            function: object.name(offset),
            offset,
        });
        let row = object.table.as_ref().and_then(|t| t.row(offset));
        // A signal's return trampoline without call-frame information (musl's), or whose
        // table unwinds to the interrupted code's caller (the AArch64 vdso's, from the frame
        // record the kernel leaves): the interrupted code's registers are in the ucontext the
        // kernel left at sp.
        let no_table = row.is_none() || object.vdso;
        let caller = match row {
            _ if !exact && no_table && sigreturn_at(mem, regs.pc) => {
                mark_trampoline(&mut frames, regs.pc.wrapping_sub(bias));
                exact = true;
                sigreturn_caller(&regs, &read)
            }
            Some(row) if row.outermost() => return (frames, End::Root),
            Some(row) => {
                let trampoline = row.signal_frame && !exact;
                exact = row.signal_frame;
                let caller = cfi::step(&row, &regs, &read);
                // A signal's return trampoline (glibc's FDE starts a byte early, so that the
                // return address less one finds it).
                if trampoline {
                    mark_trampoline(&mut frames, regs.pc.wrapping_sub(bias));
                }
                caller
            }
            // A zero frame pointer ends the chain: the outermost frame (`_start` clears it,
            // and a C library's without call-frame information for it is found so).
            None if regs.fp() == Some(0) => return (frames, End::Root),
            None => {
                exact = false;
                cfi::step_fp(&regs, &read)
            }
        };
        let Some(caller) = caller else {
            return (frames, End::Lost);
        };
        // The stack grows down: a caller's frame is above (or, for an interrupted frame, may
        // be at the same sp), or the walk loops.
        let (caller_sp, sp) = (caller.sp().unwrap_or(0), regs.sp().unwrap_or(0));
        let above = caller_sp > sp || (interrupted && caller_sp == sp);
        if !above && !exact {
            return (frames, End::Cut);
        }
        regs = caller;
    }
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
