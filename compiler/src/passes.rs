//! The whole pipeline as one list. The driver runs these in order, timing each, and stops
//! after the first pass that reports an error.

use crate::backend;
use crate::compilation::Compilation;
use crate::front;

pub struct Pass {
    pub name: &'static str,
    pub run: fn(&mut Compilation),
}

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
    Pass {
        name: "generate IR",
        run: front::irgen::run,
    },
    Pass {
        name: "lower ABI",
        run: backend::lower::run,
    },
    Pass {
        name: "select instructions",
        run: backend::isel::run,
    },
    Pass {
        name: "liveness",
        run: backend::liveness::run,
    },
    Pass {
        name: "register allocation",
        run: backend::regalloc::run,
    },
    Pass {
        name: "stack layout",
        run: backend::stack::run,
    },
    Pass {
        name: "encode",
        run: backend::encode::run,
    },
];

/// Time spent in one pass, and the process's resident memory after it.
#[derive(Clone, Debug)]
pub struct PassTime {
    pub name: &'static str,
    pub duration: std::time::Duration,
    /// Resident set size in bytes after the pass (`None` where the OS does not say).
    pub resident_after: Option<u64>,
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
            resident_after: if c.options.measure_memory {
                resident_bytes()
            } else {
                None
            },
        });
        if c.diags.has_errors() {
            break;
        }
    }
    times
}
