//! `cargo xtask <command>`: the project's automation, driving cargo and the built binaries
//! as processes (it links none of the workspace's packages).
//!
//! One module per command; `main` only dispatches. Commands:
//! - `test`: formatting, clippy, the workspace's tests (including the HAR corpus),
//!   actionlint on the CI workflows, then a one-line summary.
//! - `dist`: the release bundle in `target/dist/`, unpacked again and smoke-tested.
//! - `runtime`: the allocator runtime in static and DLL mode for each target.
//! - `bench compile|link|alloc`: side-by-side measurements against tcc, mold/lld, and
//!   glibc/mimalloc/jemalloc.

mod bench_alloc;
mod bench_compile;
mod bench_link;
mod dist;
mod runtime;
mod test;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  test    cargo fmt --check, clippy -D warnings, cargo test --workspace (with the corpus),
          actionlint on .github/workflows; ends with `summary: N passed, N failed, N skipped`
  dist    build release binaries and write target/dist/meteor-<version>-<target>.tar.gz
          (.zip on Windows), then unpack and smoke-test it
  runtime build the allocator runtime (static and dll modes, linux-x64 and windows-x64)
          into target/runtime/<target>/<mode>/ (`cargo xtask runtime --help`)
  bench compile   meteor build/run vs tcc on a generated 5,000-function program
  bench link      meteor-ld vs mold and ld.lld on a generated C program
  bench alloc     meteor-alloc vs glibc, mimalloc and jemalloc (report in target/bench/)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "test" => test::run(rest),
        "dist" => dist::run(rest),
        "runtime" => runtime::run(rest),
        "bench" if rest.first().map(String::as_str) == Some("link") => bench_link::run(&rest[1..]),
        "bench" if rest.first().map(String::as_str) == Some("alloc") => {
            bench_alloc::run(&rest[1..])
        }
        "bench" if rest.first().map(String::as_str) == Some("compile") => {
            bench_compile::run(&rest[1..])
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("xtask: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {command}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
