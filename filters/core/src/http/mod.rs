//! HTTP mechanics independent of any LLM API: Server-Sent Events.

pub mod sse;
