//! Back-end pass: liveness (being written).
use crate::compilation::Compilation;
pub struct Liveness;
pub fn run(_c: &mut Compilation) {}
