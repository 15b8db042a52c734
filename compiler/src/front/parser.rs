//! Front-end pass: parser. Tokens → AST (`c.front.ast`).
//!
//! Recursive descent for declarations and statements, precedence climbing for binary
//! operators (C/D/Vox precedence: `* / %` > `+ -` > shifts > `< <= > >=` > `== !=` > `&` >
//! `^` > `|` > `&&` > `||` > assignment, which is right-associative).
//!
//! Only user files and the files of modules they import (transitively) are parsed: a
//! file's module name is read from its leading `module a.b;` (or its default name) without
//! parsing it.
//!
//! Errors: "expected `;`, found `}`" style. After an error the parser skips to the next `;`
//! or `}` and goes on, so every file reports its syntax errors. Nesting deeper than
//! [`MAX_NESTING`] is an error, never a stack overflow.

use crate::fxhash::{HashMap, HashSet};

use super::ast::*;
use super::lexer::{decode_char, decode_float, decode_int, decode_string};
use super::token::{Token, TokenKind};
use super::types::IntTy;
use super::{FrontState, Ident, Interner, MAX_NESTING};
use crate::compilation::Compilation;
use crate::diag::{Diagnostics, Span};
use crate::source::{FileId, FileOrigin, SourceFile, SourceFiles};

pub fn run(c: &mut Compilation) {
    let toks = c.front.tokens.tokens.len();
    reserve_arenas(&mut c.front.ast, toks);
    // Fault in at most about as much of the arenas as dense code fills (measured on the
    // compile benchmark's code: 0.51 expressions, 0.16 statements, 0.05 type expressions,
    // 0.03 declarations per token) on the idle core; `finish` stops it when parsing is done.
    let ast = &mut c.front.ast;
    let regions = vec![
        super::prefault::spare_region(&mut ast.exprs, toks / 2),
        super::prefault::spare_region(&mut ast.stmts, toks / 6),
        super::prefault::spare_region(&mut ast.type_exprs, toks / 20),
        super::prefault::spare_region(&mut ast.decls, toks / 30),
    ];
    let prefault =
        super::prefault::Prefault::start(super::prefault::Prefault::enabled(&c.options), regions);
    parse_all(&c.sources, &mut c.front, &mut c.diags);
    prefault.finish();
    // Type checking fills one entry per expression in each of these tables: reserve them
    // now and fault them in while names are resolved (`check_all` sizes them with
    // `resize`, which keeps the reservation).
    let n = c.front.ast.exprs.len();
    let typed = &mut c.front.typed;
    typed.expr_ty.reserve_exact(n);
    typed.expr_target.reserve_exact(n);
    typed.expr_res.reserve_exact(n);
    let regions = vec![
        super::prefault::spare_region(&mut typed.expr_ty, n),
        super::prefault::spare_region(&mut typed.expr_target, n),
        super::prefault::spare_region(&mut typed.expr_res, n),
    ];
    c.front.warmup = Some(super::prefault::Prefault::start(
        super::prefault::Prefault::enabled(&c.options),
        regions,
    ));
    if c.options.print.ast {
        let text = super::printer::print_all(&c.front, &c.sources);
        c.printed.push_str(&text);
    }
}

/// Parses the user files and, transitively, the files of the modules they import.
pub fn parse_all(sources: &SourceFiles, front: &mut FrontState, diags: &mut Diagnostics) {
    let n = sources.files.len();
    front.ast.files = vec![FileAst::default(); n];
    // Size the arenas from the token count once, instead of growing them by copying
    // (each copy of a large arena also faults in fresh pages). There are fewer expressions
    // than tokens; the part of a reservation that is not used is never touched.
    reserve_arenas(&mut front.ast, front.tokens.tokens.len());
    // Module name of each file, read from its leading `module` declaration.
    let mut by_module: HashMap<String, Vec<FileId>> = HashMap::default();
    for (id, file) in sources.iter() {
        let name = peek_module_name(sources.get(id).text.as_str(), front.tokens.file(id))
            .unwrap_or_else(|| file.default_module.clone());
        by_module.entry(name).or_default().push(id);
    }
    let mut queued: HashSet<FileId> = HashSet::default();
    let mut work: Vec<FileId> = Vec::new();
    for (id, file) in sources.iter() {
        if file.origin == FileOrigin::User {
            queued.insert(id);
            work.push(id);
        }
    }
    work.reverse();
    while let Some(file) = work.pop() {
        let imports = parse_file(sources, front, diags, file);
        for path in imports {
            if let Some(files) = by_module.get(&path) {
                for &f in files {
                    if queued.insert(f) {
                        work.push(f);
                    }
                }
            }
        }
    }
}

/// Reserves the AST arenas for `toks` tokens (no-op when already reserved).
fn reserve_arenas(ast: &mut super::ast::Ast, toks: usize) {
    ast.exprs.reserve(toks);
    ast.stmts.reserve(toks / 4);
    ast.type_exprs.reserve(toks / 8);
    ast.decls.reserve(toks / 16);
}

/// Reads `module a.b;` at the start of a token stream.
fn peek_module_name(text: &str, toks: &[Token]) -> Option<String> {
    if toks.first()?.kind != TokenKind::KwModule {
        return None;
    }
    let mut name = String::new();
    let mut i = 1;
    loop {
        let t = toks.get(i)?;
        if t.kind != TokenKind::Ident {
            return None;
        }
        name.push_str(&text[t.start as usize..t.end() as usize]);
        match toks.get(i + 1)?.kind {
            TokenKind::Dot => {
                name.push('.');
                i += 2;
            }
            TokenKind::Semi => return Some(name),
            _ => return None,
        }
    }
}

/// Parses one file; returns the module paths it imports (dotted).
fn parse_file(
    sources: &SourceFiles,
    front: &mut FrontState,
    diags: &mut Diagnostics,
    file: FileId,
) -> Vec<String> {
    let toks = front.tokens.file(file);
    if toks.is_empty() {
        return Vec::new();
    }
    let heights_base = front.ast.exprs.len() as u32;
    let mut p = Parser {
        file,
        source: sources.get(file),
        text: &sources.get(file).text,
        module_name: String::new(),
        func_name: None,
        toks,
        pos: 0,
        ast: &mut front.ast,
        interner: &mut front.interner,
        diags,
        recovering: false,
        depth: 0,
        heights_base,
        // At most one expression per token (the untouched tail of a large reservation
        // costs no memory); reserving avoids growing it by copying.
        heights: Vec::with_capacity(toks.len()),
        imports: Vec::new(),
        errors: 0,
    };
    let module = p.parse_module_decl();
    p.module_name = match &module {
        Some((path, _)) => p.path_string(path),
        None => p.source.default_module.clone(),
    };
    let decls = p.parse_decls(TokenKind::Eof, &[]);
    let imports = std::mem::take(&mut p.imports);
    let fa = &mut front.ast.files[file.0 as usize];
    fa.parsed = true;
    fa.module = module;
    fa.decls = decls;
    imports
}

struct Parser<'a> {
    file: FileId,
    source: &'a SourceFile,
    text: &'a str,
    /// This file's module name (`__MODULE_NAME__`).
    module_name: String,
    /// The function whose body is being parsed (`__FUNCTION_NAME__`).
    func_name: Option<Ident>,
    toks: &'a [Token],
    pos: usize,
    ast: &'a mut Ast,
    interner: &'a mut Interner,
    diags: &'a mut Diagnostics,
    /// After a syntax error: further errors are suppressed until the parser resynchronises.
    recovering: bool,
    /// Current recursion depth (statements and expressions).
    depth: u32,
    /// Id of the first expression of this file: `heights` is indexed from it.
    heights_base: u32,
    /// Height of each expression tree built so far (dense from `heights_base`; missing
    /// entries are leaves, height 1).
    heights: Vec<u16>,
    imports: Vec<String>,
    /// Syntax errors reported in this file.
    errors: u32,
}

/// After this many syntax errors in one file the rest of it is skipped (the later ones
/// are almost always consequences of the earlier ones).
const MAX_SYNTAX_ERRORS: u32 = 100;

