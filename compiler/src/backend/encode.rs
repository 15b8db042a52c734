//! Back-end pass: encoding. Turns the allocated, framed LIR of every function into machine
//! code in `.text` (one `Function` symbol each), the module's globals into
//! `.rodata`/`.data`/`.bss` (one `Data` symbol each), and every reference into a
//! relocation: `Branch32` for calls, `PcRel32` for rip-relative data and function
//! addresses, `GotPcRel32` for the address of an external function, `Abs64` for
//! addresses stored in data.
//!
//! Spill slots become `[rsp + offset]` operands; where an instruction cannot take a memory
//! operand (or two), the value goes through r11 (and r10 for a store's value). Parallel
//! moves are sequentialized here, breaking cycles through r11.
//!
//! Jumps to the next block are dropped, a conditional jump to the next block is inverted,
//! backward jumps within reach use the 2-byte form.
//!
//! Float constants, sign masks and jump tables go to a constant pool at the end of
//! `.rodata`, addressed through one local symbol (`$meteor.pool`); jump table entries are
//! 32-bit offsets of the target from the table (`PcRel32` relocations to the function).
//! Register copies pick the instruction from the register classes (`mov`, `movaps`,
//! `movq`, `movsd` for spill slots).

use super::asm::{Asm, AsmReloc, RelocTarget, Rm};
use super::lir::*;
use super::pipeline::FuncJob;
use crate::compilation::Compilation;
use crate::fxhash::HashMap;
use crate::ir::{FuncId, FunctionKind, SymbolRef};
use meteor_linker::{
    Binding, RelocKind, Relocation, SectionId, SectionKind, Symbol, SymbolDef, SymbolId, SymbolKind,
};

const R10: u8 = 10;
const R11: u8 = 11;
const RSP: u8 = 4;

/// Machine code of the functions encoded so far, one after the other (each 16-byte
/// aligned), in the order they were encoded.
#[derive(Default)]
pub struct Code {
    /// Code bytes (`buf`), relocations (absolute offsets in `buf`), constant pool.
    pub asm: Asm,
    /// Per function, in `buf` order: (function, start, end, first relocation, end of its
    /// relocations).
    pub ranges: Vec<CodeRange>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRange {
    pub func: FuncId,
    pub start: u32,
    pub end: u32,
    pub relocs: (u32, u32),
}

impl Code {
    /// Appends the code of `f` (function `id`).
    pub fn push(&mut self, f: &MFunc, id: FuncId) {
        let asm = &mut self.asm;
        while !asm.buf.len().is_multiple_of(16) {
            asm.buf.push(0xCC);
        }
        let (start, first) = (asm.buf.len() as u32, asm.relocs.len() as u32);
        emit_function(asm, f, id);
        self.ranges.push(CodeRange {
            func: id,
            start,
            end: asm.buf.len() as u32,
            relocs: (first, asm.relocs.len() as u32),
        });
    }

