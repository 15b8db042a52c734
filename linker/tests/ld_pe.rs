//! meteor-ld as MinGW's ld: C and C++ programs built by x86_64-w64-mingw32-gcc/g++, linked
//! by meteor-ld with the argument list gcc would pass to its own ld (`gcc -###`), run under
//! Wine and compared with the GNU-ld-linked reference (output and exit code); goblin checks
//! on the images. Skipped with a message when mingw or Wine is missing, failed when `CI` is
//! set.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const GCC: &str = "x86_64-w64-mingw32-gcc";
const GXX: &str = "x86_64-w64-mingw32-g++";
const GCC_DLL_DIR: &str = "/usr/lib/gcc/x86_64-w64-mingw32/12-win32";

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn wine() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("METEOR_WINE") {
        return Some(PathBuf::from(p));
    }
    ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Whether the toolchain is here; otherwise skip (or fail under CI).
fn tools_present(need_gxx: bool, need_wine: bool) -> bool {
    let mut missing = Vec::new();
    if !have(GCC) {
        missing.push(GCC);
    }
    if need_gxx && !have(GXX) {
        missing.push(GXX);
    }
    if need_wine && wine().is_none() {
        missing.push("wine64");
    }
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "required in CI: {missing:?} (Debian: g++-mingw-w64-x86-64, wine64)"
    );
    eprintln!("skipping: {missing:?} not found");
    false
}

fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ld_pe");
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The arguments gcc would pass to its ld (the collect2 line of `-###`, program dropped).
fn ld_args(driver: &str, args: &[&str]) -> Vec<String> {
    let out = run(Command::new(driver)
        .args(args)
        .arg("-###")
        .current_dir(work_dir()));
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .rfind(|l| l.contains("collect2"))
        .expect("no collect2 line in gcc -###");
    common::split_words(line).into_iter().skip(1).collect()
}

