//! Front-end pass: IR generation. Typed AST → `c.ir` (SSA, built with [`super::ssa`]).
//! Each finished body goes straight to the back end (`backend::pipeline::Sink`), which
//! compiles it on its worker thread while later bodies are generated; `c.ir` keeps the
//! declarations (defined functions with empty bodies), globals and aggregate layouts.
//! With `--print-ir` the module is generated whole and printed first.
//!
//! Value representation: `bool`, integers, enums, floats, pointers, function pointers and
//! `null` are one IR scalar (`bool` is `I8` 0/1). Aggregates (structs, unions, slices
//! `{ u64 length; T* ptr; }` and static arrays) live in memory and are handled by
//! address; they are passed, returned and received as `ir::Type::Agg` values whose
//! layout (`Module::aggregates`) the back end classifies for the C ABI. An aggregate
//! parameter or call result is copied into the function's own stack slot right away.
//!
//! Scalar locals are SSA variables unless their address is taken; aggregate locals and
//! address-taken ones get a stack slot (`StackAddr` + `Load`/`Store`/`MemCopy`). Module
//! variables are mutable exported `Global`s named `<module>.<name>`; string literals are
//! deduplicated constant globals named `.str.N`.
//!
//! The entry function is synthesized here: `_start` (linux-x64 executables: calls main,
//! then `exit_group`), `mainCRTStartup` (windows-x64: calls main, then `ExitProcess` from
//! kernel32) or `__meteor_jit_entry` (JIT: `i32 ()` returning main's result).

use crate::fxhash::HashMap;
use crate::idmap::IdMap;

use super::FrontState;
use super::ast::*;
use super::sema::*;
use super::ssa::{Builder, Var};
use super::types::{FloatTy, IntTy, IrRepr, TypeId, TypeKind, Types};
use crate::backend;
use crate::compilation::{Compilation, Options};
use crate::ir::{
    self, BinOp, BlockId, CastOp, FloatCC, FuncId, FunctionKind, GlobalId, Inst, IntCC, SymbolRef,
    Terminator, UnOp, Value,
};
use meteor_linker::Target;

pub fn run(c: &mut Compilation) {
    // Long done (it ran while names were resolved); joining it is immediate.
    if let Some(w) = c.front.warmup.take() {
        w.finish();
    }
    if c.options.print.ir {
        // The module is printed whole, so its bodies are generated before the back end
        // takes them.
        let module = generate(&c.front, &c.options);
        let verified = !cfg!(debug_assertions) || check(c, ir::verify(&module));
        c.printed.push_str(&module.to_string());
        c.ir = module;
        c.front = FrontState::default();
        if verified {
            backend::pipeline::compile_module_bodies(c);
        }
        return;
    }
    // Every body goes to the back end as soon as it is generated (see `backend::pipeline`).
    let nfuncs = c.front.sema.funcs.len() + c.front.typed.local_funcs.len();
    let mut sink = backend::pipeline::Sink::new(&c.options, nfuncs + ENTRY_FUNCS);
    let (module, errors) = generate_into(&c.front, &c.options, Some(&mut sink));
    for e in errors {
        check(c, Err(e));
    }
    if cfg!(debug_assertions) {
        check(c, ir::verify_declarations(&module));
    }
    c.ir = module;
    c.back.sink = Some(sink);
    // Nothing after IR generation reads the front end's tables: free them now, so the back
    // end's allocations reuse their (already faulted-in) memory instead of fresh pages.
    c.front = FrontState::default();
}

/// Reports an IR verification failure; returns whether there was none.
fn check(c: &mut Compilation, r: Result<(), String>) -> bool {
    match r {
        Ok(()) => true,
        Err(e) => {
            c.diags.error_no_span(format!(
                "internal compiler error: IR generation produced invalid IR: {e}"
            ));
            false
        }
    }
}

/// Builds the IR module of a type-checked program, bodies included.
pub fn generate(front: &FrontState, options: &Options) -> ir::Module {
    generate_into(front, options, None).0
}

/// Functions the synthesized entry adds to the declared ones: itself and the exit it
/// calls (`exit_group`, `exit` or `ExitProcess`).
const ENTRY_FUNCS: usize = 2;

/// Builds the IR module of a type-checked program. With a `sink`, every body goes to the
/// back end as soon as it is generated (its function in the module keeps an empty body),
/// after `ir::verify_function` in debug builds; the second result lists the bodies that
/// failed it (and were not sent).
pub fn generate_into(
    front: &FrontState,
    options: &Options,
    sink: Option<&mut backend::pipeline::Sink>,
) -> (ir::Module, Vec<String>) {
    let mut g = ModGen {
        front,
        options,
        module: ir::Module::new(options.target),
        funcs: IdMap::with_id_capacity(front.ast.decls.len()),
        globals: IdMap::new(),
        strings: HashMap::default(),
        externs: HashMap::default(),
        aggs: IdMap::new(),
        local_storage: IdMap::new(),
        ssa: None,
        sink,
        invalid: Vec::new(),
    };
    // Every declared function, plus the entry's: sized once, not grown by doubling.
    g.module
        .functions
        .reserve_exact(front.sema.funcs.len() + front.typed.local_funcs.len() + ENTRY_FUNCS);
    g.declare_functions();
    g.declare_globals();
    for &f in front.sema.funcs.iter().chain(&front.typed.local_funcs) {
        g.gen_function(f);
    }
    g.gen_entry();
    (g.module, g.invalid)
}

struct ModGen<'a> {
    front: &'a FrontState,
    options: &'a Options,
    module: ir::Module,
    funcs: IdMap<DeclId, FuncId>,
    globals: IdMap<DeclId, GlobalId>,
    strings: HashMap<Vec<u8>, GlobalId>,
    /// External functions by symbol name (deduplicated).
    externs: HashMap<String, FuncId>,
    /// IR aggregate type of each aggregate source type.
    aggs: IdMap<TypeId, ir::Type>,
    /// `FnGen::locals`, kept between functions (cleared) to reuse its table.
    local_storage: IdMap<LocalId, Storage>,
    /// The SSA builder of the previous function, reused (with its tables' allocations)
    /// for the next one.
    ssa: Option<Builder>,
    /// Where finished bodies go (`None`: into `module`).
    sink: Option<&'a mut backend::pipeline::Sink>,
    /// Verification failures of bodies not sent to `sink`.
    invalid: Vec<String>,
}

fn write_int(out: &mut [u8], at: usize, size: usize, v: i128) {
    let bytes = (v as i64).to_le_bytes();
    for (i, &byte) in bytes.iter().enumerate().take(size.min(8)) {
        if let Some(b) = out.get_mut(at + i) {
            *b = byte;
        }
    }
}

