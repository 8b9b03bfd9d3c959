//! The task registry before 3.14 (`globals.rs`: `asyncio.tasks`' globals through
//! `sys.modules`) over hostile memory, in every layout from 3.8 to 3.13t: each test states
//! what `-d --async` reads (the tasks found, those that could not be read counted, a cut
//! said, every read within its bound), not only that it returns.

use super::super::dicts::MAX_ITEMS;
use super::super::fake_globals::{names, Old, Scene, VERSIONS};
use super::super::fake_tasks::Py;
use super::super::objects::MAX_REGISTRY_SET;
use super::super::{State, Task, Waiter};
use crate::budget::{self, Limits};
use crate::python::fake::put;
use crate::python::layout::{DictKeys, InterpRoot};

const UNMAPPED: u64 = 0xdead_0000;

impl Old {
    /// Makes the keys of `dict` garbage: 2^41 index slots (3.6-3.10's `dk_size`) or 2^200
    /// bytes of indices (3.11+'s `dk_log2_index_bytes`).
    fn garbage_keys(&mut self, dict: u64) {
        let keys = self.py.mem_u64(dict + self.g.row.ma_keys);
        match self.g.row.keys {
            DictKeys::Sized => self.py.set(keys + 8, 1 << 41),
            DictKeys::Log2 => self.py.mem.patch(keys + 9, &[200]),
        }
    }
}

fn frames(t: &Task) -> Vec<String> {
    let f = |f: &crate::python::walk::Frame| format!("{}:{}", f.code.name, f.line);
    t.frames.iter().map(f).collect()
}

/// The names the scene's dump shows: its four tasks, and the eager one from 3.12.
fn all(s: &Scene) -> Vec<&'static str> {
    let mut want = vec!["main", "fetch-1", "fetch-2", "db"];
    if s.eager != 0 {
        want.push("eager");
    }
    want
}

#[test]
fn a_sane_registry_reads_exactly() {
    for (minor, ft) in VERSIONS {
        let (p, s) = Old::scene(minor, ft);
        let t = p.dump();
        assert_eq!(names(&t), all(&s), "3.{minor}");
        let by: Vec<_> = t.tasks.iter().map(|t| t.awaited_by.clone()).collect();
        let want = [vec![], vec![s.main], vec![s.main], vec![s.fetch2]];
        assert_eq!(by[..4], want, "3.{minor}");
        let states: Vec<_> = t.tasks.iter().map(|t| t.state).collect();
        assert_eq!(states[..2], [State::Pending, State::Running]);
        let waiters: Vec<_> = t.tasks.iter().map(|t| t.waiter.clone()).collect();
        let future = |s: &str| Some(Waiter::Future(s.into()));
        let db = Some(Waiter::Task(s.db));
        let want = [
            future("_GatheringFuture"),
            None,
            db,
            future("asyncio.sleep"),
        ];
        assert_eq!(waiters[..4], want, "3.{minor}");
        let f: Vec<_> = t.tasks.iter().map(frames).collect();
        let want = [
            &["main:13"][..],
            &["compute:43", "work:33"],
            &["fetch:23"],
            &["sleep:703", "pool:53"],
        ];
        assert_eq!(f[..4], want, "3.{minor}");
        assert_eq!((t.unreadable, t.cut), (0, false));
        let loops: Vec<_> = t.loops.iter().map(|l| (l.addr, l.tstate)).collect();
        assert_eq!(loops, [(s.lp, Some(s.tstate))]);
    }
}

/// The WeakSet's set claims 2^32 entries in 2^32 slots: `MAX_REGISTRY_SET` slots are read
/// (1 MiB), the tasks in them found, and the dump says it was cut; so it does for a table cut
/// short, not for a whole table whose `used` is garbage.
#[test]
fn a_registry_set_claiming_billions_is_read_within_bounds() {
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let slots = MAX_REGISTRY_SET as usize + 64;
        let mut keys = vec![0; slots];
        keys[5] = p.weakref(s.main);
        keys[slots - 65] = p.weakref(s.db);
        keys[slots - 1] = p.weakref(s.fetch2);
        let set = p.set(&keys, 1 << 32, (1 << 32) - 1);
        p.with_data(&s.registry, set);
        let limits = Limits {
            bytes: 2 << 20,
            ..budget::DUMP
        };
        let (_, t, exhausted) = p.dump_with(limits);
        assert!(!exhausted, "3.{minor}: more than 2 MiB read");
        // fetch-2, past the slots read, is missing: said by the cut.
        let eager = (s.eager != 0).then_some("eager");
        let want: Vec<_> = ["main", "db"]
            .into_iter()
            .chain(eager)
            .chain(["fetch-1"])
            .collect();
        assert_eq!(names(&t), want, "3.{minor}");
        assert_eq!((t.unreadable, t.cut), (0, true), "3.{minor}");
        // 64 slots of a table of 256: cut. 256 slots claiming 2^40 keys: whole.
        let mut keys = vec![0; 64];
        keys[3] = p.weakref(s.main);
        let short = p.set(&keys, 2, 255);
        p.with_data(&s.registry, short);
        assert!(p.dump().cut, "3.{minor}");
        keys.resize(256, 0);
        let whole = p.set(&keys, 1 << 40, 255);
        p.with_data(&s.registry, whole);
        assert!(!p.dump().cut, "3.{minor}");
    }
}

