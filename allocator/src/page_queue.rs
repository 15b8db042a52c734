//! Page queues: per heap, one doubly-linked queue of pages per size class plus the "full"
//! queue. The first page of a small-size queue is mirrored in the heap's direct page cache
//! (`Heap::pages_direct`), so the small-size fast path is one load and one pop.

use core::ptr;

use crate::heap::empty_page;
use crate::size_class::{BIN_FULL, BIN_SIZES, bin_of};
use crate::types::{FLAG_IN_FULL, Heap, Page, PageQueue, SMALL_SIZE_MAX, WORD};

/// The queue a page currently belongs to.
///
/// # Safety
/// `heap` and `page` must be valid and the page owned by the heap.
#[inline]
pub(crate) unsafe fn queue_of(heap: *mut Heap, page: *const Page) -> *mut PageQueue {
    if (*page).flags & FLAG_IN_FULL != 0 {
        &raw mut (*heap).pages[BIN_FULL]
    } else {
        &raw mut (*heap).pages[(*page).bin as usize]
    }
}

/// Re-points the direct page cache entries of `pq`'s size class at its first page.
///
/// # Safety
/// `heap` valid and `pq` one of its queues.
#[inline]
pub(crate) unsafe fn update_direct(heap: *mut Heap, pq: *mut PageQueue) {
    let bs = (*pq).block_size;
    if bs > SMALL_SIZE_MAX {
        return;
    }
    let page = if (*pq).first.is_null() {
        empty_page()
    } else {
        (*pq).first
    };
    let end = bs / WORD;
    if (*heap).pages_direct[end] == page {
        return;
    }
    let bin = bin_of(bs);
    let start = if bin == 1 {
        0
    } else {
        BIN_SIZES[bin - 1] / WORD + 1
    };
    for w in start..=end {
        (*heap).pages_direct[w] = page;
    }
}

/// A page joins `pq`: a retired page there (kept as the only page of its class, see
/// `page::retire`) is the only one no longer.
///
/// Invariant: `retire_expire != 0` only for the only page of its queue, so that a free
/// that empties a page with `retire_expire != 0` knows `page::retire` would keep it and
/// skips the call.
#[inline]
unsafe fn unretire_on_push(pq: *mut PageQueue, page: *mut Page) {
    (*page).retire_expire = 0;
    if !(*pq).first.is_null() {
        (*(*pq).first).retire_expire = 0;
    }
}

/// # Safety
/// `page` is not in any queue; `pq` belongs to `heap`.
pub(crate) unsafe fn push_front(heap: *mut Heap, pq: *mut PageQueue, page: *mut Page) {
    unretire_on_push(pq, page);
    (*page).prev = ptr::null_mut();
    (*page).next = (*pq).first;
    if (*pq).first.is_null() {
        (*pq).last = page;
    } else {
        (*(*pq).first).prev = page;
    }
    (*pq).first = page;
    (*heap).page_count += 1;
    update_direct(heap, pq);
}

/// # Safety
/// `page` is not in any queue; `pq` belongs to `heap`.
pub(crate) unsafe fn push_back(heap: *mut Heap, pq: *mut PageQueue, page: *mut Page) {
    unretire_on_push(pq, page);
    (*page).next = ptr::null_mut();
    (*page).prev = (*pq).last;
    if (*pq).last.is_null() {
        (*pq).first = page;
        (*pq).last = page;
        update_direct(heap, pq);
    } else {
        (*(*pq).last).next = page;
        (*pq).last = page;
    }
    (*heap).page_count += 1;
}

/// # Safety
/// `page` is in `pq`, which belongs to `heap`.
pub(crate) unsafe fn remove(heap: *mut Heap, pq: *mut PageQueue, page: *mut Page) {
    let next = (*page).next;
    let prev = (*page).prev;
    if !prev.is_null() {
        (*prev).next = next;
    }
    if !next.is_null() {
        (*next).prev = prev;
    }
    if (*pq).last == page {
        (*pq).last = prev;
    }
    if (*pq).first == page {
        (*pq).first = next;
        update_direct(heap, pq);
    }
    (*page).next = ptr::null_mut();
    (*page).prev = ptr::null_mut();
    (*heap).page_count -= 1;
}

/// Moves `page` from queue `from` to the back of queue `to` (e.g. into or out of "full").
///
/// # Safety
/// `page` is in `from`; both queues belong to `heap`.
pub(crate) unsafe fn move_to(
    heap: *mut Heap,
    from: *mut PageQueue,
    to: *mut PageQueue,
    page: *mut Page,
) {
    remove(heap, from, page);
    push_back(heap, to, page);
}
