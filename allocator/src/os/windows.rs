//! Windows primitives through kernel32: VirtualAlloc/VirtualFree with separate reserve,
//! commit, decommit and release; the thread's default heap in a TLS slot read straight
//! from the TEB (`gs:[0x1480 + 8*index]`) for the first 64 slots.

use core::arch::asm;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::OsMem;
use crate::types::Heap;

const MEM_COMMIT: u32 = 0x1000;
const MEM_RESERVE: u32 = 0x2000;
const MEM_DECOMMIT: u32 = 0x4000;
const MEM_RELEASE: u32 = 0x8000;
const PAGE_READWRITE: u32 = 0x04;
const PAGE_NOACCESS: u32 = 0x01;
const STD_ERROR_HANDLE: u32 = -12i32 as u32;
const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
const TLS_OUT_OF_INDEXES: u32 = 0xFFFF_FFFF;
const TEB_TLS_SLOTS: usize = 0x1480;
const ALLOC_GRANULARITY: usize = 64 * 1024;

#[link(name = "kernel32")]
unsafe extern "system" {
    fn VirtualAlloc(addr: *mut c_void, size: usize, ty: u32, protect: u32) -> *mut c_void;
    fn VirtualFree(addr: *mut c_void, size: usize, ty: u32) -> i32;
    fn TlsAlloc() -> u32;
    fn TlsGetValue(index: u32) -> *mut c_void;
    fn TlsSetValue(index: u32, value: *mut c_void) -> i32;
    fn GetTickCount64() -> u64;
    fn GetStdHandle(which: u32) -> *mut c_void;
    fn WriteFile(h: *mut c_void, buf: *const u8, n: u32, written: *mut u32, ov: *mut c_void)
    -> i32;
    fn GetEnvironmentVariableA(name: *const u8, buf: *mut u8, size: u32) -> u32;
    fn SwitchToThread() -> i32;
    fn SetLastError(code: u32);
    #[cfg_attr(not(any(debug_assertions, feature = "runtime")), allow(dead_code))]
    fn ExitProcess(code: u32) -> !;
    fn GetCurrentProcess() -> *mut c_void;
    fn K32GetProcessMemoryInfo(
        process: *mut c_void,
        counters: *mut ProcessMemoryCounters,
        size: u32,
    ) -> i32;
}

#[repr(C)]
#[derive(Default)]
struct ProcessMemoryCounters {
    cb: u32,
    page_fault_count: u32,
    peak_working_set_size: usize,
    working_set_size: usize,
    quota_peak_paged_pool_usage: usize,
    quota_paged_pool_usage: usize,
    quota_peak_non_paged_pool_usage: usize,
    quota_non_paged_pool_usage: usize,
    pagefile_usage: usize,
    peak_pagefile_usage: usize,
}

/// Peak working set of the process, in bytes.
pub(crate) fn peak_rss() -> Option<usize> {
    let mut c = ProcessMemoryCounters {
        cb: core::mem::size_of::<ProcessMemoryCounters>() as u32,
        ..Default::default()
    };
    // SAFETY: `c` is a correctly sized PROCESS_MEMORY_COUNTERS.
    let ok = unsafe { K32GetProcessMemoryInfo(GetCurrentProcess(), &mut c, c.cb) };
    if ok != 0 {
        Some(c.peak_working_set_size)
    } else {
        None
    }
}

#[cfg(feature = "override")]
unsafe extern "C" {
    fn _errno() -> *mut i32;
}

static TLS_INDEX: AtomicU32 = AtomicU32::new(TLS_OUT_OF_INDEXES);

