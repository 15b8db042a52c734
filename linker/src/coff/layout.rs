//! Layout for the PE linker: commons, the export table, the pseudo-relocation list size,
//! grouped sections (`$` suffixes sorted by name; `.idata$N` pieces grouped by library and
//! member), output sections, and addresses (section alignment 0x1000, file alignment 0x200).

use super::input::{self, IMAGE_REL_AMD64_ADDR32NB};
use super::resolve::{self, Ctx, GDef, NONE, Target};
use super::{CLASS_EXTERNAL, CLASS_STATIC, ObjFile};
use crate::error::LinkError;

pub const SECTION_ALIGN: u64 = 0x1000;
pub const FILE_ALIGN: u64 = 0x200;
pub const PE_OFFSET: u64 = 0x80;

pub fn align_up(v: u64, a: u64) -> u64 {
    if a <= 1 { v } else { v.div_ceil(a) * a }
}

pub struct Chunk {
    pub file: u32,
    pub sec: u32,
    pub offset: u64,
}

pub struct OutSection {
    pub name: &'static str,
    pub flags: u32,
    pub chunks: Vec<Chunk>,
    pub rva: u64,
    pub size: u64,
    pub raw_size: u64,
    pub file_off: u64,
}

pub struct Layout {
    pub image_base: u64,
    pub outs: Vec<OutSection>,
    /// Per file, per section: (output section, offset), or `NONE` output.
    pub place: Vec<Vec<(u32, u64)>>,
    pub headers_size: u64,
    /// Where `.reloc` goes (it is written last).
    pub reloc_rva: u64,
    pub reloc_file_off: u64,
    /// Auto-import references (file, section, reloc index) in output order.
    pub pseudo_count: usize,
    pub export_file: Option<u32>,
}

/// Output sections in image order: (name, characteristics).
const OUTPUTS: &[(&str, u32)] = &[
    (".text", input::CODE),
    (".data", input::DATA),
    (".rdata", input::RDATA),
    (".pdata", input::RDATA),
    (".xdata", input::RDATA),
    (".bss", input::BSS),
    (".edata", input::RDATA),
    (".idata", input::DATA),
    (".CRT", input::DATA),
    (".tls", input::DATA),
];

fn output_for(name: &str, flags: u32) -> usize {
    let base = name.split('$').next().unwrap_or(name);
    let is = |p: &str| base == p || base.starts_with(&format!("{p}."));
    if is(".text") || flags & input::SCN_CNT_CODE != 0 {
        0
    } else if is(".idata") {
        7
    } else if base == ".CRT" {
        8
    } else if is(".tls") {
        9
    } else if base == ".pdata" {
        3
    } else if base == ".xdata" {
        4
    } else if base == ".edata" {
        6
    } else if is(".ctors") || is(".dtors") || is(".rdata") || is(".rodata") {
        2
    } else if is(".bss") || flags & input::SCN_CNT_UNINITIALIZED_DATA != 0 {
        5
    } else if is(".data") || flags & input::SCN_MEM_WRITE != 0 {
        1
    } else {
        2
    }
}

fn add_file(ctx: &mut Ctx, o: ObjFile) -> u32 {
    let fi = ctx.files.len() as u32;
    let mut sg = vec![NONE; o.symbols.len()];
    for (i, s) in o.symbols.iter().enumerate() {
        if s.is_external()
            && let Some(g) = ctx.lookup(&s.name)
        {
            sg[i] = g;
        }
    }
    ctx.live.push(vec![true; o.sections.len()]);
    ctx.sym_global.push(sg);
    ctx.files.push(o);
    fi
}

