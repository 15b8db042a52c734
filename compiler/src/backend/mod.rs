//! The x86-64 back end: SSA IR → ABI lowering → LIR → liveness → linear scan →
//! stack layout → machine code in an `ObjectModule`, one function at a time.
//!
//! Code map:
//! - [`pipeline`]: runs `passes::FUNCTION_PASSES` per function on a worker thread while IR
//!   generation continues (or inline), mirrors the module's declarations to the worker,
//!   and assembles the object from the per-function code in `FuncId` order.
//! - [`abi`]: calling conventions (System V, Win64, Linux syscalls).
//! - [`lower`]: picks the convention, computes each function's argument locations.
//! - [`lir`]: machine instructions over virtual/physical registers, printing.
//! - [`isel`] (pass): IR → LIR; phis become parallel moves on (split) edges.
//! - [`liveness`] (pass): one live interval per virtual register over the block layout,
//!   and the ranges where each physical register is fixed.
//! - [`regalloc`] (pass): linear scan (Poletto & Sarkar) with fixed-register constraints
//!   and spilling; rewrites virtual registers to physical ones or spill slots.
//! - [`stack`] (pass): frame layout, callee-saved registers, alignment.
//! - [`asm`]: the instruction encoder. [`encode`] (pass): LIR → bytes and relocations of
//!   one function, appended to an `encode::Code`; `encode::assemble` builds `c.object`
//!   (symbols, sections, the constant pool) with the functions in `FuncId` order.
//!   [`disasm`]: `--print-asm` through iced-x86.
//!
//! Each pass has a per-function form (`run_function`, on a `pipeline::FuncJob`: the
//! compiler's pipeline) and a whole-module form (`run`, over `c.ir` into `c.back`: tests
//! that inspect the LIR).
//!
//! Boundaries: reads verified IR only; owns `c.back`; writes `c.object`.
//! Unsupported input is a diagnostic, never a panic.

pub mod abi;
pub mod asm;
pub mod disasm;
pub mod encode;
pub mod isel;
pub mod lir;
pub mod liveness;
pub mod lower;
pub mod pipeline;
pub mod regalloc;
pub mod stack;

#[cfg(test)]
mod tests;

use lir::{Conv, MFunc};

/// Everything the back-end passes produce for later passes.
pub struct BackState {
    /// Calling convention of the target (lower).
    pub conv: Conv,
    /// How each function (by `FuncId`) is called (lower).
    pub abi: Vec<abi::FuncAbi>,
    /// LIR of each defined function, by `FuncId` (isel; rewritten by regalloc, framed by
    /// stack).
    pub funcs: Vec<Option<MFunc>>,
    /// Live intervals of each function, by `FuncId` (liveness; consumed by regalloc).
    pub live: Vec<Option<liveness::Liveness>>,
    /// Code range of each encoded function in `.text`: (function, start, end) (encode).
    pub code_ranges: Vec<(crate::ir::FuncId, u64, u64)>,
    /// The back end running per function while IR is generated (started by IR
    /// generation, joined by `pipeline::finish`).
    pub sink: Option<pipeline::Sink>,
    /// What the worker produced (from `pipeline::finish` to `pipeline::assemble`).
    pub output: Option<pipeline::WorkerOutput>,
    /// Time of ABI lowering and of each function pass, summed over functions (`--time`).
    pub function_times: Vec<(&'static str, std::time::Duration)>,
}

impl Default for BackState {
    fn default() -> Self {
        BackState {
            conv: Conv::SysV,
            abi: Vec::new(),
            funcs: Vec::new(),
            live: Vec::new(),
            code_ranges: Vec::new(),
            sink: None,
            output: None,
            function_times: Vec::new(),
        }
    }
}
