//! Reads the memory a sample will need in one system call, predicted from what the previous
//! sample read.
//!
//! Between two samples most of a stack stays put: the same thread state, frames and code
//! objects at the same addresses. So each sample records the ranges it reads; the next sample
//! starts by reading all of them in one process_vm_readv, and serves its reads from that
//! batch where it can. Reads the batch does not cover go to the process and are recorded for
//! the next sample; such a miss reads the whole page around it, which usually holds the next
//! frame too (3.11+ frames sit side by side on the thread's data stack) or objects allocated
//! with the last. The batch is only used between `begin` and `end`: reads outside (the checks
//! a sampler makes before and after) always see the process as it is now; so does `recheck`,
//! the second look that shows a stack read without stopping its thread was one it really had
//! (`look.rs`), unless the batch's own tail can stand for it.

use std::cell::RefCell;
use std::rc::Rc;

use crate::memory::{Memory, ReadError};

mod look;
pub use look::Expect;

/// At most this many ranges (IOV_MAX is 1024) and bytes are read in one batch.
const MAX_RANGES: usize = 1024;
const MAX_BYTES: usize = 1 << 20;
/// Ranges closer than this are read as one.
const MERGE_GAP: u64 = 256;
/// Reads recorded per sample for the next one.
const MAX_WANTED: usize = 4 * MAX_RANGES;
/// A miss reads the whole page around it; at most this many pages are kept at once (a deeper
/// walk starts over, as the pages it walked away from will not be read again).
const PAGE: u64 = 4096;
const MAX_PAGES: usize = 256;

pub struct Prefetcher<M: Memory> {
    mem: M,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    open: bool,
    /// Ranges read since `begin`: the prediction for the next sample.
    wanted: Vec<(u64, usize)>,
    /// The last sample's `wanted`, and the ranges its batch read for them.
    last_wanted: Vec<(u64, usize)>,
    last_ranges: Vec<(u64, usize)>,
    /// Ranges in the batch, sorted and disjoint: (address, offset in `data`, length).
    batch: Vec<(u64, usize, usize)>,
    data: Vec<u8>,
    /// Whole pages read on a miss during this sample, sorted by address.
    pages: Vec<(u64, Box<[u8]>)>,
    /// Whether a read since `begin` went to the process (the batch did not hold it).
    missed: bool,
    /// The ranges of the last second look, which the next batch reads again after the rest.
    look_plan: Vec<(u64, usize)>,
    /// The ranges the batch read after the rest, in order: (address, offset in `data`, length).
    look: Vec<(u64, usize, usize)>,
}

impl State {
    /// The bytes for `[addr, addr + len)`, if one range of the batch or one page covers them.
    fn cached(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let in_batch = || {
            let i = self
                .batch
                .partition_point(|&(start, _, _)| start <= addr)
                .checked_sub(1)?;
            let (start, off, n) = self.batch[i];
            let skip = usize::try_from(addr - start).ok()?;
            (skip.checked_add(len)? <= n).then(|| &self.data[off + skip..off + skip + len])
        };
        in_batch().or_else(|| {
            let page = addr & !(PAGE - 1);
            let i = self.pages.binary_search_by_key(&page, |p| p.0).ok()?;
            let skip = (addr - page) as usize;
            self.pages[i].1.get(skip..skip.checked_add(len)?)
        })
    }

    /// Records a read for the next sample's batch.
    fn want(&mut self, addr: u64, len: usize) {
        if self.wanted.len() < MAX_WANTED {
            self.wanted.push((addr, len));
        }
    }

    /// Reads the page holding `[addr, addr + len)` into the cache, if the range is inside one
    /// page and the page can be read.
    fn load_page(&mut self, mem: &impl Memory, addr: u64, len: usize) -> bool {
        let page = addr & !(PAGE - 1);
        if addr.saturating_add(len as u64) > page.saturating_add(PAGE) {
            return false;
        }
        if self.pages.len() >= MAX_PAGES {
            self.pages.clear();
        }
        let mut bytes = vec![0u8; PAGE as usize].into_boxed_slice();
        if mem.read(page, &mut bytes).is_err() {
            return false;
        }
        let at = self.pages.partition_point(|p| p.0 < page);
        self.pages.insert(at, (page, bytes));
        true
    }
}

/// `wanted`, sorted, with ranges closer than `MERGE_GAP` read as one, within `MAX_RANGES` and
/// `MAX_BYTES`.
fn merged(wanted: &[(u64, usize)]) -> Vec<(u64, usize)> {
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable();
    let mut ranges: Vec<(u64, usize)> = Vec::new();
    let mut total = 0;
    for (addr, len) in wanted {
        let end = addr.saturating_add(len as u64);
        // Addresses come from the target: saturating arithmetic, never an overflow.
        match ranges.last_mut() {
            Some((start, n))
                if addr <= start.saturating_add(*n as u64).saturating_add(MERGE_GAP) =>
            {
                let old_end = start.saturating_add(*n as u64);
                let new_end = end.max(old_end);
                total += (new_end - old_end) as usize;
                *n = (new_end - *start) as usize;
            }
            _ => {
                if ranges.len() == MAX_RANGES {
                    break;
                }
                ranges.push((addr, len));
                total += len;
            }
        }
        if total > MAX_BYTES {
            break;
        }
    }
    ranges
}

