//! `ObjectModule`: the linker's input type.
//!
//! The compiler produces one per compilation; the object readers (ELF `.o`, COFF `.obj`)
//! produce the same type from files, so one linker links them all together.
//!
//! Invariants:
//! - `SectionId`/`SymbolId` index `sections`/`symbols` of the same module.
//! - A relocation's `offset` plus its width lies inside its section's `data`.
//! - `Bss` sections have empty `data` and a `size`; all others have `size == data.len()`.
//! - Symbol names are unique among `Global` and `Weak` definitions within one module.

/// Index of a section inside one `ObjectModule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SectionId(pub u32);

/// Index of a symbol inside one `ObjectModule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolId(pub u32);

/// What a section holds; decides its output segment and protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// Executable code (R+X).
    Text,
    /// Read-only data (R).
    ReadOnlyData,
    /// Initialised writable data (R+W).
    Data,
    /// Zero-initialised writable data (R+W); occupies no file space.
    Bss,
}

#[derive(Clone, Debug)]
pub struct Section {
    /// Name as it appears in object files (`.text`, `.rodata`, `.data`, `.bss`, ...).
    pub name: String,
    pub kind: SectionKind,
    /// Alignment in bytes, a power of two.
    pub align: u64,
    /// Contents; empty for `Bss`.
    pub data: Vec<u8>,
    /// Size in bytes (equals `data.len()` except for `Bss`).
    pub size: u64,
    pub relocations: Vec<Relocation>,
}

/// How a relocation computes the value it writes.
/// Notation as in the ELF ABI: S = symbol address, A = addend, P = address of the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelocKind {
    /// 64-bit absolute: S + A.
    Abs64,
    /// 32-bit absolute, zero-extended by the user: S + A must fit in u32.
    Abs32,
    /// 32-bit absolute, sign-extended by the user: S + A must fit in i32.
    Abs32S,
    /// 32-bit PC-relative data reference: S + A - P. The target must be within ±2 GiB;
    /// the linker never redirects it.
    PcRel32,
    /// 32-bit PC-relative `call`/`jmp` target: S + A - P. The linker may redirect it
    /// through a stub (PLT entry, import thunk, JIT far-symbol slot) when the symbol is
    /// imported or out of rel32 range.
    Branch32,
    /// 32-bit PC-relative reference to an 8-byte slot that holds S (a GOT entry or an
    /// import address table entry): G + A - P. The linker creates the slot.
    GotPcRel32,
}

impl RelocKind {
    /// Width in bytes of the field the relocation patches.
    pub fn width(self) -> usize {
        match self {
            RelocKind::Abs64 => 8,
            _ => 4,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Relocation {
    /// Offset of the patched field from the start of its section.
    pub offset: u64,
    pub symbol: SymbolId,
    pub kind: RelocKind,
    pub addend: i64,
}

/// Visibility of a symbol to other modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binding {
    /// Visible only inside its module.
    Local,
    /// Visible to every module; a second global definition is a link error.
    Global,
    /// Visible to every module; a global definition overrides it.
    Weak,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    Function,
    Data,
    /// A section symbol or an unknown kind (from object files).
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SymbolDef {
    /// Defined at `offset` inside `section`.
    Defined {
        section: SectionId,
        offset: u64,
        size: u64,
    },
    /// Absolute value, not relocated.
    Absolute(u64),
    /// Not defined here: another module, an archive member, or the JIT host defines it.
    Undefined,
    /// Imported from a shared library / DLL named by the program
    /// (`@extern(module, "kernel32")` → `"kernel32"`). Writers add the platform suffix
    /// (`kernel32.dll`, `libc.so.6` via the library search) as their format needs.
    Import { library: String },
}

#[derive(Clone, Debug)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    pub binding: Binding,
    pub def: SymbolDef,
}

/// One object: sections with relocations, and symbols.
#[derive(Clone, Debug, Default)]
pub struct ObjectModule {
    /// Where the module came from (a file path, or `<meteor>` for compiler output);
    /// used in error messages.
    pub name: String,
    pub sections: Vec<Section>,
    pub symbols: Vec<Symbol>,
}

impl ObjectModule {
    pub fn new(name: impl Into<String>) -> Self {
        ObjectModule {
            name: name.into(),
            sections: Vec::new(),
            symbols: Vec::new(),
        }
    }

    /// Adds an empty section and returns its id.
    pub fn add_section(
        &mut self,
        name: impl Into<String>,
        kind: SectionKind,
        align: u64,
    ) -> SectionId {
        let id = SectionId(self.sections.len() as u32);
        self.sections.push(Section {
            name: name.into(),
            kind,
            align,
            data: Vec::new(),
            size: 0,
            relocations: Vec::new(),
        });
        id
    }

    /// Appends bytes to a non-bss section (aligned to `align` first) and returns their offset.
    pub fn append_data(&mut self, section: SectionId, bytes: &[u8], align: u64) -> u64 {
        let s = &mut self.sections[section.0 as usize];
        debug_assert!(s.kind != SectionKind::Bss);
        let align = align.max(1);
        while !(s.data.len() as u64).is_multiple_of(align) {
            s.data
                .push(if s.kind == SectionKind::Text { 0xCC } else { 0 });
        }
        s.align = s.align.max(align);
        let offset = s.data.len() as u64;
        s.data.extend_from_slice(bytes);
        s.size = s.data.len() as u64;
        offset
    }

    /// Reserves zeroed space in a bss section and returns its offset.
    pub fn reserve_bss(&mut self, section: SectionId, size: u64, align: u64) -> u64 {
        let s = &mut self.sections[section.0 as usize];
        debug_assert!(s.kind == SectionKind::Bss);
        let align = align.max(1);
        let offset = s.size.div_ceil(align) * align;
        s.size = offset + size;
        s.align = s.align.max(align);
        offset
    }

    pub fn add_symbol(&mut self, symbol: Symbol) -> SymbolId {
        let id = SymbolId(self.symbols.len() as u32);
        self.symbols.push(symbol);
        id
    }

    /// Returns the id of the symbol named `name`, adding an undefined global one if absent.
    pub fn symbol_or_undefined(&mut self, name: &str, kind: SymbolKind) -> SymbolId {
        if let Some(i) = self
            .symbols
            .iter()
            .position(|s| s.name == name && s.binding != Binding::Local)
        {
            return SymbolId(i as u32);
        }
        self.add_symbol(Symbol {
            name: name.to_string(),
            kind,
            binding: Binding::Global,
            def: SymbolDef::Undefined,
        })
    }

    pub fn add_relocation(&mut self, section: SectionId, reloc: Relocation) {
        self.sections[section.0 as usize].relocations.push(reloc);
    }

    pub fn section(&self, id: SectionId) -> &Section {
        &self.sections[id.0 as usize]
    }

    pub fn symbol(&self, id: SymbolId) -> &Symbol {
        &self.symbols[id.0 as usize]
    }

    pub fn find_symbol(&self, name: &str) -> Option<SymbolId> {
        self.symbols
            .iter()
            .position(|s| s.name == name && s.binding != Binding::Local)
            .map(|i| SymbolId(i as u32))
    }
}
