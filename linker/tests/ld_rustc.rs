//! meteor-ld linking programs built by rustc (std, threads, `catch_unwind` over an
//! unwinding panic, collections):
//! - Linux: rustc links through `cc` with `-B <dir>` whose `ld` is meteor-ld (rustc's own
//!   `rust-lld` switched off with `-C linker-features=-lld -C link-self-contained=-linker`),
//!   dynamic PIE and static-pie, compared with the same program linked by GNU ld;
//! - Windows (`x86_64-pc-windows-gnu`): rustc links through MinGW gcc (the GNU-ld
//!   reference); meteor-ld gets the argument list that gcc passes to its ld (`gcc -###`),
//!   and both executables run under Wine. Rust's std imports `ProcessPrng` from
//!   `bcryptprimitives.dll`, which this Wine lacks: a tiny MinGW DLL exporting it
//!   (forwarding to advapi32's `SystemFunction036`) is placed beside the executables.
//!
//! The Rust program is compiled once per target. Tests skip with a message when a tool is
//! missing and fail when `CI` is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const LD: &str = env!("CARGO_BIN_EXE_meteor-ld");

const PROGRAM: &str = r#"
use std::collections::BTreeMap;
use std::panic;
use std::sync::{Arc, Mutex};
use std::thread;

fn risky(v: &[u32]) -> u32 {
    if v.is_empty() {
        panic!("boom {}", v.len() + 7);
    }
    v[0]
}

fn main() {
    let total = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            let t = Arc::clone(&total);
            thread::spawn(move || {
                *t.lock().unwrap() += i * 10;
                i
            })
        })
        .collect();
    let ids: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    panic::set_hook(Box::new(|_| {}));
    let r = panic::catch_unwind(|| risky(&[]));
    let msg = r
        .unwrap_err()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    let in_thread = thread::spawn(|| risky(&[])).join().is_err();
    let m: BTreeMap<String, usize> = ["a", "bb", "ccc"]
        .iter()
        .map(|s| (s.to_string(), s.len()))
        .collect();
    println!(
        "total {} ids {} caught '{}' thread panicked {} map {:?}",
        *total.lock().unwrap(),
        ids,
        msg,
        in_thread,
        m
    );
    std::process::exit(3);
}
"#;

const EXPECTED: &str =
    "total 60 ids 6 caught 'boom 7' thread panicked true map {\"a\": 1, \"bb\": 2, \"ccc\": 3}\n";

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())
}

fn works(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

fn skip(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "required when CI is set: {what}"
    );
    eprintln!("skipping: {what} not available");
}

fn check(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A Rust std program linked by meteor-ld as `cc`'s `ld`, dynamic PIE and static-pie.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn rust_std_program_on_linux() {
    if !works(Command::new(rustc()).arg("--version")) || !works(Command::new("cc").arg("--version"))
    {
        skip("rustc and cc");
        return;
    }
    let dir = fresh_dir("ld-rustc-linux");
    let src = dir.join("prog.rs");
    std::fs::write(&src, PROGRAM).unwrap();
    // `<bin>/ld`: meteor-ld, leaving a mark so the test knows it ran.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mark = dir.join("meteor-ld-ran");
    write_script(
        &bin.join("ld"),
        &format!(
            "#!/bin/sh\ntouch '{}'\nexec '{LD}' \"$@\"\n",
            mark.display()
        ),
    );
    let build = |out: &Path, ours: bool, crt_static: bool| {
        let mut c = Command::new(rustc());
        c.arg("--edition=2021")
            .args(["-C", "opt-level=1", "-C", "linker=cc"])
            .args([
                "-C",
                "linker-features=-lld",
                "-C",
                "link-self-contained=-linker",
            ])
            .arg(&src)
            .arg("-o")
            .arg(out)
            .current_dir(&dir);
        if crt_static {
            c.args(["-C", "target-feature=+crt-static"]);
        }
        if ours {
            c.arg("-C").arg(format!("link-arg=-B{}", bin.display()));
        }
        check(&mut c);
    };
    for crt_static in [false, true] {
        let tag = if crt_static { "static" } else { "dynamic" };
        let reference = dir.join(format!("prog.{tag}.ref"));
        let ours = dir.join(format!("prog.{tag}.meteor"));
        build(&reference, false, crt_static);
        let _ = std::fs::remove_file(&mark);
        build(&ours, true, crt_static);
        assert!(mark.exists(), "meteor-ld was not run by cc");
        let run = |p: &Path| {
            let o = Command::new(p).output().unwrap();
            (
                String::from_utf8_lossy(&o.stdout).into_owned(),
                o.status.code(),
            )
        };
        let want = run(&reference);
        assert_eq!(want, (EXPECTED.to_string(), Some(3)), "GNU-ld reference");
        assert_eq!(run(&ours), want, "meteor-ld ({tag})");
        let bytes = std::fs::read(&ours).unwrap();
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        assert_eq!(elf.header.e_type, goblin::elf::header::ET_DYN);
        assert_eq!(elf.interpreter.is_none(), crt_static, "{tag}");
        assert!(
            elf.program_headers
                .iter()
                .any(|p| p.p_type == goblin::elf::program_header::PT_GNU_EH_FRAME)
        );
    }
}

