//! The credentials filter's logic: who is calling (tenants, virtual keys), what they may use,
//! and the provider keys the gateway injects (key pools with cooldowns).

pub mod credential;
pub mod keypool;
pub mod tenant;
