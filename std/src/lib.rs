//! The Vox standard library, written in Vox under `std/lib/`, embedded in the compiler.
//!
//! Layout: `lib/std/<module>.vx` holds module `std.<module>`. Platform layers are chosen
//! inside the files with `#version(linux)`, `#version(windows)` and `#version(jit)`.

/// Every std source file: (path relative to `lib/`, e.g. `std/io.vx`; its text).
pub static FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/std_files.rs"));

/// Looks up one embedded file by its path relative to `lib/`.
pub fn file(path: &str) -> Option<&'static str> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn io_module_is_embedded() {
        let io = super::file("std/io.vx").expect("std/io.vx embedded");
        assert!(io.contains("module std.io;"));
    }
}
