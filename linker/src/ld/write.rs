//! Stage 5 of `meteor-ld`: the ELF writer. Copies input sections into the image and
//! applies their relocations (in parallel over disjoint slices), fills the synthetic
//! sections (`.plt`, `.got`, `.got.plt`, `.dynamic`, `.dynsym`, `.gnu.hash`, versions,
//! `.rela.*`, `.eh_frame_hdr`), writes the headers, `.symtab`, the build id and `-Map`.

use super::eh_frame;
use super::elf_types::*;
use super::layout::{self, DynVal, Lay, Synth, elf_hash, gnu_hash, gnu_hash_params};
use super::object::NO_OUT;
use super::reloc::{self, Class, DynRel, F_CANONICAL, F_COPY, GotKind, Scan, Target};
use super::resolve::{Ctx, Def, NONE};
use crate::error::LinkError;

struct W<'b>(&'b mut [u8]);

impl W<'_> {
    fn u16(&mut self, o: u64, v: u16) {
        self.0[o as usize..o as usize + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, o: u64, v: u32) {
        self.0[o as usize..o as usize + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, o: u64, v: u64) {
        self.0[o as usize..o as usize + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, o: u64, b: &[u8]) {
        self.0[o as usize..o as usize + b.len()].copy_from_slice(b);
    }
}

struct Item {
    obj: u32,
    sec: u32,
    off: u64,
    addr: u64,
    len: u64,
}

pub fn write(ctx: &mut Ctx, sc: &Scan, lay: &Lay) -> Result<Vec<u8>, LinkError> {
    let cfg = ctx.cfg;
    // Symbol tables first (their sizes decide the file size).
    let (symtab, strtab, first_global) = if cfg.strip_all {
        (Vec::new(), Vec::new(), 0)
    } else {
        build_symtab(ctx, lay)
    };
    let mut shstrtab = vec![0u8];
    let mut sh_names = Vec::new();
    for &i in &lay.order {
        sh_names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(lay.secs[i as usize].name.as_bytes());
        shstrtab.push(0);
    }
    let mut extra_names = Vec::new();
    for n in [".symtab", ".strtab", ".shstrtab"] {
        extra_names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(n.as_bytes());
        shstrtab.push(0);
    }
    let symtab_off = lay.shoff;
    let strtab_off = symtab_off + symtab.len() as u64;
    let shstrtab_off = strtab_off + strtab.len() as u64;
    let shoff = (shstrtab_off + shstrtab.len() as u64).div_ceil(8) * 8;
    let nsh = 1 + lay.order.len() + if cfg.strip_all { 1 } else { 3 };
    let file_size = shoff + 64 * nsh as u64;
    let mut buf = vec![0u8; file_size as usize];

    // Input sections: copy and relocate in parallel over disjoint slices.
    let mut items = Vec::new();
    for &i in &lay.order {
        let out = &lay.secs[i as usize];
        if out.sh_type == SHT_NOBITS {
            continue;
        }
        for &(o, s) in &out.members {
            let is = &ctx.objs[o as usize].sections[s as usize];
            if is.sh_type == SHT_NOBITS || is.size == 0 {
                continue;
            }
            items.push(Item {
                obj: o,
                sec: s,
                off: out.offset + is.offset,
                addr: out.addr + is.offset,
                len: is.size,
            });
        }
    }
    items.sort_by_key(|it| it.off);
    let mut dynrels = relocate_all(ctx, sc, lay, &items, &mut buf)?;
    eh_frame::apply_cie_fixups(ctx, lay, &mut buf)?;

    let mut w = W(&mut buf);
    // Synthetic sections.
    let sec = |s: Synth| lay.synth_sec(s);
    if let (Some(s), Some(interp)) = (sec(Synth::Interp), &lay.interp) {
        w.bytes(s.offset, interp);
    }
    if let Some(s) = sec(Synth::BuildId) {
        w.u32(s.offset, 4);
        w.u32(s.offset + 4, lay.build_id_size as u32);
        w.u32(s.offset + 8, 3);
        w.bytes(s.offset + 12, b"GNU\0");
    }
    // PLT, IPLT, .got.plt.
    let gotplt = lay.gotplt_addr;
    if let Some(s) = sec(Synth::GotPlt) {
        let dynamic_addr = sec(Synth::Dynamic).map_or(0, |d| d.addr);
        w.u64(s.offset, dynamic_addr);
        for (k, _) in sc.plt.iter().enumerate() {
            let entry = lay.plt_addr + 16 * (1 + k as u64);
            w.u64(s.offset + 8 * (3 + k as u64), entry + 6);
        }
        for (j, &g) in sc.iplt.iter().enumerate() {
            let resolver = resolver_addr(ctx, lay, g);
            w.u64(
                s.offset + 8 * (3 + sc.plt.len() as u64 + j as u64),
                resolver,
            );
        }
    }
    if let Some(s) = sec(Synth::Plt) {
        let mut o = s.offset;
        let mut a = s.addr;
        if !sc.plt.is_empty() {
            // pushq GOT+8(%rip); jmp *GOT+16(%rip); nopl 0(%rax)
            w.bytes(o, &[0xff, 0x35]);
            w.u32(o + 2, (gotplt as i64 + 8 - (a as i64 + 6)) as u32);
            w.bytes(o + 6, &[0xff, 0x25]);
            w.u32(o + 8, (gotplt as i64 + 16 - (a as i64 + 12)) as u32);
            w.bytes(o + 12, &[0x0f, 0x1f, 0x40, 0x00]);
            o += 16;
            a += 16;
            for k in 0..sc.plt.len() as u64 {
                let slot = gotplt + 8 * (3 + k);
                w.bytes(o, &[0xff, 0x25]);
                w.u32(o + 2, (slot as i64 - (a as i64 + 6)) as u32);
                w.bytes(o + 6, &[0x68]);
                w.u32(o + 7, k as u32);
                w.bytes(o + 11, &[0xe9]);
                w.u32(o + 12, (s.addr as i64 - (a as i64 + 16)) as u32);
                o += 16;
                a += 16;
            }
        }
        for j in 0..sc.iplt.len() as u64 {
            let slot = gotplt + 8 * (3 + sc.plt.len() as u64 + j);
            w.bytes(o, &[0xff, 0x25]);
            w.u32(o + 2, (slot as i64 - (a as i64 + 6)) as u32);
            w.bytes(
                o + 6,
                &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x0f, 0x1f, 0x40, 0x00],
            );
            o += 16;
            a += 16;
        }
    }
    // GOT.
    if let Some(s) = sec(Synth::Got) {
        for e in &sc.got {
            let slot_addr = s.addr + 8 * e.slot as u64;
            let so = s.offset + 8 * e.slot as u64;
            let class = ctx.class(e.target);
            let gid = match e.target {
                Target::Global(g) => g,
                _ => NONE,
            };
            let sv = ctx.sym_addr(lay, e.target);
            match e.kind {
                GotKind::Addr => match class {
                    Class::Dynamic => dynrels.push(DynRel {
                        offset: slot_addr,
                        rtype: R_X86_64_GLOB_DAT,
                        sym: gid,
                        addend: 0,
                    }),
                    Class::Local | Class::Ifunc if ctx.pic => {
                        w.u64(so, sv);
                        dynrels.push(DynRel {
                            offset: slot_addr,
                            rtype: R_X86_64_RELATIVE,
                            sym: NONE,
                            addend: sv as i64,
                        });
                    }
                    _ => w.u64(so, sv),
                },
                GotKind::TpOff => match class {
                    Class::Dynamic => dynrels.push(DynRel {
                        offset: slot_addr,
                        rtype: R_X86_64_TPOFF64,
                        sym: gid,
                        addend: 0,
                    }),
                    _ if cfg.shared => dynrels.push(DynRel {
                        offset: slot_addr,
                        rtype: R_X86_64_TPOFF64,
                        sym: NONE,
                        addend: sv.wrapping_sub(lay.tls_start) as i64,
                    }),
                    _ => w.u64(so, sv.wrapping_sub(lay.tp)),
                },
                GotKind::TlsGd => match class {
                    Class::Dynamic => {
                        dynrels.push(DynRel {
                            offset: slot_addr,
                            rtype: R_X86_64_DTPMOD64,
                            sym: gid,
                            addend: 0,
                        });
                        dynrels.push(DynRel {
                            offset: slot_addr + 8,
                            rtype: R_X86_64_DTPOFF64,
                            sym: gid,
                            addend: 0,
                        });
                    }
                    _ => {
                        dynrels.push(DynRel {
                            offset: slot_addr,
                            rtype: R_X86_64_DTPMOD64,
                            sym: NONE,
                            addend: 0,
                        });
                        w.u64(so + 8, sv.wrapping_sub(lay.tls_start));
                    }
                },
                GotKind::TlsLd => {
                    dynrels.push(DynRel {
                        offset: slot_addr,
                        rtype: R_X86_64_DTPMOD64,
                        sym: NONE,
                        addend: 0,
                    });
                }
            }
        }
    }
    // Copy relocations.
    for &g in &sc.copies {
        dynrels.push(DynRel {
            offset: ctx.syms[g as usize].addr,
            rtype: R_X86_64_COPY,
            sym: g,
            addend: 0,
        });
    }
    // .rela.dyn: RELATIVE first.
    let mut relacount = 0;
    if let Some(s) = sec(Synth::RelaDyn) {
        if dynrels.len() != lay.n_reladyn {
            return Err(LinkError::unsupported(format!(
                "internal error: {} dynamic relocations reserved, {} made",
                lay.n_reladyn,
                dynrels.len()
            )));
        }
        dynrels.sort_by_key(|r| (r.rtype != R_X86_64_RELATIVE, r.offset));
        relacount = dynrels
            .iter()
            .filter(|r| r.rtype == R_X86_64_RELATIVE)
            .count();
        for (k, r) in dynrels.iter().enumerate() {
            let sym = if r.sym == NONE {
                0
            } else {
                ctx.syms[r.sym as usize].dynsym
            };
            if r.sym != NONE && sym == NONE {
                return Err(LinkError::unsupported(format!(
                    "internal error: `{}` needs a dynamic symbol",
                    show(ctx.syms[r.sym as usize].name)
                )));
            }
            rela(
                &mut w,
                s.offset + 24 * k as u64,
                r.offset,
                sym,
                r.rtype,
                r.addend,
            );
        }
    } else if !dynrels.is_empty() {
        return Err(LinkError::unsupported(
            "internal error: dynamic relocations without .rela.dyn",
        ));
    }
    if let Some(s) = sec(Synth::RelaPlt) {
        for (k, &g) in sc.plt.iter().enumerate() {
            let slot = gotplt + 8 * (3 + k as u64);
            rela(
                &mut w,
                s.offset + 24 * k as u64,
                slot,
                ctx.syms[g as usize].dynsym,
                R_X86_64_JUMP_SLOT,
                0,
            );
        }
        for (j, &g) in sc.iplt.iter().enumerate() {
            let k = sc.plt.len() + j;
            let slot = gotplt + 8 * (3 + k as u64);
            rela(
                &mut w,
                s.offset + 24 * k as u64,
                slot,
                0,
                R_X86_64_IRELATIVE,
                resolver_addr(ctx, lay, g) as i64,
            );
        }
    }
    // Dynamic symbols, hash tables, versions, strings.
    if let Some(s) = sec(Synth::DynSym) {
        for (k, &g) in lay.dynsyms.iter().enumerate() {
            let o = s.offset + 24 * (k as u64 + 1);
            let (info, shndx, value, size) = dynsym_fields(ctx, lay, g);
            w.u32(o, lay.dynsym_name[k]);
            w.0[o as usize + 4] = info;
            w.0[o as usize + 5] = STV_DEFAULT;
            w.u16(o + 6, shndx);
            w.u64(o + 8, value);
            w.u64(o + 16, size);
        }
    }
    if let Some(s) = sec(Synth::DynStr) {
        w.bytes(s.offset, &lay.dynstr);
    }
    if let Some(s) = sec(Synth::VerSym) {
        for (k, &v) in lay.versym.iter().enumerate() {
            w.u16(s.offset + 2 * k as u64, v);
        }
    }
    if let Some(s) = sec(Synth::VerNeed) {
        w.bytes(s.offset, &lay.verneed);
    }
    if let Some(s) = sec(Synth::GnuHash) {
        let first = lay.gnu_hash_first as usize;
        let hashed: Vec<u32> = lay.dynsyms[first - 1..]
            .iter()
            .map(|&g| gnu_hash(ctx.syms[g as usize].name))
            .collect();
        let (nb, bloom) = gnu_hash_params(hashed.len());
        let shift = 26u32;
        w.u32(s.offset, nb);
        w.u32(s.offset + 4, first as u32);
        w.u32(s.offset + 8, bloom);
        w.u32(s.offset + 12, shift);
        let bo = s.offset + 16;
        let mut words = vec![0u64; bloom as usize];
        for &h in &hashed {
            let wi = ((h / 64) % bloom) as usize;
            words[wi] |= 1u64 << (h % 64) | 1u64 << ((h >> shift) % 64);
        }
        for (k, &x) in words.iter().enumerate() {
            w.u64(bo + 8 * k as u64, x);
        }
        let buckets = bo + 8 * bloom as u64;
        let chains = buckets + 4 * nb as u64;
        for (k, &h) in hashed.iter().enumerate() {
            let b = h % nb;
            let bpos = buckets + 4 * b as u64;
            if u32::from_le_bytes(
                w.0[bpos as usize..bpos as usize + 4]
                    .try_into()
                    .unwrap_or([0; 4]),
            ) == 0
            {
                w.u32(bpos, (first + k) as u32);
            }
            let last = k + 1 == hashed.len() || hashed[k + 1] % nb != b;
            w.u32(chains + 4 * k as u64, (h & !1) | last as u32);
        }
    }
    if let Some(s) = sec(Synth::Hash) {
        let n = lay.dynsyms.len() as u32 + 1;
        let nb = n;
        w.u32(s.offset, nb);
        w.u32(s.offset + 4, n);
        let buckets = s.offset + 8;
        let chains = buckets + 4 * nb as u64;
        for (k, &g) in lay.dynsyms.iter().enumerate() {
            let idx = k as u32 + 1;
            let b = elf_hash(ctx.syms[g as usize].name) % nb;
            let bpos = buckets + 4 * b as u64;
            let head = u32::from_le_bytes(
                w.0[bpos as usize..bpos as usize + 4]
                    .try_into()
                    .unwrap_or([0; 4]),
            );
            w.u32(chains + 4 * idx as u64, head);
            w.u32(bpos, idx);
        }
    }
    if let Some(s) = sec(Synth::Dynamic) {
        for (k, &(tag, v)) in lay.dynamic.iter().enumerate() {
            let val = match v {
                DynVal::Const(c) => c,
                DynVal::Addr(sy) => lay.synth_sec(sy).map_or(0, |x| x.addr),
                DynVal::Size(sy) => lay.synth_sec(sy).map_or(0, |x| x.size),
                DynVal::SecAddr(i) => lay.secs[i as usize].addr,
                DynVal::SecSize(i) => lay.secs[i as usize].size,
                DynVal::Sym(g) => ctx.syms[g as usize].addr,
                DynVal::RelaCount => relacount as u64,
            };
            w.u64(s.offset + 16 * k as u64, tag);
            w.u64(s.offset + 16 * k as u64 + 8, val);
        }
    }
    if let Some(s) = sec(Synth::EhFrameHdr) {
        write_eh_frame_hdr(ctx, lay, &mut w, s.offset, s.addr)?;
    }

    // ELF header and program headers.
    w.bytes(0, b"\x7fELF\x02\x01\x01\x00");
    w.u16(16, if ctx.pic { ET_DYN } else { ET_EXEC });
    w.u16(18, EM_X86_64);
    w.u32(20, 1);
    w.u64(24, lay.entry);
    w.u64(32, 64);
    w.u64(40, shoff);
    w.u32(48, 0);
    w.u16(52, 64);
    w.u16(54, 56);
    w.u16(56, lay.phdrs.len() as u16);
    w.u16(58, 64);
    w.u16(60, nsh as u16);
    w.u16(62, (nsh - 1) as u16);
    for (k, p) in lay.phdrs.iter().enumerate() {
        let o = 64 + 56 * k as u64;
        w.u32(o, p.p_type);
        w.u32(o + 4, p.flags);
        w.u64(o + 8, p.offset);
        w.u64(o + 16, p.vaddr);
        w.u64(o + 24, p.vaddr);
        w.u64(o + 32, p.filesz);
        w.u64(o + 40, p.memsz);
        w.u64(o + 48, p.align);
    }
    // Symbol tables and section headers.
    w.bytes(symtab_off, &symtab);
    w.bytes(strtab_off, &strtab);
    w.bytes(shstrtab_off, &shstrtab);
    let shndx_of = |s: Synth| lay.synth_sec(s).map_or(0, |x| x.shndx);
    for (k, &i) in lay.order.iter().enumerate() {
        let s = &lay.secs[i as usize];
        let (link, info) = match s.synth {
            Some(Synth::DynSym) => (shndx_of(Synth::DynStr), 1),
            Some(Synth::GnuHash) | Some(Synth::Hash) | Some(Synth::VerSym)
            | Some(Synth::RelaDyn) => (shndx_of(Synth::DynSym), 0),
            Some(Synth::RelaPlt) => (shndx_of(Synth::DynSym), shndx_of(Synth::GotPlt)),
            Some(Synth::VerNeed) => (shndx_of(Synth::DynStr), lay.verneed_count),
            Some(Synth::Dynamic) => (shndx_of(Synth::DynStr), 0),
            _ => (0, 0),
        };
        shdr(
            &mut w,
            shoff + 64 * (k as u64 + 1),
            sh_names[k],
            s.sh_type,
            s.flags,
            s.addr,
            s.offset,
            s.size,
            link,
            info,
            s.align,
            s.entsize,
        );
    }
    let mut k = lay.order.len() as u64 + 1;
    if !cfg.strip_all {
        shdr(
            &mut w,
            shoff + 64 * k,
            extra_names[0],
            SHT_SYMTAB,
            0,
            0,
            symtab_off,
            symtab.len() as u64,
            k as u32 + 1,
            first_global,
            8,
            24,
        );
        k += 1;
        shdr(
            &mut w,
            shoff + 64 * k,
            extra_names[1],
            SHT_STRTAB,
            0,
            0,
            strtab_off,
            strtab.len() as u64,
            0,
            0,
            1,
            0,
        );
        k += 1;
    }
    shdr(
        &mut w,
        shoff + 64 * k,
        extra_names[2],
        SHT_STRTAB,
        0,
        0,
        shstrtab_off,
        shstrtab.len() as u64,
        0,
        0,
        1,
        0,
    );

    // Build id: a hash of the whole file with the id field zeroed.
    if let Some(s) = sec(Synth::BuildId) {
        let at = (s.offset + 16) as usize;
        let id = match cfg.build_id {
            super::args::BuildId::Explicit => cfg.build_id_bytes.clone(),
            _ => content_hash(&buf, lay.build_id_size),
        };
        buf[at..at + id.len()].copy_from_slice(&id);
    }
    if let Some(path) = &cfg.map {
        write_map(ctx, lay, path)?;
    }
    Ok(buf)
}

fn resolver_addr(ctx: &Ctx, lay: &Lay, g: u32) -> u64 {
    match ctx.syms[g as usize].def {
        Def::Obj { obj, sym } => layout::def_addr(ctx, lay, obj, sym),
        _ => 0,
    }
}

fn rela(w: &mut W, o: u64, offset: u64, sym: u32, rtype: u32, addend: i64) {
    w.u64(o, offset);
    w.u64(o + 8, (sym as u64) << 32 | rtype as u64);
    w.u64(o + 16, addend as u64);
}

#[allow(clippy::too_many_arguments)]
fn shdr(
    w: &mut W,
    o: u64,
    name: u32,
    t: u32,
    flags: u64,
    addr: u64,
    off: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
) {
    w.u32(o, name);
    w.u32(o + 4, t);
    w.u64(o + 8, flags);
    w.u64(o + 16, addr);
    w.u64(o + 24, off);
    w.u64(o + 32, size);
    w.u32(o + 40, link);
    w.u32(o + 44, info);
    w.u64(o + 48, align);
    w.u64(o + 56, entsize);
}

/// (st_info, st_shndx, st_value, st_size) of a dynamic symbol.
fn dynsym_fields(ctx: &Ctx, lay: &Lay, g: u32) -> (u8, u16, u64, u64) {
    let s = &ctx.syms[g as usize];
    let typ = ctx.typ(Target::Global(g));
    match s.def {
        Def::Obj { obj, sym } => {
            let rs = ctx.objs[obj as usize].syms[sym as usize];
            let bind = if s.weak_def { STB_WEAK } else { STB_GLOBAL };
            let (shndx, value) = if rs.shndx == SHN_ABS {
                (SHN_ABS as u16, rs.value)
            } else {
                let sec = &ctx.objs[obj as usize].sections[rs.shndx as usize];
                let shndx = if sec.out == NO_OUT {
                    0
                } else {
                    lay.secs[sec.out as usize].shndx as u16
                };
                let mut v = layout::def_addr(ctx, lay, obj, sym);
                if typ == STT_TLS {
                    v = v.wrapping_sub(lay.tls_start);
                }
                (shndx, v)
            };
            (bind << 4 | typ, shndx, value, rs.size)
        }
        Def::Dso { dso, idx } => {
            let d = &ctx.dsos[dso as usize].defs[idx as usize];
            if s.flags & F_COPY != 0 {
                let lo = &ctx.objs[ctx.linker_obj as usize].sections[1];
                let shndx = if lo.out == NO_OUT {
                    0
                } else {
                    lay.secs[lo.out as usize].shndx as u16
                };
                (STB_GLOBAL << 4 | STT_OBJECT, shndx, s.addr, d.size)
            } else if s.flags & F_CANONICAL != 0 {
                (STB_GLOBAL << 4 | STT_FUNC, 0, s.addr, 0)
            } else {
                let bind = if s.strong_ref { STB_GLOBAL } else { STB_WEAK };
                (bind << 4 | d.typ, 0, 0, 0)
            }
        }
        _ => {
            let bind = if s.strong_ref { STB_GLOBAL } else { STB_WEAK };
            (bind << 4 | typ, 0, 0, 0)
        }
    }
}

fn relocate_all(
    ctx: &Ctx,
    sc: &Scan,
    lay: &Lay,
    items: &[Item],
    buf: &mut [u8],
) -> Result<Vec<DynRel>, LinkError> {
    // Carve disjoint slices in file order.
    let mut slices: Vec<(&Item, &mut [u8])> = Vec::with_capacity(items.len());
    let mut rest: &mut [u8] = buf;
    let mut pos = 0u64;
    for it in items {
        if it.off < pos {
            return Err(LinkError::unsupported(
                "internal error: overlapping sections",
            ));
        }
        let (_, tail) = rest.split_at_mut((it.off - pos) as usize);
        let (mine, tail) = tail.split_at_mut(it.len as usize);
        slices.push((it, mine));
        rest = tail;
        pos = it.off + it.len;
    }
    let work = |chunk: &mut [(&Item, &mut [u8])]| -> Result<Vec<DynRel>, LinkError> {
        let mut dr = Vec::new();
        for (it, out) in chunk.iter_mut() {
            let s = &ctx.objs[it.obj as usize].sections[it.sec as usize];
            out.copy_from_slice(&s.data[..it.len as usize]);
            if !s.relocs.is_empty() {
                reloc::apply_section(ctx, sc, lay, it.obj, it.sec, out, it.addr, &mut dr)?;
            }
        }
        Ok(dr)
    };
    let threads = ctx.cfg.threads.max(1);
    let total: u64 = items
        .iter()
        .map(|i| {
            i.len
                + 24 * ctx.objs[i.obj as usize].sections[i.sec as usize]
                    .relocs
                    .len() as u64
        })
        .sum();
    if threads == 1 || total < 1 << 20 {
        return work(&mut slices);
    }
    // Split into `threads * 4` chunks of similar weight.
    let target = total / (threads as u64 * 4) + 1;
    let mut chunks: Vec<&mut [(&Item, &mut [u8])]> = Vec::new();
    let mut rest: &mut [(&Item, &mut [u8])] = &mut slices;
    while !rest.is_empty() {
        let mut acc = 0;
        let mut n = 0;
        while n < rest.len() && acc < target {
            let it = rest[n].0;
            acc += it.len
                + 24 * ctx.objs[it.obj as usize].sections[it.sec as usize]
                    .relocs
                    .len() as u64;
            n += 1;
        }
        let (a, b) = rest.split_at_mut(n);
        chunks.push(a);
        rest = b;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    type Chunk<'x, 'y> = std::sync::Mutex<Option<&'x mut [(&'y Item, &'y mut [u8])]>>;
    type Done = std::sync::Mutex<Option<Result<Vec<DynRel>, LinkError>>>;
    let chunks: Vec<Chunk> = chunks
        .into_iter()
        .map(|c| std::sync::Mutex::new(Some(c)))
        .collect();
    let results: Vec<Done> = (0..chunks.len())
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if k >= chunks.len() {
                        break;
                    }
                    let c = chunks[k].lock().ok().and_then(|mut g| g.take());
                    if let Some(c) = c {
                        let r = work(c);
                        if let Ok(mut slot) = results[k].lock() {
                            *slot = Some(r);
                        }
                    }
                }
            });
        }
    });
    let mut all = Vec::new();
    for r in results {
        match r.into_inner().ok().flatten() {
            Some(Ok(v)) => all.extend(v),
            Some(Err(e)) => return Err(e),
            None => {
                return Err(LinkError::unsupported(
                    "internal error: relocation worker failed",
                ));
            }
        }
    }
    Ok(all)
}

