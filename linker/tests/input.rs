//! The ELF relocatable object reader.

use std::path::{Path, PathBuf};
use std::process::Command;

use meteor_linker::input::{read_elf_object, read_file};
use meteor_linker::{
    Binding, LinkError, LinkOptions, RelocKind, SectionKind, SymbolDef, SymbolKind, Target, link,
};

fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("input")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles one source (C or assembly by extension) with gcc; `None` if gcc is missing.
fn compile(dir: &Path, name: &str, text: &str, flags: &[&str]) -> Option<Vec<u8>> {
    let have = Command::new("gcc")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        assert!(
            std::env::var_os("CI").is_none() || !cfg!(target_os = "linux"),
            "gcc is required in CI on Linux"
        );
        eprintln!("skipping: gcc not found");
        return None;
    }
    let src = dir.join(name);
    std::fs::write(&src, text).unwrap();
    let obj = src.with_extension("o");
    let out = Command::new("gcc")
        .args(["-c", "-O1", "-ffreestanding", "-fno-stack-protector"])
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read(obj).unwrap())
}

const SAMPLE_C: &str = r#"
extern int ext_var;
int ext_fn(int);
int global_var = 5;
static int local_bss[16];
const char ro[] = "read only";
int *pointer = &global_var;
__attribute__((weak)) int weak_fn(void) { return 1; }
int entry(int x) { local_bss[x & 15] += x; return local_bss[(x + 1) & 15] + ext_fn(ext_var + ro[x & 7]) + weak_fn(); }
"#;

#[test]
fn reads_sections_symbols_and_relocations() {
    let dir = work_dir("sample");
    let Some(bytes) = compile(&dir, "sample.c", SAMPLE_C, &["-fPIC"]) else {
        return;
    };
    let m = read_elf_object("sample.o", &bytes).unwrap();
    assert_eq!(m.name, "sample.o");
    let kinds: Vec<SectionKind> = m.sections.iter().map(|s| s.kind).collect();
    for k in [
        SectionKind::Text,
        SectionKind::ReadOnlyData,
        SectionKind::Data,
        SectionKind::Bss,
    ] {
        assert!(
            kinds.contains(&k),
            "{k:?} missing from {:?}",
            m.sections.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
    }
    assert!(
        m.sections
            .iter()
            .all(|s| !s.name.starts_with(".note") && s.name != ".comment")
    );
    let sym = |name: &str| {
        m.symbols
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
    };
    let entry = sym("entry");
    assert_eq!(
        (entry.kind, entry.binding),
        (SymbolKind::Function, Binding::Global)
    );
    assert!(matches!(entry.def, SymbolDef::Defined { size, .. } if size > 0));
    assert_eq!(sym("weak_fn").binding, Binding::Weak);
    assert_eq!(sym("global_var").kind, SymbolKind::Data);
    assert_eq!(sym("local_bss").binding, Binding::Local);
    assert_eq!(sym("ext_fn").def, SymbolDef::Undefined);
    assert_eq!(sym("ext_var").def, SymbolDef::Undefined);
    let relocs: Vec<(RelocKind, &str)> = m
        .sections
        .iter()
        .flat_map(|s| s.relocations.iter())
        .map(|r| (r.kind, m.symbol(r.symbol).name.as_str()))
        .collect();
    assert!(
        relocs.contains(&(RelocKind::Branch32, "ext_fn")),
        "{relocs:?}"
    );
    assert!(
        relocs.contains(&(RelocKind::GotPcRel32, "ext_var")),
        "{relocs:?}"
    );
    assert!(
        relocs.iter().any(|(k, _)| *k == RelocKind::Abs64),
        "{relocs:?}"
    );
}

#[test]
fn non_pic_code_gives_absolute_32_bit_relocations() {
    let dir = work_dir("nopic");
    let src =
        "extern char buf[]; char *f(void) { return buf; } long g(long i) { return (long)&buf[i]; }";
    let Some(bytes) = compile(&dir, "abs.c", src, &["-fno-pic", "-mcmodel=small"]) else {
        return;
    };
    let m = read_elf_object("abs.o", &bytes).unwrap();
    let kinds: Vec<RelocKind> = m
        .sections
        .iter()
        .flat_map(|s| s.relocations.iter())
        .map(|r| r.kind)
        .collect();
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, RelocKind::Abs32 | RelocKind::Abs32S)),
        "{kinds:?}"
    );
}

#[test]
fn thread_locals_are_not_supported_yet() {
    let dir = work_dir("tls");
    let Some(bytes) = compile(
        &dir,
        "tls.c",
        "__thread int t; int f(void) { return t; }",
        &[],
    ) else {
        return;
    };
    let err = read_elf_object("tls.o", &bytes).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("tls.o: ")
            && msg.contains("thread-local")
            && msg.contains("not supported yet"),
        "{msg}"
    );
}

#[test]
fn unsupported_relocation_type_is_named() {
    let dir = work_dir("pc64");
    let asm = ".text\n.globl f\nf: ret\n.data\n.quad f - .\n";
    let Some(bytes) = compile(&dir, "pc64.s", asm, &[]) else {
        return;
    };
    let err = read_elf_object("pc64.o", &bytes).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("R_X86_64_PC64 (24)") && msg.contains(".data"),
        "{msg}"
    );
}

#[test]
fn malformed_and_foreign_files_are_errors() {
    for (bytes, want) in [
        (&b"\x7fELF"[..], "malformed ELF"),
        (
            &b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00"[..],
            "malformed ELF",
        ),
        (&b"\x7fELF\x01\x01\x01"[..], "32-bit"),
        (&b"hello world"[..], "unknown file format"),
        (&b"!<arch>\n"[..], "archives"),
        (&b"MZ\x90\x00"[..], "PE images"),
    ] {
        let err = read_file("f.bin", bytes).unwrap_err();
        assert!(matches!(err, LinkError::Input { .. }), "{err:?}");
        assert!(err.to_string().contains(want), "{err} (wanted {want})");
        assert!(err.to_string().starts_with("f.bin: "));
    }
}

#[test]
fn corrupted_objects_never_panic() {
    let dir = work_dir("corrupt");
    let Some(bytes) = compile(&dir, "sample.c", SAMPLE_C, &[]) else {
        return;
    };
    let mut ok = 0;
    let try_one = |data: &[u8]| -> bool {
        match read_elf_object("c.o", data) {
            Ok(m) => {
                // Linking a damaged module may fail, but must not panic either.
                let _ = link(
                    vec![m],
                    &LinkOptions {
                        target: Target::LinuxX64,
                        entry: "entry".into(),
                    },
                );
                true
            }
            Err(_) => false,
        }
    };
    for len in (0..bytes.len()).step_by(13) {
        ok += try_one(&bytes[..len]) as u32;
    }
    let mut state = 0x2545F4914F6CDD1Du64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut data = bytes.clone();
        for k in 0..4 {
            let pos = ((state >> (k * 16)) as usize) % data.len();
            data[pos] ^= 1 << ((state >> (k * 3 + 50)) & 7);
        }
        ok += try_one(&data) as u32;
    }
    assert!(ok > 0, "some corruptions leave a readable object");
    assert!(try_one(&bytes));
}
