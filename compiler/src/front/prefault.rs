//! Faulting in fresh memory on the idle core.
//!
//! Until IR generation starts the back-end worker, the second core is idle, while the main
//! thread spends much of lexing, parsing and type checking in the kernel, zeroing the
//! fresh pages of the token array, the AST arrays and the per-expression tables as it
//! first writes them. Those are reserved ahead (sized from the source length, the token
//! count, then the expression count), so their addresses are known before they are
//! filled: [`Prefault::start`] has a helper thread ask the kernel to fault them in
//! (`MADV_POPULATE_WRITE`, Linux 5.14+) ahead of the main thread, in chunks, until the
//! regions are done or the pass that owns them calls [`Prefault::finish`]. One helper
//! thread, started at the first job and parked between jobs, serves the whole process.
//!
//! Sound whatever the timing: `MADV_POPULATE_WRITE` never changes the contents of memory
//! (a page not yet present is mapped zero-filled, as the first write would have mapped
//! it; a present one is left alone), and the helper never reads or writes the memory
//! itself. If a region is freed and unmapped meanwhile, the call fails and the helper
//! stops. Elsewhere than on Linux, or when the kernel does not know the advice, it is a
//! no-op. Output never depends on it.

use crate::compilation::Options;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, OnceLock};

/// Regions smaller than this in total are not worth a thread.
const MIN_BYTES: usize = 1 << 20;
/// About how much the helper faults in per round of system calls (it checks for `finish`
/// between calls).
const CHUNK: usize = 512 << 10;
const PAGE: usize = 4096;

/// A running (or absent) prefault job; [`Prefault::finish`] or drop stops it and waits
/// until the helper has left it.
pub struct Prefault {
    stop: Arc<AtomicBool>,
    /// Signalled (or closed) when the helper is done with the job.
    done: Option<Receiver<()>>,
}

/// One request to the helper thread.
struct Job {
    regions: Vec<(usize, usize)>,
    stop: Arc<AtomicBool>,
    done: SyncSender<()>,
}

