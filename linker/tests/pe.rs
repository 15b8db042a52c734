//! PE32+ executable tests: goblin checks of headers, imports and base relocations, and a
//! run under Wine on Linux (natively on Windows).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Builder, temp_file};
use meteor_linker::{LinkError, LinkOptions, ObjectModule, RelocKind, SectionKind, Target, link};

const MESSAGE: &[u8] = b"hello from meteor\n";

/// `mainCRTStartup`: WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), msg, len, &written, 0),
/// then ExitProcess(written). `msg` is reached through a pointer in .data (Abs64, so it
/// needs a base relocation), `written` lives in bss.
fn program() -> Vec<ObjectModule> {
    let mut a = Builder::new("start.o");
    a.import("GetStdHandle", "kernel32");
    a.import("WriteFile", "kernel32");
    a.import("Sleep", "kernel32"); // never referenced: must not be imported
    a.import("MessageBoxA", "user32"); // never referenced: no user32.dll import
    let code: Vec<u8> = [
        &[0x48, 0x83, 0xEC, 0x38][..],               // 0: sub rsp, 0x38
        &[0xB9, 0xF5, 0xFF, 0xFF, 0xFF],             // 4: mov ecx, -11
        &[0xE8, 0, 0, 0, 0],                         // 9: call GetStdHandle
        &[0x48, 0x89, 0xC1],                         // 14: mov rcx, rax
        &[0x48, 0x8B, 0x15, 0, 0, 0, 0],             // 17: mov rdx, [rip+msgptr]
        &[0x41, 0xB8, MESSAGE.len() as u8, 0, 0, 0], // 24: mov r8d, len
        &[0x4C, 0x8D, 0x0D, 0, 0, 0, 0],             // 30: lea r9, [rip+written]
        &[0x48, 0xC7, 0x44, 0x24, 0x20, 0, 0, 0, 0], // 37: mov qword [rsp+32], 0
        &[0xFF, 0x15, 0, 0, 0, 0],                   // 46: call [rip+WriteFile]
        &[0x8B, 0x0D, 0, 0, 0, 0],                   // 52: mov ecx, [rip+written]
        &[0xE8, 0, 0, 0, 0],                         // 58: call ExitProcess
        &[0xCC],                                     // 63: int3
    ]
    .concat();
    a.func(
        "mainCRTStartup",
        &code,
        &[
            (10, "GetStdHandle", RelocKind::Branch32, -4),
            (20, "msgptr", RelocKind::PcRel32, -4),
            (33, "written", RelocKind::PcRel32, -4),
            (48, "WriteFile", RelocKind::GotPcRel32, -4),
            (54, "written", RelocKind::PcRel32, -4),
            (59, "ExitProcess", RelocKind::Branch32, -4),
        ],
    );
    let mut b = Builder::new("data.o");
    b.import("ExitProcess", "KERNEL32.DLL"); // same DLL, other spelling
    b.data(SectionKind::ReadOnlyData, "msg", MESSAGE, 1);
    let (data, off) = b.data(SectionKind::Data, "msgptr", &[0; 8], 8);
    b.reloc(data, off, "msg", RelocKind::Abs64, 0);
    b.data(SectionKind::Bss, "written", &[0; 4], 4);
    // ExitProcess is referenced from start.o; data.o only declares where it comes from.
    vec![a.build(), b.build()]
}

fn linked() -> Vec<u8> {
    link(program(), &LinkOptions::new(Target::WindowsX64)).unwrap()
}

