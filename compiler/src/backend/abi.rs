//! Calling conventions: System V AMD64 (linux-x64, and the JIT on Linux), Win64
//! (windows-x64) and the Linux `syscall` convention.
//!
//! Scalars take one register (general-purpose for integers and pointers, SSE for floats)
//! or one 8-byte stack slot. Aggregates (`ir::Type::Agg`) are classified:
//! - System V: up to 16 bytes whose fields sit at their natural alignment are split into
//!   eightbytes, each INTEGER (any integer or pointer field in it: a general-purpose
//!   register) or SSE (only floats: an SSE register); if the registers of the convention
//!   do not suffice for all of its eightbytes, or it is larger (MEMORY class), the whole
//!   aggregate is copied into the argument area. Results: INTEGER eightbytes in rax then
//!   rdx, SSE ones in xmm0 then xmm1; MEMORY results through a hidden pointer in rdi,
//!   which the callee returns in rax.
//! - Win64: sizes 1, 2, 4 and 8 travel by value in the argument's general-purpose register
//!   or stack slot (never in an SSE register, even when all fields are floats); any other
//!   size is passed as a pointer to a copy the caller makes. Results of 1, 2, 4 or 8 bytes
//!   come back in rax; others through a hidden pointer in rcx (the other arguments shift
//!   by one position), returned in rax.

use super::lir::{Conv, Reg};
use crate::ir::{AggLayout, Signature, Type};

/// Where one scalar (or one piece of an aggregate) is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    Reg(Reg),
    /// At this offset from rsp at the call instruction (the callee sees it at
    /// `rsp + 8 + offset` on entry, `rbp + 16 + offset` after its prologue).
    Stack(i32),
}

/// Bytes `offset..offset + size` of an aggregate, passed in `loc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub loc: ArgLoc,
    pub offset: u32,
    pub size: u8,
}

/// How one parameter is passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamAbi {
    Scalar(ArgLoc),
    /// An aggregate in registers (or, on Win64, one 8-byte stack slot).
    Parts(Vec<Part>),
    /// An aggregate copied into the outgoing argument area at this rsp offset (System V
    /// MEMORY class).
    Memory {
        offset: i32,
        size: u32,
    },
    /// An aggregate passed as the address of a copy made by the caller (Win64).
    ByRef(ArgLoc),
}

/// How the result comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetAbi {
    Void,
    Scalar(Reg),
    /// An aggregate in registers (`Part::loc` is always a register).
    Parts(Vec<Part>),
    /// An aggregate written through the hidden pointer passed in this register; the callee
    /// returns the pointer in rax.
    Sret(Reg),
}

/// How one function is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncAbi {
    pub params: Vec<ParamAbi>,
    pub ret: RetAbi,
    /// Bytes of outgoing argument area a call needs (Win64 shadow space included).
    pub stack_bytes: u32,
    /// Bitmask of the argument registers used.
    pub arg_mask: u32,
    /// Registers a call destroys.
    pub clobbers: u32,
    /// Calls become `syscall` with this number.
    pub syscall: Option<u32>,
}

impl FuncAbi {
    /// Registers that hold the result when the function returns.
    pub fn ret_mask(&self) -> u32 {
        match &self.ret {
            RetAbi::Void => 0,
            RetAbi::Scalar(r) => 1 << r.hw(),
            RetAbi::Sret(_) => 1 << Reg::RAX.hw(),
            RetAbi::Parts(parts) => parts.iter().fold(0, |m, p| match p.loc {
                ArgLoc::Reg(r) => m | 1 << r.hw(),
                ArgLoc::Stack(_) => m,
            }),
        }
    }
}

fn mask(regs: &[Reg]) -> u32 {
    regs.iter().fold(0, |m, r| m | 1 << r.hw())
}

/// Bits of xmm`lo`..xmm`hi` (exclusive).
const fn xmm_range(lo: u32, hi: u32) -> u32 {
    let mut m = 0u32;
    let mut i = lo;
    while i < hi {
        m |= 1 << (16 + i);
        i += 1;
    }
    m
}

