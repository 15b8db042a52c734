//! The AST: expressions, statements, declarations and type expressions, each in its own
//! arena (`Vec`) indexed by a `u32` newtype. Nodes refer to each other by id, never by
//! pointer. Conditional compilation (`#version`, `#if`) is kept in the tree; resolve picks
//! the branch.

use super::Ident;
use super::types::{FloatTy, IntTy};
use crate::diag::Span;
use crate::source::FileId;

super::index_type!(ExprId);
super::index_type!(StmtId);
super::index_type!(DeclId);
super::index_type!(TypeExprId);
super::index_type!(CallId);

/// A 64-bit literal payload (an integer, or the bits of an `f64`) kept as two `u32`
/// halves, so that [`ExprKind`] stays 4-byte aligned and [`Expr`] 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lit64([u32; 2]);

impl Lit64 {
    pub fn from_u64(v: u64) -> Self {
        Lit64([v as u32, (v >> 32) as u32])
    }
    pub fn from_f64(v: f64) -> Self {
        Lit64::from_u64(v.to_bits())
    }
    pub fn u64(self) -> u64 {
        u64::from(self.0[0]) | (u64::from(self.0[1]) << 32)
    }
    pub fn f64(self) -> f64 {
        f64::from_bits(self.u64())
    }
}

impl std::fmt::Debug for Lit64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.u64())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    /// `>>>`: logical shift right whatever the signedness.
    UShr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
}

impl BinaryOp {
    pub fn text(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
            And => "&",
            Or => "|",
            Xor => "^",
            Shl => "<<",
            Shr => ">>",
            UShr => ">>>",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            AndAnd => "&&",
            OrOr => "||",
        }
    }

    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }

    pub fn is_shift(self) -> bool {
        matches!(self, BinaryOp::Shl | BinaryOp::Shr | BinaryOp::UShr)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    /// `~`
    BitNot,
    /// `!`
    Not,
    /// `*p`
    Deref,
    /// `&x`
    AddrOf,
    PreInc,
    PreDec,
    PostInc,
    PostDec,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal; `-` directly before a literal is folded into `negative`.
    IntLit {
        value: Lit64,
        negative: bool,
        suffix: Option<IntTy>,
    },
    /// A floating-point literal (`1.5`, `2e3`, `42_f32`); `-` before it is folded in.
    FloatLit {
        /// The bits of the `f64` value.
        value: Lit64,
        suffix: Option<FloatTy>,
    },
    /// A character literal (type `u8`).
    CharLit(u8),
    /// A string literal: its decoded bytes are `Ast::strings[index]`.
    StrLit(u32),
    BoolLit(bool),
    Null,
    Ident(Ident),
    /// A basic type used as an expression (`i32.max`, `u8.sizeof`).
    Type(TypeExprId),
    Unary {
        op: UnaryOp,
        arg: ExprId,
    },
    Binary {
        op: BinaryOp,
        lhs: ExprId,
        rhs: ExprId,
    },
    /// `lhs = rhs` (`op: None`) or `lhs op= rhs`.
    Assign {
        op: Option<BinaryOp>,
        lhs: ExprId,
        rhs: ExprId,
    },
    /// `callee(args)`, out of line (in `Ast::calls`) so that every other expression stays
    /// small.
    Call(CallId),
    Index {
        base: ExprId,
        index: ExprId,
    },
    /// `base[lo .. hi]`, or `base[]` with both `None`.
    Slice {
        base: ExprId,
        range: Option<(ExprId, ExprId)>,
    },
    /// `base.name`: the name starts at `name_start` and ends where the expression ends
    /// (see [`Expr::member_name_span`]).
    Member {
        base: ExprId,
        name: Ident,
        name_start: u32,
    },
    Cast {
        ty: TypeExprId,
        arg: ExprId,
    },
    /// Placeholder after a syntax error.
    Error,
}

/// `callee(args)`; `names[i]` is `Some` for a named argument `name: value`.
#[derive(Clone, Debug, PartialEq)]
pub struct CallExpr {
    pub callee: ExprId,
    pub args: Vec<ExprId>,
    pub names: Vec<Option<(Ident, Span)>>,
}

