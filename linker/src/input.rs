//! Loading inputs: checking `ObjectModule`s handed in by the compiler, and reading object
//! files from disk into `ObjectModule`s.

use crate::error::LinkError;
use crate::object_module::{ObjectModule, SectionKind, SymbolDef};

/// Checks the invariants documented on `ObjectModule`, so later stages can index freely.
/// A module that breaks them is an error naming the module, never a panic.
pub fn validate(module: &ObjectModule) -> Result<(), LinkError> {
    let bad = |msg: String| Err(LinkError::invalid(&module.name, msg));
    for section in &module.sections {
        if !section.align.is_power_of_two() {
            return bad(format!(
                "section `{}` has alignment {}, not a power of two",
                section.name, section.align
            ));
        }
        if section.kind == SectionKind::Bss {
            if !section.data.is_empty() {
                return bad(format!("bss section `{}` has file contents", section.name));
            }
            if !section.relocations.is_empty() {
                return bad(format!("bss section `{}` has relocations", section.name));
            }
        } else if section.size != section.data.len() as u64 {
            return bad(format!(
                "section `{}` has size {} but {} bytes of data",
                section.name,
                section.size,
                section.data.len()
            ));
        }
        for reloc in &section.relocations {
            if reloc.symbol.0 as usize >= module.symbols.len() {
                return bad(format!(
                    "relocation at `{}`+{:#x} refers to symbol #{}, but the module has {} symbols",
                    section.name,
                    reloc.offset,
                    reloc.symbol.0,
                    module.symbols.len()
                ));
            }
            let end = reloc.offset.checked_add(reloc.kind.width() as u64);
            if end.is_none_or(|end| end > section.size) {
                return bad(format!(
                    "relocation {:?} at `{}`+{:#x} lies outside the section ({} bytes)",
                    reloc.kind, section.name, reloc.offset, section.size
                ));
            }
        }
    }
    for sym in &module.symbols {
        if let SymbolDef::Defined {
            section, offset, ..
        } = sym.def
        {
            let Some(s) = module.sections.get(section.0 as usize) else {
                return bad(format!(
                    "symbol `{}` is defined in section #{}, which does not exist",
                    sym.name, section.0
                ));
            };
            if offset > s.size {
                return bad(format!(
                    "symbol `{}` is defined at offset {:#x} past the end of `{}` ({} bytes)",
                    sym.name, offset, s.name, s.size
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn validate_all(modules: &[ObjectModule]) -> Result<(), LinkError> {
    let errors: Vec<LinkError> = modules.iter().filter_map(|m| validate(m).err()).collect();
    match LinkError::from_list(errors) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
