//! Heaps: the per-thread set of page queues with the direct page cache, deferred work
//! (delayed frees, retired pages, purging), collection, first-class heaps, and detaching
//! a thread's pages when it exits.

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::page;
use crate::segment;
use crate::size_class::{BIN_COUNT, BIN_FULL, BIN_HUGE, BIN_LARGE_MAX, BIN_SIZES};
use crate::types::*;

struct EmptyPage(UnsafeCell<Page>);

// SAFETY: the empty page is never written: its `free` list is empty, so every allocation
// through it takes the slow path, which never touches it.
unsafe impl Sync for EmptyPage {}

static EMPTY_PAGE: EmptyPage = EmptyPage(UnsafeCell::new(Page {
    free: ptr::null_mut(),
    local_free: ptr::null_mut(),
    used: 0,
    capacity: 0,
    reserved: 0,
    flags: 0,
    free_is_zero: false,
    is_zero_init: false,
    retire_expire: 0,
    block_size: 0,
    page_start: ptr::null_mut(),
    xthread_free: AtomicUsize::new(0),
    xheap: AtomicPtr::new(ptr::null_mut()),
    next: ptr::null_mut(),
    prev: ptr::null_mut(),
    has_aligned: false,
    index: 0,
    in_use: false,
    is_committed: false,
    purge_pending: false,
    bin: 0,
    purged_at: 0,
}));

/// The shared, always-empty page the direct cache points at when a size has no page.
#[inline(always)]
pub(crate) fn empty_page() -> *mut Page {
    EMPTY_PAGE.0.get()
}

/// Initialises a heap in place.
///
/// # Safety
/// `heap` points to writable memory for a `Heap`; `tld` belongs to the calling thread.
pub(crate) unsafe fn init(heap: *mut Heap, tld: *mut Tld, is_backing: bool) {
    (*heap).tld = tld;
    for w in 0..PAGES_DIRECT {
        (*heap).pages_direct[w] = empty_page();
    }
    #[allow(clippy::needless_range_loop)]
    for bin in 0..BIN_COUNT {
        let block_size = if bin == 0 {
            WORD
        } else if bin <= BIN_LARGE_MAX {
            BIN_SIZES[bin]
        } else if bin == BIN_HUGE {
            LARGE_OBJ_MAX + WORD
        } else {
            LARGE_OBJ_MAX + 2 * WORD
        };
        (*heap).pages[bin] = PageQueue {
            first: ptr::null_mut(),
            last: ptr::null_mut(),
            block_size,
        };
    }
    (*heap).thread_delayed_free = AtomicPtr::new(ptr::null_mut());
    (*heap).thread_id = crate::os::thread_id();
    (*heap).page_count = 0;
    (*heap).page_retired_min = usize::MAX;
    (*heap).page_retired_max = 0;
    (*heap).generic_count = 0;
    (*heap).next = ptr::null_mut();
    (*heap).is_backing = is_backing;
}

/// Deferred work done on the slow path.
///
/// # Safety
/// `heap` owned by the calling thread.
pub(crate) unsafe fn heartbeat(heap: *mut Heap) {
    (*heap).generic_count = (*heap).generic_count.wrapping_add(1);
    delayed_free_all(heap);
    let n = (*heap).generic_count;
    if n.is_multiple_of(64) && ((*(*heap).tld).purge_pending || segment::abandoned_purge_pending())
    {
        segment::purge_check((*heap).tld, false);
    }
}

/// Frees the blocks other threads handed to this heap through the delayed-free list.
///
/// # Safety
/// `heap` owned by the calling thread.
pub(crate) unsafe fn delayed_free_all(heap: *mut Heap) {
    if (*heap)
        .thread_delayed_free
        .load(Ordering::Relaxed)
        .is_null()
    {
        return;
    }
    let mut block = (*heap)
        .thread_delayed_free
        .swap(ptr::null_mut(), Ordering::Acquire);
    while !block.is_null() {
        let next = (*block).next;
        crate::free::free_delayed_block(block);
        block = next;
    }
}

/// Collects every page of `heap`, frees empty ones and retired ones; with `force` also
/// purges everything pending at once.
///
/// # Safety
/// `heap` owned by the calling thread.
pub(crate) unsafe fn collect(heap: *mut Heap, force: bool) {
    delayed_free_all(heap);
    for bin in 0..BIN_COUNT {
        let pq = &raw mut (*heap).pages[bin];
        let mut p = (*pq).first;
        while !p.is_null() {
            let next = (*p).next;
            page::free_collect(p, force);
            if (*p).used == 0 {
                page::free_page(heap, p, pq);
            } else if bin == BIN_FULL && !(*p).free.is_null() {
                page::unfull(heap, p);
            }
            p = next;
        }
    }
    page::collect_retired(heap, force);
    segment::purge_check((*heap).tld, force);
}

