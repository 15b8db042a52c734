//! Segments: 4 MiB-aligned regions reserved from the OS and split into pages.
//!
//! Kinds: small (64 pages of 64 KiB, blocks <= 16 KiB), medium (8 pages of 512 KiB,
//! blocks <= 128 KiB), large (one page, blocks <= 2 MiB) and huge (one block, sized to fit,
//! straight from the OS and back to it on free). The header (this struct plus the page
//! descriptors) sits at the segment start; page 0 begins after it.
//!
//! A thread owns its segments. Freed pages are purged (decommitted / `MADV_DONTNEED`)
//! after `purge_delay` ms; empty segments go to a small per-thread cache, purged after the
//! same delay, or back to the OS. A thread that exits *abandons* its segments to a global
//! list; a thread that needs a new segment first *reclaims* one from that list.

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::options;
use crate::os::{self, align_up};
use crate::page;
use crate::page_queue;
use crate::stats;
use crate::types::*;

pub(crate) const COOKIE: usize = 0x6d65_7465_6f72_2d61; // "meteor-a"
/// Bytes kept committed at the start of a purged cached segment (its header link).
const CACHE_KEEP: usize = 4096;

const fn info_size(capacity: usize) -> usize {
    align_up(
        core::mem::size_of::<Segment>() + capacity * core::mem::size_of::<Page>(),
        PAGE_START_ALIGN,
    )
}

const _: () = assert!(info_size(SMALL_PAGES_PER_SEGMENT) <= (1 << SMALL_PAGE_SHIFT) / 4);
const _: () = assert!(core::mem::size_of::<Segment>() <= CACHE_KEEP);

/// The memory of a page: its first block address and its size in bytes.
///
/// # Safety
/// `seg` initialised and `page` one of its pages.
pub(crate) unsafe fn page_area(seg: *mut Segment, page: *mut Page) -> (*mut u8, usize) {
    let base = seg as *mut u8;
    match (*seg).kind {
        PageKind::Small | PageKind::Medium => {
            let psize = 1usize << (*seg).page_shift;
            let idx = (*page).index as usize;
            if idx == 0 {
                (base.add((*seg).info_size), psize - (*seg).info_size)
            } else {
                (base.add(idx * psize), psize)
            }
        }
        PageKind::Large => (
            base.add((*seg).info_size),
            (*seg).segment_size - (*seg).info_size,
        ),
        PageKind::Huge => {
            let start = (*page).page_start;
            (start, (*seg).segment_size - (start as usize - seg as usize))
        }
    }
}

// ---- global abandoned list (a tiny spin lock: only thread exit and reclaim take it) ----

struct AbandonedList {
    lock: AtomicBool,
    head: UnsafeCell<*mut Segment>,
    count: AtomicUsize,
    /// Some abandoned segment has pages waiting to be purged.
    purge_pending: AtomicBool,
}

// SAFETY: `head` is only accessed while `lock` is held.
unsafe impl Sync for AbandonedList {}

static ABANDONED: AbandonedList = AbandonedList {
    lock: AtomicBool::new(false),
    head: UnsafeCell::new(ptr::null_mut()),
    count: AtomicUsize::new(0),
    purge_pending: AtomicBool::new(false),
};

fn abandoned_lock() {
    let mut spins = 0;
    while ABANDONED
        .lock
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        os::spin(&mut spins);
    }
}

