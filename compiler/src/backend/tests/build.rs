//! A small IR builder for back-end tests, and helpers that run the back-end passes and
//! load the result into a JIT image.

use crate::backend;
use crate::compilation::{Compilation, Options};
use crate::ir::*;
use crate::source::SourceFiles;
use meteor_linker::Target;
use meteor_linker::jit::{HostSymbols, JitImage};

/// Builds one function body.
pub struct Fb {
    pub body: Body,
    cur: BlockId,
}

impl Fb {
    pub fn new() -> Fb {
        let mut fb = Fb {
            body: Body::default(),
            cur: BlockId(0),
        };
        fb.block();
        fb
    }

    pub fn block(&mut self) -> BlockId {
        self.body.blocks.push(BlockData {
            insts: Vec::new(),
            term: Terminator::Unreachable,
            preds: Vec::new(),
        });
        BlockId(self.body.blocks.len() as u32 - 1)
    }

    pub fn switch_to(&mut self, b: BlockId) {
        self.cur = b;
    }

    pub fn push(&mut self, kind: Inst, ty: Option<Type>) -> Value {
        let id = InstId(self.body.insts.len() as u32);
        self.body.insts.push(InstData { kind, ty });
        self.body.blocks[self.cur.index()].insts.push(id);
        id
    }

    pub fn param(&mut self, index: u32, ty: Type) -> Value {
        self.push(Inst::Param { index }, Some(ty))
    }
    pub fn iconst(&mut self, ty: Type, value: i64) -> Value {
        self.push(Inst::Const { value }, Some(ty))
    }
    pub fn f64c(&mut self, v: f64) -> Value {
        self.push(Inst::FConst { bits: v.to_bits() }, Some(Type::F64))
    }
    pub fn fcmp(&mut self, cond: FloatCC, lhs: Value, rhs: Value) -> Value {
        self.push(Inst::FCmp { cond, lhs, rhs }, Some(Type::I8))
    }
    pub fn memcopy(&mut self, dst: Value, src: Value, size: u32, align: u32) {
        self.push(
            Inst::MemCopy {
                dst,
                src,
                size,
                align,
            },
            None,
        );
    }
    pub fn switch(&mut self, value: Value, cases: &[(i64, BlockId)], default: BlockId) {
        self.terminate(Terminator::Switch {
            value,
            cases: cases.to_vec(),
            default,
        });
    }
    pub fn bin(&mut self, op: BinOp, ty: Type, lhs: Value, rhs: Value) -> Value {
        self.push(Inst::Binary { op, lhs, rhs }, Some(ty))
    }
    pub fn un(&mut self, op: UnOp, ty: Type, arg: Value) -> Value {
        self.push(Inst::Unary { op, arg }, Some(ty))
    }
    pub fn cmp(&mut self, cond: IntCC, lhs: Value, rhs: Value) -> Value {
        self.push(Inst::Cmp { cond, lhs, rhs }, Some(Type::I8))
    }
    pub fn cast(&mut self, op: CastOp, ty: Type, arg: Value) -> Value {
        self.push(Inst::Cast { op, arg }, Some(ty))
    }
    pub fn load(&mut self, ty: Type, addr: Value, offset: i32) -> Value {
        self.push(Inst::Load { addr, offset }, Some(ty))
    }
    pub fn store(&mut self, addr: Value, offset: i32, value: Value) {
        self.push(
            Inst::Store {
                addr,
                offset,
                value,
            },
            None,
        );
    }
    pub fn slot(&mut self, size: u32, align: u32) -> Value {
        self.body.stack_slots.push(StackSlot { size, align });
        let slot = StackSlotId(self.body.stack_slots.len() as u32 - 1);
        self.push(Inst::StackAddr { slot }, Some(Type::Ptr))
    }
    pub fn sym(&mut self, symbol: SymbolRef) -> Value {
        self.push(Inst::SymbolAddr { symbol }, Some(Type::Ptr))
    }
    pub fn call(&mut self, func: FuncId, ret: Option<Type>, args: &[Value]) -> Value {
        let args = self.body.push_values(args.iter().copied());
        self.push(Inst::Call { func, args }, ret)
    }
    pub fn call_indirect(&mut self, callee: Value, sig: Signature, args: &[Value]) -> Value {
        let ret = sig.ret;
        let args = self.body.push_values(args.iter().copied());
        self.push(
            Inst::CallIndirect {
                callee,
                sig: Box::new(sig),
                args,
            },
            ret,
        )
    }
    /// A phi with no inputs yet (see `set_phi`); must be created before other instructions
    /// of its block.
    pub fn phi(&mut self, ty: Type) -> Value {
        self.push(
            Inst::Phi {
                incoming: PhiList::default(),
            },
            Some(ty),
        )
    }
    pub fn set_phi(&mut self, phi: Value, incoming: &[(BlockId, Value)]) {
        let incoming = self.body.push_incoming(incoming.iter().copied());
        self.body.insts[phi.index()].kind = Inst::Phi { incoming };
    }