fn write_eh_frame_hdr(
    ctx: &Ctx,
    lay: &Lay,
    w: &mut W,
    off: u64,
    addr: u64,
) -> Result<(), LinkError> {
    let eh = lay
        .order
        .iter()
        .map(|&i| &lay.secs[i as usize])
        .find(|s| s.name == ".eh_frame" && s.synth.is_none());
    let Some(eh) = eh else { return Ok(()) };
    let mut table: Vec<(u64, u64)> = Vec::with_capacity(lay.eh_fdes);
    for &(o, s) in &eh.members {
        let is = &ctx.objs[o as usize].sections[s as usize];
        let recs = eh_frame::records(&is.data)
            .map_err(|e| LinkError::input(&ctx.objs[o as usize].name, e))?;
        for r in recs.iter().filter(|r| r.is_fde) {
            let k = is.relocs.partition_point(|x| x.offset < r.start + 8);
            let Some(rel) = is.relocs.get(k).filter(|x| x.offset == r.start + 8) else {
                continue;
            };
            let t = ctx.target(o, rel.sym);
            let pc = ctx.sym_addr(lay, t).wrapping_add(rel.addend as u64);
            table.push((pc, eh.addr + is.offset + r.start));
        }
    }
    table.sort_by_key(|e| e.0);
    w.0[off as usize] = 1;
    w.0[off as usize + 1] = 0x1b; // eh_frame_ptr: pcrel sdata4
    w.0[off as usize + 2] = 0x03; // fde_count: udata4
    w.0[off as usize + 3] = 0x3b; // table: datarel sdata4
    w.u32(off + 4, (eh.addr as i64 - (addr as i64 + 4)) as u32);
    w.u32(off + 8, table.len() as u32);
    let cap = lay.eh_fdes;
    for (k, &(pc, fde)) in table.iter().take(cap).enumerate() {
        w.u32(off + 12 + 8 * k as u64, (pc as i64 - addr as i64) as u32);
        w.u32(off + 16 + 8 * k as u64, (fde as i64 - addr as i64) as u32);
    }
    Ok(())
}

