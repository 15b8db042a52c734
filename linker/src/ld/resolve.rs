//! Stage 2 of `meteor-ld`: loading the command line's inputs (objects, archives, shared
//! objects, linker scripts) and resolving symbols.
//!
//! Resolution follows lld: one global table; archive members are lazy definitions fetched
//! when a non-weak undefined reference meets them (in any order, so `--start-group` needs no
//! rescans); an object definition beats a common, which beats a shared-object definition;
//! strong beats weak; two strong definitions are an error naming both files. COMDAT groups
//! are claimed by the first file that has them; later copies' sections are dropped and
//! their symbols become references to the winner.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use super::archive::{self, Archive};
use super::args::{Config, InputArg, PosState};
use super::dso::{self, DsoFile};
use super::elf_types::*;
use super::object::{self, ObjFile};
use super::script::{self, ScriptInput};
use crate::error::LinkError;

/// FxHash: a fast non-cryptographic hasher for symbol names.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            h = (h.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

pub const NONE: u32 = u32::MAX;

/// Where a global symbol is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Def {
    Undef,
    /// An archive member that defines it, not loaded yet.
    Lazy {
        ar: u32,
        member: u64,
    },
    /// A shared object's dynamic symbol (index into `DsoFile::defs`).
    Dso {
        dso: u32,
        idx: u32,
    },
    /// A COMMON symbol of an object (allocated in `.bss` by layout).
    Common {
        obj: u32,
        sym: u32,
    },
    /// A regular definition in an object.
    Obj {
        obj: u32,
        sym: u32,
    },
    /// Defined by the linker (`_end`, `__init_array_start`, `__start_SEC`, …).
    Linker,
}

pub struct Symbol<'a> {
    pub name: &'a [u8],
    pub def: Def,
    /// Most restrictive visibility any object gave it.
    pub vis: u8,
    /// Some object refers to it without `STB_WEAK`.
    pub strong_ref: bool,
    /// The chosen object definition is weak.
    pub weak_def: bool,
    // Filled in by the relocation scan and layout.
    pub flags: u32,
    pub got: u32,
    pub plt: u32,
    pub gottp: u32,
    pub tlsgd: u32,
    pub dynsym: u32,
    pub copy: u32,
    pub addr: u64,
}

/// A file the command line (or a script) named, read into memory.
pub struct Loaded {
    pub name: String,
    pub data: Vec<u8>,
    pub kind: Kind,
    pub state: PosState,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Obj,
    Archive,
    Dso,
}

/// Reads every input, expanding linker scripts and `-l` searches, in command-line order.
pub fn load_inputs(cfg: &Config) -> Result<Vec<Loaded>, LinkError> {
    let mut out = Vec::new();
    let mut seen: FxMap<PathBuf, ()> = FxMap::default();
    let mut search = cfg.search_paths.clone();
    for input in &cfg.inputs {
        match input {
            InputArg::Path(p, st) => load_path(cfg, &mut search, p, *st, &mut out, &mut seen, 0)?,
            InputArg::Lib(name, st) => {
                let p = find_lib(cfg, &search, name, *st)?;
                load_path(cfg, &mut search, &p, *st, &mut out, &mut seen, 0)?
            }
            InputArg::Bytes(name, data) => out.push(Loaded {
                name: name.clone(),
                data: data.clone(),
                kind: Kind::Obj,
                state: PosState::default(),
            }),
            InputArg::GroupStart | InputArg::GroupEnd => {}
        }
    }
    Ok(out)
}

