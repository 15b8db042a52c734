//! The OS layer: every primitive the allocator needs from the system, behind one small
//! interface. `linux.rs` uses raw system calls (no libc needed; libc functions such as
//! `pthread_key_create` are used only when present, through weak references);
//! `windows.rs` uses kernel32 (VirtualAlloc/VirtualFree, TLS slots).
//!
//! Interface (each OS module provides exactly these):
//! - `alloc_aligned(size, align, offset) -> Option<OsMem>`: fresh zeroed read-write memory
//!   whose address `p` satisfies `(p + offset) % align == 0`.
//! - `commit(p, size) -> bool`, `decommit(p, size)`, `release(base, size)`.
//! - `remap_aligned(base, size, new_size, align) -> Option<OsMem>`: moves the pages of the
//!   whole mapping `[base, base + size)` to a fresh mapping of `new_size` bytes aligned to
//!   `align`, without copying (Linux `mremap`); `None` (nothing changed) where unsupported.
//! - `thread_id() -> usize` (non-zero, unique among live threads).
//! - `tls_heap() / set_tls_heap(heap)`: the calling thread's default heap slot.
//! - `process_init()`, `thread_attach(heap)`: register for thread-exit notification.
//! - `now_ms()`, `write_stderr(bytes)`, `getenv(name, buf)`, `set_errno_nomem()`,
//!   `yield_now()`, `abort()`, `peak_rss()`.

#[cfg(not(any(target_os = "linux", windows)))]
compile_error!("meteor-alloc supports linux and windows only");

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

/// A mapping obtained from the OS: `[base, base + size)` holds the returned memory.
#[derive(Clone, Copy)]
pub(crate) struct OsMem {
    pub base: *mut u8,
    pub size: usize,
    /// The aligned address asked for (inside the mapping).
    pub ptr: *mut u8,
}

#[inline(always)]
pub(crate) const fn align_up(x: usize, align: usize) -> usize {
    (x + align - 1) & !(align - 1)
}

/// Spin-wait helper for the rare paths that wait on another thread.
pub(crate) fn spin(iter: &mut u32) {
    *iter += 1;
    if *iter < 64 {
        core::hint::spin_loop();
    } else {
        yield_now();
    }
}

/// Parses the value of an environment option as a signed integer or boolean.
pub(crate) fn parse_env_value(v: &[u8]) -> Option<i64> {
    let lower = |c: u8| c.to_ascii_lowercase();
    let eq = |s: &[u8]| v.len() == s.len() && v.iter().zip(s).all(|(a, b)| lower(*a) == *b);
    if eq(b"true") || eq(b"yes") || eq(b"on") {
        return Some(1);
    }
    if eq(b"false") || eq(b"no") || eq(b"off") {
        return Some(0);
    }
    let (neg, digits) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as i64)?;
    }
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_parse() {
        assert_eq!(parse_env_value(b"1"), Some(1));
        assert_eq!(parse_env_value(b"TRUE"), Some(1));
        assert_eq!(parse_env_value(b"off"), Some(0));
        assert_eq!(parse_env_value(b"-1"), Some(-1));
        assert_eq!(parse_env_value(b"250"), Some(250));
        assert_eq!(parse_env_value(b""), None);
        assert_eq!(parse_env_value(b"12x"), None);
        assert_eq!(parse_env_value(b"99999999999999999999999"), None);
    }

    #[test]
    fn os_memory_is_aligned_zeroed_and_releasable() {
        for &(size, align, offset) in &[
            (4096usize, 4096usize, 0usize),
            (1 << 22, 1 << 22, 0),
            (3 << 20, 1 << 22, 0),
            (1 << 23, 1 << 23, 1 << 22),
        ] {
            let m = alloc_aligned(size, align, offset).expect("os memory");
            assert_eq!((m.ptr as usize + offset) % align, 0);
            // SAFETY: the mapping is `size` bytes of read-write memory at `m.ptr`.
            unsafe {
                assert_eq!(*m.ptr, 0);
                assert_eq!(*m.ptr.add(size - 1), 0);
                m.ptr.write_bytes(0xAB, size);
                decommit(m.ptr, size);
                assert!(commit(m.ptr, size));
                assert_eq!(
                    *m.ptr.add(size / 2),
                    0,
                    "decommitted memory reads back zero"
                );
                release(m.base, m.size);
            }
        }
    }

    #[test]
    fn thread_ids_differ_between_threads() {
        let me = thread_id();
        assert_ne!(me, 0);
        let other = std::thread::spawn(thread_id).join().unwrap();
        assert_ne!(other, 0);
        assert_ne!(me, other);
        assert_eq!(me, thread_id());
    }

    #[test]
    fn clock_moves_forward() {
        let a = now_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(now_ms() >= a + 4);
    }

    #[test]
    fn getenv_reads_the_environment() {
        let mut buf = [0u8; 64];
        // PATH is set in any test environment we run in; HOME may not be.
        let n = getenv(b"PATH", &mut buf);
        assert!(n.is_some());
        assert_eq!(
            getenv(b"METEOR_ALLOC_SURELY_UNSET_VARIABLE", &mut buf),
            None
        );
    }
}
