//! Fuzzes meteor-ld's COFF object reader and the PE linker behind it: the bytes are read as
//! a COFF object (or short import object) and linked into a PE32+ executable, an error or
//! an image being equally fine. A panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meteor_linker::coff::{self, args::Input, input};

fuzz_target!(|data: &[u8]| {
    let _ = input::read_short_import(data);
    let Ok(obj) = input::read_object("fuzz.o", data) else {
        return;
    };
    // Enter at the object's first defined external, so the link gets past the entry check.
    let entry = obj
        .symbols
        .iter()
        .find(|s| s.is_external() && s.section > 0)
        .map(|s| s.name.clone());
    let cfg = coff::Config {
        entry,
        inputs: vec![Input::Object(Box::new(obj))],
        ..coff::Config::default()
    };
    let _ = coff::link(&cfg);
});
