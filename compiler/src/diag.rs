//! Diagnostics: errors with a source location, rendered as
//! `file:line:col: Error: message`, then the source line with a caret under the span,
//! drawn by the `annotate-snippets` crate (the renderer rustc and cargo use).

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
    out.push_str(&snippet(file, span, line));
}

/// The source line of `span` with a caret under it, rendered by `annotate-snippets`
/// (plain text, no colours): a gutter with the line number, the line, and `^` under the
/// span (its first line when it covers several).
fn snippet(file: &crate::source::SourceFile, span: Span, line: u32) -> String {
    use annotate_snippets::{Level, Renderer, Snippet};
    let raw = file.line_text(line);
    let line_start = file.line_col(span.start).1 as usize - 1;
    // Tabs are shown as four spaces (as annotate-snippets does); the span moves with them.
    let tabs_before = raw.as_bytes()[..line_start.min(raw.len())]
        .iter()
        .filter(|&&b| b == b'\t')
        .count();
    let text_owned = raw.replace('\t', "    ");
    let text = text_owned.as_str();
    let start = (line_start + 3 * tabs_before).min(text.len());
    let (end_line, _) = file.line_col(span.end.max(span.start));
    let end = if end_line == line {
        let inner = &raw.as_bytes()[line_start.min(raw.len())
            ..(line_start + span.end.saturating_sub(span.start) as usize).min(raw.len())];
        let tabs_inside = inner.iter().filter(|&&b| b == b'\t').count();
        (start + (span.end.saturating_sub(span.start)) as usize + 3 * tabs_inside).min(text.len())
    } else {
        text.len()
    };
    // A zero-width span (e.g. at the end of a line) still gets one caret.
    let (start, end) = if end > start {
        (start, end)
    } else if start < text.len() {
        (start, start + 1)
    } else {
        (text.len(), text.len())
    };
    // Byte offsets must fall on character boundaries.
    let fix = |mut i: usize| {
        while i > 0 && !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (start, end) = (fix(start), fix(end));
    let message = Level::Error.title("").snippet(
        Snippet::source(text)
            .line_start(line as usize)
            .annotation(Level::Error.span(start..end)),
    );
    // A terminal as wide as the line: the line is shown whole, never trimmed. (The
    // trimming path of annotate-snippets 0.11 underflows on long lines of multi-byte
    // characters — found by fuzzing, kept in compiler/tests/fuzz_regressions/.)
    let rendered = Renderer::plain()
        .term_width(text.len() + 256)
        .render(message)
        .to_string();
    // Drop the title line: the first line is printed in Meteor's own format.
    let mut lines: Vec<&str> = rendered.lines().skip(1).collect();
    while lines
        .last()
        .is_some_and(|l| l.trim_end().ends_with('|') && l.trim() == "|")
    {
        lines.pop();
    }
    let mut s = String::new();
    for l in lines {
        s.push_str(l.trim_end());
        s.push('\n');
    }
    s
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
            "main.vx:2:10: Error: undefined identifier `x`\n  |\n2 |   return x;\n  |          ^\n"
        );
    }

    #[test]
    fn multi_line_spans_tabs_and_line_ends() {
        let mut files = SourceFiles::default();
        let id = files.add(SourceFile::new(
            "m.vx",
            "void f() {\n\tx = 1 +\n\t\t2;\n}",
            FileOrigin::User,
        ));
        let mut d = Diagnostics::default();
        // From `x` to `2`: the caret covers the rest of the first line.
        d.error(Span::new(id, 12, 21), "bad");
        // An empty span at the end of the file.
        d.error(Span::new(id, 26, 26), "end");
        d.error_no_span("no location");
        assert_eq!(
            d.render(&files),
            "m.vx:2:2: Error: bad\n  |\n2 |     x = 1 +\n  |     ^^^^^^^\n\
             m.vx:4:2: Error: end\n  |\n4 | }\n  |  ^\n\
             Error: no location\n"
        );
    }
}
