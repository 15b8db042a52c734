//! Finding the standard library's sources.
//!
//! Order: the `METEOR_STD` environment variable (a directory), then `<exe dir>/../lib/vox`
//! (the layout of a `cargo xtask dist` bundle), then the copy embedded at build time by
//! `meteor-std`. A directory holds `std/<module>.vx` for module `std.<module>`.

use crate::source::{FileOrigin, SourceFile};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the std sources of a compilation come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StdLocation {
    /// Compiled into the `meteor` binary.
    Embedded,
    /// A directory on disk.
    Dir(PathBuf),
}

impl fmt::Display for StdLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StdLocation::Embedded => f.write_str("embedded"),
            StdLocation::Dir(d) => write!(f, "{}", d.display()),
        }
    }
}

impl StdLocation {
    /// The std to use for this process (see the module docs for the search order).
    pub fn discover() -> StdLocation {
        if let Some(dir) = std::env::var_os("METEOR_STD") {
            return StdLocation::Dir(PathBuf::from(dir));
        }
        if let Ok(exe) = std::env::current_exe()
            && let Some(bin) = exe.parent()
        {
            let dir = bin.join("..").join("lib").join("vox");
            if dir.join("std").is_dir() {
                return StdLocation::Dir(dir.canonicalize().unwrap_or(dir));
            }
        }
        StdLocation::Embedded
    }

    /// Reads every std source file. Paths are relative to the std root (`std/io.vx`).
    pub fn load(&self) -> Result<Vec<SourceFile>, String> {
        match self {
            StdLocation::Embedded => Ok(meteor_std::FILES
                .iter()
                .map(|(path, text)| SourceFile::new(*path, *text, FileOrigin::Std))
                .collect()),
            StdLocation::Dir(root) => {
                let mut paths = Vec::new();
                collect_vx(root, &mut paths)
                    .map_err(|e| format!("cannot read std directory {}: {e}", root.display()))?;
                if paths.is_empty() {
                    return Err(format!(
                        "std directory {} holds no .vx files",
                        root.display()
                    ));
                }
                paths.sort();
                paths
                    .into_iter()
                    .map(|p| {
                        let text = std::fs::read_to_string(&p)
                            .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                        let rel = p
                            .strip_prefix(root)
                            .unwrap_or(&p)
                            .to_string_lossy()
                            .replace('\\', "/");
                        Ok(SourceFile::new(rel, text, FileOrigin::Std))
                    })
                    .collect()
            }
        }
    }
}

fn collect_vx(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_vx(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "vx") {
            out.push(path);
        }
    }
    Ok(())
}
