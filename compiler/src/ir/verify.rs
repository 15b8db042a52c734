//! Checks the IR invariants listed in `ir/mod.rs`. The front end's output is verified in
//! debug builds and tests, so a bug is caught where it is made, not in the back end.

use super::*;

/// Returns a description of the first broken invariant, if any.
pub fn verify(m: &Module) -> Result<(), String> {
    for func in &m.functions {
        let FunctionKind::Defined(body) = &func.kind else {
            continue;
        };
        verify_body(m, func, body).map_err(|e| format!("in function {}: {e}", func.name))?;
    }
    if let Some(e) = m.entry
        && e.index() >= m.functions.len()
    {
        return Err("entry function out of range".into());
    }
    Ok(())
}

fn verify_body(m: &Module, func: &Function, body: &Body) -> Result<(), String> {
    if body.blocks.is_empty() {
        return Err("no blocks".into());
    }
    let mut defined_in: Vec<Option<BlockId>> = vec![None; body.insts.len()];
    for (bi, block) in body.blocks.iter().enumerate() {
        let mut past_phis = false;
        for (pos, &inst) in block.insts.iter().enumerate() {
            let Some(slot) = defined_in.get_mut(inst.index()) else {
                return Err(format!("b{bi}: instruction v{} out of range", inst.0));
            };
            if slot.is_some() {
                return Err(format!("v{} placed twice", inst.0));
            }
            *slot = Some(BlockId(bi as u32));
            match &body.inst(inst).kind {
                Inst::Param { index } => {
                    if bi != 0 || past_phis || pos as u32 != *index {
                        return Err(format!(
                            "v{}: params must open the entry block in order",
                            inst.0
                        ));
                    }
                    if *index as usize >= func.sig.params.len() {
                        return Err(format!("v{}: param {index} out of range", inst.0));
                    }
                }
                Inst::Phi { incoming } => {
                    if past_phis {
                        return Err(format!("v{}: phi after a non-phi instruction", inst.0));
                    }
                    if incoming.len() != block.preds.len() {
                        return Err(format!(
                            "v{}: phi has {} inputs for {} predecessors",
                            inst.0,
                            incoming.len(),
                            block.preds.len()
                        ));
                    }
                }
                Inst::Call { func: callee, args } => {
                    past_phis = true;
                    let Some(f) = m.functions.get(callee.index()) else {
                        return Err(format!("v{}: call to unknown function", inst.0));
                    };
                    if f.sig.params.len() != args.len() {
                        return Err(format!(
                            "v{}: call to {} with {} args, expected {}",
                            inst.0,
                            f.name,
                            args.len(),
                            f.sig.params.len()
                        ));
                    }
                }
                _ => past_phis = true,
            }
        }
        for s in block.term.successors() {
            let Some(succ) = body.blocks.get(s.index()) else {
                return Err(format!("b{bi}: jump to missing block b{}", s.0));
            };
            if !succ.preds.contains(&BlockId(bi as u32)) {
                return Err(format!("b{bi} -> b{}: edge missing from preds", s.0));
            }
        }
    }
    Ok(())
}
