//! Allocation entry points: the small-size fast path (direct page cache: one load, one
//! pop), zeroed, aligned and resizing allocation, and usable size.

use crate::os;
use crate::page::{malloc_generic, pop_block};
use crate::segment;
use crate::types::*;

/// The calling thread's default heap, initialising the thread if needed (null only when
/// the OS refuses memory for the thread's heap).
#[inline]
pub(crate) fn default_heap() -> *mut Heap {
    let h = os::tls_heap();
    if h.is_null() {
        crate::init::thread_heap_init()
    } else {
        h
    }
}

/// Allocates from `heap` (null = the thread is not initialised yet).
///
/// # Safety
/// `heap` is null or a heap owned by the calling thread.
#[inline(always)]
pub(crate) unsafe fn heap_malloc(heap: *mut Heap, size: usize, zero: bool) -> *mut u8 {
    if size <= SMALL_SIZE_MAX && !heap.is_null() {
        let page = (*heap).pages_direct[size.div_ceil(WORD)];
        if !(*page).free.is_null() {
            return pop_block(page, size, zero);
        }
        // `free` ran dry: the thread's own frees into the page (`local_free`, no atomics)
        // become the new `free` list here, without the slow path (its heartbeat and
        // cross-thread collection wait until `local_free` is dry too). The empty page's
        // `local_free` is always null.
        let local = (*page).local_free;
        if !local.is_null() {
            (*page).free = local;
            (*page).local_free = core::ptr::null_mut();
            // no `FLAG_FRESH` to clear: direct-cache pages have blocks <= FRESH_FLAG_MIN
            debug_assert!((*page).flags & FLAG_FRESH == 0);
            (*page).free_is_zero = false;
            return pop_block(page, size, zero);
        }
    }
    malloc_generic(heap, size, zero)
}

/// `malloc`.
#[inline]
pub fn malloc(size: usize) -> *mut u8 {
    // SAFETY: the TLS heap is null or the calling thread's own heap.
    unsafe { heap_malloc(os::tls_heap(), size, false) }
}

/// `malloc` of zeroed memory.
#[inline]
pub fn zalloc(size: usize) -> *mut u8 {
    // SAFETY: as in `malloc`.
    unsafe { heap_malloc(os::tls_heap(), size, true) }
}

/// `calloc`: zeroed `count * size` bytes, null (ENOMEM) on overflow.
#[inline]
pub fn calloc(count: usize, size: usize) -> *mut u8 {
    match count.checked_mul(size) {
        Some(total) => zalloc(total),
        None => {
            os::set_errno_nomem();
            core::ptr::null_mut()
        }
    }
}

/// Aligned allocation from `heap`. `align` must be a power of two (else null).
///
/// Alignments up to 4 KiB round the size up to a multiple of the alignment: every page
/// starts 4 KiB-aligned and the block size of a multiple of a power of two is itself a
/// multiple of it, so the ordinary fast path returns aligned blocks. Larger alignments
/// over-allocate inside a page (marking it `has_aligned`) or get a dedicated segment.
///
/// # Safety
/// `heap` is null or a heap owned by the calling thread.
pub(crate) unsafe fn heap_malloc_aligned(
    heap: *mut Heap,
    size: usize,
    align: usize,
    zero: bool,
) -> *mut u8 {
    if align == 0 || !align.is_power_of_two() {
        return core::ptr::null_mut();
    }
    if align <= WORD {
        return heap_malloc(heap, size, zero);
    }
    let heap = if heap.is_null() { default_heap() } else { heap };
    if heap.is_null() {
        os::set_errno_nomem();
        return core::ptr::null_mut();
    }
    if align <= ALIGN_IN_PAGE_MAX {
        let Some(rounded) = size.max(1).checked_add(align - 1).map(|s| s & !(align - 1)) else {
            os::set_errno_nomem();
            return core::ptr::null_mut();
        };
        if rounded <= LARGE_OBJ_MAX {
            return heap_malloc(heap, rounded, zero);
        }
        return segment::huge_alloc(rounded, align);
    }
    match size.checked_add(align - 1) {
        Some(over) if over <= LARGE_OBJ_MAX => {
            let p = heap_malloc(heap, over, zero);
            if p.is_null() {
                return p;
            }
            let aligned = os::align_up(p as usize, align) as *mut u8;
            if aligned != p {
                let seg = segment_of(p);
                let page = page_of(seg, p);
                (*page).flags |= FLAG_HAS_ALIGNED;
                (*page).has_aligned = true;
            }
            aligned
        }
        Some(_) => segment::huge_alloc(size, align),
        None => {
            os::set_errno_nomem();
            core::ptr::null_mut()
        }
    }
}