    /// Puts the functions in `FuncId` order (they usually are already: IR generation
    /// finishes bodies in `FuncId` order).
    pub(crate) fn into_func_order(self) -> Code {
        if self.ranges.is_sorted_by_key(|r| r.func) {
            return self;
        }
        let Code {
            asm: old,
            mut ranges,
        } = self;
        ranges.sort_by_key(|r| r.func);
        let mut asm = Asm::new();
        asm.buf.reserve(old.buf.len() + 16 * ranges.len());
        asm.relocs.reserve(old.relocs.len());
        for r in &mut ranges {
            while !asm.buf.len().is_multiple_of(16) {
                asm.buf.push(0xCC);
            }
            let start = asm.buf.len() as u32;
            asm.buf
                .extend_from_slice(&old.buf[r.start as usize..r.end as usize]);
            let first = asm.relocs.len() as u32;
            asm.relocs.extend(
                old.relocs[r.relocs.0 as usize..r.relocs.1 as usize]
                    .iter()
                    .map(|x| AsmReloc {
                        offset: x.offset - r.start + start,
                        ..*x
                    }),
            );
            *r = CodeRange {
                func: r.func,
                start,
                end: asm.buf.len() as u32,
                relocs: (first, asm.relocs.len() as u32),
            };
        }
        asm.pool = old.pool;
        asm.pool_relocs = old.pool_relocs;
        Code { asm, ranges }
    }
}

/// Per-function pass: encodes `j.mf` after the worker's code so far, and drops the LIR.
pub fn run_function(j: &mut FuncJob<'_>) {
    let Some(mf) = j.mf.take() else { return };
    j.w.code.push(&mf, j.id);
}

/// The module-level pass (back-end tests): encodes every function in `c.back.funcs` and
/// assembles `c.object`.
pub fn run(c: &mut Compilation) {
    let mut code = Code::default();
    for (i, mf) in c.back.funcs.iter().enumerate() {
        if let Some(mf) = mf {
            code.push(mf, FuncId(i as u32));
        }
    }
    assemble(c, code);
}

/// Builds `c.object` from the encoded functions, placed in `FuncId` order, and from
/// `c.ir`'s declarations and globals.
pub fn assemble(c: &mut Compilation, code: Code) {
    let Code { asm, ranges } = code.into_func_order();
    let Asm {
        buf,
        relocs,
        pool,
        pool_relocs,
        ..
    } = asm;
    let obj = &mut c.object;
    let m = &c.ir;
    let text = obj.add_section(".text", SectionKind::Text, 16);
    let mut sections: [Option<SectionId>; 3] = [None; 3];

    // Symbols first, so code can refer to any of them.
    let mut func_sym: Vec<Option<SymbolId>> = Vec::with_capacity(m.functions.len());
    let mut undefined: HashMap<&str, SymbolId> = HashMap::default();
    for (i, f) in m.functions.iter().enumerate() {
        let exported = f.exported || m.entry == Some(FuncId(i as u32));
        let binding = if exported {
            Binding::Global
        } else {
            Binding::Local
        };
        let id = match &f.kind {
            FunctionKind::Defined(_) => Some(obj.add_symbol(Symbol {
                name: f.name.clone(),
                kind: SymbolKind::Function,
                binding,
                def: SymbolDef::Defined {
                    section: text,
                    offset: 0,
                    size: 0,
                },
            })),
            FunctionKind::External { library: Some(lib) } => Some(obj.add_symbol(Symbol {
                name: f.name.clone(),
                kind: SymbolKind::Function,
                binding: Binding::Global,
                def: SymbolDef::Import {
                    library: lib.clone(),
                },
            })),
            FunctionKind::External { library: None } => {
                Some(*undefined.entry(f.name.as_str()).or_insert_with(|| {
                    obj.add_symbol(Symbol {
                        name: f.name.clone(),
                        kind: SymbolKind::Function,
                        binding: Binding::Global,
                        def: SymbolDef::Undefined,
                    })
                }))
            }
            FunctionKind::Syscall(_) => None,
        };
        func_sym.push(id);
    }
    let mut global_sym: Vec<SymbolId> = Vec::with_capacity(m.globals.len());
    for g in &m.globals {
        let init_len = g.init.as_ref().map_or(g.size as usize, |i| i.len());
        if init_len != g.size as usize {
            c.diags.error_no_span(format!(
                "internal error: global `{}` has {} bytes of initializer for size {}",
                g.name, init_len, g.size
            ));
        }
        if g.relocs
            .iter()
            .any(|r| r.offset as u64 + 8 > init_len as u64)
            || (!g.relocs.is_empty() && g.init.is_none())
        {
            c.diags.error_no_span(format!(
                "internal error: global `{}` has an address outside its initializer",
                g.name
            ));
            global_sym.push(obj.add_symbol(Symbol {
                name: g.name.clone(),
                kind: SymbolKind::Data,
                binding: Binding::Local,
                def: SymbolDef::Undefined,
            }));
            continue;
        }
        let (k, name, kind) = match (&g.init, g.mutable) {
            (None, true) => (2, ".bss", SectionKind::Bss),
            (Some(_), true) => (1, ".data", SectionKind::Data),
            (_, false) => (0, ".rodata", SectionKind::ReadOnlyData),
        };
        let sec = *sections[k].get_or_insert_with(|| obj.add_section(name, kind, 1));
        let align = g.align.max(1).next_power_of_two() as u64;
        let offset = match &g.init {
            None if kind == SectionKind::Bss => obj.reserve_bss(sec, g.size as u64, align),
            None => obj.append_data(sec, &vec![0u8; g.size as usize], align),
            Some(bytes) => obj.append_data(sec, bytes, align),
        };
        global_sym.push(obj.add_symbol(Symbol {
            name: g.name.clone(),
            kind: SymbolKind::Data,
            binding: if g.exported {
                Binding::Global
            } else {
                Binding::Local
            },
            def: SymbolDef::Defined {
                section: sec,
                offset,
                size: g.size as u64,
            },
        }));
    }
    let sym_of = |s: SymbolRef| -> Option<SymbolId> {
        match s {
            SymbolRef::Func(f) => func_sym[f.index()],
            SymbolRef::Global(g) => Some(global_sym[g.index()]),
        }
    };
    for (gi, g) in m.globals.iter().enumerate() {
        let SymbolDef::Defined {
            section, offset, ..
        } = obj.symbol(global_sym[gi]).def
        else {
            continue;
        };
        for r in &g.relocs {
            match sym_of(r.symbol) {
                Some(symbol) => obj.add_relocation(
                    section,
                    Relocation {
                        offset: offset + r.offset as u64,
                        symbol,
                        kind: RelocKind::Abs64,
                        addend: r.addend,
                    },
                ),
                None => c.diags.error_no_span(format!(
                    "global `{}` stores the address of a system call",
                    g.name
                )),
            }
        }
    }

    // Code.
    let mut has_code = vec![false; m.functions.len()];
    let mut code_ranges = Vec::with_capacity(ranges.len());
    for r in &ranges {
        let i = r.func.index();
        if let Some(h) = has_code.get_mut(i) {
            *h = true;
        }
        if let Some(id) = func_sym.get(i).copied().flatten() {
            obj.symbols[id.0 as usize].def = SymbolDef::Defined {
                section: text,
                offset: r.start as u64,
                size: (r.end - r.start) as u64,
            };
        }
        code_ranges.push((r.func, r.start as u64, r.end as u64));
    }
    for (f, _) in m.functions.iter().zip(&has_code).filter(|(_, h)| !**h) {
        if matches!(f.kind, FunctionKind::Defined(_)) {
            c.diags.error_no_span(format!(
                "internal error: no code was generated for function `{}`",
                f.name
            ));
        }
    }
    // The constant pool.
    let mut pool_sym = None;
    if !pool.is_empty() {
        let sec = *sections[0]
            .get_or_insert_with(|| obj.add_section(".rodata", SectionKind::ReadOnlyData, 1));
        let offset = obj.append_data(sec, &pool, 16);
        let sym = obj.add_symbol(Symbol {
            name: "$meteor.pool".into(),
            kind: SymbolKind::Data,
            binding: Binding::Local,
            def: SymbolDef::Defined {
                section: sec,
                offset,
                size: pool.len() as u64,
            },
        });
        pool_sym = Some(sym);
        for r in &pool_relocs {
            if let Some(symbol) = func_sym[r.func.index()] {
                obj.add_relocation(
                    sec,
                    Relocation {
                        offset: offset + r.offset as u64,
                        symbol,
                        kind: RelocKind::PcRel32,
                        addend: r.addend,
                    },
                );
            }
        }
    }
    let s = &mut obj.sections[text.0 as usize];
    s.data = buf;
    s.size = s.data.len() as u64;
    for r in &relocs {
        let target = match r.target {
            RelocTarget::Symbol(sym) => sym_of(sym),
            RelocTarget::Pool => pool_sym,
        };
        match target {
            Some(symbol) => s.relocations.push(Relocation {
                offset: r.offset as u64,
                symbol,
                kind: r.kind,
                addend: r.addend,
            }),
            None => c
                .diags
                .error_no_span("internal error: a relocation refers to a system call".to_string()),
        }
    }
    c.back.code_ranges = code_ranges;
    if c.options.print.asm {
        super::disasm::print_module(c);
    }
}

/// Emits one function (prologue, blocks, epilogues) at the end of `asm`; `id` is the
/// function's own id (jump tables refer to it).
pub fn emit_function(asm: &mut Asm, f: &MFunc, id: FuncId) {
    let mut e = Emitter {
        a: asm,
        f,
        labels: vec![u32::MAX; f.blocks.len()],
        fixups: Vec::new(),
        base: 0,
        xs: f.conv.xmm_scratch(),
        tables: Vec::new(),
    };
    e.base = e.a.buf.len();
    e.prologue();
    let nb = f.blocks.len();
    for (bi, b) in f.blocks.iter().enumerate() {
        e.labels[bi] = (e.a.buf.len() - e.base) as u32;
        let insts = &f.insts[b.start as usize..b.end as usize];
        let mut k = 0;
        while k < insts.len() {
            let next = if bi + 1 < nb {
                (bi + 1) as u32
            } else {
                u32::MAX
            };
            match (&insts[k], insts.get(k + 1)) {
                (MInst::Jcc { cc, target }, Some(MInst::Jmp { target: other }))
                    if *target == next =>
                {
                    e.jump(Some(cc.invert()), *other);
                    k += 2;
                    continue;
                }
                (MInst::Jmp { target }, _) if *target == next => {}
                (MInst::Jmp { target }, _) => e.jump(None, *target),
                (MInst::Jcc { cc, target }, _) => e.jump(Some(*cc), *target),
                (inst, _) => e.inst(inst),
            }
            k += 1;
        }
    }
    for (at, target) in std::mem::take(&mut e.fixups) {
        let dest = e.labels[target as usize] as i64;
        let rel = dest - (at as i64 + 4);
        e.a.buf[e.base + at..e.base + at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
    }
    // Jump table entries: target - table, as `PcRel32` to this function + label + 4i.
    for (pool_off, table) in std::mem::take(&mut e.tables) {
        for (i, &t) in f.jump_tables[table as usize].iter().enumerate() {
            e.a.pool_relocs.push(super::asm::PoolReloc {
                offset: pool_off + 4 * i as u32,
                func: id,
                addend: e.labels[t as usize] as i64 + 4 * i as i64,
            });
        }
    }
}

struct Emitter<'a> {
    a: &'a mut Asm,
    f: &'a MFunc,
    /// Offset of each block from the function start.
    labels: Vec<u32>,
    /// (offset of a rel32 field from the function start, target block).
    fixups: Vec<(usize, u32)>,
    base: usize,
    /// The SSE scratch register (hardware number 16..32).
    xs: u8,
    /// (pool offset, jump table) of the tables this function uses.
    tables: Vec<(u32, u32)>,
}

fn is_xmm(r: u8) -> bool {
    r >= 16
}

impl Emitter<'_> {
    fn pos(&self) -> usize {
        self.a.buf.len() - self.base
    }

