//! Input readers for the PE linker: COFF x86-64 objects (regular and bigobj), short import
//! objects, DLL export tables, and the synthesized import pieces that every import (from a
//! short import object, a DLL, or a Meteor module) becomes — shaped like dlltool's members
//! (`h` head with the `.idata$2` descriptor, `s` stubs with `.idata$4/5/6` and the thunk,
//! `t` tail with the terminators and the DLL name), so one code path lays them all out.

use object::LittleEndian as LE;
use object::pe;
use object::read::coff::{CoffHeader, ImageSymbol};

use super::{CLASS_EXTERNAL, CLASS_STATIC, CLASS_WEAK_EXTERNAL, Comdat, InSymbol, ObjFile, Reloc};

pub const IMAGE_REL_AMD64_ABSOLUTE: u16 = 0;
pub const IMAGE_REL_AMD64_ADDR64: u16 = 1;
pub const IMAGE_REL_AMD64_ADDR32: u16 = 2;
pub const IMAGE_REL_AMD64_ADDR32NB: u16 = 3;
pub const IMAGE_REL_AMD64_REL32: u16 = 4;
pub const IMAGE_REL_AMD64_REL32_5: u16 = 9;
pub const IMAGE_REL_AMD64_SECTION: u16 = 10;
pub const IMAGE_REL_AMD64_SECREL: u16 = 11;

pub const SCN_CNT_CODE: u32 = 0x20;
pub const SCN_CNT_INITIALIZED_DATA: u32 = 0x40;
pub const SCN_CNT_UNINITIALIZED_DATA: u32 = 0x80;
pub const SCN_LNK_INFO: u32 = 0x200;
pub const SCN_LNK_REMOVE: u32 = 0x800;
pub const SCN_LNK_COMDAT: u32 = 0x1000;
pub const SCN_MEM_DISCARDABLE: u32 = 0x0200_0000;
pub const SCN_MEM_EXECUTE: u32 = 0x2000_0000;
pub const SCN_MEM_READ: u32 = 0x4000_0000;
pub const SCN_MEM_WRITE: u32 = 0x8000_0000;

pub const CODE: u32 = SCN_CNT_CODE | SCN_MEM_EXECUTE | SCN_MEM_READ;
pub const RDATA: u32 = SCN_CNT_INITIALIZED_DATA | SCN_MEM_READ;
pub const DATA: u32 = SCN_CNT_INITIALIZED_DATA | SCN_MEM_READ | SCN_MEM_WRITE;
pub const BSS: u32 = SCN_CNT_UNINITIALIZED_DATA | SCN_MEM_READ | SCN_MEM_WRITE;

/// What kind of file `data` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Coff,
    BigObj,
    ShortImport,
    Dll,
    Archive,
    Unknown,
}

pub fn identify(data: &[u8]) -> FileKind {
    if data.starts_with(b"!<arch>\n") {
        FileKind::Archive
    } else if data.starts_with(b"MZ") {
        FileKind::Dll
    } else if data.len() >= 6 && data[0..4] == [0, 0, 0xFF, 0xFF] {
        let version = u16::from_le_bytes([data[4], data[5]]);
        if version >= 2 {
            FileKind::BigObj
        } else {
            FileKind::ShortImport
        }
    } else if data.len() >= 20 && data[0..2] == [0x64, 0x86] {
        FileKind::Coff
    } else {
        FileKind::Unknown
    }
}

/// Reads a COFF object (x86-64, regular or bigobj).
pub fn read_object(name: &str, data: &[u8]) -> Result<ObjFile, String> {
    match identify(data) {
        FileKind::BigObj => read_coff::<pe::AnonObjectHeaderBigobj>(name, data),
        FileKind::Coff => read_coff::<pe::ImageFileHeader>(name, data),
        _ => Err("not a COFF x86-64 object".into()),
    }
}

