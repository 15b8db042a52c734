//! meteor-ld as a drop-in `ld`: C and C++ fixtures built with the system compilers, linked
//! by meteor-ld both through `gcc -B <dir>` (`<dir>/ld` → meteor-ld) and directly (the
//! collect2 command line gcc would run), in PIE, `-no-pie` and `-static` forms, run, and
//! compared with the same program linked by the system linker. goblin checks the outputs.
//! Tests skip with a message when gcc/g++ are missing, and fail when `CI` is set.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use goblin::elf::Elf;
use goblin::elf::dynamic::{DF_1_PIE, DT_FLAGS_1, DT_GNU_HASH, DT_NEEDED, DT_VERNEED};
use goblin::elf::program_header::{
    PF_W, PF_X, PT_DYNAMIC, PT_GNU_EH_FRAME, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_TLS,
};

const LD: &str = env!("CARGO_BIN_EXE_meteor-ld");

struct Fx {
    dir: PathBuf,
    /// Directory whose `ld` is meteor-ld.
    bin: PathBuf,
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required when CI is set"
        );
        eprintln!("skipping: {tool} not found");
    }
    ok
}

fn fx() -> Option<&'static Fx> {
    static FX: OnceLock<Option<Fx>> = OnceLock::new();
    FX.get_or_init(|| {
        if !have("gcc") || !have("g++") {
            return None;
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ld-elf");
        let _ = std::fs::remove_dir_all(&dir);
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(LD, bin.join("ld")).unwrap();
        Some(Fx { dir, bin })
    })
    .as_ref()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Pie,
    NoPie,
    Static,
}

impl Mode {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::Pie => &["-pie", "-fPIE"],
            Mode::NoPie => &["-no-pie", "-fno-pie"],
            Mode::Static => &["-static"],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Pie => "pie",
            Mode::NoPie => "nopie",
            Mode::Static => "static",
        }
    }
}

fn compiler(src: &str) -> &'static str {
    if src.ends_with(".cpp") { "g++" } else { "gcc" }
}

fn check(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `text` to `name` in the fixture dir and compiles it to an object for `mode`.
fn object(fx: &Fx, name: &str, text: &str, mode: Mode, extra: &[&str]) -> PathBuf {
    let src = fx.dir.join(name);
    std::fs::write(&src, text).unwrap();
    let obj = fx.dir.join(format!("{name}.{}.o", mode.name()));
    let mut c = Command::new(compiler(name));
    c.args(["-c", "-O1", "-o"]).arg(&obj).arg(&src);
    if mode != Mode::Static {
        c.arg(mode.flags()[1]);
    }
    c.args(extra);
    check(&mut c, &format!("compiling {name}"));
    obj
}

/// Links `objs` with the compiler driver; `ours` puts meteor-ld first with `-B`.
fn link(
    fx: &Fx,
    driver: &str,
    objs: &[PathBuf],
    out: &Path,
    mode: Mode,
    libs: &[&str],
    ours: bool,
) {
    let mut c = Command::new(driver);
    if ours {
        c.arg("-B").arg(&fx.bin);
    }
    c.arg(mode.flags()[0])
        .args(objs)
        .arg("-o")
        .arg(out)
        .args(libs);
    check(&mut c, &format!("linking {}", out.display()));
}

/// The collect2 (= ld) command line gcc would run for this link.
fn collect2_args(
    driver: &str,
    objs: &[PathBuf],
    out: &Path,
    mode: Mode,
    libs: &[&str],
) -> Vec<String> {
    let o = Command::new(driver)
        .arg("-###")
        .arg(mode.flags()[0])
        .args(objs)
        .arg("-o")
        .arg(out)
        .args(libs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("collect2") || l.trim_start().starts_with("\"/usr/bin/ld\""))
        .expect("a collect2 line in gcc -###");
    let mut args = common::split_words(line);
    args.remove(0);
    args
}

fn run(path: &Path) -> (String, Option<i32>) {
    let out = Command::new(path).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

/// Builds `name` for `mode` with the system linker, with meteor-ld via `-B`, and with
/// meteor-ld run directly on gcc's collect2 command line; all three must behave the same.
/// Returns the bytes of the `-B` build.
fn compare(name: &str, text: &str, mode: Mode, cflags: &[&str], libs: &[&str]) -> Option<Vec<u8>> {
    let fx = fx()?;
    let obj = object(fx, name, text, mode, cflags);
    let driver = compiler(name);
    let base = fx.dir.join(format!("{name}.{}", mode.name()));
    let reference = base.with_extension("ref");
    let ours = base.with_extension("meteor");
    let direct = base.with_extension("direct");
    link(
        fx,
        driver,
        std::slice::from_ref(&obj),
        &reference,
        mode,
        libs,
        false,
    );
    link(
        fx,
        driver,
        std::slice::from_ref(&obj),
        &ours,
        mode,
        libs,
        true,
    );
    let args = collect2_args(driver, std::slice::from_ref(&obj), &direct, mode, libs);
    check(
        Command::new(LD).args(&args),
        "meteor-ld on the collect2 line",
    );
    let want = run(&reference);
    assert_eq!(run(&ours), want, "{name} ({mode:?}) via gcc -B");
    assert_eq!(run(&direct), want, "{name} ({mode:?}) linked directly");
    Some(std::fs::read(&ours).unwrap())
}

fn has_dyn(elf: &Elf, tag: u64) -> bool {
    elf.dynamic
        .as_ref()
        .is_some_and(|d| d.dyns.iter().any(|e| e.d_tag == tag))
}

/// Structure every output must have: W^X, congruent segments, a non-executable stack.
fn common_checks(elf: &Elf) {
    for p in elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD) {
        assert_eq!(p.p_vaddr % 4096, p.p_offset % 4096, "congruent PT_LOAD");
        assert!(p.p_flags & (PF_W | PF_X) != PF_W | PF_X, "W+X segment");
    }
    let stack = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_GNU_STACK)
        .expect("PT_GNU_STACK");
    assert_eq!(stack.p_flags & PF_X, 0);
}

