//! Running a child process with a time limit, and describing how it ended.
//!
//! The child's stdout and stderr go to files, not pipes: a grandchild that outlives the
//! child (Wine's `wineserver`, say) can then never make the runner wait for an EOF.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How a child process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Termination {
    /// It exited with this code (on Unix 0..=255; on Windows the full 32-bit code,
    /// reinterpreted as `i32`).
    Exited(i32),
    /// It was killed by a signal (Unix only).
    Signaled(i32),
    /// It ran longer than the time limit and was killed.
    TimedOut(Duration),
}

/// The result of one child process.
#[derive(Clone, Debug)]
pub struct Output {
    pub termination: Termination,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The exit code, when the process exited normally.
    pub fn exit_code(&self) -> Option<i32> {
        match self.termination {
            Termination::Exited(code) => Some(code),
            _ => None,
        }
    }
}

/// Runs `cmd` to completion or until `timeout`, capturing stdout and stderr through
/// files in `scratch` (created if missing). Standard input is empty.
pub fn run(mut cmd: Command, timeout: Duration, scratch: &Path) -> Result<Output, String> {
    fs::create_dir_all(scratch)
        .map_err(|e| format!("cannot create scratch directory {}: {e}", scratch.display()))?;
    let out_path = scratch.join("stdout.txt");
    let err_path = scratch.join("stderr.txt");
    let out_file = create(&out_path)?;
    let err_file = create(&err_path)?;
    cmd.stdin(Stdio::null()).stdout(out_file).stderr(err_file);
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let start = Instant::now();
    let mut sleep = Duration::from_millis(1);
    let termination = loop {
        match child.try_wait() {
            Ok(Some(status)) => break termination_of(status),
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for `{program}`: {e}")),
        }
        if start.elapsed() >= timeout {
            // The child may exit between try_wait and kill; both errors are harmless.
            let _ = child.kill();
            let _ = child.wait();
            break Termination::TimedOut(timeout);
        }
        thread::sleep(sleep);
        sleep = (sleep * 2).min(Duration::from_millis(20));
    };
    Ok(Output {
        termination,
        stdout: read_lossy(&out_path)?,
        stderr: read_lossy(&err_path)?,
    })
}

fn create(path: &PathBuf) -> Result<fs::File, String> {
    fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn read_lossy(path: &Path) -> Result<String, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(unix)]
fn termination_of(status: ExitStatus) -> Termination {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Termination::Exited(code),
        (None, Some(sig)) => Termination::Signaled(sig),
        // Stopped/continued are not reported by wait without WUNTRACED; treat as a signal 0.
        (None, None) => Termination::Signaled(0),
    }
}

#[cfg(not(unix))]
fn termination_of(status: ExitStatus) -> Termination {
    Termination::Exited(status.code().unwrap_or(-1))
}

/// The conventional name of a Unix signal number (`SIGSEGV`), or `signal N`.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    format!("{name} (signal {sig})")
}

/// The name of a Windows exception code (NTSTATUS) that ends a process when unhandled,
/// or `None` when `code` is not one (an ordinary exit code).
pub fn exception_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x8000_0003 => "EXCEPTION_BREAKPOINT",
        0xC000_0005 => "EXCEPTION_ACCESS_VIOLATION",
        0xC000_001D => "EXCEPTION_ILLEGAL_INSTRUCTION",
        0xC000_0025 => "EXCEPTION_NONCONTINUABLE_EXCEPTION",
        0xC000_008C => "EXCEPTION_ARRAY_BOUNDS_EXCEEDED",
        0xC000_0094 => "EXCEPTION_INT_DIVIDE_BY_ZERO",
        0xC000_0095 => "EXCEPTION_INT_OVERFLOW",
        0xC000_0096 => "EXCEPTION_PRIV_INSTRUCTION",
        0xC000_00FD => "EXCEPTION_STACK_OVERFLOW",
        0xC000_0135 => "STATUS_DLL_NOT_FOUND",
        0xC000_0139 => "STATUS_ENTRYPOINT_NOT_FOUND",
        0xC000_0142 => "STATUS_DLL_INIT_FAILED",
        0xC000_0409 => "STATUS_STACK_BUFFER_OVERRUN",
        0xC000_007B => "STATUS_INVALID_IMAGE_FORMAT",
        _ => return None,
    })
}

/// When a Wine run crashed, the description Wine printed (`page fault on write access to
/// 0000000000000000 at address ...`): Wine reports an unhandled exception on stderr as
/// `wine: Unhandled <what>` and exits with the low byte of the exception code.
pub fn wine_crash(stderr: &str) -> Option<&str> {
    stderr.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("wine: Unhandled ")?;
        Some(
            rest.split(", starting debugger")
                .next()
                .unwrap_or(rest)
                .trim(),
        )
    })
}

/// Describes a crash, if the termination is one: a signal on Unix, an exception exit
/// code on Windows. `None` for an ordinary exit or a timeout.
pub fn crash_description(t: &Termination) -> Option<String> {
    match *t {
        Termination::Signaled(sig) => Some(format!("was killed by {}", signal_name(sig))),
        Termination::Exited(code) if cfg!(windows) => exception_name(code as u32)
            .map(|name| format!("crashed with exception 0x{:08X} ({name})", code as u32)),
        _ => None,
    }
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Termination::Exited(code) => write!(f, "exit code {code}"),
            Termination::Signaled(sig) => write!(f, "killed by {}", signal_name(*sig)),
            Termination::TimedOut(d) => write!(f, "timed out after {} s", d.as_secs_f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "meteor-tests-process-{}-{name}",
            std::process::id()
        ))
    }

    #[test]
    fn names_signals_and_exceptions() {
        assert_eq!(signal_name(11), "SIGSEGV (signal 11)");
        assert_eq!(signal_name(64), "signal 64");
        assert_eq!(
            exception_name(0xC000_0005),
            Some("EXCEPTION_ACCESS_VIOLATION")
        );
        assert_eq!(exception_name(3), None);
        assert_eq!(
            crash_description(&Termination::Signaled(8)).as_deref(),
            Some("was killed by SIGFPE (signal 8)")
        );
        assert_eq!(crash_description(&Termination::Exited(3)), None);
    }

    #[test]
    fn finds_wine_crash_line() {
        let err = "x\nwine: Unhandled page fault on write access to 0000000000000000 at address 1 (thread 018c), starting debugger...\n";
        assert_eq!(
            wine_crash(err),
            Some("page fault on write access to 0000000000000000 at address 1 (thread 018c)")
        );
        assert_eq!(wine_crash("fine\n"), None);
    }

    #[cfg(unix)]
    #[test]
    fn captures_output_exit_code_signal_and_timeout() {
        let dir = scratch("run");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 7"]);
        let out = run(cmd, Duration::from_secs(20), &dir).unwrap();
        assert_eq!(out.termination, Termination::Exited(7));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");

        let mut cmd = Command::new("sh");
        cmd.args(["-c", "kill -SEGV $$"]);
        let out = run(cmd, Duration::from_secs(20), &dir).unwrap();
        assert_eq!(out.termination, Termination::Signaled(11));

        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        let out = run(cmd, Duration::from_millis(100), &dir).unwrap();
        assert!(matches!(out.termination, Termination::TimedOut(_)));

        let err = run(
            Command::new("/nonexistent/program"),
            Duration::from_secs(1),
            &dir,
        );
        assert!(err.unwrap_err().contains("/nonexistent/program"));
        let _ = fs::remove_dir_all(&dir);
    }
}
