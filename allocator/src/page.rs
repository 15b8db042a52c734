//! Pages: free-list management (`free`, `local_free`, atomic `thread_free`), lazy
//! extension, collection, the delayed-free protocol for full pages, retirement, and the
//! generic (slow) allocation path that finds or makes a page with a free block.
//!
//! Delayed free: a page that runs out of blocks moves to the heap's "full" queue and its
//! thread-free state becomes `DELAY_USE`. The next cross-thread free into it then goes to
//! the heap's `thread_delayed_free` list instead (see `free.rs`), which the owner drains on
//! its slow path, so the full page is found again without scanning the full queue.

use core::ptr;
use core::sync::atomic::Ordering;

use crate::heap;
use crate::page_queue;
use crate::segment;
use crate::size_class::{BIN_FULL, BIN_SIZES, bin_of};
use crate::types::*;

/// Initialises a page just taken from a segment for blocks of `block_size`.
///
/// # Safety
/// `page` is in use, owned by the calling thread, and not in any queue.
pub(crate) unsafe fn init(heap: *mut Heap, page: *mut Page, block_size: usize) {
    let seg = segment_of(page as *const u8);
    let (start, size) = segment::page_area(seg, page);
    let bin = bin_of(block_size);
    let colour = if (*seg).kind == PageKind::Small {
        colour_offset(block_size, (*page).index as usize + bin, size)
    } else {
        0
    };
    (*page).block_size = block_size;
    (*page).bin = bin as u8;
    (*page).page_start = start.add(colour);
    (*page).reserved = ((size - colour) / block_size) as u32;
    (*page).capacity = 0;
    (*page).free = ptr::null_mut();
    (*page).local_free = ptr::null_mut();
    (*page).used = 0;
    (*page).flags = 0;
    (*page).has_aligned = false;
    (*page).retire_expire = 0;
    set_free_is_zero(page, false);
    (*page).next = ptr::null_mut();
    (*page).prev = ptr::null_mut();
    (*page).xthread_free.store(DELAY_NO, Ordering::Relaxed);
    (*page).xheap.store(heap, Ordering::Release);
    extend_free(page);
}

/// Cache colouring: how far the first block of a small page starts past the page's
/// start. Small pages are 64 KiB-aligned, so without it the first blocks of every page —
/// the ones a page with few blocks in use keeps reusing — fall into the same few L1 cache
/// sets, and a thread using many size classes at once evicts its own hot blocks. The
/// offset steps through `COLOURS` cache lines by `salt` (page index plus size class),
/// rounded up to the block size's largest power-of-two divisor (at most 4 KiB) so that
/// every block keeps that alignment (ARCHITECTURE.md, invariant 6); at most `COLOUR_MAX` bytes of the page
/// go unused.
pub(crate) fn colour_offset(block_size: usize, salt: usize, size: usize) -> usize {
    const COLOURS: usize = 16;
    const LINE: usize = 64;
    const COLOUR_MAX: usize = 1024;
    let align = 1usize << block_size.trailing_zeros().min(12);
    let off = crate::os::align_up((salt % COLOURS) * LINE, align);
    if off > COLOUR_MAX || off + block_size > size {
        0
    } else {
        off
    }
}

/// Carves the next run of never-used blocks into the (empty) `free` list.
///
/// # Safety
/// `page` owned by the calling thread with `free` empty.
pub(crate) unsafe fn extend_free(page: *mut Page) {
    let bs = (*page).block_size;
    let remaining = ((*page).reserved - (*page).capacity) as usize;
    if remaining == 0 {
        return;
    }
    let n = (MAX_EXTEND_BYTES / bs).max(4).min(remaining);
    let start = (*page).page_start.add((*page).capacity as usize * bs);
    let mut b = start;
    for _ in 1..n {
        let next = b.add(bs);
        (*(b as *mut Block)).next = next as *mut Block;
        b = next;
    }
    (*(b as *mut Block)).next = ptr::null_mut();
    (*page).free = start as *mut Block;
    (*page).capacity += n as u32;
    set_free_is_zero(page, (*page).is_zero_init);
}

/// Sets `free_is_zero`, and `FLAG_FRESH` with it for pages of blocks above
/// `FRESH_FLAG_MIN`.
///
/// # Safety
/// `page` owned by the calling thread, its `block_size` set.
#[inline]
pub(crate) unsafe fn set_free_is_zero(page: *mut Page, zero: bool) {
    (*page).free_is_zero = zero;
    if zero && (*page).block_size > FRESH_FLAG_MIN {
        (*page).flags |= FLAG_FRESH;
    } else {
        (*page).flags &= !FLAG_FRESH;
    }
}

