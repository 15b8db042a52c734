//! The corpus runner: one libtest-mimic trial per HAR test and form.
//!
//! `cargo test -p meteor-tests --test corpus -- <filter>`; env `METEOR_BIN` selects the
//! compiler binary (default: built with cargo), `METEOR_TEST_TIMEOUT` the per-process
//! time limit in seconds (default 20), `METEOR_WINE` the Wine loader.

use libtest_mimic::{Arguments, Failed, Trial};
use meteor_tests::runner::{self, Context, Form};
use meteor_tests::spec::CorpusTest;
use std::path::Path;
use std::sync::Arc;

fn main() {
    let args = Arguments::from_args();
    let trials = match build_trials() {
        Ok(t) => t,
        Err(e) => vec![Trial::test("corpus::setup", move || Err(Failed::from(e)))],
    };
    libtest_mimic::run(&args, trials).exit();
}

fn build_trials() -> Result<Vec<Trial>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the test binary: {e}"))?;
    let ctx = Arc::new(Context::for_test_binary(&exe)?);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let files = meteor_tests::find_har_files(&root)
        .map_err(|e| format!("cannot read the corpus at {}: {e}", root.display()))?;
    let mut trials = Vec::new();
    for (path, name) in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("cannot read {}: {e}", path.display());
                trials.push(Trial::test(format!("corpus::{name}"), move || {
                    Err(msg.into())
                }));
                continue;
            }
        };
        let test = match CorpusTest::parse(&name, &text) {
            Ok(t) => Arc::new(t),
            Err(msg) => {
                trials.push(Trial::test(format!("corpus::{name}"), move || {
                    Err(msg.into())
                }));
                continue;
            }
        };
        for form in Form::ALL {
            if !test.applies_to(form.target()) {
                continue;
            }
            let (ctx, test, path) = (Arc::clone(&ctx), Arc::clone(&test), path.clone());
            trials.push(Trial::ignorable_test(form.trial_name(&name), move || {
                runner::run_trial(&ctx, &test, &path, form).map_err(Failed::from)
            }));
        }
    }
    Ok(trials)
}
