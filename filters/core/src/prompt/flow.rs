//! The prompt filter, per request: templates, decorators, parameters and guardrails on the
//! provider-native body, and guardrails on the answer.
//!
//! Runs after the router, so the body is already in the provider's format (under failover it is
//! still the client's: the router translates it per attempt, from the copy in filter state, which
//! this filter then updates); the router's record names that format and carries the client's
//! template choice. At the request headers the flow chooses the policy (bindings by route, model
//! and tenant) and decides whether the body needs work at all — a request no template,
//! decorator, parameter or guard applies to is never read. The body is parsed once into the
//! format-neutral [`RequestView`], every step runs on it, and it is written back only if one of
//! them changed something. Remote guards ([`super::checks`]) hold the request until they answer.
//! The answer's side is in [`super::answer`].

use super::answer::Answer;
use super::checks::{Checks, Conclusion};
use super::guard::policy::PolicyGuards;
use super::guard::remote::Phase;
use super::guard::{self as guardrail};
use super::outcome::Outcome;
use super::params::{self, ParamError};
use super::policy::{Policy, Subject};
use super::retrieve::Retrieving;
use super::template::Template;
use super::{decorate, Prompt};
use crate::common::error::{ClientError, ErrorKind};
use crate::common::glob::glob_match;
use crate::common::metric::labelled;
use crate::contract::{self, decision, decision::Decision};
use crate::http::host::{self, Flow, Host, HttpFlow, Side};
use crate::llm::api::{ErrorShape, WireApi};
use crate::llm::view::{Position, RequestView, TextKind};
use crate::router::plan::TemplateSelection;
use std::rc::Rc;

/// What this request's body gets, decided at its headers.
struct Work {
    /// The body's format: the upstream API (the client's under failover).
    api: WireApi,
    /// Under failover the body the provider gets is translated from filter state: edits go there
    /// too.
    failover: bool,
    template: Option<(String, TemplateSelection)>,
}

/// A request body held while remote guards judge it.
struct Held {
    checks: Checks,
    view: RequestView,
    size: usize,
}

pub struct PromptFlow {
    pub(super) prompt: Rc<Prompt>,
    /// The policy chosen at the request headers, by name.
    pub(super) policy: Option<String>,
    /// The router's record, kept when the answer has guards to pass.
    pub(super) decision: Option<Decision>,
    pub(super) shape: ErrorShape,
    /// Client headers the webhook asked for, read at the request headers (both phases send them).
    pub(super) forwarded: Vec<(String, String)>,
    work: Option<Work>,
    held: Option<Held>,
    pub(super) answer: Option<Answer>,
    pub(super) outcome: Outcome,
    /// The request body held while its retrieval runs ([`super::retrieve`]).
    pub(super) retrieving: Option<Retrieving>,
    /// After a retrieval: the injected documents' ids for the answer's header (`None` when the
    /// policy does not ask for it, or nothing was injected).
    pub(super) rag_documents: Option<Option<String>>,
}

impl PromptFlow {
    pub fn new(prompt: Rc<Prompt>) -> Self {
        Self {
            prompt,
            policy: None,
            decision: None,
            shape: ErrorShape::OpenAi,
            forwarded: Vec::new(),
            work: None,
            held: None,
            answer: None,
            outcome: Outcome::default(),
            retrieving: None,
            rag_documents: None,
        }
    }

    fn refuse(host: &mut dyn Host, shape: ErrorShape, message: String) -> Flow {
        log::debug!("{message}");
        host::send_error(host, &ClientError::new(ErrorKind::InvalidRequest, message), shape);
        Flow::Pause
    }

    /// The chosen policy (from a clone of the config's `Rc`, so `self` stays free to change).
    pub(super) fn chosen(&self) -> (Rc<Prompt>, Option<String>) {
        (Rc::clone(&self.prompt), self.policy.clone())
    }

    /// Templates, decorators and parameters, on the parsed body.
    fn edit(&self, work: &Work, policy: Option<&Policy>, body: &[u8]) -> Result<RequestView, String> {
        let mut view = RequestView::parse(work.api, body).map_err(|e| e.0)?;
        if let Some((name, selection)) = &work.template {
            let template: &Template = self.prompt.templates.get(name).ok_or("template vanished")?;
            let messages = template.fill(selection.variables.as_ref()).map_err(|e| e.0)?;
            view.add_messages(Position::Prepend, &messages).map_err(|e| e.0)?;
            params::apply_defaults(&mut view, &template.parameters).map_err(|ParamError(e)| e)?;
        }
        decorate::apply(&mut view, &self.prompt.decorators).map_err(|e| e.0)?;
        if let Some(policy) = policy {
            decorate::apply(&mut view, &policy.decorators).map_err(|e| e.0)?;
            params::apply_defaults(&mut view, &policy.defaults).map_err(|ParamError(e)| e)?;
            params::apply_overrides(&mut view, &policy.overrides).map_err(|ParamError(e)| e)?;
            if let Some(ceiling) = &policy.max_output_tokens {
                params::apply_ceiling(&mut view, ceiling).map_err(|ParamError(e)| e)?;
            }
        }
        Ok(view)
    }

