//! Stage 4 of `meteor-ld`: relocations. `scan` decides, per relocation, what the output
//! needs (GOT slots, PLT entries, copy relocations, dynamic relocations, relaxations);
//! `apply_section` computes the values and rewrites instructions for the relaxations
//! (GOTPCRELX → direct, TLS GD/LD/IE → LE in executables). Both use `class` and the same
//! relaxation predicates, so the counts the scan reserves are exactly what apply emits.

use super::elf_types::*;
use super::layout::Lay;
use super::object::Rela;
use super::resolve::{Ctx, Def, FxMap, NONE};
use crate::error::LinkError;

pub const F_PLT: u32 = 1;
pub const F_COPY: u32 = 2;
pub const F_DYNSYM: u32 = 4;
pub const F_CANONICAL: u32 = 8;
pub const F_IPLT: u32 = 16;
pub const F_EXPORT: u32 = 32;

/// How a referenced symbol is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Defined in the output, not preemptible.
    Local,
    /// An absolute value (`SHN_ABS`).
    Abs,
    /// Undefined weak in an executable: 0.
    UndefWeak,
    /// Undefined and referenced: an error in executables.
    Undefined,
    /// Resolved at run time (imported from a DSO, or preemptible in a shared library).
    Dynamic,
    /// A non-preemptible `STT_GNU_IFUNC`: reached through an IPLT entry.
    Ifunc,
}

/// What a GOT entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GotKind {
    Addr,
    TpOff,
    /// Two slots: module id and offset.
    TlsGd,
    /// Two slots: module id and 0 (the local-dynamic module slot).
    TlsLd,
}

/// A symbol as a relocation sees it: a global id, or (object, symbol index) for locals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Global(u32),
    Local(u32, u32),
    None,
}

#[derive(Clone, Copy, Debug)]
pub struct GotEntry {
    pub kind: GotKind,
    pub target: Target,
    /// First slot index in `.got`.
    pub slot: u32,
}

/// A dynamic relocation to emit (`offset` is an address in the output).
#[derive(Clone, Copy, Debug)]
pub struct DynRel {
    pub offset: u64,
    pub rtype: u32,
    /// Global symbol id, or `NONE` for symbol 0.
    pub sym: u32,
    pub addend: i64,
}

#[derive(Default)]
pub struct Scan {
    pub got: Vec<GotEntry>,
    pub got_slots: u32,
    got_index: FxMap<(Target, GotKind), u32>,
    /// Global ids with PLT entries, in entry order.
    pub plt: Vec<u32>,
    /// Global ids with IPLT entries (non-preemptible IFUNCs), in entry order.
    pub iplt: Vec<u32>,
    /// Global ids with copy relocations.
    pub copies: Vec<u32>,
    /// Dynamic relocations the sections' own relocations produce.
    pub section_dynrels: usize,
    pub textrel: bool,
    pub static_tls: bool,
    /// Some relocation is relative to `_GLOBAL_OFFSET_TABLE_` (GOTPC*, GOTOFF64, GOT32/64).
    pub got_base_used: bool,
}

impl Scan {
    pub fn got_entry(&mut self, target: Target, kind: GotKind) -> u32 {
        if let Some(&i) = self.got_index.get(&(target, kind)) {
            return i;
        }
        let i = self.got.len() as u32;
        let n = if matches!(kind, GotKind::TlsGd | GotKind::TlsLd) {
            2
        } else {
            1
        };
        self.got.push(GotEntry {
            kind,
            target,
            slot: self.got_slots,
        });
        self.got_slots += n;
        self.got_index.insert((target, kind), i);
        i
    }

    pub fn find_got(&self, target: Target, kind: GotKind) -> Option<&GotEntry> {
        self.got_index
            .get(&(target, kind))
            .map(|&i| &self.got[i as usize])
    }
}

impl<'a> Ctx<'a> {
    pub fn target(&self, obj: u32, sym: u32) -> Target {
        let o = &self.objs[obj as usize];
        if (sym as usize) < o.first_global {
            Target::Local(obj, sym)
        } else {
            Target::Global(self.obj_globals[obj as usize][sym as usize - o.first_global])
        }
    }

