//! Input reader: ELF shared objects. Reads the dynamic symbol table with symbol versions
//! (`.gnu.version`, `.gnu.version_d`) and `DT_SONAME`.

use super::elf_types::*;

pub struct DsoSym<'a> {
    pub name: &'a [u8],
    pub value: u64,
    pub size: u64,
    pub typ: u8,
    pub weak: bool,
    /// Version definition index (0 or 1 = unversioned/base).
    pub version: u16,
}

pub struct DsoFile<'a> {
    pub name: String,
    /// `DT_SONAME`, or the file name when absent.
    pub soname: String,
    /// Exported definitions (default-version ones only; hidden versions are skipped).
    pub defs: Vec<DsoSym<'a>>,
    /// Symbols the library itself leaves undefined (the executable may need to export them).
    pub undefs: Vec<&'a [u8]>,
    /// Version names by version index.
    pub version_names: Vec<&'a [u8]>,
    pub as_needed: bool,
    /// Referenced by a regular object (decides `DT_NEEDED` under `--as-needed`).
    pub used: bool,
}

pub fn parse<'a>(
    name: String,
    file_name: &str,
    data: &'a [u8],
    as_needed: bool,
) -> Result<DsoFile<'a>, String> {
    let b = Bytes(data);
    let eh = read_ehdr(b)?;
    if eh.e_type != ET_DYN {
        return Err(format!("not a shared object (ELF type {})", eh.e_type));
    }
    let shdrs = read_shdrs(b, &eh)?;
    let find = |t: u32| shdrs.iter().find(|s| s.sh_type == t);
    let dynsym = find(SHT_DYNSYM);
    let mut out = DsoFile {
        soname: file_name.to_string(),
        name,
        defs: Vec::new(),
        undefs: Vec::new(),
        version_names: Vec::new(),
        as_needed,
        used: false,
    };
    let Some(dynsym) = dynsym else {
        return Ok(out);
    };
    let strtab = shdrs
        .get(dynsym.link as usize)
        .ok_or("dynamic symbol table's string table out of range")?;
    let strs = section_data(b, strtab)?;
    let syms = read_syms(section_data(b, dynsym)?, strs, None)?;
    let versym = match find(SHT_GNU_VERSYM) {
        Some(s) => Some(section_data(b, s)?),
        None => None,
    };
    if let Some(vd) = find(SHT_GNU_VERDEF) {
        let vdata = Bytes(section_data(b, vd)?);
        let vstr = Bytes(section_data(
            b,
            shdrs
                .get(vd.link as usize)
                .ok_or("version definition string table out of range")?,
        )?);
        let mut off = 0u64;
        for _ in 0..vd.info.min(1 << 16) {
            let ndx = vdata.u16(off + 4).ok_or("truncated version definitions")? as usize;
            let aux = vdata.u32(off + 12).ok_or("truncated version definitions")? as u64;
            let next = vdata.u32(off + 16).ok_or("truncated version definitions")? as u64;
            let name_off = vdata.u32(off + aux).ok_or("truncated version definition")? as u64;
            let vname = vstr.cstr(name_off).ok_or("version name out of range")?;
            if out.version_names.len() <= ndx {
                out.version_names.resize(ndx + 1, &[]);
            }
            out.version_names[ndx] = vname;
            if next == 0 {
                break;
            }
            off += next;
        }
    }
    if let Some(d) = find(SHT_DYNAMIC) {
        let dd = Bytes(section_data(b, d)?);
        let ds = Bytes(section_data(
            b,
            shdrs
                .get(d.link as usize)
                .ok_or("dynamic string table out of range")?,
        )?);
        let mut o = 0;
        while let (Some(tag), Some(val)) = (dd.u64(o), dd.u64(o + 8)) {
            if tag == DT_NULL {
                break;
            }
            if tag == DT_SONAME {
                let s = ds.cstr(val).ok_or("DT_SONAME out of range")?;
                out.soname = show(s);
            }
            o += 16;
        }
    }
    for (i, s) in syms.iter().enumerate().skip(1) {
        if s.bind == STB_LOCAL || s.name.is_empty() {
            continue;
        }
        if s.shndx == SHN_UNDEF {
            out.undefs.push(s.name);
            continue;
        }
        let v = versym.and_then(|v| Bytes(v).u16(i as u64 * 2)).unwrap_or(1);
        if v & 0x8000 != 0 || v == 0 {
            continue; // hidden (non-default) version or local
        }
        if s.vis == STV_HIDDEN || s.vis == STV_INTERNAL {
            continue;
        }
        out.defs.push(DsoSym {
            name: s.name,
            value: s.value,
            size: s.size,
            typ: s.typ,
            weak: s.bind == STB_WEAK,
            version: v & 0x7fff,
        });
    }
    Ok(out)
}
