//! Sorting by a `u64` key through one instantiation of the standard library's sort: each
//! `sort_by_key` closure (and each element type) otherwise compiles a sort of its own, 3 to 5
//! KB of the static binary apiece. The keys and positions are sorted as `(u64, usize)` pairs
//! (the pairs `memory.rs` and `prefetch` sort too), then the items are moved into that order.
//! For lists that are sorted once (maps, symbols, thread and process ids), never per sample:
//! it allocates.

/// Sorts `items` by `key`; items with equal keys keep their order.
pub fn by_key<T>(items: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let mut order: Vec<(u64, usize)> = items.iter().map(key).zip(0..).collect();
    order.sort_unstable();
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|(_, i)| slots[i].take()));
}

#[cfg(test)]
mod tests {
    use super::by_key;

    #[test]
    fn sorts_stably_by_the_key() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (0, 'd'), (1, 'e')];
        by_key(&mut v, |&(k, _)| k);
        assert_eq!(v, [(0, 'd'), (1, 'b'), (1, 'e'), (3, 'a'), (3, 'c')]);
        let mut empty: Vec<u8> = Vec::new();
        by_key(&mut empty, |&b| b.into());
        assert!(empty.is_empty());
        let mut ids = vec![5i32, -1, 3];
        by_key(&mut ids, |&i| i as u32 as u64);
        assert_eq!(ids, [3, 5, -1]);
    }
}
