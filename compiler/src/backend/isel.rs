//! Back-end pass: instruction selection, IR → LIR.
//!
//! - Blocks are laid out in reverse postorder from the entry (unreachable blocks are
//!   dropped), after a LIR entry block that moves the parameters out of their ABI
//!   locations.
//! - Constants, stack-slot addresses, symbol addresses and truncations are not computed
//!   where they are defined but where they are used: as immediates, folded into memory
//!   operands, or rematerialized into a fresh virtual register right before the use.
//!   This keeps their live ranges short.
//! - Phis become parallel moves at the end of the predecessor (when it has one successor)
//!   or in a new block splitting the critical edge.
//! - A compare used only by the branch ending its block is emitted right before the
//!   branch and fused into `cmp` + `jcc`.
//! - Values narrower than 64 bits live in 64-bit registers whose upper bits are
//!   unspecified; operations whose result depends on those bits (compares, divisions,
//!   right shifts, extensions, stores) use the exact width or extend first.
//! - Division: `cdq`/`cqo` + `idiv` or `xor edx` + `div` at 32/64 bits; 8/16-bit operands
//!   are extended to 32 bits first (so `-128 / -1` at 8 bits wraps to -128). At 32/64
//!   bits, `MIN / -1` and division by zero trap (`#DE`, SIGFPE on Linux) as the hardware
//!   does.
//! - Floats live in SSE virtual registers. Float compares use `ucomiss/sd`: `<`/`<=` swap
//!   the operands so that every ordered compare is `a`/`ae` (false when unordered); `==`
//!   is `ZF & !PF` and `!=` is `!ZF | PF`.
//! - Aggregates (`Type::Agg`, an address) are split, copied or passed by reference as
//!   `abi` says; parameters that arrive in registers are stored into a stack slot of the
//!   callee, results that arrive in registers into a caller temporary. `MemCopy` of up to
//!   64 bytes is unrolled into loads and stores, longer ones use `rep movsb`.
//! - `Switch`: a jump table (relative entries in the constant pool) when at least 4 cases
//!   cover at least a third of their range, else a binary tree of compares; edges into
//!   blocks with phis go through one split block per distinct target.

use super::abi::{ArgLoc, FuncAbi, ParamAbi, Part, RetAbi};
use super::lir::*;
use super::pipeline::FuncJob;
use crate::compilation::Compilation;
use crate::diag::Diagnostics;
use crate::ir::{
    BinOp, BlockId, Body, CastOp, FloatCC, FunctionKind, Inst, InstId, IntCC, Module, SymbolRef,
    Terminator, Type, UnOp,
};

/// The module-level pass (back-end tests and whole-module compilation): selects every
/// defined function of `c.ir` into `c.back.funcs`. The compiler's pipeline runs
/// [`run_function`] per function instead (see `passes::FUNCTION_PASSES`).
pub fn run(c: &mut Compilation) {
    let conv = c.back.conv;
    let (ir, abi) = (&c.ir, &c.back.abi);
    let mut funcs = Vec::with_capacity(ir.functions.len());
    for f in &ir.functions {
        funcs.push(match &f.kind {
            FunctionKind::Defined(body) => Some(select(ir, abi, conv, f, body, &mut c.diags)),
            _ => None,
        });
    }
    c.back.funcs = funcs;
    if c.options.print.lir {
        c.printed.push_str("; LIR after instruction selection\n");
        for (f, mf) in c.ir.functions.iter().zip(&c.back.funcs) {
            if let Some(mf) = mf {
                print_func(&mut c.printed, &f.name, mf, &c.ir);
            }
        }
    }
}

/// Per-function pass: selects the job's body into `j.mf`.
pub fn run_function(j: &mut FuncJob<'_>) {
    let w = &mut *j.w;
    let f = w.m.func(j.id);
    let mf = select(&w.m, &w.abi, w.conv, f, &j.body, &mut j.diags);
    if w.print_lir {
        print_func(&mut w.lir_isel, &f.name, &mf, &w.m);
    }
    j.mf = Some(mf);
}

/// Selects one function: `f` is its declaration in `m`, `body` its body (which need not be
/// stored in `m`); `abi` holds the ABI of every function of `m`.
pub fn select(
    m: &Module,
    abi: &[FuncAbi],
    conv: Conv,
    f: &crate::ir::Function,
    body: &Body,
    diags: &mut Diagnostics,
) -> MFunc {
    let mut s = Sel::new(m, abi, conv, body, diags);
    s.f.process_entry = f.is_process_entry;
    s.own_ret_ty = f.sig.ret;
    s.select(&conv.func_abi(&f.sig, &m.aggregates));
    s.f
}

const NONE: Reg = Reg(u32::MAX);
const NO_BLOCK: u32 = u32::MAX;

fn op_size(ty: Type) -> u8 {
    if ty.size() == 8 { 8 } else { 4 }
}

/// The `i`-th successor of a terminator (as in `Terminator::successors`), without
/// allocating.
fn succ_at(t: &Terminator, i: usize) -> Option<BlockId> {
    match t {
        Terminator::Jump(b) => (i == 0).then_some(*b),
        Terminator::Branch { then, els, .. } => match i {
            0 => Some(*then),
            1 => Some(*els),
            _ => None,
        },
        Terminator::Return(_) | Terminator::Unreachable => None,
        Terminator::Switch { cases, default, .. } => match i.cmp(&cases.len()) {
            std::cmp::Ordering::Less => Some(cases[i].1),
            std::cmp::Ordering::Equal => Some(*default),
            std::cmp::Ordering::Greater => None,
        },
    }
}

/// Extra LIR blocks a compare tree over `n` cases needs (see `Sel::switch_tree`).
fn switch_tree_blocks(n: usize) -> u32 {
    if n <= 3 {
        n.max(1) as u32 - 1
    } else {
        let mid = n / 2;
        3 + switch_tree_blocks(mid) + switch_tree_blocks(n - mid - 1)
    }
}

/// Whether a switch over these sorted keys gets a jump table: at least 4 cases covering
/// at least a third of their range.
fn switch_is_dense(keys: &[u64]) -> bool {
    let (Some(&lo), Some(&hi)) = (keys.first(), keys.last()) else {
        return false;
    };
    keys.len() >= 4 && hi - lo < 3 * keys.len() as u64
}

/// Case keys of a switch on a value of `size` bytes, as unsigned values of that width.
fn switch_key(k: i64, size: u32) -> u64 {
    if size >= 8 {
        k as u64
    } else {
        k as u64 & ((1u64 << (size * 8)) - 1)
    }
}

/// Blocks reachable from the entry in reverse postorder.
pub fn reverse_postorder(body: &Body) -> Vec<BlockId> {
    let n = body.blocks.len();
    let mut visited = vec![false; n];
    let mut post = Vec::with_capacity(n);
    let mut stack: Vec<(BlockId, usize)> = vec![(BlockId(0), 0)];
    visited[0] = true;
    while let Some(&mut (b, ref mut next)) = stack.last_mut() {
        if let Some(succ) = succ_at(&body.block(b).term, *next) {
            *next += 1;
            if !visited[succ.index()] {
                visited[succ.index()] = true;
                stack.push((succ, 0));
            }
        } else {
            post.push(b);
            stack.pop();
        }
    }
    post.reverse();
    post
}

fn swap_cc(cc: IntCC) -> IntCC {
    match cc {
        IntCC::Slt => IntCC::Sgt,
        IntCC::Sgt => IntCC::Slt,
        IntCC::Sle => IntCC::Sge,
        IntCC::Sge => IntCC::Sle,
        IntCC::Ult => IntCC::Ugt,
        IntCC::Ugt => IntCC::Ult,
        IntCC::Ule => IntCC::Uge,
        IntCC::Uge => IntCC::Ule,
        other => other,
    }
}

