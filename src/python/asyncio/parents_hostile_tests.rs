//! `--async` sampling before 3.14 (`parents.rs`: the running task from `_current_tasks`, who
//! awaits it from a map built from the registry) over hostile task graphs, in every layout from
//! 3.8 to 3.13t: cycles and self-awaits end, a link that no longer holds is not used, what
//! cannot be read leaves the sample as it was, 100,000 tasks cost a bounded read.

use super::super::fake_globals::{names, Old, VERSIONS};
use super::super::{Running, Tasks, MAX_TASKS};
use super::Parents;
use crate::budget;
use crate::python::walk::{FrameKind, Walker};

const UNMAPPED: u64 = 0xdead_0000;
/// The scene's sample without tasks, and its running task's frames.
const STACK: [&str; 4] = ["compute:43", "work:33", "_run_once:2003", "<module>:4"];

impl Old {
    /// The first thread's frames after `running` labelled a sample: `name:line`, or
    /// `task <name>` for a label.
    fn sample(&self, running: &mut Running) -> Vec<String> {
        let mut w = Walker::new(&self.py.mem, self.py.layout, self.py.roots);
        w.begin(budget::SAMPLE);
        let (mut threads, _) = w.all_threads().unwrap();
        running.label(&self.py.mem, &mut w, &mut threads);
        let text = |f: &crate::python::walk::Frame| match f.code.kind {
            FrameKind::Label => f.code.name.clone(),
            _ => format!("{}:{}", f.code.name, f.line),
        };
        threads[0].frames.iter().map(text).collect()
    }

    fn running(&self) -> Running {
        Running::with_offsets(0, self.runtime.clone(), self.o)
    }
}

/// The dump's text of these tasks.
fn render(t: &Tasks) -> String {
    let mut out = Vec::new();
    crate::output::tasks::write(&mut out, t, &|_| None).unwrap();
    String::from_utf8(out).unwrap()
}

/// `STACK`'s running part, then these labels.
fn chain(labels: &[&str]) -> Vec<String> {
    let tasks = labels.iter().map(|l| format!("task {l}"));
    STACK[..2]
        .iter()
        .map(|s| s.to_string())
        .chain(tasks)
        .collect()
}

#[test]
fn the_running_chain_is_outermost() {
    for (minor, ft) in VERSIONS {
        let (p, _) = Old::scene(minor, ft);
        let mut running = p.running();
        // The second sample keeps the links the first found.
        for _ in 0..2 {
            assert_eq!(
                p.sample(&mut running),
                chain(&["fetch-1", "main"]),
                "3.{minor}"
            );
        }
    }
}

/// fetch-1 awaits db, which awaits main, which gathers fetch-1: each once in a sample; the
/// dump's tree, which nobody roots, is drawn from db and marks each path's cycle.
#[test]
fn an_awaiting_cycle_ends() {
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let waiter = p.o.task_fut_waiter;
        p.py.set(s.fetch1 + waiter, s.db);
        p.py.set(s.db + waiter, s.main);
        let labels = ["fetch-1", "main", "db"];
        assert_eq!(p.sample(&mut p.running()), chain(&labels), "3.{minor}");
        let t = p.dump();
        let by: Vec<_> = t.tasks.iter().map(|t| t.awaited_by.clone()).collect();
        let want = [
            vec![s.db],
            vec![s.main],
            vec![s.main],
            vec![s.fetch1, s.fetch2],
        ];
        assert_eq!(by[..4], want, "3.{minor}");
        let text = render(&t);
        let tree = text.split("tree:\n").nth(1);
        let want = "\
└── task db
    └── task main
        ├── task fetch-1
        │   └── task db (cycle)
        └── task fetch-2
            └── task db (cycle)
";
        // The eager task (3.12+) awaits nothing and nobody awaits it: a root of its own.
        let eager = if s.eager != 0 {
            "└── task eager\n"
        } else {
            ""
        };
        assert_eq!(tree, Some(&*format!("{eager}{want}")), "3.{minor}");
    }
}

/// The running task awaits itself, and nobody else awaits it: one label; the dump says it
/// awaits itself, and draws it once with its cycle.
#[test]
fn a_self_awaiting_task() {
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        p.py.set(s.fetch1 + p.o.task_fut_waiter, s.fetch1);
        p.py.set(s.main + p.o.task_fut_waiter, 0);
        assert_eq!(p.sample(&mut p.running()), chain(&["fetch-1"]), "3.{minor}");
        let t = p.dump();
        let fetch1 = &t.tasks[1];
        assert_eq!(fetch1.awaited_by, [s.fetch1], "3.{minor}");
        assert_eq!(fetch1.waiter, Some(super::super::Waiter::Task(s.fetch1)));
        let tree = render(&t);
        assert!(
            tree.contains("└── task fetch-1\n    └── task fetch-1 (cycle)\n"),
            "{tree}"
        );
    }
}

