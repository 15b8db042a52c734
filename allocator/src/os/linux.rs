//! Linux primitives through raw system calls (x86-64), so the runtime works with or
//! without libc. libc's `pthread_key_create`/`pthread_setspecific` (thread-exit
//! notification), `__errno_location` and `clock_gettime` (vDSO) are used through weak
//! references when present.

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicUsize, Ordering};

use super::OsMem;
use crate::types::Heap;

const SYS_READ: usize = 0;
const SYS_WRITE: usize = 1;
const SYS_CLOSE: usize = 3;
const SYS_MMAP: usize = 9;
const SYS_MUNMAP: usize = 11;
const SYS_SCHED_YIELD: usize = 24;
const SYS_MREMAP: usize = 25;
const SYS_MADVISE: usize = 28;
const SYS_FCNTL: usize = 72;
const SYS_CLOCK_GETTIME: usize = 228;
const SYS_OPENAT: usize = 257;

const PROT_READ_WRITE: usize = 0x3;
const MAP_PRIVATE_ANONYMOUS: usize = 0x22;
const MADV_DONTNEED: usize = 4;
const MREMAP_MAYMOVE: usize = 1;
const MREMAP_FIXED: usize = 2;
const MADV_HUGEPAGE: usize = 14;
const AT_FDCWD: isize = -100;
const CLOCK_MONOTONIC: usize = 1;
const ENOMEM: i32 = 12;

#[inline(always)]
unsafe fn syscall6(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> isize {
    let ret: isize;
    asm!(
        "syscall",
        inlateout("rax") n as isize => ret,
        in("rdi") a1, in("rsi") a2, in("rdx") a3, in("r10") a4, in("r8") a5, in("r9") a6,
        lateout("rcx") _, lateout("r11") _,
        options(nostack),
    );
    ret
}

#[inline(always)]
unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    syscall6(n, a1, a2, a3, 0, 0, 0)
}

// The thread's default heap lives in an initial-exec TLS slot (works in executables and in
// a shared object loaded at start-up, e.g. through LD_PRELOAD), and weak references to the
// libc functions we use when libc is present.
global_asm!(
    ".pushsection .tbss,\"awT\",@nobits",
    ".balign 8",
    ".globl __meteor_alloc_tls_heap",
    ".hidden __meteor_alloc_tls_heap",
    ".type __meteor_alloc_tls_heap,@object",
    ".size __meteor_alloc_tls_heap,8",
    "__meteor_alloc_tls_heap:",
    ".zero 8",
    ".popsection",
    ".weak pthread_key_create",
    ".weak pthread_setspecific",
    ".weak __errno_location",
    ".weak clock_gettime",
    options(att_syntax),
);

/// The calling thread's default heap, or null before the thread's first allocation.
#[inline(always)]
pub(crate) fn tls_heap() -> *mut Heap {
    let p: *mut Heap;
    // SAFETY: reads the thread's own TLS slot defined above (initial-exec model).
    unsafe {
        asm!(
            "movq __meteor_alloc_tls_heap@GOTTPOFF(%rip), {t}",
            "movq %fs:({t}), {p}",
            t = out(reg) _,
            p = out(reg) p,
            options(att_syntax, nostack, readonly, preserves_flags),
        );
    }
    p
}

/// Sets the calling thread's default heap.
pub(crate) fn set_tls_heap(heap: *mut Heap) {
    // SAFETY: writes the thread's own TLS slot defined above.
    unsafe {
        asm!(
            "movq __meteor_alloc_tls_heap@GOTTPOFF(%rip), {t}",
            "movq {p}, %fs:({t})",
            t = out(reg) _,
            p = in(reg) heap,
            options(att_syntax, nostack, preserves_flags),
        );
    }
}

/// A non-zero id unique among live threads: the thread pointer (`fs:0`).
#[inline(always)]
pub(crate) fn thread_id() -> usize {
    let id: usize;
    // SAFETY: on x86-64 Linux `fs:0` holds the thread control block's own address.
    unsafe {
        asm!("movq %fs:0, {}", out(reg) id, options(att_syntax, nostack, readonly, preserves_flags, pure));
    }
    id
}

static HINT: AtomicUsize = AtomicUsize::new(0x2000_0000_0000); // 32 TiB, above the usual heap

unsafe fn mmap(addr: usize, size: usize) -> *mut u8 {
    let r = syscall6(
        SYS_MMAP,
        addr,
        size,
        PROT_READ_WRITE,
        MAP_PRIVATE_ANONYMOUS,
        usize::MAX,
        0,
    );
    if r < 0 && r > -4096 {
        core::ptr::null_mut()
    } else {
        r as *mut u8
    }
}

