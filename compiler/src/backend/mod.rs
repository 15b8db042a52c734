//! The x86-64 back end: SSA IR → ABI lowering → LIR → liveness → linear scan →
//! stack layout → machine code in an `ObjectModule`.
//!
//! Code map:
//! - [`abi`]: calling conventions (System V, Win64, Linux syscalls).
//! - [`lower`] (pass): picks the convention, computes every function's argument locations.
//! - [`lir`]: machine instructions over virtual/physical registers, printing.
//! - [`isel`] (pass): IR → LIR; phis become parallel moves on (split) edges.
//! - [`liveness`] (pass): one live interval per virtual register over the block layout,
//!   and the ranges where each physical register is fixed.
//! - [`regalloc`] (pass): linear scan (Poletto & Sarkar) with fixed-register constraints
//!   and spilling; rewrites virtual registers to physical ones or spill slots.
//! - [`stack`] (pass): frame layout, callee-saved registers, alignment.
//! - [`asm`]: the instruction encoder. [`encode`] (pass): LIR → bytes, symbols and
//!   relocations in `c.object`. [`disasm`]: `--print-asm` through iced-x86.
//!
//! Boundaries: reads `c.ir` (verified IR) only; owns `c.back`; writes `c.object`.
//! Unsupported input is a diagnostic, never a panic.

pub mod abi;
pub mod asm;
pub mod disasm;
pub mod encode;
pub mod isel;
pub mod lir;
pub mod liveness;
pub mod lower;
pub mod regalloc;
pub mod stack;

#[cfg(test)]
mod tests;

use lir::{Conv, MFunc};

/// Below this many functions a per-function pass runs on the calling thread only.
const PAR_MIN_FUNCS: usize = 128;

/// How many threads per-function passes use: the machine's parallelism, at most 4.
fn par_threads(items: usize) -> usize {
    if items < PAR_MIN_FUNCS {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Runs `f` on contiguous chunks of `items` (one per thread, in order) and returns the
/// results in chunk order. Functions are independent in isel, liveness and register
/// allocation, so these passes split the function list over the available cores.
pub(crate) fn par_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let threads = par_threads(items.len());
    if threads <= 1 {
        return vec![f(items)];
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let mut chunks = items.chunks(chunk);
        // The calling thread takes the first chunk itself.
        let first = chunks.next().unwrap_or(&[]);
        let handles: Vec<_> = chunks.map(|c| s.spawn(move || f(c))).collect();
        let mut out = vec![f(first)];
        for h in handles {
            match h.join() {
                Ok(r) => out.push(r),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        out
    })
}

/// Like [`par_chunks`] over two slices of equal length, the first mutable.
pub(crate) fn par_zip_mut<A: Send, B: Sync>(a: &mut [A], b: &[B], f: impl Fn(&mut A, &B) + Sync) {
    let threads = par_threads(a.len());
    if threads <= 1 || a.len() != b.len() {
        for (x, y) in a.iter_mut().zip(b) {
            f(x, y);
        }
        return;
    }
    let chunk = a.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let mut pairs = a.chunks_mut(chunk).zip(b.chunks(chunk));
        let first = pairs.next();
        let handles: Vec<_> = pairs
            .map(|(ca, cb)| {
                s.spawn(move || {
                    for (x, y) in ca.iter_mut().zip(cb) {
                        f(x, y);
                    }
                })
            })
            .collect();
        if let Some((ca, cb)) = first {
            for (x, y) in ca.iter_mut().zip(cb) {
                f(x, y);
            }
        }
        for h in handles {
            if let Err(payload) = h.join() {
                std::panic::resume_unwind(payload);
            }
        }
    });
}

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
}

impl Default for BackState {
    fn default() -> Self {
        BackState {
            conv: Conv::SysV,
            abi: Vec::new(),
            funcs: Vec::new(),
            live: Vec::new(),
            code_ranges: Vec::new(),
        }
    }
}
