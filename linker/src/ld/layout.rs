//! Stage 3 of `meteor-ld`: layout. `prepare` (after resolution) turns commons into `.bss`
//! pieces, decides whether the output is dynamic, defines the linker's symbols and drops
//! unreferenced sections under `--gc-sections`. `layout` (after the relocation scan) maps
//! input sections to output sections, sizes the synthetic ones (`.got`, `.plt`,
//! `.dynsym`, …), orders everything into segments (R headers+dynamic tables, RX code,
//! R read-only data, RW RELRO, RW data), assigns addresses and file offsets, and
//! computes every symbol's address.

use std::borrow::Cow;

use super::elf_types::*;
use super::object::{InSec, NO_OUT, ObjFile};
use super::reloc::{
    self, F_CANONICAL, F_COPY, F_DYNSYM, F_EXPORT, F_IPLT, F_PLT, GotKind, Scan, Target,
};
use super::resolve::{Ctx, Def, FxMap, NONE};
use crate::error::LinkError;

pub const PAGE: u64 = 0x1000;

/// Synthetic output sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Synth {
    Interp,
    BuildId,
    GnuHash,
    Hash,
    DynSym,
    DynStr,
    VerSym,
    VerNeed,
    RelaDyn,
    RelaPlt,
    Plt,
    Got,
    GotPlt,
    Dynamic,
    EhFrameHdr,
}

pub struct OutSec {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub align: u64,
    pub size: u64,
    pub addr: u64,
    pub offset: u64,
    pub entsize: u64,
    pub synth: Option<Synth>,
    pub members: Vec<(u32, u32)>,
    pub rank: u32,
    /// Section header index in the output (0: none).
    pub shndx: u32,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// A `.dynamic` entry whose value the writer resolves.
#[derive(Clone, Copy, Debug)]
pub enum DynVal {
    Const(u64),
    Addr(Synth),
    Size(Synth),
    SecAddr(u32),
    SecSize(u32),
    /// A global symbol's address.
    Sym(u32),
    RelaCount,
}

pub struct Lay {
    pub secs: Vec<OutSec>,
    /// Output order of `secs`.
    pub order: Vec<u32>,
    pub phdrs: Vec<Phdr>,
    pub synth: FxMap<Synth, u32>,
    pub base: u64,
    pub got_addr: u64,
    /// `_GLOBAL_OFFSET_TABLE_`: the start of `.got.plt`.
    pub got_base: u64,
    pub plt_addr: u64,
    pub iplt_addr: u64,
    pub gotplt_addr: u64,
    pub tls_start: u64,
    pub tls_align: u64,
    pub tls_memsz: u64,
    /// The thread pointer relative to the TLS image: `tls_start + align_up(memsz, align)`.
    pub tp: u64,
    pub copy_addr: u64,
    /// Dynamic symbols (global ids) in `.dynsym` order (index + 1).
    pub dynsyms: Vec<u32>,
    pub gnu_hash_first: u32,
    pub dynstr: Vec<u8>,
    pub dynsym_name: Vec<u32>,
    pub needed: Vec<u32>,
    pub versym: Vec<u16>,
    pub verneed: Vec<u8>,
    pub verneed_count: u32,
    pub dynamic: Vec<(u64, DynVal)>,
    pub n_reladyn: usize,
    pub n_relaplt: usize,
    pub headers_size: u64,
    pub shoff: u64,
    pub file_size: u64,
    pub entry: u64,
    pub eh_fdes: usize,
    pub interp: Option<Vec<u8>>,
    pub build_id_size: usize,
    pub needed_offs: Vec<u32>,
    pub rpath_offs: Vec<u32>,
    pub soname_off: Option<u32>,
}

impl Lay {
    pub fn sec_addr(&self, out: u32) -> u64 {
        self.secs[out as usize].addr
    }

    pub fn got_slot_addr(&self, sc: &Scan, t: Target, kind: GotKind) -> Option<u64> {
        sc.find_got(t, kind)
            .map(|e| self.got_addr + e.slot as u64 * 8)
    }