fn read_coff<H: CoffHeader>(name: &str, data: &[u8]) -> Result<ObjFile, String> {
    let e = |what: &str, err: object::Error| format!("{what}: {err}");
    let mut offset = 0u64;
    let header = H::parse(data, &mut offset).map_err(|err| e("bad COFF header", err))?;
    if header.machine() != pe::IMAGE_FILE_MACHINE_AMD64 {
        return Err(format!(
            "unsupported machine {:#x} (only x86-64 COFF objects)",
            header.machine()
        ));
    }
    let sections = header
        .sections(data, offset)
        .map_err(|err| e("bad section table", err))?;
    let symbols = header
        .symbols(data)
        .map_err(|err| e("bad symbol table", err))?;
    let strings = symbols.strings();
    let mut obj = ObjFile::new(name);
    let nsyms = symbols.len();
    for (i, s) in sections.iter().enumerate() {
        let sname = s
            .name(strings)
            .map_err(|err| e(&format!("section {}: bad name", i + 1), err))?;
        let sname = String::from_utf8_lossy(sname).into_owned();
        let flags = s.characteristics.get(LE);
        let size = s.size_of_raw_data.get(LE) as u64;
        let contents = if flags & SCN_CNT_UNINITIALIZED_DATA != 0 {
            Vec::new()
        } else {
            s.coff_data(data)
                .map_err(|()| format!("section `{sname}`: contents out of bounds"))?
                .to_vec()
        };
        let relocs = s
            .coff_relocations(data)
            .map_err(|err| e(&format!("section `{sname}`: bad relocations"), err))?;
        let mut rs = Vec::with_capacity(relocs.len());
        for r in relocs {
            let offset = r.virtual_address.get(LE);
            let symbol = r.symbol_table_index.get(LE);
            let typ = r.typ.get(LE);
            if symbol as usize >= nsyms {
                return Err(format!(
                    "section `{sname}`: relocation at {offset:#x} refers to symbol {symbol}, but there are {nsyms}"
                ));
            }
            let width = reloc_width(typ).ok_or_else(|| {
                format!("section `{sname}`: unknown relocation type {typ:#x} at offset {offset:#x}")
            })?;
            if offset as u64 + width > size {
                return Err(format!(
                    "section `{sname}`: relocation at {offset:#x} extends past the section's {size} bytes"
                ));
            }
            rs.push(Reloc {
                offset,
                symbol,
                typ,
            });
        }
        let idx = obj.add_section(&sname, flags, s.coff_alignment(), contents);
        let sec = &mut obj.sections[idx as usize - 1];
        sec.size = size;
        sec.relocs = rs;
    }
    let nsec = obj.sections.len() as i32;
    let mut i = 0usize;
    while i < nsyms {
        let sym = symbols
            .symbol(object::SymbolIndex(i))
            .map_err(|err| e("bad symbol", err))?;
        let sname = String::from_utf8_lossy(
            sym.name(strings)
                .map_err(|err| e(&format!("symbol {i}: bad name"), err))?,
        )
        .into_owned();
        let section = sym.section_number();
        if section > nsec {
            return Err(format!(
                "symbol `{sname}` refers to section {section}, but there are {nsec}"
            ));
        }
        let class = sym.storage_class();
        let naux = sym.number_of_aux_symbols() as usize;
        let mut weak_default = None;
        if class == CLASS_WEAK_EXTERNAL && naux > 0 {
            let aux = symbols
                .aux_weak_external(object::SymbolIndex(i))
                .map_err(|err| e("bad weak external", err))?;
            let d = aux.default_symbol().0;
            if d >= nsyms {
                return Err(format!(
                    "weak external `{sname}`: default symbol {d} out of range"
                ));
            }
            weak_default = Some(d as u32);
        }
        if class == CLASS_STATIC && naux > 0 && section > 0 && sym.value() == 0 {
            let aux = symbols
                .aux_section(object::SymbolIndex(i))
                .map_err(|err| e("bad section definition", err))?;
            let sec = &mut obj.sections[section as usize - 1];
            if sec.flags & SCN_LNK_COMDAT != 0 && sec.comdat.is_none() && sec.name == sname {
                let sel = aux.selection;
                sec.comdat = Some(if sel == pe::IMAGE_COMDAT_SELECT_ASSOCIATIVE {
                    let mut n = aux.number.get(LE) as u32;
                    if H::is_type_bigobj() {
                        n |= (aux.high_number.get(LE) as u32) << 16;
                    }
                    if n == 0 || n as i32 > nsec {
                        return Err(format!(
                            "section `{sname}`: associative COMDAT refers to section {n}, but there are {nsec}"
                        ));
                    }
                    Comdat::Associative(n - 1)
                } else {
                    Comdat::Select(sel)
                });
            }
        }
        obj.symbols.push(InSymbol {
            name: sname,
            value: sym.value(),
            section,
            class,
            aux: false,
            weak_default,
        });
        for _ in 0..naux.min(nsyms - i - 1) {
            obj.symbols.push(InSymbol {
                name: String::new(),
                value: 0,
                section: 0,
                class: 0,
                aux: true,
                weak_default: None,
            });
        }
        i += 1 + naux;
    }
    obj.symbols.truncate(nsyms);
    // COMDAT sections without a section definition symbol (GCC's `.pdata$X`): "any".
    for s in &mut obj.sections {
        if s.flags & SCN_LNK_COMDAT != 0 && s.comdat.is_none() {
            s.comdat = Some(Comdat::Select(pe::IMAGE_COMDAT_SELECT_ANY));
        }
    }
    // Relocations must not refer to aux entries.
    for s in &obj.sections {
        for r in &s.relocs {
            if obj.symbols[r.symbol as usize].aux {
                return Err(format!(
                    "section `{}`: relocation at {:#x} refers to an auxiliary symbol record",
                    s.name, r.offset
                ));
            }
        }
    }
    // `.drectve`.
    for s in &obj.sections {
        if s.name == ".drectve" {
            obj.directives.push_str(&String::from_utf8_lossy(&s.data));
            obj.directives.push(' ');
        }
    }
    Ok(obj)
}