/// Links with meteor-ld using the argument list `driver args…` would use.
fn meteor_link(driver: &str, args: &[&str]) -> Result<(), String> {
    let ld = ld_args(driver, args);
    let out = Command::new(env!("CARGO_BIN_EXE_meteor-ld"))
        .args(&ld)
        .current_dir(work_dir())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs an exe under Wine in the work dir; (exit code, stdout).
fn wine_run(exe: &str) -> (i32, String) {
    let wine = wine().expect("wine");
    let prefix = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wineprefix");
    let out = Command::new(wine)
        .arg(exe)
        .env("WINEDEBUG", "-all")
        .env("WINEPREFIX", prefix)
        .env("WINEPATH", GCC_DLL_DIR)
        .current_dir(work_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
    )
}

fn write_source(name: &str, text: &str) {
    std::fs::write(work_dir().join(name), text).unwrap();
}

const TLS_C: &str = r#"
#include <stdio.h>
#include <windows.h>
static __thread int counter = 5;
static volatile LONG attaches, detaches;
static void NTAPI cb(PVOID h, DWORD reason, PVOID r) {
    if (reason == DLL_THREAD_ATTACH) InterlockedIncrement(&attaches);
    if (reason == DLL_THREAD_DETACH) InterlockedIncrement(&detaches);
}
__attribute__((section(".CRT$XLB"), used)) PIMAGE_TLS_CALLBACK p_cb = cb;
static DWORD WINAPI work(LPVOID arg) { for (int i = 0; i < 1000; i++) counter++; return counter; }
int main(void) {
    HANDLE t[4]; DWORD codes[4];
    for (int i = 0; i < 4; i++) t[i] = CreateThread(0, 0, work, 0, 0, 0);
    WaitForMultipleObjects(4, t, TRUE, INFINITE);
    for (int i = 0; i < 4; i++) { GetExitCodeThread(t[i], &codes[i]); CloseHandle(t[i]); }
    printf("codes %lu %lu %lu %lu main %d\n", codes[0], codes[1], codes[2], codes[3], counter);
    printf("callbacks: attach>=4 %d detach>=4 %d\n", attaches >= 4, detaches >= 4);
    return 7;
}
"#;

const CPP: &str = r#"
#include <cstdio>
#include <map>
#include <string>
#include <stdexcept>
struct Init { int v; Init() : v(42) { std::printf("static ctor\n"); } ~Init() { std::printf("static dtor\n"); } };
static Init init;
static int thrower(int x) { if (x > 2) throw std::runtime_error("too big: " + std::to_string(x)); return x; }
int main() {
    std::map<std::string, int> m;
    for (int i = 0; i < 5; i++) m["k" + std::to_string(i)] = i * i;
    int sum = 0;
    for (auto &kv : m) sum += kv.second;
    std::printf("map size %zu sum %d init %d\n", m.size(), sum, init.v);
    try { for (int i = 0; i < 5; i++) thrower(i); } catch (const std::exception &e) { std::printf("caught %s\n", e.what()); }
    try { throw 17; } catch (int v) { std::printf("caught int %d\n", v); }
    return 11;
}
"#;

const LIB_C: &str = r#"
__declspec(dllexport) int shared_value = 100;
__declspec(dllexport) int add(int a, int b) { return a + b + shared_value; }
int helper_not_exported(void) { return 1; }
"#;

const USE_DLL_C: &str = r#"
#include <stdio.h>
__declspec(dllimport) extern int shared_value;
int add(int a, int b);
int main(void) { printf("add %d\n", add(1, 2)); shared_value = 1; printf("add %d\n", add(1, 2)); return 5; }
"#;

/// `extern int shared_value` without dllimport: MinGW auto-import (pseudo-relocation).
const AUTO_IMPORT_C: &str = r#"
#include <stdio.h>
extern int shared_value;
int add(int a, int b);
int main(void) { printf("auto %d\n", add(1, 2) + shared_value); return 6; }
"#;

/// Compiles the fixtures once.
fn fixtures() -> bool {
    static BUILT: OnceLock<bool> = OnceLock::new();
    *BUILT.get_or_init(|| {
        if !tools_present(true, false) {
            return false;
        }
        write_source("tls.c", TLS_C);
        write_source("cpp.cpp", CPP);
        write_source("lib.c", LIB_C);
        write_source("use_dll.c", USE_DLL_C);
        write_source("auto_import.c", AUTO_IMPORT_C);
        let d = work_dir();
        for (driver, src, obj) in [
            (GCC, "tls.c", "tls.o"),
            (GXX, "cpp.cpp", "cpp.o"),
            (GCC, "lib.c", "lib.o"),
            (GCC, "use_dll.c", "use_dll.o"),
            (GCC, "auto_import.c", "auto_import.o"),
        ] {
            run(Command::new(driver)
                .args(["-O1", "-c", src, "-o", obj])
                .current_dir(d));
        }
        true
    })
}

/// Links `args` with GNU ld (reference) and meteor-ld, runs both, compares.
fn compare(driver: &str, args: &[&str], exe: &str) -> (i32, String) {
    let reference = format!("ref_{exe}");
    let mut ref_args: Vec<&str> = args.to_vec();
    ref_args.extend(["-o", &reference]);
    run(Command::new(driver).args(&ref_args).current_dir(work_dir()));
    let mut m_args: Vec<&str> = args.to_vec();
    m_args.extend(["-o", exe]);
    meteor_link(driver, &m_args).unwrap_or_else(|e| panic!("meteor-ld failed for {exe}:\n{e}"));
    if !tools_present(false, true) {
        return (0, String::new());
    }
    let expected = wine_run(&reference);
    let got = wine_run(exe);
    assert_eq!(
        got, expected,
        "{exe}: meteor-ld output differs from GNU ld's"
    );
    got
}

fn image(name: &str) -> Vec<u8> {
    std::fs::read(work_dir().join(name)).unwrap()
}

fn check_image(bytes: &[u8], dll: bool) -> goblin::pe::PE<'_> {
    let pe = goblin::pe::PE::parse(bytes).expect("goblin parses the image");
    assert!(pe.is_64);
    assert_eq!(pe.is_lib, dll);
    let oh = pe.header.optional_header.expect("optional header");
    assert_eq!(oh.windows_fields.section_alignment, 0x1000);
    assert_eq!(oh.windows_fields.file_alignment, 0x200);
    let dc = oh.windows_fields.dll_characteristics;
    assert_ne!(dc & 0x0040, 0, "DYNAMIC_BASE");
    assert_ne!(dc & 0x0100, 0, "NX_COMPAT");
    assert_ne!(dc & 0x0020, 0, "HIGH_ENTROPY_VA");
    for s in &pe.sections {
        let name = s.name().unwrap_or("");
        let c = s.characteristics;
        let (x, w) = (c & 0x2000_0000 != 0, c & 0x8000_0000 != 0);
        assert!(!(x && w), "section {name} is writable and executable");
        match name {
            ".text" => assert!(x && !w),
            ".rdata" | ".pdata" | ".xdata" | ".edata" | ".reloc" => assert!(!x && !w, "{name}"),
            ".data" | ".bss" | ".idata" | ".CRT" | ".tls" => assert!(w && !x, "{name}"),
            other => panic!("unexpected output section {other}"),
        }
    }
    // Base relocations: DIR64 blocks that parse and lie inside the image.
    let reloc = oh
        .data_directories
        .get_base_relocation_table()
        .expect("base relocations");
    assert!(reloc.size >= 12);
    assert!(
        pe.sections
            .iter()
            .any(|s| s.name().unwrap_or("") == ".reloc"
                && s.virtual_address == reloc.virtual_address)
    );
    pe
}