/// Fresh zeroed read-write memory of `size` bytes at `p` with `(p + offset) % align == 0`.
/// With `METEOR_ALLOC_LARGE_OS_PAGES`, asks for transparent huge pages behind it.
pub(crate) fn alloc_aligned(size: usize, align: usize, offset: usize) -> Option<OsMem> {
    let mem = alloc_aligned_small_pages(size, align, offset)?;
    if mem.size >= LARGE_PAGE && crate::options::get(crate::options::Opt::LargeOsPages) != 0 {
        // SAFETY: `mem` is a mapping we just created; the advice only changes how the
        // kernel backs it (an error, e.g. THP disabled, leaves it as it was).
        unsafe {
            syscall3(SYS_MADVISE, mem.ptr as usize, mem.size, MADV_HUGEPAGE);
        }
    }
    Some(mem)
}

/// Size of an x86-64 large page.
const LARGE_PAGE: usize = 2 << 20;

fn alloc_aligned_small_pages(size: usize, align: usize, offset: usize) -> Option<OsMem> {
    let size = super::align_up(size, 4096);
    crate::stats::os_call();
    // SAFETY: anonymous private mappings never alias existing memory; every region we
    // unmap below is a part of the mapping we just created and do not hand out.
    unsafe {
        if offset == 0 && align >= crate::types::SEGMENT_SIZE {
            // Try an aligned address hint first: one system call when the range is free.
            // Hints advance in multiples of the segment size, so they stay aligned.
            let span = super::align_up(size, align);
            let hint = HINT.fetch_add(span, Ordering::Relaxed);
            if hint < 0x4000_0000_0000 && hint.is_multiple_of(align) {
                let p = mmap(hint, size);
                if p as usize == hint {
                    return Some(OsMem {
                        base: p,
                        size,
                        ptr: p,
                    });
                }
                if !p.is_null() {
                    syscall3(SYS_MUNMAP, p as usize, size, 0);
                }
            }
        }
        let total = size.checked_add(align)?;
        let base = mmap(0, total);
        if base.is_null() {
            return None;
        }
        let b = base as usize;
        let mut p = super::align_up(b + offset, align) - offset;
        if p < b {
            p += align;
        }
        let head = p - b;
        let tail = total - head - size;
        if head > 0 {
            syscall3(SYS_MUNMAP, b, head, 0);
        }
        if tail > 0 {
            syscall3(SYS_MUNMAP, p + size, tail, 0);
        }
        Some(OsMem {
            base: p as *mut u8,
            size,
            ptr: p as *mut u8,
        })
    }
}

/// Moves the pages of the mapping `[base, base + size)` to a fresh `align`-aligned mapping
/// of `new_size` bytes (rounded up to 4 KiB): the kernel moves page-table entries, nothing
/// is copied and pages already touched need not be faulted in again. On success the old
/// range is unmapped; on failure nothing changed.
///
/// # Safety
/// `[base, base + size)` is exactly one mapping made by `alloc_aligned` and not released.
pub(crate) unsafe fn remap_aligned(
    base: *mut u8,
    size: usize,
    new_size: usize,
    align: usize,
) -> Option<OsMem> {
    // Reserve an aligned destination, then move the old pages over it: `MREMAP_FIXED`
    // replaces the destination mapping atomically.
    let dest = alloc_aligned(new_size, align, 0)?;
    crate::stats::os_call();
    let r = syscall6(
        SYS_MREMAP,
        base as usize,
        size,
        dest.size,
        MREMAP_MAYMOVE | MREMAP_FIXED,
        dest.ptr as usize,
        0,
    );
    if r as usize != dest.ptr as usize {
        release(dest.base, dest.size);
        return None;
    }
    Some(dest)
}

/// Makes `[p, p+size)` usable again after `decommit`. On Linux memory is committed on
/// first touch, so nothing to do.
pub(crate) unsafe fn commit(_p: *mut u8, _size: usize) -> bool {
    true
}

/// Returns the physical memory behind `[p, p+size)` to the OS; it reads as zero after.
pub(crate) unsafe fn decommit(p: *mut u8, size: usize) {
    if size == 0 {
        return;
    }
    crate::stats::os_call();
    syscall3(SYS_MADVISE, p as usize, size, MADV_DONTNEED);
}

/// Unmaps a mapping obtained from `alloc_aligned` (its `base` and `size`).
pub(crate) unsafe fn release(base: *mut u8, size: usize) {
    crate::stats::os_call();
    syscall3(SYS_MUNMAP, base as usize, size, 0);
}

