//! What every part of the gateway shares: config parsing with field paths (and load-time
//! warnings), errors answered to clients in their API's shape, metric names that carry labels,
//! model-name globs, and secrets that never print themselves.

pub mod binding;
pub mod config;
pub mod error;
pub mod glob;
pub mod metric;
pub mod secret;
