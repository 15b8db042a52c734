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

use super::abi::{ArgLoc, FuncAbi};
use super::lir::*;
use crate::compilation::Compilation;
use crate::diag::Diagnostics;
use crate::ir::{
    BinOp, BlockId, Body, CastOp, FunctionKind, Inst, InstId, IntCC, Module, SymbolRef, Terminator,
    Type, UnOp,
};

pub fn run(c: &mut Compilation) {
    let conv = c.back.conv;
    let mut funcs = Vec::with_capacity(c.ir.functions.len());
    for f in &c.ir.functions {
        let FunctionKind::Defined(body) = &f.kind else {
            funcs.push(None);
            continue;
        };
        if let Some(what) = unsupported(&c.ir, &f.sig, body) {
            c.diags.error_no_span(format!(
                "function `{}`: the back end does not support {what} yet",
                f.name
            ));
            funcs.push(None);
            continue;
        }
        let mut s = Sel::new(&c.ir, &c.back.abi, conv, body, &mut c.diags);
        s.f.process_entry = f.is_process_entry;
        s.select(&conv.func_abi(&f.sig));
        funcs.push(Some(s.f));
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

const NONE: Reg = Reg(u32::MAX);
const NO_BLOCK: u32 = u32::MAX;

fn op_size(ty: Type) -> u8 {
    if ty.size() == 8 { 8 } else { 4 }
}

/// Successors of a terminator without allocating.
fn succs(t: &Terminator) -> ([BlockId; 2], usize) {
    match *t {
        Terminator::Jump(b) => ([b, b], 1),
        Terminator::Branch { then, els, .. } => ([then, els], 2),
        // Functions with a switch are not selected yet (see `unsupported`).
        Terminator::Return(_) | Terminator::Unreachable | Terminator::Switch { .. } => {
            ([BlockId(0), BlockId(0)], 0)
        }
    }
}

/// The first IR feature of `body` the back end cannot lower yet, if any.
fn unsupported(m: &Module, sig: &crate::ir::Signature, body: &Body) -> Option<&'static str> {
    if sig
        .params
        .iter()
        .chain(sig.ret.iter())
        .any(|t| t.is_float() || matches!(t, Type::Agg(_)))
    {
        return Some("float or aggregate parameters and results");
    }
    for b in &body.blocks {
        if matches!(b.term, Terminator::Switch { .. }) {
            return Some("switch");
        }
    }
    for d in &body.insts {
        if d.ty
            .is_some_and(|t| t.is_float() || matches!(t, Type::Agg(_)))
        {
            return Some("float and aggregate values");
        }
        match &d.kind {
            Inst::FConst { .. } | Inst::FCmp { .. } => return Some("float values"),
            Inst::MemCopy { .. } => return Some("memcopy"),
            Inst::Call { func, .. } => {
                let s = &m.func(*func).sig;
                if s.params
                    .iter()
                    .chain(s.ret.iter())
                    .any(|t| t.is_float() || matches!(t, Type::Agg(_)))
                {
                    return Some("calls with float or aggregate arguments");
                }
            }
            Inst::CallIndirect { sig: s, .. } => {
                if s.params
                    .iter()
                    .chain(s.ret.iter())
                    .any(|t| t.is_float() || matches!(t, Type::Agg(_)))
                {
                    return Some("calls with float or aggregate arguments");
                }
            }
            _ => {}
        }
    }
    None
}

/// Blocks reachable from the entry in reverse postorder.
pub fn reverse_postorder(body: &Body) -> Vec<BlockId> {
    let n = body.blocks.len();
    let mut visited = vec![false; n];
    let mut post = Vec::with_capacity(n);
    let mut stack: Vec<(BlockId, usize)> = vec![(BlockId(0), 0)];
    visited[0] = true;
    while let Some(&mut (b, ref mut next)) = stack.last_mut() {
        let (s, count) = succs(&body.block(b).term);
        if *next < count {
            let succ = s[*next];
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
                    Inst::Call { args, .. } => args.iter().for_each(|a| self.uses[a.index()] += 1),
                    Inst::CallIndirect { callee, args, .. } => {
                        self.uses[callee.index()] += 1;
                        args.iter().for_each(|a| self.uses[a.index()] += 1);
                    }
                    Inst::Phi { incoming } => {
                        incoming.iter().for_each(|(_, v)| self.uses[v.index()] += 1)
                    }
                    Inst::FCmp { lhs, rhs, .. } => {
                        self.uses[lhs.index()] += 1;
                        self.uses[rhs.index()] += 1;
                    }
                    Inst::MemCopy { dst, src, .. } => {
                        self.uses[dst.index()] += 1;
                        self.uses[src.index()] += 1;
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
                        | Inst::StackAddr { .. }
                        | Inst::SymbolAddr { .. }
                        | Inst::Cast {
                            op: CastOp::Trunc,
                            ..
                        }
                );
                if data.ty.is_some() && !lazy {
                    self.vreg_of[i.index()] = self.f.new_vreg();
                }
            }
            match &block.term {
                Terminator::Branch { cond, .. } => self.uses[cond.index()] += 1,
                Terminator::Return(Some(v)) => self.uses[v.index()] += 1,
                _ => {}
            }
        }
        // Layout: LIR entry block, then each IR block followed by its split edges.
        let mut next = 1u32;
        for &b in &rpo {
            self.block_id[b.index()] = next;
            next += 1;
            if let Terminator::Branch { then, els, .. } = self.body.block(b).term {
                for (k, t) in [then, els].into_iter().enumerate() {
                    if self.has_phis(t) {
                        self.split[b.index()][k] = next;
                        next += 1;
                    }
                }
            }
        }

        // Entry block: parameters out of their ABI locations.
        self.start_block(0);
        for &i in &self.body.blocks[0].insts {
            let Inst::Param { index } = *self.kind(i) else {
                break;
            };
            if self.uses[i.index()] == 0 {
                continue;
            }
            let dst = self.vreg_of[i.index()];
            match own_abi.params.get(index as usize) {
                Some(ArgLoc::Reg(r)) => {
                    self.emit(MInst::Mov {
                        size: 8,
                        dst,
                        src: *r,
                    });
                    self.f.hints[dst.virt_index()] = Some(*r);
                }
                Some(ArgLoc::Stack(off)) => {
                    let addr = Addr {
                        base: Base::Reg(Reg::RBP),
                        disp: 16 + off,
                    };
                    self.emit(MInst::Load { size: 8, dst, addr });
                }
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
                    && matches!(self.kind(cond), Inst::Cmp { .. })
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
                    let cc = if let Some(Inst::Cmp { cond: cc, lhs, rhs }) =
                        fused.map(|c| self.kind(c))
                    {
                        self.compare(*cc, *lhs, *rhs)
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
                if let Some(v) = v {
                    self.materialize_into(v, Reg::RAX);
                }
                self.end_block(MInst::Ret { value: v.is_some() }, [NO_BLOCK; 2]);
            }
            // Rejected before selection by `unsupported`.
            Terminator::Unreachable | Terminator::Switch { .. } => {
                self.end_block(MInst::Ud2, [NO_BLOCK; 2])
            }
        }
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
            let Some(&(_, v)) = incoming.iter().filter(|(b, _)| *b == pred).nth(occurrence) else {
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
            // Rejected before selection by `unsupported`.
            Inst::FConst { .. } | Inst::FCmp { .. } | Inst::MemCopy { .. } => {}
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
                        UnOp::Not | UnOp::FNeg => UnaryOp::Not,
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
                let imm = self.imm(*value, size);
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
                match abi.syscall {
                    Some(n) => self.syscall(abi, n, args, dst),
                    None => self.call(abi, CallTarget::Func(*func), args, dst),
                }
            }
            Inst::CallIndirect { callee, sig, args } => {
                let abi = self.conv.func_abi(sig);
                let target = match *self.kind(*callee) {
                    Inst::SymbolAddr {
                        symbol: SymbolRef::Func(f),
                    } if !matches!(self.m.func(f).kind, FunctionKind::Syscall(_)) => {
                        CallTarget::Func(f)
                    }
                    _ => CallTarget::Reg(self.use_reg(*callee)),
                };
                let dst = if used { Some(dst) } else { None };
                self.call(&abi, target, args, dst);
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

    /// Moves the arguments into their ABI locations.
    fn place_args(&mut self, abi: &FuncAbi, args: &[InstId]) {
        // Stack arguments first: their stores may need the scratch registers, which the
        // register moves never do.
        for (k, &a) in args.iter().enumerate() {
            if let Some(ArgLoc::Stack(off)) = abi.params.get(k) {
                let addr = Addr {
                    base: Base::Reg(Reg::RSP),
                    disp: *off,
                };
                match self.imm(a, 8) {
                    Some(imm) => self.emit(MInst::StoreImm { size: 8, addr, imm }),
                    None => {
                        let src = self.use_reg(a);
                        self.emit(MInst::Store { size: 8, addr, src });
                    }
                }
            }
        }
        for (k, &a) in args.iter().enumerate() {
            if let Some(ArgLoc::Reg(r)) = abi.params.get(k) {
                self.materialize_into(a, *r);
            }
        }
        self.f.out_arg_bytes = self.f.out_arg_bytes.max(abi.stack_bytes);
    }

    fn call(&mut self, abi: &FuncAbi, target: CallTarget, args: &[InstId], dst: Option<Reg>) {
        self.place_args(abi, args);
        self.emit(MInst::Call {
            target,
            args: abi.arg_mask,
            clobbers: abi.clobbers,
        });
        if let Some(dst) = dst {
            self.copy(dst, Reg::RAX, 8);
        }
    }

    fn syscall(&mut self, abi: &FuncAbi, number: u32, args: &[InstId], dst: Option<Reg>) {
        self.place_args(abi, args);
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
