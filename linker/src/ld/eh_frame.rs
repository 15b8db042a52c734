//! `.eh_frame` handling for `meteor-ld`: input sections are split into CIE/FDE records;
//! FDEs whose function was dropped (discarded COMDAT copies, `--gc-sections`) are removed
//! and the remaining FDEs' CIE pointers patched. The writer builds `.eh_frame_hdr` (the
//! sorted binary-search table behind `PT_GNU_EH_FRAME`) from the same records.

use std::borrow::Cow;

use super::elf_types::{Bytes, SHN_LORESERVE, SHN_UNDEF, SHT_X86_64_UNWIND};
use super::object::{InSec, Rela};
use super::reloc::Target;
use super::resolve::{Ctx, Def, FxMap};
use crate::error::LinkError;

pub fn is_eh_frame(s: &InSec) -> bool {
    s.name == b".eh_frame" || s.sh_type == SHT_X86_64_UNWIND
}

/// One record: start offset, total length (with the length field), CIE or FDE.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub start: u64,
    pub len: u64,
    pub is_fde: bool,
    /// For FDEs: offset of the CIE the FDE refers to.
    pub cie: u64,
}

pub fn records(data: &[u8]) -> Result<Vec<Record>, String> {
    let b = Bytes(data);
    let mut out = Vec::new();
    let mut off = 0u64;
    while off < data.len() as u64 {
        let len = b.u32(off).ok_or("truncated .eh_frame record")? as u64;
        if len == 0xffff_ffff {
            return Err("64-bit .eh_frame records are not supported".into());
        }
        if len == 0 {
            // Terminator: keep it as a 4-byte record.
            out.push(Record {
                start: off,
                len: 4,
                is_fde: false,
                cie: 0,
            });
            off += 4;
            continue;
        }
        let total = len + 4;
        if off + total > data.len() as u64 || len < 4 {
            return Err(format!(
                ".eh_frame record at {off:#x} extends past the section"
            ));
        }
        let id = b.u32(off + 4).ok_or("truncated .eh_frame record")? as u64;
        let (is_fde, cie) = if id == 0 {
            (false, 0)
        } else {
            let c = (off + 4)
                .checked_sub(id)
                .ok_or_else(|| format!(".eh_frame FDE at {off:#x} points before the section"))?;
            (true, c)
        };
        out.push(Record {
            start: off,
            len: total,
            is_fde,
            cie,
        });
        off += total;
    }
    Ok(out)
}

/// Whether `off` lies inside a CIE of the section.
pub fn in_cie(s: &InSec, off: u64) -> bool {
    records(&s.data)
        .unwrap_or_default()
        .iter()
        .any(|r| !r.is_fde && off >= r.start && off < r.start + r.len)
}

fn section_of(ctx: &Ctx, t: Target) -> Option<(u32, u32)> {
    let (o, i) = match t {
        Target::Local(o, i) => (o, i),
        Target::Global(g) => match ctx.syms[g as usize].def {
            Def::Obj { obj, sym } => (obj, sym),
            _ => return None,
        },
        Target::None => return None,
    };
    let s = ctx.objs[o as usize].syms[i as usize];
    (s.shndx != SHN_UNDEF && s.shndx < SHN_LORESERVE).then_some((o, s.shndx))
}

fn pc_reloc(relocs: &[Rela], at: u64) -> Option<&Rela> {
    let k = relocs.partition_point(|r| r.offset < at);
    relocs.get(k).filter(|r| r.offset == at)
}

/// (start, end, function section) of each FDE of an `.eh_frame` input section.
/// (start, end, the function's (object, section)) of one FDE.
pub type FdeRange = (u64, u64, Option<(u32, u32)>);

pub fn fde_ranges(ctx: &Ctx, obj: u32, sec: u32) -> Vec<FdeRange> {
    let s = &ctx.objs[obj as usize].sections[sec as usize];
    let Ok(recs) = records(&s.data) else {
        return Vec::new();
    };
    recs.iter()
        .filter(|r| r.is_fde)
        .map(|r| {
            let f = pc_reloc(&s.relocs, r.start + 8)
                .and_then(|rel| section_of(ctx, ctx.target(obj, rel.sym)));
            (r.start, r.start + r.len, f)
        })
        .collect()
}

