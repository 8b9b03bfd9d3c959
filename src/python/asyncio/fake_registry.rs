//! The containers of a fake 3.8 to 3.13 process (`fake_globals.rs`) in each version's layout:
//! dicts (3.6-3.10's keys sized by `dk_size`, 3.11+'s by log2; str-keyed or general), an
//! instance's attributes (its dict at `tp_dictoffset`, or its managed dict from 3.11), sets,
//! weak references and lists; and asyncio's registry made of them.

use super::fake_globals::Old;
use crate::python::fake::put;
use crate::python::layout::DictKeys;

/// `Py_TPFLAGS_MANAGED_DICT`.
const MANAGED_DICT: u64 = 1 << 4;
/// Where an instance without a managed dict keeps it (`tp_dictoffset`).
pub(super) const DICT_AT: u64 = 48;

impl Old {
    /// An object (of a type named `object`) holding these (offset, word) pairs.
    pub fn with(&mut self, words: &[(u64, u64)]) -> u64 {
        let mut b = vec![0u8; 128];
        put(&mut b, self.py.layout.objects.ob_type, self.object_type);
        for &(at, v) in words {
            put(&mut b, at, v);
        }
        self.py.alloc(b)
    }

    /// A `PyDictKeysObject` with these (key, value) entries: str-keyed (a unicode table from
    /// 3.11) or not (a general one).
    pub fn keys(&mut self, entries: &[(u64, u64)], str_keys: bool) -> u64 {
        let n = entries.len() as u64;
        let slots = (n * 3 / 2).next_power_of_two().max(8);
        let (mut b, general) = match self.g.row.keys {
            DictKeys::Sized => {
                let width = if slots <= 0xff { 1 } else { 2 };
                let mut b = vec![0u8; (40 + slots * width) as usize];
                put(&mut b, 8, slots);
                put(&mut b, 32, n);
                (b, true)
            }
            DictKeys::Log2 => {
                let index_bytes = slots * if slots <= 0xff { 1 } else { 2 };
                let mut b = vec![0u8; 32 + index_bytes as usize];
                b[8] = slots.trailing_zeros() as u8;
                b[9] = index_bytes.trailing_zeros() as u8;
                b[10] = u8::from(str_keys);
                put(&mut b, 24, n);
                (b, !str_keys)
            }
        };
        for &(k, v) in entries {
            if general {
                b.extend_from_slice(&0x5eed_u64.to_le_bytes());
            }
            b.extend_from_slice(&k.to_le_bytes());
            b.extend_from_slice(&v.to_le_bytes());
        }
        self.py.alloc(b)
    }

    /// A dict object over `keys`.
    pub fn dict_of(&mut self, keys: u64) -> u64 {
        let mut b = vec![0u8; 64];
        put(&mut b, self.py.layout.objects.ob_type, self.dict_type);
        put(&mut b, self.g.row.ma_keys, keys);
        self.py.alloc(b)
    }

    /// A dict of `str` keys.
    pub fn dict(&mut self, pairs: &[(&str, u64)]) -> u64 {
        let entries: Vec<_> = pairs.iter().map(|&(k, v)| (self.py.string(k), v)).collect();
        let keys = self.keys(&entries, true);
        self.dict_of(keys)
    }

    /// An instance of a Python class `type_name` with these attributes in its dict (a managed
    /// dict from 3.11, else at `tp_dictoffset`).
    pub fn instance(&mut self, type_name: &str, attrs: &[(&str, u64)]) -> u64 {
        let managed = self.g.row.managed.is_some();
        let ty = self.type_object(type_name, if managed { MANAGED_DICT } else { 0 }, 0);
        let dict = self.dict(attrs);
        // Room before the object for its managed dict pointer.
        let mut b = vec![0u8; 32 + 128];
        put(&mut b, 32 + self.py.layout.objects.ob_type, ty);
        match managed {
            true => put(&mut b, 32 - self.g.row.dict_before, dict),
            false => put(&mut b, 32 + DICT_AT, dict),
        }
        self.py.alloc(b) + 32
    }

    /// A set whose table holds `keys` (0: an empty slot; `dummy`: a deleted one, hash -1),
    /// with these `used` and `mask`.
    pub fn set(&mut self, keys: &[u64], used: u64, mask: u64) -> u64 {
        let table: Vec<u8> = keys
            .iter()
            .flat_map(|&k| [k, if k == self.dummy { u64::MAX } else { 0x5eed }])
            .flat_map(u64::to_le_bytes)
            .collect();
        let a = self.g.row;
        let table = self.py.alloc(table);
        self.with(&[(a.set_used, used), (a.set_mask, mask), (a.set_table, table)])
    }

    /// A full set of these keys (a table of the next power of two slots).
    pub fn set_of(&mut self, keys: &[u64]) -> u64 {
        let slots = (keys.len() + 1).next_power_of_two();
        let mut table = keys.to_vec();
        table.resize(slots, 0);
        self.set(&table, keys.len() as u64, slots as u64 - 1)
    }

    pub fn weakref(&mut self, obj: u64) -> u64 {
        self.with(&[(self.g.row.wr_object, obj)])
    }

    pub fn list(&mut self, items: &[u64]) -> u64 {
        let array: Vec<u8> = items.iter().flat_map(|i| i.to_le_bytes()).collect();
        let array = self.py.alloc(array);
        let a = self.g.row;
        self.with(&[(a.list_size, items.len() as u64), (a.list_item, array)])
    }

    /// `asyncio.tasks` in `sys.modules`, its globals holding the scheduled WeakSet (whose
    /// `data` holds a weak reference to each of `scheduled`), the eager set (3.12+) and
    /// `_current_tasks` (loop -> task).
    pub fn registry(
        &mut self,
        scheduled: &[u64],
        eager: &[u64],
        current: &[(u64, u64)],
    ) -> Objects {
        let refs: Vec<u64> = scheduled.iter().map(|&t| self.weakref(t)).collect();
        let data = self.set_of(&refs);
        let weakset = self.instance("WeakSet", &[("data", data)]);
        let current = self.keys(current, false);
        let current = self.dict_of(current);
        let mut globals = vec![(self.g.row.scheduled, weakset), ("_current_tasks", current)];
        let eager = self.set_of(eager);
        if let Some(name) = self.g.row.eager {
            globals.push((name, eager));
        }
        let globals = self.dict(&globals);
        let module = self.with(&[(self.g.row.md_dict, globals)]);
        let sys = self.with(&[]);
        let modules = self.dict(&[("sys", sys), ("asyncio.tasks", module)]);
        self.py.set(self.interp + self.g.modules, modules);
        Objects {
            modules,
            module,
            globals,
            current,
            eager,
            data,
        }
    }

    /// The registry `r` with its WeakSet's set of weak references replaced by `data`.
    pub fn with_data(&mut self, r: &Objects, data: u64) {
        let weakset = self.instance("WeakSet", &[("data", data)]);
        let mut globals = vec![
            (self.g.row.scheduled, weakset),
            ("_current_tasks", r.current),
        ];
        globals.extend(self.g.row.eager.map(|name| (name, r.eager)));
        let globals = self.dict(&globals);
        self.py.set(r.module + self.g.row.md_dict, globals);
    }
}

/// The objects of a registry.
pub(super) struct Objects {
    pub modules: u64,
    pub module: u64,
    pub globals: u64,
    pub current: u64,
    /// The eager set (in the globals from 3.12).
    pub eager: u64,
    /// The WeakSet's set of weak references.
    pub data: u64,
}
