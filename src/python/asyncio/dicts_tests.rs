//! dicts.rs against dicts, instances and lists built in fake memory in the layouts of 3.11,
//! 3.12 and 3.13, and against corrupted ones: every read bounded, garbage an error, never a
//! hang.

use super::dicts::{attribute, get, get_keyed, items, list_items, MAX_ITEMS};
use crate::python::fake::{put, FakePython};
use crate::python::layout::{asyncio, for_version, Asyncio, Layout, ManagedDict};
use crate::python::walk::{WalkError, Walker};

fn layout(minor: u8) -> Layout {
    match for_version(3, minor) {
        Some(l) => *l,
        // 3.13's walker layout comes from its debug offsets; its objects and strings are
        // 3.12's, which is all dicts.rs reads.
        None => *for_version(3, 12).unwrap(),
    }
}

struct Fake {
    py: FakePython,
    a: Asyncio,
    dict_type: u64,
}

impl Fake {
    fn new(minor: u8) -> Fake {
        let mut py = FakePython::new(layout(minor));
        let dict_type = py.type_object("dict", 1 << 29);
        Fake {
            py,
            a: asyncio(3, minor).unwrap(),
            dict_type,
        }
    }

    /// A `PyDictKeysObject` of `kind` (0 general, 1 unicode, 2 split) with these entries.
    fn keys(&mut self, kind: u8, entries: &[(u64, u64)]) -> u64 {
        let mut b = vec![0u8; 32 + 8];
        b[8] = 3; // dk_log2_size
        b[9] = 3; // dk_log2_index_bytes: 8 bytes of indices
        b[10] = kind;
        put(&mut b, 24, entries.len() as u64);
        for &(k, v) in entries {
            if kind == 0 {
                b.extend_from_slice(&0x1234u64.to_le_bytes());
            }
            b.extend_from_slice(&k.to_le_bytes());
            b.extend_from_slice(&v.to_le_bytes());
        }
        self.py.alloc(b)
    }

    fn dict(&mut self, keys: u64, values: u64) -> u64 {
        let mut b = vec![0u8; 64];
        put(&mut b, self.py.layout.objects.ob_type, self.dict_type);
        put(&mut b, self.a.ma_keys, keys);
        put(&mut b, self.a.ma_values, values);
        self.py.alloc(b)
    }

    /// A dict of `str` keys.
    fn str_dict(&mut self, pairs: &[(&str, u64)]) -> u64 {
        let entries: Vec<(u64, u64)> = pairs.iter().map(|&(k, v)| (self.py.string(k), v)).collect();
        let keys = self.keys(1, &entries);
        self.dict(keys, 0)
    }

    fn values(&mut self, values: &[u64]) -> u64 {
        let mut b = vec![0u8; self.a.values_at as usize];
        if self.a.managed == Some(ManagedDict::Inline) {
            b[..4].copy_from_slice(&[values.len() as u8, values.len() as u8, 0, 1]);
        }
        for v in values {
            b.extend_from_slice(&v.to_le_bytes());
        }
        self.py.alloc(b)
    }

    fn walker(&self) -> Walker<'_> {
        Walker::new(&self.py.mem, self.py.layout, self.py.roots)
    }
}

#[test]
fn combined_general_and_split_dicts() {
    let mut f = Fake::new(12);
    let d = f.str_dict(&[("asyncio", 1), ("asyncio.tasks", 2), ("x", 0)]);
    let w = f.walker();
    assert_eq!(get(&w, &f.a, d, "asyncio.tasks").unwrap(), Some(2));
    assert_eq!(get(&w, &f.a, d, "asyncio.task").unwrap(), None);
    // An entry without a value (deleted) is left out.
    assert_eq!(items(&w, &f.a, d).unwrap().len(), 2);
    drop(w);
    let general = f.keys(0, &[(0x500, 7), (0x600, 8)]);
    let g = f.dict(general, 0);
    let split_keys = f.keys(2, &[(0x500, 0), (0x600, 0)]);
    let values = f.values(&[70, 80]);
    let s = f.dict(split_keys, values);
    let w = f.walker();
    assert_eq!(items(&w, &f.a, g).unwrap(), vec![(0x500, 7), (0x600, 8)]);
    assert_eq!(items(&w, &f.a, s).unwrap(), vec![(0x500, 70), (0x600, 80)]);
}

