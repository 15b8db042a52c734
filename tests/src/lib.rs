//! Support code for the corpus runner (`src/corpus.rs`, a `harness = false` test).
//!
//! # Code map
//! - [`spec`]: a corpus test read from its HAR file (sources, `<stdout>`, `<exit>`,
//!   `<error>`, `<targets>`, `<imports>`) and the comparison rules.
//! - [`process`]: child processes with a time limit; exit codes, signals, Windows
//!   exceptions and Wine crash reports.
//! - [`binary`]: goblin checks of produced ELF and PE executables.
//! - [`runner`]: the forms (`jit::…`, `exe::linux-x64::…`, `exe::windows-x64::…`), finding
//!   or building `meteor`, Wine, and running one test in one form.
//!
//! # Invariants
//! - Every trial writes only below `<target dir>/corpus/<form>/<area>/<name>/`, so
//!   trials run in parallel without sharing files.
//! - Every child process has a time limit; a crash or timeout fails that trial only.
//! - A malformed HAR file is a failed trial naming the file and line, never a panic.
//!
//! # Boundaries
//! The runner drives the `meteor` binary as a process (the CLI contract in README.md);
//! it uses `meteor-compiler` only for the HAR parser and target names, and `meteor-std`
//! only to know which functions std declares.

pub mod binary;
pub mod process;
pub mod runner;
pub mod spec;

use std::path::{Path, PathBuf};

/// Every `*.har` file below `root`, sorted, as (path, `area/name`).
pub fn find_har_files(root: &Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    collect(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "har") {
            let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let name = rel.to_string_lossy().replace('\\', "/");
            out.push((path, name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_corpus_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let files = super::find_har_files(&root).unwrap();
        assert!(
            files
                .iter()
                .all(|(p, n)| p.is_file() && !n.ends_with(".har") && n.contains('/'))
        );
    }
}
