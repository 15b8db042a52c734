//! Static ELF64 executable tests: link hand-assembled code, check the headers with goblin,
//! run the result (on Linux x86-64).

mod common;

use common::{Builder, temp_file};
use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_GNU_STACK, PT_LOAD};
use meteor_linker::{LinkError, LinkOptions, ObjectModule, RelocKind, SectionKind, Target, link};

/// `_start`: exit(x + [z] + *r@GOT + *p) with z written first, all through relocations.
fn program() -> Vec<ObjectModule> {
    let mut b = Builder::new("main.o");
    let code: Vec<u8> = [
        &[0xE8, 0, 0, 0, 0][..], // call compute
        &[0x89, 0xC7],           // mov edi, eax
        &[0xB8, 60, 0, 0, 0],    // mov eax, 60 (exit)
        &[0x0F, 0x05],           // syscall
        &[0xF4],                 // hlt
    ]
    .concat();
    b.func("_start", &code, &[(1, "compute", RelocKind::Branch32, -4)]);
    let mut c = Builder::new("compute.o");
    c.data(SectionKind::Data, "x", &10i32.to_le_bytes(), 4);
    c.data(SectionKind::ReadOnlyData, "r", &20i32.to_le_bytes(), 4);
    c.data(SectionKind::Bss, "z", &[0; 4], 4);
    let (data, p_off) = c.data(SectionKind::Data, "p", &[0; 8], 8);
    c.reloc(data, p_off, "r", RelocKind::Abs64, 0);
    let code: Vec<u8> = [
        &[0xC7, 0x05, 0, 0, 0, 0, 3, 0, 0, 0][..], // mov dword [rip+z], 3
        &[0x8B, 0x05, 0, 0, 0, 0],                 // mov eax, [rip+x]
        &[0x03, 0x05, 0, 0, 0, 0],                 // add eax, [rip+z]
        &[0x48, 0x8B, 0x0D, 0, 0, 0, 0],           // mov rcx, [rip+r@GOT]
        &[0x03, 0x01],                             // add eax, [rcx]
        &[0x48, 0x8B, 0x0D, 0, 0, 0, 0],           // mov rcx, [rip+p]
        &[0x03, 0x01],                             // add eax, [rcx]
        &[0x8B, 0x0C, 0x25, 0, 0, 0, 0],           // mov ecx, [abs32 x]
        &[0x01, 0xC8],                             // add eax, ecx
        &[0xC3],
    ]
    .concat();
    c.func(
        "compute",
        &code,
        &[
            (2, "z", RelocKind::PcRel32, -8),
            (12, "x", RelocKind::PcRel32, -4),
            (18, "z", RelocKind::PcRel32, -4),
            (25, "r", RelocKind::GotPcRel32, -4),
            (34, "p", RelocKind::PcRel32, -4),
            (43, "x", RelocKind::Abs32S, 0),
        ],
    );
    vec![b.build(), c.build()]
}

#[test]
fn headers_segments_and_sections() {
    let bytes = link(program(), &LinkOptions::new(Target::LinuxX64)).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    assert_eq!(elf.header.e_type, goblin::elf::header::ET_EXEC);
    assert_eq!(elf.header.e_machine, goblin::elf::header::EM_X86_64);
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .collect();
    // R (headers), R+X (text), R (rodata), R+W (RELRO: .got), R+W (data, bss).
    assert!(loads.len() >= 3, "{loads:?}");
    assert_eq!(loads[0].p_flags, PF_R);
    assert_eq!(loads[0].p_vaddr, 0x400000);
    assert_eq!(loads[1].p_flags, PF_R | PF_X);
    assert_eq!(loads.last().unwrap().p_flags, PF_R | PF_W);
    assert!(
        loads
            .windows(2)
            .all(|w| w[0].p_vaddr + w[0].p_memsz <= w[1].p_vaddr)
    );
    for p in &loads {
        assert_eq!(
            p.p_vaddr % p.p_align,
            p.p_offset % p.p_align,
            "congruent vaddr/offset"
        );
        assert!(p.p_flags & (PF_W | PF_X) != (PF_W | PF_X), "no W+X segment");
    }
    let stack = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_GNU_STACK)
        .unwrap();
    assert_eq!(stack.p_flags, PF_R | PF_W);
    // The entry is `_start`, inside the executable segment.
    let text_seg = loads[1];
    assert!(elf.entry >= text_seg.p_vaddr && elf.entry < text_seg.p_vaddr + text_seg.p_memsz);
    let start = elf
        .syms
        .iter()
        .find(|s| elf.strtab.get_at(s.st_name) == Some("_start"))
        .unwrap();
    assert_eq!(start.st_value, elf.entry);
    let names: Vec<&str> = elf
        .section_headers
        .iter()
        .filter_map(|s| elf.shdr_strtab.get_at(s.sh_name))
        .collect();
    for want in [
        ".text",
        ".rodata",
        ".data",
        ".bss",
        ".got",
        ".symtab",
        ".strtab",
        ".shstrtab",
    ] {
        assert!(names.contains(&want), "missing {want} in {names:?}");
    }
    for s in &elf.section_headers {
        let flags = s.sh_flags as u32;
        assert!(
            flags & goblin::elf::section_header::SHF_WRITE == 0
                || flags & goblin::elf::section_header::SHF_EXECINSTR == 0
        );
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn runs_and_exits_with_the_computed_code() {
    let bytes = link(program(), &LinkOptions::new(Target::LinuxX64)).unwrap();
    let path = temp_file("elf-exit", &bytes, true);
    let status = common::run_exe(&path).status;
    assert_eq!(status.code(), Some(10 + 3 + 20 + 20 + 10));
}

#[test]
fn readelf_and_objdump_accept_the_output() {
    let bytes = link(program(), &LinkOptions::new(Target::LinuxX64)).unwrap();
    let path = temp_file("elf-tools", &bytes, true);
    for (tool, args) in [("readelf", &["-a", "-W"][..]), ("objdump", &["-d"][..])] {
        let out = match std::process::Command::new(tool)
            .args(args)
            .arg(&path)
            .output()
        {
            Ok(out) => out,
            Err(_) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping {tool}: not installed");
                continue;
            }
            Err(e) => panic!("{tool} missing in CI: {e}"),
        };
        assert!(out.status.success(), "{tool} failed");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.trim().is_empty(), "{tool} warned: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("compute"), "{tool} output lacks symbols");
    }
}

