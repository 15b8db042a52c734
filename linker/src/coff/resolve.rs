//! Loading and symbol resolution for the PE linker.
//!
//! lld-style: one global table; archive members (and DLL exports) are lazy definitions
//! fetched by a non-weak reference, in any order. COMDAT: the leader (first symbol after
//! the section's definition) decides; `any`/`same-size`/`exact-match` keep the first copy,
//! `largest` the biggest, `no-duplicates` makes a second copy an error; associative
//! sections live and die with their target. Weak externals resolve to the strong
//! definition if there is one, else to their default symbol. Commons take the largest
//! size. At the end, an undefined `X` whose `__imp_X` exists is auto-imported (MinGW) and
//! an undefined `__imp_X` whose `X` is defined gets a local pointer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::args::{Config, Input};
use super::input::{self, FileKind, ImportSpec};
use super::{CLASS_EXTERNAL, CLASS_STATIC, CLASS_WEAK_EXTERNAL, Comdat, InSection, ObjFile};
use crate::error::LinkError;
use crate::ld::archive::{self, Archive};
use crate::ld::resolve::FxMap;
use object::pe;

pub const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GDef {
    Undefined,
    LazyMember {
        ar: u32,
        member: u64,
    },
    LazyImport(u32),
    Defined {
        file: u32,
        sym: u32,
    },
    Common {
        file: u32,
        sym: u32,
        size: u32,
    },
    Absolute(u64),
    /// `__ImageBase` / `__image_base__`: the image's own address (relocatable).
    ImageBase,
}

#[derive(Clone, Debug)]
pub struct Global {
    pub name: String,
    pub def: GDef,
    /// Weak external default: (file, symbol).
    pub weak_alias: Option<(u32, u32)>,
    /// First file with a non-weak reference.
    pub referenced_by: Option<u32>,
    /// Auto-imported data: references go through this `__imp_` global's IAT slot.
    pub auto_import: Option<u32>,
    /// COMDAT owner section (file, 0-based section) when defined by a COMDAT leader.
    pub comdat: Option<(u32, u32)>,
}

#[derive(Clone, Debug)]
pub struct Export {
    pub name: String,
    pub global: u32,
    pub data: bool,
}

pub struct Ctx<'c> {
    pub cfg: &'c Config,
    pub files: Vec<ObjFile>,
    /// Per file, per symbol: its global (externals) or `NONE`.
    pub sym_global: Vec<Vec<u32>>,
    /// Per file, per section: placed in the output.
    pub live: Vec<Vec<bool>>,
    pub globals: Vec<Global>,
    pub map: FxMap<String, u32>,
    pub exports: Vec<Export>,
    pub entry: String,
    /// `-aligncomm:` directives: symbol → alignment (log2).
    pub align_comm: HashMap<String, u32>,
}

impl Ctx<'_> {
    pub fn lookup(&self, name: &str) -> Option<u32> {
        self.map.get(name).copied()
    }

    /// The definition a symbol reference ends at: (file, symbol) for section symbols,
    /// following globals and weak aliases. `None` for an unresolved weak reference.
    pub fn resolve_sym(&self, file: u32, sym: u32) -> Target {
        let mut file = file;
        let mut sym = sym;
        for _ in 0..8 {
            let g = self.sym_global[file as usize][sym as usize];
            if g == NONE {
                let s = &self.files[file as usize].symbols[sym as usize];
                return if s.section > 0 {
                    Target::Section {
                        file,
                        sec: s.section as u32 - 1,
                        value: s.value,
                    }
                } else if s.section == -1 {
                    Target::Absolute(s.value as u64)
                } else {
                    Target::Absolute(0)
                };
            }
            let gl = &self.globals[g as usize];
            if let Some(imp) = gl.auto_import {
                return Target::AutoImport { imp, global: g };
            }
            match gl.def {
                GDef::Defined { file: f, sym: s } => {
                    let s2 = &self.files[f as usize].symbols[s as usize];
                    return if s2.section > 0 {
                        Target::Section {
                            file: f,
                            sec: s2.section as u32 - 1,
                            value: s2.value,
                        }
                    } else {
                        Target::Absolute(s2.value as u64)
                    };
                }
                GDef::Common {
                    file: f, sym: s, ..
                } => {
                    let s2 = &self.files[f as usize].symbols[s as usize];
                    return Target::Section {
                        file: f,
                        sec: s2.section as u32 - 1,
                        value: s2.value,
                    };
                }
                GDef::Absolute(v) => return Target::Absolute(v),
                GDef::ImageBase => return Target::ImageBase,
                GDef::Undefined | GDef::LazyMember { .. } | GDef::LazyImport(_) => {
                    match gl.weak_alias {
                        Some((f, s)) if (f, s) != (file, sym) => {
                            file = f;
                            sym = s;
                        }
                        _ => return Target::Absolute(0),
                    }
                }
            }
        }
        Target::Absolute(0)
    }
}

