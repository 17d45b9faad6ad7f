//! HTTP mechanics independent of any LLM API: the host port every filter flow talks to Envoy
//! through ([`host`], and its in-memory twin [`fake_host`]), and Server-Sent Events.

pub mod fake_host;
pub mod foreign;
pub mod host;
pub mod sse;
