//! Python's containers read from another process, for the task registry of 3.11 to 3.13: a
//! dict's items (combined or split), a `str` key compared without decoding it, an instance's
//! attribute (its dict, its managed dict or its values), a list's items. Bounded: at most
//! `MAX_ENTRIES` entries of a dict and `MAX_ITEMS` items of a list, read a chunk at a time.

use super::tasks::{lenient, ptr};
use crate::bytes::u64_at;
use crate::memory::Memory;
use crate::python::layout::{Asyncio, DictKeys, ManagedDict, Str};
use crate::python::walk::{WalkError, Walker};

/// Entries of one dict read at most (`sys.modules` of a large program has a few thousand).
const MAX_ENTRIES: u64 = 1 << 16;
/// Items of one list read at most.
pub(super) const MAX_ITEMS: u64 = 4096;
/// Entries read per call.
const CHUNK: usize = 256;
/// `Py_TPFLAGS_MANAGED_DICT` and `Py_TPFLAGS_INLINE_VALUES` (3.13).
const MANAGED_DICT: u64 = 1 << 4;
const INLINE_VALUES: u64 = 1 << 2;
/// `dk_log2_index_bytes` beyond which a keys object is garbage (2^32 bytes of indices).
const MAX_LOG2_INDEX: u8 = 32;

fn garbage(what: &str) -> WalkError {
    WalkError::Garbage(format!("{what} makes no sense"))
}

/// The `(key, value)` pairs of the dict at `dict`, in insertion order, deleted ones left out.
pub(super) fn items(w: &Walker, a: &Asyncio, dict: u64) -> Result<Vec<(u64, u64)>, WalkError> {
    let keys = ptr(w, dict.wrapping_add(a.ma_keys))?;
    let values = ptr(w, dict.wrapping_add(a.ma_values))?;
    let mut entries = entries(w, a, keys)?;
    if values != 0 {
        // A split dict: its keys' entries hold no values; `values[i]` is entry i's.
        let found = words(w, values.wrapping_add(a.values_at), entries.len() as u64)?;
        for (e, v) in entries.iter_mut().zip(found) {
            e.1 = v;
        }
    }
    entries.retain(|&(k, v)| k != 0 && v != 0);
    Ok(entries)
}

