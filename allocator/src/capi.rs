//! The C ABI (`include/meteor_alloc.h`): `mt_malloc`, `mt_calloc`, `mt_realloc`,
//! `mt_free`, `mt_aligned_alloc`, `mt_usable_size`, `mt_version`, `mt_stats_print`,
//! first-class heaps, options and statistics.

use core::ffi::{c_int, c_long, c_void};

use crate::alloc::{self, heap_malloc, heap_malloc_aligned, heap_realloc};
use crate::heap;
use crate::os;
use crate::types::Heap;

/// Version: major * 10000 + minor * 100 + patch.
pub const VERSION: c_int = 100;

/// A first-class heap (opaque; `mt_heap_t` in C).
#[repr(C)]
pub struct MtHeap {
    _opaque: [u8; 0],
}

/// Allocates `size` bytes (16-byte aligned above 8 bytes, 8-byte aligned otherwise).
/// Returns null (errno ENOMEM) when out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn mt_malloc(size: usize) -> *mut c_void {
    alloc::malloc(size) as *mut c_void
}

/// Allocates `count * size` zeroed bytes; null on overflow or out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn mt_calloc(count: usize, size: usize) -> *mut c_void {
    alloc::calloc(count, size) as *mut c_void
}

/// Allocates `size` zeroed bytes.
#[unsafe(no_mangle)]
pub extern "C" fn mt_zalloc(size: usize) -> *mut c_void {
    alloc::zalloc(size) as *mut c_void
}

/// Resizes `p` (in place when it fits); `p == NULL` allocates. On failure returns null
/// and leaves `p` untouched.
///
/// # Safety
/// `p` is null or a live pointer from this allocator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_realloc(p: *mut c_void, size: usize) -> *mut c_void {
    heap_realloc(os::tls_heap(), p as *mut u8, size) as *mut c_void
}

/// Frees `p` (null is ignored). Any thread may free any block.
///
/// # Safety
/// `p` is null or a live pointer from this allocator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_free(p: *mut c_void) {
    crate::free::free(p as *mut u8)
}

/// Allocates `size` bytes aligned to `alignment` (a power of two, else null).
#[unsafe(no_mangle)]
pub extern "C" fn mt_aligned_alloc(alignment: usize, size: usize) -> *mut c_void {
    // SAFETY: the TLS heap is null or the calling thread's heap.
    unsafe { heap_malloc_aligned(os::tls_heap(), size, alignment, false) as *mut c_void }
}

/// Resizes an aligned block keeping `alignment`.
///
/// # Safety
/// `p` is null or a live pointer from this allocator allocated with `alignment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_aligned_realloc(
    p: *mut c_void,
    alignment: usize,
    size: usize,
) -> *mut c_void {
    if alignment == 0 || !alignment.is_power_of_two() {
        return core::ptr::null_mut();
    }
    alloc::heap_realloc_aligned(os::tls_heap(), p as *mut u8, size, alignment) as *mut c_void
}

/// Usable bytes of the block at `p` (>= the requested size); 0 for null.
///
/// # Safety
/// `p` is null or a live pointer from this allocator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_usable_size(p: *const c_void) -> usize {
    alloc::usable_size(p as *const u8)
}

/// The allocator version (`major*10000 + minor*100 + patch`).
#[unsafe(no_mangle)]
pub extern "C" fn mt_version() -> c_int {
    VERSION
}

/// Prints statistics (memory current/peak, segments, pages, threads, ...) on stderr.
#[unsafe(no_mangle)]
pub extern "C" fn mt_stats_print() {
    crate::stats::print();
}

/// Copies the statistics counters into `out` (ignored when null).
///
/// # Safety
/// `out` is null or points to writable memory for an `mt_stats_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_stats_get(out: *mut crate::stats::Stats) {
    if !out.is_null() {
        *out = crate::stats::snapshot();
    }
}

/// Frees retired pages and, with `force`, returns every purgeable page to the OS now.
#[unsafe(no_mangle)]
pub extern "C" fn mt_collect(force: bool) {
    let h = os::tls_heap();
    if !h.is_null() {
        // SAFETY: `h` is the calling thread's heap.
        unsafe {
            let mut x = (*(*h).tld).heaps;
            while !x.is_null() {
                heap::collect(x, force);
                x = (*x).next;
            }
        }
    }
}

