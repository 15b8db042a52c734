//! Writer for the PE linker: applies relocations (with range checks), collects base
//! relocations (`DIR64` for every absolute address) and pseudo-relocations (auto-imported
//! data), sorts `.pdata`, fills the data directories (export, import, exception, base
//! relocation, TLS from `_tls_used`, IAT) and writes the PE32+ EXE or DLL; also the import
//! library for `--out-implib` (short import objects in an `ar` archive).

use super::input::*;
use super::layout::{FILE_ALIGN, Layout, PE_OFFSET, SECTION_ALIGN, align_up};
use super::resolve::{self, Ctx, Target};
use crate::bytes::Buf;
use crate::error::LinkError;

const DOS_STUB: &[u8] = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$";
const IMAGE_REL_BASED_DIR64: u16 = 10;

struct Value {
    /// Virtual address (or absolute value).
    va: u64,
    /// Moves with the image (needs a base relocation when stored absolutely).
    relocatable: bool,
    /// Output section index (for SECTION/SECREL).
    out: Option<u32>,
    /// Auto-import: the IAT slot's RVA.
    pseudo: Option<u64>,
}

fn symbol_name(ctx: &Ctx, file: u32, sym: u32) -> String {
    ctx.files[file as usize].symbols[sym as usize].name.clone()
}

fn value(ctx: &Ctx, lay: &Layout, file: u32, sym: u32) -> Result<Value, LinkError> {
    let base = lay.image_base;
    match ctx.resolve_sym(file, sym) {
        Target::Section {
            file: f,
            sec,
            value,
        } => {
            let (o, _) = lay.place[f as usize][sec as usize];
            let rva = lay.section_rva(f, sec).ok_or_else(|| {
                LinkError::input(
                    &ctx.files[file as usize].name,
                    format!(
                        "symbol `{}` refers to section `{}` of `{}`, which was discarded",
                        symbol_name(ctx, file, sym),
                        ctx.files[f as usize].sections[sec as usize].name,
                        ctx.files[f as usize].name
                    ),
                )
            })?;
            Ok(Value {
                va: base + rva + value as u64,
                relocatable: true,
                out: Some(o),
                pseudo: None,
            })
        }
        Target::Absolute(v) => Ok(Value {
            va: v,
            relocatable: false,
            out: None,
            pseudo: None,
        }),
        Target::ImageBase => Ok(Value {
            va: base,
            relocatable: true,
            out: None,
            pseudo: None,
        }),
        Target::AutoImport { imp, global } => {
            let rva = lay
                .global_rva(ctx, imp)
                .ok_or_else(|| LinkError::UndefinedSymbol {
                    name: ctx.globals[imp as usize].name.clone(),
                    module: ctx.globals[global as usize].name.clone(),
                })?;
            Ok(Value {
                va: base + rva,
                relocatable: true,
                out: None,
                pseudo: Some(rva),
            })
        }
    }
}

/// Relocated contents of every output section, base-relocation RVAs and pseudo-relocations.
struct Applied {
    bufs: Vec<Vec<u8>>,
    base_relocs: Vec<u64>,
    pseudo: Vec<(u64, u64, u32)>,
}