/// Garbage keys in each dict on the way: `sys.modules` or the globals (no registry: no task,
/// no loop, nothing counted), `_current_tasks` (no task is running, every task still found),
/// the thread state's dict (its loop unknown, the tasks still found).
#[test]
fn dicts_with_garbage() {
    for (minor, ft) in VERSIONS {
        for dict in ["modules", "globals", "current", "tstate"] {
            let (mut p, s) = Old::scene(minor, ft);
            let r = &s.registry;
            let at = match dict {
                "modules" => r.modules,
                "globals" => r.globals,
                "current" => r.current,
                _ => match p.g.row.running_loop {
                    crate::python::layout::RunningLoop::Dict { dict, .. } => {
                        p.py.mem_u64(s.tstate + dict)
                    }
                    // 3.13 keeps the loop in the thread state: a loop there is garbage.
                    _ => {
                        p.py.set(s.tstate + p.g.tstate_size, UNMAPPED);
                        0
                    }
                },
            };
            if at != 0 {
                p.garbage_keys(at);
            }
            let t = p.dump();
            let what = format!("3.{minor} {dict}");
            let loops: Vec<_> = t.loops.iter().map(|l| (l.addr, l.tstate)).collect();
            match dict {
                "modules" | "globals" => {
                    assert_eq!((t.tasks.len(), t.loops.len()), (0, 0), "{what}");
                }
                "current" => {
                    assert_eq!(names(&t), all(&s), "{what}");
                    assert!(t.tasks.iter().all(|t| t.state == State::Pending), "{what}");
                    // Not running, fetch-1 shows its coroutine's own frame only.
                    assert_eq!(frames(&t.tasks[1]), ["work:33"], "{what}");
                    assert_eq!(loops, [(s.lp, Some(s.tstate))], "{what}");
                }
                _ if minor == 13 => {
                    assert_eq!(names(&t), all(&s), "{what}");
                    assert_eq!(loops, [(s.lp, None), (UNMAPPED, Some(s.tstate))], "{what}");
                }
                _ => {
                    assert_eq!(names(&t), all(&s), "{what}");
                    assert_eq!(loops, [(s.lp, None)], "{what}");
                }
            }
            assert_eq!((t.unreadable, t.cut), (0, false), "{what}");
        }
    }
}

/// A dict claiming 2^50 entries, and one claiming 60,000 over a table of three: garbage, and
/// a read cut short; a key that cannot be read is not the one looked for.
#[test]
fn dicts_claiming_more_than_they_hold() {
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let keys = p.py.mem_u64(s.registry.globals + p.g.row.ma_keys);
        let nentries = match p.g.row.keys {
            DictKeys::Sized => 32,
            DictKeys::Log2 => 24,
        };
        p.py.set(keys + nentries, 1 << 50);
        assert_eq!(p.dump().tasks.len(), 0, "3.{minor}");
        p.py.set(keys + nentries, 60_000);
        assert_eq!(p.dump().tasks.len(), 0, "3.{minor}");
        // sys.modules whose other key cannot be read.
        let (mut p, s) = Old::scene(minor, ft);
        let name = p.py.string("asyncio.tasks");
        let keys = p.keys(&[(UNMAPPED, 1), (name, s.registry.module)], true);
        p.py.set(s.registry.modules + p.g.row.ma_keys, keys);
        assert_eq!(names(&p.dump()), all(&s), "3.{minor}");
    }
}