    fn jump(&mut self, cc: Option<Cond>, target: u32) {
        let dest = self.labels[target as usize];
        if dest != u32::MAX {
            // Backward: the distance is known.
            let short_len = 2;
            let rel8 = dest as i64 - (self.pos() as i64 + short_len);
            if rel8 >= i8::MIN as i64 {
                match cc {
                    Some(cc) => self.a.jcc8(cc, rel8 as i8),
                    None => self.a.jmp8(rel8 as i8),
                };
                return;
            }
            let len = if cc.is_some() { 6 } else { 5 };
            let rel = (dest as i64 - (self.pos() as i64 + len)) as i32;
            match cc {
                Some(cc) => self.a.jcc32(cc, rel),
                None => self.a.jmp32(rel),
            };
            return;
        }
        let at = match cc {
            Some(cc) => self.a.jcc32(cc, 0),
            None => self.a.jmp32(0),
        } - self.base;
        self.fixups.push((at, target));
    }

    fn prologue(&mut self) {
        let fr = &self.f.frame;
        if fr.frameless {
            return;
        }
        self.a.push(Reg::RBP.hw());
        self.a.mov_rm_r(8, Rm::Reg(Reg::RBP.hw()), RSP);
        for &r in &fr.saved {
            self.a.push(r);
        }
        if fr.sub != 0 {
            self.a
                .alu_rm_imm(AluOp::Sub, 8, Rm::Reg(RSP), fr.sub as i32);
        }
        if fr.realign != 0 {
            self.a
                .alu_rm_imm(AluOp::And, 8, Rm::Reg(RSP), -(fr.realign as i32));
        }
        for &(x, off) in &fr.saved_xmm {
            self.a.movups_store(
                Rm::Mem {
                    base: RSP,
                    disp: off,
                },
                x,
            );
        }
    }