    fn preemptible(&self, gid: u32, typ: u8) -> bool {
        let g = &self.syms[gid as usize];
        self.cfg.shared
            && g.vis == STV_DEFAULT
            && !self.cfg.bsymbolic
            && !(self.cfg.bsymbolic_functions && typ == STT_FUNC)
    }

    /// Symbol type of a target's definition.
    pub fn typ(&self, t: Target) -> u8 {
        match t {
            Target::Local(o, i) => self.objs[o as usize].syms[i as usize].typ,
            Target::Global(g) => match self.syms[g as usize].def {
                Def::Obj { obj, sym } | Def::Common { obj, sym } => {
                    self.objs[obj as usize].syms[sym as usize].typ
                }
                Def::Dso { dso, idx } => self.dsos[dso as usize].defs[idx as usize].typ,
                _ => STT_NOTYPE,
            },
            Target::None => STT_NOTYPE,
        }
    }

    pub fn class(&self, t: Target) -> Class {
        match t {
            Target::None => Class::Abs,
            Target::Local(o, i) => {
                let s = &self.objs[o as usize].syms[i as usize];
                if s.shndx == SHN_ABS {
                    Class::Abs
                } else if s.typ == STT_GNU_IFUNC {
                    Class::Ifunc
                } else {
                    Class::Local
                }
            }
            Target::Global(gid) => {
                let g = &self.syms[gid as usize];
                match g.def {
                    Def::Obj { obj, sym } => {
                        let s = &self.objs[obj as usize].syms[sym as usize];
                        if self.preemptible(gid, s.typ) {
                            Class::Dynamic
                        } else if s.shndx == SHN_ABS {
                            Class::Abs
                        } else if s.typ == STT_GNU_IFUNC {
                            Class::Ifunc
                        } else {
                            Class::Local
                        }
                    }
                    Def::Common { .. } => {
                        if self.preemptible(gid, STT_OBJECT) {
                            Class::Dynamic
                        } else {
                            Class::Local
                        }
                    }
                    Def::Linker => Class::Local,
                    Def::Dso { .. } => Class::Dynamic,
                    Def::Undef | Def::Lazy { .. } => {
                        if self.cfg.shared && (!g.strong_ref || !self.cfg.z_defs) {
                            Class::Dynamic
                        } else if !g.strong_ref {
                            Class::UndefWeak
                        } else {
                            Class::Undefined
                        }
                    }
                }
            }
        }
    }

    fn is_func(&self, t: Target) -> bool {
        matches!(self.typ(t), STT_FUNC | STT_GNU_IFUNC)
    }
}

/// Relaxation of a GOT-indirect reference to a direct one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GotRelax {
    /// `mov foo@GOTPCREL(%rip), %reg` → `lea foo(%rip), %reg`.
    Lea,
    /// `call *foo@GOTPCREL(%rip)` → `addr32 call foo`.
    Call,
    /// `jmp *foo@GOTPCREL(%rip)` → `jmp foo; nop`.
    Jmp,
}

pub fn gotpcrelx_relax(rtype: u32, data: &[u8], off: u64, class: Class) -> Option<GotRelax> {
    if class != Class::Local {
        return None;
    }
    let off = off as usize;
    if off < 2 {
        return None;
    }
    let (op, modrm) = (data[off - 2], data[off - 1]);
    match rtype {
        R_X86_64_GOTPCRELX => match (op, modrm) {
            (0x8b, _) => Some(GotRelax::Lea),
            (0xff, 0x15) => Some(GotRelax::Call),
            (0xff, 0x25) => Some(GotRelax::Jmp),
            _ => None,
        },
        R_X86_64_REX_GOTPCRELX if off >= 3 && op == 0x8b => Some(GotRelax::Lea),
        _ => None,
    }
}

/// `mov/add foo@gottpoff(%rip), %reg` with a 64-bit REX prefix, relaxable to an immediate.
fn gottpoff_relaxable(data: &[u8], off: u64) -> bool {
    let off = off as usize;
    off >= 3
        && matches!(data[off - 3], 0x48 | 0x4c)
        && matches!(data[off - 2], 0x8b | 0x03)
        && data[off - 1] & 0xc7 == 0x05
}

const TLSGD_PREFIX: [u8; 4] = [0x66, 0x48, 0x8d, 0x3d];

