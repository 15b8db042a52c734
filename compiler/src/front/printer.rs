//! AST printer for `--print-ast`: prints the AST back as Vox source, with every nested
//! binary expression parenthesised so the tree structure is visible. The output parses
//! back to the same AST (tests check that printing is a fixed point).

use std::fmt::Write;

use super::FrontState;
use super::ast::*;
use super::types::IntTy;
use crate::source::SourceFiles;

/// Prints every parsed file, each preceded by a `// file <path> ...` comment line.
pub fn print_all(front: &FrontState, sources: &SourceFiles) -> String {
    let mut p = Printer {
        front,
        out: String::new(),
        indent: 0,
    };
    for (id, file) in sources.iter() {
        let Some(fa) = front.ast.file(id) else {
            continue;
        };
        if !fa.parsed {
            continue;
        }
        let _ = writeln!(p.out, "// file {}", file.path);
        if let Some((path, _)) = &fa.module {
            let name = p.path(path);
            let _ = writeln!(p.out, "module {name};");
        }
        for &d in &fa.decls {
            p.decl(d);
        }
    }
    p.out
}

struct Printer<'a> {
    front: &'a FrontState,
    out: String,
    indent: usize,
}

fn escape_byte(b: u8, quote: u8, out: &mut String) {
    match b {
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        b'\r' => out.push_str("\\r"),
        0 => out.push_str("\\0"),
        b'\\' => out.push_str("\\\\"),
        _ if b == quote => {
            out.push('\\');
            out.push(b as char)
        }
        0x20..=0x7E => out.push(b as char),
        _ => {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

impl Printer<'_> {
    fn ast(&self) -> &Ast {
        &self.front.ast
    }

    fn name(&self, i: super::Ident) -> &str {
        self.front.interner.get(i)
    }

    fn path(&self, p: &[super::Ident]) -> String {
        p.iter()
            .map(|i| self.name(*i))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn line_start(&mut self) {
        for _ in 0..self.indent {
            self.out.push('\t');
        }
    }

    fn attrs(&mut self, attrs: &[(Attr, crate::diag::Span)]) {
        for (a, _) in attrs {
            match a {
                Attr::ExternSyscall(n) => {
                    let _ = write!(self.out, "@extern(syscall, {n}) ");
                }
                Attr::ExternModule(m) => {
                    self.out.push_str("@extern(module, \"");
                    for &b in m {
                        escape_byte(b, b'"', &mut self.out);
                    }
                    self.out.push_str("\") ");
                }
            }
        }
    }

    fn static_cond(&mut self, c: &StaticCond) {
        match c {
            StaticCond::Version(name, _) => {
                let n = self.name(*name).to_string();
                let _ = write!(self.out, "#version({n})");
            }
            StaticCond::If(e) => {
                self.out.push_str("#if(");
                self.expr(*e, true);
                self.out.push(')');
            }
        }
    }

    fn decl(&mut self, d: DeclId) {
        let decl = self.ast().decl(d).clone();
        self.line_start();
        match &decl.kind {
            DeclKind::Import { path } => {
                let p = self.path(path);
                let _ = writeln!(self.out, "import {p};");
            }
            DeclKind::Var { ty, init, attrs } => {
                self.attrs(attrs);
                self.var_text(*ty, decl.name, *init);
                self.out.push('\n');
            }
            DeclKind::Func { .. } => {
                self.func_decl(d);
                self.out.push('\n');
            }
            DeclKind::StaticIf { .. } => {
                self.static_if_decl(d);
                self.out.push('\n');
            }
            _ => {
                self.other_decl(d);
                self.out.push('\n');
            }
        }
    }

    /// A function declaration (no trailing newline).
    fn func_decl(&mut self, d: DeclId) {
        let decl = self.ast().decl(d).clone();
        let DeclKind::Func {
            ret,
            params,
            body,
            attrs,
        } = &decl.kind
        else {
            return;
        };
        self.attrs(attrs);
        self.ty(*ret);
        let n = self.name(decl.name).to_string();
        let _ = write!(self.out, " {n}(");
        for (i, p) in params.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.ty(p.ty);
            if let Some(name) = p.name {
                let n = self.name(name).to_string();
                let _ = write!(self.out, " {n}");
            }
            if let Some(e) = p.default {
                self.out.push_str(" = ");
                self.expr(e, true);
            }
        }
        self.out.push(')');
        match body {
            Some(b) => {
                self.out.push(' ');
                self.stmt_inline(*b);
            }
            None => self.out.push(';'),
        }
    }

    /// Struct, enum, constant, alias and `#assert` declarations (no trailing newline).
    fn other_decl(&mut self, d: DeclId) {
        let decl = self.ast().decl(d).clone();
        let name = self.name(decl.name).to_string();
        match &decl.kind {
            DeclKind::Struct { is_union, members } => {
                let kw = if *is_union { "union" } else { "struct" };
                let _ = writeln!(self.out, "{kw} {name} {{");
                self.indent += 1;
                for &m in members {
                    self.decl(m);
                }
                self.indent -= 1;
                self.line_start();
                self.out.push('}');
            }
            DeclKind::Enum { base, members } => {
                self.out.push_str("enum");
                if !name.is_empty() {
                    let _ = write!(self.out, " {name}");
                }
                if let Some(b) = base {
                    self.out.push_str(" : ");
                    self.ty(*b);
                }
                if members.is_empty() && !name.is_empty() {
                    self.out.push(';');
                    return;
                }
                self.out.push_str(" { ");
                for (i, &m) in members.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let md = self.ast().decl(m).clone();
                    let n = self.name(md.name).to_string();
                    self.out.push_str(&n);
                    if let DeclKind::EnumMember { init: Some(e) } = md.kind {
                        self.out.push_str(" = ");
                        self.expr(e, true);
                    }
                }
                self.out.push_str(" }");
            }
            DeclKind::EnumMember { .. } => self.out.push_str(&name),
            DeclKind::EnumConst { ty, value } => {
                self.out.push_str("enum ");
                if let Some(t) = ty {
                    self.ty(*t);
                    self.out.push(' ');
                }
                let _ = write!(self.out, "{name} = ");
                self.expr(*value, true);
                self.out.push(';');
            }
            DeclKind::Alias { target } => {
                let _ = write!(self.out, "alias {name} = ");
                self.ty(*target);
                self.out.push(';');
            }
            DeclKind::StaticAssert { cond, msg } => self.static_assert(*cond, *msg),
            _ => {}
        }
    }

    fn static_assert(&mut self, cond: ExprId, msg: Option<ExprId>) {
        self.out.push_str("#assert(");
        self.expr(cond, true);
        if let Some(m) = msg {
            self.out.push_str(", ");
            self.expr(m, true);
        }
        self.out.push_str(");");
    }

    fn static_if_decl(&mut self, d: DeclId) {
        let DeclKind::StaticIf { cond, then, els } = self.ast().decl(d).kind.clone() else {
            return;
        };
        self.static_cond(&cond);
        self.out.push_str(" {\n");
        self.indent += 1;
        for &t in &then {
            self.decl(t);
        }
        self.indent -= 1;
        self.line_start();
        self.out.push('}');
        if els.len() == 1 && matches!(self.ast().decl(els[0]).kind, DeclKind::StaticIf { .. }) {
            self.out.push_str(" else ");
            self.static_if_decl(els[0]);
        } else if !els.is_empty() {
            self.out.push_str(" else {\n");
            self.indent += 1;
            for &e in &els {
                self.decl(e);
            }
            self.indent -= 1;
            self.line_start();
            self.out.push('}');
        }
    }

    fn var_text(&mut self, ty: TypeExprId, name: super::Ident, init: Option<ExprId>) {
        self.ty(ty);
        let n = self.name(name).to_string();
        let _ = write!(self.out, " {n}");
        if let Some(e) = init {
            self.out.push_str(" = ");
            self.expr(e, true);
        }
        self.out.push(';');
    }

    fn ty(&mut self, t: TypeExprId) {
        match self.ast().type_expr(t).kind.clone() {
            TypeExprKind::Basic(b) => self.out.push_str(match b {
                BasicType::Void => "void",
                BasicType::Noreturn => "noreturn",
                BasicType::Bool => "bool",
                BasicType::Int(i) => i.name(),
                BasicType::F32 => "f32",
                BasicType::F64 => "f64",
            }),
            TypeExprKind::Named(n) => {
                let n = self.name(n).to_string();
                self.out.push_str(&n)
            }
            TypeExprKind::Qualified(parts) => {
                let names: Vec<String> = parts
                    .iter()
                    .map(|(n, _)| self.name(*n).to_string())
                    .collect();
                self.out.push_str(&names.join("."));
            }
            TypeExprKind::TypeofNull => self.out.push_str("typeof(null)"),
            TypeExprKind::Ptr(e) => {
                self.ty(e);
                self.out.push('*');
            }
            TypeExprKind::Slice(e) => {
                self.ty(e);
                self.out.push_str("[]");
            }
            TypeExprKind::Array(e, n) => {
                self.ty(e);
                self.out.push('[');
                self.expr(n, true);
                self.out.push(']');
            }
            TypeExprKind::Func { ret, params } => {
                self.ty(ret);
                self.out.push_str(" function(");
                for (i, &p) in params.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.ty(p);
                }
                self.out.push(')');
            }
            TypeExprKind::Auto => self.out.push_str("auto"),
            TypeExprKind::Error => self.out.push_str("<error>"),
        }
    }

    /// A statement on its own line(s).
    fn stmt(&mut self, s: StmtId) {
        if let StmtKind::Group(items) = &self.ast().stmt(s).kind {
            for &i in &items.clone() {
                self.stmt(i);
            }
            return;
        }
        self.line_start();
        self.stmt_inline(s);
        self.out.push('\n');
    }

    /// A statement starting at the current position (no leading indent, no newline).
    fn stmt_inline(&mut self, s: StmtId) {
        let stmt = self.ast().stmt(s).clone();
        match &stmt.kind {
            StmtKind::Expr(e) => {
                self.expr(*e, true);
                self.out.push(';');
            }
            StmtKind::Var(d) => {
                if let DeclKind::Var { ty, init, .. } = self.ast().decl(*d).kind.clone() {
                    let name = self.ast().decl(*d).name;
                    self.var_text(ty, name, init);
                }
            }
            StmtKind::Block(items) => {
                self.out.push_str("{\n");
                self.indent += 1;
                for &i in items {
                    self.stmt(i);
                }
                self.indent -= 1;
                self.line_start();
                self.out.push('}');
            }
            StmtKind::Group(items) => {
                // Only reached for a group used as a nested statement: print on one line.
                for (n, &i) in items.iter().enumerate() {
                    if n > 0 {
                        self.out.push(' ');
                    }
                    self.stmt_inline(i);
                }
            }
            StmtKind::If { cond, then, els } => {
                self.out.push_str("if (");
                self.expr(*cond, true);
                self.out.push_str(") ");
                self.stmt_inline(*then);
                if let Some(e) = els {
                    self.out.push_str(" else ");
                    self.stmt_inline(*e);
                }
            }
            StmtKind::While { cond, body } => {
                self.out.push_str("while (");
                self.expr(*cond, true);
                self.out.push_str(") ");
                self.stmt_inline(*body);
            }
            StmtKind::DoWhile { body, cond } => {
                self.out.push_str("do ");
                self.stmt_inline(*body);
                self.out.push_str(" while (");
                self.expr(*cond, true);
                self.out.push_str(");");
            }
            StmtKind::For(b) => {
                let ForStmt {
                    init,
                    cond,
                    step,
                    body,
                } = &**b;
                self.out.push_str("for (");
                if init.is_empty() {
                    self.out.push(';');
                }
                for (n, &i) in init.iter().enumerate() {
                    match self.ast().stmt(i).kind.clone() {
                        StmtKind::Expr(e) => {
                            if n > 0 {
                                self.out.push_str(", ");
                            }
                            self.expr(e, true);
                            if n + 1 == init.len() {
                                self.out.push(';');
                            }
                        }
                        _ => {
                            if n > 0 {
                                self.out.push(' ');
                            }
                            self.stmt_inline(i)
                        }
                    }
                }
                if let Some(c) = cond {
                    self.out.push(' ');
                    self.expr(*c, true);
                }
                self.out.push(';');
                for (n, &e) in step.iter().enumerate() {
                    self.out.push_str(if n == 0 { " " } else { ", " });
                    self.expr(e, true);
                }
                self.out.push_str(") ");
                self.stmt_inline(*body);
            }
            StmtKind::Return(v) => {
                self.out.push_str("return");
                if let Some(v) = v {
                    self.out.push(' ');
                    self.expr(*v, true);
                }
                self.out.push(';');
            }
            StmtKind::Break => self.out.push_str("break;"),
            StmtKind::Continue => self.out.push_str("continue;"),
            StmtKind::Empty => self.out.push(';'),
            StmtKind::Switch(b) => {
                let SwitchStmt {
                    value,
                    cases,
                    default,
                } = &**b;
                self.out.push_str("switch (");
                self.expr(*value, true);
                self.out.push_str(") {\n");
                self.indent += 1;
                for c in cases {
                    self.line_start();
                    for (i, &v) in c.values.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        self.expr(v, true);
                    }
                    self.out.push(' ');
                    self.stmt_inline(c.body);
                    self.out.push('\n');
                }
                if let Some(d) = default {
                    self.line_start();
                    self.out.push_str("else ");
                    self.stmt_inline(*d);
                    self.out.push('\n');
                }
                self.indent -= 1;
                self.line_start();
                self.out.push('}');
            }
            StmtKind::StaticAssert { cond, msg } => self.static_assert(*cond, *msg),
            StmtKind::Decl(d) => {
                if matches!(self.ast().decl(*d).kind, DeclKind::Func { .. }) {
                    self.func_decl(*d);
                } else {
                    self.other_decl(*d);
                }
            }
            StmtKind::StaticIf(b) => {
                let StaticIfStmt { cond, then, els } = &**b;
                self.static_cond(cond);
                self.out.push_str(" {\n");
                self.indent += 1;
                for &t in then {
                    self.stmt(t);
                }
                self.indent -= 1;
                self.line_start();
                self.out.push('}');
                if els.len() == 1 && matches!(self.ast().stmt(els[0]).kind, StmtKind::StaticIf(_)) {
                    self.out.push_str(" else ");
                    self.stmt_inline(els[0]);
                } else if !els.is_empty() {
                    self.out.push_str(" else {\n");
                    self.indent += 1;
                    for &e in els {
                        self.stmt(e);
                    }
                    self.indent -= 1;
                    self.line_start();
                    self.out.push('}');
                }
            }
        }
    }

    /// Is `e` printed as a primary/postfix expression (no parentheses needed as an operand)?
    fn is_postfix(&self, e: ExprId) -> bool {
        match &self.ast().expr(e).kind {
            ExprKind::IntLit { negative, .. } => !negative,
            ExprKind::FloatLit { value, .. } => !value.f64().is_sign_negative(),
            ExprKind::Unary { op, .. } => matches!(op, UnaryOp::PostInc | UnaryOp::PostDec),
            ExprKind::Binary { .. } | ExprKind::Assign { .. } | ExprKind::Cast { .. } => false,
            _ => true,
        }
    }

    fn operand(&mut self, e: ExprId) {
        if self.is_postfix(e) {
            self.expr(e, false);
        } else {
            self.out.push('(');
            self.expr(e, true);
            self.out.push(')');
        }
    }

    /// `top`: the expression stands alone (statement, argument, condition), so a binary
    /// or assignment expression needs no parentheses.
    fn expr(&mut self, e: ExprId, top: bool) {
        let expr = self.ast().expr(e).clone();
        match &expr.kind {
            ExprKind::IntLit {
                value,
                negative,
                suffix,
            } => {
                if *negative {
                    self.out.push('-');
                }
                let _ = write!(self.out, "{}", value.u64());
                if let Some(s) = suffix {
                    self.out.push_str(IntTy::name(*s));
                }
            }
            ExprKind::FloatLit { value, suffix } => {
                let mut t = format!("{:?}", value.f64());
                if t.contains("inf") || t.contains("NaN") {
                    t = "0.0".into();
                }
                self.out.push_str(&t);
                if let Some(s) = suffix {
                    let _ = write!(self.out, "_{}", s.name());
                }
            }
            ExprKind::Type(t) => self.ty(*t),
            ExprKind::CharLit(c) => {
                self.out.push('\'');
                escape_byte(*c, b'\'', &mut self.out);
                self.out.push('\'');
            }
            ExprKind::StrLit(i) => {
                self.out.push('"');
                let bytes = self.ast().strings[*i as usize].clone();
                for b in bytes {
                    escape_byte(b, b'"', &mut self.out);
                }
                self.out.push('"');
            }
            ExprKind::BoolLit(b) => self.out.push_str(if *b { "true" } else { "false" }),
            ExprKind::Null => self.out.push_str("null"),
            ExprKind::Ident(n) => {
                let n = self.name(*n).to_string();
                self.out.push_str(&n)
            }
            ExprKind::Unary { op, arg } => match op {
                UnaryOp::PostInc | UnaryOp::PostDec => {
                    self.operand(*arg);
                    self.out
                        .push_str(if *op == UnaryOp::PostInc { "++" } else { "--" });
                }
                _ => {
                    self.out.push_str(match op {
                        UnaryOp::Neg => "-",
                        UnaryOp::BitNot => "~",
                        UnaryOp::Not => "!",
                        UnaryOp::Deref => "*",
                        UnaryOp::AddrOf => "&",
                        UnaryOp::PreInc => "++",
                        _ => "--",
                    });
                    self.operand(*arg);
                }
            },
            ExprKind::Binary { op, lhs, rhs } => {
                if !top {
                    self.out.push('(');
                }
                self.expr(*lhs, false);
                let _ = write!(self.out, " {} ", op.text());
                self.expr(*rhs, false);
                if !top {
                    self.out.push(')');
                }
            }
            ExprKind::Assign { op, lhs, rhs } => {
                if !top {
                    self.out.push('(');
                }
                self.expr(*lhs, false);
                let _ = write!(self.out, " {}= ", op.map(|o| o.text()).unwrap_or(""));
                self.expr(*rhs, true);
                if !top {
                    self.out.push(')');
                }
            }
            ExprKind::Call(call) => {
                let CallExpr {
                    callee,
                    args,
                    names,
                } = &self.ast().call(*call).clone();
                self.operand(*callee);
                self.out.push('(');
                for (i, &a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    if let Some(Some((n, _))) = names.get(i) {
                        let n = self.name(*n).to_string();
                        let _ = write!(self.out, "{n}: ");
                    }
                    self.expr(a, true);
                }
                self.out.push(')');
            }
            ExprKind::Index { base, index } => {
                self.operand(*base);
                self.out.push('[');
                self.expr(*index, true);
                self.out.push(']');
            }
            ExprKind::Slice { base, range } => {
                self.operand(*base);
                self.out.push('[');
                if let Some((lo, hi)) = range {
                    self.expr(*lo, true);
                    self.out.push_str(" .. ");
                    self.expr(*hi, true);
                }
                self.out.push(']');
            }
            ExprKind::Member { base, name, .. } => {
                self.operand(*base);
                let n = self.name(*name).to_string();
                let _ = write!(self.out, ".{n}");
            }
            ExprKind::Cast { ty, arg } => {
                self.out.push_str("cast(");
                self.ty(*ty);
                self.out.push(')');
                self.operand(*arg);
            }
            ExprKind::Error => self.out.push_str("<error>"),
        }
    }
}
