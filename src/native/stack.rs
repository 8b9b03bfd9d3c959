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

use super::cfi::{self, Arch, Regs, UnwindTable};
use super::symbols::Symbols;
use crate::elf::Elf;
use crate::hash::Map;
use crate::memory::Memory;
use crate::proc::{self, Mapping};
use crate::sys::ptrace;

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
    fn at(&mut self, pc: u64) -> Option<(&mut Object, u64)> {
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
            let object = load(self.pid, m, eval, &mut self.bytes);
            self.by_file.insert(key.clone(), object);
        }
        let (start, offset) = (m.start, m.offset);
        let object = self.by_file.get_mut(&key)?.as_mut()?;
        let bias = object.elf.load_bias(start, offset)?;
        Some((object, bias))
    }
}

/// The file mappings of process `pid`, by address.
fn file_maps(pid: i32) -> std::io::Result<Vec<Mapping>> {
    let mut maps = proc::maps(pid)?;
    maps.retain(|m| m.is_file());
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

/// The registers of stopped thread `tid`, as the unwinder numbers them.
pub fn registers(tid: i32) -> std::io::Result<Regs> {
    let mut words = [0u64; 40];
    let n = ptrace::regset(tid, &mut words)?;
    let words = &words[..n.min(words.len())];
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    #[cfg(target_arch = "x86_64")]
    let regs = {
        // struct user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi
        // orig_rax rip cs eflags rsp ...; DWARF numbers rax rdx rcx rbx rsi rdi rbp rsp r8-r15.
        const DWARF: [usize; 16] = [10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0];
        let mut regs = Regs::new(ARCH, word(16), word(19), word(4));
        for (reg, &i) in DWARF.iter().enumerate() {
            regs.set(reg as u16, Some(word(i)));
        }
        regs
    };
    #[cfg(target_arch = "aarch64")]
    let regs = {
        // struct user_pt_regs: x0-x30, sp, pc, pstate; DWARF numbers x0-x30, sp.
        let mut regs = Regs::new(ARCH, word(32), word(31), word(29));
        for reg in 0..31 {
            regs.set(reg as u16, Some(word(reg)));
        }
        regs
    };
    Ok(regs)
}

/// What a stopped thread's machine stack is unwound from once the thread runs again: its
/// registers, the stack from its stack pointer up, and the system call it is in.
pub struct Snapshot {
    regs: Regs,
    window: Vec<u8>,
    /// The system call number (/proc/PID/task/TID/syscall), when the thread is in one and
    /// it was asked for.
    pub syscall: Option<u64>,
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot {
            regs: Regs::new(ARCH, 0, 0, 0),
            window: Vec::new(),
            syscall: None,
        }
    }

    /// Takes the snapshot of stopped thread `tid` of process `pid`, with `window` bytes of
    /// its stack at most (reusing this one's memory), and its system call if `syscall`.
    pub fn take(
        &mut self,
        (pid, tid): (i32, i32),
        mem: &dyn Memory,
        window: usize,
        syscall: bool,
    ) -> std::io::Result<()> {
        self.regs = registers(tid)?;
        self.window.resize(window.min(STACK_WINDOW), 0);
        let sp = self.regs.sp().unwrap_or(0);
        let got = mem.read_prefix(sp, &mut self.window).unwrap_or(0);
        self.window.truncate(got);
        self.syscall = syscall.then(|| proc::task_syscall(pid, tid)).flatten();
        Ok(())
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
        let Some((object, bias)) = objects.at(at) else {
            return (frames, End::NoObject);
        };
        let offset = at.wrapping_sub(bias);
        frames.push(NativeFrame {
            pc: regs.pc,
            object: object.name.clone(),
            function: object.name(offset),
            offset,
        });
        let row = object.table.as_ref().and_then(|t| t.row(offset));
        let caller = match row {
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
            // A signal's return trampoline without call-frame information (musl's): the
            // interrupted code's registers are in the ucontext the kernel left at sp.
            None if !exact && sigreturn_at(mem, regs.pc) => {
                mark_trampoline(&mut frames, regs.pc.wrapping_sub(bias));
                exact = true;
                sigreturn_caller(&regs, &read)
            }
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

/// Names the last frame, a signal's return trampoline at `offset`, as gdb does: the code it
/// leads back to was interrupted by a signal whose handler is the frame inner of it.
fn mark_trampoline(frames: &mut [NativeFrame], offset: u64) {
    if let Some(last) = frames.last_mut() {
        last.offset = offset;
        last.function = Some((Rc::from("<signal handler called>"), 0));
    }
}

/// x86-64's rt_sigreturn trampoline: `mov $15, %rax; syscall` (musl's `__restore_rt`).
#[cfg(target_arch = "x86_64")]
const SIGRETURN: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];

/// Whether the code at `pc` is the rt_sigreturn trampoline (its bytes, read from the process).
fn sigreturn_at(mem: &dyn Memory, pc: u64) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let mut code = [0u8; 9];
        mem.read(pc, &mut code).is_ok() && code == SIGRETURN
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (mem, pc);
        false
    }
}

/// The interrupted code's registers, from the `ucontext_t` at the trampoline's sp: after
/// uc_flags, uc_link and uc_stack (40 bytes), `struct sigcontext`'s r8-r15, rdi, rsi, rbp,
/// rbx, rdx, rax, rcx, rsp, rip (x86-64).
fn sigreturn_caller(regs: &Regs, read: &dyn Fn(u64) -> Option<u64>) -> Option<Regs> {
    // DWARF numbers (rax rdx rcx rbx rsi rdi rbp rsp r8-r15) as sigcontext words.
    const WORD: [u64; 16] = [13, 12, 14, 11, 9, 8, 10, 15, 0, 1, 2, 3, 4, 5, 6, 7];
    let mcontext = regs.sp()?.checked_add(40)?;
    let word = |i: u64| read(mcontext.checked_add(8 * i)?);
    let mut caller = Regs::new(ARCH, word(16)?, word(15)?, word(10)?);
    for (reg, &i) in WORD.iter().enumerate() {
        caller.set(reg as u16, word(i));
    }
    Some(caller)
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
