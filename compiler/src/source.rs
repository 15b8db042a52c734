//! Source files of one compilation, and the HAR bundle format.
//!
//! A HAR file is a sequence of `--- name` headers each followed by the file's text.
//! Names in angle brackets (`--- <stdout>`) are expectation sections, not sources; a
//! name ending in `.vx` or without an extension is a Vox source module.

use std::fmt;

/// Index of a file in `SourceFiles`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// Where a source file came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOrigin {
    /// Given by the user (a file, or a member of a HAR bundle).
    User,
    /// Part of the standard library.
    Std,
}

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path shown in diagnostics (`main.vx`, `tests/x.har/main.vx`, `std/io.vx`).
    pub path: String,
    /// Module name derived from the path (`std/io.vx` → `std.io`), used when the file
    /// has no `module` declaration.
    pub default_module: String,
    pub text: String,
    pub origin: FileOrigin,
    /// Byte offset of the start of each line.
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>, origin: FileOrigin) -> Self {
        let path = path.into();
        let text = text.into();
        // Sized once (counting is cheaper than growing a large table step by step).
        let lines = text.bytes().filter(|&b| b == b'\n').count();
        let mut line_starts = Vec::with_capacity(lines + 1);
        line_starts.push(0u32);
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i as u32 + 1);
            }
        }
        let default_module = module_name_from_path(&path);
        SourceFile {
            path,
            default_module,
            text,
            origin,
            line_starts,
        }
    }

    /// 1-based line and column (in bytes) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        (line as u32 + 1, offset - self.line_starts[line] + 1)
    }

    /// Text of a 1-based line, without its line terminator.
    pub fn line_text(&self, line: u32) -> &str {
        let idx = (line as usize).saturating_sub(1);
        let start = self.line_starts.get(idx).copied().unwrap_or(0) as usize;
        let end = self
            .line_starts
            .get(idx + 1)
            .map(|&e| e as usize)
            .unwrap_or(self.text.len());
        self.text[start.min(self.text.len())..end.min(self.text.len())]
            .trim_end_matches(['\n', '\r'])
    }
}

/// `dir/sub/name.vx` → `dir.sub.name`.
pub fn module_name_from_path(path: &str) -> String {
    let p = path.strip_suffix(".vx").unwrap_or(path);
    p.trim_start_matches("./").replace(['/', '\\'], ".")
}

/// All source files of one compilation, user files first.
#[derive(Clone, Debug, Default)]
pub struct SourceFiles {
    pub files: Vec<SourceFile>,
}

impl SourceFiles {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
}

/// One `--- name` section of a HAR bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HarEntry {
    pub name: String,
    pub text: String,
    /// 1-based line of the header in the bundle.
    pub line: u32,
}

impl HarEntry {
    /// True for `<stdout>`-style expectation sections.
    pub fn is_expectation(&self) -> bool {
        self.name.starts_with('<') && self.name.ends_with('>')
    }

    /// The expectation name without brackets (`<stdout>` → `stdout`).
    pub fn expectation_name(&self) -> Option<&str> {
        self.name
            .strip_prefix('<')
            .and_then(|n| n.strip_suffix('>'))
    }

    /// True when the entry is a Vox source module: `.vx` or no extension at all.
    pub fn is_source(&self) -> bool {
        if self.is_expectation() {
            return false;
        }
        let base = self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name);
        base.ends_with(".vx") || !base.contains('.')
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HarError {
    pub line: u32,
    pub message: String,
}

impl fmt::Display for HarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Splits a HAR bundle into its entries. Text before the first header must be blank
/// (or `#` comment lines).
pub fn parse_har(text: &str) -> Result<Vec<HarEntry>, HarError> {
    let mut entries: Vec<HarEntry> = Vec::new();
    let mut current: Option<HarEntry> = None;
    for (i, raw_line) in text.split_inclusive('\n').enumerate() {
        let line_no = i as u32 + 1;
        let line = raw_line.trim_end_matches(['\n', '\r']);
        if let Some(rest) = line.strip_prefix("--- ") {
            let name = rest.trim();
            if name.is_empty() {
                return Err(HarError {
                    line: line_no,
                    message: "HAR header '---' without a file name".into(),
                });
            }
            if entries.iter().chain(current.iter()).any(|e| e.name == name) {
                return Err(HarError {
                    line: line_no,
                    message: format!("duplicate HAR entry '{name}'"),
                });
            }
            if let Some(done) = current.take() {
                entries.push(done);
            }
            current = Some(HarEntry {
                name: name.to_string(),
                text: String::new(),
                line: line_no,
            });
        } else if let Some(cur) = current.as_mut() {
            cur.text.push_str(raw_line);
        } else if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            return Err(HarError {
                line: line_no,
                message: "text before the first '--- name' header of a HAR bundle".into(),
            });
        }
    }
    entries.extend(current);
    if entries.is_empty() {
        return Err(HarError {
            line: 1,
            message: "HAR bundle has no '--- name' entries".into(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn har_splits_sources_and_expectations() {
        let har = "--- main.vx\ni32 main() { return 3; }\n--- lib\nvoid f() {}\n--- <exit>\n3\n";
        let e = parse_har(har).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].name, "main.vx");
        assert_eq!(e[0].text, "i32 main() { return 3; }\n");
        assert!(e[0].is_source() && e[1].is_source() && !e[2].is_source());
        assert_eq!(e[2].expectation_name(), Some("exit"));
        assert_eq!(e[2].line, 5);
    }

    #[test]
    fn har_rejects_junk_and_duplicates() {
        assert!(parse_har("hello\n--- a.vx\n").is_err());
        assert!(parse_har("--- a.vx\n--- a.vx\n").is_err());
        assert!(parse_har("").is_err());
    }

    #[test]
    fn line_col_and_module_names() {
        let f = SourceFile::new("std/io.vx", "ab\ncd\n", FileOrigin::Std);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 2));
        assert_eq!(f.line_text(2), "cd");
        assert_eq!(f.default_module, "std.io");
    }
}
