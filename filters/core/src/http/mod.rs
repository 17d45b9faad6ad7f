//! HTTP mechanics independent of any LLM API: the host port every filter flow talks to Envoy
//! through ([`host`], and its in-memory twin [`fake_host`]), Server-Sent Events and AWS's binary
//! event stream ([`eventstream`]).

pub mod eventstream;
pub mod eventstream_sse;
pub mod fake_host;
pub mod foreign;
pub mod host;
pub mod sse;
