//! Meteor's linker. See `linker/ARCHITECTURE.md` for the code map.

pub mod object_module;
pub mod target;

pub use object_module::{
    Binding, ObjectModule, RelocKind, Relocation, Section, SectionId, SectionKind, Symbol,
    SymbolDef, SymbolId, SymbolKind,
};
pub use target::Target;
