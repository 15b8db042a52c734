//! ELF64 x86-64 constants and bounds-checked little-endian reads shared by the readers
//! and the writer of `meteor-ld`.

pub const SHT_NULL: u32 = 0;
pub const SHT_PROGBITS: u32 = 1;
pub const SHT_SYMTAB: u32 = 2;
pub const SHT_STRTAB: u32 = 3;
pub const SHT_RELA: u32 = 4;
pub const SHT_HASH: u32 = 5;
pub const SHT_DYNAMIC: u32 = 6;
pub const SHT_NOTE: u32 = 7;
pub const SHT_NOBITS: u32 = 8;
pub const SHT_REL: u32 = 9;
pub const SHT_DYNSYM: u32 = 11;
pub const SHT_INIT_ARRAY: u32 = 14;
pub const SHT_FINI_ARRAY: u32 = 15;
pub const SHT_PREINIT_ARRAY: u32 = 16;
pub const SHT_GROUP: u32 = 17;
pub const SHT_SYMTAB_SHNDX: u32 = 18;
pub const SHT_GNU_HASH: u32 = 0x6fff_fff6;
pub const SHT_GNU_VERDEF: u32 = 0x6fff_fffd;
pub const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
pub const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
pub const SHT_X86_64_UNWIND: u32 = 0x7000_0001;
pub const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

pub const SHF_WRITE: u64 = 1;
pub const SHF_ALLOC: u64 = 2;
pub const SHF_EXECINSTR: u64 = 4;
pub const SHF_MERGE: u64 = 0x10;
pub const SHF_STRINGS: u64 = 0x20;
pub const SHF_INFO_LINK: u64 = 0x40;
pub const SHF_GROUP: u64 = 0x200;
pub const SHF_TLS: u64 = 0x400;
pub const SHF_EXCLUDE: u64 = 0x8000_0000;

pub const SHN_UNDEF: u32 = 0;
pub const SHN_LORESERVE: u32 = 0xff00;
pub const SHN_ABS: u32 = 0xfff1;
pub const SHN_COMMON: u32 = 0xfff2;
pub const SHN_XINDEX: u32 = 0xffff;

pub const STB_LOCAL: u8 = 0;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;
pub const STB_GNU_UNIQUE: u8 = 10;

pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_SECTION: u8 = 3;
pub const STT_FILE: u8 = 4;
pub const STT_COMMON: u8 = 5;
pub const STT_TLS: u8 = 6;
pub const STT_GNU_IFUNC: u8 = 10;

pub const STV_DEFAULT: u8 = 0;
pub const STV_INTERNAL: u8 = 1;
pub const STV_HIDDEN: u8 = 2;
pub const STV_PROTECTED: u8 = 3;

pub const GRP_COMDAT: u32 = 1;

pub const ET_REL: u16 = 1;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
pub const EM_X86_64: u16 = 62;

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_PHDR: u32 = 6;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const DT_NULL: u64 = 0;
pub const DT_NEEDED: u64 = 1;
pub const DT_PLTRELSZ: u64 = 2;
pub const DT_PLTGOT: u64 = 3;
pub const DT_HASH: u64 = 4;
pub const DT_STRTAB: u64 = 5;
pub const DT_SYMTAB: u64 = 6;
pub const DT_RELA: u64 = 7;
pub const DT_RELASZ: u64 = 8;
pub const DT_RELAENT: u64 = 9;
pub const DT_STRSZ: u64 = 10;
pub const DT_SYMENT: u64 = 11;
pub const DT_SONAME: u64 = 14;
pub const DT_RPATH: u64 = 15;
pub const DT_PLTREL: u64 = 20;
pub const DT_DEBUG: u64 = 21;
pub const DT_TEXTREL: u64 = 22;
pub const DT_JMPREL: u64 = 23;
pub const DT_INIT_ARRAY: u64 = 25;
pub const DT_FINI_ARRAY: u64 = 26;
pub const DT_INIT_ARRAYSZ: u64 = 27;
pub const DT_FINI_ARRAYSZ: u64 = 28;
pub const DT_RUNPATH: u64 = 29;
pub const DT_FLAGS: u64 = 30;
pub const DT_PREINIT_ARRAY: u64 = 32;
pub const DT_PREINIT_ARRAYSZ: u64 = 33;
pub const DT_INIT: u64 = 12;
pub const DT_FINI: u64 = 13;
pub const DT_GNU_HASH: u64 = 0x6fff_fef5;
pub const DT_VERSYM: u64 = 0x6fff_fff0;
pub const DT_RELACOUNT: u64 = 0x6fff_fff9;
pub const DT_FLAGS_1: u64 = 0x6fff_fffb;
pub const DT_VERNEED: u64 = 0x6fff_fffe;
pub const DT_VERNEEDNUM: u64 = 0x6fff_ffff;
pub const DF_TEXTREL: u64 = 4;
pub const DF_BIND_NOW: u64 = 8;
pub const DF_STATIC_TLS: u64 = 0x10;
pub const DF_1_NOW: u64 = 1;
pub const DF_1_PIE: u64 = 0x0800_0000;