/// `.symtab`/`.strtab`: object locals (functions and data), then globals.
fn build_symtab(ctx: &Ctx, lay: &Lay) -> (Vec<u8>, Vec<u8>, u32) {
    let mut st = vec![0u8; 24];
    let mut strs = vec![0u8];
    let push = |st: &mut Vec<u8>,
                strs: &mut Vec<u8>,
                name: &[u8],
                info: u8,
                shndx: u16,
                value: u64,
                size: u64| {
        let no = strs.len() as u32;
        strs.extend_from_slice(name);
        strs.push(0);
        st.extend_from_slice(&no.to_le_bytes());
        st.push(info);
        st.push(0);
        st.extend_from_slice(&shndx.to_le_bytes());
        st.extend_from_slice(&value.to_le_bytes());
        st.extend_from_slice(&size.to_le_bytes());
    };
    let sec_ndx = |o: u32, shndx: u32| -> Option<u16> {
        let s = ctx.objs[o as usize].sections.get(shndx as usize)?;
        (s.live && s.out != NO_OUT).then(|| lay.secs[s.out as usize].shndx as u16)
    };
    for (oi, o) in ctx.objs.iter().enumerate() {
        for (i, s) in o.syms.iter().enumerate().take(o.first_global).skip(1) {
            if !matches!(s.typ, STT_FUNC | STT_OBJECT | STT_NOTYPE | STT_TLS)
                || s.name.is_empty()
                || s.name.starts_with(b".L")
            {
                continue;
            }
            if s.shndx == SHN_UNDEF || s.shndx >= SHN_LORESERVE {
                continue;
            }
            let Some(ndx) = sec_ndx(oi as u32, s.shndx) else {
                continue;
            };
            let mut v = layout::def_addr(ctx, lay, oi as u32, i as u32);
            if s.typ == STT_TLS {
                v = v.wrapping_sub(lay.tls_start);
            }
            push(&mut st, &mut strs, s.name, s.typ, ndx, v, s.size);
        }
    }
    let first_global = (st.len() / 24) as u32;
    for (gid, g) in ctx.syms.iter().enumerate() {
        let gid = gid as u32;
        match g.def {
            Def::Obj { obj, sym } => {
                let s = ctx.objs[obj as usize].syms[sym as usize];
                let bind = if g.vis == STV_HIDDEN || g.vis == STV_INTERNAL {
                    STB_LOCAL
                } else if g.weak_def {
                    STB_WEAK
                } else {
                    STB_GLOBAL
                };
                if bind == STB_LOCAL {
                    continue; // hidden symbols belong before the globals; leave them out
                }
                let (ndx, mut v) = if s.shndx == SHN_ABS {
                    (SHN_ABS as u16, s.value)
                } else {
                    match sec_ndx(obj, s.shndx) {
                        Some(n) => (n, layout::def_addr(ctx, lay, obj, sym)),
                        None => continue,
                    }
                };
                if s.typ == STT_TLS {
                    v = v.wrapping_sub(lay.tls_start);
                }
                push(
                    &mut st,
                    &mut strs,
                    g.name,
                    bind << 4 | s.typ,
                    ndx,
                    v,
                    s.size,
                );
            }
            Def::Dso { .. } if g.dynsym != NONE => {
                let (info, ndx, v, size) = dynsym_fields(ctx, lay, gid);
                push(&mut st, &mut strs, g.name, info, ndx, v, size);
            }
            _ => {}
        }
    }
    (st, strs, first_global)
}

