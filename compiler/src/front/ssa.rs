//! SSA construction for one function, after Braun et al., "Simple and Efficient
//! Construction of Static Single Assignment Form" (CC 2013): variables are read and
//! written per block; a read in a block without a definition looks into the
//! predecessors, creating phis; blocks whose predecessors are not all known yet are not
//! *sealed* and get *incomplete* phis, completed when the block is sealed. Trivial phis
//! (all operands the same value or the phi itself) are removed, recursively for the
//! phis that used them.
//!
//! Removed phis are forwarded (`alias`) rather than rewritten in place; [`Builder::finish`]
//! drops unreachable blocks, resolves the forwarding and renumbers the instructions so the
//! result has dense ids and satisfies `ir::verify`.

use crate::fxhash::HashMap;

use crate::ir::{
    self, BlockData, BlockId, Body, Inst, InstData, InstId, StackSlot, StackSlotId, Terminator,
    Value,
};

/// A source-level variable being put into SSA form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub u32);

pub struct Builder {
    body: Body,
    cur: BlockId,
    sealed: Vec<bool>,
    terminated: Vec<bool>,
    var_types: Vec<ir::Type>,
    defs: HashMap<(Var, BlockId), Value>,
    /// Per variable: the block of its latest `write_var` and the value written, in front
    /// of `defs` (reads in that block skip the hash map); moved into `defs` when the
    /// variable is next written in another block. `NO_BLOCK` when never written.
    last_def: Vec<(BlockId, Value)>,
    /// Per block: its incomplete phis (while it is not sealed).
    incomplete: Vec<Vec<(Var, Value)>>,
    /// Per instruction: the value a removed trivial phi was replaced by.
    alias: Vec<Option<Value>>,
    /// Per instruction: the block of a live phi, `NOT_PHI` otherwise.
    phi_block: Vec<u32>,
    /// For each value: the phis that use it.
    phi_users: HashMap<Value, Vec<Value>>,
    /// Phis whose operands are still to be filled (see [`Builder::lookup`]).
    pending: Vec<(Var, Value)>,
    /// Scratch list of [`Builder::lookup`] (kept to reuse its allocation).
    visited: Vec<BlockId>,
    /// Work list of [`Builder::try_remove_trivial_phi`] (kept to reuse its allocation).
    phi_work: Vec<Value>,
    /// Scratch tables of [`Builder::finish`] (kept to reuse their allocations).
    reach: Vec<bool>,
    block_map: Vec<Option<BlockId>>,
    inst_map: Vec<Option<InstId>>,
}

const NOT_PHI: u32 = u32::MAX;
const NO_BLOCK: BlockId = BlockId(u32::MAX);

impl Builder {
    /// Starts a function: block 0 is the entry, holding one `Param` per parameter.
    pub fn new(params: &[ir::Type]) -> (Builder, Vec<Value>) {
        let mut b = Builder {
            body: Body::default(),
            cur: BlockId(0),
            sealed: Vec::new(),
            terminated: Vec::new(),
            var_types: Vec::new(),
            defs: HashMap::default(),
            last_def: Vec::new(),
            incomplete: Vec::new(),
            alias: Vec::new(),
            phi_block: Vec::new(),
            phi_users: HashMap::default(),
            pending: Vec::new(),
            visited: Vec::new(),
            phi_work: Vec::new(),
            reach: Vec::new(),
            block_map: Vec::new(),
            inst_map: Vec::new(),
        };
        let vals = b.start(params);
        (b, vals)
    }

    /// Starts the next function in a builder that finished the previous one (see
    /// [`Builder::finish`]), reusing its tables' allocations.
    pub fn reset(&mut self, params: &[ir::Type]) -> Vec<Value> {
        self.body.blocks.clear();
        self.body.insts.clear();
        self.body.stack_slots.clear();
        self.body.operands.clear();
        self.body.phi_operands.clear();
        self.sealed.clear();
        self.terminated.clear();
        self.var_types.clear();
        self.defs.clear();
        self.last_def.clear();
        self.incomplete.clear();
        self.alias.clear();
        self.phi_block.clear();
        self.phi_users.clear();
        self.pending.clear();
        self.visited.clear();
        self.start(params)
    }