/// Sets the delayed-free state of every page of `heap` to `DELAY_NEVER` (no more frees
/// will go to this heap's delayed list) and drains that list.
unsafe fn stop_delayed_frees(heap: *mut Heap) {
    for bin in 0..BIN_COUNT {
        let mut p = (*heap).pages[bin].first;
        while !p.is_null() {
            page::use_delayed_free(p, DELAY_NEVER, false);
            p = (*p).next;
        }
    }
    delayed_free_all(heap);
}

/// Resets the queues and direct cache of a heap whose pages were all taken away.
unsafe fn reset_pages(heap: *mut Heap) {
    for w in 0..PAGES_DIRECT {
        (*heap).pages_direct[w] = empty_page();
    }
    for bin in 0..BIN_COUNT {
        (*heap).pages[bin].first = ptr::null_mut();
        (*heap).pages[bin].last = ptr::null_mut();
    }
    (*heap).page_count = 0;
    (*heap).page_retired_min = usize::MAX;
    (*heap).page_retired_max = 0;
}

/// Detaches all pages of all heaps of an exiting thread and abandons its segments.
///
/// # Safety
/// `tld` owned by the calling thread, which is exiting; no heap of it is used afterwards.
pub(crate) unsafe fn thread_abandon(tld: *mut Tld) {
    let mut h = (*tld).heaps;
    while !h.is_null() {
        stop_delayed_frees(h);
        h = (*h).next;
    }
    let mut h = (*tld).heaps;
    while !h.is_null() {
        for bin in 0..BIN_COUNT {
            let pq = &raw mut (*h).pages[bin];
            let mut p = (*pq).first;
            while !p.is_null() {
                let next = (*p).next;
                page::free_collect(p, true);
                if (*p).used == 0 {
                    page::free_page(h, p, pq);
                } else {
                    (*p).flags &= !FLAG_IN_FULL;
                    (*p).next = ptr::null_mut();
                    (*p).prev = ptr::null_mut();
                    (*p).retire_expire = 0;
                    (*p).xheap.store(ptr::null_mut(), Ordering::Release);
                }
                p = next;
            }
        }
        reset_pages(h);
        h = (*h).next;
    }
    segment::abandon_all(tld);
}

/// Creates a first-class heap for the calling thread (its struct lives in the thread's
/// backing heap).
pub(crate) fn heap_new() -> *mut Heap {
    let backing = crate::alloc::default_heap();
    if backing.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `backing` is the calling thread's initialised heap; the new heap's memory
    // is a fresh block of the right size, aligned to 16 (its size is a multiple of 16).
    unsafe {
        let h =
            crate::alloc::heap_malloc(backing, core::mem::size_of::<Heap>(), false) as *mut Heap;
        if h.is_null() {
            return h;
        }
        let tld = (*backing).tld;
        init(h, tld, false);
        (*h).next = (*backing).next;
        (*backing).next = h;
        h
    }
}

/// Destroys a first-class heap and every block allocated from it.
///
/// # Safety
/// `heap` was returned by `heap_new` on this thread and not destroyed; no block from it
/// is used afterwards.
pub(crate) unsafe fn heap_destroy(heap: *mut Heap) {
    if (*heap).is_backing {
        collect(heap, false);
        return;
    }
    stop_delayed_frees(heap);
    for bin in 0..BIN_COUNT {
        let pq = &raw mut (*heap).pages[bin];
        while !(*pq).first.is_null() {
            let p = (*pq).first;
            page::free_page(heap, p, pq);
        }
    }
    reset_pages(heap);
    let tld = (*heap).tld;
    let mut prev: *mut Heap = ptr::null_mut();
    let mut h = (*tld).heaps;
    while !h.is_null() {
        if h == heap {
            if prev.is_null() {
                (*tld).heaps = (*h).next;
            } else {
                (*prev).next = (*h).next;
            }
            break;
        }
        prev = h;
        h = (*h).next;
    }
    crate::free::free(heap as *mut u8);
}

/// Is `heap` a live heap of the calling thread?
///
/// # Safety
/// none beyond `heap` being any pointer value.
pub(crate) unsafe fn is_own_heap(heap: *mut Heap) -> bool {
    let backing = crate::os::tls_heap();
    if backing.is_null() || heap.is_null() {
        return false;
    }
    let mut h = (*(*backing).tld).heaps;
    while !h.is_null() {
        if h == heap {
            return true;
        }
        h = (*h).next;
    }
    false
}

/// Number of pages in a queue (tests and debugging).
///
/// # Safety
/// `pq` valid.
#[cfg(test)]
pub(crate) unsafe fn page_queue_len(pq: *const PageQueue) -> usize {
    let mut n = 0;
    let mut p = (*pq).first;
    while !p.is_null() {
        n += 1;
        p = (*p).next;
    }
    n
}