fn find_lib(
    cfg: &Config,
    search: &[PathBuf],
    name: &str,
    st: PosState,
) -> Result<PathBuf, LinkError> {
    for dir in search {
        if let Some(exact) = name.strip_prefix(':') {
            let p = dir.join(exact);
            if p.is_file() {
                return Ok(p);
            }
            continue;
        }
        if !st.static_libs && !cfg.static_ {
            let p = dir.join(format!("lib{name}.so"));
            if p.is_file() {
                return Ok(p);
            }
        }
        let p = dir.join(format!("lib{name}.a"));
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(LinkError::unsupported(format!("cannot find -l{name}")))
}

fn load_path(
    cfg: &Config,
    search: &mut Vec<PathBuf>,
    path: &Path,
    st: PosState,
    out: &mut Vec<Loaded>,
    seen: &mut FxMap<PathBuf, ()>,
    depth: u32,
) -> Result<(), LinkError> {
    let name = path.display().to_string();
    let data =
        std::fs::read(path).map_err(|e| LinkError::input(&name, format!("cannot open: {e}")))?;
    let kind = if archive::is_archive(&data) || archive::is_thin_archive(&data) {
        Kind::Archive
    } else if data.starts_with(b"\x7fELF") {
        match Bytes(&data).u16(16) {
            Some(ET_REL) => Kind::Obj,
            Some(ET_DYN) => {
                if cfg.static_ {
                    return Err(LinkError::input(
                        &name,
                        "attempted static link of a shared object",
                    ));
                }
                Kind::Dso
            }
            Some(t) => {
                return Err(LinkError::input(
                    &name,
                    format!(
                        "cannot link an ELF file of type {t} (not an object, archive or shared object)"
                    ),
                ));
            }
            None => return Err(LinkError::input(&name, "truncated ELF header")),
        }
    } else if script::looks_like_script(&data) {
        if depth > 8 {
            return Err(LinkError::input(&name, "linker scripts nest too deeply"));
        }
        let text = String::from_utf8_lossy(&data);
        let s = script::parse(&text).map_err(|e| LinkError::input(&name, e))?;
        search.extend(s.search_dirs.iter().map(PathBuf::from));
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for i in s.inputs {
            match i {
                ScriptInput::File { name: f, as_needed } => {
                    let mut st2 = st;
                    st2.as_needed |= as_needed;
                    let p = PathBuf::from(&f);
                    let p = if p.is_absolute() || p.is_file() {
                        p
                    } else if dir.join(&p).is_file() {
                        dir.join(&p)
                    } else {
                        search
                            .iter()
                            .map(|d| d.join(&p))
                            .find(|c| c.is_file())
                            .ok_or_else(|| {
                                LinkError::input(
                                    &name,
                                    format!("cannot find {f} named by the script"),
                                )
                            })?
                    };
                    load_path(cfg, search, &p, st2, out, seen, depth + 1)?;
                }
                ScriptInput::Lib { name: l, as_needed } => {
                    let mut st2 = st;
                    st2.as_needed |= as_needed;
                    let p = find_lib(cfg, search, &l, st2)?;
                    load_path(cfg, search, &p, st2, out, seen, depth + 1)?;
                }
            }
        }
        return Ok(());
    } else {
        return Err(LinkError::input(
            &name,
            "unknown file type (not an ELF object, archive, shared object or linker script)",
        ));
    };
    if kind != Kind::Obj {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if seen.insert(key, ()).is_some() && kind == Kind::Dso {
            return Ok(());
        }
    }
    out.push(Loaded {
        name,
        data,
        kind,
        state: st,
    });
    Ok(())
}

/// The link's state from resolution on.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub objs: Vec<ObjFile<'a>>,
    /// Layout order key of each object: (input position, member offset).
    pub obj_order: Vec<(u32, u64)>,
    /// For each object, the global table id of each symbol from `first_global` on.
    pub obj_globals: Vec<Vec<u32>>,
    pub archives: Vec<Archive<'a>>,
    pub dsos: Vec<DsoFile<'a>>,
    pub syms: Vec<Symbol<'a>>,
    pub map: FxMap<&'a [u8], u32>,
    comdats: FxMap<&'a [u8], u32>,
    fetched: FxMap<(u32, u64), ()>,
    pending: Vec<(u32, u64)>,
    archive_pos: Vec<u32>,
    pub errors: Vec<LinkError>,
    /// Output is position independent (`-pie` or `-shared`).
    pub pic: bool,
    /// Output has a dynamic section (shared libraries, PIE, or needed DSOs).
    pub dynamic: bool,
    /// Index of the linker's own object (commons, copy relocations).
    pub linker_obj: u32,
    /// FDEs whose CIE was deduplicated into another `.eh_frame` input section: the writer
    /// patches their CIE pointers once the sections have their places.
    pub eh_cie_fixups: Vec<super::eh_frame::CieFixup>,
}

impl<'a> Ctx<'a> {
    pub fn intern(&mut self, name: &'a [u8]) -> u32 {
        if let Some(&id) = self.map.get(name) {
            return id;
        }
        let id = self.syms.len() as u32;
        self.syms.push(Symbol {
            name,
            def: Def::Undef,
            vis: STV_DEFAULT,
            strong_ref: false,
            weak_def: false,
            flags: 0,
            got: NONE,
            plt: NONE,
            gottp: NONE,
            tlsgd: NONE,
            dynsym: NONE,
            copy: NONE,
            addr: 0,
        });
        self.map.insert(name, id);
        id
    }

    /// Adds an object made by the linker itself (no input file).
    pub fn push_obj(&mut self, obj: ObjFile<'a>) -> u32 {
        let id = self.objs.len() as u32;
        self.objs.push(obj);
        self.obj_globals.push(Vec::new());
        self.obj_order.push((u32::MAX, 0));
        id
    }

