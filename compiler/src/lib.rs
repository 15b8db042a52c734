//! The Meteor compiler. See `compiler/ARCHITECTURE.md` for the code map.

pub mod backend;
pub mod cli;
pub mod compilation;
pub mod diag;
pub mod front;
pub mod fxhash;
pub mod idmap;
pub mod ir;
pub mod passes;
pub mod session;
pub mod source;
pub mod stdlib;

pub use meteor_linker::Target;
