//! The credentials filter's logic: who is calling (tenants, virtual keys), what they may use,
//! and the provider keys the gateway injects (key pools with cooldowns, or short-lived tokens from
//! the cloud's identity endpoint: [`identity`]); [`flow`] is the filter's per-request logic.

pub mod aws;
pub mod client_key;
pub mod credential;
mod fetch;
pub mod flow;
pub mod identity;
pub mod key_config;
pub mod keypool;
pub mod sigv4;
pub mod tenant;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod identity_flow_tests;
#[cfg(test)]
mod sign_flow_tests;
