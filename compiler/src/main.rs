//! `meteor`: the Vox compiler's command line. See `meteor help`.

use meteor_compiler::cli;

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
