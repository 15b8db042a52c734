//! Applying relocations: S + A - P (or S + A for absolute kinds) written into the output
//! bytes, with an overflow check on every field narrower than 64 bits.
//!
//! The writer decides what address stands for S through a callback: the definition's
//! address, an import thunk, a JIT stub, or (for `GotPcRel32`) the slot that holds S.

use crate::error::LinkError;
use crate::layout::Layout;
use crate::object_module::{ObjectModule, RelocKind, Symbol};
use crate::resolve::{Def, Resolution};

/// One relocation being applied, as the writer's callback sees it.
pub(crate) struct Site<'a> {
    pub module: &'a ObjectModule,
    pub symbol: &'a Symbol,
    pub kind: RelocKind,
    pub def: Def,
    pub addend: i64,
    /// Address of the patched field (P).
    pub place: u64,
}

/// Applies every relocation of every module into `bufs` (one buffer per output section, as
/// returned by `Layout::fill`). `target` returns the address used for S (for `GotPcRel32`:
/// the slot address G).
pub(crate) fn apply(
    modules: &[ObjectModule],
    res: &Resolution,
    layout: &Layout,
    bufs: &mut [Vec<u8>],
    mut target: impl FnMut(&Site) -> Result<u64, LinkError>,
) -> Result<(), LinkError> {
    let mut errors = Vec::new();
    for (mi, module) in modules.iter().enumerate() {
        for (si, section) in module.sections.iter().enumerate() {
            if section.relocations.is_empty() {
                continue;
            }
            let sid = crate::object_module::SectionId(si as u32);
            let (out, base_offset) = layout.placement(mi, sid);
            let section_addr = layout.input_address(mi, sid);
            for reloc in &section.relocations {
                let def = res.def(mi, reloc.symbol);
                let site = Site {
                    module,
                    symbol: module.symbol(reloc.symbol),
                    kind: reloc.kind,
                    def,
                    addend: reloc.addend,
                    place: section_addr + reloc.offset,
                };
                let t = match target(&site) {
                    Ok(t) => t,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                let value = compute(reloc.kind, t, reloc.addend, site.place);
                let field = (base_offset + reloc.offset) as usize;
                let buf = &mut bufs[out];
                let overflow = || LinkError::RelocationOverflow {
                    kind: reloc.kind,
                    symbol: site.symbol.name.clone(),
                    module: module.name.clone(),
                    section: section.name.clone(),
                    offset: reloc.offset,
                    value,
                };
                match reloc.kind {
                    RelocKind::Abs64 => {
                        buf[field..field + 8].copy_from_slice(&(value as u64).to_le_bytes());
                    }
                    RelocKind::Abs32 => match u32::try_from(value) {
                        Ok(v) => buf[field..field + 4].copy_from_slice(&v.to_le_bytes()),
                        Err(_) => errors.push(overflow()),
                    },
                    RelocKind::Abs32S
                    | RelocKind::PcRel32
                    | RelocKind::Branch32
                    | RelocKind::GotPcRel32 => match i32::try_from(value) {
                        Ok(v) => buf[field..field + 4].copy_from_slice(&v.to_le_bytes()),
                        Err(_) => errors.push(overflow()),
                    },
                }
            }
        }
    }
    match LinkError::from_list(errors) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The value of a relocation: S + A for absolute kinds, S + A - P for PC-relative ones.
/// 64-bit absolute values wrap like the hardware does; narrower ones are range-checked by
/// the caller.
pub(crate) fn compute(kind: RelocKind, target: u64, addend: i64, place: u64) -> i128 {
    let sa = target as i128 + addend as i128;
    match kind {
        RelocKind::Abs64 => (sa as u64) as i128,
        RelocKind::Abs32 | RelocKind::Abs32S => sa,
        RelocKind::PcRel32 | RelocKind::Branch32 | RelocKind::GotPcRel32 => sa - place as i128,
    }
}

/// Whether a PC-relative reference from `place` to `target + addend` fits a rel32.
pub(crate) fn rel32_fits(target: u64, addend: i64, place: u64) -> bool {
    i32::try_from(compute(RelocKind::PcRel32, target, addend, place)).is_ok()
}
