//! Back-end tests.

mod encoder;
