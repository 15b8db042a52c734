//! Back-end pass: stack frame layout.
//!
//! ```text
//!   [rbp + 16 ...]   incoming stack arguments (Win64: after the 32-byte shadow space)
//!   [rbp + 8]        return address
//!   [rbp]            saved rbp
//!   [rbp - 8k ...]   saved callee-saved registers (pushed in the prologue)
//!   ... padding ...
//!   [rsp + Y]        saved callee-saved xmm registers (Win64 xmm6..xmm15, 16 bytes each)
//!   [rsp + X]        IR stack slots (each at its alignment)
//!   [rsp + out ...]  spill slots (8 bytes each)
//!   [rsp + 0]        outgoing argument area (Win64 shadow space first)
//! ```
//!
//! Locals are addressed from rsp, which stays put between prologue and epilogue, so the
//! frame can be realigned (`and rsp, -align`) for over-aligned slots and for the linux
//! process entry, whose stack is 16-aligned on entry instead of 8 mod 16. rsp is 16-byte
//! aligned at every call. A leaf function without slots, spills, saved registers or stack
//! arguments gets no frame at all.

use super::lir::{Base, Frame, MFunc, MInst, Reg};
use super::pipeline::FuncJob;
use crate::compilation::Compilation;

/// Largest frame accepted: every offset must fit a signed 32-bit displacement.
const MAX_FRAME: u64 = 1 << 30;

/// The module-level pass (back-end tests): lays out every function in `c.back.funcs`.
pub fn run(c: &mut Compilation) {
    for (f, func) in c.back.funcs.iter_mut().zip(&c.ir.functions) {
        let Some(f) = f else { continue };
        match check_frame(f, &func.name) {
            Ok(()) => layout(f),
            Err(e) => c.diags.error_no_span(e),
        }
    }
}

/// Per-function pass: lays out the frame of `j.mf`.
pub fn run_function(j: &mut FuncJob<'_>) {
    let Some(f) = j.mf.as_mut() else { return };
    match check_frame(f, &j.w.m.func(j.id).name) {
        Ok(()) => layout(f),
        Err(e) => j.diags.error_no_span(e),
    }
}

/// An error when the frame of `f` (named `name`) could not be addressed.
fn check_frame(f: &MFunc, name: &str) -> Result<(), String> {
    let bytes: u64 = f
        .stack_slots
        .iter()
        .map(|&(size, align)| size as u64 + align as u64)
        .sum::<u64>()
        + 16 * 16
        + 8 * f.num_spill_slots as u64
        + f.out_arg_bytes as u64;
    if bytes > MAX_FRAME {
        return Err(format!(
            "the stack frame of `{name}` needs {bytes} bytes, more than the {MAX_FRAME} supported"
        ));
    }
    Ok(())
}

fn align_up(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

pub fn layout(f: &mut MFunc) {
    let saved: Vec<u8> = (0..16u8)
        .filter(|&r| f.used_callee_saved & (1 << r) != 0 && r != Reg::RBP.hw())
        .collect();
    let xmm: Vec<u8> = (16..32u8)
        .filter(|&r| f.used_callee_saved & (1 << r) != 0)
        .collect();
    let mut off = f.out_arg_bytes;
    let spill_offsets: Vec<i32> = (0..f.num_spill_slots)
        .map(|i| (off + 8 * i) as i32)
        .collect();
    off += 8 * f.num_spill_slots;
    let mut max_align = 16u32;
    let mut slot_offsets = Vec::with_capacity(f.stack_slots.len());
    for &(size, align) in &f.stack_slots {
        let align = align.max(1).next_power_of_two();
        max_align = max_align.max(align);
        off = align_up(off, align);
        slot_offsets.push(off as i32);
        off += size;
    }
    off = align_up(off, 16);
    let saved_xmm: Vec<(u8, i32)> = xmm
        .iter()
        .enumerate()
        .map(|(i, &r)| (r, (off + 16 * i as u32) as i32))
        .collect();
    off += 16 * xmm.len() as u32;
    let locals = align_up(off, 16);
    // On entry rsp is 8 mod 16; after `push rbp` and k pushes it is 8k mod 16.
    let k = saved.len() as u32;
    let sub = locals + if k % 2 == 1 { 8 } else { 0 };
    let mut realign = if max_align > 16 { max_align } else { 0 };
    if f.process_entry {
        realign = realign.max(16);
    }
    let needs_frame = f.process_entry
        || sub != 0
        || k != 0
        || f.insts.iter().any(|i| match i {
            MInst::Call { .. } => true,
            MInst::Load { addr, .. }
            | MInst::Store { addr, .. }
            | MInst::StoreImm { addr, .. }
            | MInst::Lea { addr, .. } => {
                matches!(addr.base, Base::Reg(Reg::RBP) | Base::Reg(Reg::RSP))
            }
            _ => false,
        });
    f.frame = Frame {
        saved,
        saved_xmm,
        sub,
        realign,
        slot_offsets,
        spill_offsets,
        frameless: !needs_frame,
    };
}
