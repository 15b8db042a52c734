//! The `malloc` family (feature `override`): exported under the C library's names so that
//! the runtime replaces the process allocator (static linking, `LD_PRELOAD`, or a DLL
//! whose allocation imports the executable binds to).

use core::ffi::c_void;

use crate::alloc::{self, heap_malloc_aligned, heap_realloc, usable_size};
use crate::os;

#[cfg(target_os = "linux")]
const EINVAL: i32 = 22;
#[cfg(target_os = "linux")]
const ENOMEM: i32 = 12;
#[cfg(target_os = "linux")]
const OS_PAGE: usize = 4096;

#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    alloc::malloc(size) as *mut c_void
}

#[unsafe(no_mangle)]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    alloc::calloc(count, size) as *mut c_void
}

/// # Safety
/// `p` is null or a live pointer from this allocator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    crate::free::free(p as *mut u8)
}

/// `realloc(p, 0)` frees `p` and returns null, as glibc and the Windows CRT do.
///
/// # Safety
/// `p` is null or a live pointer from this allocator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if size == 0 && !p.is_null() {
        crate::free::free(p as *mut u8);
        return core::ptr::null_mut();
    }
    heap_realloc(os::tls_heap(), p as *mut u8, size) as *mut c_void
}

#[cfg(target_os = "linux")]
mod unix {
    use super::*;
    use crate::types::WORD;

    /// # Safety
    /// `p` is null or a live pointer from this allocator.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn reallocarray(
        p: *mut c_void,
        count: usize,
        size: usize,
    ) -> *mut c_void {
        match count.checked_mul(size) {
            Some(n) => realloc(p, n),
            None => {
                os::set_errno_nomem();
                core::ptr::null_mut()
            }
        }
    }

    /// # Safety
    /// `out` points to writable memory for a pointer.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn posix_memalign(
        out: *mut *mut c_void,
        alignment: usize,
        size: usize,
    ) -> i32 {
        if out.is_null() || !alignment.is_power_of_two() || !alignment.is_multiple_of(WORD) {
            return EINVAL;
        }
        let p = heap_malloc_aligned(os::tls_heap(), size, alignment, false);
        if p.is_null() {
            return ENOMEM;
        }
        *out = p as *mut c_void;
        0
    }

    fn aligned(alignment: usize, size: usize) -> *mut c_void {
        if !alignment.is_power_of_two() {
            // SAFETY: no pointer argument.
            unsafe { set_errno(EINVAL) };
            return core::ptr::null_mut();
        }
        // SAFETY: the TLS heap is null or the calling thread's heap.
        unsafe { heap_malloc_aligned(os::tls_heap(), size, alignment, false) as *mut c_void }
    }

    unsafe fn set_errno(e: i32) {
        if e == ENOMEM {
            os::set_errno_nomem();
        }
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn aligned_alloc(alignment: usize, size: usize) -> *mut c_void {
        aligned(alignment, size)
    }

    /// glibc accepts any alignment here and rounds it up to a power of two.
    #[unsafe(no_mangle)]
    pub extern "C" fn memalign(alignment: usize, size: usize) -> *mut c_void {
        let a = alignment.max(1).checked_next_power_of_two().unwrap_or(0);
        aligned(a, size)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn valloc(size: usize) -> *mut c_void {
        aligned(OS_PAGE, size)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn pvalloc(size: usize) -> *mut c_void {
        match size.max(1).checked_add(OS_PAGE - 1) {
            Some(s) => aligned(OS_PAGE, s & !(OS_PAGE - 1)),
            None => {
                os::set_errno_nomem();
                core::ptr::null_mut()
            }
        }
    }

    /// # Safety
    /// `p` is null or a live pointer from this allocator.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
        usable_size(p as *const u8)
    }

    /// # Safety
    /// `p` is null or a live pointer from this allocator.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn cfree(p: *mut c_void) {
        crate::free::free(p as *mut u8)
    }

    // glibc-internal entry points some programs and libraries call directly.
    #[unsafe(no_mangle)]
    pub extern "C" fn __libc_malloc(size: usize) -> *mut c_void {
        malloc(size)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn __libc_calloc(count: usize, size: usize) -> *mut c_void {
        calloc(count, size)
    }

    /// # Safety
    /// As `realloc`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void {
        realloc(p, size)
    }

    /// # Safety
    /// As `free`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_free(p: *mut c_void) {
        free(p)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn __libc_memalign(alignment: usize, size: usize) -> *mut c_void {
        memalign(alignment, size)
    }

    /// Nothing to trim eagerly beyond what `mt_collect` does; reports success like glibc.
    #[unsafe(no_mangle)]
    pub extern "C" fn malloc_trim(_pad: usize) -> i32 {
        crate::capi::mt_collect(true);
        1
    }
}

#[cfg(windows)]
mod win {
    use super::*;

    /// # Safety
    /// `p` is null or a live pointer from this allocator.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn _msize(p: *mut c_void) -> usize {
        usable_size(p as *const u8)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn _aligned_malloc(size: usize, alignment: usize) -> *mut c_void {
        // SAFETY: the TLS heap is null or the calling thread's heap.
        unsafe { heap_malloc_aligned(os::tls_heap(), size, alignment.max(1), false) as *mut c_void }
    }

    /// # Safety
    /// `p` is null or a live pointer from this allocator.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn _aligned_free(p: *mut c_void) {
        crate::free::free(p as *mut u8)
    }

    /// # Safety
    /// `p` is null or a live pointer from `_aligned_malloc` with the same alignment.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn _aligned_realloc(
        p: *mut c_void,
        size: usize,
        alignment: usize,
    ) -> *mut c_void {
        if size == 0 && !p.is_null() {
            crate::free::free(p as *mut u8);
            return core::ptr::null_mut();
        }
        crate::alloc::heap_realloc_aligned(os::tls_heap(), p as *mut u8, size, alignment.max(1))
            as *mut c_void
    }

    /// # Safety
    /// `p` is a live pointer from `_aligned_malloc`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn _aligned_msize(
        p: *mut c_void,
        _alignment: usize,
        _offset: usize,
    ) -> usize {
        usable_size(p as *const u8)
    }

    /// Resizes to `count * size` bytes and zeroes what the block gained. Blocks made by
    /// `_recalloc` keep their slack (usable size beyond the request) zeroed too, so growing
    /// them again yields zeros from the old requested size on, as the CRT does.
    ///
    /// # Safety
    /// `p` is null or a live pointer from this allocator.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn _recalloc(p: *mut c_void, count: usize, size: usize) -> *mut c_void {
        let Some(total) = count.checked_mul(size) else {
            os::set_errno_nomem();
            return core::ptr::null_mut();
        };
        let old = usable_size(p as *const u8);
        let q = realloc(p, total);
        if !q.is_null() {
            let new = usable_size(q as *const u8);
            if new > old {
                core::ptr::write_bytes((q as *mut u8).add(old), 0, new - old);
            }
            if total < new {
                core::ptr::write_bytes((q as *mut u8).add(total), 0, new - total);
            }
        }
        q
    }

    /// Resizes in place only: returns `p` when `size` fits its block, else null.
    ///
    /// # Safety
    /// `p` is a live pointer from this allocator.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn _expand(p: *mut c_void, size: usize) -> *mut c_void {
        if !p.is_null() && size <= usable_size(p as *const u8) {
            p
        } else {
            core::ptr::null_mut()
        }
    }
}
