//! pyflame's memory allocator: the system's, with a small cache of freed blocks in front.
//!
//! musl's allocator (mallocng, in the static binary) hands a size class's memory back to the
//! kernel as soon as its last block is freed. A sample allocates and frees a few small buffers
//! (a stack's frames, the values to check, a batch's parts), so each sample cost a few
//! mmap()/munmap() pairs and the page faults after them: measured with strace, 0.8 pairs a
//! sample at 1 kHz. Freed blocks of up to `LARGEST` bytes are kept here instead, by
//! power-of-two class, at most `KEPT` a class (so at most about 128 KiB in all), and handed
//! out again. Larger blocks, and blocks aligned beyond `ALIGN`, go straight to the system.
//!
//! The cache is a list per class threaded through the free blocks themselves, behind a spin
//! lock: pyflame samples from one thread, so the lock is never contended outside the tests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The smallest class (a block must hold the list's link), the number of classes, and so the
/// largest block kept: 16 B to 4 KiB.
const SMALLEST_SHIFT: u32 = 4;
const CLASSES: usize = 9;
const LARGEST: usize = 1 << (SMALLEST_SHIFT as usize + CLASSES - 1);
/// Blocks kept per class, at most.
const KEPT: u16 = 32;
/// The alignment every cached block has.
const ALIGN: usize = 16;

pub struct Caching {
    lock: AtomicBool,
    lists: UnsafeCell<[(*mut u8, u16); CLASSES]>,
}

// SAFETY: `lists` is only touched while `lock` is held (see `with_lists`).
unsafe impl Sync for Caching {}

impl Caching {
    pub const fn new() -> Caching {
        Caching {
            lock: AtomicBool::new(false),
            lists: UnsafeCell::new([(std::ptr::null_mut(), 0); CLASSES]),
        }
    }

    fn with_lists<T>(&self, f: impl FnOnce(&mut [(*mut u8, u16); CLASSES]) -> T) -> T {
        while self.lock.swap(true, Ordering::Acquire) {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held, so this is the only reference to the lists.
        let result = f(unsafe { &mut *self.lists.get() });
        self.lock.store(false, Ordering::Release);
        result
    }

    /// The block a cached class `c` allocates from the system.
    fn class_layout(c: usize) -> Layout {
        // SAFETY: a power of two from 16 to 4096 with alignment 16 is a valid layout.
        unsafe { Layout::from_size_align_unchecked(1 << (c + SMALLEST_SHIFT as usize), ALIGN) }
    }
}

impl Default for Caching {
    fn default() -> Self {
        Caching::new()
    }
}

/// The class of blocks that serves `layout`, if it is cached.
fn class(layout: &Layout) -> Option<usize> {
    if layout.size() > LARGEST || layout.align() > ALIGN || layout.size() == 0 {
        return None;
    }
    let bits = layout.size().next_power_of_two().trailing_zeros();
    Some(bits.saturating_sub(SMALLEST_SHIFT) as usize)
}

// SAFETY: blocks of a class all have that class's layout, from `System`, and are only given
// out once; other blocks are passed to `System` with the layout they were allocated with.
unsafe impl GlobalAlloc for Caching {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(&layout) else {
            // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
            return unsafe { System.alloc(layout) };
        };
        let cached = self.with_lists(|lists| {
            let (head, count) = lists[c];
            if head.is_null() {
                return head;
            }
            // SAFETY: a cached block starts with the link to the next one, written by `dealloc`.
            lists[c] = (unsafe { head.cast::<*mut u8>().read() }, count - 1);
            head
        });
        match cached.is_null() {
            false => cached,
            // SAFETY: a valid, non-zero-sized layout (see `class_layout`).
            true => unsafe { System.alloc(Self::class_layout(c)) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(c) = class(&layout) else {
            // SAFETY: `ptr` came from `System` with this layout (see `alloc`).
            return unsafe { System.dealloc(ptr, layout) };
        };
        let kept = self.with_lists(|lists| {
            let (head, count) = lists[c];
            if count >= KEPT {
                return false;
            }
            // SAFETY: the block is at least 16 bytes, aligned to 16, and no longer in use.
            unsafe { ptr.cast::<*mut u8>().write(head) };
            lists[c] = (ptr, count + 1);
            true
        });
        if !kept {
            // SAFETY: blocks of class `c` were allocated with its layout.
            unsafe { System.dealloc(ptr, Self::class_layout(c)) };
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` rounded to `layout.align()` fits an isize.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(&layout), class(&new)) {
            (Some(a), Some(b)) if a == b => ptr,
            // SAFETY: neither is cached: `ptr` came from `System` with `layout`.
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                // SAFETY: a valid layout, as the caller guarantees for `new_size`.
                let moved = unsafe { self.alloc(new) };
                if !moved.is_null() {
                    let n = layout.size().min(new_size);
                    // SAFETY: both blocks hold at least `n` bytes and are distinct.
                    unsafe { std::ptr::copy_nonoverlapping(ptr, moved, n) };
                    // SAFETY: `ptr` is the caller's block, allocated with `layout`.
                    unsafe { self.dealloc(ptr, layout) };
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class(&l(1, 1)), Some(0));
        assert_eq!(class(&l(16, 8)), Some(0));
        assert_eq!(class(&l(17, 8)), Some(1));
        assert_eq!(class(&l(4096, 16)), Some(8));
        assert_eq!(class(&l(4097, 16)), None);
        assert_eq!(class(&l(64, 32)), None);
        assert_eq!(class(&l(0, 1)), None);
    }

    #[test]
    fn blocks_are_reused_and_kept_within_bounds() {
        let a = Caching::new();
        let layout = Layout::from_size_align(100, 8).unwrap();
        let blocks: Vec<*mut u8> = (0..40)
            .map(|i| {
                // SAFETY: a valid layout; each block is written within its 100 bytes.
                let p = unsafe { a.alloc(layout) };
                assert!(!p.is_null() && (p as usize).is_multiple_of(ALIGN));
                // SAFETY: as above.
                unsafe { p.write_bytes(i as u8, 100) };
                p
            })
            .collect();
        for &p in &blocks {
            // SAFETY: each block was allocated above with `layout`, and is freed once.
            unsafe { a.dealloc(p, layout) };
        }
        assert_eq!(a.with_lists(|l| l[class(&layout).unwrap()].1), KEPT);
        // The last block freed is the first given out again.
        // SAFETY: a valid layout.
        let again = unsafe { a.alloc(layout) };
        assert_eq!(again, blocks[KEPT as usize - 1]);
        // SAFETY: grows the block across classes, then frees it.
        let grown = unsafe { a.realloc(again, layout, 5000) };
        // SAFETY: the block is 5000 bytes now, allocated with this layout.
        unsafe { a.dealloc(grown, Layout::from_size_align(5000, 8).unwrap()) };
    }
}