    fn start(&mut self, params: &[ir::Type]) -> Vec<Value> {
        let entry = self.new_block();
        self.seal(entry);
        self.switch_to(entry);
        params
            .iter()
            .enumerate()
            .map(|(i, &t)| self.emit(Inst::Param { index: i as u32 }, Some(t)))
            .collect()
    }

    pub fn new_block(&mut self) -> BlockId {
        self.body.blocks.push(BlockData {
            insts: Vec::new(),
            term: Terminator::Unreachable,
            preds: Vec::new(),
        });
        self.sealed.push(false);
        self.terminated.push(false);
        self.incomplete.push(Vec::new());
        BlockId(self.body.blocks.len() as u32 - 1)
    }

    pub fn current(&self) -> BlockId {
        self.cur
    }

    pub fn switch_to(&mut self, b: BlockId) {
        self.cur = b;
    }

    /// Is the current block already ended by a terminator?
    pub fn is_terminated(&self) -> bool {
        self.terminated[self.cur.index()]
    }

    pub fn new_slot(&mut self, size: u32, align: u32) -> StackSlotId {
        self.body.stack_slots.push(StackSlot {
            size: size.max(1),
            align: align.max(1),
        });
        StackSlotId(self.body.stack_slots.len() as u32 - 1)
    }

    fn push_inst(&mut self, kind: Inst, ty: Option<ir::Type>) -> Value {
        self.body.insts.push(InstData { kind, ty });
        self.alias.push(None);
        self.phi_block.push(NOT_PHI);
        InstId(self.body.insts.len() as u32 - 1)
    }

    /// Puts a call's arguments into the body's operand pool.
    pub fn values(&mut self, vals: impl IntoIterator<Item = Value>) -> ir::ValueList {
        self.body.push_values(vals)
    }

    /// Appends an instruction to the current block.
    pub fn emit(&mut self, kind: Inst, ty: Option<ir::Type>) -> Value {
        let v = self.push_inst(kind, ty);
        let cur = self.cur;
        self.body.blocks[cur.index()].insts.push(v);
        v
    }

    pub fn iconst(&mut self, ty: ir::Type, value: i64) -> Value {
        self.emit(Inst::Const { value }, Some(ty))
    }

    /// Ends the current block. A block can be terminated once; later calls are ignored.
    pub fn terminate(&mut self, term: Terminator) {
        let cur = self.cur;
        if self.terminated[cur.index()] {
            return;
        }
        self.terminated[cur.index()] = true;
        let blocks = &mut self.body.blocks;
        term.for_each_successor(|s| blocks[s.index()].preds.push(cur));
        self.body.blocks[cur.index()].term = term;
    }

    pub fn new_var(&mut self, ty: ir::Type) -> Var {
        self.var_types.push(ty);
        self.last_def.push((NO_BLOCK, InstId(0)));
        Var(self.var_types.len() as u32 - 1)
    }

    pub fn write_var(&mut self, var: Var, value: Value) {
        let cur = self.cur;
        let last = &mut self.last_def[var.0 as usize];
        if last.0 != cur && last.0 != NO_BLOCK {
            self.defs.insert((var, last.0), last.1);
        }
        *last = (cur, value);
    }

    pub fn read_var(&mut self, var: Var) -> Value {
        let cur = self.cur;
        self.read_var_in(var, cur)
    }

    /// Is `v` a phi not (yet) removed?
    fn is_phi(&self, v: Value) -> bool {
        self.phi_block[v.index()] != NOT_PHI
    }

    fn resolve(&self, mut v: Value) -> Value {
        while let Some(a) = self.alias[v.index()] {
            v = a;
        }
        v
    }

    fn read_var_in(&mut self, var: Var, block: BlockId) -> Value {
        let v = self.lookup(var, block);
        self.drain();
        self.resolve(v)
    }

