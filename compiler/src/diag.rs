//! Diagnostics: errors with a source location, rendered as
//! `file:line:col: Error: message`, then the source line and a caret.

use crate::source::{FileId, SourceFiles};

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: u32, end: u32) -> Self {
        Span { file, start, end }
    }

    /// The smallest span covering both (which must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `None` for errors that belong to no source location (e.g. a link error).
    pub span: Option<Span>,
    pub message: String,
}

/// All diagnostics of a compilation, in the order they were reported.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            span: Some(span),
            message: message.into(),
        });
    }

    pub fn error_no_span(&mut self, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            span: None,
            message: message.into(),
        });
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Renders every diagnostic; each ends with a newline.
    pub fn render(&self, sources: &SourceFiles) -> String {
        let mut out = String::new();
        for d in &self.errors {
            render_one(d, sources, &mut out);
        }
        out
    }
}

fn render_one(d: &Diagnostic, sources: &SourceFiles, out: &mut String) {
    use std::fmt::Write;
    let Some(span) = d.span else {
        let _ = writeln!(out, "Error: {}", d.message);
        return;
    };
    let file = sources.get(span.file);
    let (line, col) = file.line_col(span.start);
    let _ = writeln!(out, "{}:{}:{}: Error: {}", file.path, line, col, d.message);
    let text = file.line_text(line);
    let _ = writeln!(out, "{text}");
    // Caret under the span's first column; tabs are kept so the caret lines up.
    let mut pad = String::new();
    for ch in text.chars().take(col as usize - 1) {
        pad.push(if ch == '\t' { '\t' } else { ' ' });
    }
    let (end_line, _) = file.line_col(span.end.max(span.start));
    let width = if end_line == line {
        (span.end.saturating_sub(span.start)).max(1)
    } else {
        1
    };
    let _ = writeln!(out, "{pad}{}", "^".repeat(width as usize));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileOrigin, SourceFile};

    #[test]
    fn renders_location_line_and_caret() {
        let mut files = SourceFiles::default();
        let id = files.add(SourceFile::new(
            "main.vx",
            "i32 main() {\n  return x;\n}\n",
            FileOrigin::User,
        ));
        let mut d = Diagnostics::default();
        d.error(Span::new(id, 22, 23), "undefined identifier `x`");
        assert_eq!(
            d.render(&files),
            "main.vx:2:10: Error: undefined identifier `x`\n  return x;\n         ^\n"
        );
    }
}