/// The calling thread's default heap, or null before the thread's first allocation.
#[inline(always)]
pub(crate) fn tls_heap() -> *mut Heap {
    let idx = TLS_INDEX.load(Ordering::Relaxed);
    if idx < 64 {
        let p: *mut Heap;
        // SAFETY: `gs` points at the thread's TEB; TlsSlots[idx] is our allocated slot.
        unsafe {
            asm!("movq %gs:({o}), {p}", o = in(reg) TEB_TLS_SLOTS + 8 * idx as usize, p = out(reg) p,
                 options(att_syntax, nostack, readonly, preserves_flags));
        }
        p
    } else if idx != TLS_OUT_OF_INDEXES {
        // SAFETY: `idx` was returned by TlsAlloc.
        unsafe { TlsGetValue(idx) as *mut Heap }
    } else {
        core::ptr::null_mut()
    }
}

pub(crate) fn set_tls_heap(heap: *mut Heap) {
    let idx = TLS_INDEX.load(Ordering::Relaxed);
    if idx != TLS_OUT_OF_INDEXES {
        // SAFETY: `idx` was returned by TlsAlloc.
        unsafe { TlsSetValue(idx, heap as *mut c_void) };
    }
}

/// A non-zero id unique among live threads: the TEB address (`gs:[0x30]`).
#[inline(always)]
pub(crate) fn thread_id() -> usize {
    let id: usize;
    // SAFETY: on x64 Windows `gs:[0x30]` holds the TEB's own address.
    unsafe {
        asm!("movq %gs:0x30, {}", out(reg) id, options(att_syntax, nostack, readonly, preserves_flags, pure));
    }
    id
}

static HINT: AtomicUsize = AtomicUsize::new(0x2000_0000_0000);

/// Fresh zeroed committed memory of `size` bytes at `p` with `(p + offset) % align == 0`.
pub(crate) fn alloc_aligned(size: usize, align: usize, offset: usize) -> Option<OsMem> {
    let size = super::align_up(size, ALLOC_GRANULARITY);
    let align = align.max(ALLOC_GRANULARITY);
    crate::stats::os_call();
    // SAFETY: we only reserve fresh ranges and release ranges we reserved.
    unsafe {
        if offset == 0 && align >= crate::types::SEGMENT_SIZE {
            // Try an aligned address hint first: one system call when the range is free.
            // Hints advance in multiples of the segment size, so they stay aligned.
            let span = super::align_up(size, align);
            let hint = HINT.fetch_add(span, Ordering::Relaxed);
            if hint < 0x4000_0000_0000 && hint.is_multiple_of(align) {
                let p = VirtualAlloc(
                    hint as *mut c_void,
                    size,
                    MEM_RESERVE | MEM_COMMIT,
                    PAGE_READWRITE,
                );
                if p as usize == hint {
                    return Some(OsMem {
                        base: p as *mut u8,
                        size,
                        ptr: p as *mut u8,
                    });
                }
                if !p.is_null() {
                    VirtualFree(p, 0, MEM_RELEASE);
                }
            }
        }
        let total = size.checked_add(align)?;
        for _ in 0..8 {
            let p = VirtualAlloc(core::ptr::null_mut(), total, MEM_RESERVE, PAGE_NOACCESS);
            if p.is_null() {
                return None;
            }
            let aligned = aligned_in(p as usize, align, offset);
            VirtualFree(p, 0, MEM_RELEASE);
            let q = VirtualAlloc(
                aligned as *mut c_void,
                size,
                MEM_RESERVE | MEM_COMMIT,
                PAGE_READWRITE,
            );
            if q as usize == aligned {
                return Some(OsMem {
                    base: q as *mut u8,
                    size,
                    ptr: q as *mut u8,
                });
            }
            if !q.is_null() {
                VirtualFree(q, 0, MEM_RELEASE);
            }
        }
        // Another thread keeps taking the range: keep the whole oversized reservation.
        let p = VirtualAlloc(core::ptr::null_mut(), total, MEM_RESERVE, PAGE_NOACCESS);
        if p.is_null() {
            return None;
        }
        let aligned = aligned_in(p as usize, align, offset);
        if VirtualAlloc(aligned as *mut c_void, size, MEM_COMMIT, PAGE_READWRITE).is_null() {
            VirtualFree(p, 0, MEM_RELEASE);
            return None;
        }
        Some(OsMem {
            base: p as *mut u8,
            size: total,
            ptr: aligned as *mut u8,
        })
    }
}