pub const R_X86_64_NONE: u32 = 0;
pub const R_X86_64_64: u32 = 1;
pub const R_X86_64_PC32: u32 = 2;
pub const R_X86_64_GOT32: u32 = 3;
pub const R_X86_64_PLT32: u32 = 4;
pub const R_X86_64_COPY: u32 = 5;
pub const R_X86_64_GLOB_DAT: u32 = 6;
pub const R_X86_64_JUMP_SLOT: u32 = 7;
pub const R_X86_64_RELATIVE: u32 = 8;
pub const R_X86_64_GOTPCREL: u32 = 9;
pub const R_X86_64_32: u32 = 10;
pub const R_X86_64_32S: u32 = 11;
pub const R_X86_64_16: u32 = 12;
pub const R_X86_64_PC16: u32 = 13;
pub const R_X86_64_8: u32 = 14;
pub const R_X86_64_PC8: u32 = 15;
pub const R_X86_64_DTPMOD64: u32 = 16;
pub const R_X86_64_DTPOFF64: u32 = 17;
pub const R_X86_64_TPOFF64: u32 = 18;
pub const R_X86_64_TLSGD: u32 = 19;
pub const R_X86_64_TLSLD: u32 = 20;
pub const R_X86_64_DTPOFF32: u32 = 21;
pub const R_X86_64_GOTTPOFF: u32 = 22;
pub const R_X86_64_TPOFF32: u32 = 23;
pub const R_X86_64_PC64: u32 = 24;
pub const R_X86_64_GOTOFF64: u32 = 25;
pub const R_X86_64_GOTPC32: u32 = 26;
pub const R_X86_64_GOT64: u32 = 27;
pub const R_X86_64_GOTPCREL64: u32 = 28;
pub const R_X86_64_GOTPC64: u32 = 29;
pub const R_X86_64_SIZE32: u32 = 32;
pub const R_X86_64_SIZE64: u32 = 33;
pub const R_X86_64_GOTPC32_TLSDESC: u32 = 34;
pub const R_X86_64_TLSDESC_CALL: u32 = 35;
pub const R_X86_64_IRELATIVE: u32 = 37;
pub const R_X86_64_GOTPCRELX: u32 = 41;
pub const R_X86_64_REX_GOTPCRELX: u32 = 42;