    fn epilogue(&mut self) {
        let fr = &self.f.frame;
        if fr.frameless {
            return;
        }
        let k = fr.saved.len() as i32;
        for &(x, off) in &fr.saved_xmm {
            self.a.movups_load(
                x,
                Rm::Mem {
                    base: RSP,
                    disp: off,
                },
            );
        }
        if fr.sub != 0 || fr.realign != 0 {
            if k == 0 {
                self.a.mov_rm_r(8, Rm::Reg(RSP), Reg::RBP.hw());
            } else {
                self.a.lea(
                    RSP,
                    Rm::Mem {
                        base: Reg::RBP.hw(),
                        disp: -8 * k,
                    },
                );
            }
        }
        for &r in fr.saved.iter().rev() {
            self.a.pop(r);
        }
        self.a.pop(Reg::RBP.hw());
    }

    /// The operand for an allocated register: the register or its spill slot.
    fn rm(&self, r: Reg) -> Rm {
        if r.is_phys() {
            Rm::Reg(r.hw())
        } else {
            let off = self
                .f
                .frame
                .spill_offsets
                .get(r.spill_index() as usize)
                .copied()
                .unwrap_or(0);
            Rm::Mem {
                base: RSP,
                disp: off,
            }
        }
    }

    /// The register for an allocated register, loading a spilled one into `scratch`.
    fn in_reg(&mut self, r: Reg, scratch: u8) -> u8 {
        match self.rm(r) {
            Rm::Reg(x) => x,
            m => {
                self.a.mov_r_rm(8, scratch, m);
                scratch
            }
        }
    }