#[test]
fn c_threads_tls_callbacks_run_like_gnu_ld() {
    if !fixtures() {
        return;
    }
    let (code, out) = compare(GCC, &["tls.o"], "tls.exe");
    if !out.is_empty() {
        assert_eq!(code, 7);
        assert!(out.contains("codes 1005 1005 1005 1005 main 5"), "{out}");
        assert!(out.contains("attach>=4 1 detach>=4 1"), "{out}");
    }
    let bytes = image("tls.exe");
    let pe = check_image(&bytes, false);
    let dlls: Vec<String> = pe
        .libraries
        .iter()
        .map(|l| l.to_ascii_lowercase())
        .collect();
    assert!(dlls.contains(&"kernel32.dll".to_string()), "{dlls:?}");
    assert!(dlls.contains(&"msvcrt.dll".to_string()), "{dlls:?}");
    assert!(pe.imports.iter().any(|i| i.name == "CreateThread"));
    // TLS directory from `_tls_used`, with the CRT's callback and ours.
    let tls = pe.tls_data.as_ref().expect("TLS directory");
    assert!(tls.callbacks.len() >= 2, "callbacks: {:?}", tls.callbacks);
    let oh = pe.header.optional_header.unwrap();
    let base = oh.windows_fields.image_base;
    let text = pe
        .sections
        .iter()
        .find(|s| s.name().unwrap() == ".text")
        .unwrap();
    for &cb in &tls.callbacks {
        let rva = cb - base;
        assert!(
            rva >= text.virtual_address as u64
                && rva < (text.virtual_address + text.virtual_size) as u64,
            "callback {cb:#x} outside .text"
        );
    }
    assert!(oh.data_directories.get_exception_table().is_some());
}

#[test]
fn cpp_exceptions_map_static_ctors_dynamic_and_static() {
    if !fixtures() {
        return;
    }
    for (args, exe) in [
        (&["cpp.o"][..], "cpp.exe"),
        (&["-static", "cpp.o"][..], "cpp_static.exe"),
    ] {
        let (code, out) = compare(GXX, args, exe);
        if !out.is_empty() {
            assert_eq!(code, 11);
            assert_eq!(
                out,
                "static ctor\nmap size 5 sum 30 init 42\ncaught too big: 3\ncaught int 17\nstatic dtor\n"
            );
        }
        let bytes = image(exe);
        let pe = check_image(&bytes, false);
        let dlls: Vec<String> = pe
            .libraries
            .iter()
            .map(|l| l.to_ascii_lowercase())
            .collect();
        assert_eq!(
            dlls.contains(&"libstdc++-6.dll".to_string()),
            exe == "cpp.exe",
            "{dlls:?}"
        );
        // `.pdata` sorted by function start.
        let pdata = pe.exception_data.as_ref().expect("exception data");
        let starts: Vec<u32> = pdata
            .functions()
            .map(|f| f.unwrap().begin_address)
            .collect();
        assert!(starts.len() > 10);
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    }
}

#[test]
fn dll_with_exports_and_import_library() {
    if !fixtures() {
        return;
    }
    meteor_link(
        GCC,
        &[
            "-shared",
            "lib.o",
            "-o",
            "mylib.dll",
            "-Wl,--out-implib,libmylib.dll.a",
        ],
    )
    .unwrap();
    let bytes = image("mylib.dll");
    let pe = check_image(&bytes, true);
    let mut names: Vec<&str> = pe.exports.iter().filter_map(|e| e.name).collect();
    names.sort();
    assert_eq!(names, ["add", "shared_value"]);
    assert_eq!(pe.name, Some("mylib.dll"));
    // The import library: short import objects with X and __imp_X.
    let lib = image("libmylib.dll.a");
    let ar = goblin::archive::Archive::parse(&lib).unwrap();
    let syms = ar.summarize();
    let all: Vec<&str> = syms
        .iter()
        .flat_map(|(_, _, s)| s.iter().copied())
        .collect();
    for s in ["add", "__imp_add", "__imp_shared_value"] {
        assert!(all.contains(&s), "{all:?}");
    }
    // EXEs using it through the import library, by auto-import, and by naming the DLL.
    meteor_link(GCC, &["use_dll.o", "-L.", "-lmylib", "-o", "use_dll.exe"]).unwrap();
    meteor_link(GCC, &["auto_import.o", "-L.", "-lmylib", "-o", "auto.exe"]).unwrap();
    meteor_link(
        GCC,
        &["auto_import.o", "mylib.dll", "-o", "auto_direct.exe"],
    )
    .unwrap();
    let auto = image("auto.exe");
    let pe = check_image(&auto, false);
    assert!(
        pe.libraries
            .iter()
            .any(|l| l.eq_ignore_ascii_case("mylib.dll"))
    );
    if !tools_present(false, true) {
        return;
    }
    assert_eq!(wine_run("use_dll.exe"), (5, "add 103\nadd 4\n".into()));
    assert_eq!(wine_run("auto.exe"), (6, "auto 203\n".into()));
    assert_eq!(wine_run("auto_direct.exe"), (6, "auto 203\n".into()));
}

