//! Mergeable sections (`SHF_MERGE`) for `meteor-ld`: identical entries of live input
//! sections that go to the same output section (same flags, entry size and alignment) are
//! stored once, as GNU ld and lld do. Strings (`SHF_STRINGS`) are split at their
//! terminating NUL (entry-sized characters); other mergeable sections into `sh_entsize`
//! constants. The first section of a group (in layout order) receives the merged bytes;
//! every section of the group keeps a map from its own offsets to offsets in those bytes,
//! so symbols and section-symbol + addend references land on the merged copy
//! ([`map_addr`]; the addend of a section-symbol reference selects the piece, as in lld).
//!
//! Sections that cannot be split (an unterminated string, a size that is not a multiple of
//! the entry size, relocations inside) are left as they are: correct, only not merged.

use std::borrow::Cow;

use super::elf_types::*;
use super::object::InSec;
use super::resolve::{Ctx, FxMap};

/// Where a mergeable input section's bytes went.
#[derive(Debug)]
pub struct MergeMap {
    /// The section (object, index) holding the merged bytes of the group.
    pub leader: (u32, u32),
    /// (input offset, offset in the leader's merged bytes) of each piece, sorted.
    pub pieces: Vec<(u64, u64)>,
}

impl MergeMap {
    /// Offset in the merged bytes of input offset `off` (inside a piece: same distance
    /// from the piece's start; before the first piece or past the end: relative to the
    /// nearest piece, as a symbol at the section's end would be).
    pub fn map(&self, off: u64) -> u64 {
        let k = self.pieces.partition_point(|&(i, _)| i <= off);
        match k.checked_sub(1).and_then(|k| self.pieces.get(k)) {
            Some(&(i, o)) => o.wrapping_add(off - i),
            None => match self.pieces.first() {
                Some(&(i, o)) => o.wrapping_sub(i - off),
                None => off,
            },
        }
    }
}

fn mergeable(s: &InSec) -> bool {
    s.live
        && s.flags & SHF_MERGE != 0
        && s.sh_type == SHT_PROGBITS
        && s.entsize > 0
        && s.entsize <= 1 << 16
        && s.relocs.is_empty()
        && s.size == s.data.len() as u64
        && s.size.is_multiple_of(s.entsize)
}

/// Splits a section into pieces (start, end). `None`: not splittable.
fn split(s: &InSec) -> Option<Vec<(usize, usize)>> {
    let es = s.entsize as usize;
    let data: &[u8] = &s.data;
    let mut out = Vec::new();
    if s.flags & SHF_STRINGS != 0 {
        let mut start = 0;
        let mut at = 0;
        while at < data.len() {
            if data[at..at + es].iter().all(|&b| b == 0) {
                out.push((start, at + es));
                start = at + es;
            }
            at += es;
        }
        if start != data.len() {
            return None;
        }
    } else {
        out.extend((0..data.len()).step_by(es).map(|a| (a, a + es)));
    }
    Some(out)
}

/// (input offset, merged offset) of each piece of one section.
type Pieces = Vec<(u64, u64)>;

/// Key of a merge group: output section name, flags, entry size, alignment.
type GroupKey<'a> = (&'a [u8], u64, u64, u64);

