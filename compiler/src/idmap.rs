//! [`IdMap`]: a map keyed by a dense `u32` id (`ExprId`, `DeclId`, ...), with the subset of
//! `HashMap`'s API the compiler uses. Lookups are two array reads instead of a hash probe,
//! and since passes visit ids roughly in order, they stay in cache.
//!
//! Memory: 4 bytes per id up to the largest key inserted, plus the entries themselves
//! (kept densely, so a map with few entries over many ids stays small; keys and values
//! in separate arrays, so a 4-byte key next to a 16-byte-aligned value such as `i128`
//! takes 4 + 16 bytes, not 32). A slot holds the
//! entry's position + 1 and 0 means absent, so the slot table comes from zeroed memory
//! (fresh pages from the OS): slots of ids that never get an entry cost no page faults.

use std::fmt;

/// An id that indexes a dense table.
pub trait DenseId: Copy + Eq {
    fn index(self) -> usize;
}

/// A map from a dense id to `V`.
#[derive(Clone)]
pub struct IdMap<K, V> {
    /// Per id: the position of its entry in `keys`/`values` + 1, or 0 when absent.
    slots: Vec<u32>,
    /// The key of each entry (`keys[i]` goes with `values[i]`).
    keys: Vec<K>,
    values: Vec<V>,
}

impl<K, V> Default for IdMap<K, V> {
    fn default() -> Self {
        IdMap {
            slots: Vec::new(),
            keys: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<K: DenseId + fmt::Debug, V: fmt::Debug> fmt::Debug for IdMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.keys.iter().zip(&self.values))
            .finish()
    }
}

impl<K: DenseId, V> IdMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map whose slot table already covers ids `0..ids` (zeroed memory, so pages
    /// of ids that never get an entry are never touched), with room for an entry per id:
    /// the entry arrays then never grow by copying, and the part of them that stays
    /// unused is never touched either (it costs address space, not memory).
    pub fn with_id_capacity(ids: usize) -> Self {
        IdMap {
            slots: vec![0; ids],
            keys: Vec::with_capacity(ids),
            values: Vec::with_capacity(ids),
        }
    }

    /// An empty map whose slot table covers ids `0..ids` (zeroed memory, as in
    /// [`IdMap::with_id_capacity`]), with room for `entries` entries: for a map whose keys
    /// are a known subset of the ids (functions among declarations). More entries than
    /// that still fit: the entry arrays then grow as vectors do.
    pub fn with_capacity(ids: usize, entries: usize) -> Self {
        IdMap {
            slots: vec![0; ids],
            keys: Vec::with_capacity(entries),
            values: Vec::with_capacity(entries),
        }
    }

    #[inline]
    fn slot(&self, k: K) -> Option<usize> {
        match self.slots.get(k.index()) {
            Some(&s) if s != 0 => Some(s as usize - 1),
            _ => None,
        }
    }

    #[inline]
    pub fn get(&self, k: &K) -> Option<&V> {
        self.slot(*k).map(|s| &self.values[s])
    }

    #[inline]
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.slot(*k).map(|s| &mut self.values[s])
    }

    #[inline]
    pub fn contains_key(&self, k: &K) -> bool {
        self.slot(*k).is_some()
    }

    /// Inserts `v` under `k`; returns the value it replaces.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        if let Some(s) = self.slot(k) {
            return Some(std::mem::replace(&mut self.values[s], v));
        }
        let i = k.index();
        if i >= self.slots.len() {
            // Grow geometrically so inserting ids in increasing order stays linear.
            // `resize` reallocates in place where the allocator can (measured: cheaper
            // than a fresh zeroed table plus a copy); `with_id_capacity` avoids growth.
            let new_len = (i + 1).max(self.slots.len() * 2).max(64);
            self.slots.resize(new_len, 0);
        }
        self.slots[i] = self.keys.len() as u32 + 1;
        self.keys.push(k);
        self.values.push(v);
        None
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let s = self.slot(*k)?;
        self.slots[k.index()] = 0;
        self.keys.swap_remove(s);
        let v = self.values.swap_remove(s);
        if let Some(&moved) = self.keys.get(s) {
            self.slots[moved.index()] = s as u32 + 1;
        }
        Some(v)
    }

    /// Removes every entry, keeping the allocations (cost: the number of entries).
    pub fn clear(&mut self) {
        for k in &self.keys {
            self.slots[k.index()] = 0;
        }
        self.keys.clear();
        self.values.clear();
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Entries in insertion order (changed by `remove`).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.keys.iter().zip(&self.values)
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.keys.iter()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.values.iter()
    }

    /// The value under `k`, inserting `make()` first when there is none.
    pub fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        let s = match self.slot(k) {
            Some(s) => s,
            None => {
                self.insert(k, make());
                self.keys.len() - 1
            }
        };
        &mut self.values[s]
    }
}

