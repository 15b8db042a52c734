//! Front-end pass: IR generation. Typed AST → `c.ir` (SSA, built with [`super::ssa`]).
//!
//! Value representation: `bool` and integers are one IR scalar (`bool` is `I8` 0/1);
//! pointers and `null` are `Ptr`; a slice is two scalars (pointer, then `I64` length) —
//! a slice parameter or argument is two IR parameters/arguments in that order. Static
//! arrays live in memory and are handled by address. Locals are SSA variables unless
//! their address is taken or they are static arrays: those get a stack slot
//! (`StackAddr` + `Load`/`Store`). Module variables are mutable exported `Global`s named
//! `<module>.<name>`; string literals are deduplicated constant globals named `.str.N`.
//!
//! The entry function is synthesized here: `_start` (linux-x64 executables: calls main,
//! then `exit_group`), `mainCRTStartup` (windows-x64: calls main, then `ExitProcess` from
//! kernel32) or `__meteor_jit_entry` (JIT: `i32 ()` returning main's result).

use std::collections::HashMap;

use super::FrontState;
use super::ast::*;
use super::sema::*;
use super::ssa::{Builder, Var};
use super::types::{IntTy, IrRepr, TypeId, TypeKind, Types};
use crate::compilation::{Compilation, Options};
use crate::ir::{
    self, BinOp, BlockId, CastOp, FuncId, FunctionKind, GlobalId, Inst, IntCC, SymbolRef,
    Terminator, UnOp, Value,
};
use meteor_linker::Target;

/// Stack for IR generation: SSA construction recurses through chains of join blocks, so
/// very long functions need more than a default thread stack.
const IRGEN_STACK: usize = 512 << 20;

pub fn run(c: &mut Compilation) {
    let (front, options) = (&c.front, &c.options);
    let spawned = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("meteor-irgen".into())
            .stack_size(IRGEN_STACK)
            .spawn_scoped(s, || generate(front, options))
            .map(|h| h.join())
    });
    let module = match spawned {
        Ok(Ok(m)) => m,
        // A panic is a compiler bug: report it instead of crashing the host.
        Ok(Err(_)) => {
            c.diags
                .error_no_span("internal compiler error: IR generation panicked");
            return;
        }
        // No thread could be created: generate on this one.
        Err(_) => generate(&c.front, &c.options),
    };
    if cfg!(debug_assertions)
        && let Err(e) = ir::verify(&module)
    {
        c.diags.error_no_span(format!(
            "internal compiler error: IR generation produced invalid IR: {e}"
        ));
    }
    if c.options.print.ir {
        c.printed.push_str(&module.to_string());
    }
    c.ir = module;
}

/// Builds the IR module of a type-checked program.
pub fn generate(front: &FrontState, options: &Options) -> ir::Module {
    let mut g = ModGen {
        front,
        options,
        module: ir::Module::new(options.target),
        funcs: HashMap::new(),
        globals: HashMap::new(),
        strings: HashMap::new(),
        externs: HashMap::new(),
    };
    g.declare_functions();
    g.declare_globals();
    for &f in &front.sema.funcs {
        g.gen_function(f);
    }
    g.gen_entry();
    g.module
}

struct ModGen<'a> {
    front: &'a FrontState,
    options: &'a Options,
    module: ir::Module,
    funcs: HashMap<DeclId, FuncId>,
    globals: HashMap<DeclId, GlobalId>,
    strings: HashMap<Vec<u8>, GlobalId>,
    /// External functions by symbol name (deduplicated).
    externs: HashMap<String, FuncId>,
}

fn ir_types(types: &Types, t: TypeId, out: &mut Vec<ir::Type>) {
    match types.repr(t) {
        IrRepr::None => {}
        IrRepr::Scalar(s) => out.push(s),
        IrRepr::Pair => {
            out.push(ir::Type::Ptr);
            out.push(ir::Type::I64);
        }
        IrRepr::Memory => out.push(ir::Type::Ptr),
    }
}

