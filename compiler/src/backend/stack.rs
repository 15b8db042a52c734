//! Back-end pass: stack (not written yet).

use crate::compilation::Compilation;

pub fn run(_c: &mut Compilation) {}
