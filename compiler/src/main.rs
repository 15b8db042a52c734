//! `meteor`: the Vox compiler's command line. See `meteor help`.

use meteor_compiler::cli;

/// The compiler makes many small, short-lived allocations (AST, IR, LIR): Meteor's own
/// allocator serves them from thread-local size-class pages.
#[global_allocator]
static GLOBAL: meteor_alloc::MeteorAlloc = meteor_alloc::MeteorAlloc;

fn main() {
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
