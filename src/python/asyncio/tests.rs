//! Tests of the asyncio task reader (issue 17).

use super::*;
use crate::python::published::{PY314, PY315};

/// `_Py_AsyncioModuleDebugOffsets` as compiled in Debian's 3.14.10 (`_asyncio` module) and
/// 3.15.2 (built in), read from their `.AsyncioDebug` sections.
const ASYNCIO_314: [u64; 13] = [
    168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880,
];
const ASYNCIO_315: [u64; 13] = [
    168, 136, 96, 108, 109, 128, 152, 226240, 10856, 1104, 1024, 1032, 1048,
];

fn bytes(table: &[u64; 13]) -> Vec<u8> {
    table.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn the_real_tables_give_the_offsets() {
    let o = offsets(&PY314.bytes(None), &bytes(&ASYNCIO_314), 14).unwrap();
    assert_eq!((o.task_name, o.task_coro, o.task_node), (136, 128, 152));
    // Derived from neighbours: fut_loop after the header, fut_state before fut_is_task,
    // task_fut_waiter before task_coro.
    assert_eq!((o.fut_loop, o.fut_state, o.task_fut_waiter), (16, 104, 120));
    assert_eq!((o.tstate_running_loop, o.tstate_running_task), (864, 872));
    assert_eq!((o.yield_from, o.cleared, o.awaited_slot), ((-1, -1), 4, 1));
    let o = offsets(&PY315.bytes(None), &bytes(&ASYNCIO_315), 15).unwrap();
    assert_eq!((o.tstate_running_task, o.interp_tasks_head), (1032, 10856));
    assert_eq!((o.yield_from, o.cleared, o.awaited_slot), ((2, 3), 5, 2));
}

#[test]
fn tables_that_must_not_validate() {
    let table = PY314.bytes(None);
    let cases: [(usize, u64); 6] = [
        (1, 4096),      // task_name outside the task object
        (0, 1 << 30),   // an absurd task size
        (3, 100),       // fut_is_task not 12 bytes after fut_awaited_by
        (5, 64),        // task_name not 8 bytes after task_coro
        (8, 1 << 40),   // the interpreter's list head outside it
        (11, u64::MAX), // the running task outside the thread state
    ];
    for (member, value) in cases {
        let mut a = ASYNCIO_314;
        a[member] = value;
        assert!(
            offsets(&table, &bytes(&a), 14).is_err(),
            "member {member} = {value}"
        );
    }
    // A short or absent debug table.
    assert!(offsets(&table[..64], &bytes(&ASYNCIO_314), 14).is_err());
    assert!(offsets(&table, &bytes(&ASYNCIO_314)[..40], 14).is_err());
}
