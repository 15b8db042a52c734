//! Meteor's linker. See `linker/ARCHITECTURE.md` for the code map.
//!
//! Stages, each its own module: [`input`] (checking `ObjectModule`s, reading ELF `.o`
//! files), `resolve` (the symbol table), `layout` (output sections and addresses),
//! `relocate` (applying relocations with overflow checks), and the writers `elf` (static
//! ELF64 executable), [`coff`] (the PE/COFF linker) and [`jit`] (in-process image).

mod bytes;
pub mod coff;
pub mod error;
pub mod input;
pub mod jit;
mod layout;
pub mod ld;
pub mod object_module;
mod relocate;
mod resolve;
pub mod target;

pub use error::LinkError;
pub use object_module::{
    Binding, ObjectModule, RelocKind, Relocation, Section, SectionId, SectionKind, Symbol,
    SymbolDef, SymbolId, SymbolKind,
};
pub use target::Target;

/// How to link an executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOptions {
    pub target: Target,
    /// The entry symbol. Empty means the target's default ([`LinkOptions::default_entry`]).
    pub entry: String,
}

impl LinkOptions {
    /// Options for `target` with its default entry symbol.
    pub fn new(target: Target) -> Self {
        LinkOptions {
            target,
            entry: Self::default_entry(target).to_string(),
        }
    }

    /// `_start` on linux-x64, `mainCRTStartup` on windows-x64.
    pub fn default_entry(target: Target) -> &'static str {
        match target {
            Target::LinuxX64 => "_start",
            Target::WindowsX64 => "mainCRTStartup",
        }
    }

    pub(crate) fn entry_symbol(&self) -> &str {
        if self.entry.is_empty() {
            Self::default_entry(self.target)
        } else {
            &self.entry
        }
    }
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions::new(Target::LinuxX64)
    }
}

/// Links `modules` into the bytes of an executable: an ELF64 executable for linux-x64
/// (static, or dynamic when a module imports from a shared library such as `"c"`), a
/// PE32+ console executable for windows-x64.
///
/// On linux-x64 the modules go through `meteor-ld`'s ELF linker ([`ld`]), the same code
/// that links gcc's objects: each module is written as an ELF `.o` and imports become
/// `-l<library>` searched in the system library directories.
pub fn link(modules: Vec<ObjectModule>, options: &LinkOptions) -> Result<Vec<u8>, LinkError> {
    match options.target {
        Target::LinuxX64 => link_elf(&modules, options),
        Target::WindowsX64 => link_pe(&modules, options),
    }
}

/// System library directories searched for a module's imports on linux-x64.
pub const SYSTEM_LIBRARY_DIRS: &[&str] = &[
    "/usr/local/lib/x86_64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/local/lib",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// windows-x64: the modules become COFF objects (`coff::input::from_module`) linked by the
/// same PE linker that links MinGW's objects; imports become lazy import stubs.
fn link_pe(modules: &[ObjectModule], options: &LinkOptions) -> Result<Vec<u8>, LinkError> {
    input::validate_all(modules)?;
    let mut cfg = coff::Config {
        entry: Some(options.entry_symbol().to_string()),
        ..coff::Config::default()
    };
    let mut imports = Vec::new();
    for m in modules {
        let (obj, specs) = coff::input::from_module(m)?;
        cfg.inputs.push(coff::args::Input::Object(Box::new(obj)));
        for s in specs {
            if !imports.contains(&s) {
                imports.push(s);
            }
        }
    }
    cfg.inputs
        .extend(imports.into_iter().map(coff::args::Input::Import));
    coff::link(&cfg)
}

fn link_elf(modules: &[ObjectModule], options: &LinkOptions) -> Result<Vec<u8>, LinkError> {
    input::validate_all(modules)?;
    let mut cfg = ld::Config {
        entry: Some(options.entry_symbol().to_string()),
        ..ld::Config::default()
    };
    let mut libs: Vec<String> = Vec::new();
    for m in modules {
        let (bytes, l) = ld::emit_object::emit(m);
        cfg.inputs
            .push(ld::args::InputArg::Bytes(m.name.clone(), bytes));
        for lib in l {
            if !libs.contains(&lib) {
                libs.push(lib);
            }
        }
    }
    if libs.is_empty() {
        cfg.static_ = true;
    } else {
        cfg.search_paths = SYSTEM_LIBRARY_DIRS
            .iter()
            .map(std::path::PathBuf::from)
            .collect();
        let state = ld::args::PosState {
            as_needed: true,
            ..Default::default()
        };
        for lib in libs {
            let name = if lib.contains(".so") || lib.ends_with(".a") {
                format!(":{lib}")
            } else {
                lib
            };
            cfg.inputs.push(ld::args::InputArg::Lib(name, state));
        }
    }
    ld::link(&cfg)
}
