//! Writer for PE32+ console executables (windows-x64).
//!
//! ```text
//!   headers  DOS header + stub, "PE\0\0", COFF header, PE32+ optional header, section table
//!   .text    (R+X)  input code, then import thunks `jmp [rip+IAT slot]` (8 bytes each)
//!   .rdata   (R)    input read-only data, GOT slots, then the import area:
//!                   IAT | import directory | ILT | hint/name table | DLL names
//!   .data    (R+W)  input data, then bss (virtual size > raw size)
//!   .reloc   (R, discardable) IMAGE_REL_BASED_DIR64 for every absolute address
//! ```
//!
//! Imports are exactly the `SymbolDef::Import` symbols some relocation refers to, grouped by
//! DLL (`.dll` appended when the library name has no extension, compared
//! case-insensitively). A `GotPcRel32` to an import uses its IAT slot; any other reference
//! to an imported function uses its thunk, which is the function's address inside the
//! image (as with MSVC). Every absolute 64-bit address gets a base relocation, so the image
//! can be loaded anywhere (ASLR).

use std::collections::{HashMap, HashSet};

use crate::LinkOptions;
use crate::bytes::Buf;
use crate::error::LinkError;
use crate::input;
use crate::layout::{Layout, OutId, align_up};
use crate::object_module::{ObjectModule, RelocKind, SectionKind, SymbolKind};
use crate::relocate;
use crate::resolve::{self, Def, ExtId, UndefinedPolicy};

pub(crate) const IMAGE_BASE: u64 = 0x1_4000_0000;
const SECTION_ALIGN: u64 = 0x1000;
const FILE_ALIGN: u64 = 0x200;
const THUNK_SIZE: u64 = 8;

const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
const IMAGE_FILE_EXECUTABLE_IMAGE: u16 = 0x0002;
const IMAGE_FILE_LARGE_ADDRESS_AWARE: u16 = 0x0020;
const IMAGE_SUBSYSTEM_WINDOWS_CUI: u16 = 3;
const DLL_HIGH_ENTROPY_VA: u16 = 0x0020;
const DLL_DYNAMIC_BASE: u16 = 0x0040;
const DLL_NX_COMPAT: u16 = 0x0100;
const DLL_TERMINAL_SERVER_AWARE: u16 = 0x8000;
const SCN_CNT_CODE: u32 = 0x0000_0020;
const SCN_CNT_INITIALIZED_DATA: u32 = 0x0000_0040;
const SCN_MEM_DISCARDABLE: u32 = 0x0200_0000;
const SCN_MEM_EXECUTE: u32 = 0x2000_0000;
const SCN_MEM_READ: u32 = 0x4000_0000;
const SCN_MEM_WRITE: u32 = 0x8000_0000;
const IMAGE_REL_BASED_DIR64: u16 = 10;

/// The DOS header's program: prints "This program cannot be run in DOS mode." and exits.
const DOS_STUB: &[u8] = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$";
const PE_OFFSET: u64 = 0x80;

/// One DLL and the imports taken from it.
struct Dll {
    name: String,
    imports: Vec<ExtId>,
}

/// Offsets (inside `.rdata`) of the pieces of the import area.
struct ImportArea {
    base: u64,
    iat: u64,
    iat_size: u64,
    directory: u64,
    ilt: u64,
    hints: u64,
    names: u64,
    size: u64,
}

fn dll_file_name(library: &str) -> String {
    let file = library.rsplit(['/', '\\']).next().unwrap_or(library);
    if file.contains('.') {
        library.to_string()
    } else {
        format!("{library}.dll")
    }
}

fn hint_name_size(name: &str) -> u64 {
    align_up(2 + name.len() as u64 + 1, 2)
}