fn abandoned_try_lock() -> bool {
    ABANDONED
        .lock
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

fn abandoned_unlock() {
    ABANDONED.lock.store(false, Ordering::Release);
}

/// Number of segments waiting to be reclaimed.
pub(crate) fn abandoned_count() -> usize {
    ABANDONED.count.load(Ordering::Relaxed)
}

// ---- adaptive purge delay ----

// The purge delay in effect is per thread (`Tld::purge_delay`, 0 = the option's): it
// starts at `METEOR_ALLOC_PURGE_DELAY`, doubles (up to `PURGE_DELAY_MAX`) whenever the
// thread claims memory again that was purged shortly before — that purge only cost a
// system call and a page fault per page — and halves back toward the option after
// `DELAY_DECAY_MS` without such a refault. A thread that frees and reuses memory in cycles
// longer than the option's delay so stops purging and refaulting it, while memory that
// stays unused is still returned, later.
const PURGE_DELAY_MAX: u64 = 500;
/// A claim within this many delays after the purge counts as a refault.
const REFAULT_WINDOW: u64 = 4;
const DELAY_DECAY_MS: u64 = 1000;

/// The delay in effect for `tld` and option value `base` (> 0).
unsafe fn delay_now(tld: *mut Tld, base: u64) -> u64 {
    (*tld).purge_delay.max(base)
}

/// `tld`'s thread uses memory again that was purged at `purged_at` (ms, 0 = unknown).
unsafe fn refault(tld: *mut Tld, purged_at: u64) {
    if purged_at == 0 {
        return;
    }
    let base = match options::purge_delay() {
        Some(b) if b > 0 => b,
        _ => return,
    };
    let now = os::now_ms();
    let d = delay_now(tld, base);
    if now.saturating_sub(purged_at) < REFAULT_WINDOW * d {
        (*tld).purge_delay = (d * 2).min(PURGE_DELAY_MAX.max(base));
        (*tld).purge_delay_raised_at = now;
        stats::REFAULTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Lowers a raised delay that has seen no refault for a while; returns the delay in effect.
unsafe fn delay_decay(tld: *mut Tld, base: u64, now: u64) -> u64 {
    let d = (*tld).purge_delay;
    if d > base && now.saturating_sub((*tld).purge_delay_raised_at) >= DELAY_DECAY_MS {
        (*tld).purge_delay = (d / 2).max(base);
        (*tld).purge_delay_raised_at = now;
    }
    delay_now(tld, base)
}

// ---- queues ----

unsafe fn free_queue(tld: *mut Tld, kind: PageKind) -> *mut SegmentQueue {
    if kind == PageKind::Small {
        &raw mut (*tld).small_free
    } else {
        &raw mut (*tld).medium_free
    }
}

unsafe fn queue_push(q: *mut SegmentQueue, seg: *mut Segment) {
    (*seg).next = ptr::null_mut();
    (*seg).prev = (*q).last;
    if (*q).last.is_null() {
        (*q).first = seg;
    } else {
        (*(*q).last).next = seg;
    }
    (*q).last = seg;
    (*seg).in_free_queue = true;
}

unsafe fn queue_remove(q: *mut SegmentQueue, seg: *mut Segment) {
    if !(*seg).in_free_queue {
        return;
    }
    if (*seg).prev.is_null() {
        (*q).first = (*seg).next;
    } else {
        (*(*seg).prev).next = (*seg).next;
    }
    if (*seg).next.is_null() {
        (*q).last = (*seg).prev;
    } else {
        (*(*seg).next).prev = (*seg).prev;
    }
    (*seg).next = ptr::null_mut();
    (*seg).prev = ptr::null_mut();
    (*seg).in_free_queue = false;
}

unsafe fn all_push(tld: *mut Tld, seg: *mut Segment) {
    (*seg).all_prev = ptr::null_mut();
    (*seg).all_next = (*tld).segments;
    if !(*tld).segments.is_null() {
        (*(*tld).segments).all_prev = seg;
    }
    (*tld).segments = seg;
    (*tld).segment_count += 1;
}

unsafe fn all_remove(tld: *mut Tld, seg: *mut Segment) {
    if (*seg).all_prev.is_null() {
        (*tld).segments = (*seg).all_next;
    } else {
        (*(*seg).all_prev).all_next = (*seg).all_next;
    }
    if !(*seg).all_next.is_null() {
        (*(*seg).all_next).all_prev = (*seg).all_prev;
    }
    (*seg).all_next = ptr::null_mut();
    (*seg).all_prev = ptr::null_mut();
    (*tld).segment_count -= 1;
}

// ---- segment allocation ----

/// Takes a segment from the thread's cache or the OS and initialises it for `kind`.
unsafe fn segment_alloc(tld: *mut Tld, kind: PageKind) -> *mut Segment {
    let (capacity, page_shift) = match kind {
        PageKind::Small => (SMALL_PAGES_PER_SEGMENT, SMALL_PAGE_SHIFT),
        PageKind::Medium => (MEDIUM_PAGES_PER_SEGMENT, MEDIUM_PAGE_SHIFT),
        _ => (1, SINGLE_PAGE_SHIFT),
    };
    let info = info_size(capacity);
    let seg;
    let pages_committed;
    let pages_zero;
    let (map_base, map_size);
    if !(*tld).cache.is_null() {
        seg = (*tld).cache;
        (*tld).cache = (*seg).abandoned_next;
        (*tld).cache_count -= 1;
        map_base = (*seg).map_base;
        map_size = (*seg).map_size;
        if (*seg).mem_is_fresh {
            // purged while cached: only the first CACHE_KEEP bytes are committed
            if !os::commit((seg as *mut u8).add(CACHE_KEEP), info - CACHE_KEEP) {
                os::release(map_base, map_size);
                stats::RESERVED.decrease(map_size);
                stats::COMMITTED.decrease(CACHE_KEEP);
                return ptr::null_mut();
            }
            stats::COMMITTED.increase(info - CACHE_KEEP);
            refault(tld, (*seg).purged_at);
            pages_committed = false;
            pages_zero = true;
        } else {
            pages_committed = true;
            pages_zero = false;
        }
    } else {
        let Some(mem) = os::alloc_aligned(SEGMENT_SIZE, SEGMENT_SIZE, 0) else {
            if options::get(options::Opt::Verbose) != 0 {
                os::write_stderr(b"meteor-alloc: out of memory reserving a segment\n");
            }
            return ptr::null_mut();
        };
        seg = mem.ptr as *mut Segment;
        map_base = mem.base;
        map_size = mem.size;
        stats::RESERVED.increase(map_size);
        stats::COMMITTED.increase(SEGMENT_SIZE);
        pages_committed = true;
        pages_zero = true;
    }
    // A fresh segment is zero: only the non-zero fields need writing, but a reused one
    // must be reset completely.
    ptr::write_bytes(seg as *mut u8, 0, info);
    (*seg).thread_id = AtomicUsize::new((*tld).thread_id);
    (*seg).cookie = COOKIE ^ seg as usize;
    (*seg).kind = kind;
    (*seg).page_shift = page_shift;
    (*seg).capacity = capacity;
    (*seg).segment_size = SEGMENT_SIZE;
    (*seg).info_size = info;
    (*seg).map_base = map_base;
    (*seg).map_size = map_size;
    (*seg).mem_is_fresh = false;
    for i in 0..capacity {
        let p = Segment::page(seg, i);
        (*p).index = i as u32;
        (*p).is_committed = pages_committed;
        (*p).is_zero_init = pages_zero;
    }
    all_push(tld, seg);
    stats::SEGMENTS.increase(1);
    seg
}

/// Gives an empty segment back: to the thread cache, or to the OS.
unsafe fn segment_free(tld: *mut Tld, seg: *mut Segment) {
    if (*seg).kind == PageKind::Small || (*seg).kind == PageKind::Medium {
        queue_remove(free_queue(tld, (*seg).kind), seg);
    }
    all_remove(tld, seg);
    stats::SEGMENTS.decrease(1);
    let cache_max = options::get(options::Opt::SegmentCache).max(0) as usize;
    if (*tld).cache_count < cache_max {
        cache_prepare(seg);
        (*seg).abandoned_next = (*tld).cache;
        (*tld).cache = seg;
        (*tld).cache_count += 1;
        (*tld).purge_pending = true;
        return;
    }
    stats::COMMITTED.decrease(segment_committed(seg));
    stats::RESERVED.decrease((*seg).map_size);
    os::release((*seg).map_base, (*seg).map_size);
}

/// Readies an empty segment, out of every thread list, for a segment cache: afterwards it
/// is either committed whole (dirty, purged while cached when its delay passes) or purged
/// but for its first `CACHE_KEEP` bytes (`mem_is_fresh`).
unsafe fn cache_prepare(seg: *mut Segment) {
    let committed = segment_committed(seg);
    // pages purged already stay purged; the rest is purged while cached
    for i in 0..(*seg).capacity {
        (*Segment::page(seg, i)).purge_pending = false;
    }
    (*seg).purge_count = 0;
    (*seg).purge_expire = 0;
    (*seg).mem_is_fresh = false;
    (*seg).thread_id.store(0, Ordering::Relaxed);
    if committed < SEGMENT_SIZE {
        // some pages are decommitted already: decommit it all so that a reuse
        // knows the state of every page
        os::decommit((seg as *mut u8).add(CACHE_KEEP), SEGMENT_SIZE - CACHE_KEEP);
        stats::COMMITTED.decrease(committed - CACHE_KEEP);
        (*seg).mem_is_fresh = true;
        (*seg).purged_at = os::now_ms();
    } else if options::purge_delay() == Some(0) {
        purge_cached(seg, 0);
    }
}

/// Returns a segment readied by `cache_prepare` to the OS.
unsafe fn cached_release(seg: *mut Segment) {
    let committed = if (*seg).mem_is_fresh {
        CACHE_KEEP
    } else {
        SEGMENT_SIZE
    };
    stats::COMMITTED.decrease(committed);
    stats::RESERVED.decrease((*seg).map_size);
    os::release((*seg).map_base, (*seg).map_size);
}

/// Bytes of `seg` currently committed (header plus committed pages).
unsafe fn segment_committed(seg: *mut Segment) -> usize {
    let mut n = SEGMENT_SIZE;
    for i in 0..(*seg).capacity {
        let p = Segment::page(seg, i);
        if !(*p).is_committed {
            n -= page_area(seg, p).1;
        }
    }
    n
}

unsafe fn purge_cached(seg: *mut Segment, now: u64) {
    if (*seg).mem_is_fresh {
        return;
    }
    (*seg).purged_at = now;
    os::decommit((seg as *mut u8).add(CACHE_KEEP), SEGMENT_SIZE - CACHE_KEEP);
    stats::COMMITTED.decrease(SEGMENT_SIZE - CACHE_KEEP);
    stats::PURGED.increase(SEGMENT_SIZE - CACHE_KEEP);
    stats::PURGED.decrease(SEGMENT_SIZE - CACHE_KEEP);
    (*seg).mem_is_fresh = true;
}

/// Releases every cached segment to the OS.
///
/// # Safety
/// `tld` owned by the calling thread.
pub(crate) unsafe fn cache_release(tld: *mut Tld) {
    while !(*tld).cache.is_null() {
        let seg = (*tld).cache;
        (*tld).cache = (*seg).abandoned_next;
        (*tld).cache_count -= 1;
        cached_release(seg);
    }
}

// ---- pages ----

/// Takes a free page able to hold blocks of `block_size` for `heap`.
///
/// # Safety
/// `heap` owned by the calling thread.
pub(crate) unsafe fn page_alloc(heap: *mut Heap, block_size: usize) -> *mut Page {
    let tld = (*heap).tld;
    let kind = if block_size <= SMALL_OBJ_MAX {
        PageKind::Small
    } else if block_size <= MEDIUM_OBJ_MAX {
        PageKind::Medium
    } else {
        PageKind::Large
    };
    if kind == PageKind::Large {
        let seg = new_segment(heap, kind);
        if seg.is_null() {
            return ptr::null_mut();
        }
        let page = Segment::page(seg, 0);
        if !claim(tld, seg, page) {
            segment_free(tld, seg);
            return ptr::null_mut();
        }
        return page;
    }
    let q = free_queue(tld, kind);
    if (*q).first.is_null() {
        let seg = new_segment(heap, kind);
        if seg.is_null() {
            return ptr::null_mut();
        }
        if !(*seg).in_free_queue && (*seg).used < (*seg).capacity && (*seg).kind == kind {
            queue_push(q, seg);
        }
        if (*q).first.is_null() {
            return ptr::null_mut();
        }
    }
    let seg = (*q).first;
    for i in 0..(*seg).capacity {
        let page = Segment::page(seg, i);
        if !(*page).in_use {
            if !claim(tld, seg, page) {
                return ptr::null_mut();
            }
            if (*seg).used == (*seg).capacity {
                queue_remove(q, seg);
            }
            return page;
        }
    }
    // unreachable in a consistent segment: a queued segment always has a free page
    queue_remove(q, seg);
    ptr::null_mut()
}

/// A segment of `kind` with a free page: reclaimed from an exited thread or new.
unsafe fn new_segment(heap: *mut Heap, kind: PageKind) -> *mut Segment {
    let tld = (*heap).tld;
    // Reclaiming may already give us a segment with room of the right kind.
    let mut tries = 0;
    while abandoned_count() > 0 && tries < 8 {
        tries += 1;
        if let Some(seg) = reclaim_one(heap) {
            if (*seg).kind == kind && (*seg).used < (*seg).capacity && kind != PageKind::Large {
                return seg;
            }
            if kind != PageKind::Large && !(*free_queue(tld, kind)).first.is_null() {
                return (*free_queue(tld, kind)).first;
            }
        }
    }
    segment_alloc(tld, kind)
}

/// Marks `page` in use, committing its memory if it was purged.
unsafe fn claim(tld: *mut Tld, seg: *mut Segment, page: *mut Page) -> bool {
    if (*page).purge_pending {
        (*page).purge_pending = false;
        (*seg).purge_count -= 1;
        (*page).is_zero_init = false;
    } else if !(*page).is_committed {
        let (start, size) = page_area(seg, page);
        if !os::commit(start, size) {
            return false;
        }
        stats::COMMITTED.increase(size);
        (*page).is_committed = true;
        refault(tld, (*page).purged_at);
        (*page).purged_at = 0;
    }
    (*page).in_use = true;
    (*seg).used += 1;
    stats::PAGES.increase(1);
    true
}

unsafe fn purge_page(seg: *mut Segment, page: *mut Page, now: u64) {
    (*page).purged_at = now;
    let (start, size) = page_area(seg, page);
    os::decommit(start, size);
    stats::COMMITTED.decrease(size);
    stats::PURGED.increase(size);
    stats::PURGED.decrease(size);
    (*page).is_committed = false;
    (*page).is_zero_init = true;
}

/// Gives a page back to its segment (any blocks still in it are discarded).
///
/// Returns true when the segment became empty and was freed.
///
/// # Safety
/// `page` is in use in a segment owned by `tld`'s thread and in no page queue.
pub(crate) unsafe fn page_free(tld: *mut Tld, page: *mut Page) -> bool {
    let seg = segment_of(page as *const u8);
    (*page).in_use = false;
    (*page).used = 0;
    (*page).capacity = 0;
    (*page).reserved = 0;
    (*page).flags = 0;
    (*page).has_aligned = false;
    (*page).free = ptr::null_mut();
    (*page).local_free = ptr::null_mut();
    (*page).block_size = 0;
    (*page).xthread_free.store(0, Ordering::Relaxed);
    (*page).is_zero_init = false;
    stats::PAGES.decrease(1);
    (*seg).used -= 1;
    if (*seg).used == 0 {
        segment_free(tld, seg);
        return true;
    }
    match options::purge_delay() {
        None => {}
        Some(0) => purge_page(seg, page, 0),
        Some(_) => {
            (*page).purge_pending = true;
            (*seg).purge_count += 1;
            (*tld).purge_pending = true;
        }
    }
    let kind = (*seg).kind;
    if (kind == PageKind::Small || kind == PageKind::Medium) && !(*seg).in_free_queue {
        queue_push(free_queue(tld, kind), seg);
    }
    false
}

/// Purges pages (and cached segments) whose delay has passed; everything when `force`.
///
/// # Safety
/// `tld` owned by the calling thread.
pub(crate) unsafe fn purge_check(tld: *mut Tld, force: bool) {
    let delay = match options::purge_delay() {
        Some(d) => d,
        None if force => 0,
        None => return,
    };
    let now = os::now_ms();
    let delay = if delay == 0 {
        0
    } else {
        delay_decay(tld, delay, now)
    };
    // Scan at most every half delay: pending pages are stamped on the first scan after
    // they were freed, so a page is purged between `delay` and about 1.5 * `delay` later.
    if !force && now < (*tld).last_purge_check + (delay / 2).max(1) {
        return;
    }
    (*tld).last_purge_check = now;
    let mut pending = false;
    let mut seg = (*tld).segments;
    while !seg.is_null() {
        if (*seg).purge_count > 0 {
            pending = true;
            if (*seg).purge_expire == 0 {
                (*seg).purge_expire = now + delay;
            }
            if force || now >= (*seg).purge_expire {
                for i in 0..(*seg).capacity {
                    let page = Segment::page(seg, i);
                    if (*page).purge_pending {
                        (*page).purge_pending = false;
                        purge_page(seg, page, now);
                    }
                }
                (*seg).purge_count = 0;
                (*seg).purge_expire = 0;
            }
        }
        seg = (*seg).all_next;
    }
    let mut any_cached_dirty = false;
    let mut seg = (*tld).cache;
    while !seg.is_null() {
        if !(*seg).mem_is_fresh {
            if (*seg).purge_expire == 0 {
                (*seg).purge_expire = now + delay;
            }
            if force || now >= (*seg).purge_expire {
                purge_cached(seg, now);
            } else {
                any_cached_dirty = true;
            }
        }
        seg = (*seg).abandoned_next;
    }
    purge_abandoned(now, force);
    // segments whose purge just ran have purge_count 0 again; recount conservatively
    let mut still = false;
    if pending {
        let mut seg = (*tld).segments;
        while !seg.is_null() {
            still |= (*seg).purge_count > 0;
            seg = (*seg).all_next;
        }
    }
    (*tld).purge_pending = still || any_cached_dirty;
}

// ---- huge blocks ----

/// Allocates a huge block (or a block with a large alignment) in its own segment.
/// The memory is fresh from the OS, so it is zero.
///
/// # Safety
/// `align` is zero or a power of two.
pub(crate) unsafe fn huge_alloc(size: usize, align: usize) -> *mut u8 {
    let align = align.max(PAGE_START_ALIGN);
    let info = info_size(1);
    let (mem, block_off) = if align < SEGMENT_SIZE {
        let block_off = align_up(info, align);
        let Some(total) = size
            .checked_add(block_off)
            .and_then(|t| t.checked_add(4095))
        else {
            os::set_errno_nomem();
            return ptr::null_mut();
        };
        (os::alloc_aligned(total & !4095, SEGMENT_SIZE, 0), block_off)
    } else {
        let Some(total) = size
            .checked_add(SEGMENT_SIZE)
            .and_then(|t| t.checked_add(4095))
        else {
            os::set_errno_nomem();
            return ptr::null_mut();
        };
        (
            os::alloc_aligned(total & !4095, align, SEGMENT_SIZE),
            SEGMENT_SIZE,
        )
    };
    let Some(mem) = mem else {
        os::set_errno_nomem();
        return ptr::null_mut();
    };
    let seg = mem.ptr as *mut Segment;
    let seg_size = align_up(block_off + size, 4096);
    (*seg).thread_id = AtomicUsize::new(0);
    (*seg).cookie = COOKIE ^ seg as usize;
    (*seg).kind = PageKind::Huge;
    (*seg).page_shift = SINGLE_PAGE_SHIFT;
    (*seg).capacity = 1;
    (*seg).used = 1;
    (*seg).segment_size = seg_size;
    (*seg).info_size = info;
    (*seg).map_base = mem.base;
    (*seg).map_size = mem.size;
    let page = Segment::page(seg, 0);
    let block = (seg as *mut u8).add(block_off);
    (*page).in_use = true;
    (*page).is_committed = true;
    (*page).page_start = block;
    (*page).block_size = seg_size - block_off;
    (*page).reserved = 1;
    (*page).capacity = 1;
    (*page).used = 1;
    stats::RESERVED.increase(mem.size);
    stats::COMMITTED.increase(mem.size);
    stats::HUGE.increase(1);
    block
}

/// Grows or shrinks the huge block `p` (the block of huge segment `seg`, allocated
/// without extra alignment) to at least `newsize` bytes by moving its pages to a larger
/// mapping, without copying. Returns the new block, or null when the OS cannot do it (the
/// block is then unchanged and the caller copies).
///
/// # Safety
/// `seg` is the huge segment of the live block `p`; `newsize > LARGE_OBJ_MAX`.
pub(crate) unsafe fn huge_remap(seg: *mut Segment, p: *mut u8, newsize: usize) -> *mut u8 {
    let page = Segment::page(seg, 0);
    if (*seg).map_base != seg as *mut u8 || (*page).page_start != p {
        return ptr::null_mut();
    }
    let block_off = p as usize - seg as usize;
    let Some(total) = newsize
        .checked_add(block_off)
        .and_then(|t| t.checked_add(4095))
    else {
        return ptr::null_mut();
    };
    let (old_base, old_size) = ((*seg).map_base, (*seg).map_size);
    let Some(mem) = os::remap_aligned(old_base, old_size, total & !4095, SEGMENT_SIZE) else {
        return ptr::null_mut();
    };
    let seg = mem.ptr as *mut Segment;
    let seg_size = align_up(block_off + newsize, 4096);
    (*seg).cookie = COOKIE ^ seg as usize;
    (*seg).segment_size = seg_size;
    (*seg).map_base = mem.base;
    (*seg).map_size = mem.size;
    let page = Segment::page(seg, 0);
    let block = (seg as *mut u8).add(block_off);
    (*page).page_start = block;
    (*page).block_size = seg_size - block_off;
    stats::RESERVED.decrease(old_size);
    stats::COMMITTED.decrease(old_size);
    stats::RESERVED.increase(mem.size);
    stats::COMMITTED.increase(mem.size);
    block
}

/// Returns a huge segment to the OS.
///
/// # Safety
/// `seg` is a huge segment whose block is no longer used.
pub(crate) unsafe fn huge_free(seg: *mut Segment) {
    let (base, size) = ((*seg).map_base, (*seg).map_size);
    stats::HUGE.decrease(1);
    stats::RESERVED.decrease(size);
    stats::COMMITTED.decrease(size);
    os::release(base, size);
}

// ---- abandon and reclaim ----

/// Abandons every segment of an exiting thread (its pages must have been detached from
/// their heaps: `xheap` null, delayed state `DELAY_NEVER`). Cached segments are released.
///
/// # Safety
/// `tld` owned by the calling thread, which is exiting.
pub(crate) unsafe fn abandon_all(tld: *mut Tld) {
    cache_release(tld);
    while !(*tld).segments.is_null() {
        let seg = (*tld).segments;
        if (*seg).kind == PageKind::Small || (*seg).kind == PageKind::Medium {
            queue_remove(free_queue(tld, (*seg).kind), seg);
        }
        all_remove(tld, seg);
        if (*seg).used == 0 {
            stats::SEGMENTS.decrease(1);
            stats::COMMITTED.decrease(segment_committed(seg));
            stats::RESERVED.decrease((*seg).map_size);
            os::release((*seg).map_base, (*seg).map_size);
            continue;
        }
        // Pending purges stay pending: a thread that reclaims the segment soon (a thread
        // pool, a server handing work to a new thread) reuses those pages without
        // faulting them in again; otherwise `purge_abandoned` purges them when due.
        if (*seg).purge_count > 0 {
            if (*seg).purge_expire == 0 {
                (*seg).purge_expire = os::now_ms() + options::purge_delay().unwrap_or(0);
            }
            ABANDONED.purge_pending.store(true, Ordering::Relaxed);
        }
        stats::ABANDONED.increase(1);
        abandoned_lock();
        (*seg).thread_id.store(0, Ordering::Release);
        abandoned_link(seg);
        abandoned_unlock();
    }
}

/// Puts `seg` at the head of the abandoned list. Caller holds the lock.
unsafe fn abandoned_link(seg: *mut Segment) {
    let head = *ABANDONED.head.get();
    (*seg).prev = ptr::null_mut();
    (*seg).next = head;
    if !head.is_null() {
        (*head).prev = seg;
    }
    *ABANDONED.head.get() = seg;
    (*seg).abandoned = true;
    ABANDONED.count.fetch_add(1, Ordering::Relaxed);
}

/// Some abandoned segment has pages waiting to be purged (checked by the heartbeat).
#[inline]
pub(crate) fn abandoned_purge_pending() -> bool {
    ABANDONED.purge_pending.load(Ordering::Relaxed)
}

/// Purges the due pending pages of abandoned segments (all of them when `force`). Skipped
/// when another thread holds the abandoned list: the next check catches up.
///
/// Sound without owning the segments: a segment in the list has no owner (a reclaim
/// unlinks it under the lock before touching it), the due ones are unlinked by this
/// function while it purges them, and other threads' frees only touch pages in use,
/// never the free pages purged here.
unsafe fn purge_abandoned(now: u64, force: bool) {
    if !abandoned_purge_pending() || !abandoned_try_lock() {
        return;
    }
    // Take the due segments out of the list, so that the system calls run without the
    // lock (a free into one of them meanwhile finds it not abandoned and frees
    // cross-thread, which is always valid; purging touches only free pages).
    let mut due: *mut Segment = ptr::null_mut();
    let mut still = false;
    let mut seg = *ABANDONED.head.get();
    while !seg.is_null() {
        let next = (*seg).next;
        if (*seg).purge_count > 0 {
            if force || now >= (*seg).purge_expire {
                abandoned_unlink(seg);
                (*seg).abandoned_next = due;
                due = seg;
            } else {
                still = true;
            }
        }
        seg = next;
    }
    ABANDONED.purge_pending.store(still, Ordering::Relaxed);
    abandoned_unlock();
    if due.is_null() {
        return;
    }
    let mut seg = due;
    while !seg.is_null() {
        for i in 0..(*seg).capacity {
            let page = Segment::page(seg, i);
            if (*page).purge_pending {
                (*page).purge_pending = false;
                purge_page(seg, page, now);
            }
        }
        (*seg).purge_count = 0;
        (*seg).purge_expire = 0;
        seg = (*seg).abandoned_next;
    }
    abandoned_lock();
    while !due.is_null() {
        let seg = due;
        due = (*seg).abandoned_next;
        (*seg).abandoned_next = ptr::null_mut();
        abandoned_link(seg);
    }
    abandoned_unlock();
}

/// The pending purge count of `seg` if it is in the abandoned list (tests).
#[cfg(test)]
pub(crate) unsafe fn abandoned_purge_count(seg: *mut Segment) -> Option<usize> {
    abandoned_lock();
    let r = if (*seg).abandoned {
        Some((*seg).purge_count)
    } else {
        None
    };
    abandoned_unlock();
    r
}

/// Unlinks `seg` from the abandoned list. Caller holds the lock; `seg` is in the list.
unsafe fn abandoned_unlink(seg: *mut Segment) {
    if (*seg).prev.is_null() {
        *ABANDONED.head.get() = (*seg).next;
    } else {
        (*(*seg).prev).next = (*seg).next;
    }
    if !(*seg).next.is_null() {
        (*(*seg).next).prev = (*seg).prev;
    }
    (*seg).next = ptr::null_mut();
    (*seg).prev = ptr::null_mut();
    (*seg).abandoned = false;
    ABANDONED.count.fetch_sub(1, Ordering::Relaxed);
}

/// Reclaims the abandoned segment holding a block being freed (reclaim on free), so that
/// a thread that inherits blocks from an exited thread frees and reuses them locally.
/// Returns false when another thread got there first.
///
/// # Safety
/// `heap` is the calling thread's heap; `seg` holds a live block (so it stays mapped).
pub(crate) unsafe fn reclaim_on_free(heap: *mut Heap, seg: *mut Segment) -> bool {
    abandoned_lock();
    let mine = (*seg).abandoned;
    if mine {
        abandoned_unlink(seg);
    }
    abandoned_unlock();
    if !mine {
        return false;
    }
    adopt(heap, seg).is_some()
}

/// Takes one abandoned segment and adopts its pages into `heap`. Returns the segment if
/// it is still alive afterwards (it is freed when all its pages turned out empty).
unsafe fn reclaim_one(heap: *mut Heap) -> Option<*mut Segment> {
    abandoned_lock();
    let seg = *ABANDONED.head.get();
    if !seg.is_null() {
        abandoned_unlink(seg);
    }
    abandoned_unlock();
    if seg.is_null() {
        return None;
    }
    adopt(heap, seg)
}

/// Makes an abandoned segment (already unlinked) the calling thread's.
unsafe fn adopt(heap: *mut Heap, seg: *mut Segment) -> Option<*mut Segment> {
    let tld = (*heap).tld;
    stats::ABANDONED.decrease(1);
    stats::RECLAIMED.fetch_add(1, Ordering::Relaxed);
    (*seg).thread_id.store((*tld).thread_id, Ordering::Release);
    all_push(tld, seg);
    if (*seg).purge_count > 0 {
        // its pending purges are this thread's now
        (*tld).purge_pending = true;
    }
    // Pages: adopt the ones still in use, free the ones that emptied meanwhile.
    if (*seg).kind == PageKind::Small || (*seg).kind == PageKind::Medium {
        // make sure page_free can queue it
        (*seg).in_free_queue = false;
    }
    for i in 0..(*seg).capacity {
        let page = Segment::page(seg, i);
        if !(*page).in_use {
            continue;
        }
        (*page).xheap.store(heap, Ordering::Release);
        page::use_delayed_free(page, DELAY_NO, true);
        page::free_collect(page, false);
        if (*page).used == 0 {
            if page_free(tld, page) {
                return None;
            }
        } else {
            (*page).flags &= !FLAG_IN_FULL;
            let pq = &raw mut (*heap).pages[(*page).bin as usize];
            page_queue::push_back(heap, pq, page);
        }
    }
    let kind = (*seg).kind;
    if (kind == PageKind::Small || kind == PageKind::Medium)
        && (*seg).used < (*seg).capacity
        && !(*seg).in_free_queue
    {
        queue_push(free_queue(tld, kind), seg);
    }
    Some(seg)
}
