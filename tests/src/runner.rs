//! Running one corpus test in one form: the `meteor` binary, Wine, and the checks.

use crate::binary;
use crate::process::{self, Output, Termination};
use crate::spec::{self, CorpusTest, Expect};
use libtest_mimic::Completion;
use meteor_compiler::Target;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// How a test program is compiled and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `meteor run`: compiled for the JIT and run inside the `meteor` process (host target).
    Jit,
    /// `meteor build --target T`, checked with goblin, then run (Windows ones under Wine
    /// on Linux).
    Exe(Target),
}

impl Form {
    pub const ALL: [Form; 3] = [
        Form::Jit,
        Form::Exe(Target::LinuxX64),
        Form::Exe(Target::WindowsX64),
    ];

    /// The target the form compiles for; the JIT form counts as the host's target.
    pub fn target(self) -> Target {
        match self {
            Form::Jit => Target::host(),
            Form::Exe(t) => t,
        }
    }

    /// `jit::linux-x64::<test>` / `exe::windows-x64::<test>`.
    pub fn trial_name(self, test: &str) -> String {
        format!("{}::{}::{test}", self.kind(), self.target().name())
    }

    fn kind(self) -> &'static str {
        match self {
            Form::Jit => "jit",
            Form::Exe(_) => "exe",
        }
    }

    /// Directory name for this form's scratch files.
    fn dir_name(self) -> String {
        format!("{}-{}", self.kind(), self.target().name())
    }
}

/// True when the environment says this is a CI run (`CI` set to anything but empty,
/// `0` or `false`).
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// A Wine installation with a prefix of our own.
#[derive(Clone, Debug)]
pub struct Wine {
    pub loader: PathBuf,
    pub prefix: PathBuf,
}

impl Wine {
    /// A command running `exe` under Wine, quietly, with a crash ending the process
    /// (no debugger) so the exit code and stderr report it.
    pub fn command(&self, exe: &Path) -> Command {
        let mut cmd = Command::new(&self.loader);
        cmd.arg(exe);
        self.configure(&mut cmd);
        cmd
    }

    fn configure(&self, cmd: &mut Command) {
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No debugger on a crash, no Mono/Gecko installer prompts.
            .env("WINEDLLOVERRIDES", "winedbg.exe=d;mscoree=d;mshtml=d")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
    }
}