impl ModGen<'_> {
    fn types(&self) -> &Types {
        &self.front.types
    }

    fn typed(&self) -> &Typed {
        &self.front.typed
    }

    /// The IR type of a value of type `t` (`None` for `void`/`noreturn`).
    fn ir_type(&mut self, t: TypeId) -> Option<ir::Type> {
        match self.types().repr(t) {
            IrRepr::None => None,
            IrRepr::Scalar(s) => Some(s),
            IrRepr::Agg => {
                if let Some(&a) = self.aggs.get(&t) {
                    return Some(a);
                }
                let layout = self.types().agg_layout(t);
                let a = self.module.add_aggregate(layout);
                self.aggs.insert(t, a);
                Some(a)
            }
        }
    }

    fn signature(&mut self, sig: &FuncSig) -> ir::Signature {
        let mut params = Vec::new();
        if sig.this.is_some() {
            params.push(ir::Type::Ptr);
        }
        for &p in &sig.params {
            if let Some(t) = self.ir_type(p) {
                params.push(t);
            }
        }
        let ret = self.ir_type(sig.ret);
        ir::Signature { params, ret }
    }

    fn fn_ptr_signature(&mut self, t: TypeId) -> ir::Signature {
        match self.types().kind(t) {
            TypeKind::Func(i) => {
                let s = self.types().fn_sig(i).clone();
                self.signature(&FuncSig {
                    params: s.params,
                    ret: s.ret,
                    this: None,
                })
            }
            _ => ir::Signature {
                params: vec![],
                ret: None,
            },
        }
    }

    fn add_function(&mut self, f: ir::Function) -> FuncId {
        self.module.functions.push(f);
        FuncId(self.module.functions.len() as u32 - 1)
    }

    fn declare_functions(&mut self) {
        let front = self.front;
        for &f in front.sema.funcs.iter().chain(&front.typed.local_funcs) {
            let typed = &self.front.typed;
            let (Some(sig), Some(kind), Some(name)) = (
                typed.func_sig.get(&f).cloned(),
                typed.func_kind.get(&f).cloned(),
                typed.func_symbol.get(&f).cloned(),
            ) else {
                continue;
            };
            let irsig = self.signature(&sig);
            let noreturn = sig.ret == Types::NORETURN;
            let id = match kind {
                FuncKind::Defined => self.add_function(ir::Function {
                    name,
                    sig: irsig,
                    kind: FunctionKind::Defined(ir::Body::default()),
                    noreturn,
                    is_process_entry: false,
                    exported: true,
                }),
                FuncKind::External { library } => match self.externs.get(&name) {
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
                            kind: FunctionKind::External { library },
                            noreturn,
                            is_process_entry: false,
                            exported: false,
                        });
                        self.externs.insert(name, id);
                        id
                    }
                },
                FuncKind::Syscall(n) => self.add_function(ir::Function {
                    name,
                    sig: irsig,
                    kind: FunctionKind::Syscall(n),
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
        // Create every global first: initializers may take the address of another.
        let mut pending = Vec::new();
        for &g in &self.front.sema.globals {
            let decl = self.front.ast.decl(g);
            let t = self
                .typed()
                .global_ty
                .get(&g)
                .copied()
                .unwrap_or(Types::ERROR);
            let size = self.types().size(t) as u32;
            let align = self.types().align(t).max(1) as u32;
            let name = format!(
                "{}.{}",
                self.module_name(g),
                self.front.interner.get(decl.name)
            );
            self.module.globals.push(ir::Global {
                name,
                size,
                align,
                init: None,
                mutable: true,
                relocs: Vec::new(),
                exported: true,
            });
            let id = GlobalId(self.module.globals.len() as u32 - 1);
            self.globals.insert(g, id);
            pending.push((g, id, t));
        }
        for (g, id, t) in pending {
            let DeclKind::Var { init, .. } = &self.front.ast.decl(g).kind else {
                continue;
            };
            let size = self.types().size(t) as usize;
            let mut bytes = vec![0u8; size];
            let mut relocs = Vec::new();
            match init {
                Some(e) => self.const_bytes(*e, t, &mut bytes, 0, &mut relocs),
                None => self.default_bytes(t, &mut bytes, 0, &mut relocs),
            }
            let gl = &mut self.module.globals[id.index()];
            if !relocs.is_empty() || bytes.iter().any(|&b| b != 0) {
                gl.init = Some(bytes);
            }
            gl.relocs = relocs;
        }
    }

    /// Writes the bytes of a constant expression (converted to `t`) at `at`.
    fn const_bytes(
        &mut self,
        e: ExprId,
        t: TypeId,
        out: &mut [u8],
        at: u32,
        relocs: &mut Vec<ir::DataReloc>,
    ) {
        let size = self.types().size(t) as usize;
        let at_u = at as usize;
        if let Some(f) = self.types().float(t) {
            let v = match (
                self.typed().expr_fconst.get(&e),
                self.typed().expr_const.get(&e),
            ) {
                (Some(&v), _) => v,
                (None, Some(&k)) => k as f64,
                _ => 0.0,
            };
            let bits = f.bits(v);
            write_int(out, at_u, size, bits as i128);
            return;
        }
        if let Some(&k) = self.typed().expr_const.get(&e) {
            write_int(out, at_u, size, k);
            return;
        }
        if let Some(&v) = self.typed().expr_fconst.get(&e) {
            // A float constant converted implicitly to an integer or `bool`.
            let k = if t == Types::BOOL {
                (v != 0.0) as i128
            } else {
                let i = self.types().int_like(t).unwrap_or(IntTy::I64);
                i.wrap(if v.is_finite() { v.trunc() as i128 } else { 0 })
            };
            write_int(out, at_u, size, k);
            return;
        }
        let str_idx = match self.front.ast.expr(e).kind {
            ExprKind::StrLit(s) => Some(s),
            _ => self.typed().expr_str.get(&e).copied(),
        };
        if let Some(s) = str_idx {
            let bytes = self.front.ast.strings[s as usize].clone();
            let len = bytes.len();
            let sg = self.string_global(bytes);
            let ptr_at = if matches!(self.types().kind(t), TypeKind::Slice(_)) {
                write_int(out, at_u, 8, len as i128);
                at + 8
            } else {
                at
            };
            relocs.push(ir::DataReloc {
                offset: ptr_at,
                symbol: SymbolRef::Global(sg),
                addend: 0,
            });
            return;
        }
        if let Some(&f) = self.typed().func_refs.get(&e)
            && let Some(&fid) = self.funcs.get(&f)
        {
            relocs.push(ir::DataReloc {
                offset: at,
                symbol: SymbolRef::Func(fid),
                addend: 0,
            });
            return;
        }
        match self.front.ast.expr(e).kind.clone() {
            ExprKind::Unary {
                op: UnaryOp::AddrOf,
                arg,
            } => {
                if let Res::Global(g) = self.typed().res(arg)
                    && let Some(&gid) = self.globals.get(&g)
                {
                    relocs.push(ir::DataReloc {
                        offset: at,
                        symbol: SymbolRef::Global(gid),
                        addend: 0,
                    });
                }
            }
            ExprKind::Call(_) => {
                let Some(CallInfo {
                    callee: Callee::Ctor(sd),
                    args,
                    ..
                }) = self.typed().calls.get(&e).cloned()
                else {
                    return;
                };
                let Some(layout) = self.types().structs.get(&sd).cloned() else {
                    return;
                };
                for (i, a) in args.iter().enumerate() {
                    let f = &layout.fields[i];
                    let off = at + f.offset as u32;
                    match a {
                        ArgSrc::Expr(x) | ArgSrc::Default(x) => {
                            self.const_bytes(*x, f.ty, out, off, relocs)
                        }
                        ArgSrc::Zero => self.default_bytes(f.ty, out, off, relocs),
                    }
                }
            }
            _ => {}
        }
    }

    /// Writes the default value of `t` (zero, or struct field defaults) at `at`.
    fn default_bytes(
        &mut self,
        t: TypeId,
        out: &mut [u8],
        at: u32,
        relocs: &mut Vec<ir::DataReloc>,
    ) {
        match self.types().kind(t) {
            TypeKind::Struct(sd) => {
                let Some(layout) = self.types().structs.get(&sd).cloned() else {
                    return;
                };
                if layout.is_union {
                    return;
                }
                for f in &layout.fields {
                    let off = at + f.offset as u32;
                    match &self.front.ast.decl(f.decl).kind {
                        DeclKind::Var { init: Some(x), .. } => {
                            let x = *x;
                            self.const_bytes(x, f.ty, out, off, relocs)
                        }
                        _ => self.default_bytes(f.ty, out, off, relocs),
                    }
                }
            }
            TypeKind::Array(el, n) => {
                if !self.has_defaults(el) {
                    return;
                }
                let size = self.types().size(el) as u32;
                for i in 0..n as u32 {
                    self.default_bytes(el, out, at + i * size, relocs);
                }
            }
            _ => {}
        }
    }

    /// Does the default value of `t` differ from all-zero bytes?
    fn has_defaults(&self, t: TypeId) -> bool {
        match self.types().kind(t) {
            TypeKind::Struct(sd) => {
                let Some(layout) = self.types().structs.get(&sd) else {
                    return false;
                };
                !layout.is_union
                    && layout.fields.iter().any(|f| {
                        matches!(
                            self.front.ast.decl(f.decl).kind,
                            DeclKind::Var { init: Some(_), .. }
                        ) || self.has_defaults(f.ty)
                    })
            }
            TypeKind::Array(el, n) => n > 0 && self.has_defaults(el),
            _ => false,
        }
    }

    /// The constant global holding a string literal's bytes (deduplicated).
    fn string_global(&mut self, bytes: Vec<u8>) -> GlobalId {
        if let Some(&g) = self.strings.get(&bytes) {
            return g;
        }
        let name = format!(".str.{}", self.strings.len());
        // As in Vox (and D), the bytes are followed by a zero byte that the slice's length
        // does not count, so a literal converted to `u8*` is a C string.
        let mut data = bytes.clone();
        data.push(0);
        let size = data.len() as u32;
        self.module.globals.push(ir::Global {
            name,
            size,
            align: 1,
            init: if bytes.is_empty() { None } else { Some(data) },
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
        // Borrowed from the front end (not from `self`), so nothing is cloned per function.
        let front = self.front;
        let Some(sig) = front.typed.func_sig.get(&f) else {
            return;
        };
        let irparams = &self.module.functions[fid.index()].sig.params;
        let (b, params) = match self.ssa.take() {
            Some(mut b) => {
                let params = b.reset(irparams);
                (b, params)
            }
            None => Builder::new(irparams),
        };
        let locals = std::mem::take(&mut self.local_storage);
        let mut fg = FnGen {
            m: self,
            b,
            locals,
            breaks: Vec::new(),
            continues: Vec::new(),
            ret: sig.ret,
            arg_vals: Vec::new(),
        };
        let mut pi = 0;
        if sig.this.is_some() {
            if let Some(&this) = fg.m.typed().func_this.get(&f) {
                fg.declare_local(this, Some(Val::S(params[0])));
            }
            pi = 1;
        }
        let plocals = front.typed.func_params.get(&f).map_or(&[][..], |p| &p[..]);
        for (i, &t) in sig.params.iter().enumerate() {
            let val = match fg.m.types().repr(t) {
                IrRepr::None => continue,
                IrRepr::Scalar(_) => Val::S(params[pi]),
                IrRepr::Agg => Val::A(params[pi]),
            };
            pi += 1;
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
        let FnGen { b, mut locals, .. } = fg;
        locals.clear();
        self.local_storage = locals;
        self.ssa = Some(b);
        self.finish_body(fid, body);
    }

    /// Stores the body of `fid` in the module, or hands it to the back end.
    fn finish_body(&mut self, fid: FuncId, body: ir::Body) {
        let Some(sink) = self.sink.as_mut() else {
            self.module.functions[fid.index()].kind = FunctionKind::Defined(body);
            return;
        };
        if cfg!(debug_assertions)
            && let Err(e) = ir::verify_function(&self.module, self.module.func(fid), &body)
        {
            self.invalid.push(e);
            return;
        }
        sink.function(&self.module, fid, body);
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
                args: ir::ValueList::default(),
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
            // A program that links the C library exits through its `exit`, which flushes
            // stdio buffers and runs `atexit` handlers; others make the system call.
            let libc = self.module.functions.iter().find_map(|f| match &f.kind {
                FunctionKind::External { library: Some(l) } if is_libc(l) => Some(l.clone()),
                _ => None,
            });
            let exit = match self.options.target {
                Target::LinuxX64 if libc.is_some() => {
                    self.external_exit("exit", libc.unwrap_or_default())
                }
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
                Target::WindowsX64 => self.external_exit("ExitProcess", "kernel32".into()),
            };
            let args = b.values([code]);
            b.emit(Inst::Call { func: exit, args }, None);
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
            kind: FunctionKind::Defined(ir::Body::default()),
            noreturn: !self.options.jit,
            is_process_entry,
            exported: true,
        });
        self.module.entry = Some(id);
        self.finish_body(id, body);
    }
}

/// `@extern(module, "c")` and its spellings name the C library.
fn is_libc(library: &str) -> bool {
    matches!(library, "c" | "libc" | "libc.so" | "libc.so.6")
}

impl ModGen<'_> {
    /// The external `void name(i32)` from `library` that ends the process, reusing the
    /// program's own declaration of it when there is one.
    fn external_exit(&mut self, name: &str, library: String) -> FuncId {
        if let Some(&id) = self.externs.get(name) {
            if let FunctionKind::External {
                library: lib @ None,
            } = &mut self.module.functions[id.index()].kind
            {
                *lib = Some(library);
            }
            return id;
        }
        let id = self.add_function(ir::Function {
            name: name.into(),
            sig: ir::Signature {
                params: vec![ir::Type::I32],
                ret: None,
            },
            kind: FunctionKind::External {
                library: Some(library),
            },
            noreturn: true,
            is_process_entry: false,
            exported: false,
        });
        self.externs.insert(name.into(), id);
        id
    }
}