const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
const GCC_DLL_DIR: &str = "/usr/lib/gcc/x86_64-w64-mingw32/12-win32";

const PROCESS_PRNG_C: &str = r#"
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
"#;

fn wine() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("METEOR_WINE") {
        return Some(PathBuf::from(p));
    }
    ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn windows_gnu_std_installed() -> bool {
    Command::new(rustc())
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|s| s.join("lib/rustlib/x86_64-pc-windows-gnu/lib").is_dir())
}

/// A Rust std program for `x86_64-pc-windows-gnu` linked by meteor-ld with the MinGW
/// argument list, run under Wine against the GNU-ld-linked reference.
#[cfg(unix)]
#[test]
fn rust_std_program_for_windows_gnu() {
    let Some(wine) = wine() else {
        skip("wine64");
        return;
    };
    if !works(Command::new(MINGW_GCC).arg("--version")) {
        skip(MINGW_GCC);
        return;
    }
    if !windows_gnu_std_installed() {
        skip("the Rust target x86_64-pc-windows-gnu (rustup target add x86_64-pc-windows-gnu)");
        return;
    }
    let dir = fresh_dir("ld-rustc-windows");
    std::fs::write(dir.join("prog.rs"), PROGRAM).unwrap();
    // rustc's linker: MinGW gcc (the reference, GNU ld), recording what gcc passes to ld.
    let hash = dir.join("gcc-hash.txt");
    let wrapper = dir.join("mingw-cc");
    write_script(
        &wrapper,
        &format!(
            "#!/bin/sh\n{MINGW_GCC} \"$@\" -### 2> '{}' || exit 1\nexec {MINGW_GCC} \"$@\"\n",
            hash.display()
        ),
    );
    // `-C save-temps` keeps rustc's object files for meteor-ld's link afterwards.
    check(
        Command::new(rustc())
            .args(["--edition=2021", "--target", "x86_64-pc-windows-gnu"])
            .args(["-C", "opt-level=1", "-C", "save-temps"])
            .arg("-C")
            .arg(format!("linker={}", wrapper.display()))
            .args(["prog.rs", "-o", "prog.ref.exe"])
            .current_dir(&dir),
    );
    let text = std::fs::read_to_string(&hash).unwrap();
    let line = text
        .lines()
        .rfind(|l| l.contains("collect2"))
        .expect("no collect2 line in gcc -###");
    let mut args: Vec<String> = common::split_words(line).into_iter().skip(1).collect();
    let o = args.iter().position(|a| a == "-o").expect("-o");
    args[o + 1] = "prog.meteor.exe".into();
    check(Command::new(LD).args(&args).current_dir(&dir));

    // Wine has no bcryptprimitives.dll: a stand-in beside the executables.
    std::fs::write(dir.join("prng.c"), PROCESS_PRNG_C).unwrap();
    check(
        Command::new(MINGW_GCC)
            .args(["-O1", "-shared", "-o", "bcryptprimitives.dll", "prng.c"])
            .arg("-ladvapi32")
            .current_dir(&dir),
    );

    let bytes = std::fs::read(dir.join("prog.meteor.exe")).unwrap();
    let pe = goblin::pe::PE::parse(&bytes).unwrap();
    assert!(pe.is_64 && !pe.is_lib);
    assert!(
        pe.imports
            .iter()
            .any(|i| i.name == "ProcessPrng" && i.dll.eq_ignore_ascii_case("bcryptprimitives.dll")),
        "{:?}",
        pe.libraries
    );
    assert!(pe.exception_data.is_some(), "exception directory");

    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wineprefix");
    let run = |exe: &str| {
        let o = Command::new(&wine)
            .arg(exe)
            .env("WINEDEBUG", "-all")
            .env("WINEPREFIX", &prefix)
            .env("WINEPATH", GCC_DLL_DIR)
            .current_dir(&dir)
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n"),
            o.status.code(),
        )
    };
    let want = run("prog.ref.exe");
    assert_eq!(want, (EXPECTED.to_string(), Some(3)), "GNU-ld reference");
    assert_eq!(run("prog.meteor.exe"), want, "meteor-ld");
}