#[test]
fn headers_imports_and_relocations() {
    let bytes = linked();
    let pe = goblin::pe::PE::parse(&bytes).unwrap();
    assert!(pe.is_64);
    let oh = pe.header.optional_header.unwrap();
    assert_eq!(oh.windows_fields.image_base, 0x1_4000_0000);
    assert_eq!(oh.windows_fields.section_alignment, 0x1000);
    assert_eq!(oh.windows_fields.file_alignment, 0x200);
    assert_eq!(oh.windows_fields.subsystem, 3);
    assert_eq!(
        oh.windows_fields.dll_characteristics,
        0x0020 | 0x0040 | 0x0100 | 0x8000
    );
    assert_eq!(pe.header.coff_header.characteristics, 0x0002 | 0x0020);
    let names: Vec<String> = pe
        .sections
        .iter()
        .map(|s| String::from_utf8_lossy(s.name().unwrap().as_bytes()).into())
        .collect();
    // GNU ld's order (the PE linker links MinGW objects too): code, data, read-only data.
    assert_eq!(
        names,
        [".text", ".data", ".rdata", ".bss", ".idata", ".reloc"]
    );
    for s in &pe.sections {
        let c = s.characteristics;
        assert!(
            c & 0x2000_0000 == 0 || c & 0x8000_0000 == 0,
            "no W+X section"
        );
    }
    let text = &pe.sections[0];
    assert_eq!(text.characteristics, 0x6000_0020);
    assert!(
        pe.entry >= text.virtual_address && pe.entry < text.virtual_address + text.virtual_size
    );
    let data = &pe.sections[1];
    assert_eq!(data.characteristics, 0xC000_0040);
    let bss = &pe.sections[3];
    assert_eq!(bss.size_of_raw_data, 0, ".bss takes no file space");
    assert_eq!(bss.characteristics, 0xC000_0080);

    // Exactly the used imports, one DLL.
    let mut imports: Vec<(String, String)> = pe
        .imports
        .iter()
        .map(|i| (i.dll.to_ascii_lowercase(), i.name.to_string()))
        .collect();
    imports.sort();
    assert_eq!(
        imports,
        [
            ("kernel32.dll".to_string(), "ExitProcess".to_string()),
            ("kernel32.dll".to_string(), "GetStdHandle".to_string()),
            ("kernel32.dll".to_string(), "WriteFile".to_string()),
        ]
    );
    assert_eq!(pe.libraries.len(), 1);
    let dirs = oh.data_directories;
    assert!(dirs.get_import_table().is_some());
    assert!(dirs.get_import_address_table().is_some());

    // One DIR64 base relocation: the pointer in .data.
    let reloc_dir = dirs.get_base_relocation_table().unwrap();
    let reloc = pe
        .sections
        .iter()
        .find(|s| s.virtual_address == reloc_dir.virtual_address)
        .unwrap();
    let raw = &bytes[reloc.pointer_to_raw_data as usize..][..reloc_dir.size as usize];
    let page = u32::from_le_bytes(raw[0..4].try_into().unwrap());
    let block = u32::from_le_bytes(raw[4..8].try_into().unwrap());
    assert_eq!(block as usize, raw.len());
    let entry = u16::from_le_bytes(raw[8..10].try_into().unwrap());
    assert_eq!(entry >> 12, 10);
    let field_rva = page + (entry & 0xFFF) as u32;
    assert!(
        field_rva >= data.virtual_address && field_rva < data.virtual_address + data.virtual_size
    );
}

#[test]
fn undefined_symbol_without_library_is_an_error() {
    let mut a = Builder::new("start.o");
    a.func(
        "mainCRTStartup",
        &[0xE8, 0, 0, 0, 0],
        &[(1, "NoSuchFunction", RelocKind::Branch32, -4)],
    );
    let err = link(vec![a.build()], &LinkOptions::new(Target::WindowsX64)).unwrap_err();
    assert_eq!(
        err,
        LinkError::UndefinedSymbol {
            name: "NoSuchFunction".into(),
            module: "start.o".into()
        }
    );
}

#[test]
fn no_imports_and_no_relocations() {
    let mut a = Builder::new("start.o");
    a.func("mainCRTStartup", &[0x31, 0xC0, 0xC3], &[]);
    let bytes = link(vec![a.build()], &LinkOptions::new(Target::WindowsX64)).unwrap();
    let pe = goblin::pe::PE::parse(&bytes).unwrap();
    assert!(pe.imports.is_empty());
    assert_eq!(pe.sections.len(), 1);
}

fn find_wine() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("METEOR_WINE") {
        return Some(p.into());
    }
    for candidate in ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"] {
        if Path::new(candidate).exists() {
            return Some(candidate.into());
        }
    }
    None
}

