//! The `asyncio` fuzz target's seeds (`tests/fuzz/seeds/asyncio`): the fake processes of the
//! unit tests, 3.8 to 3.13t (`fake_globals`) and 3.14 (`fake_tasks`), in the target's input
//! format (`fuzz::asyncio`: a header, then the memory from `IMAGE_BASE`). Each reaches the
//! tasks and a sample's chain, so the fuzzer starts deep; `write_asyncio_seeds` (ignored)
//! writes them again.

use std::path::PathBuf;

use super::fake_globals::{names, Old, VERSIONS};
use super::fake_tasks::{table, Py};
use crate::fuzz::{asyncio, asyncio_run, ASYNCIO_HEADER, IMAGE_BASE};
use crate::memory::Memory;
use crate::python::fake::FakePython;
use crate::python::walk::{FrameKind, Thread};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds/asyncio")
}

/// The input for the process `py`: the flag byte `which`, the offsets of its `_PyRuntime`, its
/// `PyCode_Type` and the `_asyncio` table at `table` (0: none), then its memory, compacted.
fn input(which: u8, py: &mut FakePython, table: u64) -> Vec<u8> {
    let (image, moved) = compact(py);
    let offset = |addr: u64| ((moved(addr) - IMAGE_BASE) as u32).to_le_bytes();
    let mut out = vec![which];
    out.extend(offset(py.roots.runtime.unwrap()));
    out.extend(offset(py.roots.code_type.unwrap()));
    out.extend(match table {
        0 => [0; 4],
        t => offset(t),
    });
    out.extend(image);
    out
}

/// The memory of `py` from `IMAGE_BASE`, its objects moved together (16-byte aligned, not
/// the fake's 256 bytes apart: a seed 10 times smaller is mutated where it matters), each
/// word that points into an object moved with it; and where an address went.
fn compact(py: &mut FakePython) -> (Vec<u8>, impl Fn(u64) -> u64) {
    let top = py.alloc(Vec::new());
    // (old start, bytes, new start) of each object, found by reading.
    let mut objects: Vec<(u64, Vec<u8>, u64)> = Vec::new();
    let (mut at, mut to) = (IMAGE_BASE, IMAGE_BASE);
    while at < top {
        let mut b = vec![0u8; (top - at) as usize];
        match py.mem.read_prefix(at, &mut b) {
            Ok(n) if n > 0 => {
                b.truncate(n);
                objects.push((at, b, to));
                to = (to + n as u64).next_multiple_of(16);
                at += n as u64;
            }
            _ => at += 1,
        }
    }
    let spans: Vec<(u64, u64, u64)> = objects
        .iter()
        .map(|(from, b, to)| (*from, b.len() as u64, *to))
        .collect();
    let moved = move |addr: u64| {
        let i = spans.partition_point(|s| s.0 <= addr).checked_sub(1);
        match i.map(|i| spans[i]) {
            Some((from, len, to)) if addr - from < len => to + (addr - from),
            _ => addr,
        }
    };
    let mut image = Vec::new();
    for (_, b, start) in &objects {
        image.resize((start - IMAGE_BASE) as usize, 0);
        for word in b.chunks(8) {
            match <[u8; 8]>::try_from(word) {
                Ok(w) => image.extend(moved(u64::from_le_bytes(w)).to_le_bytes()),
                Err(_) => image.extend(word),
            }
        }
    }
    (image, moved)
}

/// A 3.14 process: a thread runs fetch-1 (in `compute`, called by its coroutine `work`),
/// awaited by main; db sleeps, awaited (through a set) by fetch-1.
fn py314() -> Vec<u8> {
    let mut p = Py::new();
    let o = p.o;
    let run_once =
        p.py.code("/usr/lib/asyncio/base_events.py", "_run_once", 2000);
    let f_run = p.py.frame(run_once, 0);
    let work = p.coro("/app/main.py", "work", 30, 0, 0);
    p.py.set(work + o.gi_iframe + 8, f_run);
    let compute = p.py.code("/app/main.py", "compute", 40);
    let f_compute = p.py.frame(compute, work + o.gi_iframe);
    let t = p.tstate(f_compute);
    p.interp(&[t]);
    let lp = p.py.object("_UnixSelectorEventLoop", 0);
    let sleep = p.coro("/usr/lib/python3.14/asyncio/tasks.py", "sleep", 700, -1, 0);
    let main_coro = p.coro("/app/main.py", "main", 10, -1, 0);
    let (main, fetch1) = (p.named("main", main_coro, 0), p.named("fetch-1", work, 0));
    let db = p.named("db", sleep, 0);
    p.awaited_by(fetch1, main, false);
    let set = p.set(&[fetch1, 0, 0, 0], 1, 3);
    p.awaited_by(db, set, true);
    for (task, waiter) in [(main, fetch1), (fetch1, db), (db, 0)] {
        p.py.set(task + o.fut_loop, lp);
        p.py.set(task + o.task_fut_waiter, waiter);
    }
    p.link(t + o.tstate_tasks_head, &[main, fetch1, db]);
    p.py.set(t + o.tstate_running_task, fetch1);
    p.py.set(t + o.tstate_running_loop, lp);
    let table = p.py.alloc(table());
    input(6, &mut p.py, table)
}