    /// Answers a refused request in the client's shape; the message names the policy and the
    /// guard, never what matched.
    pub(super) fn block(&mut self, host: &mut dyn Host, policy: &str, status: u16, message: String) -> Flow {
        log::debug!("{message}");
        self.outcome.publish(host, policy);
        host::send_error(host, &ClientError::for_status(status, message), self.shape);
        Flow::Pause
    }

    /// The local request guards, then the remote ones (which hold the request).
    fn guard_request(
        &mut self,
        host: &mut dyn Host,
        policy: &str,
        guards: &PolicyGuards,
        mut view: RequestView,
        size: usize,
    ) -> Flow {
        if !guards.request.is_empty() {
            let report = guardrail::apply_to_texts(&guards.request, |f| view.texts_mut(f));
            self.outcome.local(host, policy, Phase::Request, &report);
            if let Some(guard) = &report.blocked_by {
                let message = format!("request blocked by policy `{policy}`: guard `{guard}`");
                return self.block(host, policy, guards.block_status, message);
            }
        }
        if !guards.remote_in(Phase::Request) {
            self.outcome.publish(host, policy);
            return self.finish(host, view, size);
        }
        let mut texts: Vec<(TextKind, String)> = Vec::new();
        view.texts(&mut |kind, text| texts.push((kind, text.to_string())));
        let at = format!("policies.{policy}.guards");
        let checks = Checks::start(host, guards, &at, Phase::Request, &texts, &self.forwarded);
        if checks.pending() {
            self.held = Some(Held { checks, view, size });
            return Flow::Pause;
        }
        self.conclude(host, policy, guards, &checks, view, size)
    }

    /// What the remote guards decided, applied.
    fn conclude(
        &mut self,
        host: &mut dyn Host,
        policy: &str,
        guards: &PolicyGuards,
        checks: &Checks,
        mut view: RequestView,
        size: usize,
    ) -> Flow {
        match checks.conclude(host, guards, policy, &mut self.outcome) {
            Conclusion::Pass => {}
            Conclusion::Mask(texts) => replace_texts(&mut view, texts),
            Conclusion::Reject { status, message } => {
                return self.block(
                    host,
                    policy,
                    status,
                    format!("request blocked by policy `{policy}`: {message}"),
                );
            }
            Conclusion::Unavailable(message) => {
                self.outcome.publish(host, policy);
                host::send_error(host, &ClientError::new(ErrorKind::Unavailable, message), self.shape);
                return Flow::Pause;
            }
        }
        self.outcome.publish(host, policy);
        self.finish(host, view, size)
    }

    /// Writes the body back if anything changed it.
    pub(super) fn send(&self, host: &mut dyn Host, view: RequestView, size: usize) {
        let Some(bytes) = view.into_bytes() else { return };
        host.replace_body(Side::Request, size, &bytes);
        if self.work.as_ref().is_some_and(|w| w.failover) {
            // The per-attempt router translates this copy, not the body.
            host.set_filter_state(contract::REQUEST_BODY, &bytes);
        }
    }
}

/// Puts a webhook's replacement texts in place, in the order they were sent.
pub(super) fn replace_texts<S: crate::llm::view::Side>(
    view: &mut crate::llm::view::View<S>,
    texts: Vec<String>,
) {
    let mut texts = texts.into_iter();
    view.texts_mut(&mut |_, text| match texts.next() {
        Some(new) if new != *text => {
            *text = new;
            true
        }
        _ => false,
    });
}