    /// A memory operand for `addr`; a spilled base register is loaded into r11.
    fn mem(&mut self, addr: &Addr) -> Rm {
        match addr.base {
            Base::Reg(r) => {
                let base = self.in_reg(r, R11);
                Rm::Mem {
                    base,
                    disp: addr.disp,
                }
            }
            Base::Slot(s) => {
                let off = self
                    .f
                    .frame
                    .slot_offsets
                    .get(s as usize)
                    .copied()
                    .unwrap_or(0);
                Rm::Mem {
                    base: RSP,
                    disp: off + addr.disp,
                }
            }
            Base::Sym(sym) => Rm::Rip {
                sym,
                disp: addr.disp,
                got: false,
            },
        }
    }

    /// The register to compute a result in: the destination, or r11 if it is spilled.
    fn dst_reg(&self, r: Reg) -> u8 {
        if r.is_phys() { r.hw() } else { R11 }
    }

    /// Stores r11 to a spilled destination.
    fn finish_dst(&mut self, r: Reg) {
        if !r.is_phys() {
            let m = self.rm(r);
            self.a.mov_rm_r(8, m, R11);
        }
    }

    /// A full-register copy between allocated locations; `scratch` for memory to memory.
    fn copy(&mut self, size: u8, dst: Reg, src: Reg, scratch: u8) {
        if dst == src {
            return;
        }
        match (self.rm(dst), self.rm(src)) {
            (Rm::Reg(d), Rm::Reg(s)) if is_xmm(d) && is_xmm(s) => self.a.movaps(d, s),
            (Rm::Reg(d), s) if is_xmm(d) => match s {
                Rm::Reg(_) => self.a.movq_x_rm(d, s),
                m => self.a.movs_load(true, d, m),
            },
            (d, Rm::Reg(s)) if is_xmm(s) => match d {
                Rm::Reg(_) => self.a.movq_rm_x(d, s),
                m => self.a.movs_store(true, m, s),
            },
            (Rm::Reg(d), Rm::Reg(s)) => {
                self.a
                    .mov_rm_r(if size <= 4 { 4 } else { 8 }, Rm::Reg(d), s)
            }
            (Rm::Reg(d), m) => self.a.mov_r_rm(8, d, m),
            (m, Rm::Reg(s)) => self.a.mov_rm_r(8, m, s),
            (dm, sm) => {
                self.a.mov_r_rm(8, scratch, sm);
                self.a.mov_rm_r(8, dm, scratch);
            }
        }
    }

    fn mov_imm(&mut self, size: u8, dst: Reg, imm: i64) {
        match self.rm(dst) {
            Rm::Reg(d) if imm == 0 => self.a.zero(d),
            Rm::Reg(d) => self.a.mov_r_imm(size, d, imm),
            m if size <= 4 || imm == imm as i32 as i64 => self.a.mov_rm_imm(8, m, imm as i32),
            m => {
                self.a.mov_r_imm(8, R11, imm);
                self.a.mov_rm_r(8, m, R11);
            }
        }
    }