fn dynamic_checks(elf: &Elf, pie: bool) {
    common_checks(elf);
    assert_eq!(elf.interpreter, Some("/lib64/ld-linux-x86-64.so.2"));
    assert!(elf.program_headers.iter().any(|p| p.p_type == PT_INTERP));
    assert!(elf.program_headers.iter().any(|p| p.p_type == PT_DYNAMIC));
    assert!(elf.program_headers.iter().any(|p| p.p_type == PT_GNU_RELRO));
    assert!(
        elf.program_headers
            .iter()
            .any(|p| p.p_type == PT_GNU_EH_FRAME)
    );
    assert!(elf.libraries.contains(&"libc.so.6"), "{:?}", elf.libraries);
    assert!(has_dyn(elf, DT_NEEDED) && has_dyn(elf, DT_GNU_HASH) && has_dyn(elf, DT_VERNEED));
    // glibc imports carry versions.
    assert!(elf.verneed.as_ref().is_some_and(|v| {
        v.iter()
            .any(|n| elf.dynstrtab.get_at(n.vn_file) == Some("libc.so.6"))
    }));
    assert!(!elf.pltrelocs.is_empty() || !elf.dynrelas.is_empty());
    if pie {
        assert_eq!(elf.header.e_type, goblin::elf::header::ET_DYN);
        let f1 = elf
            .dynamic
            .as_ref()
            .unwrap()
            .dyns
            .iter()
            .find(|d| d.d_tag == DT_FLAGS_1)
            .map(|d| d.d_val);
        assert!(f1.is_some_and(|f| f & DF_1_PIE != 0));
        // PIE: absolute pointers (init_array, …) become R_X86_64_RELATIVE.
        assert!(
            elf.dynrelas
                .iter()
                .any(|r| r.r_type == goblin::elf::reloc::R_X86_64_RELATIVE)
        );
    } else {
        assert_eq!(elf.header.e_type, goblin::elf::header::ET_EXEC);
    }
}

