//! The x86-64 back end: SSA IR → ABI lowering → LIR → liveness → linear scan →
//! stack layout → machine code in an `ObjectModule`.

pub mod encode;
pub mod isel;
pub mod liveness;
pub mod lower;
pub mod regalloc;
pub mod stack;

/// Everything the back-end passes produce for later passes.
#[derive(Default)]
pub struct BackState {}