/// Flags and operand order for an ordered float compare: `(swap operands, condition)`.
fn float_cc(cc: FloatCC) -> Option<(bool, Cond)> {
    match cc {
        FloatCC::Gt => Some((false, Cond::A)),
        FloatCC::Ge => Some((false, Cond::Ae)),
        FloatCC::Lt => Some((true, Cond::A)),
        FloatCC::Le => Some((true, Cond::Ae)),
        FloatCC::Eq | FloatCC::Ne => None,
    }
}

fn x86_cc(cc: IntCC) -> Cond {
    match cc {
        IntCC::Eq => Cond::E,
        IntCC::Ne => Cond::Ne,
        IntCC::Slt => Cond::L,
        IntCC::Sle => Cond::Le,
        IntCC::Sgt => Cond::G,
        IntCC::Sge => Cond::Ge,
        IntCC::Ult => Cond::B,
        IntCC::Ule => Cond::Be,
        IntCC::Ugt => Cond::A,
        IntCC::Uge => Cond::Ae,
    }
}

struct Sel<'a> {
    m: &'a Module,
    abi: &'a [FuncAbi],
    conv: Conv,
    body: &'a Body,
    diags: &'a mut Diagnostics,
    f: MFunc,
    vreg_of: Vec<Reg>,
    uses: Vec<u32>,
    /// LIR block of each IR block, and of the split blocks of its branch edges.
    block_id: Vec<u32>,
    split: Vec<[u32; 2]>,
    /// For blocks ending in a switch: the first extra LIR block of its lowering, and the
    /// split block of each distinct target that has phis.
    switch_blocks: Vec<(u32, Vec<(BlockId, u32)>)>,
    /// Index into `switch_blocks` of each IR block ending in a switch.
    switch_of: Vec<u32>,
    /// The virtual register holding the hidden result pointer (sret), if any.
    sret: Reg,
    /// How this function returns its result.
    own_ret: RetAbi,
    /// This function's result type (aggregate values may be `Ptr`-typed addresses).
    own_ret_ty: Option<Type>,
    /// Parameter types of the call being lowered (sizes of aggregate arguments).
    arg_tys: Vec<Type>,
}

impl<'a> Sel<'a> {
    fn new(
        m: &'a Module,
        abi: &'a [FuncAbi],
        conv: Conv,
        body: &'a Body,
        diags: &'a mut Diagnostics,
    ) -> Self {
        let mut f = MFunc::new(conv);
        f.stack_slots = body
            .stack_slots
            .iter()
            .map(|s| (s.size, s.align.max(1)))
            .collect();
        f.insts.reserve(body.insts.len() * 2);
        Sel {
            m,
            abi,
            conv,
            body,
            diags,
            f,
            vreg_of: vec![NONE; body.insts.len()],
            uses: vec![0; body.insts.len()],
            block_id: vec![NO_BLOCK; body.blocks.len()],
            split: vec![[NO_BLOCK; 2]; body.blocks.len()],
            switch_blocks: Vec::new(),
            switch_of: vec![u32::MAX; body.blocks.len()],
            sret: NONE,
            own_ret: RetAbi::Void,
            own_ret_ty: None,
            arg_tys: Vec::new(),
        }
    }

    fn is_float(&self, v: InstId) -> bool {
        self.ty(v).is_float()
    }

    /// A new virtual register of the class of values of type `ty`.
    fn vreg_for(&mut self, ty: Type) -> Reg {
        self.f.new_vreg_of(ty.is_float())
    }

    /// A new stack slot of the function; returns its index.
    fn new_slot(&mut self, size: u32, align: u32) -> u32 {
        self.f.stack_slots.push((size.max(1), align.max(1)));
        self.f.stack_slots.len() as u32 - 1
    }

    fn agg_size(&self, t: Type) -> (u32, u32) {
        match t {
            Type::Agg(id) => {
                let a = self.m.agg(id);
                (a.size, a.align)
            }
            _ => (8, 8),
        }
    }

    fn emit(&mut self, i: MInst) {
        self.f.insts.push(i);
    }

