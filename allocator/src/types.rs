//! Core data structures and layout constants shared by every concept.
//!
//! Memory is organised as in mimalloc: a thread owns *segments* (4 MiB, 4 MiB-aligned,
//! reserved from the OS), each split into *pages* that serve blocks of one size class.
//! Any pointer maps to its segment by masking (`segment_of`), and to its page by a shift.

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize};

use crate::size_class::BIN_COUNT;

pub(crate) const WORD: usize = 8;
pub(crate) const KIB: usize = 1024;

pub(crate) const SEGMENT_SHIFT: usize = 22;
/// Size and alignment of a segment (huge segments may be larger, never smaller).
pub(crate) const SEGMENT_SIZE: usize = 1 << SEGMENT_SHIFT;
pub(crate) const SEGMENT_MASK: usize = SEGMENT_SIZE - 1;

pub(crate) const SMALL_PAGE_SHIFT: usize = 16; // 64 KiB
pub(crate) const MEDIUM_PAGE_SHIFT: usize = 19; // 512 KiB
pub(crate) const SMALL_PAGES_PER_SEGMENT: usize = SEGMENT_SIZE >> SMALL_PAGE_SHIFT;
pub(crate) const MEDIUM_PAGES_PER_SEGMENT: usize = SEGMENT_SIZE >> MEDIUM_PAGE_SHIFT;
/// Page shift of single-page (large and huge) segments: every offset maps to page 0.
pub(crate) const SINGLE_PAGE_SHIFT: usize = usize::BITS as usize - 1;

/// Largest block served from 64 KiB small pages.
pub(crate) const SMALL_OBJ_MAX: usize = (1 << SMALL_PAGE_SHIFT) / 4;
/// Largest block served from 512 KiB medium pages.
pub(crate) const MEDIUM_OBJ_MAX: usize = (1 << MEDIUM_PAGE_SHIFT) / 4;
/// Largest block served from a large (one page per segment) segment; above this: huge.
pub(crate) const LARGE_OBJ_MAX: usize = SEGMENT_SIZE / 2;

/// Requests up to this size go through the direct page cache (one load, one pop).
pub(crate) const SMALL_SIZE_MAX: usize = 128 * WORD;
pub(crate) const PAGES_DIRECT: usize = SMALL_SIZE_MAX / WORD + 1;

/// Alignment of every page start (and so of every block of a power-of-two multiple size).
pub(crate) const PAGE_START_ALIGN: usize = 4096;
/// Largest alignment served by rounding the size up inside ordinary pages.
pub(crate) const ALIGN_IN_PAGE_MAX: usize = PAGE_START_ALIGN;
/// Fresh free-list entries are built at most this many bytes at a time.
pub(crate) const MAX_EXTEND_BYTES: usize = 4 * KIB;

/// Thread-free list states in the low two bits of `Page::xthread_free`.
pub(crate) const DELAY_NO: usize = 0;
pub(crate) const DELAY_USE: usize = 1;
pub(crate) const DELAY_FREEING: usize = 2;
pub(crate) const DELAY_NEVER: usize = 3;
pub(crate) const DELAY_MASK: usize = 3;

/// `Page::xthread_free` packs the whole pending cross-thread list into one word, so the
/// owner takes it with one atomic operation and never walks it (the blocks were written by
/// other threads: walking them is one cache miss each, serialised):
/// bits 0-1 the delayed-free state, bits 2-31 the head block's offset from the start of its
/// segment (0 = empty list: a block never starts at a segment's first byte, the header is
/// there), bits 32-63 the number of blocks in the list (at most the blocks of one page).
pub(crate) const TF_OFFSET_MASK: usize = 0xFFFF_FFFC;
pub(crate) const TF_COUNT_SHIFT: usize = 32;
const _: () = assert!(SEGMENT_SIZE <= TF_OFFSET_MASK + 4);

/// The head block of the thread-free list word `tf` of `page` (null when empty).
#[inline(always)]
pub(crate) fn tf_head(page: *const Page, tf: usize) -> *mut Block {
    let off = tf & TF_OFFSET_MASK;
    if off == 0 {
        ptr::null_mut()
    } else {
        // the page descriptor lives in its segment's header
        ((page as usize & !SEGMENT_MASK) + off) as *mut Block
    }
}

/// The number of blocks in the thread-free list word `tf`.
#[inline(always)]
pub(crate) fn tf_count(tf: usize) -> u32 {
    (tf >> TF_COUNT_SHIFT) as u32
}

/// `tf` with `block` pushed on its list (state kept, count + 1).
#[inline(always)]
pub(crate) fn tf_push(tf: usize, block: *mut Block) -> usize {
    ((tf & !TF_OFFSET_MASK) + (1 << TF_COUNT_SHIFT)) | (block as usize & SEGMENT_MASK)
}