impl ModGen<'_> {
    fn types(&self) -> &Types {
        &self.front.types
    }

    fn signature(&self, sig: &FuncSig) -> ir::Signature {
        let mut params = Vec::new();
        for &p in &sig.params {
            ir_types(self.types(), p, &mut params);
        }
        let ret = match self.types().repr(sig.ret) {
            IrRepr::Scalar(s) => Some(s),
            IrRepr::Pair => {
                // Returned through a hidden pointer to the caller's 16-byte slot.
                params.insert(0, ir::Type::Ptr);
                None
            }
            _ => None,
        };
        ir::Signature { params, ret }
    }

    fn add_function(&mut self, f: ir::Function) -> FuncId {
        self.module.functions.push(f);
        FuncId(self.module.functions.len() as u32 - 1)
    }

    fn declare_functions(&mut self) {
        let typed = &self.front.typed;
        for &f in &self.front.sema.funcs {
            let (Some(sig), Some(kind), Some(name)) = (
                typed.func_sig.get(&f),
                typed.func_kind.get(&f),
                typed.func_symbol.get(&f),
            ) else {
                continue;
            };
            let irsig = self.signature(sig);
            let noreturn = sig.ret == Types::NORETURN;
            let id = match kind {
                FuncKind::Defined => self.add_function(ir::Function {
                    name: name.clone(),
                    sig: irsig,
                    kind: FunctionKind::Defined(ir::Body::default()),
                    noreturn,
                    is_process_entry: false,
                    exported: true,
                }),
                FuncKind::External { library } => match self.externs.get(name) {
                    Some(&id) => {
                        if let FunctionKind::External {
                            library: lib @ None,
                        } = &mut self.module.functions[id.index()].kind
                        {
                            *lib = library.clone();
                        }
                        id
                    }
                    None => {
                        let id = self.add_function(ir::Function {
                            name: name.clone(),
                            sig: irsig,
                            kind: FunctionKind::External {
                                library: library.clone(),
                            },
                            noreturn,
                            is_process_entry: false,
                            exported: false,
                        });
                        self.externs.insert(name.clone(), id);
                        id
                    }
                },
                FuncKind::Syscall(n) => self.add_function(ir::Function {
                    name: name.clone(),
                    sig: irsig,
                    kind: FunctionKind::Syscall(*n),
                    noreturn,
                    is_process_entry: false,
                    exported: false,
                }),
            };
            self.funcs.insert(f, id);
        }
    }

    fn module_name(&self, d: DeclId) -> &str {
        let m = self.front.sema.decl_module[&d];
        &self.front.sema.modules[m.index()].name
    }

    fn declare_globals(&mut self) {
        for &g in &self.front.sema.globals {
            let decl = self.front.ast.decl(g);
            let DeclKind::Var { init, .. } = &decl.kind else {
                continue;
            };
            let t = self
                .front
                .typed
                .global_ty
                .get(&g)
                .copied()
                .unwrap_or(Types::ERROR);
            let size = self.types().size(t) as u32;
            let align = self.types().align(t) as u32;
            let name = format!(
                "{}.{}",
                self.module_name(g),
                self.front.interner.get(decl.name)
            );
            let mut relocs = Vec::new();
            let init_bytes = match init {
                None => None,
                Some(e) => {
                    let target = self.front.typed.expr_target[e.index()];
                    if let Some(&k) = self.front.typed.expr_const.get(e) {
                        let mut bytes = (k as i64).to_le_bytes().to_vec();
                        bytes.truncate(size as usize);
                        Some(bytes)
                    } else if let ExprKind::StrLit(s) = &self.front.ast.expr(*e).kind {
                        let bytes = self.front.ast.strings[*s as usize].clone();
                        let len = bytes.len() as u64;
                        let sg = self.string_global(bytes);
                        let mut data = vec![0u8; size as usize];
                        if matches!(self.types().kind(target), TypeKind::Slice(_))
                            && data.len() >= 16
                        {
                            data[8..16].copy_from_slice(&len.to_le_bytes());
                        }
                        relocs.push(ir::DataReloc {
                            offset: 0,
                            symbol: SymbolRef::Global(sg),
                            addend: 0,
                        });
                        Some(data)
                    } else {
                        None
                    }
                }
            };
            let init_bytes = init_bytes.filter(|b| !relocs.is_empty() || b.iter().any(|&x| x != 0));
            self.module.globals.push(ir::Global {
                name,
                size,
                align,
                init: init_bytes,
                mutable: true,
                relocs,
                exported: true,
            });
            self.globals
                .insert(g, GlobalId(self.module.globals.len() as u32 - 1));
        }
    }

    /// The constant global holding a string literal's bytes (deduplicated).
    fn string_global(&mut self, bytes: Vec<u8>) -> GlobalId {
        if let Some(&g) = self.strings.get(&bytes) {
            return g;
        }
        let name = format!(".str.{}", self.strings.len());
        let size = bytes.len() as u32;
        self.module.globals.push(ir::Global {
            name,
            size,
            align: 1,
            init: if bytes.is_empty() {
                None
            } else {
                Some(bytes.clone())
            },
            mutable: false,
            relocs: Vec::new(),
            exported: false,
        });
        let id = GlobalId(self.module.globals.len() as u32 - 1);
        self.strings.insert(bytes, id);
        id
    }

    fn gen_function(&mut self, f: DeclId) {
        let Some(&fid) = self.funcs.get(&f) else {
            return;
        };
        let DeclKind::Func {
            body: Some(body), ..
        } = &self.front.ast.decl(f).kind
        else {
            return;
        };
        let sig = self.front.typed.func_sig[&f].clone();
        let irsig = self.module.functions[fid.index()].sig.clone();
        let (b, params) = Builder::new(&irsig.params);
        let sret = (self.types().repr(sig.ret) == IrRepr::Pair).then(|| params[0]);
        let mut fg = FnGen {
            m: self,
            b,
            locals: HashMap::new(),
            loops: Vec::new(),
            ret: sig.ret,
            sret,
        };
        // Parameters.
        let plocals =
            fg.m.front
                .sema
                .func_params
                .get(&f)
                .cloned()
                .unwrap_or_default();
        let mut pi = if sret.is_some() { 1 } else { 0 };
        for (i, &t) in sig.params.iter().enumerate() {
            let n = if fg.m.types().repr(t) == IrRepr::Pair {
                2
            } else {
                1
            };
            let vals = &params[pi..pi + n];
            pi += n;
            let val = if n == 2 {
                Val::Pair(vals[0], vals[1])
            } else {
                Val::One(vals[0])
            };
            if let Some(&l) = plocals.get(i) {
                fg.declare_local(l, Some(val));
            }
        }
        fg.stmt(*body);
        if !fg.b.is_terminated() {
            if sig.ret == Types::VOID {
                fg.b.terminate(Terminator::Return(None));
            } else {
                fg.b.terminate(Terminator::Unreachable);
            }
        }
        let body = fg.b.finish();
        self.module.functions[fid.index()].kind = FunctionKind::Defined(body);
    }

    fn gen_entry(&mut self) {
        let Some(main) = self.front.typed.main else {
            return;
        };
        let Some(&main_id) = self.funcs.get(&main) else {
            return;
        };
        let main_returns = self.module.functions[main_id.index()].sig.ret.is_some();
        let (b, _) = Builder::new(&[]);
        let mut b = b;
        let r = b.emit(
            Inst::Call {
                func: main_id,
                args: vec![],
            },
            if main_returns {
                Some(ir::Type::I32)
            } else {
                None
            },
        );
        let code = if main_returns {
            r
        } else {
            b.iconst(ir::Type::I32, 0)
        };
        let (name, is_process_entry) = if self.options.jit {
            b.terminate(Terminator::Return(Some(code)));
            ("__meteor_jit_entry", false)
        } else {
            let exit = match self.options.target {
                Target::LinuxX64 => self.add_function(ir::Function {
                    name: "exit_group".into(),
                    sig: ir::Signature {
                        params: vec![ir::Type::I32],
                        ret: None,
                    },
                    kind: FunctionKind::Syscall(231),
                    noreturn: true,
                    is_process_entry: false,
                    exported: false,
                }),
                Target::WindowsX64 => match self.externs.get("ExitProcess") {
                    Some(&id) => {
                        if let FunctionKind::External {
                            library: lib @ None,
                        } = &mut self.module.functions[id.index()].kind
                        {
                            *lib = Some("kernel32".into());
                        }
                        id
                    }
                    None => {
                        let id = self.add_function(ir::Function {
                            name: "ExitProcess".into(),
                            sig: ir::Signature {
                                params: vec![ir::Type::I32],
                                ret: None,
                            },
                            kind: FunctionKind::External {
                                library: Some("kernel32".into()),
                            },
                            noreturn: true,
                            is_process_entry: false,
                            exported: false,
                        });
                        self.externs.insert("ExitProcess".into(), id);
                        id
                    }
                },
            };
            b.emit(
                Inst::Call {
                    func: exit,
                    args: vec![code],
                },
                None,
            );
            b.terminate(Terminator::Unreachable);
            (
                if self.options.target == Target::LinuxX64 {
                    "_start"
                } else {
                    "mainCRTStartup"
                },
                true,
            )
        };
        let body = b.finish();
        let id = self.add_function(ir::Function {
            name: name.into(),
            sig: ir::Signature {
                params: vec![],
                ret: if self.options.jit {
                    Some(ir::Type::I32)
                } else {
                    None
                },
            },
            kind: FunctionKind::Defined(body),
            noreturn: !self.options.jit,
            is_process_entry,
            exported: true,
        });
        self.module.entry = Some(id);
    }
}

