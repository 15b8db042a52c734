//! Statistics: process-wide counters updated only on slow paths (OS calls, segment and
//! page transitions, thread start/exit), so the fast paths touch no shared cache line.
//! `METEOR_ALLOC_STATS=1` prints them at exit; `mt_stats_print` prints them any time.

use core::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// A current/peak pair.
pub(crate) struct Counter {
    current: AtomicI64,
    peak: AtomicI64,
    total: AtomicI64,
}

impl Counter {
    const fn new() -> Self {
        Counter {
            current: AtomicI64::new(0),
            peak: AtomicI64::new(0),
            total: AtomicI64::new(0),
        }
    }

    pub(crate) fn increase(&self, n: usize) {
        let n = n as i64;
        self.total.fetch_add(n, Ordering::Relaxed);
        let cur = self.current.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(cur, Ordering::Relaxed);
    }

    pub(crate) fn decrease(&self, n: usize) {
        self.current.fetch_sub(n as i64, Ordering::Relaxed);
    }

    pub(crate) fn current(&self) -> i64 {
        self.current.load(Ordering::Relaxed)
    }

    pub(crate) fn peak(&self) -> i64 {
        self.peak.load(Ordering::Relaxed)
    }

    pub(crate) fn total(&self) -> i64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// Bytes obtained from the OS and not released.
pub(crate) static RESERVED: Counter = Counter::new();
/// Bytes mapped and not purged (on Linux: an upper bound of the resident memory).
pub(crate) static COMMITTED: Counter = Counter::new();
pub(crate) static SEGMENTS: Counter = Counter::new();
pub(crate) static PAGES: Counter = Counter::new();
pub(crate) static HUGE: Counter = Counter::new();
pub(crate) static THREADS: Counter = Counter::new();
pub(crate) static ABANDONED: Counter = Counter::new();
pub(crate) static PURGED: Counter = Counter::new();
pub(crate) static RECLAIMED: AtomicUsize = AtomicUsize::new(0);
pub(crate) static OS_CALLS: AtomicUsize = AtomicUsize::new(0);
/// Purged memory claimed again soon after (each one raised the purge delay).
pub(crate) static REFAULTS: AtomicUsize = AtomicUsize::new(0);

#[inline]
pub(crate) fn os_call() {
    OS_CALLS.fetch_add(1, Ordering::Relaxed);
}

/// A snapshot of the counters (C ABI: `mt_stats_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub reserved_current: i64,
    pub reserved_peak: i64,
    pub committed_current: i64,
    pub committed_peak: i64,
    pub segments_current: i64,
    pub segments_peak: i64,
    pub pages_current: i64,
    pub pages_peak: i64,
    pub huge_current: i64,
    pub huge_total: i64,
    pub threads_current: i64,
    pub threads_total: i64,
    pub abandoned_current: i64,
    pub reclaimed_total: i64,
    pub purged_bytes_total: i64,
    pub os_calls_total: i64,
}

pub(crate) fn snapshot() -> Stats {
    Stats {
        reserved_current: RESERVED.current(),
        reserved_peak: RESERVED.peak(),
        committed_current: COMMITTED.current(),
        committed_peak: COMMITTED.peak(),
        segments_current: SEGMENTS.current(),
        segments_peak: SEGMENTS.peak(),
        pages_current: PAGES.current(),
        pages_peak: PAGES.peak(),
        huge_current: HUGE.current(),
        huge_total: HUGE.total(),
        threads_current: THREADS.current(),
        threads_total: THREADS.total(),
        abandoned_current: ABANDONED.current(),
        reclaimed_total: RECLAIMED.load(Ordering::Relaxed) as i64,
        purged_bytes_total: PURGED.total(),
        os_calls_total: OS_CALLS.load(Ordering::Relaxed) as i64,
    }
}

/// A fixed-size text buffer (no allocation inside the allocator).
pub(crate) struct Out {
    buf: [u8; 2048],
    len: usize,
}