/// main's `gather()` future claims 2^40 children: `MAX_ITEMS` are read, fetch-2 among them
/// found; over a list of three, the list cannot be read and main awaits no task, while the
/// tasks still read.
#[test]
fn a_gather_claiming_2_40_children() {
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let mut items = vec![0x5eed_0000; MAX_ITEMS as usize];
        items[MAX_ITEMS as usize - 1] = s.fetch2;
        let list = p.list(&items);
        p.py.set(list + p.g.row.list_size, 1 << 40);
        let gather = p.instance("_GatheringFuture", &[("_children", list)]);
        p.py.set(s.main + p.o.task_fut_waiter, gather);
        let t = p.dump();
        let by: Vec<_> = t.tasks.iter().map(|t| t.awaited_by.clone()).collect();
        assert_eq!(by[1..3], [vec![], vec![s.main]], "3.{minor}");
        let short = p.list(&[s.fetch1, s.fetch2, s.db]);
        p.py.set(short + p.g.row.list_size, 1 << 40);
        let gather = p.instance("_GatheringFuture", &[("_children", short)]);
        p.py.set(s.main + p.o.task_fut_waiter, gather);
        let t = p.dump();
        assert_eq!(names(&t), all(&s), "3.{minor}");
        assert!(t.tasks.iter().all(|t| !t.awaited_by.contains(&s.main)));
        assert_eq!((t.unreadable, t.cut), (0, false), "3.{minor}");
    }
}

/// The WeakSet after 100 of its tasks ended: 100 deleted slots (the `dummy` key, hash -1)
/// before the 4 live ones, and `used` 4: every task is found.
#[test]
fn a_registry_set_with_deleted_slots() {
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let mut keys = vec![p.dummy; 100];
        keys.resize(256, 0);
        for (i, t) in [s.main, s.fetch1, s.fetch2, s.db].into_iter().enumerate() {
            keys[200 + i] = p.weakref(t);
        }
        let data = p.set(&keys, 4, 255);
        p.with_data(&s.registry, data);
        let t = p.dump();
        assert_eq!(names(&t), all(&s), "3.{minor}");
        assert_eq!((t.unreadable, t.cut), (0, false), "3.{minor}");
    }
}

/// What cannot be read on the way to the tasks: `sys.modules`, the module's dict (no registry),
/// the WeakSet (the running and eager tasks still found), a weak reference or its object
/// (that task left out), the running task and a task object cut short (each counted).
#[test]
fn registry_pointers_into_unreadable_memory() {
    for (minor, ft) in VERSIONS {
        let v = format!("3.{minor}");
        let (mut p, _) = Old::scene(minor, ft);
        p.py.set(p.interp + p.g.modules, UNMAPPED);
        let t = p.dump();
        assert_eq!(
            (t.tasks.len(), t.loops.len(), t.unreadable),
            (0, 0, 0),
            "{v}"
        );
        let (mut p, s) = Old::scene(minor, ft);
        p.py.set(s.registry.module + p.g.row.md_dict, UNMAPPED);
        assert_eq!(p.dump().tasks.len(), 0, "{v}");
        // The WeakSet itself.
        let (mut p, s) = Old::scene(minor, ft);
        let mut globals = vec![
            (p.g.row.scheduled, UNMAPPED),
            ("_current_tasks", s.registry.current),
        ];
        globals.extend(p.g.row.eager.map(|name| (name, s.registry.eager)));
        let globals = p.dict(&globals);
        p.py.set(s.registry.module + p.g.row.md_dict, globals);
        let t = p.dump();
        let eager = (s.eager != 0).then_some("eager");
        let want: Vec<_> = eager.into_iter().chain(["fetch-1"]).collect();
        assert_eq!(names(&t), want, "{v}");
        assert_eq!((t.unreadable, t.cut), (0, false), "{v}");
        // A weak reference (main's), and the object of another (db's).
        let (mut p, s) = Old::scene(minor, ft);
        let table = p.py.mem_u64(s.registry.data + p.g.row.set_table);
        p.py.set(table, UNMAPPED);
        let db_ref = p.py.mem_u64(table + 3 * 16);
        p.py.set(db_ref + p.g.row.wr_object, UNMAPPED);
        let t = p.dump();
        let want: Vec<_> = ["fetch-1", "fetch-2"].into_iter().chain(eager).collect();
        assert_eq!(names(&t), want, "{v}");
        assert_eq!((t.unreadable, t.cut), (0, false), "{v}");
        // The running task, in `_current_tasks`; db's object replaced by a task's first words.
        let (mut p, s) = Old::scene(minor, ft);
        let current = p.keys(&[(s.lp, UNMAPPED)], false);
        p.py.set(s.registry.current + p.g.row.ma_keys, current);
        let ob_type = p.py.layout.objects.ob_type;
        let mut b = vec![0u8; ob_type as usize + 8];
        put(&mut b, ob_type, p.py.mem_u64(s.db + ob_type));
        let short = p.py.alloc(b);
        let db_ref =
            p.py.mem_u64(p.py.mem_u64(s.registry.data + p.g.row.set_table) + 3 * 16);
        p.py.set(db_ref + p.g.row.wr_object, short);
        let t = p.dump();
        let want: Vec<_> = ["main", "fetch-1", "fetch-2"]
            .into_iter()
            .chain(eager)
            .collect();
        assert_eq!(names(&t), want, "{v}");
        assert!(t.tasks.iter().all(|t| t.state == State::Pending), "{v}");
        assert_eq!((t.unreadable, t.cut), (2, false), "{v}");
        let loops: Vec<_> = t.loops.iter().map(|l| (l.addr, l.tstate)).collect();
        assert_eq!(loops, [(s.lp, Some(s.tstate))], "{v}");
    }
}