/// The value of the dict at `dict` under the `str` key `name`.
pub(super) fn get(
    w: &Walker,
    a: &Asyncio,
    dict: u64,
    name: &str,
) -> Result<Option<u64>, WalkError> {
    for (k, v) in items(w, a, dict)? {
        // A key that cannot be read is not the one looked for.
        if lenient(is_str(w, k, name))? == Some(true) {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// `get` that first looks for the key object at `*key` (0: none yet) and remembers the
/// address of the key it finds by its text: an interned key is found without reading strings.
pub(super) fn get_keyed(
    w: &Walker,
    a: &Asyncio,
    dict: u64,
    name: &str,
    key: &mut u64,
) -> Result<Option<u64>, WalkError> {
    let items = items(w, a, dict)?;
    if let Some(&(_, v)) = items.iter().find(|&&(k, _)| k == *key && k != 0) {
        return Ok(Some(v));
    }
    for (k, v) in items {
        if lenient(is_str(w, k, name))? == Some(true) {
            *key = k;
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The entries of the `PyDictKeysObject` at `keys`: `(key, value)`, the value 0 in a split
/// table's keys.
fn entries(w: &Walker, a: &Asyncio, keys: u64) -> Result<Vec<(u64, u64)>, WalkError> {
    let mut head = [0u8; 40];
    w.mem()
        .read(keys, &mut head)
        .map_err(WalkError::read("dict keys"))?;
    let word = |at: usize| u64_at(&head, at).unwrap_or(0);
    // (where the entries start, how many, bytes each, where an entry's key is)
    let (first, n, size, key) = match a.keys {
        // dk_refcnt, dk_size, dk_lookup, dk_usable, dk_nentries, then dk_indices.
        DictKeys::Sized => {
            let slots = word(8);
            let width = match slots {
                0..=0xff => 1,
                0x100..=0xffff => 2,
                0x1_0000..=0xffff_ffff => 4,
                _ => 8,
            };
            if slots > 1 << 40 {
                return Err(garbage("a dict's keys"));
            }
            (40 + slots * width, word(32), 24, 8)
        }
        // dk_refcnt, dk_log2_size, dk_log2_index_bytes, dk_kind, dk_version, dk_usable,
        // dk_nentries, then dk_indices. DICT_KEYS_GENERAL: hash, key, value; DICT_KEYS_UNICODE
        // and _SPLIT: key, value.
        DictKeys::Log2 => {
            let (log2_index, kind) = (head[9], head[10]);
            if log2_index > MAX_LOG2_INDEX || kind > 2 {
                return Err(garbage("a dict's keys"));
            }
            let (size, key) = match kind {
                0 => (24, 8),
                _ => (16, 0),
            };
            (32 + (1u64 << log2_index), word(24), size, key)
        }
    };
    if n > 1 << 40 {
        return Err(garbage("a dict's keys"));
    }
    let first = keys.wrapping_add(first);
    let n = n.min(MAX_ENTRIES) as usize;
    let mut out = Vec::new();
    let mut b = [0u8; 24 * CHUNK];
    let mut i = 0;
    while i < n {
        let count = (n - i).min(CHUNK);
        let part = &mut b[..count * size];
        w.mem()
            .read(first.wrapping_add((i * size) as u64), part)
            .map_err(WalkError::read("dict entries"))?;
        out.extend((0..count).map(|j| {
            let at = j * size + key;
            (
                u64_at(part, at).unwrap_or(0),
                u64_at(part, at + 8).unwrap_or(0),
            )
        }));
        i += count;
    }
    Ok(out)
}

/// `n` words from `at` (at most `MAX_ENTRIES`).
fn words(w: &Walker, at: u64, n: u64) -> Result<Vec<u64>, WalkError> {
    let n = n.min(MAX_ENTRIES) as usize;
    let mut out = Vec::new();
    let mut b = [0u8; 8 * CHUNK];
    while out.len() < n {
        let count = (n - out.len()).min(CHUNK);
        let part = &mut b[..count * 8];
        let from = at.wrapping_add(8 * out.len() as u64);
        w.mem()
            .read(from, part)
            .map_err(WalkError::read("values"))?;
        out.extend((0..count).map(|j| u64_at(part, j * 8).unwrap_or(0)));
    }
    Ok(out)
}

/// Whether the object at `key` is the compact ASCII `str` `name` (every identifier asyncio's
/// globals and attributes have).
pub(super) fn is_str(w: &Walker, key: u64, name: &str) -> Result<bool, WalkError> {
    let Str::Pep393 {
        length,
        state,
        ascii_data,
        bits,
        ..
    } = w.layout().string
    else {
        return Ok(false);
    };
    // The header first: the data is read only for a key of the same length (reading past a
    // shorter string could cross into an unmapped page).
    let mut b = [0u8; 128];
    let (Some(head), true) = (b.get_mut(..ascii_data as usize), name.len() <= 128) else {
        return Ok(false);
    };
    w.mem().read(key, head).map_err(WalkError::read("str"))?;
    let len = u64_at(head, length as usize);
    let st = head
        .get(state as usize..state as usize + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let ascii = st.is_some_and(|s| s & bits.compact != 0 && s & bits.ascii != 0);
    if !ascii || len != Some(name.len() as u64) {
        return Ok(false);
    }
    let data = &mut b[..name.len()];
    w.mem()
        .read(key.wrapping_add(ascii_data), data)
        .map_err(WalkError::read("str"))?;
    Ok(data == name.as_bytes())
}

/// The attribute `name` of the instance at `obj` from its own dict or values, None when it
/// has none there.
pub(super) fn attribute(
    w: &Walker,
    a: &Asyncio,
    obj: u64,
    name: &str,
) -> Result<Option<u64>, WalkError> {
    let objects = w.layout().objects;
    let ty = ptr(w, obj.wrapping_add(objects.ob_type))?;
    let flags = ptr(w, ty.wrapping_add(objects.tp_flags))?;
    let before = |n: u64| ptr(w, obj.wrapping_sub(n));
    let in_dict = |dict: u64| match dict {
        0 => Ok(None),
        d => get(w, a, d, name),
    };
    let managed = a.managed.filter(|_| flags & MANAGED_DICT != 0);
    let Some(managed) = managed else {
        let offset = ptr(w, ty.wrapping_add(a.tp_dictoffset))? as i64;
        return match offset {
            1..=0xffff => in_dict(ptr(w, obj.wrapping_add(offset as u64))?),
            _ => Ok(None),
        };
    };
    let values = match managed {
        ManagedDict::ValuesOrDict => match before(a.dict_before)? {
            0 => before(a.dict_before + 8)?,
            dict => return in_dict(dict),
        },
        ManagedDict::Tagged => match before(a.dict_before)? {
            v if v & 1 == 1 => v.wrapping_add(1),
            dict => return in_dict(dict),
        },
        ManagedDict::Inline => match before(a.dict_before)? {
            0 if flags & INLINE_VALUES != 0 => {
                let size = ptr(w, ty.wrapping_add(a.tp_basicsize))?;
                let values = obj.wrapping_add(size);
                // `valid` is cleared once a dict took the values over.
                let mut head = [0u8; 4];
                w.mem()
                    .read(values, &mut head)
                    .map_err(WalkError::read("inline values"))?;
                match head[3] {
                    0 => 0,
                    _ => values.wrapping_add(a.values_at),
                }
            }
            0 => 0,
            dict => return in_dict(dict),
        },
    };
    if values == 0 {
        return Ok(None);
    }
    let keys = ptr(w, ty.wrapping_add(a.ht_cached_keys))?;
    let index = entries(w, a, keys)?
        .iter()
        .map(|&(k, _)| (k != 0).then(|| is_str(w, k, name)))
        .position(|m| matches!(m, Some(Ok(true))));
    match index {
        Some(i) => Ok(Some(ptr(w, values.wrapping_add(8 * i as u64))?).filter(|&v| v != 0)),
        None => Ok(None),
    }
}

/// The items of the list at `list`, at most `MAX_ITEMS`.
pub(super) fn list_items(w: &Walker, a: &Asyncio, list: u64) -> Result<Vec<u64>, WalkError> {
    let size = ptr(w, list.wrapping_add(a.list_size))?;
    let items = ptr(w, list.wrapping_add(a.list_item))?;
    let mut out = words(w, items, size.min(MAX_ITEMS))?;
    out.retain(|&i| i != 0);
    Ok(out)
}
