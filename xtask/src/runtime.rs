//! `cargo xtask runtime`: builds the allocator runtime (meteor-alloc) in both modes for
//! each target:
//!
//! ```text
//! target/runtime/<target>/static/libmeteor_alloc.a    static (TLS-callback) mode
//! target/runtime/<target>/dll/libmeteor_alloc.so      DLL-redirect mode, linux-x64
//! target/runtime/<target>/dll/meteor_alloc.dll        DLL-redirect mode, windows-x64
//!                             libmeteor_alloc.dll.a   (its import library)
//! target/runtime/<target>/<mode>/meteor_alloc.h       the C header
//! ```
//!
//! The package's `crate-type` is read by every dependent, so the staticlib/cdylib forms
//! are built here with `cargo rustc --crate-type ...` (each form in its own cargo target
//! directory under `target/runtime/.build/`, so switching forms never rebuilds the others).
//!
//! Features per form: Linux static and both DLLs export the whole `malloc` family
//! (`override`); the Windows static library exports only `mt_*` (its malloc would fight the
//! CRT's imported one) and registers its TLS callback; the Windows DLL adds `DllMain`
//! (`dll`). Every form is `panic=abort` with the crate's `runtime` feature.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{cargo, target_dir, workspace_root};

const USAGE: &str = "\
usage: cargo xtask runtime [--target linux-x64|windows-x64|all] [--mode static|dll|all] [--debug]

Builds the allocator runtime into target/runtime/<target>/{static,dll}/.
Default: every target buildable from this host (on Linux: linux-x64 and windows-x64,
the latter with Rust's x86_64-pc-windows-gnu target and MinGW), both modes, release.";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RuntimeTarget {
    LinuxX64,
    WindowsX64,
}

