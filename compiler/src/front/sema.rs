//! Semantic tables shared by resolve, typeck and irgen. They are side tables indexed by
//! AST ids, so the AST itself stays immutable after parsing.

use crate::fxhash::HashMap;
use crate::idmap::IdMap;

use super::Ident;
use super::ast::{DeclId, ExprId, StmtId, TypeExprId};
use super::types::TypeId;
use crate::diag::Span;
use crate::source::FileId;

super::index_type!(ModuleId);
super::index_type!(LocalId);

#[derive(Debug)]
pub struct ModuleInfo {
    /// Dotted name (`std.io`).
    pub name: String,
    pub file: FileId,
    /// The module's declarations after `#version`/`#if` selection (no static ifs, no
    /// imports; anonymous enums are kept, their members are in `scope`).
    pub decls: Vec<DeclId>,
    /// Module-level names: functions (possibly several overloads), variables, types,
    /// constants.
    pub scope: HashMap<Ident, Vec<DeclId>>,
    pub imports: Vec<ModuleId>,
    /// Reachable from the user files through imports (only those are compiled).
    pub reachable: bool,
}

/// The members of a struct or union after static-if selection.
#[derive(Debug, Default, Clone)]
pub struct StructScope {
    /// Members in order (fields, methods, nested declarations).
    pub decls: Vec<DeclId>,
    pub scope: HashMap<Ident, Vec<DeclId>>,
}

/// A local variable or parameter.
#[derive(Debug, Clone)]
pub struct LocalInfo {
    pub name: Ident,
    pub span: Span,
    pub func: DeclId,
    /// `Some(i)` for the function's `i`-th parameter.
    pub param: Option<u32>,
}

/// What an identifier (or a member expression naming a declaration) refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Res {
    Unresolved,
    Local(LocalId),
    /// A module variable.
    Global(DeclId),
    /// One or more functions: `Typed::overload_sets[i]` (called with no arguments when
    /// not in callee position).
    Funcs(u32),
    /// A constant (enum member, manifest constant, `.sizeof`, ...): its value is in
    /// `expr_const`/`expr_fconst`/`expr_str`.
    Const,
    /// A type used as an expression.
    Type(TypeId),
    /// A field of the implicit `this` of a method: (`this` local, field index).
    ThisField(LocalId, u32),
    /// A module named by its full name (`std.io` in `std.io.println(..)`).
    Module(ModuleId),
    /// A prefix of module names (`std` in `std.io.println(..)`): `Typed::packages[i]`.
    Package(u32),
}

#[derive(Default, Debug)]
pub struct Sema {
    pub modules: Vec<ModuleInfo>,
    /// Module of every active declaration (members of structs included).
    pub decl_module: HashMap<DeclId, ModuleId>,
    /// Enclosing struct of struct members; enclosing enum of enum members.
    pub parent: HashMap<DeclId, DeclId>,
    /// Members of every active struct/union.
    pub structs: HashMap<DeclId, StructScope>,
    /// Functions to compile (reachable modules only, methods included), in source order.
    pub funcs: Vec<DeclId>,
    /// Module variables to compile, in source order.
    pub globals: Vec<DeclId>,
    /// Every other active declaration of reachable modules that typeck must check
    /// (structs, enums, constants, aliases, `#assert`s).
    pub others: Vec<DeclId>,
}

/// A function's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncSig {
    pub params: Vec<TypeId>,
    pub ret: TypeId,
    /// Methods: the struct `this` points to (passed first, as a pointer).
    pub this: Option<TypeId>,
}

/// How a function is provided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FuncKind {
    Defined,
    /// Body-less: from the JIT host, linked objects, or `library`.
    External {
        library: Option<String>,
    },
    Syscall(u32),
}

/// Where an argument of a resolved call comes from, in parameter (or field) order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSrc {
    Expr(ExprId),
    /// A default value (a constant expression of the callee or of the struct field).
    Default(ExprId),
    /// A struct field without a default value: zero.
    Zero,
}