/// 32 bytes (`ExprKind` 20 + `Span` 12, all 4-byte aligned); checked below, since the
/// parser makes one per few tokens and every later front-end pass walks them.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

const _: () = assert!(std::mem::size_of::<Expr>() <= 32);

impl Expr {
    /// The span of a member expression's name (`name_start` of `ExprKind::Member`): from
    /// there to the end of the expression, in its file.
    pub fn member_name_span(&self, name_start: u32) -> Span {
        Span::new(self.span.file, name_start, self.span.end)
    }
}

/// The condition of `#version(...)` / `#if(...)`.
#[derive(Clone, Debug, PartialEq)]
pub enum StaticCond {
    Version(Ident, Span),
    If(ExprId),
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Expr(ExprId),
    /// A local variable declaration (a `DeclKind::Var`).
    Var(DeclId),
    Block(Vec<StmtId>),
    If {
        cond: ExprId,
        then: StmtId,
        els: Option<StmtId>,
    },
    While {
        cond: ExprId,
        body: StmtId,
    },
    DoWhile {
        body: StmtId,
        cond: ExprId,
    },
    /// `for (init; cond; step) body` (boxed, like the other rare big statements, so that
    /// every statement stays small).
    For(Box<ForStmt>),
    Return(Option<ExprId>),
    Break,
    Continue,
    /// `#version`/`#if` in a function body. The branches do not introduce a scope.
    StaticIf(Box<StaticIfStmt>),
    /// Statements that share the enclosing scope (`i32 a, b;` declares two variables).
    Group(Vec<StmtId>),
    /// `switch (value) { 1, 2 { ... } 3 { ... } else { ... } }` (Vox form: no fallthrough).
    Switch(Box<SwitchStmt>),
    /// `#assert(cond, "message");`
    StaticAssert {
        cond: ExprId,
        msg: Option<ExprId>,
    },
    /// A declaration in a function body other than a variable (`enum`, `alias`).
    Decl(DeclId),
    /// `;`
    Empty,
}

/// `for (init; cond; step) body`: `init` holds declarations/expression statements.
#[derive(Clone, Debug, PartialEq)]
pub struct ForStmt {
    pub init: Vec<StmtId>,
    pub cond: Option<ExprId>,
    pub step: Vec<ExprId>,
    pub body: StmtId,
}

