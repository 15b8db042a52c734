//! `meteor`: the Vox compiler's command line. See `meteor help`.

use meteor_compiler::cli;

/// The compiler makes many small, short-lived allocations (AST, IR, LIR): Meteor's own
/// allocator serves them from thread-local size-class pages.
#[global_allocator]
static GLOBAL: meteor_alloc::MeteorAlloc = meteor_alloc::MeteorAlloc;

/// Asks meteor-alloc for 2 MiB pages behind its segments unless the user chose with
/// `METEOR_ALLOC_LARGE_OS_PAGES`: one compilation touches ~100 MiB of fresh memory, and
/// with 4 KiB pages ~27k page faults cost about a third of a build's time (compile bench:
/// median ~165 ms -> ~115 ms, at the price of a larger resident set).
fn use_large_os_pages() {
    if std::env::var_os("METEOR_ALLOC_LARGE_OS_PAGES").is_none() {
        meteor_alloc::options::set(meteor_alloc::options::Opt::LargeOsPages, 1);
    }
}

fn main() {
    use_large_os_pages();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match cli::parse(&args) {
        Ok(command) => cli::execute(command),
        Err(message) => {
            eprintln!("meteor: {message}");
            eprintln!("run 'meteor help' for usage");
            2
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}
