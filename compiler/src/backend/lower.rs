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
use crate::ir::FunctionKind;
use meteor_linker::Target;

pub fn conv_for(target: Target) -> Conv {
    match target {
        Target::LinuxX64 => Conv::SysV,
        Target::WindowsX64 => Conv::Win64,
    }
}

pub fn run(c: &mut Compilation) {
    let conv = conv_for(c.ir.target);
    c.back.conv = conv;
    let mut abis: Vec<FuncAbi> = Vec::with_capacity(c.ir.functions.len());
    for f in &c.ir.functions {
        let a = match &f.kind {
            FunctionKind::Syscall(n) => {
                if c.ir.target != Target::LinuxX64 {
                    c.diags.error_no_span(format!(
                        "function `{}` is a Linux system call, which the target {} does not have",
                        f.name, c.ir.target
                    ));
                }
                match abi::syscall_abi(*n, &f.sig) {
                    Ok(a) => a,
                    Err(e) => {
                        c.diags.error_no_span(format!("function `{}`: {e}", f.name));
                        conv.func_abi(&f.sig, &c.ir.aggregates)
                    }
                }
            }
            _ => conv.func_abi(&f.sig, &c.ir.aggregates),
        };
        if f.is_process_entry && !f.sig.params.is_empty() {
            c.diags.error_no_span(format!(
                "the process entry `{}` cannot take parameters",
                f.name
            ));
        }
        abis.push(a);
    }
    c.back.abi = abis;
}