pub fn layout(ctx: &mut Ctx) -> Result<Layout, LinkError> {
    let image_base = ctx.cfg.image_base();
    // Commons become .bss pieces.
    for g in 0..ctx.globals.len() {
        if let GDef::Common { size, .. } = ctx.globals[g].def {
            let name = ctx.globals[g].name.clone();
            let align = match ctx.align_comm.get(&name) {
                Some(&a) => 1u64 << a,
                None => (size as u64).next_power_of_two().min(32),
            };
            let mut o = ObjFile::new(format!("<common {name}>"));
            let s = o.add_section(".bss", input::BSS, align, Vec::new());
            o.sections[0].size = size as u64;
            let sym = o.add_symbol(&name, s, 0, CLASS_EXTERNAL);
            let fi = add_file(ctx, o);
            ctx.globals[g].def = GDef::Defined { file: fi, sym };
        }
    }
    // The export table (DLLs).
    let export_file = if ctx.cfg.dll && !ctx.exports.is_empty() {
        let o = export_table(ctx);
        Some(add_file(ctx, o))
    } else {
        None
    };
    // Pseudo-relocations: one 12-byte entry per reference to auto-imported data.
    let mut pseudo_count = 0usize;
    for fi in 0..ctx.files.len() {
        for (si, sec) in ctx.files[fi].sections.iter().enumerate() {
            if !ctx.live[fi][si] {
                continue;
            }
            for r in &sec.relocs {
                if let Target::AutoImport { .. } = ctx.resolve_sym(fi as u32, r.symbol) {
                    pseudo_count += 1;
                }
            }
        }
    }
    {
        let pl = &mut ctx.files[0].sections[resolve::PSEUDO_LIST_SECTION as usize];
        let size = if pseudo_count > 0 {
            12 + 12 * pseudo_count
        } else {
            0
        };
        pl.data = vec![0; size];
        pl.size = size as u64;
        let end = ctx.files[0]
            .symbols
            .iter_mut()
            .filter(|s| s.name.ends_with("_LIST_END__") && s.name.contains("PSEUDO"));
        for s in end {
            s.value = size as u32;
        }
    }

    // The linker's own sections only when something refers to their symbols.
    for si in 0..ctx.files[0].sections.len() {
        let referenced = ctx.files[0].symbols.iter().enumerate().any(|(i, s)| {
            s.section == si as i32 + 1 && {
                let g = ctx.sym_global[0][i];
                g != NONE
                    && ctx.globals[g as usize].referenced_by.is_some()
                    && matches!(ctx.globals[g as usize].def, GDef::Defined { file: 0, .. })
            }
        });
        // `.ctors`/`.dtors` tails go with their heads.
        let head_live = si % 2 == 1 && si < 4 && ctx.live[0][si - 1];
        if si as u32 != resolve::NULL_IMPORT_SECTION {
            ctx.live[0][si] = referenced || head_live;
        }
    }

    // Assign input sections to output sections, sorted by name.
    let mut outs: Vec<OutSection> = OUTPUTS
        .iter()
        .map(|&(name, flags)| OutSection {
            name,
            flags,
            chunks: Vec::new(),
            rva: 0,
            size: 0,
            raw_size: 0,
            file_off: 0,
        })
        .collect();
    let mut keyed: Vec<Vec<(String, String, u32, u32)>> =
        (0..outs.len()).map(|_| Vec::new()).collect();
    let mut has_idata2 = false;
    for (fi, f) in ctx.files.iter().enumerate() {
        for (si, s) in f.sections.iter().enumerate() {
            if !ctx.live[fi][si] {
                continue;
            }
            if fi == 0 && si as u32 == resolve::NULL_IMPORT_SECTION {
                continue;
            }
            let o = output_for(&s.name, s.flags);
            let key = if fi != 0 {
                resolve::ctor_sort_key(&s.name).unwrap_or_else(|| s.sort_key.clone())
            } else {
                s.sort_key.clone()
            };
            let sub = if s.name.starts_with(".idata$") {
                has_idata2 |= s.name == ".idata$2";
                format!("{}/{}", f.archive, f.member)
            } else {
                String::new()
            };
            keyed[o].push((key, sub, fi as u32, si as u32));
        }
    }
    if has_idata2 {
        keyed[7].push((
            ".idata$3".into(),
            "~".into(),
            0,
            resolve::NULL_IMPORT_SECTION,
        ));
    }
    let mut place: Vec<Vec<(u32, u64)>> = ctx
        .files
        .iter()
        .map(|f| vec![(NONE, 0); f.sections.len()])
        .collect();
    for (o, mut list) in keyed.into_iter().enumerate() {
        list.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let out = &mut outs[o];
        let mut off = 0u64;
        let mut file_size = 0u64;
        for (_, _, fi, si) in list {
            let s = &ctx.files[fi as usize].sections[si as usize];
            off = align_up(off, s.align.max(1));
            place[fi as usize][si as usize] = (o as u32, off);
            out.chunks.push(Chunk {
                file: fi,
                sec: si,
                offset: off,
            });
            off += s.size;
            if !s.data.is_empty() {
                file_size = off;
            }
        }
        out.size = off;
        out.raw_size = if out.flags & input::SCN_CNT_UNINITIALIZED_DATA != 0 {
            0
        } else {
            align_up(file_size.max(if off > 0 { off } else { 0 }), FILE_ALIGN)
        };
    }

    // Addresses.
    let present = outs.iter().filter(|o| o.size > 0).count() as u64;
    let headers_size = align_up(PE_OFFSET + 4 + 20 + 240 + 40 * (present + 1), FILE_ALIGN);
    let mut rva = SECTION_ALIGN;
    let mut file_off = headers_size;
    for o in outs.iter_mut().filter(|o| o.size > 0) {
        o.rva = rva;
        o.file_off = if o.raw_size > 0 { file_off } else { 0 };
        file_off += o.raw_size;
        rva = align_up(rva + o.size, SECTION_ALIGN);
    }
    if rva > u32::MAX as u64 / 2 {
        return Err(LinkError::unsupported(
            "the image is larger than 2 GiB (PE32+ images must fit rel32 reach)",
        ));
    }
    Ok(Layout {
        image_base,
        outs,
        place,
        headers_size,
        reloc_rva: rva,
        reloc_file_off: file_off,
        pseudo_count,
        export_file,
    })
}

