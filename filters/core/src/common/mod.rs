//! What every part of the gateway shares: config parsing with field paths, errors answered to
//! clients in their API's shape, and metric names that carry labels.

pub mod binding;
pub mod config;
pub mod error;
pub mod metric;