/// The ABI name of an x86-64 relocation type, for messages.
pub fn reloc_name(t: u32) -> String {
    let s = match t {
        R_X86_64_NONE => "R_X86_64_NONE",
        R_X86_64_64 => "R_X86_64_64",
        R_X86_64_PC32 => "R_X86_64_PC32",
        R_X86_64_GOT32 => "R_X86_64_GOT32",
        R_X86_64_PLT32 => "R_X86_64_PLT32",
        R_X86_64_COPY => "R_X86_64_COPY",
        R_X86_64_GLOB_DAT => "R_X86_64_GLOB_DAT",
        R_X86_64_JUMP_SLOT => "R_X86_64_JUMP_SLOT",
        R_X86_64_RELATIVE => "R_X86_64_RELATIVE",
        R_X86_64_GOTPCREL => "R_X86_64_GOTPCREL",
        R_X86_64_32 => "R_X86_64_32",
        R_X86_64_32S => "R_X86_64_32S",
        R_X86_64_16 => "R_X86_64_16",
        R_X86_64_PC16 => "R_X86_64_PC16",
        R_X86_64_8 => "R_X86_64_8",
        R_X86_64_PC8 => "R_X86_64_PC8",
        R_X86_64_DTPMOD64 => "R_X86_64_DTPMOD64",
        R_X86_64_DTPOFF64 => "R_X86_64_DTPOFF64",
        R_X86_64_TPOFF64 => "R_X86_64_TPOFF64",
        R_X86_64_TLSGD => "R_X86_64_TLSGD",
        R_X86_64_TLSLD => "R_X86_64_TLSLD",
        R_X86_64_DTPOFF32 => "R_X86_64_DTPOFF32",
        R_X86_64_GOTTPOFF => "R_X86_64_GOTTPOFF",
        R_X86_64_TPOFF32 => "R_X86_64_TPOFF32",
        R_X86_64_PC64 => "R_X86_64_PC64",
        R_X86_64_GOTOFF64 => "R_X86_64_GOTOFF64",
        R_X86_64_GOTPC32 => "R_X86_64_GOTPC32",
        R_X86_64_GOT64 => "R_X86_64_GOT64",
        R_X86_64_GOTPCREL64 => "R_X86_64_GOTPCREL64",
        R_X86_64_GOTPC64 => "R_X86_64_GOTPC64",
        R_X86_64_SIZE32 => "R_X86_64_SIZE32",
        R_X86_64_SIZE64 => "R_X86_64_SIZE64",
        R_X86_64_GOTPC32_TLSDESC => "R_X86_64_GOTPC32_TLSDESC",
        R_X86_64_TLSDESC_CALL => "R_X86_64_TLSDESC_CALL",
        R_X86_64_IRELATIVE => "R_X86_64_IRELATIVE",
        R_X86_64_GOTPCRELX => "R_X86_64_GOTPCRELX",
        R_X86_64_REX_GOTPCRELX => "R_X86_64_REX_GOTPCRELX",
        other => return format!("relocation type {other}"),
    };
    s.to_string()
}