/// Finds the Wine loader: env `METEOR_WINE`, `/usr/lib/wine/wine64`, then `wine64` and
/// `wine` on `PATH`.
pub fn find_wine_loader() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("METEOR_WINE") {
        return Some(PathBuf::from(p));
    }
    let fixed = PathBuf::from("/usr/lib/wine/wine64");
    if fixed.is_file() {
        return Some(fixed);
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["wine64", "wine"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Shared state of one corpus run: where things are, and the one-time preparations
/// (building `meteor`, warming up Wine), done lazily by the first trial that needs them.
pub struct Context {
    /// Scratch root: `<target dir>/corpus`.
    pub work_dir: PathBuf,
    /// The directory of the test binary's profile (`<target dir>/debug`).
    profile_dir: PathBuf,
    pub timeout: Duration,
    meteor: OnceLock<Result<PathBuf, String>>,
    wine: OnceLock<Result<Wine, String>>,
}

impl Context {
    /// A context for the test binary at `exe` (`<target dir>/<profile>/deps/corpus-…`).
    pub fn for_test_binary(exe: &Path) -> Result<Context, String> {
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| format!("cannot find the target directory from {}", exe.display()))?
            .to_path_buf();
        let target_dir = profile_dir.parent().unwrap_or(&profile_dir).to_path_buf();
        let timeout = std::env::var("METEOR_TEST_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map_or(Duration::from_secs(20), Duration::from_secs);
        Ok(Context {
            work_dir: target_dir.join("corpus"),
            profile_dir,
            timeout,
            meteor: OnceLock::new(),
            wine: OnceLock::new(),
        })
    }

    /// The `meteor` binary: env `METEOR_BIN`, else built with cargo in the test
    /// binary's profile and target directory.
    pub fn meteor(&self) -> Result<&Path, String> {
        self.meteor
            .get_or_init(|| self.locate_meteor())
            .as_deref()
            .map_err(Clone::clone)
    }

    fn locate_meteor(&self) -> Result<PathBuf, String> {
        if let Some(p) = std::env::var_os("METEOR_BIN") {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(format!("METEOR_BIN={} does not exist", p.display()))
            };
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("Cargo.toml");
        let target_dir = self.profile_dir.parent().unwrap_or(&self.profile_dir);
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "meteor-compiler",
            "--bin",
            "meteor",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target_dir);
        match self.profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                cmd.arg("--release");
            }
            Some(other) => {
                cmd.args(["--profile", other]);
            }
        }
        let out = process::run(
            cmd,
            Duration::from_secs(1800),
            &self.work_dir.join("build-meteor"),
        )?;
        if out.exit_code() != Some(0) {
            return Err(format!(
                "building meteor failed ({}); set METEOR_BIN to use a prebuilt binary\n{}",
                out.termination, out.stderr
            ));
        }
        let exe = self
            .profile_dir
            .join(format!("meteor{}", std::env::consts::EXE_SUFFIX));
        if exe.is_file() {
            Ok(exe)
        } else {
            Err(format!(
                "cargo built meteor, but {} does not exist; set METEOR_BIN",
                exe.display()
            ))
        }
    }

    /// Wine with a warmed-up prefix under the target directory.
    pub fn wine(&self) -> Result<&Wine, String> {
        self.wine
            .get_or_init(|| self.prepare_wine())
            .as_ref()
            .map_err(Clone::clone)
    }

    fn prepare_wine(&self) -> Result<Wine, String> {
        let loader = find_wine_loader().ok_or_else(|| {
            "Wine is not installed (looked for $METEOR_WINE, /usr/lib/wine/wine64, wine64 and wine on PATH)"
                .to_string()
        })?;
        let wine = Wine {
            loader,
            prefix: self.work_dir.join("wineprefix"),
        };
        fs::create_dir_all(&wine.prefix)
            .map_err(|e| format!("cannot create {}: {e}", wine.prefix.display()))?;
        // The first start of a prefix creates it; doing that once, before any test
        // program runs, avoids races between parallel first starts.
        let mut cmd = Command::new(&wine.loader);
        cmd.args(["wineboot", "--init"]);
        wine.configure(&mut cmd);
        let out = process::run(
            cmd,
            Duration::from_secs(300),
            &self.work_dir.join("wine-warmup"),
        )?;
        if out.exit_code() != Some(0) {
            return Err(format!(
                "warming up Wine failed ({}):\n{}",
                out.termination, out.stderr
            ));
        }
        Ok(wine)
    }
}

/// Runs `test` in `form`; `har` is the test file.
pub fn run_trial(
    ctx: &Context,
    test: &CorpusTest,
    har: &Path,
    form: Form,
) -> Result<Completion, String> {
    let meteor = ctx.meteor()?;
    let scratch = ctx.work_dir.join(form.dir_name()).join(&test.name);
    match form {
        Form::Jit => {
            let mut cmd = Command::new(meteor);
            cmd.arg("run").arg(har);
            let out = run_logged(cmd, ctx.timeout, &scratch.join("run"))?;
            match &test.expect {
                Expect::Run { stdout, exit } => {
                    check_run(&out, stdout, *exit, exit_width_bits(Target::host()), None)?;
                }
                Expect::CompileError { stderr } => check_compile_error(&out, stderr)?,
            }
            Ok(Completion::Completed)
        }
        Form::Exe(target) => run_exe_form(ctx, meteor, test, har, target, &scratch),
    }
}