pub(crate) fn write(modules: &[ObjectModule], options: &LinkOptions) -> Result<Vec<u8>, LinkError> {
    input::validate_all(modules)?;
    let res = resolve::resolve(modules, UndefinedPolicy::Error)?;
    let entry = resolve::entry(&res, modules, options.entry_symbol())?;

    // What the relocations need: IAT slots, thunks, GOT slots.
    let mut used: Vec<ExtId> = Vec::new();
    let mut used_set: HashSet<ExtId> = HashSet::new();
    let mut thunks: Vec<ExtId> = Vec::new();
    let mut thunk_index: HashMap<ExtId, usize> = HashMap::new();
    let mut got: Vec<Def> = Vec::new();
    let mut got_index: HashMap<Def, usize> = HashMap::new();
    let mut has_abs64 = false;
    let mut errors = Vec::new();
    for (mi, module) in modules.iter().enumerate() {
        for section in &module.sections {
            for reloc in &section.relocations {
                let def = res.def(mi, reloc.symbol);
                if reloc.kind == RelocKind::Abs64 && !matches!(def, Def::Absolute(_)) {
                    has_abs64 = true;
                }
                match (reloc.kind, def) {
                    (RelocKind::GotPcRel32, Def::External(e)) if used_set.insert(e) => used.push(e),
                    (RelocKind::GotPcRel32, Def::External(_)) => {}
                    (RelocKind::GotPcRel32, _) => {
                        got_index.entry(def).or_insert_with(|| {
                            got.push(def);
                            got.len() - 1
                        });
                    }
                    (_, Def::External(e)) => {
                        let ext = &res.externals[e];
                        if ext.kind == SymbolKind::Data {
                            errors.push(LinkError::unsupported(format!(
                                "data import `{}` (from `{}`, referenced by `{}`) must be accessed through its import address table slot (GotPcRel32)",
                                ext.name,
                                ext.library.as_deref().unwrap_or(""),
                                module.name
                            )));
                            continue;
                        }
                        if used_set.insert(e) {
                            used.push(e);
                        }
                        thunk_index.entry(e).or_insert_with(|| {
                            thunks.push(e);
                            thunks.len() - 1
                        });
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(e) = LinkError::from_list(errors) {
        return Err(e);
    }

    // Group the used imports by DLL, case-insensitively, in first-use order.
    let mut dlls: Vec<Dll> = Vec::new();
    let mut dll_index: HashMap<String, usize> = HashMap::new();
    for &e in &used {
        let name = dll_file_name(res.externals[e].library.as_deref().unwrap_or_default());
        let key = name.to_ascii_lowercase();
        let i = *dll_index.entry(key).or_insert_with(|| {
            dlls.push(Dll {
                name,
                imports: Vec::new(),
            });
            dlls.len() - 1
        });
        dlls[i].imports.push(e);
    }

    // Layout.
    let mut layout = Layout::new();
    let text = layout.add_output(".text", SectionKind::Text);
    let rdata = layout.add_output(".rdata", SectionKind::ReadOnlyData);
    let data = layout.add_output(".data", SectionKind::Data);
    layout.place_inputs(modules, |kind| match kind {
        SectionKind::Text => text,
        SectionKind::ReadOnlyData => rdata,
        SectionKind::Data | SectionKind::Bss => data,
    });
    let thunk_off = layout.reserve(text, THUNK_SIZE * thunks.len() as u64, 16);
    let got_off = layout.reserve(rdata, 8 * got.len() as u64, 8);
    let imports = if dlls.is_empty() {
        None
    } else {
        let iat_size: u64 = dlls.iter().map(|d| 8 * (d.imports.len() as u64 + 1)).sum();
        let dir_size = 20 * (dlls.len() as u64 + 1);
        let hints_size: u64 = used
            .iter()
            .map(|&e| hint_name_size(&res.externals[e].name))
            .sum();
        let names_size: u64 = dlls.iter().map(|d| d.name.len() as u64 + 1).sum();
        let iat = 0;
        let directory = align_up(iat + iat_size, 4);
        let ilt = align_up(directory + dir_size, 8);
        let hints = ilt + iat_size;
        let names = hints + hints_size;
        let size = names + names_size;
        let base = layout.reserve(rdata, size, 8);
        Some(ImportArea {
            base,
            iat,
            iat_size,
            directory,
            ilt,
            hints,
            names,
            size,
        })
    };

    // Section table: the non-empty output sections, then .reloc if anything needs it.
    let needs_reloc = has_abs64 || !got.is_empty();
    let present: Vec<OutId> = [text, rdata, data]
        .into_iter()
        .filter(|&id| layout.sections[id].size > 0)
        .collect();
    let nsections = present.len() as u64 + needs_reloc as u64;
    let headers_size = align_up(PE_OFFSET + 4 + 20 + 240 + 40 * nsections, FILE_ALIGN);
    let mut rva = SECTION_ALIGN;
    let mut file_off = headers_size;
    let mut rvas: HashMap<OutId, u64> = HashMap::new();
    let mut raw: HashMap<OutId, (u64, u64)> = HashMap::new(); // (PointerToRawData, SizeOfRawData)
    for &id in &present {
        let s = &mut layout.sections[id];
        rva = align_up(rva, s.align.max(SECTION_ALIGN));
        s.addr = IMAGE_BASE + rva;
        rvas.insert(id, rva);
        let raw_size = align_up(s.file_size, FILE_ALIGN);
        raw.insert(id, (if raw_size > 0 { file_off } else { 0 }, raw_size));
        file_off += raw_size;
        rva = align_up(rva + s.size, SECTION_ALIGN);
    }
    for id in [text, rdata, data] {
        if !rvas.contains_key(&id) {
            layout.sections[id].addr = IMAGE_BASE + rva;
        }
    }
    let reloc_rva = rva;

    // Contents and relocations.
    let mut bufs = layout.fill(modules);
    let rdata_addr = layout.sections[rdata].addr;
    let text_addr = layout.sections[text].addr;
    let iat_slot = |e: ExtId| -> u64 {
        let area = imports.as_ref().map(|a| a.base + a.iat).unwrap_or(0);
        let mut at = area;
        for d in &dlls {
            if let Some(i) = d.imports.iter().position(|&x| x == e) {
                return rdata_addr + at + 8 * i as u64;
            }
            at += 8 * (d.imports.len() as u64 + 1);
        }
        rdata_addr + area
    };
    let thunk_addr = |e: ExtId| text_addr + thunk_off + THUNK_SIZE * thunk_index[&e] as u64;
    let got_addr = |d: &Def| rdata_addr + got_off + 8 * got_index[d] as u64;
    let abs_fields = relocate::apply(modules, &res, &layout, &mut bufs, |site| {
        Ok(match (site.kind, site.def) {
            (RelocKind::GotPcRel32, Def::External(e)) => iat_slot(e),
            (RelocKind::GotPcRel32, d) => got_addr(&d),
            (_, Def::External(e)) => thunk_addr(e),
            (_, d) => layout.def_address(&d).unwrap_or(0),
        })
    })?;

    // GOT slots, thunks and the import area.
    let mut base_relocs: Vec<u64> = abs_fields
        .iter()
        .map(|f| layout.sections[f.out].addr - IMAGE_BASE + f.offset)
        .collect();
    for (i, def) in got.iter().enumerate() {
        let at = (got_off + 8 * i as u64) as usize;
        let value = layout.def_address(def).unwrap_or(0);
        bufs[rdata][at..at + 8].copy_from_slice(&value.to_le_bytes());
        if !matches!(def, Def::Absolute(_)) {
            base_relocs.push(rdata_addr - IMAGE_BASE + at as u64);
        }
    }
    for (i, &e) in thunks.iter().enumerate() {
        let at = thunk_off + THUNK_SIZE * i as u64;
        let next = text_addr + at + 6;
        let disp = iat_slot(e) as i64 - next as i64;
        let disp = i32::try_from(disp)
            .map_err(|_| LinkError::unsupported("import thunk out of rel32 range of the IAT"))?;
        let at = at as usize;
        bufs[text][at..at + 2].copy_from_slice(&[0xFF, 0x25]);
        bufs[text][at + 2..at + 6].copy_from_slice(&disp.to_le_bytes());
    }
    let rdata_rva = rdata_addr - IMAGE_BASE;
    if let Some(area) = &imports {
        let mut b = Buf::new();
        let (mut iat_at, mut ilt_at, mut hint_at, mut name_at) =
            (area.iat, area.ilt, area.hints, area.names);
        let mut directory = Buf::new();
        for d in &dlls {
            directory
                .u32((rdata_rva + area.base + ilt_at) as u32)
                .u32(0)
                .u32(0);
            directory
                .u32((rdata_rva + area.base + name_at) as u32)
                .u32((rdata_rva + area.base + iat_at) as u32);
            b.put_at(name_at, d.name.as_bytes());
            name_at += d.name.len() as u64 + 1;
            for &e in &d.imports {
                let name = &res.externals[e].name;
                let entry = rdata_rva + area.base + hint_at;
                b.put_at(iat_at, &entry.to_le_bytes());
                b.put_at(ilt_at, &entry.to_le_bytes());
                b.put_at(hint_at + 2, name.as_bytes());
                hint_at += hint_name_size(name);
                iat_at += 8;
                ilt_at += 8;
            }
            iat_at += 8;
            ilt_at += 8;
        }
        b.put_at(area.directory, &directory.data);
        b.pad_to(area.size);
        let start = area.base as usize;
        bufs[rdata][start..start + b.data.len()].copy_from_slice(&b.data);
    }

    // Base relocation blocks, one per 4 KiB page.
    base_relocs.sort_unstable();
    base_relocs.dedup();
    let mut reloc = Buf::new();
    let mut i = 0;
    while i < base_relocs.len() {
        let page = base_relocs[i] & !0xFFF;
        let mut entries: Vec<u16> = Vec::new();
        while i < base_relocs.len() && base_relocs[i] & !0xFFF == page {
            entries.push((IMAGE_REL_BASED_DIR64 << 12) | (base_relocs[i] & 0xFFF) as u16);
            i += 1;
        }
        if entries.len() % 2 == 1 {
            entries.push(0); // IMAGE_REL_BASED_ABSOLUTE padding
        }
        reloc.u32(page as u32).u32(8 + 2 * entries.len() as u32);
        for e in entries {
            reloc.u16(e);
        }
    }
    let reloc_size = reloc.len();
    let reloc_raw = align_up(reloc_size, FILE_ALIGN);
    let size_of_image = if needs_reloc {
        align_up(reloc_rva + reloc_size, SECTION_ALIGN)
    } else {
        reloc_rva
    };

    // Headers.
    let mut f = Buf::new();
    f.bytes(b"MZ")
        .u16(0x90)
        .u16(3)
        .u16(0)
        .u16(4)
        .u16(0)
        .u16(0xFFFF)
        .u16(0)
        .u16(0xB8);
    f.pad_to(0x3C)
        .u32(PE_OFFSET as u32)
        .bytes(DOS_STUB)
        .pad_to(PE_OFFSET);
    f.bytes(b"PE\0\0");
    f.u16(IMAGE_FILE_MACHINE_AMD64)
        .u16(nsections as u16)
        .u32(0)
        .u32(0)
        .u32(0)
        .u16(240);
    f.u16(IMAGE_FILE_EXECUTABLE_IMAGE | IMAGE_FILE_LARGE_ADDRESS_AWARE);
    let size_of = |kind: SectionKind| -> u32 {
        present
            .iter()
            .filter(|&&id| layout.sections[id].kind == kind)
            .map(|id| raw[id].1 as u32)
            .sum()
    };
    let size_of_code = size_of(SectionKind::Text);
    let size_of_init = size_of(SectionKind::ReadOnlyData)
        + size_of(SectionKind::Data)
        + reloc_raw as u32 * needs_reloc as u32;
    f.u16(0x20B)
        .u8(14)
        .u8(0)
        .u32(size_of_code)
        .u32(size_of_init)
        .u32(0);
    f.u32((layout.def_address(&entry).unwrap_or(IMAGE_BASE) - IMAGE_BASE) as u32);
    f.u32(rvas.get(&text).copied().unwrap_or(0) as u32);
    f.u64(IMAGE_BASE)
        .u32(SECTION_ALIGN as u32)
        .u32(FILE_ALIGN as u32);
    f.u16(6).u16(0).u16(0).u16(0).u16(6).u16(0).u32(0);
    f.u32(size_of_image as u32).u32(headers_size as u32).u32(0);
    f.u16(IMAGE_SUBSYSTEM_WINDOWS_CUI);
    f.u16(DLL_HIGH_ENTROPY_VA | DLL_DYNAMIC_BASE | DLL_NX_COMPAT | DLL_TERMINAL_SERVER_AWARE);
    f.u64(0x10_0000)
        .u64(0x1000)
        .u64(0x10_0000)
        .u64(0x1000)
        .u32(0)
        .u32(16);
    let mut dirs = [(0u32, 0u32); 16];
    if let Some(area) = &imports {
        dirs[1] = (
            (rdata_rva + area.base + area.directory) as u32,
            20 * (dlls.len() as u32 + 1),
        );
        dirs[12] = (
            (rdata_rva + area.base + area.iat) as u32,
            area.iat_size as u32,
        );
    }
    if needs_reloc {
        dirs[5] = (reloc_rva as u32, reloc_size as u32);
    }
    for (rva, size) in dirs {
        f.u32(rva).u32(size);
    }
    let header = |f: &mut Buf, name: &str, vsize: u64, rva: u64, raw: (u64, u64), flags: u32| {
        let mut n = [0u8; 8];
        n[..name.len()].copy_from_slice(name.as_bytes());
        f.bytes(&n)
            .u32(vsize as u32)
            .u32(rva as u32)
            .u32(raw.1 as u32)
            .u32(raw.0 as u32);
        f.u32(0).u32(0).u16(0).u16(0).u32(flags);
    };
    for &id in &present {
        let s = &layout.sections[id];
        let flags = match s.kind {
            SectionKind::Text => SCN_CNT_CODE | SCN_MEM_EXECUTE | SCN_MEM_READ,
            SectionKind::ReadOnlyData => SCN_CNT_INITIALIZED_DATA | SCN_MEM_READ,
            SectionKind::Data | SectionKind::Bss => {
                SCN_CNT_INITIALIZED_DATA | SCN_MEM_READ | SCN_MEM_WRITE
            }
        };
        header(&mut f, &s.name, s.size, rvas[&id], raw[&id], flags);
    }
    if needs_reloc {
        header(
            &mut f,
            ".reloc",
            reloc_size,
            reloc_rva,
            (file_off, reloc_raw),
            SCN_CNT_INITIALIZED_DATA | SCN_MEM_DISCARDABLE | SCN_MEM_READ,
        );
    }
    debug_assert!(f.len() <= headers_size);
    f.pad_to(headers_size);

    // Section contents.
    for &id in &present {
        let (ptr, size) = raw[&id];
        if size > 0 {
            f.put_at(ptr, &bufs[id]);
            f.pad_to(ptr + size);
        }
    }
    if needs_reloc {
        f.put_at(file_off, &reloc.data);
        f.pad_to(file_off + reloc_raw);
    }
    Ok(f.data)
}