/// Where diagnostics go: a duplicate of stderr taken at start-up (`keep_stderr`), so that
/// statistics printed at exit survive programs that close their standard error first
/// (coreutils do); fd 2 until then.
static STDERR_FD: AtomicUsize = AtomicUsize::new(2);

/// Duplicates fd 2 (close-on-exec) for `write_stderr`.
pub(crate) fn keep_stderr() {
    const F_DUPFD_CLOEXEC: usize = 1030;
    // SAFETY: fcntl on fd 2; the result is a new descriptor we own or an error.
    let fd = unsafe { syscall3(SYS_FCNTL, 2, F_DUPFD_CLOEXEC, 64) };
    if fd >= 0 {
        STDERR_FD.store(fd as usize, Ordering::Relaxed);
    }
}

pub(crate) fn write_stderr(bytes: &[u8]) {
    let fd = STDERR_FD.load(Ordering::Relaxed);
    let mut done = 0;
    while done < bytes.len() {
        // SAFETY: writes from a valid slice to our stderr descriptor.
        let r = unsafe {
            syscall3(
                SYS_WRITE,
                fd,
                bytes.as_ptr() as usize + done,
                bytes.len() - done,
            )
        };
        if r <= 0 {
            break;
        }
        done += r as usize;
    }
}

/// Looks up `name` in the process environment (`/proc/self/environ`), copying the value
/// into `buf` (truncated to its length). Returns the value's length.
pub(crate) fn getenv(name: &[u8], buf: &mut [u8]) -> Option<usize> {
    // SAFETY: open/read/close on a path we own; reads go into a stack buffer.
    unsafe {
        let fd = syscall6(
            SYS_OPENAT,
            AT_FDCWD as usize,
            c"/proc/self/environ".as_ptr() as usize,
            0,
            0,
            0,
            0,
        );
        if fd < 0 {
            return None;
        }
        let mut chunk = [0u8; 1024];
        // state: Some(i) = matching `name` at position i of the current entry;
        // None = skipping to the next entry.
        let mut pos: Option<usize> = Some(0);
        let mut copying = false;
        let mut len = 0usize;
        let mut found = None;
        'outer: loop {
            let n = syscall3(
                SYS_READ,
                fd as usize,
                chunk.as_mut_ptr() as usize,
                chunk.len(),
            );
            if n <= 0 {
                if copying {
                    found = Some(len);
                }
                break;
            }
            for &c in &chunk[..n as usize] {
                if copying {
                    if c == 0 {
                        found = Some(len);
                        break 'outer;
                    }
                    if len < buf.len() {
                        buf[len] = c;
                    }
                    len += 1;
                    continue;
                }
                if c == 0 {
                    pos = Some(0);
                    continue;
                }
                pos = match pos {
                    Some(i) if i < name.len() && name[i] == c => Some(i + 1),
                    Some(i) if i == name.len() && c == b'=' => {
                        copying = true;
                        None
                    }
                    _ => None,
                };
            }
        }
        syscall3(SYS_CLOSE, fd as usize, 0, 0);
        found.map(|l| l.min(buf.len()))
    }
}

/// Loads the address of a weak symbol (0 when nothing defines it).
macro_rules! weak_addr {
    ($sym:literal) => {{
        let a: usize;
        // SAFETY: reads the GOT entry of a weak symbol declared in the global_asm above.
        unsafe {
            asm!(concat!("movq ", $sym, "@GOTPCREL(%rip), {}"), out(reg) a,
                 options(att_syntax, nostack, readonly, preserves_flags));
        }
        a
    }};
}

/// Monotonic milliseconds. Through libc's `clock_gettime` when present (the vDSO: no
/// kernel entry, which on a VM costs ~1 µs and showed in the slow path's profile), else
/// the raw syscall.
pub(crate) fn now_ms() -> u64 {
    let mut ts = [0i64; 2];
    let f = weak_addr!("clock_gettime");
    if f != 0 {
        // SAFETY: `f` is libc's clock_gettime(clockid_t, struct timespec*).
        let get: ClockGettime = unsafe { core::mem::transmute::<usize, ClockGettime>(f) };
        // SAFETY: `ts` holds one `struct timespec` (two i64).
        unsafe { get(CLOCK_MONOTONIC as i32, ts.as_mut_ptr()) };
    } else {
        // SAFETY: clock_gettime writes one `struct timespec` (two i64) into `ts`.
        unsafe {
            syscall3(
                SYS_CLOCK_GETTIME,
                CLOCK_MONOTONIC,
                ts.as_mut_ptr() as usize,
                0,
            );
        }
    }
    (ts[0] as u64)
        .wrapping_mul(1000)
        .wrapping_add(ts[1] as u64 / 1_000_000)
}