    /// The value of `var` at the end of `block`, without recursion: single-predecessor
    /// chains are walked in a loop, and a block with several predecessors gets a phi
    /// whose operands are filled later by [`Builder::drain`] (so long chains of join
    /// blocks never grow the native stack).
    fn lookup(&mut self, var: Var, block: BlockId) -> Value {
        let mut visited = std::mem::take(&mut self.visited);
        visited.clear();
        let mut b = block;
        let val = loop {
            // The latest write wins over `defs`, which may hold an older value (or a phi
            // made by a read before the write) for the same block.
            let (last_block, last) = self.last_def[var.0 as usize];
            if last_block == b {
                break self.resolve(last);
            }
            if let Some(&v) = self.defs.get(&(var, b)) {
                break self.resolve(v);
            }
            let preds = &self.body.blocks[b.index()].preds;
            if self.sealed[b.index()] && preds.len() == 1 && visited.len() <= self.body.blocks.len()
            {
                visited.push(b);
                b = preds[0];
                continue;
            }
            let v = if !self.sealed[b.index()] {
                let phi = self.new_phi(var, b);
                self.incomplete[b.index()].push((var, phi));
                phi
            } else if preds.is_empty() {
                self.undef(var, b)
            } else {
                let phi = self.new_phi(var, b);
                self.pending.push((var, phi));
                phi
            };
            self.defs.insert((var, b), v);
            break v;
        };
        for &v in &visited {
            self.defs.insert((var, v), val);
        }
        self.visited = visited;
        val
    }

    /// Fills the operands of the phis created by [`Builder::lookup`] (which may create
    /// more), removing the trivial ones.
    fn drain(&mut self) {
        while let Some((var, phi)) = self.pending.pop() {
            if self.alias[phi.index()].is_none() {
                self.add_phi_operands(var, phi);
            }
        }
    }

    /// Index in `block`'s instruction list just after its params and phis.
    fn phi_insert_pos(&self, block: BlockId) -> usize {
        let insts = &self.body.blocks[block.index()].insts;
        insts
            .iter()
            .take_while(|&&i| {
                matches!(
                    self.body.insts[i.index()].kind,
                    Inst::Phi { .. } | Inst::Param { .. }
                )
            })
            .count()
    }

    fn new_phi(&mut self, var: Var, block: BlockId) -> Value {
        let ty = self.var_types[var.0 as usize];
        let phi = self.push_inst(
            Inst::Phi {
                incoming: ir::PhiList::default(),
            },
            Some(ty),
        );
        let pos = self.phi_insert_pos(block);
        self.body.blocks[block.index()].insts.insert(pos, phi);
        self.phi_block[phi.index()] = block.0;
        phi
    }

    /// The value of a variable read before any definition (zero).
    fn undef(&mut self, var: Var, block: BlockId) -> Value {
        let ty = self.var_types[var.0 as usize];
        let kind = if ty.is_float() {
            Inst::FConst { bits: 0 }
        } else {
            Inst::Const { value: 0 }
        };
        let v = self.push_inst(kind, Some(ty));
        let pos = self.phi_insert_pos(block);
        self.body.blocks[block.index()].insts.insert(pos, v);
        v
    }

    fn add_phi_operands(&mut self, var: Var, phi: Value) {
        let block = self.phi_block[phi.index()] as usize;
        // `lookup` adds instructions and phis but never edges: the predecessors stay.
        let n = self.body.blocks[block].preds.len();
        // The phi's range is reserved first: the lookups below may add operands of other
        // phis to the pool after it.
        let list = self
            .body
            .push_incoming(std::iter::repeat_n((NO_BLOCK, phi), n));
        if let Inst::Phi { incoming } = &mut self.body.insts[phi.index()].kind {
            *incoming = list;
        }
        for i in 0..n {
            let p = self.body.blocks[block].preds[i];
            let v = self.lookup(var, p);
            if self.is_phi(v) {
                self.phi_users.entry(v).or_default().push(phi);
            }
            self.body.phi_operands[list.start as usize + i] = (p, v);
        }
        self.try_remove_trivial_phi(phi);
    }