impl Layout {
    /// RVA of a placed section's start.
    pub fn section_rva(&self, file: u32, sec: u32) -> Option<u64> {
        let (o, off) = *self.place.get(file as usize)?.get(sec as usize)?;
        if o == NONE {
            return None;
        }
        Some(self.outs[o as usize].rva + off)
    }

    /// RVA of a global's definition (`None` if undefined, absolute or discarded).
    pub fn global_rva(&self, ctx: &Ctx, g: u32) -> Option<u64> {
        match ctx.globals[g as usize].def {
            GDef::Defined { file, sym } => {
                let s = &ctx.files[file as usize].symbols[sym as usize];
                if s.section <= 0 {
                    return None;
                }
                Some(self.section_rva(file, s.section as u32 - 1)? + s.value as u64)
            }
            GDef::ImageBase => Some(0),
            _ => None,
        }
    }
}

/// The `.edata` section as a synthetic object: directory, address table, name pointers,
/// ordinals, DLL name and export names, with ADDR32NB relocations for every RVA.
fn export_table(ctx: &Ctx) -> ObjFile {
    let n = ctx.exports.len();
    let dll = ctx
        .cfg
        .output
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "a.dll".into());
    let eat = 40;
    let names = eat + 4 * n;
    let ords = names + 4 * n;
    let dll_name = ords + 2 * n;
    let mut strings = dll_name + dll.len() + 1;
    let mut data = vec![0u8; strings];
    let mut o = ObjFile::new("<export table>");
    let mut relocs: Vec<(u32, u32)> = Vec::new();
    let sec_sym = 0u32;
    let put32 =
        |data: &mut Vec<u8>, at: usize, v: u32| data[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put32(&mut data, 16, 1); // ordinal base
    put32(&mut data, 20, n as u32);
    put32(&mut data, 24, n as u32);
    for (at, v) in [(12usize, dll_name), (28, eat), (32, names), (36, ords)] {
        put32(&mut data, at, v as u32);
        relocs.push((at as u32, sec_sym));
    }
    data[dll_name..dll_name + dll.len()].copy_from_slice(dll.as_bytes());
    let mut symbols: Vec<(String, u8)> = vec![(".edata".into(), CLASS_STATIC)];
    for (i, e) in ctx.exports.iter().enumerate() {
        symbols.push((e.name.clone(), CLASS_EXTERNAL));
        relocs.push(((eat + 4 * i) as u32, symbols.len() as u32 - 1));
        put32(&mut data, names + 4 * i, strings as u32);
        relocs.push(((names + 4 * i) as u32, sec_sym));
        data[ords + 2 * i..ords + 2 * i + 2].copy_from_slice(&(i as u16).to_le_bytes());
        data.extend_from_slice(e.name.as_bytes());
        data.push(0);
        strings += e.name.len() + 1;
    }
    let s = o.add_section(".edata", input::RDATA, 4, data);
    for (name, class) in symbols {
        if class == CLASS_STATIC {
            o.add_symbol(&name, s, 0, class);
        } else {
            o.add_symbol(&name, 0, 0, class);
        }
    }
    for (at, sym) in relocs {
        o.add_reloc(s, at, sym, IMAGE_REL_AMD64_ADDR32NB);
    }
    o
}
