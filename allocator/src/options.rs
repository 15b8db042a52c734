//! Options, read once from environment variables at process initialisation.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `METEOR_ALLOC_STATS` | 0 | print statistics (counters and peak memory) at exit |
//! | `METEOR_ALLOC_PURGE_DELAY` | 10 | ms before unused pages are returned to the OS; 0 = at once, -1 = never |
//! | `METEOR_ALLOC_EAGER_PURGE` | 0 | return unused pages at once (same as `PURGE_DELAY=0`) |
//! | `METEOR_ALLOC_SEGMENT_CACHE` | 4 | empty segments each thread keeps for reuse |
//! | `METEOR_ALLOC_VERBOSE` | 0 | report OS failures on stderr |
//! | `METEOR_ALLOC_RECLAIM_ON_FREE` | 1 | a thread freeing a block of an exited thread adopts that thread's segment |
//! | `METEOR_ALLOC_LARGE_OS_PAGES` | 0 | ask the OS for large (2 MiB) pages behind segments and huge blocks reserved from then on (Linux `MADV_HUGEPAGE`; ignored elsewhere): far fewer page faults for allocation-heavy short-lived programs, at the price of resident memory |

use core::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
pub enum Opt {
    Stats = 0,
    PurgeDelay = 1,
    EagerPurge = 2,
    SegmentCache = 3,
    Verbose = 4,
    ReclaimOnFree = 5,
    LargeOsPages = 6,
}

const COUNT: usize = 7;

const NAMES: [&[u8]; COUNT] = [
    b"METEOR_ALLOC_STATS",
    b"METEOR_ALLOC_PURGE_DELAY",
    b"METEOR_ALLOC_EAGER_PURGE",
    b"METEOR_ALLOC_SEGMENT_CACHE",
    b"METEOR_ALLOC_VERBOSE",
    b"METEOR_ALLOC_RECLAIM_ON_FREE",
    b"METEOR_ALLOC_LARGE_OS_PAGES",
];

const DEFAULTS: [i64; COUNT] = [0, 10, 0, 4, 0, 1, 0];

#[allow(clippy::declare_interior_mutable_const)]
const INIT: AtomicI64 = AtomicI64::new(i64::MIN);
static VALUES: [AtomicI64; COUNT] = [INIT; COUNT];

/// Reads every option from the environment (values set through `set` win).
pub(crate) fn init() {
    for (i, name) in NAMES.iter().enumerate() {
        if VALUES[i].load(Ordering::Relaxed) != i64::MIN {
            continue;
        }
        let mut buf = [0u8; 32];
        let v = crate::os::getenv(name, &mut buf)
            .and_then(|n| crate::os::parse_env_value(&buf[..n]))
            .unwrap_or(DEFAULTS[i]);
        let _ = VALUES[i].compare_exchange(i64::MIN, v, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// The current value of an option.
#[inline]
pub fn get(opt: Opt) -> i64 {
    let v = VALUES[opt as usize].load(Ordering::Relaxed);
    if v == i64::MIN {
        DEFAULTS[opt as usize]
    } else {
        v
    }
}

/// Overrides an option (takes effect for later decisions).
pub fn set(opt: Opt, value: i64) {
    VALUES[opt as usize].store(value, Ordering::Relaxed);
}

/// Option by number (C ABI); `None` for an unknown number.
pub(crate) fn from_index(i: i32) -> Option<Opt> {
    Some(match i {
        0 => Opt::Stats,
        1 => Opt::PurgeDelay,
        2 => Opt::EagerPurge,
        3 => Opt::SegmentCache,
        4 => Opt::Verbose,
        5 => Opt::ReclaimOnFree,
        6 => Opt::LargeOsPages,
        _ => return None,
    })
}

/// Purge delay in ms: `Some(0)` = purge at once, `None` = never purge.
pub(crate) fn purge_delay() -> Option<u64> {
    if get(Opt::EagerPurge) != 0 {
        return Some(0);
    }
    let d = get(Opt::PurgeDelay);
    if d < 0 { None } else { Some(d as u64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_have_defaults_and_can_be_set() {
        assert_eq!(get(Opt::SegmentCache), 4);
        set(Opt::Verbose, 1);
        assert_eq!(get(Opt::Verbose), 1);
        set(Opt::Verbose, 0);
        assert_eq!(from_index(1), Some(Opt::PurgeDelay));
        assert_eq!(from_index(99), None);
    }
}