fn undefined_error(ctx: &Ctx, obj: u32, sec: u32, t: Target) -> LinkError {
    let o = &ctx.objs[obj as usize];
    let name = match t {
        Target::Global(g) => show(ctx.syms[g as usize].name),
        Target::Local(_, i) => show(o.syms[i as usize].name),
        Target::None => String::new(),
    };
    LinkError::UndefinedSymbol {
        name,
        module: format!(
            "{} (section {})",
            o.name,
            show(o.sections[sec as usize].name)
        ),
    }
}

fn sym_name(ctx: &Ctx, t: Target) -> String {
    match t {
        Target::Global(g) => show(ctx.syms[g as usize].name),
        Target::Local(o, i) => show(ctx.objs[o as usize].syms[i as usize].name),
        Target::None => String::new(),
    }
}

fn reloc_error(ctx: &Ctx, obj: u32, sec: u32, r: &Rela, t: Target, why: &str) -> LinkError {
    let o = &ctx.objs[obj as usize];
    LinkError::input(
        &o.name,
        format!(
            "{} against `{}` in section {} at offset {:#x}: {why}",
            reloc_name(r.rtype),
            sym_name(ctx, t),
            show(o.sections[sec as usize].name),
            r.offset
        ),
    )
}

/// The callee of a TLS call sequence, checked by name.
fn callee_is_tls_get_addr(ctx: &Ctx, obj: u32, next: &Rela) -> bool {
    let t = ctx.target(obj, next.sym);
    matches!(t, Target::Global(g) if ctx.syms[g as usize].name == b"__tls_get_addr")
}

fn tls_seq_ok(ctx: &Ctx, obj: u32, relocs: &[Rela], k: usize, data: &[u8], gd: bool) -> bool {
    let next = relocs.get(k + 1);
    match next {
        Some(n) if callee_is_tls_get_addr(ctx, obj, n) => check_tls_bytes(&relocs[k], n, data, gd),
        _ => false,
    }
}

fn check_tls_bytes(r: &Rela, next: &Rela, data: &[u8], gd: bool) -> bool {
    let off = r.offset as usize;
    if gd {
        off >= 4
            && data.len() >= off + 8
            && data[off - 4..off] == TLSGD_PREFIX
            && next.offset == r.offset + 8
            && ((data[off + 4..off + 8] == [0x66, 0x66, 0x48, 0xe8]
                && matches!(next.rtype, R_X86_64_PLT32 | R_X86_64_PC32))
                || (data[off + 4..off + 8] == [0x66, 0x48, 0xff, 0x15]
                    && matches!(next.rtype, R_X86_64_GOTPCRELX | R_X86_64_GOTPCREL)))
    } else {
        off >= 3
            && data.len() >= off + 6
            && data[off - 3..off] == [0x48, 0x8d, 0x3d]
            && ((data[off + 4] == 0xe8
                && next.offset == r.offset + 5
                && matches!(next.rtype, R_X86_64_PLT32 | R_X86_64_PC32))
                || (data[off + 4..off + 6] == [0xff, 0x15]
                    && next.offset == r.offset + 6
                    && matches!(next.rtype, R_X86_64_GOTPCRELX | R_X86_64_GOTPCREL)))
    }
}