#[test]
fn bad_inputs_are_clear_errors() {
    if !fixtures() {
        return;
    }
    let obj = image("lib.o");
    // Truncations and bit flips of a real object never panic the reader or the linker.
    for cut in (0..obj.len()).step_by(37) {
        let _ = meteor_linker::coff::input::read_object("cut.o", &obj[..cut]);
    }
    let mut state = 0x1234_5678u64;
    for _ in 0..2000 {
        let mut b = obj.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % b.len() as u64) as usize;
            b[i] ^= 1 << ((state >> 60) as u8 % 8);
        }
        let _ = meteor_linker::coff::input::read_object("flip.o", &b);
    }
    // Unknown relocation type: find `add`'s REL32 in use_dll.o and change its type.
    let mut bad = image("use_dll.o");
    let nsec = u16::from_le_bytes([bad[2], bad[3]]) as usize;
    let mut patched = false;
    for i in 0..nsec {
        let h = 20 + 40 * i;
        let ptr = u32::from_le_bytes(bad[h + 24..h + 28].try_into().unwrap()) as usize;
        let n = u16::from_le_bytes([bad[h + 32], bad[h + 33]]) as usize;
        if n > 0 {
            bad[ptr + 8] = 0x77;
            patched = true;
            break;
        }
    }
    assert!(patched);
    std::fs::write(work_dir().join("bad_reloc.o"), &bad).unwrap();
    let e = meteor_link(GCC, &["bad_reloc.o", "lib.o", "-o", "bad.exe"]).unwrap_err();
    assert!(
        e.contains("bad_reloc.o") && e.contains("unknown relocation type 0x77"),
        "{e}"
    );
    // Unresolved: `add` without the library.
    let e = meteor_link(GCC, &["use_dll.o", "-o", "undef.exe"]).unwrap_err();
    assert!(
        e.contains("undefined symbol `add`") && e.contains("use_dll.o"),
        "{e}"
    );
    // Duplicate: lib.o twice.
    let e = meteor_link(GCC, &["-shared", "lib.o", "lib.o", "-o", "dup.dll"]).unwrap_err();
    assert!(e.contains("duplicate symbol `add`"), "{e}");
    // Not an object at all.
    std::fs::write(work_dir().join("junk.o"), b"this is not an object").unwrap();
    let e = meteor_link(GCC, &["junk.o", "-o", "junk.exe"]).unwrap_err();
    assert!(e.contains("junk.o"), "{e}");
    // Unknown options name themselves.
    let out = Command::new(env!("CARGO_BIN_EXE_meteor-ld"))
        .args(["-m", "i386pep", "--frobnicate", "x.o"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--frobnicate"));
}

/// An object with `start` (the entry: `call f; ret`) and/or a COMDAT `f` of `body`.
fn comdat_obj(
    name: &str,
    with_start: bool,
    selection: u8,
    body: &[u8],
) -> meteor_linker::coff::ObjFile {
    use meteor_linker::coff::{CLASS_EXTERNAL, CLASS_STATIC, Comdat, ObjFile, input};
    let mut o = ObjFile::new(name);
    let f = o.add_section(
        ".text$f",
        input::CODE | input::SCN_LNK_COMDAT,
        16,
        body.to_vec(),
    );
    o.sections[f as usize - 1].comdat = Some(Comdat::Select(selection));
    o.add_symbol(".text$f", f, 0, CLASS_STATIC);
    let fs = o.add_symbol("f", f, 0, CLASS_EXTERNAL);
    if with_start {
        let t = o.add_section(".text", input::CODE, 16, vec![0xE8, 0, 0, 0, 0, 0xC3]);
        o.add_symbol("start", t, 0, CLASS_EXTERNAL);
        o.add_reloc(t, 1, fs, input::IMAGE_REL_AMD64_REL32);
    }
    o
}

fn link_objs(objs: Vec<meteor_linker::coff::ObjFile>) -> Result<Vec<u8>, meteor_linker::LinkError> {
    use meteor_linker::coff::{self, args::Input};
    let cfg = coff::Config {
        entry: Some("start".into()),
        inputs: objs
            .into_iter()
            .map(|o| Input::Object(Box::new(o)))
            .collect(),
        ..coff::Config::default()
    };
    coff::link(&cfg)
}

#[test]
fn comdat_selection_rules() {
    let small = [0x90u8, 0xC3];
    let large = [0x90u8, 0x90, 0x90, 0x90, 0xCC, 0xC3];
    // any: the first copy wins, the second is dropped (one `f` in .text).
    let any = link_objs(vec![
        comdat_obj("a.o", true, 2, &large),
        comdat_obj("b.o", false, 2, &small),
    ])
    .unwrap();
    assert!(any.windows(6).any(|w| w == large));
    // largest: the bigger copy wins even when it comes second.
    let largest = link_objs(vec![
        comdat_obj("a.o", true, 6, &small),
        comdat_obj("b.o", false, 6, &large),
    ])
    .unwrap();
    assert!(largest.windows(6).any(|w| w == large));
    // no-duplicates: an error naming the symbol and both files.
    let e = link_objs(vec![
        comdat_obj("a.o", true, 1, &small),
        comdat_obj("b.o", false, 1, &small),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`f`") && e.contains("a.o") && e.contains("b.o"),
        "{e}"
    );
    // same-size: equal sizes link (first copy kept); different sizes conflict.
    let other = [0xCCu8, 0xC3];
    let same_size = link_objs(vec![
        comdat_obj("a.o", true, 3, &small),
        comdat_obj("b.o", false, 3, &other),
    ])
    .unwrap();
    assert!(same_size.windows(2).any(|w| w == small));
    let e = link_objs(vec![
        comdat_obj("a.o", true, 3, &small),
        comdat_obj("b.o", false, 3, &large),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("`f`") && e.contains("b.o"), "{e}");
    // exact-match: identical copies link; same size but other bytes conflict.
    link_objs(vec![
        comdat_obj("a.o", true, 4, &small),
        comdat_obj("b.o", false, 4, &small),
    ])
    .unwrap();
    let e = link_objs(vec![
        comdat_obj("a.o", true, 4, &small),
        comdat_obj("b.o", false, 4, &other),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("`f`") && e.contains("b.o"), "{e}");
    // Undefined entry: named.
    let e = link_objs(vec![comdat_obj("b.o", false, 2, &small)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("start"), "{e}");
}

/// `-Map FILE` (as gcc passes `-Wl,-Map,FILE`): output sections, input sections with their
/// files and addresses, and the global symbols at their addresses.
#[test]
fn map_file_lists_sections_and_symbols() {
    if !fixtures() {
        return;
    }
    let map = work_dir().join("tls.map");
    let _ = std::fs::remove_file(&map);
    meteor_link(GCC, &["tls.o", "-Wl,-Map,tls.map", "-o", "tls_map.exe"])
        .unwrap_or_else(|e| panic!("meteor-ld failed:\n{e}"));
    let text = std::fs::read_to_string(&map).expect("map file written");
    let bytes = image("tls_map.exe");
    let pe = goblin::pe::PE::parse(&bytes).unwrap();
    let line_of = |needle: &str| {
        text.lines()
            .find(|l| l.ends_with(needle))
            .unwrap_or_else(|| {
                panic!(
                    "no `{needle}` in the map:\n{}",
                    &text[..text.len().min(3000)]
                )
            })
    };
    // Output sections, the fixture's input section, and `main` inside `.text`.
    let text_out = line_of(" .text");
    let tls_in = line_of("tls.o:(.text)");
    let main_line = line_of(" main");
    let addr = |l: &str| u64::from_str_radix(l.split_whitespace().next().unwrap(), 16).unwrap();
    let oh = pe.header.optional_header.unwrap();
    let image_base = oh.windows_fields.image_base;
    let text_sec = pe
        .sections
        .iter()
        .find(|s| s.name().unwrap_or("") == ".text")
        .unwrap();
    assert_eq!(addr(text_out), image_base + text_sec.virtual_address as u64);
    assert!(addr(tls_in) >= addr(text_out));
    assert!(addr(main_line) >= addr(tls_in));
    assert_eq!(
        addr(line_of(" mainCRTStartup")),
        image_base + oh.standard_fields.address_of_entry_point as u64
    );
    assert!(text.lines().any(|l| l.ends_with(" .idata")));
}