    pub fn synth_sec(&self, s: Synth) -> Option<&OutSec> {
        self.synth.get(&s).map(|&i| &self.secs[i as usize])
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    let a = a.max(1);
    v.div_ceil(a) * a
}

/// Names of symbols the linker defines when something refers to them.
const LINKER_SYMBOLS: &[&str] = &[
    "_GLOBAL_OFFSET_TABLE_",
    "_DYNAMIC",
    "__ehdr_start",
    "__executable_start",
    "__dso_handle",
    "_end",
    "end",
    "_edata",
    "edata",
    "__bss_start",
    "_etext",
    "etext",
    "__etext",
    "__init_array_start",
    "__init_array_end",
    "__fini_array_start",
    "__fini_array_end",
    "__preinit_array_start",
    "__preinit_array_end",
    "__rela_iplt_start",
    "__rela_iplt_end",
    "__GNU_EH_FRAME_HDR",
    "_TLS_MODULE_BASE_",
];

fn is_c_ident(s: &[u8]) -> bool {
    !s.is_empty()
        && !s[0].is_ascii_digit()
        && s.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// After resolution: commons, dynamic-ness, linker-defined symbols, `--gc-sections`.
pub fn prepare(ctx: &mut Ctx) -> Result<(), LinkError> {
    // The linker's own object: holds copy-relocated data in `.bss`.
    let lo = ObjFile {
        name: "<linker>".into(),
        sections: vec![
            InSec {
                name: b"",
                sh_type: SHT_NULL,
                flags: 0,
                align: 1,
                size: 0,
                entsize: 0,
                data: Cow::Borrowed(&[]),
                relocs: Vec::new(),
                live: false,
                out: NO_OUT,
                offset: 0,
                merge: None,
            },
            InSec {
                name: b".bss",
                sh_type: SHT_NOBITS,
                flags: SHF_ALLOC | SHF_WRITE,
                align: 1,
                size: 0,
                entsize: 0,
                data: Cow::Borrowed(&[]),
                relocs: Vec::new(),
                live: true,
                out: NO_OUT,
                offset: 0,
                merge: None,
            },
        ],
        syms: Vec::new(),
        first_global: 0,
        groups: Vec::new(),
    };
    ctx.linker_obj = ctx.push_obj(lo);

    // Commons become `.bss` pieces of the object that defines the winning one.
    for gid in 0..ctx.syms.len() {
        if let Def::Common { obj, sym } = ctx.syms[gid].def {
            let o = &mut ctx.objs[obj as usize];
            let s = o.syms[sym as usize];
            let align = s.value.max(1);
            if !align.is_power_of_two() || align > 1 << 28 {
                return Err(LinkError::input(
                    &o.name,
                    format!(
                        "common symbol {} has a bad alignment {}",
                        show(s.name),
                        s.value
                    ),
                ));
            }
            let idx = o.sections.len() as u32;
            o.sections.push(InSec {
                name: b".bss",
                sh_type: SHT_NOBITS,
                flags: SHF_ALLOC | SHF_WRITE,
                align,
                size: s.size,
                entsize: 0,
                data: Cow::Borrowed(&[]),
                relocs: Vec::new(),
                live: true,
                out: NO_OUT,
                offset: 0,
                merge: None,
            });
            let rs = &mut o.syms[sym as usize];
            rs.shndx = idx;
            rs.value = 0;
            ctx.syms[gid].def = Def::Obj { obj, sym };
        }
    }

    let needed = ctx.dsos.iter().any(|d| d.used || !d.as_needed);
    ctx.dynamic = ctx.cfg.shared || ctx.cfg.pie || needed;

    let mut names: Vec<Vec<u8>> = LINKER_SYMBOLS
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    // __start_SEC / __stop_SEC for sections named like C identifiers.
    for o in &ctx.objs {
        for s in &o.sections {
            if s.live && s.flags & SHF_ALLOC != 0 && is_c_ident(s.name) {
                names.push([b"__start_", s.name].concat());
                names.push([b"__stop_", s.name].concat());
            }
        }
    }
    for n in names {
        if n == b"_DYNAMIC" && !ctx.dynamic {
            continue;
        }
        if let Some(id) = ctx.lookup(&n) {
            let s = &mut ctx.syms[id as usize];
            if matches!(s.def, Def::Undef | Def::Lazy { .. }) {
                s.def = Def::Linker;
                s.vis = STV_HIDDEN.max(s.vis);
            }
        }
    }
    if ctx.cfg.gc_sections {
        gc_sections(ctx);
    }
    Ok(())
}

/// `--gc-sections`: keeps the sections reachable through relocations from the roots
/// (entry, `-u`, exported symbols, init/fini arrays, notes, `__start_`/`__stop_` sections),
/// plus everything `.eh_frame` needs for the code that stays.
fn gc_sections(ctx: &mut Ctx) {
    let mut live: Vec<Vec<bool>> = ctx
        .objs
        .iter()
        .map(|o| vec![false; o.sections.len()])
        .collect();
    let mut work: Vec<(u32, u32)> = Vec::new();
    let mark = |live: &mut Vec<Vec<bool>>, work: &mut Vec<(u32, u32)>, o: u32, s: u32| {
        if !live[o as usize][s as usize] {
            live[o as usize][s as usize] = true;
            work.push((o, s));
        }
    };
    let sym_sec = |ctx: &Ctx, gid: u32| -> Option<(u32, u32)> {
        match ctx.syms[gid as usize].def {
            Def::Obj { obj, sym } => {
                let s = ctx.objs[obj as usize].syms[sym as usize];
                (s.shndx != SHN_UNDEF && s.shndx < SHN_LORESERVE).then_some((obj, s.shndx))
            }
            _ => None,
        }
    };
    let mut roots: Vec<&[u8]> = vec![super::resolve::entry_name(ctx.cfg).as_bytes()];
    roots.extend(ctx.cfg.undefined.iter().map(|s| s.as_bytes()));
    roots.extend([&b"_init"[..], b"_fini"]);
    for r in roots {
        if let Some(g) = ctx.lookup(r)
            && let Some((o, s)) = sym_sec(ctx, g)
        {
            mark(&mut live, &mut work, o, s);
        }
    }
    let export_all = ctx.cfg.shared || ctx.cfg.export_dynamic;
    for gid in 0..ctx.syms.len() as u32 {
        let g = &ctx.syms[gid as usize];
        let dso_ref = ctx.dsos.iter().any(|d| d.undefs.contains(&g.name));
        if ((export_all && g.vis == STV_DEFAULT) || dso_ref)
            && let Some((o, s)) = sym_sec(ctx, gid)
        {
            mark(&mut live, &mut work, o, s);
        }
    }
    for (oi, o) in ctx.objs.iter().enumerate() {
        for (si, s) in o.sections.iter().enumerate() {
            if !s.live || s.flags & SHF_ALLOC == 0 {
                continue;
            }
            let keep = matches!(
                s.sh_type,
                SHT_INIT_ARRAY | SHT_FINI_ARRAY | SHT_PREINIT_ARRAY | SHT_NOTE
            ) || s.name.starts_with(b".init_array")
                || s.name.starts_with(b".fini_array")
                || s.name.starts_with(b".ctors")
                || s.name.starts_with(b".dtors")
                || s.name == b".init"
                || s.name == b".fini"
                || s.name.starts_with(b".gnu.linkonce.")
                || is_c_ident(s.name)
                || oi as u32 == ctx.linker_obj
                || s.name.starts_with(b".tm_clone_table");
            if keep {
                mark(&mut live, &mut work, oi as u32, si as u32);
            }
        }
    }
    loop {
        while let Some((o, s)) = work.pop() {
            let sec = &ctx.objs[o as usize].sections[s as usize];
            for r in &sec.relocs {
                let t = ctx.target(o, r.sym);
                let target = match t {
                    Target::Local(lo, li) => {
                        let sy = ctx.objs[lo as usize].syms[li as usize];
                        (sy.shndx != SHN_UNDEF && sy.shndx < SHN_LORESERVE)
                            .then_some((lo, sy.shndx))
                    }
                    Target::Global(g) => sym_sec(ctx, g),
                    Target::None => None,
                };
                if let Some((to, ts)) = target {
                    mark(&mut live, &mut work, to, ts);
                }
            }
        }
        // `.eh_frame`: an FDE whose function stays keeps its LSDA and personality alive.
        let mut changed = false;
        for (oi, o) in ctx.objs.iter().enumerate() {
            for (si, s) in o.sections.iter().enumerate() {
                if !s.live || !super::eh_frame::is_eh_frame(s) {
                    continue;
                }
                for (fde_start, fde_end, func) in
                    super::eh_frame::fde_ranges(ctx, oi as u32, si as u32)
                {
                    let Some((fo, fs)) = func else { continue };
                    if !live[fo as usize][fs as usize] {
                        continue;
                    }
                    for r in s
                        .relocs
                        .iter()
                        .filter(|r| r.offset > fde_start + 8 && r.offset < fde_end)
                    {
                        if let Target::Local(lo, li) =
                            ctx.target(oi as u32, r.sym).into_local_or(ctx)
                        {
                            let sy = ctx.objs[lo as usize].syms[li as usize];
                            if sy.shndx != SHN_UNDEF
                                && sy.shndx < SHN_LORESERVE
                                && !live[lo as usize][sy.shndx as usize]
                            {
                                live[lo as usize][sy.shndx as usize] = true;
                                work.push((lo, sy.shndx));
                                changed = true;
                            }
                        }
                    }
                }
                // CIEs (personality routines) are always kept with their section.
                for r in &s.relocs {
                    if super::eh_frame::in_cie(s, r.offset) {
                        let t = ctx.target(oi as u32, r.sym);
                        if let Target::Global(g) = t
                            && let Some((to, ts)) = sym_sec(ctx, g)
                            && !live[to as usize][ts as usize]
                        {
                            live[to as usize][ts as usize] = true;
                            work.push((to, ts));
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed && work.is_empty() {
            break;
        }
    }
    let print = ctx.cfg.print_gc_sections;
    for (oi, o) in ctx.objs.iter_mut().enumerate() {
        for (si, s) in o.sections.iter_mut().enumerate() {
            if s.live
                && s.flags & SHF_ALLOC != 0
                && !super::eh_frame::is_eh_frame(s)
                && !live[oi][si]
            {
                s.live = false;
                if print {
                    eprintln!(
                        "meteor-ld: removing unused section '{}' in file '{}'",
                        show(s.name),
                        o.name
                    );
                }
            }
        }
    }
}

trait IntoLocal {
    fn into_local_or(self, ctx: &Ctx) -> Target;
}

impl IntoLocal for Target {
    /// A global defined in an object, seen as that object's symbol.
    fn into_local_or(self, ctx: &Ctx) -> Target {
        match self {
            Target::Global(g) => match ctx.syms[g as usize].def {
                Def::Obj { obj, sym } => Target::Local(obj, sym),
                _ => Target::None,
            },
            t => t,
        }
    }
}

/// The output section an input section goes to.
pub(super) fn output_name(name: &[u8]) -> &[u8] {
    const PREFIXES: &[&[u8]] = &[
        b".text",
        b".rodata",
        b".data.rel.ro",
        b".data",
        b".bss",
        b".tdata",
        b".tbss",
        b".init_array",
        b".fini_array",
        b".preinit_array",
        b".gcc_except_table",
        b".ctors",
        b".dtors",
        b".ldata",
        b".lrodata",
        b".lbss",
    ];
    for p in PREFIXES {
        if name.starts_with(p) && (name.len() == p.len() || name[p.len()] == b'.') {
            return p;
        }
    }
    if name.starts_with(b".gnu.linkonce.t.") {
        return b".text";
    }
    if name.starts_with(b".gnu.linkonce.r.") {
        return b".rodata";
    }
    name
}

fn rank(name: &str, sh_type: u32, flags: u64) -> u32 {
    if flags & SHF_ALLOC == 0 {
        return 900;
    }
    if name == ".interp" {
        return 10;
    }
    if sh_type == SHT_NOTE {
        return 20;
    }
    let exec = flags & SHF_EXECINSTR != 0;
    let write = flags & SHF_WRITE != 0;
    if exec {
        return match name {
            ".init" => 100,
            ".plt" => 110,
            ".text" => 120,
            ".fini" => 140,
            _ => 130,
        };
    }
    if !write {
        return match name {
            ".rodata" => 200,
            ".eh_frame_hdr" => 220,
            ".eh_frame" => 230,
            ".gcc_except_table" => 240,
            _ => 210,
        };
    }
    if flags & SHF_TLS != 0 {
        return if sh_type == SHT_NOBITS { 301 } else { 300 };
    }
    match name {
        ".preinit_array" => 310,
        ".init_array" | ".ctors" => 311,
        ".fini_array" | ".dtors" => 312,
        ".data.rel.ro" => 320,
        ".dynamic" => 330,
        ".got" => 340,
        ".got.plt" => 400,
        ".data" => 410,
        ".bss" => 500,
        _ if sh_type == SHT_NOBITS => 510,
        _ => 420,
    }
}

fn init_priority(name: &[u8]) -> u32 {
    // `.init_array.00123` → 123; the plain section runs after all numbered ones.
    let tail = name.rsplit(|&c| c == b'.').next().unwrap_or(b"");
    if name.starts_with(b".init_array.") || name.starts_with(b".fini_array.") {
        std::str::from_utf8(tail)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(65536)
    } else {
        65536
    }
}

/// Builds the output: sections, synthetic tables, addresses, symbol values.
pub fn layout(ctx: &mut Ctx, sc: &mut Scan) -> Result<Lay, LinkError> {
    let cfg = ctx.cfg;
    let mut lay = Lay {
        secs: Vec::new(),
        order: Vec::new(),
        phdrs: Vec::new(),
        synth: FxMap::default(),
        base: if ctx.pic { 0 } else { 0x400000 },
        got_addr: 0,
        got_base: 0,
        plt_addr: 0,
        iplt_addr: 0,
        gotplt_addr: 0,
        tls_start: 0,
        tls_align: 1,
        tls_memsz: 0,
        tp: 0,
        copy_addr: 0,
        dynsyms: Vec::new(),
        gnu_hash_first: 1,
        dynstr: vec![0],
        dynsym_name: Vec::new(),
        needed: Vec::new(),
        versym: Vec::new(),
        verneed: Vec::new(),
        verneed_count: 0,
        dynamic: Vec::new(),
        n_reladyn: 0,
        n_relaplt: 0,
        headers_size: 0,
        shoff: 0,
        file_size: 0,
        entry: 0,
        eh_fdes: 0,
        interp: None,
        build_id_size: 0,
        needed_offs: Vec::new(),
        rpath_offs: Vec::new(),
        soname_off: None,
    };

    // Copy relocations: space in the linker object's `.bss`.
    {
        let mut off = 0u64;
        let mut max_align = 1u64;
        let mut offs = Vec::new();
        for &gid in &sc.copies {
            let (size, value) = match ctx.syms[gid as usize].def {
                Def::Dso { dso, idx } => {
                    let d = &ctx.dsos[dso as usize].defs[idx as usize];
                    (d.size, d.value)
                }
                _ => (0, 0),
            };
            let align = (1u64 << value.trailing_zeros().min(6)).max(1);
            off = align_up(off, align);
            max_align = max_align.max(align);
            offs.push(off);
            off += size.max(1);
        }
        let lo = ctx.linker_obj as usize;
        let bss = &mut ctx.objs[lo].sections[1];
        bss.size = off;
        bss.align = max_align;
        for (k, &gid) in sc.copies.iter().enumerate() {
            ctx.syms[gid as usize].copy = offs[k] as u32;
        }
        // Aliases of a copied object in the same DSO (`environ`, `__environ`, `_environ`)
        // must resolve to the copy too, or the library keeps writing its own variable.
        for (k, &gid) in sc.copies.iter().enumerate() {
            let Def::Dso { dso, idx } = ctx.syms[gid as usize].def else {
                continue;
            };
            let value = ctx.dsos[dso as usize].defs[idx as usize].value;
            let aliases: Vec<&[u8]> = ctx.dsos[dso as usize]
                .defs
                .iter()
                .enumerate()
                .filter(|&(j, d)| j as u32 != idx && d.value == value && d.typ == STT_OBJECT)
                .map(|(_, d)| d.name)
                .collect();
            for name in aliases {
                if let Some(a) = ctx.lookup(name)
                    && matches!(ctx.syms[a as usize].def, Def::Dso { dso: d, .. } if d == dso)
                    && ctx.syms[a as usize].flags & F_COPY == 0
                {
                    let s = &mut ctx.syms[a as usize];
                    s.flags |= F_COPY | F_DYNSYM;
                    s.copy = offs[k] as u32;
                }
            }
        }
    }

    // Regular output sections, inputs in (input position, member) order.
    let mut by_name: FxMap<(Vec<u8>, bool), u32> = FxMap::default();
    let mut obj_order: Vec<u32> = (0..ctx.objs.len() as u32).collect();
    obj_order.sort_by_key(|&o| ctx.obj_order[o as usize]);
    for &oi in &obj_order {
        let o = &ctx.objs[oi as usize];
        for (si, s) in o.sections.iter().enumerate() {
            if !s.live {
                continue;
            }
            if s.flags & SHF_ALLOC == 0
                && (cfg.strip_debug || cfg.strip_all)
                && s.name.starts_with(b".debug")
            {
                continue;
            }
            let name = output_name(s.name);
            let tls = s.flags & SHF_TLS != 0;
            let key = (name.to_vec(), tls);
            let idx = match by_name.get(&key) {
                Some(&i) => i,
                None => {
                    let i = lay.secs.len() as u32;
                    let sh_type = match s.sh_type {
                        SHT_X86_64_UNWIND => SHT_PROGBITS,
                        t => t,
                    };
                    lay.secs.push(OutSec {
                        name: show(name),
                        sh_type,
                        flags: 0,
                        align: 1,
                        size: 0,
                        addr: 0,
                        offset: 0,
                        entsize: 0,
                        synth: None,
                        members: Vec::new(),
                        rank: 0,
                        shndx: 0,
                    });
                    by_name.insert(key, i);
                    i
                }
            };
            let out = &mut lay.secs[idx as usize];
            out.flags |= s.flags & !(SHF_GROUP | SHF_MERGE | SHF_STRINGS | SHF_INFO_LINK);
            out.align = out.align.max(s.align);
            if s.sh_type != SHT_NOBITS && out.sh_type == SHT_NOBITS {
                out.sh_type = SHT_PROGBITS;
            }
            out.members.push((oi, si as u32));
        }
    }
    for out in &mut lay.secs {
        if out.name.starts_with(".init_array") || out.name.starts_with(".fini_array") {
            out.members.sort_by_key(|&(o, s)| {
                init_priority(ctx.objs[o as usize].sections[s as usize].name)
            });
        }
        let mut off = 0u64;
        let eh = out.name == ".eh_frame";
        for &(o, s) in &out.members {
            let is = &mut ctx.objs[o as usize].sections[s as usize];
            // `.eh_frame` records must be contiguous: zero padding would read as the
            // terminator that ends a registered frame list (crtbeginT.o's
            // `__EH_FRAME_BEGIN__`).
            if eh {
                is.align = is.align.min(4);
            }
            off = align_up(off, is.align);
            is.offset = off;
            off += is.size;
        }
        out.size = off;
        if out.name == ".comment" {
            out.flags |= SHF_MERGE | SHF_STRINGS;
            out.entsize = 1;
        }
        if matches!(
            out.sh_type,
            SHT_INIT_ARRAY | SHT_FINI_ARRAY | SHT_PREINIT_ARRAY
        ) {
            out.entsize = 8;
        }
    }
    for (i, out) in lay.secs.iter().enumerate() {
        for &(o, s) in &out.members {
            ctx.objs[o as usize].sections[s as usize].out = i as u32;
        }
    }

    // Dynamic symbols, strings, versions.
    if ctx.dynamic {
        build_dynamic_symbols(ctx, sc, &mut lay);
    }

    // Synthetic sections.
    let add = |lay: &mut Lay,
               s: Synth,
               name: &str,
               sh_type: u32,
               flags: u64,
               align: u64,
               size: u64,
               entsize: u64| {
        let i = lay.secs.len() as u32;
        lay.secs.push(OutSec {
            name: name.into(),
            sh_type,
            flags,
            align,
            size,
            addr: 0,
            offset: 0,
            entsize,
            synth: Some(s),
            members: Vec::new(),
            rank: 0,
            shndx: 0,
        });
        lay.synth.insert(s, i);
    };
    let a = SHF_ALLOC;
    if ctx.dynamic && !cfg.shared && !cfg.no_dynamic_linker {
        let mut interp = cfg
            .dynamic_linker
            .clone()
            .unwrap_or_else(|| "/lib64/ld-linux-x86-64.so.2".into())
            .into_bytes();
        interp.push(0);
        add(
            &mut lay,
            Synth::Interp,
            ".interp",
            SHT_PROGBITS,
            a,
            1,
            interp.len() as u64,
            0,
        );
        lay.interp = Some(interp);
    }
    let bid = match cfg.build_id {
        super::args::BuildId::None => 0,
        super::args::BuildId::Hash(n) => n,
        super::args::BuildId::Explicit => cfg.build_id_bytes.len(),
    };
    if bid > 0 {
        lay.build_id_size = bid;
        add(
            &mut lay,
            Synth::BuildId,
            ".note.gnu.build-id",
            SHT_NOTE,
            a,
            4,
            16 + align_up(bid as u64, 4),
            0,
        );
    }
    let ndyn = lay.dynsyms.len() as u64 + 1;
    if ctx.dynamic {
        if cfg.hash_gnu {
            let hashed = lay.dynsyms.len() as u64 + 1 - lay.gnu_hash_first as u64;
            let (nb, bloom) = gnu_hash_params(hashed as usize);
            add(
                &mut lay,
                Synth::GnuHash,
                ".gnu.hash",
                SHT_GNU_HASH,
                a,
                8,
                16 + 8 * bloom as u64 + 4 * nb as u64 + 4 * hashed,
                0,
            );
        }
        if cfg.hash_sysv {
            add(
                &mut lay,
                Synth::Hash,
                ".hash",
                SHT_HASH,
                a,
                8,
                8 + 4 * ndyn + 4 * ndyn,
                4,
            );
        }
        add(
            &mut lay,
            Synth::DynSym,
            ".dynsym",
            SHT_DYNSYM,
            a,
            8,
            24 * ndyn,
            24,
        );
        let n = lay.dynstr.len() as u64;
        add(&mut lay, Synth::DynStr, ".dynstr", SHT_STRTAB, a, 1, n, 0);
        if lay.verneed_count > 0 {
            add(
                &mut lay,
                Synth::VerSym,
                ".gnu.version",
                SHT_GNU_VERSYM,
                a,
                2,
                2 * ndyn,
                2,
            );
            let n = lay.verneed.len() as u64;
            add(
                &mut lay,
                Synth::VerNeed,
                ".gnu.version_r",
                SHT_GNU_VERNEED,
                a,
                8,
                n,
                0,
            );
        }
    }
    let got_dyn: usize = sc.got.iter().map(|e| reloc::got_dynrels(ctx, e)).sum();
    lay.n_reladyn = if ctx.dynamic {
        sc.section_dynrels + got_dyn + sc.copies.len()
    } else {
        0
    };
    if !ctx.dynamic && (sc.section_dynrels > 0 || got_dyn > 0) {
        return Err(LinkError::unsupported(
            "internal error: dynamic relocations in a static output",
        ));
    }
    if lay.n_reladyn > 0 || ctx.dynamic {
        let n = 24 * lay.n_reladyn as u64;
        add(&mut lay, Synth::RelaDyn, ".rela.dyn", SHT_RELA, a, 8, n, 24);
    }
    lay.n_relaplt = sc.plt.len() + sc.iplt.len();
    if lay.n_relaplt > 0 {
        let n = 24 * lay.n_relaplt as u64;
        add(
            &mut lay,
            Synth::RelaPlt,
            ".rela.plt",
            SHT_RELA,
            a | SHF_INFO_LINK,
            8,
            n,
            24,
        );
    }
    let plt_size = if sc.plt.is_empty() {
        0
    } else {
        16 * (1 + sc.plt.len() as u64)
    } + 16 * sc.iplt.len() as u64;
    if plt_size > 0 {
        add(
            &mut lay,
            Synth::Plt,
            ".plt",
            SHT_PROGBITS,
            a | SHF_EXECINSTR,
            16,
            plt_size,
            16,
        );
    }
    if sc.got_slots > 0 {
        add(
            &mut lay,
            Synth::Got,
            ".got",
            SHT_PROGBITS,
            a | SHF_WRITE,
            8,
            8 * sc.got_slots as u64,
            8,
        );
    }
    let got_sym = ctx
        .lookup(b"_GLOBAL_OFFSET_TABLE_")
        .is_some_and(|g| ctx.syms[g as usize].def == Def::Linker);
    if ctx.dynamic || lay.n_relaplt > 0 || sc.got_base_used || got_sym {
        let n = 8 * (3 + lay.n_relaplt as u64);
        add(
            &mut lay,
            Synth::GotPlt,
            ".got.plt",
            SHT_PROGBITS,
            a | SHF_WRITE,
            8,
            n,
            8,
        );
    }
    let eh_fdes = super::eh_frame::count_fdes(ctx);
    lay.eh_fdes = eh_fdes;
    if cfg.eh_frame_hdr && by_name.contains_key(&(b".eh_frame".to_vec(), false)) {
        add(
            &mut lay,
            Synth::EhFrameHdr,
            ".eh_frame_hdr",
            SHT_PROGBITS,
            a,
            4,
            12 + 8 * eh_fdes as u64,
            0,
        );
    }
    if ctx.dynamic {
        let entries = dynamic_entries(ctx, sc, &lay);
        let n = entries.len() as u64 + 1;
        lay.dynamic = entries;
        add(
            &mut lay,
            Synth::Dynamic,
            ".dynamic",
            SHT_DYNAMIC,
            a | SHF_WRITE,
            8,
            16 * n,
            16,
        );
    }

    // Order and segments.
    for s in &mut lay.secs {
        s.rank = match s.synth {
            Some(Synth::GnuHash) => 30,
            Some(Synth::Hash) => 31,
            Some(Synth::DynSym) => 32,
            Some(Synth::DynStr) => 33,
            Some(Synth::VerSym) => 34,
            Some(Synth::VerNeed) => 35,
            Some(Synth::RelaDyn) => 36,
            Some(Synth::RelaPlt) => 37,
            _ => rank(&s.name, s.sh_type, s.flags),
        };
    }
    let mut order: Vec<u32> = (0..lay.secs.len() as u32)
        .filter(|&i| {
            let s = &lay.secs[i as usize];
            s.size > 0
                || s.synth.is_some() && !matches!(s.synth, Some(Synth::RelaDyn))
                || s.name.ends_with("_array")
        })
        .collect();
    order.sort_by_key(|&i| lay.secs[i as usize].rank);
    // The TLS image starts aligned to its largest alignment (the thread pointer offsets
    // assume it, and so does the C library when it copies the image).
    let tls_align = order
        .iter()
        .map(|&i| &lay.secs[i as usize])
        .filter(|s| s.flags & SHF_TLS != 0)
        .map(|s| s.align)
        .max();
    if let (Some(a), Some(&first)) = (
        tls_align,
        order
            .iter()
            .find(|&&i| lay.secs[i as usize].flags & SHF_TLS != 0),
    ) {
        lay.secs[first as usize].align = a;
    }
    lay.order = order;

    assign_addresses(ctx, sc, &mut lay)?;
    compute_symbol_addresses(ctx, sc, &lay);
    lay.entry = if cfg.shared {
        entry_addr(ctx, &lay).unwrap_or(0)
    } else {
        let name = super::resolve::entry_name(cfg);
        match entry_addr(ctx, &lay) {
            Some(a) => a,
            None => return Err(LinkError::MissingEntry { name: name.into() }),
        }
    };
    Ok(lay)
}

fn entry_addr(ctx: &Ctx, _lay: &Lay) -> Option<u64> {
    let name = super::resolve::entry_name(ctx.cfg);
    let g = ctx.lookup(name.as_bytes())?;
    match ctx.syms[g as usize].def {
        Def::Obj { .. } | Def::Linker => Some(ctx.syms[g as usize].addr),
        _ => None,
    }
}

fn seg_class(rank: u32) -> u32 {
    match rank {
        0..100 => 0,
        100..200 => 1,
        200..300 => 2,
        300..400 => 3,
        400..900 => 4,
        _ => 5,
    }
}

fn assign_addresses(ctx: &Ctx, sc: &Scan, lay: &mut Lay) -> Result<(), LinkError> {
    let dynamic = ctx.dynamic;
    // Count program headers.
    let classes: Vec<u32> = lay
        .order
        .iter()
        .map(|&i| seg_class(lay.secs[i as usize].rank))
        .collect();
    let mut nload = 1; // class 0 always (the headers)
    for c in 1..5 {
        if classes.contains(&c) {
            nload += 1;
        }
    }
    let has = |s: Synth| lay.synth.contains_key(&s);
    let notes = lay
        .order
        .iter()
        .filter(|&&i| {
            lay.secs[i as usize].sh_type == SHT_NOTE && lay.secs[i as usize].flags & SHF_ALLOC != 0
        })
        .count();
    let tls = lay
        .order
        .iter()
        .any(|&i| lay.secs[i as usize].flags & SHF_TLS != 0);
    let relro = ctx.cfg.z_relro && classes.contains(&3);
    let nph = (dynamic as usize) // PT_PHDR
        + has(Synth::Interp) as usize
        + nload
        + has(Synth::Dynamic) as usize
        + notes
        + tls as usize
        + has(Synth::EhFrameHdr) as usize
        + 1 // GNU_STACK
        + relro as usize;
    lay.headers_size = 64 + 56 * nph as u64;

    let mut off = lay.headers_size;
    let mut va = lay.base + off;
    let mut loads: Vec<Phdr> = vec![Phdr {
        p_type: PT_LOAD,
        flags: PF_R,
        offset: 0,
        vaddr: lay.base,
        filesz: 0,
        memsz: 0,
        align: PAGE,
    }];
    let mut cur_class = 0;
    let n = lay.order.len();
    for k in 0..n {
        let i = lay.order[k] as usize;
        let class = classes[k];
        if class == 5 {
            break;
        }
        if class != cur_class {
            // Close the current load segment; start the next on a fresh page.
            cur_class = class;
            va = align_up(va, PAGE) + (off % PAGE);
            loads.push(Phdr {
                p_type: PT_LOAD,
                flags: match class {
                    1 => PF_R | PF_X,
                    2 => PF_R,
                    _ => PF_R | PF_W,
                },
                offset: off,
                vaddr: va,
                filesz: 0,
                memsz: 0,
                align: PAGE,
            });
        }
        let nobits = lay.secs[i].sh_type == SHT_NOBITS;
        // A NOBITS section followed by file-backed ones in its segment needs file space.
        let tail = nobits
            && (k + 1..n).all(|j| {
                classes[j] != class || lay.secs[lay.order[j] as usize].sh_type == SHT_NOBITS
            });
        let s = &mut lay.secs[i];
        let pad = align_up(va, s.align) - va;
        va += pad;
        if !tail {
            off += pad;
        }
        s.addr = va;
        s.offset = off;
        let tbss = nobits && s.flags & SHF_TLS != 0;
        if !tbss {
            va += s.size;
        }
        if !tail && !tbss {
            off += s.size;
        }
        if tbss && !tail {
            // Not in the file and not in the address space: nothing to advance.
        }
        let l = loads.last_mut().expect("a load segment");
        l.filesz = off - l.offset;
        l.memsz = va.max(s.addr + if tbss { 0 } else { s.size }) - l.vaddr;
    }
    // Non-allocated sections after everything.
    for (&i, &class) in lay.order.iter().zip(&classes) {
        if class != 5 {
            continue;
        }
        let s = &mut lay.secs[i as usize];
        off = align_up(off, s.align);
        s.addr = 0;
        s.offset = off;
        off += s.size;
    }
    lay.shoff = align_up(off, 8);

    // TLS segment.
    let mut tls_ph = None;
    {
        let tsecs: Vec<usize> = lay
            .order
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| lay.secs[i].flags & SHF_TLS != 0 && lay.secs[i].flags & SHF_ALLOC != 0)
            .collect();
        if let (Some(&f), Some(&l)) = (tsecs.first(), tsecs.last()) {
            let align = tsecs.iter().map(|&i| lay.secs[i].align).max().unwrap_or(1);
            let start = lay.secs[f].addr;
            let end = lay.secs[l].addr + lay.secs[l].size;
            let fend = tsecs
                .iter()
                .filter(|&&i| lay.secs[i].sh_type != SHT_NOBITS)
                .map(|&i| lay.secs[i].addr + lay.secs[i].size)
                .max()
                .unwrap_or(start);
            lay.tls_start = start;
            lay.tls_align = align;
            lay.tls_memsz = end - start;
            lay.tp = start + align_up(end - start, align);
            tls_ph = Some(Phdr {
                p_type: PT_TLS,
                flags: PF_R,
                offset: lay.secs[f].offset,
                vaddr: start,
                filesz: fend - start,
                memsz: end - start,
                align,
            });
        }
    }

    // Program headers.
    let mut ph = Vec::new();
    if dynamic {
        ph.push(Phdr {
            p_type: PT_PHDR,
            flags: PF_R,
            offset: 64,
            vaddr: lay.base + 64,
            filesz: 56 * nph as u64,
            memsz: 56 * nph as u64,
            align: 8,
        });
    }
    if let Some(s) = lay.synth_sec(Synth::Interp) {
        ph.push(Phdr {
            p_type: PT_INTERP,
            flags: PF_R,
            offset: s.offset,
            vaddr: s.addr,
            filesz: s.size,
            memsz: s.size,
            align: 1,
        });
    }
    ph.extend(loads.iter().copied());
    if let Some(s) = lay.synth_sec(Synth::Dynamic) {
        ph.push(Phdr {
            p_type: PT_DYNAMIC,
            flags: PF_R | PF_W,
            offset: s.offset,
            vaddr: s.addr,
            filesz: s.size,
            memsz: s.size,
            align: 8,
        });
    }
    for &i in &lay.order {
        let s = &lay.secs[i as usize];
        if s.sh_type == SHT_NOTE && s.flags & SHF_ALLOC != 0 {
            ph.push(Phdr {
                p_type: PT_NOTE,
                flags: PF_R,
                offset: s.offset,
                vaddr: s.addr,
                filesz: s.size,
                memsz: s.size,
                align: s.align,
            });
        }
    }
    if let Some(t) = tls_ph {
        ph.push(t);
    }
    if let Some(s) = lay.synth_sec(Synth::EhFrameHdr) {
        ph.push(Phdr {
            p_type: PT_GNU_EH_FRAME,
            flags: PF_R,
            offset: s.offset,
            vaddr: s.addr,
            filesz: s.size,
            memsz: s.size,
            align: 4,
        });
    }
    ph.push(Phdr {
        p_type: PT_GNU_STACK,
        flags: if ctx.cfg.execstack {
            PF_R | PF_W | PF_X
        } else {
            PF_R | PF_W
        },
        offset: 0,
        vaddr: 0,
        filesz: 0,
        memsz: 0,
        align: 16,
    });
    if relro {
        let first = classes.iter().position(|&c| c == 3);
        let last = classes.iter().rposition(|&c| c == 3);
        if let (Some(f), Some(l)) = (first, last) {
            let fs = &lay.secs[lay.order[f] as usize];
            let ls = &lay.secs[lay.order[l] as usize];
            let start = fs.addr;
            let end = ls.addr
                + if ls.flags & SHF_TLS != 0 && ls.sh_type == SHT_NOBITS {
                    0
                } else {
                    ls.size
                };
            let end = align_up(end, PAGE);
            ph.push(Phdr {
                p_type: PT_GNU_RELRO,
                flags: PF_R,
                offset: fs.offset,
                vaddr: start,
                filesz: end - start,
                memsz: end - start,
                align: 1,
            });
        }
    }
    if ph.len() != nph {
        return Err(LinkError::unsupported(format!(
            "internal error: {} program headers planned, {} made",
            nph,
            ph.len()
        )));
    }
    lay.phdrs = ph;

    // Section header indices.
    for (idx, &i) in (1..).zip(lay.order.iter()) {
        lay.secs[i as usize].shndx = idx;
    }
    let _ = sc;
    lay.got_addr = lay.synth_sec(Synth::Got).map_or(0, |s| s.addr);
    lay.gotplt_addr = lay.synth_sec(Synth::GotPlt).map_or(0, |s| s.addr);
    lay.got_base = lay.gotplt_addr;
    lay.plt_addr = lay.synth_sec(Synth::Plt).map_or(0, |s| s.addr);
    lay.iplt_addr = lay.plt_addr
        + if sc.plt.is_empty() {
            0
        } else {
            16 * (1 + sc.plt.len() as u64)
        };
    let lo = &ctx.objs[ctx.linker_obj as usize].sections[1];
    lay.copy_addr = if lo.out != NO_OUT {
        lay.secs[lo.out as usize].addr + lo.offset
    } else {
        0
    };
    Ok(())
}

/// Every global's address (`Symbol::addr`): definitions, PLT/IPLT entries, copies, and
/// the linker-defined symbols.
fn compute_symbol_addresses(ctx: &mut Ctx, _sc: &Scan, lay: &Lay) {
    let find = |name: &str| {
        lay.order
            .iter()
            .map(|&i| &lay.secs[i as usize])
            .find(|s| s.name == name)
    };
    let first_of = |pred: &dyn Fn(&OutSec) -> bool| {
        lay.order
            .iter()
            .map(|&i| &lay.secs[i as usize])
            .find(|s| pred(s))
    };
    let end_of_alloc = lay
        .order
        .iter()
        .map(|&i| &lay.secs[i as usize])
        .filter(|s| {
            s.flags & SHF_ALLOC != 0 && !(s.flags & SHF_TLS != 0 && s.sh_type == SHT_NOBITS)
        })
        .map(|s| s.addr + s.size)
        .max()
        .unwrap_or(lay.base);
    let edata = lay
        .order
        .iter()
        .map(|&i| &lay.secs[i as usize])
        .filter(|s| s.flags & SHF_ALLOC != 0 && s.sh_type != SHT_NOBITS)
        .map(|s| s.addr + s.size)
        .max()
        .unwrap_or(lay.base);
    let etext = lay
        .order
        .iter()
        .map(|&i| &lay.secs[i as usize])
        .filter(|s| s.flags & SHF_EXECINSTR != 0)
        .map(|s| s.addr + s.size)
        .max()
        .unwrap_or(lay.base);
    let bss_start = first_of(&|s: &OutSec| {
        s.sh_type == SHT_NOBITS && s.flags & SHF_TLS == 0 && s.flags & SHF_ALLOC != 0
    })
    .map_or(edata, |s| s.addr);
    let range = |name: &str, end: bool| {
        find(name).map_or(0, |s| if end { s.addr + s.size } else { s.addr })
    };
    let rela_plt = lay.synth_sec(Synth::RelaPlt);
    let gotplt = lay.gotplt_addr;
    for gid in 0..ctx.syms.len() {
        let g = &ctx.syms[gid];
        let addr = match g.def {
            Def::Obj { obj, sym } => {
                let s = ctx.objs[obj as usize].syms[sym as usize];
                if g.flags & F_IPLT != 0 {
                    lay.iplt_addr + 16 * g.plt as u64
                } else if g.flags & F_PLT != 0 && g.plt != NONE {
                    lay.plt_addr + 16 * (1 + g.plt as u64)
                } else if s.shndx == SHN_ABS {
                    s.value
                } else {
                    def_addr(ctx, lay, obj, sym)
                }
            }
            Def::Dso { .. } => {
                if g.flags & F_COPY != 0 {
                    lay.copy_addr + g.copy as u64
                } else if g.flags & F_PLT != 0 && g.plt != NONE {
                    lay.plt_addr + 16 * (1 + g.plt as u64)
                } else {
                    0
                }
            }
            Def::Linker => {
                let n = g.name;
                match n {
                    b"_GLOBAL_OFFSET_TABLE_" => gotplt,
                    b"_DYNAMIC" => lay.synth_sec(Synth::Dynamic).map_or(0, |s| s.addr),
                    b"__ehdr_start" | b"__executable_start" | b"__dso_handle" => lay.base,
                    b"_end" | b"end" => end_of_alloc,
                    b"_edata" | b"edata" => edata,
                    b"__bss_start" => bss_start,
                    b"_etext" | b"etext" | b"__etext" => etext,
                    b"__init_array_start" => range(".init_array", false),
                    b"__init_array_end" => range(".init_array", true),
                    b"__fini_array_start" => range(".fini_array", false),
                    b"__fini_array_end" => range(".fini_array", true),
                    b"__preinit_array_start" => range(".preinit_array", false),
                    b"__preinit_array_end" => range(".preinit_array", true),
                    b"__rela_iplt_start" | b"__rela_iplt_end" => match rela_plt {
                        Some(s) if !ctx.dynamic => {
                            if n == b"__rela_iplt_start" {
                                s.addr
                            } else {
                                s.addr + s.size
                            }
                        }
                        _ => 0,
                    },
                    b"__GNU_EH_FRAME_HDR" => lay.synth_sec(Synth::EhFrameHdr).map_or(0, |s| s.addr),
                    b"_TLS_MODULE_BASE_" => lay.tls_start,
                    _ => {
                        if let Some(sec) = n.strip_prefix(b"__start_") {
                            range(&show(sec), false)
                        } else if let Some(sec) = n.strip_prefix(b"__stop_") {
                            range(&show(sec), true)
                        } else {
                            0
                        }
                    }
                }
            }
            _ => 0,
        };
        ctx.syms[gid].addr = addr;
    }
}

/// Address of an object's symbol from its section (no PLT/IPLT redirection).
pub fn def_addr(ctx: &Ctx, lay: &Lay, obj: u32, sym: u32) -> u64 {
    let o = &ctx.objs[obj as usize];
    let s = o.syms[sym as usize];
    if s.shndx == SHN_ABS {
        return s.value;
    }
    if s.shndx == SHN_UNDEF || s.shndx >= SHN_LORESERVE {
        return 0;
    }
    section_addr(ctx, lay, obj, s.shndx, s.value)
}

/// Address of offset `off` of input section `sec` of `obj` (0 when the section is not in
/// the output); offsets in merged sections land on the merged copy.
pub fn section_addr(ctx: &Ctx, lay: &Lay, obj: u32, sec: u32, off: u64) -> u64 {
    let (obj, sec, off) = super::merge::locate(ctx, obj, sec, off);
    let sec = &ctx.objs[obj as usize].sections[sec as usize];
    if !sec.live || sec.out == NO_OUT {
        return 0;
    }
    let base = lay.secs[sec.out as usize].addr + sec.offset;
    base.wrapping_add(super::eh_frame::map_offset(sec, off))
}

impl<'a> Ctx<'a> {
    /// S for a relocation with addend `addend`. A section symbol of a merged section
    /// selects its piece by `value + addend` (lld's rule); the result is that piece's
    /// address minus the addend, so that S + A lands on it.
    pub fn reloc_sym_addr(&self, lay: &Lay, t: Target, addend: i64) -> u64 {
        if let Target::Local(o, i) = t {
            let s = self.objs[o as usize].syms[i as usize];
            if s.typ == STT_SECTION
                && s.shndx != SHN_UNDEF
                && s.shndx < SHN_LORESERVE
                && self.objs[o as usize].sections[s.shndx as usize]
                    .merge
                    .is_some()
            {
                let off = s.value.wrapping_add(addend as u64);
                return section_addr(self, lay, o, s.shndx, off).wrapping_sub(addend as u64);
            }
        }
        self.sym_addr(lay, t)
    }

    /// S for a relocation: the value a non-GOT reference resolves to.
    pub fn sym_addr(&self, lay: &Lay, t: Target) -> u64 {
        match t {
            Target::Global(g) => self.syms[g as usize].addr,
            Target::Local(o, i) => def_addr(self, lay, o, i),
            Target::None => 0,
        }
    }

    pub fn sym_size(&self, t: Target) -> u64 {
        match t {
            Target::Global(g) => match self.syms[g as usize].def {
                Def::Obj { obj, sym } => self.objs[obj as usize].syms[sym as usize].size,
                Def::Dso { dso, idx } => self.dsos[dso as usize].defs[idx as usize].size,
                _ => 0,
            },
            Target::Local(o, i) => self.objs[o as usize].syms[i as usize].size,
            Target::None => 0,
        }
    }

    /// Whether the target's definition is in the output (debug references to dropped
    /// code resolve to 0).
    pub fn target_live(&self, t: Target) -> bool {
        let (o, i) = match t {
            Target::Local(o, i) => (o, i),
            Target::Global(g) => match self.syms[g as usize].def {
                Def::Obj { obj, sym } => (obj, sym),
                Def::Undef | Def::Lazy { .. } => return false,
                _ => return true,
            },
            Target::None => return true,
        };
        let s = self.objs[o as usize].syms[i as usize];
        if s.shndx == SHN_ABS {
            return true;
        }
        if s.shndx == SHN_UNDEF || s.shndx >= SHN_LORESERVE {
            return false;
        }
        self.objs[o as usize].sections[s.shndx as usize].live
    }
}

/// GNU hash of a symbol name.
pub fn gnu_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 5381;
    for &c in name {
        h = h.wrapping_mul(33).wrapping_add(c as u32);
    }
    h
}

/// SysV ELF hash.
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(c as u32);
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// (bucket count, bloom words) for `n` hashed symbols.
pub fn gnu_hash_params(n: usize) -> (u32, u32) {
    let nb = (n / 4).max(1) as u32;
    let bloom = ((n / 8).max(1)).next_power_of_two() as u32;
    (nb, bloom)
}

/// Chooses `.dynsym`'s symbols: imports and exports, undefined ones first, then the
/// defined ones grouped by GNU hash bucket. Builds `.dynstr`, `DT_NEEDED` and versions.
fn build_dynamic_symbols(ctx: &mut Ctx, sc: &Scan, lay: &mut Lay) {
    let cfg = ctx.cfg;
    // Needed libraries.
    for (i, d) in ctx.dsos.iter().enumerate() {
        if d.used || !d.as_needed {
            lay.needed.push(i as u32);
        }
    }
    // Symbols exported because a needed DSO refers to them.
    let mut dso_refs: FxMap<&[u8], ()> = FxMap::default();
    for &d in &lay.needed {
        for &u in &ctx.dsos[d as usize].undefs {
            dso_refs.insert(u, ());
        }
    }
    for gid in 0..ctx.syms.len() {
        let g = &ctx.syms[gid];
        let defined = matches!(g.def, Def::Obj { .. });
        let vis_ok = g.vis == STV_DEFAULT || g.vis == STV_PROTECTED;
        let export = defined
            && vis_ok
            && (cfg.shared || cfg.export_dynamic || dso_refs.contains_key(g.name));
        let import = g.flags & F_DYNSYM != 0;
        if export {
            ctx.syms[gid].flags |= F_EXPORT | F_DYNSYM;
        } else if import || g.flags & (F_COPY | F_CANONICAL) != 0 {
            ctx.syms[gid].flags |= F_DYNSYM;
        }
    }
    // Copy-relocated symbols' aliases in the same DSO (environ/__environ/_environ)
    // must be exported at the copy too.
    let _ = sc;
    let mut undefined = Vec::new();
    let mut defined = Vec::new();
    for gid in 0..ctx.syms.len() as u32 {
        let g = &ctx.syms[gid as usize];
        if g.flags & F_DYNSYM == 0 {
            continue;
        }
        let is_def = matches!(g.def, Def::Obj { .. }) || g.flags & F_COPY != 0;
        if is_def {
            defined.push(gid);
        } else {
            undefined.push(gid);
        }
    }
    let (nb, _) = gnu_hash_params(defined.len());
    if cfg.hash_gnu {
        defined.sort_by_key(|&g| (gnu_hash(ctx.syms[g as usize].name) % nb, g));
    }
    lay.gnu_hash_first = 1 + undefined.len() as u32;
    lay.dynsyms = undefined;
    lay.dynsyms.extend(defined);
    for (k, &g) in lay.dynsyms.iter().enumerate() {
        ctx.syms[g as usize].dynsym = k as u32 + 1;
    }
    // Strings.
    let mut strtab: FxMap<Vec<u8>, u32> = FxMap::default();
    let mut add_str = |dynstr: &mut Vec<u8>, s: &[u8]| -> u32 {
        if let Some(&o) = strtab.get(s) {
            return o;
        }
        let o = dynstr.len() as u32;
        dynstr.extend_from_slice(s);
        dynstr.push(0);
        strtab.insert(s.to_vec(), o);
        o
    };
    let mut dynstr = std::mem::take(&mut lay.dynstr);
    let mut needed_off = Vec::new();
    for &d in &lay.needed {
        needed_off.push(add_str(&mut dynstr, ctx.dsos[d as usize].soname.as_bytes()));
    }
    lay.dynsym_name = lay
        .dynsyms
        .iter()
        .map(|&g| add_str(&mut dynstr, ctx.syms[g as usize].name))
        .collect();
    // Versions: (dso, version index) → output index from 2.
    let mut vers: Vec<(u32, u16, u16)> = Vec::new(); // (dso, dso version, out index)
    let mut versym = vec![0u16; lay.dynsyms.len() + 1];
    for (k, &g) in lay.dynsyms.iter().enumerate() {
        let s = &ctx.syms[g as usize];
        let v = match s.def {
            Def::Dso { dso, idx } => {
                let dv = ctx.dsos[dso as usize].defs[idx as usize].version;
                let named = ctx.dsos[dso as usize]
                    .version_names
                    .get(dv as usize)
                    .is_some_and(|n| !n.is_empty());
                if dv >= 2 && named {
                    match vers.iter().find(|&&(d, v, _)| d == dso && v == dv) {
                        Some(&(_, _, o)) => o,
                        None => {
                            let o = vers.len() as u16 + 2;
                            vers.push((dso, dv, o));
                            o
                        }
                    }
                } else {
                    1
                }
            }
            _ => 1,
        };
        versym[k + 1] = v;
    }
    if !vers.is_empty() {
        // Group by DSO in `needed` order.
        let mut out = Vec::new();
        let dsos: Vec<u32> = lay
            .needed
            .iter()
            .copied()
            .filter(|d| vers.iter().any(|v| v.0 == *d))
            .collect();
        for (di, &d) in dsos.iter().enumerate() {
            let mine: Vec<&(u32, u16, u16)> = vers.iter().filter(|v| v.0 == d).collect();
            let file = add_str(&mut dynstr, ctx.dsos[d as usize].soname.as_bytes());
            let start = out.len();
            out.extend_from_slice(&1u16.to_le_bytes());
            out.extend_from_slice(&(mine.len() as u16).to_le_bytes());
            out.extend_from_slice(&file.to_le_bytes());
            out.extend_from_slice(&16u32.to_le_bytes());
            let next_pos = out.len();
            out.extend_from_slice(&0u32.to_le_bytes());
            for (ai, &&(_, dv, o)) in mine.iter().enumerate() {
                let name = ctx.dsos[d as usize].version_names[dv as usize];
                let no = add_str(&mut dynstr, name);
                out.extend_from_slice(&elf_hash(name).to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(&o.to_le_bytes());
                out.extend_from_slice(&no.to_le_bytes());
                let next = if ai + 1 < mine.len() { 16u32 } else { 0 };
                out.extend_from_slice(&next.to_le_bytes());
            }
            let next = if di + 1 < dsos.len() {
                (out.len() - start) as u32
            } else {
                0
            };
            out[next_pos..next_pos + 4].copy_from_slice(&next.to_le_bytes());
        }
        lay.verneed = out;
        lay.verneed_count = dsos.len() as u32;
    }
    lay.versym = versym;
    // Needed names are stored as offsets via `dynamic_entries`.
    lay.needed_offs = needed_off;
    for r in &cfg.rpath {
        let o = add_str(&mut dynstr, r.as_bytes());
        lay.rpath_offs.push(o);
    }
    if let Some(s) = &cfg.soname {
        lay.soname_off = Some(add_str(&mut dynstr, s.as_bytes()));
    }
    lay.dynstr = dynstr;
}

fn dynamic_entries(ctx: &Ctx, sc: &Scan, lay: &Lay) -> Vec<(u64, DynVal)> {
    let cfg = ctx.cfg;
    let mut e = Vec::new();
    for &o in &lay.needed_offs {
        e.push((DT_NEEDED, DynVal::Const(o as u64)));
    }
    if let Some(o) = lay.soname_off {
        e.push((DT_SONAME, DynVal::Const(o as u64)));
    }
    for &o in &lay.rpath_offs {
        e.push((
            if cfg.new_dtags { DT_RUNPATH } else { DT_RPATH },
            DynVal::Const(o as u64),
        ));
    }
    let find = |name: &str| {
        lay.secs
            .iter()
            .position(|s| s.name == name && s.synth.is_none() && s.size > 0)
            .map(|i| i as u32)
    };
    if let Some(i) = find(".init_array") {
        e.push((DT_INIT_ARRAY, DynVal::SecAddr(i)));
        e.push((DT_INIT_ARRAYSZ, DynVal::SecSize(i)));
    }
    if let Some(i) = find(".fini_array") {
        e.push((DT_FINI_ARRAY, DynVal::SecAddr(i)));
        e.push((DT_FINI_ARRAYSZ, DynVal::SecSize(i)));
    }
    if let Some(i) = find(".preinit_array") {
        e.push((DT_PREINIT_ARRAY, DynVal::SecAddr(i)));
        e.push((DT_PREINIT_ARRAYSZ, DynVal::SecSize(i)));
    }
    if let Some(g) = ctx.lookup(b"_init")
        && matches!(ctx.syms[g as usize].def, Def::Obj { .. })
    {
        e.push((DT_INIT, DynVal::Sym(g)));
    }
    if let Some(g) = ctx.lookup(b"_fini")
        && matches!(ctx.syms[g as usize].def, Def::Obj { .. })
    {
        e.push((DT_FINI, DynVal::Sym(g)));
    }
    if lay.synth.contains_key(&Synth::GnuHash) {
        e.push((DT_GNU_HASH, DynVal::Addr(Synth::GnuHash)));
    }
    if lay.synth.contains_key(&Synth::Hash) {
        e.push((DT_HASH, DynVal::Addr(Synth::Hash)));
    }
    e.push((DT_STRTAB, DynVal::Addr(Synth::DynStr)));
    e.push((DT_SYMTAB, DynVal::Addr(Synth::DynSym)));
    e.push((DT_STRSZ, DynVal::Size(Synth::DynStr)));
    e.push((DT_SYMENT, DynVal::Const(24)));
    if !cfg.shared {
        e.push((DT_DEBUG, DynVal::Const(0)));
    }
    e.push((DT_PLTGOT, DynVal::Addr(Synth::GotPlt)));
    if lay.n_relaplt > 0 {
        e.push((DT_PLTRELSZ, DynVal::Size(Synth::RelaPlt)));
        e.push((DT_PLTREL, DynVal::Const(7)));
        e.push((DT_JMPREL, DynVal::Addr(Synth::RelaPlt)));
    }
    e.push((DT_RELA, DynVal::Addr(Synth::RelaDyn)));
    e.push((DT_RELASZ, DynVal::Size(Synth::RelaDyn)));
    e.push((DT_RELAENT, DynVal::Const(24)));
    e.push((DT_RELACOUNT, DynVal::RelaCount));
    let mut flags = 0;
    if cfg.z_now {
        flags |= DF_BIND_NOW;
    }
    if sc.textrel {
        flags |= DF_TEXTREL;
        e.push((DT_TEXTREL, DynVal::Const(0)));
    }
    if sc.static_tls && cfg.shared {
        flags |= DF_STATIC_TLS;
    }
    if flags != 0 {
        e.push((DT_FLAGS, DynVal::Const(flags)));
    }
    let mut flags1 = 0;
    if cfg.z_now {
        flags1 |= DF_1_NOW;
    }
    if cfg.pie {
        flags1 |= DF_1_PIE;
    }
    if flags1 != 0 {
        e.push((DT_FLAGS_1, DynVal::Const(flags1)));
    }
    if lay.verneed_count > 0 {
        e.push((DT_VERSYM, DynVal::Addr(Synth::VerSym)));
        e.push((DT_VERNEED, DynVal::Addr(Synth::VerNeed)));
        e.push((DT_VERNEEDNUM, DynVal::Const(lay.verneed_count as u64)));
    }
    e
}