/// A content hash of `n` bytes (build id). Deterministic: the same inputs give the same id.
fn content_hash(data: &[u8], n: usize) -> Vec<u8> {
    use std::hash::Hasher;
    let mut out = Vec::with_capacity(n + 8);
    let mut seed = 0u64;
    while out.len() < n {
        let mut h = super::resolve::FxHasher::default();
        h.write_u64(seed);
        // Hash in 64 KiB blocks, folding each block's FxHash with a different rotation so
        // that block order matters.
        for (k, block) in data.chunks(1 << 16).enumerate() {
            let mut b = super::resolve::FxHasher::default();
            b.write(block);
            h.write_u64(b.finish().rotate_left((k % 63) as u32) ^ k as u64);
        }
        h.write_u64(data.len() as u64);
        out.extend_from_slice(&h.finish().to_le_bytes());
        seed += 1;
    }
    out.truncate(n);
    out
}

fn write_map(ctx: &Ctx, lay: &Lay, path: &std::path::Path) -> Result<(), LinkError> {
    use std::fmt::Write as _;
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{:>18} {:>18} {:>10} {:>5} Out     In      Symbol",
        "VMA", "LMA", "Size", "Align"
    );
    for &i in &lay.order {
        let s = &lay.secs[i as usize];
        let _ = writeln!(
            m,
            "{:>18x} {:>18x} {:>10x} {:>5} {}",
            s.addr, s.addr, s.size, s.align, s.name
        );
        for &(o, k) in &s.members {
            let is = &ctx.objs[o as usize].sections[k as usize];
            let _ = writeln!(
                m,
                "{:>18x} {:>18x} {:>10x} {:>5}         {}:({})",
                s.addr + is.offset,
                s.addr + is.offset,
                is.size,
                is.align,
                ctx.objs[o as usize].name,
                show(is.name)
            );
        }
    }
    std::fs::write(path, m).map_err(|e| LinkError::Os {
        operation: format!("writing map file {}", path.display()),
        message: e.to_string(),
    })
}
