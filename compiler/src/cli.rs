//! The `meteor` command line: parsing into a `Command`, and running it.

use crate::compilation::{Options, PrintFlags};
use crate::session::Session;
use meteor_linker::Target;
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: meteor <command> [options]

commands:
  run FILE [-- ARGS...]          compile FILE and run its main in-process (JIT)
  build FILE -o OUT [--target T] write an executable for target T (default: the host)
  check FILE [--target T]        report diagnostics only

FILE is a .vx source, a .har bundle, or a folder: every .vx file under it is one
program, module names from their paths relative to the folder (util/math.vx: util.math)
  version                        print the version and where std is found
  help                           print this text

options for run, build and check:
  --target T     linux-x64 or windows-x64 (run: the host only)
  --print-ast    print the syntax tree        --print-ir   print the SSA IR
  --print-lir    print the machine-level IR   --print-asm  print the disassembly
  --time         print the time of every pass and the resident memory after it to stderr
";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run {
        file: PathBuf,
        args: Vec<String>,
        common: Common,
    },
    Build {
        file: PathBuf,
        output: PathBuf,
        common: Common,
    },
    Check {
        file: PathBuf,
        common: Common,
    },
    Version,
    Help,
}

/// Options shared by run, build and check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Common {
    pub target: Option<Target>,
    pub print: PrintFlags,
    pub time: bool,
}

/// Parses the arguments after the program name. Errors are usage messages.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err("no command given".into());
    };
    match cmd.as_str() {
        "version" | "--version" | "-V" => return Ok(Command::Version),
        "help" | "--help" | "-h" => return Ok(Command::Help),
        "run" | "build" | "check" => {}
        other => return Err(format!("unknown command '{other}'")),
    }
    let mut common = Common::default();
    let mut file: Option<PathBuf> = None;
    let mut output: Option<PathBuf> = None;
    let mut program_args = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let arg = rest[i].as_str();
        let mut value = |name: &str| -> Result<String, String> {
            i += 1;
            rest.get(i)
                .cloned()
                .ok_or_else(|| format!("option '{name}' needs a value"))
        };
        match arg {
            "--" if cmd == "run" => {
                program_args.extend(rest[i + 1..].iter().cloned());
                break;
            }
            "--target" => common.target = Some(value("--target")?.parse()?),
            "-o" | "--output" if cmd == "build" => output = Some(PathBuf::from(value(arg)?)),
            "--print-ast" => common.print.ast = true,
            "--print-ir" => common.print.ir = true,
            "--print-lir" => common.print.lir = true,
            "--print-asm" => common.print.asm = true,
            "--time" => common.time = true,
            _ if arg.starts_with("--target=") => {
                common.target = Some(arg["--target=".len()..].parse()?)
            }
            _ if arg.starts_with('-') && arg != "-" => {
                return Err(format!("unknown option '{arg}' for '{cmd}'"));
            }
            _ => {
                if file.is_some() {
                    return Err(format!(
                        "'{cmd}' takes one input file; '{arg}' is a second one"
                    ));
                }
                file = Some(PathBuf::from(arg));
            }
        }
        i += 1;
    }
    let file = file.ok_or_else(|| format!("'{cmd}' needs an input file"))?;
    match cmd.as_str() {
        "run" => {
            if let Some(t) = common.target
                && t != Target::host()
            {
                return Err(format!(
                    "'run' executes on this machine ({}); use 'build --target {t}'",
                    Target::host()
                ));
            }
            Ok(Command::Run {
                file,
                args: program_args,
                common,
            })
        }
        "build" => {
            let output = output.ok_or("'build' needs an output file: -o OUT")?;
            Ok(Command::Build {
                file,
                output,
                common,
            })
        }
        _ => Ok(Command::Check { file, common }),
    }
}

/// Runs a parsed command and returns the process exit code.
pub fn execute(command: Command) -> i32 {
    match command {
        Command::Help => {
            print!("{USAGE}");
            0
        }
        Command::Version => {
            println!("meteor {}", env!("CARGO_PKG_VERSION"));
            println!("std: {}", crate::stdlib::StdLocation::discover());
            0
        }
        Command::Run {
            file,
            args: _,
            common,
        } => {
            let mut session = Session::jit();
            let Some(compiled) = compile(&mut session, &file, &common) else {
                return 1;
            };
            match session.load(&compiled) {
                Ok(program) => match program.run_main() {
                    Some(code) => code,
                    None => {
                        eprintln!("Error: the program has no `main` function");
                        1
                    }
                },
                Err(e) => {
                    eprintln!("Error: {e}");
                    1
                }
            }
        }
        Command::Build {
            file,
            output,
            common,
        } => {
            let mut session = Session::new(common.target.unwrap_or_else(Target::host));
            let Some(compiled) = compile(&mut session, &file, &common) else {
                return 1;
            };
            let bytes = match compiled.link_executable() {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("Error: {e}");
                    return 1;
                }
            };
            if let Err(e) = write_executable(&output, &bytes) {
                eprintln!("Error: cannot write {}: {e}", output.display());
                return 1;
            }
            0
        }
        Command::Check { file, common } => {
            let mut session = Session::new(common.target.unwrap_or_else(Target::host));
            match compile(&mut session, &file, &common) {
                Some(_) => 0,
                None => 1,
            }
        }
    }
}

