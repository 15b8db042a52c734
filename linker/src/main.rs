//! `meteor-ld`: the command-line linker, following the conventions of `ld`/`lld`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use meteor_linker::{LinkOptions, ObjectModule, Target, input, link};

const USAGE: &str = "\
Usage: meteor-ld [options] files... -o OUTPUT

Links ELF x86-64 relocatable objects (.o) into an executable.

Options:
  -o FILE, --output FILE     write the executable to FILE (default: a.out, a.exe on windows-x64)
  -e SYM, --entry SYM        entry symbol (default: _start on linux-x64, mainCRTStartup on windows-x64)
  --target TARGET            linux-x64 (default; static ELF64) or windows-x64 (PE32+)
  -static                    produce a static executable (the only kind supported yet)
  -L DIR                     add DIR to the library search path
  -v, --version              print the version and exit
  -h, --help                 print this help and exit
";

struct Args {
    inputs: Vec<PathBuf>,
    output: Option<PathBuf>,
    entry: Option<String>,
    target: Target,
}

enum Parsed {
    Link(Args),
    Exit,
}

/// Value of an option given as `-o X`, `--output X`, `-output X`, `--output=X`, and when
/// `joined` also `-oX`.
fn value(
    arg: &str,
    rest: &mut impl Iterator<Item = String>,
    short: &str,
    long: &str,
    joined: bool,
) -> Result<Option<String>, String> {
    if arg == short || arg == long || (long.len() > 2 && arg == &long[1..]) {
        return rest
            .next()
            .map(Some)
            .ok_or_else(|| format!("option `{arg}` needs a value"));
    }
    if let Some(v) = arg.strip_prefix(long).and_then(|v| v.strip_prefix('=')) {
        return Ok(Some(v.to_string()));
    }
    if joined
        && !short.is_empty()
        && arg.len() > short.len()
        && arg.starts_with(short)
        && !arg.starts_with("--")
    {
        return Ok(Some(arg[short.len()..].to_string()));
    }
    Ok(None)
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut out = Args {
        inputs: Vec::new(),
        output: None,
        entry: None,
        target: Target::LinuxX64,
    };
    let mut it = args.into_iter();
    let mut only_files = false;
    while let Some(arg) = it.next() {
        if only_files || !arg.starts_with('-') || arg == "-" {
            out.inputs.push(PathBuf::from(arg));
            continue;
        }
        match arg.as_str() {
            "--" => only_files = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(Parsed::Exit);
            }
            "-v" | "-V" | "--version" => {
                println!(
                    "meteor-ld {} (compatible with GNU linkers)",
                    env!("CARGO_PKG_VERSION")
                );
                return Ok(Parsed::Exit);
            }
            "-static" | "--static" | "-Bstatic" => {}
            _ => {
                if let Some(v) = value(&arg, &mut it, "-o", "--output", true)? {
                    out.output = Some(PathBuf::from(v));
                } else if let Some(v) = value(&arg, &mut it, "-e", "--entry", false)? {
                    out.entry = Some(v);
                } else if let Some(v) = value(&arg, &mut it, "", "--target", false)? {
                    out.target = v.parse()?;
                } else if value(&arg, &mut it, "-L", "--library-path", true)?.is_some() {
                    // Searched by -l once archives and shared libraries are supported.
                } else if let Some(v) = value(&arg, &mut it, "-l", "--library", true)? {
                    return Err(format!(
                        "-l{v}: linking libraries is not supported yet (pass object files)"
                    ));
                } else {
                    return Err(format!("unknown option: {arg}"));
                }
            }
        }
    }
    Ok(Parsed::Link(out))
}

fn run(args: Args) -> Result<(), String> {
    if args.inputs.is_empty() {
        return Err("no input files".into());
    }
    let mut modules: Vec<ObjectModule> = Vec::new();
    for path in &args.inputs {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| format!("cannot open {name}: {e}"))?;
        modules.push(input::read_file(&name, &bytes).map_err(|e| e.to_string())?);
    }
    let mut options = LinkOptions::new(args.target);
    if let Some(entry) = args.entry {
        options.entry = entry;
    }
    let output = args.output.unwrap_or_else(|| {
        PathBuf::from(if args.target == Target::WindowsX64 {
            "a.exe"
        } else {
            "a.out"
        })
    });
    let bytes = link(modules, &options).map_err(|e| e.to_string())?;
    write_output(&output, &bytes).map_err(|e| format!("cannot write {}: {e}", output.display()))
}