/// Bytes a relocation type writes (`None`: not a known AMD64 relocation).
pub fn reloc_width(typ: u16) -> Option<u64> {
    Some(match typ {
        IMAGE_REL_AMD64_ABSOLUTE => 0,
        IMAGE_REL_AMD64_ADDR64 => 8,
        IMAGE_REL_AMD64_ADDR32 | IMAGE_REL_AMD64_ADDR32NB => 4,
        IMAGE_REL_AMD64_REL32..=IMAGE_REL_AMD64_REL32_5 => 4,
        IMAGE_REL_AMD64_SECTION => 2,
        IMAGE_REL_AMD64_SECREL => 4,
        _ => return None,
    })
}

/// One importable symbol: from a short import object, a DLL's export table or a Meteor
/// module's `Import`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSpec {
    pub dll: String,
    /// The symbol linked against (`X`, with `__imp_X` alongside).
    pub symbol: String,
    /// The name in the hint/name table; `None` imports by ordinal.
    pub import_name: Option<String>,
    pub ordinal: u16,
    /// Functions get a `jmp [rip+__imp_X]` thunk named `X`; data only `__imp_X`.
    pub code: bool,
}

/// Reads a short import object (`IMPORT_OBJECT_HEADER`).
pub fn read_short_import(data: &[u8]) -> Result<ImportSpec, String> {
    let f = object::read::coff::ImportFile::parse(data)
        .map_err(|e| format!("bad short import object: {e}"))?;
    let mut offset = 0u64;
    let header = pe::ImportObjectHeader::parse(data, &mut offset)
        .map_err(|e| format!("bad short import object: {e}"))?;
    if header.machine.get(LE) != pe::IMAGE_FILE_MACHINE_AMD64 {
        return Err(format!(
            "short import object for machine {:#x} (only x86-64)",
            header.machine.get(LE)
        ));
    }
    let symbol = String::from_utf8_lossy(f.symbol()).into_owned();
    let (import_name, ordinal) = match f.import() {
        object::read::coff::ImportName::Name(n) => {
            (Some(String::from_utf8_lossy(n).into_owned()), 0)
        }
        object::read::coff::ImportName::Ordinal(o) => (None, o),
    };
    Ok(ImportSpec {
        dll: String::from_utf8_lossy(f.dll()).into_owned(),
        symbol,
        import_name,
        ordinal,
        code: f.import_type() == object::read::coff::ImportType::Code,
    })
}