/// Start of the block holding `p` in a page that may hand out interior (aligned) pointers.
///
/// # Safety
/// `p` points into a block of `page`.
#[inline]
pub(crate) unsafe fn block_start(page: *const Page, p: *const u8) -> *mut u8 {
    let start = (*page).page_start as usize;
    let diff = p as usize - start;
    (start + diff - diff % (*page).block_size) as *mut u8
}

/// Bytes usable from `p` (at least what was asked for). 0 for null.
///
/// # Safety
/// `p` is null or a live pointer returned by this allocator.
pub(crate) unsafe fn usable_size(p: *const u8) -> usize {
    if p.is_null() {
        return 0;
    }
    let seg = segment_of(p);
    let page = page_of(seg, p);
    if (*page).flags & FLAG_HAS_ALIGNED != 0 {
        let start = block_start(page, p);
        return (*page).block_size - (p as usize - start as usize);
    }
    if (*seg).kind == PageKind::Huge {
        return (*page).block_size - (p as usize - (*page).page_start as usize);
    }
    (*page).block_size
}

/// `realloc`: in place when the new size fits and is at least half the usable size.
///
/// # Safety
/// `heap` is null or owned by the calling thread; `p` is null or a live pointer returned by
/// this allocator.
pub(crate) unsafe fn heap_realloc(heap: *mut Heap, p: *mut u8, newsize: usize) -> *mut u8 {
    if p.is_null() {
        return heap_malloc(heap, newsize, false);
    }
    let size = usable_size(p);
    if newsize <= size && newsize >= size / 2 {
        return p;
    }
    if newsize > LARGE_OBJ_MAX {
        // A huge block that stays huge: move its pages instead of copying them (the copy
        // would also fault in every page of the new block).
        let seg = segment_of(p);
        if (*seg).kind == PageKind::Huge && (*page_of(seg, p)).flags & FLAG_HAS_ALIGNED == 0 {
            let newp = crate::segment::huge_remap(seg, p, newsize);
            if !newp.is_null() {
                return newp;
            }
        }
    }
    let newp = heap_malloc(heap, newsize, false);
    if newp.is_null() {
        return newp;
    }
    core::ptr::copy_nonoverlapping(p, newp, size.min(newsize));
    crate::free::free(p);
    newp
}

/// Resizes an aligned block, keeping the alignment.
///
/// # Safety
/// As `heap_realloc`; `p` was allocated with alignment `align`.
pub(crate) unsafe fn heap_realloc_aligned(
    heap: *mut Heap,
    p: *mut u8,
    newsize: usize,
    align: usize,
) -> *mut u8 {
    if align <= WORD {
        return heap_realloc(heap, p, newsize);
    }
    if p.is_null() {
        return heap_malloc_aligned(heap, newsize, align, false);
    }
    let size = usable_size(p);
    if newsize <= size && newsize >= size / 2 && (p as usize).is_multiple_of(align) {
        return p;
    }
    if newsize > LARGE_OBJ_MAX && (p as usize).is_multiple_of(align) && align < SEGMENT_SIZE {
        // As in `heap_realloc`; the block keeps its offset in a segment-aligned mapping,
        // so it keeps its alignment.
        let seg = segment_of(p);
        if (*seg).kind == PageKind::Huge && (*page_of(seg, p)).flags & FLAG_HAS_ALIGNED == 0 {
            let newp = crate::segment::huge_remap(seg, p, newsize);
            if !newp.is_null() {
                return newp;
            }
        }
    }
    let newp = heap_malloc_aligned(heap, newsize, align, false);
    if newp.is_null() {
        return newp;
    }
    core::ptr::copy_nonoverlapping(p, newp, size.min(newsize));
    crate::free::free(p);
    newp
}