/// Writes the executable with mode 0755, replacing (not overwriting in place) any old file
/// so a running copy of it is not disturbed.
fn write_output(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Whether the command line asks for the PE writer (`--target windows-x64`).
fn wants_windows(args: &[String]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        let v = if a == "--target" || a == "-target" {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix("--target=")
        };
        v.and_then(|v| v.parse::<Target>().ok()) == Some(Target::WindowsX64)
    })
}

/// The GNU-compatible ELF linker (`meteor_linker::ld`).
fn run_elf(args: Vec<String>) -> Result<(), String> {
    use meteor_linker::ld::args::{Command, VERSION_LINE, parse};
    match parse(args)? {
        Command::Version => {
            println!("{VERSION_LINE}");
            Ok(())
        }
        Command::Help => {
            print!("{ELF_USAGE}");
            Ok(())
        }
        Command::Link(cfg) => {
            if cfg.inputs.is_empty() {
                return Err("no input files".into());
            }
            meteor_linker::ld::link_to_file(&cfg).map_err(|e| e.to_string())
        }
    }
}

/// The MinGW-compatible PE/COFF linker (`meteor_linker::coff`), chosen by `-m i386pep`.
fn run_pe(args: Vec<String>) -> Result<(), String> {
    use meteor_linker::coff::args::{Command, VERSION_LINE, parse};
    match parse(args)? {
        Command::Version => {
            println!("{VERSION_LINE}");
            Ok(())
        }
        Command::Help => {
            print!("{PE_USAGE}");
            Ok(())
        }
        Command::Link(cfg) => {
            if cfg.inputs.is_empty() {
                return Err("no input files".into());
            }
            meteor_linker::coff::link_to_file(&cfg).map_err(|e| e.to_string())
        }
    }
}

const PE_USAGE: &str = "\
Usage: meteor-ld -m i386pep [options] files...

A drop-in MinGW ld for x86_64-w64-mingw32 (run it with the argument list from
`x86_64-w64-mingw32-gcc -### ...`). Inputs: COFF objects, archives and import libraries,
short import objects, DLLs.

Options:
  -o FILE, -e SYM, -L DIR, -l NAME (lib<name>.dll.a, lib<name>.a, <name>.lib, <name>.dll)
  -Bstatic, -Bdynamic, --whole-archive, --no-whole-archive, -u SYM
  --subsystem console|windows, --image-base ADDR, --stack R[,C], --heap R[,C]
  --dynamicbase, --nxcompat, --high-entropy-va, --tsaware (and --disable-* forms)
  --shared/--dll, --out-implib FILE, --export-all-symbols
  --disable-auto-import, -s
";

const ELF_USAGE: &str = "\
Usage: meteor-ld [options] files...

A drop-in GNU ld for x86-64 Linux (use it from gcc with `gcc -B DIR` where DIR/ld is
meteor-ld). Inputs: ELF objects, ar archives, shared objects, GNU ld scripts.

Common options:
  -o FILE                 output file (default a.out)
  -e SYM, --entry SYM     entry symbol (default _start)
  -L DIR, -l NAME         library search path and libraries (-l:FILE for an exact name)
  -pie, -no-pie, -shared, -static
  -dynamic-linker PATH    program interpreter
  --as-needed, --no-as-needed, --push-state, --pop-state, --whole-archive
  --start-group, --end-group
  --eh-frame-hdr, --build-id[=STYLE], --hash-style=gnu|sysv|both
  -z now|lazy|relro|norelro|noexecstack|execstack|defs
  --gc-sections, --print-gc-sections, -Map FILE, -E/--export-dynamic, -soname NAME
  -rpath DIR, -u SYM, -s, -S, --threads=N
  --target windows-x64    link Meteor objects into a PE32+ executable instead
  -v, --version           print the version (GNU ld compatible) and exit
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if meteor_linker::coff::args::is_pe_command_line(&args) {
        run_pe(args)
    } else if wants_windows(&args) {
        parse(args).and_then(|parsed| match parsed {
            Parsed::Link(args) => run(args),
            Parsed::Exit => Ok(()),
        })
    } else {
        run_elf(args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            for line in message.lines() {
                eprintln!("meteor-ld: error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