fn aligned_in(base: usize, align: usize, offset: usize) -> usize {
    let mut p = super::align_up(base + offset, align) - offset;
    if p < base {
        p += align;
    }
    p
}

/// Commits `[p, p+size)` (after a `decommit`).
pub(crate) unsafe fn commit(p: *mut u8, size: usize) -> bool {
    if size == 0 {
        return true;
    }
    crate::stats::os_call();
    !VirtualAlloc(p as *mut c_void, size, MEM_COMMIT, PAGE_READWRITE).is_null()
}

/// Decommits `[p, p+size)`; it must be committed again before use and reads zero then.
pub(crate) unsafe fn decommit(p: *mut u8, size: usize) {
    if size == 0 {
        return;
    }
    crate::stats::os_call();
    VirtualFree(p as *mut c_void, size, MEM_DECOMMIT);
}

/// Releases a whole reservation obtained from `alloc_aligned` (its `base`).
/// Windows cannot move committed pages between reservations: callers copy instead.
///
/// # Safety
/// Nothing to uphold; present for the common OS interface.
pub(crate) unsafe fn remap_aligned(
    _base: *mut u8,
    _size: usize,
    _new_size: usize,
    _align: usize,
) -> Option<OsMem> {
    None
}

pub(crate) unsafe fn release(base: *mut u8, _size: usize) {
    crate::stats::os_call();
    VirtualFree(base as *mut c_void, 0, MEM_RELEASE);
}

pub(crate) fn now_ms() -> u64 {
    // SAFETY: no arguments.
    unsafe { GetTickCount64() }
}

/// The standard error handle is looked up at each write on Windows.
pub(crate) fn keep_stderr() {}

pub(crate) fn write_stderr(bytes: &[u8]) {
    // SAFETY: writes from a valid slice to the process's standard error handle.
    unsafe {
        let h = GetStdHandle(STD_ERROR_HANDLE);
        if h.is_null() || h as isize == -1 {
            return;
        }
        let mut written = 0u32;
        WriteFile(
            h,
            bytes.as_ptr(),
            bytes.len() as u32,
            &mut written,
            core::ptr::null_mut(),
        );
    }
}

pub(crate) fn getenv(name: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut cname = [0u8; 64];
    if name.len() >= cname.len() {
        return None;
    }
    cname[..name.len()].copy_from_slice(name);
    // SAFETY: NUL-terminated name and a buffer of the given size.
    let n = unsafe { GetEnvironmentVariableA(cname.as_ptr(), buf.as_mut_ptr(), buf.len() as u32) };
    if n == 0 {
        None
    } else {
        Some((n as usize).min(buf.len().saturating_sub(1)))
    }
}

pub(crate) fn process_init() {
    if TLS_INDEX.load(Ordering::Acquire) == TLS_OUT_OF_INDEXES {
        // SAFETY: no arguments.
        let idx = unsafe { TlsAlloc() };
        TLS_INDEX.store(idx, Ordering::Release);
    }
}

/// Thread exit arrives through the TLS callback or DllMain: nothing to register.
pub(crate) fn thread_attach(_heap: *mut Heap) {}

pub(crate) fn thread_detach() {}

pub(crate) fn set_errno_nomem() {
    // SAFETY: plain calls; `_errno` returns the CRT's thread errno slot.
    unsafe {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        #[cfg(feature = "override")]
        {
            *_errno() = 12;
        }
    }
}

pub(crate) fn yield_now() {
    // SAFETY: no arguments.
    unsafe {
        SwitchToThread();
    }
}

/// Ends the process with exit code 3. Used by the debug-build pointer checks and the
/// runtime build's panic handler.
#[cfg_attr(not(any(debug_assertions, feature = "runtime")), allow(dead_code))]
pub(crate) fn abort() -> ! {
    // SAFETY: terminates the process.
    unsafe { ExitProcess(3) }
}