    fn inst(&mut self, inst: &MInst) {
        match *inst {
            MInst::Mov { size, dst, src } => self.copy(size, dst, src, R11),
            MInst::MovImm { size, dst, imm } => self.mov_imm(size, dst, imm),
            MInst::Alu { op, size, dst, src } => match (self.rm(dst), self.rm(src)) {
                (Rm::Reg(d), Rm::Reg(s)) => self.a.alu_rm_r(op, size, Rm::Reg(d), s),
                (Rm::Reg(d), sm) => self.a.alu_r_rm(op, size, d, sm),
                (dm, Rm::Reg(s)) => self.a.alu_rm_r(op, size, dm, s),
                (dm, sm) => {
                    self.a.mov_r_rm(8, R11, sm);
                    self.a.alu_rm_r(op, size, dm, R11);
                }
            },
            MInst::AluImm { op, size, dst, imm } => {
                let m = self.rm(dst);
                self.a.alu_rm_imm(op, size, m, imm);
            }
            MInst::Imul { size, dst, src } => {
                let d = self.in_reg(dst, R11);
                let s = self.rm(src);
                self.a.imul_r_rm(size, d, s);
                self.finish_dst(dst);
            }
            MInst::ImulImm {
                size,
                dst,
                src,
                imm,
            } => {
                let d = self.dst_reg(dst);
                let s = self.rm(src);
                self.a.imul_r_rm_imm(size, d, s, imm);
                self.finish_dst(dst);
            }
            MInst::Shift { op, size, dst } => {
                let m = self.rm(dst);
                self.a.shift_rm_cl(op, size, m);
            }
            MInst::ShiftImm { op, size, dst, imm } => {
                let m = self.rm(dst);
                self.a.shift_rm_imm(op, size, m, imm);
            }
            MInst::Unary { op, size, dst } => {
                let m = self.rm(dst);
                self.a.unary_rm(op, size, m);
            }
            MInst::Ext {
                signed,
                from,
                to,
                dst,
                src,
            } => {
                let d = self.dst_reg(dst);
                let s = self.rm(src);
                if from >= 4 && !signed {
                    self.a.mov_r_rm(4, d, s);
                } else if signed {
                    self.a.movsx(to, d, from, s);
                } else {
                    self.a.movzx(4, d, from, s);
                }
                self.finish_dst(dst);
            }
            MInst::Test { size, a, b } => match (self.rm(a), self.rm(b)) {
                (am, Rm::Reg(bx)) => self.a.test_rm_r(size, am, bx),
                (Rm::Reg(ax), bm) => self.a.test_rm_r(size, bm, ax),
                (am, bm) => {
                    self.a.mov_r_rm(8, R11, bm);
                    self.a.test_rm_r(size, am, R11);
                }
            },
            MInst::Setcc { cc, dst } => {
                let m = self.rm(dst);
                self.a.setcc(cc, m);
            }
            MInst::SignExtendRax { size } => self.a.sign_extend_rax(size),
            MInst::Div { signed, size, src } => {
                let m = self.rm(src);
                self.a.div_rm(signed, size, m);
            }
            MInst::Load {
                size,
                dst,
                ref addr,
            } if dst.is_xmm() => {
                let m = self.mem(addr);
                self.a.movs_load(size == 8, dst.hw(), m);
            }
            MInst::Store {
                size,
                ref addr,
                src,
            } if src.is_xmm() => {
                let m = self.mem(addr);
                self.a.movs_store(size == 8, m, src.hw());
            }
            MInst::Load {
                size,
                dst,
                ref addr,
            } => {
                let m = self.mem(addr);
                let d = self.dst_reg(dst);
                match size {
                    1 | 2 => self.a.movzx(4, d, size, m),
                    _ => self.a.mov_r_rm(size, d, m),
                }
                self.finish_dst(dst);
            }
            MInst::Store {
                size,
                ref addr,
                src,
            } => {
                let s = self.in_reg(src, R10);
                let m = self.mem(addr);
                self.a.mov_rm_r(size, m, s);
            }
            MInst::StoreImm {
                size,
                ref addr,
                imm,
            } => {
                let m = self.mem(addr);
                self.a.mov_rm_imm(size, m, imm);
            }
            MInst::Lea { dst, ref addr } => {
                let m = self.mem(addr);
                let d = self.dst_reg(dst);
                self.a.lea(d, m);
                self.finish_dst(dst);
            }
            MInst::LoadGot { dst, func } => {
                let d = self.dst_reg(dst);
                self.a.mov_r_rm(
                    8,
                    d,
                    Rm::Rip {
                        sym: SymbolRef::Func(func),
                        disp: 0,
                        got: true,
                    },
                );
                self.finish_dst(dst);
            }
            MInst::Call { target, .. } => match target {
                CallTarget::Func(f) => self.a.call_sym(SymbolRef::Func(f)),
                CallTarget::Reg(r) => {
                    let m = self.rm(r);
                    self.a.call_rm(m);
                }
            },
            MInst::Syscall { .. } => self.a.syscall(),
            MInst::Ret { .. } => {
                self.epilogue();
                self.a.ret();
            }
            MInst::Ud2 => self.a.ud2(),
            MInst::Jmp { target } => self.jump(None, target),
            MInst::Jcc { cc, target } => self.jump(Some(cc), target),
            MInst::ParMove { start, len } => {
                self.par_move(&self.f.pmoves[start as usize..(start + len) as usize])
            }
            MInst::FConst { double, dst, bits } => match self.rm(dst) {
                Rm::Reg(d) if bits == 0 => self.a.xorps(d, Rm::Reg(d)),
                Rm::Reg(d) => {
                    let disp = self.a.pool_const(bits, if double { 8 } else { 4 });
                    self.a.movs_load(double, d, Rm::Pool { disp });
                }
                m => {
                    let bits = if double { bits } else { bits as u32 as u64 };
                    self.a.mov_r_imm(8, R11, bits as i64);
                    self.a.mov_rm_r(8, m, R11);
                }
            },
            MInst::FBin {
                op,
                double,
                dst,
                src,
            } => {
                let d = self.xmm_in(dst);
                let s = self.rm(src);
                self.a.fop(op, double, d, s);
                self.xmm_out(dst);
            }
            MInst::FRem { double, dst, src } => self.frem(double, dst, src),
            MInst::FNeg { double, dst } => {
                let d = self.xmm_in(dst);
                let mask = if double { 1u64 << 63 } else { 1u64 << 31 };
                let disp = self.a.pool_const(mask, 16);
                self.a.xorps(d, Rm::Pool { disp });
                self.xmm_out(dst);
            }
            MInst::Ucomi { double, a, b } => {
                let x = self.xmm_in(a);
                let m = self.rm(b);
                self.a.ucomis(double, x, m);
            }
            MInst::Cvt { op, dst, src } => self.cvt(op, dst, src),
            MInst::RepMovsb => self.a.rep_movsb(),
            MInst::JumpTable { index, table } => {
                let len = self.f.jump_tables[table as usize].len();
                let off = self.a.pool_reserve(4 * len);
                self.tables.push((off, table));
                self.a.lea(R11, Rm::Pool { disp: off as i32 });
                let idx = self.in_reg(index, R10);
                self.a.movsxd_index4(R10, R11, idx);
                self.a.alu_rm_r(AluOp::Add, 8, Rm::Reg(R10), R11);
                self.a.jmp_r(R10);
            }
        }
    }