/// The process's one prefault helper thread, started at the first job and then parked on
/// its channel between jobs: lexing, parsing and type checking each hand it a job, and
/// one thread serves them all (a thread of its own per job cost a thread start and, with
/// 2 MiB OS pages, a fresh allocator segment whose first 2 MiB the kernel zeroed for the
/// few bytes the thread's start allocates). `None` if the thread could not be started.
fn helper() -> Option<&'static Sender<Job>> {
    static HELPER: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("meteor-prefault".into())
                .spawn(move || {
                    for job in rx {
                        populate(&job.regions, &job.stop);
                        // The owner waits for this reply; a full or closed channel is
                        // no error here.
                        let _ = job.done.try_send(());
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// The not-yet-initialized capacity of `v`, at most `max_elems` elements of it, as an
/// (address, length in bytes) region for [`Prefault::start`].
pub fn spare_region<T>(v: &mut Vec<T>, max_elems: usize) -> (usize, usize) {
    let spare = v.spare_capacity_mut();
    let n = spare.len().min(max_elems);
    (spare.as_mut_ptr() as usize, n * std::mem::size_of::<T>())
}

impl Prefault {
    /// Whether prefaulting is allowed: not when the options or `METEOR_THREADS=1` ask
    /// for a single thread, nor on a single core.
    pub fn enabled(options: &Options) -> bool {
        if options.back_end_thread == Some(false) {
            return false;
        }
        if let Some(n) = std::env::var("METEOR_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            return n >= 2;
        }
        std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    }

    /// Starts faulting in `regions` ((address, length) pairs of reserved, not yet written
    /// memory, in the order the main thread will write them) when `enabled` and they are
    /// large enough.
    pub fn start(enabled: bool, regions: Vec<(usize, usize)>) -> Prefault {
        let stop = Arc::new(AtomicBool::new(false));
        let total: usize = regions.iter().map(|r| r.1).sum();
        if !enabled || !cfg!(target_os = "linux") || total < MIN_BYTES {
            return Prefault { stop, done: None };
        }
        let Some(tx) = helper() else {
            return Prefault { stop, done: None };
        };
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let job = Job {
            regions,
            stop: stop.clone(),
            done: done_tx,
        };
        // A send fails only if the helper is gone: then there is nothing to wait for.
        let done = tx.send(job).ok().map(|_| done_rx);
        Prefault { stop, done }
    }

    /// Stops the job (after the helper's current chunk) and waits until the helper has
    /// left it.
    pub fn finish(mut self) {
        self.stop_and_wait();
    }

    fn stop_and_wait(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(done) = self.done.take() {
            // `Err`: the helper dropped the job (it cannot panic on its own); either way
            // it no longer works on these regions.
            let _ = done.recv();
        }
    }
}

impl Drop for Prefault {
    fn drop(&mut self) {
        self.stop_and_wait();
    }
}

/// Faults the regions in round by round, each round advancing every region by the same
/// fraction of its length: the main thread fills the arrays side by side (a parser
/// writes expressions and statements in turn), so they are populated side by side too.
fn populate(regions: &[(usize, usize)], stop: &AtomicBool) {
    let total: usize = regions.iter().map(|r| r.1).sum();
    let rounds = total.div_ceil(CHUNK).max(1);
    for round in 0..rounds {
        for &(addr, len) in regions {
            // Whole pages inside the region only: the partial pages at its ends may belong
            // to other allocations (populating them would be harmless, but is not needed).
            let first = addr.next_multiple_of(PAGE);
            let last = (addr + len) & !(PAGE - 1);
            let at = |r: usize| ((addr + len / rounds * r) & !(PAGE - 1)).clamp(first, last);
            let (from, to) = (
                at(round),
                if round + 1 == rounds {
                    last
                } else {
                    at(round + 1)
                },
            );
            if from >= to {
                continue;
            }
            if stop.load(Ordering::Relaxed) || !populate_write(from, to - from) {
                return;
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn populate_write(addr: usize, len: usize) -> bool {
    const MADV_POPULATE_WRITE: core::ffi::c_int = 23;
    unsafe extern "C" {
        fn madvise(
            addr: *mut core::ffi::c_void,
            len: usize,
            advice: core::ffi::c_int,
        ) -> core::ffi::c_int;
    }
    // SAFETY: `madvise` with MADV_POPULATE_WRITE only populates page tables for the
    // range: it never changes memory contents (see the module comment), and on a range
    // that is no longer mapped it fails with an error instead of touching anything. No
    // Rust reference to the memory is created here.
    unsafe { madvise(addr as *mut core::ffi::c_void, len, MADV_POPULATE_WRITE) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn populate_write(_addr: usize, _len: usize) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populates_reserved_capacity_without_changing_contents() {
        let mut v: Vec<u64> = Vec::with_capacity(1 << 20);
        v.extend([1, 2, 3]);
        let region = spare_region(&mut v, usize::MAX);
        assert_eq!(region.1, ((1 << 20) - 3) * 8);
        let p = Prefault::start(true, vec![region]);
        // The main thread keeps writing while the helper runs.
        for i in 0..(1u64 << 19) {
            v.push(i);
        }
        p.finish();
        assert_eq!(&v[..3], &[1, 2, 3]);
        assert!(v[3..].iter().enumerate().all(|(i, &x)| x == i as u64));
    }

    #[test]
    fn small_or_disabled_regions_start_no_thread() {
        let mut v: Vec<u8> = Vec::with_capacity(4096);
        let p = Prefault::start(true, vec![spare_region(&mut v, usize::MAX)]);
        assert!(p.done.is_none());
        let mut w: Vec<u8> = Vec::with_capacity(8 << 20);
        let p2 = Prefault::start(false, vec![spare_region(&mut w, usize::MAX)]);
        assert!(p2.done.is_none());
        drop((p, p2));
    }
}
