//! The prefetcher's tests: one batch per sample, pages on a miss, bounds, and the second look.

use super::*;
use crate::memory::FakeMemory;
use std::cell::Cell;

/// Counts the reads that reach the memory behind the prefetcher.
struct Counting {
    mem: FakeMemory,
    calls: Cell<usize>,
}

impl Memory for Counting {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.calls.set(self.calls.get() + 1);
        self.mem.read(addr, buf)
    }
    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> Result<usize, ReadError> {
        self.calls.set(self.calls.get() + 1);
        self.mem.read_many(parts)
    }
}

#[test]
fn the_second_sample_reads_in_one_batch() {
    let mut mem = FakeMemory::default();
    mem.write(0x1000, &[1; 4096]);
    mem.write(0x9000, &(0..4096u32).map(|i| i as u8).collect::<Vec<u8>>());
    let counting = Counting {
        mem,
        calls: Cell::new(0),
    };
    let p = Rc::new(Prefetcher::new(&counting));
    let mut a = [0u8; 16];
    let mut b = [0u8; 8];
    for sample in 0..3 {
        counting.calls.set(0);
        p.begin().unwrap();
        p.read(0x1000, &mut a).unwrap();
        p.read(0x9010, &mut b).unwrap();
        p.read(0x9018, &mut b).unwrap();
        p.end();
        assert_eq!(b, [24, 25, 26, 27, 28, 29, 30, 31]);
        // First sample: nothing predicted (an empty batch, then a page per miss: two);
        // later samples: one batch.
        assert_eq!(
            counting.calls.get(),
            if sample == 0 { 3 } else { 1 },
            "sample {sample}"
        );
    }
    // Outside a sample, reads always go to the process.
    counting.calls.set(0);
    p.read(0x1000, &mut a).unwrap();
    assert_eq!(counting.calls.get(), 1);
}

#[test]
fn a_long_walk_is_served_and_remembered_within_bounds() {
    let mut mem = FakeMemory::default();
    mem.write(0x10_0000, &vec![5u8; 2 << 20]);
    let counting = Counting {
        mem,
        calls: Cell::new(0),
    };
    let p = Rc::new(Prefetcher::new(&counting));
    let open = p.open().unwrap();
    let mut peak_pages = 0;
    for i in 0..(2u64 << 20) / 64 {
        let mut x = [0u8; 8];
        p.read(0x10_0000 + i * 64, &mut x).unwrap();
        assert_eq!(x, [5; 8]);
        peak_pages = peak_pages.max(p.state.borrow().pages.len());
    }
    // One read per page, whatever the number of pages.
    assert_eq!(counting.calls.get(), 1 + 512);
    assert!(peak_pages <= MAX_PAGES);
    assert_eq!(p.state.borrow().wanted.len(), MAX_WANTED);
    drop(open);
    assert!(p.state.borrow().pages.is_empty());
}

#[test]
fn a_miss_reads_its_whole_page() {
    let mut mem = FakeMemory::default();
    mem.write(0x4000, &(0..4096u32).map(|i| i as u8).collect::<Vec<u8>>());
    let counting = Counting {
        mem,
        calls: Cell::new(0),
    };
    let p = Rc::new(Prefetcher::new(&counting));
    p.begin().unwrap();
    let mut x = [0u8; 8];
    for at in [0x4ff0u64, 0x4010, 0x4800] {
        p.read(at, &mut x).unwrap();
        assert_eq!(x[0], at as u8);
    }
    // The empty batch, then one page read for all three.
    assert_eq!(counting.calls.get(), 2);
    // A range across two pages is read as it is.
    let mut y = [0u8; 32];
    assert!(p.read(0x4ff0, &mut y).is_err());
    p.end();
}