/// Where a relocation's symbol ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Section {
        file: u32,
        sec: u32,
        value: u32,
    },
    Absolute(u64),
    ImageBase,
    /// Auto-imported data: the address of `imp`'s IAT slot, plus a pseudo-relocation.
    AutoImport {
        imp: u32,
        global: u32,
    },
}

struct Loaded {
    name: String,
    data: Vec<u8>,
    kind: FileKind,
    whole: bool,
}

fn find_lib(cfg: &Config, name: &str, static_only: bool) -> Option<PathBuf> {
    let candidates: Vec<String> = if let Some(exact) = name.strip_prefix(':') {
        vec![exact.to_string()]
    } else if static_only {
        vec![format!("lib{name}.a"), format!("{name}.lib")]
    } else {
        vec![
            format!("lib{name}.dll.a"),
            format!("{name}.dll.a"),
            format!("lib{name}.a"),
            format!("{name}.lib"),
            format!("lib{name}.dll"),
            format!("{name}.dll"),
        ]
    };
    for dir in &cfg.search_paths {
        for c in &candidates {
            let p = dir.join(c);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn load_path(path: &Path, whole: bool) -> Result<Loaded, LinkError> {
    let name = path.display().to_string();
    let data =
        std::fs::read(path).map_err(|e| LinkError::input(&name, format!("cannot open: {e}")))?;
    let kind = input::identify(&data);
    if kind == FileKind::Unknown {
        return Err(LinkError::input(
            &name,
            "not a COFF object, archive, import object or DLL",
        ));
    }
    Ok(Loaded {
        name,
        data,
        kind,
        whole,
    })
}

/// Loads and resolves everything `cfg` names (plus `-defaultlib:` libraries found on the way).
pub fn resolve(cfg: &Config) -> Result<Ctx<'_>, LinkError> {
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut objects: Vec<ObjFile> = Vec::new();
    let mut imports: Vec<ImportSpec> = Vec::new();
    for (i, inp) in cfg.inputs.iter().enumerate() {
        let whole = cfg.whole_archive.contains(&i);
        match inp {
            Input::Path(p) => loaded.push(load_path(p, whole)?),
            Input::Lib(name, static_only) => {
                let p = find_lib(cfg, name, *static_only).ok_or_else(|| {
                    LinkError::input(
                        &format!("-l{name}"),
                        format!(
                            "library not found (searched lib{name}.dll.a, lib{name}.a, {name}.lib, {name}.dll in {} directories)",
                            cfg.search_paths.len()
                        ),
                    )
                })?;
                loaded.push(load_path(&p, whole)?);
            }
            Input::Object(o) => {
                loaded.push(Loaded {
                    name: o.name.clone(),
                    data: Vec::new(),
                    kind: FileKind::Unknown,
                    whole: false,
                });
                objects.push((**o).clone());
            }
            Input::Import(spec) => {
                loaded.push(Loaded {
                    name: format!("<import {}>", spec.symbol),
                    data: Vec::new(),
                    kind: FileKind::Unknown,
                    whole: false,
                });
                imports.push(spec.clone());
            }
        }
    }
    let mut seen_default: Vec<String> = Vec::new();
    loop {
        let (ctx, defaultlibs) = resolve_loaded(cfg, &loaded, &objects, &imports)?;
        let mut added = false;
        for lib in defaultlibs {
            let key = lib.to_ascii_lowercase();
            if seen_default.contains(&key) {
                continue;
            }
            seen_default.push(key);
            let base = lib.strip_suffix(".lib").unwrap_or(&lib);
            let base = base.strip_prefix("lib").unwrap_or(base);
            if let Some(p) = find_lib(cfg, base, false) {
                if loaded.iter().any(|l| Path::new(&l.name) == p) {
                    continue;
                }
                loaded.push(load_path(&p, false)?);
                added = true;
            }
        }
        if !added {
            return Ok(ctx);
        }
    }
}

struct Resolver<'a, 'c> {
    ctx: Ctx<'c>,
    archives: Vec<Archive<'a>>,
    imports: Vec<ImportSpec>,
    queue: Vec<(u32, u64)>,
    linkonce: HashMap<String, (u32, u32)>,
    fetched: std::collections::HashSet<(u32, u64)>,
    fetched_imports: std::collections::HashSet<u32>,
    import_queue: Vec<u32>,
    dlls_started: Vec<String>,
    import_serial: usize,
    errors: Vec<LinkError>,
    defaultlibs: Vec<String>,
    /// Explicit exports from `.drectve` (name, data).
    drectve_exports: Vec<(String, bool)>,
}

fn resolve_loaded<'c>(
    cfg: &'c Config,
    loaded: &[Loaded],
    objects: &[ObjFile],
    extra_imports: &[ImportSpec],
) -> Result<(Ctx<'c>, Vec<String>), LinkError> {
    let mut r = Resolver {
        ctx: Ctx {
            cfg,
            files: Vec::new(),
            sym_global: Vec::new(),
            live: Vec::new(),
            globals: Vec::new(),
            map: FxMap::default(),
            exports: Vec::new(),
            entry: cfg.entry_symbol(),
            align_comm: HashMap::new(),
        },
        archives: Vec::new(),
        imports: Vec::new(),
        queue: Vec::new(),
        linkonce: HashMap::new(),
        fetched: Default::default(),
        fetched_imports: Default::default(),
        import_queue: Vec::new(),
        dlls_started: Vec::new(),
        import_serial: 0,
        errors: Vec::new(),
        defaultlibs: Vec::new(),
        drectve_exports: Vec::new(),
    };
    for name in ["__ImageBase", "__image_base__"] {
        let g = r.intern(name);
        r.ctx.globals[g as usize].def = GDef::ImageBase;
    }
    let entry = r.ctx.entry.clone();
    let g = r.intern(&entry);
    r.ctx.globals[g as usize].referenced_by = Some(NONE);
    for u in &cfg.undefined {
        let g = r.intern(u);
        r.ctx.globals[g as usize].referenced_by = Some(NONE);
    }
    r.add_file(linker_file(cfg))?;
    let mut objects = objects.iter();
    let mut extra_imports = extra_imports.iter();
    for l in loaded {
        match l.kind {
            FileKind::Unknown if l.name.starts_with("<import ") => {
                if let Some(spec) = extra_imports.next() {
                    let id = r.imports.len() as u32;
                    for name in input::import_defines(spec) {
                        r.add_lazy(&name, GDef::LazyImport(id));
                    }
                    r.imports.push(spec.clone());
                }
            }
            FileKind::Unknown => {
                if let Some(o) = objects.next() {
                    r.add_file(o.clone())?;
                }
            }
            FileKind::Coff | FileKind::BigObj => {
                let o = input::read_object(&l.name, &l.data)
                    .map_err(|m| LinkError::input(&l.name, m))?;
                r.add_file(o)?;
            }
            FileKind::ShortImport => {
                let spec =
                    input::read_short_import(&l.data).map_err(|m| LinkError::input(&l.name, m))?;
                r.add_import(spec)?;
            }
            FileKind::Dll => {
                let specs = input::read_dll_exports(&l.name, &l.data)
                    .map_err(|m| LinkError::input(&l.name, m))?;
                for spec in specs {
                    let id = r.imports.len() as u32;
                    for name in input::import_defines(&spec) {
                        r.add_lazy(&name, GDef::LazyImport(id));
                    }
                    r.imports.push(spec);
                }
            }
            FileKind::Archive => {
                let ar = archive::parse(l.name.clone(), &l.data)
                    .map_err(|m| LinkError::input(&l.name, m))?;
                let ai = r.archives.len() as u32;
                if l.whole {
                    let members = ar.members.clone();
                    r.archives.push(ar);
                    for m in members {
                        r.queue.push((ai, m));
                    }
                } else {
                    let index: Vec<(String, u64)> = if ar.index.is_empty() {
                        member_index(&ar)?
                    } else {
                        ar.index
                            .iter()
                            .map(|(n, m)| (String::from_utf8_lossy(n).into_owned(), *m))
                            .collect()
                    };
                    r.archives.push(ar);
                    for (name, member) in index {
                        r.add_lazy(&name, GDef::LazyMember { ar: ai, member });
                    }
                }
            }
        }
        r.drain()?;
    }
    loop {
        r.drain()?;
        if !r.finish_undefined()? {
            break;
        }
    }
    if let Some(e) = LinkError::from_list(std::mem::take(&mut r.errors)) {
        return Err(e);
    }
    r.report_undefined()?;
    r.compute_live();
    r.compute_exports();
    Ok((r.ctx, r.defaultlibs))
}

/// An index built from the members, for archives written without one.
fn member_index(ar: &Archive) -> Result<Vec<(String, u64)>, LinkError> {
    let mut out = Vec::new();
    for &m in &ar.members {
        let (name, data) = ar.member(m).map_err(|e| LinkError::input(&ar.name, e))?;
        match input::identify(data) {
            FileKind::Coff | FileKind::BigObj => {
                let o = input::read_object(&name, data).map_err(|e| LinkError::input(&name, e))?;
                for s in &o.symbols {
                    if s.is_external()
                        && s.class == CLASS_EXTERNAL
                        && (s.section != 0 || s.value != 0)
                    {
                        out.push((s.name.clone(), m));
                    }
                }
            }
            FileKind::ShortImport => {
                let spec =
                    input::read_short_import(data).map_err(|e| LinkError::input(&name, e))?;
                for n in input::import_defines(&spec) {
                    out.push((n, m));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

impl<'a, 'c> Resolver<'a, 'c> {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&g) = self.ctx.map.get(name) {
            return g;
        }
        let g = self.ctx.globals.len() as u32;
        self.ctx.globals.push(Global {
            name: name.to_string(),
            def: GDef::Undefined,
            weak_alias: None,
            referenced_by: None,
            auto_import: None,
            comdat: None,
        });
        self.ctx.map.insert(name.to_string(), g);
        g
    }

    fn add_lazy(&mut self, name: &str, lazy: GDef) {
        let g = self.intern(name);
        let gl = &mut self.ctx.globals[g as usize];
        if gl.def != GDef::Undefined {
            return;
        }
        if gl.referenced_by.is_some() {
            self.fetch(lazy);
        } else {
            gl.def = lazy;
        }
    }

    fn fetch(&mut self, lazy: GDef) {
        match lazy {
            GDef::LazyMember { ar, member } => self.queue.push((ar, member)),
            GDef::LazyImport(i) => self.import_queue.push(i),
            _ => {}
        }
    }

    fn drain(&mut self) -> Result<(), LinkError> {
        loop {
            if let Some(i) = self.import_queue.pop() {
                if !self.fetched_imports.insert(i) {
                    continue;
                }
                let spec = self.imports[i as usize].clone();
                self.add_import(spec)?;
                continue;
            }
            let Some((ai, member)) = self.queue.pop() else {
                return Ok(());
            };
            if !self.fetched.insert((ai, member)) {
                continue;
            }
            let (name, data) = self.archives[ai as usize]
                .member(member)
                .map_err(|m| LinkError::input(&self.archives[ai as usize].name, m))?;
            match input::identify(data) {
                FileKind::Coff | FileKind::BigObj => {
                    let mut o =
                        input::read_object(&name, data).map_err(|m| LinkError::input(&name, m))?;
                    o.archive = self.archives[ai as usize].name.clone();
                    o.member = name
                        .strip_prefix(&o.archive)
                        .unwrap_or(&name)
                        .trim_matches(|c| c == '(' || c == ')')
                        .to_string();
                    self.add_file(o)?;
                }
                FileKind::ShortImport => {
                    let spec =
                        input::read_short_import(data).map_err(|m| LinkError::input(&name, m))?;
                    self.add_import(spec)?;
                }
                _ => {
                    // Non-object members (e.g. a DLL's .def text) define nothing.
                    if data.len() >= 2 && data[0..2] == [0x64, 0x86] {
                        return Err(LinkError::input(&name, "unreadable COFF member"));
                    }
                }
            }
        }
    }

    fn add_import(&mut self, spec: ImportSpec) -> Result<(), LinkError> {
        let key = spec.dll.to_ascii_lowercase();
        if !self.dlls_started.contains(&key) {
            self.dlls_started.push(key);
            self.add_file(input::import_head(&spec.dll))?;
            self.add_file(input::import_tail(&spec.dll))?;
        }
        // Already defined (e.g. the same import from two libraries): skip the copy.
        if let Some(g) = self.ctx.lookup(&format!("__imp_{}", spec.symbol))
            && matches!(self.ctx.globals[g as usize].def, GDef::Defined { .. })
        {
            return Ok(());
        }
        self.import_serial += 1;
        let stub = input::import_stub(&spec, self.import_serial);
        self.add_file(stub)
    }

    fn add_file(&mut self, mut obj: ObjFile) -> Result<(), LinkError> {
        let fi = self.ctx.files.len() as u32;
        let nsec = obj.sections.len();
        let mut live = vec![true; nsec];
        // COMDAT leaders: the first symbol after the section's definition in that section.
        let mut leader: Vec<Option<u32>> = vec![None; nsec];
        let mut seen_def = vec![false; nsec];
        for (i, s) in obj.symbols.iter().enumerate() {
            if s.aux || s.section <= 0 {
                continue;
            }
            let si = s.section as usize - 1;
            if !seen_def[si]
                && s.class == CLASS_STATIC
                && s.value == 0
                && s.name == obj.sections[si].name
            {
                seen_def[si] = true;
                continue;
            }
            if leader[si].is_none() {
                leader[si] = Some(i as u32);
            }
        }
        // COMDAT sections without an external leader: GCC's `.pdata$X`/`.xdata$X` follow
        // `.text$X` of the same file (as in lld's MinGW mode); others are deduplicated by
        // section name (GNU `linkonce`).
        for si in 0..nsec {
            let external_leader = leader[si].is_some_and(|l| obj.symbols[l as usize].is_external());
            if !matches!(obj.sections[si].comdat, Some(Comdat::Select(_))) || external_leader {
                continue;
            }
            let name = obj.sections[si].name.clone();
            let text = name
                .strip_prefix(".pdata$")
                .or_else(|| name.strip_prefix(".xdata$"))
                .map(|rest| format!(".text${rest}"));
            if let Some(t) = text.and_then(|t| obj.sections.iter().position(|s| s.name == t)) {
                obj.sections[si].comdat = Some(Comdat::Associative(t as u32));
            } else if let std::collections::hash_map::Entry::Vacant(v) = self.linkonce.entry(name) {
                v.insert((fi, si as u32));
            } else {
                live[si] = false;
            }
        }
        let mut sym_global = vec![NONE; obj.symbols.len()];
        for (i, s) in obj.symbols.iter().enumerate() {
            if !s.is_external() {
                continue;
            }
            let g = self.intern(&s.name);
            sym_global[i] = g;
            let i = i as u32;
            if s.section > 0 {
                let si = s.section as usize - 1;
                let sec = &obj.sections[si];
                if let Some(Comdat::Select(sel)) = sec.comdat
                    && leader[si] == Some(i)
                {
                    self.define_comdat(g, fi, i, si as u32, sel, sec.size, &obj, &mut live)?;
                    continue;
                }
                if !live[si] {
                    continue;
                }
                if sec.comdat.is_some() {
                    // A non-leader symbol of a kept COMDAT section: defines if free.
                    let gl = &mut self.ctx.globals[g as usize];
                    if !matches!(gl.def, GDef::Defined { .. } | GDef::Absolute(_)) {
                        gl.def = GDef::Defined { file: fi, sym: i };
                    }
                    continue;
                }
                self.define(g, GDef::Defined { file: fi, sym: i }, &obj.name)?;
            } else if s.section == -1 {
                self.define(g, GDef::Defined { file: fi, sym: i }, &obj.name)?;
            } else if s.section == 0 && s.value > 0 && s.class == CLASS_EXTERNAL {
                let gl = &mut self.ctx.globals[g as usize];
                match gl.def {
                    GDef::Undefined | GDef::LazyMember { .. } | GDef::LazyImport(_) => {
                        gl.def = GDef::Common {
                            file: fi,
                            sym: i,
                            size: s.value,
                        }
                    }
                    GDef::Common { size, .. } if s.value > size => {
                        gl.def = GDef::Common {
                            file: fi,
                            sym: i,
                            size: s.value,
                        }
                    }
                    _ => {}
                }
            } else if s.class == CLASS_WEAK_EXTERNAL {
                let gl = &mut self.ctx.globals[g as usize];
                if gl.weak_alias.is_none()
                    && let Some(d) = s.weak_default
                {
                    gl.weak_alias = Some((fi, d));
                }
            } else {
                let gl = &mut self.ctx.globals[g as usize];
                if gl.referenced_by.is_none() {
                    gl.referenced_by = Some(fi);
                }
                let def = gl.def;
                if matches!(def, GDef::LazyMember { .. } | GDef::LazyImport(_)) {
                    self.ctx.globals[g as usize].def = GDef::Undefined;
                    self.fetch(def);
                }
            }
        }
        self.parse_directives(&obj.directives, &obj.name);
        // Sections that never reach the image.
        for (si, sec) in obj.sections.iter().enumerate() {
            if sec.flags & (input::SCN_LNK_REMOVE | input::SCN_LNK_INFO) != 0
                || sec.name == ".drectve"
                || sec.name.starts_with(".debug")
                || sec.name.starts_with(".zdebug")
                || sec.name == ".llvm_addrsig"
                || sec.name.starts_with(".gnu.lto_")
            {
                live[si] = false;
            }
        }
        self.ctx.files.push(obj);
        self.ctx.sym_global.push(sym_global);
        self.ctx.live.push(live);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn define_comdat(
        &mut self,
        g: u32,
        fi: u32,
        sym: u32,
        sec: u32,
        sel: u8,
        size: u64,
        obj: &ObjFile,
        live: &mut [bool],
    ) -> Result<(), LinkError> {
        let gl = &self.ctx.globals[g as usize];
        match (gl.def, gl.comdat) {
            (GDef::Defined { file: of, .. }, Some((cf, cs))) => {
                let old = &self.ctx.files[cf as usize].sections[cs as usize];
                let new = &obj.sections[sec as usize];
                // NODUPLICATES always conflicts; SAME_SIZE and EXACT_MATCH conflict when the
                // copies differ in size / in contents and relocations (as link.exe and lld).
                let conflict = match sel {
                    pe::IMAGE_COMDAT_SELECT_NODUPLICATES => true,
                    pe::IMAGE_COMDAT_SELECT_SAME_SIZE => size != old.size,
                    pe::IMAGE_COMDAT_SELECT_EXACT_MATCH => !same_contents(old, new),
                    _ => false,
                };
                if conflict {
                    return Err(LinkError::DuplicateSymbol {
                        name: gl.name.clone(),
                        first: self.ctx.files[of as usize].name.clone(),
                        second: obj.name.clone(),
                    });
                }
                let replace = sel == pe::IMAGE_COMDAT_SELECT_LARGEST && size > old.size;
                if replace {
                    self.ctx.live[cf as usize][cs as usize] = false;
                    let gl = &mut self.ctx.globals[g as usize];
                    gl.def = GDef::Defined { file: fi, sym };
                    gl.comdat = Some((fi, sec));
                } else {
                    live[sec as usize] = false;
                }
            }
            (GDef::Defined { .. } | GDef::Absolute(_) | GDef::ImageBase, _) => {
                live[sec as usize] = false;
            }
            _ => {
                let gl = &mut self.ctx.globals[g as usize];
                gl.def = GDef::Defined { file: fi, sym };
                gl.comdat = Some((fi, sec));
            }
        }
        Ok(())
    }

    fn define(&mut self, g: u32, def: GDef, file: &str) -> Result<(), LinkError> {
        let gl = &mut self.ctx.globals[g as usize];
        match gl.def {
            GDef::Defined { file: of, .. } if of != 0 => {
                if gl.comdat.is_some() {
                    // A regular definition beside a COMDAT copy: keep the first.
                    return Ok(());
                }
                self.errors.push(LinkError::DuplicateSymbol {
                    name: gl.name.clone(),
                    first: self.ctx.files[of as usize].name.clone(),
                    second: file.to_string(),
                });
            }
            // The linker's own definitions (file 0) give way to the inputs'.
            GDef::Defined { file: 0, .. } => gl.def = def,
            GDef::ImageBase | GDef::Absolute(_) => {}
            _ => gl.def = def,
        }
        Ok(())
    }

    fn parse_directives(&mut self, text: &str, _file: &str) {
        for word in split_directives(text) {
            let lower = word.to_ascii_lowercase();
            if let Some(v) = lower
                .strip_prefix("-export:")
                .or_else(|| lower.strip_prefix("/export:"))
            {
                let orig = &word[word.len() - v.len()..];
                let mut parts = orig.split(',');
                let name = parts.next().unwrap_or("").trim_matches('"').to_string();
                let data = parts.any(|p| p.eq_ignore_ascii_case("data"));
                if !name.is_empty() && !self.drectve_exports.iter().any(|(n, _)| *n == name) {
                    self.drectve_exports.push((name, data));
                }
            } else if let Some(v) = lower
                .strip_prefix("-defaultlib:")
                .or_else(|| lower.strip_prefix("/defaultlib:"))
            {
                let orig = word[word.len() - v.len()..].trim_matches('"').to_string();
                if !self.defaultlibs.contains(&orig) {
                    self.defaultlibs.push(orig);
                }
            } else if let Some(v) = lower.strip_prefix("-aligncomm:") {
                let orig = &word[word.len() - v.len()..];
                if let Some((name, align)) = orig.rsplit_once(',')
                    && let Ok(a) = align.trim().parse::<u32>()
                {
                    self.ctx
                        .align_comm
                        .insert(name.trim_matches('"').to_string(), a.min(12));
                }
            }
            // Other directives (-include:, -manifest…) do not matter for MinGW output.
        }
    }

    /// Auto-import and local `__imp_` pointers for undefined symbols. Returns whether
    /// anything changed (so the caller drains again).
    fn finish_undefined(&mut self) -> Result<bool, LinkError> {
        let mut changed = false;
        for g in 0..self.ctx.globals.len() as u32 {
            let gl = &self.ctx.globals[g as usize];
            if gl.def != GDef::Undefined
                || gl.referenced_by.is_none()
                || gl.weak_alias.is_some()
                || gl.auto_import.is_some()
            {
                continue;
            }
            let name = gl.name.clone();
            if let Some(rest) = name.strip_prefix("__imp_")
                && let Some(t) = self.ctx.lookup(rest)
            {
                let tdef = self.ctx.globals[t as usize].def;
                if matches!(tdef, GDef::LazyMember { .. } | GDef::LazyImport(_)) {
                    self.ctx.globals[t as usize].def = GDef::Undefined;
                    self.ctx.globals[t as usize].referenced_by = Some(NONE);
                    self.fetch(tdef);
                    changed = true;
                    continue;
                }
                if matches!(tdef, GDef::Defined { .. } | GDef::Common { .. }) {
                    // A local import: `__imp_X` is a pointer to the local `X`.
                    let mut o = ObjFile::new(format!("<local import {rest}>"));
                    let s = o.add_section(".rdata", input::RDATA, 8, vec![0; 8]);
                    o.add_symbol(&name, s, 0, CLASS_EXTERNAL);
                    let t = o.add_symbol(rest, 0, 0, CLASS_EXTERNAL);
                    o.add_reloc(s, 0, t, input::IMAGE_REL_AMD64_ADDR64);
                    self.add_file(o)?;
                    changed = true;
                    continue;
                }
            }
            if self.ctx.cfg.auto_import
                && !name.starts_with("__imp_")
                && let Some(imp) = self.ctx.lookup(&format!("__imp_{name}"))
            {
                let idef = self.ctx.globals[imp as usize].def;
                match idef {
                    GDef::LazyMember { .. } | GDef::LazyImport(_) => {
                        self.ctx.globals[imp as usize].def = GDef::Undefined;
                        self.ctx.globals[imp as usize].referenced_by = Some(NONE);
                        self.fetch(idef);
                        changed = true;
                    }
                    GDef::Defined { .. } => {
                        self.ctx.globals[g as usize].auto_import = Some(imp);
                        changed = true;
                    }
                    _ => {}
                }
            }
        }
        Ok(changed)
    }

    fn report_undefined(&mut self) -> Result<(), LinkError> {
        let mut errors = Vec::new();
        for gl in &self.ctx.globals {
            if gl.def == GDef::Undefined
                && gl.weak_alias.is_none()
                && gl.auto_import.is_none()
                && let Some(by) = gl.referenced_by
            {
                if by == NONE && gl.name == self.ctx.entry {
                    errors.push(LinkError::MissingEntry {
                        name: gl.name.clone(),
                    });
                    continue;
                }
                let module = if by == NONE {
                    "the command line (-u)".to_string()
                } else {
                    self.ctx.files[by as usize].name.clone()
                };
                errors.push(LinkError::UndefinedSymbol {
                    name: gl.name.clone(),
                    module,
                });
            }
        }
        match LinkError::from_list(errors) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn compute_live(&mut self) {
        // Associative sections follow their targets (chains resolved by iteration).
        loop {
            let mut changed = false;
            for fi in 0..self.ctx.files.len() {
                for si in 0..self.ctx.files[fi].sections.len() {
                    if let Some(Comdat::Associative(t)) = self.ctx.files[fi].sections[si].comdat
                        && self.ctx.live[fi][si]
                        && !self.ctx.live[fi].get(t as usize).copied().unwrap_or(false)
                    {
                        self.ctx.live[fi][si] = false;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn compute_exports(&mut self) {
        let cfg = self.ctx.cfg;
        let mut exports: Vec<Export> = Vec::new();
        for (name, data) in std::mem::take(&mut self.drectve_exports) {
            if let Some(g) = self.ctx.lookup(&name) {
                exports.push(Export {
                    name,
                    global: g,
                    data,
                });
            }
        }
        if cfg.dll && (cfg.export_all || exports.is_empty()) {
            for (g, gl) in self.ctx.globals.iter().enumerate() {
                let GDef::Defined { file, sym } = gl.def else {
                    continue;
                };
                let f = &self.ctx.files[file as usize];
                let s = &f.symbols[sym as usize];
                if s.section <= 0 || !auto_exportable(&gl.name, f) {
                    continue;
                }
                if exports.iter().any(|e| e.name == gl.name) {
                    continue;
                }
                let sec = &f.sections[s.section as usize - 1];
                exports.push(Export {
                    name: gl.name.clone(),
                    global: g as u32,
                    data: sec.flags & input::SCN_MEM_EXECUTE == 0,
                });
            }
        }
        exports.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        self.ctx.exports = exports;
    }
}

/// lld's MinGW rules for `--export-all-symbols` (and DLLs without explicit exports).
fn auto_exportable(name: &str, f: &ObjFile) -> bool {
    const EXCLUDED_SYMBOLS: &[&str] = &[
        "__NULL_IMPORT_DESCRIPTOR",
        "_pei386_runtime_relocator",
        "do_pseudo_reloc",
        "impure_ptr",
        "_impure_ptr",
        "_fmode",
        "environ",
        "_dll__main@12",
        "_DllMainCRTStartup",
        "DllMainCRTStartup",
        "DllEntryPoint",
        "DllMain",
        "__ImageBase",
        "__image_base__",
    ];
    const EXCLUDED_PREFIXES: &[&str] = &[
        "__imp_",
        "_head_",
        "_nm_",
        "__rtti_",
        "__builtin_",
        "_IMPORT_DESCRIPTOR_",
        "__IMPORT_DESCRIPTOR_",
        "__NULL_THUNK_DATA",
        ".",
        "_meteor_",
    ];
    const EXCLUDED_LIBS: &[&str] = &[
        "libgcc",
        "libgcc_s",
        "libstdc++",
        "libmingw32",
        "libmingwex",
        "libg2c",
        "libsupc++",
        "libobjc",
        "libgcj",
        "libunwind",
        "libmsvcrt",
        "libucrtbase",
        "libmoldname",
        "libkernel32",
        "libpthread",
        "libwinpthread",
    ];
    const EXCLUDED_OBJECTS: &[&str] = &[
        "crt0.o",
        "crt1.o",
        "crt1u.o",
        "crt2.o",
        "crt2u.o",
        "dllcrt1.o",
        "dllcrt2.o",
        "gcrt0.o",
        "gcrt1.o",
        "gcrt2.o",
        "crtbegin.o",
        "crtend.o",
    ];
    if EXCLUDED_SYMBOLS.contains(&name) || EXCLUDED_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    if name.starts_with('<') || f.name.starts_with('<') {
        return false;
    }
    if !f.archive.is_empty() {
        let base = f.archive.rsplit(['/', '\\']).next().unwrap_or(&f.archive);
        let stem = base.split('.').next().unwrap_or(base);
        if EXCLUDED_LIBS.contains(&stem) {
            return false;
        }
    }
    let base = f.name.rsplit(['/', '\\']).next().unwrap_or(&f.name);
    !EXCLUDED_OBJECTS.contains(&base)
}

/// Splits `.drectve` text into words (double quotes group, as MSVC and GNU write them).
fn split_directives(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() || c == '\0' => {
                if quoted {
                    cur.push(c);
                } else if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Sort keys that keep the `__CTOR_LIST__`/`__DTOR_LIST__` markers around the inputs.
pub fn ctor_sort_key(name: &str) -> Option<String> {
    for list in [".ctors", ".dtors"] {
        if let Some(rest) = name.strip_prefix(list)
            && (rest.is_empty() || rest.starts_with('.'))
        {
            return Some(format!("{list}~1{rest}"));
        }
    }
    None
}

/// The linker's own definitions (file 0): `__CTOR_LIST__`/`__DTOR_LIST__` (-1, entries,
/// 0), the pseudo-relocation list bounds (sized by layout), the null import descriptor
/// ending `.idata$3`, and the absolute symbols the MinGW runtime reads.
fn linker_file(cfg: &Config) -> ObjFile {
    let mut o = ObjFile::new("<linker>");
    for (list, names) in [
        (
            ".ctors",
            ["__CTOR_LIST__", "___CTOR_LIST__", "__CTOR_END__"],
        ),
        (
            ".dtors",
            ["__DTOR_LIST__", "___DTOR_LIST__", "__DTOR_END__"],
        ),
    ] {
        let head = o.add_section(list, input::RDATA, 8, vec![0xFF; 8]);
        o.sections[head as usize - 1].sort_key = format!("{list}~0");
        o.add_symbol(names[0], head, 0, CLASS_EXTERNAL);
        o.add_symbol(names[1], head, 0, CLASS_EXTERNAL);
        let tail = o.add_section(list, input::RDATA, 8, vec![0; 8]);
        o.sections[tail as usize - 1].sort_key = format!("{list}~2");
        o.add_symbol(names[2], tail, 0, CLASS_EXTERNAL);
    }
    let p = o.add_section(".rdata", input::RDATA, 4, Vec::new());
    o.sections[p as usize - 1].sort_key = ".rdata~pseudo".into();
    o.add_symbol("__RUNTIME_PSEUDO_RELOC_LIST__", p, 0, CLASS_EXTERNAL);
    o.add_symbol("___RUNTIME_PSEUDO_RELOC_LIST__", p, 0, CLASS_EXTERNAL);
    o.add_symbol("__RUNTIME_PSEUDO_RELOC_LIST_END__", p, 0, CLASS_EXTERNAL);
    o.add_symbol("___RUNTIME_PSEUDO_RELOC_LIST_END__", p, 0, CLASS_EXTERNAL);
    o.add_section(".idata$3", input::DATA, 4, vec![0; 20]);
    let abs: [(&str, u64); 16] = [
        ("__major_os_version__", 4),
        ("__minor_os_version__", 0),
        ("__major_image_version__", 0),
        ("__minor_image_version__", 0),
        ("__major_subsystem_version__", 5),
        ("__minor_subsystem_version__", 2),
        ("__subsystem__", cfg.subsystem as u64),
        ("__section_alignment__", 0x1000),
        ("__file_alignment__", 0x200),
        ("__size_of_stack_reserve__", cfg.stack_reserve),
        ("__size_of_stack_commit__", cfg.stack_commit),
        ("__size_of_heap_reserve__", cfg.heap_reserve),
        ("__size_of_heap_commit__", cfg.heap_commit),
        ("__dll__", cfg.dll as u64),
        ("__loader_flags__", 0),
        ("__dll_characteristics__", 0),
    ];
    for (name, v) in abs {
        o.add_symbol(name, -1, v as u32, CLASS_EXTERNAL);
    }
    o
}

/// Index of the pseudo-relocation list section in the linker file.
pub const PSEUDO_LIST_SECTION: u32 = 4;
/// Index of the null import descriptor section in the linker file.
pub const NULL_IMPORT_SECTION: u32 = 5;

/// Whether two COMDAT copies are the same for `IMAGE_COMDAT_SELECT_EXACT_MATCH`: equal bytes,
/// and relocations of the same types at the same offsets (their symbols are per-file indices,
/// so they are compared by position, not by name).
fn same_contents(a: &InSection, b: &InSection) -> bool {
    a.size == b.size
        && a.data == b.data
        && a.relocs.len() == b.relocs.len()
        && a.relocs
            .iter()
            .zip(&b.relocs)
            .all(|(x, y)| x.offset == y.offset && x.typ == y.typ)
}

#[cfg(test)]
mod tests {
    use super::split_directives;

    #[test]
    fn directives_split_on_whitespace_outside_quotes() {
        assert_eq!(
            split_directives(" -export:\"a b\",data  -aligncomm:\"x\",4\0"),
            vec!["-export:\"a b\",data", "-aligncomm:\"x\",4"]
        );
    }
}
