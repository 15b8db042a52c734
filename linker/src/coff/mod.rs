//! `meteor-ld`'s PE/COFF linker: a drop-in MinGW `ld` (`-m i386pep`) for x86_64-w64-mingw32
//! gcc/g++, also used by `link()` for windows-x64.
//!
//! Stages, each its own module (see `linker/ARCHITECTURE.md`):
//! - [`args`]: the MinGW ld command line (as gcc's collect2 passes it);
//! - [`input`]: COFF objects (regular and bigobj), short import objects, DLL export
//!   tables, Meteor `ObjectModule`s, and the synthesized import stubs (dlltool-shaped
//!   `.idata$N` pieces) that all imports become;
//! - [`resolve`]: loading (archives are lazy, read by `ld::archive`), the symbol table,
//!   COMDAT selection, weak externals, commons, `.drectve`, auto-import;
//! - [`layout`]: grouped sections (`.text$mn`, `.idata$2`…`$7`, `.CRT$XLA`…), output
//!   sections, linker-defined symbols, addresses;
//! - [`write`]: relocations, base relocations, pseudo-relocations, import/export/TLS/
//!   exception directories, the PE32+ EXE or DLL, and the import library.

pub mod args;
pub mod input;
pub mod layout;
pub mod map;
pub mod resolve;
pub mod write;

use crate::error::LinkError;
pub use args::Config;

/// One input section of a COFF object (or a synthesized one).
#[derive(Clone, Debug)]
pub struct InSection {
    pub name: String,
    /// `IMAGE_SCN_*` characteristics.
    pub flags: u32,
    pub align: u64,
    /// Contents; empty for uninitialized data (then `size` says how much).
    pub data: Vec<u8>,
    pub size: u64,
    pub relocs: Vec<Reloc>,
    pub comdat: Option<Comdat>,
    /// Sort key inside its output section (the full name, with `.ctors`/`.dtors` adjusted).
    pub sort_key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comdat {
    /// A COMDAT section with this `IMAGE_COMDAT_SELECT_*` (not associative).
    Select(u8),
    /// `IMAGE_COMDAT_SELECT_ASSOCIATIVE`: lives and dies with this section (0-based index).
    Associative(u32),
}

#[derive(Clone, Copy, Debug)]
pub struct Reloc {
    pub offset: u32,
    pub symbol: u32,
    pub typ: u16,
}

/// One symbol table entry (aux entries are kept as `Aux` so indices match the file).
#[derive(Clone, Debug)]
pub struct InSymbol {
    pub name: String,
    pub value: u32,
    /// COFF section number: > 0 a 1-based section, 0 undefined/common, -1 absolute, -2 debug.
    pub section: i32,
    pub class: u8,
    pub aux: bool,
    /// For weak externals: the default symbol's index.
    pub weak_default: Option<u32>,
}

pub const CLASS_EXTERNAL: u8 = 2;
pub const CLASS_STATIC: u8 = 3;
pub const CLASS_WEAK_EXTERNAL: u8 = 105;

impl InSymbol {
    pub fn is_external(&self) -> bool {
        !self.aux && (self.class == CLASS_EXTERNAL || self.class == CLASS_WEAK_EXTERNAL)
    }
}

/// A COFF object as the linker sees it.
#[derive(Clone, Debug, Default)]
pub struct ObjFile {
    /// Display name: `path` or `archive(member)`.
    pub name: String,
    /// For sorting `.idata$N` pieces: the archive (or DLL) and the member name.
    pub archive: String,
    pub member: String,
    pub sections: Vec<InSection>,
    pub symbols: Vec<InSymbol>,
    /// `.drectve` contents.
    pub directives: String,
}

impl ObjFile {
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        ObjFile {
            member: name.clone(),
            name,
            ..Default::default()
        }
    }

    /// Adds a section, returning its 1-based COFF section number.
    pub fn add_section(&mut self, name: &str, flags: u32, align: u64, data: Vec<u8>) -> i32 {
        let size = data.len() as u64;
        self.sections.push(InSection {
            name: name.to_string(),
            flags,
            align,
            data,
            size,
            relocs: Vec::new(),
            comdat: None,
            sort_key: name.to_string(),
        });
        self.sections.len() as i32
    }

    /// Adds a symbol, returning its index.
    pub fn add_symbol(&mut self, name: &str, section: i32, value: u32, class: u8) -> u32 {
        self.symbols.push(InSymbol {
            name: name.to_string(),
            value,
            section,
            class,
            aux: false,
            weak_default: None,
        });
        self.symbols.len() as u32 - 1
    }

    pub fn add_reloc(&mut self, section: i32, offset: u32, symbol: u32, typ: u16) {
        self.sections[section as usize - 1].relocs.push(Reloc {
            offset,
            symbol,
            typ,
        });
    }
}

/// Links what `cfg` names and returns the output file's bytes.
pub fn link(cfg: &Config) -> Result<Vec<u8>, LinkError> {
    let mut ctx = resolve::resolve(cfg)?;
    let lay = layout::layout(&mut ctx)?;
    let bytes = write::write(&ctx, &lay)?;
    if let Some(path) = &cfg.map {
        map::write_map(&ctx, &lay, path)?;
    }
    Ok(bytes)
}

/// Links and writes the output file (and `--out-implib`), replacing any old files.
pub fn link_to_file(cfg: &Config) -> Result<(), LinkError> {
    let mut ctx = resolve::resolve(cfg)?;
    let lay = layout::layout(&mut ctx)?;
    let bytes = write::write(&ctx, &lay)?;
    if let Some(path) = &cfg.map {
        map::write_map(&ctx, &lay, path)?;
    }
    replace_file(&cfg.output, &bytes)?;
    if let Some(path) = &cfg.out_implib {
        let lib = write::import_library(&ctx, &lay)?;
        replace_file(path, &lib)?;
    }
    Ok(())
}

fn replace_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), LinkError> {
    let os = |e: std::io::Error| LinkError::Os {
        operation: format!("writing {}", path.display()),
        message: e.to_string(),
    };
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(os(e)),
    }
    std::fs::write(path, bytes).map_err(os)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(os)?;
    }
    Ok(())
}