/// Scans every live allocated section's relocations.
pub fn scan(ctx: &mut Ctx) -> Result<Scan, LinkError> {
    let mut sc = Scan::default();
    let mut errors = Vec::new();
    let exe = !ctx.cfg.shared;
    let pic = ctx.pic;
    for obj in 0..ctx.objs.len() as u32 {
        for sec in 0..ctx.objs[obj as usize].sections.len() as u32 {
            let s = &ctx.objs[obj as usize].sections[sec as usize];
            if !s.live || s.flags & SHF_ALLOC == 0 || s.relocs.is_empty() {
                continue;
            }
            let writable = s.flags & SHF_WRITE != 0;
            let relocs = std::mem::take(&mut ctx.objs[obj as usize].sections[sec as usize].relocs);
            let mut k = 0;
            while k < relocs.len() {
                let r = relocs[k];
                k += 1;
                let t = ctx.target(obj, r.sym);
                let class = ctx.class(t);
                if class == Class::Undefined && r.rtype != R_X86_64_NONE {
                    errors.push(undefined_error(ctx, obj, sec, t));
                    continue;
                }
                let data = &ctx.objs[obj as usize].sections[sec as usize].data;
                let gid = match t {
                    Target::Global(g) => g,
                    _ => NONE,
                };
                let set = |ctx: &mut Ctx, f: u32| {
                    if gid != NONE {
                        ctx.syms[gid as usize].flags |= f;
                    }
                };
                match r.rtype {
                    R_X86_64_NONE | R_X86_64_SIZE32 | R_X86_64_SIZE64 => {}
                    R_X86_64_64 => match class {
                        Class::Dynamic => {
                            set(ctx, F_DYNSYM);
                            sc.section_dynrels += 1;
                            if !writable {
                                sc.textrel = true;
                            }
                        }
                        Class::Ifunc => {
                            need_iplt(ctx, &mut sc, t, obj, sec, &r, &mut errors);
                            if pic {
                                sc.section_dynrels += 1;
                                sc.textrel |= !writable;
                            }
                        }
                        Class::Local if pic => {
                            sc.section_dynrels += 1;
                            sc.textrel |= !writable;
                        }
                        _ => {}
                    },
                    R_X86_64_PC32 | R_X86_64_PC64 | R_X86_64_32 | R_X86_64_32S | R_X86_64_16
                    | R_X86_64_PC16 | R_X86_64_8 | R_X86_64_PC8 => {
                        let absolute = matches!(
                            r.rtype,
                            R_X86_64_32 | R_X86_64_32S | R_X86_64_16 | R_X86_64_8
                        );
                        match class {
                            Class::Dynamic => {
                                if ctx.is_func(t) {
                                    set(ctx, F_PLT | F_DYNSYM);
                                    if exe {
                                        set(ctx, F_CANONICAL);
                                    } else {
                                        errors.push(reloc_error(ctx, obj, sec, &r, t, "cannot be used against a preemptible function when making a shared object; recompile with -fPIC"));
                                    }
                                } else if exe
                                    && matches!(ctx.syms[gid as usize].def, Def::Dso { .. })
                                {
                                    set(ctx, F_COPY | F_DYNSYM);
                                } else {
                                    errors.push(reloc_error(ctx, obj, sec, &r, t, "cannot be used against a preemptible symbol when making a shared object; recompile with -fPIC"));
                                }
                            }
                            Class::Ifunc => need_iplt(ctx, &mut sc, t, obj, sec, &r, &mut errors),
                            Class::Local if absolute && pic => {
                                errors.push(reloc_error(ctx, obj, sec, &r, t, if ctx.cfg.shared {"cannot be used when making a shared object; recompile with -fPIC"} else {"cannot be used when making a PIE object; recompile with -fPIE"}));
                            }
                            _ => {}
                        }
                    }
                    R_X86_64_PLT32 => match class {
                        Class::Dynamic => set(ctx, F_PLT | F_DYNSYM),
                        Class::Ifunc => need_iplt(ctx, &mut sc, t, obj, sec, &r, &mut errors),
                        _ => {}
                    },
                    R_X86_64_GOTPCREL
                    | R_X86_64_GOTPCRELX
                    | R_X86_64_REX_GOTPCRELX
                    | R_X86_64_GOT32
                    | R_X86_64_GOTPCREL64
                    | R_X86_64_GOT64 => {
                        if matches!(r.rtype, R_X86_64_GOT32 | R_X86_64_GOT64) {
                            sc.got_base_used = true;
                        }
                        if gotpcrelx_relax(r.rtype, data, r.offset, class).is_none() {
                            if class == Class::Dynamic {
                                set(ctx, F_DYNSYM);
                            }
                            if class == Class::Ifunc {
                                need_iplt(ctx, &mut sc, t, obj, sec, &r, &mut errors);
                            }
                            sc.got_entry(t, GotKind::Addr);
                        }
                    }
                    R_X86_64_GOTPC32 | R_X86_64_GOTPC64 | R_X86_64_GOTOFF64 => {
                        sc.got_base_used = true
                    }
                    R_X86_64_TPOFF32 | R_X86_64_TPOFF64 => {
                        if !exe {
                            errors.push(reloc_error(ctx, obj, sec, &r, t, "local-exec TLS cannot be used in a shared object; recompile with -fPIC"));
                        }
                    }
                    R_X86_64_GOTTPOFF => {
                        sc.static_tls = true;
                        if !(exe && class == Class::Local && gottpoff_relaxable(data, r.offset)) {
                            if class == Class::Dynamic {
                                set(ctx, F_DYNSYM);
                            }
                            sc.got_entry(t, GotKind::TpOff);
                        }
                    }
                    R_X86_64_TLSGD => {
                        if exe {
                            if !tls_seq_ok(ctx, obj, &relocs, k - 1, data, true) {
                                errors.push(reloc_error(
                                    ctx,
                                    obj,
                                    sec,
                                    &r,
                                    t,
                                    "unrecognized general-dynamic TLS code sequence",
                                ));
                            } else {
                                if class == Class::Dynamic {
                                    set(ctx, F_DYNSYM);
                                    sc.got_entry(t, GotKind::TpOff);
                                }
                                k += 1;
                            }
                        } else {
                            if class == Class::Dynamic {
                                set(ctx, F_DYNSYM);
                            }
                            sc.got_entry(t, GotKind::TlsGd);
                        }
                    }
                    R_X86_64_TLSLD => {
                        if exe {
                            if !tls_seq_ok(ctx, obj, &relocs, k - 1, data, false) {
                                errors.push(reloc_error(
                                    ctx,
                                    obj,
                                    sec,
                                    &r,
                                    t,
                                    "unrecognized local-dynamic TLS code sequence",
                                ));
                            } else {
                                k += 1;
                            }
                        } else {
                            sc.got_entry(Target::None, GotKind::TlsLd);
                        }
                    }
                    R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 => {}
                    R_X86_64_DTPMOD64 => {
                        if !exe {
                            errors.push(reloc_error(
                                ctx,
                                obj,
                                sec,
                                &r,
                                t,
                                "is not supported in shared objects outside the GOT",
                            ));
                        }
                    }
                    R_X86_64_GOTPC32_TLSDESC | R_X86_64_TLSDESC_CALL => {
                        errors.push(reloc_error(
                            ctx,
                            obj,
                            sec,
                            &r,
                            t,
                            "TLS descriptors (-mtls-dialect=gnu2) are not supported",
                        ));
                    }
                    _ => errors.push(reloc_error(
                        ctx,
                        obj,
                        sec,
                        &r,
                        t,
                        "unsupported relocation type",
                    )),
                }
            }
            ctx.objs[obj as usize].sections[sec as usize].relocs = relocs;
        }
    }
    if let Some(e) = LinkError::from_list(dedup_errors(errors)) {
        return Err(e);
    }
    // PLT entries, copies and IPLT entries in symbol order (deterministic).
    for gid in 0..ctx.syms.len() as u32 {
        let g = &mut ctx.syms[gid as usize];
        if g.flags & F_PLT != 0 && g.plt == NONE {
            g.plt = sc.plt.len() as u32;
            sc.plt.push(gid);
        }
        if g.flags & F_COPY != 0 && g.copy == NONE {
            g.copy = sc.copies.len() as u32;
            sc.copies.push(gid);
        }
    }
    Ok(sc)
}

