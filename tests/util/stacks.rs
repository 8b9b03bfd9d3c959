//! The `stacks.py` target: starting it, knowing when its four threads are frozen
//! in their final state, and what their stacks must be (leaf first, built from
//! the `# MARK:` lines of stacks.py and unicode_names.py).

use super::dump_format::{render_dump, render_frames, DumpThread, Frame};
use super::interp::Interp;
use super::marks::{line_of, marks};
use super::procfs;
use super::target::{script_path, spawn_script, Target, STARTUP_TIMEOUT};
use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

/// recurse() frames at the recursive-call line (stacks.py's DEPTH).
pub const DEPTH: usize = 500;

/// CPU the spinner must burn after main blocked before we trust it is in its loop
/// (a few microseconds of bytecode separate the gate from the loop line).
const SPIN_PROOF_TICKS: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Main,
    Spinner,
    Blocked,
    Sleepy,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Main, Role::Spinner, Role::Blocked, Role::Sleepy];

    /// The function every stack of this thread ends (leaf) in.
    pub fn leaf_function(self) -> &'static str {
        match self {
            Role::Main => "wait_for_test",
            Role::Spinner => "spin",
            Role::Blocked => "blocked",
            Role::Sleepy => "sleepy",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Spinner => "spinner",
            Role::Blocked => "blocked",
            Role::Sleepy => "sleepy",
        }
    }
}

/// stacks.py, running, frozen: main blocked in read(0), the spinner in its loop.
#[derive(Debug)]
pub struct Stacks {
    pub target: Target,
    /// The kernel thread id of the spinner (the only thread burning CPU).
    pub spinner_tid: u32,
    /// What a dump must show, per thread, leaf first.
    pub expected: HashMap<Role, Vec<Frame>>,
}

/// Starts stacks.py and waits until its stacks are final (see the script's header).
pub fn spawn_stacks(py: &Interp) -> Stacks {
    let target = spawn_script(py, "stacks.py", &[]);
    let spinner_tid = wait_for_spinner(&target);
    let expected = expected_stacks(py, &target.marks, "wait_read");
    Stacks {
        target,
        spinner_tid,
        expected,
    }
}

/// After main blocked in read(0), the only thread that can use CPU is the spinner,
/// and it needs only microseconds to get from the gate to its loop line: once one
/// thread has burnt [`SPIN_PROOF_TICKS`] since then, it is the spinner, spinning.
fn wait_for_spinner(target: &Target) -> u32 {
    let pid = target.pid;
    let tids = procfs::task_ids(pid);
    assert_eq!(
        tids.len(),
        4,
        "stacks.py must have 4 threads\n{}",
        target.describe()
    );
    let ticks = |tid| procfs::task_stat(pid, tid).map_or(0, |s| s.cpu_ticks);
    let start: Vec<(u32, u64)> = tids.iter().map(|&tid| (tid, ticks(tid))).collect();
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let burnt = start
            .iter()
            .map(|&(tid, t0)| (tid, ticks(tid).saturating_sub(t0)));
        if let Some((tid, _)) = burnt
            .filter(|&(_, d)| d >= SPIN_PROOF_TICKS)
            .max_by_key(|&(_, d)| d)
        {
            assert_ne!(tid, pid, "the main thread burns CPU\n{}", target.describe());
            return tid;
        }
        assert!(
            Instant::now() < deadline,
            "no thread of stacks.py is spinning {STARTUP_TIMEOUT:?} after start\n{}",
            target.describe()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The four stacks, leaf first. `main_leaf` is the marker of main's innermost line
/// (`wait_read` normally; `self_check_view` in the script's self-check mode).
pub fn expected_stacks(
    py: &Interp,
    m: &HashMap<String, u32>,
    main_leaf: &str,
) -> HashMap<Role, Vec<Frame>> {
    let file = script_path("stacks.py").to_string_lossy().into_owned();
    let at = |func: &str, mark: &str| Frame::new(&file, func, line_of(m, mark));
    let mut main = vec![
        at("wait_for_test", main_leaf),
        at("recurse", "recurse_base"),
    ];
    main.extend(std::iter::repeat_n(at("recurse", "recurse"), DEPTH));
    if !py.is_py2() {
        let unicode_file = script_path("unicode_names.py")
            .to_string_lossy()
            .into_owned();
        let u = marks(&script_path("unicode_names.py"));
        let at_u = |func: &str, mark: &str| Frame::new(&unicode_file, func, line_of(&u, mark));
        main.extend([
            at_u("𓀀𓀁", "astral"),
            at_u("函数", "cjk"),
            at_u("café", "cafe"),
        ]);
    }
    main.extend([
        at("gen", "gen"),
        at("<lambda>", "lambda"),
        at("decorated", "decorated"),
        at("wrapper", "wrapper"),
        at("inner", "inner"),
        at("outer", "outer"),
        at("method", "method"),
        at("main", "main"),
        at("<module>", "module"),
    ]);
    HashMap::from([
        (Role::Main, main),
        (Role::Spinner, vec![at("spin", "spin")]),
        (Role::Blocked, vec![at("blocked", "blocked")]),
        (Role::Sleepy, vec![at("sleepy", "sleepy")]),
    ])
}

/// Matches the threads of a dump to the four roles by their leaf function and
/// checks every frame (file, function, line) of every thread. Exactly the four
/// threads, nothing extra or missing. Returns the dump's threads by role.
pub fn match_stacks<'a>(
    threads: &'a [DumpThread],
    expected: &HashMap<Role, Vec<Frame>>,
) -> Result<HashMap<Role, &'a DumpThread>, String> {
    let whole = || {
        format!(
            "\n--- dump (recursion folded) ---\n{}",
            render_dump(threads)
        )
    };
    if threads.len() != Role::ALL.len() {
        return Err(format!(
            "expected 4 threads, got {}{}",
            threads.len(),
            whole()
        ));
    }
    let mut by_role = HashMap::new();
    for thread in threads {
        let role = Role::ALL
            .into_iter()
            .find(|r| r.leaf_function() == thread.leaf())
            .ok_or_else(|| {
                format!(
                    "thread {} has unexpected leaf {:?}{}",
                    thread.id,
                    thread.leaf(),
                    whole()
                )
            })?;
        if by_role.insert(role, thread).is_some() {
            return Err(format!(
                "two threads end in {}(){}",
                role.leaf_function(),
                whole()
            ));
        }
    }
    for role in Role::ALL {
        let (got, want) = (&by_role[&role].frames, &expected[&role]);
        if got != want {
            let first = got
                .iter()
                .zip(want)
                .position(|(g, w)| g != w)
                .unwrap_or(got.len().min(want.len()));
            return Err(format!(
                "{} thread: frame #{first} (leaf is #0) differs: got {}, expected {} ({} frames, expected {})\n\
                 --- got ---\n{}--- expected ---\n{}",
                role.name(),
                got.get(first).map_or("nothing".into(), Frame::to_string),
                want.get(first).map_or("nothing".into(), Frame::to_string),
                got.len(),
                want.len(),
                render_frames(got),
                render_frames(want)
            ));
        }
    }
    Ok(by_role)
}

