//! Front-end pass: name resolution.
//!
//! - Builds one module per parsed file (name from `module a.b;` or the file's default
//!   name), evaluates module-level `#version`/`#if`, registers declarations and reports
//!   duplicates, resolves imports, and marks the modules reachable from user files.
//! - Walks every function body of reachable modules with a scope stack: each identifier
//!   expression becomes a local, a module variable or an overload set (`sema.expr_res`).
//!   Statement-level `#version`/`#if` pick a branch (`sema.static_if_taken`); branches do
//!   not introduce a scope. D's rule applies to locals: a local may not shadow another
//!   local of the same function.
//! - Checks `break`/`continue` are inside loops.
//!
//! Lookup order: locals (innermost first), the current module, then the modules it
//! imports (non-transitively). Functions of the same name from several imported modules
//! form one overload set; any other clash is an ambiguity error.

use std::collections::HashMap;

use super::ast::*;
use super::sema::*;
use super::{FrontState, Ident};
use crate::compilation::{Compilation, Options};
use crate::diag::{Diagnostics, Span};
use crate::source::{FileOrigin, SourceFiles};
use meteor_linker::Target;

/// An import's module path and its span.
type ImportPath = (Vec<Ident>, Span);

pub fn run(c: &mut Compilation) {
    resolve_all(&c.sources, &c.options, &mut c.front, &mut c.diags);
}

/// `at file:line:col` for "already declared" messages.
pub fn location(sources: &SourceFiles, span: Span) -> String {
    let f = sources.get(span.file);
    let (l, col) = f.line_col(span.start);
    format!("{}:{}:{}", f.path, l, col)
}

pub fn resolve_all(
    sources: &SourceFiles,
    options: &Options,
    front: &mut FrontState,
    diags: &mut Diagnostics,
) {
    let mut r = Resolver {
        sources,
        options,
        front,
        diags,
        by_name: HashMap::new(),
        scopes: Vec::new(),
        loop_depth: 0,
        func: None,
        set_cache: HashMap::new(),
        module: ModuleId(0),
    };
    r.front.sema.expr_res = vec![Res::Unresolved; r.front.ast.exprs.len()];
    r.build_modules();
    r.mark_reachable();
    r.resolve_bodies();
}

struct Resolver<'a> {
    sources: &'a SourceFiles,
    options: &'a Options,
    front: &'a mut FrontState,
    diags: &'a mut Diagnostics,
    by_name: HashMap<String, ModuleId>,
    /// Locals visible at this point of the current function, innermost last. `None`
    /// entries mark scope starts.
    scopes: Vec<Option<(Ident, LocalId)>>,
    loop_depth: u32,
    func: Option<DeclId>,
    set_cache: HashMap<(ModuleId, Ident), u32>,
    module: ModuleId,
}

