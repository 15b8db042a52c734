//! Meteor's linker. See `linker/ARCHITECTURE.md` for the code map.
//!
//! Stages, each its own module: [`input`] (checking `ObjectModule`s, reading ELF `.o`
//! files), `resolve` (the symbol table), `layout` (output sections and addresses),
//! `relocate` (applying relocations with overflow checks), and the writers `elf` (static
//! ELF64 executable), `pe` (PE32+ executable) and [`jit`] (in-process image).

mod bytes;
mod elf;
pub mod ld;
pub mod error;
pub mod input;
pub mod jit;
mod layout;
pub mod object_module;
mod pe;
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

/// Links `modules` into the bytes of an executable: a static ELF64 executable for
/// linux-x64, a PE32+ console executable for windows-x64.
pub fn link(modules: Vec<ObjectModule>, options: &LinkOptions) -> Result<Vec<u8>, LinkError> {
    match options.target {
        Target::LinuxX64 => elf::write(&modules, options),
        Target::WindowsX64 => pe::write(&modules, options),
    }
}