/// Bounds-checked reads from a file image. Every accessor returns `None` past the end,
/// so readers turn a truncated file into an error instead of a panic.
#[derive(Clone, Copy)]
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    pub fn slice(&self, off: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(off).ok()?;
        let len = usize::try_from(len).ok()?;
        self.0.get(start..start.checked_add(len)?)
    }
    pub fn u8(&self, off: u64) -> Option<u8> {
        self.slice(off, 1).map(|b| b[0])
    }
    pub fn u16(&self, off: u64) -> Option<u16> {
        self.slice(off, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(&self, off: u64) -> Option<u32> {
        self.slice(off, 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&self, off: u64) -> Option<u64> {
        self.slice(off, 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    }
    /// NUL-terminated string starting at `off`.
    pub fn cstr(&self, off: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(off).ok()?;
        let rest = self.0.get(start..)?;
        let end = memchr0(rest)?;
        Some(&rest[..end])
    }
}

fn memchr0(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == 0)
}

/// One ELF section header.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shdr {
    pub name: u32,
    pub sh_type: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub align: u64,
    pub entsize: u64,
}

/// The header fields the readers need, checked: ELF64, little-endian, x86-64.
pub struct Ehdr {
    pub e_type: u16,
    pub shoff: u64,
    pub shnum: u64,
    pub shstrndx: u32,
    pub phoff: u64,
    pub phnum: u64,
}

pub fn read_ehdr(b: Bytes<'_>) -> Result<Ehdr, String> {
    if b.0.len() < 64 {
        return Err("truncated ELF header".into());
    }
    if &b.0[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if b.0[4] != 2 || b.0[5] != 1 {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let machine = b.u16(18).unwrap_or(0);
    if machine != EM_X86_64 {
        return Err(format!("unsupported machine {machine} (expected x86-64)"));
    }
    let e_type = b.u16(16).unwrap_or(0);
    let phoff = b.u64(32).unwrap_or(0);
    let shoff = b.u64(40).unwrap_or(0);
    let phnum = b.u16(56).unwrap_or(0) as u64;
    let mut shnum = b.u16(60).unwrap_or(0) as u64;
    let mut shstrndx = b.u16(62).unwrap_or(0) as u32;
    if shoff != 0 && (shnum == 0 || shstrndx == SHN_XINDEX) {
        // Extended numbering: the real values live in section header 0.
        let s0 = read_shdr(b, shoff, 0).ok_or("truncated section header table")?;
        if shnum == 0 {
            shnum = s0.size;
        }
        if shstrndx == SHN_XINDEX {
            shstrndx = s0.link;
        }
    }
    Ok(Ehdr {
        e_type,
        shoff,
        shnum,
        shstrndx,
        phoff,
        phnum,
    })
}

pub fn read_shdr(b: Bytes<'_>, shoff: u64, i: u64) -> Option<Shdr> {
    let o = shoff.checked_add(i.checked_mul(64)?)?;
    b.slice(o, 64)?;
    Some(Shdr {
        name: b.u32(o)?,
        sh_type: b.u32(o + 4)?,
        flags: b.u64(o + 8)?,
        addr: b.u64(o + 16)?,
        offset: b.u64(o + 24)?,
        size: b.u64(o + 32)?,
        link: b.u32(o + 40)?,
        info: b.u32(o + 44)?,
        align: b.u64(o + 48)?,
        entsize: b.u64(o + 56)?,
    })
}

pub fn read_shdrs(b: Bytes<'_>, eh: &Ehdr) -> Result<Vec<Shdr>, String> {
    if eh.shnum > 1 << 24 {
        return Err(format!("implausible section count {}", eh.shnum));
    }
    (0..eh.shnum)
        .map(|i| read_shdr(b, eh.shoff, i).ok_or_else(|| "truncated section header table".into()))
        .collect()
}

/// Contents of a section (empty for NOBITS), checked against the file size.
pub fn section_data<'a>(b: Bytes<'a>, s: &Shdr) -> Result<&'a [u8], String> {
    if s.sh_type == SHT_NOBITS || s.sh_type == SHT_NULL {
        return Ok(&[]);
    }
    b.slice(s.offset, s.size).ok_or_else(|| {
        format!(
            "section data at {:#x}+{:#x} lies outside the file",
            s.offset, s.size
        )
    })
}

/// One ELF symbol.
#[derive(Clone, Copy, Debug)]
pub struct RawSym<'a> {
    pub name: &'a [u8],
    pub value: u64,
    pub size: u64,
    pub shndx: u32,
    pub bind: u8,
    pub typ: u8,
    pub vis: u8,
}

/// Reads the symbol table `symtab` whose names live in `strtab`. `xindex` is the
/// SHT_SYMTAB_SHNDX table, if any.
pub fn read_syms<'a>(
    symtab: &'a [u8],
    strtab: &'a [u8],
    xindex: Option<&'a [u8]>,
) -> Result<Vec<RawSym<'a>>, String> {
    let n = symtab.len() / 24;
    let st = Bytes(strtab);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let e = &symtab[i * 24..i * 24 + 24];
        let name_off = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as u64;
        let info = e[4];
        let other = e[5];
        let mut shndx = u16::from_le_bytes([e[6], e[7]]) as u32;
        let value = u64::from_le_bytes(e[8..16].try_into().unwrap_or([0; 8]));
        let size = u64::from_le_bytes(e[16..24].try_into().unwrap_or([0; 8]));
        let name = if name_off == 0 {
            &[][..]
        } else {
            st.cstr(name_off)
                .ok_or_else(|| format!("symbol {i}: name offset {name_off:#x} out of range"))?
        };
        if shndx == SHN_XINDEX {
            let x = xindex
                .and_then(|x| Bytes(x).u32(i as u64 * 4))
                .ok_or_else(|| format!("symbol {i}: SHN_XINDEX without a valid index table"))?;
            shndx = x;
        }
        out.push(RawSym {
            name,
            value,
            size,
            shndx,
            bind: info >> 4,
            typ: info & 0xf,
            vis: other & 3,
        });
    }
    Ok(out)
}

/// Displays a byte-string symbol name.
pub fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}
