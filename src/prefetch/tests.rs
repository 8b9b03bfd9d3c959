//! The prefetcher's tests: one batch per sample, pages on a miss, bounds, and the second look.

use super::look::MAX_RECHECK_BYTES;
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

/// Reads one value of every `Expect` through the prefetcher, as a walk would.
fn walk(p: &Prefetcher<&Counting>, expect: &[Expect]) {
    for e in expect {
        let mut b = [0u8; 8];
        p.read(e.addr(), &mut b).unwrap();
    }
}

#[test]
fn the_next_batch_makes_the_second_look() {
    let mut mem = FakeMemory::default();
    mem.write(0x1000, &[0; 8192]);
    mem.patch(0x1000, &0x1100u64.to_le_bytes());
    let counting = Counting {
        mem,
        calls: Cell::new(0),
    };
    let p = Rc::new(Prefetcher::new(&counting));
    // A pointer, the frames it leads to, the pointer again (see `Walker::expect`).
    let looks = [
        Expect::new(0x1000, 8, 0x1100),
        Expect::new(0x1100, 8, 0),
        Expect::new(0x1110, 8, 0),
        Expect::new(0x1000, 8, 0x1100),
    ];
    let open = p.open().unwrap();
    walk(&p, &looks);
    counting.calls.set(0);
    assert!(p.recheck(&looks).unwrap());
    assert_eq!(
        counting.calls.get(),
        1,
        "the first look has a system call of its own"
    );
    drop(open);
    for sample in 0..3 {
        let open = p.open().unwrap();
        walk(&p, &looks);
        counting.calls.set(0);
        assert!(p.recheck(&looks).unwrap(), "sample {sample}");
        assert_eq!(
            counting.calls.get(),
            0,
            "sample {sample}: read as the batch's tail"
        );
        drop(open);
    }
    // Values the tail does not hold, or holds only before a value they must follow: a look of
    // their own. The next batch's tail is the last look.
    let swapped = [looks[1], looks[0], looks[1]];
    for (other, tail) in [(&looks[..], &[looks[1]][..]), (&swapped[..], &looks[..])] {
        let open = p.open().unwrap();
        walk(&p, &looks);
        assert!(p.recheck(tail).unwrap());
        drop(open);
        let open = p.open().unwrap();
        walk(&p, &looks);
        counting.calls.set(0);
        assert!(p.recheck(other).unwrap());
        assert_eq!(counting.calls.get(), 1);
        drop(open);
    }
    // A sample that read something the batch did not hold: its tail was read before that.
    let _open = p.open().unwrap();
    walk(&p, &looks);
    walk(&p, &[Expect::new(0x1800, 8, 0)]);
    counting.calls.set(0);
    assert!(p.recheck(&looks).unwrap());
    assert_eq!(counting.calls.get(), 1);
}

/// Memory that changes one value while a batch is read, after the part at `after`.
struct Moving {
    mem: std::cell::RefCell<FakeMemory>,
    after: usize,
    change: (u64, u64),
}

impl Memory for Moving {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.mem.borrow().read(addr, buf)
    }
    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> Result<usize, ReadError> {
        for (i, (addr, buf)) in parts.iter_mut().enumerate() {
            self.mem.borrow().read(*addr, buf)?;
            if i == self.after {
                let (at, value) = self.change;
                self.mem.borrow_mut().patch(at, &value.to_le_bytes());
            }
        }
        Ok(parts.len())
    }
}

#[test]
fn the_batch_tail_sees_what_moved_while_the_batch_was_read() {
    let mut mem = FakeMemory::default();
    mem.write(0x1000, &[0; 64]);
    mem.write(0x9000, &[0; 64]);
    let moving = Moving {
        mem: std::cell::RefCell::new(mem),
        after: usize::MAX,
        change: (0x9000, 5),
    };
    let p = Rc::new(Prefetcher::new(&moving));
    let looks = [Expect::new(0x1000, 8, 0), Expect::new(0x9000, 8, 0)];
    let read = |p: &Prefetcher<&Moving>| {
        for e in &looks {
            let mut b = [0u8; 8];
            p.read(e.addr(), &mut b).unwrap();
        }
    };
    let open = p.open().unwrap();
    read(&p);
    assert!(p.recheck(&looks).unwrap());
    drop(open);
    // The next batch reads both values (parts 0 and 1), then its tail, which finds 0x9000
    // changed: the sample read a value that moved, with no system call of its own.
    let moving = Moving { after: 1, ..moving };
    let p = Rc::new(Prefetcher::new(&moving));
    let open = p.open().unwrap();
    read(&p);
    assert!(p.recheck(&looks).unwrap());
    drop(open);
    let _open = p.open().unwrap();
    read(&p);
    assert!(!p.recheck(&looks).unwrap());
}
