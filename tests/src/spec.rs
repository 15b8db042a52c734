//! One corpus test: its sources and expectations, read from a HAR bundle.
//!
//! Expectation sections: `<stdout>` (what the program prints), `<exit>` (its exit code,
//! default 0), `<error>` (the exact stderr of a compilation that must fail; excludes
//! `<stdout>`/`<exit>`), `<targets>` (a whitespace-separated subset of `linux-x64
//! windows-x64`; default both), `<imports>` (the exact set of `dll!Function` a Windows
//! executable imports). Any other `<...>` section is an error, so a typo cannot silently
//! turn an expectation off.

use meteor_compiler::Target;
use meteor_compiler::source::parse_har;
use std::collections::BTreeSet;

/// What a test expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The program compiles, runs, prints `stdout` and exits with `exit`.
    Run { stdout: String, exit: i64 },
    /// Compilation fails with exactly this stderr (exit code 1).
    CompileError { stderr: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusTest {
    /// `area/name`, the HAR path relative to the corpus root without `.har`.
    pub name: String,
    /// Names of the HAR's source entries, in order.
    pub sources: Vec<(String, String)>,
    pub expect: Expect,
    /// The targets the test applies to, in `Target::ALL` order.
    pub targets: Vec<Target>,
    /// Exact set of `dll!Function` imports of the Windows executable, dll in lower case.
    pub imports: Option<BTreeSet<String>>,
}

/// Parses a target name as used in `<targets>` and on the command line.
pub fn parse_target(name: &str) -> Option<Target> {
    Target::ALL.into_iter().find(|t| t.name() == name)
}

/// Normalises one `dll!Function` import name: the DLL part in lower case.
pub fn normalize_import(import: &str) -> Option<String> {
    let (dll, func) = import.split_once('!')?;
    if dll.is_empty() || func.is_empty() || func.contains('!') {
        return None;
    }
    Some(format!("{}!{func}", dll.to_ascii_lowercase()))
}

impl CorpusTest {
    /// Reads a test from the text of its HAR file. `name` is `area/name`.
    pub fn parse(name: &str, har: &str) -> Result<CorpusTest, String> {
        let entries = parse_har(har).map_err(|e| format!("{name}.har: {e}"))?;
        let mut sources = Vec::new();
        let mut stdout = None;
        let mut exit = None;
        let mut error = None;
        let mut targets = None;
        let mut imports = None;
        for e in &entries {
            let err = |msg: String| format!("{name}.har:{}: {msg}", e.line);
            let Some(section) = e.expectation_name() else {
                if e.is_source() {
                    sources.push((e.name.clone(), e.text.clone()));
                    continue;
                }
                return Err(err(format!(
                    "`{}` is neither a Vox source (.vx) nor a <section>",
                    e.name
                )));
            };
            match section {
                "stdout" => stdout = Some(e.text.clone()),
                "exit" => {
                    let t = e.text.trim();
                    let code = t
                        .parse::<i64>()
                        .map_err(|_| err(format!("<exit> must be an integer, found `{t}`")))?;
                    exit = Some(code);
                }
                "error" => error = Some(e.text.clone()),
                "targets" => {
                    let mut set = Vec::new();
                    for word in e.text.split_whitespace() {
                        let t = parse_target(word).ok_or_else(|| {
                            err(format!(
                                "unknown target `{word}` (known: linux-x64 windows-x64)"
                            ))
                        })?;
                        set.push(t);
                    }
                    if set.is_empty() {
                        return Err(err("<targets> names no target".into()));
                    }
                    targets = Some(
                        Target::ALL
                            .into_iter()
                            .filter(|t| set.contains(t))
                            .collect(),
                    );
                }
                "imports" => {
                    let mut set = BTreeSet::new();
                    for word in e.text.split_whitespace() {
                        let norm = normalize_import(word).ok_or_else(|| {
                            err(format!("<imports> entries look like `kernel32.dll!ExitProcess`, found `{word}`"))
                        })?;
                        set.insert(norm);
                    }
                    imports = Some(set);
                }
                other => {
                    return Err(err(format!(
                        "unknown section <{other}> (known: stdout exit error targets imports)"
                    )));
                }
            }
        }
        if sources.is_empty() {
            return Err(format!("{name}.har: no Vox source entry"));
        }
        let expect = match error {
            Some(stderr) => {
                if stdout.is_some() || exit.is_some() {
                    return Err(format!(
                        "{name}.har: <error> cannot be combined with <stdout> or <exit>"
                    ));
                }
                if stderr.trim().is_empty() {
                    return Err(format!("{name}.har: <error> is empty"));
                }
                Expect::CompileError { stderr }
            }
            None => Expect::Run {
                stdout: stdout.unwrap_or_default(),
                exit: exit.unwrap_or(0),
            },
        };
        Ok(CorpusTest {
            name: name.to_string(),
            sources,
            expect,
            targets: targets.unwrap_or_else(|| Target::ALL.to_vec()),
            imports,
        })
    }

    pub fn applies_to(&self, target: Target) -> bool {
        self.targets.contains(&target)
    }

    /// True when `func` is declared as a function in the test's sources or in std (the
    /// name appears as a whole word followed by `(`), or is one the compiler's synthesized
    /// process entry calls. Used to check that a Windows executable imports nothing the
    /// program did not ask for.
    pub fn declares_function(&self, func: &str) -> bool {
        ENTRY_IMPORTS.contains(&func)
            || self
                .sources
                .iter()
                .any(|(_, text)| mentions_call_like(text, func))
            || meteor_std::FILES
                .iter()
                .any(|(_, text)| mentions_call_like(text, func))
    }
}

/// Functions the process entry synthesized by the compiler imports on windows-x64
/// (`mainCRTStartup` calls `main`, then `kernel32!ExitProcess`).
pub const ENTRY_IMPORTS: &[&str] = &["ExitProcess"];

/// Whether `text` contains `name` as a whole identifier followed (after blanks) by `(`.
pub fn mentions_call_like(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let start = from + pos;
        let end = start + name.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c));
        let after = text[end..].trim_start_matches([' ', '\t']);
        if before_ok && after.starts_with('(') {
            return true;
        }
        from = end;
    }
    false
}

