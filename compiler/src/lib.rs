//! The Meteor compiler. See `compiler/ARCHITECTURE.md` for the code map.

pub mod backend;
pub mod compilation;
pub mod diag;
pub mod front;
pub mod ir;
pub mod passes;
pub mod source;

pub use meteor_linker::Target;
