//! The `meteor-ld` command line: options, errors, and linking objects built by gcc.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LD: &str = env!("CARGO_BIN_EXE_meteor-ld");

fn ld(args: &[&str]) -> Output {
    Command::new(LD).args(args).output().unwrap()
}

fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("meteor-ld")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn version_and_help() {
    let out = ld(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("meteor-ld "));
    let out = ld(&["-v"]);
    assert!(out.status.success());
    let out = ld(&["-h"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--entry"));
}

#[test]
fn target_selects_the_driver() {
    // `--target windows-x64` (any spelling `Target` accepts) is the PE/COFF driver, like
    // `-m i386pep`; the ELF driver is the default.
    for args in [
        &["--target", "windows-x64", "--version"][..],
        &["--target=x86_64-pc-windows-gnu", "--version"],
        &["-m", "i386pep", "--version"],
    ] {
        let out = ld(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("i386pep"),
            "{args:?}"
        );
    }
    let out = ld(&["--target", "linux-x64", "--version"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("i386pep"));
    // Each driver refuses the other's target.
    let out = ld(&["-m", "i386pep", "--target", "linux-x64", "x.o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("windows-x64 only"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_option_is_named() {
    let out = ld(&["--frobnicate", "x.o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown option: --frobnicate"),
        "{}",
        stderr(&out)
    );
    let out = ld(&["--export-dynamic-frob", "x.o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--export-dynamic-frob"));
    let out = ld(&["-z", "frob", "x.o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("-z frob"), "{}", stderr(&out));
}

#[test]
fn missing_inputs_and_bad_target() {
    let out = ld(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no input files"));
    let out = ld(&["/nonexistent/file.o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/file.o"));
    let out = ld(&["--target", "mips-os2", "a.o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown target 'mips-os2'"));
}

#[test]
fn bad_inputs_are_named() {
    let dir = work_dir("formats");
    // An empty archive is valid but defines nothing: the entry is missing.
    let ar = dir.join("libx.a");
    std::fs::write(&ar, b"!<arch>\n").unwrap();
    let out = ld(&[
        ar.to_str().unwrap(),
        "-o",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("entry symbol `_start`"),
        "{}",
        stderr(&out)
    );
    // A truncated archive member.
    std::fs::write(
        &ar,
        b"!<arch>\nx.o/            0           0     0     644     999       `\nabc",
    )
    .unwrap();
    let out = ld(&[
        ar.to_str().unwrap(),
        "-o",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("libx.a"), "{}", stderr(&out));
    let obj = dir.join("x.obj");
    let mut coff = vec![0x64, 0x86];
    coff.resize(64, 0);
    std::fs::write(&obj, coff).unwrap();
    let out = ld(&[obj.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("x.obj: unknown file type"),
        "{}",
        stderr(&out)
    );
    let out = ld(&["-lnosuchlibrary_meteor", obj.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("cannot find -lnosuchlibrary_meteor"),
        "{}",
        stderr(&out)
    );
}

/// Objects built by gcc, linked and run (Linux x86-64 only).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod gcc {
    use super::*;

    fn have_gcc() -> bool {
        let ok = Command::new("gcc")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            assert!(
                std::env::var_os("CI").is_none() || !cfg!(target_os = "linux"),
                "gcc is required in CI on Linux"
            );
            eprintln!("skipping: gcc not found");
        }
        ok
    }

    const MAIN_C: &str = r#"
    extern int counter;
    int add(int a, int b);
    static const char msg[] = "hi";
    static int *ptr = &counter;
    const char *table[] = { msg, msg + 1 };
    void _start(void) {
        *ptr += add(counter, table[1][0] - 'i' + 5);
        long code = counter;
        __asm__ volatile("syscall" :: "a"(60L), "D"(code));
        __builtin_unreachable();
    }
    "#;

    const OTHER_C: &str = r#"
    int counter = 30;
    static int bss_thing[100];
    int add(int a, int b) { bss_thing[a % 100] += b; return a + b + bss_thing[a % 100]; }
    "#;

    /// Compiles `sources` with `flags`, returns the object paths.
    pub fn gcc_objects(dir: &Path, sources: &[(&str, &str)], flags: &[&str]) -> Vec<PathBuf> {
        let mut objects = Vec::new();
        for (name, text) in sources {
            let src = dir.join(name);
            std::fs::write(&src, text).unwrap();
            let obj = src.with_extension("o");
            let out = Command::new("gcc")
                .args([
                    "-c",
                    "-O1",
                    "-nostdlib",
                    "-ffreestanding",
                    "-fno-stack-protector",
                ])
                .args(flags)
                .arg(&src)
                .arg("-o")
                .arg(&obj)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "gcc failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            objects.push(obj);
        }
        objects
    }

    #[test]
    fn links_gcc_objects_and_runs() {
        use std::os::unix::fs::PermissionsExt;
        if !have_gcc() {
            return;
        }
        for (tag, flags) in [
            ("pie", &[][..]),
            ("nopic", &["-fno-pic", "-fno-pie"][..]),
            ("pic", &["-fPIC"][..]),
        ] {
            let dir = work_dir(tag);
            let objs = gcc_objects(&dir, &[("main.c", MAIN_C), ("other.c", OTHER_C)], flags);
            let exe = dir.join("prog");
            let out = Command::new(LD)
                .args(&objs)
                .arg("-o")
                .arg(&exe)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{tag}: meteor-ld failed: {}",
                stderr(&out)
            );
            let mode = std::fs::metadata(&exe).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755, "{tag}: output mode");
            let status = Command::new(&exe).status().unwrap();
            assert_eq!(status.code(), Some(70), "{tag}: exit code");
        }
    }

    #[test]
    fn undefined_symbol_from_gcc_object_names_it() {
        if !have_gcc() {
            return;
        }
        let dir = work_dir("undef");
        let objs = gcc_objects(&dir, &[("main.c", MAIN_C)], &[]);
        let out = Command::new(LD)
            .args(&objs)
            .arg("-o")
            .arg(dir.join("prog"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains("undefined symbol `add`") && err.contains("main.o"),
            "{err}"
        );
        assert!(err.contains("undefined symbol `counter`"), "{err}");
        // Entry override: linking with a missing entry names it.
        let objs = gcc_objects(&dir, &[("other.c", OTHER_C)], &[]);
        let out = Command::new(LD)
            .args(&objs)
            .args(["-e", "nothere", "-o"])
            .arg(dir.join("p2"))
            .output()
            .unwrap();
        assert!(
            stderr(&out).contains("entry symbol `nothere` is not defined"),
            "{}",
            stderr(&out)
        );
        // ...and an existing one works.
        let out = Command::new(LD)
            .args(&objs)
            .args(["--entry=add", "-o"])
            .arg(dir.join("p3"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}