/// Normalises diagnostics text for comparison: `\r\n` → `\n`, trailing whitespace removed
/// from every line, and trailing blank lines removed.
pub fn normalize_stderr(text: &str) -> String {
    let unified = text.replace("\r\n", "\n");
    let lines: Vec<&str> = unified.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

/// Normalises program output for comparison: `\r\n` → `\n` and trailing whitespace at the
/// very end removed (a HAR section always ends with a line break; output may not).
pub fn normalize_stdout(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_string()
}

/// Whether an actual exit code matches the expected `<exit>` value. `width_bits` is how
/// much of the code the OS keeps: 8 on Unix (and under Wine), 32 on Windows.
pub fn exit_matches(expected: i64, actual: i32, width_bits: u32) -> bool {
    let mask: i64 = if width_bits >= 32 {
        0xFFFF_FFFF
    } else {
        (1 << width_bits) - 1
    };
    (expected & mask) == (i64::from(actual) & mask)
}

/// A readable explanation of how `actual` differs from `expected` (both already
/// normalised), naming the first differing line.
pub fn describe_difference(what: &str, expected: &str, actual: &str) -> String {
    let exp: Vec<&str> = expected.split('\n').collect();
    let act: Vec<&str> = actual.split('\n').collect();
    let mut line = 0;
    while line < exp.len() && line < act.len() && exp[line] == act[line] {
        line += 1;
    }
    let e = exp
        .get(line)
        .map_or("<end of text>".to_string(), |l| format!("{l:?}"));
    let a = act
        .get(line)
        .map_or("<end of text>".to_string(), |l| format!("{l:?}"));
    format!(
        "{what} differs at line {}:\n  expected: {e}\n  actual:   {a}\n--- expected {what} ---\n{expected}\n--- actual {what} ---\n{actual}\n---",
        line + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_run_test() {
        let t = CorpusTest::parse(
            "basics/fib",
            "--- main.vx\ni32 main() { return 3; }\n--- <stdout>\n55\n--- <exit>\n109\n",
        )
        .unwrap();
        assert_eq!(t.sources.len(), 1);
        assert_eq!(
            t.expect,
            Expect::Run {
                stdout: "55\n".into(),
                exit: 109
            }
        );
        assert_eq!(t.targets, Target::ALL.to_vec());
        assert_eq!(t.imports, None);
    }

    #[test]
    fn defaults_exit_zero_and_empty_stdout() {
        let t = CorpusTest::parse("a/b", "--- main.vx\nvoid main() {}\n").unwrap();
        assert_eq!(
            t.expect,
            Expect::Run {
                stdout: String::new(),
                exit: 0
            }
        );
    }

    #[test]
    fn parses_error_targets_and_imports() {
        let har = "--- main.vx\nx\n--- lib.vx\nmodule lib;\n--- <error>\nmain.vx:1:1: Error: e\n--- <targets>\n windows-x64\n--- <imports>\nKERNEL32.dll!ExitProcess\n";
        let t = CorpusTest::parse("errors/x", har).unwrap();
        assert_eq!(t.sources.len(), 2);
        assert_eq!(
            t.expect,
            Expect::CompileError {
                stderr: "main.vx:1:1: Error: e\n".into()
            }
        );
        assert_eq!(t.targets, vec![Target::WindowsX64]);
        assert!(!t.applies_to(Target::LinuxX64));
        assert_eq!(
            t.imports,
            Some(["kernel32.dll!ExitProcess".to_string()].into())
        );
    }

    #[test]
    fn rejects_bad_sections() {
        let bad = [
            "--- main.vx\nx\n--- <stdot>\n1\n",
            "--- main.vx\nx\n--- <exit>\nabc\n",
            "--- main.vx\nx\n--- <targets>\nmac-arm\n",
            "--- main.vx\nx\n--- <targets>\n\n",
            "--- main.vx\nx\n--- <error>\nE\n--- <exit>\n1\n",
            "--- main.vx\nx\n--- <error>\n\n",
            "--- main.vx\nx\n--- <imports>\nExitProcess\n",
            "--- <exit>\n1\n",
            "--- data.txt\n1\n",
        ];
        for har in bad {
            assert!(CorpusTest::parse("a/b", har).is_err(), "accepted: {har:?}");
        }
        let err = CorpusTest::parse("a/b", "--- main.vx\nx\n--- <stdot>\n1\n").unwrap_err();
        assert_eq!(
            err,
            "a/b.har:3: unknown section <stdot> (known: stdout exit error targets imports)"
        );
    }

    #[test]
    fn finds_declared_functions() {
        let t = CorpusTest::parse(
            "a/b",
            "--- main.vx\n@extern(module, \"kernel32\")\nu32 GetCurrentProcessId ();\n",
        )
        .unwrap();
        assert!(t.declares_function("GetCurrentProcessId"));
        assert!(t.declares_function("WriteFile"), "declared in std/io.vx");
        assert!(!t.declares_function("CurrentProcessId"));
        assert!(!t.declares_function("VirtualAlloc"));
        assert!(mentions_call_like("x = f\t(1)", "f"));
        assert!(!mentions_call_like("ff(1) f_(2) f", "f"));
    }

    #[test]
    fn normalises_and_compares() {
        assert_eq!(normalize_stderr("a  \r\nb\t\n\n\n"), "a\nb");
        assert_eq!(normalize_stderr("  ^ \n"), "  ^");
        assert_eq!(normalize_stdout("55\r\n\n"), "55");
        assert_eq!(normalize_stdout(" a \nb"), " a \nb");
        assert!(exit_matches(109, 109, 8));
        assert!(exit_matches(-1, 255, 8));
        assert!(exit_matches(300, 44, 8));
        assert!(!exit_matches(300, 44, 32));
        assert!(exit_matches(-1, -1, 32));
        assert!(!exit_matches(0, 1, 8));
        let d = describe_difference("stdout", "a\nb", "a\nc\nd");
        assert!(
            d.starts_with("stdout differs at line 2:\n  expected: \"b\"\n  actual:   \"c\""),
            "{d}"
        );
        let d = describe_difference("stdout", "a", "a\nb");
        assert!(d.contains("expected: <end of text>"), "{d}");
    }
}
