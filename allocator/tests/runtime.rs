//! The runtime libraries at work: the static library linked into a C program by the system
//! `cc`; `LD_PRELOAD=libmeteor_alloc.so` under real programs (a threaded C program, fork,
//! Python, gcc compiling a file, sort of a large file) whose output must be identical to
//! the run without it; and, when MinGW, Rust's windows-gnu target and Wine are present,
//! the Windows DLL and static (TLS-callback) library under Wine.
//!
//! The libraries are built here with `cargo rustc --crate-type ...` exactly as
//! `cargo xtask runtime` does, into this test's own target directory.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn work_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("meteor-alloc-runtime");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Builds one runtime form; returns the directory holding its outputs.
fn build(triple: &str, crate_type: &str, features: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let build_dir = work_dir().join(format!(
        "build-{triple}-{crate_type}-{}",
        features.replace(',', "-")
    ));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(crate_dir())
        .env("CARGO_TARGET_DIR", &build_dir)
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .args([
            "rustc",
            "-p",
            "meteor-alloc",
            "--lib",
            "--release",
            "--target",
            triple,
            "--crate-type",
            crate_type,
        ])
        .args(["--features", features, "--", "-C", "panic=abort"])
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "building the runtime failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    build_dir.join(triple).join("release")
}

fn linux_so() -> &'static Path {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| {
        build("x86_64-unknown-linux-gnu", "cdylib", "override,runtime").join("libmeteor_alloc.so")
    })
}

