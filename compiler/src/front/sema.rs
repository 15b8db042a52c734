//! Semantic tables shared by resolve, typeck and irgen. They are side tables indexed by
//! AST ids, so the AST itself stays immutable after parsing.

use std::collections::HashMap;

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
    /// imports).
    pub decls: Vec<DeclId>,
    /// Module-level names: functions (possibly several overloads) and variables.
    pub scope: HashMap<Ident, Vec<DeclId>>,
    pub imports: Vec<ModuleId>,
    /// Reachable from the user files through imports (only those are compiled).
    pub reachable: bool,
}

/// A local variable or parameter.
#[derive(Debug, Clone)]
pub struct LocalInfo {
    pub name: Ident,
    pub span: Span,
    pub ty: TypeExprId,
    pub func: DeclId,
    /// `Some(i)` for the function's `i`-th parameter.
    pub param: Option<u32>,
}

/// What an identifier expression refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Res {
    Unresolved,
    Local(LocalId),
    /// A module variable.
    Global(DeclId),
    /// One or more functions: `Sema::overload_sets[i]`.
    Funcs(u32),
}

#[derive(Default, Debug)]
pub struct Sema {
    pub modules: Vec<ModuleInfo>,
    /// Module of every active declaration.
    pub decl_module: HashMap<DeclId, ModuleId>,
    /// Functions to compile (reachable modules only), in source order.
    pub funcs: Vec<DeclId>,
    /// Module variables to compile, in source order.
    pub globals: Vec<DeclId>,
    pub locals: Vec<LocalInfo>,
    /// Parameters of each function (unnamed ones too), in order.
    pub func_params: HashMap<DeclId, Vec<LocalId>>,
    /// The local of each local variable declaration.
    pub var_local: HashMap<DeclId, LocalId>,
    /// Per `ExprId`; `Unresolved` for non-identifiers.
    pub expr_res: Vec<Res>,
    pub overload_sets: Vec<Vec<DeclId>>,
    /// Which branch each statement-level `#version`/`#if` takes.
    pub static_if_taken: HashMap<StmtId, bool>,
}

impl Sema {
    pub fn res(&self, e: ExprId) -> Res {
        self.expr_res
            .get(e.index())
            .copied()
            .unwrap_or(Res::Unresolved)
    }
}

/// A function's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncSig {
    pub params: Vec<TypeId>,
    pub ret: TypeId,
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

/// Results of type checking.
#[derive(Default, Debug)]
pub struct Typed {
    /// Per `ExprId`: the expression's own type.
    pub expr_ty: Vec<TypeId>,
    /// Per `ExprId`: the type the expression is implicitly converted to where it is used
    /// (equal to `expr_ty` when there is no conversion).
    pub expr_target: Vec<TypeId>,
    /// Integer value of constant expressions (in `expr_ty`'s range; bools are 0/1).
    pub expr_const: HashMap<ExprId, i128>,
    /// The overload chosen for each call expression.
    pub call_target: HashMap<ExprId, DeclId>,
    /// Per `LocalId`.
    pub local_ty: Vec<TypeId>,
    /// Per `LocalId`: lives in a stack slot (address taken, or a static array).
    pub local_in_memory: Vec<bool>,
    pub func_sig: HashMap<DeclId, FuncSig>,
    pub func_kind: HashMap<DeclId, FuncKind>,
    /// Symbol name of each function (`main.fib`, `std.io.print(u64)`, `ExitProcess`).
    pub func_symbol: HashMap<DeclId, String>,
    pub global_ty: HashMap<DeclId, TypeId>,
    /// Compound assignments (`a op= b`): the type the operation is computed in (the
    /// result is then truncated/converted to the left side's type).
    pub assign_op_ty: HashMap<ExprId, TypeId>,
    /// The user's `main`.
    pub main: Option<DeclId>,
}