/// Asserts that the spinner's CPU time still advances: the target still runs.
pub fn assert_spinner_spins(stacks: &Stacks) {
    let (pid, tid) = (stacks.target.pid, stacks.spinner_tid);
    let ticks = || procfs::task_stat(pid, tid).map(|s| s.cpu_ticks);
    let start = ticks();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ticks().zip(start).is_none_or(|(now, t0)| now < t0 + 2) {
        assert!(
            ticks().is_some() && Instant::now() < deadline,
            "the spinner (tid {tid}) stopped using CPU after pyflame ran\n{}",
            stacks.target.describe()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn match_stacks_rejects_any_wrong_frame() {
    use super::dump_format::parse_dump;
    let py = Interp {
        name: "3.12".into(),
        path: "python3.12".into(),
        major: 3,
        minor: 12,
        free_threaded: false,
        wrapped: false,
    };
    let expected = expected_stacks(&py, &marks(&script_path("stacks.py")), "wait_read");
    let render = |stacks: &HashMap<Role, Vec<Frame>>| {
        let blocks: Vec<String> = Role::ALL
            .iter()
            .enumerate()
            .map(|(i, role)| {
                let frames: Vec<String> = stacks[role].iter().map(Frame::to_string).collect();
                format!("{}:\n{}\n", 100 + i, frames.join("\n"))
            })
            .collect();
        blocks.join("\n")
    };
    let good = parse_dump(&render(&expected)).unwrap();
    assert!(match_stacks(&good, &expected).is_ok());
    let mutations: [fn(&mut Vec<Frame>); 4] = [
        |main| main[100].line += 1, // one recursion frame off
        |main| main.insert(503, Frame::new("<shim>", "<interpreter trampoline>", 0)),
        |main| main.truncate(main.len() - 1), // <module> missing
        |main| main[505].func = "?".into(),   // a mangled name
    ];
    for mutate in mutations {
        let mut wrong = expected.clone();
        mutate(wrong.get_mut(&Role::Main).unwrap());
        let threads = parse_dump(&render(&wrong)).unwrap();
        assert!(match_stacks(&threads, &expected).is_err());
    }
    let three = parse_dump(&render(&expected)).unwrap()[..3].to_vec();
    assert!(match_stacks(&three, &expected).is_err());
}
