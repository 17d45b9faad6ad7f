//! The provider's (or Envoy's) answer, in the client's API: JSON or SSE, error or not.
//!
//! Decided once, at the response headers (by [`super::flow::RouterFlow`]), applied chunk by chunk
//! ([`ResponseBody::on_body`]).
//! Bodies that must be read whole to be rendered — a translated JSON answer, any error — hold
//! the response headers until the body is complete, so that an answer that turns out
//! untranslatable can still become a 502 in the client's shape with a correct
//! `content-length`, instead of an empty 200 (a status cannot change once the headers left).
//! Streams are never held: they are translated event by event as they pass.

use crate::common::error::ClientError;
use crate::common::error::ErrorKind;
use crate::contract;
use crate::http::host::{Flow, Host, Side};
use crate::llm::api::WireApi;
use crate::llm::hidden_usage::UsageChunkFilter;
use crate::llm::translate::{self, AnswerContext, StreamTranslator};

/// Where an error response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The provider, speaking this API.
    Provider(WireApi),
    /// Envoy itself: a local reply such as 413 (body over the buffer limit), 503 "upstream
    /// connect error", 504 "upstream request timeout". Its body is plain text.
    Envoy,
}

/// Bound on Envoy's plain-text message quoted to the client.
const MAX_QUOTED: usize = 512;

pub enum ResponseBody {
    /// Passes as it is.
    Pass,
    /// A complete JSON answer: translated at the end if `from` is not the client's API (with
    /// what the request and the headers told: `context`), and, if `guarded`, answered with the
    /// prompt filter's refusal status when it refused it ([`contract::ANSWER_STATUS`]).
    Json { from: WireApi, model: String, guarded: bool, context: AnswerContext },
    /// An error, rendered in the client's shape at the end (unchanged if it already is).
    Error { origin: Origin, status: u16 },
    /// SSE, translated chunk by chunk.
    Stream(Box<StreamTranslator>, Vec<u8>),
    /// The client's own API, minus the usage chunk the gateway asked for on its behalf.
    HideUsage(UsageChunkFilter, Vec<u8>),
}