impl HttpFlow for PromptFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Flow {
        if self.prompt.is_inert() || end_of_stream {
            return Flow::Continue;
        }
        let decision = match decision::require(host, "prompt") {
            Ok(Some(decision)) => decision,
            Ok(None) => return Flow::Continue,
            Err((err, shape)) => {
                host::send_error(host, &err, shape);
                return Flow::Pause;
            }
        };
        let shape = decision.client_api.error_shape();
        self.shape = shape;
        let tenant = if self.prompt.policies.needs_tenant() {
            host.filter_state(contract::TENANT).map(|t| String::from_utf8_lossy(&t).into_owned())
        } else {
            None
        };
        let subject = Subject {
            route: &decision.route,
            request_model: &decision.request_model,
            upstream_model: &decision.model,
            tenant: tenant.as_deref(),
        };
        let prompt = Rc::clone(&self.prompt);
        let policy = prompt.policies.select(&subject);
        let template = match &decision.template {
            Some(selection) => {
                let Some(template) = self.prompt.templates.get(&selection.name) else {
                    return Self::refuse(host, shape, format!("unknown template `{}`", selection.name));
                };
                let for_model =
                    |p: &String| glob_match(p, &decision.request_model) || glob_match(p, &decision.model);
                if template.models.as_ref().is_some_and(|models| !models.iter().any(for_model)) {
                    let message = format!(
                        "template `{}` is not for model `{}`",
                        selection.name, decision.request_model
                    );
                    return Self::refuse(host, shape, message);
                }
                Some((selection.name.clone(), selection.clone()))
            }
            None if policy.is_some_and(|p| !p.allow_untemplated) => {
                let message = format!("requests for `{}` must name a template", decision.request_model);
                return Self::refuse(host, shape, message);
            }
            None => None,
        };
        let guards = policy.and_then(|p| p.guards.as_ref());
        let busy = template.is_some()
            || !self.prompt.decorators.is_empty()
            || policy.is_some_and(Policy::edits_body)
            || guards.is_some_and(|g| g.checks(Phase::Request));
        self.policy = policy.map(|p| p.name.clone());
        self.forwarded = match guards.and_then(|g| g.webhook.as_ref()) {
            Some(webhook) => webhook
                .forward_headers
                .iter()
                .filter_map(|name| host.header(Side::Request, name).map(|v| (name.clone(), v)))
                .collect(),
            None => Vec::new(),
        };
        let (api, failover) = (decision.body_api(), decision.failover);
        if guards.is_some_and(|g| g.checks(Phase::Response)) {
            self.decision = Some(decision);
        }
        if !busy {
            return Flow::Continue;
        }
        if let Some((name, _)) = &template {
            host.set_filter_state(contract::TEMPLATE, name.as_bytes());
            host.increment(&labelled("portcullis_prompt_templates_total", &[("template", name)]), 1);
        }
        host.remove_header(Side::Request, "content-length");
        self.work = Some(Work { api, failover, template });
        Flow::Continue
    }

    fn on_request_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let Some(work) = &self.work else {
            return Flow::Continue;
        };
        if !end_of_stream {
            return Flow::Pause;
        }
        let body = host.body(Side::Request, size).unwrap_or_default();
        let (prompt, name) = self.chosen();
        let policy = name.as_deref().and_then(|n| prompt.policies.select_by_name(n));
        let edits = work.template.is_some()
            || !prompt.decorators.is_empty()
            || policy.is_some_and(Policy::edits_body);
        let guards = policy.and_then(|p| p.guards.as_ref());
        if !edits && guards.is_some_and(|g| !g.remote_in(Phase::Request) && !g.request.may_match_json(&body))
        {
            // Nothing to edit, and no text of the body can match a guard: not even parsed.
            return Flow::Continue;
        }
        let view = match self.edit(work, policy, &body) {
            Ok(view) => view,
            Err(why) => return Self::refuse(host, self.shape, why),
        };
        match policy.and_then(|p| Some((p, p.guards.as_ref()?))) {
            Some((policy, guards)) if guards.checks(Phase::Request) => {
                self.guard_request(host, &policy.name, guards, view, size)
            }
            _ => self.finish(host, view, size),
        }
    }

    fn on_response_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        if let Some(ids) = self.rag_documents.take() {
            // The router lets this header through after a retrieval: never a provider's copy.
            host.remove_header(Side::Response, contract::RAG_DOCUMENTS_HEADER);
            if let Some(ids) = ids {
                host.set_header(Side::Response, contract::RAG_DOCUMENTS_HEADER, &ids);
            }
        }
        self.start_answer(host);
        Flow::Continue
    }

    fn on_response_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        self.guard_answer(host, size, end_of_stream)
    }

    fn on_http_call_response(&mut self, host: &mut dyn Host, token: u32, body_size: usize) {
        if self.on_retrieval_call(host, token, body_size) {
            return;
        }
        let Some(mut held) = self.held.take() else {
            self.on_answer_call(host, token, body_size);
            return;
        };
        let (prompt, name) = self.chosen();
        let Some((policy, guards)) = name
            .as_deref()
            .and_then(|n| prompt.policies.select_by_name(n))
            .and_then(|p| Some((p, p.guards.as_ref()?)))
        else {
            return;
        };
        if !held.checks.answer(host, guards, token, body_size) || held.checks.pending() {
            self.held = Some(held);
            return;
        }
        let Held { checks, view, size } = held;
        if self.conclude(host, &policy.name, guards, &checks, view, size) == Flow::Continue {
            host.resume(Side::Request);
        }
    }
}