/// Reads a DLL's exports as importable symbols.
pub fn read_dll_exports(file_name: &str, data: &[u8]) -> Result<Vec<ImportSpec>, String> {
    let pe = object::read::pe::PeFile64::parse(data).map_err(|e| format!("bad DLL: {e}"))?;
    let table = pe
        .export_table()
        .map_err(|e| format!("bad export table: {e}"))?;
    let dll = match &table {
        Some(t) => t
            .name_from_pointer(t.directory().name.get(LE))
            .ok()
            .map(|n| String::from_utf8_lossy(n).into_owned()),
        None => None,
    }
    .unwrap_or_else(|| {
        file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(file_name)
            .to_string()
    });
    let exports = pe.exports().map_err(|e| format!("bad export table: {e}"))?;
    let sections = pe.section_table();
    let mut out = Vec::new();
    for x in exports {
        let name = x.name();
        if name.is_empty() {
            continue;
        }
        let name = String::from_utf8_lossy(name).into_owned();
        // Code if the export lies in an executable section.
        let rva = (x.address() - pe.relative_address_base()) as u32;
        let code = sections.iter().any(|s| {
            let start = s.virtual_address.get(LE);
            let end = start.saturating_add(s.virtual_size.get(LE));
            s.characteristics.get(LE) & SCN_MEM_EXECUTE != 0 && rva >= start && rva < end
        });
        out.push(ImportSpec {
            dll: dll.clone(),
            symbol: name.clone(),
            import_name: Some(name),
            ordinal: 0,
            code,
        });
    }
    Ok(out)
}

use object::read::Object as _;