impl Out {
    pub(crate) const fn new() -> Self {
        Out {
            buf: [0; 2048],
            len: 0,
        }
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        for &b in s.as_bytes() {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
        self
    }

    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        let mut tmp = [0u8; 24];
        let mut i = tmp.len();
        let neg = v < 0;
        let mut n = v.unsigned_abs();
        loop {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if neg {
            i -= 1;
            tmp[i] = b'-';
        }
        // SAFETY: tmp[i..] holds ASCII digits and an optional sign.
        let s = unsafe { core::str::from_utf8_unchecked(&tmp[i..]) };
        self.str(s)
    }

    /// A byte count in a human unit (KiB/MiB/GiB with one decimal).
    pub(crate) fn bytes(&mut self, v: i64) -> &mut Self {
        const UNITS: [(&str, i64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        for (name, unit) in UNITS {
            if v.abs() >= unit {
                let tenths = v * 10 / unit;
                self.int(tenths / 10)
                    .str(".")
                    .int((tenths % 10).abs())
                    .str(" ")
                    .str(name);
                return self;
            }
        }
        self.int(v).str(" B")
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Formats the statistics report.
pub(crate) fn format(out: &mut Out) {
    let s = snapshot();
    out.str("meteor-alloc statistics\n");
    out.str("  reserved:  current ")
        .bytes(s.reserved_current)
        .str(", peak ")
        .bytes(s.reserved_peak)
        .str("\n");
    out.str("  committed: current ")
        .bytes(s.committed_current)
        .str(", peak ")
        .bytes(s.committed_peak)
        .str("\n");
    out.str("  segments:  current ")
        .int(s.segments_current)
        .str(", peak ")
        .int(s.segments_peak)
        .str("\n");
    out.str("  pages:     current ")
        .int(s.pages_current)
        .str(", peak ")
        .int(s.pages_peak)
        .str("\n");
    out.str("  huge:      current ")
        .int(s.huge_current)
        .str(", total ")
        .int(s.huge_total)
        .str("\n");
    out.str("  threads:   current ")
        .int(s.threads_current)
        .str(", total ")
        .int(s.threads_total)
        .str("\n");
    out.str("  abandoned: current ")
        .int(s.abandoned_current)
        .str(", reclaimed ")
        .int(s.reclaimed_total)
        .str("\n");
    out.str("  purged:    ")
        .bytes(s.purged_bytes_total)
        .str(", refaulted soon after ")
        .int(REFAULTS.load(Ordering::Relaxed) as i64)
        .str(" times\n");
    out.str("  os calls:  ").int(s.os_calls_total).str("\n");
    out.str("  peak memory: ")
        .bytes(s.committed_peak)
        .str(" (allocator)");
    if let Some(rss) = crate::os::peak_rss() {
        out.str(", ")
            .bytes(rss as i64)
            .str(" (process peak resident set)");
    }
    out.str("\n");
}

/// Prints the statistics report on standard error.
pub(crate) fn print() {
    let mut out = Out::new();
    format(&mut out);
    crate::os::write_stderr(out.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_and_bytes() {
        let mut o = Out::new();
        o.int(0)
            .str(" ")
            .int(-42)
            .str(" ")
            .bytes(1536)
            .str(" ")
            .bytes(3 << 20)
            .str(" ")
            .bytes(12);
        assert_eq!(
            core::str::from_utf8(o.as_bytes()).unwrap(),
            "0 -42 1.5 KiB 3.0 MiB 12 B"
        );
    }

    #[test]
    fn counter_tracks_peak() {
        let c = Counter::new();
        c.increase(10);
        c.increase(5);
        c.decrease(12);
        c.increase(1);
        assert_eq!(c.current(), 4);
        assert_eq!(c.peak(), 15);
        assert_eq!(c.total(), 16);
    }

    #[test]
    fn report_mentions_peak_memory() {
        let mut o = Out::new();
        format(&mut o);
        let text = core::str::from_utf8(o.as_bytes()).unwrap();
        assert!(text.contains("peak memory"));
        assert!(text.contains("committed"));
    }
}
