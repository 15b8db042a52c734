//! Back-end pass: ABI lowering. Picks the calling convention of the target (System V on
//! linux-x64 and for the JIT on Linux, Win64 on windows-x64) and computes, for every
//! function of the module, where its arguments go and what a call to it destroys
//! (`BackState::abi`). Instruction selection places values accordingly; the stack pass
//! sizes the outgoing argument area and keeps rsp 16-byte aligned at calls.
//!
//! Aggregates are classified here too (see `abi`); what cannot be lowered (a syscall on
//! Windows or with float arguments, a process entry with parameters) is reported.

use super::abi::{self, FuncAbi};
use super::lir::Conv;
use crate::compilation::Compilation;
use crate::diag::Diagnostics;
use crate::ir::{AggLayout, Function, FunctionKind};
use meteor_linker::Target;

pub fn conv_for(target: Target) -> Conv {
    match target {
        Target::LinuxX64 => Conv::SysV,
        Target::WindowsX64 => Conv::Win64,
    }
}

/// The module-level pass (back-end tests): the ABI of every function of `c.ir`. The
/// compiler's pipeline computes each function's ABI when its declaration reaches the
/// back-end worker (`pipeline::Worker::declare`), before any body that calls it.
pub fn run(c: &mut Compilation) {
    let conv = conv_for(c.ir.target);
    c.back.conv = conv;
    let mut abis: Vec<FuncAbi> = Vec::with_capacity(c.ir.functions.len());
    for f in &c.ir.functions {
        abis.push(function_abi(
            conv,
            c.ir.target,
            f,
            &c.ir.aggregates,
            &mut c.diags,
        ));
    }
    c.back.abi = abis;
}

/// How `f` is called under `conv` on `target`; what cannot be lowered is reported.
pub fn function_abi(
    conv: Conv,
    target: Target,
    f: &Function,
    aggregates: &[AggLayout],
    diags: &mut Diagnostics,
) -> FuncAbi {
    let a = match &f.kind {
        FunctionKind::Syscall(n) => {
            if target != Target::LinuxX64 {
                diags.error_no_span(format!(
                    "function `{}` is a Linux system call, which the target {} does not have",
                    f.name, target
                ));
            }
            match abi::syscall_abi(*n, &f.sig) {
                Ok(a) => a,
                Err(e) => {
                    diags.error_no_span(format!("function `{}`: {e}", f.name));
                    conv.func_abi(&f.sig, aggregates)
                }
            }
        }
        _ => conv.func_abi(&f.sig, aggregates),
    };
    if f.is_process_entry && !f.sig.params.is_empty() {
        diags.error_no_span(format!(
            "the process entry `{}` cannot take parameters",
            f.name
        ));
    }
    a
}
