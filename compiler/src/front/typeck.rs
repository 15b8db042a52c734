//! Front-end pass: type checking.
//!
//! Computes the type of every expression of the reachable functions and module variables
//! (`typed.expr_ty`), the implicit conversion applied where it is used
//! (`typed.expr_target`), integer constant values (`typed.expr_const`), the overload
//! chosen by each call, function signatures, kinds and symbol names.
//!
//! Conversion rules (as D/Vox):
//! - implicit: integer widening within the same signedness; unsigned to a strictly larger
//!   signed type; an integer constant to any integer type its value fits; `null` to any
//!   pointer or slice; `T*` to `void*`; a static array to a slice of its element type;
//!   `noreturn` to anything. `bool` is not an integer.
//! - arithmetic and comparisons: both operands are promoted to at least `i32`, then
//!   converted to their common type: the larger one when the signedness agrees; otherwise
//!   the unsigned one if it is at least as large, else the signed one. So `i32 < u32`
//!   compares as `u32` and `i64 < u32` as `i64` (D's and C's rule).
//! - overloads: exact = 0, widening within the same signedness (or a constant of the same
//!   signedness that fits) = 1, any other implicit conversion = 2; the lowest total wins.
//!   A constant that fits only by changing signedness ranks 2, so `println(42)` picks
//!   `println(i64)` over `println(u64)`.
//!
//! Limits of this stage (clear errors): functions returning static arrays, body-less
//! functions returning slices, static array parameters, copying static arrays, function
//! pointers.

use super::ast::*;
use super::resolve::location;
use super::sema::*;
use super::types::{IntTy, TypeId, TypeKind, Types};
use super::{FrontState, Ident, Interner};
use crate::compilation::{Compilation, Options};
use crate::diag::{Diagnostics, Span};
use crate::source::{FileOrigin, SourceFiles};
use meteor_linker::Target;

pub fn run(c: &mut Compilation) {
    check_all(&c.sources, &c.options, &mut c.front, &mut c.diags);
}

pub fn check_all(
    sources: &SourceFiles,
    options: &Options,
    front: &mut FrontState,
    diags: &mut Diagnostics,
) {
    let FrontState {
        interner,
        ast,
        sema,
        types,
        typed,
        ..
    } = front;
    let n = ast.exprs.len();
    typed.expr_ty = vec![Types::ERROR; n];
    typed.expr_target = vec![Types::ERROR; n];
    typed.local_ty = vec![Types::ERROR; sema.locals.len()];
    typed.local_in_memory = vec![false; sema.locals.len()];
    let mut ck = Checker {
        sources,
        options,
        interner,
        ast,
        sema,
        types,
        typed,
        diags,
        func: None,
        ret: Types::VOID,
    };
    ck.signatures();
    ck.globals();
    ck.duplicate_overloads();
    ck.symbols();
    ck.find_main();
    for f in ck.sema.funcs.clone() {
        ck.check_body(f);
    }
}

struct Checker<'a> {
    sources: &'a SourceFiles,
    options: &'a Options,
    interner: &'a Interner,
    ast: &'a Ast,
    sema: &'a Sema,
    types: &'a mut Types,
    typed: &'a mut Typed,
    diags: &'a mut Diagnostics,
    func: Option<DeclId>,
    ret: TypeId,
}

/// Integer promotion: types smaller than 32 bits become `i32`.
fn promote(i: IntTy) -> IntTy {
    if i.bits < 32 { IntTy::I32 } else { i }
}

/// The usual arithmetic conversions of two promoted integer types.
fn common_int(a: IntTy, b: IntTy) -> IntTy {
    let (a, b) = (promote(a), promote(b));
    if a.signed == b.signed {
        return if a.bits >= b.bits { a } else { b };
    }
    let (s, u) = if a.signed { (a, b) } else { (b, a) };
    if u.bits >= s.bits { u } else { s }
}