/// Merges every group of live mergeable sections. Runs after `--gc-sections` and before
/// the relocation scan.
pub fn run<'a>(ctx: &mut Ctx<'a>) {
    let strip_debug = ctx.cfg.strip_debug || ctx.cfg.strip_all;
    let mut order: Vec<u32> = (0..ctx.objs.len() as u32).collect();
    order.sort_by_key(|&o| ctx.obj_order[o as usize]);

    // Groups in layout order, members in layout order.
    let mut groups: Vec<Vec<(u32, u32)>> = Vec::new();
    let mut by_key: FxMap<GroupKey, usize> = FxMap::default();
    for &oi in &order {
        for (si, s) in ctx.objs[oi as usize].sections.iter().enumerate() {
            if !mergeable(s) || (strip_debug && s.name.starts_with(b".debug")) {
                continue;
            }
            let key = (
                super::layout::output_name(s.name),
                s.flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_STRINGS | SHF_TLS),
                s.entsize,
                s.align,
            );
            let g = *by_key.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push((oi, si as u32));
        }
    }

    for members in groups {
        let mut merged: Vec<u8> = Vec::new();
        let mut seen: FxMap<&'a [u8], u64> = FxMap::default();
        let mut maps: Vec<((u32, u32), Pieces)> = Vec::new();
        let mut leader = None;
        for &(oi, si) in &members {
            let s = &ctx.objs[oi as usize].sections[si as usize];
            let data: &'a [u8] = match &s.data {
                Cow::Borrowed(d) => d,
                // Inputs are read in place; a rewritten buffer is left unmerged.
                Cow::Owned(_) => continue,
            };
            let Some(pieces) = split(s) else { continue };
            leader.get_or_insert((oi, si));
            let align = s.align.max(1);
            let mut map = Vec::with_capacity(pieces.len());
            for (a, b) in pieces {
                let piece = &data[a..b];
                let at = *seen.entry(piece).or_insert_with(|| {
                    let at = (merged.len() as u64).next_multiple_of(align);
                    merged.resize(at as usize, 0);
                    merged.extend_from_slice(piece);
                    at
                });
                map.push((a as u64, at));
            }
            maps.push(((oi, si), map));
        }
        let Some(leader) = leader else { continue };
        for ((oi, si), pieces) in maps {
            let s = &mut ctx.objs[oi as usize].sections[si as usize];
            if (oi, si) == leader {
                s.size = merged.len() as u64;
            } else {
                s.size = 0;
                s.data = Cow::Borrowed(&[]);
            }
            s.merge = Some(Box::new(MergeMap { leader, pieces }));
        }
        let l = &mut ctx.objs[leader.0 as usize].sections[leader.1 as usize];
        l.data = Cow::Owned(std::mem::take(&mut merged));
    }
}

/// Offset inside the output of offset `off` of section `(obj, sec)`: the section holding
/// the bytes (the group's leader for merged sections) and the offset in it.
pub fn locate(ctx: &Ctx, obj: u32, sec: u32, off: u64) -> (u32, u32, u64) {
    match &ctx.objs[obj as usize].sections[sec as usize].merge {
        Some(m) => (m.leader.0, m.leader.1, m.map(off)),
        None => (obj, sec, off),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(data: &'static [u8], flags: u64, entsize: u64) -> InSec<'static> {
        InSec {
            name: b".rodata.str1.1",
            sh_type: SHT_PROGBITS,
            flags: SHF_ALLOC | SHF_MERGE | flags,
            align: 1,
            size: data.len() as u64,
            entsize,
            data: Cow::Borrowed(data),
            relocs: Vec::new(),
            live: true,
            out: super::super::object::NO_OUT,
            offset: 0,
            merge: None,
        }
    }

    #[test]
    fn strings_split_at_terminators() {
        let s = sec(b"ab\0\0cde\0", SHF_STRINGS, 1);
        assert_eq!(split(&s), Some(vec![(0, 3), (3, 4), (4, 8)]));
        // Two-byte characters: a zero byte inside a character does not end the string.
        let w = sec(b"a\0\0\0b\0c\0\0\0", SHF_STRINGS, 2);
        assert_eq!(split(&w), Some(vec![(0, 4), (4, 10)]));
        // An unterminated string: not splittable, left unmerged.
        assert_eq!(split(&sec(b"ab\0cd", SHF_STRINGS, 1)), None);
        // Constants: fixed-size entries.
        let c = sec(&[1, 2, 3, 4, 5, 6, 7, 8], 0, 4);
        assert_eq!(split(&c), Some(vec![(0, 4), (4, 8)]));
        assert!(!mergeable(&sec(&[1, 2, 3], 0, 2)));
    }

    #[test]
    fn offsets_map_into_pieces() {
        let m = MergeMap {
            leader: (0, 0),
            pieces: vec![(0, 10), (4, 0), (9, 20)],
        };
        assert_eq!(m.map(0), 10);
        assert_eq!(m.map(3), 13);
        assert_eq!(m.map(4), 0);
        assert_eq!(m.map(6), 2);
        assert_eq!(m.map(9), 20);
        // The end of the section (a symbol such as `__stop`-like labels).
        assert_eq!(m.map(12), 23);
        let empty = MergeMap {
            leader: (0, 0),
            pieces: Vec::new(),
        };
        assert_eq!(empty.map(5), 5);
    }
}