/// Between two samples main stops awaiting fetch-1 and boss starts to: the old link is not
/// used (no stale parent), and the next build (when due) finds the new one. A registry read
/// that fails is forgotten; asyncio imported later is found.
#[test]
fn parent_links_that_change_between_samples() {
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let boss = p.task("boss", s.lp, 0, 0, 0);
        let scheduled = [s.main, s.fetch1, s.fetch2, s.db, boss];
        let eager: Vec<u64> = [s.eager].into_iter().filter(|&e| e != 0).collect();
        let r = p.registry(&scheduled, &eager, &[(s.lp, s.fetch1)]);
        let (g, o, waiter) = (p.g, p.o, p.o.task_fut_waiter);
        let mut parents = Parents::default();
        let mut w = Walker::new(&p.py.mem, p.py.layout, p.py.roots);
        w.begin(budget::SAMPLE);
        assert_eq!(parents.running_task(&w, &g, s.tstate), Ok(s.fetch1));
        assert_eq!(parents.parent(&w, &g, &o, p.interp, s.fetch1), Ok(s.main));
        assert_eq!(parents.parents.len(), 3, "fetch-1, fetch-2 and db");
        drop(w);
        p.py.set(s.main + waiter, 0);
        p.py.set(boss + waiter, s.fetch1);
        let mut w = Walker::new(&p.py.mem, p.py.layout, p.py.roots);
        w.begin(budget::SAMPLE);
        assert_eq!(parents.parent(&w, &g, &o, p.interp, s.fetch1), Ok(0));
        parents.built = None;
        assert_eq!(parents.parent(&w, &g, &o, p.interp, s.fetch1), Ok(boss));
        drop(w);
        // `_current_tasks` cannot be read: the registry is forgotten, then found again.
        let keys = p.py.mem_u64(r.current + g.row.ma_keys);
        p.py.set(r.current + g.row.ma_keys, UNMAPPED);
        let w = Walker::new(&p.py.mem, p.py.layout, p.py.roots);
        assert!(parents.running_task(&w, &g, s.tstate).is_err());
        assert!(parents.registries.is_empty());
        drop(w);
        p.py.set(r.current + g.row.ma_keys, keys);
        // No asyncio.tasks in sys.modules yet: nothing remembered, found once imported.
        let modules = p.dict(&[("sys", r.module)]);
        p.py.set(p.interp + g.modules, modules);
        let w = Walker::new(&p.py.mem, p.py.layout, p.py.roots);
        assert_eq!(parents.running_task(&w, &g, s.tstate), Ok(0));
        assert!(parents.registries.is_empty());
        drop(w);
        p.py.set(p.interp + g.modules, r.modules);
        let w = Walker::new(&p.py.mem, p.py.layout, p.py.roots);
        assert_eq!(parents.running_task(&w, &g, s.tstate), Ok(s.fetch1));
        assert_eq!(parents.registries.len(), 1);
    }
}

/// `sys.modules`, the running task or its coroutine cannot be read: the sample is left as
/// it was read.
#[test]
fn what_cannot_be_read_leaves_the_sample() {
    for (minor, ft) in VERSIONS {
        for what in ["modules", "task", "coroutine"] {
            let (mut p, s) = Old::scene(minor, ft);
            match what {
                "modules" => p.py.set(p.interp + p.g.modules, UNMAPPED),
                "task" => {
                    let current = p.keys(&[(s.lp, UNMAPPED)], false);
                    p.py.set(s.registry.current + p.g.row.ma_keys, current);
                }
                _ => p.py.set(s.fetch1 + p.o.task_coro, UNMAPPED),
            }
            assert_eq!(p.sample(&mut p.running()), STACK, "3.{minor} {what}");
        }
    }
}

/// The WeakSet holds 100,000 tasks, each awaited by the next: the dump reads `MAX_TASKS` and
/// says it was cut; a sample's chain is the first 64 of them, within a sample's budget.
#[test]
fn a_hundred_thousand_tasks() {
    const N: u64 = 100_000;
    for (minor, ft) in VERSIONS {
        let (mut p, s) = Old::scene(minor, ft);
        let (o, a) = (p.o, p.g.row);
        let ob_type = p.py.layout.objects.ob_type;
        let (task_type, name) = (p.py.mem_u64(s.db + ob_type), p.py.string("t"));
        // The tasks, one after another in one block; task i awaits task i - 1, task 0 fetch-1.
        let size = o.task_size;
        let tasks = p.py.alloc(vec![0; (N * size) as usize]);
        let refs = p.py.alloc(vec![0; (N * 64) as usize]);
        let mut keys = vec![0; 1 << 17];
        keys[0] = p.weakref(s.fetch1);
        for i in 0..N {
            let t = tasks + i * size;
            p.py.set(t + ob_type, task_type);
            p.py.set(t + o.task_name, name);
            p.py.set(t + o.fut_loop, s.lp);
            let waited = if i == 0 { s.fetch1 } else { t - size };
            p.py.set(t + o.task_fut_waiter, waited);
            p.py.set(refs + i * 64 + a.wr_object, t);
            keys[i as usize + 1] = refs + i * 64;
        }
        let data = p.set(&keys, N + 1, (1 << 17) - 1);
        let weakset = p.instance("WeakSet", &[("data", data)]);
        let globals = p.dict(&[
            (a.scheduled, weakset),
            ("_current_tasks", s.registry.current),
        ]);
        p.py.set(s.registry.module + a.md_dict, globals);
        let (_, t, exhausted) = p.dump_with(budget::DUMP);
        assert!(!exhausted, "3.{minor}");
        assert_eq!((t.tasks.len(), t.unreadable, t.cut), (MAX_TASKS, 0, true));
        assert_eq!(names(&t)[..2], ["fetch-1", "t"]);
        assert_eq!(t.tasks[0].awaited_by, [tasks], "3.{minor}");
        assert_eq!(t.tasks[1].awaited_by, [tasks + size], "3.{minor}");
        let sample = p.sample(&mut p.running());
        let mut want = vec!["fetch-1"];
        want.resize(64, "t");
        assert_eq!(sample, chain(&want), "3.{minor}");
    }
}