/// An FDE (at `fde` in section `sec` of `obj`, after rebuilding) whose CIE is the record at
/// `cie_at` of section `cie_sec` of `cie_obj`, an earlier `.eh_frame` input section.
#[derive(Clone, Copy, Debug)]
pub struct CieFixup {
    pub obj: u32,
    pub sec: u32,
    pub fde: u64,
    pub cie_obj: u32,
    pub cie_sec: u32,
    pub cie_at: u64,
}

/// What makes two CIEs the same: their bytes and their relocations (offset in the record,
/// type, resolved target, addend).
type CieKey = (Vec<u8>, Vec<(u64, u32, Target, i64)>);

/// Where a kept record of the section being rebuilt went.
#[derive(Clone, Copy)]
enum CiePlace {
    Here(u64),
    Elsewhere(u32, u32, u64),
}

/// Drops FDEs of dropped functions from every live `.eh_frame` input section, and CIEs
/// identical to a CIE of an earlier section (layout order), as GNU ld and lld do; the FDEs
/// of a dropped CIE refer to the kept one (patched by the writer, [`CieFixup`]).
pub fn split(ctx: &mut Ctx) -> Result<(), LinkError> {
    let mut order: Vec<u32> = (0..ctx.objs.len() as u32).collect();
    order.sort_by_key(|&o| ctx.obj_order[o as usize]);
    let mut cies: FxMap<CieKey, (u32, u32, u64)> = FxMap::default();
    let mut fixups = Vec::new();
    for oi in order.into_iter().map(|o| o as usize) {
        for si in 0..ctx.objs[oi].sections.len() {
            let s = &ctx.objs[oi].sections[si];
            if !s.live || !is_eh_frame(s) {
                continue;
            }
            if !s.relocs.is_sorted_by_key(|r| r.offset) {
                ctx.objs[oi].sections[si].relocs.sort_by_key(|r| r.offset);
            }
            let s = &ctx.objs[oi].sections[si];
            let recs = records(&s.data).map_err(|e| LinkError::input(&ctx.objs[oi].name, e))?;
            let rec_relocs = |r: &Record| {
                let (start, end) = (r.start, r.start + r.len);
                let lo = s.relocs.partition_point(|x| x.offset < start);
                s.relocs[lo..].iter().take_while(move |x| x.offset < end)
            };
            let mut keep = vec![true; recs.len()];
            // For CIEs identical to one already kept: (object, section, offset) of that one.
            let mut dup: Vec<Option<(u32, u32, u64)>> = vec![None; recs.len()];
            let mut cie_keys: Vec<Option<CieKey>> = vec![None; recs.len()];
            let mut changed = false;
            for (k, r) in recs.iter().enumerate() {
                if !r.is_fde {
                    if r.len <= 4 {
                        continue; // the terminator
                    }
                    let bytes = s.data[r.start as usize..(r.start + r.len) as usize].to_vec();
                    let rels = rec_relocs(r)
                        .map(|x| {
                            (
                                x.offset - r.start,
                                x.rtype,
                                ctx.target(oi as u32, x.sym),
                                x.addend,
                            )
                        })
                        .collect();
                    let key = (bytes, rels);
                    if let Some(&at) = cies.get(&key) {
                        dup[k] = Some(at);
                        keep[k] = false;
                        changed = true;
                    } else {
                        cie_keys[k] = Some(key);
                    }
                    continue;
                }
                let dead = match pc_reloc(&s.relocs, r.start + 8) {
                    Some(rel) => match section_of(ctx, ctx.target(oi as u32, rel.sym)) {
                        Some((fo, fs)) => !ctx.objs[fo as usize].sections[fs as usize].live,
                        None => false,
                    },
                    None => false,
                };
                if dead {
                    keep[k] = false;
                    changed = true;
                }
            }
            if !changed {
                for (k, key) in cie_keys.into_iter().enumerate() {
                    if let Some(key) = key {
                        cies.insert(key, (oi as u32, si as u32, recs[k].start));
                    }
                }
                continue;
            }
            // Rebuild the section from the kept records.
            let mut data = Vec::with_capacity(s.data.len());
            let mut relocs = Vec::with_capacity(s.relocs.len());
            let mut places: Vec<(u64, CiePlace)> = Vec::new();
            for (k, r) in recs.iter().enumerate() {
                if let Some((co, cs, ca)) = dup[k] {
                    places.push((r.start, CiePlace::Elsewhere(co, cs, ca)));
                }
                if !keep[k] {
                    continue;
                }
                let np = data.len() as u64;
                if !r.is_fde {
                    places.push((r.start, CiePlace::Here(np)));
                    if let Some(key) = cie_keys[k].take() {
                        cies.insert(key, (oi as u32, si as u32, np));
                    }
                }
                data.extend_from_slice(&s.data[r.start as usize..(r.start + r.len) as usize]);
                if r.is_fde {
                    let place = places
                        .iter()
                        .find(|&&(o, _)| o == r.cie)
                        .map(|&(_, p)| p)
                        .ok_or_else(|| {
                            LinkError::input(
                                &ctx.objs[oi].name,
                                format!(".eh_frame FDE at {:#x} refers to a missing CIE", r.start),
                            )
                        })?;
                    // Another section's CIE: a pointer to this section's start for now
                    // (still a well-formed record), patched by the writer.
                    let cie_here = match place {
                        CiePlace::Here(c) => c,
                        CiePlace::Elsewhere(co, cs, ca) => {
                            fixups.push(CieFixup {
                                obj: oi as u32,
                                sec: si as u32,
                                fde: np,
                                cie_obj: co,
                                cie_sec: cs,
                                cie_at: ca,
                            });
                            0
                        }
                    };
                    let ptr = (np + 4 - cie_here) as u32;
                    data[np as usize + 4..np as usize + 8].copy_from_slice(&ptr.to_le_bytes());
                }
                for rel in rec_relocs(r) {
                    let mut n = *rel;
                    n.offset = rel.offset - r.start + np;
                    relocs.push(n);
                }
            }
            let s = &mut ctx.objs[oi].sections[si];
            s.size = data.len() as u64;
            s.data = Cow::Owned(data);
            s.relocs = relocs;
        }
    }
    ctx.eh_cie_fixups = fixups;
    Ok(())
}

