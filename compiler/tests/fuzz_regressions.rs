//! Inputs that once crashed the front end (found by `cargo +nightly fuzz run frontend`):
//! each must now produce diagnostics, not a panic. Add every new fuzz crash here, named
//! after what it broke.

use std::path::Path;

#[test]
fn fuzz_crashes_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz_regressions directory") {
        let path = entry.expect("directory entry").path();
        let bytes = std::fs::read(&path).expect("readable input");
        // The fuzz target's own conversion: arbitrary bytes as lossy UTF-8.
        let text = String::from_utf8_lossy(&bytes);
        let result = std::panic::catch_unwind(|| meteor_compiler::front::check_source(&text));
        assert!(
            result.is_ok(),
            "{} panics the front end again",
            path.display()
        );
        count += 1;
    }
    assert!(count > 0, "no regression inputs in {}", dir.display());
}
