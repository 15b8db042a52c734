//! Front-end pass: name resolution of declarations.
//!
//! - Builds one module per parsed file (name from `module a.b;` or the file's default
//!   name), evaluates module-level and struct-level `#version`/`#if`, registers
//!   declarations (functions, variables, structs, enums and their anonymous members,
//!   constants, aliases) and reports duplicates, resolves imports, and marks the modules
//!   reachable from user files.
//! - Lists what type checking must visit (`sema.funcs`, `sema.globals`, `sema.others`).
//!
//! Identifiers inside bodies and initializers are resolved by [`super::typeck`], which
//! walks scopes outward (locals, the enclosing structs' members, the module, then the
//! modules it imports), as D does.
//!
//! `#if` conditions at module or struct level are evaluated here, before the declarations
//! they guard exist: they may use literals, operators and the module's manifest constants
//! (`enum debug = true;`) and anonymous enum members declared with constant initializers.

use crate::fxhash::HashMap;

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

/// Evaluates a `#version` identifier for the target.
pub fn version_holds(name: &str, options: &Options) -> bool {
    match name {
        "linux" => options.target == Target::LinuxX64,
        "windows" => options.target == Target::WindowsX64,
        "jit" => options.jit,
        "x86_64" | "X86_64" => true,
        _ => false,
    }
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
        by_name: HashMap::default(),
        depth: 0,
    };
    r.build_modules();
    r.mark_reachable();
    r.collect_work();
}

struct Resolver<'a> {
    sources: &'a SourceFiles,
    options: &'a Options,
    front: &'a mut FrontState,
    diags: &'a mut Diagnostics,
    by_name: HashMap<String, ModuleId>,
    /// Recursion depth of constant evaluation (guards cycles like `enum a = b; enum b = a;`).
    depth: u32,
}