    /// Replaces `phi` by its only operand when it has one (besides itself), then checks
    /// the phis that used it, with a work list.
    fn try_remove_trivial_phi(&mut self, phi: Value) {
        let mut work = std::mem::take(&mut self.phi_work);
        work.clear();
        work.push(phi);
        while let Some(phi) = work.pop() {
            if self.alias[phi.index()].is_some() || !self.is_phi(phi) {
                continue;
            }
            let Inst::Phi { incoming } = self.body.insts[phi.index()].kind else {
                continue;
            };
            let incoming = self.body.incoming(incoming);
            let mut same: Option<Value> = None;
            let mut trivial = true;
            for &(_, op) in incoming {
                let op = self.resolve(op);
                if Some(op) == same || op == phi {
                    continue;
                }
                if same.is_some() {
                    trivial = false;
                    break;
                }
                same = Some(op);
            }
            if !trivial {
                continue;
            }
            let block = BlockId(self.phi_block[phi.index()]);
            let same = match same {
                Some(s) => s,
                None => {
                    // Unreachable or a read before any definition.
                    let ty = self.body.insts[phi.index()].ty.unwrap_or(ir::Type::I64);
                    let kind = if ty.is_float() {
                        Inst::FConst { bits: 0 }
                    } else {
                        Inst::Const { value: 0 }
                    };
                    let v = self.push_inst(kind, Some(ty));
                    let pos = self.phi_insert_pos(block);
                    self.body.blocks[block.index()].insts.insert(pos, v);
                    v
                }
            };
            self.alias[phi.index()] = Some(same);
            self.body.blocks[block.index()].insts.retain(|&i| i != phi);
            self.phi_block[phi.index()] = NOT_PHI;
            let users = self.phi_users.remove(&phi).unwrap_or_default();
            for u in users {
                if u != phi && self.is_phi(u) && self.alias[u.index()].is_none() {
                    work.push(u);
                }
            }
        }
        self.phi_work = work;
    }

    /// Declares that every predecessor of `block` is known.
    pub fn seal(&mut self, block: BlockId) {
        if self.sealed[block.index()] {
            return;
        }
        self.sealed[block.index()] = true;
        for (var, phi) in std::mem::take(&mut self.incomplete[block.index()]) {
            if self.alias[phi.index()].is_none() {
                self.add_phi_operands(var, phi);
            }
            self.drain();
        }
    }

