//! Input adapter: writes an `ObjectModule` (Meteor's compiler output) as an ELF64
//! relocatable object, so compiler output goes through the same reader and linker as
//! gcc's objects. Also reports the shared libraries its `Import` symbols name.

use super::elf_types::*;
use crate::object_module::{Binding, ObjectModule, RelocKind, SectionKind, SymbolDef, SymbolKind};

/// The ELF `.o` bytes for `m`, and the libraries its imports name (in first-use order).
pub fn emit(m: &ObjectModule) -> (Vec<u8>, Vec<String>) {
    let mut shstr = vec![0u8];
    let mut name = |s: &str| -> u32 {
        let o = shstr.len() as u32;
        shstr.extend_from_slice(s.as_bytes());
        shstr.push(0);
        o
    };
    // Symbols: null, locals, globals.
    let mut strtab = vec![0u8];
    let mut order: Vec<usize> = (0..m.symbols.len())
        .filter(|&i| m.symbols[i].binding == Binding::Local)
        .collect();
    let first_global = order.len() + 1;
    order.extend((0..m.symbols.len()).filter(|&i| m.symbols[i].binding != Binding::Local));
    let mut index = vec![0u32; m.symbols.len()];
    let mut symtab = vec![0u8; 24];
    let mut libs: Vec<String> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let s = &m.symbols[i];
        index[i] = k as u32 + 1;
        let no = strtab.len() as u32;
        strtab.extend_from_slice(s.name.as_bytes());
        strtab.push(0);
        let bind = match s.binding {
            Binding::Local => STB_LOCAL,
            Binding::Global => STB_GLOBAL,
            Binding::Weak => STB_WEAK,
        };
        let typ = match s.kind {
            SymbolKind::Function => STT_FUNC,
            SymbolKind::Data => STT_OBJECT,
            SymbolKind::Other => STT_NOTYPE,
        };
        let (shndx, value, size) = match &s.def {
            SymbolDef::Defined {
                section,
                offset,
                size,
            } => (section.0 as u16 + 1, *offset, *size),
            SymbolDef::Absolute(v) => (SHN_ABS as u16, *v, 0),
            SymbolDef::Undefined => (0, 0, 0),
            SymbolDef::Import { library } => {
                if !libs.contains(library) {
                    libs.push(library.clone());
                }
                (0, 0, 0)
            }
        };
        symtab.extend_from_slice(&no.to_le_bytes());
        symtab.push(bind << 4 | typ);
        symtab.push(0);
        symtab.extend_from_slice(&shndx.to_le_bytes());
        symtab.extend_from_slice(&value.to_le_bytes());
        symtab.extend_from_slice(&size.to_le_bytes());
    }
    // Section layout: [null][m.sections...][.rela.*...][.symtab][.strtab][.shstrtab]
    let nsec = m.sections.len();
    let rela_secs: Vec<usize> = (0..nsec)
        .filter(|&i| !m.sections[i].relocations.is_empty())
        .collect();
    let symtab_idx = 1 + nsec + rela_secs.len();
    struct Sh {
        name: u32,
        t: u32,
        flags: u64,
        data: Vec<u8>,
        size: u64,
        link: u32,
        info: u32,
        align: u64,
        entsize: u64,
    }
    let mut shs = Vec::new();
    for s in &m.sections {
        let (t, flags) = match s.kind {
            SectionKind::Text => (SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR),
            SectionKind::ReadOnlyData => (SHT_PROGBITS, SHF_ALLOC),
            SectionKind::Data => (SHT_PROGBITS, SHF_ALLOC | SHF_WRITE),
            SectionKind::Bss => (SHT_NOBITS, SHF_ALLOC | SHF_WRITE),
        };
        shs.push(Sh {
            name: name(&s.name),
            t,
            flags,
            data: if t == SHT_NOBITS {
                Vec::new()
            } else {
                s.data.clone()
            },
            size: s.size,
            link: 0,
            info: 0,
            align: s.align.max(1),
            entsize: 0,
        });
    }
    for &i in &rela_secs {
        let s = &m.sections[i];
        let mut d = Vec::with_capacity(24 * s.relocations.len());
        for r in &s.relocations {
            let t = match r.kind {
                RelocKind::Abs64 => R_X86_64_64,
                RelocKind::Abs32 => R_X86_64_32,
                RelocKind::Abs32S => R_X86_64_32S,
                RelocKind::PcRel32 => R_X86_64_PC32,
                RelocKind::Branch32 => R_X86_64_PLT32,
                RelocKind::GotPcRel32 => R_X86_64_GOTPCREL,
            };
            let sym = index.get(r.symbol.0 as usize).copied().unwrap_or(0);
            d.extend_from_slice(&r.offset.to_le_bytes());
            d.extend_from_slice(&((sym as u64) << 32 | t as u64).to_le_bytes());
            d.extend_from_slice(&r.addend.to_le_bytes());
        }
        let n = name(&format!(".rela{}", s.name));
        shs.push(Sh {
            name: n,
            t: SHT_RELA,
            flags: SHF_INFO_LINK,
            size: d.len() as u64,
            data: d,
            link: symtab_idx as u32,
            info: i as u32 + 1,
            align: 8,
            entsize: 24,
        });
    }
    let n = name(".symtab");
    shs.push(Sh {
        name: n,
        t: SHT_SYMTAB,
        flags: 0,
        size: symtab.len() as u64,
        data: symtab,
        link: symtab_idx as u32 + 1,
        info: first_global as u32,
        align: 8,
        entsize: 24,
    });
    let n = name(".strtab");
    shs.push(Sh {
        name: n,
        t: SHT_STRTAB,
        flags: 0,
        size: strtab.len() as u64,
        data: strtab,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    let n = name(".shstrtab");
    let shstr_copy = {
        let mut v = shstr.clone();
        v.shrink_to_fit();
        v
    };
    shs.push(Sh {
        name: n,
        t: SHT_STRTAB,
        flags: 0,
        size: shstr_copy.len() as u64,
        data: shstr_copy,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });

    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for s in &shs {
        while !out.len().is_multiple_of(s.align.clamp(1, 4096) as usize) {
            out.push(0);
        }
        offsets.push(out.len() as u64);
        out.extend_from_slice(&s.data);
    }
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len() as u64;
    out.extend_from_slice(&[0u8; 64]);
    for (k, s) in shs.iter().enumerate() {
        let mut h = Vec::with_capacity(64);
        h.extend_from_slice(&s.name.to_le_bytes());
        h.extend_from_slice(&s.t.to_le_bytes());
        h.extend_from_slice(&s.flags.to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes());
        h.extend_from_slice(&offsets[k].to_le_bytes());
        h.extend_from_slice(&s.size.to_le_bytes());
        h.extend_from_slice(&s.link.to_le_bytes());
        h.extend_from_slice(&s.info.to_le_bytes());
        h.extend_from_slice(&s.align.to_le_bytes());
        h.extend_from_slice(&s.entsize.to_le_bytes());
        out.extend_from_slice(&h);
    }
    let shnum = shs.len() as u16 + 1;
    out[0..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    out[16..18].copy_from_slice(&ET_REL.to_le_bytes());
    out[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[40..48].copy_from_slice(&shoff.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[58..60].copy_from_slice(&64u16.to_le_bytes());
    out[60..62].copy_from_slice(&shnum.to_le_bytes());
    out[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
    (out, libs)
}