/// Collects cross-thread frees and makes `local_free` available: when `free` is empty it
/// takes `local_free` (or, with none, the cross-thread list) as the new `free` list; with
/// `force` every free block ends up in `free`.
///
/// The cross-thread list is taken whole from its packed word (head and count, no walk):
/// its blocks were last written by other threads, so they are touched only when allocated.
/// Only the owner's own `local_free` is walked, and only to join it with another list.
///
/// # Safety
/// `page` owned by the calling thread.
pub(crate) unsafe fn free_collect(page: *mut Page, force: bool) {
    let tf = &(*page).xthread_free;
    let mut tfree = tf.load(Ordering::Relaxed);
    let mut tlist: *mut Block = ptr::null_mut();
    if tfree & !DELAY_MASK != 0 {
        loop {
            match tf.compare_exchange_weak(
                tfree,
                tfree & DELAY_MASK,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(cur) => tfree = cur,
            }
        }
        tlist = tf_head(page, tfree);
        (*page).used -= tf_count(tfree);
    }
    let local = (*page).local_free;
    if (*page).free.is_null() {
        if !local.is_null() {
            // the owner's own frees first (likely still in its cache); the other threads'
            // wait in `local_free` for the next time `free` runs dry
            (*page).free = local;
            (*page).local_free = tlist;
        } else if !tlist.is_null() {
            (*page).free = tlist;
        } else {
            return;
        }
        set_free_is_zero(page, false);
        if force && !(*page).local_free.is_null() {
            let rest = (*page).local_free;
            (*list_tail(rest)).next = (*page).free;
            (*page).free = rest;
            (*page).local_free = ptr::null_mut();
        }
    } else if force {
        if !tlist.is_null() {
            (*list_tail(tlist)).next = (*page).free;
            (*page).free = tlist;
        }
        if !local.is_null() {
            (*list_tail(local)).next = (*page).free;
            (*page).free = local;
            (*page).local_free = ptr::null_mut();
        }
        set_free_is_zero(page, false);
    } else if !tlist.is_null() {
        if !local.is_null() {
            (*list_tail(local)).next = tlist;
        } else {
            (*page).local_free = tlist;
        }
    }
}

/// The last block of a non-empty list.
unsafe fn list_tail(mut b: *mut Block) -> *mut Block {
    while !(*b).next.is_null() {
        b = (*b).next;
    }
    b
}

/// Sets the delayed-free state of `page` (waiting out a concurrent `DELAY_FREEING`).
/// A `DELAY_NEVER` state is kept unless `override_never`.
///
/// # Safety
/// `page` valid.
pub(crate) unsafe fn use_delayed_free(page: *mut Page, delay: usize, override_never: bool) {
    let tf = &(*page).xthread_free;
    let mut spins = 0u32;
    let mut tfree = tf.load(Ordering::Acquire);
    loop {
        let old = tfree & DELAY_MASK;
        if old == DELAY_FREEING {
            crate::os::spin(&mut spins);
            tfree = tf.load(Ordering::Acquire);
            continue;
        }
        if old == delay || (old == DELAY_NEVER && !override_never) {
            return;
        }
        let new = (tfree & !DELAY_MASK) | delay;
        match tf.compare_exchange_weak(tfree, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(cur) => tfree = cur,
        }
    }
}

/// Moves a page out of the full queue after a block was freed into it.
///
/// # Safety
/// `page` owned by `heap`'s thread and in `heap`'s full queue.
pub(crate) unsafe fn unfull(heap: *mut Heap, page: *mut Page) {
    if (*page).flags & FLAG_IN_FULL == 0 {
        return;
    }
    use_delayed_free(page, DELAY_NO, false);
    let full = &raw mut (*heap).pages[BIN_FULL];
    (*page).flags &= !FLAG_IN_FULL;
    let pq = &raw mut (*heap).pages[(*page).bin as usize];
    page_queue::remove(heap, full, page);
    page_queue::push_back(heap, pq, page);
}

/// Called when the last used block of `page` was freed locally: keep the page for a while
/// if it is the only page of its size class (avoids thrashing), otherwise free it.
///
/// # Safety
/// `page` owned by `heap`'s thread, not in the full queue, `used == 0`.
pub(crate) unsafe fn retire(heap: *mut Heap, page: *mut Page) {
    let pq = page_queue::queue_of(heap, page);
    let bs = (*page).block_size;
    if bs <= MEDIUM_OBJ_MAX && (*pq).first == page && (*pq).last == page {
        (*page).retire_expire = if bs <= SMALL_OBJ_MAX { 16 } else { 4 };
        let bin = (*page).bin as usize;
        if bin < (*heap).page_retired_min {
            (*heap).page_retired_min = bin;
        }
        if bin > (*heap).page_retired_max {
            (*heap).page_retired_max = bin;
        }
        return;
    }
    free_page(heap, page, pq);
}

