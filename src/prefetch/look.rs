//! The second look: the values a read made without stopping its thread used, read again (see
//! `sampler/unstopped.rs`), in a system call of its own or as the tail of the next batch.
//!
//! The kernel copies the ranges of one process_vm_readv in order, so a list of values read in
//! one call, in the order given, is one look (see `Walker::expect` for the order that makes it
//! a moment). Each batch ends with the ranges of the last second look. When a sample then
//! reads nothing outside its batch, that tail was read after everything the sample used, and
//! if it holds every value in the order given, it is the second look, made without a system
//! call of its own: between samples of a stack that keeps its shape, the usual case.

use super::{Prefetcher, State, MERGE_GAP};
use crate::memory::{Memory, ReadError};

/// The longest range a second look makes of values next to each other, and the most it reads
/// in all (a sample's byte budget: whatever the target holds, a second look is bounded too).
const MAX_RECHECK_RANGE: u64 = 16 << 10;
pub(super) const MAX_RECHECK_BYTES: usize = 16 << 20;
/// The most a second look may read to be read again as the tail of the next batch.
const MAX_TAIL_BYTES: usize = 64 << 10;

/// A value a reader used (`len` bytes at `addr`, little-endian), which must still be there
/// for its read to stand (see `Prefetcher::recheck`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    addr: u64,
    len: u8,
    value: [u8; 8],
}

impl Expect {
    /// The `len` (1 to 8) low bytes of `value` at `addr`.
    pub fn new(addr: u64, len: u8, value: u64) -> Expect {
        Expect {
            addr,
            len: len.clamp(1, 8),
            value: value.to_le_bytes(),
        }
    }

    pub fn addr(&self) -> u64 {
        self.addr
    }

    fn len(&self) -> usize {
        usize::from(self.len)
    }

    fn bytes(&self) -> &[u8] {
        &self.value[..self.len()]
    }
}

/// How a second look reads a list of values: the ranges, in order, and where each value is
/// in the bytes read.
struct Plan {
    ranges: Vec<(u64, usize)>,
    at: Vec<usize>,
    size: usize,
}

/// A value that follows the one before it in the list and in memory (at or after its end, by
/// less than `MERGE_GAP`) is read in the same range: the kernel pins the pages of each range
/// apart, which costs far more than copying the bytes between, and copies a range going up, so
/// the order holds. None when it would read more than `MAX_RECHECK_BYTES`.
fn plan(expect: &[Expect]) -> Option<Plan> {
    let mut ranges: Vec<(u64, usize)> = Vec::with_capacity(expect.len());
    let mut at: Vec<usize> = Vec::with_capacity(expect.len());
    let mut size = 0;
    for e in expect {
        let end = e.addr.saturating_add(e.len() as u64);
        match ranges.last_mut() {
            Some((start, n))
                if e.addr >= start.saturating_add(*n as u64)
                    && e.addr <= start.saturating_add(*n as u64).saturating_add(MERGE_GAP)
                    && end - *start <= MAX_RECHECK_RANGE =>
            {
                let grown = (end - *start) as usize;
                size += grown - *n;
                at.push(size - grown + (e.addr - *start) as usize);
                *n = grown;
            }
            _ => {
                at.push(size);
                ranges.push((e.addr, e.len()));
                size += e.len();
            }
        }
        if size > MAX_RECHECK_BYTES {
            return None;
        }
    }
    Some(Plan { ranges, at, size })
}

impl State {
    /// Whether every value in `expect` is what the batch's tail read, if the tail can stand
    /// for a second look: the sample read nothing outside the batch, and the tail holds every
    /// value, each at or after the one before in the order it was read. None otherwise.
    fn in_tail(&self, expect: &[Expect]) -> Option<bool> {
        if !self.open || self.missed {
            return None;
        }
        // The offset in `data` where the previous value ended: bytes read before it are not
        // read after it.
        let (mut range, mut read_to) = (0, 0);
        for e in expect {
            let at = loop {
                let &(start, off, n) = self.look.get(range)?;
                let skip = e.addr.wrapping_sub(start);
                if e.addr >= start && skip + e.len() as u64 <= n as u64 {
                    let at = off + skip as usize;
                    if at >= read_to {
                        break at;
                    }
                }
                range += 1;
            };
            if self.data[at..at + e.len()] != *e.bytes() {
                return Some(false);
            }
            read_to = at + e.len();
        }
        Some(true)
    }
}

impl<M: Memory> Prefetcher<M> {
    /// Whether every value in `expect` is still what it was, read again in the order given:
    /// from the batch's tail where it can stand for a second look, else now, in one system
    /// call where the kernel allows. False as soon as one differs or cannot be read, or when
    /// it would read more than `MAX_RECHECK_BYTES`. The next batch reads these ranges again.
    pub fn recheck(&self, expect: &[Expect]) -> Result<bool, ReadError> {
        let Some(plan) = plan(expect) else {
            return Ok(false);
        };
        {
            let mut st = self.state.borrow_mut();
            st.look_plan = match plan.size <= MAX_TAIL_BYTES {
                true => plan.ranges.clone(),
                false => Vec::new(),
            };
            if let Some(same) = st.in_tail(expect) {
                return Ok(same);
            }
        }
        let mut now = vec![0u8; plan.size];
        let mut parts: Vec<(u64, &mut [u8])> = Vec::with_capacity(plan.ranges.len());
        let mut rest = &mut now[..];
        for &(addr, len) in &plan.ranges {
            let (head, tail) = rest.split_at_mut(len);
            parts.push((addr, head));
            rest = tail;
        }
        let mut done = 0;
        while done < parts.len() {
            done += match self.mem.read_many(&mut parts[done..])? {
                // Not read together (/proc/PID/mem, or a fault): one by one.
                0 => match self.mem.read(parts[done].0, parts[done].1) {
                    Ok(()) => 1,
                    Err(ReadError::Fault { .. }) => return Ok(false),
                    Err(e) => return Err(e),
                },
                n => n,
            };
        }
        Ok(expect
            .iter()
            .zip(&plan.at)
            .all(|(e, &i)| now.get(i..i + e.len()) == Some(e.bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_never_read_before_the_one_it_follows() {
        // The pointer, a frame 256 bytes above it, the pointer again: one range would read
        // the pointer's second look with its first, before the frame.
        let (ptr, frame) = (Expect::new(0x1000, 8, 1), Expect::new(0x1100, 8, 2));
        let p = plan(&[ptr, frame, ptr]).unwrap();
        assert_eq!(p.ranges, [(0x1000, 0x108), (0x1000, 8)]);
        assert_eq!(p.at, [0, 0x100, 0x108]);
        // Going up, values merge; overlapping ones do not.
        let p = plan(&[frame, Expect::new(0x1104, 4, 0), Expect::new(0x1108, 8, 0)]).unwrap();
        assert_eq!(p.ranges, [(0x1100, 8), (0x1104, 12)]);
        assert_eq!((p.at, p.size), (vec![0, 8, 12], 20));
    }
}