impl RuntimeTarget {
    pub fn name(self) -> &'static str {
        match self {
            RuntimeTarget::LinuxX64 => "linux-x64",
            RuntimeTarget::WindowsX64 => "windows-x64",
        }
    }

    pub fn triple(self) -> &'static str {
        match self {
            RuntimeTarget::LinuxX64 => "x86_64-unknown-linux-gnu",
            RuntimeTarget::WindowsX64 => "x86_64-pc-windows-gnu",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Vec<RuntimeTarget>> {
        Ok(match s {
            "linux-x64" => vec![RuntimeTarget::LinuxX64],
            "windows-x64" => vec![RuntimeTarget::WindowsX64],
            "all" => vec![RuntimeTarget::LinuxX64, RuntimeTarget::WindowsX64],
            other => bail!("unknown target `{other}` (expected linux-x64, windows-x64 or all)"),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Static,
    Dll,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Static => "static",
            Mode::Dll => "dll",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Vec<Mode>> {
        Ok(match s {
            "static" => vec![Mode::Static],
            "dll" => vec![Mode::Dll],
            "all" => vec![Mode::Static, Mode::Dll],
            other => bail!("unknown mode `{other}` (expected static, dll or all)"),
        })
    }
}

/// One runtime form: crate type, features and the files it produces.
struct Form {
    crate_type: &'static str,
    features: &'static str,
    /// (file cargo writes in `<build>/<triple>/<profile>/`, name in the output directory)
    outputs: &'static [(&'static str, &'static str)],
}

fn form(target: RuntimeTarget, mode: Mode) -> Form {
    match (target, mode) {
        (RuntimeTarget::LinuxX64, Mode::Static) => Form {
            crate_type: "staticlib",
            features: "override,runtime",
            outputs: &[("libmeteor_alloc.a", "libmeteor_alloc.a")],
        },
        (RuntimeTarget::LinuxX64, Mode::Dll) => Form {
            crate_type: "cdylib",
            features: "override,runtime",
            outputs: &[("libmeteor_alloc.so", "libmeteor_alloc.so")],
        },
        (RuntimeTarget::WindowsX64, Mode::Static) => Form {
            crate_type: "staticlib",
            features: "runtime",
            outputs: &[("libmeteor_alloc.a", "libmeteor_alloc.a")],
        },
        (RuntimeTarget::WindowsX64, Mode::Dll) => Form {
            crate_type: "cdylib",
            features: "override,runtime,dll",
            outputs: &[
                ("meteor_alloc.dll", "meteor_alloc.dll"),
                ("libmeteor_alloc.dll.a", "libmeteor_alloc.dll.a"),
            ],
        },
    }
}

/// Options of one `runtime` invocation.
#[derive(Debug)]
pub struct Options {
    pub targets: Vec<RuntimeTarget>,
    pub modes: Vec<Mode>,
    pub release: bool,
}

fn parse_args(args: &[String]) -> anyhow::Result<Option<Options>> {
    let mut targets = None;
    let mut modes = vec![Mode::Static, Mode::Dll];
    let mut release = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => {
                let v = it.next().context("--target needs a value")?;
                targets = Some(RuntimeTarget::parse(v)?);
            }
            "--mode" => {
                let v = it.next().context("--mode needs a value")?;
                modes = Mode::parse(v)?;
            }
            "--debug" => release = false,
            "--release" => release = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    let targets = match targets {
        Some(t) => t,
        None if cfg!(windows) => vec![RuntimeTarget::WindowsX64],
        None => vec![RuntimeTarget::LinuxX64, RuntimeTarget::WindowsX64],
    };
    Ok(Some(Options {
        targets,
        modes,
        release,
    }))
}

/// Entry point: `cargo xtask runtime [args]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let Some(opts) = parse_args(args)? else {
        return Ok(());
    };
    let root = workspace_root();
    let out_root = target_dir(&root).join("runtime");
    for &target in &opts.targets {
        check_toolchain(target)?;
        for &mode in &opts.modes {
            let files = build(&root, &out_root, target, mode, opts.release)?;
            for f in files {
                let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
                println!("  {} ({} KiB)", f.display(), size.div_ceil(1024));
            }
        }
    }
    Ok(())
}

/// Builds one form and copies its files (and the C header) into
/// `<out_root>/<target>/<mode>/`. Returns the written library files.
pub fn build(
    root: &Path,
    out_root: &Path,
    target: RuntimeTarget,
    mode: Mode,
    release: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let f = form(target, mode);
    let build_dir = out_root
        .join(".build")
        .join(format!("{}-{}", target.name(), mode.name()));
    println!(
        "==> meteor-alloc runtime: {} {} ({}, features {})",
        target.name(),
        mode.name(),
        f.crate_type,
        f.features
    );
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .env("CARGO_TARGET_DIR", &build_dir)
        // one object with everything inlined across the crate (and `core`)
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .args([
            "rustc",
            "-p",
            "meteor-alloc",
            "--lib",
            "--target",
            target.triple(),
            "--crate-type",
            f.crate_type,
        ])
        .args(["--features", f.features]);
    if release {
        cmd.arg("--release");
    }
    cmd.args(["--", "-C", "panic=abort", "-C", "strip=debuginfo"]);
    let status = cmd
        .status()
        .with_context(|| format!("running {}", cargo()))?;
    if !status.success() {
        bail!(
            "building the {} {} runtime failed ({status})",
            target.name(),
            mode.name()
        );
    }
    let profile = if release { "release" } else { "debug" };
    let produced = build_dir.join(target.triple()).join(profile);
    let dest = out_root.join(target.name()).join(mode.name());
    std::fs::create_dir_all(&dest).with_context(|| format!("creating {}", dest.display()))?;
    let mut written = Vec::new();
    for (from, to) in f.outputs {
        let src = produced.join(from);
        let dst = dest.join(to);
        std::fs::copy(&src, &dst)
            .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        written.push(dst);
    }
    let header = root.join("allocator/include/meteor_alloc.h");
    std::fs::copy(&header, dest.join("meteor_alloc.h"))
        .with_context(|| format!("copying {}", header.display()))?;
    Ok(written)
}

/// Fails early, with the fix, when a cross target's toolchain is missing.
fn check_toolchain(target: RuntimeTarget) -> anyhow::Result<()> {
    let host_is = |t: RuntimeTarget| match t {
        RuntimeTarget::LinuxX64 => cfg!(all(target_os = "linux", target_arch = "x86_64")),
        RuntimeTarget::WindowsX64 => cfg!(all(windows, target_env = "gnu", target_arch = "x86_64")),
    };
    if host_is(target) {
        return Ok(());
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    if let Ok(out) = installed {
        let list = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && !list.lines().any(|l| l.trim() == target.triple()) {
            bail!(
                "the Rust target {} is not installed: run `rustup target add {}` (or pass --target {})",
                target.triple(),
                target.triple(),
                if target == RuntimeTarget::LinuxX64 {
                    "windows-x64"
                } else {
                    "linux-x64"
                }
            );
        }
    }
    if target == RuntimeTarget::WindowsX64
        && cfg!(not(windows))
        && which("x86_64-w64-mingw32-gcc").is_none()
    {
        bail!(
            "x86_64-w64-mingw32-gcc not found: install MinGW (Debian: apt-get install gcc-mingw-w64-x86-64) or pass --target linux-x64"
        );
    }
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn arguments_parse() {
        let o = parse_args(&args(&["--target", "linux-x64", "--mode", "dll"]))
            .unwrap()
            .unwrap();
        assert_eq!(o.targets, vec![RuntimeTarget::LinuxX64]);
        assert_eq!(o.modes, vec![Mode::Dll]);
        assert!(o.release);
        let o = parse_args(&args(&["--debug"])).unwrap().unwrap();
        assert!(!o.release);
        assert_eq!(o.modes.len(), 2);
        assert!(parse_args(&args(&["--target", "mac"])).is_err());
        assert!(parse_args(&args(&["--mode"])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
        assert!(parse_args(&args(&["--help"])).unwrap().is_none());
    }

    #[test]
    fn forms_match_the_modes() {
        assert_eq!(
            form(RuntimeTarget::WindowsX64, Mode::Static).features,
            "runtime"
        );
        assert!(
            form(RuntimeTarget::WindowsX64, Mode::Dll)
                .features
                .contains("dll")
        );
        assert_eq!(
            form(RuntimeTarget::LinuxX64, Mode::Dll).crate_type,
            "cdylib"
        );
        assert_eq!(form(RuntimeTarget::WindowsX64, Mode::Dll).outputs.len(), 2);
    }
}