/// A value of the source language in the IR.
#[derive(Clone, Copy, Debug)]
enum Val {
    None,
    /// A scalar.
    S(Value),
    /// An aggregate: the address of its bytes.
    A(Value),
}

/// Stands in for a value on paths that type checking rules out.
const NO_VALUE: Value = ir::InstId(0);

impl Val {
    fn v(self) -> Value {
        match self {
            Val::S(v) | Val::A(v) => v,
            Val::None => NO_VALUE,
        }
    }
}

#[derive(Clone, Copy)]
enum Storage {
    Var(Var),
    Slot(ir::StackSlotId),
}

#[derive(Clone, Copy)]
enum Place {
    Var(Var),
    Mem(Value, TypeId),
}

struct FnGen<'a, 'b> {
    m: &'a mut ModGen<'b>,
    b: Builder,
    locals: IdMap<LocalId, Storage>,
    /// Targets of `break` (loops and switches) and `continue` (loops).
    breaks: Vec<BlockId>,
    continues: Vec<BlockId>,
    ret: TypeId,
    /// Scratch list of a call's argument values (kept to reuse its allocation; a call
    /// nested in an argument takes a fresh one).
    arg_vals: Vec<Value>,
}

impl<'b> FnGen<'_, 'b> {
    // The front end's tables outlive the generator: borrowing them does not borrow
    // `self`, so AST nodes are matched in place instead of cloned.
    fn types(&self) -> &'b Types {
        &self.m.front.types
    }

    fn ast(&self) -> &'b Ast {
        &self.m.front.ast
    }

    fn typed(&self) -> &'b Typed {
        &self.m.front.typed
    }

    fn irty(&self, t: TypeId) -> ir::Type {
        match self.types().repr(t) {
            IrRepr::Scalar(s) => s,
            _ => ir::Type::Ptr,
        }
    }

    fn emit(&mut self, kind: Inst, ty: ir::Type) -> Value {
        self.b.emit(kind, Some(ty))
    }

    fn bin(&mut self, op: BinOp, lhs: Value, rhs: Value, ty: ir::Type) -> Value {
        self.emit(Inst::Binary { op, lhs, rhs }, ty)
    }

    fn fconst(&mut self, f: FloatTy, v: f64) -> Value {
        self.emit(Inst::FConst { bits: f.bits(v) }, f.ir())
    }

    fn store(&mut self, addr: Value, offset: i32, value: Value) {
        self.b.emit(
            Inst::Store {
                addr,
                offset,
                value,
            },
            None,
        );
    }

    fn load(&mut self, addr: Value, offset: i32, ty: ir::Type) -> Value {
        self.emit(Inst::Load { addr, offset }, ty)
    }

    fn addr_add(&mut self, addr: Value, off: u64) -> Value {
        if off == 0 {
            return addr;
        }
        let c = self.b.iconst(ir::Type::I64, off as i64);
        self.bin(BinOp::Add, addr, c, ir::Type::Ptr)
    }

    fn slot(&mut self, t: TypeId) -> Value {
        let size = self.types().size(t) as u32;
        let align = self.types().align(t).max(1) as u32;
        let slot = self.b.new_slot(size, align);
        self.emit(Inst::StackAddr { slot }, ir::Type::Ptr)
    }

    fn memcopy(&mut self, dst: Value, src: Value, t: TypeId) {
        let size = self.types().size(t) as u32;
        if size == 0 {
            return;
        }
        let align = self.types().align(t).max(1) as u32;
        self.b.emit(
            Inst::MemCopy {
                dst,
                src,
                size,
                align,
            },
            None,
        );
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
        let in_memory =
            self.typed().local_in_memory[l.index()] || self.types().repr(t) == IrRepr::Agg;
        if in_memory {
            let size = self.types().size(t) as u32;
            let align = self.types().align(t).max(1) as u32;
            let slot = match self.locals.get(&l) {
                Some(Storage::Slot(s)) => *s,
                _ => self.b.new_slot(size, align),
            };
            self.locals.insert(l, Storage::Slot(slot));
            let addr = self.emit(Inst::StackAddr { slot }, ir::Type::Ptr);
            match init {
                Some(v) => self.write_place(Place::Mem(addr, t), v),
                None => self.default_init(addr, t),
            }
            return;
        }
        let ty = self.irty(t);
        let var = match self.locals.get(&l) {
            Some(Storage::Var(v)) => *v,
            _ => self.b.new_var(ty),
        };
        self.locals.insert(l, Storage::Var(var));
        let v = match init {
            Some(v) => v.v(),
            None => self.zero(t),
        };
        self.b.write_var(var, v);
    }

    fn zero(&mut self, t: TypeId) -> Value {
        match self.types().float(t) {
            Some(f) => self.fconst(f, 0.0),
            None => {
                let ty = self.irty(t);
                self.b.iconst(ty, 0)
            }
        }
    }

    /// Initializes memory at `addr` with the default value of `t`.
    fn default_init(&mut self, addr: Value, t: TypeId) {
        let size = self.types().size(t);
        self.zero_memory(addr, size);
        self.apply_defaults(addr, t);
    }

    /// Stores the default values of the fields of `t` (memory already zeroed).
    fn apply_defaults(&mut self, addr: Value, t: TypeId) {
        if !self.m.has_defaults(t) {
            return;
        }
        match self.types().kind(t) {
            TypeKind::Struct(sd) => {
                let Some(layout) = self.types().structs.get(&sd).cloned() else {
                    return;
                };
                for f in &layout.fields {
                    let fa = self.addr_add(addr, f.offset);
                    match &self.ast().decl(f.decl).kind {
                        DeclKind::Var { init: Some(x), .. } => {
                            let x = *x;
                            let v = self.expr(x);
                            self.write_place(Place::Mem(fa, f.ty), v);
                        }
                        _ => self.apply_defaults(fa, f.ty),
                    }
                }
            }
            TypeKind::Array(el, n) => {
                let size = self.types().size(el);
                self.for_each_element(addr, n, size, |fg, ea| fg.apply_defaults(ea, el));
            }
            _ => {}
        }
    }

    /// Runs `body` with the address of each of `n` elements of `size` bytes at `addr`.
    fn for_each_element(
        &mut self,
        addr: Value,
        n: u64,
        size: u64,
        mut body: impl FnMut(&mut Self, Value),
    ) {
        if n <= 8 {
            for i in 0..n {
                let ea = self.addr_add(addr, i * size);
                body(self, ea);
            }
            return;
        }
        let i = self.b.new_var(ir::Type::I64);
        let zero = self.b.iconst(ir::Type::I64, 0);
        self.b.write_var(i, zero);
        let header = self.b.new_block();
        let bb = self.b.new_block();
        let exit = self.b.new_block();
        self.b.terminate(Terminator::Jump(header));
        self.b.switch_to(header);
        let iv = self.b.read_var(i);
        let nv = self.b.iconst(ir::Type::I64, n as i64);
        let c = self.emit(
            Inst::Cmp {
                cond: IntCC::Ult,
                lhs: iv,
                rhs: nv,
            },
            ir::Type::I8,
        );
        self.b.terminate(Terminator::Branch {
            cond: c,
            then: bb,
            els: exit,
        });
        self.b.seal(bb);
        self.b.switch_to(bb);
        let iv = self.b.read_var(i);
        let ea = self.offset_ptr(addr, iv, size);
        body(self, ea);
        let iv = self.b.read_var(i);
        let one = self.b.iconst(ir::Type::I64, 1);
        let next = self.bin(BinOp::Add, iv, one, ir::Type::I64);
        self.b.write_var(i, next);
        self.jump(header);
        self.b.seal(header);
        self.b.seal(exit);
        self.b.switch_to(exit);
    }

    fn zero_memory(&mut self, addr: Value, size: u64) {
        if size <= 256 {
            let z64 = self.b.iconst(ir::Type::I64, 0);
            let mut off = 0u64;
            while off + 8 <= size {
                self.store(addr, off as i32, z64);
                off += 8;
            }
            while off < size {
                let z8 = self.b.iconst(ir::Type::I8, 0);
                self.store(addr, off as i32, z8);
                off += 1;
            }
            return;
        }
        let words = size / 8;
        self.for_each_element(addr, words, 8, |fg, ea| {
            let z = fg.b.iconst(ir::Type::I64, 0);
            fg.store(ea, 0, z);
        });
        for off in words * 8..size {
            let z8 = self.b.iconst(ir::Type::I8, 0);
            self.store(addr, off as i32, z8);
        }
    }

    // ---- places ----

    fn read_place(&mut self, p: Place) -> Val {
        match p {
            Place::Var(v) => Val::S(self.b.read_var(v)),
            Place::Mem(addr, t) => match self.types().repr(t) {
                IrRepr::None => Val::None,
                IrRepr::Scalar(s) => Val::S(self.load(addr, 0, s)),
                IrRepr::Agg => Val::A(addr),
            },
        }
    }

    fn write_place(&mut self, p: Place, v: Val) {
        match p {
            Place::Var(var) => self.b.write_var(var, v.v()),
            Place::Mem(addr, t) => match (self.types().repr(t), v) {
                (IrRepr::Scalar(_), Val::S(x)) => self.store(addr, 0, x),
                (IrRepr::Agg, Val::A(src)) => self.memcopy(addr, src, t),
                _ => {}
            },
        }
    }

    fn local_place(&mut self, l: LocalId) -> Place {
        let t = self.typed().local_ty[l.index()];
        match self.locals.get(&l).copied() {
            Some(Storage::Var(v)) => Place::Var(v),
            Some(Storage::Slot(s)) => {
                let addr = self.emit(Inst::StackAddr { slot: s }, ir::Type::Ptr);
                Place::Mem(addr, t)
            }
            None => {
                let addr = self.b.iconst(ir::Type::Ptr, 0);
                Place::Mem(addr, t)
            }
        }
    }

    fn place(&mut self, e: ExprId) -> Place {
        let ty = self.typed().expr_ty[e.index()];
        match self.ast().expr(e).kind {
            // A module variable named with its module (`counter.count`).
            ExprKind::Member { .. } if matches!(self.typed().res(e), Res::Global(_)) => {
                let Res::Global(g) = self.typed().res(e) else {
                    return self.spill(e, ty);
                };
                let gid = self.m.globals[&g];
                let addr = self.emit(
                    Inst::SymbolAddr {
                        symbol: SymbolRef::Global(gid),
                    },
                    ir::Type::Ptr,
                );
                Place::Mem(addr, ty)
            }
            ExprKind::Ident(_) => match self.typed().res(e) {
                Res::Local(l) => self.local_place(l),
                Res::Global(g) => {
                    let gid = self.m.globals[&g];
                    let addr = self.emit(
                        Inst::SymbolAddr {
                            symbol: SymbolRef::Global(gid),
                        },
                        ir::Type::Ptr,
                    );
                    Place::Mem(addr, ty)
                }
                Res::ThisField(this, idx) => {
                    let p = self.local_place(this);
                    let base = self.read_place(p).v();
                    let off = self.field_offset(this, idx);
                    let addr = self.addr_add(base, off);
                    Place::Mem(addr, ty)
                }
                _ => self.spill(e, ty),
            },
            ExprKind::Unary {
                op: UnaryOp::Deref,
                arg,
            } => {
                let addr = self.expr(arg).v();
                Place::Mem(addr, ty)
            }
            ExprKind::Index { base, index } => {
                let addr = self.element_addr(base, index);
                Place::Mem(addr, ty)
            }
            ExprKind::Member { base, .. } => match self.typed().members.get(&e).copied() {
                Some(MemberRes::Field {
                    offset,
                    through_ptr,
                }) => {
                    let b = if through_ptr {
                        self.expr(base).v()
                    } else {
                        self.agg_addr(base)
                    };
                    let addr = self.addr_add(b, offset);
                    Place::Mem(addr, ty)
                }
                _ => self.spill(e, ty),
            },
            _ => self.spill(e, ty),
        }
    }

    /// The value of an rvalue expression in memory.
    fn spill(&mut self, e: ExprId, ty: TypeId) -> Place {
        match self.expr_raw(e) {
            Val::A(a) => Place::Mem(a, ty),
            Val::S(v) => {
                let addr = self.slot(ty);
                self.store(addr, 0, v);
                Place::Mem(addr, ty)
            }
            Val::None => {
                let addr = self.b.iconst(ir::Type::Ptr, 0);
                Place::Mem(addr, ty)
            }
        }
    }

    fn field_offset(&self, this: LocalId, idx: u32) -> u64 {
        let pt = self.typed().local_ty[this.index()];
        let Some(st) = self.types().elem(pt) else {
            return 0;
        };
        match self.types().kind(st) {
            TypeKind::Struct(sd) => self
                .types()
                .structs
                .get(&sd)
                .and_then(|l| l.fields.get(idx as usize))
                .map(|f| f.offset)
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// The address of an aggregate-valued expression.
    fn agg_addr(&mut self, e: ExprId) -> Value {
        self.expr(e).v()
    }

    /// `ptr + index * size` (index already an `I64`).
    fn offset_ptr(&mut self, ptr: Value, index: Value, elem_size: u64) -> Value {
        let scaled = if elem_size == 1 {
            index
        } else {
            let s = self.b.iconst(ir::Type::I64, elem_size as i64);
            self.bin(BinOp::Mul, index, s, ir::Type::I64)
        };
        self.bin(BinOp::Add, ptr, scaled, ir::Type::Ptr)
    }

    /// The data pointer of a pointer, slice or static array expression.
    fn base_ptr(&mut self, base: ExprId) -> Value {
        let bt = self.typed().expr_target[base.index()];
        let v = self.expr(base);
        match self.types().kind(bt) {
            TypeKind::Slice(_) => self.load(v.v(), 8, ir::Type::Ptr),
            _ => v.v(),
        }
    }

    fn element_addr(&mut self, base: ExprId, index: ExprId) -> Value {
        let bt = self.typed().expr_ty[base.index()];
        let elem = self.types().elem(bt).unwrap_or(Types::U8);
        let size = self.types().size(elem);
        let p = self.base_ptr(base);
        let i = self.expr(index).v();
        self.offset_ptr(p, i, size)
    }

    /// A slice value `{ length, ptr }` in a fresh slot.
    fn make_slice(&mut self, ptr: Value, len: Value) -> Val {
        let slot = self.b.new_slot(16, 8);
        let addr = self.emit(Inst::StackAddr { slot }, ir::Type::Ptr);
        self.store(addr, 0, len);
        self.store(addr, 8, ptr);
        Val::A(addr)
    }

    fn string_slice(&mut self, s: u32, as_ptr: bool) -> Val {
        let bytes = self.ast().strings[s as usize].clone();
        let len = bytes.len() as i64;
        let g = self.m.string_global(bytes);
        let p = self.emit(
            Inst::SymbolAddr {
                symbol: SymbolRef::Global(g),
            },
            ir::Type::Ptr,
        );
        if as_ptr {
            return Val::S(p);
        }
        let n = self.b.iconst(ir::Type::I64, len);
        self.make_slice(p, n)
    }

    // ---- expressions ----

    /// Generates an expression converted to the type its context expects.
    fn expr(&mut self, e: ExprId) -> Val {
        let from = self.typed().expr_ty[e.index()];
        let to = self.typed().expr_target[e.index()];
        if let Some(f) = self.types().float(to)
            && from != to
        {
            let k = match (
                self.typed().expr_fconst.get(&e),
                self.typed().expr_const.get(&e),
            ) {
                (Some(&v), _) => Some(v),
                (None, Some(&k)) if self.types().int_like(from).is_some() => Some(k as f64),
                _ => None,
            };
            if let Some(v) = k {
                return Val::S(self.fconst(f, v));
            }
        }
        let v = self.expr_raw(e);
        self.convert(v, from, to)
    }

    fn convert(&mut self, v: Val, from: TypeId, to: TypeId) -> Val {
        if from == to {
            return v;
        }
        let (fk, tk) = (self.types().kind(from), self.types().kind(to));
        let (fi, ti) = (self.types().int_like(from), self.types().int_like(to));
        match (fk, tk) {
            (TypeKind::Noreturn, _) | (TypeKind::Error, _) | (_, TypeKind::Error) => {
                return self.undef(to);
            }
            _ => {}
        }
        if let (Some(a), Some(b)) = (fi, ti) {
            return Val::S(self.int_convert(v.v(), a, b));
        }
        match (fk, tk) {
            (TypeKind::Bool, _) if ti.is_some() => {
                Val::S(self.int_convert(v.v(), IntTy::U8, ti.unwrap_or(IntTy::U8)))
            }
            (_, TypeKind::Bool) if fi.is_some() => {
                let a = fi.unwrap_or(IntTy::I32);
                let zero = self.b.iconst(a.ir(), 0);
                Val::S(self.emit(
                    Inst::Cmp {
                        cond: IntCC::Ne,
                        lhs: v.v(),
                        rhs: zero,
                    },
                    ir::Type::I8,
                ))
            }
            (TypeKind::Float(f), TypeKind::Bool) => {
                let zero = self.fconst(f, 0.0);
                Val::S(self.emit(
                    Inst::FCmp {
                        cond: FloatCC::Ne,
                        lhs: v.v(),
                        rhs: zero,
                    },
                    ir::Type::I8,
                ))
            }
            (TypeKind::Ptr(_) | TypeKind::Func(_) | TypeKind::Null, TypeKind::Bool) => {
                let null = self.b.iconst(ir::Type::Ptr, 0);
                Val::S(self.emit(
                    Inst::Cmp {
                        cond: IntCC::Ne,
                        lhs: v.v(),
                        rhs: null,
                    },
                    ir::Type::I8,
                ))
            }
            (_, TypeKind::Float(f)) if fi.is_some() => {
                let a = fi.unwrap_or(IntTy::I32);
                let wide =
                    self.int_convert(v.v(), a, if a.signed { IntTy::I64 } else { IntTy::U64 });
                let op = if a.signed {
                    CastOp::SIToF
                } else {
                    CastOp::UIToF
                };
                Val::S(self.emit(Inst::Cast { op, arg: wide }, f.ir()))
            }
            (TypeKind::Float(_), _) if ti.is_some() => {
                let b = ti.unwrap_or(IntTy::I32);
                let op = if b.bits == 64 && !b.signed {
                    CastOp::FToUI
                } else {
                    CastOp::FToSI
                };
                let wide = self.emit(Inst::Cast { op, arg: v.v() }, ir::Type::I64);
                Val::S(self.int_convert(wide, IntTy::I64, b))
            }
            (TypeKind::Float(a), TypeKind::Float(b)) => {
                let op = if a == FloatTy::F32 && b == FloatTy::F64 {
                    CastOp::FExt
                } else {
                    CastOp::FTrunc
                };
                Val::S(self.emit(Inst::Cast { op, arg: v.v() }, b.ir()))
            }
            (TypeKind::Null, TypeKind::Slice(_)) => {
                let z = self.b.iconst(ir::Type::I64, 0);
                let p = self.b.iconst(ir::Type::Ptr, 0);
                self.make_slice(p, z)
            }
            (TypeKind::Array(_, n), TypeKind::Slice(_)) => {
                let len = self.b.iconst(ir::Type::I64, n as i64);
                self.make_slice(v.v(), len)
            }
            (TypeKind::Slice(_), TypeKind::Ptr(_)) => Val::S(self.load(v.v(), 8, ir::Type::Ptr)),
            (TypeKind::Ptr(_) | TypeKind::Null | TypeKind::Func(_), _) if ti.is_some() => {
                let as_int = self.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: v.v(),
                    },
                    ir::Type::I64,
                );
                Val::S(self.int_convert(as_int, IntTy::U64, ti.unwrap_or(IntTy::U64)))
            }
            (_, TypeKind::Ptr(_) | TypeKind::Func(_)) if fi.is_some() => {
                let a = fi.unwrap_or(IntTy::I64);
                let wide =
                    self.int_convert(v.v(), a, if a.signed { IntTy::I64 } else { IntTy::U64 });
                Val::S(self.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: wide,
                    },
                    ir::Type::Ptr,
                ))
            }
            // Pointer to pointer, null to pointer, same aggregates: same representation.
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
        self.emit(Inst::Cast { op, arg: v }, to.ir())
    }

    fn undef(&mut self, t: TypeId) -> Val {
        match self.types().repr(t) {
            IrRepr::None => Val::None,
            IrRepr::Scalar(_) => Val::S(self.zero(t)),
            IrRepr::Agg => {
                let a = self.slot(t);
                let size = self.types().size(t);
                self.zero_memory(a, size);
                Val::A(a)
            }
        }
    }

    /// Generates an expression in its own type.
    fn expr_raw(&mut self, e: ExprId) -> Val {
        let ty = self.typed().expr_ty[e.index()];
        if let Some(&k) = self.typed().expr_const.get(&e)
            && (self.types().int_like(ty).is_some() || ty == Types::BOOL)
        {
            let irt = self.irty(ty);
            return Val::S(self.b.iconst(irt, k as i64));
        }
        if let Some(&f) = self.typed().expr_fconst.get(&e)
            && let Some(ft) = self.types().float(ty)
        {
            return Val::S(self.fconst(ft, f));
        }
        if let Some(&s) = self.typed().expr_str.get(&e) {
            let as_ptr = matches!(self.types().kind(ty), TypeKind::Ptr(_));
            return self.string_slice(s, as_ptr);
        }
        if let Some(&f) = self.typed().func_refs.get(&e) {
            let fid = self.m.funcs[&f];
            return Val::S(self.emit(
                Inst::SymbolAddr {
                    symbol: SymbolRef::Func(fid),
                },
                ir::Type::Ptr,
            ));
        }
        if self.typed().calls.contains_key(&e) {
            return self.call(e);
        }
        match self.ast().expr(e).kind {
            ExprKind::IntLit { .. }
            | ExprKind::FloatLit { .. }
            | ExprKind::CharLit(_)
            | ExprKind::BoolLit(_)
            | ExprKind::Type(_)
            | ExprKind::Error => self.undef(ty),
            ExprKind::StrLit(s) => self.string_slice(s, false),
            ExprKind::Null => Val::S(self.b.iconst(ir::Type::Ptr, 0)),
            ExprKind::Ident(_) => match self.typed().res(e) {
                Res::Local(_) | Res::Global(_) | Res::ThisField(..) => {
                    let p = self.place(e);
                    self.read_place(p)
                }
                _ => self.undef(ty),
            },
            ExprKind::Unary { op, arg } => self.unary(e, op, arg, ty),
            ExprKind::Binary { op, lhs, rhs } => self.binary(op, lhs, rhs, ty),
            ExprKind::Assign { op, lhs, rhs } => self.assign(e, op, lhs, rhs, ty),
            ExprKind::Call(_) => self.undef(ty),
            ExprKind::Index { .. } => {
                let p = self.place(e);
                self.read_place(p)
            }
            ExprKind::Slice { base, range } => {
                let bt = self.typed().expr_ty[base.index()];
                let elem = self.types().elem(bt).unwrap_or(Types::U8);
                let size = self.types().size(elem);
                let bv = self.expr(base).v();
                let (ptr, len) = match self.types().kind(bt) {
                    TypeKind::Array(_, n) => (bv, self.b.iconst(ir::Type::I64, n as i64)),
                    TypeKind::Slice(_) => {
                        let p = self.load(bv, 8, ir::Type::Ptr);
                        let n = self.load(bv, 0, ir::Type::I64);
                        (p, n)
                    }
                    _ => (bv, bv),
                };
                match range {
                    None => self.make_slice(ptr, len),
                    Some((lo, hi)) => {
                        let lo = self.expr(lo).v();
                        let hi = self.expr(hi).v();
                        let p = self.offset_ptr(ptr, lo, size);
                        let n = self.bin(BinOp::Sub, hi, lo, ir::Type::I64);
                        self.make_slice(p, n)
                    }
                }
            }
            ExprKind::Member { .. } if matches!(self.typed().res(e), Res::Global(_)) => {
                let p = self.place(e);
                self.read_place(p)
            }
            ExprKind::Member { base, .. } => match self.typed().members.get(&e).copied() {
                Some(MemberRes::Field { .. }) => {
                    let p = self.place(e);
                    self.read_place(p)
                }
                Some(MemberRes::ArrayPtr { through_ptr }) => {
                    if through_ptr {
                        self.expr(base)
                    } else {
                        Val::S(self.agg_addr(base))
                    }
                }
                _ => self.undef(ty),
            },
            ExprKind::Cast { arg, .. } => {
                let v = self.expr(arg);
                let from = self.typed().expr_target[arg.index()];
                self.convert(v, from, ty)
            }
        }
    }

    fn unary(&mut self, e: ExprId, op: UnaryOp, arg: ExprId, ty: TypeId) -> Val {
        match op {
            UnaryOp::Neg | UnaryOp::BitNot => {
                let a = self.expr(arg).v();
                let irt = self.irty(ty);
                let uop = if self.types().float(ty).is_some() {
                    UnOp::FNeg
                } else if op == UnaryOp::Neg {
                    UnOp::Neg
                } else {
                    UnOp::Not
                };
                Val::S(self.emit(Inst::Unary { op: uop, arg: a }, irt))
            }
            UnaryOp::Not => {
                let a = self.expr(arg).v();
                let one = self.b.iconst(ir::Type::I8, 1);
                Val::S(self.bin(BinOp::Xor, a, one, ir::Type::I8))
            }
            UnaryOp::Deref => {
                let p = self.place(e);
                self.read_place(p)
            }
            UnaryOp::AddrOf => match self.place(arg) {
                Place::Mem(addr, _) => Val::S(addr),
                Place::Var(_) => Val::S(self.b.iconst(ir::Type::Ptr, 0)),
            },
            UnaryOp::PreInc | UnaryOp::PreDec | UnaryOp::PostInc | UnaryOp::PostDec => {
                let p = self.place(arg);
                let old = self.read_place(p).v();
                let inc = matches!(op, UnaryOp::PreInc | UnaryOp::PostInc);
                let new = match self.types().kind(ty) {
                    TypeKind::Ptr(el) => {
                        let size = self.types().size(el) as i64;
                        let d = self.b.iconst(ir::Type::I64, if inc { size } else { -size });
                        self.bin(BinOp::Add, old, d, ir::Type::Ptr)
                    }
                    TypeKind::Float(f) => {
                        let one = self.fconst(f, 1.0);
                        let bop = if inc { BinOp::FAdd } else { BinOp::FSub };
                        self.bin(bop, old, one, f.ir())
                    }
                    _ => {
                        let irt = self.irty(ty);
                        let one = self.b.iconst(irt, 1);
                        let bop = if inc { BinOp::Add } else { BinOp::Sub };
                        self.bin(bop, old, one, irt)
                    }
                };
                self.write_place(p, Val::S(new));
                Val::S(if matches!(op, UnaryOp::PreInc | UnaryOp::PreDec) {
                    new
                } else {
                    old
                })
            }
        }
    }

    fn arith(&mut self, op: BinaryOp, a: Value, b: Value, ty: TypeId) -> Value {
        let irt = self.irty(ty);
        if self.types().float(ty).is_some() {
            let bop = match op {
                BinaryOp::Add => BinOp::FAdd,
                BinaryOp::Sub => BinOp::FSub,
                BinaryOp::Mul => BinOp::FMul,
                BinaryOp::Rem => BinOp::FRem,
                _ => BinOp::FDiv,
            };
            return self.bin(bop, a, b, irt);
        }
        let signed = self.types().int_like(ty).map(|i| i.signed).unwrap_or(false);
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
        // Shift counts come in their own promoted type; the IR wants one width.
        self.bin(bop, a, b, irt)
    }

    /// The shift count converted to the width of the shifted type.
    fn shift_count(&mut self, count: Value, count_ty: TypeId, ty: TypeId) -> Value {
        match (self.types().int_like(count_ty), self.types().int_like(ty)) {
            (Some(a), Some(b)) if a.bits != b.bits => self.int_convert(
                count,
                a,
                IntTy {
                    bits: b.bits,
                    signed: a.signed,
                },
            ),
            _ => count,
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: ExprId, rhs: ExprId, ty: TypeId) -> Val {
        if matches!(op, BinaryOp::AndAnd | BinaryOp::OrOr) {
            let var = self.b.new_var(ir::Type::I8);
            let rhs_block = self.b.new_block();
            let merge = self.b.new_block();
            let a = self.expr(lhs).v();
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
            let bv = self.expr(rhs).v();
            self.b.write_var(var, bv);
            self.jump(merge);
            self.b.seal(merge);
            self.b.switch_to(merge);
            return Val::S(self.b.read_var(var));
        }
        let lt = self.typed().expr_target[lhs.index()];
        let rt = self.typed().expr_target[rhs.index()];
        let a = self.expr(lhs).v();
        let b = self.expr(rhs).v();
        if op.is_comparison() {
            if self.types().float(lt).is_some() {
                let cond = match op {
                    BinaryOp::Eq => FloatCC::Eq,
                    BinaryOp::Ne => FloatCC::Ne,
                    BinaryOp::Lt => FloatCC::Lt,
                    BinaryOp::Le => FloatCC::Le,
                    BinaryOp::Gt => FloatCC::Gt,
                    _ => FloatCC::Ge,
                };
                return Val::S(self.emit(
                    Inst::FCmp {
                        cond,
                        lhs: a,
                        rhs: b,
                    },
                    ir::Type::I8,
                ));
            }
            let signed = self.types().int_like(lt).map(|i| i.signed).unwrap_or(false);
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
            return Val::S(self.emit(
                Inst::Cmp {
                    cond,
                    lhs: a,
                    rhs: b,
                },
                ir::Type::I8,
            ));
        }
        // Pointer arithmetic.
        match (self.types().kind(lt), self.types().kind(rt)) {
            (TypeKind::Ptr(el), TypeKind::Ptr(_)) => {
                let size = self.types().size(el) as i64;
                let ai = self.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: a,
                    },
                    ir::Type::I64,
                );
                let bi = self.emit(
                    Inst::Cast {
                        op: CastOp::Trunc,
                        arg: b,
                    },
                    ir::Type::I64,
                );
                let diff = self.bin(BinOp::Sub, ai, bi, ir::Type::I64);
                if size <= 1 {
                    return Val::S(diff);
                }
                let s = self.b.iconst(ir::Type::I64, size);
                return Val::S(self.bin(BinOp::SDiv, diff, s, ir::Type::I64));
            }
            (TypeKind::Ptr(el), _) => {
                return Val::S(self.ptr_add(a, b, el, op == BinaryOp::Sub));
            }
            (_, TypeKind::Ptr(el)) => return Val::S(self.ptr_add(b, a, el, false)),
            _ => {}
        }
        let b = if op.is_shift() {
            self.shift_count(b, rt, ty)
        } else {
            b
        };
        Val::S(self.arith(op, a, b, ty))
    }

    fn ptr_add(&mut self, p: Value, i: Value, elem: TypeId, sub: bool) -> Value {
        let i = if sub {
            self.emit(
                Inst::Unary {
                    op: UnOp::Neg,
                    arg: i,
                },
                ir::Type::I64,
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
        let Some(op) = op else {
            let p = self.place(lhs);
            let v = self.expr(rhs);
            self.write_place(p, v);
            return match v {
                Val::S(_) | Val::None => v,
                Val::A(_) => self.read_place(p),
            };
        };
        let p = self.place(lhs);
        let old = self.read_place(p).v();
        let r = self.expr(rhs).v();
        let rt = self.typed().expr_target[rhs.index()];
        let op_ty = self.typed().assign_op_ty.get(&e).copied().unwrap_or(ty);
        let new = match self.types().kind(ty) {
            TypeKind::Ptr(el) => self.ptr_add(old, r, el, op == BinaryOp::Sub),
            _ => {
                let wide = self.convert(Val::S(old), ty, op_ty).v();
                let r = if op.is_shift() {
                    self.shift_count(r, rt, op_ty)
                } else {
                    r
                };
                let res = self.arith(op, wide, r, op_ty);
                self.convert(Val::S(res), op_ty, ty).v()
            }
        };
        self.write_place(p, Val::S(new));
        Val::S(new)
    }

    fn arg_value(&mut self, a: ArgSrc, t: TypeId, out: &mut Vec<Value>) {
        match a {
            ArgSrc::Expr(x) | ArgSrc::Default(x) => match self.expr(x) {
                Val::None => {}
                Val::S(v) | Val::A(v) => out.push(v),
            },
            ArgSrc::Zero => {
                if let Val::S(v) | Val::A(v) = self.undef(t) {
                    out.push(v)
                }
            }
        }
    }

    fn call(&mut self, e: ExprId) -> Val {
        // `typed()` and `types()` outlive `self`'s borrows: the call's data is used in place.
        let Some(info) = self.typed().calls.get(&e) else {
            return Val::None;
        };
        let ret_ty = self.typed().expr_ty[e.index()];
        match info.callee {
            Callee::Ctor(sd) => {
                let t = ret_ty;
                let addr = self.slot(t);
                let size = self.types().size(t);
                self.zero_memory(addr, size);
                let Some(layout) = self.types().structs.get(&sd) else {
                    return Val::A(addr);
                };
                for (i, a) in info.args.iter().enumerate() {
                    let f = &layout.fields[i];
                    let fa = self.addr_add(addr, f.offset);
                    match a {
                        ArgSrc::Expr(x) | ArgSrc::Default(x) => {
                            let v = self.expr(*x);
                            self.write_place(Place::Mem(fa, f.ty), v);
                        }
                        ArgSrc::Zero => self.apply_defaults(fa, f.ty),
                    }
                }
                Val::A(addr)
            }
            Callee::Direct(d) => {
                let Some(&fid) = self.m.funcs.get(&d) else {
                    return self.undef(ret_ty);
                };
                let params: &[TypeId] =
                    self.typed().func_sig.get(&d).map_or(&[], |s| &s.params[..]);
                let mut vals = std::mem::take(&mut self.arg_vals);
                vals.clear();
                match info.this {
                    Some(ThisArg::Addr(x)) => {
                        let a = self.agg_addr(x);
                        vals.push(a);
                    }
                    Some(ThisArg::Ptr(x)) => {
                        let v = self.expr(x).v();
                        vals.push(v);
                    }
                    Some(ThisArg::Implicit(l)) => {
                        let p = self.local_place(l);
                        let v = self.read_place(p).v();
                        vals.push(v);
                    }
                    None => {}
                }
                for (i, a) in info.args.iter().enumerate() {
                    let t = params.get(i).copied().unwrap_or(Types::ERROR);
                    self.arg_value(*a, t, &mut vals);
                }
                let f = &self.m.module.functions[fid.index()];
                let (ret, noreturn) = (f.sig.ret, f.noreturn);
                let args = self.b.values(vals.iter().copied());
                self.arg_vals = vals;
                let v = self.b.emit(Inst::Call { func: fid, args }, ret);
                self.call_result(v, ret, noreturn, ret_ty)
            }
            Callee::Indirect(callee) => {
                let ct = self.typed().expr_ty[callee.index()];
                let sig = self.m.fn_ptr_signature(ct);
                let params = match self.types().kind(ct) {
                    TypeKind::Func(i) => self.types().fn_sig(i).params.clone(),
                    _ => Vec::new(),
                };
                let cv = self.expr(callee).v();
                let mut vals = Vec::with_capacity(info.args.len());
                for (i, a) in info.args.iter().enumerate() {
                    let t = params.get(i).copied().unwrap_or(Types::ERROR);
                    self.arg_value(*a, t, &mut vals);
                }
                let ret = sig.ret;
                let args = self.b.values(vals);
                let v = self.b.emit(
                    Inst::CallIndirect {
                        callee: cv,
                        sig: Box::new(sig),
                        args,
                    },
                    ret,
                );
                self.call_result(v, ret, ret_ty == Types::NORETURN, ret_ty)
            }
        }
    }

    fn call_result(&mut self, v: Value, ret: Option<ir::Type>, noreturn: bool, ty: TypeId) -> Val {
        if noreturn {
            self.terminate_and_continue(Terminator::Unreachable);
            return self.undef(ty);
        }
        match ret {
            None => Val::None,
            Some(ir::Type::Agg(_)) => {
                // The result lives in a caller temporary: copy it out right away.
                let addr = self.slot(ty);
                self.memcopy(addr, v, ty);
                Val::A(addr)
            }
            Some(_) => Val::S(v),
        }
    }

    /// Branches on a boolean expression, short-circuiting `&&`, `||` and `!`.
    fn cond(&mut self, e: ExprId, then: BlockId, els: BlockId) {
        if let Some(&k) = self.typed().expr_const.get(&e) {
            self.jump(if k != 0 { then } else { els });
            return;
        }
        match self.ast().expr(e).kind {
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
                    cond: v.v(),
                    then,
                    els,
                });
            }
        }
    }

    // ---- statements ----

    fn stmt(&mut self, s: StmtId) {
        match self.ast().stmt(s).kind {
            StmtKind::Expr(e) => {
                self.expr(e);
            }
            StmtKind::Var(d) => {
                let Some(&l) = self.typed().var_local.get(&d) else {
                    return;
                };
                let init = match &self.ast().decl(d).kind {
                    DeclKind::Var { init: Some(e), .. } => Some(*e),
                    _ => None,
                };
                let v = init.map(|e| self.expr(e));
                self.declare_local(l, v);
            }
            StmtKind::Block(ref items) | StmtKind::Group(ref items) => {
                for &i in items {
                    self.stmt(i);
                }
            }
            StmtKind::StaticIf(ref b) => {
                let StaticIfStmt {
                    ref then, ref els, ..
                } = **b;
                let taken = self
                    .typed()
                    .static_if_taken
                    .get(&s)
                    .copied()
                    .unwrap_or(false);
                for &i in if taken { then } else { els } {
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
                self.loop_body(body, header, exit);
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
                self.loop_body(body, cb, exit);
                self.jump(cb);
                self.b.seal(cb);
                self.b.switch_to(cb);
                self.cond(cond, bb, exit);
                self.b.seal(bb);
                self.b.seal(exit);
                self.b.switch_to(exit);
            }
            StmtKind::For(ref b) => {
                let ForStmt {
                    ref init,
                    cond,
                    ref step,
                    body,
                } = **b;
                for &i in init {
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
                self.loop_body(body, sb, exit);
                self.jump(sb);
                self.b.seal(sb);
                self.b.switch_to(sb);
                for &e in step {
                    self.expr(e);
                }
                self.jump(header);
                self.b.seal(header);
                self.b.seal(exit);
                self.b.switch_to(exit);
            }
            StmtKind::Switch(ref b) => {
                let SwitchStmt {
                    value,
                    ref cases,
                    default,
                } = **b;
                let vt = self.typed().expr_target[value.index()];
                let int = self.types().int_like(vt).unwrap_or(IntTy::I32);
                let v = self.expr(value).v();
                if self.b.is_terminated() {
                    return;
                }
                let exit = self.b.new_block();
                let mut targets = Vec::new();
                let mut table = Vec::new();
                for c in cases {
                    let blk = self.b.new_block();
                    targets.push(blk);
                    for &k in &c.values {
                        let kv = self.typed().expr_const.get(&k).copied().unwrap_or(0);
                        table.push((int.wrap(kv) as i64, blk));
                    }
                }
                let def = if default.is_some() {
                    self.b.new_block()
                } else {
                    exit
                };
                self.b.terminate(Terminator::Switch {
                    value: v,
                    cases: table,
                    default: def,
                });
                for (c, &blk) in cases.iter().zip(&targets) {
                    self.b.seal(blk);
                    self.b.switch_to(blk);
                    self.breaks.push(exit);
                    self.stmt(c.body);
                    self.breaks.pop();
                    self.jump(exit);
                }
                if let Some(d) = default {
                    self.b.seal(def);
                    self.b.switch_to(def);
                    self.breaks.push(exit);
                    self.stmt(d);
                    self.breaks.pop();
                    self.jump(exit);
                }
                self.b.seal(exit);
                self.b.switch_to(exit);
            }
            StmtKind::Return(v) => {
                let val = v.map(|e| self.expr(e));
                if self.b.is_terminated() {
                    return;
                }
                let term = match (val, self.types().repr(self.ret)) {
                    (Some(Val::S(x)), IrRepr::Scalar(_)) => Terminator::Return(Some(x)),
                    (Some(Val::A(x)), IrRepr::Agg) => Terminator::Return(Some(x)),
                    _ if self.ret == Types::NORETURN => Terminator::Unreachable,
                    _ => Terminator::Return(None),
                };
                self.terminate_and_continue(term);
            }
            StmtKind::Break => {
                if let Some(&exit) = self.breaks.last() {
                    self.terminate_and_continue(Terminator::Jump(exit));
                }
            }
            StmtKind::Continue => {
                if let Some(&cont) = self.continues.last() {
                    self.terminate_and_continue(Terminator::Jump(cont));
                }
            }
            StmtKind::Empty | StmtKind::Decl(_) | StmtKind::StaticAssert { .. } => {}
        }
    }

    fn loop_body(&mut self, body: StmtId, cont: BlockId, exit: BlockId) {
        self.breaks.push(exit);
        self.continues.push(cont);
        self.stmt(body);
        self.breaks.pop();
        self.continues.pop();
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
            // The module with its bodies (`run` hands them to the back end).
            |c: &mut Compilation| c.ir = generate(&c.front, &c.options),
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
        // One "hi", followed by the zero byte that makes it a C string.
        assert_eq!(ir.matches("const = [68 69 00]").count(), 1, "{ir}");
        assert!(
            ir.contains("global @main.msg size 16 align 8 = [02 00 00 00 00 00 00 00"),
            "{ir}"
        );
        assert!(ir.contains("reloc +8 = @.str.0 + 0"), "{ir}");
    }

    #[test]
    fn slices_are_aggregates_length_first() {
        let (ir, d) = compile(
            "u8[] pick(bool b) { if (b) return \"yes\"; return \"no\"; }\ni32 main() { u8[] s = pick(true); return cast(i32)s.length; }",
            Target::LinuxX64,
            true,
        );
        assert_eq!(d, "");
        assert!(
            ir.contains("agg0 = size 16 align 8 { 0: i64, 8: ptr }"),
            "{ir}"
        );
        assert!(ir.contains("fn @main.pick(i8) -> agg0"), "{ir}");
    }

    #[test]
    fn long_join_chains_do_not_recurse() {
        // 20,000 joins in a row, on the test thread's ordinary stack.
        let mut src = String::from("i32 main() { i32 x = 0; i32 y = 1;\n");
        for i in 0..20_000 {
            src.push_str(&format!("if (x < {i}) x = x + y; else y = y + 1;\n"));
        }
        src.push_str("return x + y; }\n");
        let (ir, d) = compile(&src, Target::LinuxX64, true);
        assert_eq!(d, "");
        assert!(ir.contains("phi"), "no phis");
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
