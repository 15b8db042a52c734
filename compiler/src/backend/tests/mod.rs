//! Back-end tests.

mod abi;
mod build;
mod encoder;
mod exe;
mod exec;
mod float;
mod memcopy;
mod pipeline;
mod regalloc;
mod switch;
