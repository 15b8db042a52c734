//! `meteor-ld`: the command-line linker, following the conventions of `ld`/`lld`.

use std::process::ExitCode;

/// Meteor's allocator serves the linker's many short-lived allocations.
#[global_allocator]
static GLOBAL: meteor_alloc::MeteorAlloc = meteor_alloc::MeteorAlloc;

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
Usage: meteor-ld -m i386pep [options] files...   (or --target windows-x64)

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
  --target windows-x64    use the PE/COFF linker (same as -m i386pep; see -m i386pep --help)
  -v, --version           print the version (GNU ld compatible) and exit
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if meteor_linker::coff::args::is_pe_command_line(&args) {
        run_pe(args)
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