    pub fn lookup(&self, name: &[u8]) -> Option<u32> {
        self.map.get(name).copied()
    }

    fn add_obj(&mut self, mut obj: ObjFile<'a>, order: (u32, u64)) {
        let id = self.objs.len() as u32;
        for g in &obj.groups {
            if self.comdats.contains_key(g.signature) {
                for &m in &g.members {
                    obj.sections[m as usize].live = false;
                }
            } else {
                self.comdats.insert(g.signature, id);
            }
        }
        let mut ids = Vec::with_capacity(obj.syms.len().saturating_sub(obj.first_global));
        for i in obj.first_global..obj.syms.len() {
            let s = obj.syms[i];
            let sid = self.intern(s.name);
            ids.push(sid);
            let sym = &mut self.syms[sid as usize];
            if s.vis != STV_DEFAULT && (sym.vis == STV_DEFAULT || s.vis < sym.vis) {
                sym.vis = s.vis;
            }
            let weak = s.bind == STB_WEAK;
            let in_dead = s.shndx != SHN_UNDEF
                && s.shndx < SHN_LORESERVE
                && !obj.sections[s.shndx as usize].live
                && obj.sections[s.shndx as usize].flags & SHF_ALLOC != 0;
            if s.shndx == SHN_COMMON {
                match sym.def {
                    Def::Undef | Def::Lazy { .. } | Def::Dso { .. } | Def::Linker => {
                        sym.def = Def::Common {
                            obj: id,
                            sym: i as u32,
                        }
                    }
                    Def::Common { obj: o, sym: k } => {
                        let old = self.objs[o as usize].syms[k as usize];
                        if s.size > old.size || (s.size == old.size && s.value > old.value) {
                            sym.def = Def::Common {
                                obj: id,
                                sym: i as u32,
                            };
                        }
                    }
                    Def::Obj { .. } => {}
                }
            } else if s.shndx != SHN_UNDEF && !in_dead {
                let weakish = weak || s.bind == STB_GNU_UNIQUE;
                match sym.def {
                    Def::Obj { obj: o, .. } => {
                        if sym.weak_def && !weakish {
                            sym.def = Def::Obj {
                                obj: id,
                                sym: i as u32,
                            };
                            sym.weak_def = false;
                        } else if !sym.weak_def && !weakish {
                            let first = if (o as usize) < self.objs.len() {
                                self.objs[o as usize].name.clone()
                            } else {
                                obj.name.clone()
                            };
                            self.errors.push(LinkError::DuplicateSymbol {
                                name: show(s.name),
                                first,
                                second: obj.name.clone(),
                            });
                        }
                    }
                    _ => {
                        sym.def = Def::Obj {
                            obj: id,
                            sym: i as u32,
                        };
                        sym.weak_def = weakish;
                    }
                }
            } else {
                if !weak {
                    sym.strong_ref = true;
                }
                match sym.def {
                    Def::Lazy { ar, member } if !weak => {
                        sym.def = Def::Undef;
                        self.fetch(ar, member);
                    }
                    Def::Dso { dso, .. } => self.dsos[dso as usize].used = true,
                    _ => {}
                }
            }
        }
        self.objs.push(obj);
        self.obj_globals.push(ids);
        self.obj_order.push(order);
    }

    fn fetch(&mut self, ar: u32, member: u64) {
        if self.fetched.insert((ar, member), ()).is_none() {
            self.pending.push((ar, member));
        }
    }

    fn drain(&mut self) {
        while let Some((ar, member)) = self.pending.pop() {
            let a = &self.archives[ar as usize];
            let pos = self.archive_pos[ar as usize];
            match a.member(member).and_then(|(name, data)| {
                object::parse(name.clone(), data).map_err(|e| format!("{name}: {e}"))
            }) {
                Ok(obj) => self.add_obj(obj, (pos, member)),
                Err(e) => self.errors.push(LinkError::input(&a.name, e)),
            }
        }
    }

    fn add_archive(&mut self, ar: Archive<'a>, pos: u32, whole: bool) {
        let id = self.archives.len() as u32;
        let mut index = std::mem::take(&mut { ar.index.clone() });
        self.archives.push(ar);
        self.archive_pos.push(pos);
        if whole {
            let members = self.archives[id as usize].members.clone();
            for m in members {
                self.fetch(id, m);
                self.drain();
            }
            return;
        }
        if index.is_empty() && !self.archives[id as usize].members.is_empty() {
            // No symbol index: build one from the members' symbol tables.
            let a = &self.archives[id as usize];
            for &m in &a.members {
                if let Ok((name, data)) = a.member(m)
                    && let Ok(o) = object::parse(name, data)
                {
                    for n in archive::defined_globals(&o.syms, o.first_global) {
                        index.push((n, m));
                    }
                }
            }
        }
        for (name, member) in index {
            let sid = self.intern(name);
            let sym = &mut self.syms[sid as usize];
            match sym.def {
                Def::Undef if sym.strong_ref => {
                    self.fetch(id, member);
                    self.drain();
                }
                Def::Undef => sym.def = Def::Lazy { ar: id, member },
                _ => {}
            }
        }
    }