/// `Page::flags` bits. All zero means the free fast path applies.
pub(crate) const FLAG_IN_FULL: u8 = 1;
pub(crate) const FLAG_HAS_ALIGNED: u8 = 2;
/// The page's blocks are larger than `FRESH_FLAG_MIN` and its `free` list holds fresh,
/// known-zero blocks (`free_is_zero`): local frees take the generic path, which keeps them
/// in `local_free`, so that `calloc` of such blocks still skips the clear (the fast path
/// pushes onto `free` and clears `free_is_zero`). Set and cleared with `free_is_zero` by
/// `page::set_free_is_zero`.
pub(crate) const FLAG_FRESH: u8 = 4;
/// Pages of blocks up to this size never get `FLAG_FRESH` (clearing such a block is cheap;
/// their frees always take the fast path). Equal to `SMALL_SIZE_MAX`: the allocation fast
/// path, which serves only these sizes, may clear `free_is_zero` without the flag.
pub(crate) const FRESH_FLAG_MIN: usize = SMALL_SIZE_MAX;

/// A free block: the first word links to the next free block.
#[repr(C)]
pub(crate) struct Block {
    pub next: *mut Block,
}

#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PageKind {
    Small = 0,
    Medium = 1,
    Large = 2,
    Huge = 3,
}

/// A page: a run of memory inside a segment serving blocks of one size.
///
/// Two cache lines (the descriptor array is 64-aligned): the first is the owner's — the
/// fields its allocation and free fast paths write on every call; the second holds what
/// other threads touch (`xthread_free`, `xheap`, `has_aligned`) plus rarely written
/// bookkeeping. A cross-thread free then never reads or writes the line the owner is
/// writing, and the owner meets the other threads' line only when it collects.
#[repr(C, align(64))]
pub(crate) struct Page {
    // ---- line 0, owner only: allocation and local free ----
    /// Allocation pops from here; the owner's fast-path frees push here (LIFO reuse).
    pub free: *mut Block,
    /// The owner's slow-path frees (full, aligned or `FLAG_FRESH` pages; no atomics);
    /// moved to `free` when it runs dry.
    pub local_free: *mut Block,
    /// Blocks handed out and not yet collected back (includes pending thread frees).
    pub used: u32,
    /// Blocks carved into free lists so far (extended lazily up to `reserved`).
    pub capacity: u32,
    /// Blocks that fit in the page.
    pub reserved: u32,
    /// `FLAG_IN_FULL` | `FLAG_HAS_ALIGNED` | `FLAG_FRESH`.
    pub flags: u8,
    /// Every block in `free` is fresh memory from the OS (zero except its `next` word).
    pub free_is_zero: bool,
    /// The page memory was zero when the page was (re)initialised.
    pub is_zero_init: bool,
    /// Retirement countdown for an empty page kept around to avoid thrashing.
    pub retire_expire: u8,
    pub block_size: usize,
    pub page_start: *mut u8,
    // queue links
    pub next: *mut Page,
    pub prev: *mut Page,
    // ---- line 1: cross-thread, and cold bookkeeping ----
    /// Cross-thread frees: count, head offset and delayed-free state (see `tf_head`).
    pub xthread_free: AtomicUsize,
    /// Owning heap (null while abandoned).
    pub xheap: AtomicPtr<Heap>,
    /// `FLAG_HAS_ALIGNED` as read by other threads' frees (set with it, cleared with it).
    pub has_aligned: bool,
    pub in_use: bool,
    pub is_committed: bool,
    pub purge_pending: bool,
    /// Size class of the page (its queue index), set by `page::init`.
    pub bin: u8,
    pub index: u32,
    /// When the page was last purged (ms, 0 = not since its segment was set up): a purge
    /// soon followed by a claim of the page raises the purge delay (`segment::refault`).
    pub purged_at: u64,
}

/// A segment header; its page descriptors follow it in memory.
///
/// The first cache line holds only what every free reads (`thread_id`, `kind`,
/// `page_shift`) and fields fixed at creation; the owner's changing bookkeeping starts on
/// the next line, so other threads' frees never miss on the owner's writes.
#[repr(C, align(64))]
pub(crate) struct Segment {
    // ---- line 0: read by every free; written only when the owner changes ----
    /// Owning thread id; 0 when abandoned or for huge segments.
    pub thread_id: AtomicUsize,
    pub cookie: usize,
    pub page_shift: usize,
    /// Bytes from the segment start to its end (for huge: header + block).
    pub segment_size: usize,
    /// Header bytes (segment + page descriptors), rounded to `PAGE_START_ALIGN`.
    pub info_size: usize,
    /// The OS mapping holding this segment.
    pub map_base: *mut u8,
    pub map_size: usize,
    pub kind: PageKind,
    /// The memory was committed as a whole on allocation (always true on Linux).
    pub mem_is_fresh: bool,
    // ---- line 1..: the owner's bookkeeping ----
    pub capacity: usize,
    pub used: usize,
    pub in_free_queue: bool,
    /// In the global abandoned list (linked through `next`/`prev` while abandoned).
    pub abandoned: bool,
    /// Link in the owning thread's queue of segments that have free pages.
    pub next: *mut Segment,
    pub prev: *mut Segment,
    /// Link in the owning thread's list of all its segments.
    pub all_next: *mut Segment,
    pub all_prev: *mut Segment,
    /// Link in the global abandoned list or the thread's segment cache.
    pub abandoned_next: *mut Segment,
    /// Pages whose memory waits to be returned to the OS.
    pub purge_count: usize,
    /// When the pending purges are due (ms, 0 = not stamped yet).
    pub purge_expire: u64,
    /// When the segment was purged whole in a cache (ms, 0 = not purged).
    pub purged_at: u64,
}