/// Runs `exe` (under Wine when not on Windows) and returns (exit code, stdout).
fn run_exe(exe: &Path) -> Option<(i32, Vec<u8>)> {
    let mut cmd = if cfg!(windows) {
        Command::new(exe)
    } else {
        let Some(wine) = find_wine() else {
            assert!(std::env::var_os("CI").is_none(), "wine64 is required in CI");
            eprintln!("skipping: wine64 not found (set METEOR_WINE to its path)");
            return None;
        };
        let mut c = Command::new(wine);
        c.arg(exe).env("WINEDEBUG", "-all");
        if std::env::var_os("WINEPREFIX").is_none() {
            c.env(
                "WINEPREFIX",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("wineprefix-linker"),
            );
        }
        c
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut out = Vec::new();
        let mut stdout = stdout;
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} timed out", exe.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Some((status.code().unwrap_or(-1), reader.join().unwrap()))
}

#[test]
fn runs_under_wine_and_prints() {
    let path = temp_file("hello.exe", &linked(), true);
    if let Some((code, stdout)) = run_exe(&path) {
        assert_eq!(
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(MESSAGE)
        );
        assert_eq!(code, MESSAGE.len() as i32);
    }
}

/// Parses the `.reloc` section into the RVAs of its DIR64 entries.
fn base_relocations(bytes: &[u8], pe: &goblin::pe::PE) -> Vec<u32> {
    let dir = pe
        .header
        .optional_header
        .unwrap()
        .data_directories
        .get_base_relocation_table()
        .copied()
        .unwrap();
    let sec = pe
        .sections
        .iter()
        .find(|s| s.virtual_address == dir.virtual_address)
        .unwrap();
    let mut raw = &bytes[sec.pointer_to_raw_data as usize..][..dir.size as usize];
    let mut rvas = Vec::new();
    while !raw.is_empty() {
        let page = u32::from_le_bytes(raw[0..4].try_into().unwrap());
        let size = u32::from_le_bytes(raw[4..8].try_into().unwrap()) as usize;
        assert!(
            size >= 8 && size.is_multiple_of(4) && size <= raw.len(),
            "block size {size}"
        );
        for e in raw[8..size].chunks(2) {
            let e = u16::from_le_bytes([e[0], e[1]]);
            match e >> 12 {
                0 => {}
                10 => rvas.push(page + (e & 0xFFF) as u32),
                other => panic!("unexpected base relocation type {other}"),
            }
        }
        raw = &raw[size..];
    }
    rvas
}

#[test]
fn base_relocations_cover_every_absolute_address_across_pages() {
    let mut b = Builder::new("many.o");
    b.data(SectionKind::ReadOnlyData, "target", &[7; 16], 16);
    let (data, first) = b.data(SectionKind::Data, "table", &[0; 8 * 601], 8);
    for i in 0..601 {
        b.reloc(data, first + 8 * i, "target", RelocKind::Abs64, i as i64);
    }
    // mov rax, [rip+target@GOT]; ret  — a GOT slot for a defined symbol also needs a base reloc.
    b.func(
        "mainCRTStartup",
        &[0x48, 0x8B, 0x05, 0, 0, 0, 0, 0xC3],
        &[(3, "target", RelocKind::GotPcRel32, -4)],
    );
    let bytes = link(vec![b.build()], &LinkOptions::new(Target::WindowsX64)).unwrap();
    let pe = goblin::pe::PE::parse(&bytes).unwrap();
    let rvas = base_relocations(&bytes, &pe);
    assert_eq!(rvas.len(), 602);
    let section_of = |rva: u32| {
        pe.sections
            .iter()
            .find(|s| rva >= s.virtual_address && rva < s.virtual_address + s.virtual_size)
            .unwrap()
    };
    let rdata = pe
        .sections
        .iter()
        .find(|s| s.name().unwrap() == ".rdata")
        .unwrap();
    let target_rva = rdata.virtual_address; // `target` is the first thing in .rdata
    let mut table_values = Vec::new();
    for rva in rvas {
        let s = section_of(rva);
        let at = (s.pointer_to_raw_data + rva - s.virtual_address) as usize;
        let value = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        table_values.push(value - 0x1_4000_0000 - target_rva as u64);
    }
    table_values.sort_unstable();
    let mut expected: Vec<u64> = (0..601).collect();
    expected.push(0); // the GOT slot holds `target` itself
    expected.sort_unstable();
    assert_eq!(table_values, expected);
}
