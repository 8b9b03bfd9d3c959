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
//! the second look that shows a stack read without stopping its thread was one it really had.

use std::cell::RefCell;
use std::rc::Rc;

use crate::memory::{Memory, ReadError};

/// At most this many ranges (IOV_MAX is 1024) and bytes are read in one batch.
const MAX_RANGES: usize = 1024;
const MAX_BYTES: usize = 1 << 20;
/// Ranges closer than this are read as one.
const MERGE_GAP: u64 = 256;
/// The longest range `recheck` makes of values next to each other, and the most it reads in
/// all (a sample's byte budget: whatever the target holds, a second look is bounded too).
const MAX_RECHECK_RANGE: u64 = 16 << 10;
const MAX_RECHECK_BYTES: usize = 16 << 20;
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
    /// Ranges in the batch, sorted and disjoint: (address, offset in `data`, length).
    batch: Vec<(u64, usize, usize)>,
    data: Vec<u8>,
    /// Whole pages read on a miss during this sample, sorted by address.
    pages: Vec<(u64, Box<[u8]>)>,
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

    /// Starts a sample: reads, in one batch, every range the previous sample read.
    fn begin(&self) -> Result<(), ReadError> {
        let mut st = self.state.borrow_mut();
        let mut wanted = std::mem::take(&mut st.wanted);
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
        let mut off = 0;
        for &(addr, len) in &ranges[..filled] {
            st.batch.push((addr, off, len));
            off += len;
        }
        st.open = true;
        Ok(())
    }

    /// Ends a sample: later reads go to the process again.
    fn end(&self) {
        let mut st = self.state.borrow_mut();
        st.open = false;
        st.batch.clear();
        st.pages.clear();
    }

    /// Whether every value in `expect` is still what it was, read again now, in one system
    /// call where the kernel allows, in the order given: the kernel copies the ranges of one
    /// process_vm_readv in order, so a reader that wants the second look to be one moment
    /// orders it (see `Walker::expect`). Values next to each other in the list and in memory
    /// (less than `MERGE_GAP` apart, going up) are read as one range: the kernel pins the
    /// pages of each range apart, which costs far more than copying the bytes between. False
    /// as soon as one differs or cannot be read, or when it would read more than
    /// `MAX_RECHECK_BYTES`.
    pub fn recheck(&self, expect: &[Expect]) -> Result<bool, ReadError> {
        // (address, length) of each range, and where each value is in the bytes read.
        let mut ranges: Vec<(u64, usize)> = Vec::with_capacity(expect.len());
        let mut at: Vec<usize> = Vec::with_capacity(expect.len());
        let mut size = 0;
        for e in expect {
            let end = e.addr.saturating_add(e.len() as u64);
            match ranges.last_mut() {
                Some((start, n))
                    if e.addr >= *start
                        && e.addr <= start.saturating_add(*n as u64).saturating_add(MERGE_GAP)
                        && end - *start <= MAX_RECHECK_RANGE =>
                {
                    let grown = (end - *start).max(*n as u64) as usize;
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
                return Ok(false);
            }
        }
        let mut now = vec![0u8; size];
        let mut parts: Vec<(u64, &mut [u8])> = Vec::with_capacity(ranges.len());
        let mut rest = &mut now[..];
        for &(addr, len) in &ranges {
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
            .zip(&at)
            .all(|(e, &i)| now.get(i..i + e.len()) == Some(e.bytes())))
    }
}

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
#[path = "prefetch_tests.rs"]
mod tests;