/// A value of the source language as IR scalars. Static arrays are `One(address)`.
#[derive(Clone, Copy, Debug)]
enum Val {
    None,
    One(Value),
    Pair(Value, Value),
}

impl Val {
    fn one(self) -> Value {
        match self {
            Val::One(v) | Val::Pair(v, _) => v,
            // Only reachable for erroneous input, which never gets here (typeck stops).
            Val::None => NO_VALUE,
        }
    }
    fn second(self) -> Value {
        match self {
            Val::Pair(_, l) => l,
            other => other.one(),
        }
    }
}

const NO_VALUE: Value = ir::InstId(0);

#[derive(Clone, Copy)]
enum Storage {
    One(Var),
    Pair(Var, Var),
    Slot(ir::StackSlotId),
}

#[derive(Clone, Copy)]
enum Place {
    Local(LocalId),
    Mem { addr: Value, ty: TypeId },
}

struct FnGen<'a, 'b> {
    m: &'a mut ModGen<'b>,
    b: Builder,
    locals: HashMap<LocalId, Storage>,
    /// (continue target, break target) of the enclosing loops.
    loops: Vec<(BlockId, BlockId)>,
    ret: TypeId,
    /// Hidden pointer parameter of a function returning a slice.
    sret: Option<Value>,
}

impl FnGen<'_, '_> {
    fn types(&self) -> &Types {
        &self.m.front.types
    }

    fn ast(&self) -> &Ast {
        &self.m.front.ast
    }

    fn typed(&self) -> &Typed {
        &self.m.front.typed
    }

    fn irty(&self, t: TypeId) -> ir::Type {
        match self.types().repr(t) {
            IrRepr::Scalar(s) => s,
            _ => ir::Type::Ptr,
        }
    }

    /// Ends the current block and continues in a fresh unreachable one.
    fn terminate_and_continue(&mut self, term: Terminator) {
        self.b.terminate(term);
        let dead = self.b.new_block();
        self.b.seal(dead);
        self.b.switch_to(dead);
    }

    fn jump(&mut self, target: BlockId) {
        if !self.b.is_terminated() {
            self.b.terminate(Terminator::Jump(target));
        }
    }

    // ---- locals ----

    fn declare_local(&mut self, l: LocalId, init: Option<Val>) {
        let t = self.typed().local_ty[l.index()];
        let in_memory = self.typed().local_in_memory[l.index()];
        if in_memory {
            let size = self.types().size(t) as u32;
            let align = self.types().align(t) as u32;
            let slot = match self.locals.get(&l) {
                Some(Storage::Slot(s)) => *s,
                _ => self.b.new_slot(size, align),
            };
            self.locals.insert(l, Storage::Slot(slot));
            let addr = self.b.emit(Inst::StackAddr { slot }, Some(ir::Type::Ptr));
            match init {
                Some(v) => self.store(addr, t, v),
                None => self.zero_memory(addr, size as u64),
            }
            return;
        }
        match self.types().repr(t) {
            IrRepr::Pair => {
                let (p, n) = match self.locals.get(&l) {
                    Some(Storage::Pair(p, n)) => (*p, *n),
                    _ => (self.b.new_var(ir::Type::Ptr), self.b.new_var(ir::Type::I64)),
                };
                self.locals.insert(l, Storage::Pair(p, n));
                let v = match init {
                    Some(v) => v,
                    None => {
                        let z = self.b.iconst(ir::Type::Ptr, 0);
                        let zl = self.b.iconst(ir::Type::I64, 0);
                        Val::Pair(z, zl)
                    }
                };
                self.b.write_var(p, v.one());
                self.b.write_var(n, v.second());
            }
            _ => {
                let ty = self.irty(t);
                let var = match self.locals.get(&l) {
                    Some(Storage::One(v)) => *v,
                    _ => self.b.new_var(ty),
                };
                self.locals.insert(l, Storage::One(var));
                let v = match init {
                    Some(v) => v.one(),
                    None => self.b.iconst(ty, 0),
                };
                self.b.write_var(var, v);
            }
        }
    }

    fn zero_memory(&mut self, addr: Value, size: u64) {
        if size <= 256 {
            let z64 = self.b.iconst(ir::Type::I64, 0);
            let mut off = 0u64;
            while off + 8 <= size {
                self.b.emit(
                    Inst::Store {
                        addr,
                        offset: off as i32,
                        value: z64,
                    },
                    None,
                );
                off += 8;
            }
            while off < size {
                let z8 = self.b.iconst(ir::Type::I8, 0);
                self.b.emit(
                    Inst::Store {
                        addr,
                        offset: off as i32,
                        value: z8,
                    },
                    None,
                );
                off += 1;
            }
            return;
        }
        // A loop storing 8 bytes at a time, then the tail.
        let words = size / 8;
        let i = self.b.new_var(ir::Type::I64);
        let zero = self.b.iconst(ir::Type::I64, 0);
        self.b.write_var(i, zero);
        let header = self.b.new_block();
        let body = self.b.new_block();
        let exit = self.b.new_block();
        self.b.terminate(Terminator::Jump(header));
        self.b.switch_to(header);
        let iv = self.b.read_var(i);
        let n = self.b.iconst(ir::Type::I64, words as i64);
        let c = self.b.emit(
            Inst::Cmp {
                cond: IntCC::Ult,
                lhs: iv,
                rhs: n,
            },
            Some(ir::Type::I8),
        );
        self.b.terminate(Terminator::Branch {
            cond: c,
            then: body,
            els: exit,
        });
        self.b.seal(body);
        self.b.switch_to(body);
        let iv = self.b.read_var(i);
        let eight = self.b.iconst(ir::Type::I64, 8);
        let off = self.b.emit(
            Inst::Binary {
                op: BinOp::Mul,
                lhs: iv,
                rhs: eight,
            },
            Some(ir::Type::I64),
        );
        let p = self.b.emit(
            Inst::Binary {
                op: BinOp::Add,
                lhs: addr,
                rhs: off,
            },
            Some(ir::Type::Ptr),
        );
        let z = self.b.iconst(ir::Type::I64, 0);
        self.b.emit(
            Inst::Store {
                addr: p,
                offset: 0,
                value: z,
            },
            None,
        );
        let one = self.b.iconst(ir::Type::I64, 1);
        let next = self.b.emit(
            Inst::Binary {
                op: BinOp::Add,
                lhs: iv,
                rhs: one,
            },
            Some(ir::Type::I64),
        );
        self.b.write_var(i, next);
        self.b.terminate(Terminator::Jump(header));
        self.b.seal(header);
        self.b.seal(exit);
        self.b.switch_to(exit);
        for off in words * 8..size {
            let z8 = self.b.iconst(ir::Type::I8, 0);
            self.b.emit(
                Inst::Store {
                    addr,
                    offset: off as i32,
                    value: z8,
                },
                None,
            );
        }
    }

