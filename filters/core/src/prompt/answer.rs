//! The prompt filter on the answer: the policy's response guards on the provider's answer,
//! before the router translates it for the client.
//!
//! A streamed answer is guarded event by event ([`GuardedStream`]): nothing is buffered beyond
//! the bounded hold-back, and a block ends the stream with an error event. A complete (JSON)
//! answer is read whole at its end, through the format-neutral [`ResponseView`]; remote guards
//! hold it while they judge it. When its guards can refuse it, this filter asks the router (next
//! on the response path, and allowed to hold response headers) to hold the headers
//! ([`contract::HOLD_ANSWER_HEADER`]), so that a refusal can still change the status: the body
//! becomes an error in the client's shape and [`contract::ANSWER_STATUS`] tells the router
//! which status. Remote guards see complete answers only: a stream's text has reached the client
//! before a webhook could judge the whole of it (the local guards mask streams as they pass).

use super::checks::{Checks, Conclusion};
use super::flow::{replace_texts, PromptFlow};
use super::guard::events::{self, GuardedStream};
use super::guard::policy::PolicyGuards;
use super::guard::remote::Phase;
use super::guard::{self as guardrail};
use crate::common::error::{ClientError, ErrorKind};
use crate::contract::{self, decision};
use crate::http::host::{Flow, Host, Side};
use crate::http::sse;
use crate::llm::api::WireApi;
use crate::llm::translate::error::ErrorType;
use crate::llm::view::{ResponseView, TextKind};

/// The answer's guard state.
pub enum Answer {
    Stream {
        stream: Box<GuardedStream>,
        out: Vec<u8>,
        recorded: bool,
    },
    Json {
        api: WireApi,
        held: Option<HeldAnswer>,
    },
    /// Nothing in it can be checked, so it is refused — an error event for a stream (`sent`
    /// once), an error status for a complete answer: compressed (`content-encoding`; the router
    /// asks providers for uncompressed answers, this is a provider that ignored it), or a
    /// failover answer whose provider, and so whose API, cannot be told.
    Unreadable {
        api: WireApi,
        stream: bool,
        sent: bool,
        message: String,
    },
}

const UNREADABLE: &str =
    "the provider's answer is compressed (content-encoding), so the gateway cannot check it";

/// A complete answer held while remote guards judge it.
pub struct HeldAnswer {
    checks: Checks,
    view: ResponseView,
    size: usize,
}