fn apply(ctx: &Ctx, lay: &Layout) -> Result<Applied, LinkError> {
    let base = lay.image_base;
    let mut bufs: Vec<Vec<u8>> = lay
        .outs
        .iter()
        .map(|o| {
            let fill = if o.flags & SCN_CNT_CODE != 0 { 0xCC } else { 0 };
            vec![fill; if o.raw_size > 0 { o.size as usize } else { 0 }]
        })
        .collect();
    let mut base_relocs = Vec::new();
    let mut pseudo = Vec::new();
    let mut errors = Vec::new();
    for (oi, out) in lay.outs.iter().enumerate() {
        for c in &out.chunks {
            let f = &ctx.files[c.file as usize];
            let s = &f.sections[c.sec as usize];
            let buf = &mut bufs[oi];
            if buf.is_empty() {
                continue;
            }
            let start = c.offset as usize;
            if s.data.is_empty() {
                buf[start..start + s.size as usize].fill(0);
                continue;
            }
            buf[start..start + s.data.len()].copy_from_slice(&s.data);
            let sec_rva = out.rva + c.offset;
            for r in &s.relocs {
                let v = match value(ctx, lay, c.file, r.symbol) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                let at = start + r.offset as usize;
                let p_rva = sec_rva + r.offset as u64;
                let overflow = |value: i128| LinkError::RelocationOverflow {
                    kind: crate::RelocKind::Abs32,
                    symbol: symbol_name(ctx, c.file, r.symbol),
                    module: f.name.clone(),
                    section: s.name.clone(),
                    offset: r.offset as u64,
                    value,
                };
                let rd32 = |b: &[u8]| i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
                match r.typ {
                    IMAGE_REL_AMD64_ABSOLUTE => {}
                    IMAGE_REL_AMD64_ADDR64 => {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(&buf[at..at + 8]);
                        let x = u64::from_le_bytes(a).wrapping_add(v.va);
                        buf[at..at + 8].copy_from_slice(&x.to_le_bytes());
                        if v.relocatable {
                            base_relocs.push(p_rva);
                        }
                        if let Some(slot) = v.pseudo {
                            pseudo.push((slot, p_rva, 64));
                        }
                    }
                    IMAGE_REL_AMD64_ADDR32 => {
                        let x = rd32(buf) as u32 as i128 + v.va as i128;
                        if v.pseudo.is_some() || x < 0 || x > u32::MAX as i128 {
                            errors.push(overflow(x));
                            continue;
                        }
                        buf[at..at + 4].copy_from_slice(&(x as u32).to_le_bytes());
                    }
                    IMAGE_REL_AMD64_ADDR32NB => {
                        let target = if v.relocatable { v.va - base } else { v.va };
                        let x = rd32(buf) as i128 + target as i128;
                        if v.pseudo.is_some() || x < i32::MIN as i128 || x > u32::MAX as i128 {
                            errors.push(overflow(x));
                            continue;
                        }
                        buf[at..at + 4].copy_from_slice(&(x as u32).to_le_bytes());
                    }
                    IMAGE_REL_AMD64_REL32..=IMAGE_REL_AMD64_REL32_5 => {
                        let k = (r.typ - IMAGE_REL_AMD64_REL32) as i128;
                        let p = (base + p_rva) as i128;
                        let x = rd32(buf) as i128 + v.va as i128 - (p + 4 + k);
                        if x < i32::MIN as i128 || x > i32::MAX as i128 {
                            errors.push(overflow(x));
                            continue;
                        }
                        buf[at..at + 4].copy_from_slice(&(x as i32).to_le_bytes());
                        if let Some(slot) = v.pseudo {
                            pseudo.push((slot, p_rva, 32));
                        }
                    }
                    IMAGE_REL_AMD64_SECTION => {
                        let idx = match v.out {
                            Some(o) => lay.outs[..=o as usize]
                                .iter()
                                .filter(|o| o.size > 0)
                                .count() as u16,
                            None => 0,
                        };
                        buf[at..at + 2].copy_from_slice(&idx.to_le_bytes());
                    }
                    IMAGE_REL_AMD64_SECREL => {
                        let start = match v.out {
                            Some(o) => base + lay.outs[o as usize].rva,
                            None => v.va,
                        };
                        let x = rd32(buf) as i128 + (v.va - start) as i128;
                        if x < 0 || x > u32::MAX as i128 {
                            errors.push(overflow(x));
                            continue;
                        }
                        buf[at..at + 4].copy_from_slice(&(x as u32).to_le_bytes());
                    }
                    other => errors.push(LinkError::input(
                        &f.name,
                        format!(
                            "section `{}`: unknown relocation type {other:#x} at offset {:#x}",
                            s.name, r.offset
                        ),
                    )),
                }
            }
        }
    }
    if let Some(e) = LinkError::from_list(errors) {
        return Err(e);
    }
    Ok(Applied {
        bufs,
        base_relocs,
        pseudo,
    })
}