    // ---- places ----

    fn load(&mut self, addr: Value, t: TypeId) -> Val {
        match self.types().repr(t) {
            IrRepr::None => Val::None,
            IrRepr::Scalar(s) => Val::One(self.b.emit(Inst::Load { addr, offset: 0 }, Some(s))),
            IrRepr::Pair => {
                let p = self
                    .b
                    .emit(Inst::Load { addr, offset: 0 }, Some(ir::Type::Ptr));
                let n = self
                    .b
                    .emit(Inst::Load { addr, offset: 8 }, Some(ir::Type::I64));
                Val::Pair(p, n)
            }
            IrRepr::Memory => Val::One(addr),
        }
    }

    fn store(&mut self, addr: Value, t: TypeId, v: Val) {
        match (self.types().repr(t), v) {
            (IrRepr::Scalar(_), Val::One(x)) => {
                self.b.emit(
                    Inst::Store {
                        addr,
                        offset: 0,
                        value: x,
                    },
                    None,
                );
            }
            (IrRepr::Pair, Val::Pair(p, n)) => {
                self.b.emit(
                    Inst::Store {
                        addr,
                        offset: 0,
                        value: p,
                    },
                    None,
                );
                self.b.emit(
                    Inst::Store {
                        addr,
                        offset: 8,
                        value: n,
                    },
                    None,
                );
            }
            _ => {}
        }
    }

    fn read_place(&mut self, p: Place) -> Val {
        match p {
            Place::Mem { addr, ty } => self.load(addr, ty),
            Place::Local(l) => match self.locals.get(&l).copied() {
                Some(Storage::One(v)) => Val::One(self.b.read_var(v)),
                Some(Storage::Pair(a, n)) => {
                    let a = self.b.read_var(a);
                    let n = self.b.read_var(n);
                    Val::Pair(a, n)
                }
                Some(Storage::Slot(s)) => {
                    let addr = self
                        .b
                        .emit(Inst::StackAddr { slot: s }, Some(ir::Type::Ptr));
                    let t = self.typed().local_ty[l.index()];
                    self.load(addr, t)
                }
                None => Val::None,
            },
        }
    }

    fn write_place(&mut self, p: Place, v: Val) {
        match p {
            Place::Mem { addr, ty } => self.store(addr, ty, v),
            Place::Local(l) => match self.locals.get(&l).copied() {
                Some(Storage::One(var)) => self.b.write_var(var, v.one()),
                Some(Storage::Pair(a, n)) => {
                    self.b.write_var(a, v.one());
                    self.b.write_var(n, v.second());
                }
                Some(Storage::Slot(s)) => {
                    let addr = self
                        .b
                        .emit(Inst::StackAddr { slot: s }, Some(ir::Type::Ptr));
                    let t = self.typed().local_ty[l.index()];
                    self.store(addr, t, v);
                }
                None => {}
            },
        }
    }

    fn place(&mut self, e: ExprId) -> Place {
        let ty = self.typed().expr_ty[e.index()];
        match self.ast().expr(e).kind.clone() {
            ExprKind::Ident(_) => match self.m.front.sema.res(e) {
                Res::Local(l) => match self.locals.get(&l).copied() {
                    Some(Storage::Slot(s)) => {
                        let addr = self
                            .b
                            .emit(Inst::StackAddr { slot: s }, Some(ir::Type::Ptr));
                        Place::Mem { addr, ty }
                    }
                    _ => Place::Local(l),
                },
                Res::Global(g) => {
                    let gid = self.m.globals[&g];
                    let addr = self.b.emit(
                        Inst::SymbolAddr {
                            symbol: SymbolRef::Global(gid),
                        },
                        Some(ir::Type::Ptr),
                    );
                    Place::Mem { addr, ty }
                }
                _ => Place::Mem {
                    addr: self.b.iconst(ir::Type::Ptr, 0),
                    ty,
                },
            },
            ExprKind::Unary {
                op: UnaryOp::Deref,
                arg,
            } => {
                let addr = self.expr(arg).one();
                Place::Mem { addr, ty }
            }
            ExprKind::Index { base, index } => {
                let addr = self.element_addr(base, index);
                Place::Mem { addr, ty }
            }
            _ => {
                let addr = self.b.iconst(ir::Type::Ptr, 0);
                Place::Mem { addr, ty }
            }
        }
    }

    /// Base pointer of a pointer, slice or static array expression.
    fn base_ptr(&mut self, base: ExprId) -> Value {
        let v = self.expr(base);
        v.one()
    }

    /// `ptr + index * size` (index already an `I64`).
    fn offset_ptr(&mut self, ptr: Value, index: Value, elem_size: u64) -> Value {
        let scaled = if elem_size == 1 {
            index
        } else {
            let s = self.b.iconst(ir::Type::I64, elem_size as i64);
            self.b.emit(
                Inst::Binary {
                    op: BinOp::Mul,
                    lhs: index,
                    rhs: s,
                },
                Some(ir::Type::I64),
            )
        };
        self.b.emit(
            Inst::Binary {
                op: BinOp::Add,
                lhs: ptr,
                rhs: scaled,
            },
            Some(ir::Type::Ptr),
        )
    }

    fn element_addr(&mut self, base: ExprId, index: ExprId) -> Value {
        let bt = self.typed().expr_ty[base.index()];
        let elem = self.types().elem(bt).unwrap_or(Types::U8);
        let size = self.types().size(elem);
        let p = self.base_ptr(base);
        let i = self.expr(index).one();
        self.offset_ptr(p, i, size)
    }

    // ---- expressions ----

    /// Generates an expression converted to the type its context expects.
    fn expr(&mut self, e: ExprId) -> Val {
        let v = self.expr_raw(e);
        let from = self.typed().expr_ty[e.index()];
        let to = self.typed().expr_target[e.index()];
        self.convert(v, from, to)
    }