    fn kind(&self, v: InstId) -> &'a Inst {
        &self.body.inst(v).kind
    }

    fn ty(&self, v: InstId) -> Type {
        self.body.insts[v.index()].ty.unwrap_or(Type::I64)
    }

    fn has_phis(&self, b: BlockId) -> bool {
        let block = self.body.block(b);
        block
            .insts
            .iter()
            .find(|&&i| !matches!(self.kind(i), Inst::Param { .. }))
            .is_some_and(|&i| matches!(self.kind(i), Inst::Phi { .. }))
    }

    fn select(&mut self, own_abi: &FuncAbi) {
        let rpo = reverse_postorder(self.body);
        // Use counts and virtual registers of the values that are not rematerialized.
        for &b in &rpo {
            let block = self.body.block(b);
            for &i in &block.insts {
                let data = self.body.inst(i);
                match &data.kind {
                    Inst::Binary { lhs, rhs, .. } | Inst::Cmp { lhs, rhs, .. } => {
                        self.uses[lhs.index()] += 1;
                        self.uses[rhs.index()] += 1;
                    }
                    Inst::Unary { arg, .. } | Inst::Cast { arg, .. } => self.uses[arg.index()] += 1,
                    Inst::Load { addr, .. } => self.count_addr_use(*addr),
                    Inst::Store { addr, value, .. } => {
                        self.count_addr_use(*addr);
                        self.uses[value.index()] += 1;
                    }
                    Inst::Call { args, .. } => {
                        let body = self.body;
                        body.values(*args)
                            .iter()
                            .for_each(|a| self.uses[a.index()] += 1)
                    }
                    Inst::CallIndirect { callee, args, .. } => {
                        self.uses[callee.index()] += 1;
                        let body = self.body;
                        body.values(*args)
                            .iter()
                            .for_each(|a| self.uses[a.index()] += 1);
                    }
                    Inst::Phi { incoming } => {
                        let body = self.body;
                        body.incoming(*incoming)
                            .iter()
                            .for_each(|(_, v)| self.uses[v.index()] += 1)
                    }
                    Inst::FCmp { lhs, rhs, .. } => {
                        self.uses[lhs.index()] += 1;
                        self.uses[rhs.index()] += 1;
                    }
                    Inst::MemCopy { dst, src, .. } => {
                        self.count_addr_use(*dst);
                        self.count_addr_use(*src);
                    }
                    Inst::Param { .. }
                    | Inst::Const { .. }
                    | Inst::FConst { .. }
                    | Inst::StackAddr { .. }
                    | Inst::SymbolAddr { .. } => {}
                }
                let lazy = matches!(
                    data.kind,
                    Inst::Const { .. }
                        | Inst::FConst { .. }
                        | Inst::StackAddr { .. }
                        | Inst::SymbolAddr { .. }
                        | Inst::Cast {
                            op: CastOp::Trunc,
                            ..
                        }
                );
                if let Some(ty) = data.ty
                    && !lazy
                {
                    self.vreg_of[i.index()] = self.vreg_for(ty);
                }
            }
            match &block.term {
                Terminator::Branch { cond, .. } => self.uses[cond.index()] += 1,
                Terminator::Switch { value, .. } => self.uses[value.index()] += 1,
                Terminator::Return(Some(v)) => self.uses[v.index()] += 1,
                _ => {}
            }
        }
        // Layout: LIR entry block, then each IR block followed by its split edges.
        let mut next = 1u32;
        for &b in &rpo {
            self.block_id[b.index()] = next;
            next += 1;
            match &self.body.block(b).term {
                Terminator::Branch { then, els, .. } => {
                    for (k, t) in [*then, *els].into_iter().enumerate() {
                        if self.has_phis(t) {
                            self.split[b.index()][k] = next;
                            next += 1;
                        }
                    }
                }
                Terminator::Switch { value, cases, .. } => {
                    let size = self.ty(*value).size();
                    let mut keys: Vec<u64> = cases.iter().map(|c| switch_key(c.0, size)).collect();
                    keys.sort_unstable();
                    let first = next;
                    next += if switch_is_dense(&keys) {
                        1
                    } else {
                        switch_tree_blocks(keys.len())
                    };
                    let mut splits: Vec<(BlockId, u32)> = Vec::new();
                    for t in cases.iter().map(|c| c.1).chain(std::iter::once(
                        succ_at(&self.body.block(b).term, cases.len()).unwrap_or(BlockId(0)),
                    )) {
                        if self.has_phis(t) && !splits.iter().any(|s| s.0 == t) {
                            splits.push((t, next));
                            next += 1;
                        }
                    }
                    self.switch_of[b.index()] = self.switch_blocks.len() as u32;
                    self.switch_blocks.push((first, splits));
                }
                _ => {}
            }
        }

        // Entry block: parameters out of their ABI locations.
        self.start_block(0);
        self.own_ret = own_abi.ret.clone();
        if let RetAbi::Sret(r) = own_abi.ret {
            self.sret = self.f.new_vreg();
            self.copy(self.sret, r, 8);
        }
        for &i in &self.body.blocks[0].insts {
            let Inst::Param { index } = *self.kind(i) else {
                break;
            };
            if self.uses[i.index()] == 0 {
                continue;
            }
            let dst = self.vreg_of[i.index()];
            let incoming = |off: i32| Addr {
                base: Base::Reg(Reg::RBP),
                disp: 16 + off,
            };
            match own_abi.params.get(index as usize) {
                Some(ParamAbi::Scalar(ArgLoc::Reg(r)) | ParamAbi::ByRef(ArgLoc::Reg(r))) => {
                    self.emit(MInst::Mov {
                        size: 8,
                        dst,
                        src: *r,
                    });
                    self.f.hints[dst.virt_index()] = Some(*r);
                }
                Some(
                    ParamAbi::Scalar(ArgLoc::Stack(off)) | ParamAbi::ByRef(ArgLoc::Stack(off)),
                ) => {
                    let size = if self.is_float(i) {
                        self.ty(i).size() as u8
                    } else {
                        8
                    };
                    let addr = incoming(*off);
                    self.emit(MInst::Load { size, dst, addr });
                }
                Some(ParamAbi::Memory { offset, .. }) => {
                    let addr = incoming(*offset);
                    self.emit(MInst::Lea { dst, addr });
                }
                Some(ParamAbi::Parts(parts)) => match parts.first() {
                    Some(Part {
                        loc: ArgLoc::Stack(off),
                        ..
                    }) => {
                        let addr = incoming(*off);
                        self.emit(MInst::Lea { dst, addr });
                    }
                    _ => {
                        let (size, align) = self.agg_size(self.ty(i));
                        let slot = self.new_slot(size.div_ceil(8) * 8, align.max(8));
                        for p in parts {
                            if let ArgLoc::Reg(r) = p.loc {
                                let size = 8;
                                let addr = Addr {
                                    base: Base::Slot(slot),
                                    disp: p.offset as i32,
                                };
                                self.emit(MInst::Store { size, addr, src: r });
                            }
                        }
                        let addr = Addr {
                            base: Base::Slot(slot),
                            disp: 0,
                        };
                        self.emit(MInst::Lea { dst, addr });
                    }
                },
                None => {}
            }
        }
        let first = self.block_id[0];
        self.end_block(MInst::Jmp { target: first }, [first, NO_BLOCK]);

        for &b in &rpo {
            self.block(b);
        }
    }

    fn start_block(&mut self, id: u32) {
        debug_assert_eq!(id as usize, self.f.blocks.len());
        let start = self.f.insts.len() as u32;
        self.f.blocks.push(MBlock {
            start,
            end: start,
            succs: [NO_BLOCK; 2],
        });
    }

    fn end_block(&mut self, last: MInst, succs: [u32; 2]) {
        self.emit(last);
        let b = self.f.blocks.last_mut().expect("a block is open");
        b.end = self.f.insts.len() as u32;
        b.succs = succs;
    }

    fn block(&mut self, b: BlockId) {
        let id = self.block_id[b.index()];
        self.start_block(id);
        let block = self.body.block(b);
        let fused = match block.term {
            Terminator::Branch { cond, .. }
                if self.uses[cond.index()] == 1
                    && (matches!(self.kind(cond), Inst::Cmp { .. })
                        || matches!(self.kind(cond), Inst::FCmp { cond, .. } if float_cc(*cond).is_some()))
                    && block.insts.contains(&cond) =>
            {
                Some(cond)
            }
            _ => None,
        };
        for &i in &block.insts {
            if Some(i) != fused {
                self.inst(i);
            }
        }
        match block.term {
            Terminator::Jump(t) => {
                self.phi_moves(b, t, 0);
                let target = self.block_id[t.index()];
                self.end_block(MInst::Jmp { target }, [target, NO_BLOCK]);
            }
            Terminator::Branch { cond, then, els } => {
                let sp = self.split[b.index()];
                let tt = if sp[0] != NO_BLOCK {
                    sp[0]
                } else {
                    self.block_id[then.index()]
                };
                let et = if sp[1] != NO_BLOCK {
                    sp[1]
                } else {
                    self.block_id[els.index()]
                };
                if let Inst::Const { value } = *self.kind(cond) {
                    let target = if value as u8 != 0 { tt } else { et };
                    self.end_block(MInst::Jmp { target }, [target, NO_BLOCK]);
                } else {
                    let fused = fused.map(|c| self.kind(c));
                    let cc = if let Some(Inst::Cmp { cond: cc, lhs, rhs }) = fused {
                        self.compare(*cc, *lhs, *rhs)
                    } else if let Some(Inst::FCmp { cond: cc, lhs, rhs }) = fused
                        && let Some((swap, cc)) = float_cc(*cc)
                    {
                        let (l, r) = if swap { (*rhs, *lhs) } else { (*lhs, *rhs) };
                        self.ucomi(l, r);
                        cc
                    } else {
                        let r = self.use_reg(cond);
                        self.emit(MInst::Test {
                            size: 1,
                            a: r,
                            b: r,
                        });
                        Cond::Ne
                    };
                    self.emit(MInst::Jcc { cc, target: tt });
                    self.end_block(MInst::Jmp { target: et }, [tt, et]);
                }
                for (k, t) in [then, els].into_iter().enumerate() {
                    if sp[k] != NO_BLOCK {
                        self.start_block(sp[k]);
                        let occurrence = if k == 1 && then == els { 1 } else { 0 };
                        self.phi_moves(b, t, occurrence);
                        let target = self.block_id[t.index()];
                        self.end_block(MInst::Jmp { target }, [target, NO_BLOCK]);
                    }
                }
            }
            Terminator::Return(v) => {
                let ret = std::mem::replace(&mut self.own_ret, RetAbi::Void);
                let uses = match (&ret, v) {
                    (RetAbi::Scalar(r), Some(v)) => {
                        self.materialize_into(v, *r);
                        1 << r.hw()
                    }
                    (RetAbi::Parts(parts), Some(v)) => {
                        let base = self.addr_of(v, 0);
                        self.load_parts(parts, base);
                        parts.iter().fold(0, |m, p| match p.loc {
                            ArgLoc::Reg(r) => m | 1 << r.hw(),
                            ArgLoc::Stack(_) => m,
                        })
                    }
                    (RetAbi::Sret(_), Some(v)) => {
                        let (size, align) = self.agg_size(self.own_ret_ty.unwrap_or(self.ty(v)));
                        let src = self.addr_of(v, 0);
                        let dst = Addr {
                            base: Base::Reg(self.sret),
                            disp: 0,
                        };
                        self.copy_mem(dst, src, size, align);
                        self.emit(MInst::Mov {
                            size: 8,
                            dst: Reg::RAX,
                            src: self.sret,
                        });
                        1 << Reg::RAX.hw()
                    }
                    _ => 0,
                };
                self.own_ret = ret;
                self.end_block(MInst::Ret { uses }, [NO_BLOCK; 2]);
            }
            Terminator::Unreachable => self.end_block(MInst::Ud2, [NO_BLOCK; 2]),
            Terminator::Switch {
                value,
                ref cases,
                default,
            } => self.switch(b, value, cases, default),
        }
    }

    /// Lowers the switch ending IR block `b` (whose LIR block is open).
    fn switch(&mut self, b: BlockId, value: InstId, cases: &[(i64, BlockId)], default: BlockId) {
        let (first, splits) = self.switch_blocks[self.switch_of[b.index()] as usize].clone();
        let target = |s: &Self, t: BlockId| {
            splits
                .iter()
                .find(|x| x.0 == t)
                .map_or(s.block_id[t.index()], |x| x.1)
        };
        let vt = self.ty(value);
        let size = vt.size();
        let mut sorted: Vec<(u64, u32)> = cases
            .iter()
            .map(|&(k, t)| (switch_key(k, size), target(self, t)))
            .collect();
        sorted.sort_unstable_by_key(|c| c.0);
        let dflt = target(self, default);
        // The value zero-extended to (at least) 32 bits.
        let raw = self.use_reg(value);
        let v = if size < 4 {
            let w = self.f.new_vreg();
            self.emit(MInst::Ext {
                signed: false,
                from: size as u8,
                to: 4,
                dst: w,
                src: raw,
            });
            w
        } else {
            raw
        };
        let csize = if size == 8 { 8 } else { 4 };
        let keys: Vec<u64> = sorted.iter().map(|c| c.0).collect();
        let mut next = first;
        if switch_is_dense(&keys) {
            let lo = keys[0];
            let range = keys[keys.len() - 1] - lo + 1;
            let idx = self.f.new_vreg();
            if csize == 4 {
                self.emit(MInst::Ext {
                    signed: false,
                    from: 4,
                    to: 8,
                    dst: idx,
                    src: v,
                });
            } else {
                self.copy(idx, v, 8);
            }
            if lo != 0 {
                let lo = lo as i64;
                if lo == lo as i32 as i64 {
                    self.emit(MInst::AluImm {
                        op: AluOp::Sub,
                        size: 8,
                        dst: idx,
                        imm: lo as i32,
                    });
                } else {
                    let k = self.f.new_vreg();
                    self.emit(MInst::MovImm {
                        size: 8,
                        dst: k,
                        imm: lo,
                    });
                    self.emit(MInst::Alu {
                        op: AluOp::Sub,
                        size: 8,
                        dst: idx,
                        src: k,
                    });
                }
            }
            self.emit(MInst::AluImm {
                op: AluOp::Cmp,
                size: 8,
                dst: idx,
                imm: (range - 1) as i32,
            });
            let tb = next;
            self.emit(MInst::Jcc {
                cc: Cond::A,
                target: dflt,
            });
            self.end_block(MInst::Jmp { target: tb }, [dflt, tb]);
            self.start_block(tb);
            let mut table = vec![dflt; range as usize];
            for &(k, t) in &sorted {
                table[(k - lo) as usize] = t;
            }
            let ti = self.f.jump_tables.len() as u32;
            self.f.jump_tables.push(table);
            self.end_block(
                MInst::JumpTable {
                    index: idx,
                    table: ti,
                },
                [NO_BLOCK; 2],
            );
        } else {
            next = first;
            self.switch_tree(v, csize, &sorted, dflt, &mut next);
        }
        for (t, sb) in splits {
            self.start_block(sb);
            self.phi_moves(b, t, 0);
            let target = self.block_id[t.index()];
            self.end_block(MInst::Jmp { target }, [target, NO_BLOCK]);
        }
    }

    /// `cmp v, key` at `size` bytes.
    fn cmp_key(&mut self, v: Reg, size: u8, key: u64) {
        let k = key as i64;
        if size == 4 || k == k as i32 as i64 {
            self.emit(MInst::AluImm {
                op: AluOp::Cmp,
                size,
                dst: v,
                imm: k as i32,
            });
        } else {
            let r = self.f.new_vreg();
            self.emit(MInst::MovImm {
                size: 8,
                dst: r,
                imm: k,
            });
            self.emit(MInst::Alu {
                op: AluOp::Cmp,
                size,
                dst: v,
                src: r,
            });
        }
    }

    /// A binary tree of compares over the sorted `cases` (unsigned keys, LIR targets);
    /// the current block is open, the blocks it opens are numbered from `*next`.
    fn switch_tree(&mut self, v: Reg, size: u8, cases: &[(u64, u32)], dflt: u32, next: &mut u32) {
        if cases.len() <= 3 {
            if cases.is_empty() {
                self.end_block(MInst::Jmp { target: dflt }, [dflt, NO_BLOCK]);
            }
            for (i, &(k, t)) in cases.iter().enumerate() {
                self.cmp_key(v, size, k);
                let last = i + 1 == cases.len();
                let fall = if last { dflt } else { *next };
                self.emit(MInst::Jcc {
                    cc: Cond::E,
                    target: t,
                });
                self.end_block(MInst::Jmp { target: fall }, [t, fall]);
                if !last {
                    self.start_block(*next);
                    *next += 1;
                }
            }
            return;
        }
        let mid = cases.len() / 2;
        let (k, t) = cases[mid];
        let b = *next;
        self.cmp_key(v, size, k);
        self.emit(MInst::Jcc {
            cc: Cond::E,
            target: t,
        });
        self.end_block(MInst::Jmp { target: b }, [t, b]);
        self.start_block(b);
        *next += 1;
        let l = *next;
        let r = l + 1 + switch_tree_blocks(mid);
        self.cmp_key(v, size, k);
        self.emit(MInst::Jcc {
            cc: Cond::B,
            target: l,
        });
        self.end_block(MInst::Jmp { target: r }, [l, r]);
        self.start_block(l);
        *next += 1;
        self.switch_tree(v, size, &cases[..mid], dflt, next);
        debug_assert_eq!(*next, r);
        self.start_block(r);
        *next += 1;
        self.switch_tree(v, size, &cases[mid + 1..], dflt, next);
    }

    /// Parallel moves for the phis of `succ` on the edge from `pred` (its `occurrence`-th
    /// entry in the phi inputs for that predecessor).
    fn phi_moves(&mut self, pred: BlockId, succ: BlockId, occurrence: usize) {
        let start = self.f.pmoves.len() as u32;
        let body = self.body;
        for &i in &body.block(succ).insts {
            let Inst::Phi { incoming } = &body.inst(i).kind else {
                if matches!(body.inst(i).kind, Inst::Param { .. }) {
                    continue;
                }
                break;
            };
            let dst = self.vreg_of[i.index()];
            let Some(&(_, v)) = body
                .incoming(*incoming)
                .iter()
                .filter(|(b, _)| *b == pred)
                .nth(occurrence)
            else {
                continue;
            };
            let ty = self.ty(i);
            let src = match self.const_value(v) {
                Some(c) => PSrc::Imm(c),
                None => {
                    let r = self.use_reg(v);
                    if self.f.hints[dst.virt_index()].is_none() {
                        self.f.hints[dst.virt_index()] = Some(r);
                    }
                    PSrc::Reg(r)
                }
            };
            let size = if matches!(src, PSrc::Imm(_)) {
                op_size(ty)
            } else {
                8
            };
            self.f.pmoves.push(PMove { size, dst, src });
        }
        let len = self.f.pmoves.len() as u32 - start;
        if len > 0 {
            self.emit(MInst::ParMove { start, len });
        }
    }

    /// The constant a value is, looking through truncations.
    fn const_value(&self, v: InstId) -> Option<i64> {
        match *self.kind(v) {
            Inst::Const { value } => Some(value),
            Inst::Cast {
                op: CastOp::Trunc,
                arg,
            } => self.const_value(arg),
            _ => None,
        }
    }

    /// The constant as an immediate for an operation of `size` bytes, if it fits.
    fn imm(&self, v: InstId, size: u8) -> Option<i32> {
        let c = self.const_value(v)?;
        match size {
            1 => Some(c as i8 as i32),
            2 => Some(c as i16 as i32),
            4 => Some(c as i32),
            _ => (c == c as i32 as i64).then_some(c as i32),
        }
    }

    /// A register holding `v`, emitting the rematerialization of lazy values.
    fn use_reg(&mut self, v: InstId) -> Reg {
        match *self.kind(v) {
            Inst::FConst { .. } => {
                let dst = self.f.new_vreg_of(true);
                self.materialize_into(v, dst);
                dst
            }
            Inst::Const { value } => {
                let dst = self.f.new_vreg();
                let size = op_size(self.ty(v));
                self.emit(MInst::MovImm {
                    size,
                    dst,
                    imm: value,
                });
                dst
            }
            Inst::Cast {
                op: CastOp::Trunc,
                arg,
            } => self.use_reg(arg),
            Inst::StackAddr { .. } | Inst::SymbolAddr { .. } => {
                let dst = self.f.new_vreg();
                self.materialize_into(v, dst);
                dst
            }
            _ => {
                let r = self.vreg_of[v.index()];
                if r == NONE {
                    // Unreachable for verified IR in which definitions dominate uses.
                    self.diags.error_no_span(format!(
                        "internal error: value v{} used before its definition",
                        v.0
                    ));
                    return self.f.new_vreg();
                }
                r
            }
        }
    }

    /// Puts `v` into `dst` (a physical or fresh virtual register).
    fn materialize_into(&mut self, v: InstId, dst: Reg) {
        match *self.kind(v) {
            Inst::FConst { bits } => {
                let double = self.ty(v) == Type::F64;
                self.emit(MInst::FConst { double, dst, bits });
            }
            Inst::Const { value } => {
                let size = op_size(self.ty(v));
                self.emit(MInst::MovImm {
                    size,
                    dst,
                    imm: value,
                });
            }
            Inst::Cast {
                op: CastOp::Trunc,
                arg,
            } => self.materialize_into(arg, dst),
            Inst::StackAddr { slot } => {
                self.emit(MInst::Lea {
                    dst,
                    addr: Addr {
                        base: Base::Slot(slot.0),
                        disp: 0,
                    },
                });
            }
            Inst::SymbolAddr { symbol } => match symbol {
                SymbolRef::Func(f) => match self.m.func(f).kind {
                    FunctionKind::External { .. } => self.emit(MInst::LoadGot { dst, func: f }),
                    FunctionKind::Syscall(_) => {
                        self.diags.error_no_span(format!(
                            "cannot take the address of `{}`: it is a system call, not a function",
                            self.m.func(f).name
                        ));
                        self.emit(MInst::MovImm {
                            size: 8,
                            dst,
                            imm: 0,
                        });
                    }
                    FunctionKind::Defined(_) => self.emit(MInst::Lea {
                        dst,
                        addr: Addr {
                            base: Base::Sym(symbol),
                            disp: 0,
                        },
                    }),
                },
                SymbolRef::Global(_) => self.emit(MInst::Lea {
                    dst,
                    addr: Addr {
                        base: Base::Sym(symbol),
                        disp: 0,
                    },
                }),
            },
            _ => {
                let src = self.use_reg(v);
                self.emit(MInst::Mov { size: 8, dst, src });
                if dst.is_virt() {
                    self.f.hints[dst.virt_index()] = Some(src);
                }
            }
        }
    }

    /// `base + constant` that addressing can absorb: `(base, constant)`.
    fn foldable_add(&self, v: InstId) -> Option<(InstId, i32)> {
        match *self.kind(v) {
            Inst::Binary {
                op: BinOp::Add,
                lhs,
                rhs,
            } if self.ty(v).size() == 8 => {
                let c = self.const_value(rhs)?;
                (c == c as i32 as i64).then_some((lhs, c as i32))
            }
            _ => None,
        }
    }

    /// Counts a use of `v` as an address: an address `base + constant` is folded into the
    /// memory operand, so it is its base that is used.
    fn count_addr_use(&mut self, v: InstId) {
        match self.foldable_add(v) {
            Some((base, _)) => self.count_addr_use(base),
            None => self.uses[v.index()] += 1,
        }
    }

    /// A memory operand for `v + offset`, folding constant offsets, stack slots and module
    /// symbols.
    fn addr_of(&mut self, v: InstId, offset: i32) -> Addr {
        if let Some((base, c)) = self.foldable_add(v)
            && let Some(off) = offset.checked_add(c)
        {
            return self.addr_of(base, off);
        }
        match *self.kind(v) {
            Inst::StackAddr { slot } => Addr {
                base: Base::Slot(slot.0),
                disp: offset,
            },
            Inst::SymbolAddr { symbol }
                if match symbol {
                    SymbolRef::Func(f) => matches!(self.m.func(f).kind, FunctionKind::Defined(_)),
                    SymbolRef::Global(_) => true,
                } =>
            {
                Addr {
                    base: Base::Sym(symbol),
                    disp: offset,
                }
            }
            _ => Addr {
                base: Base::Reg(self.use_reg(v)),
                disp: offset,
            },
        }
    }

    fn inst(&mut self, i: InstId) {
        let data = self.body.inst(i);
        let dst = self.vreg_of[i.index()];
        let used = self.uses[i.index()] > 0;
        match &data.kind {
            Inst::Param { .. }
            | Inst::Phi { .. }
            | Inst::Const { .. }
            | Inst::StackAddr { .. }
            | Inst::SymbolAddr { .. }
            | Inst::Cast {
                op: CastOp::Trunc, ..
            } => {}
            Inst::FConst { .. } => {}
            Inst::FCmp { cond, lhs, rhs } => {
                if used {
                    self.fcmp(dst, *cond, *lhs, *rhs);
                }
            }
            Inst::MemCopy {
                dst: d,
                src,
                size,
                align,
            } => {
                let da = self.addr_of(*d, 0);
                let sa = self.addr_of(*src, 0);
                self.copy_mem(da, sa, *size, *align);
            }
            Inst::Binary {
                op: BinOp::FRem,
                lhs,
                rhs,
            } => {
                if used {
                    let double = self.ty(i) == Type::F64;
                    let l = self.use_reg(*lhs);
                    let r = self.use_reg(*rhs);
                    self.copy(dst, l, 8);
                    self.emit(MInst::FRem {
                        double,
                        dst,
                        src: r,
                    });
                }
            }
            Inst::Binary { op, lhs, rhs } if op.is_float() => {
                if used {
                    let double = self.ty(i) == Type::F64;
                    let fop = match op {
                        BinOp::FAdd => FOp::Add,
                        BinOp::FSub => FOp::Sub,
                        BinOp::FMul => FOp::Mul,
                        _ => FOp::Div,
                    };
                    let l = self.use_reg(*lhs);
                    let r = self.use_reg(*rhs);
                    self.copy(dst, l, 8);
                    self.emit(MInst::FBin {
                        op: fop,
                        double,
                        dst,
                        src: r,
                    });
                }
            }
            Inst::Unary {
                op: UnOp::FNeg,
                arg,
            } => {
                if used {
                    let double = self.ty(i) == Type::F64;
                    let src = self.use_reg(*arg);
                    self.copy(dst, src, 8);
                    self.emit(MInst::FNeg { double, dst });
                }
            }
            Inst::Cast { op, arg }
                if !matches!(op, CastOp::SExt | CastOp::ZExt | CastOp::Trunc) =>
            {
                if used {
                    self.float_cast(dst, *op, *arg, self.ty(i));
                }
            }
            Inst::Binary { op, lhs, rhs } => {
                let traps = matches!(op, BinOp::SDiv | BinOp::UDiv | BinOp::SRem | BinOp::URem);
                if used || traps {
                    self.binary(dst, self.ty(i), *op, *lhs, *rhs);
                }
            }
            Inst::Unary { op, arg } => {
                if used {
                    let size = op_size(self.ty(i));
                    let src = self.use_reg(*arg);
                    self.copy(dst, src, size);
                    let op = match op {
                        UnOp::Neg => UnaryOp::Neg,
                        _ => UnaryOp::Not,
                    };
                    self.emit(MInst::Unary { op, size, dst });
                }
            }
            Inst::Cmp { cond, lhs, rhs } => {
                if used {
                    let cc = self.compare(*cond, *lhs, *rhs);
                    self.emit(MInst::Setcc { cc, dst });
                    self.emit(MInst::Ext {
                        signed: false,
                        from: 1,
                        to: 4,
                        dst,
                        src: dst,
                    });
                }
            }
            Inst::Cast { op, arg } => {
                if used {
                    let from = self.ty(*arg).size() as u8;
                    let to = self.ty(i).size() as u8;
                    let src = self.use_reg(*arg);
                    if from >= to {
                        self.copy(dst, src, 8);
                    } else {
                        let signed = *op == CastOp::SExt;
                        let to = if to == 8 { 8 } else { 4 };
                        self.emit(MInst::Ext {
                            signed,
                            from,
                            to,
                            dst,
                            src,
                        });
                    }
                }
            }
            Inst::Load { addr, offset } => {
                if used {
                    let size = self.ty(i).size() as u8;
                    let addr = self.addr_of(*addr, *offset);
                    self.emit(MInst::Load { size, dst, addr });
                }
            }
            Inst::Store {
                addr,
                offset,
                value,
            } => {
                let size = self.ty(*value).size() as u8;
                let imm = match *self.kind(*value) {
                    Inst::FConst { bits } => {
                        let b = if size == 4 {
                            bits as u32 as i32 as i64
                        } else {
                            bits as i64
                        };
                        (b == b as i32 as i64).then_some(b as i32)
                    }
                    _ => self.imm(*value, size),
                };
                let addr = self.addr_of(*addr, *offset);
                match imm {
                    Some(imm) => self.emit(MInst::StoreImm { size, addr, imm }),
                    None => {
                        let src = self.use_reg(*value);
                        self.emit(MInst::Store { size, addr, src });
                    }
                }
            }
            Inst::Call { func, args } => {
                let abis = self.abi;
                let abi = &abis[func.index()];
                let dst = if used { Some(dst) } else { None };
                let agg = self.agg_result(data.ty);
                self.arg_tys = self.m.func(*func).sig.params.clone();
                let body = self.body;
                let args = body.values(*args);
                match abi.syscall {
                    Some(n) => self.syscall(abi, n, args, dst),
                    None => self.call(abi, CallTarget::Func(*func), args, dst, agg),
                }
            }
            Inst::CallIndirect { callee, sig, args } => {
                let abi = self.conv.func_abi(sig, &self.m.aggregates);
                let target = match *self.kind(*callee) {
                    Inst::SymbolAddr {
                        symbol: SymbolRef::Func(f),
                    } if !matches!(self.m.func(f).kind, FunctionKind::Syscall(_)) => {
                        CallTarget::Func(f)
                    }
                    _ => CallTarget::Reg(self.use_reg(*callee)),
                };
                let dst = if used { Some(dst) } else { None };
                let agg = self.agg_result(data.ty);
                self.arg_tys = sig.params.clone();
                let body = self.body;
                self.call(&abi, target, body.values(*args), dst, agg);
            }
        }
    }

    /// `dst = src` unless they are the same register; hints `dst` to share `src`'s register.
    fn copy(&mut self, dst: Reg, src: Reg, size: u8) {
        self.emit(MInst::Mov { size, dst, src });
        if dst.is_virt() && self.f.hints[dst.virt_index()].is_none() {
            self.f.hints[dst.virt_index()] = Some(src);
        }
    }

    fn binary(&mut self, dst: Reg, ty: Type, op: BinOp, lhs: InstId, rhs: InstId) {
        let size = ty.size() as u8;
        let osz = op_size(ty);
        let alu = match op {
            BinOp::Add => Some(AluOp::Add),
            BinOp::Sub => Some(AluOp::Sub),
            BinOp::And => Some(AluOp::And),
            BinOp::Or => Some(AluOp::Or),
            BinOp::Xor => Some(AluOp::Xor),
            _ => None,
        };
        if let Some(aop) = alu {
            let (l, r) = if aop != AluOp::Sub
                && self.imm(lhs, osz).is_some()
                && self.imm(rhs, osz).is_none()
            {
                (rhs, lhs)
            } else {
                (lhs, rhs)
            };
            let lr = self.use_reg(l);
            match self.imm(r, osz) {
                Some(imm) => {
                    self.copy(dst, lr, osz);
                    if !(imm == 0
                        && matches!(aop, AluOp::Add | AluOp::Sub | AluOp::Or | AluOp::Xor))
                    {
                        self.emit(MInst::AluImm {
                            op: aop,
                            size: osz,
                            dst,
                            imm,
                        });
                    }
                }
                None => {
                    let rr = self.use_reg(r);
                    self.copy(dst, lr, osz);
                    self.emit(MInst::Alu {
                        op: aop,
                        size: osz,
                        dst,
                        src: rr,
                    });
                }
            }
            return;
        }
        match op {
            BinOp::Mul => {
                let (l, r) = if self.imm(lhs, osz).is_some() {
                    (rhs, lhs)
                } else {
                    (lhs, rhs)
                };
                let lr = self.use_reg(l);
                match self.imm(r, osz) {
                    Some(imm) => self.emit(MInst::ImulImm {
                        size: osz,
                        dst,
                        src: lr,
                        imm,
                    }),
                    None => {
                        let rr = self.use_reg(r);
                        self.copy(dst, lr, osz);
                        self.emit(MInst::Imul {
                            size: osz,
                            dst,
                            src: rr,
                        });
                    }
                }
            }
            BinOp::SDiv | BinOp::UDiv | BinOp::SRem | BinOp::URem => {
                let signed = matches!(op, BinOp::SDiv | BinOp::SRem);
                let rem = matches!(op, BinOp::SRem | BinOp::URem);
                let mut lr = self.use_reg(lhs);
                let mut rr = self.use_reg(rhs);
                let dsz = if size < 4 {
                    for r in [&mut lr, &mut rr] {
                        let wide = self.f.new_vreg();
                        self.emit(MInst::Ext {
                            signed,
                            from: size,
                            to: 4,
                            dst: wide,
                            src: *r,
                        });
                        *r = wide;
                    }
                    4
                } else {
                    size
                };
                self.emit(MInst::Mov {
                    size: 8,
                    dst: Reg::RAX,
                    src: lr,
                });
                if signed {
                    self.emit(MInst::SignExtendRax { size: dsz });
                } else {
                    self.emit(MInst::MovImm {
                        size: 4,
                        dst: Reg::RDX,
                        imm: 0,
                    });
                }
                self.emit(MInst::Div {
                    signed,
                    size: dsz,
                    src: rr,
                });
                let res = if rem { Reg::RDX } else { Reg::RAX };
                self.copy(dst, res, 8);
            }
            BinOp::Shl | BinOp::LShr | BinOp::AShr => {
                let sop = match op {
                    BinOp::Shl => ShiftOp::Shl,
                    BinOp::LShr => ShiftOp::Shr,
                    _ => ShiftOp::Sar,
                };
                let bits = size as i64 * 8;
                let lr = self.use_reg(lhs);
                if let Some(c) = self.const_value(rhs) {
                    self.copy(dst, lr, 8);
                    let amount = (c & (bits - 1)) as u8;
                    if amount != 0 {
                        self.emit(MInst::ShiftImm {
                            op: sop,
                            size,
                            dst,
                            imm: amount,
                        });
                    }
                } else {
                    let rr = self.use_reg(rhs);
                    self.emit(MInst::Mov {
                        size: 8,
                        dst: Reg::RCX,
                        src: rr,
                    });
                    if size < 4 {
                        // x86 masks the count to 5 bits; the IR wants it modulo the width.
                        self.emit(MInst::AluImm {
                            op: AluOp::And,
                            size: 4,
                            dst: Reg::RCX,
                            imm: bits as i32 - 1,
                        });
                    }
                    self.copy(dst, lr, 8);
                    self.emit(MInst::Shift { op: sop, size, dst });
                }
            }
            _ => unreachable!("ALU operations are handled above"),
        }
    }

    /// `ucomiss/sd lhs, rhs`.
    fn ucomi(&mut self, lhs: InstId, rhs: InstId) {
        let double = self.ty(lhs) == Type::F64;
        let a = self.use_reg(lhs);
        let b = self.use_reg(rhs);
        self.emit(MInst::Ucomi { double, a, b });
    }

    /// `dst = lhs cond rhs` (0 or 1) for floats.
    fn fcmp(&mut self, dst: Reg, cond: FloatCC, lhs: InstId, rhs: InstId) {
        if let Some((swap, cc)) = float_cc(cond) {
            let (l, r) = if swap { (rhs, lhs) } else { (lhs, rhs) };
            self.ucomi(l, r);
            self.emit(MInst::Setcc { cc, dst });
        } else {
            // == is ZF & !PF, != is !ZF | PF.
            self.ucomi(lhs, rhs);
            let t = self.f.new_vreg();
            let (c1, c2, op) = if cond == FloatCC::Eq {
                (Cond::E, Cond::Np, AluOp::And)
            } else {
                (Cond::Ne, Cond::P, AluOp::Or)
            };
            self.emit(MInst::Setcc { cc: c1, dst });
            self.emit(MInst::Setcc { cc: c2, dst: t });
            self.emit(MInst::Alu {
                op,
                size: 1,
                dst,
                src: t,
            });
        }
        self.emit(MInst::Ext {
            signed: false,
            from: 1,
            to: 4,
            dst,
            src: dst,
        });
    }

    /// Conversions to, from and between floats, and bit casts.
    fn float_cast(&mut self, dst: Reg, op: CastOp, arg: InstId, to: Type) {
        let from = self.ty(arg);
        let src = self.use_reg(arg);
        let fsize = from.size() as u8;
        match op {
            CastOp::SIToF | CastOp::UIToF => {
                let double = to == Type::F64;
                let signed = op == CastOp::SIToF;
                if !signed && fsize == 8 {
                    self.emit(MInst::Cvt {
                        op: CvtOp::U64ToF { double },
                        dst,
                        src,
                    });
                    return;
                }
                // Widen: signed to 32 bits (64 stays), unsigned 8/16/32 to 64 bits.
                let (w, wsize) = if fsize == 8 {
                    (src, 8)
                } else if signed && fsize == 4 {
                    (src, 4)
                } else {
                    let w = self.f.new_vreg();
                    let wsize = if signed { 4 } else { 8 };
                    self.emit(MInst::Ext {
                        signed,
                        from: fsize,
                        to: wsize,
                        dst: w,
                        src,
                    });
                    (w, wsize)
                };
                self.emit(MInst::Cvt {
                    op: CvtOp::IToF {
                        from: wsize,
                        double,
                    },
                    dst,
                    src: w,
                });
            }
            CastOp::FToSI | CastOp::FToUI => {
                let double = from == Type::F64;
                let tsize = to.size() as u8;
                let op = if op == CastOp::FToUI && tsize == 8 {
                    CvtOp::FToU64 { double }
                } else if op == CastOp::FToUI && tsize == 4 {
                    // Unsigned 32-bit values fit a signed 64-bit conversion.
                    CvtOp::FToI { to: 8, double }
                } else {
                    CvtOp::FToI {
                        to: if tsize == 8 { 8 } else { 4 },
                        double,
                    }
                };
                self.emit(MInst::Cvt { op, dst, src });
            }
            CastOp::FExt | CastOp::FTrunc => self.emit(MInst::Cvt {
                op: CvtOp::F2F {
                    to_double: op == CastOp::FExt,
                },
                dst,
                src,
            }),
            // Bitcast (and anything the verifier rejects): the bits move unchanged.
            _ => self.emit(MInst::Mov { size: 8, dst, src }),
        }
    }

    /// Emits the compare of `lhs` and `rhs` and returns the condition code that holds
    /// when `cond` is true.
    fn compare(&mut self, cond: IntCC, lhs: InstId, rhs: InstId) -> Cond {
        let size = self.ty(lhs).size() as u8;
        let (cond, l, r) = if self.imm(lhs, size).is_some() && self.imm(rhs, size).is_none() {
            (swap_cc(cond), rhs, lhs)
        } else {
            (cond, lhs, rhs)
        };
        let lr = self.use_reg(l);
        match self.imm(r, size) {
            Some(0) if matches!(cond, IntCC::Eq | IntCC::Ne) => {
                self.emit(MInst::Test { size, a: lr, b: lr })
            }
            Some(imm) => self.emit(MInst::AluImm {
                op: AluOp::Cmp,
                size,
                dst: lr,
                imm,
            }),
            None => {
                let rr = self.use_reg(r);
                self.emit(MInst::Alu {
                    op: AluOp::Cmp,
                    size,
                    dst: lr,
                    src: rr,
                });
            }
        }
        x86_cc(cond)
    }

    /// Loads the parts of an aggregate at `base` into their registers (or, on Win64,
    /// 8-byte stack slots of the outgoing area).
    fn load_parts(&mut self, parts: &[Part], base: Addr) {
        for p in parts {
            let at = Addr {
                base: base.base,
                disp: base.disp + p.offset as i32,
            };
            match p.loc {
                ArgLoc::Reg(r) if r.is_xmm() => {
                    let size = if p.size <= 4 { 4 } else { 8 };
                    self.emit(MInst::Load {
                        size,
                        dst: r,
                        addr: at,
                    });
                }
                ArgLoc::Reg(r) => {
                    if matches!(p.size, 1 | 2 | 4 | 8) {
                        self.emit(MInst::Load {
                            size: p.size,
                            dst: r,
                            addr: at,
                        });
                    } else {
                        let v = self.load_bytes(at, p.size);
                        self.emit(MInst::Mov {
                            size: 8,
                            dst: r,
                            src: v,
                        });
                    }
                }
                ArgLoc::Stack(off) => {
                    let v = self.load_bytes(at, p.size);
                    let addr = Addr {
                        base: Base::Reg(Reg::RSP),
                        disp: off,
                    };
                    self.emit(MInst::Store {
                        size: 8,
                        addr,
                        src: v,
                    });
                }
            }
        }
    }

    /// Loads `n` (1..=8) bytes at `at` into a new register, zero-extended, without reading
    /// past them.
    fn load_bytes(&mut self, at: Addr, n: u8) -> Reg {
        let acc = self.f.new_vreg();
        let mut done = 0u8;
        for chunk in [4u8, 2, 1] {
            if n - done >= chunk && (chunk != 4 || done == 0) {
                let addr = Addr {
                    base: at.base,
                    disp: at.disp + done as i32,
                };
                if done == 0 {
                    self.emit(MInst::Load {
                        size: if n == 8 { 8 } else { chunk },
                        dst: acc,
                        addr,
                    });
                    done = if n == 8 { 8 } else { chunk };
                } else {
                    let t = self.f.new_vreg();
                    self.emit(MInst::Load {
                        size: chunk,
                        dst: t,
                        addr,
                    });
                    self.emit(MInst::ShiftImm {
                        op: ShiftOp::Shl,
                        size: 8,
                        dst: t,
                        imm: done * 8,
                    });
                    self.emit(MInst::Alu {
                        op: AluOp::Or,
                        size: 8,
                        dst: acc,
                        src: t,
                    });
                    done += chunk;
                }
            }
        }
        acc
    }

    /// Copies `size` bytes from `src` to `dst`: unrolled loads and stores up to 64 bytes,
    /// `rep movsb` beyond.
    fn copy_mem(&mut self, dst: Addr, src: Addr, size: u32, _align: u32) {
        if size <= 64 {
            let mut off = 0u32;
            while off < size {
                let chunk = match size - off {
                    8.. => 8u8,
                    4..=7 => 4,
                    2..=3 => 2,
                    _ => 1,
                };
                let t = self.f.new_vreg();
                self.emit(MInst::Load {
                    size: chunk,
                    dst: t,
                    addr: Addr {
                        base: src.base,
                        disp: src.disp + off as i32,
                    },
                });
                self.emit(MInst::Store {
                    size: chunk,
                    addr: Addr {
                        base: dst.base,
                        disp: dst.disp + off as i32,
                    },
                    src: t,
                });
                off += chunk as u32;
            }
            return;
        }
        let (d, s) = (self.f.new_vreg(), self.f.new_vreg());
        self.emit(MInst::Lea { dst: d, addr: dst });
        self.emit(MInst::Lea { dst: s, addr: src });
        self.emit(MInst::Mov {
            size: 8,
            dst: Reg::RDI,
            src: d,
        });
        self.emit(MInst::Mov {
            size: 8,
            dst: Reg::RSI,
            src: s,
        });
        self.emit(MInst::MovImm {
            size: 4,
            dst: Reg::RCX,
            imm: size as i64,
        });
        self.emit(MInst::RepMovsb);
        self.f.fixed_used |= 1 << Reg::RDI.hw() | 1 << Reg::RSI.hw() | 1 << Reg::RCX.hw();
    }

    /// The type of argument `k` (the callee's parameter type: an aggregate argument may be
    /// a `Ptr`-typed address).
    fn arg_ty(&self, k: usize, a: InstId) -> Type {
        self.arg_tys.get(k).copied().unwrap_or(self.ty(a))
    }

    /// Moves the arguments into their ABI locations; `sret` is the caller temporary that
    /// receives an aggregate result through a hidden pointer.
    fn place_args(&mut self, abi: &FuncAbi, args: &[InstId], sret: Option<u32>) {
        // Memory first: copies and stack stores may need registers that the register
        // arguments occupy (rep movsb, scratch).
        let mut by_ref: Vec<(usize, u32)> = Vec::new();
        for (k, &a) in args.iter().enumerate() {
            match abi.params.get(k) {
                Some(ParamAbi::Memory { offset, size }) => {
                    let src = self.addr_of(a, 0);
                    let dst = Addr {
                        base: Base::Reg(Reg::RSP),
                        disp: *offset,
                    };
                    let (_, align) = self.agg_size(self.arg_ty(k, a));
                    self.copy_mem(dst, src, *size, align);
                }
                Some(ParamAbi::ByRef(loc)) => {
                    let (size, align) = self.agg_size(self.arg_ty(k, a));
                    let slot = self.new_slot(size, align.max(8));
                    let src = self.addr_of(a, 0);
                    let dst = Addr {
                        base: Base::Slot(slot),
                        disp: 0,
                    };
                    self.copy_mem(dst, src, size, align);
                    match loc {
                        ArgLoc::Stack(off) => {
                            let t = self.f.new_vreg();
                            self.emit(MInst::Lea { dst: t, addr: dst });
                            let addr = Addr {
                                base: Base::Reg(Reg::RSP),
                                disp: *off,
                            };
                            self.emit(MInst::Store {
                                size: 8,
                                addr,
                                src: t,
                            });
                        }
                        ArgLoc::Reg(_) => by_ref.push((k, slot)),
                    }
                }
                Some(ParamAbi::Parts(parts)) if matches!(parts.first(), Some(p) if matches!(p.loc, ArgLoc::Stack(_))) =>
                {
                    let base = self.addr_of(a, 0);
                    self.load_parts(parts, base);
                }
                Some(ParamAbi::Scalar(ArgLoc::Stack(off))) => {
                    let addr = Addr {
                        base: Base::Reg(Reg::RSP),
                        disp: *off,
                    };
                    match self.imm(a, 8) {
                        Some(imm) if !self.is_float(a) => {
                            self.emit(MInst::StoreImm { size: 8, addr, imm })
                        }
                        _ => {
                            let src = self.use_reg(a);
                            let size = if self.is_float(a) {
                                self.ty(a).size() as u8
                            } else {
                                8
                            };
                            self.emit(MInst::Store { size, addr, src });
                        }
                    }
                }
                _ => {}
            }
        }
        for (k, &a) in args.iter().enumerate() {
            match abi.params.get(k) {
                Some(ParamAbi::Scalar(ArgLoc::Reg(r))) => self.materialize_into(a, *r),
                Some(ParamAbi::Parts(parts)) if matches!(parts.first(), Some(p) if matches!(p.loc, ArgLoc::Reg(_))) =>
                {
                    let base = self.addr_of(a, 0);
                    self.load_parts(parts, base);
                }
                Some(ParamAbi::ByRef(ArgLoc::Reg(r))) => {
                    if let Some(&(_, slot)) = by_ref.iter().find(|x| x.0 == k) {
                        self.emit(MInst::Lea {
                            dst: *r,
                            addr: Addr {
                                base: Base::Slot(slot),
                                disp: 0,
                            },
                        });
                    }
                }
                _ => {}
            }
        }
        if let (RetAbi::Sret(r), Some(slot)) = (&abi.ret, sret) {
            self.emit(MInst::Lea {
                dst: *r,
                addr: Addr {
                    base: Base::Slot(slot),
                    disp: 0,
                },
            });
        }
        self.f.out_arg_bytes = self.f.out_arg_bytes.max(abi.stack_bytes);
    }

    /// Emits a call; `agg` is the size and alignment of an aggregate result.
    fn call(
        &mut self,
        abi: &FuncAbi,
        target: CallTarget,
        args: &[InstId],
        dst: Option<Reg>,
        agg: Option<(u32, u32)>,
    ) {
        let slot = match (&abi.ret, agg) {
            (RetAbi::Sret(_), Some((size, align))) => Some(self.new_slot(size, align)),
            (RetAbi::Parts(parts), Some((size, align))) => {
                let rounded = (parts.len() as u32 * 8).max(size);
                Some(self.new_slot(rounded, align.max(8)))
            }
            _ => None,
        };
        self.place_args(abi, args, slot);
        self.emit(MInst::Call {
            target,
            args: abi.arg_mask,
            clobbers: abi.clobbers,
        });
        if let (RetAbi::Parts(parts), Some(slot)) = (&abi.ret, slot) {
            {
                for p in parts {
                    if let ArgLoc::Reg(r) = p.loc {
                        self.emit(MInst::Store {
                            size: 8,
                            addr: Addr {
                                base: Base::Slot(slot),
                                disp: p.offset as i32,
                            },
                            src: r,
                        });
                    }
                }
            }
        }
        if let Some(dst) = dst {
            match (&abi.ret, slot) {
                (_, Some(slot)) => self.emit(MInst::Lea {
                    dst,
                    addr: Addr {
                        base: Base::Slot(slot),
                        disp: 0,
                    },
                }),
                (RetAbi::Scalar(r), None) => self.copy(dst, *r, 8),
                _ => {}
            }
        }
    }

    /// Size and alignment of an aggregate result type.
    fn agg_result(&self, ty: Option<Type>) -> Option<(u32, u32)> {
        match ty {
            Some(t @ Type::Agg(_)) => Some(self.agg_size(t)),
            _ => None,
        }
    }

    fn syscall(&mut self, abi: &FuncAbi, number: u32, args: &[InstId], dst: Option<Reg>) {
        self.place_args(abi, args, None);
        self.emit(MInst::MovImm {
            size: 4,
            dst: Reg::RAX,
            imm: number as i64,
        });
        self.emit(MInst::Syscall { args: abi.arg_mask });
        if let Some(dst) = dst {
            self.copy(dst, Reg::RAX, 8);
        }
    }
}
