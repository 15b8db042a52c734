//! The front end: source text → tokens → AST → resolved, typed AST → SSA IR.
//!
//! Code map (each pass is `pub fn run(c: &mut Compilation)`):
//! - [`lexer`]: every source file → one token array ([`token`]), comments dropped.
//! - [`prefault`]: while lexing and parsing, a helper thread faults in the reserved token
//!   and AST arrays ahead of the main thread (kernel page zeroing, on the idle core);
//!   while names are resolved, another faults in type checking's per-expression tables
//!   (`warmup`).
//! - [`parser`]: tokens → AST ([`ast`], all nodes in arenas indexed by `u32` newtypes).
//!   Only user files and the modules they (transitively) import are parsed.
//!   [`printer`] turns the AST back into Vox source for `--print-ast`.
//! - [`resolve`]: modules, imports, `#version`/`#if` selection, scopes, every identifier →
//!   a local, a module variable or an overload set ([`sema`]).
//! - [`typeck`]: types ([`types`]), implicit conversions, overload resolution, constant
//!   values, control-flow checks (missing `return`).
//! - [`irgen`]: typed AST → SSA IR (Braun et al., [`ssa`]), plus the synthesized entry.
//!   One [`ssa::Builder`] serves every function (`reset` keeps its tables' allocations;
//!   `finish` moves the instructions into the function's `Body`). When it is done,
//!   `irgen::run` frees this whole `FrontState`: no later pass reads it, and the back end
//!   then reuses its memory.
//!
//! Invariants: a pass only runs when every earlier pass reported no error, so later passes
//! may rely on the tables of earlier ones being complete for every reachable declaration.
//! After IR generation, `Compilation::front` is empty.

pub mod ast;
pub mod irgen;
pub mod lexer;
pub mod parser;
pub mod prefault;
pub mod printer;
pub mod resolve;
pub mod sema;
pub mod ssa;
pub mod token;
pub mod typeck;
pub mod types;

use crate::fxhash::HashMap;

/// Declares a `u32` index newtype.
macro_rules! index_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
        impl crate::idmap::DenseId for $name {
            #[inline]
            fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}
pub(crate) use index_type;

index_type!(
    /// An interned identifier.
    Ident
);

/// Identifier interner: every distinct name is stored once.
#[derive(Default, Debug)]
pub struct Interner {
    map: HashMap<Box<str>, Ident>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Ident {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = Ident(self.names.len() as u32);
        self.names.push(s.into());
        self.map.insert(s.into(), id);
        id
    }

    pub fn get(&self, id: Ident) -> &str {
        &self.names[id.index()]
    }

    /// Looks a name up without interning it.
    pub fn lookup(&self, s: &str) -> Option<Ident> {
        self.map.get(s).copied()
    }
}

/// Everything the front-end passes produce for later passes.
#[derive(Default)]
pub struct FrontState {
    pub interner: Interner,
    /// Tokens of every file (lexer).
    pub tokens: token::TokenStore,
    /// The AST of every parsed file (parser).
    pub ast: ast::Ast,
    /// Modules, scopes and name bindings (resolve).
    pub sema: sema::Sema,
    /// Type arena (typeck).
    pub types: types::Types,
    /// Types, conversions and call targets of expressions (typeck).
    pub typed: sema::Typed,
    /// Faults in the per-expression tables of `typed` (reserved by the parser, filled by
    /// type checking) on the idle core while names are resolved; joined by IR generation.
    pub warmup: Option<prefault::Prefault>,
}

/// Maximum nesting of expressions/statements before the parser reports an error instead
/// of risking a stack overflow.
pub const MAX_NESTING: u32 = 256;

/// Runs the front end (lex, parse, resolve, type check and, when those succeed, IR
/// generation) on one user source file plus the standard library, for the JIT on
/// linux-x64; returns the rendered diagnostics. Used by the `frontend` fuzz target: it
/// must never panic, whatever `text` is.
pub fn check_source(text: &str) -> String {
    use crate::compilation::{Compilation, Options};
    use crate::source::{FileOrigin, SourceFile, SourceFiles};
    let mut sources = SourceFiles::default();
    sources.add(SourceFile::new("main.vx", text, FileOrigin::User));
    for (path, t) in meteor_std::FILES {
        sources.add(SourceFile::new(
            format!("std/{}", path.trim_start_matches("std/")),
            *t,
            FileOrigin::Std,
        ));
    }
    let mut c = Compilation::new(Options::new(meteor_linker::Target::LinuxX64, true), sources);
    for pass in [
        lexer::run,
        parser::run,
        resolve::run,
        typeck::run,
        irgen::run,
    ] {
        pass(&mut c);
        if c.diags.has_errors() {
            break;
        }
    }
    c.diags.render(&c.sources)
}
