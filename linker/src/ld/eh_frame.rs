//! `.eh_frame` handling for `meteor-ld`: input sections are split into CIE/FDE records;
//! FDEs whose function was dropped (discarded COMDAT copies, `--gc-sections`) are removed
//! and the remaining FDEs' CIE pointers patched. The writer builds `.eh_frame_hdr` (the
//! sorted binary-search table behind `PT_GNU_EH_FRAME`) from the same records.

use std::borrow::Cow;

use super::elf_types::{Bytes, SHN_LORESERVE, SHN_UNDEF, SHT_X86_64_UNWIND};
use super::object::{InSec, Rela};
use super::reloc::Target;
use super::resolve::{Ctx, Def};
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

/// Drops FDEs of dropped functions from every live `.eh_frame` input section.
pub fn split(ctx: &mut Ctx) -> Result<(), LinkError> {
    for oi in 0..ctx.objs.len() {
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
            let mut keep = vec![true; recs.len()];
            let mut any_dropped = false;
            for (k, r) in recs.iter().enumerate() {
                if !r.is_fde {
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
                    any_dropped = true;
                }
            }
            if !any_dropped {
                continue;
            }
            // Rebuild the section from the kept records.
            let mut data = Vec::with_capacity(s.data.len());
            let mut newpos = vec![u64::MAX; recs.len()];
            let mut relocs = Vec::with_capacity(s.relocs.len());
            let mut old_to_new: Vec<(u64, u64)> = Vec::new();
            for (k, r) in recs.iter().enumerate() {
                if !keep[k] {
                    continue;
                }
                let np = data.len() as u64;
                newpos[k] = np;
                old_to_new.push((r.start, np));
                data.extend_from_slice(&s.data[r.start as usize..(r.start + r.len) as usize]);
                if r.is_fde {
                    let cie_new = old_to_new
                        .iter()
                        .find(|&&(o, _)| o == r.cie)
                        .map(|&(_, n)| n)
                        .ok_or_else(|| {
                            LinkError::input(
                                &ctx.objs[oi].name,
                                format!(".eh_frame FDE at {:#x} refers to a missing CIE", r.start),
                            )
                        })?;
                    let ptr = (np + 4 - cie_new) as u32;
                    data[np as usize + 4..np as usize + 8].copy_from_slice(&ptr.to_le_bytes());
                }
                let lo = s.relocs.partition_point(|x| x.offset < r.start);
                for rel in s.relocs[lo..]
                    .iter()
                    .take_while(|x| x.offset < r.start + r.len)
                {
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
