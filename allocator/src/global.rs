//! The Rust `GlobalAlloc` type.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: meteor_alloc::MeteorAlloc = meteor_alloc::MeteorAlloc;
//! ```

use core::alloc::{GlobalAlloc, Layout};

use crate::alloc::{heap_malloc, heap_malloc_aligned, heap_realloc, heap_realloc_aligned};
use crate::os::tls_heap;
use crate::types::WORD;

/// Meteor's allocator as a Rust global allocator.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeteorAlloc;

// SAFETY: every method returns memory satisfying the layout (size and alignment) or null,
// blocks are never handed out twice, and `dealloc`/`realloc` accept any pointer this
// allocator returned, from any thread.
unsafe impl GlobalAlloc for MeteorAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            heap_malloc(tls_heap(), layout.size(), false)
        } else {
            heap_malloc_aligned(tls_heap(), layout.size(), layout.align(), false)
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            heap_malloc(tls_heap(), layout.size(), true)
        } else {
            heap_malloc_aligned(tls_heap(), layout.size(), layout.align(), true)
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        crate::free::free(ptr)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            heap_realloc(tls_heap(), ptr, new_size)
        } else {
            heap_realloc_aligned(tls_heap(), ptr, new_size, layout.align())
        }
    }
}
