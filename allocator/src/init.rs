//! Process and thread initialisation and teardown, and the hooks that drive them:
//!
//! - Linux: an `.init_array` entry (process init) and a `.fini_array` entry (statistics at
//!   exit); thread exit through a pthread key destructor (`os/linux.rs`).
//! - Windows static (TLS-callback) mode: a callback in `.CRT$XLB`, listed by the image's
//!   TLS directory (`_tls_used`, which we reference so the linker cannot drop it), gets
//!   process/thread attach and detach.
//! - Windows DLL mode (`dll` feature): `DllMain` gets the same notifications.
//!
//! Everything also initialises lazily on a thread's first allocation, so allocations made
//! before any hook ran (early start-up, `LD_PRELOAD`) work.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use crate::heap;
use crate::os;
use crate::stats;
use crate::types::*;

const UNINIT: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
static PROCESS_STATE: AtomicU8 = AtomicU8::new(UNINIT);

/// The strongest initialisation hook that ran (C ABI `mt_init_mode`).
pub(crate) static INIT_MODE: AtomicUsize = AtomicUsize::new(0);
pub(crate) const MODE_LAZY: usize = 1;
#[allow(dead_code)]
pub(crate) const MODE_CONSTRUCTOR: usize = 2;
#[allow(dead_code)]
pub(crate) const MODE_TLS_CALLBACK: usize = 3;
#[allow(dead_code)]
pub(crate) const MODE_DLLMAIN: usize = 4;
/// Thread detach notifications received (TLS callback, DllMain or pthread key).
pub(crate) static THREAD_DONE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// One-time process initialisation (options, OS TLS slot / thread-exit key).
/// `mode` records who called: the highest mode seen is what `mt_init_mode` reports, so a
/// load hook that runs after a lazy initialisation (e.g. the DLL's CRT allocating before
/// `DllMain`) still shows.
pub(crate) fn process_init(mode: usize) {
    INIT_MODE.fetch_max(mode, Ordering::Relaxed);
    if PROCESS_STATE.load(Ordering::Acquire) == DONE {
        return;
    }
    match PROCESS_STATE.compare_exchange(UNINIT, RUNNING, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            crate::options::init();
            if crate::options::get(crate::options::Opt::Stats) != 0 {
                os::keep_stderr();
            }
            os::process_init();
            PROCESS_STATE.store(DONE, Ordering::Release);
        }
        Err(_) => {
            let mut spins = 0;
            while PROCESS_STATE.load(Ordering::Acquire) != DONE {
                os::spin(&mut spins);
            }
        }
    }
}

// ---- thread data pool ----

static POOL_LOCK: AtomicBool = AtomicBool::new(false);
static mut POOL: *mut ThreadData = ptr::null_mut();
static mut POOL_COUNT: usize = 0;
const POOL_MAX: usize = 32;

fn pool_lock() {
    let mut spins = 0;
    while POOL_LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        os::spin(&mut spins);
    }
}

fn pool_unlock() {
    POOL_LOCK.store(false, Ordering::Release);
}

const TD_SIZE: usize = os::align_up(core::mem::size_of::<ThreadData>(), 4096);

fn thread_data_alloc() -> *mut ThreadData {
    pool_lock();
    // SAFETY: the pool is only touched under POOL_LOCK.
    let td = unsafe {
        let td = POOL;
        if !td.is_null() {
            POOL = (*td).next_free;
            POOL_COUNT -= 1;
        }
        td
    };
    pool_unlock();
    if !td.is_null() {
        return td;
    }
    match os::alloc_aligned(TD_SIZE, 4096, 0) {
        Some(m) => {
            stats::RESERVED.increase(m.size);
            stats::COMMITTED.increase(m.size);
            m.ptr as *mut ThreadData
        }
        None => ptr::null_mut(),
    }
}

unsafe fn thread_data_free(td: *mut ThreadData) {
    pool_lock();
    if POOL_COUNT < POOL_MAX {
        (*td).next_free = POOL;
        POOL = td;
        POOL_COUNT += 1;
        pool_unlock();
        return;
    }
    pool_unlock();
    stats::RESERVED.decrease(TD_SIZE);
    stats::COMMITTED.decrease(TD_SIZE);
    os::release(td as *mut u8, TD_SIZE);
}