#[test]
fn undefined_symbol_names_symbol_and_module() {
    let mut b = Builder::new("main.o");
    b.func(
        "_start",
        &[0xE8, 0, 0, 0, 0, 0xF4],
        &[(1, "missing_fn", RelocKind::Branch32, -4)],
    );
    let err = link(vec![b.build()], &LinkOptions::new(Target::LinuxX64)).unwrap_err();
    assert_eq!(
        err,
        LinkError::UndefinedSymbol {
            name: "missing_fn".into(),
            module: "main.o (section .text)".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "undefined symbol `missing_fn`, referenced by `main.o (section .text)`"
    );
}

/// An `Import` from "c" makes a dynamic executable that calls libc's `write`.
#[test]
fn dynamic_import_links_against_libc() {
    let mut b = Builder::new("main.o");
    b.import("write", "c");
    b.data(SectionKind::ReadOnlyData, "msg", b"from libc\n", 1);
    let code: Vec<u8> = [
        &[0xBF, 1, 0, 0, 0][..],         // mov edi, 1
        &[0x48, 0x8D, 0x35, 0, 0, 0, 0], // lea rsi, [rip+msg]
        &[0xBA, 10, 0, 0, 0],            // mov edx, 10
        &[0xE8, 0, 0, 0, 0],             // call write
        &[0xBF, 9, 0, 0, 0],             // mov edi, 9
        &[0xB8, 60, 0, 0, 0],            // mov eax, 60 (exit)
        &[0x0F, 0x05],                   // syscall
    ]
    .concat();
    b.func(
        "_start",
        &code,
        &[
            (8, "msg", RelocKind::PcRel32, -4),
            (18, "write", RelocKind::Branch32, -4),
        ],
    );
    let bytes = match link(vec![b.build()], &LinkOptions::new(Target::LinuxX64)) {
        Ok(b) => b,
        Err(e) if !std::path::Path::new("/lib/x86_64-linux-gnu/libc.so.6").exists() => {
            eprintln!("skipping: no libc.so.6 ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    assert_eq!(elf.interpreter, Some("/lib64/ld-linux-x86-64.so.2"));
    assert!(elf.libraries.contains(&"libc.so.6"), "{:?}", elf.libraries);
    assert!(
        elf.dynsyms
            .iter()
            .any(|s| elf.dynstrtab.get_at(s.st_name) == Some("write"))
    );
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let path = temp_file("libc_write", &bytes, true);
        let out = common::run_exe(&path);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "from libc\n");
        assert_eq!(out.status.code(), Some(9));
    }
}

#[test]
fn unreferenced_import_is_fine() {
    let mut b = Builder::new("main.o");
    b.import("puts", "c");
    b.func("_start", &[0xF4], &[]);
    link(vec![b.build()], &LinkOptions::new(Target::LinuxX64)).unwrap();
}

#[test]
fn missing_entry_is_an_error() {
    let mut b = Builder::new("main.o");
    b.func("main", &[0xC3], &[]);
    let err = link(vec![b.build()], &LinkOptions::new(Target::LinuxX64)).unwrap_err();
    assert_eq!(err.to_string(), "entry symbol `_start` is not defined");
    let opts = LinkOptions {
        target: Target::LinuxX64,
        entry: "main".into(),
    };
    link(
        vec![Builder::new("x").build(), {
            let mut b = Builder::new("main.o");
            b.func("main", &[0xC3], &[]);
            b.build()
        }],
        &opts,
    )
    .unwrap();
}

#[test]
fn abs32_overflow_is_an_error() {
    let mut b = Builder::new("main.o");
    b.func("_start", &[0xF4], &[]);
    let (data, off) = b.data(SectionKind::Data, "v", &[0; 4], 4);
    b.reloc(data, off, "_start", RelocKind::Abs32, 0x1_0000_0000);
    let err = link(vec![b.build()], &LinkOptions::new(Target::LinuxX64)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("R_X86_64_32 against `_start`") && msg.contains("does not fit"),
        "{msg}"
    );
}

#[test]
fn only_bss_and_no_rodata() {
    let mut b = Builder::new("main.o");
    b.data(SectionKind::Bss, "big", &[0; 100_000], 64);
    b.func("_start", &[0xF4], &[]);
    let bytes = link(vec![b.build()], &LinkOptions::default()).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let rw = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_LOAD && p.p_flags == PF_R | PF_W)
        .unwrap();
    assert_eq!(rw.p_filesz, 0);
    assert!(rw.p_memsz >= 100_000);
    assert!(bytes.len() < 10_000, "bss takes no file space");
}