/// Compiles `file` in `session`, printing requested dumps, pass times and diagnostics.
fn compile(
    session: &mut Session,
    file: &std::path::Path,
    common: &Common,
) -> Option<crate::session::Compiled> {
    session.options = Options {
        print: common.print,
        measure: common.time,
        ..session.options.clone()
    };
    if let Err(e) = session.add_path(file) {
        eprintln!("Error: {e}");
        return None;
    }
    let start = std::time::Instant::now();
    let result = session.compile();
    let total = start.elapsed();
    match result {
        Ok(compiled) => {
            print!("{}", compiled.printed);
            if common.time {
                eprint!("{}", format_times(&compiled.pass_times, total));
            }
            Some(compiled)
        }
        Err(e) => {
            eprint!("{}", e.rendered);
            None
        }
    }
}

/// The `--time` table: one line per pass, then the total.
pub fn format_times(times: &[crate::passes::PassTime], total: std::time::Duration) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for t in times {
        let _ = write!(out, "{:>10.3} ms  ", t.duration.as_secs_f64() * 1e3);
        if let Some(bytes) = t.resident_after {
            let _ = write!(out, "{:>8.1} MiB  ", bytes as f64 / (1024.0 * 1024.0));
        }
        if t.per_function {
            let _ = writeln!(
                out,
                "  | {} (back-end worker, summed over functions)",
                t.name
            );
        } else {
            let _ = writeln!(out, "{}", t.name);
        }
    }
    let _ = writeln!(out, "{:>10.3} ms  total", total.as_secs_f64() * 1e3);
    out
}

fn write_executable(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse(&args("build a.vx -o out --target windows-x64 --print-ir")).unwrap(),
            Command::Build {
                file: "a.vx".into(),
                output: "out".into(),
                common: Common {
                    target: Some(Target::WindowsX64),
                    print: PrintFlags {
                        ir: true,
                        ..Default::default()
                    },
                    time: false
                }
            }
        );
        assert_eq!(
            parse(&args("run t.har -- x --y")).unwrap(),
            Command::Run {
                file: "t.har".into(),
                args: args("x --y"),
                common: Common::default()
            }
        );
        assert_eq!(parse(&args("version")).unwrap(), Command::Version);
    }

    #[test]
    fn rejects_bad_usage() {
        for bad in [
            "",
            "frob a.vx",
            "build a.vx",
            "run",
            "check a.vx --bogus",
            "check a.vx b.vx",
            "build a.vx -o",
        ] {
            assert!(parse(&args(bad)).is_err(), "accepted: {bad}");
        }
        assert!(
            parse(&args("check a.vx --target mars-x64"))
                .unwrap_err()
                .contains("unknown target")
        );
    }

    #[test]
    fn time_table_lists_every_pass_with_its_memory() {
        let times = vec![
            crate::passes::PassTime {
                name: "lex",
                duration: std::time::Duration::from_micros(1500),
                resident_after: Some(3 * 1024 * 1024),
                per_function: false,
            },
            crate::passes::PassTime {
                name: "parse",
                duration: std::time::Duration::from_millis(2),
                resident_after: None,
                per_function: false,
            },
            crate::passes::PassTime {
                name: "liveness",
                duration: std::time::Duration::from_micros(250),
                resident_after: None,
                per_function: true,
            },
        ];
        let table = format_times(&times, std::time::Duration::from_millis(4));
        assert_eq!(
            table,
            "     1.500 ms       3.0 MiB  lex\n     2.000 ms  parse\n     0.250 ms    | liveness (back-end worker, summed over functions)\n     4.000 ms  total\n"
        );
    }

    #[test]
    fn resident_memory_is_measured_on_linux() {
        if cfg!(target_os = "linux") {
            let bytes = crate::passes::resident_bytes().expect("/proc/self/statm");
            assert!(bytes > 0);
        }
    }
}
