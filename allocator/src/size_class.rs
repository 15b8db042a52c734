//! Size classes ("bins").
//!
//! Every block larger than 8 bytes is a multiple of 16 bytes, so `malloc` returns 16-byte
//! aligned memory for any request above 8 bytes (the x86-64 `max_align_t`, which glibc
//! guarantees and programs rely on: Rust's `System` allocator, for one, uses plain
//! `malloc` for 16-aligned layouts). Up to 128 bytes there is one class per 16 bytes
//! (plus an 8-byte class); above that, every power-of-two range `[2^b, 2^(b+1))` words is
//! split into 8 classes, so a block is at most 12.5 % larger than the request. Bins run
//! from 1 (8 bytes) to `BIN_LARGE_MAX` (2 MiB); larger requests are "huge" and get a
//! dedicated segment.

use crate::types::{LARGE_OBJ_MAX, WORD};

/// Index of the largest bin (its block size is `LARGE_OBJ_MAX`).
pub(crate) const BIN_LARGE_MAX: usize = 121;
/// Queue index for huge pages (not used for allocation, kept for completeness of stats).
pub(crate) const BIN_HUGE: usize = BIN_LARGE_MAX + 1;
/// Queue index of the "full" page queue.
pub(crate) const BIN_FULL: usize = BIN_HUGE + 1;
/// Number of page queues per heap.
pub(crate) const BIN_COUNT: usize = BIN_FULL + 1;

/// Bin of a request of `size` bytes (`size <= LARGE_OBJ_MAX`). Size 0 maps to bin 1.
#[inline(always)]
pub(crate) const fn bin_of(size: usize) -> usize {
    let w = size.div_ceil(WORD);
    if w <= 1 {
        1
    } else if w <= 16 {
        // 16, 32, ..., 128 bytes: bins 2..=9
        w.div_ceil(2) + 1
    } else {
        let w = w - 1;
        let b = (usize::BITS - 1 - w.leading_zeros()) as usize; // b >= 4
        ((b << 3) | ((w >> (b - 3)) & 7)) - 22
    }
}

/// Block size in bytes of bin `bin` (1..=BIN_LARGE_MAX).
pub(crate) const fn bin_block_size(bin: usize) -> usize {
    if bin == 1 {
        WORD
    } else if bin <= 9 {
        (bin - 1) * 16
    } else {
        let x = bin + 22;
        let b = x >> 3;
        let s = x & 7;
        ((8 + s + 1) << (b - 3)) * WORD
    }
}

const fn make_table() -> [usize; BIN_LARGE_MAX + 1] {
    let mut t = [0usize; BIN_LARGE_MAX + 1];
    let mut i = 1;
    while i <= BIN_LARGE_MAX {
        t[i] = bin_block_size(i);
        i += 1;
    }
    t
}

/// Block size per bin, precomputed.
pub(crate) static BIN_SIZES: [usize; BIN_LARGE_MAX + 1] = make_table();

/// Block size used for a request of `size` bytes (`size <= LARGE_OBJ_MAX`).
#[cfg(test)]
pub(crate) fn good_size(size: usize) -> usize {
    BIN_SIZES[bin_of(size)]
}

const _: () = assert!(bin_block_size(BIN_LARGE_MAX) == LARGE_OBJ_MAX);
const _: () = assert!(bin_of(LARGE_OBJ_MAX) == BIN_LARGE_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_size_with_bounded_waste() {
        let mut prev_bin = 1;
        for size in 1..=LARGE_OBJ_MAX {
            let bin = bin_of(size);
            assert!((1..=BIN_LARGE_MAX).contains(&bin), "size {size} bin {bin}");
            assert!(bin >= prev_bin, "bins are monotone");
            prev_bin = bin;
            let bs = BIN_SIZES[bin];
            assert!(bs >= size, "size {size} block {bs}");
            if bin > 1 {
                assert!(BIN_SIZES[bin - 1] < size, "size {size} fits a smaller bin");
            }
            if size > 128 {
                // at most 12.5 % internal waste above the 16-byte-step range
                assert!((bs - size) * 8 <= size, "size {size} block {bs}");
            } else {
                assert!(bs - size < 16);
            }
            if size > WORD {
                assert_eq!(
                    bs % 16,
                    0,
                    "size {size}: blocks above 8 bytes are 16-byte multiples"
                );
            }
        }
    }

    #[test]
    fn block_sizes_are_increasing_and_aligned() {
        for bin in 2..=BIN_LARGE_MAX {
            assert!(BIN_SIZES[bin] > BIN_SIZES[bin - 1]);
            assert_eq!(BIN_SIZES[bin] % 16, 0);
        }
        assert_eq!(BIN_SIZES[1], 8);
        assert_eq!(BIN_SIZES[2], 16);
        assert_eq!(BIN_SIZES[3], 32);
        assert_eq!(BIN_SIZES[9], 128);
        assert_eq!(BIN_SIZES[10], 144);
        assert_eq!(good_size(1000), 1024);
    }

    #[test]
    fn multiples_of_power_of_two_get_exact_multiples() {
        // the aligned-allocation fast path relies on this
        let mut align = 8;
        while align <= 4096 {
            let mut k = 1;
            while k * align <= LARGE_OBJ_MAX {
                assert_eq!(good_size(k * align) % align, 0, "k {k} align {align}");
                k += 1;
            }
            align *= 2;
        }
    }
}