    fn add_dso(&mut self, d: DsoFile<'a>) {
        if self.dsos.iter().any(|o| o.soname == d.soname) {
            return;
        }
        let id = self.dsos.len() as u32;
        let mut used = false;
        for (k, s) in d.defs.iter().enumerate() {
            let sid = self.intern(s.name);
            let sym = &mut self.syms[sid as usize];
            if sym.def == Def::Undef {
                // An `Undef` entry exists only because something referred to it.
                used = true;
                sym.def = Def::Dso {
                    dso: id,
                    idx: k as u32,
                };
            }
        }
        self.dsos.push(d);
        if used {
            self.dsos[id as usize].used = true;
        }
    }
}

/// Resolves all inputs into a `Ctx`.
pub fn resolve<'a>(cfg: &'a Config, loaded: &'a [Loaded]) -> Result<Ctx<'a>, LinkError> {
    let mut ctx = Ctx {
        cfg,
        objs: Vec::new(),
        obj_order: Vec::new(),
        obj_globals: Vec::new(),
        archives: Vec::new(),
        dsos: Vec::new(),
        syms: Vec::new(),
        map: FxMap::default(),
        comdats: FxMap::default(),
        fetched: FxMap::default(),
        pending: Vec::new(),
        archive_pos: Vec::new(),
        errors: Vec::new(),
        pic: cfg.pie || cfg.shared,
        dynamic: false,
        linker_obj: 0,
        eh_cie_fixups: Vec::new(),
    };
    let entry = entry_name(cfg);
    let mut roots: Vec<&'a str> = cfg.undefined.iter().map(String::as_str).collect();
    if !cfg.shared {
        roots.push(entry);
    }
    for r in roots {
        let id = ctx.intern(r.as_bytes());
        ctx.syms[id as usize].strong_ref = true;
    }
    // Parse objects in parallel (they are independent), then resolve in order.
    let objs: Vec<Option<Result<ObjFile<'a>, LinkError>>> = parse_objects(cfg, loaded);
    for ((pos, l), parsed) in loaded.iter().enumerate().zip(objs) {
        match l.kind {
            Kind::Obj => match parsed {
                Some(Ok(o)) => ctx.add_obj(o, (pos as u32, 0)),
                Some(Err(e)) => return Err(e),
                None => {}
            },
            Kind::Archive => {
                let a = archive::parse(l.name.clone(), &l.data)
                    .map_err(|e| LinkError::input(&l.name, e))?;
                ctx.add_archive(a, pos as u32, l.state.whole_archive);
            }
            Kind::Dso => {
                let file_name = Path::new(&l.name)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| l.name.clone());
                let d = dso::parse(l.name.clone(), &file_name, &l.data, l.state.as_needed)
                    .map_err(|e| LinkError::input(&l.name, e))?;
                ctx.add_dso(d);
            }
        }
        ctx.drain();
    }
    if let Some(e) = LinkError::from_list(std::mem::take(&mut ctx.errors)) {
        return Err(e);
    }
    for s in &mut ctx.syms {
        if let Def::Lazy { .. } = s.def {
            s.def = Def::Undef;
        }
    }
    Ok(ctx)
}

fn parse_objects<'a>(
    cfg: &Config,
    loaded: &'a [Loaded],
) -> Vec<Option<Result<ObjFile<'a>, LinkError>>> {
    let parse_one = |l: &'a Loaded| -> Option<Result<ObjFile<'a>, LinkError>> {
        (l.kind == Kind::Obj).then(|| {
            object::parse(l.name.clone(), &l.data).map_err(|e| LinkError::input(&l.name, e))
        })
    };
    let threads = cfg.threads.max(1);
    if threads == 1 || loaded.len() < 4 {
        return loaded.iter().map(parse_one).collect();
    }
    let chunk = loaded.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = loaded
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(parse_one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Some(Err(LinkError::unsupported(
                        "object reader thread failed",
                    )))]
                })
            })
            .collect()
    })
}

pub fn entry_name(cfg: &Config) -> &str {
    cfg.entry.as_deref().unwrap_or("_start")
}
