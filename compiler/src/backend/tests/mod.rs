//! Back-end tests.

mod build;
mod encoder;
mod exec;