    /// `dst = fmod(dst, src)`: both operands go to a 16-byte scratch area made below
    /// `rsp` (dividend at `[rsp]`, divisor at `[rsp + 8]`), the x87 unit repeats `fprem`
    /// until the reduction is complete (C2 clear; each step is exact, so the result is
    /// exact for any quotient), and the result comes back through `[rsp]`. `fprem` is not
    /// affected by the precision control, so the result is the same under the Win64
    /// default (53-bit) and the Linux default (64-bit).
    fn frem(&mut self, double: bool, dst: Reg, src: Reg) {
        const SCRATCH: i32 = 16;
        // A spill slot's `rsp`-relative displacement while the scratch area exists.
        let moved = |m: Rm| match m {
            Rm::Mem { base: RSP, disp } => Rm::Mem {
                base: RSP,
                disp: disp + SCRATCH,
            },
            m => m,
        };
        let at = |disp: i32| Rm::Mem { base: RSP, disp };
        self.a.alu_rm_imm(AluOp::Sub, 8, Rm::Reg(RSP), SCRATCH);
        for (r, disp) in [(dst, 0), (src, 8)] {
            match moved(self.rm(r)) {
                Rm::Reg(x) => self.a.movs_store(double, at(disp), x),
                m => {
                    self.a.mov_r_rm(8, R11, m);
                    self.a.mov_rm_r(8, at(disp), R11);
                }
            }
        }
        self.a.fld(double, at(8));
        self.a.fld(double, at(0));
        self.a.fprem_loop(at(0));
        self.a.fstp_st1();
        self.a.fstp(double, at(0));
        match moved(self.rm(dst)) {
            Rm::Reg(x) => self.a.movs_load(double, x, at(0)),
            m => {
                self.a.mov_r_rm(8, R11, at(0));
                self.a.mov_rm_r(8, m, R11);
            }
        }
        self.a.alu_rm_imm(AluOp::Add, 8, Rm::Reg(RSP), SCRATCH);
    }

    /// An SSE register holding `r` for a read-modify-write: the register, or the scratch
    /// loaded from its spill slot.
    fn xmm_in(&mut self, r: Reg) -> u8 {
        match self.rm(r) {
            Rm::Reg(x) => x,
            m => {
                self.a.movs_load(true, self.xs, m);
                self.xs
            }
        }
    }

    /// Writes the scratch back to the spill slot of `r` if it is spilled.
    fn xmm_out(&mut self, r: Reg) {
        if !r.is_phys() {
            let m = self.rm(r);
            self.a.movs_store(true, m, self.xs);
        }
    }

    /// The SSE register to compute a result in: the destination or the scratch.
    fn xmm_dst(&self, r: Reg) -> u8 {
        if r.is_phys() { r.hw() } else { self.xs }
    }

