//! The whole pipeline as one list. The driver runs these in order, timing each, and stops
//! after the first pass that reports an error.

use crate::backend;
use crate::backend::pipeline::FuncJob;
use crate::compilation::Compilation;
use crate::front;

pub struct Pass {
    pub name: &'static str,
    pub run: fn(&mut Compilation),
}

/// The module passes, run in this order on the calling thread.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "lex",
        run: front::lexer::run,
    },
    Pass {
        name: "parse",
        run: front::parser::run,
    },
    Pass {
        name: "resolve names",
        run: front::resolve::run,
    },
    Pass {
        name: "type check",
        run: front::typeck::run,
    },
    // Hands each finished body to the back end, which runs `FUNCTION_PASSES` on it on a
    // worker thread while later bodies are generated (inline for small programs).
    Pass {
        name: "generate IR (+ back end on a worker)",
        run: front::irgen::run,
    },
    Pass {
        name: "wait for the back end",
        run: backend::pipeline::finish,
    },
    Pass {
        name: "assemble object",
        run: backend::pipeline::assemble,
    },
];

/// A back-end pass over one function.
pub struct FunctionPass {
    pub name: &'static str,
    pub run: fn(&mut FuncJob<'_>),
}

/// The back end, per function, in this order. Runs on the back-end worker
/// (`backend::pipeline`) on each body as IR generation finishes it; before a body, the
/// worker lowers the ABI of every function declared since the previous one ("lower ABI").
/// The whole-module forms of these passes (`backend::isel::run`, ...) serve tests.
pub const FUNCTION_PASSES: &[FunctionPass] = &[
    FunctionPass {
        name: "select instructions",
        run: backend::isel::run_function,
    },
    FunctionPass {
        name: "liveness",
        run: backend::liveness::run_function,
    },
    FunctionPass {
        name: "register allocation",
        run: backend::regalloc::run_function,
    },
    FunctionPass {
        name: "stack layout",
        run: backend::stack::run_function,
    },
    FunctionPass {
        name: "encode",
        run: backend::encode::run_function,
    },
];

/// Time spent in one pass, and the process's resident memory after it.
#[derive(Clone, Debug)]
pub struct PassTime {
    pub name: &'static str,
    pub duration: std::time::Duration,
    /// Resident set size in bytes after the pass (`None` where the OS does not say).
    pub resident_after: Option<u64>,
    /// A back-end pass run per function on the worker: `duration` is its time summed over
    /// functions, overlapped with the wall time of IR generation.
    pub per_function: bool,
}

/// The process's resident set size in bytes (Linux: `/proc/self/statm`).
pub fn resident_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Runs every pass in order. Returns the time of each pass that ran.
pub fn run_all(c: &mut Compilation) -> Vec<PassTime> {
    let mut times = Vec::with_capacity(PASSES.len());
    for pass in PASSES {
        let start = std::time::Instant::now();
        (pass.run)(c);
        times.push(PassTime {
            name: pass.name,
            duration: start.elapsed(),
            resident_after: if c.options.measure {
                resident_bytes()
            } else {
                None
            },
            per_function: false,
        });
        if c.diags.has_errors() {
            break;
        }
    }
    // The back end's per-function passes, listed under the pass they overlapped with.
    if let Some(at) = times.iter().position(|t| t.name.starts_with("generate IR")) {
        let worker = c
            .back
            .function_times
            .iter()
            .map(|&(name, duration)| PassTime {
                name,
                duration,
                resident_after: None,
                per_function: true,
            });
        times.splice(at + 1..at + 1, worker);
    }
    times
}