/// How the `this` pointer of a method call is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThisArg {
    /// The address of this struct-valued expression.
    Addr(ExprId),
    /// This pointer-valued expression.
    Ptr(ExprId),
    /// The caller's own `this` (a method calling a method of the same struct).
    Implicit(LocalId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    Direct(DeclId),
    /// Through the function pointer computed by this expression.
    Indirect(ExprId),
    /// Construction of this struct.
    Ctor(DeclId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInfo {
    pub callee: Callee,
    pub this: Option<ThisArg>,
    pub args: Vec<ArgSrc>,
}

/// What a member expression `base.name` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberRes {
    /// A field at `offset` of the aggregate `base` is (or points to, `through_ptr`).
    /// Slices' `length` (offset 0) and `ptr` (offset 8) are fields too.
    Field { offset: u64, through_ptr: bool },
    /// `.ptr` of a static array (its address).
    ArrayPtr { through_ptr: bool },
    /// A constant (`.length` of arrays, `.sizeof`, enum members...).
    Const,
}

/// Results of type checking.
#[derive(Default, Debug)]
pub struct Typed {
    /// Per `ExprId`: the expression's own type.
    pub expr_ty: Vec<TypeId>,
    /// Per `ExprId`: the type the expression is implicitly converted to where it is used
    /// (equal to `expr_ty` when there is no conversion).
    pub expr_target: Vec<TypeId>,
    /// Per `ExprId`: what identifiers refer to.
    pub expr_res: Vec<Res>,
    /// Integer value of constant expressions (in `expr_ty`'s range; bools are 0/1).
    pub expr_const: IdMap<ExprId, i128>,
    /// Value of float constant expressions (rounded to `expr_ty`).
    pub expr_fconst: IdMap<ExprId, f64>,
    /// Constant expressions naming a string constant: index into `Ast::strings`.
    pub expr_str: IdMap<ExprId, u32>,
    /// Resolved calls (also identifiers and members that call without parentheses).
    pub calls: IdMap<ExprId, CallInfo>,
    pub members: IdMap<ExprId, MemberRes>,
    /// `&f`: the function whose address is taken.
    pub func_refs: IdMap<ExprId, DeclId>,
    pub overload_sets: Vec<Vec<DeclId>>,
    pub locals: Vec<LocalInfo>,
    /// Per `LocalId`.
    pub local_ty: Vec<TypeId>,
    /// Per `LocalId`: its address is taken (or it is an aggregate): lives in memory.
    pub local_in_memory: Vec<bool>,
    /// Parameters of each function (unnamed ones too), in order.
    pub func_params: IdMap<DeclId, Vec<LocalId>>,
    /// The `this` local of each method.
    pub func_this: IdMap<DeclId, LocalId>,
    /// The local of each local variable declaration.
    pub var_local: IdMap<DeclId, LocalId>,
    pub func_sig: IdMap<DeclId, FuncSig>,
    pub func_kind: IdMap<DeclId, FuncKind>,
    /// Functions declared in function bodies (nested functions and member functions of
    /// structs declared in bodies), in the order type checking met them; compiled after
    /// `Sema::funcs`. Their symbols are `<enclosing function's symbol>.<name>`
    /// (`main.main.helper`, `main.main.Point.len`), with `.2`, `.3`... appended to a
    /// name already used in the same enclosing function.
    pub local_funcs: Vec<DeclId>,
    /// Symbol name of each function (`main.fib`, `std.io.print(u64)`, `ExitProcess`).
    pub func_symbol: IdMap<DeclId, String>,
    pub global_ty: IdMap<DeclId, TypeId>,
    /// Compound assignments (`a op= b`): the type the operation is computed in (the
    /// result is then converted back to the left side's type).
    pub assign_op_ty: IdMap<ExprId, TypeId>,
    /// Which branch each statement-level `#version`/`#if` takes.
    pub static_if_taken: IdMap<StmtId, bool>,
    /// Resolved type expressions.
    pub type_of: IdMap<TypeExprId, TypeId>,
    /// The user's `main`.
    pub main: Option<DeclId>,
    /// Module name prefixes named in qualified names (`Res::Package`).
    pub packages: Vec<String>,
}

impl Typed {
    pub fn res(&self, e: ExprId) -> Res {
        self.expr_res
            .get(e.index())
            .copied()
            .unwrap_or(Res::Unresolved)
    }
}
