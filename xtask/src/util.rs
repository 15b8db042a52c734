//! Shared helpers: where the workspace is, how to call cargo, how to time a step.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo that runs us (`$CARGO`), else `cargo` from `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The target directory: `$CARGO_TARGET_DIR`, else `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        None => root.join("target"),
    }
}

/// The workspace version (xtask shares it through `version.workspace = true`).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// `linux-x64` / `windows-x64` for the machine we run on.
pub fn host_target() -> anyhow::Result<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Ok("linux-x64"),
        ("windows", "x86_64") => Ok("windows-x64"),
        (os, arch) => {
            anyhow::bail!("unsupported host {os}-{arch}: Meteor targets linux-x64 and windows-x64")
        }
    }
}

/// Prints a step header, runs it, prints its duration and outcome.
pub fn timed<T>(name: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    println!("==> {name}");
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// `1.2 s`, `3 min 04 s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(format_duration(Duration::from_secs(184)), "3 min 04 s");
    }

    #[test]
    fn root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("xtask").is_dir());
    }
}