fn static_checks(elf: &Elf) {
    common_checks(elf);
    assert_eq!(elf.header.e_type, goblin::elf::header::ET_EXEC);
    assert!(elf.interpreter.is_none());
    assert!(elf.dynamic.is_none());
    // glibc's IFUNCs: IRELATIVE relocations bracketed by __rela_iplt_start/end.
    let sym = |n: &str| {
        elf.syms
            .iter()
            .find(|s| elf.strtab.get_at(s.st_name) == Some(n))
            .map(|s| s.st_value)
    };
    let rela = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".rela.plt"))
        .expect(".rela.plt");
    assert!(rela.sh_size > 0);
    let _ = sym;
}

const HELLO_C: &str = r#"
#include <stdio.h>
#include <string.h>
static const char *greeting = "hello";
int main(int argc, char **argv) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s %d %zu", greeting, argc, strlen(argv[0]) > 0);
    puts(buf);
    return 3;
}
"#;

#[test]
fn c_hello_in_all_forms() {
    for mode in [Mode::Pie, Mode::NoPie, Mode::Static] {
        let Some(bytes) = compare("hello.c", HELLO_C, mode, &[], &[]) else {
            return;
        };
        let elf = Elf::parse(&bytes).unwrap();
        match mode {
            Mode::Static => static_checks(&elf),
            m => dynamic_checks(&elf, m == Mode::Pie),
        }
    }
}

const THREADS_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
__thread int counter = 5;
__thread char big[100];
static __thread long priv;
static void *work(void *arg) {
    long k = (long)arg;
    for (int i = 0; i < 1000; i++) { counter += 1; priv += k; }
    big[k] = (char)k;
    return (void *)(long)(counter + priv + big[k]);
}
int main(void) {
    pthread_t t[4];
    long sum = 0;
    for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, work, (void *)i);
    for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("%ld %d %ld\n", sum, counter, priv);
    return (int)(sum & 0x7f);
}
"#;

#[test]
fn threads_and_tls() {
    for mode in [Mode::Pie, Mode::NoPie, Mode::Static] {
        let Some(bytes) = compare("threads.c", THREADS_C, mode, &["-pthread"], &["-pthread"])
        else {
            return;
        };
        let elf = Elf::parse(&bytes).unwrap();
        let tls = elf
            .program_headers
            .iter()
            .find(|p| p.p_type == PT_TLS)
            .expect("PT_TLS");
        assert!(tls.p_memsz >= 104 + 4 && tls.p_filesz <= tls.p_memsz);
    }
}

const MATH_STDOUT_C: &str = r#"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
extern char **environ;
int main(int argc, char **argv) {
    volatile double x = argc * 2.0;
    fprintf(stdout, "%.4f %.4f\n", sqrt(x), cos(x));
    fputs("to stdout\n", stdout);
    printf("%d %d\n", environ != NULL, getenv("PATH") != NULL);
    fflush(stdout);
    return 0;
}
"#;

#[test]
fn math_library_and_stdout_copy_relocations() {
    for mode in [Mode::Pie, Mode::NoPie, Mode::Static] {
        let Some(bytes) = compare("mathio.c", MATH_STDOUT_C, mode, &[], &["-lm"]) else {
            return;
        };
        if mode == Mode::NoPie {
            // Non-PIE code reads `stdout`/`environ` directly: copy relocations.
            let elf = Elf::parse(&bytes).unwrap();
            assert!(
                elf.dynrelas
                    .iter()
                    .any(|r| r.r_type == goblin::elf::reloc::R_X86_64_COPY)
            );
            let exported = |n: &str| {
                elf.dynsyms
                    .iter()
                    .any(|s| elf.dynstrtab.get_at(s.st_name) == Some(n) && s.st_shndx != 0)
            };
            assert!(
                exported("environ") && exported("__environ"),
                "copy aliases exported"
            );
        }
    }
}