/// The RVA range [start, end) of the `.idata` pieces whose names start with `prefix`.
fn idata_range(ctx: &Ctx, lay: &Layout, prefixes: &[&str]) -> Option<(u64, u64)> {
    let out = lay.outs.iter().find(|o| o.name == ".idata")?;
    let mut range: Option<(u64, u64)> = None;
    for c in &out.chunks {
        let s = &ctx.files[c.file as usize].sections[c.sec as usize];
        if prefixes.iter().any(|p| s.name == *p) {
            let a = out.rva + c.offset;
            let b = a + s.size;
            range = Some(match range {
                Some((x, y)) => (x.min(a), y.max(b)),
                None => (a, b),
            });
        }
    }
    range
}

pub fn write(ctx: &Ctx, lay: &Layout) -> Result<Vec<u8>, LinkError> {
    let cfg = ctx.cfg;
    let mut ap = apply(ctx, lay)?;
    let base = lay.image_base;

    // Pseudo-relocation list (version 2).
    if lay.pseudo_count > 0 {
        let (o, off) = lay.place[0][resolve::PSEUDO_LIST_SECTION as usize];
        let mut b = Buf::new();
        b.u32(0).u32(0).u32(1);
        ap.pseudo.sort_unstable();
        for &(slot, target, bits) in &ap.pseudo {
            b.u32(slot as u32).u32(target as u32).u32(bits);
        }
        b.pad_to(12 + 12 * lay.pseudo_count as u64);
        let at = off as usize;
        ap.bufs[o as usize][at..at + b.data.len()].copy_from_slice(&b.data);
    }

    // `.pdata` sorted by function start (the unwinder binary-searches it).
    if let Some(pi) = lay.outs.iter().position(|o| o.name == ".pdata") {
        let buf = &mut ap.bufs[pi];
        let n = (lay.outs[pi].size as usize / 12).min(buf.len() / 12);
        let mut entries: Vec<[u8; 12]> = (0..n)
            .map(|i| buf[i * 12..i * 12 + 12].try_into().unwrap_or([0; 12]))
            .collect();
        entries.sort_by_key(|e| u32::from_le_bytes([e[0], e[1], e[2], e[3]]));
        for (i, e) in entries.iter().enumerate() {
            buf[i * 12..i * 12 + 12].copy_from_slice(e);
        }
    }

    // Base relocation blocks, one per 4 KiB page.
    let mut rel = ap.base_relocs.clone();
    rel.sort_unstable();
    rel.dedup();
    let mut reloc = Buf::new();
    let mut i = 0;
    while i < rel.len() {
        let page = rel[i] & !0xFFF;
        let mut entries: Vec<u16> = Vec::new();
        while i < rel.len() && rel[i] & !0xFFF == page {
            entries.push((IMAGE_REL_BASED_DIR64 << 12) | (rel[i] & 0xFFF) as u16);
            i += 1;
        }
        if entries.len() % 2 == 1 {
            entries.push(0);
        }
        reloc.u32(page as u32).u32(8 + 2 * entries.len() as u32);
        for e in entries {
            reloc.u16(e);
        }
    }
    let has_reloc = reloc.len() > 0;
    let reloc_size = reloc.len();
    let reloc_raw = align_up(reloc_size, FILE_ALIGN);
    let size_of_image = align_up(lay.reloc_rva + reloc_size, SECTION_ALIGN);
    let reloc_raw = if has_reloc { reloc_raw } else { 0 };

    // Entry point.
    let entry_rva = match ctx.lookup(&ctx.entry) {
        Some(g) => lay
            .global_rva(ctx, g)
            .ok_or_else(|| LinkError::MissingEntry {
                name: ctx.entry.clone(),
            })?,
        None => {
            return Err(LinkError::MissingEntry {
                name: ctx.entry.clone(),
            });
        }
    };

    // Data directories.
    let mut dirs = [(0u32, 0u32); 16];
    if let Some(ef) = lay.export_file
        && let Some(rva) = lay.section_rva(ef, 0)
    {
        dirs[0] = (rva as u32, ctx.files[ef as usize].sections[0].size as u32);
    }
    if let Some((a, _)) = idata_range(ctx, lay, &[".idata$2"]) {
        let (_, end) = idata_range(ctx, lay, &[".idata$2", ".idata$3"]).unwrap_or((a, a));
        dirs[1] = (a as u32, (end - a) as u32);
        if let Some((x, y)) = idata_range(ctx, lay, &[".idata$5"]) {
            dirs[12] = (x as u32, (y - x) as u32);
        }
    }
    if let Some(p) = lay.outs.iter().find(|o| o.name == ".pdata" && o.size > 0) {
        dirs[3] = (p.rva as u32, p.size as u32);
    }
    if has_reloc {
        dirs[5] = (lay.reloc_rva as u32, reloc_size as u32);
    }
    if let Some(g) = ctx.lookup("_tls_used")
        && let Some(rva) = lay.global_rva(ctx, g)
    {
        dirs[9] = (rva as u32, 40);
    }

    // Headers.
    let present: Vec<usize> = (0..lay.outs.len())
        .filter(|&i| lay.outs[i].size > 0)
        .collect();
    let nsections = present.len() as u16 + has_reloc as u16;
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
    let mut characteristics = 0x0002 | (0x0020 * cfg.large_address_aware as u16); // EXECUTABLE_IMAGE, LARGE_ADDRESS_AWARE
    if cfg.dll {
        characteristics |= 0x2000;
    }
    f.u16(0x8664)
        .u16(nsections)
        .u32(0)
        .u32(0)
        .u32(0)
        .u16(240)
        .u16(characteristics);
    let sum = |pred: &dyn Fn(u32) -> bool| -> u32 {
        present
            .iter()
            .filter(|&&i| pred(lay.outs[i].flags))
            .map(|&i| align_up(lay.outs[i].size, FILE_ALIGN) as u32)
            .sum()
    };
    let size_of_code = sum(&|fl| fl & SCN_CNT_CODE != 0);
    let size_of_init = sum(&|fl| fl & SCN_CNT_INITIALIZED_DATA != 0) + reloc_raw as u32;
    let size_of_uninit = sum(&|fl| fl & SCN_CNT_UNINITIALIZED_DATA != 0);
    let base_of_code = present
        .iter()
        .find(|&&i| lay.outs[i].flags & SCN_CNT_CODE != 0)
        .map_or(0, |&i| lay.outs[i].rva);
    f.u16(0x20B).u8(2).u8(40);
    f.u32(size_of_code).u32(size_of_init).u32(size_of_uninit);
    f.u32(entry_rva as u32).u32(base_of_code as u32);
    f.u64(base).u32(SECTION_ALIGN as u32).u32(FILE_ALIGN as u32);
    f.u16(4).u16(0).u16(0).u16(0).u16(5).u16(2).u32(0);
    f.u32(size_of_image as u32)
        .u32(lay.headers_size as u32)
        .u32(0);
    f.u16(cfg.subsystem);
    let mut dll_chars = 0u16;
    if cfg.high_entropy_va {
        dll_chars |= 0x0020;
    }
    if cfg.dynamic_base {
        dll_chars |= 0x0040;
    }
    if cfg.nx_compat {
        dll_chars |= 0x0100;
    }
    if cfg.terminal_server_aware && !cfg.dll {
        dll_chars |= 0x8000;
    }
    f.u16(dll_chars);
    f.u64(cfg.stack_reserve)
        .u64(cfg.stack_commit)
        .u64(cfg.heap_reserve)
        .u64(cfg.heap_commit)
        .u32(0)
        .u32(16);
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
    for &i in &present {
        let o = &lay.outs[i];
        header(
            &mut f,
            o.name,
            o.size,
            o.rva,
            (o.file_off, o.raw_size),
            o.flags,
        );
    }
    if has_reloc {
        header(
            &mut f,
            ".reloc",
            reloc_size,
            lay.reloc_rva,
            (lay.reloc_file_off, reloc_raw),
            SCN_CNT_INITIALIZED_DATA | SCN_MEM_DISCARDABLE | SCN_MEM_READ,
        );
    }
    if f.len() > lay.headers_size {
        return Err(LinkError::unsupported(
            "internal error: PE headers exceed their space",
        ));
    }
    f.pad_to(lay.headers_size);
    for &i in &present {
        let o = &lay.outs[i];
        if o.raw_size > 0 {
            f.put_at(o.file_off, &ap.bufs[i]);
            f.pad_to(o.file_off + o.raw_size);
        }
    }
    if has_reloc {
        f.put_at(lay.reloc_file_off, &reloc.data);
        f.pad_to(lay.reloc_file_off + reloc_raw);
    }
    Ok(f.data)
}