    fn cvt(&mut self, op: CvtOp, dst: Reg, src: Reg) {
        match op {
            CvtOp::IToF { from, double } => {
                let d = self.xmm_dst(dst);
                let s = self.rm(src);
                self.a.cvtsi2f(double, from == 8, d, s);
                self.xmm_out(dst);
            }
            CvtOp::FToI { to, double } => {
                let d = self.dst_reg(dst);
                let s = self.rm(src);
                self.a.cvttf2si(double, to == 8, d, s);
                self.finish_dst(dst);
            }
            CvtOp::F2F { to_double } => {
                let d = self.xmm_dst(dst);
                let s = self.rm(src);
                self.a.cvtf2f(to_double, d, s);
                self.xmm_out(dst);
            }
            CvtOp::U64ToF { double } => {
                // Non-negative as i64: one conversion. Otherwise halve (keeping the low
                // bit for rounding), convert, double.
                let d = self.xmm_dst(dst);
                let s = self.rm(src);
                self.a.mov_r_rm(8, R11, s);
                self.a.test_rm_r(8, Rm::Reg(R11), R11);
                let js = self.a.jcc8(Cond::S, 0);
                self.a.cvtsi2f(double, true, d, Rm::Reg(R11));
                let jmp = self.a.jmp8(0);
                self.patch8(js);
                self.a.mov_rm_r(8, Rm::Reg(R10), R11);
                self.a.shift_rm_imm(ShiftOp::Shr, 8, Rm::Reg(R10), 1);
                self.a.alu_rm_imm(AluOp::And, 4, Rm::Reg(R11), 1);
                self.a.alu_rm_r(AluOp::Or, 8, Rm::Reg(R10), R11);
                self.a.cvtsi2f(double, true, d, Rm::Reg(R10));
                self.a.fop(FOp::Add, double, d, Rm::Reg(d));
                self.patch8(jmp);
                self.xmm_out(dst);
            }
            CvtOp::FToU64 { double } => {
                // Below 2^63: one conversion. Otherwise subtract 2^63 first and set the
                // top bit afterwards.
                let two63 = if double {
                    0x43E0_0000_0000_0000u64
                } else {
                    0x5F00_0000u64
                };
                let c = self.a.pool_const(two63, if double { 8 } else { 4 });
                let d = self.dst_reg(dst);
                let x = match self.rm(src) {
                    Rm::Reg(x) => x,
                    m => {
                        self.a.movs_load(true, self.xs, m);
                        self.xs
                    }
                };
                self.a.ucomis(double, x, Rm::Pool { disp: c });
                let jae = self.a.jcc8(Cond::Ae, 0);
                self.a.cvttf2si(double, true, d, Rm::Reg(x));
                let jmp = self.a.jmp8(0);
                self.patch8(jae);
                if x != self.xs {
                    self.a.movaps(self.xs, x);
                }
                self.a.fop(FOp::Sub, double, self.xs, Rm::Pool { disp: c });
                self.a.cvttf2si(double, true, d, Rm::Reg(self.xs));
                self.a.mov_r_imm(8, R10, i64::MIN);
                self.a.alu_rm_r(AluOp::Xor, 8, Rm::Reg(d), R10);
                self.patch8(jmp);
                self.finish_dst(dst);
            }
        }
    }

    /// Points the rel8 field at `at` (an offset in `buf`) to the current position.
    fn patch8(&mut self, at: usize) {
        let rel = self.a.buf.len() as i64 - (at as i64 + 1);
        debug_assert!(rel <= i8::MAX as i64);
        self.a.buf[at] = rel as i8 as u8;
    }

    /// Sequentializes a parallel copy: a move is emitted once no pending move reads its
    /// destination; a cycle is broken by saving one destination in r11.
    fn par_move(&mut self, moves: &[PMove]) {
        let mut pending: Vec<(Reg, Reg)> = Vec::with_capacity(moves.len());
        for m in moves {
            if let PSrc::Reg(s) = m.src
                && s != m.dst
            {
                pending.push((m.dst, s));
            }
        }
        while !pending.is_empty() {
            let mut progressed = false;
            let mut i = 0;
            while i < pending.len() {
                let d = pending[i].0;
                if pending.iter().any(|&(_, s)| s == d) {
                    i += 1;
                } else {
                    let (d, s) = pending.swap_remove(i);
                    self.copy(8, d, s, R10);
                    progressed = true;
                }
            }
            if !progressed {
                let d = pending[0].0;
                let tmp = Reg::phys(R11);
                self.copy(8, tmp, d, R10);
                for m in pending.iter_mut() {
                    if m.1 == d {
                        m.1 = tmp;
                    }
                }
            }
        }
        for m in moves {
            if let PSrc::Imm(v) = m.src {
                self.mov_imm(m.size, m.dst, v);
            }
        }
    }
}