fn need_iplt(
    ctx: &mut Ctx,
    sc: &mut Scan,
    t: Target,
    obj: u32,
    sec: u32,
    r: &Rela,
    errors: &mut Vec<LinkError>,
) {
    match t {
        Target::Global(g) => {
            let s = &mut ctx.syms[g as usize];
            if s.flags & F_IPLT == 0 {
                s.flags |= F_IPLT;
                s.plt = sc.iplt.len() as u32;
                sc.iplt.push(g);
            }
        }
        _ => errors.push(reloc_error(
            ctx,
            obj,
            sec,
            r,
            t,
            "local IFUNC symbols are not supported",
        )),
    }
}

fn dedup_errors(errors: Vec<LinkError>) -> Vec<LinkError> {
    let mut seen = std::collections::HashSet::new();
    errors
        .into_iter()
        .filter(|e| seen.insert(e.to_string()))
        .take(50)
        .collect()
}

#[allow(clippy::too_many_arguments)]
/// Applies the relocations of one input section whose bytes (already copied) are `buf`,
/// at address `addr`. Dynamic relocations go to `dynrels`.
pub fn apply_section(
    ctx: &Ctx,
    sc: &Scan,
    lay: &Lay,
    obj: u32,
    sec: u32,
    buf: &mut [u8],
    addr: u64,
    dynrels: &mut Vec<DynRel>,
) -> Result<(), LinkError> {
    let s = &ctx.objs[obj as usize].sections[sec as usize];
    let alloc = s.flags & SHF_ALLOC != 0;
    let relocs = &s.relocs;
    let exe = !ctx.cfg.shared;
    let pic = ctx.pic;
    let mut k = 0;
    while k < relocs.len() {
        let r = relocs[k];
        k += 1;
        if r.rtype == R_X86_64_NONE {
            continue;
        }
        let t = ctx.target(obj, r.sym);
        let off = r.offset as usize;
        let p = addr + r.offset;
        let a = r.addend as i128;
        if !alloc {
            // Debug sections: plain values; references to dropped code become 0.
            let live = ctx.target_live(t);
            let v = match r.rtype {
                R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 => {
                    (ctx.sym_addr(lay, t) as i128 + a - lay.tls_start as i128) as u64
                }
                R_X86_64_PC32 | R_X86_64_PC64 => {
                    (ctx.reloc_sym_addr(lay, t, r.addend) as i128 + a - p as i128) as u64
                }
                R_X86_64_SIZE32 | R_X86_64_SIZE64 => (ctx.sym_size(t) as i128 + a) as u64,
                _ if !live => 0,
                _ => (ctx.reloc_sym_addr(lay, t, r.addend) as i128 + a) as u64,
            };
            let w = super::object::reloc_width(r.rtype).unwrap_or(0) as usize;
            write_n(buf, off, w, v);
            continue;
        }
        let class = ctx.class(t);
        let data = &s.data;
        let sv = ctx.reloc_sym_addr(lay, t, r.addend);
        let err = |why: &str| reloc_error(ctx, obj, sec, &r, t, why);
        match r.rtype {
            R_X86_64_64 => match class {
                Class::Dynamic => {
                    dynrels.push(DynRel {
                        offset: p,
                        rtype: R_X86_64_64,
                        sym: gid(t),
                        addend: a as i64,
                    });
                    put64(buf, off, 0);
                }
                Class::Local | Class::Ifunc if pic => {
                    let v = (sv as i128 + a) as u64;
                    dynrels.push(DynRel {
                        offset: p,
                        rtype: R_X86_64_RELATIVE,
                        sym: NONE,
                        addend: v as i64,
                    });
                    put64(buf, off, v);
                }
                _ => put64(buf, off, (sv as i128 + a) as u64),
            },
            R_X86_64_PC32 | R_X86_64_PLT32 => {
                let v = sv as i128 + a - p as i128;
                put_i32(buf, off, v).map_err(|_| err("value out of range"))?;
            }
            R_X86_64_PC64 => put64(buf, off, (sv as i128 + a - p as i128) as u64),
            R_X86_64_PC16 => put_i16(buf, off, sv as i128 + a - p as i128)
                .map_err(|_| err("value out of range"))?,
            R_X86_64_PC8 => put_i8(buf, off, sv as i128 + a - p as i128)
                .map_err(|_| err("value out of range"))?,
            R_X86_64_32 => {
                let v = sv as i128 + a;
                if !(0..=u32::MAX as i128).contains(&v) {
                    return Err(err("value does not fit in 32 bits (zero-extended)"));
                }
                put32(buf, off, v as u32);
            }
            R_X86_64_32S => put_i32(buf, off, sv as i128 + a)
                .map_err(|_| err("value does not fit in 32 bits (sign-extended)"))?,
            R_X86_64_16 => {
                let v = sv as i128 + a;
                if !(-32768..=65535).contains(&v) {
                    return Err(err("value does not fit in 16 bits"));
                }
                buf[off..off + 2].copy_from_slice(&(v as u16).to_le_bytes());
            }
            R_X86_64_8 => {
                let v = sv as i128 + a;
                if !(-128..=255).contains(&v) {
                    return Err(err("value does not fit in 8 bits"));
                }
                buf[off] = v as u8;
            }
            R_X86_64_SIZE32 => put_i32(buf, off, ctx.sym_size(t) as i128 + a)
                .map_err(|_| err("size out of range"))?,
            R_X86_64_SIZE64 => put64(buf, off, (ctx.sym_size(t) as i128 + a) as u64),
            R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
                match gotpcrelx_relax(r.rtype, data, r.offset, class) {
                    Some(GotRelax::Lea) => {
                        buf[off - 2] = 0x8d;
                        put_i32(buf, off, sv as i128 + a - p as i128)
                            .map_err(|_| err("value out of range"))?;
                    }
                    Some(GotRelax::Call) => {
                        buf[off - 2] = 0x67;
                        buf[off - 1] = 0xe8;
                        put_i32(buf, off, sv as i128 + a - p as i128)
                            .map_err(|_| err("value out of range"))?;
                    }
                    Some(GotRelax::Jmp) => {
                        buf[off - 2] = 0xe9;
                        put_i32_at(buf, off - 1, sv as i128 + a - (p as i128 - 1))
                            .map_err(|_| err("value out of range"))?;
                        buf[off + 3] = 0x90;
                    }
                    None => {
                        let g = lay
                            .got_slot_addr(sc, t, GotKind::Addr)
                            .ok_or_else(|| err("internal error: missing GOT slot"))?;
                        put_i32(buf, off, g as i128 + a - p as i128)
                            .map_err(|_| err("value out of range"))?;
                    }
                }
            }
            R_X86_64_GOT32 => {
                let g = lay
                    .got_slot_addr(sc, t, GotKind::Addr)
                    .ok_or_else(|| err("internal error: missing GOT slot"))?;
                put_i32(buf, off, g as i128 + a - lay.got_base as i128)
                    .map_err(|_| err("value out of range"))?;
            }
            R_X86_64_GOT64 => {
                let g = lay
                    .got_slot_addr(sc, t, GotKind::Addr)
                    .ok_or_else(|| err("internal error: missing GOT slot"))?;
                put64(buf, off, (g as i128 + a - lay.got_base as i128) as u64);
            }
            R_X86_64_GOTPCREL64 => {
                let g = lay
                    .got_slot_addr(sc, t, GotKind::Addr)
                    .ok_or_else(|| err("internal error: missing GOT slot"))?;
                put64(buf, off, (g as i128 + a - p as i128) as u64);
            }
            R_X86_64_GOTPC32 => put_i32(buf, off, lay.got_base as i128 + a - p as i128)
                .map_err(|_| err("value out of range"))?,
            R_X86_64_GOTPC64 => put64(buf, off, (lay.got_base as i128 + a - p as i128) as u64),
            R_X86_64_GOTOFF64 => put64(buf, off, (sv as i128 + a - lay.got_base as i128) as u64),
            R_X86_64_TPOFF32 => put_i32(buf, off, sv as i128 + a - lay.tp as i128)
                .map_err(|_| err("TLS offset out of range"))?,
            R_X86_64_TPOFF64 => put64(buf, off, (sv as i128 + a - lay.tp as i128) as u64),
            R_X86_64_DTPOFF32 => {
                let base = if exe { lay.tp } else { lay.tls_start };
                put_i32(buf, off, sv as i128 + a - base as i128)
                    .map_err(|_| err("TLS offset out of range"))?;
            }
            R_X86_64_DTPOFF64 => {
                let base = if exe { lay.tp } else { lay.tls_start };
                put64(buf, off, (sv as i128 + a - base as i128) as u64);
            }
            R_X86_64_DTPMOD64 => put64(buf, off, 1),
            R_X86_64_GOTTPOFF => {
                if exe && class == Class::Local && gottpoff_relaxable(data, r.offset) {
                    let rex = buf[off - 3];
                    let op = buf[off - 2];
                    let reg = (buf[off - 1] >> 3) & 7;
                    buf[off - 3] = if rex == 0x4c { 0x49 } else { 0x48 };
                    buf[off - 2] = if op == 0x8b { 0xc7 } else { 0x81 };
                    buf[off - 1] = 0xc0 | reg;
                    put_i32(buf, off, sv as i128 + a + 4 - lay.tp as i128)
                        .map_err(|_| err("TLS offset out of range"))?;
                } else {
                    let g = lay
                        .got_slot_addr(sc, t, GotKind::TpOff)
                        .ok_or_else(|| err("internal error: missing GOT slot"))?;
                    put_i32(buf, off, g as i128 + a - p as i128)
                        .map_err(|_| err("value out of range"))?;
                }
            }
            R_X86_64_TLSGD => {
                if exe {
                    let start = off - 4;
                    if class == Class::Dynamic {
                        // GD → IE: mov %fs:0,%rax; add foo@gottpoff(%rip),%rax
                        let g = lay
                            .got_slot_addr(sc, t, GotKind::TpOff)
                            .ok_or_else(|| err("internal error: missing GOT slot"))?;
                        buf[start..start + 12].copy_from_slice(&[
                            0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x03, 0x05,
                        ]);
                        put_i32(buf, start + 12, g as i128 - (p as i128 + 12))
                            .map_err(|_| err("value out of range"))?;
                    } else {
                        // GD → LE: mov %fs:0,%rax; lea foo@tpoff(%rax),%rax
                        buf[start..start + 12].copy_from_slice(&[
                            0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x8d, 0x80,
                        ]);
                        put_i32(buf, start + 12, sv as i128 + a + 4 - lay.tp as i128)
                            .map_err(|_| err("TLS offset out of range"))?;
                    }
                    k += 1;
                } else {
                    let g = lay
                        .got_slot_addr(sc, t, GotKind::TlsGd)
                        .ok_or_else(|| err("internal error: missing GOT slot"))?;
                    put_i32(buf, off, g as i128 + a - p as i128)
                        .map_err(|_| err("value out of range"))?;
                }
            }
            R_X86_64_TLSLD => {
                if exe {
                    let start = off - 3;
                    let next = relocs.get(k).map(|n| n.rtype);
                    let long = matches!(next, Some(R_X86_64_GOTPCRELX | R_X86_64_GOTPCREL));
                    buf[start..start + 12].copy_from_slice(&[
                        0x66, 0x66, 0x66, 0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0,
                    ]);
                    if long {
                        buf[start + 12] = 0x90;
                    }
                    k += 1;
                } else {
                    let g = lay
                        .got_slot_addr(sc, Target::None, GotKind::TlsLd)
                        .ok_or_else(|| err("internal error: missing GOT slot"))?;
                    put_i32(buf, off, g as i128 + a - p as i128)
                        .map_err(|_| err("value out of range"))?;
                }
            }
            _ => return Err(err("unsupported relocation type")),
        }
    }
    Ok(())
}

