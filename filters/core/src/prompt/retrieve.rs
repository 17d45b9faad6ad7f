//! The prompt flow's retrieval step ([`super::rag`]): after the request's edits and guards, so
//! a question a guard blocks or masks never reaches the embeddings provider or the store, and
//! the injected context — the organisation's own documents — is not judged as client input. The
//! request is held while the calls run; the body is written once, with the context in it.

use super::flow::PromptFlow;
use super::guard::remote::FailureMode;
use super::rag::lookup::{Lookup, Progress};
use super::rag::record::{self, Outcome};
use super::rag::{context::Injection, Document, Retrieval};
use crate::common::error::{ClientError, ErrorKind};
use crate::http::host::{self, Flow, Host, Side};
use crate::llm::view::RequestView;

/// A request held while its retrieval runs.
pub(super) struct Retrieving {
    lookup: Lookup,
    request: Asked,
}

/// The request a retrieval is for.
struct Asked {
    view: RequestView,
    size: usize,
    question: String,
    started_ns: u64,
}

impl PromptFlow {
    /// Sends the body, after retrieval if the policy has one (which holds the request: `Pause`).
    pub(super) fn finish(&mut self, host: &mut dyn Host, mut view: RequestView, size: usize) -> Flow {
        let (prompt, name) = self.chosen();
        let policy = name.as_deref().and_then(|n| prompt.policies.select_by_name(n));
        let Some((policy, retrieval)) = policy.and_then(|p| Some((p, p.retrieval.as_ref()?))) else {
            self.send(host, view, size);
            return Flow::Continue;
        };
        if view.api().is_embeddings() {
            // Embeddings have no prompt (and the retrieval's own embeddings call comes this way).
            self.send(host, view, size);
            return Flow::Continue;
        }
        let turns = view.user_turns();
        let recent = turns.get(turns.len().saturating_sub(retrieval.query_turns)..).unwrap_or_default();
        let question = recent.join("\n");
        if question.trim().is_empty() {
            record::publish(host, &policy.name, Outcome::Skipped, &[], None);
            self.rag_documents = Some(None);
            self.send(host, view, size);
            return Flow::Continue;
        }
        let question = cut(question, retrieval.max_query_chars);
        let request = Asked { view, size, question, started_ns: host.now_nanos() };
        match Lookup::start(host, retrieval, &policy.name, &request.question) {
            Ok(lookup) => {
                self.retrieving = Some(Retrieving { lookup, request });
                Flow::Pause
            }
            Err(why) => {
                log::error!("policies.{}.retrieval.{why}", policy.name);
                self.retrieved(host, &policy.name, retrieval, Err(why), request)
            }
        }
    }

    /// An answer to one of the retrieval's calls: the next call, or the request goes on.
    /// `false`: not a retrieval call.
    pub(super) fn on_retrieval_call(&mut self, host: &mut dyn Host, token: u32, body_size: usize) -> bool {
        let Some(mut held) = self.retrieving.take() else { return false };
        let (prompt, name) = self.chosen();
        let Some((policy, retrieval)) = name
            .as_deref()
            .and_then(|n| prompt.policies.select_by_name(n))
            .and_then(|p| Some((p, p.retrieval.as_ref()?)))
        else {
            return false;
        };
        match held.lookup.answer(host, retrieval, &policy.name, &held.request.question, token, body_size) {
            Progress::NotMine => {
                self.retrieving = Some(held);
                false
            }
            Progress::Pending => {
                self.retrieving = Some(held);
                true
            }
            Progress::Done(result) => {
                let flow = self.retrieved(host, &policy.name, retrieval, result, held.request);
                if flow == Flow::Continue {
                    host.resume(Side::Request);
                }
                true
            }
        }
    }

    /// What the retrieval found, applied: context injected, or the failure mode's answer.
    fn retrieved(
        &mut self,
        host: &mut dyn Host,
        policy: &str,
        retrieval: &Retrieval,
        result: Result<Vec<Document>, String>,
        request: Asked,
    ) -> Flow {
        let Asked { mut view, size, question, started_ns } = request;
        let duration_ms = Some(host.now_nanos().saturating_sub(started_ns) / 1_000_000);
        self.rag_documents = Some(None);
        let documents = match result {
            Ok(documents) => Injection::select(documents, retrieval.min_score, retrieval.top_k),
            Err(why) => {
                log::warn!("policy {policy}: retrieval: {why}");
                record::publish(host, policy, Outcome::Error, &[], duration_ms);
                if retrieval.failure_mode == FailureMode::Closed {
                    let err = ClientError::new(ErrorKind::Unavailable, "retrieval is unavailable");
                    host::send_error(host, &err, self.shape);
                    return Flow::Pause;
                }
                self.send(host, view, size);
                return Flow::Continue;
            }
        };
        let (context, used) = retrieval.injection.render_context(&documents);
        if used.is_empty() {
            record::publish(host, policy, Outcome::Empty, &[], duration_ms);
            self.send(host, view, size);
            return Flow::Continue;
        }
        if let Err(e) =
            retrieval.injection.inject(&mut view, &retrieval.injection.render(&context, &question))
        {
            record::publish(host, policy, Outcome::Error, &[], duration_ms);
            host::send_error(host, &ClientError::new(ErrorKind::InvalidRequest, e.0), self.shape);
            return Flow::Pause;
        }
        log::debug!("policy {policy}: retrieval: {} documents injected", used.len());
        record::publish(host, policy, Outcome::Hit, &used, duration_ms);
        if retrieval.documents_header {
            self.rag_documents = Some(Some(record::header_value(&used)));
        }
        self.send(host, view, size);
        Flow::Continue
    }
}

/// The question, at most `max` characters.
fn cut(mut question: String, max: usize) -> String {
    if let Some((at, _)) = question.char_indices().nth(max) {
        question.truncate(at);
    }
    question
}