    fn terminate(&mut self, t: Terminator) {
        let (succs, cur) = (t.successors(), self.cur);
        self.body.blocks[cur.index()].term = t;
        for s in succs {
            self.body.blocks[s.index()].preds.push(cur);
        }
    }
    pub fn jump(&mut self, b: BlockId) {
        self.terminate(Terminator::Jump(b));
    }
    pub fn branch(&mut self, cond: Value, then: BlockId, els: BlockId) {
        self.terminate(Terminator::Branch { cond, then, els });
    }
    pub fn ret(&mut self, v: Option<Value>) {
        self.terminate(Terminator::Return(v));
    }
    pub fn unreachable(&mut self) {
        self.terminate(Terminator::Unreachable);
    }
}

pub fn sig(params: &[Type], ret: Option<Type>) -> Signature {
    Signature {
        params: params.to_vec(),
        ret,
    }
}

/// Adds a defined, exported function; returns its id.
pub fn add_fn(m: &mut Module, name: &str, s: Signature, fb: Fb) -> FuncId {
    m.functions.push(Function {
        name: name.into(),
        sig: s,
        kind: FunctionKind::Defined(fb.body),
        noreturn: false,
        is_process_entry: false,
        exported: true,
    });
    FuncId(m.functions.len() as u32 - 1)
}

/// Declares a function to be defined later with `define`.
pub fn declare(m: &mut Module, name: &str, s: Signature) -> FuncId {
    let mut fb = Fb::new();
    fb.unreachable();
    add_fn(m, name, s, fb)
}

pub fn define(m: &mut Module, id: FuncId, fb: Fb) {
    m.functions[id.index()].kind = FunctionKind::Defined(fb.body);
}

pub fn add_extern(m: &mut Module, name: &str, s: Signature, kind: FunctionKind) -> FuncId {
    m.functions.push(Function {
        name: name.into(),
        sig: s,
        kind,
        noreturn: false,
        is_process_entry: false,
        exported: false,
    });
    FuncId(m.functions.len() as u32 - 1)
}

/// Runs the back-end passes on `m` (after verifying it) and returns the compilation.
pub fn compile_with(m: Module, print: bool) -> Compilation {
    if let Err(e) = verify(&m) {
        panic!("test IR does not verify: {e}\n{m}");
    }
    let mut opts = Options::new(m.target, true);
    opts.print.lir = print;
    opts.print.asm = print;
    let mut c = Compilation::new(opts, SourceFiles::default());
    c.ir = m;
    for pass in [
        backend::lower::run,
        backend::isel::run,
        backend::liveness::run,
        backend::regalloc::run,
        backend::stack::run,
        backend::encode::run,
    ] {
        pass(&mut c);
        assert!(
            !c.diags.has_errors(),
            "back end reported: {:?}",
            c.diags.errors
        );
    }
    c
}

pub fn compile(m: Module) -> Compilation {
    compile_with(m, false)
}

/// Compiles and loads `m`, resolving externals from `host`.
pub fn load(m: Module, host: &[(&str, usize)]) -> JitImage {
    let c = compile(m);
    let mut hs = HostSymbols::new();
    for &(name, addr) in host {
        hs.insert(name, addr);
    }
    match JitImage::load(std::slice::from_ref(&c.object), &hs) {
        Ok(img) => img,
        Err(e) => panic!("JIT load failed: {e}"),
    }
}

pub fn addr(img: &JitImage, name: &str) -> usize {
    img.symbol_address(name)
        .unwrap_or_else(|| panic!("no symbol {name}"))
}

pub fn new_module() -> Module {
    Module::new(Target::LinuxX64)
}

/// `fn name(a: ty, b: ty) -> ty { a op b }`, or with `b` a constant when `rhs_const`.
pub fn binary_fn(
    m: &mut Module,
    name: &str,
    op: BinOp,
    ty: Type,
    rhs_const: Option<i64>,
) -> FuncId {
    let mut fb = Fb::new();
    let a = fb.param(0, ty);
    let b = match rhs_const {
        Some(c) => fb.iconst(ty, c),
        None => fb.param(1, ty),
    };
    let r = fb.bin(op, ty, a, b);
    fb.ret(Some(r));
    let params = if rhs_const.is_some() {
        vec![ty]
    } else {
        vec![ty, ty]
    };
    add_fn(m, name, sig(&params, Some(ty)), fb)
}
