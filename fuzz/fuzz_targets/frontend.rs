//! Fuzzes the front end (lexer, parser, name resolution, type checking, IR generation)
//! with arbitrary source text: it must report errors, never panic or overflow the stack.
//! Seed corpus: `fuzz/seed_frontend.sh` copies the Vox sources of `tests/corpus`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = meteor_compiler::front::check_source(&text);
});