/// Where declarations are registered: a module's scope or a struct's.
#[derive(Clone, Copy)]
enum Owner {
    Module(ModuleId),
    Struct(DeclId),
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
                scope: HashMap::default(),
                imports: Vec::new(),
                reachable: false,
            });
            let mut active = Vec::new();
            let mut imports = Vec::new();
            self.flatten_decls(Owner::Module(id), id, &top, &mut active, &mut imports);
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

    /// Selects the active declarations of a declaration list (static ifs evaluated) and
    /// registers them in `owner`'s scope, in order (so an `#if` sees what precedes it).
    fn flatten_decls(
        &mut self,
        owner: Owner,
        module: ModuleId,
        decls: &[DeclId],
        out: &mut Vec<DeclId>,
        imports: &mut Vec<ImportPath>,
    ) {
        for &d in decls {
            let decl = self.front.ast.decl(d);
            match &decl.kind {
                DeclKind::Import { path } => {
                    if let Owner::Struct(_) = owner {
                        self.diags
                            .error(decl.span, "`import` is only allowed at module level");
                    } else {
                        imports.push((path.clone(), decl.span))
                    }
                }
                DeclKind::StaticIf { cond, then, els } => {
                    let (cond, then, els) = (cond.clone(), then.clone(), els.clone());
                    let taken = self.eval_static_cond(owner, module, &cond);
                    self.flatten_decls(
                        owner,
                        module,
                        if taken { &then } else { &els },
                        out,
                        imports,
                    );
                }
                DeclKind::Struct { members, .. } => {
                    let members = members.clone();
                    out.push(d);
                    self.front.sema.decl_module.insert(d, module);
                    self.register(owner, d);
                    if let Owner::Struct(p) = owner {
                        self.front.sema.parent.insert(d, p);
                    }
                    self.front.sema.structs.insert(d, StructScope::default());
                    let mut inner = Vec::new();
                    let mut no_imports = Vec::new();
                    self.flatten_decls(
                        Owner::Struct(d),
                        module,
                        &members,
                        &mut inner,
                        &mut no_imports,
                    );
                    if let Some(s) = self.front.sema.structs.get_mut(&d) {
                        s.decls = inner;
                    }
                }
                DeclKind::Enum { members, .. } => {
                    let members = members.clone();
                    let anonymous = self.name(decl.name).is_empty();
                    out.push(d);
                    self.front.sema.decl_module.insert(d, module);
                    if let Owner::Struct(p) = owner {
                        self.front.sema.parent.insert(d, p);
                    }
                    if !anonymous {
                        self.register(owner, d);
                    }
                    for m in members {
                        self.front.sema.parent.insert(m, d);
                        self.front.sema.decl_module.insert(m, module);
                        if anonymous {
                            self.register(owner, m);
                        }
                    }
                }
                DeclKind::StaticAssert { .. } => {
                    out.push(d);
                    self.front.sema.decl_module.insert(d, module);
                    if let Owner::Struct(p) = owner {
                        self.front.sema.parent.insert(d, p);
                    }
                }
                DeclKind::Func { body, .. } => {
                    let body = *body;
                    out.push(d);
                    self.front.sema.decl_module.insert(d, module);
                    if let Owner::Struct(p) = owner {
                        self.front.sema.parent.insert(d, p);
                    }
                    self.register(owner, d);
                    if let Some(b) = body {
                        self.local_structs(module, b);
                    }
                }
                DeclKind::Var { .. }
                | DeclKind::EnumConst { .. }
                | DeclKind::Alias { .. }
                | DeclKind::EnumMember { .. } => {
                    out.push(d);
                    self.front.sema.decl_module.insert(d, module);
                    if let Owner::Struct(p) = owner {
                        self.front.sema.parent.insert(d, p);
                    }
                    self.register(owner, d);
                }
            }
        }
    }

    /// Gives the structs declared in a function body (at any depth, nested functions'
    /// bodies included) their member scopes and nested functions their module; their
    /// names are scoped like local variables (type checking declares them).
    fn local_structs(&mut self, module: ModuleId, s: StmtId) {
        let mut work = vec![s];
        while let Some(s) = work.pop() {
            match &self.front.ast.stmt(s).kind {
                StmtKind::Block(items) | StmtKind::Group(items) => work.extend(items),
                StmtKind::If { then, els, .. } => work.extend(std::iter::once(*then).chain(*els)),
                StmtKind::While { body, .. } | StmtKind::DoWhile { body, .. } => work.push(*body),
                StmtKind::For(b) => {
                    let ForStmt { init, body, .. } = &**b;
                    work.extend(init);
                    work.push(*body);
                }
                StmtKind::StaticIf(b) => {
                    let StaticIfStmt { then, els, .. } = &**b;
                    work.extend(then);
                    work.extend(els);
                }
                StmtKind::Switch(b) => {
                    let SwitchStmt { cases, default, .. } = &**b;
                    work.extend(cases.iter().map(|c| c.body));
                    work.extend(*default);
                }
                &StmtKind::Decl(d) => {
                    if let DeclKind::Func { body, .. } = &self.front.ast.decl(d).kind {
                        // A nested function: compiled as a function of the module (type
                        // checking lists it when it checks the enclosing body).
                        self.front.sema.decl_module.insert(d, module);
                        work.extend(*body);
                    } else if let DeclKind::Struct { members, .. } = &self.front.ast.decl(d).kind {
                        let members = members.clone();
                        self.front.sema.decl_module.insert(d, module);
                        self.front.sema.structs.insert(d, StructScope::default());
                        let mut inner = Vec::new();
                        let mut no_imports = Vec::new();
                        self.flatten_decls(
                            Owner::Struct(d),
                            module,
                            &members,
                            &mut inner,
                            &mut no_imports,
                        );
                        if let Some(st) = self.front.sema.structs.get_mut(&d) {
                            st.decls = inner;
                        }
                    }
                }
                StmtKind::Expr(_)
                | StmtKind::Var(_)
                | StmtKind::Return(_)
                | StmtKind::Break
                | StmtKind::Continue
                | StmtKind::StaticAssert { .. }
                | StmtKind::Empty => {}
            }
        }
    }

    fn scope_mut(&mut self, owner: Owner) -> &mut HashMap<Ident, Vec<DeclId>> {
        match owner {
            Owner::Module(m) => &mut self.front.sema.modules[m.index()].scope,
            Owner::Struct(s) => &mut self.front.sema.structs.entry(s).or_default().scope,
        }
    }

    fn register(&mut self, owner: Owner, d: DeclId) {
        let decl = self.front.ast.decl(d);
        let (name, span) = (decl.name, decl.span);
        let is_func = matches!(decl.kind, DeclKind::Func { .. });
        let existing = self
            .scope_mut(owner)
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
        self.scope_mut(owner).entry(name).or_default().push(d);
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

    /// Fills `sema.funcs`, `sema.globals` and `sema.others` from the reachable modules.
    fn collect_work(&mut self) {
        for mi in 0..self.front.sema.modules.len() {
            if !self.front.sema.modules[mi].reachable {
                continue;
            }
            let decls = self.front.sema.modules[mi].decls.clone();
            self.collect_decls(&decls, true);
        }
    }

    fn collect_decls(&mut self, decls: &[DeclId], module_level: bool) {
        for &d in decls {
            match &self.front.ast.decl(d).kind {
                DeclKind::Func { .. } => self.front.sema.funcs.push(d),
                DeclKind::Var { .. } => {
                    if module_level {
                        self.front.sema.globals.push(d)
                    }
                }
                DeclKind::Struct { .. } => {
                    self.front.sema.others.push(d);
                    let inner = self
                        .front
                        .sema
                        .structs
                        .get(&d)
                        .map(|s| s.decls.clone())
                        .unwrap_or_default();
                    self.collect_decls(&inner, false);
                }
                _ => self.front.sema.others.push(d),
            }
        }
    }

    // ---- static conditions ----

    fn eval_static_cond(&mut self, owner: Owner, module: ModuleId, c: &StaticCond) -> bool {
        match c {
            StaticCond::Version(name, _) => version_holds(self.name(*name), self.options),
            StaticCond::If(e) => match self.const_eval(owner, module, *e) {
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

    /// Looks a name up for `#if`: the owner's scope, then the module's.
    fn lookup_decl(&self, owner: Owner, module: ModuleId, name: Ident) -> Option<DeclId> {
        let mut found = None;
        if let Owner::Struct(s) = owner {
            found = self
                .front
                .sema
                .structs
                .get(&s)
                .and_then(|sc| sc.scope.get(&name))
                .and_then(|v| v.first().copied());
        }
        if found.is_none() {
            found = self.front.sema.modules[module.index()]
                .scope
                .get(&name)
                .and_then(|v| v.first().copied());
        }
        found
    }

    /// Looks a constant up for `#if`: the owner's scope, then the module's.
    fn lookup_const(&mut self, owner: Owner, module: ModuleId, name: Ident) -> Option<i128> {
        let d = self.lookup_decl(owner, module, name)?;
        match self.front.ast.decl(d).kind.clone() {
            DeclKind::EnumConst { value, .. } => self.const_eval(owner, module, value),
            DeclKind::EnumMember { init } => {
                // Anonymous enum member: its initializer, or the previous member plus one.
                if let Some(e) = init {
                    return self.const_eval(owner, module, e);
                }
                let parent = *self.front.sema.parent.get(&d)?;
                let DeclKind::Enum { members, .. } = self.front.ast.decl(parent).kind.clone()
                else {
                    return None;
                };
                let pos = members.iter().position(|&m| m == d)?;
                if pos == 0 {
                    return Some(0);
                }
                let prev = self.front.ast.decl(members[pos - 1]).name;
                Some(self.lookup_const(owner, module, prev)? + 1)
            }
            _ => None,
        }
    }

    /// Constant-evaluates literal arithmetic and logic for `#if`.
    fn const_eval(&mut self, owner: Owner, module: ModuleId, e: ExprId) -> Option<i128> {
        self.depth += 1;
        let r = if self.depth > 64 {
            None
        } else {
            self.const_eval_inner(owner, module, e)
        };
        self.depth -= 1;
        r
    }

    fn const_eval_inner(&mut self, owner: Owner, module: ModuleId, e: ExprId) -> Option<i128> {
        let kind = self.front.ast.expr(e).kind.clone();
        Some(match kind {
            ExprKind::IntLit {
                value, negative, ..
            } => {
                let value = value.u64();
                if negative {
                    -(value as i128)
                } else {
                    value as i128
                }
            }
            ExprKind::BoolLit(b) => b as i128,
            ExprKind::CharLit(c) => c as i128,
            ExprKind::Ident(name) => return self.lookup_const(owner, module, name),
            ExprKind::Unary {
                op: UnaryOp::Not,
                arg,
            } => (self.const_eval(owner, module, arg)? == 0) as i128,
            ExprKind::Unary {
                op: UnaryOp::Neg,
                arg,
            } => -self.const_eval(owner, module, arg)?,
            ExprKind::Unary {
                op: UnaryOp::BitNot,
                arg,
            } => !self.const_eval(owner, module, arg)?,
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.const_eval(owner, module, lhs)?;
                if op == BinaryOp::AndAnd && a == 0 {
                    return Some(0);
                }
                if op == BinaryOp::OrOr && a != 0 {
                    return Some(1);
                }
                let b = self.const_eval(owner, module, rhs)?;
                match op {
                    BinaryOp::AndAnd | BinaryOp::OrOr => (b != 0) as i128,
                    BinaryOp::Eq => (a == b) as i128,
                    BinaryOp::Ne => (a != b) as i128,
                    BinaryOp::Lt => (a < b) as i128,
                    BinaryOp::Le => (a <= b) as i128,
                    BinaryOp::Gt => (a > b) as i128,
                    BinaryOp::Ge => (a >= b) as i128,
                    BinaryOp::Add => a.checked_add(b)?,
                    BinaryOp::Sub => a.checked_sub(b)?,
                    BinaryOp::Mul => a.checked_mul(b)?,
                    BinaryOp::Div => a.checked_div(b)?,
                    BinaryOp::Rem => a.checked_rem(b)?,
                    BinaryOp::And => a & b,
                    BinaryOp::Or => a | b,
                    BinaryOp::Xor => a ^ b,
                    BinaryOp::Shl if (0..63).contains(&b) => a.checked_mul(1i128 << b)?,
                    BinaryOp::Shr if (0..63).contains(&b) => a >> b,
                    _ => return None,
                }
            }
            // `.length` of a constant string (`#if (name.length > 3)`).
            ExprKind::Member { base, name, .. } if self.name(name) == "length" => {
                self.const_string(owner, module, base)?.len() as i128
            }
            _ => return None,
        })
    }

    /// The bytes of a constant string for `#if`: a literal, or a constant naming one.
    fn const_string(&mut self, owner: Owner, module: ModuleId, e: ExprId) -> Option<Vec<u8>> {
        self.depth += 1;
        let r = if self.depth > 64 {
            None
        } else {
            match self.front.ast.expr(e).kind {
                ExprKind::StrLit(i) => self.front.ast.strings.get(i as usize).cloned(),
                ExprKind::Ident(name) => {
                    let d = self.lookup_decl(owner, module, name)?;
                    match self.front.ast.decl(d).kind {
                        DeclKind::EnumConst { value, .. } => {
                            self.const_string(owner, module, value)
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        };
        self.depth -= 1;
        r
    }
}
