//! Back-end pass: liveness. Numbers the LIR instructions of each function in layout order
//! (instruction `i` reads its operands at position `2i` and writes its results at
//! `2i + 1`) and computes:
//! - one live interval `[start, end)` per virtual register: the hull of every position
//!   where it is live (Poletto & Sarkar's single-range intervals);
//! - for every physical register, the ranges where an instruction pins it (arguments,
//!   results, `div`, shift counts, call clobbers).
//!
//! Liveness across blocks is found by path exploration from each upward-exposed use back
//! to the definitions (Brandner et al.), which touches each (value, block) pair at most
//! once: no iterative data-flow over bit sets.

use super::lir::{Access, MFunc};
use super::pipeline::FuncJob;
use crate::compilation::Compilation;

/// Live intervals of one function.
#[derive(Clone, Debug, Default)]
pub struct Liveness {
    /// Per virtual register: first live position (`u32::MAX` if it never occurs).
    pub start: Vec<u32>,
    /// Per virtual register: one past the last live position.
    pub end: Vec<u32>,
    /// Per physical register (16 general-purpose, then xmm0..xmm15): sorted, disjoint
    /// `[start, end)` ranges where it is fixed.
    pub fixed: [Vec<(u32, u32)>; 32],
}

/// The module-level pass (back-end tests): intervals of every function in `c.back.funcs`.
pub fn run(c: &mut Compilation) {
    c.back.live = c
        .back
        .funcs
        .iter()
        .map(|f| f.as_ref().map(compute))
        .collect();
}

/// Per-function pass: the intervals of `j.mf`.
pub fn run_function(j: &mut FuncJob<'_>) {
    if let Some(mf) = &j.mf {
        j.live = Some(compute(mf));
    }
}

pub fn compute(f: &MFunc) -> Liveness {
    let nv = f.num_vregs as usize;
    let nb = f.blocks.len();
    let mut start = vec![u32::MAX; nv];
    let mut end = vec![0u32; nv];
    let mut fixed: [Vec<(u32, u32)>; 32] = Default::default();
    // Per virtual register: the block it was last defined in / had an exposed use in.
    let mut def_stamp = vec![u32::MAX; nv];
    let mut use_stamp = vec![u32::MAX; nv];
    let mut upward: Vec<(u32, u32)> = Vec::new();
    let any_float = f.float.iter().any(|&x| x);
    let mut defs: Vec<(u32, u32)> = Vec::new();

    for (b, block) in f.blocks.iter().enumerate() {
        let b = b as u32;
        let bstart = 2 * block.start;
        for i in block.start..block.end {
            let inst = &f.insts[i as usize];
            inst.operands(&f.pmoves, |r, acc| {
                if r.is_phys() {
                    // Fixed SSE registers only constrain SSE virtual registers.
                    if r.is_xmm() && !any_float {
                        return;
                    }
                    let ranges = &mut fixed[r.hw() as usize];
                    match acc {
                        Access::Def => ranges.push((2 * i + 1, 2 * i + 2)),
                        Access::Use => match ranges.last_mut() {
                            Some(last) if last.0 >= bstart => last.1 = last.1.max(2 * i + 1),
                            _ => ranges.push((bstart, 2 * i + 1)),
                        },
                    }
                } else if r.is_virt() {
                    let v = r.virt_index();
                    match acc {
                        Access::Use => {
                            start[v] = start[v].min(2 * i);
                            end[v] = end[v].max(2 * i + 1);
                            if def_stamp[v] != b && use_stamp[v] != b {
                                use_stamp[v] = b;
                                upward.push((v as u32, b));
                            }
                        }
                        Access::Def => {
                            start[v] = start[v].min(2 * i + 1);
                            end[v] = end[v].max(2 * i + 2);
                            if def_stamp[v] != b {
                                def_stamp[v] = b;
                                defs.push((v as u32, b));
                            }
                        }
                    }
                }
            });
        }
    }

    if !upward.is_empty() {
        // Predecessors in compressed form.
        let mut pred_count = vec![0u32; nb + 1];
        for b in 0..nb {
            f.for_each_succ(b, |s| pred_count[s as usize + 1] += 1);
        }
        for i in 0..nb {
            pred_count[i + 1] += pred_count[i];
        }
        let mut fill = pred_count.clone();
        let mut preds = vec![0u32; pred_count[nb] as usize];
        for b in 0..nb {
            f.for_each_succ(b, |s| {
                preds[fill[s as usize] as usize] = b as u32;
                fill[s as usize] += 1;
            });
        }

        upward.sort_unstable();
        defs.sort_unstable();
        let mut def_mark = vec![u32::MAX; nb];
        let mut in_mark = vec![u32::MAX; nb];
        let mut out_mark = vec![u32::MAX; nb];
        let mut work: Vec<u32> = Vec::new();
        let (mut ui, mut di) = (0, 0);
        while ui < upward.len() {
            let v = upward[ui].0;
            while di < defs.len() && defs[di].0 < v {
                di += 1;
            }
            while di < defs.len() && defs[di].0 == v {
                def_mark[defs[di].1 as usize] = v;
                di += 1;
            }
            while ui < upward.len() && upward[ui].0 == v {
                work.push(upward[ui].1);
                ui += 1;
            }
            let vi = v as usize;
            while let Some(b) = work.pop() {
                let bu = b as usize;
                if in_mark[bu] == v {
                    continue;
                }
                in_mark[bu] = v;
                start[vi] = start[vi].min(2 * f.blocks[bu].start);
                for &p in &preds[pred_count[bu] as usize..pred_count[bu + 1] as usize] {
                    let pu = p as usize;
                    if out_mark[pu] != v {
                        out_mark[pu] = v;
                        end[vi] = end[vi].max(2 * f.blocks[pu].end);
                        if def_mark[pu] != v {
                            work.push(p);
                        }
                    }
                }
            }
        }
    }
    Liveness { start, end, fixed }
}