impl<K: DenseId, V> std::ops::Index<&K> for IdMap<K, V> {
    type Output = V;

    /// Panics when `k` is absent, like `HashMap`'s `Index`: only for keys an earlier pass
    /// guarantees.
    fn index(&self, k: &K) -> &V {
        match self.get(k) {
            Some(v) => v,
            None => panic!("IdMap: no entry for id {}", k.index()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Id(u32);
    impl DenseId for Id {
        fn index(self) -> usize {
            self.0 as usize
        }
    }

    #[test]
    fn insert_get_remove() {
        let mut m: IdMap<Id, i32> = IdMap::new();
        assert!(m.get(&Id(5)).is_none());
        assert_eq!(m.insert(Id(5), 50), None);
        assert_eq!(m.insert(Id(1000), 7), None);
        assert_eq!(m.insert(Id(5), 51), Some(50));
        assert_eq!(m.get(&Id(5)), Some(&51));
        assert!(m.contains_key(&Id(1000)));
        assert!(!m.contains_key(&Id(999)));
        assert_eq!(m.len(), 2);
        assert_eq!(m.remove(&Id(5)), Some(51));
        // The moved entry is still found.
        assert_eq!(m.get(&Id(1000)), Some(&7));
        assert_eq!(m.remove(&Id(5)), None);
        assert_eq!(m.len(), 1);
        *m.get_or_insert_with(Id(3), || 1) += 1;
        assert_eq!(m[&Id(3)], 2);
        let mut keys: Vec<u32> = m.keys().map(|k| k.0).collect();
        keys.sort();
        assert_eq!(keys, vec![3, 1000]);
        m.clear();
        assert!(m.is_empty());
        assert!(m.get(&Id(3)).is_none() && m.get(&Id(1000)).is_none());
        m.insert(Id(1000), 1);
        assert_eq!(m.get(&Id(1000)), Some(&1));
    }

    #[test]
    fn presized_table() {
        let mut m: IdMap<Id, u8> = IdMap::with_id_capacity(100);
        assert!(m.is_empty());
        assert!(m.get(&Id(0)).is_none() && m.get(&Id(99)).is_none());
        m.insert(Id(0), 1);
        m.insert(Id(99), 2);
        // Beyond the pre-sized range the table still grows.
        m.insert(Id(300), 3);
        assert_eq!((m[&Id(0)], m[&Id(99)], m[&Id(300)]), (1, 2, 3));
        assert!(m.get(&Id(1)).is_none() && m.get(&Id(299)).is_none());
        assert_eq!(m.remove(&Id(0)), Some(1));
        assert_eq!((m.get(&Id(0)), m[&Id(99)], m[&Id(300)]), (None, 2, 3));
    }

    #[test]
    fn many_ids_in_and_out_of_order() {
        let mut m: IdMap<Id, u32> = IdMap::new();
        for i in (0..5000).rev() {
            m.insert(Id(i * 3), i);
        }
        for i in 0..5000 {
            assert_eq!(m.get(&Id(i * 3)), Some(&i));
            assert_eq!(m.get(&Id(i * 3 + 1)), None);
        }
        for i in (0..5000).step_by(2) {
            assert_eq!(m.remove(&Id(i * 3)), Some(i));
        }
        for i in 0..5000 {
            let want = if i % 2 == 0 { None } else { Some(&i) };
            assert_eq!(m.get(&Id(i * 3)), want);
        }
    }
}
