//! The prompt filter's logic: decorators.

pub mod decorate;