type KeyCreate = unsafe extern "C" fn(*mut u32, Option<unsafe extern "C" fn(*mut u8)>) -> i32;
type SetSpecific = unsafe extern "C" fn(u32, *const u8) -> i32;
type ErrnoLocation = unsafe extern "C" fn() -> *mut i32;
type ClockGettime = unsafe extern "C" fn(i32, *mut i64) -> i32;

static THREAD_KEY: AtomicUsize = AtomicUsize::new(usize::MAX);

unsafe extern "C" fn on_thread_exit(value: *mut u8) {
    crate::init::thread_done(value as *mut Heap);
}

/// Process-level OS set-up: a pthread key whose destructor tells us about thread exit.
pub(crate) fn process_init() {
    let f = weak_addr!("pthread_key_create");
    if f != 0 && THREAD_KEY.load(Ordering::Relaxed) == usize::MAX {
        let mut key = 0u32;
        // SAFETY: `f` is libc's pthread_key_create; the destructor has the C signature.
        let create: KeyCreate = unsafe { core::mem::transmute::<usize, KeyCreate>(f) };
        // SAFETY: valid out-pointer and destructor.
        if unsafe { create(&mut key, Some(on_thread_exit)) } == 0 {
            THREAD_KEY.store(key as usize, Ordering::Release);
        }
    }
}

/// Registers the thread's heap so that `thread_done` runs at thread exit.
pub(crate) fn thread_attach(heap: *mut Heap) {
    let key = THREAD_KEY.load(Ordering::Acquire);
    let f = weak_addr!("pthread_setspecific");
    if key != usize::MAX && f != 0 {
        // SAFETY: `f` is libc's pthread_setspecific and `key` a key it created.
        let set: SetSpecific = unsafe { core::mem::transmute::<usize, SetSpecific>(f) };
        // SAFETY: plain call with a valid key.
        unsafe { set(key as u32, heap as *const u8) };
    }
}

/// Stops thread-exit notification for the calling thread (after `thread_done`).
pub(crate) fn thread_detach() {
    thread_attach(core::ptr::null_mut());
}

pub(crate) fn set_errno_nomem() {
    let f = weak_addr!("__errno_location");
    if f != 0 {
        // SAFETY: `f` is libc's __errno_location, returning the thread's errno slot.
        unsafe {
            let loc: ErrnoLocation = core::mem::transmute::<usize, ErrnoLocation>(f);
            *loc() = ENOMEM;
        }
    }
}

pub(crate) fn yield_now() {
    // SAFETY: sched_yield has no arguments and no memory effects.
    unsafe {
        syscall3(SYS_SCHED_YIELD, 0, 0, 0);
    }
}

/// Aborts the process (SIGABRT, then exit_group if that is caught). Used by the debug-build
/// pointer checks and the runtime build's panic handler.
#[cfg_attr(not(any(debug_assertions, feature = "runtime")), allow(dead_code))]
pub(crate) fn abort() -> ! {
    const SYS_GETPID: usize = 39;
    const SYS_KILL: usize = 62;
    const SYS_EXIT_GROUP: usize = 231;
    const SIGABRT: usize = 6;
    // SAFETY: signals our own process, then exits; never returns.
    unsafe {
        let pid = syscall3(SYS_GETPID, 0, 0, 0);
        syscall3(SYS_KILL, pid as usize, SIGABRT, 0);
        syscall3(SYS_EXIT_GROUP, 134, 0, 0);
    }
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Peak resident set size of the process (`VmHWM` in `/proc/self/status`), in bytes.
pub(crate) fn peak_rss() -> Option<usize> {
    let mut buf = [0u8; 4096];
    // SAFETY: open/read/close of a procfs file into a stack buffer.
    let n = unsafe {
        let fd = syscall6(
            SYS_OPENAT,
            AT_FDCWD as usize,
            c"/proc/self/status".as_ptr() as usize,
            0,
            0,
            0,
            0,
        );
        if fd < 0 {
            return None;
        }
        let n = syscall3(SYS_READ, fd as usize, buf.as_mut_ptr() as usize, buf.len());
        syscall3(SYS_CLOSE, fd as usize, 0, 0);
        n
    };
    if n <= 0 {
        return None;
    }
    let text = &buf[..n as usize];
    let key = b"VmHWM:";
    let start = text.windows(key.len()).position(|w| w == key)? + key.len();
    let mut kb = 0usize;
    let mut seen = false;
    for &c in &text[start..] {
        if c.is_ascii_digit() {
            kb = kb * 10 + (c - b'0') as usize;
            seen = true;
        } else if seen {
            break;
        }
    }
    if seen { Some(kb * 1024) } else { None }
}
