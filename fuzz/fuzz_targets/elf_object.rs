//! Fuzzes meteor-ld's ELF object reader and everything behind it: the bytes are linked as
//! one relocatable object into a static executable. Any result is fine; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meteor_linker::ld::{self, args::InputArg};

fuzz_target!(|data: &[u8]| {
    let cfg = ld::Config {
        static_: true,
        threads: 1,
        inputs: vec![InputArg::Bytes("fuzz.o".into(), data.to_vec())],
        ..ld::Config::default()
    };
    let _ = ld::link(&cfg);
});