/// `#version`/`#if` in a function body.
#[derive(Clone, Debug, PartialEq)]
pub struct StaticIfStmt {
    pub cond: StaticCond,
    pub then: Vec<StmtId>,
    pub els: Vec<StmtId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SwitchStmt {
    pub value: ExprId,
    pub cases: Vec<SwitchCase>,
    pub default: Option<StmtId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SwitchCase {
    pub values: Vec<ExprId>,
    pub body: StmtId,
}

/// 48 bytes (`StmtKind` 32 + `Span` 12, padded); checked below, since a body has a
/// statement per line or so.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

const _: () = assert!(std::mem::size_of::<Stmt>() <= 48);

#[derive(Clone, Debug, PartialEq)]
pub enum BasicType {
    Void,
    Noreturn,
    Bool,
    Int(IntTy),
    F32,
    F64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    Basic(BasicType),
    Named(Ident),
    /// `a.b.C`: a type inside a struct or a module.
    Qualified(Vec<(Ident, Span)>),
    /// `typeof(null)`
    TypeofNull,
    Ptr(TypeExprId),
    Slice(TypeExprId),
    Array(TypeExprId, ExprId),
    /// `ret function(params)`: a function pointer.
    Func {
        ret: TypeExprId,
        params: Vec<TypeExprId>,
    },
    /// `auto`: the type of the initializer.
    Auto,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

/// An attribute such as `@extern(syscall, 60)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    ExternSyscall(u32),
    ExternModule(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub ty: TypeExprId,
    /// Default value (`i32 b = 4`).
    pub default: Option<ExprId>,
    /// `None` for unnamed parameters (allowed in body-less declarations).
    pub name: Option<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DeclKind {
    Func {
        ret: TypeExprId,
        params: Vec<Param>,
        body: Option<StmtId>,
        attrs: Vec<(Attr, Span)>,
    },
    Var {
        ty: TypeExprId,
        init: Option<ExprId>,
        attrs: Vec<(Attr, Span)>,
    },
    Import {
        path: Vec<Ident>,
    },
    /// Module-level `#version`/`#if`; braces around a branch do not introduce a scope.
    StaticIf {
        cond: StaticCond,
        then: Vec<DeclId>,
        els: Vec<DeclId>,
    },
    /// `struct Name { members }` or `union Name { members }`: fields (`Var`), methods
    /// (`Func`), nested types, constants, static ifs.
    Struct {
        is_union: bool,
        members: Vec<DeclId>,
    },
    /// A named enum (`enum Name : base { a, b = 5 }`, or body-less `enum Name;`) or, with
    /// an empty name, an anonymous one whose members are constants of the enclosing scope.
    /// Members are `EnumMember` declarations.
    Enum {
        base: Option<TypeExprId>,
        members: Vec<DeclId>,
    },
    /// A member of an enum; its value is `init` or the previous member's plus one.
    EnumMember {
        init: Option<ExprId>,
    },
    /// A manifest constant: `enum X = 3;`, `enum i32 Y = 4;`.
    EnumConst {
        ty: Option<TypeExprId>,
        value: ExprId,
    },
    /// `alias Name = Type;` (or another symbol's name).
    Alias {
        target: TypeExprId,
    },
    /// `#assert(cond, "message");` at module or struct level.
    StaticAssert {
        cond: ExprId,
        msg: Option<ExprId>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub kind: DeclKind,
    /// The declared name (empty for imports and static ifs).
    pub name: Ident,
    /// Span of the name (or of the whole import / directive).
    pub span: Span,
}

/// What the parser produced for one file.
#[derive(Clone, Debug, Default)]
pub struct FileAst {
    pub parsed: bool,
    /// `module a.b;`
    pub module: Option<(Vec<Ident>, Span)>,
    pub decls: Vec<DeclId>,
}

/// All AST nodes of the compilation.
#[derive(Default, Debug)]
pub struct Ast {
    pub exprs: Vec<Expr>,
    /// The call expressions' callees and arguments (`ExprKind::Call` indexes this).
    pub calls: Vec<CallExpr>,
    pub stmts: Vec<Stmt>,
    pub decls: Vec<Decl>,
    pub type_exprs: Vec<TypeExpr>,
    /// Decoded string literal bytes.
    pub strings: Vec<Vec<u8>>,
    /// Per `FileId`.
    pub files: Vec<FileAst>,
}

impl Ast {
    pub fn expr(&self, e: ExprId) -> &Expr {
        &self.exprs[e.index()]
    }
    pub fn call(&self, c: CallId) -> &CallExpr {
        &self.calls[c.index()]
    }
    pub fn stmt(&self, s: StmtId) -> &Stmt {
        &self.stmts[s.index()]
    }
    pub fn decl(&self, d: DeclId) -> &Decl {
        &self.decls[d.index()]
    }
    pub fn type_expr(&self, t: TypeExprId) -> &TypeExpr {
        &self.type_exprs[t.index()]
    }
    pub fn file(&self, f: FileId) -> Option<&FileAst> {
        self.files.get(f.0 as usize)
    }
    pub fn add_expr(&mut self, kind: ExprKind, span: Span) -> ExprId {
        self.exprs.push(Expr { kind, span });
        ExprId(self.exprs.len() as u32 - 1)
    }
    pub fn add_stmt(&mut self, kind: StmtKind, span: Span) -> StmtId {
        self.stmts.push(Stmt { kind, span });
        StmtId(self.stmts.len() as u32 - 1)
    }
    pub fn add_decl(&mut self, decl: Decl) -> DeclId {
        self.decls.push(decl);
        DeclId(self.decls.len() as u32 - 1)
    }
    pub fn add_type(&mut self, kind: TypeExprKind, span: Span) -> TypeExprId {
        self.type_exprs.push(TypeExpr { kind, span });
        TypeExprId(self.type_exprs.len() as u32 - 1)
    }
}