/// Every seed, by file name.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = VERSIONS
        .iter()
        .map(|&(minor, ft)| {
            let (mut p, _) = Old::scene(minor, ft);
            let which = minor.min(13) - 8;
            let name = format!("3.{minor}{}", if ft { "t" } else { "" });
            (name, input(which, &mut p.py, 0))
        })
        .collect();
    out.push(("3.14".into(), py314()));
    // The tasks read with a sample's budget (flag bit 3).
    for name in ["3.11", "3.14"] {
        let mut seed = out.iter().find(|s| s.0 == name).unwrap().1.clone();
        seed[0] |= 8;
        out.push((format!("{name}-sample-budget"), seed));
    }
    out
}

/// The labels a sample of the first thread ends with.
fn labels(threads: &[Thread]) -> Vec<&str> {
    let frames = threads.first().map_or(&[][..], |t| &t.frames);
    let labels = frames.iter().filter(|f| f.code.kind == FrameKind::Label);
    labels.map(|f| f.code.name.as_str()).collect()
}

#[test]
fn every_seed_reaches_the_tasks_and_a_chain() {
    for (name, seed) in seeds() {
        let (tasks, threads) = asyncio_run(&seed).unwrap_or_else(|| panic!("{name}"));
        let want: &[&str] = match name.split('-').next().unwrap() {
            "3.14" => &["main", "fetch-1", "db"],
            "3.8" | "3.9" | "3.10" | "3.11" => &["main", "fetch-1", "fetch-2", "db"],
            _ => &["main", "fetch-1", "fetch-2", "db", "eager"],
        };
        assert_eq!(names(&tasks), want, "{name}");
        assert_eq!((tasks.unreadable, tasks.cut), (0, false), "{name}");
        assert_eq!(labels(&threads), ["task fetch-1", "task main"], "{name}");
    }
}

/// The committed seeds are these (`write_asyncio_seeds` writes them), and each reaches as deep.
#[test]
fn the_committed_seeds_reach_the_tasks() {
    for (name, _) in seeds() {
        let seed = std::fs::read(dir().join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (tasks, threads) = asyncio_run(&seed).unwrap_or_else(|| panic!("{name}"));
        assert!(tasks.tasks.len() >= 3, "{name}");
        assert_eq!(labels(&threads), ["task fetch-1", "task main"], "{name}");
    }
}

/// Inputs too short for a header, of a header alone, and of every byte value, with every
/// flag: nothing to read, never a panic.
#[test]
fn small_inputs_return() {
    let all: Vec<u8> = (0..=255).collect();
    assert!(asyncio_run(&all[..ASYNCIO_HEADER - 1]).is_none());
    for which in 0..16 {
        for rest in [&[][..], &all] {
            let mut input = vec![which; ASYNCIO_HEADER];
            input.extend_from_slice(rest);
            asyncio(&input);
            assert!(asyncio_run(&input).is_none_or(|(t, _)| t.tasks.is_empty()));
        }
    }
}

/// Every word of the memory of a seed of each kind (3.8: sized dict keys, frame objects;
/// 3.11: log2 keys, values or dict; 3.13t: `_Py_DebugOffsets`, a longer object header; 3.14:
/// task lists) replaced in turn by 0, by all ones, and by its own address: the target's checks
/// hold (see `fuzz::asyncio_run`).
#[test]
fn every_word_of_the_seeds_corrupted() {
    let kinds = ["3.8", "3.11", "3.13t", "3.14"];
    for (_, seed) in seeds().into_iter().filter(|(n, _)| kinds.contains(&&**n)) {
        let mut input = seed.clone();
        for at in (ASYNCIO_HEADER..seed.len() - 8).step_by(8) {
            let own = IMAGE_BASE + (at - ASYNCIO_HEADER) as u64;
            for word in [0, u64::MAX, own] {
                input[at..at + 8].copy_from_slice(&word.to_le_bytes());
                asyncio(&input);
            }
            input[at..at + 8].copy_from_slice(&seed[at..at + 8]);
        }
    }
}

/// Writes the seeds: `cargo test --lib write_asyncio_seeds -- --ignored` (`make_seeds` runs it).
#[test]
#[ignore]
fn write_asyncio_seeds() {
    std::fs::create_dir_all(dir()).unwrap();
    for (name, seed) in seeds() {
        std::fs::write(dir().join(name), seed).unwrap();
    }
}