fn run_exe_form(
    ctx: &Context,
    meteor: &Path,
    test: &CorpusTest,
    har: &Path,
    target: Target,
    scratch: &Path,
) -> Result<Completion, String> {
    let exe = scratch.join(match target {
        Target::LinuxX64 => "program",
        Target::WindowsX64 => "program.exe",
    });
    if exe.exists() {
        fs::remove_file(&exe).map_err(|e| format!("cannot remove old {}: {e}", exe.display()))?;
    }
    let mut cmd = Command::new(meteor);
    cmd.arg("build")
        .arg(har)
        .arg("-o")
        .arg(&exe)
        .args(["--target", target.name()]);
    let out = run_logged(cmd, ctx.timeout, &scratch.join("build"))?;
    let (want_stdout, want_exit) = match &test.expect {
        Expect::CompileError { stderr } => {
            check_compile_error(&out, stderr)?;
            if exe.exists() {
                return Err(format!("a failed build still wrote {}", exe.display()));
            }
            return Ok(Completion::Completed);
        }
        Expect::Run { stdout, exit } => (stdout, *exit),
    };
    if let Some(crash) = process::crash_description(&out.termination) {
        return Err(format!(
            "`meteor build` {crash}\n{}",
            stderr_block(&out.stderr)
        ));
    }
    if out.exit_code() != Some(0) {
        return Err(format!(
            "`meteor build` failed ({})\n{}",
            out.termination,
            stderr_block(&out.stderr)
        ));
    }
    let bytes = fs::read(&exe)
        .map_err(|e| format!("`meteor build` succeeded but {}: {e}", exe.display()))?;
    match target {
        Target::LinuxX64 => binary::check_elf(&bytes)?,
        Target::WindowsX64 => {
            binary::check_pe(
                &bytes,
                &|f| test.declares_function(f),
                test.imports.as_ref(),
            )?;
        }
    }
    let host = Target::host();
    let (cmd, wine) = match (target, host) {
        (t, h) if t == h => (Command::new(&exe), None),
        (Target::WindowsX64, Target::LinuxX64) => match ctx.wine() {
            Ok(wine) => (wine.command(&exe), Some(wine)),
            Err(why) if is_ci() => return Err(format!("{why}; CI is set, so this is a failure")),
            Err(why) => {
                return Ok(Completion::ignored_with(format!(
                    "built and checked, not run: {why}"
                )));
            }
        },
        _ => {
            return Ok(Completion::ignored_with(format!(
                "built and checked, not run: {} executables cannot run on a {} host",
                target.name(),
                host.name()
            )));
        }
    };
    let out = run_logged(cmd, ctx.timeout, &scratch.join("run"))?;
    let width = if wine.is_some() {
        8
    } else {
        exit_width_bits(target)
    };
    check_run(&out, want_stdout, want_exit, width, wine.map(|_| "Wine"))
        .map_err(|e| format!("running {}: {e}", exe.display()))?;
    Ok(Completion::Completed)
}

/// How many bits of an exit code the host keeps.
fn exit_width_bits(target: Target) -> u32 {
    match target {
        Target::LinuxX64 => 8,
        Target::WindowsX64 => 32,
    }
}

fn run_logged(cmd: Command, timeout: Duration, scratch: &Path) -> Result<Output, String> {
    let line = command_line(&cmd);
    let out = process::run(cmd, timeout, scratch)?;
    if let Termination::TimedOut(d) = out.termination {
        return Err(format!(
            "`{line}` timed out after {} s (set METEOR_TEST_TIMEOUT to change the limit)\n{}",
            d.as_secs(),
            stderr_block(&out.stderr)
        ));
    }
    Ok(out)
}