fn sanitize(dll: &str) -> String {
    dll.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The sort key (`archive`) of one DLL's synthesized import pieces.
fn import_archive(dll: &str) -> String {
    format!("~import/{}", dll.to_ascii_lowercase())
}

/// The head piece for `dll`: the `.idata$2` descriptor pointing at the DLL's ILT
/// (`.idata$4`), name (`.idata$7`) and IAT (`.idata$5`).
pub fn import_head(dll: &str) -> ObjFile {
    let tag = sanitize(&dll.to_ascii_lowercase());
    let mut o = ObjFile::new(format!("<import head {dll}>"));
    o.archive = import_archive(dll);
    o.member = "h".into();
    let d2 = o.add_section(".idata$2", DATA, 4, vec![0; 20]);
    let d4 = o.add_section(".idata$4", DATA, 8, Vec::new());
    let d5 = o.add_section(".idata$5", DATA, 8, Vec::new());
    o.add_symbol(&format!("_head_meteor_{tag}"), d2, 0, CLASS_EXTERNAL);
    let s4 = o.add_symbol(".idata$4", d4, 0, CLASS_STATIC);
    let s5 = o.add_symbol(".idata$5", d5, 0, CLASS_STATIC);
    let name = o.add_symbol(&format!("_meteor_{tag}_iname"), 0, 0, CLASS_EXTERNAL);
    o.add_reloc(d2, 0, s4, IMAGE_REL_AMD64_ADDR32NB);
    o.add_reloc(d2, 12, name, IMAGE_REL_AMD64_ADDR32NB);
    o.add_reloc(d2, 16, s5, IMAGE_REL_AMD64_ADDR32NB);
    o
}

/// The tail piece: null ILT/IAT entries and the DLL name.
pub fn import_tail(dll: &str) -> ObjFile {
    let tag = sanitize(&dll.to_ascii_lowercase());
    let mut o = ObjFile::new(format!("<import tail {dll}>"));
    o.archive = import_archive(dll);
    o.member = "t".into();
    o.add_section(".idata$4", DATA, 8, vec![0; 8]);
    o.add_section(".idata$5", DATA, 8, vec![0; 8]);
    let mut name = dll.as_bytes().to_vec();
    name.push(0);
    let d7 = o.add_section(".idata$7", DATA, 2, name);
    o.add_symbol(&format!("_meteor_{tag}_iname"), d7, 0, CLASS_EXTERNAL);
    o
}

/// The piece for one import: ILT and IAT entries, hint/name, and for code the thunk `X`.
pub fn import_stub(spec: &ImportSpec, serial: usize) -> ObjFile {
    let tag = sanitize(&spec.dll.to_ascii_lowercase());
    let mut o = ObjFile::new(format!("<import {} from {}>", spec.symbol, spec.dll));
    o.archive = import_archive(&spec.dll);
    o.member = format!("s{serial:08}");
    let entry: Vec<u8> = match &spec.import_name {
        Some(_) => vec![0; 8],
        None => (spec.ordinal as u64 | 1 << 63).to_le_bytes().to_vec(),
    };
    let d5 = o.add_section(".idata$5", DATA, 8, entry.clone());
    let d4 = o.add_section(".idata$4", DATA, 8, entry);
    let imp = o.add_symbol(&format!("__imp_{}", spec.symbol), d5, 0, CLASS_EXTERNAL);
    let head = o.add_symbol(&format!("_head_meteor_{tag}"), 0, 0, CLASS_EXTERNAL);
    // The stub refers to the head (as dlltool's do, from `.idata$7`) so it gets loaded.
    let d7 = o.add_section(".idata$7", DATA, 4, vec![0; 4]);
    o.add_reloc(d7, 0, head, IMAGE_REL_AMD64_ADDR32NB);
    if let Some(n) = &spec.import_name {
        let mut hint = vec![0u8, 0];
        hint.extend_from_slice(n.as_bytes());
        hint.push(0);
        if hint.len() % 2 == 1 {
            hint.push(0);
        }
        let d6 = o.add_section(".idata$6", DATA, 2, hint);
        let s6 = o.add_symbol(".idata$6", d6, 0, CLASS_STATIC);
        o.add_reloc(d4, 0, s6, IMAGE_REL_AMD64_ADDR32NB);
        o.add_reloc(d5, 0, s6, IMAGE_REL_AMD64_ADDR32NB);
    }
    if spec.code {
        let text = o.add_section(".text", CODE, 8, vec![0xFF, 0x25, 0, 0, 0, 0, 0x90, 0x90]);
        o.add_symbol(&spec.symbol, text, 0, CLASS_EXTERNAL);
        o.add_reloc(text, 2, imp, IMAGE_REL_AMD64_REL32);
    }
    o
}

/// Symbols an import defines (for archive indexes of DLLs).
pub fn import_defines(spec: &ImportSpec) -> Vec<String> {
    let mut v = vec![format!("__imp_{}", spec.symbol)];
    if spec.code {
        v.push(spec.symbol.clone());
    }
    v
}

/// `kernel32` → `kernel32.dll` (names with an extension are kept).
pub fn dll_file_name(library: &str) -> String {
    let file = library.rsplit(['/', '\\']).next().unwrap_or(library);
    if file.contains('.') {
        library.to_string()
    } else {
        format!("{library}.dll")
    }
}

/// A Meteor `ObjectModule` as a COFF object, plus the imports it declares. ELF-style
/// `S + A - P` relocations become COFF ones with the addend in place (`REL32` stores
/// `A + 4`); `GotPcRel32` goes to `__imp_X` for imports and to a local 8-byte slot
/// (`ADDR64`) otherwise; weak definitions become weak externals with a local default.
pub fn from_module(
    m: &crate::ObjectModule,
) -> Result<(ObjFile, Vec<ImportSpec>), crate::LinkError> {
    use crate::object_module::{Binding, RelocKind, SectionKind, SymbolDef, SymbolKind};
    let bad = |msg: String| crate::LinkError::invalid(&m.name, msg);
    let mut o = ObjFile::new(m.name.clone());
    for s in &m.sections {
        let (name, flags) = match s.kind {
            SectionKind::Text => (".text", CODE),
            SectionKind::ReadOnlyData => (".rdata", RDATA),
            SectionKind::Data => (".data", DATA),
            SectionKind::Bss => (".bss", BSS),
        };
        let idx = o.add_section(name, flags, s.align.max(1), s.data.clone());
        o.sections[idx as usize - 1].size = s.size;
    }
    let mut imports: Vec<ImportSpec> = Vec::new();
    // Undefined and imported symbols count only when a relocation refers to them (an
    // unreferenced `Import` declaration imports nothing).
    let used: std::collections::HashSet<u32> = m
        .sections
        .iter()
        .flat_map(|s| s.relocations.iter().map(|r| r.symbol.0))
        .collect();
    let mut sym_index: Vec<u32> = Vec::with_capacity(m.symbols.len());
    for (i, s) in m.symbols.iter().enumerate() {
        if let SymbolDef::Import { library } = &s.def {
            // Declarations are lazy imports for every module; pulled in only when used.
            let spec = ImportSpec {
                dll: dll_file_name(library),
                symbol: s.name.clone(),
                import_name: Some(s.name.clone()),
                ordinal: 0,
                code: s.kind != SymbolKind::Data,
            };
            if !imports.contains(&spec) {
                imports.push(spec);
            }
        }
        if matches!(s.def, SymbolDef::Undefined | SymbolDef::Import { .. })
            && !used.contains(&(i as u32))
        {
            sym_index.push(u32::MAX);
            continue;
        }
        let idx = match &s.def {
            SymbolDef::Defined {
                section, offset, ..
            } => {
                let value = u32::try_from(*offset)
                    .map_err(|_| bad(format!("symbol `{}`: offset too large", s.name)))?;
                let sec = section.0 as i32 + 1;
                match s.binding {
                    Binding::Local => o.add_symbol(&s.name, sec, value, CLASS_STATIC),
                    Binding::Global => o.add_symbol(&s.name, sec, value, CLASS_EXTERNAL),
                    Binding::Weak => {
                        let d = o.add_symbol(
                            &format!("{}$weak_default", s.name),
                            sec,
                            value,
                            CLASS_STATIC,
                        );
                        let w = o.add_symbol(&s.name, 0, 0, CLASS_WEAK_EXTERNAL);
                        o.symbols[w as usize].weak_default = Some(d);
                        w
                    }
                }
            }
            SymbolDef::Absolute(v) => {
                let value = u32::try_from(*v).map_err(|_| {
                    bad(format!("absolute symbol `{}` does not fit 32 bits", s.name))
                })?;
                let class = if s.binding == Binding::Local {
                    CLASS_STATIC
                } else {
                    CLASS_EXTERNAL
                };
                o.add_symbol(&s.name, -1, value, class)
            }
            SymbolDef::Undefined => o.add_symbol(&s.name, 0, 0, CLASS_EXTERNAL),
            SymbolDef::Import { .. } => o.add_symbol(&s.name, 0, 0, CLASS_EXTERNAL),
        };
        sym_index.push(idx);
    }
    let mut imp_syms: std::collections::HashMap<String, u32> = Default::default();
    let mut got_slots: std::collections::HashMap<u32, u32> = Default::default();
    for (si, s) in m.sections.iter().enumerate() {
        for r in &s.relocations {
            let target = &m.symbols[r.symbol.0 as usize];
            let sym = sym_index[r.symbol.0 as usize];
            let at = r.offset as usize;
            let is_import = matches!(target.def, SymbolDef::Import { .. });
            if is_import && target.kind == SymbolKind::Data && r.kind != RelocKind::GotPcRel32 {
                return Err(crate::LinkError::unsupported(format!(
                    "data import `{}` (referenced by `{}`) must be accessed through its import address table slot (GotPcRel32)",
                    target.name, m.name
                )));
            }
            let sec_no = si as i32 + 1;
            let data = &mut o.sections[si].data;
            let put32 = |data: &mut Vec<u8>, v: i64| -> Result<(), crate::LinkError> {
                let v = i32::try_from(v).map_err(|_| {
                    bad(format!(
                        "relocation addend {v} at {at:#x} does not fit 32 bits"
                    ))
                })?;
                data[at..at + 4].copy_from_slice(&v.to_le_bytes());
                Ok(())
            };
            let (typ, rsym) = match r.kind {
                RelocKind::Abs64 => {
                    data[at..at + 8].copy_from_slice(&r.addend.to_le_bytes());
                    (IMAGE_REL_AMD64_ADDR64, sym)
                }
                RelocKind::Abs32 | RelocKind::Abs32S => {
                    put32(data, r.addend)?;
                    (IMAGE_REL_AMD64_ADDR32, sym)
                }
                RelocKind::PcRel32 | RelocKind::Branch32 => {
                    put32(data, r.addend + 4)?;
                    (IMAGE_REL_AMD64_REL32, sym)
                }
                RelocKind::GotPcRel32 => {
                    put32(data, r.addend + 4)?;
                    let slot = if is_import {
                        let name = format!("__imp_{}", target.name);
                        match imp_syms.get(&name) {
                            Some(&s) => s,
                            None => {
                                let s = o.add_symbol(&name, 0, 0, CLASS_EXTERNAL);
                                imp_syms.insert(name, s);
                                s
                            }
                        }
                    } else if let Some(&s) = got_slots.get(&sym) {
                        s
                    } else {
                        let sec = o.add_section(".rdata", RDATA, 8, vec![0; 8]);
                        let s = o.add_symbol(&format!("{}$got", target.name), sec, 0, CLASS_STATIC);
                        o.add_reloc(sec, 0, sym, IMAGE_REL_AMD64_ADDR64);
                        got_slots.insert(sym, s);
                        s
                    };
                    (IMAGE_REL_AMD64_REL32, slot)
                }
            };
            o.add_reloc(sec_no, r.offset as u32, rsym, typ);
        }
    }
    Ok((o, imports))
}
