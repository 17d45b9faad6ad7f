//! The credentials filter's logic: who is calling (tenants, virtual keys), what they may use,
//! and the provider keys the gateway injects (key pools with cooldowns); [`flow`] is the
//! filter's per-request logic.

pub mod credential;
pub mod flow;
pub mod keypool;
pub mod tenant;

#[cfg(test)]
mod flow_tests;