    /// Drops unreachable blocks, resolves forwarded phis and renumbers everything. The
    /// instructions and per-block lists move into the result (operands renumbered in
    /// place); the builder keeps its scratch allocations for [`Builder::reset`].
    pub fn finish(&mut self) -> Body {
        let n = self.body.blocks.len();
        for b in 0..n {
            self.seal(BlockId(b as u32));
        }
        // Reachable blocks, in original order.
        let mut reach = std::mem::take(&mut self.reach);
        reach.clear();
        reach.resize(n, false);
        let mut stack = std::mem::take(&mut self.visited);
        stack.clear();
        stack.push(BlockId(0));
        while let Some(b) = stack.pop() {
            if std::mem::replace(&mut reach[b.index()], true) {
                continue;
            }
            self.body.blocks[b.index()]
                .term
                .for_each_successor(|s| stack.push(s));
        }
        self.visited = stack;
        let mut block_map = std::mem::take(&mut self.block_map);
        block_map.clear();
        block_map.resize(n, None);
        let mut next = 0u32;
        for (i, &r) in reach.iter().enumerate() {
            if r {
                block_map[i] = Some(BlockId(next));
                next += 1;
            }
        }
        let mut inst_map = std::mem::take(&mut self.inst_map);
        inst_map.clear();
        inst_map.resize(self.body.insts.len(), None);
        let mut count = 0u32;
        for (bi, block) in self.body.blocks.iter().enumerate() {
            if !reach[bi] {
                continue;
            }
            for &i in &block.insts {
                inst_map[i.index()] = Some(InstId(count));
                count += 1;
            }
        }
        let alias = &self.alias;
        let map_val = |v: Value| -> Value {
            let mut v = v;
            while let Some(a) = alias[v.index()] {
                v = a;
            }
            inst_map[v.index()].unwrap_or(InstId(0))
        };
        let map_block = |b: BlockId| block_map[b.index()].unwrap_or(BlockId(0));
        let Body {
            blocks,
            insts,
            stack_slots,
            operands,
            phi_operands,
        } = &mut self.body;
        let mut out = Body {
            blocks: Vec::with_capacity(next as usize),
            insts: Vec::with_capacity(count as usize),
            stack_slots: std::mem::take(stack_slots),
            operands: Vec::with_capacity(operands.len()),
            phi_operands: Vec::with_capacity(phi_operands.len()),
        };
        for (bi, block) in blocks.iter_mut().enumerate() {
            if !reach[bi] {
                continue;
            }
            for id in block.insts.iter_mut() {
                let data = &mut insts[id.index()];
                let mut kind = std::mem::replace(&mut data.kind, Inst::Const { value: 0 });
                match &mut kind {
                    Inst::Phi { incoming } => {
                        let start = out.phi_operands.len();
                        out.phi_operands.extend(
                            phi_operands[incoming.start as usize..][..incoming.len()]
                                .iter()
                                .filter(|(p, _)| reach[p.index()])
                                .map(|&(p, v)| (map_block(p), map_val(v))),
                        );
                        *incoming = ir::PhiList {
                            start: start as u32,
                            len: (out.phi_operands.len() - start) as u32,
                        };
                    }
                    Inst::Call { args, .. } => {
                        *args = copy_values(&mut out.operands, operands, *args, &map_val);
                    }
                    Inst::CallIndirect { callee, args, .. } => {
                        *callee = map_val(*callee);
                        *args = copy_values(&mut out.operands, operands, *args, &map_val);
                    }
                    other => remap_operands(other, &map_val),
                }
                *id = InstId(out.insts.len() as u32);
                out.insts.push(InstData { kind, ty: data.ty });
            }
            let mut term = std::mem::replace(&mut block.term, Terminator::Unreachable);
            match &mut term {
                Terminator::Jump(b) => *b = map_block(*b),
                Terminator::Branch { cond, then, els } => {
                    *cond = map_val(*cond);
                    *then = map_block(*then);
                    *els = map_block(*els);
                }
                Terminator::Return(v) => {
                    if let Some(v) = v {
                        *v = map_val(*v);
                    }
                }
                Terminator::Unreachable => {}
                Terminator::Switch {
                    value,
                    cases,
                    default,
                } => {
                    *value = map_val(*value);
                    for (_, b) in cases.iter_mut() {
                        *b = map_block(*b);
                    }
                    *default = map_block(*default);
                }
            }
            block.preds.retain(|p| reach[p.index()]);
            for p in block.preds.iter_mut() {
                *p = map_block(*p);
            }
            out.blocks.push(BlockData {
                insts: std::mem::take(&mut block.insts),
                term,
                preds: std::mem::take(&mut block.preds),
            });
        }
        blocks.clear();
        insts.clear();
        operands.clear();
        phi_operands.clear();
        self.reach = reach;
        self.block_map = block_map;
        self.inst_map = inst_map;
        out
    }
}

/// Copies a call's arguments from the builder's pool to the end of `dst`, renumbered.
fn copy_values(
    dst: &mut Vec<Value>,
    src: &[Value],
    list: ir::ValueList,
    f: &dyn Fn(Value) -> Value,
) -> ir::ValueList {
    let start = dst.len();
    dst.extend(
        src[list.start as usize..][..list.len()]
            .iter()
            .map(|&v| f(v)),
    );
    ir::ValueList {
        start: start as u32,
        len: list.len,
    }
}