/// Creates a first-class heap owned by the calling thread (null when out of memory).
#[unsafe(no_mangle)]
pub extern "C" fn mt_heap_new() -> *mut MtHeap {
    heap::heap_new() as *mut MtHeap
}

/// Allocates from a heap of the calling thread. Returns null when `heap` is null or owned
/// by another thread.
///
/// # Safety
/// `heap` is null or a heap returned by `mt_heap_new` and not destroyed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_heap_malloc(heap: *mut MtHeap, size: usize) -> *mut c_void {
    let heap = heap as *mut Heap;
    if heap.is_null() || (*heap).thread_id != os::thread_id() {
        return core::ptr::null_mut();
    }
    heap_malloc(heap, size, false) as *mut c_void
}

/// Zeroed `count * size` bytes from a heap of the calling thread.
///
/// # Safety
/// As `mt_heap_malloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_heap_calloc(
    heap: *mut MtHeap,
    count: usize,
    size: usize,
) -> *mut c_void {
    let heap = heap as *mut Heap;
    if heap.is_null() || (*heap).thread_id != os::thread_id() {
        return core::ptr::null_mut();
    }
    match count.checked_mul(size) {
        Some(n) => heap_malloc(heap, n, true) as *mut c_void,
        None => {
            os::set_errno_nomem();
            core::ptr::null_mut()
        }
    }
}

/// Aligned allocation from a heap of the calling thread.
///
/// # Safety
/// As `mt_heap_malloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_heap_aligned_alloc(
    heap: *mut MtHeap,
    alignment: usize,
    size: usize,
) -> *mut c_void {
    let heap = heap as *mut Heap;
    if heap.is_null() || (*heap).thread_id != os::thread_id() {
        return core::ptr::null_mut();
    }
    heap_malloc_aligned(heap, size, alignment, false) as *mut c_void
}

/// Destroys a heap and frees every block allocated from it at once. Ignored for null or a
/// heap that is not one of the calling thread's.
///
/// # Safety
/// No block of `heap` is used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt_heap_destroy(heap: *mut MtHeap) {
    let heap = heap as *mut Heap;
    if heap::is_own_heap(heap) {
        heap::heap_destroy(heap);
    }
}

/// Reads an option (`MT_OPTION_*`); -1 for an unknown option.
#[unsafe(no_mangle)]
pub extern "C" fn mt_option_get(option: c_int) -> c_long {
    match crate::options::from_index(option) {
        Some(o) => crate::options::get(o) as c_long,
        None => -1,
    }
}

/// Sets an option (`MT_OPTION_*`); unknown options are ignored.
#[unsafe(no_mangle)]
pub extern "C" fn mt_option_set(option: c_int, value: c_long) {
    if let Some(o) = crate::options::from_index(option) {
        #[allow(clippy::useless_conversion)]
        crate::options::set(o, i64::from(value));
    }
}

/// Which initialisation hook ran: 0 none yet, 1 only lazy (first allocation), 2 the ELF
/// constructor (`.init_array`), 3 the Windows TLS callback, 4 `DllMain`.
#[unsafe(no_mangle)]
pub extern "C" fn mt_init_mode() -> c_int {
    crate::init::INIT_MODE.load(core::sync::atomic::Ordering::Relaxed) as c_int
}

/// Number of thread-exit notifications received so far.
#[unsafe(no_mangle)]
pub extern "C" fn mt_thread_done_count() -> c_long {
    crate::init::THREAD_DONE_COUNT.load(core::sync::atomic::Ordering::Relaxed) as c_long
}

/// Initialises the process state explicitly (otherwise done by the load hooks or lazily).
#[unsafe(no_mangle)]
pub extern "C" fn mt_process_init() {
    crate::init::process_init(crate::init::MODE_LAZY);
}

/// Tears down the calling thread's heaps now (for runtimes that exit threads without
/// libc's or the loader's notification). Later allocations on the thread start afresh.
#[unsafe(no_mangle)]
pub extern "C" fn mt_thread_done() {
    // SAFETY: runs on the calling thread for its own heap.
    unsafe { crate::init::thread_done(core::ptr::null_mut()) }
}