const XMM_ARGS: [Reg; 8] = [
    Reg(16),
    Reg(17),
    Reg(18),
    Reg(19),
    Reg(20),
    Reg(21),
    Reg(22),
    Reg(23),
];

/// System V class of an eightbyte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Integer,
    Sse,
}

/// The System V eightbytes of an aggregate (class and size), or `None` for MEMORY.
fn sysv_classify(a: &AggLayout) -> Option<Vec<(Class, u8)>> {
    if a.size > 16 || a.size == 0 {
        return None;
    }
    let n = a.size.div_ceil(8) as usize;
    let mut classes: Vec<Option<Class>> = vec![None; n];
    for &(off, t) in &a.fields {
        let sz = t.size();
        if !off.is_multiple_of(sz) {
            return None;
        }
        let k = (off / 8) as usize;
        if k >= n {
            return None;
        }
        let c = if t.is_float() {
            Class::Sse
        } else {
            Class::Integer
        };
        classes[k] = match (classes[k], c) {
            (Some(Class::Integer), _) | (_, Class::Integer) => Some(Class::Integer),
            _ => Some(Class::Sse),
        };
    }
    Some(
        classes
            .iter()
            .enumerate()
            .map(|(k, c)| {
                (
                    c.unwrap_or(Class::Integer),
                    (a.size - 8 * k as u32).min(8) as u8,
                )
            })
            .collect(),
    )
}

fn agg_of(aggs: &[AggLayout], t: Type) -> Option<&AggLayout> {
    match t {
        Type::Agg(id) => aggs.get(id.index()),
        _ => None,
    }
}