const CXX: &str = r#"
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
struct Noisy {
    std::string name;
    Noisy(const char *n) : name(n) { std::printf("ctor %s\n", name.c_str()); }
    ~Noisy() { std::printf("dtor %s\n", name.c_str()); }
};
static Noisy global_a("a");
thread_local std::string tl = "tls";
template <class T> T twice(T v) { return v + v; }
static int risky(int n) {
    if (n > 3) throw std::out_of_range("too big: " + std::to_string(n));
    return n;
}
int main(int argc, char **) {
    std::map<std::string, int> m;
    for (int i = 0; i < 10; i++) m["k" + std::to_string(i)] = i * i;
    int sum = 0;
    for (auto &kv : m) sum += kv.second;
    std::printf("sum %d %s %s\n", sum, twice(std::string("ab")).c_str(), tl.c_str());
    try {
        risky(argc + 5);
    } catch (const std::exception &e) {
        std::printf("caught %s\n", e.what());
    }
    try {
        std::vector<int> v(3);
        (void)v.at(10);
    } catch (const std::out_of_range &) {
        std::printf("caught vector\n");
    }
    auto p = std::make_unique<Noisy>("heap");
    return sum % 100;
}
"#;

#[test]
fn cxx_exceptions_containers_static_constructors() {
    for mode in [Mode::Pie, Mode::NoPie, Mode::Static] {
        let Some(bytes) = compare("prog.cpp", CXX, mode, &[], &[]) else {
            return;
        };
        let elf = Elf::parse(&bytes).unwrap();
        if mode != Mode::Static {
            assert!(
                elf.libraries.iter().any(|l| l.starts_with("libstdc++")),
                "{:?}",
                elf.libraries
            );
        }
    }
}

const LIB_C: &str = r#"
#include <stdio.h>
__thread int tcount = 10;
static __thread int tpriv;
int counter = 3;
int lib_fn(int x) { tpriv += x; tcount += x; counter += x; return tcount + tpriv; }
int (*lib_ptr)(int) = lib_fn;
const char *lib_name(void) { return "libfix"; }
"#;

const USE_LIB_C: &str = r#"
#include <stdio.h>
extern int counter;
extern __thread int tcount;
int lib_fn(int);
extern int (*lib_ptr)(int);
const char *lib_name(void);
int main(void) {
    int r = lib_fn(2);
    r += lib_ptr(1);
    printf("%s %d %d %d\n", lib_name(), r, counter, tcount);
    return r & 0x7f;
}
"#;

/// A shared library linked by meteor-ld (PIC, global-dynamic TLS, exported data and
/// functions), used by executables linked by meteor-ld, against the system-linked pair.
#[test]
fn shared_library() {
    let Some(fx) = fx() else { return };
    let src = fx.dir.join("libfix.c");
    std::fs::write(&src, LIB_C).unwrap();
    let obj = fx.dir.join("libfix.o");
    check(
        Command::new("gcc")
            .args(["-c", "-O1", "-fPIC", "-o"])
            .arg(&obj)
            .arg(&src),
        "compile libfix",
    );
    let ours_dir = fx.dir.join("ours");
    let ref_dir = fx.dir.join("ref");
    for (d, mine) in [(&ours_dir, true), (&ref_dir, false)] {
        std::fs::create_dir_all(d).unwrap();
        let mut c = Command::new("gcc");
        if mine {
            c.arg("-B").arg(&fx.bin);
        }
        c.args(["-shared", "-Wl,-soname,libfix.so", "-o"])
            .arg(d.join("libfix.so"))
            .arg(&obj);
        check(&mut c, "link libfix.so");
    }
    let lib = std::fs::read(ours_dir.join("libfix.so")).unwrap();
    let elf = Elf::parse(&lib).unwrap();
    assert_eq!(elf.soname, Some("libfix.so"));
    let exported = |n: &str| {
        elf.dynsyms
            .iter()
            .any(|s| elf.dynstrtab.get_at(s.st_name) == Some(n) && s.st_shndx != 0)
    };
    assert!(exported("lib_fn") && exported("counter") && exported("tcount") && exported("lib_ptr"));
    assert!(
        elf.dynrelas
            .iter()
            .any(|r| r.r_type == goblin::elf::reloc::R_X86_64_DTPMOD64)
    );
    for mode in [Mode::Pie, Mode::NoPie] {
        let uobj = object(fx, "uselib.c", USE_LIB_C, mode, &[]);
        let mut results = Vec::new();
        for (d, mine) in [(&ours_dir, true), (&ref_dir, false)] {
            let exe = d.join(format!("uselib.{}", mode.name()));
            let mut c = Command::new("gcc");
            if mine {
                c.arg("-B").arg(&fx.bin);
            }
            c.arg(mode.flags()[0])
                .arg(&uobj)
                .arg("-L")
                .arg(d)
                .arg("-lfix")
                .arg(format!("-Wl,-rpath,{}", d.display()))
                .arg("-o")
                .arg(&exe);
            check(&mut c, "link uselib");
            results.push(run(&exe));
        }
        assert_eq!(results[0], results[1], "{mode:?}");
        assert!(results[0].0.starts_with("libfix "));
    }
}