fn linux_static() -> &'static Path {
    static A: OnceLock<PathBuf> = OnceLock::new();
    A.get_or_init(|| {
        build("x86_64-unknown-linux-gnu", "staticlib", "override,runtime").join("libmeteor_alloc.a")
    })
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` without and with the preloaded allocator; both must succeed with identical
/// standard output. A third run with statistics proves the library was really loaded.
fn same_with_preload(mut make: impl FnMut() -> Command, what: &str) -> Vec<u8> {
    let plain = run(&mut make());
    assert_ok(&plain, what);
    let pre = run(make().env("LD_PRELOAD", linux_so()));
    assert_ok(&pre, &format!("{what} with LD_PRELOAD"));
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout),
        String::from_utf8_lossy(&pre.stdout),
        "{what}: output differs with LD_PRELOAD"
    );
    let stats = run(make()
        .env("LD_PRELOAD", linux_so())
        .env("METEOR_ALLOC_STATS", "1"));
    assert_ok(&stats, &format!("{what} with LD_PRELOAD and statistics"));
    let err = String::from_utf8_lossy(&stats.stderr);
    assert!(
        err.contains("meteor-alloc statistics"),
        "{what}: the preloaded allocator did not report:\n{err}"
    );
    pre.stdout
}

fn cc_program(name: &str, extra: &[&str]) -> PathBuf {
    let exe = work_dir().join(format!(
        "{name}{}",
        extra.join("").replace(['/', '.', '-'], "_")
    ));
    let src = crate_dir().join("tests/c").join(format!("{name}.c"));
    let out = run(Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(extra)
        .arg("-lpthread"));
    assert_ok(&out, &format!("cc {name}.c"));
    exe
}

#[test]
fn static_library_in_a_c_program() {
    let include = crate_dir().join("include");
    let exe = work_dir().join("threads-static");
    let out = run(Command::new("cc")
        .args(["-O2", "-DMT_CHECKS", "-I"])
        .arg(&include)
        .arg(crate_dir().join("tests/c/threads.c"))
        .arg(linux_static())
        .args(["-lpthread", "-o"])
        .arg(&exe));
    assert_ok(&out, "cc with libmeteor_alloc.a");
    let got = run(&mut Command::new(&exe));
    assert_ok(&got, "the statically linked program");
    let text = String::from_utf8_lossy(&got.stdout);
    assert!(
        text.contains("init_mode=2"),
        "the .init_array constructor ran:\n{text}"
    );
    let plain = run(&mut Command::new(cc_program("threads", &[])));
    assert_ok(&plain, "the program on glibc malloc");
    assert_eq!(
        text.lines().next(),
        String::from_utf8_lossy(&plain.stdout).lines().next(),
        "same result as with glibc's malloc"
    );
}

#[test]
fn static_library_in_a_fully_static_executable() {
    // `cc -static`: no dynamic loader; the TLS slot is resolved at link time (local exec)
    // and the library's malloc family wins over libc.a's.
    let exe = work_dir().join("threads-fullstatic");
    let out = run(Command::new("cc")
        .args(["-static", "-O2", "-DMT_CHECKS", "-I"])
        .arg(crate_dir().join("include"))
        .arg(crate_dir().join("tests/c/threads.c"))
        .arg(linux_static())
        .args(["-lpthread", "-o"])
        .arg(&exe));
    assert_ok(&out, "cc -static with libmeteor_alloc.a");
    let got = run(&mut Command::new(&exe));
    assert_ok(&got, "the fully static program");
    let text = String::from_utf8_lossy(&got.stdout);
    assert!(
        text.contains("init_mode=2") && text.contains("aligned=1"),
        "{text}"
    );
}

#[test]
fn preload_threaded_c_program() {
    let exe = cc_program("threads", &[]);
    let out = same_with_preload(|| Command::new(&exe), "threads.c");
    assert!(String::from_utf8_lossy(&out).contains("aligned=1"));
}

#[test]
fn preload_fork() {
    let exe = cc_program("fork", &[]);
    let out = same_with_preload(|| Command::new(&exe), "fork.c");
    assert!(String::from_utf8_lossy(&out).contains("4 of 4"));
}

#[test]
fn dlopen_with_threads_before_and_after_the_load() {
    let src = crate_dir().join("tests/c/dlopen.c");
    let exe = work_dir().join("dlopen");
    let out = run(Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(["-lpthread", "-ldl"]));
    assert_ok(&out, "cc dlopen.c");
    let got = run(Command::new(&exe).arg(linux_so()));
    assert_ok(&got, "dlopen of libmeteor_alloc.so");
    assert!(String::from_utf8_lossy(&got.stdout).contains("OK"));
}

#[test]
fn preload_python() {
    let Some(python) = which("python3") else {
        eprintln!("skipped: python3 not found");
        return;
    };
    let script = r#"
import json, threading, collections, re
d = {i: str(i) * (i % 17) for i in range(100000)}
s = json.dumps(d)
words = collections.Counter(re.findall(r"[0-9]{3}", s))
out = []
def work(k):
    local = [list(range(k, k + 1000)) for _ in range(200)]
    out.append(sum(map(sum, local)))
ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(len(s), words.most_common(3), sorted(out)[:3], sum(out))
"#;
    same_with_preload(
        || {
            let mut c = Command::new(&python);
            c.args(["-c", script]);
            c
        },
        "python3",
    );
}

#[test]
fn preload_cargo() {
    // A Rust program: std's System allocator calls plain malloc for 16-aligned layouts, so
    // this fails at once if malloc ever returns less than 16-byte alignment.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = crate_dir().join("Cargo.toml");
    same_with_preload(
        || {
            let mut c = Command::new(&cargo);
            c.args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
                "--manifest-path",
            ])
            .arg(&manifest);
            c
        },
        "cargo metadata",
    );
}

#[test]
fn preload_gcc_compiles_a_file() {
    let Some(gcc) = which("gcc") else {
        eprintln!("skipped: gcc not found");
        return;
    };
    let src = crate_dir().join("tests/c/threads.c");
    let dir = work_dir();
    let mut n = 0;
    let mut objects = Vec::new();
    same_with_preload(
        || {
            n += 1;
            let obj = dir.join(format!("gcc-out-{n}.o"));
            objects.push(obj.clone());
            let mut c = Command::new(&gcc);
            c.args(["-O2", "-c", "-o"]).arg(&obj).arg(&src);
            c
        },
        "gcc -O2 -c threads.c",
    );
    let a = std::fs::read(&objects[0]).unwrap();
    let b = std::fs::read(&objects[1]).unwrap();
    assert!(!a.is_empty());
    assert_eq!(a, b, "gcc writes the same object file with LD_PRELOAD");
}

#[test]
fn preload_sort_of_a_large_file() {
    let Some(sort) = which("sort") else {
        eprintln!("skipped: sort not found");
        return;
    };
    let file = work_dir().join("sort-input.txt");
    let mut text = String::with_capacity(8 << 20);
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for i in 0..300_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 60) as usize + 1;
        text.push_str(&format!("{:016x}{} {}\n", x, "z".repeat(len % 7), i));
    }
    std::fs::write(&file, text).unwrap();
    let out = same_with_preload(
        || {
            let mut c = Command::new(&sort);
            c.env("LC_ALL", "C").arg(&file);
            c
        },
        "sort",
    );
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 300_000);
}

// ---- Windows, under Wine ----

fn wine() -> Option<PathBuf> {
    ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| which("wine64"))
        .or_else(|| which("wine"))
}

fn windows_tools() -> Option<PathBuf> {
    let wine = wine()?;
    which("x86_64-w64-mingw32-gcc")?;
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()?;
    if !String::from_utf8_lossy(&targets.stdout)
        .lines()
        .any(|l| l.trim() == "x86_64-pc-windows-gnu")
    {
        return None;
    }
    Some(wine)
}

fn run_wine(wine: &Path, exe: &Path) -> Output {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let p = work_dir().join("wineprefix");
        // The first run in a fresh prefix only creates it.
        let _ = Command::new(wine)
            .env("WINEPREFIX", &p)
            .env("WINEDEBUG", "-all")
            .args(["cmd", "/c", "exit"])
            .output();
        p
    });
    let mut out = run(Command::new(wine)
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .arg(exe));
    if !out.status.success() && out.stdout.is_empty() {
        // prefix still settling (wineboot): once more
        out = run(Command::new(wine)
            .env("WINEPREFIX", prefix)
            .env("WINEDEBUG", "-all")
            .arg(exe));
    }
    out
}

#[test]
fn windows_dll_and_static_library_under_wine() {
    let Some(wine) = windows_tools() else {
        eprintln!(
            "skipped: needs wine, x86_64-w64-mingw32-gcc and the x86_64-pc-windows-gnu Rust target"
        );
        return;
    };
    let dll_dir = build("x86_64-pc-windows-gnu", "cdylib", "override,runtime,dll");
    let static_dir = build("x86_64-pc-windows-gnu", "staticlib", "runtime");
    let dir = work_dir().join("windows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        dll_dir.join("meteor_alloc.dll"),
        dir.join("meteor_alloc.dll"),
    )
    .unwrap();
    let include = crate_dir().join("include");
    let src = crate_dir().join("tests/c/threads.c");

    // DLL-redirect mode: malloc/free/realloc/_aligned_malloc imported from meteor_alloc.dll
    let dll_exe = dir.join("threads-dll.exe");
    let out = run(Command::new("x86_64-w64-mingw32-gcc")
        .args(["-O2", "-DMT_CHECKS", "-DMETEOR_ALLOC_DLL", "-I"])
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&dll_exe)
        .arg("-L")
        .arg(&dll_dir)
        .arg("-lmeteor_alloc"));
    assert_ok(&out, "mingw gcc with the import library");
    let got = run_wine(&wine, &dll_exe);
    assert_ok(&got, "threads-dll.exe under wine");
    let dll_text = String::from_utf8_lossy(&got.stdout).replace('\r', "");
    assert!(dll_text.contains("init_mode=4"), "DllMain ran:\n{dll_text}");

    // Static (TLS-callback) mode: mt_* from the static library; the program's own malloc
    // stays the CRT's, so this build uses a variant that allocates with mt_* directly.
    let static_src = dir.join("threads-static.c");
    let text = std::fs::read_to_string(&src).unwrap();
    let text = format!(
        "#include <stdlib.h>\n#include <string.h>\n#include <windows.h>\n#include \"meteor_alloc.h\"\n#define malloc mt_malloc\n#define calloc mt_calloc\n#define realloc mt_realloc\n#define free mt_free\n#define _aligned_malloc(s, a) mt_aligned_alloc(a, s)\n#define _aligned_free mt_free\n{text}"
    );
    std::fs::write(&static_src, text).unwrap();
    let static_exe = dir.join("threads-static.exe");
    let out = run(Command::new("x86_64-w64-mingw32-gcc")
        .args(["-O2", "-DMT_CHECKS", "-I"])
        .arg(&include)
        .arg(&static_src)
        .arg("-o")
        .arg(&static_exe)
        .arg(static_dir.join("libmeteor_alloc.a")));
    assert_ok(&out, "mingw gcc with the static library");
    let got = run_wine(&wine, &static_exe);
    assert_ok(&got, "threads-static.exe under wine");
    let static_text = String::from_utf8_lossy(&got.stdout).replace('\r', "");
    assert!(
        static_text.contains("init_mode=3"),
        "the TLS callback ran:\n{static_text}"
    );

    // Loaded at run time, with threads started before and after the load.
    let loadlib_exe = dir.join("loadlib.exe");
    let out = run(Command::new("x86_64-w64-mingw32-gcc")
        .args(["-O2"])
        .arg(crate_dir().join("tests/c/loadlib.c"))
        .arg("-o")
        .arg(&loadlib_exe));
    assert_ok(&out, "mingw gcc loadlib.c");
    let got = run_wine(&wine, &loadlib_exe);
    assert_ok(&got, "loadlib.exe under wine");
    let text = String::from_utf8_lossy(&got.stdout).replace('\r', "");
    assert!(text.contains("OK"), "{text}");

    // Both compute the same result as the Linux program on glibc.
    let plain = run(&mut Command::new(cc_program("threads", &[])));
    let expected = String::from_utf8_lossy(&plain.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(dll_text.lines().next().unwrap(), expected);
    assert_eq!(static_text.lines().next().unwrap(), expected);
}

/// The crate's own test suites (unit tests, GlobalAlloc process, stress) built for
/// x86_64-pc-windows-gnu and run under Wine: the Windows OS layer (VirtualAlloc, TLS slot,
/// TLS-callback thread exit) under the same tests as Linux. Rust's std imports
/// `ProcessPrng` from bcryptprimitives.dll, which this Wine lacks: a small MinGW DLL
/// forwarding it to `RtlGenRandom` sits beside the executables.
#[test]
fn windows_test_suites_under_wine() {
    let Some(wine) = windows_tools() else {
        eprintln!(
            "skipped: needs wine, x86_64-w64-mingw32-gcc and the x86_64-pc-windows-gnu Rust target"
        );
        return;
    };
    let build_dir = work_dir().join("build-windows-tests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = run(Command::new(cargo)
        .current_dir(crate_dir())
        .env("CARGO_TARGET_DIR", &build_dir)
        .args([
            "test",
            "-p",
            "meteor-alloc",
            "--target",
            "x86_64-pc-windows-gnu",
            "--no-run",
            "--message-format=json",
        ]));
    assert_ok(&out, "building the test suites for windows");
    let json = String::from_utf8_lossy(&out.stdout);
    let exes: Vec<PathBuf> = json
        .split("\"executable\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(PathBuf::from)
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            !name.starts_with("runtime-") && name.ends_with(".exe")
        })
        .collect();
    assert!(
        exes.len() >= 3,
        "unit, global_alloc and stress executables: {exes:?}"
    );
    let dir = exes[0].parent().unwrap().to_path_buf();
    let prng_src = work_dir().join("prng.c");
    std::fs::write(
        &prng_src,
        "#include <windows.h>\nBOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);\n\
         __declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return SystemFunction036(data, (ULONG)len); }\n",
    )
    .unwrap();
    let out = run(Command::new("x86_64-w64-mingw32-gcc")
        .args(["-shared", "-O2", "-o"])
        .arg(dir.join("bcryptprimitives.dll"))
        .arg(&prng_src)
        .arg("-ladvapi32"));
    assert_ok(&out, "building bcryptprimitives.dll");
    for exe in exes {
        let got = run_wine(&wine, &exe);
        let text = String::from_utf8_lossy(&got.stdout).replace('\r', "");
        assert!(
            got.status.success() && text.contains("test result: ok"),
            "{} under wine:\n{text}\n{}",
            exe.display(),
            String::from_utf8_lossy(&got.stderr)
        );
    }
}
