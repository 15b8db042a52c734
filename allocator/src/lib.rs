//! Meteor's allocator runtime (being written).
#![no_std]