/// Patches the CIE pointers of [`CieFixup`]s in the output file `buf` once every input
/// section has its place.
pub fn apply_cie_fixups(
    ctx: &Ctx,
    lay: &super::layout::Lay,
    buf: &mut [u8],
) -> Result<(), LinkError> {
    for f in &ctx.eh_cie_fixups {
        let fs = &ctx.objs[f.obj as usize].sections[f.sec as usize];
        let cs = &ctx.objs[f.cie_obj as usize].sections[f.cie_sec as usize];
        let field = fs.offset + f.fde + 4;
        let cie = cs.offset + f.cie_at;
        if fs.out != cs.out || fs.out == super::object::NO_OUT || cie >= field {
            return Err(LinkError::input(
                &ctx.objs[f.obj as usize].name,
                "internal error: a shared .eh_frame CIE does not precede its FDE",
            ));
        }
        let at = (lay.secs[fs.out as usize].offset + field) as usize;
        let ptr = u32::try_from(field - cie).map_err(|_| {
            LinkError::input(
                &ctx.objs[f.obj as usize].name,
                ".eh_frame is larger than 4 GiB",
            )
        })?;
        buf.get_mut(at..at + 4)
            .ok_or_else(|| {
                LinkError::input(
                    &ctx.objs[f.obj as usize].name,
                    "internal error: CIE fixup outside the file",
                )
            })?
            .copy_from_slice(&ptr.to_le_bytes());
    }
    Ok(())
}

/// Number of FDEs in the live `.eh_frame` inputs.
pub fn count_fdes(ctx: &Ctx) -> usize {
    ctx.objs
        .iter()
        .flat_map(|o| o.sections.iter())
        .filter(|s| s.live && is_eh_frame(s))
        .map(|s| records(&s.data).map_or(0, |r| r.iter().filter(|r| r.is_fde).count()))
        .sum()
}

/// Offset of a symbol inside a (possibly rebuilt) section. Symbols in `.eh_frame` sit at
/// record starts in practice (`__EH_FRAME_BEGIN__`, `__FRAME_END__`), which survive.
pub fn map_offset(_s: &InSec, value: u64) -> u64 {
    value
}
