//! The `asyncio` fuzz target's entry point (see `fuzz`): a fuzzed fake process read as
//! `-d --async` and `--async` samples read it, checked against the reader's bounds.

use super::{split, InputMemory};
use crate::budget;
use crate::memory::Memory;
use crate::python::asyncio::{self as tasks, Offsets, Running, Tasks, MAX_TASKS};
use crate::python::debug_offsets;
use crate::python::layout::asyncio as asyncio_row;
use crate::python::layout::for_version;
use crate::python::version::Version;
use crate::python::walk::{FrameKind, Roots, Thread, Walker};
use crate::python::{Runtime, Source as LayoutSource};

/// Where the memory image of an `asyncio` input starts: where a unit test's fake process
/// (`python::fake`) makes its first object, so that one is a seed as it stands.
pub(crate) const IMAGE_BASE: u64 = 0x10_0000;
/// The bytes of `_Py_AsyncioModuleDebugOffsets` (13 members).
const ASYNCIO_TABLE: usize = 13 * 8;
/// `asyncio`'s header: the flag byte and three offsets into the image.
pub(crate) const ASYNCIO_HEADER: usize = 13;
/// Tasks awaiting one another in a sample's chain, at most (`running::MAX_DEPTH`).
const MAX_LABELS: usize = 64;
/// Coroutines of a task's stack, at most (`objects::MAX_CHAIN`).
const MAX_CHAIN: usize = 256;

/// asyncio's tasks (`--async`): a flag byte, then three little-endian u32 offsets into the
/// image: `_PyRuntime`, `PyCode_Type`, and (3.14+) the `_asyncio` module's debug offsets;
/// then the image, the target's memory from `IMAGE_BASE` on. The flag's bits 0-2 choose the
/// version: 0-4 are 3.8-3.12 (pyflame's table rows, tasks through asyncio's globals); 5-7
/// read the layout from the image's `_Py_DebugOffsets` (3.13 and later), and the version it
/// names picks the task reader as `asyncio::find` does (globals to 3.13, lists from 3.14).
/// Bit 3 reads the tasks with a sample's budget rather than a dump's (cuts). The tasks are
/// read and written as `-d --async` does, then two samples are labelled as `--async` does
/// (the second with what the first remembered).
pub fn asyncio(data: &[u8]) {
    let _ = asyncio_run(data);
}

/// `asyncio`'s work: the tasks read and the threads of the last sample as labelled, checked
/// against the reader's bounds. None when the input names no layout or no offsets.
pub(crate) fn asyncio_run(data: &[u8]) -> Option<(Tasks, Vec<Thread>)> {
    let (head, image) = split::<ASYNCIO_HEADER>(data)?;
    let at = |i: usize| {
        let word = [head[i], head[i + 1], head[i + 2], head[i + 3]];
        IMAGE_BASE + u64::from(u32::from_le_bytes(word))
    };
    let mem = InputMemory {
        base: IMAGE_BASE,
        bytes: image,
    };
    let roots = Roots {
        runtime: Some(at(1)),
        code_type: Some(at(5)),
        ..Roots::default()
    };
    let mut table = [0u8; debug_offsets::READ_LEN];
    let (version, layout, source) = match head[0] & 7 {
        m @ 0..=4 => {
            let layout = *for_version(3, 8 + m)?;
            (Version::new(3, 8 + m, None), layout, LayoutSource::Table)
        }
        _ => {
            let n = mem.read_prefix(at(1), &mut table).ok()?;
            let (v, layout) = debug_offsets::layout(&table[..n]).ok()?;
            (v, layout, LayoutSource::DebugOffsets)
        }
    };
    let runtime = Runtime {
        version,
        layout,
        roots,
        source,
        path: String::new(),
    };
    let offsets = match asyncio_row(version.major, version.minor) {
        // `find` reads no file for these (the /proc look-up is 3.14's alone).
        Some(_) => tasks::find(0, &runtime, &mem).ok()?,
        None => {
            let mut t = [0u8; ASYNCIO_TABLE];
            mem.read(at(9), &mut t).ok()?;
            tasks::offsets(&table, &t, version.minor).ok()?
        }
    };
    let limits = match head[0] & 8 {
        0 => budget::DUMP,
        _ => budget::SAMPLE,
    };
    let mut w = Walker::new(&mem, layout, roots);
    let threads = w.all_threads().map(|(t, _)| t).unwrap_or_default();
    w.begin(limits);
    let read = tasks::read(&mut w, &offsets, &threads).ok();
    if let Some(read) = &read {
        assert_tasks_bounded(read, &offsets, &threads);
        let thread = |t: u64| Some(format!("{t:#x}"));
        let _ = crate::output::tasks::write(&mut std::io::sink(), read, &thread);
    }
    let mut running = Running::with_offsets(0, runtime, offsets);
    let mut labelled = Vec::new();
    for _ in 0..2 {
        labelled = threads.clone();
        w.begin(budget::SAMPLE);
        running.label(&mem, &mut w, &mut labelled);
        for (before, after) in threads.iter().zip(&labelled) {
            assert_labels_only_added(before, after);
        }
    }
    Some((read.unwrap_or_default(), labelled))
}

/// What `asyncio::read` returns stays within its bounds, whatever the memory held.
fn assert_tasks_bounded(read: &Tasks, o: &Offsets, threads: &[Thread]) {
    assert!(
        read.tasks.len() + read.unreadable <= MAX_TASKS,
        "{}",
        read.unreadable
    );
    let mut addrs: Vec<u64> = read.tasks.iter().map(|t| t.addr).collect();
    addrs.sort_unstable();
    addrs.dedup();
    assert_eq!(addrs.len(), read.tasks.len(), "a task read twice");
    let deepest = threads.iter().map(|t| t.frames.len()).max().unwrap_or(0);
    for t in &read.tasks {
        assert!(
            t.frames.len() <= MAX_CHAIN.max(deepest),
            "{}",
            t.frames.len()
        );
        // Before 3.14 who awaits a task is the reverse of what the tasks read await.
        if o.globals.is_some() {
            let mut by = t.awaited_by.clone();
            by.sort_unstable();
            by.dedup();
            assert_eq!(by.len(), t.awaited_by.len(), "an awaiting task twice");
            assert!(by.iter().all(|b| addrs.binary_search(b).is_ok()));
        }
    }
    let mut loops: Vec<u64> = read.loops.iter().map(|l| l.addr).collect();
    loops.dedup();
    assert_eq!(loops.len(), read.loops.len(), "loops sorted, each once");
}

/// A sample's frames after labelling: those read (the same, or the innermost of them down to
/// the running coroutine's), then at most `MAX_LABELS` task labels.
fn assert_labels_only_added(before: &Thread, after: &Thread) {
    let labels = after
        .frames
        .iter()
        .rev()
        .take_while(|f| f.code.kind == FrameKind::Label)
        .count();
    assert!(labels <= MAX_LABELS, "{labels} labels");
    let kept = &after.frames[..after.frames.len() - labels];
    assert!(before.frames.starts_with(kept), "frames changed");
    assert!(labels == 0 || !kept.is_empty(), "labels without a frame");
}