    fn convert(&mut self, v: Val, from: TypeId, to: TypeId) -> Val {
        if from == to {
            return v;
        }
        let (fk, tk) = (self.types().kind(from), self.types().kind(to));
        match (fk, tk) {
            (TypeKind::Noreturn, _) | (TypeKind::Error, _) | (_, TypeKind::Error) => self.undef(to),
            (TypeKind::Int(a), TypeKind::Int(b)) => Val::One(self.int_convert(v.one(), a, b)),
            (TypeKind::Bool, TypeKind::Int(b)) => Val::One(self.int_convert(v.one(), IntTy::U8, b)),
            (TypeKind::Int(a), TypeKind::Bool) => {
                let zero = self.b.iconst(a.ir(), 0);
                Val::One(self.b.emit(
                    Inst::Cmp {
                        cond: IntCC::Ne,
                        lhs: v.one(),
                        rhs: zero,
                    },
                    Some(ir::Type::I8),
                ))
            }
            (TypeKind::Null, TypeKind::Slice(_)) => {
                let z = self.b.iconst(ir::Type::I64, 0);
                Val::Pair(v.one(), z)
            }
            (TypeKind::Array(_, n), TypeKind::Slice(_)) => {
                let len = self.b.iconst(ir::Type::I64, n as i64);
                Val::Pair(v.one(), len)
            }
            (TypeKind::Ptr(_) | TypeKind::Null, TypeKind::Int(b)) => {
                let as_int = self.b.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: v.one(),
                    },
                    Some(ir::Type::I64),
                );
                Val::One(self.int_convert(as_int, IntTy::U64, b))
            }
            (TypeKind::Int(a), TypeKind::Ptr(_)) => {
                let wide =
                    self.int_convert(v.one(), a, if a.signed { IntTy::I64 } else { IntTy::U64 });
                Val::One(self.b.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: wide,
                    },
                    Some(ir::Type::Ptr),
                ))
            }
            // Pointer to pointer, null to pointer, slice to slice: same representation.
            _ => v,
        }
    }

    fn int_convert(&mut self, v: Value, from: IntTy, to: IntTy) -> Value {
        if from.bits == to.bits {
            return v;
        }
        let op = if to.bits < from.bits {
            CastOp::Trunc
        } else if from.signed {
            CastOp::SExt
        } else {
            CastOp::ZExt
        };
        self.b.emit(Inst::Cast { op, arg: v }, Some(to.ir()))
    }

    fn undef(&mut self, t: TypeId) -> Val {
        match self.types().repr(t) {
            IrRepr::None => Val::None,
            IrRepr::Scalar(s) => Val::One(self.b.iconst(s, 0)),
            IrRepr::Pair => {
                let p = self.b.iconst(ir::Type::Ptr, 0);
                let n = self.b.iconst(ir::Type::I64, 0);
                Val::Pair(p, n)
            }
            IrRepr::Memory => Val::One(self.b.iconst(ir::Type::Ptr, 0)),
        }
    }

    /// Generates an expression in its own type.
    fn expr_raw(&mut self, e: ExprId) -> Val {
        let ty = self.typed().expr_ty[e.index()];
        if let Some(&k) = self.typed().expr_const.get(&e)
            && matches!(self.types().kind(ty), TypeKind::Int(_) | TypeKind::Bool)
        {
            let irt = self.irty(ty);
            return Val::One(self.b.iconst(irt, k as i64));
        }
        match self.ast().expr(e).kind.clone() {
            ExprKind::IntLit { .. }
            | ExprKind::CharLit(_)
            | ExprKind::BoolLit(_)
            | ExprKind::Error => self.undef(ty),
            ExprKind::StrLit(s) => {
                let bytes = self.ast().strings[s as usize].clone();
                let len = bytes.len() as i64;
                let g = self.m.string_global(bytes);
                let p = self.b.emit(
                    Inst::SymbolAddr {
                        symbol: SymbolRef::Global(g),
                    },
                    Some(ir::Type::Ptr),
                );
                let n = self.b.iconst(ir::Type::I64, len);
                Val::Pair(p, n)
            }
            ExprKind::Null => Val::One(self.b.iconst(ir::Type::Ptr, 0)),
            ExprKind::Ident(_) => match self.m.front.sema.res(e) {
                Res::Funcs(_) => self.call(e, &[]),
                _ => {
                    let p = self.place(e);
                    self.read_place(p)
                }
            },
            ExprKind::Unary { op, arg } => self.unary(e, op, arg, ty),
            ExprKind::Binary { op, lhs, rhs } => self.binary(op, lhs, rhs, ty),
            ExprKind::Assign { op, lhs, rhs } => self.assign(e, op, lhs, rhs, ty),
            ExprKind::Call { args, .. } => self.call(e, &args),
            ExprKind::Index { .. } => {
                let p = self.place(e);
                self.read_place(p)
            }
            ExprKind::Slice { base, range } => {
                let bt = self.typed().expr_ty[base.index()];
                let elem = self.types().elem(bt).unwrap_or(Types::U8);
                let size = self.types().size(elem);
                let bv = self.expr(base);
                let (ptr, len) = match self.types().kind(bt) {
                    TypeKind::Array(_, n) => (bv.one(), self.b.iconst(ir::Type::I64, n as i64)),
                    TypeKind::Slice(_) => (bv.one(), bv.second()),
                    _ => (bv.one(), bv.one()),
                };
                match range {
                    None => Val::Pair(ptr, len),
                    Some((lo, hi)) => {
                        let lo = self.expr(lo).one();
                        let hi = self.expr(hi).one();
                        let p = self.offset_ptr(ptr, lo, size);
                        let n = self.b.emit(
                            Inst::Binary {
                                op: BinOp::Sub,
                                lhs: hi,
                                rhs: lo,
                            },
                            Some(ir::Type::I64),
                        );
                        Val::Pair(p, n)
                    }
                }
            }
            ExprKind::Member { base, name, .. } => {
                let bt = self.typed().expr_ty[base.index()];
                let v = self.expr(base);
                let is_len = self.m.front.interner.get(name) == "length";
                match (self.types().kind(bt), is_len) {
                    (TypeKind::Slice(_), true) => Val::One(v.second()),
                    _ => Val::One(v.one()),
                }
            }
            ExprKind::Cast { arg, .. } => {
                let v = self.expr(arg);
                let from = self.typed().expr_ty[arg.index()];
                self.convert(v, from, ty)
            }
        }
    }

    fn unary(&mut self, e: ExprId, op: UnaryOp, arg: ExprId, ty: TypeId) -> Val {
        match op {
            UnaryOp::Neg | UnaryOp::BitNot => {
                let a = self.expr(arg).one();
                let uop = if op == UnaryOp::Neg {
                    UnOp::Neg
                } else {
                    UnOp::Not
                };
                let irt = self.irty(ty);
                Val::One(self.b.emit(Inst::Unary { op: uop, arg: a }, Some(irt)))
            }
            UnaryOp::Not => {
                let a = self.expr(arg).one();
                let one = self.b.iconst(ir::Type::I8, 1);
                Val::One(self.b.emit(
                    Inst::Binary {
                        op: BinOp::Xor,
                        lhs: a,
                        rhs: one,
                    },
                    Some(ir::Type::I8),
                ))
            }
            UnaryOp::Deref => {
                let p = self.place(e);
                self.read_place(p)
            }
            UnaryOp::AddrOf => match self.place(arg) {
                Place::Mem { addr, .. } => Val::One(addr),
                Place::Local(_) => Val::One(self.b.iconst(ir::Type::Ptr, 0)),
            },
            UnaryOp::PreInc | UnaryOp::PreDec | UnaryOp::PostInc | UnaryOp::PostDec => {
                let p = self.place(arg);
                let old = self.read_place(p).one();
                let inc = matches!(op, UnaryOp::PreInc | UnaryOp::PostInc);
                let new = match self.types().kind(ty) {
                    TypeKind::Ptr(el) => {
                        let size = self.types().size(el) as i64;
                        let d = self.b.iconst(ir::Type::I64, if inc { size } else { -size });
                        self.b.emit(
                            Inst::Binary {
                                op: BinOp::Add,
                                lhs: old,
                                rhs: d,
                            },
                            Some(ir::Type::Ptr),
                        )
                    }
                    _ => {
                        let irt = self.irty(ty);
                        let one = self.b.iconst(irt, 1);
                        let bop = if inc { BinOp::Add } else { BinOp::Sub };
                        self.b.emit(
                            Inst::Binary {
                                op: bop,
                                lhs: old,
                                rhs: one,
                            },
                            Some(irt),
                        )
                    }
                };
                self.write_place(p, Val::One(new));
                Val::One(if matches!(op, UnaryOp::PreInc | UnaryOp::PreDec) {
                    new
                } else {
                    old
                })
            }
        }
    }

    fn arith(&mut self, op: BinaryOp, a: Value, b: Value, ty: TypeId) -> Value {
        let signed = self.types().int(ty).map(|i| i.signed).unwrap_or(false);
        let bop = match op {
            BinaryOp::Add => BinOp::Add,
            BinaryOp::Sub => BinOp::Sub,
            BinaryOp::Mul => BinOp::Mul,
            BinaryOp::Div => {
                if signed {
                    BinOp::SDiv
                } else {
                    BinOp::UDiv
                }
            }
            BinaryOp::Rem => {
                if signed {
                    BinOp::SRem
                } else {
                    BinOp::URem
                }
            }
            BinaryOp::And => BinOp::And,
            BinaryOp::Or => BinOp::Or,
            BinaryOp::Xor => BinOp::Xor,
            BinaryOp::Shl => BinOp::Shl,
            BinaryOp::Shr => {
                if signed {
                    BinOp::AShr
                } else {
                    BinOp::LShr
                }
            }
            _ => BinOp::LShr,
        };
        let irt = self.irty(ty);
        self.b.emit(
            Inst::Binary {
                op: bop,
                lhs: a,
                rhs: b,
            },
            Some(irt),
        )
    }

    fn binary(&mut self, op: BinaryOp, lhs: ExprId, rhs: ExprId, ty: TypeId) -> Val {
        if matches!(op, BinaryOp::AndAnd | BinaryOp::OrOr) {
            let var = self.b.new_var(ir::Type::I8);
            let rhs_block = self.b.new_block();
            let merge = self.b.new_block();
            let a = self.expr(lhs).one();
            self.b.write_var(var, a);
            let term = if op == BinaryOp::AndAnd {
                Terminator::Branch {
                    cond: a,
                    then: rhs_block,
                    els: merge,
                }
            } else {
                Terminator::Branch {
                    cond: a,
                    then: merge,
                    els: rhs_block,
                }
            };
            self.b.terminate(term);
            self.b.seal(rhs_block);
            self.b.switch_to(rhs_block);
            let bv = self.expr(rhs).one();
            self.b.write_var(var, bv);
            self.jump(merge);
            self.b.seal(merge);
            self.b.switch_to(merge);
            return Val::One(self.b.read_var(var));
        }
        let lt = self.typed().expr_target[lhs.index()];
        let rt = self.typed().expr_target[rhs.index()];
        let a = self.expr(lhs);
        let b = self.expr(rhs);
        if op.is_comparison() {
            let signed = self.types().int(lt).map(|i| i.signed).unwrap_or(false);
            let cond = match (op, signed) {
                (BinaryOp::Eq, _) => IntCC::Eq,
                (BinaryOp::Ne, _) => IntCC::Ne,
                (BinaryOp::Lt, true) => IntCC::Slt,
                (BinaryOp::Le, true) => IntCC::Sle,
                (BinaryOp::Gt, true) => IntCC::Sgt,
                (BinaryOp::Ge, true) => IntCC::Sge,
                (BinaryOp::Lt, false) => IntCC::Ult,
                (BinaryOp::Le, false) => IntCC::Ule,
                (BinaryOp::Gt, false) => IntCC::Ugt,
                _ => IntCC::Uge,
            };
            return Val::One(self.b.emit(
                Inst::Cmp {
                    cond,
                    lhs: a.one(),
                    rhs: b.one(),
                },
                Some(ir::Type::I8),
            ));
        }
        // Pointer arithmetic.
        match (self.types().kind(lt), self.types().kind(rt)) {
            (TypeKind::Ptr(el), TypeKind::Ptr(_)) => {
                let size = self.types().size(el) as i64;
                let ai = self.b.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: a.one(),
                    },
                    Some(ir::Type::I64),
                );
                let bi = self.b.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: b.one(),
                    },
                    Some(ir::Type::I64),
                );
                let diff = self.b.emit(
                    Inst::Binary {
                        op: BinOp::Sub,
                        lhs: ai,
                        rhs: bi,
                    },
                    Some(ir::Type::I64),
                );
                if size <= 1 {
                    return Val::One(diff);
                }
                let s = self.b.iconst(ir::Type::I64, size);
                return Val::One(self.b.emit(
                    Inst::Binary {
                        op: BinOp::SDiv,
                        lhs: diff,
                        rhs: s,
                    },
                    Some(ir::Type::I64),
                ));
            }
            (TypeKind::Ptr(el), _) => {
                return Val::One(self.ptr_add(a.one(), b.one(), el, op == BinaryOp::Sub));
            }
            (_, TypeKind::Ptr(el)) => return Val::One(self.ptr_add(b.one(), a.one(), el, false)),
            _ => {}
        }
        Val::One(self.arith(op, a.one(), b.one(), ty))
    }

    fn ptr_add(&mut self, p: Value, i: Value, elem: TypeId, sub: bool) -> Value {
        let i = if sub {
            self.b.emit(
                Inst::Unary {
                    op: UnOp::Neg,
                    arg: i,
                },
                Some(ir::Type::I64),
            )
        } else {
            i
        };
        let size = self.types().size(elem);
        self.offset_ptr(p, i, size)
    }

    fn assign(
        &mut self,
        e: ExprId,
        op: Option<BinaryOp>,
        lhs: ExprId,
        rhs: ExprId,
        ty: TypeId,
    ) -> Val {
        let p = self.place(lhs);
        let Some(op) = op else {
            let v = self.expr(rhs);
            self.write_place(p, v);
            return v;
        };
        let old = self.read_place(p).one();
        let r = self.expr(rhs).one();
        let op_ty = self.typed().assign_op_ty.get(&e).copied().unwrap_or(ty);
        let new = match self.types().kind(ty) {
            TypeKind::Ptr(el) => self.ptr_add(old, r, el, op == BinaryOp::Sub),
            TypeKind::Int(li) => {
                let oi = self.types().int(op_ty).unwrap_or(li);
                let wide = self.int_convert(old, li, oi);
                let res = self.arith(op, wide, r, op_ty);
                self.int_convert(res, oi, li)
            }
            _ => self.arith(op, old, r, op_ty),
        };
        self.write_place(p, Val::One(new));
        Val::One(new)
    }

    fn call(&mut self, e: ExprId, args: &[ExprId]) -> Val {
        let Some(&target) = self.typed().call_target.get(&e) else {
            return Val::None;
        };
        let Some(&fid) = self.m.funcs.get(&target) else {
            return Val::None;
        };
        let ret_ty = self
            .typed()
            .func_sig
            .get(&target)
            .map(|s| s.ret)
            .unwrap_or(Types::VOID);
        let mut vals = Vec::with_capacity(args.len() + 1);
        let sret = if self.types().repr(ret_ty) == IrRepr::Pair {
            let slot = self.b.new_slot(16, 8);
            let addr = self.b.emit(Inst::StackAddr { slot }, Some(ir::Type::Ptr));
            vals.push(addr);
            Some(addr)
        } else {
            None
        };
        for &a in args {
            match self.expr(a) {
                Val::None => {}
                Val::One(v) => vals.push(v),
                Val::Pair(p, n) => {
                    vals.push(p);
                    vals.push(n);
                }
            }
        }
        let f = &self.m.module.functions[fid.index()];
        let (ret, noreturn) = (f.sig.ret, f.noreturn);
        let v = self.b.emit(
            Inst::Call {
                func: fid,
                args: vals,
            },
            ret,
        );
        if noreturn {
            self.terminate_and_continue(Terminator::Unreachable);
        }
        if let Some(addr) = sret {
            return self.load(addr, ret_ty);
        }
        if ret.is_some() {
            Val::One(v)
        } else {
            Val::None
        }
    }

    /// Branches on a boolean expression, short-circuiting `&&`, `||` and `!`.
    fn cond(&mut self, e: ExprId, then: BlockId, els: BlockId) {
        if let Some(&k) = self.typed().expr_const.get(&e) {
            self.jump(if k != 0 { then } else { els });
            return;
        }
        match self.ast().expr(e).kind.clone() {
            ExprKind::Binary {
                op: BinaryOp::AndAnd,
                lhs,
                rhs,
            } => {
                let mid = self.b.new_block();
                self.cond(lhs, mid, els);
                self.b.seal(mid);
                self.b.switch_to(mid);
                self.cond(rhs, then, els);
            }
            ExprKind::Binary {
                op: BinaryOp::OrOr,
                lhs,
                rhs,
            } => {
                let mid = self.b.new_block();
                self.cond(lhs, then, mid);
                self.b.seal(mid);
                self.b.switch_to(mid);
                self.cond(rhs, then, els);
            }
            ExprKind::Unary {
                op: UnaryOp::Not,
                arg,
            } => self.cond(arg, els, then),
            _ => {
                let v = self.expr(e);
                if self.b.is_terminated() {
                    return;
                }
                self.b.terminate(Terminator::Branch {
                    cond: v.one(),
                    then,
                    els,
                });
            }
        }
    }

    // ---- statements ----

    fn stmt(&mut self, s: StmtId) {
        match self.ast().stmt(s).kind.clone() {
            StmtKind::Expr(e) => {
                self.expr(e);
            }
            StmtKind::Var(d) => {
                let Some(&l) = self.m.front.sema.var_local.get(&d) else {
                    return;
                };
                let init = match &self.ast().decl(d).kind {
                    DeclKind::Var { init: Some(e), .. } => Some(*e),
                    _ => None,
                };
                let v = init.map(|e| self.expr(e));
                self.declare_local(l, v);
            }
            StmtKind::Block(items) | StmtKind::Group(items) => {
                for i in items {
                    self.stmt(i);
                }
            }
            StmtKind::StaticIf { then, els, .. } => {
                let taken = self
                    .m
                    .front
                    .sema
                    .static_if_taken
                    .get(&s)
                    .copied()
                    .unwrap_or(false);
                for i in if taken { then } else { els } {
                    self.stmt(i);
                }
            }
            StmtKind::If { cond, then, els } => {
                let tb = self.b.new_block();
                let merge = self.b.new_block();
                let eb = if els.is_some() {
                    self.b.new_block()
                } else {
                    merge
                };
                self.cond(cond, tb, eb);
                self.b.seal(tb);
                self.b.switch_to(tb);
                self.stmt(then);
                self.jump(merge);
                if let Some(e) = els {
                    self.b.seal(eb);
                    self.b.switch_to(eb);
                    self.stmt(e);
                    self.jump(merge);
                }
                self.b.seal(merge);
                self.b.switch_to(merge);
            }
            StmtKind::While { cond, body } => {
                let header = self.b.new_block();
                let bb = self.b.new_block();
                let exit = self.b.new_block();
                self.jump(header);
                self.b.switch_to(header);
                self.cond(cond, bb, exit);
                self.b.seal(bb);
                self.b.switch_to(bb);
                self.loops.push((header, exit));
                self.stmt(body);
                self.loops.pop();
                self.jump(header);
                self.b.seal(header);
                self.b.seal(exit);
                self.b.switch_to(exit);
            }
            StmtKind::DoWhile { body, cond } => {
                let bb = self.b.new_block();
                let cb = self.b.new_block();
                let exit = self.b.new_block();
                self.jump(bb);
                self.b.switch_to(bb);
                self.loops.push((cb, exit));
                self.stmt(body);
                self.loops.pop();
                self.jump(cb);
                self.b.seal(cb);
                self.b.switch_to(cb);
                self.cond(cond, bb, exit);
                self.b.seal(bb);
                self.b.seal(exit);
                self.b.switch_to(exit);
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                for i in init {
                    self.stmt(i);
                }
                let header = self.b.new_block();
                let bb = self.b.new_block();
                let sb = self.b.new_block();
                let exit = self.b.new_block();
                self.jump(header);
                self.b.switch_to(header);
                match cond {
                    Some(c) => self.cond(c, bb, exit),
                    None => self.jump(bb),
                }
                self.b.seal(bb);
                self.b.switch_to(bb);
                self.loops.push((sb, exit));
                self.stmt(body);
                self.loops.pop();
                self.jump(sb);
                self.b.seal(sb);
                self.b.switch_to(sb);
                for e in step {
                    self.expr(e);
                }
                self.jump(header);
                self.b.seal(header);
                self.b.seal(exit);
                self.b.switch_to(exit);
            }
            StmtKind::Return(v) => {
                let val = v.map(|e| self.expr(e));
                if self.b.is_terminated() {
                    return;
                }
                if let (Some(addr), Some(v)) = (self.sret, val) {
                    self.store(addr, self.ret, v);
                    self.terminate_and_continue(Terminator::Return(None));
                    return;
                }
                let term = match (val, self.types().repr(self.ret)) {
                    (Some(Val::One(x)), IrRepr::Scalar(_)) => Terminator::Return(Some(x)),
                    _ if self.ret == Types::NORETURN => Terminator::Unreachable,
                    _ => Terminator::Return(None),
                };
                self.terminate_and_continue(term);
            }
            StmtKind::Break => {
                if let Some(&(_, exit)) = self.loops.last() {
                    self.terminate_and_continue(Terminator::Jump(exit));
                }
            }
            StmtKind::Continue => {
                if let Some(&(cont, _)) = self.loops.last() {
                    self.terminate_and_continue(Terminator::Jump(cont));
                }
            }
            StmtKind::Empty => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileOrigin, SourceFile, SourceFiles};

    /// Runs the whole front end; returns (IR text, diagnostics).
    pub(crate) fn compile(text: &str, target: Target, jit: bool) -> (String, String) {
        let mut sources = SourceFiles::default();
        sources.add(SourceFile::new("main.vx", text, FileOrigin::User));
        for (path, t) in meteor_std::FILES {
            sources.add(SourceFile::new(
                format!("std/{}", path.trim_start_matches("std/")),
                *t,
                FileOrigin::Std,
            ));
        }
        let mut c = Compilation::new(Options::new(target, jit), sources);
        for pass in [
            super::super::lexer::run,
            super::super::parser::run,
            super::super::resolve::run,
            super::super::typeck::run,
            run,
        ] {
            pass(&mut c);
            if c.diags.has_errors() {
                break;
            }
        }
        if let Err(e) = ir::verify(&c.ir) {
            panic!("invalid IR: {e}\n{}", c.ir);
        }
        (c.ir.to_string(), c.diags.render(&c.sources))
    }

    #[test]
    fn return_42() {
        let (ir, d) = compile("i32 main() { return 42; }", Target::LinuxX64, true);
        assert_eq!(d, "");
        assert_eq!(
            ir,
            "fn @main.main() -> i32 {\nb0:  ; preds: \n  v0 = i32 const 42\n  return v0\n}\nfn @__meteor_jit_entry() -> i32 entry {\nb0:  ; preds: \n  v0 = i32 call @main.main()\n  return v0\n}\n"
        );
    }

    #[test]
    fn fib_has_branches_and_calls() {
        let (ir, d) = compile(
            "i32 fib(i32 n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }\ni32 main() { return fib(20) % 256; }",
            Target::LinuxX64,
            false,
        );
        assert_eq!(d, "");
        assert!(ir.contains("cmp.slt"), "{ir}");
        assert!(ir.contains("call @main.fib"), "{ir}");
        assert!(
            ir.contains("fn @_start() -> void noreturn process_entry entry"),
            "{ir}"
        );
        assert!(
            ir.contains("syscall 231 fn @exit_group(i32) -> void noreturn"),
            "{ir}"
        );
    }

    #[test]
    fn loops_make_phis() {
        let (ir, d) = compile(
            "i32 main() { i32 s = 0; i32 i = 0; while (i < 10) { s += i; i++; } return s; }",
            Target::LinuxX64,
            true,
        );
        assert_eq!(d, "");
        assert_eq!(ir.matches("phi").count(), 2, "{ir}");
    }

    #[test]
    fn std_io_compiles_for_every_configuration() {
        let src = "import std.io;\nvoid main() { println(\"hi\"); println(42); print(cast(u64)7); println(true); println(-5); println(); }";
        for (target, jit) in [
            (Target::LinuxX64, true),
            (Target::LinuxX64, false),
            (Target::WindowsX64, false),
        ] {
            let (ir, d) = compile(src, target, jit);
            assert_eq!(d, "", "{target} jit={jit}");
            assert!(ir.contains("@std.io.println(u8[])"), "{ir}");
            if jit {
                assert!(
                    ir.contains("extern fn @meteor_host_write(ptr, i64) -> void"),
                    "{ir}"
                );
            } else if target == Target::WindowsX64 {
                assert!(ir.contains("extern fn @WriteFile"), "{ir}");
                assert!(
                    ir.contains("extern fn @ExitProcess(i32) -> void from \"kernel32\" noreturn"),
                    "{ir}"
                );
                assert!(ir.contains("fn @mainCRTStartup"), "{ir}");
            } else {
                assert!(ir.contains("syscall 1 fn @sys_write"), "{ir}");
            }
        }
    }

    #[test]
    fn strings_are_deduplicated_globals() {
        let (ir, d) = compile(
            "import std.io;\nu8[] msg = \"hi\";\nvoid main() { print(\"hi\"); print(msg); u8[4] a; a[0] = 'x'; print(a[0 .. 1]); }",
            Target::LinuxX64,
            true,
        );
        assert_eq!(d, "");
        assert_eq!(ir.matches("const = [68 69]").count(), 1, "{ir}"); // one "hi"
        assert!(ir.contains("global @main.msg size 16 align 8 = ["), "{ir}");
        assert!(ir.contains("reloc +0 = @.str.0 + 0"), "{ir}");
    }

    #[test]
    fn slices_are_returned_through_a_hidden_pointer() {
        let (ir, d) = compile(
            "u8[] pick(bool b) { if (b) return \"yes\"; return \"no\"; }\ni32 main() { u8[] s = pick(true); return cast(i32)s.length; }",
            Target::LinuxX64,
            true,
        );
        assert_eq!(d, "");
        assert!(ir.contains("fn @main.pick(ptr, i8) -> void"), "{ir}");
        assert!(ir.contains("slot0: size 16 align 8"), "{ir}");
    }

    #[test]
    fn address_taken_locals_use_stack_slots() {
        let (ir, d) = compile(
            "i32 main() { i32 x = 5; i32* p = &x; *p = 7; return x; }",
            Target::LinuxX64,
            true,
        );
        assert_eq!(d, "");
        assert!(ir.contains("slot0: size 4 align 4"), "{ir}");
        assert!(ir.contains("stack_addr slot0"), "{ir}");
    }
}
