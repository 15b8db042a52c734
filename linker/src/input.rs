//! Loading inputs: checking `ObjectModule`s handed in by the compiler, and reading object
//! files from disk into `ObjectModule`s.

use crate::error::LinkError;
use crate::object_module::{ObjectModule, SectionKind, SymbolDef};

/// Largest section alignment accepted (256 MiB); keeps address arithmetic far from overflow.
pub const MAX_ALIGN: u64 = 1 << 28;
/// Largest section accepted (1 TiB).
pub const MAX_SECTION_SIZE: u64 = 1 << 40;

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
        if section.align > MAX_ALIGN {
            return bad(format!(
                "section `{}` has alignment {:#x}, more than the supported {MAX_ALIGN:#x}",
                section.name, section.align
            ));
        }
        if section.size > MAX_SECTION_SIZE {
            return bad(format!(
                "section `{}` is {} bytes, more than the supported {MAX_SECTION_SIZE}",
                section.name, section.size
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

/// The kinds of input file `meteor-ld` recognises by their first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Elf,
    Archive,
    Coff,
    PeImage,
    Unknown,
}

pub fn identify(bytes: &[u8]) -> FileKind {
    if bytes.starts_with(b"\x7fELF") {
        FileKind::Elf
    } else if bytes.starts_with(b"!<arch>\n") || bytes.starts_with(b"!<thin>\n") {
        FileKind::Archive
    } else if bytes.starts_with(b"MZ") {
        FileKind::PeImage
    } else if bytes.len() >= 20
        && (bytes.starts_with(&[0x64, 0x86]) || bytes.starts_with(&[0x4c, 0x01]))
    {
        FileKind::Coff
    } else {
        FileKind::Unknown
    }
}

/// Reads an input file into an `ObjectModule`; `name` is used in messages.
/// ELF x86-64 relocatable objects are supported; other formats are a clear error.
pub fn read_file(name: &str, bytes: &[u8]) -> Result<ObjectModule, LinkError> {
    match identify(bytes) {
        FileKind::Elf => read_elf_object(name, bytes),
        FileKind::Archive => Err(LinkError::input(
            name,
            "archives (.a/.lib) are not supported yet",
        )),
        FileKind::Coff => Err(LinkError::input(
            name,
            "COFF objects (.obj) are not supported yet",
        )),
        FileKind::PeImage => Err(LinkError::input(
            name,
            "PE images and DLLs cannot be linked as inputs yet",
        )),
        FileKind::Unknown => Err(LinkError::input(
            name,
            "unknown file format (expected an ELF relocatable object)",
        )),
    }
}

/// Reads an ELF64 x86-64 relocatable object (`.o`) into an `ObjectModule`.
///
/// Allocated sections become sections (kind from their flags: executable → text, writable
/// → data or bss, otherwise read-only data); non-allocated ones (debug info, notes,
/// `.comment`, groups) are dropped. Section symbols keep their section's name. Common
/// symbols get space in a `COMMON` bss section and weak binding, so a real definition
/// elsewhere wins. Thread-local storage, constructors and relocation types other than
/// 64/PC32/PLT32/32/32S/GOTPCREL(X) are errors.
pub fn read_elf_object(name: &str, bytes: &[u8]) -> Result<ObjectModule, LinkError> {
    use object::elf;
    use object::read::elf::{ElfFile64, FileHeader, SectionHeader, Sym};
    use object::{
        Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionIndex,
        SymbolIndex, SymbolSection,
    };
    use std::collections::HashMap;

    use crate::object_module::{
        Binding, RelocKind, Relocation, SectionId, Symbol, SymbolId, SymbolKind,
    };

    let err = |msg: String| LinkError::input(name, msg);
    if bytes.len() > 4 && bytes[4] == elf::ELFCLASS32 {
        return Err(err(
            "32-bit ELF objects are not supported (expected ELF64 x86-64)".into(),
        ));
    }
    let file = ElfFile64::<object::Endianness>::parse(bytes)
        .map_err(|e| err(format!("malformed ELF file: {e}")))?;
    let endian = file.endian();
    let header = file.elf_header();
    match header.e_type(endian) {
        elf::ET_REL => {}
        elf::ET_DYN => return Err(err("shared objects are not supported as inputs yet".into())),
        elf::ET_EXEC => return Err(err("is an executable, not a relocatable object".into())),
        other => return Err(err(format!("unsupported ELF file type {other}"))),
    }
    if header.e_machine(endian) != elf::EM_X86_64 {
        return Err(err(format!(
            "ELF machine {} is not x86-64",
            header.e_machine(endian)
        )));
    }

    let mut module = ObjectModule::new(name);
    let mut section_map: HashMap<SectionIndex, SectionId> = HashMap::new();
    let mut dropped: HashMap<SectionIndex, String> = HashMap::new();
    for section in file.sections() {
        let sh = section.elf_section_header();
        let sh_type = sh.sh_type(endian);
        let flags = sh.sh_flags(endian);
        let sname = section
            .name()
            .map_err(|e| err(format!("bad section name: {e}")))?
            .to_string();
        if flags & u64::from(elf::SHF_ALLOC) == 0
            || matches!(sh_type, elf::SHT_NOTE | elf::SHT_GROUP | elf::SHT_NULL)
        {
            dropped.insert(section.index(), sname);
            continue;
        }
        if flags & u64::from(elf::SHF_TLS) != 0 {
            return Err(err(format!(
                "thread-local storage (section `{sname}`) is not supported yet"
            )));
        }
        if matches!(
            sh_type,
            elf::SHT_INIT_ARRAY | elf::SHT_FINI_ARRAY | elf::SHT_PREINIT_ARRAY
        ) && sh.sh_size(endian) > 0
        {
            return Err(err(format!(
                "constructors/destructors (section `{sname}`) are not supported yet"
            )));
        }
        let kind = if sh_type == elf::SHT_NOBITS {
            SectionKind::Bss
        } else if flags & u64::from(elf::SHF_EXECINSTR) != 0 {
            SectionKind::Text
        } else if flags & u64::from(elf::SHF_WRITE) != 0 {
            SectionKind::Data
        } else {
            SectionKind::ReadOnlyData
        };
        let align = sh.sh_addralign(endian).max(1);
        if !align.is_power_of_two() {
            return Err(err(format!(
                "section `{sname}` has alignment {align}, not a power of two"
            )));
        }
        let id = module.add_section(sname.clone(), kind, align);
        let s = &mut module.sections[id.0 as usize];
        if kind == SectionKind::Bss {
            s.size = sh.sh_size(endian);
        } else {
            let data = section
                .data()
                .map_err(|e| err(format!("section `{sname}`: {e}")))?;
            s.data = data.to_vec();
            s.size = data.len() as u64;
        }
        section_map.insert(section.index(), id);
    }

    let mut symbol_map: HashMap<SymbolIndex, SymbolId> = HashMap::new();
    let mut discarded: HashMap<SymbolIndex, (String, String)> = HashMap::new();
    let mut common: Option<SectionId> = None;
    for sym in file.symbols() {
        let raw = sym.elf_symbol();
        let st_type = raw.st_type();
        if st_type == elf::STT_FILE {
            continue;
        }
        let mut sname = sym
            .name()
            .map_err(|e| err(format!("bad symbol name: {e}")))?
            .to_string();
        if st_type == elf::STT_TLS {
            return Err(err(format!(
                "thread-local symbol `{sname}` is not supported yet"
            )));
        }
        if st_type == elf::STT_GNU_IFUNC {
            return Err(err(format!(
                "indirect function `{sname}` (STT_GNU_IFUNC) is not supported yet"
            )));
        }
        let mut binding = if sym.is_weak() {
            Binding::Weak
        } else if sym.is_global() {
            Binding::Global
        } else {
            Binding::Local
        };
        let kind = match st_type {
            elf::STT_FUNC => SymbolKind::Function,
            elf::STT_OBJECT | elf::STT_COMMON => SymbolKind::Data,
            _ => SymbolKind::Other,
        };
        let def = match sym.section() {
            SymbolSection::Undefined => SymbolDef::Undefined,
            SymbolSection::Absolute => SymbolDef::Absolute(sym.address()),
            SymbolSection::Common => {
                let section = *common
                    .get_or_insert_with(|| module.add_section("COMMON", SectionKind::Bss, 1));
                let align = sym.address().max(1);
                if !align.is_power_of_two() || align > MAX_ALIGN || sym.size() > MAX_SECTION_SIZE {
                    return Err(err(format!(
                        "common symbol `{sname}` has an unsupported size {} or alignment {align}",
                        sym.size()
                    )));
                }
                let offset = module.reserve_bss(section, sym.size(), align);
                binding = Binding::Weak;
                SymbolDef::Defined {
                    section,
                    offset,
                    size: sym.size(),
                }
            }
            SymbolSection::Section(index) => match section_map.get(&index) {
                Some(&section) => {
                    if st_type == elf::STT_SECTION {
                        sname = module.sections[section.0 as usize].name.clone();
                    }
                    SymbolDef::Defined {
                        section,
                        offset: sym.address(),
                        size: sym.size(),
                    }
                }
                None => {
                    let sec = dropped
                        .get(&index)
                        .cloned()
                        .unwrap_or_else(|| format!("#{}", index.0));
                    discarded.insert(
                        sym.index(),
                        (if sname.is_empty() { sec.clone() } else { sname }, sec),
                    );
                    continue;
                }
            },
            SymbolSection::None | SymbolSection::Unknown => {
                if sym.section_index().is_some() || raw.st_shndx(endian) != elf::SHN_UNDEF {
                    return Err(err(format!(
                        "symbol `{sname}` has an unsupported section index"
                    )));
                }
                SymbolDef::Undefined
            }
            _ => {
                return Err(err(format!(
                    "symbol `{sname}` has an unsupported section kind"
                )));
            }
        };
        let id = module.add_symbol(Symbol {
            name: sname,
            kind,
            binding,
            def,
        });
        symbol_map.insert(sym.index(), id);
    }

    let mut absolute_zero: Option<SymbolId> = None;
    for section in file.sections() {
        let Some(&sid) = section_map.get(&section.index()) else {
            continue;
        };
        let sname = module.sections[sid.0 as usize].name.clone();
        for (offset, reloc) in section.relocations() {
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                return Err(err(format!("unexpected relocation encoding in `{sname}`")));
            };
            let kind = match r_type {
                elf::R_X86_64_NONE => continue,
                elf::R_X86_64_64 => RelocKind::Abs64,
                elf::R_X86_64_PC32 => RelocKind::PcRel32,
                elf::R_X86_64_PLT32 => RelocKind::Branch32,
                elf::R_X86_64_32 => RelocKind::Abs32,
                elf::R_X86_64_32S => RelocKind::Abs32S,
                elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX => {
                    RelocKind::GotPcRel32
                }
                other => {
                    return Err(err(format!(
                        "unsupported relocation type {} ({other}) in `{sname}` at offset {offset:#x}",
                        x86_64_reloc_name(other)
                    )));
                }
            };
            let symbol = match reloc.target() {
                RelocationTarget::Symbol(index) => match symbol_map.get(&index) {
                    Some(&id) => id,
                    None => {
                        let (sym, sec) = discarded
                            .get(&index)
                            .cloned()
                            .unwrap_or_else(|| (format!("#{}", index.0), "?".into()));
                        return Err(err(format!(
                            "relocation in `{sname}` at offset {offset:#x} refers to `{sym}` in discarded section `{sec}`"
                        )));
                    }
                },
                RelocationTarget::Absolute => *absolute_zero.get_or_insert_with(|| {
                    module.add_symbol(Symbol {
                        name: String::new(),
                        kind: SymbolKind::Other,
                        binding: Binding::Local,
                        def: SymbolDef::Absolute(0),
                    })
                }),
                _ => {
                    return Err(err(format!(
                        "unsupported relocation target in `{sname}` at offset {offset:#x}"
                    )));
                }
            };
            let mut addend = reloc.addend();
            if reloc.has_implicit_addend() {
                let data = &module.sections[sid.0 as usize].data;
                let at = offset as usize;
                let width = kind.width();
                let Some(field) = data.get(at..at + width) else {
                    return Err(err(format!(
                        "relocation in `{sname}` at offset {offset:#x} lies outside the section"
                    )));
                };
                addend += match width {
                    8 => i64::from_le_bytes(field.try_into().unwrap_or([0; 8])),
                    _ => i64::from(i32::from_le_bytes(field.try_into().unwrap_or([0; 4]))),
                };
            }
            module.add_relocation(
                sid,
                Relocation {
                    offset,
                    symbol,
                    kind,
                    addend,
                },
            );
        }
    }
    validate(&module).map_err(|e| match e {
        LinkError::InvalidModule { message, .. } => err(message),
        other => other,
    })?;
    Ok(module)
}

fn x86_64_reloc_name(r_type: u32) -> &'static str {
    const NAMES: [&str; 43] = [
        "R_X86_64_NONE",
        "R_X86_64_64",
        "R_X86_64_PC32",
        "R_X86_64_GOT32",
        "R_X86_64_PLT32",
        "R_X86_64_COPY",
        "R_X86_64_GLOB_DAT",
        "R_X86_64_JUMP_SLOT",
        "R_X86_64_RELATIVE",
        "R_X86_64_GOTPCREL",
        "R_X86_64_32",
        "R_X86_64_32S",
        "R_X86_64_16",
        "R_X86_64_PC16",
        "R_X86_64_8",
        "R_X86_64_PC8",
        "R_X86_64_DTPMOD64",
        "R_X86_64_DTPOFF64",
        "R_X86_64_TPOFF64",
        "R_X86_64_TLSGD",
        "R_X86_64_TLSLD",
        "R_X86_64_DTPOFF32",
        "R_X86_64_GOTTPOFF",
        "R_X86_64_TPOFF32",
        "R_X86_64_PC64",
        "R_X86_64_GOTOFF64",
        "R_X86_64_GOTPC32",
        "R_X86_64_GOT64",
        "R_X86_64_GOTPCREL64",
        "R_X86_64_GOTPC64",
        "R_X86_64_GOTPLT64",
        "R_X86_64_PLTOFF64",
        "R_X86_64_SIZE32",
        "R_X86_64_SIZE64",
        "R_X86_64_GOTPC32_TLSDESC",
        "R_X86_64_TLSDESC_CALL",
        "R_X86_64_TLSDESC",
        "R_X86_64_IRELATIVE",
        "R_X86_64_RELATIVE64",
        "R_X86_64_39",
        "R_X86_64_40",
        "R_X86_64_GOTPCRELX",
        "R_X86_64_REX_GOTPCRELX",
    ];
    match r_type {
        39 | 40 => "unknown",
        _ => NAMES.get(r_type as usize).copied().unwrap_or("unknown"),
    }
}