/// The import library for a DLL (`--out-implib`): an `ar` archive of short import objects,
/// one per export, with a symbol index naming `X` (code only) and `__imp_X`.
pub fn import_library(ctx: &Ctx, _lay: &Layout) -> Result<Vec<u8>, LinkError> {
    let dll = ctx
        .cfg
        .output
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "a.dll".into());
    let mut members: Vec<(String, Vec<u8>, Vec<String>)> = Vec::new();
    for (i, e) in ctx.exports.iter().enumerate() {
        let mut body = Buf::new();
        let size = e.name.len() + 1 + dll.len() + 1;
        let typ: u16 = if e.data { 1 } else { 0 };
        body.u16(0)
            .u16(0xFFFF)
            .u16(0)
            .u16(0x8664)
            .u32(0)
            .u32(size as u32)
            .u16(i as u16)
            .u16(typ | (1 << 2));
        body.bytes(e.name.as_bytes())
            .u8(0)
            .bytes(dll.as_bytes())
            .u8(0);
        let mut syms = vec![format!("__imp_{}", e.name)];
        if !e.data {
            syms.push(e.name.clone());
        }
        members.push((format!("s{i}.o"), body.data, syms));
    }
    Ok(write_archive(&members))
}

/// A GNU `ar` archive with a `/` symbol index.
pub fn write_archive(members: &[(String, Vec<u8>, Vec<String>)]) -> Vec<u8> {
    let header = |b: &mut Buf, name: &str, size: usize| {
        let mut h = format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n", 0, 0, 0, 644);
        h.truncate(60);
        b.bytes(h.as_bytes());
    };
    let nsyms: usize = members.iter().map(|m| m.2.len()).sum();
    let names_len: usize = members.iter().flat_map(|m| &m.2).map(|s| s.len() + 1).sum();
    let index_size = 4 + 4 * nsyms + names_len;
    let mut off = 8 + 60 + index_size + (index_size & 1);
    let mut offsets = Vec::new();
    for (name, body, _) in members {
        offsets.push(off);
        let _ = name;
        off += 60 + body.len() + (body.len() & 1);
    }
    let mut b = Buf::new();
    b.bytes(b"!<arch>\n");
    header(&mut b, "/", index_size);
    b.data.extend_from_slice(&(nsyms as u32).to_be_bytes());
    for (i, m) in members.iter().enumerate() {
        for _ in &m.2 {
            b.data.extend_from_slice(&(offsets[i] as u32).to_be_bytes());
        }
    }
    for m in members {
        for s in &m.2 {
            b.bytes(s.as_bytes()).u8(0);
        }
    }
    if index_size & 1 == 1 {
        b.u8(b'\n');
    }
    for (name, body, _) in members {
        header(&mut b, &format!("{name}/"), body.len());
        b.bytes(body);
        if body.len() & 1 == 1 {
            b.u8(b'\n');
        }
    }
    b.data
}