fn command_line(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn stderr_block(stderr: &str) -> String {
    const LIMIT: usize = 6000;
    if stderr.trim().is_empty() {
        return "(stderr is empty)".into();
    }
    let mut text = stderr.to_string();
    if text.len() > LIMIT {
        let mut cut = LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n[... stderr cut ...]");
    }
    format!("--- stderr ---\n{}\n---", text.trim_end())
}

/// Checks a program run against `<stdout>` and `<exit>`. `emulator` names Wine when the
/// program ran under it (then a crash shows up as a `wine: Unhandled` line on stderr).
fn check_run(
    out: &Output,
    want_stdout: &str,
    want_exit: i64,
    width: u32,
    emulator: Option<&str>,
) -> Result<(), String> {
    if let Some(crash) = process::crash_description(&out.termination) {
        return Err(format!(
            "the program {crash}\n{}",
            stderr_block(&out.stderr)
        ));
    }
    if let (Some(name), Some(what)) = (emulator, process::wine_crash(&out.stderr)) {
        let code = out.exit_code().unwrap_or(0);
        return Err(format!(
            "the program crashed under {name}: unhandled {what} (exit code {code}, the low byte of the exception code)\n{}",
            stderr_block(&out.stderr)
        ));
    }
    let code = out.exit_code().unwrap_or(-1);
    let mut problems = String::new();
    if !spec::exit_matches(want_exit, code, width) {
        let _ = writeln!(problems, "exit code: expected {want_exit}, got {code}");
    }
    let (want, got) = (
        spec::normalize_stdout(want_stdout),
        spec::normalize_stdout(&out.stdout),
    );
    if want != got {
        let _ = writeln!(
            problems,
            "{}",
            spec::describe_difference("stdout", &want, &got)
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{problems}{}", stderr_block(&out.stderr)))
    }
}

/// Checks a compilation that must fail: exit code 1 and exactly the expected stderr.
fn check_compile_error(out: &Output, want_stderr: &str) -> Result<(), String> {
    if let Some(crash) = process::crash_description(&out.termination) {
        return Err(format!(
            "the compiler {crash} instead of reporting an error\n{}",
            stderr_block(&out.stderr)
        ));
    }
    let mut problems = String::new();
    if out.exit_code() != Some(1) {
        let _ = writeln!(
            problems,
            "expected exit code 1 (compile error), got {}",
            out.termination
        );
    }
    let (want, got) = (
        spec::normalize_stderr(want_stderr),
        spec::normalize_stderr(&out.stderr),
    );
    if want != got {
        let _ = writeln!(
            problems,
            "{}",
            spec::describe_difference("stderr", &want, &got)
        );
    }
    if !out.stdout.is_empty() && problems.is_empty() {
        let _ = writeln!(
            problems,
            "a failed compilation printed to stdout: {:?}",
            out.stdout
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.trim_end().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(t: Termination, stdout: &str, stderr: &str) -> Output {
        Output {
            termination: t,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn trial_names() {
        assert_eq!(
            Form::Exe(Target::WindowsX64).trial_name("ints/div"),
            "exe::windows-x64::ints/div"
        );
        assert_eq!(
            Form::Exe(Target::LinuxX64).trial_name("a/b"),
            "exe::linux-x64::a/b"
        );
        assert_eq!(
            Form::Jit.trial_name("a/b"),
            format!("jit::{}::a/b", Target::host().name())
        );
    }

    #[test]
    fn run_checks() {
        let ok = output(Termination::Exited(109), "55\r\n", "");
        check_run(&ok, "55\n", 109, 8, None).unwrap();
        let err = check_run(&ok, "56\n", 3, 8, None).unwrap_err();
        assert!(err.contains("exit code: expected 3, got 109"), "{err}");
        assert!(err.contains("stdout differs at line 1"), "{err}");
        let crashed = output(Termination::Signaled(11), "", "");
        assert!(
            check_run(&crashed, "", 0, 8, None)
                .unwrap_err()
                .contains("SIGSEGV")
        );
        let wine = output(
            Termination::Exited(5),
            "",
            "wine: Unhandled page fault on read access to 0 at address 1 (thread 0024), starting debugger...\n",
        );
        let err = check_run(&wine, "", 5, 8, Some("Wine")).unwrap_err();
        assert!(
            err.contains("crashed under Wine: unhandled page fault on read access"),
            "{err}"
        );
    }

    #[test]
    fn compile_error_checks() {
        let want = "main.vx:1:5: Error: undefined identifier `x`\nx\n^\n";
        let ok = output(
            Termination::Exited(1),
            "",
            "main.vx:1:5: Error: undefined identifier `x`  \r\nx\n^\n\n",
        );
        check_compile_error(&ok, want).unwrap();
        let wrong_code = output(Termination::Exited(0), "", want);
        assert!(
            check_compile_error(&wrong_code, want)
                .unwrap_err()
                .contains("expected exit code 1")
        );
        let wrong_text = output(
            Termination::Exited(1),
            "",
            "main.vx:1:6: Error: undefined identifier `x`\n",
        );
        let err = check_compile_error(&wrong_text, want).unwrap_err();
        assert!(err.contains("stderr differs at line 1"), "{err}");
        let panicked = output(Termination::Signaled(6), "", "");
        assert!(
            check_compile_error(&panicked, want)
                .unwrap_err()
                .contains("SIGABRT")
        );
    }
}
