//! Front-end pass: type checking (and name resolution inside bodies and initializers).
//!
//! Computes the type of every expression of the reachable functions, module variables,
//! constants and struct members (`typed.expr_ty`), the implicit conversion applied where
//! it is used (`typed.expr_target`), what identifiers and members refer to
//! (`typed.expr_res`, `typed.members`), constant values (`typed.expr_const`,
//! `expr_fconst`, `expr_str`: the constant evaluator over the typed AST that enum
//! initializers, array sizes, default arguments, global initializers, `#if` and `#assert`
//! use), resolved calls (`typed.calls`: overloads, named and default arguments, methods,
//! UFCS, constructors, function pointers), struct layouts and function signatures.
//!
//! Declarations are checked lazily (on first use, with cycle detection) so they may be
//! used before they are declared, as in D.
//!
//! Name lookup: locals (innermost first), the members of the enclosing structs (fields
//! through the implicit `this`), the module, then the modules it imports (functions of
//! the same name from several modules form one overload set; any other clash is an
//! ambiguity error).
//!
//! Conversion rules (as D/Vox):
//! - implicit: integer widening within the same signedness; unsigned to a strictly larger
//!   signed type; an integer constant to any integer type its value fits; integers to
//!   floats; `f32` to `f64` (and float constants to `f32`); an enum to its base type;
//!   `null` to any pointer, slice or function pointer; `T*` to `void*`; a static array to
//!   a slice of its element type; a string literal to `u8*`; `noreturn` to anything.
//!   `bool` is not an integer.
//! - arithmetic and comparisons: integers are promoted to at least `i32`, then converted
//!   to their common type (the larger one when the signedness agrees; otherwise the
//!   unsigned one if it is at least as large, else the signed one); with a float operand
//!   both become the larger float type.
//! - overloads: exact = 0, widening within the same signedness (or a constant of the same
//!   signedness that fits) = 1, any other implicit conversion = 2; the lowest total wins.

use crate::fxhash::{HashMap, HashSet};
use crate::idmap::IdMap;

use super::ast::*;
use super::resolve::{location, version_holds};
use super::sema::*;
use super::types::{FloatTy, FnSig, IntTy, StructLayout, TypeId, TypeKind, Types};
use super::{FrontState, Ident, Interner};
use crate::compilation::{Compilation, Options};
use crate::diag::{Diagnostics, Span};
use crate::source::{FileOrigin, SourceFiles};
use meteor_linker::Target;

pub fn run(c: &mut Compilation) {
    check_all(&c.sources, &c.options, &mut c.front, &mut c.diags);
}

/// Names the checker compares identifiers with.
struct Names {
    this: Ident,
    length: Ident,
    ptr: Ident,
    sizeof: Ident,
    alignof: Ident,
    min: Ident,
    max: Ident,
    offsetof: Ident,
    main: Ident,
}

pub fn check_all(
    sources: &SourceFiles,
    options: &Options,
    front: &mut FrontState,
    diags: &mut Diagnostics,
) {
    let names = Names {
        this: front.interner.intern("this"),
        length: front.interner.intern("length"),
        ptr: front.interner.intern("ptr"),
        sizeof: front.interner.intern("sizeof"),
        alignof: front.interner.intern("alignof"),
        min: front.interner.intern("min"),
        max: front.interner.intern("max"),
        offsetof: front.interner.intern("offsetof"),
        main: front.interner.intern("main"),
    };
    let FrontState {
        interner,
        ast,
        sema,
        types,
        typed,
        ..
    } = front;
    let n = ast.exprs.len();
    // `resize` keeps the capacity the parser reserved (and had faulted in) for these.
    typed.expr_ty.clear();
    typed.expr_ty.resize(n, Types::ERROR);
    typed.expr_target.clear();
    typed.expr_target.resize(n, Types::ERROR);
    typed.expr_res.clear();
    typed.expr_res.resize(n, Res::Unresolved);
    // The dense expression-keyed side tables (constants, calls) cover every id from the
    // start: no regrowth by copying. The sparse ones grow to their largest id (with 2 MiB
    // OS pages an untouched zeroed table still costs its zeroing).
    typed.expr_const = IdMap::with_id_capacity(n);
    typed.calls = IdMap::with_id_capacity(n);
    // Per-function and per-local tables, sized once from the declaration counts (they
    // were the largest vectors still growing by doubling, each step a copy into fresh
    // memory). Functions declared in bodies, if any, grow the function tables.
    let decls = ast.decls.len();
    let funcs = sema.funcs.len();
    typed.func_sig = IdMap::with_capacity(decls, funcs);
    typed.func_kind = IdMap::with_capacity(decls, funcs);
    typed.func_symbol = IdMap::with_capacity(decls, funcs);
    typed.func_params = IdMap::with_capacity(decls, funcs);
    typed.var_local = IdMap::with_capacity(decls, decls - funcs.min(decls));
    // Locals are the variable declarations plus the parameters (about one per function
    // is a fair first guess; more grow the vectors).
    let locals = decls + funcs;
    typed.locals.reserve(locals);
    typed.local_ty.reserve(locals);
    typed.local_in_memory.reserve(locals);
    let mut ck = Checker {
        sources,
        options,
        interner,
        names,
        ast,
        sema,
        types,
        typed,
        diags,
        ctx: Ctx::default(),
        scopes: Vec::new(),
        outer: 0,
        local_symbols: HashSet::default(),
        loop_depth: 0,
        switch_depth: 0,
        consts: HashMap::default(),
        in_progress: HashSet::default(),
        layout_done: HashSet::default(),
        enum_done: HashSet::default(),
        aliases: HashMap::default(),
        local_decl_ctx: HashMap::default(),
        checked_globals: HashSet::default(),
        checked_sigs: HashSet::default(),
        local_parent: HashMap::default(),
    };
    ck.run();
}

/// A constant value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ConstV {
    Int(i128),
    Float(f64),
    /// A string literal (index into `Ast::strings`).
    Str(u32),
    /// The address of a function (`enum f = &func;`, Vox spec "Function type").
    Func(DeclId),
}

/// Where names are looked up and what `this`/`return` mean.
#[derive(Clone, Copy, Debug, Default)]
struct Ctx {
    module: ModuleId,
    /// The innermost enclosing struct.
    struct_: Option<DeclId>,
    func: Option<DeclId>,
    this: Option<LocalId>,
    ret: TypeId,
}

#[derive(Clone, Copy, Debug)]
enum Binding {
    Local(LocalId),
    Decl(DeclId),
}

enum Lookup {
    Local(LocalId),
    /// Found among the members of this struct (through the implicit `this`).
    Member(DeclId, Vec<DeclId>),
    Decls(Vec<DeclId>),
    None,
}

/// What an alias names.
#[derive(Clone, Debug)]
enum AliasTarget {
    Type(TypeId),
    Decls(Vec<DeclId>),
    Error,
}

/// An argument as written: its expression and optional name.
#[derive(Clone, Copy)]
struct ArgIn {
    expr: ExprId,
    name: Option<(Ident, Span)>,
}