/// Creates the calling thread's default heap (on its first allocation).
pub(crate) fn thread_heap_init() -> *mut Heap {
    process_init(MODE_LAZY);
    let existing = os::tls_heap();
    if !existing.is_null() {
        return existing;
    }
    let td = thread_data_alloc();
    if td.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `td` is exclusively ours: fresh from the OS or popped from the pool.
    unsafe {
        ptr::write_bytes(td as *mut u8, 0, core::mem::size_of::<ThreadData>());
        let tld = &raw mut (*td).tld;
        let heap = &raw mut (*td).heap;
        (*tld).thread_id = os::thread_id();
        (*tld).heap_backing = heap;
        (*tld).heaps = heap;
        (*tld).small_free = SegmentQueue::new();
        (*tld).medium_free = SegmentQueue::new();
        heap::init(heap, tld, true);
        os::set_tls_heap(heap);
        os::thread_attach(heap);
        stats::THREADS.increase(1);
        heap
    }
}

/// Tears down the calling thread's heaps: frees what is empty, abandons the rest to other
/// threads. Called at thread exit (pthread key destructor, TLS callback, DllMain).
///
/// # Safety
/// Called on the exiting thread itself; `heap` is its default heap or null.
pub(crate) unsafe fn thread_done(heap: *mut Heap) {
    THREAD_DONE_COUNT.fetch_add(1, Ordering::Relaxed);
    let heap = if heap.is_null() { os::tls_heap() } else { heap };
    if heap.is_null() || heap != os::tls_heap() || (*heap).thread_id != os::thread_id() {
        return;
    }
    let tld = (*heap).tld;
    heap::thread_abandon(tld);
    os::set_tls_heap(ptr::null_mut());
    os::thread_detach();
    stats::THREADS.decrease(1);
    let td = (tld as *mut u8).sub(core::mem::offset_of!(ThreadData, tld)) as *mut ThreadData;
    thread_data_free(td);
}

/// At process exit: print statistics when asked to.
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn process_done() {
    if crate::options::get(crate::options::Opt::Stats) != 0 {
        stats::print();
    }
}

// ---- Linux hooks ----

#[cfg(all(target_os = "linux", not(test)))]
mod linux_hooks {
    extern "C" fn on_load() {
        super::process_init(super::MODE_CONSTRUCTOR);
    }

    extern "C" fn on_unload() {
        super::process_done();
    }

    #[used]
    #[unsafe(link_section = ".init_array.00101")]
    static INIT: extern "C" fn() = on_load;

    #[used]
    #[unsafe(link_section = ".fini_array.00101")]
    static FINI: extern "C" fn() = on_unload;
}

// ---- Windows hooks ----

#[cfg(windows)]
pub(crate) mod windows_hooks {
    use core::ffi::c_void;

    pub(crate) const DLL_PROCESS_DETACH: u32 = 0;
    pub(crate) const DLL_PROCESS_ATTACH: u32 = 1;
    pub(crate) const DLL_THREAD_DETACH: u32 = 3;

    /// Shared by the TLS callback and DllMain.
    pub(crate) fn notify(reason: u32, mode: usize) {
        match reason {
            DLL_PROCESS_ATTACH => super::process_init(mode),
            DLL_THREAD_DETACH => {
                // SAFETY: runs on the detaching thread itself.
                unsafe { super::thread_done(core::ptr::null_mut()) }
            }
            DLL_PROCESS_DETACH => super::process_done(),
            _ => {}
        }
    }

    #[cfg(not(feature = "dll"))]
    unsafe extern "system" fn tls_callback(
        _module: *mut c_void,
        reason: u32,
        _reserved: *mut c_void,
    ) {
        notify(reason, super::MODE_TLS_CALLBACK);
    }

    /// The TLS callback: the loader calls every pointer between `__xl_a` (`.CRT$XLA`) and
    /// `__xl_z` (`.CRT$XLZ`) that the image's TLS directory lists.
    #[cfg(not(feature = "dll"))]
    #[used]
    #[unsafe(link_section = ".CRT$XLB")]
    static TLS_CALLBACK: unsafe extern "system" fn(*mut c_void, u32, *mut c_void) = tls_callback;

    // The TLS directory itself (`_tls_used`, MinGW's tlssup.o / MSVC's tlssup.obj). A
    // static library is only pulled into the image for what the program references, so
    // referencing the directory here makes the link fail loudly instead of silently
    // producing an image whose callback never runs.
    #[cfg(all(not(feature = "dll"), not(test)))]
    unsafe extern "C" {
        static _tls_used: u8;
    }

    #[cfg(all(not(feature = "dll"), not(test)))]
    #[used]
    static TLS_USED_REF: &u8 = unsafe { &_tls_used };

    /// DLL-redirect mode entry point.
    #[cfg(feature = "dll")]
    #[unsafe(no_mangle)]
    pub unsafe extern "system" fn DllMain(
        _module: *mut c_void,
        reason: u32,
        _reserved: *mut c_void,
    ) -> i32 {
        notify(reason, super::MODE_DLLMAIN);
        1
    }
}
