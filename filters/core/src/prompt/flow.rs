//! The prompt filter, per request: templates, decorators and parameters on the
//! provider-native body.
//!
//! Runs after the router, so the body is already in the provider's format; the router's record
//! names that format and carries the client's template choice (the router takes it off the
//! client's body, which a translation would not keep). At the request headers the flow chooses
//! the policy (bindings by route, model and tenant) and decides whether the body needs work at
//! all — a request no template, decorator or parameter applies to is never read. The body is
//! parsed once into the format-neutral [`RequestView`], every step runs on it, and it is written
//! back only if one of them changed something.

use super::params::{self, ParamError};
use super::policy::{Policy, Subject};
use super::template::Template;
use super::{decorate, Prompt};
use crate::common::error::{ClientError, ErrorKind};
use crate::common::metric::labelled;
use crate::contract::{self, decision};
use crate::http::host::{self, Flow, Host, HttpFlow, Side};
use crate::llm::api::{ErrorShape, WireApi};
use crate::llm::view::{Position, RequestView};
use crate::router::plan::TemplateSelection;
use crate::router::route::glob_match;
use std::rc::Rc;

/// What this request gets, decided at its headers.
struct Work {
    /// The upstream API (the body's format).
    api: WireApi,
    shape: ErrorShape,
    template: Option<(String, TemplateSelection)>,
    /// Index of nothing: the policy is looked up again by name from the compiled config.
    policy: Option<String>,
}

pub struct PromptFlow {
    prompt: Rc<Prompt>,
    work: Option<Work>,
}

impl PromptFlow {
    pub fn new(prompt: Rc<Prompt>) -> Self {
        Self { prompt, work: None }
    }

    fn refuse(host: &mut dyn Host, shape: ErrorShape, message: String) -> Flow {
        log::debug!("{message}");
        host::send_error(host, &ClientError::new(ErrorKind::InvalidRequest, message), shape);
        Flow::Pause
    }

    fn policy(&self, name: Option<&str>) -> Option<&Policy> {
        let name = name?;
        self.prompt.policies.select_by_name(name)
    }

    /// Every step, on the parsed body.
    fn apply(&self, work: &Work, body: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let mut view = RequestView::parse(work.api, body).map_err(|e| e.0)?;
        let policy = self.policy(work.policy.as_deref());
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
        Ok(view.into_bytes())
    }
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
        let policy = self.prompt.policies.select(&subject);
        let template = match decision.template {
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
                Some((selection.name.clone(), selection))
            }
            None if policy.is_some_and(|p| !p.allow_untemplated) => {
                let message = format!("requests for `{}` must name a template", decision.request_model);
                return Self::refuse(host, shape, message);
            }
            None => None,
        };
        let busy = template.is_some()
            || !self.prompt.decorators.is_empty()
            || policy.is_some_and(Policy::edits_body);
        if !busy {
            return Flow::Continue;
        }
        if let Some((name, _)) = &template {
            host.set_filter_state(contract::TEMPLATE, name.as_bytes());
            host.increment(&labelled("portcullis_prompt_templates_total", &[("template", name)]), 1);
        }
        host.remove_header(Side::Request, "content-length");
        self.work = Some(Work {
            api: decision.upstream_api,
            shape,
            template,
            policy: policy.map(|p| p.name.clone()),
        });
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
        match self.apply(work, &body) {
            Ok(Some(new_body)) => {
                host.replace_body(Side::Request, size, &new_body);
                Flow::Continue
            }
            Ok(None) => Flow::Continue,
            Err(why) => Self::refuse(host, work.shape, why),
        }
    }
}