/// `--gc-sections` drops unreferenced functions, `-Map` writes a map, `--build-id` a note.
#[test]
fn gc_sections_map_and_build_id() {
    let Some(fx) = fx() else { return };
    let text = "int unused_function_xyz(int x) { return x * 7; }\nint main(void) { return 4; }\n";
    let obj = object(fx, "gc.c", text, Mode::Pie, &["-ffunction-sections"]);
    let exe = fx.dir.join("gc.out");
    let map = fx.dir.join("gc.map");
    let mut c = Command::new("gcc");
    c.arg("-B")
        .arg(&fx.bin)
        .arg(&obj)
        .arg("-o")
        .arg(&exe)
        .arg("-Wl,--gc-sections,--build-id")
        .arg(format!("-Wl,-Map,{}", map.display()));
    check(&mut c, "gc link");
    assert_eq!(run(&exe).1, Some(4));
    let bytes = std::fs::read(&exe).unwrap();
    let elf = Elf::parse(&bytes).unwrap();
    assert!(
        !elf.syms
            .iter()
            .any(|s| elf.strtab.get_at(s.st_name) == Some("unused_function_xyz"))
    );
    let map_text = std::fs::read_to_string(&map).unwrap();
    assert!(map_text.contains(".text") && map_text.contains("gc.c"));
    let note = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".note.gnu.build-id"))
        .expect("build id");
    assert_eq!(note.sh_size, 16 + 20);
}

/// `--version` says it is GNU-compatible, as gcc and configure scripts probe.
#[test]
fn version_line() {
    let out = Command::new(LD).arg("--version").output().unwrap();
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    assert!(first.contains("compatible with GNU ld"), "{first}");
}

