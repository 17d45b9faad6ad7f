//! Retrieval-augmented generation at the gateway: for requests whose policy has `retrieval`, the
//! prompt filter embeds the client's question ([`embed`]), asks a vector store for the nearest
//! documents ([`store`]: Chroma's HTTP API, or any service speaking the generic retrieval
//! contract), and adds them to the prompt through the format-neutral view ([`context`]). The
//! calls are `dispatch_http_call`s to Envoy clusters, each with a timeout; [`lookup`] is the
//! chain of them for one request. What a failure means is the policy's `failureMode`.
//!
//! The embeddings call is an OpenAI `/v1/embeddings` request. Pointed at the gateway's own
//! listener (the shipped configs' `portcullis-self` cluster) it is routed, keyed by the
//! credentials filter and accounted by the usage filter like any client's: the provider key stays
//! in the credentials filter, and the prompt filter holds at most a gateway (virtual) key, read
//! from the VM's environment.

pub mod context;
pub mod embed;
pub mod lookup;
pub mod record;
pub mod store;

use crate::common::config::ConfigError;
use crate::prompt::guard::remote::FailureMode;
use context::{Cap, Injection, Placement};
use embed::{Embeddings, EmbeddingsConfig};
use serde::Deserialize;
use store::{Store, StoreConfig};

/// A policy's `retrieval` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrievalConfig {
    /// How the question is embedded. Required by Chroma; optional for an `http` store that
    /// embeds the query itself.
    #[serde(default)]
    pub embeddings: Option<EmbeddingsConfig>,
    pub store: StoreConfig,
    /// Documents asked for (and at most injected).
    #[serde(default = "default_top_k")]
    pub top_k: u32,
    /// Documents scoring below this are dropped (Chroma: 1 − cosine distance).
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Cap on the injected context, in characters.
    #[serde(default)]
    pub max_context_chars: Option<usize>,
    /// Cap on the injected context, in tokens (estimated at 4 characters each: the prompt
    /// filter carries no tokenizer).
    #[serde(default)]
    pub max_context_tokens: Option<usize>,
    /// The injected text; `{{context}}` (required) and `{{question}}`.
    #[serde(default = "context::default_template")]
    pub template: String,
    /// `system` (default) or `user` (a user message right before the question).
    #[serde(default)]
    pub placement: Placement,
    /// How many of the last user turns make the query (a follow-up question often means little
    /// without the one before it); joined by newlines.
    #[serde(default = "one")]
    pub query_turns: usize,
    /// Queries longer than this are cut (at a character boundary) before they are embedded.
    #[serde(default = "default_max_query_chars")]
    pub max_query_chars: usize,
    /// `open` (default): answer without context when retrieval fails; `closed`: 503.
    #[serde(default = "open")]
    pub failure_mode: FailureMode,
    /// Adds `x-portcullis-rag-documents` (the injected documents' ids) to the answer.
    #[serde(default)]
    pub documents_header: bool,
}

fn default_top_k() -> u32 {
    3
}

fn one() -> usize {
    1
}

/// Bound on `queryTurns`.
const MAX_QUERY_TURNS: usize = 20;

fn default_max_query_chars() -> usize {
    4096
}

fn open() -> FailureMode {
    FailureMode::Open
}

const MAX_TOP_K: u32 = 100;
/// Context cap when the policy names none.
pub const DEFAULT_MAX_CONTEXT_CHARS: usize = 8000;

/// A compiled `retrieval` block.
#[derive(Debug)]
pub struct Retrieval {
    pub embeddings: Option<Embeddings>,
    pub store: Store,
    pub top_k: u32,
    pub min_score: Option<f64>,
    pub injection: Injection,
    pub query_turns: usize,
    pub max_query_chars: usize,
    pub failure_mode: FailureMode,
    pub documents_header: bool,
}

impl Retrieval {
    pub fn compile(
        c: RetrievalConfig,
        at: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if c.top_k == 0 || c.top_k > MAX_TOP_K {
            return Err(ConfigError::new(format!("{at}.topK"), format!("1 to {MAX_TOP_K}")));
        }
        if let Some(score) = c.min_score {
            if !score.is_finite() || !(-1.0..=1.0).contains(&score) {
                return Err(ConfigError::new(format!("{at}.minScore"), "a score from -1 to 1"));
            }
        }
        if c.query_turns == 0 || c.query_turns > MAX_QUERY_TURNS {
            return Err(ConfigError::new(format!("{at}.queryTurns"), format!("1 to {MAX_QUERY_TURNS}")));
        }
        if c.max_query_chars == 0 {
            return Err(ConfigError::new(format!("{at}.maxQueryChars"), "must be at least 1"));
        }
        let cap = Cap::compile(c.max_context_chars, c.max_context_tokens, at)?;
        let injection = Injection::compile(&c.template, c.placement, cap, &format!("{at}.template"))?;
        let embeddings =
            c.embeddings.map(|e| Embeddings::compile(e, &format!("{at}.embeddings"), env)).transpose()?;
        let store = Store::compile(c.store, &format!("{at}.store"), env)?;
        if store.needs_vector() && embeddings.is_none() {
            return Err(ConfigError::new(
                format!("{at}.embeddings"),
                "required: this store is queried by vector",
            ));
        }
        Ok(Self {
            embeddings,
            store,
            top_k: c.top_k,
            min_score: c.min_score,
            injection,
            query_turns: c.query_turns,
            max_query_chars: c.max_query_chars,
            failure_mode: c.failure_mode,
            documents_header: c.documents_header,
        })
    }
}

/// One document the store returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub text: String,
    pub score: f64,
}

#[cfg(test)]
mod tests;