/// An interpreter whose thread list cannot be read (its `next` and, before 3.14, its
/// `sys.modules` can) first in the runtime's list: the tasks of the others are still read,
/// before 3.14 and from 3.14.
#[test]
fn an_interpreter_whose_thread_list_cannot_be_read() {
    const BROKEN: u64 = 0x5000_0000;
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let i = p.py.layout.interp;
        let InterpRoot::Runtime(head_at) = p.py.layout.interp_root else {
            unreachable!()
        };
        let head = p.py.roots.runtime.unwrap() + head_at;
        p.py.mem.write(BROKEN + i.next, &p.interp.to_le_bytes());
        let modules = s.registry.modules.to_le_bytes();
        p.py.mem.write(BROKEN + p.g.modules, &modules);
        p.py.set(head, BROKEN);
        let t = p.dump();
        assert_eq!(names(&t), all(&s), "3.{minor}");
        let loops: Vec<_> = t.loops.iter().map(|l| (l.addr, l.tstate)).collect();
        assert_eq!(loops, [(s.lp, Some(s.tstate))], "3.{minor}");
    }
    let mut p = Py::new();
    let r = p.named("r", 0, 0);
    p.listed(&[r]);
    let InterpRoot::Runtime(head_at) = p.py.layout.interp_root else {
        unreachable!()
    };
    let head = p.py.roots.runtime.unwrap() + head_at;
    let next = p.py.mem_u64(head).to_le_bytes();
    p.py.mem.write(BROKEN + p.py.layout.interp.next, &next);
    p.py.set(head, BROKEN);
    assert_eq!(p.names(), ("r".into(), 0, false));
}

/// 3,000 tasks each await one `gather()` of all 3,000 (9 million links): read whole, each link
/// once (the gather lists 100 of its children twice). Looking for each link among the child's
/// others made this quadratic (3.5 s of CPU for 2,000 tasks, the dump's whole 5 s for more);
/// how fast it is now is not asserted here (a test's time depends on the machine: the aarch64
/// unit tests run under qemu-user, 10 to 50 times slower), only that no time budget cuts it.
#[test]
fn tasks_sharing_one_gather_of_them_all() {
    let (mut p, s) = Old::scene(12, false);
    let tasks: Vec<u64> = (0..3000).map(|_| p.task("t", s.lp, 0, 0, 0)).collect();
    let mut children = tasks.clone();
    children.extend_from_slice(&tasks[..100]);
    let children = p.list(&children);
    let gather = p.instance("_GatheringFuture", &[("_children", children)]);
    for &t in &tasks {
        p.py.set(t + p.o.task_fut_waiter, gather);
    }
    let refs: Vec<u64> = tasks.iter().map(|&t| p.weakref(t)).collect();
    let data = p.set_of(&refs);
    p.with_data(&s.registry, data);
    let limits = Limits {
        total: std::time::Duration::from_secs(600),
        ..budget::DUMP
    };
    let (_, t, exhausted) = p.dump_with(limits);
    assert!(!exhausted);
    // And the eager task, and fetch-1 (running).
    assert_eq!((t.tasks.len(), t.cut), (3002, false));
    assert!(t.tasks[..3000].iter().all(|t| t.awaited_by == tasks));
}