/// Renumbers the inline operands of an instruction in place (not the pooled lists).
fn remap_operands(inst: &mut Inst, f: &dyn Fn(Value) -> Value) {
    match inst {
        Inst::Param { .. }
        | Inst::Const { .. }
        | Inst::FConst { .. }
        | Inst::StackAddr { .. }
        | Inst::SymbolAddr { .. } => {}
        Inst::FCmp { lhs, rhs, .. }
        | Inst::Binary { lhs, rhs, .. }
        | Inst::Cmp { lhs, rhs, .. } => {
            *lhs = f(*lhs);
            *rhs = f(*rhs);
        }
        Inst::MemCopy { dst, src, .. } => {
            *dst = f(*dst);
            *src = f(*src);
        }
        Inst::Unary { arg, .. } | Inst::Cast { arg, .. } => *arg = f(*arg),
        Inst::Load { addr, .. } => *addr = f(*addr),
        Inst::Store { addr, value, .. } => {
            *addr = f(*addr);
            *value = f(*value);
        }
        // Operand lists live in the pool: `finish` copies them renumbered.
        Inst::Call { .. } | Inst::CallIndirect { .. } | Inst::Phi { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{BinOp, IntCC};

    /// `x = 0; while (x < 10) x = x + 1; return x;` built by hand: one phi in the header.
    #[test]
    fn loop_gets_one_phi_and_trivial_phis_vanish() {
        let (mut b, params) = Builder::new(&[ir::Type::I32]);
        let body = build_loop(&mut b, &params);
        check_loop(body);
    }

    /// A builder reused through `reset` (after a function with an unreachable block and
    /// a call) builds the same body as a fresh one.
    #[test]
    fn reset_builder_matches_fresh_one() {
        let (mut fresh, params) = Builder::new(&[ir::Type::I32]);
        let expected = build_loop(&mut fresh, &params);
        let (mut b, _) = Builder::new(&[ir::Type::I64, ir::Type::I64]);
        let dead = b.new_block();
        let v = b.iconst(ir::Type::I64, 7);
        let args = b.values([v, v]);
        let r = b.emit(
            Inst::Call {
                func: ir::FuncId(0),
                args,
            },
            Some(ir::Type::I64),
        );
        b.terminate(Terminator::Return(Some(r)));
        b.seal(dead);
        b.switch_to(dead);
        b.terminate(Terminator::Jump(BlockId(0)));
        let first = b.finish();
        assert_eq!(first.blocks.len(), 1, "the unreachable block is dropped");
        let params = b.reset(&[ir::Type::I32]);
        let body = build_loop(&mut b, &params);
        assert_eq!(format!("{body:?}"), format!("{expected:?}"));
        check_loop(body);
    }

    fn build_loop(b: &mut Builder, params: &[Value]) -> Body {
        let x = b.new_var(ir::Type::I32);
        let y = b.new_var(ir::Type::I32);
        let zero = b.iconst(ir::Type::I32, 0);
        b.write_var(x, zero);
        b.write_var(y, params[0]);
        let header = b.new_block();
        let body = b.new_block();
        let exit = b.new_block();
        b.terminate(Terminator::Jump(header));
        b.switch_to(header);
        let xv = b.read_var(x);
        let ten = b.iconst(ir::Type::I32, 10);
        let c = b.emit(
            Inst::Cmp {
                cond: IntCC::Slt,
                lhs: xv,
                rhs: ten,
            },
            Some(ir::Type::I8),
        );
        b.terminate(Terminator::Branch {
            cond: c,
            then: body,
            els: exit,
        });
        b.seal(body);
        b.switch_to(body);
        let xv = b.read_var(x);
        let one = b.iconst(ir::Type::I32, 1);
        let nx = b.emit(
            Inst::Binary {
                op: BinOp::Add,
                lhs: xv,
                rhs: one,
            },
            Some(ir::Type::I32),
        );
        b.write_var(x, nx);
        b.terminate(Terminator::Jump(header));
        b.seal(header);
        b.seal(exit);
        b.switch_to(exit);
        let xv = b.read_var(x);
        let yv = b.read_var(y); // unchanged in the loop: its header phi is trivial
        let sum = b.emit(
            Inst::Binary {
                op: BinOp::Add,
                lhs: xv,
                rhs: yv,
            },
            Some(ir::Type::I32),
        );
        b.terminate(Terminator::Return(Some(sum)));
        b.finish()
    }

    fn check_loop(body: Body) {
        let phis = body
            .insts
            .iter()
            .filter(|i| matches!(i.kind, Inst::Phi { .. }))
            .count();
        assert_eq!(phis, 1);
        let m = ir::Module {
            target: meteor_linker::Target::LinuxX64,
            functions: vec![ir::Function {
                name: "f".into(),
                sig: ir::Signature {
                    params: vec![ir::Type::I32],
                    ret: Some(ir::Type::I32),
                },
                kind: ir::FunctionKind::Defined(body),
                noreturn: false,
                is_process_entry: false,
                exported: true,
            }],
            globals: vec![],
            aggregates: vec![],
            entry: None,
        };
        ir::verify(&m).unwrap();
    }
}