fn align_up(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

impl Conv {
    pub fn arg_regs(self) -> &'static [Reg] {
        match self {
            Conv::SysV => &[Reg::RDI, Reg::RSI, Reg::RDX, Reg::RCX, Reg::R8, Reg::R9],
            Conv::Win64 => &[Reg::RCX, Reg::RDX, Reg::R8, Reg::R9],
        }
    }

    /// SSE argument registers (Win64: by position, so only the first four are used).
    pub fn xmm_arg_regs(self) -> &'static [Reg] {
        match self {
            Conv::SysV => &XMM_ARGS,
            Conv::Win64 => &XMM_ARGS[..4],
        }
    }

    /// Registers a call may destroy.
    pub fn caller_saved(self) -> u32 {
        match self {
            Conv::SysV => {
                mask(&[
                    Reg::RAX,
                    Reg::RCX,
                    Reg::RDX,
                    Reg::RSI,
                    Reg::RDI,
                    Reg::R8,
                    Reg::R9,
                    Reg::R10,
                    Reg::R11,
                ]) | xmm_range(0, 16)
            }
            Conv::Win64 => {
                mask(&[
                    Reg::RAX,
                    Reg::RCX,
                    Reg::RDX,
                    Reg::R8,
                    Reg::R9,
                    Reg::R10,
                    Reg::R11,
                ]) | xmm_range(0, 6)
            }
        }
    }

    /// Registers a function must preserve (rsp excluded; rbp is saved by every prologue).
    pub fn callee_saved(self) -> u32 {
        !self.caller_saved() & !(1 << Reg::RSP.hw())
    }

    /// The SSE register the encoder uses as scratch (never allocated, caller-saved, not an
    /// argument register).
    pub fn xmm_scratch(self) -> u8 {
        match self {
            Conv::SysV => 16 + 15,
            Conv::Win64 => 16 + 5,
        }
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

    /// SSE registers the allocator may assign, caller-saved first (the scratch excluded).
    pub fn xmm_allocation_order(self) -> &'static [Reg] {
        match self {
            Conv::SysV => &[
                Reg(16),
                Reg(17),
                Reg(18),
                Reg(19),
                Reg(20),
                Reg(21),
                Reg(22),
                Reg(23),
                Reg(24),
                Reg(25),
                Reg(26),
                Reg(27),
                Reg(28),
                Reg(29),
                Reg(30),
            ],
            Conv::Win64 => &[
                Reg(16),
                Reg(17),
                Reg(18),
                Reg(19),
                Reg(20),
                Reg(22),
                Reg(23),
                Reg(24),
                Reg(25),
                Reg(26),
                Reg(27),
                Reg(28),
                Reg(29),
                Reg(30),
                Reg(31),
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

    /// The argument and result locations of a call with signature `sig`; `aggs` are the
    /// module's aggregate layouts.
    pub fn func_abi(self, sig: &Signature, aggs: &[AggLayout]) -> FuncAbi {
        match self {
            Conv::SysV => sysv_abi(sig, aggs),
            Conv::Win64 => win64_abi(sig, aggs),
        }
    }
}

fn sysv_abi(sig: &Signature, aggs: &[AggLayout]) -> FuncAbi {
    let gprs = Conv::SysV.arg_regs();
    let (mut ni, mut nf) = (0usize, 0usize);
    let mut stack = 0u32;
    let mut used = 0u32;
    let ret = match sig.ret {
        None => RetAbi::Void,
        Some(t) if t.is_float() => RetAbi::Scalar(Reg::XMM0),
        Some(t @ Type::Agg(_)) => match agg_of(aggs, t).and_then(sysv_classify) {
            Some(ebs) => {
                let (mut ri, mut rf) = (0, 0);
                let parts = ebs
                    .iter()
                    .enumerate()
                    .map(|(k, &(c, size))| {
                        let r = if c == Class::Sse {
                            rf += 1;
                            [Reg::XMM0, Reg::XMM1][rf - 1]
                        } else {
                            ri += 1;
                            [Reg::RAX, Reg::RDX][ri - 1]
                        };
                        Part {
                            loc: ArgLoc::Reg(r),
                            offset: 8 * k as u32,
                            size,
                        }
                    })
                    .collect();
                RetAbi::Parts(parts)
            }
            None => {
                ni = 1;
                used |= 1 << Reg::RDI.hw();
                RetAbi::Sret(Reg::RDI)
            }
        },
        Some(_) => RetAbi::Scalar(Reg::RAX),
    };
    let mut params = Vec::with_capacity(sig.params.len());
    for &t in &sig.params {
        if let Some(a) = agg_of(aggs, t) {
            if let Some(ebs) = sysv_classify(a) {
                let need_i = ebs.iter().filter(|e| e.0 == Class::Integer).count();
                let need_f = ebs.len() - need_i;
                if ni + need_i <= gprs.len() && nf + need_f <= XMM_ARGS.len() {
                    let parts = ebs
                        .iter()
                        .enumerate()
                        .map(|(k, &(c, size))| {
                            let r = if c == Class::Sse {
                                nf += 1;
                                XMM_ARGS[nf - 1]
                            } else {
                                ni += 1;
                                gprs[ni - 1]
                            };
                            used |= 1 << r.hw();
                            Part {
                                loc: ArgLoc::Reg(r),
                                offset: 8 * k as u32,
                                size,
                            }
                        })
                        .collect();
                    params.push(ParamAbi::Parts(parts));
                    continue;
                }
            }
            let align = if a.align > 8 { 16 } else { 8 };
            stack = align_up(stack, align);
            params.push(ParamAbi::Memory {
                offset: stack as i32,
                size: a.size,
            });
            stack += align_up(a.size, 8);
            continue;
        }
        let reg = if t.is_float() {
            (nf < XMM_ARGS.len()).then(|| {
                nf += 1;
                XMM_ARGS[nf - 1]
            })
        } else {
            (ni < gprs.len()).then(|| {
                ni += 1;
                gprs[ni - 1]
            })
        };
        match reg {
            Some(r) => {
                used |= 1 << r.hw();
                params.push(ParamAbi::Scalar(ArgLoc::Reg(r)));
            }
            None => {
                params.push(ParamAbi::Scalar(ArgLoc::Stack(stack as i32)));
                stack += 8;
            }
        }
    }
    FuncAbi {
        params,
        ret,
        stack_bytes: align_up(stack, 16),
        arg_mask: used,
        clobbers: Conv::SysV.caller_saved(),
        syscall: None,
    }
}

fn win64_abi(sig: &Signature, aggs: &[AggLayout]) -> FuncAbi {
    let gprs = Conv::Win64.arg_regs();
    let mut used = 0u32;
    let mut pos = 0usize;
    let ret = match sig.ret {
        None => RetAbi::Void,
        Some(t) if t.is_float() => RetAbi::Scalar(Reg::XMM0),
        Some(t @ Type::Agg(_)) => match agg_of(aggs, t) {
            Some(a) if matches!(a.size, 1 | 2 | 4 | 8) => RetAbi::Parts(vec![Part {
                loc: ArgLoc::Reg(Reg::RAX),
                offset: 0,
                size: a.size as u8,
            }]),
            _ => {
                pos = 1;
                used |= 1 << Reg::RCX.hw();
                RetAbi::Sret(Reg::RCX)
            }
        },
        Some(_) => RetAbi::Scalar(Reg::RAX),
    };
    let mut params = Vec::with_capacity(sig.params.len());
    for &t in &sig.params {
        let p = pos;
        pos += 1;
        let gpr_loc = if p < 4 {
            used |= 1 << gprs[p].hw();
            ArgLoc::Reg(gprs[p])
        } else {
            ArgLoc::Stack(8 * p as i32)
        };
        let param = if let Some(a) = agg_of(aggs, t) {
            if matches!(a.size, 1 | 2 | 4 | 8) {
                ParamAbi::Parts(vec![Part {
                    loc: gpr_loc,
                    offset: 0,
                    size: a.size as u8,
                }])
            } else {
                ParamAbi::ByRef(gpr_loc)
            }
        } else if t.is_float() && p < 4 {
            used &= !(1 << gprs[p].hw());
            used |= 1 << XMM_ARGS[p].hw();
            ParamAbi::Scalar(ArgLoc::Reg(XMM_ARGS[p]))
        } else {
            ParamAbi::Scalar(gpr_loc)
        };
        params.push(param);
    }
    // Every argument has an 8-byte home, the first four in the shadow space.
    let stack_bytes = align_up(8 * pos.max(4) as u32, 16);
    FuncAbi {
        params,
        ret,
        stack_bytes,
        arg_mask: used,
        clobbers: Conv::Win64.caller_saved(),
        syscall: None,
    }
}

/// Linux syscall argument registers.
pub const SYSCALL_ARGS: [Reg; 6] = [Reg::RDI, Reg::RSI, Reg::RDX, Reg::R10, Reg::R8, Reg::R9];

/// The convention of a Linux system call `number` with signature `sig`, or an error if
/// it has more than six arguments or a float or aggregate argument or result.
pub fn syscall_abi(number: u32, sig: &Signature) -> Result<FuncAbi, String> {
    if sig.params.len() > SYSCALL_ARGS.len() {
        return Err(format!(
            "a system call takes at most 6 arguments, this one has {}",
            sig.params.len()
        ));
    }
    if sig
        .params
        .iter()
        .chain(sig.ret.iter())
        .any(|t| t.is_float() || matches!(t, Type::Agg(_)))
    {
        return Err("system call arguments and results must be integers or pointers".into());
    }
    let regs = &SYSCALL_ARGS[..sig.params.len()];
    Ok(FuncAbi {
        params: regs
            .iter()
            .map(|&r| ParamAbi::Scalar(ArgLoc::Reg(r)))
            .collect(),
        ret: if sig.ret.is_some() {
            RetAbi::Scalar(Reg::RAX)
        } else {
            RetAbi::Void
        },
        stack_bytes: 0,
        arg_mask: mask(regs),
        clobbers: mask(&[Reg::RAX, Reg::RCX, Reg::R11]),
        syscall: Some(number),
    })
}
