//! Input reader: ELF64 x86-64 relocatable objects (`.o`, archive members, and Meteor's
//! `ObjectModule`s after `emit_object`). Everything is checked here — section and symbol
//! indices, relocation offsets and symbol numbers — so later stages index freely.

use std::borrow::Cow;

use super::elf_types::*;

/// One RELA entry.
#[derive(Clone, Copy, Debug)]
pub struct Rela {
    pub offset: u64,
    pub sym: u32,
    pub rtype: u32,
    pub addend: i64,
}

/// Marker for "no output section".
pub const NO_OUT: u32 = u32::MAX;

/// An input section.
pub struct InSec<'a> {
    pub name: &'a [u8],
    pub sh_type: u32,
    pub flags: u64,
    pub align: u64,
    pub size: u64,
    pub entsize: u64,
    pub data: Cow<'a, [u8]>,
    pub relocs: Vec<Rela>,
    /// Kept in the output (false: not loadable, discarded COMDAT member, garbage).
    pub live: bool,
    /// Output section index, `NO_OUT` until layout places it.
    pub out: u32,
    /// Offset inside the output section.
    pub offset: u64,
    /// For merged `SHF_MERGE` sections: where each piece went (see [`super::merge`]).
    pub merge: Option<Box<super::merge::MergeMap>>,
}

/// A COMDAT group: the signature and its member sections.
pub struct Group<'a> {
    pub signature: &'a [u8],
    pub members: Vec<u32>,
}

pub struct ObjFile<'a> {
    pub name: String,
    pub sections: Vec<InSec<'a>>,
    pub syms: Vec<RawSym<'a>>,
    pub first_global: usize,
    pub groups: Vec<Group<'a>>,
}

/// Whether an input section is copied to the output at all.
fn wanted(name: &[u8], sh_type: u32, flags: u64) -> bool {
    if flags & SHF_EXCLUDE != 0 {
        return false;
    }
    match sh_type {
        SHT_NULL | SHT_SYMTAB | SHT_STRTAB | SHT_RELA | SHT_REL | SHT_GROUP | SHT_SYMTAB_SHNDX
        | SHT_LLVM_ADDRSIG => return false,
        _ => {}
    }
    if name == b".note.GNU-stack" || name == b".note.gnu.property" {
        return false;
    }
    if flags & SHF_ALLOC != 0 {
        return true;
    }
    // Non-allocated sections: debug information and the compiler comment survive.
    name.starts_with(b".debug") || name == b".comment"
}