impl Checker<'_> {
    fn name(&self, i: Ident) -> &str {
        self.interner.get(i)
    }

    fn tn(&self, t: TypeId) -> String {
        self.types.name(t)
    }

    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.error(span, msg);
    }

    fn span(&self, e: ExprId) -> Span {
        self.ast.expr(e).span
    }

    fn ty(&self, e: ExprId) -> TypeId {
        self.typed.expr_ty[e.index()]
    }

    fn konst(&self, e: ExprId) -> Option<i128> {
        self.typed.expr_const.get(&e).copied()
    }

    // ---- declarations ----

    fn resolve_type(&mut self, t: TypeExprId) -> TypeId {
        let te = self.ast.type_expr(t);
        let span = te.span;
        match te.kind.clone() {
            TypeExprKind::Basic(b) => match b {
                BasicType::Void => Types::VOID,
                BasicType::Noreturn => Types::NORETURN,
                BasicType::Bool => Types::BOOL,
                BasicType::Int(i) => self.types.int_type(i),
                BasicType::F32 | BasicType::F64 => {
                    self.error(span, "floating-point types are not supported yet");
                    Types::ERROR
                }
            },
            TypeExprKind::Named(n) => {
                let msg = format!("undefined type `{}`", self.name(n));
                self.error(span, msg);
                Types::ERROR
            }
            TypeExprKind::TypeofNull => Types::NULL,
            TypeExprKind::Ptr(e) => {
                let e = self.resolve_type(e);
                if e == Types::ERROR {
                    e
                } else {
                    self.types.ptr(e)
                }
            }
            TypeExprKind::Slice(e) => {
                let e = self.resolve_type(e);
                if e == Types::ERROR {
                    return e;
                }
                if !self.is_value_type(e) {
                    let msg = format!("cannot make a slice of `{}`", self.tn(e));
                    self.error(span, msg);
                    return Types::ERROR;
                }
                self.types.slice(e)
            }
            TypeExprKind::Array(e, n) => {
                let e = self.resolve_type(e);
                let nt = self.expr(n);
                if e == Types::ERROR || nt == Types::ERROR {
                    return Types::ERROR;
                }
                let len = match (self.types.int(nt), self.konst(n)) {
                    (Some(_), Some(v)) if v >= 0 => v as u64,
                    _ => {
                        self.error(
                            self.span(n),
                            "static array length must be a non-negative integer constant",
                        );
                        return Types::ERROR;
                    }
                };
                if !self.is_value_type(e) {
                    let msg = format!("cannot make a static array of `{}`", self.tn(e));
                    self.error(span, msg);
                    return Types::ERROR;
                }
                let t = self.types.intern(TypeKind::Array(e, len));
                if self.types.size(t) > (1 << 30) {
                    let msg = format!("static array `{}` is too large", self.tn(t));
                    self.error(span, msg);
                    return Types::ERROR;
                }
                t
            }
            TypeExprKind::Error => Types::ERROR,
        }
    }

    /// Types a variable, parameter or element can have.
    fn is_value_type(&self, t: TypeId) -> bool {
        !matches!(self.types.kind(t), TypeKind::Void | TypeKind::Noreturn)
    }

    fn signatures(&mut self) {
        for f in self.sema.funcs.clone() {
            let decl = self.ast.decl(f);
            let DeclKind::Func {
                ret,
                params,
                body,
                attrs,
            } = &decl.kind
            else {
                continue;
            };
            let name = self.name(decl.name).to_string();
            let ret_ty = self.resolve_type(*ret);
            match self.types.kind(ret_ty) {
                TypeKind::Slice(_) if body.is_none() => {
                    let msg = format!(
                        "body-less functions returning `{}` are not supported",
                        self.tn(ret_ty)
                    );
                    self.error(self.ast.type_expr(*ret).span, msg);
                }
                TypeKind::Array(..) => {
                    let msg = format!(
                        "functions returning `{}` are not supported yet",
                        self.tn(ret_ty)
                    );
                    self.error(self.ast.type_expr(*ret).span, msg);
                }
                TypeKind::Null => {
                    let msg = "functions cannot return `typeof(null)`".to_string();
                    self.error(self.ast.type_expr(*ret).span, msg);
                }
                _ => {}
            }
            let locals = self.sema.func_params.get(&f).cloned().unwrap_or_default();
            let mut ptys = Vec::new();
            for (i, p) in params.iter().enumerate() {
                let t = self.resolve_type(p.ty);
                if !self.is_value_type(t) {
                    let msg = format!("parameter cannot have type `{}`", self.tn(t));
                    self.error(p.span, msg);
                } else if matches!(self.types.kind(t), TypeKind::Array(..)) {
                    let msg = format!(
                        "static array parameters (`{}`) are not supported yet",
                        self.tn(t)
                    );
                    self.error(p.span, msg);
                }
                if let Some(&l) = locals.get(i) {
                    self.typed.local_ty[l.index()] = t;
                }
                ptys.push(t);
            }
            let mut kind = if body.is_some() {
                FuncKind::Defined
            } else {
                FuncKind::External { library: None }
            };
            for (a, span) in attrs {
                if body.is_some() {
                    self.error(
                        *span,
                        format!("function `{name}` with `@extern` must not have a body"),
                    );
                    continue;
                }
                kind = match a {
                    Attr::ExternSyscall(n) => {
                        if self.options.target != Target::LinuxX64 {
                            self.error(
                                *span,
                                format!(
                                    "`@extern(syscall)` is only available on linux-x64, not {}",
                                    self.options.target
                                ),
                            );
                        }
                        if ptys.len() > 6 {
                            self.error(*span, "a syscall takes at most 6 arguments");
                        }
                        FuncKind::Syscall(*n)
                    }
                    Attr::ExternModule(lib) => FuncKind::External {
                        library: Some(String::from_utf8_lossy(lib).into_owned()),
                    },
                };
            }
            self.typed.func_kind.insert(f, kind);
            self.typed.func_sig.insert(
                f,
                FuncSig {
                    params: ptys,
                    ret: ret_ty,
                },
            );
        }
    }

    fn globals(&mut self) {
        for g in self.sema.globals.clone() {
            let decl = self.ast.decl(g);
            let DeclKind::Var { ty, init, attrs } = &decl.kind else {
                continue;
            };
            let span = decl.span;
            let name = self.name(decl.name).to_string();
            if let Some((_, s)) = attrs.first() {
                self.error(*s, "`@extern` applies only to functions");
            }
            let t = self.resolve_type(*ty);
            if !self.is_value_type(t) || t == Types::NULL {
                let msg = format!("variable `{name}` cannot have type `{}`", self.tn(t));
                self.error(span, msg);
            }
            self.typed.global_ty.insert(g, t);
            if let Some(e) = init {
                self.func = None;
                let it = self.expr(*e);
                if matches!(self.types.kind(t), TypeKind::Array(..)) {
                    self.error(self.span(*e), "static arrays cannot be initialized yet");
                    continue;
                }
                if !self.coerce(*e, t) || it == Types::ERROR {
                    continue;
                }
                let constant = self.konst(*e).is_some()
                    || matches!(self.ast.expr(*e).kind, ExprKind::Null | ExprKind::StrLit(_));
                if !constant {
                    let msg = format!("the initializer of `{name}` is not a constant");
                    self.error(self.span(*e), msg);
                }
            }
        }
    }

    fn duplicate_overloads(&mut self) {
        for m in &self.sema.modules {
            if !m.reachable {
                continue;
            }
            for decls in m.scope.values() {
                for (i, &a) in decls.iter().enumerate() {
                    for &b in &decls[..i] {
                        let (Some(sa), Some(sb)) =
                            (self.typed.func_sig.get(&a), self.typed.func_sig.get(&b))
                        else {
                            continue;
                        };
                        if sa.params == sb.params {
                            let at = location(self.sources, self.ast.decl(b).span);
                            let msg = format!(
                                "`{}` is already declared at {at}",
                                self.name(self.ast.decl(a).name)
                            );
                            self.diags.error(self.ast.decl(a).span, msg);
                            break;
                        }
                    }
                }
            }
        }
    }

    fn symbols(&mut self) {
        for f in self.sema.funcs.clone() {
            let decl = self.ast.decl(f);
            let name = self.name(decl.name).to_string();
            let kind = self
                .typed
                .func_kind
                .get(&f)
                .cloned()
                .unwrap_or(FuncKind::Defined);
            let sym = if kind == FuncKind::Defined {
                let m = self.sema.decl_module[&f];
                let module = &self.sema.modules[m.index()];
                let overloaded = module
                    .scope
                    .get(&decl.name)
                    .map(|v| v.len() > 1)
                    .unwrap_or(false);
                if overloaded {
                    let sig = &self.typed.func_sig[&f];
                    let ps: Vec<String> = sig.params.iter().map(|&t| self.types.name(t)).collect();
                    format!("{}.{}({})", module.name, name, ps.join(","))
                } else {
                    format!("{}.{}", module.name, name)
                }
            } else {
                name
            };
            self.typed.func_symbol.insert(f, sym);
        }
    }

    fn find_main(&mut self) {
        let Some(main_id) = self.interner.lookup("main") else {
            self.diags.error_no_span("no `main` function");
            return;
        };
        let mut found = None;
        for m in &self.sema.modules {
            if self.sources.get(m.file).origin != FileOrigin::User {
                continue;
            }
            if let Some(ds) = m.scope.get(&main_id)
                && let Some(&d) = ds
                    .iter()
                    .find(|d| matches!(self.ast.decl(**d).kind, DeclKind::Func { .. }))
            {
                found = Some(d);
                break;
            }
        }
        let Some(d) = found else {
            self.diags.error_no_span("no `main` function");
            return;
        };
        let ok = match self.typed.func_sig.get(&d) {
            Some(sig) => sig.params.is_empty() && (sig.ret == Types::I32 || sig.ret == Types::VOID),
            None => false,
        };
        if !ok || self.typed.func_kind.get(&d) != Some(&FuncKind::Defined) {
            self.diags.error(
                self.ast.decl(d).span,
                "`main` must be declared as `i32 main()` or `void main()`",
            );
        }
        self.typed.main = Some(d);
    }

    // ---- conversions ----

    /// Rank of the implicit conversion `from` → `to` (0 exact, 1 widening, 2 other), or
    /// `None` when there is none. `k` is the constant value of the converted expression.
    fn implicit_rank(&self, from: TypeId, to: TypeId, k: Option<i128>) -> Option<u8> {
        if from == to || from == Types::ERROR || to == Types::ERROR || from == Types::NORETURN {
            return Some(0);
        }
        match (self.types.kind(from), self.types.kind(to)) {
            (TypeKind::Int(a), TypeKind::Int(b)) => {
                if a.signed == b.signed && b.bits >= a.bits {
                    Some(1)
                } else if !a.signed && b.signed && b.bits > a.bits {
                    Some(2)
                } else if let Some(v) = k
                    && b.fits(v)
                {
                    Some(if a.signed == b.signed { 1 } else { 2 })
                } else {
                    None
                }
            }
            (TypeKind::Null, TypeKind::Ptr(_) | TypeKind::Slice(_)) => Some(1),
            (TypeKind::Ptr(_), TypeKind::Ptr(v)) if v == Types::VOID => Some(2),
            (TypeKind::Array(e, _), TypeKind::Slice(s)) if e == s => Some(1),
            _ => None,
        }
    }

    /// Converts `e` implicitly to `to`, or reports "cannot convert".
    fn coerce(&mut self, e: ExprId, to: TypeId) -> bool {
        let from = self.ty(e);
        if self.implicit_rank(from, to, self.konst(e)).is_some() {
            self.typed.expr_target[e.index()] = to;
            return true;
        }
        let msg = format!("cannot convert `{}` to `{}`", self.tn(from), self.tn(to));
        self.error(self.span(e), msg);
        false
    }

    /// Converts `e` to `to` without checking (arithmetic conversions, explicit casts).
    fn set_target(&mut self, e: ExprId, to: TypeId) {
        self.typed.expr_target[e.index()] = to;
    }

    fn cond(&mut self, e: ExprId) {
        let t = self.expr(e);
        if t == Types::ERROR || t == Types::BOOL || t == Types::NORETURN {
            self.set_target(e, Types::BOOL);
            return;
        }
        let msg = format!("expected `bool`, found `{}`", self.tn(t));
        self.error(self.span(e), msg);
    }

    // ---- bodies ----

    fn check_body(&mut self, f: DeclId) {
        let decl = self.ast.decl(f);
        let DeclKind::Func {
            body: Some(body), ..
        } = &decl.kind
        else {
            return;
        };
        let body = *body;
        self.func = Some(f);
        self.ret = self
            .typed
            .func_sig
            .get(&f)
            .map(|s| s.ret)
            .unwrap_or(Types::ERROR);
        self.stmt(body);
        if self.falls_through(body) {
            let name = self.name(decl.name).to_string();
            if self.ret == Types::NORETURN {
                self.error(
                    decl.span,
                    format!("function `{name}` is declared `noreturn` but can return"),
                );
            } else if self.ret != Types::VOID && self.ret != Types::ERROR {
                let msg = format!(
                    "function `{name}` must return a value of type `{}`",
                    self.tn(self.ret)
                );
                self.error(decl.span, msg);
            }
        }
        self.func = None;
    }

    fn func_name(&self) -> String {
        self.func
            .map(|f| self.name(self.ast.decl(f).name).to_string())
            .unwrap_or_default()
    }

    fn stmt(&mut self, s: StmtId) {
        let stmt = self.ast.stmt(s);
        let span = stmt.span;
        match &stmt.kind {
            StmtKind::Expr(e) => {
                self.expr(*e);
            }
            StmtKind::Var(d) => {
                let decl = self.ast.decl(*d);
                let DeclKind::Var { ty, init, .. } = &decl.kind else {
                    return;
                };
                let (ty, init) = (*ty, *init);
                let name = self.name(decl.name).to_string();
                let dspan = decl.span;
                let t = self.resolve_type(ty);
                if !self.is_value_type(t) || t == Types::NULL {
                    let msg = format!("variable `{name}` cannot have type `{}`", self.tn(t));
                    self.error(dspan, msg);
                }
                if let Some(&l) = self.sema.var_local.get(d) {
                    self.typed.local_ty[l.index()] = t;
                    if matches!(self.types.kind(t), TypeKind::Array(..)) {
                        self.typed.local_in_memory[l.index()] = true;
                    }
                }
                if let Some(e) = init {
                    self.expr(e);
                    if matches!(self.types.kind(t), TypeKind::Array(..)) {
                        self.error(self.span(e), "static arrays cannot be initialized yet");
                    } else {
                        self.coerce(e, t);
                    }
                }
            }
            StmtKind::Block(items) | StmtKind::Group(items) => {
                for &i in items {
                    self.stmt(i);
                }
            }
            StmtKind::If { cond, then, els } => {
                self.cond(*cond);
                self.stmt(*then);
                if let Some(e) = els {
                    self.stmt(*e);
                }
            }
            StmtKind::While { cond, body } | StmtKind::DoWhile { body, cond } => {
                self.cond(*cond);
                self.stmt(*body);
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                for &i in init {
                    self.stmt(i);
                }
                if let Some(c) = cond {
                    self.cond(*c);
                }
                for &e in step {
                    self.expr(e);
                }
                self.stmt(*body);
            }
            StmtKind::Return(v) => {
                let ret = self.ret;
                match v {
                    None => {
                        if ret != Types::VOID && ret != Types::ERROR {
                            let msg = if ret == Types::NORETURN {
                                format!(
                                    "function `{}` is declared `noreturn` but can return",
                                    self.func_name()
                                )
                            } else {
                                format!(
                                    "function `{}` must return a value of type `{}`",
                                    self.func_name(),
                                    self.tn(ret)
                                )
                            };
                            self.error(span, msg);
                        }
                    }
                    Some(v) => {
                        let t = self.expr(*v);
                        if ret == Types::VOID || ret == Types::NORETURN {
                            if t != Types::VOID && t != Types::NORETURN && t != Types::ERROR {
                                let msg = format!(
                                    "cannot return a value from function `{}` returning `{}`",
                                    self.func_name(),
                                    self.tn(ret)
                                );
                                self.error(self.span(*v), msg);
                            }
                        } else {
                            self.coerce(*v, ret);
                        }
                    }
                }
            }
            StmtKind::Break | StmtKind::Continue | StmtKind::Empty => {}
            StmtKind::StaticIf { then, els, .. } => {
                let taken = self.sema.static_if_taken.get(&s).copied().unwrap_or(false);
                for &i in if taken { then } else { els } {
                    self.stmt(i);
                }
            }
        }
    }

    /// Can control reach the end of this statement?
    fn falls_through(&self, s: StmtId) -> bool {
        match &self.ast.stmt(s).kind {
            StmtKind::Return(_) | StmtKind::Break | StmtKind::Continue => false,
            StmtKind::Expr(e) => self.ty(*e) != Types::NORETURN,
            StmtKind::Block(items) | StmtKind::Group(items) => {
                items.iter().all(|&i| self.falls_through(i))
            }
            StmtKind::StaticIf { then, els, .. } => {
                let taken = self.sema.static_if_taken.get(&s).copied().unwrap_or(false);
                (if taken { then } else { els })
                    .iter()
                    .all(|&i| self.falls_through(i))
            }
            StmtKind::If { cond, then, els } => match self.konst(*cond) {
                Some(1) => self.falls_through(*then),
                Some(_) => els.map(|e| self.falls_through(e)).unwrap_or(true),
                None => {
                    self.falls_through(*then) || els.map(|e| self.falls_through(e)).unwrap_or(true)
                }
            },
            StmtKind::While { cond, body } | StmtKind::DoWhile { body, cond } => {
                self.konst(*cond) != Some(1) || self.has_break(*body)
            }
            StmtKind::For { cond, body, .. } => {
                let infinite = cond.map(|c| self.konst(c) == Some(1)).unwrap_or(true);
                !infinite || self.has_break(*body)
            }
            StmtKind::Var(_) | StmtKind::Empty => true,
        }
    }

    /// Does `s` contain a `break` that leaves the loop `s` is the body of?
    fn has_break(&self, s: StmtId) -> bool {
        match &self.ast.stmt(s).kind {
            StmtKind::Break => true,
            StmtKind::Block(items) | StmtKind::Group(items) => {
                items.iter().any(|&i| self.has_break(i))
            }
            StmtKind::StaticIf { then, els, .. } => {
                let taken = self.sema.static_if_taken.get(&s).copied().unwrap_or(false);
                (if taken { then } else { els })
                    .iter()
                    .any(|&i| self.has_break(i))
            }
            StmtKind::If { then, els, .. } => {
                self.has_break(*then) || els.map(|e| self.has_break(e)).unwrap_or(false)
            }
            _ => false,
        }
    }

    // ---- expressions ----

    fn set(&mut self, e: ExprId, t: TypeId) -> TypeId {
        self.typed.expr_ty[e.index()] = t;
        self.typed.expr_target[e.index()] = t;
        t
    }

    fn set_const(&mut self, e: ExprId, t: TypeId, v: i128) -> TypeId {
        self.typed.expr_const.insert(e, v);
        self.set(e, t)
    }

    /// Type-checks an expression; returns its type.
    fn expr(&mut self, e: ExprId) -> TypeId {
        let t = self.expr_inner(e);
        self.set(e, t)
    }

    fn is_lvalue(&self, e: ExprId) -> bool {
        match &self.ast.expr(e).kind {
            ExprKind::Ident(_) => matches!(self.sema.res(e), Res::Local(_) | Res::Global(_)),
            ExprKind::Unary {
                op: UnaryOp::Deref, ..
            } => true,
            ExprKind::Index { base, .. } => {
                // Elements of slices and pointers are always addressable; elements of a
                // static array when the array is.
                !matches!(self.types.kind(self.ty(*base)), TypeKind::Array(..))
                    || self.is_lvalue(*base)
            }
            _ => false,
        }
    }

    fn mark_address_taken(&mut self, e: ExprId) {
        match &self.ast.expr(e).kind {
            ExprKind::Ident(_) => {
                if let Res::Local(l) = self.sema.res(e) {
                    self.typed.local_in_memory[l.index()] = true;
                }
            }
            ExprKind::Index { base, .. }
                if matches!(self.types.kind(self.ty(*base)), TypeKind::Array(..)) =>
            {
                let b = *base;
                self.mark_address_taken(b)
            }
            _ => {}
        }
    }

    fn int_lit_type(&mut self, e: ExprId, v: i128, suffix: Option<IntTy>) -> TypeId {
        if let Some(s) = suffix {
            if !s.fits(v) {
                let msg = format!("integer literal `{v}` does not fit in `{}`", s.name());
                self.error(self.span(e), msg);
                return Types::ERROR;
            }
            let t = self.types.int_type(s);
            return self.set_const(e, t, v);
        }
        let t = if IntTy::I32.fits(v) {
            Types::I32
        } else if IntTy::I64.fits(v) {
            Types::I64
        } else if IntTy::U64.fits(v) {
            Types::U64
        } else {
            self.error(self.span(e), format!("integer literal `{v}` is too large"));
            return Types::ERROR;
        };
        self.set_const(e, t, v)
    }

    fn expr_inner(&mut self, e: ExprId) -> TypeId {
        let span = self.span(e);
        match self.ast.expr(e).kind.clone() {
            ExprKind::IntLit {
                value,
                negative,
                suffix,
            } => {
                let v = if negative {
                    -(value as i128)
                } else {
                    value as i128
                };
                self.int_lit_type(e, v, suffix)
            }
            ExprKind::CharLit(c) => self.set_const(e, Types::U8, c as i128),
            ExprKind::StrLit(_) => Types::U8_SLICE,
            ExprKind::BoolLit(b) => self.set_const(e, Types::BOOL, b as i128),
            ExprKind::Null => Types::NULL,
            ExprKind::Error => Types::ERROR,
            ExprKind::Ident(name) => match self.sema.res(e) {
                Res::Local(l) => self.typed.local_ty[l.index()],
                Res::Global(g) => self
                    .typed
                    .global_ty
                    .get(&g)
                    .copied()
                    .unwrap_or(Types::ERROR),
                Res::Funcs(set) => {
                    // A function named without parentheses is called with no arguments.
                    self.call(e, set, name, &[], span)
                }
                Res::Unresolved => Types::ERROR,
            },
            ExprKind::Unary { op, arg } => self.unary(e, op, arg),
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, op, lhs, rhs),
            ExprKind::Assign { op, lhs, rhs } => self.assign(e, op, lhs, rhs),
            ExprKind::Call { callee, args } => {
                let name = match self.ast.expr(callee).kind {
                    ExprKind::Ident(n) => Some(n),
                    _ => None,
                };
                if let (Some(n), Res::Funcs(set)) = (name, self.sema.res(callee)) {
                    for &a in &args {
                        self.expr(a);
                    }
                    let t = self.call(e, set, n, &args, span);
                    self.set(callee, Types::VOID);
                    return t;
                }
                let ct = self.expr(callee);
                for &a in &args {
                    self.expr(a);
                }
                if ct == Types::ERROR {
                    return Types::ERROR;
                }
                let msg = match name {
                    Some(n) => format!("`{}` is not a function", self.name(n)),
                    None => format!("cannot call a value of type `{}`", self.tn(ct)),
                };
                self.error(self.span(callee), msg);
                Types::ERROR
            }
            ExprKind::Index { base, index } => {
                let bt = self.expr(base);
                let it = self.expr(index);
                self.index_operand(index, it);
                if bt == Types::ERROR {
                    return Types::ERROR;
                }
                match self.types.kind(bt) {
                    TypeKind::Ptr(el) | TypeKind::Slice(el) if el != Types::VOID => el,
                    TypeKind::Array(el, n) => {
                        if let Some(k) = self.konst(index)
                            && (k < 0 || k as u128 >= n as u128)
                        {
                            let msg = format!("index {k} is out of bounds for `{}`", self.tn(bt));
                            self.error(self.span(index), msg);
                        }
                        el
                    }
                    _ => {
                        let msg = format!("cannot index a value of type `{}`", self.tn(bt));
                        self.error(self.span(base), msg);
                        Types::ERROR
                    }
                }
            }
            ExprKind::Slice { base, range } => {
                let bt = self.expr(base);
                if let Some((lo, hi)) = range {
                    let lt = self.expr(lo);
                    self.index_operand(lo, lt);
                    let ht = self.expr(hi);
                    self.index_operand(hi, ht);
                }
                if bt == Types::ERROR {
                    return Types::ERROR;
                }
                match self.types.kind(bt) {
                    TypeKind::Ptr(el) if el != Types::VOID && range.is_some() => {
                        self.types.slice(el)
                    }
                    TypeKind::Slice(_) => bt,
                    TypeKind::Array(el, _) => self.types.slice(el),
                    TypeKind::Ptr(el) if el != Types::VOID => {
                        self.error(span, "slicing a pointer needs bounds: `p[start .. end]`");
                        Types::ERROR
                    }
                    _ => {
                        let msg = format!("cannot slice a value of type `{}`", self.tn(bt));
                        self.error(self.span(base), msg);
                        Types::ERROR
                    }
                }
            }
            ExprKind::Member {
                base,
                name,
                name_span,
            } => {
                let bt = self.expr(base);
                if bt == Types::ERROR {
                    return Types::ERROR;
                }
                let member = self.name(name).to_string();
                match (self.types.kind(bt), member.as_str()) {
                    (TypeKind::Slice(el), "ptr") | (TypeKind::Array(el, _), "ptr") => {
                        self.types.ptr(el)
                    }
                    (TypeKind::Slice(_), "length") => Types::U64,
                    (TypeKind::Array(_, n), "length") => self.set_const(e, Types::U64, n as i128),
                    _ => {
                        let msg = format!("`{}` has no member `{member}`", self.tn(bt));
                        self.error(name_span, msg);
                        Types::ERROR
                    }
                }
            }
            ExprKind::Cast { ty, arg } => {
                let to = self.resolve_type(ty);
                let from = self.expr(arg);
                self.cast(e, from, to, arg)
            }
        }
    }

    /// Index operands are integers, extended to 64 bits by their signedness.
    fn index_operand(&mut self, e: ExprId, t: TypeId) {
        match self.types.int(t) {
            Some(i) => self.set_target(e, if i.signed { Types::I64 } else { Types::U64 }),
            None if t == Types::ERROR => {}
            None => {
                let msg = format!("expected an integer index, found `{}`", self.tn(t));
                self.error(self.span(e), msg);
            }
        }
    }

    fn cast(&mut self, e: ExprId, from: TypeId, to: TypeId, arg: ExprId) -> TypeId {
        if from == Types::ERROR || to == Types::ERROR {
            return Types::ERROR;
        }
        let ok = from == to
            || self.implicit_rank(from, to, self.konst(arg)).is_some()
            || matches!(
                (self.types.kind(from), self.types.kind(to)),
                (TypeKind::Int(_) | TypeKind::Bool, TypeKind::Int(_))
                    | (TypeKind::Int(_), TypeKind::Bool)
                    | (TypeKind::Ptr(_), TypeKind::Ptr(_))
                    | (TypeKind::Ptr(_) | TypeKind::Null, TypeKind::Int(_))
                    | (TypeKind::Int(_), TypeKind::Ptr(_))
            );
        if !ok {
            let msg = format!("cannot cast `{}` to `{}`", self.tn(from), self.tn(to));
            self.error(self.span(e), msg);
            return Types::ERROR;
        }
        if let (Some(k), Some(i)) = (self.konst(arg), self.types.int(to)) {
            self.typed.expr_const.insert(e, i.wrap(k));
        }
        if let (Some(k), TypeKind::Bool) = (self.konst(arg), self.types.kind(to)) {
            self.typed.expr_const.insert(e, (k != 0) as i128);
        }
        to
    }

    fn unary(&mut self, e: ExprId, op: UnaryOp, arg: ExprId) -> TypeId {
        let t = self.expr(arg);
        if t == Types::ERROR {
            return Types::ERROR;
        }
        let span = self.span(e);
        match op {
            UnaryOp::Neg | UnaryOp::BitNot => {
                let Some(i) = self.types.int(t) else {
                    let sym = if op == UnaryOp::Neg { "-" } else { "~" };
                    let msg = format!("operator `{sym}` cannot be applied to `{}`", self.tn(t));
                    self.error(span, msg);
                    return Types::ERROR;
                };
                let p = promote(i);
                let pt = self.types.int_type(p);
                self.set_target(arg, pt);
                if let Some(k) = self.konst(arg) {
                    let v = if op == UnaryOp::Neg {
                        p.wrap(-k)
                    } else {
                        p.wrap(!k)
                    };
                    self.typed.expr_const.insert(e, v);
                }
                pt
            }
            UnaryOp::Not => {
                if t != Types::BOOL {
                    let msg = format!("expected `bool`, found `{}`", self.tn(t));
                    self.error(self.span(arg), msg);
                    return Types::ERROR;
                }
                if let Some(k) = self.konst(arg) {
                    self.typed.expr_const.insert(e, (k == 0) as i128);
                }
                Types::BOOL
            }
            UnaryOp::Deref => match self.types.kind(t) {
                TypeKind::Ptr(el) if el != Types::VOID => el,
                _ => {
                    let msg = format!("cannot dereference a value of type `{}`", self.tn(t));
                    self.error(span, msg);
                    Types::ERROR
                }
            },
            UnaryOp::AddrOf => {
                if !self.is_lvalue(arg) {
                    self.error(span, "cannot take the address of an rvalue");
                    return Types::ERROR;
                }
                self.mark_address_taken(arg);
                self.types.ptr(t)
            }
            UnaryOp::PreInc | UnaryOp::PreDec | UnaryOp::PostInc | UnaryOp::PostDec => {
                if !self.is_lvalue(arg) {
                    self.error(span, "cannot modify an rvalue");
                    return Types::ERROR;
                }
                match self.types.kind(t) {
                    TypeKind::Int(_) => t,
                    TypeKind::Ptr(el) if el != Types::VOID => t,
                    _ => {
                        let sym = if matches!(op, UnaryOp::PreInc | UnaryOp::PostInc) {
                            "++"
                        } else {
                            "--"
                        };
                        let msg = format!("operator `{sym}` cannot be applied to `{}`", self.tn(t));
                        self.error(span, msg);
                        Types::ERROR
                    }
                }
            }
        }
    }

    fn binary(&mut self, e: ExprId, op: BinaryOp, lhs: ExprId, rhs: ExprId) -> TypeId {
        let lt = self.expr(lhs);
        let rt = self.expr(rhs);
        if lt == Types::ERROR || rt == Types::ERROR {
            return Types::ERROR;
        }
        let (lk, rk) = (self.types.kind(lt), self.types.kind(rt));
        use BinaryOp::*;
        match op {
            AndAnd | OrOr => {
                let a = self.coerce_cond_operand(lhs, lt);
                let b = self.coerce_cond_operand(rhs, rt);
                if !(a && b) {
                    return Types::ERROR;
                }
                if let (Some(x), Some(y)) = (self.konst(lhs), self.konst(rhs)) {
                    let v = if op == AndAnd {
                        x != 0 && y != 0
                    } else {
                        x != 0 || y != 0
                    };
                    self.typed.expr_const.insert(e, v as i128);
                }
                return Types::BOOL;
            }
            Add | Sub => {
                // Pointer arithmetic.
                match (lk, rk) {
                    (TypeKind::Ptr(el), TypeKind::Int(i)) if el != Types::VOID => {
                        self.set_target(rhs, if i.signed { Types::I64 } else { Types::U64 });
                        return lt;
                    }
                    (TypeKind::Int(i), TypeKind::Ptr(el)) if op == Add && el != Types::VOID => {
                        self.set_target(lhs, if i.signed { Types::I64 } else { Types::U64 });
                        return rt;
                    }
                    (TypeKind::Ptr(a), TypeKind::Ptr(b))
                        if op == Sub && a == b && a != Types::VOID =>
                    {
                        return Types::I64;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        if op.is_comparison() {
            match (lk, rk) {
                (TypeKind::Int(a), TypeKind::Int(b)) => {
                    let c = common_int(a, b);
                    let ct = self.types.int_type(c);
                    self.set_target(lhs, ct);
                    self.set_target(rhs, ct);
                    if let (Some(x), Some(y)) = (self.konst(lhs), self.konst(rhs)) {
                        let (x, y) = (c.wrap(x), c.wrap(y));
                        let v = match op {
                            Eq => x == y,
                            Ne => x != y,
                            Lt => x < y,
                            Le => x <= y,
                            Gt => x > y,
                            _ => x >= y,
                        };
                        self.typed.expr_const.insert(e, v as i128);
                    }
                    return Types::BOOL;
                }
                (TypeKind::Bool, TypeKind::Bool) if matches!(op, Eq | Ne) => return Types::BOOL,
                (TypeKind::Ptr(_) | TypeKind::Null, TypeKind::Ptr(_) | TypeKind::Null) => {
                    let compatible = lt == rt
                        || lk == TypeKind::Null
                        || rk == TypeKind::Null
                        || lt == Types::VOID_PTR
                        || rt == Types::VOID_PTR;
                    if compatible {
                        let target = if lk == TypeKind::Null { rt } else { lt };
                        let target = if target == Types::NULL {
                            Types::VOID_PTR
                        } else {
                            target
                        };
                        self.set_target(lhs, target);
                        self.set_target(rhs, target);
                        return Types::BOOL;
                    }
                }
                _ => {}
            }
            let msg = format!("cannot compare `{}` with `{}`", self.tn(lt), self.tn(rt));
            self.error(self.span(e), msg);
            return Types::ERROR;
        }
        match (lk, rk) {
            (TypeKind::Bool, TypeKind::Bool) if matches!(op, And | Or | Xor) => {
                if let (Some(x), Some(y)) = (self.konst(lhs), self.konst(rhs)) {
                    let v = match op {
                        And => x & y,
                        Or => x | y,
                        _ => x ^ y,
                    };
                    self.typed.expr_const.insert(e, v);
                }
                Types::BOOL
            }
            (TypeKind::Int(a), TypeKind::Int(b)) => {
                let c = if op.is_shift() {
                    promote(a)
                } else {
                    common_int(a, b)
                };
                let ct = self.types.int_type(c);
                self.set_target(lhs, ct);
                self.set_target(rhs, ct);
                if let (Some(x), Some(y)) = (self.konst(lhs), self.konst(rhs)) {
                    match fold(op, c, c.wrap(x), c.wrap(y)) {
                        Ok(v) => {
                            self.typed.expr_const.insert(e, v);
                        }
                        Err(msg) => self.error(self.span(e), msg),
                    }
                } else if matches!(op, Div | Rem) && self.konst(rhs) == Some(0) {
                    self.error(self.span(rhs), "division by zero");
                }
                ct
            }
            _ => {
                let msg = format!(
                    "operator `{}` cannot be applied to `{}` and `{}`",
                    op.text(),
                    self.tn(lt),
                    self.tn(rt)
                );
                self.error(self.span(e), msg);
                Types::ERROR
            }
        }
    }

    fn coerce_cond_operand(&mut self, e: ExprId, t: TypeId) -> bool {
        if t == Types::BOOL || t == Types::NORETURN {
            self.set_target(e, Types::BOOL);
            return true;
        }
        let msg = format!("expected `bool`, found `{}`", self.tn(t));
        self.error(self.span(e), msg);
        false
    }

    fn assign(&mut self, e: ExprId, op: Option<BinaryOp>, lhs: ExprId, rhs: ExprId) -> TypeId {
        let lt = self.expr(lhs);
        let rt = self.expr(rhs);
        if lt == Types::ERROR {
            return Types::ERROR;
        }
        if !self.is_lvalue(lhs) {
            self.error(self.span(lhs), "cannot assign to an rvalue");
            return Types::ERROR;
        }
        if matches!(self.types.kind(lt), TypeKind::Array(..)) {
            self.error(self.span(e), "static arrays cannot be assigned yet");
            return Types::ERROR;
        }
        let Some(op) = op else {
            if rt != Types::ERROR {
                self.coerce(rhs, lt);
            }
            return lt;
        };
        if rt == Types::ERROR {
            return lt;
        }
        match (self.types.kind(lt), self.types.kind(rt)) {
            (TypeKind::Ptr(el), TypeKind::Int(i))
                if matches!(op, BinaryOp::Add | BinaryOp::Sub) && el != Types::VOID =>
            {
                self.set_target(rhs, if i.signed { Types::I64 } else { Types::U64 });
                self.typed.assign_op_ty.insert(e, lt);
                lt
            }
            (TypeKind::Int(a), TypeKind::Int(b)) => {
                let c = if op.is_shift() {
                    promote(a)
                } else {
                    common_int(a, b)
                };
                let ct = self.types.int_type(c);
                self.set_target(rhs, ct);
                if matches!(op, BinaryOp::Div | BinaryOp::Rem) && self.konst(rhs) == Some(0) {
                    self.error(self.span(rhs), "division by zero");
                }
                self.typed.assign_op_ty.insert(e, ct);
                lt
            }
            (TypeKind::Bool, TypeKind::Bool)
                if matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor) =>
            {
                self.typed.assign_op_ty.insert(e, Types::BOOL);
                lt
            }
            _ => {
                let msg = format!(
                    "operator `{}=` cannot be applied to `{}` and `{}`",
                    op.text(),
                    self.tn(lt),
                    self.tn(rt)
                );
                self.error(self.span(e), msg);
                Types::ERROR
            }
        }
    }

    fn signature_text(&self, name: &str, params: &[TypeId]) -> String {
        let ps: Vec<String> = params.iter().map(|&t| self.types.name(t)).collect();
        format!("{name}({})", ps.join(", "))
    }

    /// Overload resolution and argument conversion for a call of overload set `set`.
    fn call(&mut self, e: ExprId, set: u32, name: Ident, args: &[ExprId], span: Span) -> TypeId {
        let fname = self.name(name).to_string();
        let cands = self.sema.overload_sets[set as usize].clone();
        let arg_tys: Vec<TypeId> = args.iter().map(|&a| self.ty(a)).collect();
        if arg_tys.contains(&Types::ERROR) {
            return Types::ERROR;
        }
        let sigs: Vec<(DeclId, FuncSig)> = cands
            .iter()
            .filter_map(|&d| self.typed.func_sig.get(&d).map(|s| (d, s.clone())))
            .collect();
        if sigs.is_empty() {
            return Types::ERROR;
        }
        let chosen = if sigs.len() == 1 {
            let (d, sig) = &sigs[0];
            if sig.params.len() != args.len() {
                let n = sig.params.len();
                let msg = format!(
                    "function `{fname}` expects {n} argument{}, got {}",
                    if n == 1 { "" } else { "s" },
                    args.len()
                );
                self.error(span, msg);
                return Types::ERROR;
            }
            *d
        } else {
            let mut best: Vec<(u32, DeclId)> = Vec::new();
            for (d, sig) in &sigs {
                if sig.params.len() != args.len() {
                    continue;
                }
                let mut total = 0u32;
                let mut ok = true;
                for (i, &a) in args.iter().enumerate() {
                    match self.implicit_rank(arg_tys[i], sig.params[i], self.konst(a)) {
                        Some(r) => total += r as u32,
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok {
                    best.push((total, *d));
                }
            }
            let argtext = self.signature_text(&fname, &arg_tys);
            let Some(min) = best.iter().map(|b| b.0).min() else {
                let cs: Vec<String> = sigs
                    .iter()
                    .map(|(_, s)| format!("`{}`", self.signature_text(&fname, &s.params)))
                    .collect();
                let msg = format!(
                    "no overload of `{fname}` matches the call `{argtext}`; candidates: {}",
                    cs.join(", ")
                );
                self.error(span, msg);
                return Types::ERROR;
            };
            let winners: Vec<DeclId> = best.iter().filter(|b| b.0 == min).map(|b| b.1).collect();
            if winners.len() > 1 {
                let cs: Vec<String> = winners
                    .iter()
                    .map(|d| {
                        let s = &self.typed.func_sig[d];
                        format!(
                            "`{}` at {}",
                            self.signature_text(&fname, &s.params),
                            location(self.sources, self.ast.decl(*d).span)
                        )
                    })
                    .collect();
                let msg = format!("ambiguous call `{argtext}`; candidates: {}", cs.join(", "));
                self.error(span, msg);
                return Types::ERROR;
            }
            winners[0]
        };
        let sig = self.typed.func_sig[&chosen].clone();
        for (i, &a) in args.iter().enumerate() {
            self.coerce(a, sig.params[i]);
        }
        self.typed.call_target.insert(e, chosen);
        sig.ret
    }
}

/// Constant folding of an integer operation in type `c` (operands already wrapped).
fn fold(op: BinaryOp, c: IntTy, x: i128, y: i128) -> Result<i128, String> {
    use BinaryOp::*;
    let bits = c.bits as i128;
    Ok(c.wrap(match op {
        Add => x + y,
        Sub => x - y,
        Mul => x.wrapping_mul(y),
        Div | Rem => {
            if y == 0 {
                return Err("division by zero".into());
            }
            if op == Div { x / y } else { x % y }
        }
        And => x & y,
        Or => x | y,
        Xor => x ^ y,
        Shl => x << (y.rem_euclid(bits) as u32),
        Shr | UShr => {
            let count = y.rem_euclid(bits) as u32;
            if c.signed && op == Shr {
                x >> count
            } else {
                let mask = (1i128 << c.bits) - 1;
                (x & mask) >> count
            }
        }
        _ => return Err("not an arithmetic operator".into()),
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compilation::Compilation;
    use crate::source::SourceFile;

    /// Runs the front end up to type checking on `main.vx` (+ std); returns the rendered
    /// diagnostics.
    pub(crate) fn check(text: &str) -> String {
        let mut sources = SourceFiles::default();
        sources.add(SourceFile::new("main.vx", text, FileOrigin::User));
        for (path, t) in meteor_std::FILES {
            sources.add(SourceFile::new(
                format!("std/{}", path.trim_start_matches("std/")),
                *t,
                FileOrigin::Std,
            ));
        }
        let mut c = Compilation::new(Options::new(Target::LinuxX64, false), sources);
        for pass in [
            super::super::lexer::run,
            super::super::parser::run,
            super::super::resolve::run,
            run,
        ] {
            pass(&mut c);
            if c.diags.has_errors() {
                break;
            }
        }
        c.diags.render(&c.sources)
    }

    fn first_error(text: &str) -> String {
        check(text).lines().next().unwrap_or("").to_string()
    }

    #[test]
    fn valid_programs_check() {
        assert_eq!(check("i32 main() { return 42; }"), "");
        assert_eq!(
            check(
                "i32 fib(i32 n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }\ni32 main() { return fib(20) % 256; }"
            ),
            ""
        );
        assert_eq!(
            check(
                "import std.io;\nvoid main() { println(\"hi\"); println(42); println(cast(u64)7); println(true); print(-3); println(); }"
            ),
            ""
        );
        assert_eq!(
            check(
                "u8 g = 200;\ni32 main() { u8[4] a; a[1] = g; u8[] s = a; u8* p = &a[0]; p = p + 1; i32 x; x += 300; u32 y = 0xFFFF_FFF5; return cast(i32)s.length + *p; }"
            ),
            ""
        );
        assert_eq!(check("void main() { while (true) {} }"), "");
        assert_eq!(check("i32 main() { while (true) { return 1; } }"), "");
    }

    #[test]
    fn error_messages_are_exact() {
        assert_eq!(
            first_error("i32 main() { return x; }"),
            "main.vx:1:21: Error: undefined identifier `x`"
        );
        assert_eq!(
            first_error("i32 main() { i64 a = 1; i32 b = a; return b; }"),
            "main.vx:1:33: Error: cannot convert `i64` to `i32`"
        );
        assert_eq!(
            first_error("i32 main() { if (1) return 1; return 0; }"),
            "main.vx:1:18: Error: expected `bool`, found `i32`"
        );
        assert_eq!(
            first_error("i32 f(i32 a, i32 b) { return a; }\ni32 main() { return f(1, 2, 3); }"),
            "main.vx:2:21: Error: function `f` expects 2 arguments, got 3"
        );
        assert_eq!(
            first_error("i32 x;\ni32 x;\nvoid main() {}"),
            "main.vx:2:5: Error: `x` is already declared at main.vx:1:5"
        );
        assert_eq!(
            first_error("void main() { i32 a; i32 a; }"),
            "main.vx:1:26: Error: `a` is already declared at main.vx:1:19"
        );
        assert_eq!(
            first_error("i32 f(i32 a) { if (a > 0) return 1; }\nvoid main() {}"),
            "main.vx:1:5: Error: function `f` must return a value of type `i32`"
        );
        assert_eq!(
            first_error("void main() { 1 = 2; }"),
            "main.vx:1:15: Error: cannot assign to an rvalue"
        );
        assert_eq!(
            first_error("void main() { break; }"),
            "main.vx:1:15: Error: `break` outside of a loop"
        );
        assert_eq!(first_error("void f() {}"), "Error: no `main` function");
        assert_eq!(
            first_error("i64 main() { return 0; }"),
            "main.vx:1:5: Error: `main` must be declared as `i32 main()` or `void main()`"
        );
        assert_eq!(
            first_error("i32 x; void main() { x(); }"),
            "main.vx:1:22: Error: `x` is not a function"
        );
        assert_eq!(
            first_error("void main() { bool b = cast(bool)null; }"),
            "main.vx:1:24: Error: cannot cast `typeof(null)` to `bool`"
        );
        assert_eq!(
            first_error(
                "void f(i64 a, u64 b) {}\nvoid f(u64 a, i64 b) {}\nvoid main() { u32 x; f(x, x); }"
            ),
            "main.vx:3:22: Error: ambiguous call `f(u32, u32)`; candidates: `f(i64, u64)` at main.vx:1:6, `f(u64, i64)` at main.vx:2:6"
        );
        assert_eq!(
            first_error("import std.io;\nvoid main() { i32* p; print(p); }"),
            "main.vx:2:23: Error: no overload of `print` matches the call `print(i32*)`; candidates: `print(u8[])`, `print(u64)`, `print(i64)`, `print(bool)`"
        );
    }
}
