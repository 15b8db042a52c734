//! The front end: source text → tokens → AST → resolved, typed AST → SSA IR.

pub mod irgen;
pub mod lexer;
pub mod parser;
pub mod resolve;
pub mod typeck;

/// Everything the front-end passes produce for later passes.
#[derive(Default)]
pub struct FrontState {}