struct Checker<'a> {
    sources: &'a SourceFiles,
    options: &'a Options,
    interner: &'a Interner,
    names: Names,
    ast: &'a Ast,
    sema: &'a Sema,
    types: &'a mut Types,
    typed: &'a mut Typed,
    diags: &'a mut Diagnostics,
    ctx: Ctx,
    /// Names visible at this point of the current function, innermost last. `None`
    /// entries mark scope starts.
    scopes: Vec<Option<(Ident, Binding)>>,
    /// `scopes[..outer]` belong to the functions enclosing a nested function (or a member
    /// function of a struct declared in a body): their declarations are visible, their
    /// locals are not (a nested function is not a closure).
    outer: usize,
    /// Symbols given to functions declared in bodies (kept unique).
    local_symbols: HashSet<String>,
    loop_depth: u32,
    switch_depth: u32,
    /// Values of constant declarations (`None`: erroneous).
    consts: HashMap<DeclId, Option<(TypeId, ConstV)>>,
    /// Declarations being checked (cycle detection).
    in_progress: HashSet<DeclId>,
    layout_done: HashSet<DeclId>,
    enum_done: HashSet<DeclId>,
    aliases: HashMap<DeclId, AliasTarget>,
    /// Context of declarations made in function bodies.
    local_decl_ctx: HashMap<DeclId, Ctx>,
    checked_globals: HashSet<DeclId>,
    checked_sigs: HashSet<DeclId>,
    /// Enclosing enum of members of enums declared in function bodies.
    local_parent: HashMap<DeclId, DeclId>,
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

    fn fkonst(&self, e: ExprId) -> Option<f64> {
        self.typed.expr_fconst.get(&e).copied()
    }

    fn run(&mut self) {
        for d in self.sema.others.clone() {
            self.check_other(d);
        }
        for g in self.sema.globals.clone() {
            self.global_type(g);
        }
        for f in self.sema.funcs.clone() {
            self.func_sig(f);
        }
        self.duplicate_overloads();
        self.symbols();
        self.find_main();
        for f in self.sema.funcs.clone() {
            self.check_body(f);
        }
    }

    // ---- contexts ----

    fn parent_of(&self, d: DeclId) -> Option<DeclId> {
        self.sema
            .parent
            .get(&d)
            .or_else(|| self.local_parent.get(&d))
            .copied()
    }

    /// The innermost struct enclosing a declaration.
    fn struct_of_decl(&self, d: DeclId) -> Option<DeclId> {
        let mut p = self.parent_of(d);
        while let Some(x) = p {
            if matches!(self.ast.decl(x).kind, DeclKind::Struct { .. }) {
                return Some(x);
            }
            p = self.parent_of(x);
        }
        None
    }

    fn decl_ctx(&self, d: DeclId) -> Ctx {
        let mut p = Some(d);
        while let Some(x) = p {
            if let Some(c) = self.local_decl_ctx.get(&x) {
                return *c;
            }
            p = self.parent_of(x);
        }
        Ctx {
            module: self
                .sema
                .decl_module
                .get(&d)
                .copied()
                .unwrap_or(ModuleId(0)),
            struct_: self.struct_of_decl(d),
            func: None,
            this: None,
            ret: Types::VOID,
        }
    }

    /// Runs `f` in the context of declaration `d` (its module and struct, no locals).
    fn in_decl_ctx<R>(&mut self, d: DeclId, f: impl FnOnce(&mut Self) -> R) -> R {
        let ctx = self.decl_ctx(d);
        let saved_ctx = std::mem::replace(&mut self.ctx, ctx);
        let saved_scopes = std::mem::take(&mut self.scopes);
        let saved_loops = (self.loop_depth, self.switch_depth);
        self.loop_depth = 0;
        self.switch_depth = 0;
        let r = f(self);
        self.ctx = saved_ctx;
        self.scopes = saved_scopes;
        (self.loop_depth, self.switch_depth) = saved_loops;
        r
    }

    /// Marks `d` as being checked; reports a cycle and returns false if it already is.
    fn enter_decl(&mut self, d: DeclId) -> bool {
        if !self.in_progress.insert(d) {
            let name = self.name(self.ast.decl(d).name).to_string();
            let span = self.ast.decl(d).span;
            self.error(
                span,
                format!("the declaration of `{name}` depends on itself"),
            );
            return false;
        }
        true
    }

    fn leave_decl(&mut self, d: DeclId) {
        self.in_progress.remove(&d);
    }

    // ---- lookup ----

    fn lookup(&mut self, name: Ident, span: Span) -> Lookup {
        let outer = self.outer.min(self.scopes.len());
        for (n, b) in self.scopes[outer..].iter().rev().flatten() {
            if *n == name {
                return match *b {
                    Binding::Local(l) => Lookup::Local(l),
                    Binding::Decl(d) => Lookup::Decls(vec![d]),
                };
            }
        }
        let mut s = self.ctx.struct_;
        while let Some(sd) = s {
            if let Some(ds) = self
                .sema
                .structs
                .get(&sd)
                .and_then(|sc| sc.scope.get(&name))
            {
                return Lookup::Member(sd, ds.clone());
            }
            s = self.struct_of_decl(sd);
        }
        // The enclosing functions' declarations (types, constants, nested functions).
        let found = self.scopes[..outer]
            .iter()
            .rev()
            .flatten()
            .find(|(n, _)| *n == name)
            .map(|&(_, b)| b);
        match found {
            Some(Binding::Decl(d)) => return Lookup::Decls(vec![d]),
            Some(Binding::Local(l)) => {
                let info = &self.typed.locals[l.index()];
                let owner = self.name(self.ast.decl(info.func).name).to_string();
                let inner = self.func_name();
                let msg = format!(
                    "`{}` is a local variable of the enclosing function `{owner}`: \
                     function `{inner}` cannot use it (a nested function is not a closure; \
                     pass the value as a parameter)",
                    self.name(name)
                );
                self.error(span, msg);
                return Lookup::Decls(Vec::new());
            }
            None => {}
        }
        let m = self.ctx.module;
        if let Some(ds) = self.sema.modules[m.index()].scope.get(&name) {
            return Lookup::Decls(ds.clone());
        }
        let mut found: Vec<(ModuleId, Vec<DeclId>)> = Vec::new();
        for &im in &self.sema.modules[m.index()].imports {
            if let Some(ds) = self.sema.modules[im.index()].scope.get(&name) {
                found.push((im, ds.clone()));
            }
        }
        match found.len() {
            0 => Lookup::None,
            1 => Lookup::Decls(found.pop().map(|f| f.1).unwrap_or_default()),
            _ => {
                let all_funcs = found.iter().all(|(_, ds)| {
                    ds.iter()
                        .all(|d| matches!(self.ast.decl(*d).kind, DeclKind::Func { .. }))
                });
                if all_funcs {
                    Lookup::Decls(found.into_iter().flat_map(|(_, ds)| ds).collect())
                } else {
                    let mods: Vec<String> = found
                        .iter()
                        .map(|(m, _)| format!("`{}`", self.sema.modules[m.index()].name))
                        .collect();
                    let msg = format!(
                        "`{}` is ambiguous: it is declared in {}",
                        self.name(name),
                        mods.join(" and ")
                    );
                    self.error(span, msg);
                    Lookup::Decls(Vec::new())
                }
            }
        }
    }

    fn is_func_decl(&self, d: DeclId) -> bool {
        matches!(self.ast.decl(d).kind, DeclKind::Func { .. })
    }

    fn overload_set(&mut self, decls: Vec<DeclId>) -> u32 {
        self.typed.overload_sets.push(decls);
        self.typed.overload_sets.len() as u32 - 1
    }

    // ---- types ----

    /// Types a variable, parameter, field or element can have (`typeof(null)` is one: a
    /// pointer-sized value that is always null).
    fn is_value_type(&self, t: TypeId) -> bool {
        !matches!(self.types.kind(t), TypeKind::Void | TypeKind::Noreturn)
    }

    fn resolve_type(&mut self, t: TypeExprId) -> TypeId {
        if let Some(&ty) = self.typed.type_of.get(&t) {
            return ty;
        }
        let ty = self.resolve_type_inner(t);
        self.typed.type_of.insert(t, ty);
        ty
    }

    fn resolve_type_inner(&mut self, t: TypeExprId) -> TypeId {
        let te = self.ast.type_expr(t);
        let span = te.span;
        match te.kind.clone() {
            TypeExprKind::Basic(b) => match b {
                BasicType::Void => Types::VOID,
                BasicType::Noreturn => Types::NORETURN,
                BasicType::Bool => Types::BOOL,
                BasicType::Int(i) => self.types.int_type(i),
                BasicType::F32 => Types::F32,
                BasicType::F64 => Types::F64,
            },
            TypeExprKind::Named(n) => match self.lookup(n, span) {
                Lookup::Decls(ds) | Lookup::Member(_, ds) if !ds.is_empty() => {
                    match self.decls_as_type(&ds) {
                        Some(t) => t,
                        None => {
                            let msg = format!("`{}` is not a type", self.name(n));
                            self.error(span, msg);
                            Types::ERROR
                        }
                    }
                }
                Lookup::Decls(_) | Lookup::Member(..) => Types::ERROR,
                Lookup::Local(_) => {
                    let msg = format!("`{}` is not a type", self.name(n));
                    self.error(span, msg);
                    Types::ERROR
                }
                Lookup::None => {
                    let msg = format!("undefined type `{}`", self.name(n));
                    self.error(span, msg);
                    Types::ERROR
                }
            },
            TypeExprKind::Qualified(parts) => self.qualified_type(&parts),
            TypeExprKind::TypeofNull => Types::NULL,
            TypeExprKind::Auto => {
                self.error(span, "`auto` needs an initializer");
                Types::ERROR
            }
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
                self.array_type(e, n, span)
            }
            TypeExprKind::Func { ret, params } => {
                let r = self.resolve_type(ret);
                let mut ps = Vec::new();
                for p in params {
                    let pt = self.resolve_type(p);
                    if pt == Types::ERROR {
                        return Types::ERROR;
                    }
                    ps.push(pt);
                }
                if r == Types::ERROR {
                    return Types::ERROR;
                }
                self.types.func(FnSig { params: ps, ret: r })
            }
            TypeExprKind::Error => Types::ERROR,
        }
    }

    /// `A.B.C` in a type: nested types of structs, or types of modules.
    /// The static array type `e[n]` (`n` is checked here as the length expression).
    fn array_type(&mut self, e: TypeId, n: ExprId, span: Span) -> TypeId {
        let nt = self.expr(n);
        if e == Types::ERROR || nt == Types::ERROR {
            return Types::ERROR;
        }
        let len = match (self.types.int_like(nt), self.konst(n)) {
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
        self.ensure_layout(e, span);
        let t = self.types.intern(TypeKind::Array(e, len));
        if self.types.size(t) > (1 << 30) {
            let msg = format!("static array `{}` is too large", self.tn(t));
            self.error(span, msg);
            return Types::ERROR;
        }
        t
    }

    fn qualified_type(&mut self, parts: &[(Ident, Span)]) -> TypeId {
        let (first, fspan) = parts[0];
        let mut cur: Result<TypeId, Res> = match self.lookup(first, fspan) {
            Lookup::Decls(ds) | Lookup::Member(_, ds) if !ds.is_empty() => {
                match self.decls_as_type(&ds) {
                    Some(t) => Ok(t),
                    None => {
                        let msg = format!("`{}` is not a type", self.name(first));
                        self.error(fspan, msg);
                        return Types::ERROR;
                    }
                }
            }
            Lookup::None => match self.package_res(self.name(first).to_string()) {
                Some(r) => Err(r),
                None => {
                    let msg = format!("undefined type `{}`", self.name(first));
                    self.error(fspan, msg);
                    return Types::ERROR;
                }
            },
            _ => return Types::ERROR,
        };
        for &(n, span) in &parts[1..] {
            let ds = match cur {
                Ok(t) => match self.types.kind(t) {
                    TypeKind::Struct(sd) => self
                        .sema
                        .structs
                        .get(&sd)
                        .and_then(|s| s.scope.get(&n))
                        .cloned(),
                    _ => None,
                },
                Err(Res::Module(m)) => self.sema.modules[m.index()].scope.get(&n).cloned(),
                Err(Res::Package(p)) => {
                    let path = format!("{}.{}", self.typed.packages[p as usize], self.name(n));
                    match self.package_res(path.clone()) {
                        Some(r) => {
                            cur = Err(r);
                            continue;
                        }
                        None => {
                            self.error(span, format!("cannot find module `{path}`"));
                            return Types::ERROR;
                        }
                    }
                }
                Err(_) => None,
            };
            cur = match ds.and_then(|ds| self.decls_as_type(&ds)) {
                Some(t) => Ok(t),
                None => {
                    let msg = format!("undefined type `{}`", self.name(n));
                    self.error(span, msg);
                    return Types::ERROR;
                }
            };
        }
        match cur {
            Ok(t) => t,
            Err(_) => {
                let (_, span) = parts[parts.len() - 1];
                self.error(span, "a module is not a type");
                Types::ERROR
            }
        }
    }

    /// The type named by declarations (a struct, enum or type alias), if they name one.
    fn decls_as_type(&mut self, ds: &[DeclId]) -> Option<TypeId> {
        let d = *ds.first()?;
        match &self.ast.decl(d).kind {
            DeclKind::Struct { .. } => {
                self.struct_name(d);
                Some(self.types.intern(TypeKind::Struct(d)))
            }
            DeclKind::Enum { .. } if !self.name(self.ast.decl(d).name).is_empty() => {
                self.ensure_enum(d);
                Some(self.types.intern(TypeKind::Enum(d)))
            }
            DeclKind::Alias { .. } => match self.alias_target(d) {
                AliasTarget::Type(t) => Some(t),
                AliasTarget::Error => Some(Types::ERROR),
                AliasTarget::Decls(_) => None,
            },
            _ => None,
        }
    }

    fn struct_name(&mut self, d: DeclId) {
        if !self.types.names.contains_key(&d) {
            let n = self.name(self.ast.decl(d).name).to_string();
            self.types.names.insert(d, n);
        }
    }

    fn alias_target(&mut self, d: DeclId) -> AliasTarget {
        if let Some(t) = self.aliases.get(&d) {
            return t.clone();
        }
        let DeclKind::Alias { target } = self.ast.decl(d).kind.clone() else {
            return AliasTarget::Error;
        };
        if !self.enter_decl(d) {
            self.aliases.insert(d, AliasTarget::Error);
            return AliasTarget::Error;
        }
        let r = self.in_decl_ctx(d, |ck| {
            let te = ck.ast.type_expr(target).clone();
            if let TypeExprKind::Named(n) = te.kind {
                match ck.lookup(n, te.span) {
                    Lookup::Decls(ds) | Lookup::Member(_, ds) if !ds.is_empty() => {
                        match ck.decls_as_type(&ds) {
                            Some(t) => AliasTarget::Type(t),
                            None => AliasTarget::Decls(ds),
                        }
                    }
                    Lookup::None => {
                        let msg = format!("undefined identifier `{}`", ck.name(n));
                        ck.error(te.span, msg);
                        AliasTarget::Error
                    }
                    _ => {
                        let msg = format!("cannot alias the local `{}`", ck.name(n));
                        ck.error(te.span, msg);
                        AliasTarget::Error
                    }
                }
            } else {
                AliasTarget::Type(ck.resolve_type(target))
            }
        });
        self.leave_decl(d);
        self.aliases.insert(d, r.clone());
        r
    }

    /// Computes the layout of struct types (and of the structs inside arrays) so their
    /// size is known.
    fn ensure_layout(&mut self, t: TypeId, span: Span) {
        match self.types.kind(t) {
            TypeKind::Struct(d) => self.struct_layout(d, span),
            TypeKind::Array(e, _) => self.ensure_layout(e, span),
            _ => {}
        }
    }

    fn struct_layout(&mut self, d: DeclId, use_span: Span) {
        self.struct_layout_in(d, use_span, false)
    }

    /// Lays a struct out in its declaration's context, or (`here`, for a struct declared
    /// in a function body) in the scopes of the current point of the function.
    fn struct_layout_in(&mut self, d: DeclId, use_span: Span, here: bool) {
        if self.layout_done.contains(&d) {
            return;
        }
        self.struct_name(d);
        if self.in_progress.contains(&d) {
            let name = self.name(self.ast.decl(d).name).to_string();
            self.error(use_span, format!("struct `{name}` contains itself"));
            return;
        }
        self.in_progress.insert(d);
        let DeclKind::Struct { is_union, .. } = self.ast.decl(d).kind else {
            self.in_progress.remove(&d);
            return;
        };
        let members = self
            .sema
            .structs
            .get(&d)
            .map(|s| s.decls.clone())
            .unwrap_or_default();
        let members_first = members.first().copied();
        let mut layout = StructLayout {
            is_union,
            align: 1,
            ..Default::default()
        };
        let mut offset = 0u64;
        let fields = |ck: &mut Self| {
            let saved_struct = ck.ctx.struct_.replace(d);
            for m in members {
                let decl = ck.ast.decl(m).clone();
                let DeclKind::Var { ty, init, attrs } = decl.kind else {
                    continue;
                };
                if let Some((_, s)) = attrs.first() {
                    ck.error(*s, "`@extern` applies only to functions");
                }
                let t = if matches!(ck.ast.type_expr(ty).kind, TypeExprKind::Auto) {
                    match init {
                        Some(e) => ck.auto_type(e),
                        None => ck.resolve_type(ty),
                    }
                } else {
                    ck.resolve_type(ty)
                };
                if t != Types::ERROR && !ck.is_value_type(t) {
                    let msg = format!(
                        "field `{}` cannot have type `{}`",
                        ck.name(decl.name),
                        ck.tn(t)
                    );
                    ck.error(decl.span, msg);
                }
                ck.ensure_layout(t, decl.span);
                if let Some(e) = init {
                    if ck.typed.expr_ty[e.index()] == Types::ERROR
                        && !ck.typed.expr_const.contains_key(&e)
                    {
                        ck.expr(e);
                    }
                    if ck.coerce(e, t) && !ck.is_constant_init(e) {
                        let msg = format!(
                            "the default value of `{}` is not a constant",
                            ck.name(decl.name)
                        );
                        ck.error(ck.span(e), msg);
                    }
                }
                let size = ck.types.size(t);
                let align = ck.types.align(t).max(1);
                let off = if is_union {
                    0
                } else {
                    offset.div_ceil(align) * align
                };
                layout.fields.push(super::types::Field {
                    name: decl.name,
                    ty: t,
                    offset: off,
                    decl: m,
                });
                layout.align = layout.align.max(align);
                if is_union {
                    offset = offset.max(size);
                } else {
                    offset = off + size;
                }
            }
            ck.ctx.struct_ = saved_struct;
        };
        if here {
            fields(self);
        } else {
            self.in_decl_ctx(members_first.unwrap_or(d), fields);
        }
        let size = offset.max(if layout.fields.is_empty() { 1 } else { 0 });
        layout.size = size.div_ceil(layout.align) * layout.align;
        self.types.structs.insert(d, layout);
        self.in_progress.remove(&d);
        self.layout_done.insert(d);
    }

    /// Base type and member values of an enum.
    fn ensure_enum(&mut self, d: DeclId) {
        if self.enum_done.contains(&d) {
            return;
        }
        self.enum_done.insert(d);
        self.struct_name(d);
        let DeclKind::Enum { base, .. } = self.ast.decl(d).kind.clone() else {
            return;
        };
        let b = match base {
            Some(b) => self.in_decl_ctx(d, |ck| ck.resolve_type(b)),
            None => Types::I32,
        };
        let b = if b != Types::ERROR && self.types.int(b).is_none() {
            let span = base.map(|b| self.ast.type_expr(b).span);
            let msg = format!(
                "the base type of an enum must be an integer, not `{}`",
                self.tn(b)
            );
            if let Some(s) = span {
                self.error(s, msg);
            }
            Types::I32
        } else if b == Types::ERROR {
            Types::I32
        } else {
            b
        };
        self.types.enum_base.insert(d, b);
    }

    /// Checks a declaration that is neither a function nor a module variable.
    fn check_other(&mut self, d: DeclId) {
        let span = self.ast.decl(d).span;
        match self.ast.decl(d).kind.clone() {
            DeclKind::Struct { .. } => self.struct_layout(d, span),
            DeclKind::Enum { members, .. } => {
                self.ensure_enum(d);
                for m in members {
                    self.const_of(m);
                }
            }
            DeclKind::EnumConst { .. } | DeclKind::EnumMember { .. } => {
                self.const_of(d);
            }
            DeclKind::Alias { .. } => {
                self.alias_target(d);
            }
            DeclKind::StaticAssert { cond, msg } => {
                self.in_decl_ctx(d, |ck| ck.static_assert(cond, msg));
            }
            _ => {}
        }
    }

    /// Checks `#assert(cond, msg)` in the current context.
    fn static_assert(&mut self, cond: ExprId, msg: Option<ExprId>) {
        let t = self.expr(cond);
        if let Some(m) = msg {
            self.expr(m);
        }
        if t == Types::ERROR {
            return;
        }
        if t != Types::BOOL {
            let m = format!("expected `bool`, found `{}`", self.tn(t));
            self.error(self.span(cond), m);
            return;
        }
        match self.konst(cond) {
            None => self.error(
                self.span(cond),
                "cannot evaluate the `#assert` condition at compile time",
            ),
            Some(0) => {
                let text = msg.and_then(|m| self.const_string(m));
                let m = match text {
                    Some(s) => format!("static assertion failed: {s}"),
                    None => "static assertion failed".to_string(),
                };
                self.error(self.span(cond), m);
            }
            Some(_) => {}
        }
    }

    /// The text of a constant string expression.
    fn const_string(&self, e: ExprId) -> Option<String> {
        let idx = match self.ast.expr(e).kind {
            ExprKind::StrLit(i) => i,
            _ => *self.typed.expr_str.get(&e)?,
        };
        Some(String::from_utf8_lossy(&self.ast.strings[idx as usize]).into_owned())
    }

    /// The value of a constant declaration (manifest constant or enum member).
    fn const_of(&mut self, d: DeclId) -> Option<(TypeId, ConstV)> {
        if let Some(c) = self.consts.get(&d) {
            return *c;
        }
        if !self.enter_decl(d) {
            self.consts.insert(d, None);
            return None;
        }
        let r = self.in_decl_ctx(d, |ck| ck.const_of_inner(d));
        self.leave_decl(d);
        self.consts.insert(d, r);
        r
    }

    fn const_of_inner(&mut self, d: DeclId) -> Option<(TypeId, ConstV)> {
        match self.ast.decl(d).kind.clone() {
            DeclKind::EnumConst { ty, value } => {
                let vt = self.expr(value);
                if vt == Types::ERROR {
                    return None;
                }
                let t = match ty {
                    Some(t) => {
                        let t = self.resolve_type(t);
                        if t == Types::ERROR || !self.coerce(value, t) {
                            return None;
                        }
                        t
                    }
                    None => vt,
                };
                let v = self.const_value_as(value, t);
                if v.is_none() {
                    self.error(
                        self.span(value),
                        "the value of a constant must be known at compile time",
                    );
                }
                Some((t, v?))
            }
            DeclKind::EnumMember { init } => {
                let parent = self.parent_of(d)?;
                self.ensure_enum(parent);
                let named = !self.name(self.ast.decl(parent).name).is_empty();
                let base = self
                    .types
                    .enum_base
                    .get(&parent)
                    .copied()
                    .unwrap_or(Types::I32);
                let base_int = self.types.int(base).unwrap_or(IntTy::I32);
                let t = if named {
                    self.types.intern(TypeKind::Enum(parent))
                } else {
                    base
                };
                let v = match init {
                    Some(e) => {
                        // The members of a named enum are visible unqualified in its
                        // initializers (`enum E { a = 1, b = a * 2 }`), as in D.
                        let et = if named {
                            let DeclKind::Enum { members, .. } = &self.ast.decl(parent).kind else {
                                return None;
                            };
                            self.push_scope();
                            for &m in members {
                                let name = self.ast.decl(m).name;
                                self.scopes.push(Some((name, Binding::Decl(m))));
                            }
                            let et = self.expr(e);
                            self.pop_scope();
                            et
                        } else {
                            self.expr(e)
                        };
                        if et == Types::ERROR {
                            return None;
                        }
                        // Members of the same enum may be used in initializers.
                        let ok = if self.types.kind(et) == TypeKind::Enum(parent) {
                            self.typed.expr_target[e.index()] = t;
                            true
                        } else {
                            self.coerce(e, base)
                        };
                        if !ok {
                            return None;
                        }
                        match self.konst(e) {
                            Some(v) => base_int.wrap(v),
                            None => {
                                self.error(
                                    self.span(e),
                                    "an enum member's value must be known at compile time",
                                );
                                return None;
                            }
                        }
                    }
                    None => {
                        let DeclKind::Enum { members, .. } = &self.ast.decl(parent).kind else {
                            return None;
                        };
                        let pos = members.iter().position(|&m| m == d)?;
                        if pos == 0 {
                            0
                        } else {
                            let prev = members[pos - 1];
                            let (_, pv) = self.const_of(prev)?;
                            let ConstV::Int(p) = pv else {
                                return None;
                            };
                            let v = p + 1;
                            if !base_int.fits(v) {
                                let span = self.ast.decl(d).span;
                                let msg = format!(
                                    "the value {v} of enum member `{}` does not fit in `{}`",
                                    self.name(self.ast.decl(d).name),
                                    base_int.name()
                                );
                                self.error(span, msg);
                                return None;
                            }
                            v
                        }
                    }
                };
                Some((t, ConstV::Int(v)))
            }
            _ => None,
        }
    }

    /// The constant value of a checked expression converted to `t`.
    fn const_value_as(&mut self, e: ExprId, t: TypeId) -> Option<ConstV> {
        if let Some(f) = self.types.float(t) {
            if let Some(v) = self.fkonst(e) {
                return Some(ConstV::Float(f.round(v)));
            }
            return self.konst(e).map(|v| ConstV::Float(f.round(v as f64)));
        }
        if let Some(i) = self.types.int_like(t) {
            if let Some(v) = self.konst(e) {
                return Some(ConstV::Int(i.wrap(v)));
            }
            // A float constant converted implicitly to an integer truncates toward zero.
            return self
                .fkonst(e)
                .filter(|v| v.is_finite())
                .map(|v| ConstV::Int(i.wrap(v.trunc() as i128)));
        }
        if let TypeKind::Func(_) = self.types.kind(t) {
            return self.typed.func_refs.get(&e).map(|&d| ConstV::Func(d));
        }
        if t == Types::BOOL {
            return self.konst(e).map(ConstV::Int);
        }
        if let TypeKind::Slice(_) | TypeKind::Ptr(_) = self.types.kind(t) {
            if let ExprKind::StrLit(s) = self.ast.expr(e).kind {
                return Some(ConstV::Str(s));
            }
            return self.typed.expr_str.get(&e).map(|&s| ConstV::Str(s));
        }
        None
    }

    /// Records a constant's value on an expression that names it.
    fn set_const_value(&mut self, e: ExprId, t: TypeId, v: ConstV) -> TypeId {
        match v {
            ConstV::Int(i) => {
                self.typed.expr_const.insert(e, i);
            }
            ConstV::Float(f) => {
                self.typed.expr_fconst.insert(e, f);
            }
            ConstV::Str(s) => {
                self.typed.expr_str.insert(e, s);
            }
            ConstV::Func(d) => {
                self.typed.func_refs.insert(e, d);
            }
        }
        self.typed.expr_res[e.index()] = Res::Const;
        t
    }

    /// Is this (checked) expression a value known when the program is linked: a number,
    /// a string literal, `null`, the address of a function or module variable, or a
    /// struct construction from such values?
    fn is_constant_init(&self, e: ExprId) -> bool {
        if self.konst(e).is_some()
            || self.fkonst(e).is_some()
            || self.typed.expr_str.contains_key(&e)
        {
            return true;
        }
        match &self.ast.expr(e).kind {
            ExprKind::Null | ExprKind::StrLit(_) => true,
            _ if self.typed.func_refs.contains_key(&e) => true,
            ExprKind::Unary {
                op: UnaryOp::AddrOf,
                arg,
            } => matches!(self.typed.res(*arg), Res::Global(_)),
            ExprKind::Call(_) => match self.typed.calls.get(&e) {
                Some(CallInfo {
                    callee: Callee::Ctor(_),
                    args,
                    ..
                }) => args.iter().all(|a| match a {
                    ArgSrc::Expr(x) | ArgSrc::Default(x) => self.is_constant_init(*x),
                    ArgSrc::Zero => true,
                }),
                _ => false,
            },
            _ => false,
        }
    }

    // ---- module variables and functions ----

    /// The type of an `auto` variable: its initializer's (checked here).
    fn auto_type(&mut self, init: ExprId) -> TypeId {
        let t = self.expr(init);
        if t == Types::VOID || t == Types::NORETURN {
            let msg = format!("cannot infer a variable's type from `{}`", self.tn(t));
            self.error(self.span(init), msg);
            return Types::ERROR;
        }
        self.typed.expr_target[init.index()] = t;
        t
    }

    fn global_type(&mut self, g: DeclId) -> TypeId {
        if let Some(&t) = self.typed.global_ty.get(&g) {
            return t;
        }
        if self.checked_globals.contains(&g) || !self.enter_decl(g) {
            return Types::ERROR;
        }
        self.checked_globals.insert(g);
        let t = self.in_decl_ctx(g, |ck| ck.global_type_inner(g));
        self.leave_decl(g);
        self.typed.global_ty.insert(g, t);
        t
    }

    fn global_type_inner(&mut self, g: DeclId) -> TypeId {
        let decl = self.ast.decl(g);
        let DeclKind::Var { ty, init, attrs } = &decl.kind else {
            return Types::ERROR;
        };
        let name = self.name(decl.name).to_string();
        if let Some((_, s)) = attrs.first() {
            self.error(*s, "`@extern` applies only to functions");
        }
        let auto = matches!(self.ast.type_expr(*ty).kind, TypeExprKind::Auto);
        let t = match (auto, init) {
            (true, Some(e)) => self.auto_type(*e),
            _ => self.resolve_type(*ty),
        };
        if t != Types::ERROR && !self.is_value_type(t) {
            let msg = format!("variable `{name}` cannot have type `{}`", self.tn(t));
            self.error(decl.span, msg);
            return Types::ERROR;
        }
        self.ensure_layout(t, decl.span);
        if let Some(e) = init {
            let it = if auto { t } else { self.expr(*e) };
            if it != Types::ERROR && self.coerce(*e, t) && !self.is_constant_init(*e) {
                let msg = format!("the initializer of `{name}` is not a constant");
                self.error(self.span(*e), msg);
            }
        }
        t
    }

    fn func_sig(&mut self, f: DeclId) -> Option<FuncSig> {
        if let Some(s) = self.typed.func_sig.get(&f) {
            return Some(s.clone());
        }
        if self.checked_sigs.contains(&f) || !self.enter_decl(f) {
            return None;
        }
        self.checked_sigs.insert(f);
        let r = self.in_decl_ctx(f, |ck| ck.func_sig_inner(f));
        self.leave_decl(f);
        if let Some(s) = &r {
            self.typed.func_sig.insert(f, s.clone());
        }
        r
    }

    fn func_sig_inner(&mut self, f: DeclId) -> Option<FuncSig> {
        let decl = self.ast.decl(f);
        let DeclKind::Func {
            ret,
            params,
            body,
            attrs,
        } = &decl.kind
        else {
            return None;
        };
        let name = self.name(decl.name).to_string();
        let ret_ty = self.resolve_type(*ret);
        let ret_span = self.ast.type_expr(*ret).span;
        self.ensure_layout(ret_ty, ret_span);
        let mut ptys = Vec::new();
        let mut seen_default = false;
        for p in params {
            let t = self.resolve_type(p.ty);
            if t != Types::ERROR && !self.is_value_type(t) {
                let msg = format!("parameter cannot have type `{}`", self.tn(t));
                self.error(p.span, msg);
            }
            self.ensure_layout(t, p.span);
            if let Some(d) = p.default {
                seen_default = true;
                let dt = self.expr(d);
                if dt != Types::ERROR && self.coerce(d, t) && !self.is_constant_init(d) {
                    self.error(self.span(d), "a default argument must be a constant");
                }
            } else if seen_default {
                let pn = p.name.map(|n| self.name(n).to_string()).unwrap_or_default();
                self.error(
                    p.span,
                    format!("parameter `{pn}` needs a default value: it follows one that has one"),
                );
            }
            ptys.push(t);
        }
        let this = self.struct_of_decl(f).and_then(|s| {
            (self.parent_of(f) == Some(s)).then(|| self.types.intern(TypeKind::Struct(s)))
        });
        if let Some(st) = this {
            if let TypeKind::Struct(sd) = self.types.kind(st) {
                self.struct_name(sd);
            }
            if body.is_none() {
                self.error(decl.span, format!("method `{name}` must have a body"));
            }
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
        Some(FuncSig {
            params: ptys,
            ret: ret_ty,
            this,
        })
    }

    fn duplicate_overloads(&mut self) {
        let mut scopes: Vec<Vec<DeclId>> = Vec::new();
        for m in &self.sema.modules {
            if m.reachable {
                scopes.extend(m.scope.values().cloned());
            }
        }
        for s in self.sema.structs.values() {
            scopes.extend(s.scope.values().cloned());
        }
        for decls in scopes {
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

    fn symbols(&mut self) {
        for f in self.sema.funcs.clone() {
            let decl = self.ast.decl(f);
            let sym = if self.is_defined_func(f) {
                let m = self.sema.decl_module[&f];
                let module = &self.sema.modules[m.index()];
                let mut prefix = module.name.clone();
                let mut chain = Vec::new();
                let mut p = self.struct_of_decl(f);
                while let Some(s) = p {
                    chain.push(self.name(self.ast.decl(s).name).to_string());
                    p = self.struct_of_decl(s);
                }
                for c in chain.iter().rev() {
                    prefix.push('.');
                    prefix.push_str(c);
                }
                let scope = match self.struct_of_decl(f) {
                    Some(s) => self.sema.structs.get(&s).map(|s| &s.scope),
                    None => Some(&module.scope),
                };
                let overloaded = scope
                    .and_then(|s| s.get(&decl.name))
                    .map(|v| v.len() > 1)
                    .unwrap_or(false);
                self.defined_func_symbol(f, &prefix, overloaded)
            } else {
                self.name(decl.name).to_string()
            };
            self.typed.func_symbol.insert(f, sym);
        }
    }

    fn find_main(&mut self) {
        let main_id = self.names.main;
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
            if self.options.require_main {
                self.diags.error_no_span("no `main` function");
            }
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

    /// Rank of the implicit conversion of expression `e` (of type `from`) to `to`: 0 exact,
    /// 1 widening, 2 other, 3 integer to `bool`; `None` when there is none.
    fn implicit_rank(&self, from: TypeId, to: TypeId, e: Option<ExprId>) -> Option<u8> {
        if from == to || from == Types::ERROR || to == Types::ERROR || from == Types::NORETURN {
            return Some(0);
        }
        let k = e.and_then(|e| self.konst(e));
        let fk = e.and_then(|e| self.fkonst(e));
        let is_str = e.is_some_and(|e| {
            matches!(self.ast.expr(e).kind, ExprKind::StrLit(_))
                || self.typed.expr_str.contains_key(&e)
        });
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
            (TypeKind::Enum(_), TypeKind::Int(_)) => {
                let base = self.types.enum_base.get(&match self.types.kind(from) {
                    TypeKind::Enum(d) => d,
                    _ => return None,
                })?;
                // One step worse than the base type's own conversion, so overloads rank
                // an enum argument as they rank its base type.
                if *base == to {
                    Some(1)
                } else {
                    self.implicit_rank(*base, to, None).map(|r| r + 1)
                }
            }
            (TypeKind::Int(_), TypeKind::Float(_)) => Some(2),
            // Vox's conversion table (`basicConversionKind`) marks float -> integer as
            // implicit (truncating toward zero, as C does), unlike f64 -> f32, which it keeps
            // explicit; Meteor follows it.
            (TypeKind::Float(_), TypeKind::Int(_)) => Some(2),
            // Vox converts integers and floats to `bool` implicitly (nonzero is true); ranked
            // last so an overload taking an integer or a float always wins over one taking
            // `bool`.
            (TypeKind::Int(_) | TypeKind::Enum(_) | TypeKind::Float(_), TypeKind::Bool) => Some(3),
            (TypeKind::Float(FloatTy::F32), TypeKind::Float(FloatTy::F64)) => Some(1),
            (TypeKind::Float(FloatTy::F64), TypeKind::Float(FloatTy::F32)) if fk.is_some() => {
                Some(2)
            }
            (TypeKind::Null, TypeKind::Ptr(_) | TypeKind::Slice(_) | TypeKind::Func(_)) => Some(1),
            (TypeKind::Ptr(_), TypeKind::Ptr(v)) if v == Types::VOID => Some(2),
            (TypeKind::Func(_), TypeKind::Ptr(v)) if v == Types::VOID => Some(2),
            (TypeKind::Array(e, _), TypeKind::Slice(s)) if e == s => Some(1),
            (TypeKind::Slice(_), TypeKind::Ptr(_)) if is_str && to == Types::U8_PTR => Some(2),
            _ => None,
        }
    }

    /// Converts `e` implicitly to `to`, or reports "cannot convert".
    fn coerce(&mut self, e: ExprId, to: TypeId) -> bool {
        let from = self.ty(e);
        if self.implicit_rank(from, to, Some(e)).is_some() {
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
        if t == Types::ERROR {
            self.set_target(e, Types::BOOL);
            return;
        }
        self.coerce_cond_operand(e, t);
    }

    /// Whether a value of type `t` can stand where Vox expects a condition (`if`, loops,
    /// `!`, `&&`, `||`): booleans, and, as in D, integers, enums, floats, pointers,
    /// function pointers and `null`, which are true when nonzero (a NaN is true, as in C).
    fn truthy(&self, t: TypeId) -> bool {
        t == Types::BOOL
            || t == Types::NORETURN
            || self.types.int_like(t).is_some()
            || matches!(
                self.types.kind(t),
                TypeKind::Ptr(_) | TypeKind::Func(_) | TypeKind::Null | TypeKind::Float(_)
            )
    }

    // ---- bodies ----

    fn new_local(&mut self, name: Ident, span: Span, ty: TypeId, param: Option<u32>) -> LocalId {
        let func = self.ctx.func.unwrap_or(DeclId(0));
        self.typed.locals.push(LocalInfo {
            name,
            span,
            func,
            param,
        });
        self.typed.local_ty.push(ty);
        self.typed.local_in_memory.push(false);
        LocalId(self.typed.locals.len() as u32 - 1)
    }

    /// Declares `name` in the innermost scope. As in Vox, only a declaration of the same
    /// name in that same scope is an error (reported once; the first declaration stays
    /// the one later uses see, and false is returned); a name of an enclosing scope (a
    /// block, the function's parameters, the module) is shadowed until the scope ends.
    fn declare(&mut self, name: Ident, b: Binding, span: Span) -> bool {
        let outer = self.outer.min(self.scopes.len());
        let prev = self.scopes[outer..]
            .iter()
            .rev()
            .map_while(|e| *e)
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b);
        if let Some(prev) = prev {
            let prev_span = match prev {
                Binding::Local(l) => self.typed.locals[l.index()].span,
                Binding::Decl(d) => self.ast.decl(d).span,
            };
            let at = location(self.sources, prev_span);
            let both_funcs = [prev, b]
                .iter()
                .all(|b| matches!(b, Binding::Decl(d) if self.is_func_decl(*d)));
            let note = if both_funcs {
                " (as in Vox, functions declared in a body cannot be overloaded)"
            } else {
                ""
            };
            let msg = format!("`{}` is already declared at {at}{note}", self.name(name));
            self.error(span, msg);
            return false;
        }
        self.scopes.push(Some((name, b)));
        true
    }

    fn push_scope(&mut self) {
        self.scopes.push(None);
    }

    fn pop_scope(&mut self) {
        while let Some(Some(_)) = self.scopes.pop() {}
    }

    fn check_body(&mut self, f: DeclId) {
        let ctx = self.decl_ctx(f);
        self.scopes.clear();
        self.outer = 0;
        self.check_body_in(f, ctx);
        self.ctx = Ctx::default();
        self.scopes.clear();
    }

    /// Checks the body of `f` in `ctx` (its module and struct), on top of the current
    /// `scopes` (those of enclosing functions, for a function declared in a body).
    fn check_body_in(&mut self, f: DeclId, mut ctx: Ctx) {
        let decl = self.ast.decl(f);
        let DeclKind::Func {
            body: Some(body),
            params,
            ..
        } = &decl.kind
        else {
            return;
        };
        let Some(sig) = self.typed.func_sig.get(&f).cloned() else {
            return;
        };
        ctx.func = Some(f);
        ctx.ret = sig.ret;
        ctx.this = None;
        self.ctx = ctx;
        self.scopes.push(None);
        self.loop_depth = 0;
        self.switch_depth = 0;
        if let Some(st) = sig.this {
            let pt = self.types.ptr(st);
            let this = self.new_local(self.names.this, decl.span, pt, None);
            self.typed.func_this.insert(f, this);
            self.ctx.this = Some(this);
            self.scopes
                .push(Some((self.names.this, Binding::Local(this))));
        }
        let mut ids = Vec::new();
        for (i, p) in params.iter().enumerate() {
            let t = sig.params.get(i).copied().unwrap_or(Types::ERROR);
            let name = p.name.unwrap_or(Ident(u32::MAX));
            let id = self.new_local(name, p.span, t, Some(i as u32));
            if p.name.is_some() {
                self.declare(name, Binding::Local(id), p.span);
            }
            ids.push(id);
        }
        self.typed.func_params.insert(f, ids);
        // As in Vox, the body is a scope of its own inside the parameters' scope (its
        // declarations may shadow parameters).
        self.stmt(*body);
        if self.falls_through(*body) {
            let name = self.name(decl.name).to_string();
            if sig.ret == Types::NORETURN {
                self.error(
                    decl.span,
                    format!("function `{name}` is declared `noreturn` but can return"),
                );
            } else if sig.ret != Types::VOID && sig.ret != Types::ERROR {
                let msg = format!(
                    "function `{name}` must return a value of type `{}`",
                    self.tn(sig.ret)
                );
                self.error(decl.span, msg);
            }
        }
    }

    /// Checks the body of a function declared in the current body (`ctx`: its module and
    /// struct): the enclosing scopes stay visible, their locals become unusable.
    fn check_nested_body(&mut self, f: DeclId, ctx: Ctx) {
        let saved_ctx = self.ctx;
        let saved_outer = self.outer;
        let saved_len = self.scopes.len();
        let saved_loops = (self.loop_depth, self.switch_depth);
        self.outer = saved_len;
        self.check_body_in(f, ctx);
        self.scopes.truncate(saved_len);
        self.ctx = saved_ctx;
        self.outer = saved_outer;
        (self.loop_depth, self.switch_depth) = saved_loops;
    }

    /// The signature of a function declared in a body, its types resolved in the scopes
    /// of this point of the enclosing function (with `struct_` as the innermost struct).
    fn local_func_sig(&mut self, f: DeclId, struct_: Option<DeclId>) -> Option<FuncSig> {
        if self.checked_sigs.contains(&f) || !self.enter_decl(f) {
            return None;
        }
        self.checked_sigs.insert(f);
        let saved = self.ctx.struct_;
        self.ctx.struct_ = struct_;
        let r = self.func_sig_inner(f);
        self.ctx.struct_ = saved;
        self.leave_decl(f);
        if let Some(s) = &r {
            self.typed.func_sig.insert(f, s.clone());
        }
        r
    }

    /// A function with a body of ours (not external: those keep their plain names).
    fn is_defined_func(&self, f: DeclId) -> bool {
        self.typed
            .func_kind
            .get(&f)
            .is_none_or(|k| *k == FuncKind::Defined)
    }

    /// `prefix.name`, with the parameter types appended (`prefix.name(i32,u8*)`) when the
    /// name is overloaded in its scope.
    fn defined_func_symbol(&self, f: DeclId, prefix: &str, overloaded: bool) -> String {
        let name = self.name(self.ast.decl(f).name);
        if !overloaded {
            return format!("{prefix}.{name}");
        }
        let params: Vec<String> = self
            .typed
            .func_sig
            .get(&f)
            .map(|s| s.params.iter().map(|&t| self.types.name(t)).collect())
            .unwrap_or_default();
        format!("{prefix}.{name}({})", params.join(","))
    }

    /// Gives a function declared in a body its symbol (`prefix.name`, made unique) and
    /// lists it for IR generation.
    fn local_func_symbol(&mut self, f: DeclId, prefix: &str, overloaded: bool) {
        if !self.typed.func_sig.contains_key(&f) {
            return;
        }
        let sym = if self.is_defined_func(f) {
            if self.local_symbols.is_empty() {
                let module_level: Vec<String> = self.typed.func_symbol.values().cloned().collect();
                self.local_symbols.extend(module_level);
            }
            let base = self.defined_func_symbol(f, prefix, overloaded);
            let mut sym = base.clone();
            let mut n = 2;
            while self.local_symbols.contains(&sym) {
                sym = format!("{base}.{n}");
                n += 1;
            }
            self.local_symbols.insert(sym.clone());
            sym
        } else {
            self.name(self.ast.decl(f).name).to_string()
        };
        self.typed.func_symbol.insert(f, sym);
        self.typed.local_funcs.push(f);
    }

    /// The symbol of the function being checked (the prefix of the symbols of the
    /// functions declared in its body).
    fn current_symbol(&self) -> String {
        self.ctx
            .func
            .and_then(|f| self.typed.func_symbol.get(&f).cloned())
            .unwrap_or_else(|| self.sema.modules[self.ctx.module.index()].name.clone())
    }

    /// A nested function: declared from here on in the enclosing scope, compiled as a
    /// function of the module.
    fn nested_func(&mut self, d: DeclId) {
        let decl = self.ast.decl(d);
        let struct_ = self.ctx.struct_;
        self.local_func_sig(d, struct_);
        self.declare(decl.name, Binding::Decl(d), decl.span);
        let prefix = self.current_symbol();
        self.local_func_symbol(d, &prefix, false);
        let ctx = Ctx {
            module: self.ctx.module,
            struct_,
            func: None,
            this: None,
            ret: Types::VOID,
        };
        self.check_nested_body(d, ctx);
    }

    /// The member functions of a struct declared in a body (and of the structs nested in
    /// it): signatures first (they may call each other in any order), then bodies.
    fn local_struct_methods(&mut self, s: DeclId) {
        let mut methods: Vec<(DeclId, DeclId, String)> = Vec::new();
        let mut work = vec![(
            s,
            format!(
                "{}.{}",
                self.current_symbol(),
                self.name(self.ast.decl(s).name)
            ),
        )];
        while let Some((sd, prefix)) = work.pop() {
            let members = self
                .sema
                .structs
                .get(&sd)
                .map(|sc| sc.decls.clone())
                .unwrap_or_default();
            for m in members {
                match self.ast.decl(m).kind {
                    DeclKind::Func { .. } => methods.push((m, sd, prefix.clone())),
                    DeclKind::Struct { .. } => {
                        let p = format!("{prefix}.{}", self.name(self.ast.decl(m).name));
                        work.push((m, p));
                    }
                    _ => {}
                }
            }
        }
        for &(m, sd, _) in &methods {
            self.local_func_sig(m, Some(sd));
        }
        for (i, &(m, sd, ref prefix)) in methods.iter().enumerate() {
            let name = self.ast.decl(m).name;
            let same: Vec<DeclId> = methods
                .iter()
                .filter(|(o, osd, _)| *osd == sd && self.ast.decl(*o).name == name)
                .map(|&(o, _, _)| o)
                .collect();
            for &(o, osd, _) in &methods[..i] {
                if osd != sd || self.ast.decl(o).name != name {
                    continue;
                }
                let (Some(a), Some(b)) = (self.typed.func_sig.get(&m), self.typed.func_sig.get(&o))
                else {
                    continue;
                };
                if a.params == b.params {
                    let at = location(self.sources, self.ast.decl(o).span);
                    let msg = format!("`{}` is already declared at {at}", self.name(name));
                    self.diags.error(self.ast.decl(m).span, msg);
                    break;
                }
            }
            self.local_func_symbol(m, prefix, same.len() > 1);
        }
        for (m, sd, _) in methods {
            let ctx = Ctx {
                module: self.ctx.module,
                struct_: Some(sd),
                func: None,
                this: None,
                ret: Types::VOID,
            };
            self.check_nested_body(m, ctx);
        }
    }

    /// For "needs an object" errors in a function declared in a body (inside a member
    /// function): why there is no `this`.
    fn no_this_note(&self) -> String {
        if self.outer == 0 || self.ctx.this.is_some() || self.ctx.func.is_none() {
            return String::new();
        }
        format!(
            ": function `{}` is declared in a body and has no `this` (a nested function is \
             not a closure; pass the object as a parameter)",
            self.func_name()
        )
    }

    fn func_name(&self) -> String {
        self.ctx
            .func
            .map(|f| self.name(self.ast.decl(f).name).to_string())
            .unwrap_or_default()
    }

    /// A statement in its own scope (bodies of `if`/`while`/`for`).
    fn scoped_stmt(&mut self, s: StmtId) {
        self.push_scope();
        self.stmt(s);
        self.pop_scope();
    }

    fn local_var(&mut self, d: DeclId) {
        let decl = self.ast.decl(d);
        let DeclKind::Var { ty, init, attrs } = &decl.kind else {
            return;
        };
        if let Some((_, s)) = attrs.first() {
            self.error(*s, "`@extern` applies only to functions");
        }
        let name = self.name(decl.name).to_string();
        let auto = matches!(self.ast.type_expr(*ty).kind, TypeExprKind::Auto);
        let t = match (auto, init) {
            (true, Some(e)) => self.auto_type(*e),
            _ => self.resolve_type(*ty),
        };
        if t != Types::ERROR && !self.is_value_type(t) {
            let msg = format!("variable `{name}` cannot have type `{}`", self.tn(t));
            self.error(decl.span, msg);
        }
        self.ensure_layout(t, decl.span);
        if let Some(e) = init
            && !auto
        {
            let it = self.expr(*e);
            if it != Types::ERROR && t != Types::ERROR {
                self.coerce(*e, t);
            }
        }
        let l = self.new_local(decl.name, decl.span, t, None);
        self.typed.var_local.insert(d, l);
        self.declare(decl.name, Binding::Local(l), decl.span);
    }

    /// `enum`/`alias` declarations in a function body.
    fn local_decl(&mut self, d: DeclId) {
        let decl = self.ast.decl(d);
        self.local_decl_ctx.insert(d, self.ctx);
        match &decl.kind {
            DeclKind::Func { .. } => self.nested_func(d),
            DeclKind::Struct { .. } => {
                self.declare(decl.name, Binding::Decl(d), decl.span);
                // Laid out now, in the scopes visible here (fields may use local types).
                self.struct_layout_in(d, decl.span, true);
                for m in self
                    .sema
                    .structs
                    .get(&d)
                    .map(|s| s.decls.clone())
                    .unwrap_or_default()
                {
                    if !matches!(
                        self.ast.decl(m).kind,
                        DeclKind::Var { .. } | DeclKind::Func { .. }
                    ) {
                        self.check_other(m);
                    }
                }
                self.local_struct_methods(d);
            }
            DeclKind::Enum { members, .. } => {
                let anonymous = self.name(decl.name).is_empty();
                for &m in members {
                    self.local_parent.insert(m, d);
                }
                if !anonymous {
                    self.declare(decl.name, Binding::Decl(d), decl.span);
                }
                // Evaluated now, in the scopes visible here.
                self.ensure_enum_here(d);
                for &m in members {
                    let c = self.const_of_inner_here(m);
                    self.consts.insert(m, c);
                    if anonymous {
                        let md = self.ast.decl(m).clone();
                        self.declare(md.name, Binding::Decl(m), md.span);
                    }
                }
            }
            DeclKind::EnumConst { .. } => {
                let c = self.const_of_inner_here(d);
                self.consts.insert(d, c);
                self.declare(decl.name, Binding::Decl(d), decl.span);
            }
            DeclKind::Alias { .. } => {
                // Resolved lazily in the function's module context.
                self.declare(decl.name, Binding::Decl(d), decl.span);
            }
            _ => {}
        }
    }

    fn ensure_enum_here(&mut self, d: DeclId) {
        if self.enum_done.contains(&d) {
            return;
        }
        self.enum_done.insert(d);
        self.struct_name(d);
        let DeclKind::Enum { base, .. } = self.ast.decl(d).kind.clone() else {
            return;
        };
        let b = match base {
            Some(b) => self.resolve_type(b),
            None => Types::I32,
        };
        let b = if self.types.int(b).is_some() {
            b
        } else {
            Types::I32
        };
        self.types.enum_base.insert(d, b);
    }

    fn const_of_inner_here(&mut self, d: DeclId) -> Option<(TypeId, ConstV)> {
        self.in_progress.insert(d);
        let r = self.const_of_inner(d);
        self.in_progress.remove(&d);
        r
    }

    fn stmt(&mut self, s: StmtId) {
        let ast = self.ast;
        let stmt = ast.stmt(s);
        let span = stmt.span;
        match &stmt.kind {
            StmtKind::Expr(e) => {
                self.expr(*e);
            }
            StmtKind::Var(d) => self.local_var(*d),
            StmtKind::Decl(d) => self.local_decl(*d),
            StmtKind::Block(items) => {
                self.push_scope();
                for &i in items {
                    self.stmt(i);
                }
                self.pop_scope();
            }
            StmtKind::Group(items) => {
                for &i in items {
                    self.stmt(i);
                }
            }
            StmtKind::If { cond, then, els } => {
                self.cond(*cond);
                self.scoped_stmt(*then);
                if let Some(e) = els {
                    self.scoped_stmt(*e);
                }
            }
            StmtKind::While { cond, body } => {
                self.cond(*cond);
                self.loop_depth += 1;
                self.scoped_stmt(*body);
                self.loop_depth -= 1;
            }
            StmtKind::DoWhile { body, cond } => {
                self.loop_depth += 1;
                self.scoped_stmt(*body);
                self.loop_depth -= 1;
                self.cond(*cond);
            }
            StmtKind::For(b) => {
                let ForStmt {
                    init,
                    cond,
                    step,
                    body,
                } = &**b;
                self.push_scope();
                for &i in init {
                    self.stmt(i);
                }
                if let Some(c) = cond {
                    self.cond(*c);
                }
                for &e in step {
                    self.expr(e);
                }
                self.loop_depth += 1;
                // As in Vox, a braced body shares the scope of the initializers: it cannot
                // redeclare their names (a nested block can).
                match &ast.stmt(*body).kind {
                    StmtKind::Block(items) => {
                        for &i in items {
                            self.stmt(i);
                        }
                    }
                    _ => self.scoped_stmt(*body),
                }
                self.loop_depth -= 1;
                self.pop_scope();
            }
            StmtKind::Switch(b) => self.switch(b.value, &b.cases, b.default),
            StmtKind::Return(v) => {
                let ret = self.ctx.ret;
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
                        } else if t != Types::ERROR {
                            self.coerce(*v, ret);
                        }
                    }
                }
            }
            StmtKind::Break => {
                if self.loop_depth == 0 && self.switch_depth == 0 {
                    self.error(span, "`break` outside of a loop");
                }
            }
            StmtKind::Continue => {
                if self.loop_depth == 0 {
                    self.error(span, "`continue` outside of a loop");
                }
            }
            StmtKind::Empty => {}
            StmtKind::StaticAssert { cond, msg } => self.static_assert(*cond, *msg),
            StmtKind::StaticIf(b) => {
                let StaticIfStmt { cond, then, els } = &**b;
                let taken = match cond {
                    StaticCond::Version(n, _) => version_holds(self.name(*n), self.options),
                    StaticCond::If(e) => {
                        let t = self.expr(*e);
                        match self.konst(*e) {
                            Some(v) if t == Types::BOOL || self.types.int_like(t).is_some() => {
                                v != 0
                            }
                            _ => {
                                if t != Types::ERROR {
                                    self.error(
                                        self.span(*e),
                                        "cannot evaluate the `#if` condition at compile time",
                                    );
                                }
                                false
                            }
                        }
                    }
                };
                self.typed.static_if_taken.insert(s, taken);
                for &i in if taken { then } else { els } {
                    self.stmt(i);
                }
            }
        }
    }

    fn switch(&mut self, value: ExprId, cases: &[SwitchCase], default: Option<StmtId>) {
        let vt = self.expr(value);
        let int = self.types.int_like(vt);
        if vt != Types::ERROR && int.is_none() {
            let msg = format!("cannot switch on a value of type `{}`", self.tn(vt));
            self.error(self.span(value), msg);
        }
        let mut seen: HashMap<i128, Span> = HashMap::default();
        self.switch_depth += 1;
        for c in cases {
            for &v in &c.values {
                let t = self.expr(v);
                if t == Types::ERROR || vt == Types::ERROR || int.is_none() {
                    continue;
                }
                let ok = if t == vt { true } else { self.coerce(v, vt) };
                if !ok {
                    continue;
                }
                match self.konst(v) {
                    Some(k) => {
                        let k = int.map(|i| i.wrap(k)).unwrap_or(k);
                        if let Some(prev) = seen.get(&k) {
                            let at = location(self.sources, *prev);
                            let msg = format!("duplicate case value `{k}` (first at {at})");
                            self.error(self.span(v), msg);
                        } else {
                            seen.insert(k, self.span(v));
                        }
                    }
                    None => self.error(self.span(v), "a case value must be a constant"),
                }
            }
            self.scoped_stmt(c.body);
        }
        if let Some(d) = default {
            self.scoped_stmt(d);
        }
        self.switch_depth -= 1;
    }

    fn static_if_branch(&self, s: StmtId) -> bool {
        self.typed.static_if_taken.get(&s).copied().unwrap_or(false)
    }

    /// Can control reach the end of this statement?
    fn falls_through(&self, s: StmtId) -> bool {
        match &self.ast.stmt(s).kind {
            StmtKind::Return(_) | StmtKind::Break | StmtKind::Continue => false,
            StmtKind::Expr(e) => self.ty(*e) != Types::NORETURN,
            StmtKind::Block(items) | StmtKind::Group(items) => {
                items.iter().all(|&i| self.falls_through(i))
            }
            StmtKind::StaticIf(b) => {
                let StaticIfStmt { then, els, .. } = &**b;
                let taken = self.static_if_branch(s);
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
            StmtKind::For(b) => {
                let ForStmt { cond, body, .. } = &**b;
                let infinite = cond.map(|c| self.konst(c) == Some(1)).unwrap_or(true);
                !infinite || self.has_break(*body)
            }
            StmtKind::Switch(b) => match &b.default {
                None => true,
                Some(d) => {
                    self.falls_through(*d)
                        || self.has_break(*d)
                        || b.cases
                            .iter()
                            .any(|c| self.falls_through(c.body) || self.has_break(c.body))
                }
            },
            StmtKind::Var(_)
            | StmtKind::Empty
            | StmtKind::Decl(_)
            | StmtKind::StaticAssert { .. } => true,
        }
    }

    /// Does `s` contain a `break` that leaves the loop or switch `s` is the body of?
    fn has_break(&self, s: StmtId) -> bool {
        match &self.ast.stmt(s).kind {
            StmtKind::Break => true,
            StmtKind::Block(items) | StmtKind::Group(items) => {
                items.iter().any(|&i| self.has_break(i))
            }
            StmtKind::StaticIf(b) => {
                let StaticIfStmt { then, els, .. } = &**b;
                let taken = self.static_if_branch(s);
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
        t
    }

    fn set_fconst(&mut self, e: ExprId, t: TypeId, v: f64) -> TypeId {
        let f = self.types.float(t).unwrap_or(FloatTy::F64);
        self.typed.expr_fconst.insert(e, f.round(v));
        t
    }

    /// Type-checks a value expression; returns its type.
    fn expr(&mut self, e: ExprId) -> TypeId {
        let t = self.expr_t(e);
        self.value_check(e, t)
    }

    /// `t` when the checked expression `e` is a value; an error when it names a module or
    /// a type.
    fn value_check(&mut self, e: ExprId, t: TypeId) -> TypeId {
        if let Res::Module(_) | Res::Package(_) = self.typed.res(e) {
            let msg = "a module is not a value";
            self.error(self.span(e), msg);
            return self.set(e, Types::ERROR);
        }
        if let Res::Type(ty) = self.typed.res(e) {
            if ty != Types::ERROR {
                let msg = format!("`{}` is a type, not a value", self.tn(ty));
                self.error(self.span(e), msg);
            }
            return self.set(e, Types::ERROR);
        }
        t
    }

    /// Type-checks an expression that may also name a type (the base of a member
    /// expression, a callee).
    fn expr_t(&mut self, e: ExprId) -> TypeId {
        let t = self.expr_inner(e);
        self.set(e, t)
    }

    fn is_lvalue(&self, e: ExprId) -> bool {
        match &self.ast.expr(e).kind {
            ExprKind::Ident(_) => matches!(
                self.typed.res(e),
                Res::Local(_) | Res::Global(_) | Res::ThisField(..)
            ),
            ExprKind::Unary {
                op: UnaryOp::Deref, ..
            } => true,
            ExprKind::Index { base, .. } => {
                // Elements of slices and pointers are always addressable; elements of a
                // static array when the array is.
                !matches!(self.types.kind(self.ty(*base)), TypeKind::Array(..))
                    || self.is_lvalue(*base)
            }
            ExprKind::Member { base, .. } => match self.typed.members.get(&e) {
                Some(MemberRes::Field { through_ptr, .. }) => *through_ptr || self.is_lvalue(*base),
                // A module variable named with its module (`counter.count`).
                _ => matches!(self.typed.res(e), Res::Global(_)),
            },
            _ => false,
        }
    }

    fn mark_address_taken(&mut self, e: ExprId) {
        match &self.ast.expr(e).kind {
            ExprKind::Ident(_) => {
                if let Res::Local(l) = self.typed.res(e) {
                    self.typed.local_in_memory[l.index()] = true;
                }
            }
            ExprKind::Index { base, .. }
                if matches!(self.types.kind(self.ty(*base)), TypeKind::Array(..)) =>
            {
                let b = *base;
                self.mark_address_taken(b)
            }
            ExprKind::Member { base, .. } => {
                if let Some(MemberRes::Field {
                    through_ptr: false, ..
                }) = self.typed.members.get(&e)
                {
                    let b = *base;
                    self.mark_address_taken(b)
                }
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
        // `self.ast` is a shared reference of its own: the node is matched in place.
        let ast = self.ast;
        match ast.expr(e).kind {
            ExprKind::IntLit {
                value,
                negative,
                suffix,
            } => {
                let value = value.u64();
                let v = if negative {
                    -(value as i128)
                } else {
                    value as i128
                };
                self.int_lit_type(e, v, suffix)
            }
            ExprKind::FloatLit { value, suffix } => {
                let t = match suffix {
                    Some(FloatTy::F32) => Types::F32,
                    _ => Types::F64,
                };
                self.set_fconst(e, t, value.f64())
            }
            ExprKind::CharLit(c) => self.set_const(e, Types::U8, c as i128),
            ExprKind::StrLit(_) => Types::U8_SLICE,
            ExprKind::BoolLit(b) => self.set_const(e, Types::BOOL, b as i128),
            ExprKind::Null => Types::NULL,
            ExprKind::Error => Types::ERROR,
            ExprKind::Type(te) => {
                let t = self.resolve_type(te);
                self.typed.expr_res[e.index()] = Res::Type(t);
                t
            }
            ExprKind::Ident(name) => self.ident(e, name, span),
            ExprKind::Unary { op, arg } => self.unary(e, op, arg),
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, op, lhs, rhs),
            ExprKind::Assign { op, lhs, rhs } => self.assign(e, op, lhs, rhs),
            ExprKind::Call(call) => {
                let call = ast.call(call);
                self.call_expr(e, call.callee, &call.args, &call.names, span)
            }
            ExprKind::Index { base, index } => {
                let bt = self.expr_t(base);
                // `T[N]` in expression position (`S[4].sizeof`): a static array type.
                if let Res::Type(t) = self.typed.res(base) {
                    let at = self.array_type(t, index, span);
                    self.typed.expr_res[e.index()] = Res::Type(at);
                    return at;
                }
                let bt = self.value_check(base, bt);
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
                let bt = self.expr_t(base);
                // `T[]` in expression position (`S[].sizeof`): a slice type.
                if let (Res::Type(t), None) = (self.typed.res(base), range) {
                    if t == Types::ERROR {
                        return Types::ERROR;
                    }
                    if !self.is_value_type(t) {
                        let msg = format!("cannot make a slice of `{}`", self.tn(t));
                        self.error(span, msg);
                        return Types::ERROR;
                    }
                    let st = self.types.slice(t);
                    self.typed.expr_res[e.index()] = Res::Type(st);
                    return st;
                }
                let bt = self.value_check(base, bt);
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
                name_start,
            } => self.member(e, base, name, ast.expr(e).member_name_span(name_start)),
            ExprKind::Cast { ty, arg } => {
                let to = self.resolve_type(ty);
                let from = self.expr(arg);
                self.ensure_layout(to, span);
                self.cast(e, from, to, arg)
            }
        }
    }

    fn ident(&mut self, e: ExprId, name: Ident, span: Span) -> TypeId {
        match self.lookup(name, span) {
            Lookup::Local(l) => {
                self.typed.expr_res[e.index()] = Res::Local(l);
                self.typed.local_ty[l.index()]
            }
            Lookup::Member(s, ds) => self.member_decls(e, s, ds, name, span),
            Lookup::Decls(ds) if ds.is_empty() => Types::ERROR,
            Lookup::Decls(ds) => self.decls_value(e, ds, name, span),
            Lookup::None => {
                if let Some(r) = self.package_res(self.name(name).to_string()) {
                    self.typed.expr_res[e.index()] = r;
                    return Types::VOID;
                }
                let msg = format!("undefined identifier `{}`", self.name(name));
                self.error(span, msg);
                Types::ERROR
            }
        }
    }

    /// A module (or a prefix of module names) visible from the current module: itself
    /// and the modules it imports.
    fn package_res(&mut self, path: String) -> Option<Res> {
        let m = self.ctx.module;
        let visible =
            std::iter::once(m).chain(self.sema.modules[m.index()].imports.iter().copied());
        let mut prefix = false;
        let mut exact = None;
        for v in visible {
            let name = &self.sema.modules[v.index()].name;
            if *name == path {
                exact = Some(v);
            } else if name.starts_with(&path) && name[path.len()..].starts_with('.') {
                prefix = true;
            }
        }
        if let Some(v) = exact {
            return Some(Res::Module(v));
        }
        if prefix {
            self.typed.packages.push(path);
            return Some(Res::Package(self.typed.packages.len() as u32 - 1));
        }
        None
    }

    /// `module.name` or `package.name`.
    fn qualified_member(
        &mut self,
        e: ExprId,
        base: ExprId,
        name: Ident,
        span: Span,
    ) -> Option<TypeId> {
        match self.typed.res(base) {
            Res::Module(m) => {
                let ds = self.sema.modules[m.index()].scope.get(&name).cloned();
                Some(match ds {
                    Some(ds) => self.decls_value(e, ds, name, span),
                    None => {
                        let msg = format!(
                            "module `{}` has no member `{}`",
                            self.sema.modules[m.index()].name,
                            self.name(name)
                        );
                        self.error(span, msg);
                        Types::ERROR
                    }
                })
            }
            Res::Package(p) => {
                let path = format!("{}.{}", self.typed.packages[p as usize], self.name(name));
                Some(match self.package_res(path.clone()) {
                    Some(r) => {
                        self.typed.expr_res[e.index()] = r;
                        Types::VOID
                    }
                    None => {
                        self.error(span, format!("cannot find module `{path}`"));
                        Types::ERROR
                    }
                })
            }
            _ => None,
        }
    }

    /// An identifier naming declarations of a module (or local constants and aliases).
    fn decls_value(&mut self, e: ExprId, ds: Vec<DeclId>, name: Ident, span: Span) -> TypeId {
        let d = ds[0];
        match self.ast.decl(d).kind.clone() {
            DeclKind::Func { .. } => {
                let set = self.overload_set(ds.clone());
                self.typed.expr_res[e.index()] = Res::Funcs(set);
                // A function named without parentheses is called with no arguments.
                self.call_direct(e, name, &ds, None, &[], span)
            }
            DeclKind::Var { .. } => {
                if self.parent_of(d).is_some() {
                    let msg = format!(
                        "field `{}` needs an object{}",
                        self.name(name),
                        self.no_this_note()
                    );
                    self.error(span, msg);
                    return Types::ERROR;
                }
                self.typed.expr_res[e.index()] = Res::Global(d);
                self.global_type(d)
            }
            DeclKind::EnumConst { .. } | DeclKind::EnumMember { .. } => match self.const_of(d) {
                Some((t, v)) => self.set_const_value(e, t, v),
                None => Types::ERROR,
            },
            DeclKind::Alias { .. } => match self.alias_target(d) {
                AliasTarget::Type(t) => {
                    self.typed.expr_res[e.index()] = Res::Type(t);
                    t
                }
                AliasTarget::Decls(ds) => self.decls_value(e, ds, name, span),
                AliasTarget::Error => Types::ERROR,
            },
            _ => match self.decls_as_type(&ds) {
                Some(t) => {
                    self.typed.expr_res[e.index()] = Res::Type(t);
                    t
                }
                None => {
                    let msg = format!("`{}` cannot be used as a value", self.name(name));
                    self.error(span, msg);
                    Types::ERROR
                }
            },
        }
    }

    /// The implicit `this` of the current method when it is a `s` (or `None`).
    fn this_for(&self, s: DeclId) -> Option<LocalId> {
        let this = self.ctx.this?;
        let st = self.types.elem(self.typed.local_ty[this.index()])?;
        (self.types.kind(st) == TypeKind::Struct(s)).then_some(this)
    }

    /// An identifier found among the members of struct `s`.
    fn member_decls(
        &mut self,
        e: ExprId,
        s: DeclId,
        ds: Vec<DeclId>,
        name: Ident,
        span: Span,
    ) -> TypeId {
        let d = ds[0];
        match self.ast.decl(d).kind {
            DeclKind::Var { .. } => {
                let Some(this) = self.this_for(s) else {
                    let msg = format!(
                        "field `{}` needs an object{}",
                        self.name(name),
                        self.no_this_note()
                    );
                    self.error(span, msg);
                    return Types::ERROR;
                };
                self.struct_layout(s, span);
                let Some(layout) = self.types.structs.get(&s) else {
                    return Types::ERROR;
                };
                match layout.fields.iter().position(|f| f.decl == d) {
                    Some(i) => {
                        let t = layout.fields[i].ty;
                        self.typed.expr_res[e.index()] = Res::ThisField(this, i as u32);
                        t
                    }
                    None => Types::ERROR,
                }
            }
            DeclKind::Func { .. } => {
                let Some(this) = self.this_for(s) else {
                    let msg = format!(
                        "method `{}` needs an object{}",
                        self.name(name),
                        self.no_this_note()
                    );
                    self.error(span, msg);
                    return Types::ERROR;
                };
                let set = self.overload_set(ds.clone());
                self.typed.expr_res[e.index()] = Res::Funcs(set);
                self.call_direct(e, name, &ds, Some(ThisArg::Implicit(this)), &[], span)
            }
            _ => self.decls_value(e, ds, name, span),
        }
    }

    fn member(&mut self, e: ExprId, base: ExprId, name: Ident, name_span: Span) -> TypeId {
        if name == self.names.offsetof
            && let ExprKind::Member {
                base: b2,
                name: fname,
                name_start,
            } = self.ast.expr(base).kind
        {
            let fspan = self.ast.expr(base).member_name_span(name_start);
            self.expr_t(b2);
            if let Res::Type(st) = self.typed.res(b2)
                && let TypeKind::Struct(sd) = self.types.kind(st)
            {
                self.struct_layout(sd, fspan);
                let off = self
                    .types
                    .structs
                    .get(&sd)
                    .and_then(|l| l.fields.iter().find(|f| f.name == fname))
                    .map(|f| f.offset);
                self.set(base, Types::ERROR);
                return match off {
                    Some(o) => {
                        self.typed.members.insert(e, MemberRes::Const);
                        self.set_const(e, Types::U64, o as i128)
                    }
                    None => {
                        let msg = format!("`{}` has no field `{}`", self.tn(st), self.name(fname));
                        self.error(fspan, msg);
                        Types::ERROR
                    }
                };
            }
            let bt = self.ty(b2);
            if bt != Types::ERROR {
                self.error(name_span, "`.offsetof` applies to a field of a struct type");
            }
            return Types::ERROR;
        }
        let bt = self.expr_t(base);
        if let Some(t) = self.qualified_member(e, base, name, name_span) {
            return t;
        }
        if bt == Types::ERROR {
            return Types::ERROR;
        }
        if let Res::Type(t) = self.typed.res(base) {
            return self.type_member(e, t, name, name_span);
        }
        self.value_member(e, base, bt, name, name_span)
    }

    /// `T.name`: properties of types, enum members, nested declarations of structs.
    fn type_member(&mut self, e: ExprId, t: TypeId, name: Ident, span: Span) -> TypeId {
        self.typed.members.insert(e, MemberRes::Const);
        if name == self.names.sizeof || name == self.names.alignof {
            self.ensure_layout(t, span);
            if !self.is_value_type(t) && t != Types::VOID {
                let msg = format!("`{}` has no size", self.tn(t));
                self.error(span, msg);
                return Types::ERROR;
            }
            let v = if name == self.names.sizeof {
                self.types.size(t)
            } else {
                self.types.align(t)
            };
            return self.set_const(e, Types::U64, v as i128);
        }
        if name == self.names.min || name == self.names.max {
            if let Some(i) = self.types.int(t) {
                let v = if name == self.names.min {
                    i.min()
                } else {
                    i.max()
                };
                return self.set_const(e, t, v);
            }
            if let Some(f) = self.types.float(t) {
                let v = match (f, name == self.names.max) {
                    (FloatTy::F32, true) => f32::MAX as f64,
                    (FloatTy::F32, false) => f32::MIN as f64,
                    (FloatTy::F64, true) => f64::MAX,
                    (FloatTy::F64, false) => f64::MIN,
                };
                return self.set_fconst(e, t, v);
            }
        }
        match self.types.kind(t) {
            TypeKind::Enum(d) => {
                if let DeclKind::Enum { members, .. } = self.ast.decl(d).kind.clone()
                    && let Some(&m) = members.iter().find(|&&m| self.ast.decl(m).name == name)
                {
                    return match self.const_of(m) {
                        Some((t, v)) => self.set_const_value(e, t, v),
                        None => Types::ERROR,
                    };
                }
            }
            TypeKind::Struct(s) => {
                let ds = self
                    .sema
                    .structs
                    .get(&s)
                    .and_then(|sc| sc.scope.get(&name))
                    .cloned();
                if let Some(ds) = ds
                    && !matches!(
                        self.ast.decl(ds[0]).kind,
                        DeclKind::Var { .. } | DeclKind::Func { .. }
                    )
                {
                    self.typed.members.remove(&e);
                    return self.decls_value(e, ds, name, span);
                }
            }
            _ => {}
        }
        let msg = format!("`{}` has no member `{}`", self.tn(t), self.name(name));
        self.error(span, msg);
        Types::ERROR
    }

    /// `value.name` where `value` has type `bt`: fields, `.length`/`.ptr`, methods and
    /// UFCS calls without parentheses.
    fn value_member(
        &mut self,
        e: ExprId,
        base: ExprId,
        bt: TypeId,
        name: Ident,
        span: Span,
    ) -> TypeId {
        // `value.sizeof`, `value.alignof`: of the value's type; the value is not evaluated.
        if name == self.names.sizeof || name == self.names.alignof {
            return self.type_member(e, bt, name, span);
        }
        let (inner, through_ptr) = match self.types.kind(bt) {
            TypeKind::Ptr(x)
                if matches!(
                    self.types.kind(x),
                    TypeKind::Struct(_) | TypeKind::Slice(_) | TypeKind::Array(..)
                ) =>
            {
                (x, true)
            }
            _ => (bt, false),
        };
        match self.types.kind(inner) {
            TypeKind::Struct(sd) => {
                self.struct_layout(sd, span);
                let field = self
                    .types
                    .structs
                    .get(&sd)
                    .and_then(|l| l.fields.iter().find(|f| f.name == name))
                    .map(|f| (f.offset, f.ty));
                if let Some((offset, ty)) = field {
                    self.typed.members.insert(
                        e,
                        MemberRes::Field {
                            offset,
                            through_ptr,
                        },
                    );
                    return ty;
                }
                let methods = self
                    .sema
                    .structs
                    .get(&sd)
                    .and_then(|s| s.scope.get(&name))
                    .cloned();
                if let Some(ms) = methods
                    && self.is_func_decl(ms[0])
                {
                    let this = if through_ptr {
                        ThisArg::Ptr(base)
                    } else {
                        ThisArg::Addr(base)
                    };
                    return self.call_direct(e, name, &ms, Some(this), &[], span);
                }
            }
            TypeKind::Slice(el) => {
                // The length of a constant string is a constant (`#assert(s.length == 5)`).
                let string = match self.ast.expr(base).kind {
                    ExprKind::StrLit(i) => Some(i),
                    _ => self.typed.expr_str.get(&base).copied(),
                };
                if name == self.names.length
                    && !through_ptr
                    && let Some(i) = string
                {
                    self.typed.members.insert(e, MemberRes::Const);
                    let n = self.ast.strings[i as usize].len();
                    return self.set_const(e, Types::U64, n as i128);
                }
                if name == self.names.length {
                    self.typed.members.insert(
                        e,
                        MemberRes::Field {
                            offset: 0,
                            through_ptr,
                        },
                    );
                    return Types::U64;
                }
                if name == self.names.ptr {
                    self.typed.members.insert(
                        e,
                        MemberRes::Field {
                            offset: 8,
                            through_ptr,
                        },
                    );
                    return self.types.ptr(el);
                }
            }
            TypeKind::Array(el, n) => {
                if name == self.names.length {
                    self.typed.members.insert(e, MemberRes::Const);
                    return self.set_const(e, Types::U64, n as i128);
                }
                if name == self.names.ptr {
                    self.typed
                        .members
                        .insert(e, MemberRes::ArrayPtr { through_ptr });
                    return self.types.ptr(el);
                }
            }
            _ => {}
        }
        // UFCS: `a.f` is `f(a)`.
        if let Some(fs) = self.ufcs_candidates(name, span) {
            let arg = ArgIn {
                expr: base,
                name: None,
            };
            return self.call_direct(e, name, &fs, None, &[arg], span);
        }
        let msg = format!("`{}` has no member `{}`", self.tn(bt), self.name(name));
        self.error(span, msg);
        Types::ERROR
    }

    /// Functions named `name` visible from here (for UFCS), if there are any.
    fn ufcs_candidates(&mut self, name: Ident, span: Span) -> Option<Vec<DeclId>> {
        // Only module-level functions take part (not methods of the enclosing struct).
        let saved = self.ctx.struct_.take();
        let found = self.lookup(name, span);
        self.ctx.struct_ = saved;
        match found {
            Lookup::Decls(ds) if !ds.is_empty() && self.is_func_decl(ds[0]) => Some(ds),
            _ => None,
        }
    }

    // ---- calls ----

    fn call_expr(
        &mut self,
        e: ExprId,
        callee: ExprId,
        args: &[ExprId],
        names: &[Option<(Ident, Span)>],
        span: Span,
    ) -> TypeId {
        let mut argin = Vec::with_capacity(args.len());
        for (i, &a) in args.iter().enumerate() {
            self.expr(a);
            argin.push(ArgIn {
                expr: a,
                name: names.get(i).copied().flatten(),
            });
        }
        let cspan = self.span(callee);
        match self.ast.expr(callee).kind.clone() {
            ExprKind::Ident(name) => match self.lookup(name, cspan) {
                Lookup::Local(l) => {
                    self.typed.expr_res[callee.index()] = Res::Local(l);
                    let t = self.typed.local_ty[l.index()];
                    self.set(callee, t);
                    self.indirect_call(e, callee, t, &argin, span)
                }
                Lookup::Member(s, ds) => {
                    if self.is_func_decl(ds[0]) {
                        let Some(this) = self.this_for(s) else {
                            let msg = format!(
                                "method `{}` needs an object{}",
                                self.name(name),
                                self.no_this_note()
                            );
                            self.error(cspan, msg);
                            return Types::ERROR;
                        };
                        let set = self.overload_set(ds.clone());
                        self.typed.expr_res[callee.index()] = Res::Funcs(set);
                        self.set(callee, Types::VOID);
                        self.call_direct(e, name, &ds, Some(ThisArg::Implicit(this)), &argin, span)
                    } else {
                        let t = self.expr(callee);
                        self.callee_value(e, callee, t, &argin, span)
                    }
                }
                Lookup::Decls(ds) if ds.is_empty() => Types::ERROR,
                Lookup::Decls(ds) => {
                    let ds = match self.ast.decl(ds[0]).kind {
                        DeclKind::Alias { .. } => match self.alias_target(ds[0]) {
                            AliasTarget::Decls(x) => x,
                            AliasTarget::Type(_) => ds,
                            AliasTarget::Error => return Types::ERROR,
                        },
                        _ => ds,
                    };
                    if self.is_func_decl(ds[0]) {
                        let set = self.overload_set(ds.clone());
                        self.typed.expr_res[callee.index()] = Res::Funcs(set);
                        self.set(callee, Types::VOID);
                        return self.call_direct(e, name, &ds, None, &argin, span);
                    }
                    if let Some(t) = self.decls_as_type(&ds) {
                        self.typed.expr_res[callee.index()] = Res::Type(t);
                        self.set(callee, t);
                        return self.construct(e, t, &argin, span);
                    }
                    let t = self.expr(callee);
                    self.callee_value(e, callee, t, &argin, span)
                }
                Lookup::None => {
                    let msg = format!("undefined identifier `{}`", self.name(name));
                    self.error(cspan, msg);
                    Types::ERROR
                }
            },
            ExprKind::Member {
                base,
                name,
                name_start,
            } => {
                let name_span = self.ast.expr(callee).member_name_span(name_start);
                let bt = self.expr_t(base);
                if let Res::Module(m) = self.typed.res(base) {
                    let ds = self.sema.modules[m.index()].scope.get(&name).cloned();
                    if let Some(ds) = ds
                        && self.is_func_decl(ds[0])
                    {
                        self.set(callee, Types::VOID);
                        return self.call_direct(e, name, &ds, None, &argin, span);
                    }
                }
                if let Some(t) = self.qualified_member(callee, base, name, name_span) {
                    self.set(callee, t);
                    if let Res::Type(inner) = self.typed.res(callee) {
                        return self.construct(e, inner, &argin, span);
                    }
                    return self.callee_value(e, callee, t, &argin, span);
                }
                if bt == Types::ERROR {
                    return Types::ERROR;
                }
                if let Res::Type(t) = self.typed.res(base) {
                    let mt = self.type_member(callee, t, name, name_span);
                    self.set(callee, mt);
                    if let Res::Type(inner) = self.typed.res(callee) {
                        return self.construct(e, inner, &argin, span);
                    }
                    return self.callee_value(e, callee, mt, &argin, span);
                }
                let (inner, through_ptr) = match self.types.kind(bt) {
                    TypeKind::Ptr(x) if matches!(self.types.kind(x), TypeKind::Struct(_)) => {
                        (x, true)
                    }
                    _ => (bt, false),
                };
                if let TypeKind::Struct(sd) = self.types.kind(inner) {
                    let ms = self
                        .sema
                        .structs
                        .get(&sd)
                        .and_then(|s| s.scope.get(&name))
                        .cloned();
                    if let Some(ms) = ms
                        && self.is_func_decl(ms[0])
                    {
                        let this = if through_ptr {
                            ThisArg::Ptr(base)
                        } else {
                            ThisArg::Addr(base)
                        };
                        self.set(callee, Types::VOID);
                        return self.call_direct(e, name, &ms, Some(this), &argin, span);
                    }
                    self.struct_layout(sd, name_span);
                    let is_field = self
                        .types
                        .structs
                        .get(&sd)
                        .is_some_and(|l| l.fields.iter().any(|f| f.name == name));
                    if is_field {
                        let t = self.value_member(callee, base, bt, name, name_span);
                        self.set(callee, t);
                        return self.callee_value(e, callee, t, &argin, span);
                    }
                }
                if let Some(fs) = self.ufcs_candidates(name, name_span) {
                    let mut all = vec![ArgIn {
                        expr: base,
                        name: None,
                    }];
                    all.extend(argin);
                    self.set(callee, Types::VOID);
                    return self.call_direct(e, name, &fs, None, &all, span);
                }
                let t = self.value_member(callee, base, bt, name, name_span);
                self.set(callee, t);
                if t == Types::ERROR {
                    return t;
                }
                self.callee_value(e, callee, t, &argin, span)
            }
            _ => {
                let t = self.expr(callee);
                self.callee_value(e, callee, t, &argin, span)
            }
        }
    }

    /// Calls a value: a function pointer.
    fn callee_value(
        &mut self,
        e: ExprId,
        callee: ExprId,
        t: TypeId,
        argin: &[ArgIn],
        span: Span,
    ) -> TypeId {
        if t == Types::ERROR {
            return t;
        }
        if matches!(self.types.kind(t), TypeKind::Func(_)) {
            return self.indirect_call(e, callee, t, argin, span);
        }
        let msg = match self.ast.expr(callee).kind {
            ExprKind::Ident(n) => format!("`{}` is not a function", self.name(n)),
            _ => format!("cannot call a value of type `{}`", self.tn(t)),
        };
        self.error(self.span(callee), msg);
        Types::ERROR
    }

    fn indirect_call(
        &mut self,
        e: ExprId,
        callee: ExprId,
        t: TypeId,
        argin: &[ArgIn],
        span: Span,
    ) -> TypeId {
        let TypeKind::Func(i) = self.types.kind(t) else {
            return self.callee_value(e, callee, t, argin, span);
        };
        let sig = self.types.fn_sig(i).clone();
        if let Some(a) = argin.iter().find(|a| a.name.is_some()) {
            let (_, s) = a.name.unwrap_or((Ident(0), span));
            self.error(s, "named arguments need a call of a function by name");
            return Types::ERROR;
        }
        if argin.iter().any(|a| self.ty(a.expr) == Types::ERROR) {
            return Types::ERROR;
        }
        if sig.params.len() != argin.len() {
            let n = sig.params.len();
            let msg = format!(
                "a function pointer of type `{}` expects {n} argument{}, got {}",
                self.tn(t),
                if n == 1 { "" } else { "s" },
                argin.len()
            );
            self.error(span, msg);
            return Types::ERROR;
        }
        let mut args = Vec::new();
        for (a, &p) in argin.iter().zip(&sig.params) {
            self.coerce(a.expr, p);
            args.push(ArgSrc::Expr(a.expr));
        }
        self.typed.calls.insert(
            e,
            CallInfo {
                callee: Callee::Indirect(callee),
                this: None,
                args,
            },
        );
        sig.ret
    }

    fn params_text(n_required: usize, n: usize) -> String {
        if n_required == n {
            format!("{n} argument{}", if n == 1 { "" } else { "s" })
        } else {
            format!("{n_required} to {n} arguments")
        }
    }

    /// Maps written arguments to parameters (positional, then by name), filling defaults.
    fn map_args(
        &self,
        what: &str,
        pnames: &[Option<Ident>],
        defaults: &[Option<ExprId>],
        argin: &[ArgIn],
        for_struct: bool,
    ) -> Result<Vec<ArgSrc>, (Option<Span>, String)> {
        let n = pnames.len();
        let required = defaults.iter().filter(|d| d.is_none()).count();
        let count_msg = || {
            if for_struct {
                format!(
                    "{what} has {n} field{}, got {} arguments",
                    if n == 1 { "" } else { "s" },
                    argin.len()
                )
            } else {
                format!(
                    "{what} expects {}, got {}",
                    Self::params_text(required, n),
                    argin.len()
                )
            }
        };
        let mut slots: Vec<Option<ExprId>> = vec![None; n];
        let mut next = 0usize;
        let mut named = false;
        for a in argin {
            if let Some((nm, s)) = a.name {
                named = true;
                match pnames.iter().position(|p| *p == Some(nm)) {
                    Some(i) => next = i,
                    None => {
                        let kind = if for_struct { "field" } else { "parameter" };
                        return Err((
                            Some(s),
                            format!("{what} has no {kind} named `{}`", self.name(nm)),
                        ));
                    }
                }
            }
            if next >= n {
                return Err((None, count_msg()));
            }
            if slots[next].is_some() {
                let pn = pnames[next]
                    .map(|p| self.name(p).to_string())
                    .unwrap_or_default();
                return Err((
                    Some(self.span(a.expr)),
                    format!("`{pn}` of {what} is given more than once"),
                ));
            }
            slots[next] = Some(a.expr);
            next += 1;
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            match (slots[i], defaults[i]) {
                (Some(x), _) => out.push(ArgSrc::Expr(x)),
                (None, Some(d)) => out.push(ArgSrc::Default(d)),
                (None, None) if for_struct => out.push(ArgSrc::Zero),
                (None, None) => {
                    if named {
                        let pn = pnames[i]
                            .map(|p| self.name(p).to_string())
                            .unwrap_or_default();
                        return Err((
                            None,
                            format!("missing argument for parameter `{pn}` of {what}"),
                        ));
                    }
                    return Err((None, count_msg()));
                }
            }
        }
        Ok(out)
    }

    fn func_params_info(&self, d: DeclId) -> (Vec<Option<Ident>>, Vec<Option<ExprId>>) {
        match &self.ast.decl(d).kind {
            DeclKind::Func { params, .. } => (
                params.iter().map(|p| p.name).collect(),
                params.iter().map(|p| p.default).collect(),
            ),
            _ => (Vec::new(), Vec::new()),
        }
    }

    fn signature_text(&self, name: &str, params: &[TypeId]) -> String {
        let ps: Vec<String> = params.iter().map(|&t| self.types.name(t)).collect();
        format!("{name}({})", ps.join(", "))
    }

    /// Overload resolution and argument conversion for a call of functions `cands`.
    fn call_direct(
        &mut self,
        e: ExprId,
        name: Ident,
        cands: &[DeclId],
        this: Option<ThisArg>,
        argin: &[ArgIn],
        span: Span,
    ) -> TypeId {
        let fname = self.name(name).to_string();
        let what = format!("function `{fname}`");
        let arg_tys: Vec<TypeId> = argin.iter().map(|a| self.ty(a.expr)).collect();
        let mut sigs: Vec<(DeclId, FuncSig)> = Vec::new();
        for &d in cands {
            if let Some(s) = self.func_sig(d) {
                sigs.push((d, s));
            }
        }
        if sigs.is_empty() || arg_tys.contains(&Types::ERROR) {
            return Types::ERROR;
        }
        let chosen = if sigs.len() == 1 {
            let (d, _) = &sigs[0];
            let (pn, defs) = self.func_params_info(*d);
            match self.map_args(&what, &pn, &defs, argin, false) {
                Ok(args) => (*d, args),
                Err((s, msg)) => {
                    self.error(s.unwrap_or(span), msg);
                    return Types::ERROR;
                }
            }
        } else {
            let mut best: Vec<(u32, DeclId, Vec<ArgSrc>)> = Vec::new();
            for (d, sig) in &sigs {
                let (pn, defs) = self.func_params_info(*d);
                let Ok(args) = self.map_args(&what, &pn, &defs, argin, false) else {
                    continue;
                };
                let mut total = 0u32;
                let mut ok = true;
                for (i, a) in args.iter().enumerate() {
                    if let ArgSrc::Expr(x) = a {
                        match self.implicit_rank(self.ty(*x), sig.params[i], Some(*x)) {
                            Some(r) => total += r as u32,
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                }
                if ok {
                    best.push((total, *d, args));
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
            let mut winners: Vec<(DeclId, Vec<ArgSrc>)> = best
                .into_iter()
                .filter(|b| b.0 == min)
                .map(|b| (b.1, b.2))
                .collect();
            if winners.len() > 1 {
                let cs: Vec<String> = winners
                    .iter()
                    .map(|(d, _)| {
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
            winners.swap_remove(0)
        };
        let (d, args) = chosen;
        let sig = self.typed.func_sig[&d].clone();
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            if let ArgSrc::Expr(x) = a {
                ok &= self.coerce(*x, sig.params[i]);
            }
        }
        if sig.this.is_some() && this.is_none() {
            let msg = format!("method `{fname}` needs an object{}", self.no_this_note());
            self.error(span, msg);
            return Types::ERROR;
        }
        if !ok {
            return Types::ERROR;
        }
        self.typed.calls.insert(
            e,
            CallInfo {
                callee: Callee::Direct(d),
                this: if sig.this.is_some() { this } else { None },
                args,
            },
        );
        sig.ret
    }

    /// `S(args)`: construction of a struct from its fields (positional or named; missing
    /// ones get their default value).
    fn construct(&mut self, e: ExprId, t: TypeId, argin: &[ArgIn], span: Span) -> TypeId {
        let TypeKind::Struct(sd) = self.types.kind(t) else {
            if t != Types::ERROR {
                let msg = format!("cannot construct a value of type `{}`", self.tn(t));
                self.error(span, msg);
            }
            return Types::ERROR;
        };
        self.struct_layout(sd, span);
        let Some(layout) = self.types.structs.get(&sd).cloned() else {
            return Types::ERROR;
        };
        if argin.iter().any(|a| self.ty(a.expr) == Types::ERROR) {
            return Types::ERROR;
        }
        let what = format!("struct `{}`", self.tn(t));
        if layout.is_union && argin.len() > 1 {
            self.error(
                span,
                format!("union `{}` is constructed from one value", self.tn(t)),
            );
            return Types::ERROR;
        }
        let names: Vec<Option<Ident>> = layout.fields.iter().map(|f| Some(f.name)).collect();
        let defaults: Vec<Option<ExprId>> = layout
            .fields
            .iter()
            .map(|f| match &self.ast.decl(f.decl).kind {
                DeclKind::Var { init, .. } if !layout.is_union => *init,
                _ => None,
            })
            .collect();
        let args = match self.map_args(&what, &names, &defaults, argin, true) {
            Ok(a) => a,
            Err((s, msg)) => {
                self.error(s.unwrap_or(span), msg);
                return Types::ERROR;
            }
        };
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            if let ArgSrc::Expr(x) = a {
                ok &= self.coerce(*x, layout.fields[i].ty);
            }
        }
        if !ok {
            return Types::ERROR;
        }
        self.typed.calls.insert(
            e,
            CallInfo {
                callee: Callee::Ctor(sd),
                this: None,
                args,
            },
        );
        t
    }

    // ---- operators ----

    /// Index operands are integers, extended to 64 bits by their signedness.
    fn index_operand(&mut self, e: ExprId, t: TypeId) {
        match self.types.int_like(t) {
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
        let (fk, tk) = (self.types.kind(from), self.types.kind(to));
        let intish = |k: TypeKind| matches!(k, TypeKind::Int(_) | TypeKind::Enum(_));
        let ok = from == to
            || self.implicit_rank(from, to, Some(arg)).is_some()
            || (intish(fk) || fk == TypeKind::Bool) && intish(tk)
            || intish(fk) && tk == TypeKind::Bool
            || matches!(
                (fk, tk),
                (
                    TypeKind::Ptr(_) | TypeKind::Func(_),
                    TypeKind::Ptr(_) | TypeKind::Func(_)
                ) | (
                    TypeKind::Ptr(_) | TypeKind::Null | TypeKind::Func(_),
                    TypeKind::Int(_)
                ) | (TypeKind::Int(_), TypeKind::Ptr(_) | TypeKind::Func(_))
                    | (TypeKind::Int(_) | TypeKind::Enum(_), TypeKind::Float(_))
                    | (TypeKind::Float(_), TypeKind::Int(_) | TypeKind::Float(_))
            );
        if !ok {
            let msg = format!("cannot cast `{}` to `{}`", self.tn(from), self.tn(to));
            self.error(self.span(e), msg);
            return Types::ERROR;
        }
        self.set_target(arg, from);
        if let Some(k) = self.konst(arg) {
            if let Some(i) = self.types.int_like(to) {
                self.typed.expr_const.insert(e, i.wrap(k));
            } else if to == Types::BOOL {
                self.typed.expr_const.insert(e, (k != 0) as i128);
            } else if self.types.float(to).is_some() {
                self.set_fconst(e, to, k as f64);
            }
        }
        if let Some(f) = self.fkonst(arg) {
            if self.types.float(to).is_some() {
                self.set_fconst(e, to, f);
            } else if let Some(i) = self.types.int(to) {
                let t = f.trunc();
                if t.is_finite() && t >= i.min() as f64 && t <= i.max() as f64 {
                    self.typed.expr_const.insert(e, t as i128);
                }
            }
        }
        to
    }

    fn unary(&mut self, e: ExprId, op: UnaryOp, arg: ExprId) -> TypeId {
        if op == UnaryOp::AddrOf
            && let ExprKind::Ident(n) = self.ast.expr(arg).kind
            && let Some(t) = self.func_ref(e, arg, n)
        {
            return t;
        }
        let t = self.expr(arg);
        if t == Types::ERROR {
            return Types::ERROR;
        }
        let span = self.span(e);
        match op {
            UnaryOp::Neg | UnaryOp::BitNot => {
                if op == UnaryOp::Neg
                    && let Some(f) = self.types.float(t)
                {
                    if let Some(k) = self.fkonst(arg) {
                        self.set_fconst(e, t, -k);
                    }
                    let _ = f;
                    return t;
                }
                let Some(i) = self.types.int_like(t) else {
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
                if !self.coerce_cond_operand(arg, t) {
                    return Types::ERROR;
                }
                if let Some(k) = self.konst(arg) {
                    self.typed.expr_const.insert(e, (k == 0) as i128);
                }
                Types::BOOL
            }
            UnaryOp::Deref => match self.types.kind(t) {
                TypeKind::Ptr(el) if el != Types::VOID => {
                    self.ensure_layout(el, span);
                    el
                }
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
                    TypeKind::Int(_) | TypeKind::Float(_) => t,
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

    /// `&f` of a function: a function pointer. `None` when `n` is not a function.
    fn func_ref(&mut self, e: ExprId, arg: ExprId, n: Ident) -> Option<TypeId> {
        let span = self.span(arg);
        let ds = match self.lookup(n, span) {
            Lookup::Decls(ds) if !ds.is_empty() && self.is_func_decl(ds[0]) => ds,
            Lookup::Member(_, ds) if self.is_func_decl(ds[0]) => {
                let msg = format!("cannot take the address of method `{}`", self.name(n));
                self.error(self.span(e), msg);
                return Some(Types::ERROR);
            }
            _ => return None,
        };
        self.set(arg, Types::VOID);
        if ds.len() > 1 {
            let msg = format!(
                "cannot take the address of the overloaded function `{}`",
                self.name(n)
            );
            self.error(self.span(e), msg);
            return Some(Types::ERROR);
        }
        let d = ds[0];
        let sig = self.func_sig(d)?;
        if matches!(self.typed.func_kind.get(&d), Some(FuncKind::Syscall(_))) {
            let msg = format!("cannot take the address of syscall `{}`", self.name(n));
            self.error(self.span(e), msg);
            return Some(Types::ERROR);
        }
        let set = self.overload_set(ds);
        self.typed.expr_res[arg.index()] = Res::Funcs(set);
        self.typed.func_refs.insert(e, d);
        Some(self.types.func(FnSig {
            params: sig.params,
            ret: sig.ret,
        }))
    }

    fn float_binary(
        &mut self,
        e: ExprId,
        op: BinaryOp,
        lhs: ExprId,
        rhs: ExprId,
        ft: TypeId,
    ) -> TypeId {
        use BinaryOp::*;
        self.set_target(lhs, ft);
        self.set_target(rhs, ft);
        let x = self
            .fkonst(lhs)
            .or_else(|| self.konst(lhs).map(|v| v as f64));
        let y = self
            .fkonst(rhs)
            .or_else(|| self.konst(rhs).map(|v| v as f64));
        if op.is_comparison() {
            if let (Some(x), Some(y)) = (x, y) {
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
        if let (Some(x), Some(y)) = (x, y) {
            let v = match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                // Rust's `%` on floats is C's `fmod` (exact); for `f32` operands the
                // `f64` remainder is exact too, so it is representable as `f32`.
                Rem => x % y,
                _ => x / y,
            };
            self.set_fconst(e, ft, v);
        }
        ft
    }

    fn binary(&mut self, e: ExprId, op: BinaryOp, lhs: ExprId, rhs: ExprId) -> TypeId {
        let lt = self.expr(lhs);
        let rt = self.expr(rhs);
        if lt == Types::ERROR || rt == Types::ERROR {
            return Types::ERROR;
        }
        let (lk, rk) = (self.types.kind(lt), self.types.kind(rt));
        let (li, ri) = (self.types.int_like(lt), self.types.int_like(rt));
        let (lf, rf) = (self.types.float(lt), self.types.float(rt));
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
                    (TypeKind::Ptr(el), _) if ri.is_some() && el != Types::VOID => {
                        let i = ri.unwrap_or(IntTy::I64);
                        self.set_target(rhs, if i.signed { Types::I64 } else { Types::U64 });
                        return lt;
                    }
                    (_, TypeKind::Ptr(el)) if li.is_some() && op == Add && el != Types::VOID => {
                        let i = li.unwrap_or(IntTy::I64);
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
        // Floats (with an integer operand converted).
        if (lf.is_some() || rf.is_some())
            && (lf.is_some() || li.is_some())
            && (rf.is_some() || ri.is_some())
        {
            let ft = if lf == Some(FloatTy::F64) || rf == Some(FloatTy::F64) {
                Types::F64
            } else {
                Types::F32
            };
            if matches!(op, Add | Sub | Mul | Div | Rem) || op.is_comparison() {
                return self.float_binary(e, op, lhs, rhs, ft);
            }
        }
        if op.is_comparison() {
            match (lk, rk) {
                _ if li.is_some() && ri.is_some() => {
                    if let (TypeKind::Enum(a), TypeKind::Enum(b)) = (lk, rk)
                        && a != b
                    {
                        let msg =
                            format!("cannot compare `{}` with `{}`", self.tn(lt), self.tn(rt));
                        self.error(self.span(e), msg);
                        return Types::ERROR;
                    }
                    let c = common_int(li.unwrap_or(IntTy::I32), ri.unwrap_or(IntTy::I32));
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
                (TypeKind::Bool, TypeKind::Bool) if matches!(op, Eq | Ne) => {
                    if let (Some(x), Some(y)) = (self.konst(lhs), self.konst(rhs)) {
                        self.typed
                            .expr_const
                            .insert(e, ((x == y) == (op == Eq)) as i128);
                    }
                    return Types::BOOL;
                }
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
                (TypeKind::Func(_) | TypeKind::Null, TypeKind::Func(_) | TypeKind::Null)
                    if matches!(op, Eq | Ne)
                        && (lt == rt || lk == TypeKind::Null || rk == TypeKind::Null) =>
                {
                    let target = if lk == TypeKind::Null { rt } else { lt };
                    self.set_target(lhs, target);
                    self.set_target(rhs, target);
                    return Types::BOOL;
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
            _ if li.is_some() && ri.is_some() => {
                let (a, b) = (li.unwrap_or(IntTy::I32), ri.unwrap_or(IntTy::I32));
                let c = if op.is_shift() {
                    promote(a)
                } else {
                    common_int(a, b)
                };
                let ct = self.types.int_type(c);
                self.set_target(lhs, ct);
                let rtarget = if op.is_shift() {
                    self.types.int_type(promote(b))
                } else {
                    ct
                };
                self.set_target(rhs, rtarget);
                if op.is_shift() && !self.shift_count_in_range(rhs, c) {
                    return ct;
                }
                if let (Some(x), Some(y)) = (self.konst(lhs), self.konst(rhs)) {
                    match fold(op, c, c.wrap(x), promote(b).wrap(y)) {
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

    /// A constant shift count must be below the bit width of the shifted type `c` (the
    /// promoted left operand), as in D; reports the error and returns false otherwise.
    fn shift_count_in_range(&mut self, count: ExprId, c: IntTy) -> bool {
        match self.konst(count) {
            Some(n) if n < 0 || n >= c.bits as i128 => {
                let msg = format!("shift by {n} is outside the range 0..{}", c.bits - 1);
                self.error(self.span(count), msg);
                false
            }
            _ => true,
        }
    }

    fn coerce_cond_operand(&mut self, e: ExprId, t: TypeId) -> bool {
        if self.truthy(t) {
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
        let Some(op) = op else {
            if rt != Types::ERROR {
                self.coerce(rhs, lt);
            }
            return lt;
        };
        if rt == Types::ERROR {
            return lt;
        }
        let ri = self.types.int_like(rt);
        match (self.types.kind(lt), self.types.kind(rt)) {
            (TypeKind::Ptr(el), _)
                if ri.is_some()
                    && matches!(op, BinaryOp::Add | BinaryOp::Sub)
                    && el != Types::VOID =>
            {
                let i = ri.unwrap_or(IntTy::I64);
                self.set_target(rhs, if i.signed { Types::I64 } else { Types::U64 });
                self.typed.assign_op_ty.insert(e, lt);
                lt
            }
            (TypeKind::Int(a), _) if ri.is_some() => {
                let b = ri.unwrap_or(IntTy::I32);
                let c = if op.is_shift() {
                    promote(a)
                } else {
                    common_int(a, b)
                };
                let ct = self.types.int_type(c);
                let rtarget = if op.is_shift() {
                    self.types.int_type(promote(b))
                } else {
                    ct
                };
                self.set_target(rhs, rtarget);
                if matches!(op, BinaryOp::Div | BinaryOp::Rem) && self.konst(rhs) == Some(0) {
                    self.error(self.span(rhs), "division by zero");
                }
                if op.is_shift() {
                    self.shift_count_in_range(rhs, c);
                }
                self.typed.assign_op_ty.insert(e, ct);
                lt
            }
            (TypeKind::Float(a), TypeKind::Float(_) | TypeKind::Int(_) | TypeKind::Enum(_))
                if matches!(
                    op,
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem
                ) =>
            {
                let ft = if a == FloatTy::F64 || rt == Types::F64 {
                    Types::F64
                } else {
                    Types::F32
                };
                self.set_target(rhs, ft);
                self.typed.assign_op_ty.insert(e, ft);
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
            first_error("i32 main() { u8[] s; if (s) return 1; return 0; }"),
            "main.vx:1:26: Error: expected `bool`, found `u8[]`"
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
            "main.vx:2:23: Error: no overload of `print` matches the call `print(i32*)`; candidates: `print(u8[])`, `print(u64)`, `print(i64)`, `print(bool)`, `print(f64, u32)`"
        );
    }
}