impl Segment {
    /// The page descriptors following the header.
    ///
    /// # Safety
    /// `this` must point to an initialised segment header.
    #[inline(always)]
    pub(crate) unsafe fn pages(this: *mut Segment) -> *mut Page {
        (this as *mut u8).add(core::mem::size_of::<Segment>()) as *mut Page
    }

    /// # Safety
    /// `this` must point to an initialised segment and `i < capacity`.
    #[inline(always)]
    pub(crate) unsafe fn page(this: *mut Segment, i: usize) -> *mut Page {
        Segment::pages(this).add(i)
    }
}

/// The segment holding a pointer returned by the allocator.
///
/// Uses `p - 1` so that a block placed exactly at a segment boundary (huge blocks with
/// alignment >= `SEGMENT_SIZE`) maps to the header just below it; ordinary blocks never
/// start at a segment's first byte (the header is there).
#[inline(always)]
pub(crate) fn segment_of(p: *const u8) -> *mut Segment {
    ((p as usize).wrapping_sub(1) & !SEGMENT_MASK) as *mut Segment
}

/// The page of segment `seg` holding `p`.
///
/// # Safety
/// `seg` must be `segment_of(p)` for a pointer `p` inside the segment.
#[inline(always)]
pub(crate) unsafe fn page_of(seg: *mut Segment, p: *const u8) -> *mut Page {
    let idx = ((p as usize) - (seg as usize)) >> (*seg).page_shift;
    Segment::page(seg, idx)
}

/// A queue of pages serving one block size.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PageQueue {
    pub first: *mut Page,
    pub last: *mut Page,
    pub block_size: usize,
}

/// A heap: a set of page queues owned by one thread.
///
/// The scalars the slow path reads on every call come first, in one cache line with
/// `tld`; then the direct cache and the queues.
#[repr(C)]
pub(crate) struct Heap {
    pub tld: *mut Tld,
    /// Blocks freed by other threads into pages that were full (see `free.rs`).
    pub thread_delayed_free: AtomicPtr<Block>,
    pub generic_count: usize,
    pub page_retired_min: usize,
    pub page_retired_max: usize,
    pub thread_id: usize,
    pub page_count: usize,
    /// Next heap of the same thread.
    pub next: *mut Heap,
    pub is_backing: bool,
    /// Per word-size: the first page of the matching queue (or the empty page).
    pub pages_direct: [*mut Page; PAGES_DIRECT],
    pub pages: [PageQueue; BIN_COUNT],
}

/// A queue of segments (doubly linked through `Segment::next/prev`).
#[derive(Clone, Copy)]
pub(crate) struct SegmentQueue {
    pub first: *mut Segment,
    pub last: *mut Segment,
}

impl SegmentQueue {
    pub(crate) const fn new() -> Self {
        SegmentQueue {
            first: ptr::null_mut(),
            last: ptr::null_mut(),
        }
    }
}

/// Thread-local data: what a thread owns besides its heaps.
#[repr(C)]
pub(crate) struct Tld {
    pub thread_id: usize,
    pub heap_backing: *mut Heap,
    /// All heaps of this thread (the backing heap first).
    pub heaps: *mut Heap,
    pub small_free: SegmentQueue,
    pub medium_free: SegmentQueue,
    /// Every segment this thread owns.
    pub segments: *mut Segment,
    pub segment_count: usize,
    /// Empty segments kept for reuse (linked by `abandoned_next`).
    pub cache: *mut Segment,
    pub cache_count: usize,
    /// Last time (ms) pending purges were checked.
    pub last_purge_check: u64,
    /// Some page or cached segment waits to be purged (so the heartbeat reads the clock).
    pub purge_pending: bool,
    /// The thread's purge delay (ms) when raised above the option's (see
    /// `segment::refault`), else 0.
    pub purge_delay: u64,
    /// When `purge_delay` last changed (ms).
    pub purge_delay_raised_at: u64,
}

/// The memory a thread's default heap and its `Tld` live in.
#[repr(C)]
pub(crate) struct ThreadData {
    pub heap: Heap,
    pub tld: Tld,
    pub next_free: *mut ThreadData,
}

const _: () = assert!(core::mem::size_of::<Segment>().is_multiple_of(16));
const _: () = assert!(core::mem::size_of::<Page>() == 128);
const _: () = assert!(core::mem::offset_of!(Page, xthread_free) == 64);
const _: () = assert!(core::mem::offset_of!(Segment, capacity) == 64);
const _: () = assert!(core::mem::size_of::<Segment>().is_multiple_of(64));
