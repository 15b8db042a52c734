//! Writer for static ELF64 executables (linux-x64).
//!
//! File and memory image, lld style (no file padding between segments: each segment's
//! addresses are congruent to its file offsets modulo the page size):
//!
//! ```text
//!   PT_LOAD R    ELF header, program headers, .rodata, .got     (starts at 0x400000)
//!   PT_LOAD R+X  .text
//!   PT_LOAD R+W  .data, .bss
//!   PT_GNU_STACK R+W (non-executable stack)
//!   then, not loaded: .symtab, .strtab, .shstrtab, section headers
//! ```
//!
//! The executable is not position-independent, so `.got` slots hold final addresses and
//! live in the read-only segment.

use std::collections::HashMap;

use crate::LinkOptions;
use crate::bytes::{Buf, StrTab};
use crate::error::LinkError;
use crate::input;
use crate::layout::{Layout, OutId, align_up};
use crate::object_module::{Binding, ObjectModule, RelocKind, SectionKind, SymbolDef, SymbolKind};
use crate::relocate;
use crate::resolve::{self, Def, UndefinedPolicy};

pub(crate) const BASE: u64 = 0x40_0000;
const PAGE: u64 = 0x1000;
const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const SHDR_SIZE: u64 = 64;
const SYM_SIZE: u64 = 24;

const PT_LOAD: u32 = 1;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const SHN_ABS: u16 = 0xfff1;