/// Removes `page` from its queue and gives it back to its segment.
///
/// # Safety
/// `page` in `pq` of `heap`, with no block in use.
pub(crate) unsafe fn free_page(heap: *mut Heap, page: *mut Page, pq: *mut PageQueue) {
    page_queue::remove(heap, pq, page);
    (*page).flags = 0;
    (*page).has_aligned = false;
    (*page).xheap.store(ptr::null_mut(), Ordering::Relaxed);
    segment::page_free((*heap).tld, page);
}

/// Frees retired pages whose countdown ran out (all of them when `force`).
///
/// # Safety
/// `heap` owned by the calling thread.
pub(crate) unsafe fn collect_retired(heap: *mut Heap, force: bool) {
    let mut min = usize::MAX;
    let mut max = 0usize;
    let lo = (*heap).page_retired_min;
    let hi = (*heap)
        .page_retired_max
        .min(crate::size_class::BIN_LARGE_MAX);
    let mut bin = lo;
    while bin <= hi {
        let pq = &raw mut (*heap).pages[bin];
        let page = (*pq).first;
        if !page.is_null() && (*page).retire_expire != 0 {
            if (*page).used == 0 {
                (*page).retire_expire -= 1;
                if force || (*page).retire_expire == 0 {
                    (*page).retire_expire = 0;
                    free_page(heap, page, pq);
                } else {
                    min = min.min(bin);
                    max = max.max(bin);
                }
            } else {
                (*page).retire_expire = 0;
            }
        }
        bin += 1;
    }
    (*heap).page_retired_min = min;
    (*heap).page_retired_max = max;
}

/// Finds a page of the right size class with a free block, or makes one.
unsafe fn find_free_page(heap: *mut Heap, size: usize) -> *mut Page {
    let bin = bin_of(size);
    let pq = &raw mut (*heap).pages[bin];
    let mut page = (*pq).first;
    while !page.is_null() {
        let next = (*page).next;
        free_collect(page, false);
        if !(*page).free.is_null() {
            (*page).retire_expire = 0;
            return page;
        }
        if (*page).capacity < (*page).reserved {
            extend_free(page);
            (*page).retire_expire = 0;
            return page;
        }
        // Full: from now on cross-thread frees notify the heap. Collect once more to
        // catch frees that raced with the state change.
        use_delayed_free(page, DELAY_USE, false);
        free_collect(page, false);
        if !(*page).free.is_null() {
            use_delayed_free(page, DELAY_NO, false);
            return page;
        }
        page_queue::move_to(heap, pq, &raw mut (*heap).pages[BIN_FULL], page);
        (*page).flags |= FLAG_IN_FULL;
        page = next;
    }
    // No page with room: free retired pages whose time is up (perhaps making room in a
    // segment), then take a fresh page.
    if (*heap).page_retired_min != usize::MAX {
        collect_retired(heap, false);
    }
    let bs = BIN_SIZES[bin];
    let page = segment::page_alloc(heap, bs);
    if page.is_null() {
        return ptr::null_mut();
    }
    init(heap, page, bs);
    page_queue::push_front(heap, pq, page);
    page
}

/// Pops a block from a page known to have one.
///
/// # Safety
/// `page.free` is non-empty and the page is owned by the calling thread.
#[inline(always)]
pub(crate) unsafe fn pop_block(page: *mut Page, size: usize, zero: bool) -> *mut u8 {
    let block = (*page).free;
    (*page).free = (*block).next;
    (*page).used += 1;
    if zero {
        if (*page).free_is_zero {
            (*block).next = ptr::null_mut();
        } else {
            ptr::write_bytes(block as *mut u8, 0, size);
        }
    }
    block as *mut u8
}

/// The slow allocation path: thread initialisation, deferred work, finding a page.
///
/// # Safety
/// `heap` is null (thread not initialised) or a heap owned by the calling thread.
#[cold]
#[inline(never)]
pub(crate) unsafe fn malloc_generic(heap: *mut Heap, size: usize, zero: bool) -> *mut u8 {
    let heap = if heap.is_null() {
        let h = crate::init::thread_heap_init();
        if h.is_null() {
            crate::os::set_errno_nomem();
            return ptr::null_mut();
        }
        h
    } else {
        heap
    };
    heap::heartbeat(heap);
    if size > LARGE_OBJ_MAX {
        return segment::huge_alloc(size, 0);
    }
    let mut page = find_free_page(heap, size);
    if page.is_null() {
        // Out of memory: give back what we can and try once more.
        heap::collect(heap, true);
        page = find_free_page(heap, size);
        if page.is_null() {
            crate::os::set_errno_nomem();
            return ptr::null_mut();
        }
    }
    pop_block(page, size, zero)
}