impl ResponseBody {
    /// The content type the client receives, where it changes.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            ResponseBody::Stream(..) => Some("text/event-stream"),
            ResponseBody::Json { .. } | ResponseBody::Error { .. } => Some("application/json"),
            ResponseBody::Pass | ResponseBody::HideUsage(..) => None,
        }
    }

    /// Whether the response headers wait for the whole body.
    pub fn holds_headers(&self) -> bool {
        matches!(self, ResponseBody::Json { .. } | ResponseBody::Error { .. })
    }

    /// Handles one body callback. `to` is the client's API. Returns what Envoy should do and,
    /// for the log, what went wrong.
    pub fn on_body(
        &mut self,
        host: &mut dyn Host,
        to: WireApi,
        size: usize,
        end_of_stream: bool,
    ) -> (Flow, Option<String>) {
        match self {
            ResponseBody::Pass => (Flow::Continue, None),
            ResponseBody::Stream(translator, out) => {
                out.clear();
                let chunk = host.body(Side::Response, size).unwrap_or_default();
                let mut problem = translator.push(&chunk, out).err().map(|e| e.message);
                if end_of_stream {
                    if let Err(e) = translator.finish(out) {
                        problem.get_or_insert(e.message);
                    }
                }
                host.replace_body(Side::Response, size, out);
                (Flow::Continue, problem)
            }
            ResponseBody::HideUsage(filter, out) => {
                out.clear();
                let chunk = host.body(Side::Response, size).unwrap_or_default();
                let problem = filter.push(&chunk, out).err().map(|_| "oversized SSE event".to_string());
                if end_of_stream {
                    filter.finish(out);
                }
                host.replace_body(Side::Response, size, out);
                (Flow::Continue, problem)
            }
            ResponseBody::Json { .. } | ResponseBody::Error { .. } if !end_of_stream => (Flow::Pause, None),
            ResponseBody::Json { from, model, guarded, context } => {
                if *guarded {
                    if let Some(status) = refused(host) {
                        // The body is the prompt filter's error, already in the client's shape.
                        host.set_header(Side::Response, ":status", &status.to_string());
                        let length = host.body(Side::Response, size).map_or(0, |b| b.len());
                        host.set_header(Side::Response, "content-length", &length.to_string());
                        return (Flow::Continue, None);
                    }
                }
                let body = host.body(Side::Response, size).unwrap_or_default();
                if *from == to {
                    host.set_header(Side::Response, "content-length", &body.len().to_string());
                    return (Flow::Continue, None);
                }
                match translate::response_with(*from, to, &body, model, context) {
                    Ok(translated) => {
                        replace_held(host, size, &translated);
                        (Flow::Continue, None)
                    }
                    Err(e) => {
                        // The provider said something we cannot read: a 502 in the client's
                        // shape (with the provider's own message if the body was an error)
                        // rather than a body its SDK cannot parse.
                        let problem =
                            format!("the provider's response could not be translated: {}", e.message);
                        let rendered = match translate::error::ProviderError::parse_known(*from, 502, &body) {
                            Some(err) => err.render(to, 502),
                            None => ClientError::new(ErrorKind::BadGateway, problem.clone())
                                .body(to.error_shape()),
                        };
                        host.set_header(Side::Response, ":status", "502");
                        replace_held(host, size, &rendered);
                        (Flow::Continue, Some(problem))
                    }
                }
            }
            ResponseBody::Error { origin, status } => {
                let body = host.body(Side::Response, size).unwrap_or_default();
                let rendered = match origin {
                    Origin::Provider(from) => translate::error_for_client(*from, to, *status, &body),
                    // Already in the client's shape when the bootstrap's `local_reply_config`
                    // rendered it (see envoy-configs/); otherwise Envoy's plain text.
                    Origin::Envoy if translate::error::in_shape(to, &body) => None,
                    Origin::Envoy => Some(envoy_reply(*status, &body).body(to.error_shape())),
                };
                match rendered {
                    Some(rendered) => replace_held(host, size, &rendered),
                    None => {
                        host.set_header(Side::Response, "content-length", &body.len().to_string());
                    }
                }
                (Flow::Continue, None)
            }
        }
    }
}

/// The status of an answer the prompt filter refused, if it did.
fn refused(host: &mut dyn Host) -> Option<u16> {
    let status = host.filter_state(contract::ANSWER_STATUS)?;
    std::str::from_utf8(&status).ok()?.parse().ok().filter(|s| (400..=599).contains(s))
}

/// Replaces a body whose headers are still held, with its exact length.
fn replace_held(host: &mut dyn Host, size: usize, body: &[u8]) {
    host.set_header(Side::Response, "content-length", &body.len().to_string());
    host.replace_body(Side::Response, size, body);
}

/// Envoy's own local reply (plain text) as a client error keeping its status.
pub fn envoy_reply(status: u16, body: &[u8]) -> ClientError {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut end = text.len().min(MAX_QUOTED);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    let quoted = text.get(..end).unwrap_or_default();
    let message = match status {
        413 => "the request body is larger than the gateway accepts".to_string(),
        431 => "the request headers are larger than the gateway accepts".to_string(),
        _ if quoted.is_empty() => format!("the gateway answered HTTP {status}"),
        _ => format!("the gateway answered HTTP {status}: {quoted}"),
    };
    ClientError::for_status(status, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_replies_keep_their_status_and_text() {
        let e = envoy_reply(
            503,
            b"upstream connect error or disconnect/reset before headers. reset reason: connection failure",
        );
        assert_eq!((e.status(), e.kind), (503, ErrorKind::Unavailable));
        assert!(e.message.contains("upstream connect error"), "{}", e.message);
        assert_eq!(envoy_reply(504, b"upstream request timeout").status(), 504);
        assert_eq!(envoy_reply(413, b"Payload Too Large").kind, ErrorKind::PayloadTooLarge);
        assert_eq!(envoy_reply(502, b"").message, "the gateway answered HTTP 502");
        let long = envoy_reply(500, "é".repeat(1000).as_bytes());
        assert!(long.message.len() < 600);
    }
}