impl Resolver<'_> {
    fn name(&self, i: Ident) -> &str {
        self.front.interner.get(i)
    }

    fn build_modules(&mut self) {
        let nfiles = self.front.ast.files.len();
        let mut pending_imports: Vec<(ModuleId, Vec<ImportPath>)> = Vec::new();
        for fi in 0..nfiles {
            let fa = &self.front.ast.files[fi];
            if !fa.parsed {
                continue;
            }
            let file = crate::source::FileId(fi as u32);
            let name = match &fa.module {
                Some((path, _)) => path
                    .iter()
                    .map(|i| self.front.interner.get(*i))
                    .collect::<Vec<_>>()
                    .join("."),
                None => self.sources.get(file).default_module.clone(),
            };
            let decl_span = fa.module.as_ref().map(|(_, s)| *s);
            let top = fa.decls.clone();
            if let Some(&other) = self.by_name.get(&name) {
                let other_file = self.front.sema.modules[other.index()].file;
                let span = decl_span.unwrap_or(Span::new(file, 0, 0));
                let msg = format!(
                    "module `{name}` is already declared at {}",
                    self.sources.get(other_file).path
                );
                self.diags.error(span, msg);
                continue;
            }
            let id = ModuleId(self.front.sema.modules.len() as u32);
            self.by_name.insert(name.clone(), id);
            self.front.sema.modules.push(ModuleInfo {
                name,
                file,
                decls: Vec::new(),
                scope: HashMap::new(),
                imports: Vec::new(),
                reachable: false,
            });
            let mut active = Vec::new();
            let mut imports = Vec::new();
            self.flatten_decls(&top, &mut active, &mut imports);
            for &d in &active {
                self.front.sema.decl_module.insert(d, id);
                self.register(id, d);
            }
            self.front.sema.modules[id.index()].decls = active;
            pending_imports.push((id, imports));
        }
        for (m, imports) in pending_imports {
            for (path, span) in imports {
                let name = path
                    .iter()
                    .map(|i| self.name(*i))
                    .collect::<Vec<_>>()
                    .join(".");
                match self.by_name.get(&name) {
                    Some(&target) => {
                        if target != m
                            && !self.front.sema.modules[m.index()].imports.contains(&target)
                        {
                            self.front.sema.modules[m.index()].imports.push(target);
                        }
                    }
                    None => self
                        .diags
                        .error(span, format!("cannot find module `{name}`")),
                }
            }
        }
    }

    /// Selects the active declarations of a declaration list (static ifs evaluated).
    fn flatten_decls(
        &mut self,
        decls: &[DeclId],
        out: &mut Vec<DeclId>,
        imports: &mut Vec<(Vec<Ident>, Span)>,
    ) {
        for &d in decls {
            let decl = self.front.ast.decl(d);
            match &decl.kind {
                DeclKind::Import { path } => imports.push((path.clone(), decl.span)),
                DeclKind::StaticIf { cond, then, els } => {
                    let (cond, then, els) = (cond.clone(), then.clone(), els.clone());
                    let taken = self.eval_static_cond(&cond);
                    self.flatten_decls(if taken { &then } else { &els }, out, imports);
                }
                DeclKind::Func { .. } | DeclKind::Var { .. } => out.push(d),
            }
        }
    }

    fn register(&mut self, m: ModuleId, d: DeclId) {
        let decl = self.front.ast.decl(d);
        let (name, span) = (decl.name, decl.span);
        let is_func = matches!(decl.kind, DeclKind::Func { .. });
        let existing = self.front.sema.modules[m.index()]
            .scope
            .get(&name)
            .cloned()
            .unwrap_or_default();
        if let Some(&prev) = existing.first() {
            let prev_is_func = matches!(self.front.ast.decl(prev).kind, DeclKind::Func { .. });
            if !(is_func && prev_is_func) {
                let at = location(self.sources, self.front.ast.decl(prev).span);
                let msg = format!("`{}` is already declared at {at}", self.name(name));
                self.diags.error(span, msg);
                return;
            }
        }
        self.front.sema.modules[m.index()]
            .scope
            .entry(name)
            .or_default()
            .push(d);
    }

    fn mark_reachable(&mut self) {
        let mut work: Vec<ModuleId> = Vec::new();
        for (i, m) in self.front.sema.modules.iter().enumerate() {
            if self.sources.get(m.file).origin == FileOrigin::User {
                work.push(ModuleId(i as u32));
            }
        }
        while let Some(m) = work.pop() {
            let info = &mut self.front.sema.modules[m.index()];
            if info.reachable {
                continue;
            }
            info.reachable = true;
            work.extend(info.imports.iter().copied());
        }
    }

    // ---- static conditions ----

    fn eval_static_cond(&mut self, c: &StaticCond) -> bool {
        match c {
            StaticCond::Version(name, _) => match self.name(*name) {
                "linux" => self.options.target == Target::LinuxX64,
                "windows" => self.options.target == Target::WindowsX64,
                "jit" => self.options.jit,
                "x86_64" | "X86_64" => true,
                _ => false,
            },
            StaticCond::If(e) => match self.const_eval(*e) {
                Some(v) => v != 0,
                None => {
                    let span = self.front.ast.expr(*e).span;
                    self.diags
                        .error(span, "cannot evaluate the `#if` condition at compile time");
                    false
                }
            },
        }
    }

    /// Constant-evaluates literal arithmetic and logic for `#if`.
    fn const_eval(&self, e: ExprId) -> Option<i128> {
        let ast = &self.front.ast;
        Some(match &ast.expr(e).kind {
            ExprKind::IntLit {
                value, negative, ..
            } => {
                if *negative {
                    -(*value as i128)
                } else {
                    *value as i128
                }
            }
            ExprKind::BoolLit(b) => *b as i128,
            ExprKind::CharLit(c) => *c as i128,
            ExprKind::Unary {
                op: UnaryOp::Not,
                arg,
            } => (self.const_eval(*arg)? == 0) as i128,
            ExprKind::Unary {
                op: UnaryOp::Neg,
                arg,
            } => -self.const_eval(*arg)?,
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.const_eval(*lhs)?;
                let b = self.const_eval(*rhs)?;
                match op {
                    BinaryOp::AndAnd => (a != 0 && b != 0) as i128,
                    BinaryOp::OrOr => (a != 0 || b != 0) as i128,
                    BinaryOp::Eq => (a == b) as i128,
                    BinaryOp::Ne => (a != b) as i128,
                    BinaryOp::Lt => (a < b) as i128,
                    BinaryOp::Le => (a <= b) as i128,
                    BinaryOp::Gt => (a > b) as i128,
                    BinaryOp::Ge => (a >= b) as i128,
                    BinaryOp::Add => a.checked_add(b)?,
                    BinaryOp::Sub => a.checked_sub(b)?,
                    BinaryOp::Mul => a.checked_mul(b)?,
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    // ---- bodies ----

    fn resolve_bodies(&mut self) {
        for mi in 0..self.front.sema.modules.len() {
            if !self.front.sema.modules[mi].reachable {
                continue;
            }
            self.module = ModuleId(mi as u32);
            let decls = self.front.sema.modules[mi].decls.clone();
            for d in decls {
                let kind = self.front.ast.decl(d).kind.clone();
                match kind {
                    DeclKind::Func {
                        ret, params, body, ..
                    } => {
                        self.front.sema.funcs.push(d);
                        self.func = Some(d);
                        self.resolve_type(ret);
                        self.scopes.clear();
                        self.scopes.push(None);
                        let mut ids = Vec::new();
                        for (i, p) in params.iter().enumerate() {
                            self.resolve_type(p.ty);
                            let name = p.name.unwrap_or(Ident(u32::MAX));
                            let id = self.new_local(LocalInfo {
                                name,
                                span: p.span,
                                ty: p.ty,
                                func: d,
                                param: Some(i as u32),
                            });
                            if p.name.is_some() {
                                self.declare_local(name, id, p.span);
                            }
                            ids.push(id);
                        }
                        self.front.sema.func_params.insert(d, ids);
                        if let Some(b) = body {
                            self.loop_depth = 0;
                            // The body block shares the parameters' scope.
                            if let StmtKind::Block(items) = self.front.ast.stmt(b).kind.clone() {
                                for s in items {
                                    self.stmt(s);
                                }
                            }
                        }
                        self.func = None;
                    }
                    DeclKind::Var { ty, init, .. } => {
                        self.front.sema.globals.push(d);
                        self.scopes.clear();
                        self.resolve_type(ty);
                        if let Some(e) = init {
                            self.expr(e);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn new_local(&mut self, info: LocalInfo) -> LocalId {
        self.front.sema.locals.push(info);
        LocalId(self.front.sema.locals.len() as u32 - 1)
    }

    fn declare_local(&mut self, name: Ident, id: LocalId, span: Span) {
        if let Some(prev) = self
            .scopes
            .iter()
            .rev()
            .flatten()
            .find(|(n, _)| *n == name)
            .map(|&(_, l)| l)
        {
            let at = location(self.sources, self.front.sema.locals[prev.index()].span);
            let msg = format!("`{}` is already declared at {at}", self.name(name));
            self.diags.error(span, msg);
        }
        self.scopes.push(Some((name, id)));
    }

    fn push_scope(&mut self) {
        self.scopes.push(None);
    }

    fn pop_scope(&mut self) {
        while let Some(Some(_)) = self.scopes.pop() {}
    }

    fn resolve_type(&mut self, t: TypeExprId) {
        match self.front.ast.type_expr(t).kind.clone() {
            TypeExprKind::Ptr(e) | TypeExprKind::Slice(e) => self.resolve_type(e),
            TypeExprKind::Array(e, n) => {
                self.resolve_type(e);
                self.expr(n);
            }
            _ => {}
        }
    }

    /// A statement in its own scope (bodies of `if`/`while`/`for`).
    fn scoped_stmt(&mut self, s: StmtId) {
        self.push_scope();
        self.stmt(s);
        self.pop_scope();
    }

    fn stmt(&mut self, s: StmtId) {
        let stmt = self.front.ast.stmt(s).clone();
        match stmt.kind {
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Var(d) => {
                let decl = self.front.ast.decl(d).clone();
                if let DeclKind::Var { ty, init, .. } = decl.kind {
                    self.resolve_type(ty);
                    if let Some(e) = init {
                        self.expr(e);
                    }
                    let func = self.func.unwrap_or(DeclId(0));
                    let id = self.new_local(LocalInfo {
                        name: decl.name,
                        span: decl.span,
                        ty,
                        func,
                        param: None,
                    });
                    self.front.sema.var_local.insert(d, id);
                    self.declare_local(decl.name, id, decl.span);
                }
            }
            StmtKind::Block(items) => {
                self.push_scope();
                for i in items {
                    self.stmt(i);
                }
                self.pop_scope();
            }
            StmtKind::Group(items) => {
                for i in items {
                    self.stmt(i);
                }
            }
            StmtKind::If { cond, then, els } => {
                self.expr(cond);
                self.scoped_stmt(then);
                if let Some(e) = els {
                    self.scoped_stmt(e);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.loop_depth += 1;
                self.scoped_stmt(body);
                self.loop_depth -= 1;
            }
            StmtKind::DoWhile { body, cond } => {
                self.loop_depth += 1;
                self.scoped_stmt(body);
                self.loop_depth -= 1;
                self.expr(cond);
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                self.push_scope();
                for i in init {
                    self.stmt(i);
                }
                if let Some(c) = cond {
                    self.expr(c);
                }
                for e in step {
                    self.expr(e);
                }
                self.loop_depth += 1;
                self.scoped_stmt(body);
                self.loop_depth -= 1;
                self.pop_scope();
            }
            StmtKind::Return(v) => {
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                if self.loop_depth == 0 {
                    let what = if stmt.kind == StmtKind::Break {
                        "break"
                    } else {
                        "continue"
                    };
                    self.diags
                        .error(stmt.span, format!("`{what}` outside of a loop"));
                }
            }
            StmtKind::StaticIf { cond, then, els } => {
                let taken = self.eval_static_cond(&cond);
                self.front.sema.static_if_taken.insert(s, taken);
                for i in if taken { then } else { els } {
                    self.stmt(i);
                }
            }
            StmtKind::Empty => {}
        }
    }

    fn expr(&mut self, e: ExprId) {
        let kind = self.front.ast.expr(e).kind.clone();
        match kind {
            ExprKind::Ident(name) => {
                let res = self.lookup(name, e);
                self.front.sema.expr_res[e.index()] = res;
            }
            ExprKind::Unary { arg, .. } => self.expr(arg),
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Assign { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee);
                for a in args {
                    self.expr(a);
                }
            }
            ExprKind::Index { base, index } => {
                self.expr(base);
                self.expr(index);
            }
            ExprKind::Slice { base, range } => {
                self.expr(base);
                if let Some((lo, hi)) = range {
                    self.expr(lo);
                    self.expr(hi);
                }
            }
            ExprKind::Member { base, .. } => self.expr(base),
            ExprKind::Cast { ty, arg } => {
                self.resolve_type(ty);
                self.expr(arg);
            }
            ExprKind::IntLit { .. }
            | ExprKind::CharLit(_)
            | ExprKind::StrLit(_)
            | ExprKind::BoolLit(_)
            | ExprKind::Null
            | ExprKind::Error => {}
        }
    }

    fn lookup(&mut self, name: Ident, e: ExprId) -> Res {
        if let Some(&(_, l)) = self.scopes.iter().rev().flatten().find(|(n, _)| *n == name) {
            return Res::Local(l);
        }
        let m = self.module;
        if let Some(decls) = self.front.sema.modules[m.index()].scope.get(&name) {
            return self.res_for(m, name, decls.clone());
        }
        // Imported modules.
        let imports = self.front.sema.modules[m.index()].imports.clone();
        let mut found: Vec<(ModuleId, Vec<DeclId>)> = Vec::new();
        for im in imports {
            if let Some(decls) = self.front.sema.modules[im.index()].scope.get(&name) {
                found.push((im, decls.clone()));
            }
        }
        let span = self.front.ast.expr(e).span;
        match found.len() {
            0 => {
                let msg = format!("undefined identifier `{}`", self.name(name));
                self.diags.error(span, msg);
                Res::Unresolved
            }
            1 => {
                let (im, decls) = found.pop().unwrap_or((m, Vec::new()));
                self.res_for(im, name, decls)
            }
            _ => {
                let all_funcs = found.iter().all(|(_, ds)| {
                    ds.iter()
                        .all(|d| matches!(self.front.ast.decl(*d).kind, DeclKind::Func { .. }))
                });
                if all_funcs {
                    let set: Vec<DeclId> = found.into_iter().flat_map(|(_, ds)| ds).collect();
                    self.front.sema.overload_sets.push(set);
                    Res::Funcs(self.front.sema.overload_sets.len() as u32 - 1)
                } else {
                    let mods: Vec<String> = found
                        .iter()
                        .map(|(m, _)| format!("`{}`", self.front.sema.modules[m.index()].name))
                        .collect();
                    let msg = format!(
                        "`{}` is ambiguous: it is declared in {}",
                        self.name(name),
                        mods.join(" and ")
                    );
                    self.diags.error(span, msg);
                    Res::Unresolved
                }
            }
        }
    }

    fn res_for(&mut self, m: ModuleId, name: Ident, decls: Vec<DeclId>) -> Res {
        let first = decls[0];
        match self.front.ast.decl(first).kind {
            DeclKind::Var { .. } => Res::Global(first),
            _ => {
                if let Some(&i) = self.set_cache.get(&(m, name)) {
                    return Res::Funcs(i);
                }
                self.front.sema.overload_sets.push(decls);
                let i = self.front.sema.overload_sets.len() as u32 - 1;
                self.set_cache.insert((m, name), i);
                Res::Funcs(i)
            }
        }
    }
}
