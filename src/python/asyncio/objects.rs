//! The objects a task points at, read on their own: its name (a `str`, or an `int` until
//! asked for), its coroutines (each suspended one's frame, then the one it awaits, from the top
//! of its frame's value stack), the future it awaits, and its set of waiters.

use super::tasks::{lenient, ptr};
use super::Offsets;
use crate::bytes::u64_at;
use crate::memory::Memory;
use crate::python::layout::{GenFrame, StackTop};
use crate::python::strings::read_str;
use crate::python::types::{Kind, Types};
use crate::python::walk::{Frame, FrameKind, WalkError, Walker, UNREADABLE};

/// Coroutines awaiting one another in one task, at most.
const MAX_CHAIN: usize = 256;
/// Slots of an `awaited_by` set read at most (each 16 bytes).
pub(super) const MAX_SET: u64 = 4096;
/// Slots of a registry's set read at most: room for `MAX_TASKS` tasks at any fill.
pub(super) const MAX_REGISTRY_SET: u64 = 1 << 16;
/// Bytes of a type's `tp_name` shown.
const TYPE_NAME: usize = 64;

/// `Task.get_name()`: the name given, or `Task-<N>` for a task named by its counter (kept as
/// an int until asked for).
pub(super) fn task_name(
    w: &Walker,
    o: &Offsets,
    types: &mut Types,
    name: u64,
) -> Result<String, WalkError> {
    let mem = w.mem();
    let ob_type = mem
        .u64(name.wrapping_add(o.ob_type))
        .map_err(WalkError::read("task name"))?;
    match types.of_type(&mem, w.layout(), None, ob_type)? {
        Kind::Str { .. } => read_str(&mem, w.layout(), types, name),
        Kind::Int => {
            let mut b = [0u8; 8];
            mem.read(name.wrapping_add(o.long_digit), &mut b)
                .map_err(WalkError::read("task name"))?;
            let tag = mem
                .u64(name.wrapping_add(o.long_tag))
                .map_err(WalkError::read("task name"))?;
            // `lv_tag`: digits << 3 | sign (0 positive, 1 zero, 2 negative); 30-bit digits.
            let digit =
                |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
            let n = match (tag >> 3, tag & 3) {
                (_, 1) => 0,
                (1, 0) => digit(0),
                (2, 0) => digit(0) | digit(4) << 30,
                _ => return Ok("Task-?".into()),
            };
            Ok(format!("Task-{n}"))
        }
        _ => Ok(UNREADABLE.into()),
    }
}

/// The frames of a coroutine and of those it awaits, innermost first.
/// A chain that breaks (what a coroutine awaits is gone: tasks are read while they run) ends
/// there; a task whose first coroutine cannot be read shows one `<unreadable>` frame.
pub(super) fn coroutine(w: &mut Walker, o: &Offsets, first: u64) -> Result<Vec<Frame>, WalkError> {
    let mut frames = Vec::new();
    let (mut coro, mut coro_type) = (first, 0);
    for _ in 0..MAX_CHAIN {
        match lenient(step(w, o, coro, &mut coro_type, &mut frames))? {
            Some(Some(next)) => coro = next,
            Some(None) => break,
            None => {
                if frames.is_empty() {
                    frames.push(Frame::unreadable());
                }
                break;
            }
        }
    }
    frames.reverse();
    Ok(frames)
}

/// One coroutine of a chain: its frame, and what it awaits if that is to be followed.
fn step(
    w: &mut Walker,
    o: &Offsets,
    coro: u64,
    coro_type: &mut u64,
    frames: &mut Vec<Frame>,
) -> Result<Option<u64>, WalkError> {
    let ob_type = ptr(w, coro.wrapping_add(o.ob_type))?;
    // The first must be a coroutine; what it awaits is followed while it is one too.
    let is_coroutine = match *coro_type {
        0 => type_name(w, ob_type) == "coroutine",
        t => t == ob_type,
    };
    if !is_coroutine {
        return Ok(None);
    }
    *coro_type = ob_type;
    let Some((frame, top)) = frame_of(w, o, coro)? else {
        return Ok(None);
    };
    frames.push(one_frame(w, frame)?);
    let awaited = match top {
        None => 0,
        Some(slot) => ptr(w, slot)? & !o.tag_bits,
    };
    Ok((awaited != 0).then_some(awaited))
}

