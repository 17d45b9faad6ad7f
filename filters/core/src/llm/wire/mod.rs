//! Typed wire formats of the chat APIs, one module per API, nothing else.
//!
//! These are the shapes on the wire, not a common model: translation ([`crate::llm::translate`]) is
//! where one becomes another. Every struct a client or provider may extend keeps the fields it
//! does not model in `rest` (`#[serde(flatten)]`), so parsing and re-serialising a body never
//! drops a field. Numbers a client chose (temperature, top_p …) are kept as
//! [`serde_json::Number`] so `1` stays `1` and `0.7` stays `0.7`.
//!
//! Streaming views are not here: stream translation parses only the few fields it needs from
//! each event, borrowing from the event's bytes (see `translate::stream`).

pub mod anthropic;
pub mod bedrock;
pub mod bedrock_embeddings;
pub mod gemini;
pub mod openai;

/// Fields a wire struct does not model, kept verbatim.
pub type Rest = serde_json::Map<String, serde_json::Value>;

/// For provider responses: a `null` where a value was expected reads as the default, as a
/// missing field does (compatible servers are loose about this).
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
