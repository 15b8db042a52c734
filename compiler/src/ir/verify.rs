//! Checks the IR invariants listed in `ir/mod.rs`. The front end's output is verified in
//! debug builds and tests, so a bug is caught where it is made, not in the back end.

use super::*;

/// Returns a description of the first broken invariant, if any.
pub fn verify(m: &Module) -> Result<(), String> {
    verify_aggregates(m)?;
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

/// Checks one function's body against the declarations of `m` (`func` is its declaration;
/// `body` need not be stored in `m`). IR generation calls this on every body before the
/// back end takes it, and [`verify_declarations`] once at the end.
pub fn verify_function(m: &Module, func: &Function, body: &Body) -> Result<(), String> {
    verify_body(m, func, body).map_err(|e| format!("in function {}: {e}", func.name))
}

/// The module-wide checks of [`verify`] without the function bodies: aggregate layouts and
/// the entry function.
pub fn verify_declarations(m: &Module) -> Result<(), String> {
    verify_aggregates(m)?;
    if let Some(e) = m.entry
        && e.index() >= m.functions.len()
    {
        return Err("entry function out of range".into());
    }
    Ok(())
}

fn check_type(m: &Module, t: Type) -> Result<(), String> {
    match t {
        Type::Agg(id) if id.index() >= m.aggregates.len() => {
            Err(format!("aggregate type agg{} out of range", id.0))
        }
        _ => Ok(()),
    }
}

fn verify_aggregates(m: &Module) -> Result<(), String> {
    for (i, a) in m.aggregates.iter().enumerate() {
        if a.align == 0 || !a.align.is_power_of_two() {
            return Err(format!(
                "agg{i}: alignment {} is not a power of two",
                a.align
            ));
        }
        let mut prev_end = 0u32;
        for &(off, t) in &a.fields {
            if matches!(t, Type::Agg(_)) {
                return Err(format!("agg{i}: field at {off} is not a scalar"));
            }
            if off < prev_end || off as u64 + t.size() as u64 > a.size as u64 {
                return Err(format!(
                    "agg{i}: field at {off} overlaps another or lies outside the size"
                ));
            }
            prev_end = off + t.size();
        }
    }
    Ok(())
}

/// Type checks of the float, aggregate and memcopy instructions and the switch.
fn verify_typed(m: &Module, body: &Body, inst: InstId) -> Result<(), String> {
    let data = body.inst(inst);
    let ty_of = |v: Value| -> Result<Type, String> {
        body.insts
            .get(v.index())
            .ok_or_else(|| format!("v{}: operand v{} out of range", inst.0, v.0))?
            .ty
            .ok_or_else(|| format!("v{}: operand v{} has no value", inst.0, v.0))
    };
    let err = |what: &str| Err(format!("v{}: {what}", inst.0));
    if let Some(t) = data.ty {
        check_type(m, t).map_err(|e| format!("v{}: {e}", inst.0))?;
    }
    match &data.kind {
        Inst::FConst { .. } if !data.ty.is_some_and(Type::is_float) => {
            return err("fconst must have a float type");
        }
        Inst::Binary { op, lhs, rhs } => {
            let (l, r) = (ty_of(*lhs)?, ty_of(*rhs)?);
            let float = l.is_float() || r.is_float() || data.ty.is_some_and(Type::is_float);
            if op.is_float() && !(l.is_float() && l == r && data.ty == Some(l)) {
                return err("float arithmetic needs operands and result of one float type");
            }
            if !op.is_float() && float {
                return err("integer arithmetic on a float value");
            }
        }
        Inst::Unary { op, arg } => {
            let a = ty_of(*arg)?;
            let is_f = *op == UnOp::FNeg;
            if is_f != a.is_float() || (is_f && data.ty != Some(a)) {
                return err("fneg needs a float operand and result, neg/not integers");
            }
        }
        Inst::Cmp { lhs, rhs, .. } if ty_of(*lhs)?.is_float() || ty_of(*rhs)?.is_float() => {
            return err("cmp of float values (use fcmp)");
        }
        Inst::FCmp { lhs, rhs, .. } => {
            let (l, r) = (ty_of(*lhs)?, ty_of(*rhs)?);
            if !(l.is_float() && l == r) || data.ty != Some(Type::I8) {
                return err("fcmp needs two floats of one type and an i8 result");
            }
        }
        Inst::Cast { op, arg } => {
            let (from, to) = (ty_of(*arg)?, data.ty.unwrap_or(Type::I8));
            let int_like = |t: Type| t.is_int() || t == Type::Ptr;
            let ok = match op {
                CastOp::SExt | CastOp::ZExt | CastOp::Trunc => int_like(from) && int_like(to),
                CastOp::SIToF | CastOp::UIToF => from.is_int() && to.is_float(),
                CastOp::FToSI | CastOp::FToUI => from.is_float() && to.is_int(),
                CastOp::FExt => from == Type::F32 && to == Type::F64,
                CastOp::FTrunc => from == Type::F64 && to == Type::F32,
                CastOp::Bitcast => {
                    let addr = |t: Type| matches!(t, Type::Ptr | Type::Agg(_));
                    (addr(from) && addr(to))
                        || (from.size() == to.size()
                            && from.is_float() != to.is_float()
                            && (from.is_float() || from.is_int())
                            && (to.is_float() || to.is_int()))
                }
            };
            if !ok || data.ty.is_none() {
                return err(&format!("cast {op:?} from {from} to {to} is not allowed"));
            }
        }
        Inst::Load { addr, .. } => {
            if matches!(data.ty, Some(Type::Agg(_)) | None) {
                return err("load must have a scalar type");
            }
            ty_of(*addr)?;
        }
        Inst::Store { addr, value, .. } => {
            ty_of(*addr)?;
            if matches!(ty_of(*value)?, Type::Agg(_)) {
                return err("store of an aggregate (use memcopy)");
            }
        }
        Inst::MemCopy {
            dst, src, align, ..
        } => {
            let ptr = |t: Type| matches!(t, Type::Ptr | Type::Agg(_));
            if !ptr(ty_of(*dst)?) || !ptr(ty_of(*src)?) || data.ty.is_some() {
                return err("memcopy takes two addresses and has no result");
            }
            if *align == 0 || !align.is_power_of_two() {
                return err("memcopy alignment must be a power of two");
            }
        }
        _ => {}
    }
    Ok(())
}

fn verify_body(m: &Module, func: &Function, body: &Body) -> Result<(), String> {
    if body.blocks.is_empty() {
        return Err("no blocks".into());
    }
    for &t in func.sig.params.iter().chain(func.sig.ret.iter()) {
        check_type(m, t)?;
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
                    if body.try_incoming(*incoming).is_none() {
                        return Err(format!("v{}: phi inputs outside the phi pool", inst.0));
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
                    if body.try_values(*args).is_none() {
                        return Err(format!("v{}: call arguments outside the pool", inst.0));
                    }
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
                Inst::CallIndirect { args, .. } => {
                    past_phis = true;
                    if body.try_values(*args).is_none() {
                        return Err(format!("v{}: call arguments outside the pool", inst.0));
                    }
                }
                _ => past_phis = true,
            }
            verify_typed(m, body, inst)?;
            if let Inst::Phi { incoming } = &body.inst(inst).kind {
                let incoming = body.incoming(*incoming);
                for (k, &(p, v)) in incoming.iter().enumerate() {
                    if incoming[..k].iter().any(|&(q, w)| q == p && w != v) {
                        return Err(format!(
                            "v{}: two edges from b{} carry different values",
                            inst.0, p.0
                        ));
                    }
                }
            }
        }
        if let Terminator::Switch { value, cases, .. } = &block.term {
            let Some(t) = body.insts.get(value.index()).and_then(|d| d.ty) else {
                return Err(format!("b{bi}: switch on a missing value"));
            };
            if !t.is_int() {
                return Err(format!("b{bi}: switch on a non-integer value of type {t}"));
            }
            let bits = t.size() * 8;
            let norm = |k: i64| {
                if bits == 64 {
                    k
                } else {
                    k & ((1i64 << bits) - 1)
                }
            };
            let mut keys: Vec<i64> = cases.iter().map(|&(k, _)| norm(k)).collect();
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("b{bi}: switch has duplicate case values"));
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
