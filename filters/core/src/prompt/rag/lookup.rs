//! One request's retrieval as calls in flight: embed the question (when the policy embeds),
//! resolve Chroma's collection id (once per worker, and again when a query finds it gone),
//! query the store. Each answer starts the next call; the last one yields the documents. Every failure is a message for the log and the
//! policy's failure mode, never a panic: no answer, a non-2xx status, a body that is not what the
//! contract says, a cluster Envoy does not know.

use super::embed;
use super::store::StoreCall;
use super::{Document, Retrieval};
use crate::http::host::Host;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Embed,
    Resolve,
    Query,
}

/// Where a lookup stands after an answer.
#[derive(Debug)]
pub enum Progress {
    /// The answer was to another call.
    NotMine,
    /// The next call is on its way.
    Pending,
    Done(Result<Vec<Document>, String>),
}

#[derive(Debug)]
pub struct Lookup {
    step: Step,
    token: u32,
    vector: Option<Vec<f32>>,
    /// Chroma answered a query 404 once (the collection was re-created): resolved again.
    resolved_again: bool,
}

impl Lookup {
    /// Starts the first call. `Err`: it could not start.
    pub fn start(
        host: &mut dyn Host,
        retrieval: &Retrieval,
        policy: &str,
        question: &str,
    ) -> Result<Self, String> {
        let mut lookup = Self { step: Step::Embed, token: 0, vector: None, resolved_again: false };
        match &retrieval.embeddings {
            Some(embeddings) => {
                lookup.token = embeddings
                    .call(question)
                    .dispatch(host)
                    .map_err(|e| format!("embeddings.cluster: {e}"))?;
                Ok(lookup)
            }
            None => match lookup.next_store_call(host, retrieval, policy, question) {
                Progress::Done(Err(why)) => Err(why),
                _ => Ok(lookup),
            },
        }
    }

    /// Takes the answer to call `token` (`question`: the one the lookup started with).
    pub fn answer(
        &mut self,
        host: &mut dyn Host,
        retrieval: &Retrieval,
        policy: &str,
        question: &str,
        token: u32,
        body_size: usize,
    ) -> Progress {
        if token != self.token {
            return Progress::NotMine;
        }
        let (status, body) = host.call_response(body_size);
        match self.step {
            Step::Embed => match embed::vector(status, &body) {
                Ok(v) => {
                    self.vector = Some(v);
                    self.next_store_call(host, retrieval, policy, question)
                }
                Err(why) => Progress::Done(Err(why)),
            },
            Step::Resolve => match retrieval.store.resolved(status, &body) {
                Ok(()) => self.next_store_call(host, retrieval, policy, question),
                Err(why) => Progress::Done(Err(why)),
            },
            Step::Query => match retrieval.store.documents(status, &body) {
                // The store forgot the collection's id: find the new one, once.
                Err(_) if status == Some(404) && retrieval.store.resolves_ids() && !self.resolved_again => {
                    self.resolved_again = true;
                    self.next_store_call(host, retrieval, policy, question)
                }
                result => Progress::Done(result),
            },
        }
    }

    fn next_store_call(
        &mut self,
        host: &mut dyn Host,
        retrieval: &Retrieval,
        policy: &str,
        question: &str,
    ) -> Progress {
        let (step, call) =
            match retrieval.store.next_call(question, self.vector.as_deref(), retrieval.top_k, policy) {
                StoreCall::Resolve(call) => (Step::Resolve, call),
                StoreCall::Query(call) => (Step::Query, call),
            };
        match call.dispatch(host) {
            Ok(token) => {
                self.step = step;
                self.token = token;
                Progress::Pending
            }
            Err(why) => Progress::Done(Err(format!("{}: {why}", retrieval.store.cluster_field()))),
        }
    }
}