fn gid(t: Target) -> u32 {
    match t {
        Target::Global(g) => g,
        _ => NONE,
    }
}

fn write_n(buf: &mut [u8], off: usize, w: usize, v: u64) {
    if w > 0 && off + w <= buf.len() {
        buf[off..off + w].copy_from_slice(&v.to_le_bytes()[..w]);
    }
}

fn put64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn put32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_i32(buf: &mut [u8], off: usize, v: i128) -> Result<(), ()> {
    let x = i32::try_from(v).map_err(|_| ())?;
    buf[off..off + 4].copy_from_slice(&x.to_le_bytes());
    Ok(())
}

fn put_i32_at(buf: &mut [u8], off: usize, v: i128) -> Result<(), ()> {
    put_i32(buf, off, v)
}

fn put_i16(buf: &mut [u8], off: usize, v: i128) -> Result<(), ()> {
    let x = i16::try_from(v).map_err(|_| ())?;
    buf[off..off + 2].copy_from_slice(&x.to_le_bytes());
    Ok(())
}

fn put_i8(buf: &mut [u8], off: usize, v: i128) -> Result<(), ()> {
    let x = i8::try_from(v).map_err(|_| ())?;
    buf[off] = x as u8;
    Ok(())
}

/// Dynamic relocations a GOT entry needs (the writer emits exactly these).
pub fn got_dynrels(ctx: &Ctx, e: &GotEntry) -> usize {
    let class = ctx.class(e.target);
    match e.kind {
        GotKind::Addr => match class {
            Class::Dynamic => 1,
            Class::Local | Class::Ifunc if ctx.pic => 1,
            _ => 0,
        },
        GotKind::TpOff => match class {
            Class::Dynamic => 1,
            _ if ctx.cfg.shared => 1,
            _ => 0,
        },
        GotKind::TlsGd => match class {
            Class::Dynamic => 2,
            _ => 1,
        },
        GotKind::TlsLd => 1,
    }
}
