//! Structural checks of produced executables, read with goblin.
//!
//! Reading (goblin → a small "facts" struct) is separate from judging (facts → list of
//! problems), so the rules are unit-tested on plain values and the readers on tiny
//! hand-made images.

use goblin::elf::program_header::{PF_W, PF_X, PT_GNU_STACK, PT_LOAD};
use std::collections::BTreeSet;

/// `EM_X86_64`.
const EM_X86_64: u16 = 62;
/// `IMAGE_FILE_MACHINE_AMD64`.
const MACHINE_AMD64: u16 = 0x8664;
/// `IMAGE_SUBSYSTEM_WINDOWS_CUI`.
const SUBSYSTEM_CONSOLE: u16 = 3;
const DLLCHAR_DYNAMIC_BASE: u16 = 0x0040;
const DLLCHAR_NX_COMPAT: u16 = 0x0100;
const SCN_MEM_EXECUTE: u32 = 0x2000_0000;
const SCN_MEM_WRITE: u32 = 0x8000_0000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfSegment {
    pub p_type: u32,
    pub flags: u32,
    pub vaddr: u64,
    pub memsz: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfFacts {
    pub machine: u16,
    pub entry: u64,
    pub segments: Vec<ElfSegment>,
}

/// Reads the facts the checks need from an ELF image.
pub fn elf_facts(bytes: &[u8]) -> Result<ElfFacts, String> {
    let elf = goblin::elf::Elf::parse(bytes).map_err(|e| format!("not a valid ELF file: {e}"))?;
    if !elf.is_64 {
        return Err("not an ELF64 file".into());
    }
    Ok(ElfFacts {
        machine: elf.header.e_machine,
        entry: elf.entry,
        segments: elf
            .program_headers
            .iter()
            .map(|p| ElfSegment {
                p_type: p.p_type,
                flags: p.p_flags,
                vaddr: p.p_vaddr,
                memsz: p.p_memsz,
            })
            .collect(),
    })
}

/// The problems of an ELF executable: machine x86-64, entry inside an executable
/// `PT_LOAD`, no segment both writable and executable, a non-executable `PT_GNU_STACK`.
pub fn elf_problems(f: &ElfFacts) -> Vec<String> {
    let mut problems = Vec::new();
    if f.machine != EM_X86_64 {
        problems.push(format!(
            "e_machine is {}, expected EM_X86_64 (62)",
            f.machine
        ));
    }
    let loads: Vec<&ElfSegment> = f.segments.iter().filter(|s| s.p_type == PT_LOAD).collect();
    if loads.is_empty() {
        problems.push("no PT_LOAD segment".into());
    }
    let entry_seg = loads
        .iter()
        .find(|s| f.entry >= s.vaddr && f.entry - s.vaddr < s.memsz);
    match entry_seg {
        None => problems.push(format!(
            "entry point 0x{:x} is in no PT_LOAD segment",
            f.entry
        )),
        Some(s) if s.flags & PF_X == 0 => problems.push(format!(
            "entry point 0x{:x} is in a non-executable PT_LOAD segment at 0x{:x}",
            f.entry, s.vaddr
        )),
        Some(_) => {}
    }
    for s in &f.segments {
        if s.flags & PF_W != 0 && s.flags & PF_X != 0 {
            problems.push(format!(
                "segment of type 0x{:x} at 0x{:x} is both writable and executable",
                s.p_type, s.vaddr
            ));
        }
    }
    match f.segments.iter().find(|s| s.p_type == PT_GNU_STACK) {
        None => problems.push("no PT_GNU_STACK segment (the stack would be executable)".into()),
        Some(s) if s.flags & PF_X != 0 => {
            problems.push("PT_GNU_STACK asks for an executable stack".into())
        }
        Some(_) => {}
    }
    problems
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeSection {
    pub name: String,
    pub rva: u32,
    pub size: u32,
    pub characteristics: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeFacts {
    pub machine: u16,
    pub is_dll: bool,
    pub subsystem: u16,
    pub dll_characteristics: u16,
    pub entry_rva: u32,
    pub sections: Vec<PeSection>,
    /// (dll, function) pairs; imports by ordinal appear as `#N`.
    pub imports: Vec<(String, String)>,
}

/// Reads the facts the checks need from a PE image.
pub fn pe_facts(bytes: &[u8]) -> Result<PeFacts, String> {
    let pe = goblin::pe::PE::parse(bytes).map_err(|e| format!("not a valid PE file: {e}"))?;
    let opt = pe
        .header
        .optional_header
        .ok_or("PE file has no optional header")?;
    if !pe.is_64 {
        return Err("not a PE32+ (64-bit) image".into());
    }
    Ok(PeFacts {
        machine: pe.header.coff_header.machine,
        is_dll: pe.is_lib,
        subsystem: opt.windows_fields.subsystem,
        dll_characteristics: opt.windows_fields.dll_characteristics,
        entry_rva: opt.standard_fields.address_of_entry_point,
        sections: pe
            .sections
            .iter()
            .map(|s| PeSection {
                name: String::from_utf8_lossy(&s.name)
                    .trim_end_matches('\0')
                    .to_string(),
                rva: s.virtual_address,
                size: s.virtual_size.max(s.size_of_raw_data),
                characteristics: s.characteristics,
            })
            .collect(),
        imports: pe
            .imports
            .iter()
            .map(|i| {
                let name = if i.name.starts_with("ORDINAL ") || i.name.is_empty() {
                    format!("#{}", i.ordinal)
                } else {
                    i.name.to_string()
                };
                (i.dll.to_string(), name)
            })
            .collect(),
    })
}

/// The problems of a PE console executable: machine AMD64, console subsystem, entry in
/// an executable section, no section both writable and executable, NX_COMPAT and
/// DYNAMIC_BASE, every import from kernel32.dll naming a function `declared` says the
/// program declares, and the import set equal to `expected_imports` when given
/// (`dll!Function`, dll in lower case).
pub fn pe_problems(
    f: &PeFacts,
    declared: &dyn Fn(&str) -> bool,
    expected_imports: Option<&BTreeSet<String>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if f.machine != MACHINE_AMD64 {
        problems.push(format!(
            "machine is 0x{:04x}, expected AMD64 (0x8664)",
            f.machine
        ));
    }
    if f.is_dll {
        problems.push("image is a DLL, expected an executable".into());
    }
    if f.subsystem != SUBSYSTEM_CONSOLE {
        problems.push(format!(
            "subsystem is {}, expected console (3)",
            f.subsystem
        ));
    }
    if f.dll_characteristics & DLLCHAR_NX_COMPAT == 0 {
        problems.push("DllCharacteristics lacks NX_COMPAT".into());
    }
    if f.dll_characteristics & DLLCHAR_DYNAMIC_BASE == 0 {
        problems.push("DllCharacteristics lacks DYNAMIC_BASE".into());
    }
    let entry_sec = f
        .sections
        .iter()
        .find(|s| f.entry_rva >= s.rva && f.entry_rva - s.rva < s.size);
    match entry_sec {
        None => problems.push(format!(
            "entry point RVA 0x{:x} is in no section",
            f.entry_rva
        )),
        Some(s) if s.characteristics & SCN_MEM_EXECUTE == 0 => problems.push(format!(
            "entry point RVA 0x{:x} is in non-executable section `{}`",
            f.entry_rva, s.name
        )),
        Some(_) => {}
    }
    for s in &f.sections {
        if s.characteristics & SCN_MEM_WRITE != 0 && s.characteristics & SCN_MEM_EXECUTE != 0 {
            problems.push(format!(
                "section `{}` is both writable and executable",
                s.name
            ));
        }
    }
    let mut actual = BTreeSet::new();
    for (dll, func) in &f.imports {
        if !dll.eq_ignore_ascii_case("kernel32.dll") {
            problems.push(format!(
                "imports `{func}` from `{dll}`; only kernel32.dll is expected"
            ));
        } else if !declared(func) {
            problems.push(format!(
                "imports `{dll}!{func}`, which the program and std never declare"
            ));
        }
        actual.insert(format!("{}!{func}", dll.to_ascii_lowercase()));
    }
    if let Some(expected) = expected_imports
        && &actual != expected
    {
        let missing: Vec<&String> = expected.difference(&actual).collect();
        let extra: Vec<&String> = actual.difference(expected).collect();
        problems.push(format!(
            "imports differ from <imports>: missing {missing:?}, unexpected {extra:?}"
        ));
    }
    problems
}

/// Reads and checks an ELF executable; `Err` lists every problem.
pub fn check_elf(bytes: &[u8]) -> Result<(), String> {
    let facts = elf_facts(bytes)?;
    join_problems("ELF", elf_problems(&facts))
}

/// Reads and checks a PE executable; `Err` lists every problem.
pub fn check_pe(
    bytes: &[u8],
    declared: &dyn Fn(&str) -> bool,
    expected_imports: Option<&BTreeSet<String>>,
) -> Result<(), String> {
    let facts = pe_facts(bytes)?;
    join_problems("PE", pe_problems(&facts, declared, expected_imports))
}

fn join_problems(kind: &str, problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{kind} check failed:\n  - {}",
            problems.join("\n  - ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goblin::elf::program_header::PF_R;

    fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// A minimal ELF64 executable: headers, then the given program headers.
    fn tiny_elf(entry: u64, phdrs: &[(u32, u32, u64, u64)]) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56 * phdrs.len() + 16];
        put(&mut b, 0, &[0x7f, b'E', b'L', b'F', 2, 1, 1]);
        put(&mut b, 16, &2u16.to_le_bytes()); // ET_EXEC
        put(&mut b, 18, &EM_X86_64.to_le_bytes());
        put(&mut b, 20, &1u32.to_le_bytes());
        put(&mut b, 24, &entry.to_le_bytes());
        put(&mut b, 32, &64u64.to_le_bytes()); // e_phoff
        put(&mut b, 52, &64u16.to_le_bytes()); // e_ehsize
        put(&mut b, 54, &56u16.to_le_bytes()); // e_phentsize
        put(&mut b, 56, &(phdrs.len() as u16).to_le_bytes());
        put(&mut b, 58, &64u16.to_le_bytes()); // e_shentsize
        for (i, &(p_type, flags, vaddr, memsz)) in phdrs.iter().enumerate() {
            let at = 64 + 56 * i;
            put(&mut b, at, &p_type.to_le_bytes());
            put(&mut b, at + 4, &flags.to_le_bytes());
            put(&mut b, at + 16, &vaddr.to_le_bytes());
            put(&mut b, at + 24, &vaddr.to_le_bytes());
            put(&mut b, at + 40, &memsz.to_le_bytes());
            put(&mut b, at + 48, &0x1000u64.to_le_bytes());
        }
        b
    }

    #[test]
    fn good_elf_passes() {
        let elf = tiny_elf(
            0x401000,
            &[
                (PT_LOAD, PF_R | PF_X, 0x401000, 0x100),
                (PT_LOAD, PF_R | PF_W, 0x402000, 0x100),
                (PT_GNU_STACK, PF_R | PF_W, 0, 0),
            ],
        );
        check_elf(&elf).unwrap();
    }

    #[test]
    fn bad_elf_reports_every_problem() {
        let elf = tiny_elf(
            0x402010,
            &[
                (PT_LOAD, PF_R | PF_X, 0x401000, 0x100),
                (PT_LOAD, PF_R | PF_W | PF_X, 0x402000, 0x100),
            ],
        );
        let err = check_elf(&elf).unwrap_err();
        assert!(err.contains("both writable and executable"), "{err}");
        assert!(err.contains("no PT_GNU_STACK"), "{err}");
        let elf = tiny_elf(
            0x402010,
            &[
                (PT_LOAD, PF_R | PF_W, 0x402000, 0x100),
                (PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0),
            ],
        );
        let err = check_elf(&elf).unwrap_err();
        assert!(err.contains("non-executable PT_LOAD"), "{err}");
        assert!(err.contains("executable stack"), "{err}");
        let elf = tiny_elf(
            0x900000,
            &[
                (PT_LOAD, PF_R | PF_X, 0x401000, 0x100),
                (PT_GNU_STACK, PF_R | PF_W, 0, 0),
            ],
        );
        assert!(check_elf(&elf).unwrap_err().contains("in no PT_LOAD"));
        assert!(check_elf(b"not an elf").is_err());
    }

    /// A minimal PE32+ image with one section at RVA 0x1000.
    fn tiny_pe(section_flags: u32, entry: u32, subsystem: u16, dll_chars: u16) -> Vec<u8> {
        let mut b = vec![0u8; 0x400];
        put(&mut b, 0, b"MZ");
        put(&mut b, 0x3c, &0x40u32.to_le_bytes());
        put(&mut b, 0x40, b"PE\0\0");
        let coff = 0x44;
        put(&mut b, coff, &MACHINE_AMD64.to_le_bytes());
        put(&mut b, coff + 2, &1u16.to_le_bytes()); // sections
        put(&mut b, coff + 16, &240u16.to_le_bytes()); // SizeOfOptionalHeader
        put(&mut b, coff + 18, &0x22u16.to_le_bytes()); // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
        let opt = coff + 20;
        put(&mut b, opt, &0x20bu16.to_le_bytes());
        put(&mut b, opt + 4, &0x200u32.to_le_bytes()); // SizeOfCode
        put(&mut b, opt + 16, &entry.to_le_bytes());
        put(&mut b, opt + 20, &0x1000u32.to_le_bytes()); // BaseOfCode
        put(&mut b, opt + 24, &0x1_4000_0000u64.to_le_bytes()); // ImageBase
        put(&mut b, opt + 32, &0x1000u32.to_le_bytes()); // SectionAlignment
        put(&mut b, opt + 36, &0x200u32.to_le_bytes()); // FileAlignment
        put(&mut b, opt + 40, &6u16.to_le_bytes()); // OS version
        put(&mut b, opt + 48, &6u16.to_le_bytes()); // subsystem version
        put(&mut b, opt + 56, &0x2000u32.to_le_bytes()); // SizeOfImage
        put(&mut b, opt + 60, &0x200u32.to_le_bytes()); // SizeOfHeaders
        put(&mut b, opt + 68, &subsystem.to_le_bytes());
        put(&mut b, opt + 70, &dll_chars.to_le_bytes());
        put(&mut b, opt + 72, &0x10_0000u64.to_le_bytes());
        put(&mut b, opt + 80, &0x1000u64.to_le_bytes());
        put(&mut b, opt + 88, &0x10_0000u64.to_le_bytes());
        put(&mut b, opt + 96, &0x1000u64.to_le_bytes());
        put(&mut b, opt + 108, &16u32.to_le_bytes()); // NumberOfRvaAndSizes
        let sec = opt + 240;
        put(&mut b, sec, b".text\0\0\0");
        put(&mut b, sec + 8, &0x10u32.to_le_bytes()); // VirtualSize
        put(&mut b, sec + 12, &0x1000u32.to_le_bytes()); // VirtualAddress
        put(&mut b, sec + 16, &0x200u32.to_le_bytes()); // SizeOfRawData
        put(&mut b, sec + 20, &0x200u32.to_le_bytes()); // PointerToRawData
        put(&mut b, sec + 36, &section_flags.to_le_bytes());
        b[0x200] = 0xc3;
        b
    }

    /// CNT_CODE | MEM_EXECUTE | MEM_READ.
    const CODE_RX: u32 = 0x20 | SCN_MEM_EXECUTE | 0x4000_0000;

    #[test]
    fn good_pe_passes() {
        let pe = tiny_pe(
            CODE_RX,
            0x1000,
            SUBSYSTEM_CONSOLE,
            DLLCHAR_NX_COMPAT | DLLCHAR_DYNAMIC_BASE | 0x20,
        );
        let facts = pe_facts(&pe).unwrap();
        assert_eq!(facts.sections[0].name, ".text");
        assert!(facts.imports.is_empty());
        check_pe(&pe, &|_| false, None).unwrap();
        check_pe(&pe, &|_| false, Some(&BTreeSet::new())).unwrap();
    }

    #[test]
    fn bad_pe_reports_every_problem() {
        let pe = tiny_pe(CODE_RX | SCN_MEM_WRITE, 0x3000, 2, 0);
        let err = check_pe(&pe, &|_| true, None).unwrap_err();
        for want in [
            "subsystem is 2",
            "NX_COMPAT",
            "DYNAMIC_BASE",
            "in no section",
            "both writable and executable",
        ] {
            assert!(err.contains(want), "missing {want:?} in {err}");
        }
        let pe = tiny_pe(
            0x4000_0040,
            0x1000,
            SUBSYSTEM_CONSOLE,
            DLLCHAR_NX_COMPAT | DLLCHAR_DYNAMIC_BASE,
        );
        assert!(
            check_pe(&pe, &|_| true, None)
                .unwrap_err()
                .contains("non-executable section `.text`")
        );
        assert!(check_pe(b"MZ nonsense", &|_| true, None).is_err());
    }

    #[test]
    fn import_rules() {
        let mut facts = pe_facts(&tiny_pe(CODE_RX, 0x1000, SUBSYSTEM_CONSOLE, 0x140)).unwrap();
        facts.imports = vec![
            ("KERNEL32.dll".into(), "ExitProcess".into()),
            ("user32.dll".into(), "MessageBoxA".into()),
            ("kernel32.dll".into(), "VirtualAlloc".into()),
        ];
        let declared = |f: &str| f == "ExitProcess";
        let problems = pe_problems(&facts, &declared, None);
        assert_eq!(
            problems,
            vec![
                "imports `MessageBoxA` from `user32.dll`; only kernel32.dll is expected"
                    .to_string(),
                "imports `kernel32.dll!VirtualAlloc`, which the program and std never declare"
                    .to_string(),
            ]
        );
        facts.imports.truncate(1);
        let want: BTreeSet<String> = ["kernel32.dll!ExitProcess".to_string()].into();
        assert!(pe_problems(&facts, &declared, Some(&want)).is_empty());
        let want: BTreeSet<String> = ["kernel32.dll!GetStdHandle".to_string()].into();
        let problems = pe_problems(&facts, &declared, Some(&want));
        assert_eq!(
            problems,
            vec![
                "imports differ from <imports>: missing [\"kernel32.dll!GetStdHandle\"], unexpected [\"kernel32.dll!ExitProcess\"]"
                    .to_string()
            ]
        );
    }
}
