//! The credentials filter's logic: who is calling (tenants, virtual keys), what they may use,
//! and the provider keys the gateway injects (key pools with cooldowns); [`flow`] is the
//! filter's per-request logic.

pub mod client_key;
pub mod credential;
pub mod flow;
pub mod key_config;
pub mod keypool;
pub mod secret;
pub mod sigv4;
pub mod tenant;

#[cfg(test)]
mod flow_tests;