pub fn parse<'a>(name: String, data: &'a [u8]) -> Result<ObjFile<'a>, String> {
    let b = Bytes(data);
    let eh = read_ehdr(b)?;
    if eh.e_type != ET_REL {
        return Err(format!(
            "not a relocatable object (ELF type {}); shared objects and executables are inputs of a different kind",
            eh.e_type
        ));
    }
    let shdrs = read_shdrs(b, &eh)?;
    let shstr = shdrs
        .get(eh.shstrndx as usize)
        .ok_or("section name table index out of range")?;
    let shstr = Bytes(section_data(b, shstr)?);

    let mut sections = Vec::with_capacity(shdrs.len());
    let mut symtab_idx = None;
    let mut xindex = None;
    for (i, s) in shdrs.iter().enumerate() {
        let sname = shstr
            .cstr(s.name as u64)
            .ok_or_else(|| format!("section {i}: name offset out of range"))?;
        if s.sh_type == SHT_SYMTAB {
            if symtab_idx.is_some() {
                return Err("more than one symbol table".into());
            }
            symtab_idx = Some(i);
        }
        if s.sh_type == SHT_SYMTAB_SHNDX {
            xindex = Some(section_data(b, s)?);
        }
        let live = wanted(sname, s.sh_type, s.flags);
        let data: &[u8] = if live {
            section_data(b, s).map_err(|e| format!("section {}: {e}", show(sname)))?
        } else {
            &[]
        };
        let align = s.align.max(1);
        if !align.is_power_of_two() || align > 1 << 28 {
            return Err(format!(
                "section {}: bad alignment {}",
                show(sname),
                s.align
            ));
        }
        if s.sh_type == SHT_NOBITS && s.size > 1 << 40 {
            return Err(format!("section {}: implausible size", show(sname)));
        }
        sections.push(InSec {
            name: sname,
            sh_type: s.sh_type,
            flags: s.flags,
            align,
            size: s.size,
            entsize: s.entsize,
            data: Cow::Borrowed(data),
            relocs: Vec::new(),
            live,
            out: NO_OUT,
            offset: 0,
            merge: None,
        });
    }

    let (syms, first_global) = match symtab_idx {
        Some(i) => {
            let st = &shdrs[i];
            let strtab = shdrs
                .get(st.link as usize)
                .ok_or("symbol table's string table index out of range")?;
            let syms = read_syms(section_data(b, st)?, section_data(b, strtab)?, xindex)?;
            let first_global = (st.info as usize).min(syms.len()).max(1.min(syms.len()));
            (syms, first_global)
        }
        None => (Vec::new(), 0),
    };
    for (i, s) in syms.iter().enumerate() {
        if s.shndx != SHN_UNDEF && s.shndx < SHN_LORESERVE && s.shndx as usize >= sections.len() {
            return Err(format!(
                "symbol {} ({i}): section index {} out of range",
                show(s.name),
                s.shndx
            ));
        }
        if s.shndx >= SHN_LORESERVE && s.shndx != SHN_ABS && s.shndx != SHN_COMMON {
            return Err(format!(
                "symbol {}: unsupported special section index {:#x}",
                show(s.name),
                s.shndx
            ));
        }
        if i >= first_global && s.bind == STB_LOCAL {
            return Err(format!(
                "symbol {} ({i}): local symbol after the first global",
                show(s.name)
            ));
        }
    }

    let mut groups = Vec::new();
    for (i, s) in shdrs.iter().enumerate() {
        match s.sh_type {
            SHT_RELA => {
                let target = s.info as usize;
                if target >= sections.len() {
                    return Err(format!(
                        "relocation section {i}: target section out of range"
                    ));
                }
                if !sections[target].live {
                    continue;
                }
                if Some(s.link as usize) != symtab_idx {
                    return Err(format!(
                        "relocation section {i}: does not use the symbol table"
                    ));
                }
                let raw = section_data(b, s)?;
                let tsize = sections[target].size;
                let tname = sections[target].name;
                let mut relocs = Vec::with_capacity(raw.len() / 24);
                for e in raw.chunks_exact(24) {
                    let offset = u64::from_le_bytes(e[0..8].try_into().unwrap_or([0; 8]));
                    let info = u64::from_le_bytes(e[8..16].try_into().unwrap_or([0; 8]));
                    let addend = i64::from_le_bytes(e[16..24].try_into().unwrap_or([0; 8]));
                    let sym = (info >> 32) as u32;
                    let rtype = info as u32;
                    if sym as usize >= syms.len() {
                        return Err(format!(
                            "relocation in {} at {offset:#x}: symbol index {sym} out of range",
                            show(tname)
                        ));
                    }
                    let width = reloc_width(rtype).ok_or_else(|| {
                        format!(
                            "relocation in {} at {offset:#x}: {} is not supported",
                            show(tname),
                            reloc_name(rtype)
                        )
                    })?;
                    if offset.checked_add(width).is_none_or(|end| end > tsize)
                        || sections[target].sh_type == SHT_NOBITS
                    {
                        return Err(format!(
                            "relocation {} in {} at {offset:#x} lies outside the section",
                            reloc_name(rtype),
                            show(tname)
                        ));
                    }
                    relocs.push(Rela {
                        offset,
                        sym,
                        rtype,
                        addend,
                    });
                }
                sections[target].relocs = relocs;
            }
            SHT_REL => {
                return Err(format!(
                    "section {}: REL relocations are not used on x86-64",
                    show(sections[i].name)
                ));
            }
            SHT_GROUP => {
                let raw = section_data(b, s)?;
                let bb = Bytes(raw);
                let flags = bb.u32(0).ok_or("truncated group section")?;
                if flags & GRP_COMDAT == 0 {
                    continue;
                }
                if Some(s.link as usize) != symtab_idx {
                    return Err(format!("group section {i}: does not use the symbol table"));
                }
                let sig = syms
                    .get(s.info as usize)
                    .ok_or_else(|| format!("group section {i}: signature symbol out of range"))?;
                let mut members = Vec::new();
                for k in 1..raw.len() / 4 {
                    let m = bb.u32(k as u64 * 4).unwrap_or(0);
                    if m as usize >= sections.len() {
                        return Err(format!("group section {i}: member {m} out of range"));
                    }
                    members.push(m);
                }
                // A section-symbol signature names the group after the section.
                let signature = if sig.typ == STT_SECTION && sig.name.is_empty() {
                    sections
                        .get(sig.shndx as usize)
                        .map(|s| s.name)
                        .unwrap_or_default()
                } else {
                    sig.name
                };
                groups.push(Group { signature, members });
            }
            _ => {}
        }
    }
    Ok(ObjFile {
        name,
        sections,
        syms,
        first_global,
        groups,
    })
}

/// Width in bytes of the field a relocation patches; `None` for types the linker rejects.
pub fn reloc_width(t: u32) -> Option<u64> {
    Some(match t {
        R_X86_64_NONE => 0,
        R_X86_64_64 | R_X86_64_PC64 | R_X86_64_GOTOFF64 | R_X86_64_GOTPC64 | R_X86_64_DTPOFF64
        | R_X86_64_TPOFF64 | R_X86_64_DTPMOD64 | R_X86_64_SIZE64 | R_X86_64_GOT64
        | R_X86_64_GOTPCREL64 => 8,
        R_X86_64_PC32
        | R_X86_64_PLT32
        | R_X86_64_32
        | R_X86_64_32S
        | R_X86_64_GOTPCREL
        | R_X86_64_GOTPCRELX
        | R_X86_64_REX_GOTPCRELX
        | R_X86_64_GOTPC32
        | R_X86_64_TPOFF32
        | R_X86_64_GOTTPOFF
        | R_X86_64_TLSGD
        | R_X86_64_TLSLD
        | R_X86_64_DTPOFF32
        | R_X86_64_SIZE32
        | R_X86_64_GOT32 => 4,
        R_X86_64_16 | R_X86_64_PC16 => 2,
        R_X86_64_8 | R_X86_64_PC8 => 1,
        _ => return None,
    })
}
