//! A fast keyed hasher for the maps a sample looks up: ids, addresses and short keys.
//!
//! std's SipHash costs 20-30 ns a lookup, about fifty times a sample (each frame's code and
//! line, the stack). This one folds a word per step (rotate, xor, multiply) and mixes the
//! result once (MurmurHash3's finalizer). Keys can come from the target (code object
//! addresses), so the state starts from a seed drawn once per run: which keys share a bucket
//! cannot be known from outside.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

pub type Map<K, V> = HashMap<K, V, Keyed>;
pub type Set<K> = HashSet<K, Keyed>;

const K: u64 = 0x517c_c1b7_2722_0a95;

/// Builds `Fold` hashers from the run's seed.
#[derive(Clone, Copy)]
pub struct Keyed {
    seed: u64,
}

impl Default for Keyed {
    fn default() -> Keyed {
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed = *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(K));
        Keyed { seed }
    }
}

impl BuildHasher for Keyed {
    type Hasher = Fold;

    fn build_hasher(&self) -> Fold {
        Fold(self.seed)
    }
}

pub struct Fold(u64);

impl Fold {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for Fold {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(last) ^ (bytes.len() as u64) << 56);
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_buckets() {
        // Code object addresses: 16-byte aligned, 4 KiB apart. The low bits of the hash pick
        // the bucket (hashbrown), the top seven the control byte: both must vary.
        let k = Keyed::default();
        let hashes: Vec<u64> = (0..4096u64)
            .map(|i| k.hash_one(0x7f00_0000_0000 + i * 4096))
            .collect();
        let low: Set<u64> = hashes.iter().map(|h| h & 0xfff).collect();
        let top: Set<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(low.len() > 2000, "{} distinct low 12 bits", low.len());
        assert_eq!(top.len(), 128);
    }

    #[test]
    fn equal_keys_hash_equal_and_lengths_count() {
        let k = Keyed::default();
        assert_eq!(k.hash_one((1u32, 2i32)), k.hash_one((1u32, 2i32)));
        assert_ne!(
            k.hash_one([0u8; 3].as_slice()),
            k.hash_one([0u8; 4].as_slice())
        );
        assert_ne!(k.hash_one("ab"), k.hash_one("ba"));
        let m: Map<&str, u32> = [("a", 1), ("b", 2)].into_iter().collect();
        assert_eq!(m.get("b"), Some(&2));
    }
}
