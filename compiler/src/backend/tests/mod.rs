//! Back-end tests.

mod build;
mod encoder;
mod exe;
mod exec;
mod regalloc;