fn binary_prec(k: TokenKind) -> Option<(u8, BinaryOp)> {
    use TokenKind::*;
    Some(match k {
        PipePipe => (1, BinaryOp::OrOr),
        AmpAmp => (2, BinaryOp::AndAnd),
        Pipe => (3, BinaryOp::Or),
        Caret => (4, BinaryOp::Xor),
        Amp => (5, BinaryOp::And),
        EqEq => (6, BinaryOp::Eq),
        Ne => (6, BinaryOp::Ne),
        Lt => (7, BinaryOp::Lt),
        Le => (7, BinaryOp::Le),
        Gt => (7, BinaryOp::Gt),
        Ge => (7, BinaryOp::Ge),
        Shl => (8, BinaryOp::Shl),
        Shr => (8, BinaryOp::Shr),
        UShr => (8, BinaryOp::UShr),
        Plus => (9, BinaryOp::Add),
        Minus => (9, BinaryOp::Sub),
        Star => (10, BinaryOp::Mul),
        Slash => (10, BinaryOp::Div),
        Percent => (10, BinaryOp::Rem),
        _ => return None,
    })
}

fn assign_op(k: TokenKind) -> Option<Option<BinaryOp>> {
    use TokenKind::*;
    Some(match k {
        Eq => None,
        PlusEq => Some(BinaryOp::Add),
        MinusEq => Some(BinaryOp::Sub),
        StarEq => Some(BinaryOp::Mul),
        SlashEq => Some(BinaryOp::Div),
        PercentEq => Some(BinaryOp::Rem),
        AmpEq => Some(BinaryOp::And),
        PipeEq => Some(BinaryOp::Or),
        CaretEq => Some(BinaryOp::Xor),
        ShlEq => Some(BinaryOp::Shl),
        ShrEq => Some(BinaryOp::Shr),
        UShrEq => Some(BinaryOp::UShr),
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    // ---- token helpers ----

    fn tok(&self) -> Token {
        self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn kind(&self) -> TokenKind {
        self.tok().kind
    }

    fn kind_at(&self, i: usize) -> TokenKind {
        self.toks[i.min(self.toks.len() - 1)].kind
    }

    fn span(&self) -> Span {
        let t = self.tok();
        Span::new(self.file, t.start, t.end())
    }

    /// Span of the previous token (the last one consumed).
    fn prev_span(&self) -> Span {
        let t = self.toks[self.pos.saturating_sub(1).min(self.toks.len() - 1)];
        Span::new(self.file, t.start, t.end())
    }

    fn tok_text(&self, t: Token) -> &'a str {
        let text: &'a str = self.text;
        &text[t.start as usize..t.end() as usize]
    }

    fn bump(&mut self) -> Token {
        let t = self.tok();
        if t.kind != TokenKind::Eof {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, k: TokenKind) -> bool {
        if self.kind() == k {
            self.bump();
            true
        } else {
            false
        }
    }

    fn found(&self) -> String {
        let t = self.tok();
        if t.kind == TokenKind::Eof {
            "end of file".to_string()
        } else {
            format!("`{}`", self.tok_text(t))
        }
    }

    fn error(&mut self, span: Span, msg: impl Into<String>) {
        if !self.recovering {
            self.errors += 1;
            if self.errors <= MAX_SYNTAX_ERRORS {
                self.diags.error(span, msg);
            } else if self.errors == MAX_SYNTAX_ERRORS + 1 {
                self.diags
                    .error(span, "too many syntax errors in this file; giving up on it");
            }
        }
        self.recovering = true;
        if self.errors > MAX_SYNTAX_ERRORS {
            // Stop parsing this file: jump to its end.
            self.pos = self.toks.len() - 1;
        }
    }

    fn error_expected(&mut self, what: &str) {
        if let Some(instead) = self.kind().reserved_hint() {
            let word = self.kind().describe();
            let msg = format!(
                "`{word}` is a reserved word: Vox has no `{word}` type and it cannot be a \
                 name (use `{instead}`)"
            );
            let span = self.span();
            self.error(span, msg);
            return;
        }
        let msg = format!("expected {what}, found {}", self.found());
        let span = self.span();
        self.error(span, msg);
    }

    fn expect(&mut self, k: TokenKind) -> bool {
        if self.eat(k) {
            return true;
        }
        self.error_expected(&format!("`{}`", k.describe()));
        false
    }

    fn ident(&mut self, what: &str) -> Option<(Ident, Span)> {
        if self.kind() == TokenKind::Ident {
            let t = self.bump();
            let name = self.interner.intern(self.tok_text(t));
            Some((name, Span::new(self.file, t.start, t.end())))
        } else {
            self.error_expected(what);
            None
        }
    }

    /// Skips to just after the next `;` at this nesting level, or to a `}` closing it.
    fn sync(&mut self) {
        if self.pos > 0 && self.toks[self.pos - 1].kind == TokenKind::Semi {
            // The erroneous statement already ended with its `;`.
            self.recovering = false;
            return;
        }
        let mut depth = 0i32;
        loop {
            match self.kind() {
                TokenKind::Eof => break,
                TokenKind::Semi if depth == 0 => {
                    self.bump();
                    break;
                }
                TokenKind::LBrace | TokenKind::LParen | TokenKind::LBracket => depth += 1,
                TokenKind::RBrace if depth == 0 => break,
                TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket => {
                    depth -= 1;
                    if depth == 0 && self.kind() == TokenKind::RBrace {
                        self.bump();
                        break;
                    }
                    depth = depth.max(0);
                }
                _ => {}
            }
            self.bump();
        }
        self.recovering = false;
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let span = self.span();
            self.error(span, "code is nested too deeply");
            return false;
        }
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- declarations ----

    fn parse_module_decl(&mut self) -> Option<(Vec<Ident>, Span)> {
        if self.kind() != TokenKind::KwModule {
            return None;
        }
        let start = self.bump();
        let (path, span) = self.dotted_path()?;
        if !self.expect(TokenKind::Semi) {
            self.sync();
        }
        let _ = start;
        Some((path, span))
    }

    /// Vox's special keywords: `__LINE__` (`u64`, 1-based), `__FILE__` (the file's path),
    /// `__FUNCTION_NAME__` (the enclosing function's name, empty outside functions) and
    /// `__MODULE_NAME__`; the strings are `u8[]` literals.
    fn special_keyword(&mut self, t: Token) -> Option<ExprKind> {
        let text = match self.tok_text(t) {
            "__LINE__" => {
                let (line, _) = self.source.line_col(t.start);
                return Some(ExprKind::IntLit {
                    value: Lit64::from_u64(u64::from(line)),
                    negative: false,
                    suffix: Some(IntTy::U64),
                });
            }
            "__FILE__" => self.source.path.clone(),
            "__FUNCTION_NAME__" => self
                .func_name
                .map(|n| self.interner.get(n).to_string())
                .unwrap_or_default(),
            "__MODULE_NAME__" => self.module_name.clone(),
            _ => return None,
        };
        self.ast.strings.push(text.into_bytes());
        Some(ExprKind::StrLit(self.ast.strings.len() as u32 - 1))
    }

    fn dotted_path(&mut self) -> Option<(Vec<Ident>, Span)> {
        let (first, mut span) = self.ident("module name")?;
        let mut path = vec![first];
        while self.eat(TokenKind::Dot) {
            let (next, s) = self.ident("identifier")?;
            path.push(next);
            span = span.to(s);
        }
        Some((path, span))
    }

    fn path_string(&self, path: &[Ident]) -> String {
        path.iter()
            .map(|i| self.interner.get(*i))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Declarations until `end` (`}` or end of file), which is not consumed.
    fn parse_decls(&mut self, end: TokenKind, inherited: &[(Attr, Span)]) -> Vec<DeclId> {
        let mut out = Vec::new();
        let mut sticky: Vec<(Attr, Span)> = inherited.to_vec();
        while self.kind() != end && self.kind() != TokenKind::Eof {
            let before = self.pos;
            self.parse_decl(&mut out, &mut sticky);
            if self.recovering {
                self.sync();
            }
            if self.pos == before {
                // No progress (e.g. a stray `}`): report and skip one token.
                let found = self.found();
                let span = self.span();
                self.error(span, format!("expected a declaration, found {found}"));
                self.bump();
                self.recovering = false;
            }
        }
        if end == TokenKind::RBrace && self.kind() == TokenKind::Eof {
            self.error_expected("`}`");
        }
        out
    }

    fn parse_decl(&mut self, out: &mut Vec<DeclId>, sticky: &mut Vec<(Attr, Span)>) {
        use TokenKind::*;
        match self.kind() {
            Semi => {
                self.bump();
            }
            KwModule => {
                let span = self.span();
                self.error(
                    span,
                    "the module declaration must be the first declaration of the file",
                );
            }
            KwImport => {
                let start = self.bump();
                loop {
                    let Some((path, span)) = self.dotted_path() else {
                        return;
                    };
                    let s = self.path_string(&path);
                    self.imports.push(s);
                    let _ = start;
                    let empty = self.interner.intern("");
                    out.push(self.ast.add_decl(Decl {
                        kind: DeclKind::Import { path },
                        name: empty,
                        span,
                    }));
                    if !self.eat(Comma) {
                        break;
                    }
                }
                self.expect(Semi);
            }
            HashVersion | HashIf => {
                if !self.enter() {
                    self.leave();
                    return;
                }
                let d = self.parse_static_if_decl(sticky);
                self.leave();
                if let Some(d) = d {
                    out.push(d);
                }
            }
            HashForeach => {
                let span = self.span();
                let name = self.tok_text(self.tok()).to_string();
                self.error(span, format!("`{name}` is not supported yet"));
            }
            At => {
                let mut attrs = sticky.clone();
                while self.kind() == At {
                    match self.parse_attr() {
                        Some(a) => attrs.push(a),
                        None => return,
                    }
                }
                if self.eat(Colon) {
                    *sticky = attrs;
                } else if self.eat(LBrace) {
                    let inner = self.parse_decls(RBrace, &attrs);
                    self.expect(RBrace);
                    out.extend(inner);
                } else if matches!(self.kind(), KwStruct | KwUnion | KwEnum | KwAlias) {
                    // Vox accepts attributes on type declarations; none of ours applies to
                    // a type.
                    let mut inner = sticky.clone();
                    self.parse_decl(out, &mut inner);
                } else {
                    self.parse_var_or_func(out, attrs);
                }
            }
            KwStruct | KwUnion => {
                // Members do not inherit the enclosing scope's attributes (as for a local
                // struct): `@extern` never applies to a field or a method with a body.
                if let Some(d) = self.parse_struct(&[]) {
                    out.push(d);
                }
            }
            KwEnum => self.parse_enum(out),
            KwAlias => {
                if let Some(d) = self.parse_alias() {
                    out.push(d);
                }
            }
            HashAssert => {
                if let Some(d) = self.parse_static_assert_decl() {
                    out.push(d);
                }
            }
            k if k.is_basic_type() || k == Ident || k == KwTypeof || k == KwAuto => {
                let attrs = sticky.clone();
                self.parse_var_or_func(out, attrs);
            }
            _ => {
                self.error_expected("a declaration");
                self.bump();
            }
        }
    }

    fn empty_name(&mut self) -> Ident {
        self.interner.intern("")
    }

    /// `struct Name { members }` / `union Name { members }` (also `struct Name;`).
    fn parse_struct(&mut self, sticky: &[(Attr, Span)]) -> Option<DeclId> {
        let is_union = self.bump().kind == TokenKind::KwUnion;
        let (name, span) = self.ident("a struct name")?;
        let members = if self.eat(TokenKind::Semi) {
            Vec::new()
        } else {
            if !self.expect(TokenKind::LBrace) {
                return None;
            }
            if !self.enter() {
                self.leave();
                return None;
            }
            let m = self.parse_decls(TokenKind::RBrace, sticky);
            self.leave();
            self.expect(TokenKind::RBrace);
            m
        };
        Some(self.ast.add_decl(Decl {
            kind: DeclKind::Struct { is_union, members },
            name,
            span,
        }))
    }

    /// The enum forms: `enum X = e;`, `enum T X = e;`, `enum { .. }`, `enum : T { .. }`,
    /// `enum Name { .. }`, `enum Name : T { .. }`, `enum Name;`, `enum Name : T;`.
    fn parse_enum(&mut self, out: &mut Vec<DeclId>) {
        use TokenKind::*;
        let kw = self.bump();
        let kw_span = Span::new(self.file, kw.start, kw.end());
        let (name, span, base) = match self.kind() {
            LBrace => (self.empty_name(), kw_span, None),
            Colon => {
                self.bump();
                let t = self.parse_type();
                (self.empty_name(), kw_span, Some(t))
            }
            Ident if self.kind_at(self.pos + 1) == Eq => {
                let Some((name, span)) = self.ident("a constant name") else {
                    return;
                };
                self.bump(); // =
                let value = self.expr();
                self.expect(Semi);
                out.push(self.ast.add_decl(Decl {
                    kind: DeclKind::EnumConst { ty: None, value },
                    name,
                    span,
                }));
                return;
            }
            Ident if matches!(self.kind_at(self.pos + 1), LBrace | Colon | Semi) => {
                let Some((name, span)) = self.ident("an enum name") else {
                    return;
                };
                let base = if self.eat(Colon) {
                    Some(self.parse_type())
                } else {
                    None
                };
                (name, span, base)
            }
            _ => {
                // `enum T NAME = value;`
                let ty = self.parse_type();
                if self.recovering {
                    return;
                }
                let Some((name, span)) = self.ident("a constant name") else {
                    return;
                };
                if !self.expect(Eq) {
                    return;
                }
                let value = self.expr();
                self.expect(Semi);
                out.push(self.ast.add_decl(Decl {
                    kind: DeclKind::EnumConst {
                        ty: Some(ty),
                        value,
                    },
                    name,
                    span,
                }));
                return;
            }
        };
        if self.recovering {
            return;
        }
        let mut members = Vec::new();
        if !self.eat(Semi) {
            if !self.expect(LBrace) {
                return;
            }
            while self.kind() != RBrace && self.kind() != Eof {
                let Some((mname, mspan)) = self.ident("an enum member name") else {
                    return;
                };
                let init = if self.eat(Eq) {
                    Some(self.expr())
                } else {
                    None
                };
                members.push(self.ast.add_decl(Decl {
                    kind: DeclKind::EnumMember { init },
                    name: mname,
                    span: mspan,
                }));
                if !self.eat(Comma) {
                    break;
                }
            }
            self.expect(RBrace);
        }
        out.push(self.ast.add_decl(Decl {
            kind: DeclKind::Enum { base, members },
            name,
            span,
        }));
    }

    /// `alias Name = Type;`
    fn parse_alias(&mut self) -> Option<DeclId> {
        self.bump();
        let (name, span) = self.ident("an alias name")?;
        if !self.expect(TokenKind::Eq) {
            return None;
        }
        let target = self.parse_type();
        self.expect(TokenKind::Semi);
        Some(self.ast.add_decl(Decl {
            kind: DeclKind::Alias { target },
            name,
            span,
        }))
    }

    /// `#assert(cond)` or `#assert(cond, "message")` and its `;`.
    fn parse_static_assert(&mut self) -> Option<(ExprId, Option<ExprId>, Span)> {
        let start = self.span();
        self.bump();
        if !self.expect(TokenKind::LParen) {
            return None;
        }
        let cond = self.expr();
        let msg = if self.eat(TokenKind::Comma) {
            Some(self.expr())
        } else {
            None
        };
        self.expect(TokenKind::RParen);
        self.expect(TokenKind::Semi);
        Some((cond, msg, start))
    }

    fn parse_static_assert_decl(&mut self) -> Option<DeclId> {
        let (cond, msg, span) = self.parse_static_assert()?;
        let name = self.empty_name();
        Some(self.ast.add_decl(Decl {
            kind: DeclKind::StaticAssert { cond, msg },
            name,
            span,
        }))
    }

    fn parse_attr(&mut self) -> Option<(Attr, Span)> {
        let at = self.bump();
        let start = Span::new(self.file, at.start, at.end());
        let (name, _) = self.ident("attribute name")?;
        if self.interner.get(name) != "extern" {
            let n = self.interner.get(name).to_string();
            self.error(
                start.to(self.prev_span()),
                format!("unknown attribute `@{n}`"),
            );
            return None;
        }
        if !self.expect(TokenKind::LParen) {
            return None;
        }
        let kind_tok = self.tok();
        let kind_text = self.tok_text(kind_tok).to_string();
        if !matches!(kind_tok.kind, TokenKind::Ident | TokenKind::KwModule) {
            self.error_expected("`syscall` or `module`");
            return None;
        }
        self.bump();
        if !self.expect(TokenKind::Comma) {
            return None;
        }
        let attr = match kind_text.as_str() {
            "syscall" => {
                if self.kind() != TokenKind::IntLit {
                    self.error_expected("a syscall number");
                    return None;
                }
                let t = self.bump();
                let (v, _) = decode_int(self.tok_text(t)).unwrap_or((0, None));
                match u32::try_from(v) {
                    Ok(n) => Attr::ExternSyscall(n),
                    Err(_) => {
                        let span = Span::new(self.file, t.start, t.end());
                        self.error(span, "syscall number is too large");
                        return None;
                    }
                }
            }
            "module" => {
                if self.kind() != TokenKind::StrLit {
                    self.error_expected("a module name string");
                    return None;
                }
                let t = self.bump();
                Attr::ExternModule(decode_string(self.tok_text(t)))
            }
            other => {
                let span = Span::new(self.file, kind_tok.start, kind_tok.end());
                self.error(
                    span,
                    format!("unknown `@extern` kind `{other}` (expected `syscall` or `module`)"),
                );
                return None;
            }
        };
        if !self.expect(TokenKind::RParen) {
            return None;
        }
        Some((attr, start.to(self.prev_span())))
    }

    fn parse_static_cond(&mut self) -> Option<StaticCond> {
        let is_version = self.kind() == TokenKind::HashVersion;
        self.bump();
        if !self.expect(TokenKind::LParen) {
            return None;
        }
        let cond = if is_version {
            let (name, span) = self.ident("a version identifier")?;
            StaticCond::Version(name, span)
        } else {
            StaticCond::If(self.expr())
        };
        if !self.expect(TokenKind::RParen) {
            return None;
        }
        Some(cond)
    }

    fn parse_static_if_decl(&mut self, sticky: &mut Vec<(Attr, Span)>) -> Option<DeclId> {
        let span = self.span();
        let cond = self.parse_static_cond()?;
        let then = self.parse_static_branch_decls(sticky);
        let mut els = Vec::new();
        if self.eat(TokenKind::KwElse) {
            if matches!(self.kind(), TokenKind::HashVersion | TokenKind::HashIf) {
                if let Some(d) = self.parse_static_if_decl(sticky) {
                    els.push(d);
                }
            } else {
                els = self.parse_static_branch_decls(sticky);
            }
        }
        let empty = self.interner.intern("");
        Some(self.ast.add_decl(Decl {
            kind: DeclKind::StaticIf { cond, then, els },
            name: empty,
            span,
        }))
    }

    fn parse_static_branch_decls(&mut self, sticky: &mut Vec<(Attr, Span)>) -> Vec<DeclId> {
        if self.eat(TokenKind::LBrace) {
            let inner = self.parse_decls(TokenKind::RBrace, sticky);
            self.expect(TokenKind::RBrace);
            inner
        } else {
            let mut out = Vec::new();
            self.parse_decl(&mut out, sticky);
            out
        }
    }

    fn parse_var_or_func(&mut self, out: &mut Vec<DeclId>, attrs: Vec<(Attr, Span)>) {
        let ty = self.parse_type();
        if self.recovering {
            return;
        }
        let Some((name, name_span)) = self.ident("an identifier") else {
            return;
        };
        if self.kind() == TokenKind::LParen {
            let d = self.parse_func_rest(ty, name, name_span, attrs);
            out.push(d);
        } else {
            self.parse_vars_rest(ty, name, name_span, attrs, out);
        }
    }

    fn parse_func_rest(
        &mut self,
        ret: TypeExprId,
        name: Ident,
        name_span: Span,
        attrs: Vec<(Attr, Span)>,
    ) -> DeclId {
        self.bump(); // (
        let mut params = Vec::new();
        while self.kind() != TokenKind::RParen && self.kind() != TokenKind::Eof {
            let start = self.span();
            let ty = self.parse_type();
            if self.recovering {
                break;
            }
            let mut span = start.to(self.prev_span());
            let pname = if self.kind() == TokenKind::Ident {
                let (n, s) = self.ident("a parameter name").unwrap_or((name, name_span));
                span = s;
                Some(n)
            } else {
                None
            };
            let default = if self.eat(TokenKind::Eq) {
                Some(self.expr())
            } else {
                None
            };
            params.push(Param {
                ty,
                default,
                name: pname,
                span,
            });
            if !self.eat(TokenKind::Comma) {
                break;
            }
        }
        self.expect(TokenKind::RParen);
        let body = if self.recovering || self.eat(TokenKind::Semi) {
            None
        } else if self.kind() == TokenKind::LBrace {
            let outer = self.func_name.replace(name);
            let b = self.parse_block();
            self.func_name = outer;
            Some(b)
        } else {
            self.error_expected("`{` or `;`");
            None
        };
        self.ast.add_decl(Decl {
            kind: DeclKind::Func {
                ret,
                params,
                body,
                attrs,
            },
            name,
            span: name_span,
        })
    }

    fn parse_vars_rest(
        &mut self,
        ty: TypeExprId,
        first: Ident,
        first_span: Span,
        attrs: Vec<(Attr, Span)>,
        out: &mut Vec<DeclId>,
    ) {
        let (mut name, mut span) = (first, first_span);
        loop {
            let init = if self.eat(TokenKind::Eq) {
                Some(self.expr())
            } else {
                None
            };
            out.push(self.ast.add_decl(Decl {
                kind: DeclKind::Var {
                    ty,
                    init,
                    attrs: attrs.clone(),
                },
                name,
                span,
            }));
            if !self.eat(TokenKind::Comma) {
                break;
            }
            match self.ident("an identifier") {
                Some((n, s)) => {
                    name = n;
                    span = s;
                }
                None => return,
            }
        }
        self.expect(TokenKind::Semi);
    }

    // ---- types ----

    fn parse_type(&mut self) -> TypeExprId {
        use TokenKind::*;
        let start = self.span();
        let base = match self.kind() {
            KwVoid => BasicType::Void,
            KwNoreturn => BasicType::Noreturn,
            KwBool => BasicType::Bool,
            KwI8 => BasicType::Int(IntTy::I8),
            KwI16 => BasicType::Int(IntTy::I16),
            KwI32 => BasicType::Int(IntTy::I32),
            KwI64 => BasicType::Int(IntTy::I64),
            KwU8 => BasicType::Int(IntTy::U8),
            KwU16 => BasicType::Int(IntTy::U16),
            KwU32 => BasicType::Int(IntTy::U32),
            KwU64 => BasicType::Int(IntTy::U64),
            KwF32 => BasicType::F32,
            KwF64 => BasicType::F64,
            KwAuto => {
                self.bump();
                return self.ast_add_type(TypeExprKind::Auto, start);
            }
            KwTypeof => {
                self.bump();
                let ok = self.expect(LParen)
                    && if self.kind() == KwNull {
                        self.bump();
                        true
                    } else {
                        // Vox has `typeof(null)` (the type of `null`) but no `typeof` of
                        // an arbitrary expression.
                        let msg = format!(
                            "expected `null`, found {}: Vox has `typeof(null)`, but no \
                             `typeof(expression)`",
                            self.found()
                        );
                        let span = self.span();
                        self.error(span, msg);
                        false
                    }
                    && self.expect(RParen);
                let kind = if ok {
                    TypeExprKind::TypeofNull
                } else {
                    TypeExprKind::Error
                };
                let span = start.to(self.prev_span());
                let id = self.ast_add_type(kind, span);
                return self.type_suffixes(id);
            }
            Ident => {
                let t = self.bump();
                let name = self.interner.intern(self.tok_text(t));
                if self.kind() == Dot && self.kind_at(self.pos + 1) == Ident {
                    let mut parts = vec![(name, start)];
                    while self.kind() == Dot && self.kind_at(self.pos + 1) == Ident {
                        self.bump();
                        let t = self.bump();
                        let n = self.interner.intern(self.tok_text(t));
                        parts.push((n, Span::new(self.file, t.start, t.end())));
                    }
                    let span = start.to(self.prev_span());
                    let id = self.ast_add_type(TypeExprKind::Qualified(parts), span);
                    return self.type_suffixes(id);
                }
                let id = self.ast_add_type(TypeExprKind::Named(name), start);
                return self.type_suffixes(id);
            }
            _ => {
                self.error_expected("a type");
                return self.ast_add_type(TypeExprKind::Error, start);
            }
        };
        self.bump();
        let id = self.ast_add_type(TypeExprKind::Basic(base), start);
        self.type_suffixes(id)
    }

    fn ast_add_type(&mut self, kind: TypeExprKind, span: Span) -> TypeExprId {
        self.ast.add_type(kind, span)
    }

    /// A basic type keyword alone (in expressions: `i32.max`).
    fn parse_basic_type_only(&mut self) -> TypeExprId {
        use TokenKind::*;
        let span = self.span();
        let base = match self.bump().kind {
            KwVoid => BasicType::Void,
            KwNoreturn => BasicType::Noreturn,
            KwBool => BasicType::Bool,
            KwI8 => BasicType::Int(IntTy::I8),
            KwI16 => BasicType::Int(IntTy::I16),
            KwI32 => BasicType::Int(IntTy::I32),
            KwI64 => BasicType::Int(IntTy::I64),
            KwU8 => BasicType::Int(IntTy::U8),
            KwU16 => BasicType::Int(IntTy::U16),
            KwU32 => BasicType::Int(IntTy::U32),
            KwU64 => BasicType::Int(IntTy::U64),
            KwF32 => BasicType::F32,
            _ => BasicType::F64,
        };
        self.ast_add_type(TypeExprKind::Basic(base), span)
    }

    fn type_suffixes(&mut self, mut ty: TypeExprId) -> TypeExprId {
        let start = self.ast.type_expr(ty).span;
        loop {
            match self.kind() {
                TokenKind::Star => {
                    self.bump();
                    ty = self.ast_add_type(TypeExprKind::Ptr(ty), start.to(self.prev_span()));
                }
                TokenKind::LBracket => {
                    self.bump();
                    if self.eat(TokenKind::RBracket) {
                        ty = self.ast_add_type(TypeExprKind::Slice(ty), start.to(self.prev_span()));
                    } else {
                        let n = self.expr();
                        self.expect(TokenKind::RBracket);
                        ty = self
                            .ast_add_type(TypeExprKind::Array(ty, n), start.to(self.prev_span()));
                    }
                }
                TokenKind::KwFunction => {
                    self.bump();
                    if !self.expect(TokenKind::LParen) {
                        return ty;
                    }
                    let mut params = Vec::new();
                    while self.kind() != TokenKind::RParen && self.kind() != TokenKind::Eof {
                        let p = self.parse_type();
                        if self.recovering {
                            return ty;
                        }
                        params.push(p);
                        // An optional parameter name.
                        if self.kind() == TokenKind::Ident {
                            self.bump();
                        }
                        if !self.eat(TokenKind::Comma) {
                            break;
                        }
                    }
                    self.expect(TokenKind::RParen);
                    ty = self.ast_add_type(
                        TypeExprKind::Func { ret: ty, params },
                        start.to(self.prev_span()),
                    );
                }
                _ => return ty,
            }
        }
    }

    /// Token-level check: does a type followed by an identifier start at `pos`?
    fn looks_like_decl(&self) -> bool {
        use TokenKind::*;
        let mut i = self.pos;
        match self.kind_at(i) {
            k if k.is_basic_type() => return true,
            KwTypeof | KwAuto => return true,
            Ident => {
                i += 1;
                while self.kind_at(i) == Dot && self.kind_at(i + 1) == Ident {
                    i += 2;
                }
            }
            _ => return false,
        }
        loop {
            match self.kind_at(i) {
                Star => i += 1,
                LBracket => {
                    let mut depth = 0;
                    loop {
                        match self.kind_at(i) {
                            LBracket => depth += 1,
                            RBracket => {
                                depth -= 1;
                                if depth == 0 {
                                    i += 1;
                                    break;
                                }
                            }
                            Eof | Semi | LBrace | RBrace | DotDot => return false,
                            _ => {}
                        }
                        i += 1;
                    }
                }
                KwFunction => {
                    i += 1;
                    if self.kind_at(i) != LParen {
                        return false;
                    }
                    let mut depth = 0;
                    loop {
                        match self.kind_at(i) {
                            LParen => depth += 1,
                            RParen => {
                                depth -= 1;
                                if depth == 0 {
                                    i += 1;
                                    break;
                                }
                            }
                            Eof | Semi | LBrace | RBrace => return false,
                            _ => {}
                        }
                        i += 1;
                    }
                }
                Ident => return true,
                _ => return false,
            }
        }
    }

    // ---- statements ----

    fn parse_block(&mut self) -> StmtId {
        let start = self.span();
        self.expect(TokenKind::LBrace);
        let stmts = self.parse_stmts_until_rbrace();
        self.expect(TokenKind::RBrace);
        self.ast
            .add_stmt(StmtKind::Block(stmts), start.to(self.prev_span()))
    }

    fn parse_stmts_until_rbrace(&mut self) -> Vec<StmtId> {
        let mut stmts = Vec::new();
        while self.kind() != TokenKind::RBrace && self.kind() != TokenKind::Eof {
            let before = self.pos;
            let s = self.parse_stmt();
            stmts.push(s);
            if self.recovering {
                self.sync();
            }
            if self.pos == before {
                self.bump();
            }
        }
        stmts
    }

    fn parse_stmt(&mut self) -> StmtId {
        if !self.enter() {
            self.leave();
            let span = self.span();
            return self.ast.add_stmt(StmtKind::Empty, span);
        }
        let s = self.parse_stmt_inner();
        self.leave();
        s
    }

    fn parse_stmt_inner(&mut self) -> StmtId {
        use TokenKind::*;
        let start = self.span();
        let kind = match self.kind() {
            LBrace => return self.parse_block(),
            Semi => {
                self.bump();
                StmtKind::Empty
            }
            KwIf => {
                self.bump();
                let cond = self.paren_expr();
                let then = self.parse_stmt();
                let els = if self.eat(KwElse) {
                    Some(self.parse_stmt())
                } else {
                    None
                };
                StmtKind::If { cond, then, els }
            }
            KwWhile => {
                self.bump();
                let cond = self.paren_expr();
                let body = self.parse_stmt();
                StmtKind::While { cond, body }
            }
            KwDo => {
                self.bump();
                let body = self.parse_stmt();
                self.expect(KwWhile);
                let cond = self.paren_expr();
                self.expect(Semi);
                StmtKind::DoWhile { body, cond }
            }
            KwFor => {
                self.bump();
                self.expect(LParen);
                let mut init = Vec::new();
                if !self.eat(Semi) {
                    if self.looks_like_decl() {
                        init.extend(self.parse_local_vars());
                    } else {
                        loop {
                            let e = self.expr();
                            let sp = self.ast.expr(e).span;
                            init.push(self.ast.add_stmt(StmtKind::Expr(e), sp));
                            if !self.eat(Comma) {
                                break;
                            }
                        }
                        self.expect(Semi);
                    }
                }
                let cond = if self.kind() == Semi {
                    None
                } else {
                    Some(self.expr())
                };
                self.expect(Semi);
                let mut step = Vec::new();
                if self.kind() != RParen {
                    loop {
                        step.push(self.expr());
                        if !self.eat(Comma) {
                            break;
                        }
                    }
                }
                self.expect(RParen);
                let body = self.parse_stmt();
                StmtKind::For(Box::new(ForStmt {
                    init,
                    cond,
                    step,
                    body,
                }))
            }
            KwReturn => {
                self.bump();
                let value = if self.kind() == Semi {
                    None
                } else {
                    Some(self.expr())
                };
                self.expect(Semi);
                StmtKind::Return(value)
            }
            KwBreak => {
                self.bump();
                self.expect(Semi);
                StmtKind::Break
            }
            KwContinue => {
                self.bump();
                self.expect(Semi);
                StmtKind::Continue
            }
            HashVersion | HashIf => return self.parse_static_if_stmt(),
            KwSwitch => {
                self.bump();
                let value = self.paren_expr();
                let mut cases = Vec::new();
                let mut default = None;
                if self.expect(LBrace) {
                    while self.kind() != RBrace && self.kind() != Eof && !self.recovering {
                        if self.eat(KwElse) {
                            if default.is_some() {
                                let sp = self.prev_span();
                                self.error(sp, "`switch` has more than one `else` case");
                            }
                            default = Some(self.parse_stmt());
                            continue;
                        }
                        let mut values = vec![self.expr()];
                        while self.eat(Comma) {
                            values.push(self.expr());
                        }
                        if self.recovering {
                            break;
                        }
                        if self.kind() != LBrace {
                            self.error_expected("`{`");
                            break;
                        }
                        let body = self.parse_stmt();
                        cases.push(SwitchCase { values, body });
                    }
                    self.expect(RBrace);
                }
                StmtKind::Switch(Box::new(SwitchStmt {
                    value,
                    cases,
                    default,
                }))
            }
            HashAssert => match self.parse_static_assert() {
                Some((cond, msg, _)) => StmtKind::StaticAssert { cond, msg },
                None => StmtKind::Empty,
            },
            At => return self.parse_attributed_stmt(),
            KwEnum | KwAlias | KwStruct | KwUnion => {
                let mut out = Vec::new();
                match self.kind() {
                    KwEnum => self.parse_enum(&mut out),
                    KwAlias => out.extend(self.parse_alias()),
                    _ => out.extend(self.parse_struct(&[])),
                }
                let stmts: Vec<StmtId> = out
                    .into_iter()
                    .map(|d| {
                        let sp = start.to(self.prev_span());
                        self.ast.add_stmt(StmtKind::Decl(d), sp)
                    })
                    .collect();
                if stmts.len() == 1 {
                    return stmts[0];
                }
                StmtKind::Group(stmts)
            }
            _ if self.looks_like_decl() => return self.parse_local_decl(Vec::new()),
            _ => {
                let e = self.expr();
                self.expect(Semi);
                StmtKind::Expr(e)
            }
        };
        let span = start.to(self.prev_span());
        self.ast.add_stmt(kind, span)
    }

    /// A declaration in a function body starting with a type: variables (`T a = 1, b;`,
    /// a group when there are several: they share the enclosing scope) or a nested
    /// function (`T name(params) { .. }` or body-less `T name(params);`).
    fn parse_local_decl(&mut self, attrs: Vec<(Attr, Span)>) -> StmtId {
        let start = self.span();
        let ty = self.parse_type();
        if self.recovering {
            return self.ast.add_stmt(StmtKind::Empty, start);
        }
        let Some((name, span)) = self.ident("an identifier") else {
            return self.ast.add_stmt(StmtKind::Empty, start);
        };
        if self.kind() == TokenKind::LParen {
            let d = self.parse_func_rest(ty, name, span, attrs);
            let sp = start.to(self.prev_span());
            return self.ast.add_stmt(StmtKind::Decl(d), sp);
        }
        let mut decls = Vec::new();
        self.parse_vars_rest(ty, name, span, attrs, &mut decls);
        let mut vars: Vec<StmtId> = decls
            .into_iter()
            .map(|d| {
                let sp = start.to(self.prev_span());
                self.ast.add_stmt(StmtKind::Var(d), sp)
            })
            .collect();
        if vars.len() == 1 {
            return vars.pop().unwrap_or(StmtId(0));
        }
        let sp = start.to(self.prev_span());
        self.ast.add_stmt(StmtKind::Group(vars), sp)
    }

    /// Attributes on a declaration in a function body: `@extern(..) T name(..);` (the
    /// attributes apply to that one declaration; type checking reports those that do not
    /// apply to it). Struct, union, enum and alias declarations accept and ignore them,
    /// as at module level. `@attr:` and `@attr { .. }` are module- and struct-level forms.
    fn parse_attributed_stmt(&mut self) -> StmtId {
        use TokenKind::*;
        let start = self.span();
        let mut attrs = Vec::new();
        while self.kind() == At {
            match self.parse_attr() {
                Some(a) => attrs.push(a),
                None => return self.ast.add_stmt(StmtKind::Empty, start),
            }
        }
        match self.kind() {
            Colon | LBrace => {
                let span = self.span();
                self.error(
                    span,
                    "`@attribute:` and attribute blocks are not allowed in a function body \
                     (put the attribute before each declaration)",
                );
                self.ast.add_stmt(StmtKind::Empty, start)
            }
            KwEnum | KwAlias | KwStruct | KwUnion => self.parse_stmt_inner(),
            _ if self.looks_like_decl() => self.parse_local_decl(attrs),
            _ => {
                self.error_expected("a declaration after the attributes");
                self.ast.add_stmt(StmtKind::Empty, start)
            }
        }
    }

    /// `T a = 1, b;` in a `for` initializer: one statement per variable.
    fn parse_local_vars(&mut self) -> Vec<StmtId> {
        let start = self.span();
        let ty = self.parse_type();
        let mut out = Vec::new();
        let Some((name, span)) = self.ident("an identifier") else {
            return out;
        };
        if self.kind() == TokenKind::LParen {
            self.error(span, "a function cannot be declared in a `for` initializer");
            // Parsed (and dropped) so that the rest of the statement parses normally.
            self.parse_func_rest(ty, name, span, Vec::new());
            return out;
        }
        let mut decls = Vec::new();
        self.parse_vars_rest(ty, name, span, Vec::new(), &mut decls);
        for d in decls {
            let sp = start.to(self.prev_span());
            out.push(self.ast.add_stmt(StmtKind::Var(d), sp));
        }
        out
    }

    fn parse_static_if_stmt(&mut self) -> StmtId {
        let start = self.span();
        let Some(cond) = self.parse_static_cond() else {
            return self.ast.add_stmt(StmtKind::Empty, start);
        };
        let then = self.parse_static_branch_stmts();
        let mut els = Vec::new();
        if self.eat(TokenKind::KwElse) {
            if matches!(self.kind(), TokenKind::HashVersion | TokenKind::HashIf) {
                els.push(self.parse_stmt());
            } else {
                els = self.parse_static_branch_stmts();
            }
        }
        self.ast.add_stmt(
            StmtKind::StaticIf(Box::new(StaticIfStmt { cond, then, els })),
            start.to(self.prev_span()),
        )
    }

    fn parse_static_branch_stmts(&mut self) -> Vec<StmtId> {
        if self.eat(TokenKind::LBrace) {
            let stmts = self.parse_stmts_until_rbrace();
            self.expect(TokenKind::RBrace);
            stmts
        } else {
            vec![self.parse_stmt()]
        }
    }

    // ---- expressions ----

    fn paren_expr(&mut self) -> ExprId {
        self.expect(TokenKind::LParen);
        let e = self.expr();
        self.expect(TokenKind::RParen);
        e
    }

    fn height(&self, e: ExprId) -> u32 {
        let i = e.0.wrapping_sub(self.heights_base) as usize;
        self.heights.get(i).map_or(1, |&h| u32::from(h))
    }

    fn mk(&mut self, kind: ExprKind, span: Span, children: &[ExprId]) -> ExprId {
        let h = 1 + children.iter().map(|&c| self.height(c)).max().unwrap_or(0);
        let id = self.ast.add_expr(kind, span);
        if h > 1 {
            let i = (id.0 - self.heights_base) as usize;
            if i >= self.heights.len() {
                self.heights.resize(i + 1, 1);
            }
            // Children are at most `MAX_NESTING` high (deeper ones became `Error`), so
            // `h` fits.
            self.heights[i] = u16::try_from(h).unwrap_or(u16::MAX);
        }
        if h > MAX_NESTING {
            self.error(span, "expression is nested too deeply");
            return self.ast.add_expr(ExprKind::Error, span);
        }
        id
    }

    pub fn expr(&mut self) -> ExprId {
        if !self.enter() {
            self.leave();
            let span = self.span();
            return self.ast.add_expr(ExprKind::Error, span);
        }
        let e = self.assign_expr();
        self.leave();
        e
    }

    fn assign_expr(&mut self) -> ExprId {
        let lhs = self.binary_expr(1);
        if self.recovering {
            return lhs;
        }
        if let Some(op) = assign_op(self.kind()) {
            self.bump();
            let rhs = self.expr();
            let span = self.ast.expr(lhs).span.to(self.ast.expr(rhs).span);
            return self.mk(ExprKind::Assign { op, lhs, rhs }, span, &[lhs, rhs]);
        }
        lhs
    }

    fn binary_expr(&mut self, min_prec: u8) -> ExprId {
        let mut lhs = self.unary_expr();
        while let Some((prec, op)) = binary_prec(self.kind()) {
            if prec < min_prec || self.recovering {
                break;
            }
            self.bump();
            let rhs = self.binary_expr(prec + 1);
            let span = self.ast.expr(lhs).span.to(self.ast.expr(rhs).span);
            lhs = self.mk(ExprKind::Binary { op, lhs, rhs }, span, &[lhs, rhs]);
        }
        lhs
    }

    fn unary_expr(&mut self) -> ExprId {
        use TokenKind::*;
        let start = self.span();
        let op = match self.kind() {
            Minus => Some(UnaryOp::Neg),
            Tilde => Some(UnaryOp::BitNot),
            Bang => Some(UnaryOp::Not),
            Star => Some(UnaryOp::Deref),
            Amp => Some(UnaryOp::AddrOf),
            PlusPlus => Some(UnaryOp::PreInc),
            MinusMinus => Some(UnaryOp::PreDec),
            Plus => {
                self.bump();
                return self.unary_nested();
            }
            KwCast => {
                self.bump();
                self.expect(LParen);
                let ty = self.parse_type();
                self.expect(RParen);
                let arg = self.unary_nested();
                let span = start.to(self.ast.expr(arg).span);
                return self.mk(ExprKind::Cast { ty, arg }, span, &[arg]);
            }
            _ => None,
        };
        let Some(op) = op else {
            return self.postfix_expr();
        };
        self.bump();
        let arg = self.unary_nested();
        let span = start.to(self.ast.expr(arg).span);
        if op == UnaryOp::Neg {
            match &mut self.ast.exprs[arg.index()].kind {
                ExprKind::IntLit { negative, .. } => {
                    *negative = !*negative;
                    self.ast.exprs[arg.index()].span = span;
                    return arg;
                }
                ExprKind::FloatLit { value, .. } => {
                    *value = Lit64::from_f64(-value.f64());
                    self.ast.exprs[arg.index()].span = span;
                    return arg;
                }
                _ => {}
            }
        }
        self.mk(ExprKind::Unary { op, arg }, span, &[arg])
    }

    fn unary_nested(&mut self) -> ExprId {
        if !self.enter() {
            self.leave();
            let span = self.span();
            return self.ast.add_expr(ExprKind::Error, span);
        }
        let e = self.unary_expr();
        self.leave();
        e
    }

    fn postfix_expr(&mut self) -> ExprId {
        use TokenKind::*;
        let mut e = self.primary_expr();
        loop {
            if self.recovering {
                return e;
            }
            let start = self.ast.expr(e).span;
            match self.kind() {
                LParen => {
                    self.bump();
                    let mut args = Vec::new();
                    let mut names = Vec::new();
                    while self.kind() != RParen && self.kind() != Eof {
                        if self.kind() == Ident && self.kind_at(self.pos + 1) == Colon {
                            let named = self.ident("an argument name");
                            self.bump(); // :
                            names.push(named);
                        } else {
                            names.push(None);
                        }
                        args.push(self.expr());
                        if !self.eat(Comma) {
                            break;
                        }
                        if self.recovering {
                            break;
                        }
                    }
                    self.expect(RParen);
                    let span = start.to(self.prev_span());
                    let mut children = args.clone();
                    children.push(e);
                    names.resize(args.len(), None);
                    let call = CallId(self.ast.calls.len() as u32);
                    self.ast.calls.push(CallExpr {
                        callee: e,
                        args,
                        names,
                    });
                    e = self.mk(ExprKind::Call(call), span, &children);
                }
                LBracket => {
                    self.bump();
                    if self.eat(RBracket) {
                        let span = start.to(self.prev_span());
                        e = self.mk(
                            ExprKind::Slice {
                                base: e,
                                range: None,
                            },
                            span,
                            &[e],
                        );
                        continue;
                    }
                    let index = self.expr();
                    if self.eat(DotDot) {
                        let hi = self.expr();
                        self.expect(RBracket);
                        let span = start.to(self.prev_span());
                        e = self.mk(
                            ExprKind::Slice {
                                base: e,
                                range: Some((index, hi)),
                            },
                            span,
                            &[e, index, hi],
                        );
                    } else {
                        self.expect(RBracket);
                        let span = start.to(self.prev_span());
                        e = self.mk(ExprKind::Index { base: e, index }, span, &[e, index]);
                    }
                }
                Dot => {
                    self.bump();
                    let Some((name, name_span)) = self.ident("a member name") else {
                        return e;
                    };
                    let span = start.to(name_span);
                    e = self.mk(
                        ExprKind::Member {
                            base: e,
                            name,
                            name_start: name_span.start,
                        },
                        span,
                        &[e],
                    );
                }
                // `T*.sizeof`, `S[2]**.alignof`: a pointer type in expression position
                // (stars directly followed by `.` cannot be multiplications).
                Star if self.stars_then_dot() => {
                    let Some(mut ty) = self.expr_as_type(e) else {
                        return e;
                    };
                    while self.kind() == Star {
                        self.bump();
                        ty = self.ast_add_type(TypeExprKind::Ptr(ty), start.to(self.prev_span()));
                    }
                    e = self
                        .ast
                        .add_expr(ExprKind::Type(ty), start.to(self.prev_span()));
                }
                PlusPlus | MinusMinus => {
                    let op = if self.kind() == PlusPlus {
                        UnaryOp::PostInc
                    } else {
                        UnaryOp::PostDec
                    };
                    self.bump();
                    let span = start.to(self.prev_span());
                    e = self.mk(ExprKind::Unary { op, arg: e }, span, &[e]);
                }
                _ => return e,
            }
            if self.recovering {
                return e;
            }
        }
    }

    /// Are the next tokens one or more `*` followed by `.`?
    fn stars_then_dot(&self) -> bool {
        let mut i = self.pos;
        while self.kind_at(i) == TokenKind::Star {
            i += 1;
        }
        i > self.pos && self.kind_at(i) == TokenKind::Dot
    }

    /// The type an expression spells when it is used as one: `S`, `a.b.S`, `S[3]`, `S[]`
    /// (type checking reports names that are not types).
    fn expr_as_type(&mut self, e: ExprId) -> Option<TypeExprId> {
        let span = self.ast.expr(e).span;
        let kind = match self.ast.expr(e).kind.clone() {
            ExprKind::Type(t) => return Some(t),
            ExprKind::Ident(n) => TypeExprKind::Named(n),
            ExprKind::Member { .. } => {
                let mut parts = Vec::new();
                let mut cur = e;
                loop {
                    let x = self.ast.expr(cur);
                    match x.kind {
                        ExprKind::Member {
                            base,
                            name,
                            name_start,
                        } => {
                            parts.push((name, x.member_name_span(name_start)));
                            cur = base;
                        }
                        ExprKind::Ident(n) => {
                            parts.push((n, self.ast.expr(cur).span));
                            break;
                        }
                        _ => {
                            self.error(span, "expected a type before `*.`");
                            return None;
                        }
                    }
                }
                parts.reverse();
                TypeExprKind::Qualified(parts)
            }
            ExprKind::Index { base, index } => TypeExprKind::Array(self.expr_as_type(base)?, index),
            ExprKind::Slice { base, range: None } => TypeExprKind::Slice(self.expr_as_type(base)?),
            _ => {
                self.error(span, "expected a type before `*.`");
                return None;
            }
        };
        Some(self.ast_add_type(kind, span))
    }

    fn primary_expr(&mut self) -> ExprId {
        use TokenKind::*;
        let t = self.tok();
        let span = self.span();
        let kind = match t.kind {
            IntLit => {
                let (value, suffix) = decode_int(self.tok_text(t)).unwrap_or((0, None));
                ExprKind::IntLit {
                    value: Lit64::from_u64(value),
                    negative: false,
                    suffix,
                }
            }
            FloatLit => {
                let (value, suffix) = decode_float(self.tok_text(t)).unwrap_or((0.0, None));
                ExprKind::FloatLit {
                    value: Lit64::from_f64(value),
                    suffix,
                }
            }
            k if k.is_basic_type() => {
                // A type in expression position (`i32.max`, `u8*.sizeof`, `i32[4].sizeof`).
                let ty = self.parse_basic_type_only();
                let ty = self.type_suffixes(ty);
                let span = self.ast.type_expr(ty).span;
                return self.ast.add_expr(ExprKind::Type(ty), span);
            }
            KwTypeof => {
                // `typeof(null)` as an expression (`typeof(null).sizeof`).
                let ty = self.parse_type();
                let span = self.ast.type_expr(ty).span;
                return self.ast.add_expr(ExprKind::Type(ty), span);
            }
            CharLit => ExprKind::CharLit(decode_char(self.tok_text(t)).unwrap_or(0)),
            StrLit => {
                let bytes = decode_string(self.tok_text(t));
                self.ast.strings.push(bytes);
                ExprKind::StrLit(self.ast.strings.len() as u32 - 1)
            }
            KwTrue => ExprKind::BoolLit(true),
            KwFalse => ExprKind::BoolLit(false),
            KwNull => ExprKind::Null,
            Ident => match self.special_keyword(t) {
                Some(kind) => kind,
                None => ExprKind::Ident(self.interner.intern(self.tok_text(t))),
            },
            LParen => {
                self.bump();
                let e = self.expr();
                self.expect(RParen);
                return e;
            }
            LBracket => {
                // Vox's parser has no prefix `[`: there are no array literals.
                self.error(
                    span,
                    "expected an expression, found `[`: Vox has no array literals; \
                     assign the elements one by one",
                );
                return self.ast.add_expr(ExprKind::Error, span);
            }
            _ => {
                self.error_expected("an expression");
                return self.ast.add_expr(ExprKind::Error, span);
            }
        };
        self.bump();
        self.ast.add_expr(kind, span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    /// Lexes and parses one user file; returns (printed AST, error messages).
    pub(crate) fn parse_text(text: &str) -> (String, Vec<String>) {
        let mut sources = SourceFiles::default();
        sources.add(SourceFile::new("main.vx", text, FileOrigin::User));
        let mut front = FrontState::default();
        let mut diags = Diagnostics::default();
        let mut tokens = super::super::token::TokenStore::default();
        super::super::lexer::lex_file(FileId(0), text, &mut tokens.tokens, &mut diags);
        tokens.file_ranges.push((0, tokens.tokens.len() as u32));
        front.tokens = tokens;
        parse_all(&sources, &mut front, &mut diags);
        let printed = super::super::printer::print_all(&front, &sources);
        (
            printed,
            diags
                .render(&sources)
                .lines()
                .filter(|l| l.contains("Error"))
                .map(str::to_string)
                .collect(),
        )
    }

    fn body(printed: &str) -> String {
        printed.lines().skip(1).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn round_trip_through_printer() {
        let src = "module m;\nimport std.io;\n@extern(syscall, 60)\nnoreturn exit(i32 code);\ni32 counter = -5;\ni32 fib(i32 n) {\n\tif (n < 2) return n;\n\treturn fib(n - 1) + fib(n - 2);\n}\n";
        let (printed, errs) = parse_text(src);
        assert!(errs.is_empty(), "{errs:?}");
        // Printing is a fixed point: parse(print(ast)) prints the same text.
        let (again, errs2) = parse_text(&body(&printed));
        assert!(errs2.is_empty(), "{errs2:?}\n{printed}");
        assert_eq!(body(&printed), body(&again));
        assert!(
            printed.contains("@extern(syscall, 60) noreturn exit(i32 code);"),
            "{printed}"
        );
        assert!(
            printed.contains("return fib(n - 1) + fib(n - 2);"),
            "{printed}"
        );
    }

    #[test]
    fn precedence_follows_c() {
        let (p, e) = parse_text(
            "void f() { x = a + b * c << 1 < d == e & f ^ g | h && i || j; y = z = 1; }",
        );
        assert!(e.is_empty(), "{e:?}");
        assert!(
            p.contains("x = ((((((((a + (b * c)) << 1) < d) == e) & f) ^ g) | h) && i) || j;"),
            "{p}"
        );
        assert!(p.contains("y = z = 1;"), "{p}");
        let (p, _) = parse_text("void f() { x = -*p++ + cast(u8)~a[1 .. 2].length; y = &b[0]; }");
        assert!(
            p.contains("x = -(*p++) + cast(u8)(~a[1 .. 2].length);"),
            "{p}"
        );
        assert!(p.contains("y = &b[0];"), "{p}");
    }

    #[test]
    fn statements_and_static_if() {
        let src = "#version(linux) { void a(); } else #version(windows) void b(); else { void c(); }\nvoid f() {\n\tu8[20] d;\n\tu8* p = null;\n\twhile (true) { if (x) break; else continue; }\n\t#version(jit) g(); else { h(); }\n\tfor (i32 i = 0; i < 10; ++i) {}\n}\n";
        let (p, e) = parse_text(src);
        assert!(e.is_empty(), "{e:?}");
        let (again, _) = parse_text(&body(&p));
        assert_eq!(body(&p), body(&again));
        assert!(p.contains("u8[20] d;"), "{p}");
        assert!(p.contains("#version(windows)"), "{p}");
    }

    #[test]
    fn syntax_errors_have_exact_messages() {
        let (_, e) = parse_text("i32 main() {\n\treturn 0\n}\n");
        assert_eq!(e, vec!["main.vx:3:1: Error: expected `;`, found `}`"]);
        let (_, e) = parse_text("i32 main() { i32 x = ; return 1 +; }");
        assert_eq!(
            e,
            vec![
                "main.vx:1:22: Error: expected an expression, found `;`",
                "main.vx:1:34: Error: expected an expression, found `;`"
            ]
        );
        let (_, e) = parse_text("i32 main() {");
        assert_eq!(
            e,
            vec!["main.vx:1:13: Error: expected `}`, found end of file"]
        );
        let (_, e) = parse_text("}");
        assert_eq!(
            e,
            vec!["main.vx:1:1: Error: expected a declaration, found `}`"]
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("i32 x = {}1{};", "(".repeat(100_000), ")".repeat(100_000));
        let (_, e) = parse_text(&deep);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("nested too deeply"));
        let long = format!("i32 x = 1{};", " + 1".repeat(100_000));
        let (_, e) = parse_text(&long);
        assert_eq!(e.len(), 1);
        let blocks = format!("void f() {{ {} }}", "{".repeat(100_000));
        let (_, e) = parse_text(&blocks);
        assert!(!e.is_empty());
        let elses = format!("void f() {{ {} }}", "if (a) b(); else ".repeat(50_000));
        let (_, e) = parse_text(&elses);
        assert!(!e.is_empty());
    }
}