#[test]
fn addresses_at_the_top_of_the_address_space_do_not_overflow() {
    let mem = FakeMemory::default();
    let p = Rc::new(Prefetcher::new(&mem));
    let mut x = [0u8; 32];
    for _ in 0..2 {
        p.begin().unwrap();
        assert!(p.read(u64::MAX - 8, &mut x).is_err());
        assert!(p.read(u64::MAX - 4095, &mut x).is_err());
        assert!(p.read_prefix(u64::MAX, &mut x).is_err());
        p.end();
    }
}

#[test]
fn sees_changes_made_between_samples() {
    let mut mem = FakeMemory::default();
    mem.write(0x1000, &[1; 64]);
    let p = Rc::new(Prefetcher::new(&mem));
    let mut x = [0u8; 4];
    p.begin().unwrap();
    p.read(0x1000, &mut x).unwrap();
    p.end();
    drop(p);
    mem.patch(0x1000, &[7, 7, 7, 7]);
    let p = Rc::new(Prefetcher::new(&mem));
    p.begin().unwrap();
    p.read(0x1000, &mut x).unwrap();
    assert_eq!(x, [7; 4]);
}

#[test]
fn ranges_that_vanished_are_read_again_and_fail_cleanly() {
    let mut mem = FakeMemory::default();
    mem.write(0x1000, &[1; 64]);
    let p = Rc::new(Prefetcher::new(&mem));
    let mut x = [0u8; 4];
    p.begin().unwrap();
    p.read(0x1000, &mut x).unwrap();
    assert!(p.read(0x5000, &mut x).is_err());
    p.end();
    p.begin().unwrap();
    assert!(p.read(0x5000, &mut x).is_err());
    p.read(0x1000, &mut x).unwrap();
    let mut parts_a = [0u8; 4];
    let mut parts_b = [0u8; 4];
    let mut parts: Vec<(u64, &mut [u8])> = vec![(0x1000, &mut parts_a), (0x1010, &mut parts_b)];
    assert_eq!(p.read_many(&mut parts).unwrap(), 2);
}

#[test]
fn the_second_look_reads_again_in_order_and_sees_changes() {
    let mut mem = FakeMemory::default();
    mem.write(0x1000, &[0; 64]);
    mem.patch(0x1000, &0x1122_3344_5566_7788u64.to_le_bytes());
    mem.patch(0x1010, &7u32.to_le_bytes());
    let counting = Counting {
        mem,
        calls: Cell::new(0),
    };
    let p = Rc::new(Prefetcher::new(&counting));
    let open = p.open().unwrap();
    let same = [
        Expect::new(0x1000, 8, 0x1122_3344_5566_7788),
        Expect::new(0x1010, 4, 7),
        // Only the low bytes count.
        Expect::new(0x1000, 2, 0xffff_ffff_ffff_7788),
    ];
    counting.calls.set(0);
    assert!(p.recheck(&same).unwrap());
    // Read again from the process, not from the batch: in one call.
    assert_eq!(counting.calls.get(), 1);
    assert!(!p.recheck(&[Expect::new(0x1010, 4, 8)]).unwrap());
    // An unmapped address is a change, not an error.
    assert!(!p.recheck(&[same[0], Expect::new(0x9000, 8, 0)]).unwrap());
    assert!(p.recheck(&[]).unwrap());
    drop(open);
}

#[test]
fn the_second_look_is_bounded() {
    // Memory that holds every value: only the cap makes the look fail.
    let mut mem = FakeMemory::default();
    mem.write(0x1000, &vec![0; 2 * MAX_RECHECK_BYTES + (1 << 20)]);
    let p = Rc::new(Prefetcher::new(&mem));
    assert!(p.recheck(&[Expect::new(0x1000, 8, 0)]).unwrap());
    // Values 200 bytes apart merge into ranges that add up to twice the cap: not read at all.
    let many: Vec<Expect> = (0..(MAX_RECHECK_BYTES as u64 / 100))
        .map(|i| Expect::new(0x1000 + 200 * i, 8, 0))
        .collect();
    assert!(!p.recheck(&many).unwrap());
}