impl<M: Memory> Prefetcher<M> {
    pub fn new(mem: M) -> Self {
        Prefetcher {
            mem,
            state: RefCell::new(State::default()),
        }
    }

    /// Opens the batch: reads, in one system call, every range the previous batch read; until
    /// the guard is dropped, reads are served from it where they can be. The batch is a
    /// snapshot: what it holds was read when it was opened.
    pub fn open(self: &Rc<Self>) -> Result<Open<M>, ReadError> {
        self.begin()?;
        Ok(Open {
            prefetch: self.clone(),
        })
    }

    /// Starts a sample: reads, in one batch, every range the previous sample read, then the
    /// ranges of the last second look (see `look.rs`).
    fn begin(&self) -> Result<(), ReadError> {
        let mut st = self.state.borrow_mut();
        // A stack that keeps its shape reads the same ranges again: merge them only when not.
        let mut wanted = std::mem::take(&mut st.wanted);
        if wanted != st.last_wanted {
            st.last_ranges = merged(&wanted);
            std::mem::swap(&mut wanted, &mut st.last_wanted);
        }
        wanted.clear();
        st.wanted = wanted;
        let mut ranges = st.last_ranges.clone();
        let mut tail = std::mem::take(&mut st.look_plan);
        if ranges.len() + tail.len() > MAX_RANGES {
            tail.clear();
        }
        let first = ranges.len();
        ranges.extend(tail);
        st.data.resize(ranges.iter().map(|r| r.1).sum(), 0);
        let st = &mut *st;
        let filled = {
            let mut parts: Vec<(u64, &mut [u8])> = Vec::with_capacity(ranges.len());
            let mut rest = &mut st.data[..];
            for &(addr, len) in &ranges {
                let (head, tail) = rest.split_at_mut(len);
                parts.push((addr, head));
                rest = tail;
            }
            self.mem.read_many(&mut parts)?
        };
        st.batch.clear();
        st.look.clear();
        let mut off = 0;
        for (i, &(addr, len)) in ranges[..filled].iter().enumerate() {
            match i < first {
                true => st.batch.push((addr, off, len)),
                false => st.look.push((addr, off, len)),
            }
            off += len;
        }
        st.open = true;
        st.missed = false;
        Ok(())
    }

    /// Ends a sample: later reads go to the process again.
    fn end(&self) {
        let mut st = self.state.borrow_mut();
        st.open = false;
        st.batch.clear();
        st.look.clear();
        st.pages.clear();
    }
}

/// An open batch (see `Prefetcher::open`); dropping it closes the batch.
pub struct Open<M: Memory> {
    prefetch: Rc<Prefetcher<M>>,
}

impl<M: Memory> Drop for Open<M> {
    fn drop(&mut self) {
        self.prefetch.end();
    }
}

impl<M: Memory> Memory for Prefetcher<M> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let mut st = self.state.borrow_mut();
        if !st.open {
            return self.mem.read(addr, buf);
        }
        st.want(addr, buf.len());
        if st.cached(addr, buf.len()).is_none() {
            st.missed = true;
            st.load_page(&self.mem, addr, buf.len());
        }
        match st.cached(addr, buf.len()) {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => {
                drop(st);
                self.mem.read(addr, buf)
            }
        }
    }

    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        let mut st = self.state.borrow_mut();
        if st.open && st.cached(addr, buf.len()).is_none() {
            st.missed = true;
            st.load_page(&self.mem, addr, buf.len());
        }
        if let (true, Some(bytes)) = (st.open, st.cached(addr, buf.len())) {
            buf.copy_from_slice(bytes);
            st.want(addr, buf.len());
            return Ok(buf.len());
        }
        drop(st);
        let n = self.mem.read_prefix(addr, buf)?;
        let mut st = self.state.borrow_mut();
        if st.open {
            st.want(addr, n);
        }
        Ok(n)
    }

    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> Result<usize, ReadError> {
        let st = self.state.borrow();
        if !st.open {
            drop(st);
            return self.mem.read_many(parts);
        }
        drop(st);
        // Serve what the batch has; read the rest in one more batch.
        let mut missing: Vec<usize> = Vec::new();
        {
            let mut st = self.state.borrow_mut();
            for (i, (addr, buf)) in parts.iter_mut().enumerate() {
                st.want(*addr, buf.len());
                match st.cached(*addr, buf.len()) {
                    Some(bytes) => buf.copy_from_slice(bytes),
                    None => missing.push(i),
                }
            }
        }
        if missing.is_empty() {
            return Ok(parts.len());
        }
        self.state.borrow_mut().missed = true;
        let mut rest: Vec<(u64, &mut [u8])> = Vec::with_capacity(missing.len());
        let mut next = missing.iter().peekable();
        for (i, (addr, buf)) in parts.iter_mut().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
                rest.push((*addr, &mut **buf));
            }
        }
        let got = self.mem.read_many(&mut rest)?;
        // Parts are complete up to the first missing one the second batch did not fill.
        Ok(missing.get(got).copied().unwrap_or(parts.len()))
    }
}

#[cfg(test)]
mod tests;
