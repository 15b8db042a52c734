//! Layout: input sections merged by kind into output sections, aligned, then placed at
//! addresses chosen by the writer.
//!
//! A writer creates the output sections it wants, maps each `SectionKind` to one of them
//! (`place_inputs`), reserves room for its own synthetic content (GOT slots, stubs, import
//! tables) with `reserve`, assigns each output section an address, and finally gets the
//! bytes with `fill`. Inputs are placed kind by kind (text, read-only data, data, bss), each
//! kind in module order, so that when bss shares an output section with data (PE `.data`)
//! the zero-initialised part comes last and needs no file space.

use crate::object_module::{ObjectModule, SectionId, SectionKind};
use crate::resolve::Def;

/// Index into [`Layout::sections`].
pub(crate) type OutId = usize;

#[derive(Clone, Debug)]
pub(crate) struct OutputSection {
    pub kind: SectionKind,
    pub align: u64,
    /// Size in memory.
    pub size: u64,
    /// Bytes from the start that hold file contents (the rest is zero-filled bss).
    pub file_size: u64,
    /// Virtual address, assigned by the writer.
    pub addr: u64,
}

pub(crate) struct Layout {
    pub sections: Vec<OutputSection>,
    /// Per module, per input section: the output section and the offset inside it.
    placement: Vec<Vec<(OutId, u64)>>,
}

pub(crate) fn align_up(value: u64, align: u64) -> u64 {
    let align = align.max(1);
    value.div_ceil(align) * align
}

impl Layout {
    pub fn new() -> Self {
        Layout {
            sections: Vec::new(),
            placement: Vec::new(),
        }
    }

    pub fn add_output(&mut self, kind: SectionKind) -> OutId {
        self.sections.push(OutputSection {
            kind,
            align: 1,
            size: 0,
            file_size: 0,
            addr: 0,
        });
        self.sections.len() - 1
    }

    /// Places every input section into the output section `map` chooses for its kind.
    pub fn place_inputs(&mut self, modules: &[ObjectModule], map: impl Fn(SectionKind) -> OutId) {
        self.placement = modules
            .iter()
            .map(|m| vec![(0, 0); m.sections.len()])
            .collect();
        for kind in [
            SectionKind::Text,
            SectionKind::ReadOnlyData,
            SectionKind::Data,
            SectionKind::Bss,
        ] {
            for (mi, module) in modules.iter().enumerate() {
                for (si, section) in module.sections.iter().enumerate() {
                    if section.kind != kind {
                        continue;
                    }
                    let out = map(kind);
                    let offset = self.reserve_inner(
                        out,
                        section.size,
                        section.align,
                        kind != SectionKind::Bss,
                    );
                    self.placement[mi][si] = (out, offset);
                }
            }
        }
    }

    /// Reserves `size` bytes (file-backed) at the end of `out`; returns their offset.
    pub fn reserve(&mut self, out: OutId, size: u64, align: u64) -> u64 {
        self.reserve_inner(out, size, align, true)
    }

    fn reserve_inner(&mut self, out: OutId, size: u64, align: u64, in_file: bool) -> u64 {
        let s = &mut self.sections[out];
        let align = align.max(1);
        let offset = align_up(s.size, align);
        s.size = offset + size;
        s.align = s.align.max(align);
        if in_file {
            s.file_size = s.size;
        }
        offset
    }

    /// Output section and offset of an input section.
    pub fn placement(&self, module: usize, section: SectionId) -> (OutId, u64) {
        self.placement[module][section.0 as usize]
    }

    /// Address of an input section.
    pub fn input_address(&self, module: usize, section: SectionId) -> u64 {
        let (out, offset) = self.placement(module, section);
        self.sections[out].addr + offset
    }

    /// Address of a definition inside the link, `None` for externals.
    pub fn def_address(&self, def: &Def) -> Option<u64> {
        match *def {
            Def::Section {
                module,
                section,
                offset,
            } => Some(self.input_address(module, section) + offset),
            Def::Absolute(value) => Some(value),
            Def::External(_) => None,
        }
    }

    /// The file contents of every output section (`file_size` bytes each), inputs copied
    /// in; padding in code is `int3`.
    pub fn fill(&self, modules: &[ObjectModule]) -> Vec<Vec<u8>> {
        let mut bufs: Vec<Vec<u8>> = self
            .sections
            .iter()
            .map(|s| {
                let pad = if s.kind == SectionKind::Text { 0xCC } else { 0 };
                vec![pad; s.file_size as usize]
            })
            .collect();
        for (mi, module) in modules.iter().enumerate() {
            for (si, section) in module.sections.iter().enumerate() {
                if section.kind == SectionKind::Bss {
                    continue;
                }
                let (out, offset) = self.placement[mi][si];
                let start = offset as usize;
                bufs[out][start..start + section.data.len()].copy_from_slice(&section.data);
            }
        }
        bufs
    }
}