#[test]
fn attributes_of_each_managed_dict() {
    for minor in [11, 12, 13] {
        let mut f = Fake::new(minor);
        let o = f.py.layout.objects;
        // A class with a managed dict (and 3.13's inline values) and cached keys.
        let cached = {
            let (d, r) = (f.py.string("data"), f.py.string("_remove"));
            f.keys(2, &[(d, 0), (r, 0)])
        };
        let mut ty = vec![0u8; 1024];
        put(&mut ty, o.tp_flags, (1 << 4) | (1 << 2));
        put(&mut ty, f.a.tp_basicsize, 16);
        put(&mut ty, f.a.ht_cached_keys, cached);
        let name = f.py.alloc(b"WeakSet\0".to_vec());
        put(&mut ty, o.tp_name, name);
        let ty = f.py.alloc(ty);
        let values = f.values(&[0xda7a, 0x4e30]);
        let mut obj = vec![0u8; 32 + 16];
        put(&mut obj, 32 + o.ob_type, ty);
        match f.a.managed.unwrap() {
            ManagedDict::ValuesOrDict => put(&mut obj, 0, values),
            ManagedDict::Tagged => put(&mut obj, 8, values - 1),
            ManagedDict::Inline => {
                obj.extend_from_slice(&[2, 2, 1, 1, 0, 0, 0, 0]);
                obj.extend_from_slice(&0xda7au64.to_le_bytes());
                obj.extend_from_slice(&0x4e30u64.to_le_bytes());
            }
        }
        let base = f.py.alloc(obj);
        let obj = base + 32;
        let w = f.walker();
        assert_eq!(
            attribute(&w, &f.a, obj, "data").unwrap(),
            Some(0xda7a),
            "3.{minor}"
        );
        assert_eq!(attribute(&w, &f.a, obj, "_remove").unwrap(), Some(0x4e30));
        assert_eq!(attribute(&w, &f.a, obj, "_iterating").unwrap(), None);
        drop(w);
        // With a dict: the dict's.
        let dict = f.str_dict(&[("data", 0xd1c7)]);
        f.py.set(base + 8, dict);
        let w = f.walker();
        assert_eq!(
            attribute(&w, &f.a, obj, "data").unwrap(),
            Some(0xd1c7),
            "3.{minor}"
        );
    }
}

#[test]
fn inline_values_no_longer_valid_are_not_read() {
    let mut f = Fake::new(13);
    let o = f.py.layout.objects;
    let mut ty = vec![0u8; 1024];
    put(&mut ty, o.tp_flags, (1 << 4) | (1 << 2));
    put(&mut ty, f.a.tp_basicsize, 16);
    let ty = f.py.alloc(ty);
    let mut obj = vec![0u8; 32 + 16 + 16];
    put(&mut obj, 32 + o.ob_type, ty);
    obj[48..52].copy_from_slice(&[1, 1, 1, 0]);
    let obj = f.py.alloc(obj) + 32;
    let w = f.walker();
    assert_eq!(attribute(&w, &f.a, obj, "data").unwrap(), None);
}

#[test]
fn corrupted_dicts_are_errors_or_bounded() {
    let mut f = Fake::new(12);
    // Indices of 2^40 bytes: garbage.
    let keys = f.keys(1, &[]);
    f.py.mem.patch(keys + 9, &[40]);
    let d = f.dict(keys, 0);
    // A billion entries claimed, 2 there: the read past them fails, no hang, no huge buffer.
    let many = f.keys(1, &[(1, 2), (3, 4)]);
    f.py.set(many + 24, 1_000_000_000);
    let m = f.dict(many, 0);
    // An unknown kind.
    let odd = f.keys(7, &[]);
    let o = f.dict(odd, 0);
    let w = f.walker();
    assert!(matches!(items(&w, &f.a, d), Err(WalkError::Garbage(_))));
    assert!(items(&w, &f.a, m).is_err());
    assert!(matches!(items(&w, &f.a, o), Err(WalkError::Garbage(_))));
    assert!(items(&w, &f.a, 0xdead_0000).is_err());
}

#[test]
fn a_list_is_read_up_to_its_cap() {
    let mut f = Fake::new(12);
    let n = MAX_ITEMS + 100;
    let mut items = Vec::new();
    for i in 0..n {
        items.extend_from_slice(&(i + 1).to_le_bytes());
    }
    let at = f.py.alloc(items);
    let mut list = vec![0u8; 48];
    put(&mut list, f.a.list_size, n);
    put(&mut list, f.a.list_item, at);
    let list = f.py.alloc(list);
    let mut huge = vec![0u8; 48];
    put(&mut huge, f.a.list_size, u64::MAX);
    put(&mut huge, f.a.list_item, at);
    let huge = f.py.alloc(huge);
    let w = f.walker();
    let got = list_items(&w, &f.a, list).unwrap();
    assert_eq!(got.len() as u64, MAX_ITEMS);
    assert_eq!(got[..3], [1, 2, 3]);
    assert_eq!(list_items(&w, &f.a, huge).unwrap().len() as u64, MAX_ITEMS);
}

#[test]
fn a_key_found_once_is_found_by_its_address() {
    let mut f = Fake::new(12);
    let d = f.str_dict(&[("other", 1), ("__asyncio_running_event_loop__", 0x1005)]);
    let mut key = 0;
    let w = f.walker();
    let name = "__asyncio_running_event_loop__";
    assert_eq!(
        get_keyed(&w, &f.a, d, name, &mut key).unwrap(),
        Some(0x1005)
    );
    assert_ne!(key, 0);
    drop(w);
    // The key's text is no longer read: its address suffices.
    let ascii_data = match f.py.layout.string {
        crate::python::layout::Str::Pep393 { ascii_data, .. } => ascii_data,
        _ => unreachable!(),
    };
    f.py.mem.patch(key + ascii_data, b"XX");
    let w = f.walker();
    assert_eq!(
        get_keyed(&w, &f.a, d, name, &mut key).unwrap(),
        Some(0x1005)
    );
    assert_eq!(get(&w, &f.a, d, name).unwrap(), None);
}
