//! Calling conventions: System V AMD64 (linux-x64, and the JIT on Linux), Win64
//! (windows-x64) and the Linux `syscall` convention.
//!
//! All IR values are scalars of at most 8 bytes, so every argument takes one register or
//! one 8-byte stack slot; results come back in rax.

use super::lir::{Conv, Reg};
use crate::ir::Signature;

/// Where one argument is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    Reg(Reg),
    /// At this offset from rsp at the call instruction (the callee sees it at
    /// `rsp + 8 + offset` on entry, `rbp + 16 + offset` after its prologue).
    Stack(i32),
}

/// How one function is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncAbi {
    pub params: Vec<ArgLoc>,
    /// Bytes of outgoing argument area a call needs (Win64 shadow space included).
    pub stack_bytes: u32,
    /// Bitmask of the argument registers used.
    pub arg_mask: u16,
    /// Registers a call destroys.
    pub clobbers: u16,
    pub returns_value: bool,
    /// Calls become `syscall` with this number.
    pub syscall: Option<u32>,
}

fn mask(regs: &[Reg]) -> u16 {
    regs.iter().fold(0, |m, r| m | 1 << r.hw())
}

impl Conv {
    pub fn arg_regs(self) -> &'static [Reg] {
        match self {
            Conv::SysV => &[Reg::RDI, Reg::RSI, Reg::RDX, Reg::RCX, Reg::R8, Reg::R9],
            Conv::Win64 => &[Reg::RCX, Reg::RDX, Reg::R8, Reg::R9],
        }
    }

    /// Registers a call may destroy.
    pub fn caller_saved(self) -> u16 {
        match self {
            Conv::SysV => mask(&[
                Reg::RAX,
                Reg::RCX,
                Reg::RDX,
                Reg::RSI,
                Reg::RDI,
                Reg::R8,
                Reg::R9,
                Reg::R10,
                Reg::R11,
            ]),
            Conv::Win64 => mask(&[
                Reg::RAX,
                Reg::RCX,
                Reg::RDX,
                Reg::R8,
                Reg::R9,
                Reg::R10,
                Reg::R11,
            ]),
        }
    }

    /// Registers a function must preserve (rsp excluded; rbp is saved by every prologue).
    pub fn callee_saved(self) -> u16 {
        !self.caller_saved() & !(1 << Reg::RSP.hw())
    }

    /// Registers the allocator may assign, in order of preference: caller-saved first
    /// (they cost nothing to use), then callee-saved. r10/r11 are the encoder's scratch
    /// registers and rsp/rbp are the frame.
    pub fn allocation_order(self) -> &'static [Reg] {
        match self {
            Conv::SysV => &[
                Reg::RAX,
                Reg::RCX,
                Reg::RDX,
                Reg::RSI,
                Reg::RDI,
                Reg::R8,
                Reg::R9,
                Reg::RBX,
                Reg::R12,
                Reg::R13,
                Reg::R14,
                Reg::R15,
            ],
            Conv::Win64 => &[
                Reg::RAX,
                Reg::RCX,
                Reg::RDX,
                Reg::R8,
                Reg::R9,
                Reg::RBX,
                Reg::RSI,
                Reg::RDI,
                Reg::R12,
                Reg::R13,
                Reg::R14,
                Reg::R15,
            ],
        }
    }

    /// Bytes the caller reserves below the arguments for the callee (Win64 shadow space).
    pub fn shadow_bytes(self) -> u32 {
        match self {
            Conv::SysV => 0,
            Conv::Win64 => 32,
        }
    }

    /// The argument locations of a call with signature `sig`.
    pub fn func_abi(self, sig: &Signature) -> FuncAbi {
        let regs = self.arg_regs();
        let mut params = Vec::with_capacity(sig.params.len());
        let mut stack = 0u32;
        for i in 0..sig.params.len() {
            if i < regs.len() {
                params.push(ArgLoc::Reg(regs[i]));
            } else {
                // Win64 gives every argument an 8-byte home (the first four in the shadow
                // space); System V packs only the stack ones.
                let off = self.shadow_bytes() + stack;
                params.push(ArgLoc::Stack(off as i32));
                stack += 8;
            }
        }
        let used = sig.params.len().min(regs.len());
        FuncAbi {
            params,
            stack_bytes: self.shadow_bytes() + stack,
            arg_mask: mask(&regs[..used]),
            clobbers: self.caller_saved(),
            returns_value: sig.ret.is_some(),
            syscall: None,
        }
    }
}

/// Linux syscall argument registers.
pub const SYSCALL_ARGS: [Reg; 6] = [Reg::RDI, Reg::RSI, Reg::RDX, Reg::R10, Reg::R8, Reg::R9];

/// The convention of a Linux system call `number` with signature `sig`, or an error if
/// it has more than six arguments.
pub fn syscall_abi(number: u32, sig: &Signature) -> Result<FuncAbi, String> {
    if sig.params.len() > SYSCALL_ARGS.len() {
        return Err(format!(
            "a system call takes at most 6 arguments, this one has {}",
            sig.params.len()
        ));
    }
    let regs = &SYSCALL_ARGS[..sig.params.len()];
    Ok(FuncAbi {
        params: regs.iter().map(|&r| ArgLoc::Reg(r)).collect(),
        stack_bytes: 0,
        arg_mask: mask(regs),
        clobbers: mask(&[Reg::RAX, Reg::RCX, Reg::R11]),
        returns_value: sig.ret.is_some(),
        syscall: Some(number),
    })
}
