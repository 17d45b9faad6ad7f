//! The LLM APIs: which API a request speaks, provider facts, typed wire formats, translation
//! between them (JSON and streams), and token usage as each provider reports it.

pub mod api;
pub mod hidden_usage;
pub mod ir;
pub mod model_name;
pub mod provider;
pub mod translate;
pub mod usage;
pub mod view;
pub mod wire;