struct Segment {
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

pub(crate) fn write(modules: &[ObjectModule], options: &LinkOptions) -> Result<Vec<u8>, LinkError> {
    input::validate_all(modules)?;
    let res = resolve::resolve(modules, UndefinedPolicy::Error)?;

    // With `UndefinedPolicy::Error` the only externals are library imports.
    let errors: Vec<LinkError> = res
        .externals
        .iter()
        .map(|ext| LinkError::DynamicImport {
            name: ext.name.clone(),
            library: ext.library.clone().unwrap_or_default(),
            module: ext.module.clone(),
        })
        .collect();
    if let Some(e) = LinkError::from_list(errors) {
        return Err(e);
    }
    let entry = resolve::entry(&res, modules, options.entry_symbol())?;

    // GOT slots, one per distinct target of a GotPcRel32.
    let mut got: Vec<Def> = Vec::new();
    let mut got_index: HashMap<Def, usize> = HashMap::new();
    for (mi, module) in modules.iter().enumerate() {
        for section in &module.sections {
            for reloc in section
                .relocations
                .iter()
                .filter(|r| r.kind == RelocKind::GotPcRel32)
            {
                let def = res.def(mi, reloc.symbol);
                got_index.entry(def).or_insert_with(|| {
                    got.push(def);
                    got.len() - 1
                });
            }
        }
    }

    let mut layout = Layout::new();
    let rodata = layout.add_output(".rodata", SectionKind::ReadOnlyData);
    let got_out = layout.add_output(".got", SectionKind::ReadOnlyData);
    let text = layout.add_output(".text", SectionKind::Text);
    let data = layout.add_output(".data", SectionKind::Data);
    let bss = layout.add_output(".bss", SectionKind::Bss);
    layout.place_inputs(modules, |kind| match kind {
        SectionKind::Text => text,
        SectionKind::ReadOnlyData => rodata,
        SectionKind::Data => data,
        SectionKind::Bss => bss,
    });
    if !got.is_empty() {
        layout.reserve(got_out, 8 * got.len() as u64, 8);
    }

    let has_text = layout.sections[text].size > 0;
    let has_rw = layout.sections[data].size + layout.sections[bss].size > 0;
    let phnum = 2 + has_text as u64 + has_rw as u64;

    // Addresses and file offsets.
    let mut offsets: Vec<u64> = vec![0; layout.sections.len()];
    let mut segments = Vec::new();
    let mut off = EHDR_SIZE + PHDR_SIZE * phnum;
    let place =
        |layout: &mut Layout, offsets: &mut Vec<u64>, id: OutId, off: &mut u64, vaddr: &mut u64| {
            let align = layout.sections[id].align;
            let pad = align_up(*vaddr, align) - *vaddr;
            *vaddr += pad;
            *off += pad;
            layout.sections[id].addr = *vaddr;
            offsets[id] = *off;
            *vaddr += layout.sections[id].size;
            *off += layout.sections[id].file_size;
        };
    // R: headers, .rodata, .got.
    let mut vaddr = BASE + off;
    for id in [rodata, got_out] {
        place(&mut layout, &mut offsets, id, &mut off, &mut vaddr);
    }
    segments.push(Segment {
        flags: PF_R,
        offset: 0,
        vaddr: BASE,
        filesz: off,
        memsz: vaddr - BASE,
        align: PAGE,
    });
    let mut prev_end = vaddr;
    // R+X: .text.
    if has_text {
        let seg_align = layout.sections[text].align.max(PAGE);
        off = align_up(off, layout.sections[text].align);
        let start_off = off;
        vaddr = align_up(prev_end, seg_align) + off % seg_align;
        let start = vaddr;
        place(&mut layout, &mut offsets, text, &mut off, &mut vaddr);
        segments.push(Segment {
            flags: PF_R | PF_X,
            offset: start_off,
            vaddr: start,
            filesz: off - start_off,
            memsz: vaddr - start,
            align: seg_align,
        });
        prev_end = vaddr;
    }
    // R+W: .data, .bss.
    if has_rw {
        let seg_align = layout.sections[data]
            .align
            .max(layout.sections[bss].align)
            .max(PAGE);
        off = align_up(off, layout.sections[data].align);
        let start_off = off;
        vaddr = align_up(prev_end, seg_align) + off % seg_align;
        let start = vaddr;
        place(&mut layout, &mut offsets, data, &mut off, &mut vaddr);
        let filesz = off - start_off;
        place(&mut layout, &mut offsets, bss, &mut off, &mut vaddr);
        offsets[bss] = start_off + filesz;
        off = start_off + filesz;
        segments.push(Segment {
            flags: PF_R | PF_W,
            offset: start_off,
            vaddr: start,
            filesz,
            memsz: vaddr - start,
            align: seg_align,
        });
    } else {
        layout.sections[data].addr = align_up(prev_end, PAGE);
        layout.sections[bss].addr = layout.sections[data].addr;
        offsets[data] = off;
        offsets[bss] = off;
    }

    // Contents and relocations.
    let mut bufs = layout.fill(modules);
    let got_addr = layout.sections[got_out].addr;
    relocate::apply(modules, &res, &layout, &mut bufs, |site| {
        if site.kind == RelocKind::GotPcRel32 {
            return Ok(got_addr + 8 * got_index[&site.def] as u64);
        }
        Ok(layout.def_address(&site.def).unwrap_or(0))
    })?;
    for (i, def) in got.iter().enumerate() {
        let value = layout.def_address(def).unwrap_or(0);
        bufs[got_out][i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
    }
    let entry_addr = layout.def_address(&entry).unwrap_or(0);

    // Section header indices of the output sections.
    let order = [rodata, got_out, text, data, bss];
    let mut shndx: HashMap<OutId, u16> = HashMap::new();
    let mut idx = 1u16;
    for &id in &order {
        if id == got_out && got.is_empty() {
            continue;
        }
        shndx.insert(id, idx);
        idx += 1;
    }
    let symtab_idx = idx;
    let strtab_idx = idx + 1;
    let shstrtab_idx = idx + 2;
    let shnum = idx + 3;

    // Symbol table: locals first, then the winning global/weak definitions.
    let mut strtab = StrTab::new();
    let mut symtab = Buf::new();
    symtab.pad_to(SYM_SIZE);
    let emit =
        |symtab: &mut Buf, strtab: &mut StrTab, mi: usize, sym: &crate::object_module::Symbol| {
            let (value, section_index, size) = match sym.def {
                SymbolDef::Defined {
                    section,
                    offset,
                    size,
                } => {
                    let (out, _) = layout.placement(mi, section);
                    (
                        layout.input_address(mi, section) + offset,
                        shndx.get(&out).copied().unwrap_or(SHN_ABS),
                        size,
                    )
                }
                SymbolDef::Absolute(v) => (v, SHN_ABS, 0),
                _ => return,
            };
            let bind: u8 = match sym.binding {
                Binding::Local => 0,
                Binding::Global => 1,
                Binding::Weak => 2,
            };
            let ty: u8 = match sym.kind {
                SymbolKind::Function => 2,
                SymbolKind::Data => 1,
                SymbolKind::Other => 0,
            };
            let name = strtab.add(&sym.name);
            symtab
                .u32(name)
                .u8((bind << 4) | ty)
                .u8(0)
                .u16(section_index)
                .u64(value)
                .u64(size);
        };
    for (mi, module) in modules.iter().enumerate() {
        let is_section_symbol = |s: &crate::object_module::Symbol| {
            s.kind == SymbolKind::Other
                && matches!(s.def, SymbolDef::Defined { section, offset: 0, .. }
                    if module.section(section).name == s.name)
        };
        for sym in module
            .symbols
            .iter()
            .filter(|s| s.binding == Binding::Local && !s.name.is_empty() && !is_section_symbol(s))
        {
            emit(&mut symtab, &mut strtab, mi, sym);
        }
    }
    let first_global = (symtab.len() / SYM_SIZE) as u32;
    for (mi, module) in modules.iter().enumerate() {
        for (si, sym) in module.symbols.iter().enumerate() {
            if sym.binding != Binding::Local
                && res.globals.get(&sym.name) == Some(&(mi, crate::SymbolId(si as u32)))
            {
                emit(&mut symtab, &mut strtab, mi, sym);
            }
        }
    }

    // Assemble the file.
    let mut file = Buf::new();
    file.pad_to(off);
    for &id in &[rodata, got_out, text, data] {
        file.put_at(offsets[id], &bufs[id]);
    }
    file.pad_to(off);
    file.align(8);
    let symtab_off = file.len();
    file.bytes(&symtab.data);
    let strtab_off = file.len();
    file.bytes(&strtab.data);
    let mut shstrtab = StrTab::new();
    let names: Vec<u32> = order
        .iter()
        .map(|&id| shstrtab.add(&layout.sections[id].name))
        .collect();
    let symtab_name = shstrtab.add(".symtab");
    let strtab_name = shstrtab.add(".strtab");
    let shstrtab_name = shstrtab.add(".shstrtab");
    let shstrtab_off = file.len();
    file.bytes(&shstrtab.data);
    file.align(8);
    let shoff = file.len();

    // Section headers.
    file.pad_to(shoff + SHDR_SIZE);
    for (i, &id) in order.iter().enumerate() {
        if !shndx.contains_key(&id) {
            continue;
        }
        let s = &layout.sections[id];
        let (ty, flags) = match s.kind {
            SectionKind::Text => (SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR),
            SectionKind::ReadOnlyData => (SHT_PROGBITS, SHF_ALLOC),
            SectionKind::Data => (SHT_PROGBITS, SHF_ALLOC | SHF_WRITE),
            SectionKind::Bss => (SHT_NOBITS, SHF_ALLOC | SHF_WRITE),
        };
        shdr(
            &mut file,
            names[i],
            ty,
            flags,
            s.addr,
            offsets[id],
            s.size,
            0,
            0,
            s.align,
            0,
        );
    }
    shdr(
        &mut file,
        symtab_name,
        SHT_SYMTAB,
        0,
        0,
        symtab_off,
        symtab.len(),
        strtab_idx as u32,
        first_global,
        8,
        SYM_SIZE,
    );
    shdr(
        &mut file,
        strtab_name,
        SHT_STRTAB,
        0,
        0,
        strtab_off,
        strtab.data.len() as u64,
        0,
        0,
        1,
        0,
    );
    shdr(
        &mut file,
        shstrtab_name,
        SHT_STRTAB,
        0,
        0,
        shstrtab_off,
        shstrtab.data.len() as u64,
        0,
        0,
        1,
        0,
    );
    let _ = symtab_idx;

    // ELF header and program headers.
    let mut head = Buf::new();
    head.bytes(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]).pad_to(16);
    head.u16(2)
        .u16(62)
        .u32(1)
        .u64(entry_addr)
        .u64(EHDR_SIZE)
        .u64(shoff)
        .u32(0);
    head.u16(EHDR_SIZE as u16)
        .u16(PHDR_SIZE as u16)
        .u16(phnum as u16);
    head.u16(SHDR_SIZE as u16).u16(shnum).u16(shstrtab_idx);
    for seg in &segments {
        head.u32(PT_LOAD)
            .u32(seg.flags)
            .u64(seg.offset)
            .u64(seg.vaddr)
            .u64(seg.vaddr);
        head.u64(seg.filesz).u64(seg.memsz).u64(seg.align);
    }
    head.u32(PT_GNU_STACK)
        .u32(PF_R | PF_W)
        .u64(0)
        .u64(0)
        .u64(0)
        .u64(0)
        .u64(0)
        .u64(16);
    debug_assert_eq!(head.len(), EHDR_SIZE + PHDR_SIZE * phnum);
    file.put_at(0, &head.data);
    Ok(file.data)
}

#[allow(clippy::too_many_arguments)]
fn shdr(
    file: &mut Buf,
    name: u32,
    ty: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
) {
    file.u32(name)
        .u32(ty)
        .u64(flags)
        .u64(addr)
        .u64(offset)
        .u64(size);
    file.u32(link).u32(info).u64(align).u64(entsize);
}