/// The frame of the coroutine at `coro` (None once it finished), and, when it is suspended in
/// an `await`, where the awaited object is (the top of its value stack).
pub(super) fn frame_of(
    w: &Walker,
    o: &Offsets,
    coro: u64,
) -> Result<Option<(u64, Option<u64>)>, WalkError> {
    let int = |at: u64| -> Result<i32, WalkError> {
        let mut b = [0u8; 4];
        w.mem()
            .read(at, &mut b)
            .map_err(WalkError::read("coroutine"))?;
        Ok(i32::from_le_bytes(b))
    };
    let byte = |at: u64| -> Result<i8, WalkError> {
        let mut b = [0u8; 1];
        w.mem()
            .read(at, &mut b)
            .map_err(WalkError::read("coroutine"))?;
        Ok(b[0] as i8)
    };
    let suspended = |state: i8| state >= o.yield_from.0 && state <= o.yield_from.1;
    let (gi_frame_state, gi_iframe) = match o.frame {
        None => (o.gi_frame_state, o.gi_iframe),
        Some(GenFrame::Inline {
            gi_frame_state,
            gi_iframe,
            ..
        }) => (gi_frame_state, gi_iframe),
        Some(GenFrame::Object {
            gi_frame,
            f_valuestack,
            top,
        }) => {
            let frame = ptr(w, coro.wrapping_add(gi_frame))?;
            if frame == 0 {
                return Ok(None);
            }
            let slot = match top {
                StackTop::Pointer {
                    f_stacktop,
                    f_lasti,
                } => {
                    let sp = ptr(w, frame.wrapping_add(f_stacktop))?;
                    (sp != 0 && int(frame.wrapping_add(f_lasti))? >= 0).then(|| sp.wrapping_sub(8))
                }
                StackTop::Depth {
                    f_stackdepth,
                    f_state,
                } => match (
                    byte(frame.wrapping_add(f_state))?,
                    int(frame.wrapping_add(f_stackdepth))?,
                ) {
                    (-1, n @ 1..=0xffff) => Some(
                        ptr(w, frame.wrapping_add(f_valuestack))?.wrapping_add(8 * (n as u64 - 1)),
                    ),
                    _ => None,
                },
            };
            return Ok(Some((frame, slot)));
        }
    };
    let state = byte(coro.wrapping_add(gi_frame_state))?;
    if state == o.cleared {
        return Ok(None);
    }
    let frame = coro.wrapping_add(gi_iframe);
    if !suspended(state) {
        return Ok(Some((frame, None)));
    }
    let slot = match o.frame {
        Some(GenFrame::Inline {
            stacktop,
            localsplus,
            ..
        }) => match int(frame.wrapping_add(stacktop))? {
            n @ 1..=0xffff => Some(
                frame
                    .wrapping_add(localsplus)
                    .wrapping_add(8 * (n as u64 - 1)),
            ),
            _ => None,
        },
        _ => match ptr(w, frame.wrapping_add(o.stackpointer))? {
            0 => None,
            sp => Some(sp.wrapping_sub(8 * o.awaited_slot)),
        },
    };
    Ok(Some((frame, slot)))
}

/// The interpreter frame at `frame` alone, named.
pub(super) fn one_frame(w: &mut Walker, frame: u64) -> Result<Frame, WalkError> {
    let raw = w.chain(frame, 1)?;
    let (frames, _) = w.name_chain(&raw)?;
    Ok(frames
        .into_iter()
        .find(|f| matches!(f.code.kind, FrameKind::Python | FrameKind::Unreadable))
        .unwrap_or_else(Frame::unreadable))
}

/// What a future awaited is: `asyncio.sleep` when the task sleeps, else its type's name.
pub(super) fn future_name(w: &Walker, o: &Offsets, future: u64, frames: &[Frame]) -> String {
    let sleeping = frames
        .first()
        .is_some_and(|f| f.code.name == "sleep" && f.code.filename.ends_with("asyncio/tasks.py"));
    match sleeping {
        true => "asyncio.sleep".into(),
        false => match ptr(w, future.wrapping_add(o.ob_type)) {
            Ok(t) => type_name(w, t),
            Err(_) => UNREADABLE.into(),
        },
    }
}

/// A type's `tp_name`, cut to `TYPE_NAME` bytes; `<unreadable>` when it cannot be read.
fn type_name(w: &Walker, ob_type: u64) -> String {
    let mem = w.mem();
    let mut b = [0u8; TYPE_NAME];
    let read = mem
        .u64(ob_type.wrapping_add(w.layout().objects.tp_name))
        .ok()
        .and_then(|at| mem.read_prefix(at, &mut b).ok());
    match read {
        Some(n) => {
            let b = &b[..n];
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        }
        None => UNREADABLE.into(),
    }
}

/// The keys of the set at `set` (`used` of them, found in its `mask + 1` slots of key and
/// hash), at most `max_slots` slots read; and whether some were left unread (more slots than
/// that, or a table cut short, before `used` keys were found). A deleted slot keeps the
/// `dummy` key with the hash -1, which no live key has (`Objects/setobject.c`): not counted as
/// one of the `used`, or a set after deletions would end before its live keys.
pub(super) fn set_members(
    w: &Walker,
    o: &Offsets,
    set: u64,
    max_slots: u64,
) -> Result<(Vec<u64>, bool), WalkError> {
    let used = ptr(w, set.wrapping_add(o.set_used))?;
    let mask = ptr(w, set.wrapping_add(o.set_mask))?;
    let table = ptr(w, set.wrapping_add(o.set_table))?;
    let slots = mask.saturating_add(1).min(max_slots);
    let mut keys = Vec::new();
    let mut b = [0u8; 16 * 64];
    let mut slot = 0;
    while slot < slots && (keys.len() as u64) < used {
        let n = (slots - slot).min(64) as usize;
        let part = &mut b[..n * 16];
        // A table cut short (a set resized while it is read) gives the keys before the cut.
        let read = w.mem().read(table.wrapping_add(slot * 16), part);
        if lenient(read.map_err(WalkError::read("set")))?.is_none() {
            break;
        }
        let live = |i: usize| match (u64_at(part, i * 16), u64_at(part, i * 16 + 8)) {
            (Some(key), Some(hash)) => (key != 0 && hash != u64::MAX).then_some(key),
            _ => None,
        };
        keys.extend((0..n).filter_map(live));
        slot += n as u64;
    }
    let unread = (keys.len() as u64) < used && slot < mask.saturating_add(1);
    Ok((keys, unread))
}
