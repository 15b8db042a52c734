//! A fast, non-cryptographic hasher for the compiler's hash maps (the multiply-rotate
//! scheme of Firefox and rustc, "FxHash"). The compiler's keys are small ids, interned
//! types and identifiers; SipHash's DoS resistance buys nothing here and costs a large
//! share of compile time.
//!
//! Use [`HashMap`]/[`HashSet`] (aliases with this hasher) and create them with
//! `HashMap::default()` (`new()` exists only for std's `RandomState`).

use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap` with [`FxHasher`].
pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// `HashSet` with [`FxHasher`].
pub type HashSet<T> = std::collections::HashSet<T, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The hasher: for every word, `hash = (hash.rotate_left(5) ^ word) * SEED`.
#[derive(Clone, Copy, Default, Debug)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown takes its control bits from the top 7 bits: fold the well-mixed
        // high half down too, so small ids spread over the low bits used for buckets.
        self.hash ^ (self.hash >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn h<T: Hash>(v: T) -> u64 {
        BuildHasherDefault::<FxHasher>::default().hash_one(v)
    }

    #[test]
    fn distinguishes_close_keys() {
        assert_ne!(h(1u32), h(2u32));
        assert_ne!(h("a"), h("a\0"));
        assert_ne!(h("ab"), h("ba"));
        assert_ne!(h((1u32, 2u32)), h((2u32, 1u32)));
        assert_eq!(h("same"), h("same"));
    }

    #[test]
    fn map_works_with_many_small_ids() {
        let mut m: HashMap<u32, u32> = HashMap::default();
        for i in 0..10_000 {
            m.insert(i, i * 2);
        }
        for i in 0..10_000 {
            assert_eq!(m[&i], i * 2);
        }
        assert_eq!(m.len(), 10_000);
    }
}
