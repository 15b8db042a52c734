//! Meteor's allocator runtime: a mimalloc-class allocator.
//!
//! See `ARCHITECTURE.md` for the code map. Surfaces: the C ABI (`capi`,
//! `include/meteor_alloc.h`), the Rust [`MeteorAlloc`] `GlobalAlloc`, and with the
//! `override` feature the whole `malloc` family.
//!
//! The crate is `no_std` and depends on nothing: the runtime libraries
//! (`cargo xtask runtime`) are built from it with `--crate-type staticlib/cdylib` and the
//! `runtime` feature (which provides the panic handler).
#![cfg_attr(not(test), no_std)]
// Allocator internals are raw-pointer code throughout: internal functions are
// `unsafe fn` with their contract in a `# Safety` section, and their bodies are not
// additionally wrapped in `unsafe {}` blocks.
#![allow(unsafe_op_in_unsafe_fn)]
#![allow(clippy::missing_safety_doc)]

mod alloc;
pub mod capi;
mod free;
mod global;
mod heap;
mod init;
pub mod options;
mod os;
#[cfg(feature = "override")]
mod override_malloc;
mod page;
mod page_queue;
mod segment;
mod size_class;
pub mod stats;
mod types;

pub use capi::*;
pub use global::MeteorAlloc;
pub use stats::Stats;

/// Allocates `size` bytes; null when out of memory.
#[inline]
pub fn malloc(size: usize) -> *mut u8 {
    alloc::malloc(size)
}

/// Frees a block from this allocator (null is ignored).
///
/// # Safety
/// `p` is null or a live pointer returned by this allocator.
#[inline]
pub unsafe fn free(p: *mut u8) {
    free::free(p)
}

/// Usable size of a block from this allocator.
///
/// # Safety
/// `p` is null or a live pointer returned by this allocator.
#[inline]
pub unsafe fn usable_size(p: *const u8) -> usize {
    alloc::usable_size(p)
}

/// A snapshot of the allocator statistics.
pub fn stats() -> Stats {
    stats::snapshot()
}

#[cfg(all(feature = "runtime", not(test)))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    os::write_stderr(b"meteor-alloc: internal error\n");
    os::abort()
}

/// The precompiled `core` refers to the unwinding personality routine even though the
/// runtime builds abort on panic; nothing ever calls it.
#[cfg(all(feature = "runtime", not(test)))]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[cfg(test)]
mod tests;