impl PromptFlow {
    /// At the response headers: whether and how the answer is guarded.
    pub(super) fn start_answer(&mut self, host: &mut dyn Host) {
        let (prompt, name) = self.chosen();
        let Some(guards) =
            name.as_deref().and_then(|n| prompt.policies.select_by_name(n)).and_then(|p| p.guards.as_ref())
        else {
            return;
        };
        let Some(decision) = &self.decision else { return };
        let headers = host.headers(Side::Response);
        let status: u16 = headers.get(":status").and_then(|s| s.parse().ok()).unwrap_or(0);
        if !(200..300).contains(&status) {
            return; // errors carry no answer text
        }
        let policy = name.unwrap_or_default();
        let stream = headers.get("content-type").is_some_and(sse::is_event_stream);
        let answering = match decision::answering(host, decision, "prompt") {
            Ok(answering) => answering,
            Err(message) => {
                // Whose answer it is cannot be told, so neither can how to read it: refused.
                // The first attempt's API shapes the error event (what the router assumes).
                let api = decision.upstream_api;
                self.refuse_whole_answer(
                    host,
                    Answer::Unreadable { api, stream, sent: false, message },
                    &headers,
                );
                return;
            }
        };
        if answering.api.is_embeddings() {
            return;
        }
        if headers.get("content-encoding").is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity")) {
            log::warn!("policy {policy}: {UNREADABLE}");
            host.remove_header(Side::Response, "content-encoding");
            let message = UNREADABLE.to_string();
            self.refuse_whole_answer(
                host,
                Answer::Unreadable { api: answering.api, stream, sent: false, message },
                &headers,
            );
            return;
        }
        if stream {
            if guards.response.is_empty() {
                return;
            }
            let Some(stream) = GuardedStream::new(answering.api, &policy, guards.hold_back) else { return };
            self.answer = Some(Answer::Stream { stream: Box::new(stream), out: Vec::new(), recorded: false });
        } else {
            if guards.can_refuse_answer() {
                host.set_header(Side::Response, contract::HOLD_ANSWER_HEADER, "1");
            }
            self.answer = Some(Answer::Json { api: answering.api, held: None });
        }
        if headers.get("content-length").is_some() {
            host.remove_header(Side::Response, "content-length");
        }
    }

    pub(super) fn guard_answer(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let (prompt, name) = self.chosen();
        let policy = name.unwrap_or_default();
        let Some(guards) = prompt.policies.select_by_name(&policy).and_then(|p| p.guards.as_ref()) else {
            return Flow::Continue;
        };
        match &mut self.answer {
            None => Flow::Continue,
            Some(Answer::Unreadable { api, stream: true, sent, message }) => {
                let mut out = Vec::new();
                if !*sent {
                    *sent = true;
                    events::error_event(*api, ErrorType::Server, message, &mut out);
                }
                host.replace_body(Side::Response, size, &out);
                Flow::Continue
            }
            Some(Answer::Unreadable { .. }) if !end_of_stream => Flow::Pause,
            Some(Answer::Unreadable { message, .. }) => {
                let message = std::mem::take(message);
                self.refuse_answer(host, &policy, size, 502, &message);
                Flow::Continue
            }
            Some(Answer::Stream { stream, out, recorded }) => {
                out.clear();
                let chunk = host.body(Side::Response, size).unwrap_or_default();
                if let Err(e) = stream.push(&guards.response, &chunk, out) {
                    log::warn!("guarded stream: {e}");
                }
                if end_of_stream {
                    stream.finish(&guards.response, out);
                }
                host.replace_body(Side::Response, size, out);
                if (end_of_stream || stream.report().blocked_by.is_some()) && !*recorded {
                    *recorded = true;
                    let report = stream.report().clone();
                    self.outcome.local(host, &policy, Phase::Response, &report);
                    self.outcome.publish(host, &policy);
                }
                Flow::Continue
            }
            Some(Answer::Json { .. }) if !end_of_stream => Flow::Pause,
            Some(Answer::Json { api, .. }) => {
                let api = *api;
                let body = host.body(Side::Response, size).unwrap_or_default();
                if !guards.remote_in(Phase::Response) && !guards.response.may_match_json(&body) {
                    return Flow::Continue; // no text of it can match: not even parsed
                }
                let mut view = match ResponseView::parse(api, &body) {
                    Ok(view) => view,
                    Err(e) => {
                        // Not an answer the view can read: the router decides what it is.
                        log::debug!("answer not guarded: {}", e.0);
                        return Flow::Continue;
                    }
                };
                if !guards.response.is_empty() {
                    let report = guardrail::apply_to_texts(&guards.response, |f| view.texts_mut(f));
                    self.outcome.local(host, &policy, Phase::Response, &report);
                    if let Some(guard) = &report.blocked_by {
                        let message = format!("response blocked by policy `{policy}`: guard `{guard}`");
                        self.refuse_answer(host, &policy, size, guards.block_status, &message);
                        return Flow::Continue;
                    }
                }
                if guards.remote_in(Phase::Response) {
                    let mut texts: Vec<(TextKind, String)> = Vec::new();
                    view.texts(&mut |kind, text| texts.push((kind, text.to_string())));
                    let at = format!("policies.{policy}.guards");
                    let checks = Checks::start(host, guards, &at, Phase::Response, &texts, &self.forwarded);
                    if checks.pending() {
                        if let Some(Answer::Json { held, .. }) = &mut self.answer {
                            *held = Some(HeldAnswer { checks, view, size });
                        }
                        return Flow::Pause;
                    }
                    self.conclude_answer(host, &policy, guards, &checks, view, size);
                    return Flow::Continue;
                }
                self.outcome.publish(host, &policy);
                if let Some(bytes) = view.into_bytes() {
                    host.replace_body(Side::Response, size, &bytes);
                }
                Flow::Continue
            }
        }
    }

    /// The answer will be refused whole ([`Answer::Unreadable`]): a complete one is held so
    /// its status can still change, and its length will.
    fn refuse_whole_answer(
        &mut self,
        host: &mut dyn Host,
        answer: Answer,
        headers: &crate::http::host::Headers,
    ) {
        if matches!(answer, Answer::Unreadable { stream: false, .. }) {
            host.set_header(Side::Response, contract::HOLD_ANSWER_HEADER, "1");
        }
        if headers.get("content-length").is_some() {
            host.remove_header(Side::Response, "content-length");
        }
        self.answer = Some(answer);
    }

    /// A remote guard answered about the held answer.
    pub(super) fn on_answer_call(&mut self, host: &mut dyn Host, token: u32, body_size: usize) {
        let (prompt, name) = self.chosen();
        let policy = name.unwrap_or_default();
        let Some(guards) = prompt.policies.select_by_name(&policy).and_then(|p| p.guards.as_ref()) else {
            return;
        };
        let Some(Answer::Json { held: slot @ Some(_), .. }) = &mut self.answer else { return };
        let Some(mut held) = slot.take() else { return };
        if !held.checks.answer(host, guards, token, body_size) || held.checks.pending() {
            *slot = Some(held);
            return;
        }
        let HeldAnswer { checks, view, size } = held;
        self.conclude_answer(host, &policy, guards, &checks, view, size);
        host.resume(Side::Response);
    }

    fn conclude_answer(
        &mut self,
        host: &mut dyn Host,
        policy: &str,
        guards: &PolicyGuards,
        checks: &Checks,
        mut view: ResponseView,
        size: usize,
    ) {
        match checks.conclude(host, guards, policy, &mut self.outcome) {
            Conclusion::Pass => {}
            Conclusion::Mask(texts) => replace_texts(&mut view, texts),
            Conclusion::Reject { status, message } => {
                let message = format!("response blocked by policy `{policy}`: {message}");
                self.refuse_answer(host, policy, size, status, &message);
                return;
            }
            Conclusion::Unavailable(message) => {
                let status = ClientError::new(ErrorKind::Unavailable, "").status();
                self.refuse_answer(host, policy, size, status, &message);
                return;
            }
        }
        self.outcome.publish(host, policy);
        if let Some(bytes) = view.into_bytes() {
            host.replace_body(Side::Response, size, &bytes);
        }
    }

    /// Replaces the held answer with an error in the client's shape; the router answers it
    /// with `status`.
    fn refuse_answer(&mut self, host: &mut dyn Host, policy: &str, size: usize, status: u16, message: &str) {
        log::debug!("{message}");
        self.outcome.publish(host, policy);
        let body = ClientError::for_status(status, message).body(self.shape);
        host.set_filter_state(contract::ANSWER_STATUS, status.to_string().as_bytes());
        host.replace_body(Side::Response, size, &body);
    }
}
