//! `Compilation`: everything one compilation owns, threaded through the passes.

use crate::backend::BackState;
use crate::diag::Diagnostics;
use crate::front::FrontState;
use crate::ir;
use crate::source::SourceFiles;
use meteor_linker::{ObjectModule, Target};

/// Which intermediate forms to print to standard output after their pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintFlags {
    pub ast: bool,
    pub ir: bool,
    pub lir: bool,
    pub asm: bool,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    /// Compiling for in-process execution: `#version(jit)` holds, output goes through host
    /// symbols, and the entry function returns `main`'s exit code instead of exiting.
    pub jit: bool,
    pub print: PrintFlags,
    /// A program must define `main` (the default). An embedder compiling a library of
    /// functions for the host sets it to false: without `main` no entry function is made.
    pub require_main: bool,
    /// `--time`: record the resident memory after every pass, and time the back end's
    /// per-function passes (two clock reads per pass and function; off by default).
    pub measure: bool,
    /// Run the back end on a thread of its own, overlapped with IR generation (`Some(true)`),
    /// inline on the generating thread (`Some(false)`), or decide by the program's size and
    /// the `METEOR_THREADS` variable (`None`, the default; `METEOR_THREADS=1`: inline,
    /// `METEOR_THREADS=2`: on a thread even for small programs).
    /// The output is the same bytes either way.
    pub back_end_thread: Option<bool>,
}

impl Options {
    pub fn new(target: Target, jit: bool) -> Self {
        Options {
            target,
            jit,
            print: PrintFlags::default(),
            require_main: true,
            measure: false,
            back_end_thread: None,
        }
    }
}

/// The state of one compilation. Each pass reads what earlier passes produced and fills
/// in its own part; a pass that reports an error stops the pipeline after it.
pub struct Compilation {
    pub options: Options,
    pub sources: SourceFiles,
    pub diags: Diagnostics,
    /// Tokens, AST, scopes and types (owned by `front`).
    pub front: FrontState,
    /// The SSA IR, produced by `front::irgen`.
    pub ir: ir::Module,
    /// Machine-level function bodies (owned by `backend`).
    pub back: BackState,
    /// The result: code, data, symbols and relocations for the linker.
    pub object: ObjectModule,
    /// Text printed by `--print-*` flags, in pass order.
    pub printed: String,
}

impl Compilation {
    pub fn new(options: Options, sources: SourceFiles) -> Self {
        let target = options.target;
        Compilation {
            options,
            sources,
            diags: Diagnostics::default(),
            front: FrontState::default(),
            ir: ir::Module::new(target),
            back: BackState::default(),
            object: ObjectModule::new("<meteor>"),
            printed: String::new(),
        }
    }
}
