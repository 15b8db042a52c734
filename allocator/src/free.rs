//! Freeing: the local fast path (push on the page's `free`, no atomics), the
//! generic local path (full pages, aligned pointers), cross-thread frees (one atomic push
//! on the page's `thread_free`, or the heap's delayed list for full pages) and huge blocks.

use core::sync::atomic::Ordering;

use crate::alloc::block_start;
use crate::os;
use crate::page;
use crate::segment;
use crate::types::*;

/// `free`.
///
/// # Safety
/// `p` is null or a live pointer returned by this allocator.
#[inline]
pub(crate) unsafe fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    let seg = segment_of(p);
    #[cfg(debug_assertions)]
    check_segment(seg, p);
    if (*seg).thread_id.load(Ordering::Relaxed) == os::thread_id() {
        let page = page_of(seg, p);
        if (*page).flags == 0 {
            let block = p as *mut Block;
            // straight back on `free`: the next allocation of the class reuses the block
            // just freed, still in cache. `free` no longer holds only zero blocks
            // (invariant 7; pages of larger blocks keep that knowledge with `FLAG_FRESH`,
            // which routes their frees to the generic path meanwhile)
            (*block).next = (*page).free;
            (*page).free = block;
            (*page).free_is_zero = false;
            (*page).used -= 1;
            // a page already retired is the only page of its class (`page_queue`
            // invariant): `page::retire` would keep it again
            if ((*page).used | (*page).retire_expire as u32) == 0 {
                retire_local(page);
            }
            return;
        }
        free_generic_local(page, p);
    } else {
        free_generic_mt(seg, p);
    }
}

#[cfg(debug_assertions)]
unsafe fn check_segment(seg: *mut Segment, p: *mut u8) {
    if (*seg).cookie != (0x6d65_7465_6f72_2d61 ^ seg as usize) {
        os::write_stderr(b"meteor-alloc: free of a pointer not allocated here\n");
        let _ = p;
        os::abort();
    }
}

#[cold]
#[inline(never)]
unsafe fn retire_local(page: *mut Page) {
    let heap = (*page).xheap.load(Ordering::Relaxed);
    page::retire(heap, page);
}

#[cold]
#[inline(never)]
unsafe fn free_generic_local(page: *mut Page, p: *mut u8) {
    let block = if (*page).flags & FLAG_HAS_ALIGNED != 0 {
        block_start(page, p) as *mut Block
    } else {
        p as *mut Block
    };
    (*block).next = (*page).local_free;
    (*page).local_free = block;
    (*page).used -= 1;
    let heap = (*page).xheap.load(Ordering::Relaxed);
    if (*page).flags & FLAG_IN_FULL != 0 {
        page::unfull(heap, page);
    }
    if (*page).used == 0 {
        page::retire(heap, page);
    }
}

#[cold]
#[inline(never)]
unsafe fn free_generic_mt(seg: *mut Segment, p: *mut u8) {
    if (*seg).kind == PageKind::Huge {
        segment::huge_free(seg);
        return;
    }
    if (*seg).thread_id.load(Ordering::Relaxed) == 0
        && crate::options::get(crate::options::Opt::ReclaimOnFree) != 0
    {
        // A block of an exited thread: adopt its segment and free locally. A thread whose
        // first call is this free (a successor inheriting the exited thread's blocks)
        // starts its heap here, or its first allocation would adopt whichever segment
        // heads the abandoned list, quite possibly another successor's inheritance.
        let heap = crate::alloc::default_heap();
        if !heap.is_null() && segment::reclaim_on_free(heap, seg) {
            free(p);
            return;
        }
    }
    let page = page_of(seg, p);
    // `has_aligned`, not `flags`: the owner writes `flags`' cache line on every call
    let block = if (*page).has_aligned {
        block_start(page, p) as *mut Block
    } else {
        p as *mut Block
    };
    free_block_mt(page, block);
}

/// Cross-thread free of `block` into `page`: push on `thread_free`, or — when the page is
/// full (`DELAY_USE`) — onto the owning heap's delayed list so the owner notices.
unsafe fn free_block_mt(page: *mut Page, block: *mut Block) {
    let tf = &(*page).xthread_free;
    let mut tfree = tf.load(Ordering::Relaxed);
    let mut spins = 0u32;
    let use_delayed;
    loop {
        let state = tfree & DELAY_MASK;
        if state == DELAY_FREEING {
            // another thread is handing a block to the heap right now
            os::spin(&mut spins);
            tfree = tf.load(Ordering::Relaxed);
            continue;
        }
        let new = if state == DELAY_USE {
            (tfree & !DELAY_MASK) | DELAY_FREEING
        } else {
            (*block).next = tf_head(page, tfree);
            tf_push(tfree, block)
        };
        match tf.compare_exchange_weak(tfree, new, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => {
                use_delayed = state == DELAY_USE;
                break;
            }
            Err(cur) => tfree = cur,
        }
    }
    if use_delayed {
        let heap = (*page).xheap.load(Ordering::Acquire);
        if !heap.is_null() {
            let list = &(*heap).thread_delayed_free;
            let mut head = list.load(Ordering::Relaxed);
            loop {
                (*block).next = head;
                match list.compare_exchange_weak(head, block, Ordering::Release, Ordering::Relaxed)
                {
                    Ok(_) => break,
                    Err(cur) => head = cur,
                }
            }
        }
        // back from FREEING to NO: the next cross-thread free goes to thread_free directly
        let mut tfree = tf.load(Ordering::Relaxed);
        loop {
            let new = (tfree & !DELAY_MASK) | DELAY_NO;
            match tf.compare_exchange_weak(tfree, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(cur) => tfree = cur,
            }
        }
    }
}

/// Frees a block taken from the heap's delayed list (on the owning thread).
///
/// # Safety
/// `block` came from the calling thread's heap delayed list.
pub(crate) unsafe fn free_delayed_block(block: *mut Block) {
    let seg = segment_of(block as *const u8);
    let page = page_of(seg, block as *const u8);
    page::use_delayed_free(page, DELAY_NO, false);
    (*block).next = (*page).local_free;
    (*page).local_free = block;
    (*page).used -= 1;
    let heap = (*page).xheap.load(Ordering::Relaxed);
    if (*page).flags & FLAG_IN_FULL != 0 {
        page::unfull(heap, page);
    }
    if (*page).used == 0 {
        page::retire(heap, page);
    }
}