/// Undefined and duplicate symbols from real objects: errors name the symbol, the files,
/// and the section that refers to it.
#[test]
fn undefined_and_duplicate_symbols_from_gcc_objects() {
    let Some(fx) = fx() else { return };
    let a = object(
        fx,
        "dup_a.c",
        "int dup_sym = 1; int missing_thing(void); int main(void) { return missing_thing() + dup_sym; }\n",
        Mode::Pie,
        &[],
    );
    let b = object(fx, "dup_b.c", "int dup_sym = 2;\n", Mode::Pie, &[]);
    let out = Command::new("gcc")
        .arg("-B")
        .arg(&fx.bin)
        .arg(&a)
        .arg("-o")
        .arg(fx.dir.join("undef.out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("undefined symbol `missing_thing`")
            && err.contains("dup_a.c")
            && err.contains(".text"),
        "{err}"
    );
    let out = Command::new("gcc")
        .arg("-B")
        .arg(&fx.bin)
        .arg(&a)
        .arg(&b)
        .arg("-o")
        .arg(fx.dir.join("dup.out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("duplicate symbol `dup_sym`")
            && err.contains("dup_a.c")
            && err.contains("dup_b.c"),
        "{err}"
    );
}

const MERGE_A_C: &str = r#"
#include <stdio.h>
extern void other(volatile double x);
/* Pointers into the string section from data: section symbol + offset relocations. */
const char *table_a[] = { "zeta literal 3", "merged literal 1", "merged literal 2" };
int main(void) {
    volatile double x = 2.0;
    puts("merged literal 1");
    printf("%s %.4f\n", "merged literal 2", x * 1234.5678);
    for (int i = 0; i < 3; i++) puts(table_a[i] + i);
    other(x);
    return 0;
}
"#;

const MERGE_B_C: &str = r#"
#include <stdio.h>
const char *table_b[] = { "merged literal 2", "only in b", "merged literal 1" };
void other(volatile double x) {
    printf("%s %.4f\n", "merged literal 2", x * 1234.5678);
    puts("merged literal 1");
    for (int i = 0; i < 3; i++) puts(table_b[i]);
}
"#;

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// `SHF_MERGE` sections: string literals (`.rodata.str1.1`) and 8-byte constants
/// (`.rodata.cst8`) used by two objects are stored once; references through symbols and
/// through section symbol + addend (pointer tables in `.data`) land on the merged copy.
#[test]
fn mergeable_strings_and_constants_are_deduplicated() {
    let Some(fx) = fx() else { return };
    for mode in [Mode::Pie, Mode::NoPie] {
        let a = object(fx, "merge_a.c", MERGE_A_C, mode, &[]);
        let b = object(fx, "merge_b.c", MERGE_B_C, mode, &[]);
        let objs = [a.clone(), b.clone()];
        // Each object holds its own copy of the shared literals and the constant.
        for o in &objs {
            let bytes = std::fs::read(o).unwrap();
            assert_eq!(count(&bytes, b"merged literal 1\0"), 1);
        }
        let reference = fx.dir.join(format!("merge.{}.ref", mode.name()));
        let ours = fx.dir.join(format!("merge.{}.meteor", mode.name()));
        link(fx, "gcc", &objs, &reference, mode, &[], false);
        link(fx, "gcc", &objs, &ours, mode, &[], true);
        let want = run(&reference);
        assert!(
            want.0.contains("erged literal 2\nonly in b\n"),
            "{}",
            want.0
        );
        assert_eq!(run(&ours), want, "merge ({mode:?})");

        let bytes = std::fs::read(&ours).unwrap();
        let elf = Elf::parse(&bytes).unwrap();
        dynamic_checks(&elf, mode == Mode::Pie);
        let rodata = elf
            .section_headers
            .iter()
            .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".rodata"))
            .expect(".rodata");
        let r = &bytes[rodata.sh_offset as usize..(rodata.sh_offset + rodata.sh_size) as usize];
        for lit in [
            &b"merged literal 1\0"[..],
            b"merged literal 2\0",
            b"zeta literal 3\0",
            b"only in b\0",
        ] {
            assert_eq!(count(r, lit), 1, "{}", String::from_utf8_lossy(lit));
            assert_eq!(count(&bytes, lit), 1, "{}", String::from_utf8_lossy(lit));
        }
        assert_eq!(count(r, &1234.5678f64.to_le_bytes()), 1, "8-byte constant");
    }
}

const EH_MAIN_CPP: &str = r#"
#include <cstdio>
#include <stdexcept>
int thrower(int);
int catcher(int);
int main() {
    int t = 0;
    for (int i = 0; i < 5; i++) t += catcher(i);
    try { thrower(100); } catch (const std::exception &e) { std::printf("main caught %s\n", e.what()); }
    std::printf("total %d\n", t);
    return t;
}
"#;

const EH_THROW_CPP: &str = r#"
#include <stdexcept>
#include <string>
int thrower(int x) {
    if (x % 2) throw std::runtime_error("odd " + std::to_string(x));
    if (x == 100) throw std::logic_error("hundred");
    return x;
}
"#;

const EH_CATCH_CPP: &str = r#"
#include <cstdio>
#include <stdexcept>
int thrower(int);
struct Guard { int n; ~Guard() { std::printf("unwound %d\n", n); } };
int catcher(int x) {
    try { Guard g{x}; return thrower(x); }
    catch (const std::runtime_error &e) { std::printf("caught %s\n", e.what()); return -1; }
}
"#;

/// `.eh_frame` records of an output: (offset, is_fde, cie offset, pc_begin).
fn eh_records(sec: &[u8], sec_addr: u64) -> Vec<(u64, bool, u64, u64)> {
    let u32_at = |o: usize| u32::from_le_bytes(sec[o..o + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 4 <= sec.len() {
        let len = u32_at(off) as usize;
        if len == 0 {
            break;
        }
        let id = u32_at(off + 4) as u64;
        if id == 0 {
            out.push((off as u64, false, 0, 0));
        } else {
            let cie = (off as u64 + 4)
                .checked_sub(id)
                .expect("CIE pointer before .eh_frame");
            // gcc's CIEs use pcrel sdata4 for pc_begin.
            let rel = u32_at(off + 8) as i32 as i64;
            let pc = (sec_addr as i64 + off as i64 + 8 + rel) as u64;
            out.push((off as u64, true, cie, pc));
        }
        off += len + 4;
    }
    out
}

fn section<'a>(elf: &Elf, bytes: &'a [u8], name: &str) -> (&'a [u8], u64) {
    let s = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name))
        .unwrap_or_else(|| panic!("{name}"));
    (
        &bytes[s.sh_offset as usize..(s.sh_offset + s.sh_size) as usize],
        s.sh_addr,
    )
}

