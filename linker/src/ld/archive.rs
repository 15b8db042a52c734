//! Input reader: `ar` archives (GNU/System V format: `/` symbol index, `/SYM64/`, `//`
//! long-name table). Members are parsed only when resolution pulls them in.

use super::elf_types::{Bytes, RawSym, SHN_UNDEF, STB_LOCAL};

pub struct Archive<'a> {
    pub name: String,
    data: &'a [u8],
    long_names: &'a [u8],
    /// (symbol, offset of the defining member's header), in index order.
    pub index: Vec<(&'a [u8], u64)>,
    /// Offsets of all regular members' headers, in file order.
    pub members: Vec<u64>,
}

pub fn is_archive(data: &[u8]) -> bool {
    data.starts_with(b"!<arch>\n")
}

pub fn is_thin_archive(data: &[u8]) -> bool {
    data.starts_with(b"!<thin>\n")
}

struct Header<'a> {
    name: &'a [u8],
    data_off: u64,
    size: u64,
}

fn header(data: &[u8], off: u64) -> Result<Header<'_>, String> {
    let b = Bytes(data);
    let h = b
        .slice(off, 60)
        .ok_or_else(|| format!("truncated member header at offset {off:#x}"))?;
    if &h[58..60] != b"`\n" {
        return Err(format!("bad member header magic at offset {off:#x}"));
    }
    let size_text = std::str::from_utf8(&h[48..58]).unwrap_or("").trim();
    let size: u64 = size_text
        .parse()
        .map_err(|_| format!("bad member size `{size_text}` at offset {off:#x}"))?;
    let data_off = off + 60;
    if b.slice(data_off, size).is_none() {
        return Err(format!(
            "member at offset {off:#x} ({size} bytes) extends past the end of the archive"
        ));
    }
    Ok(Header {
        name: &h[..16],
        data_off,
        size,
    })
}

pub fn parse<'a>(name: String, data: &'a [u8]) -> Result<Archive<'a>, String> {
    if is_thin_archive(data) {
        return Err("thin archives are not supported".into());
    }
    let mut ar = Archive {
        name,
        data,
        long_names: &[],
        index: Vec::new(),
        members: Vec::new(),
    };
    let mut off = 8u64;
    let mut raw_index: Option<(&'a [u8], bool)> = None;
    while off < data.len() as u64 {
        let h = header(data, off)?;
        let body = &data[h.data_off as usize..(h.data_off + h.size) as usize];
        if h.name.starts_with(b"/               ") {
            // The first linker member; a second one (MSVC/COFF import libraries) has a
            // different, little-endian layout and says nothing new.
            if raw_index.is_none() {
                raw_index = Some((body, false));
            }
        } else if h.name.starts_with(b"/SYM64/") {
            raw_index = Some((body, true));
        } else if h.name.starts_with(b"//") {
            ar.long_names = body;
        } else if h.name.starts_with(b"__.SYMDEF") {
            return Err("BSD archive symbol tables are not supported".into());
        } else {
            ar.members.push(off);
        }
        off = h.data_off + h.size + (h.size & 1);
    }
    if let Some((body, wide)) = raw_index {
        let w = if wide { 8 } else { 4 };
        let b = Bytes(body);
        let read = |o: u64| -> Option<u64> {
            if wide {
                b.slice(o, 8)
                    .map(|x| u64::from_be_bytes(x.try_into().unwrap_or([0; 8])))
            } else {
                b.slice(o, 4)
                    .map(|x| u32::from_be_bytes(x.try_into().unwrap_or([0; 4])) as u64)
            }
        };
        let count = read(0).ok_or("truncated symbol index")?;
        let names_off = count
            .checked_add(1)
            .and_then(|c| c.checked_mul(w))
            .filter(|&o| o <= body.len() as u64)
            .ok_or("symbol index count exceeds its member")?;
        let mut p = names_off;
        for i in 0..count {
            let member = read(w + i * w).ok_or("truncated symbol index")?;
            let name = b.cstr(p).ok_or("truncated symbol index name table")?;
            p += name.len() as u64 + 1;
            ar.index.push((name, member));
        }
    }
    Ok(ar)
}

impl<'a> Archive<'a> {
    /// The member whose header is at `off`: its display name (`lib.a(member.o)`) and bytes.
    pub fn member(&self, off: u64) -> Result<(String, &'a [u8]), String> {
        let h = header(self.data, off)?;
        let raw = h.name;
        let name = if raw[0] == b'/' && raw.len() > 1 && raw[1].is_ascii_digit() {
            let text = std::str::from_utf8(&raw[1..]).unwrap_or("").trim();
            let at: u64 = text
                .parse()
                .map_err(|_| format!("bad long member name reference `/{text}`"))?;
            let rest = Bytes(self.long_names)
                .slice(
                    at,
                    self.long_names.len() as u64 - at.min(self.long_names.len() as u64),
                )
                .ok_or("long member name out of range")?;
            let end = rest
                .iter()
                .position(|&c| c == b'\n' || c == 0)
                .unwrap_or(rest.len());
            let n = &rest[..end];
            n.strip_suffix(b"/").unwrap_or(n)
        } else {
            let end = raw.iter().position(|&c| c == b'/').unwrap_or(raw.len());
            let n = &raw[..end];
            let e = n.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
            &n[..e]
        };
        let body = &self.data[h.data_off as usize..(h.data_off + h.size) as usize];
        Ok((
            format!("{}({})", self.name, String::from_utf8_lossy(name)),
            body,
        ))
    }
}

/// Global symbols an object defines (for archives without an index).
pub fn defined_globals<'a>(syms: &[RawSym<'a>], first_global: usize) -> Vec<&'a [u8]> {
    syms.iter()
        .skip(first_global)
        .filter(|s| s.bind != STB_LOCAL && s.shndx != SHN_UNDEF)
        .map(|s| s.name)
        .collect()
}
