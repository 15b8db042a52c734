//! Back-end pass: register allocation by linear scan (Poletto & Sarkar) over the
//! intervals of `liveness`, with fixed-register constraints.
//!
//! Intervals are visited by increasing start. A register is available to an interval
//! when no active interval holds it and no fixed range of it (an instruction that pins
//! it, or a call that destroys it) overlaps the interval — so a value live across a call
//! only ever gets a callee-saved register. Hints (a copy from or to a register) are tried
//! first, which removes most copies. When no register is available, the interval that
//! ends last among the current one and the active ones whose register would do is spilled
//! whole to an 8-byte slot; slots are reused once their interval has ended.
//!
//! There are two register classes: a virtual register of the SSE class (`MFunc::float`)
//! only gets an SSE register (and only evicts SSE intervals), a general-purpose one only a
//! general-purpose register. Spill slots are 8 bytes for both.
//!
//! Afterwards every virtual register operand is rewritten to its physical register or
//! spill slot (`Reg::spill`); the encoder turns spill slots into memory operands, using
//! r10/r11 as scratch where an instruction cannot take memory.

use super::lir::{MFunc, PSrc, Reg, print_func};
use super::liveness::Liveness;
use super::pipeline::FuncJob;
use crate::compilation::Compilation;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The module-level pass (back-end tests): allocates every function in `c.back.funcs`.
pub fn run(c: &mut Compilation) {
    let live = std::mem::take(&mut c.back.live);
    for (f, l) in c.back.funcs.iter_mut().zip(&live) {
        if let (Some(f), Some(l)) = (f.as_mut(), l) {
            allocate(f, l);
        }
    }
    if c.options.print.lir {
        c.printed.push_str("; LIR after register allocation\n");
        for (f, mf) in c.ir.functions.iter().zip(&c.back.funcs) {
            if let Some(mf) = mf {
                print_func(&mut c.printed, &f.name, mf, &c.ir);
            }
        }
    }
}

/// Per-function pass: allocates `j.mf` with the intervals `j.live` (which it consumes).
pub fn run_function(j: &mut FuncJob<'_>) {
    let (Some(mf), Some(live)) = (j.mf.as_mut(), j.live.take()) else {
        return;
    };
    allocate(mf, &live);
    let w = &mut *j.w;
    if w.print_lir {
        print_func(&mut w.lir_ra, &w.m.func(j.id).name, mf, &w.m);
    }
}

/// Fixed ranges of one physical register with a cursor that only moves forward.
struct FixedCursor<'a> {
    ranges: &'a [(u32, u32)],
    pos: usize,
}

impl FixedCursor<'_> {
    /// Whether no fixed range overlaps `[start, end)`; `start` never decreases between calls.
    fn free_over(&mut self, start: u32, end: u32) -> bool {
        while self.pos < self.ranges.len() && self.ranges[self.pos].1 <= start {
            self.pos += 1;
        }
        self.pos == self.ranges.len() || self.ranges[self.pos].0 >= end
    }
}

pub fn allocate(f: &mut MFunc, live: &Liveness) {
    let nv = f.num_vregs as usize;
    let gpr_order = f.conv.allocation_order();
    let xmm_order = f.conv.xmm_allocation_order();
    let allocatable: u32 = gpr_order
        .iter()
        .chain(xmm_order)
        .fold(0, |m, r| m | 1 << r.hw());
    let mut cursors: Vec<FixedCursor> = live
        .fixed
        .iter()
        .map(|r| FixedCursor { ranges: r, pos: 0 })
        .collect();

    let mut order: Vec<u32> = (0..nv as u32)
        .filter(|&v| live.start[v as usize] != u32::MAX)
        .collect();
    order.sort_unstable_by_key(|&v| live.start[v as usize]);

    let unassigned = Reg(u32::MAX);
    let mut loc = vec![unassigned; nv];
    // (end, vreg, register) of the intervals in registers.
    let mut active: Vec<(u32, u32, u8)> = Vec::with_capacity(16);
    let mut free: u32 = allocatable;
    let mut spill_busy: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::new();
    let mut spill_free: Vec<u32> = Vec::new();
    let mut num_slots = 0u32;
    let mut used: u32 = 0;

    let mut new_slot =
        |end: u32, spill_free: &mut Vec<u32>, spill_busy: &mut BinaryHeap<Reverse<(u32, u32)>>| {
            let slot = spill_free.pop().unwrap_or_else(|| {
                num_slots += 1;
                num_slots - 1
            });
            spill_busy.push(Reverse((end, slot)));
            slot
        };

    for &v in &order {
        let vi = v as usize;
        let (s, e) = (live.start[vi], live.end[vi]);
        active.retain(|&(end, _, r)| {
            if end <= s {
                free |= 1 << r;
                false
            } else {
                true
            }
        });
        while let Some(&Reverse((end, slot))) = spill_busy.peek() {
            if end > s {
                break;
            }
            spill_busy.pop();
            spill_free.push(slot);
        }

        let float = f.float[vi];
        let order_regs = if float { xmm_order } else { gpr_order };
        let mut chosen: Option<u8> = None;
        if let Some(h) = f.hints[vi] {
            let hr = if h.is_phys() {
                Some(h.hw())
            } else if h.is_virt() && loc[h.virt_index()].is_phys() {
                Some(loc[h.virt_index()].hw())
            } else {
                None
            };
            if let Some(r) = hr
                && (r >= 16) == float
                && free & (1 << r) != 0
                && cursors[r as usize].free_over(s, e)
            {
                chosen = Some(r);
            }
        }
        if chosen.is_none() {
            for &r in order_regs {
                let r = r.hw();
                if free & (1 << r) != 0 && cursors[r as usize].free_over(s, e) {
                    chosen = Some(r);
                    break;
                }
            }
        }
        if let Some(r) = chosen {
            loc[vi] = Reg::phys(r);
            free &= !(1 << r);
            used |= 1 << r;
            active.push((e, v, r));
            continue;
        }
        // Spill: the active interval ending last (after this one) whose register has no
        // fixed range inside this interval gives up its register; otherwise this one goes.
        let mut victim: Option<usize> = None;
        for (k, &(end, _, r)) in active.iter().enumerate() {
            if end > e
                && (r >= 16) == float
                && victim.is_none_or(|best| end > active[best].0)
                && cursors[r as usize].free_over(s, e)
            {
                victim = Some(k);
            }
        }
        match victim {
            Some(k) => {
                let (vend, u, r) = active[k];
                active[k] = (e, v, r);
                loc[vi] = Reg::phys(r);
                loc[u as usize] = Reg::spill(new_slot(vend, &mut spill_free, &mut spill_busy));
            }
            None => loc[vi] = Reg::spill(new_slot(e, &mut spill_free, &mut spill_busy)),
        }
    }

    // Rewrite.
    let map = |r: &mut Reg| {
        if r.is_virt() {
            let l = loc[r.virt_index()];
            debug_assert!(l != unassigned, "register {r} without an interval");
            *r = l;
        }
    };
    for inst in &mut f.insts {
        inst.regs_mut(map);
    }
    for m in &mut f.pmoves {
        map(&mut m.dst);
        if let PSrc::Reg(r) = &mut m.src {
            map(r);
        }
    }
    f.num_spill_slots = num_slots;
    f.used_callee_saved = (used | f.fixed_used) & f.conv.callee_saved();
}