/// C++ exceptions thrown and caught across three objects: identical CIEs of different
/// inputs are stored once (no more CIEs than GNU ld leaves), every FDE points back to a
/// CIE, and `.eh_frame_hdr`'s table is sorted and names each FDE with its pc_begin.
#[test]
fn eh_frame_cies_deduplicated_across_objects() {
    let Some(fx) = fx() else { return };
    for mode in [Mode::Pie, Mode::NoPie, Mode::Static] {
        let objs = [
            object(fx, "eh_main.cpp", EH_MAIN_CPP, mode, &[]),
            object(fx, "eh_throw.cpp", EH_THROW_CPP, mode, &[]),
            object(fx, "eh_catch.cpp", EH_CATCH_CPP, mode, &[]),
        ];
        let reference = fx.dir.join(format!("eh.{}.ref", mode.name()));
        let ours = fx.dir.join(format!("eh.{}.meteor", mode.name()));
        link(fx, "g++", &objs, &reference, mode, &[], false);
        link(fx, "g++", &objs, &ours, mode, &[], true);
        let want = run(&reference);
        assert!(
            want.0.contains("caught odd 3\nunwound") || want.0.contains("unwound 3\ncaught odd 3"),
            "{}",
            want.0
        );
        assert!(want.0.contains("main caught hundred"), "{}", want.0);
        assert_eq!(run(&ours), want, "eh ({mode:?})");

        let cies = |path: &Path| {
            let bytes = std::fs::read(path).unwrap();
            let elf = Elf::parse(&bytes).unwrap();
            let (eh, addr) = section(&elf, &bytes, ".eh_frame");
            eh_records(eh, addr).iter().filter(|r| !r.1).count()
        };
        let (n_ours, n_ref) = (cies(&ours), cies(&reference));
        assert!(n_ours <= n_ref, "{mode:?}: {n_ours} CIEs, GNU ld {n_ref}");

        let bytes = std::fs::read(&ours).unwrap();
        let elf = Elf::parse(&bytes).unwrap();
        let (eh, eh_addr) = section(&elf, &bytes, ".eh_frame");
        let recs = eh_records(eh, eh_addr);
        let cie_offsets: Vec<u64> = recs.iter().filter(|r| !r.1).map(|r| r.0).collect();
        for r in recs.iter().filter(|r| r.1) {
            assert!(
                cie_offsets.contains(&r.2),
                "FDE at {:#x} -> {:#x}",
                r.0,
                r.2
            );
        }
        if mode == Mode::Static {
            // gcc passes `--eh-frame-hdr` only to dynamic links.
            continue;
        }
        let (hdr, hdr_addr) = section(&elf, &bytes, ".eh_frame_hdr");
        let count = u32::from_le_bytes(hdr[8..12].try_into().unwrap()) as usize;
        let fdes: Vec<_> = recs.iter().filter(|r| r.1).collect();
        assert_eq!(count, fdes.len());
        let mut last = i64::MIN;
        for k in 0..count {
            let at = 12 + 8 * k;
            let pc =
                i32::from_le_bytes(hdr[at..at + 4].try_into().unwrap()) as i64 + hdr_addr as i64;
            let fde = i32::from_le_bytes(hdr[at + 4..at + 8].try_into().unwrap()) as i64
                + hdr_addr as i64;
            assert!(pc >= last, "eh_frame_hdr table not sorted");
            last = pc;
            let off = (fde - eh_addr as i64) as u64;
            let r = fdes
                .iter()
                .find(|r| r.0 == off)
                .expect("table entry names an FDE");
            assert_eq!(r.3 as i64, pc);
        }
    }
}
