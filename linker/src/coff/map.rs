//! `-Map FILE` for the PE linker: every output section, the input sections placed in it
//! (file and section name, address, size, alignment) and the global symbols they define,
//! in address order — the same columns as the ELF linker's map (lld's format).

use std::fmt::Write as _;

use super::layout::Layout;
use super::resolve::{Ctx, GDef};
use crate::error::LinkError;

/// The map text for a finished layout.
pub fn map_text(ctx: &Ctx, lay: &Layout) -> String {
    // Globals by (file, 0-based section): (value, name).
    let mut defs: Vec<Vec<Vec<(u32, &str)>>> = ctx
        .files
        .iter()
        .map(|f| vec![Vec::new(); f.sections.len()])
        .collect();
    for g in &ctx.globals {
        if let GDef::Defined { file, sym } = g.def
            && let Some(s) = ctx
                .files
                .get(file as usize)
                .and_then(|f| f.symbols.get(sym as usize))
            && s.section > 0
            && let Some(list) = defs
                .get_mut(file as usize)
                .and_then(|d| d.get_mut(s.section as usize - 1))
        {
            list.push((s.value, g.name.as_str()));
        }
    }
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{:>18} {:>18} {:>10} {:>5} Out     In      Symbol",
        "VMA", "LMA", "Size", "Align"
    );
    for out in &lay.outs {
        if out.chunks.is_empty() {
            continue;
        }
        let va = lay.image_base + out.rva;
        let _ = writeln!(
            m,
            "{va:>18x} {va:>18x} {:>10x} {:>5} {}",
            out.size,
            super::layout::SECTION_ALIGN,
            out.name
        );
        for c in &out.chunks {
            let file = &ctx.files[c.file as usize];
            let sec = &file.sections[c.sec as usize];
            let at = va + c.offset;
            let _ = writeln!(
                m,
                "{at:>18x} {at:>18x} {:>10x} {:>5}         {}:({})",
                sec.size, sec.align, file.name, sec.name
            );
            let mut syms = std::mem::take(&mut defs[c.file as usize][c.sec as usize]);
            syms.sort_unstable();
            for (value, name) in syms {
                let a = at + value as u64;
                let _ = writeln!(
                    m,
                    "{a:>18x} {a:>18x} {:>10x} {:>5}                 {name}",
                    0, 0
                );
            }
        }
    }
    m
}

/// Writes the map file.
pub fn write_map(ctx: &Ctx, lay: &Layout, path: &std::path::Path) -> Result<(), LinkError> {
    std::fs::write(path, map_text(ctx, lay)).map_err(|e| LinkError::Os {
        operation: format!("writing map file {}", path.display()),
        message: e.to_string(),
    })
}
