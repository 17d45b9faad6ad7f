//! The usage filter, per request: admission (prompt-size limits, budgets) before any provider
//! is called, then exact usage, cost and latency of the answer.
//!
//! Request bodies are read once, whole, after every filter that may rewrite them (templates,
//! decorators): the usage filter is last in the chain. Response bodies are observed as they
//! pass, never held: JSON bodies are copied until complete (bounded), SSE streams are parsed
//! incrementally and only events that mention usage are decoded; a bounded copy of a stream is
//! kept only to count its tokens should the provider not report them. The router's record is
//! required on routed requests, and read at the request headers so a missing router stops the
//! request before any provider is called.

use super::budget::{self, Refusal, Reservation, Standing, Unit};
use super::global::{self, Charge};
use super::metrics::{self, Labels, Timings};
use super::prices::{micros_to_amount, Price};
use super::record::UsageRecord;
use super::tokens::Count;
use super::UsageConfig;
use crate::common::binding::Subject;
use crate::common::error::{ClientError, ErrorKind};
use crate::contract::{
    self,
    decision::{self, Decision},
};
use crate::http::host::{self, Flow, Host, HttpFlow, Side};
use crate::http::sse::{self, SseParser};
use crate::llm::api::WireApi;
use crate::llm::usage::{self, StreamUsage, Usage};
use crate::llm::view::{self, params, RequestView, ResponseView};
use std::rc::Rc;

/// Tokens of chat framing per message, and to prime the reply (OpenAI's published rule for
/// its chat models); added to the texts' tokens when the gateway counts a prompt.
const TOKENS_PER_MESSAGE: u64 = 3;
const TOKENS_PER_REPLY: u64 = 3;

/// Bytes of request body per prompt token assumed at budget admission when the prompt was not
/// counted (no limit asked for the count): an over-estimate for most text (≈ 4 bytes a token
/// in English, JSON framing included), about right for CJK. The over-estimate is returned when
/// the provider's count arrives.
const ADMISSION_BYTES_PER_TOKEN: usize = 3;

enum Body {
    Json(Vec<u8>),
    /// The JSON body outgrew the bound: no usage from it.
    TooLarge,
    /// The stream's usage, and a bounded copy of its bytes (`None` once over the bound, or
    /// when counting is off).
    Stream(Box<(SseParser, StreamUsage, Option<Vec<u8>>)>),
}

struct Observer {
    api: WireApi,
    /// The model sent to the provider that answered (what it bills).
    model: String,
    labels: Labels,
    body: Body,
    ended: bool,
    /// Usage the response headers report (Bedrock InvokeModel's token counts), for a body
    /// that reports none.
    header_usage: Option<Usage>,
}

pub struct UsageFlow {
    config: Rc<UsageConfig>,
    decision: Option<Decision>,
    tenant: Option<String>,
    started_ns: u64,
    first_byte_ns: Option<u64>,
    /// The final request body, kept to count the prompt if the provider does not.
    request: Option<Vec<u8>>,
    prompt: Option<Count>,
    reservations: Vec<Reservation>,
    /// The tightest token budget after admission, for `x-ratelimit-*`.
    standing: Option<Standing>,
    /// What the rate limit filter was told to charge for a global budget.
    global: Option<Charge>,
    status: Option<u16>,
    observer: Option<Observer>,
    /// A failover answer whose provider cannot be told ([`decision::answering`]).
    unattributed: bool,
    recorded: bool,
}

impl UsageFlow {
    pub fn new(config: Rc<UsageConfig>) -> Self {
        Self {
            config,
            decision: None,
            tenant: None,
            started_ns: 0,
            first_byte_ns: None,
            request: None,
            prompt: None,
            reservations: Vec::new(),
            standing: None,
            global: None,
            status: None,
            observer: None,
            unattributed: false,
            recorded: false,
        }
    }

    fn subject<'a>(decision: &'a Decision, tenant: Option<&'a str>) -> Subject<'a> {
        Subject {
            route: &decision.route,
            request_model: &decision.request_model,
            upstream_model: &decision.model,
            tenant,
        }
    }

    /// The prompt's tokens, counted by the tokenizer (texts plus chat framing).
    fn count_prompt(&mut self, host: &mut dyn Host, decision: &Decision, body: &[u8]) -> Count {
        if let Some(count) = self.prompt {
            return count;
        }
        let encoding = self.config.tokenizer.encoding(&decision.model);
        let loading = !encoding.loaded();
        let before = loading.then(|| host.now_nanos());
        let mut counter = self.config.tokenizer.counter(&decision.model);
        if let Some(before) = before {
            let ms = host.now_nanos().saturating_sub(before) / 1_000_000;
            host.record(
                &crate::common::metric::labelled(
                    "portcullis_tokenizer_load_ms",
                    &[("encoding", encoding.as_str())],
                ),
                ms,
            );
        }
        match RequestView::parse(decision.body_api(), body) {
            Ok(mut view) => {
                view.texts(&mut |_, text| counter.add(text));
                if !decision.body_api().is_embeddings() {
                    let messages = view.sizes().messages as u64;
                    counter.add_tokens(
                        messages.saturating_mul(TOKENS_PER_MESSAGE).saturating_add(TOKENS_PER_REPLY),
                    );
                }
            }
            // Not a body the view reads (the router would have refused most): count its bytes.
            Err(_) => counter.add(&String::from_utf8_lossy(body)),
        }
        let count = counter.count();
        self.prompt = Some(count);
        count
    }

    /// Limits and budgets, once the final request body is known. `Err`: refused (answered).
    fn admit(&mut self, host: &mut dyn Host, decision: &Decision, body: &[u8]) -> Result<(), ()> {
        let config = Rc::clone(&self.config);
        let tenant = self.tenant.clone();
        let subject = Self::subject(decision, tenant.as_deref());
        if let Some(limit) = config.max_prompt_tokens(&subject) {
            let count = self.count_prompt(host, decision, body);
            if count.tokens > limit {
                metrics::refusal(host, "prompt_tokens", "", &decision.route);
                let err = ClientError::new(
                    ErrorKind::InvalidRequest,
                    format!(
                        "the prompt is {} tokens, over this route's limit of {limit} prompt tokens (maxPromptTokens)",
                        count.tokens
                    ),
                );
                host::send_error(host, &err, decision.client_api.error_shape());
                return Err(());
            }
        }
        let covering: Vec<usize> =
            config.budgets.iter().enumerate().filter(|(_, b)| b.covers(&subject)).map(|(i, _)| i).collect();
        if covering.is_empty() && config.global_budget.is_none() {
            return Ok(());
        }
        let prompt = match self.prompt {
            Some(count) => count.tokens,
            None => body.len().div_ceil(ADMISSION_BYTES_PER_TOKEN) as u64,
        };
        let max_output = params::output_cap(decision.body_api(), body);
        // The estimate every budget admits by: the prompt plus the request's own output cap,
        // else the budget's reserve.
        let output = |reserve: u64| max_output.unwrap_or(reserve);
        let price = config.prices.price(&decision.model, &decision.request_model);
        let now = if covering.is_empty() { 0 } else { host::now_seconds(host) };
        for index in covering {
            let Some(b) = config.budgets.get(index) else { continue };
            let amount = match b.unit {
                Unit::Tokens => prompt.saturating_add(output(b.reserve)),
                Unit::CostMicros => match price {
                    Some(p) => {
                        p.cost_micros(&Usage { input: prompt, output: output(b.reserve), ..Usage::default() })
                    }
                    // An unpriced model is not charged to cost budgets.
                    None => continue,
                },
            };
            let key = b.ledger_key(&subject, &decision.model_label);
            match budget::reserve(host, b, index, key, amount, now) {
                Ok((reservation, standing)) => {
                    self.reservations.push(reservation);
                    if b.unit == Unit::Tokens
                        && self.standing.is_none_or(|s| standing.remaining < s.remaining)
                    {
                        self.standing = Some(standing);
                    }
                }
                Err(refusal) => {
                    self.release(host);
                    refuse(host, decision, &config, &refusal);
                    return Err(());
                }
            }
        }
        // Last: a request a local budget refused never reaches the rate limit filter, and must
        // leave no addend that a stream-done call could charge.
        if let Some(g) = &config.global_budget {
            self.global = global::admit(host, prompt.saturating_add(output(g.reserve)));
        }
        Ok(())
    }

    /// Gives back every reservation (the request never reached a provider).
    fn release(&mut self, host: &mut dyn Host) {
        for r in std::mem::take(&mut self.reservations) {
            budget::settle(host, &r, 0);
        }
    }

    /// Which API the response is in, the answering attempt's model, and its labels. `Err`: a
    /// failover answer whose provider cannot be told (counted as a contract error).
    fn served_by(&self, host: &mut dyn Host) -> Result<Option<(WireApi, String, Labels)>, ()> {
        let Some(decision) = self.decision.as_ref() else { return Ok(None) };
        let answering = decision::answering(host, decision, "usage").map_err(|_| ())?;
        let labels = Labels {
            operation: operation(answering.api),
            provider: answering.provider,
            request_model: answering.model_label,
            response_model: String::new(),
            tenant: self.tenant.clone().unwrap_or_default(),
            route: decision.route.clone(),
            estimated: false,
        };
        Ok(Some((answering.api, answering.model, labels)))
    }

    fn record(&mut self, host: &mut dyn Host) {
        if self.recorded {
            return;
        }
        let Some(decision) = self.decision.clone() else { return };
        self.recorded = true;
        let now = host.now_nanos();
        let status = match self.status {
            Some(s) => s,
            None => response_code(host),
        };
        let ms = |from: u64, to: u64| to.saturating_sub(from) / 1_000_000;
        let mut timings = Timings { duration_ms: ms(self.started_ns, now), ..Timings::default() };
        if self.unattributed {
            return self.record_unattributed(host, &decision, status, &timings);
        }
        let Some(mut observer) = self.observer.take() else {
            // No answer reached this filter (the provider was never reached, or reset): nothing
            // was spent.
            self.release(host);
            if let Some(charge) = &mut self.global {
                global::settle(host, charge, 0);
            }
            let labels = self.decision_labels(&decision, decision.provider.clone());
            metrics::outcome(host, &labels, status, metrics::error_type(status, false), &timings);
            return;
        };
        let is_stream = matches!(observer.body, Body::Stream(_));
        let cut = is_stream && !observer.ended;
        let (reported, response_model) = match &mut observer.body {
            Body::Json(buf) => {
                let r = usage::read_json(observer.api, buf);
                (r.usage.or(observer.header_usage), r.model)
            }
            Body::TooLarge => (observer.header_usage, None),
            Body::Stream(stream) => {
                let (parser, acc, _) = &mut **stream;
                parser.finish(|event| acc.observe(&event));
                (acc.usage(), acc.model().map(str::to_string))
            }
        };
        let success = (200..300).contains(&status);
        let mut estimated = false;
        let usage = if success && (cut || reported.is_none()) && self.config.estimate_missing {
            estimated = true;
            self.estimate(host, &decision, &observer, reported)
        } else {
            reported.unwrap_or_default()
        };
        observer.labels.estimated = estimated;
        observer.labels.response_model =
            response_model_label(response_model.as_deref(), &observer.model, &observer.labels.request_model);
        if is_stream {
            if let Some(first) = self.first_byte_ns {
                timings.ttft_ms = Some(ms(self.started_ns, first));
                if usage.output > 1 {
                    timings.tpot_ms = ms(first, now).checked_div(usage.output.saturating_sub(1));
                }
            }
        }
        let price = self.config.prices.price(&observer.model, &decision.request_model);
        let cost = price.map(|p: Price| p.cost_micros(&usage));
        let currency = self.config.prices.currency.as_str();
        metrics::tokens(
            host,
            self.config.metric_names,
            &observer.labels,
            &usage,
            cost.map(|c| (currency, c)),
        );
        metrics::outcome(host, &observer.labels, status, metrics::error_type(status, cut), &timings);
        let record = UsageRecord {
            usage,
            estimated,
            cost: cost.map(micros_to_amount),
            currency: cost.map(|_| currency.to_string()),
            response_model,
            duration_ms: timings.duration_ms,
            ttft_ms: timings.ttft_ms,
        };
        host.set_filter_state(contract::USAGE, &record.to_json());
        for r in std::mem::take(&mut self.reservations) {
            let actual = match self.config.budgets.get(r.budget).map(|b| b.unit) {
                Some(Unit::CostMicros) => cost.unwrap_or(0),
                _ => usage.total(),
            };
            budget::settle(host, &r, actual);
        }
        if let Some(charge) = &mut self.global {
            global::settle(host, charge, usage.total());
        }
    }

    /// Labels for a request no answer of a known provider reached: the decision's, for `provider`.
    fn decision_labels(&self, decision: &Decision, provider: String) -> Labels {
        Labels {
            operation: operation(decision.upstream_api),
            provider,
            request_model: decision.model_label.clone(),
            tenant: self.tenant.clone().unwrap_or_default(),
            route: decision.route.clone(),
            ..Labels::default()
        }
    }

    /// An answer whose provider cannot be told: its body cannot be read for usage, so what was
    /// reserved stays charged (budgets and the global addend are not refunded), and the request
    /// is recorded as estimated — the prompt's count, no output — for the provider `unknown`.
    fn record_unattributed(
        &mut self,
        host: &mut dyn Host,
        decision: &Decision,
        status: u16,
        timings: &Timings,
    ) {
        // Reservations kept as they are: settling at the reserved amount changes nothing.
        self.reservations.clear();
        if let Some(charge) = &mut self.global {
            let estimate = charge.estimate;
            global::settle(host, charge, estimate);
        }
        let usage = Usage { input: self.prompt.map_or(0, |c| c.tokens), ..Usage::default() };
        let labels = Labels { estimated: true, ..self.decision_labels(decision, "unknown".to_string()) };
        metrics::tokens(host, self.config.metric_names, &labels, &usage, None);
        metrics::outcome(host, &labels, status, metrics::error_type(status, false), timings);
        let record = UsageRecord {
            usage,
            estimated: true,
            cost: None,
            currency: None,
            response_model: None,
            duration_ms: timings.duration_ms,
            ttft_ms: None,
        };
        host.set_filter_state(contract::USAGE, &record.to_json());
    }

    /// Usage the provider did not (fully) report: its counts where it gave them, the
    /// tokenizer's for the rest.
    fn estimate(
        &mut self,
        host: &mut dyn Host,
        decision: &Decision,
        observer: &Observer,
        reported: Option<Usage>,
    ) -> Usage {
        let mut usage = reported.unwrap_or_default();
        if usage.input == 0 {
            if let Some(body) = self.request.take() {
                usage.input = self.count_prompt(host, decision, &body).tokens;
            }
        }
        let mut counter = self.config.tokenizer.counter(&observer.model);
        match &observer.body {
            Body::Json(buf) => {
                if let Ok(mut view) = ResponseView::parse(observer.api, buf) {
                    view.texts(&mut |_, text| counter.add(text));
                }
            }
            Body::Stream(stream) => {
                if let Some(copy) = &stream.2 {
                    view::stream::texts_of(observer.api, copy, &mut |text| counter.add(text));
                }
            }
            Body::TooLarge => {}
        }
        // A running total cut short is a floor: keep the larger count.
        usage.output = usage.output.max(counter.count().tokens);
        usage
    }
}

impl HttpFlow for UsageFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Flow {
        match decision::require(host, "usage") {
            Ok(decision) => {
                let routed = decision.is_some();
                if routed {
                    self.started_ns = host.now_nanos();
                    self.tenant =
                        host.filter_state(contract::TENANT).map(|t| String::from_utf8_lossy(&t).into_owned());
                }
                self.decision = decision;
                // Envoy's rate limit filter, after this one, charges a global budget in its
                // request headers callback: hold them until the body gives the estimate.
                if routed && !end_of_stream && self.config.global_budget.is_some() {
                    Flow::Pause
                } else {
                    Flow::Continue
                }
            }
            Err((err, shape)) => {
                host::send_error(host, &err, shape);
                Flow::Pause
            }
        }
    }

    fn on_request_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let Some(decision) = self.decision.clone() else { return Flow::Continue };
        if !self.config.reads_requests() {
            return Flow::Continue;
        }
        if !end_of_stream {
            // The router buffers the whole body before it; wait for it here too.
            return Flow::Pause;
        }
        let body = host.body(Side::Request, size).unwrap_or_default();
        if self.admit(host, &decision, &body).is_err() {
            self.decision = None;
            return Flow::Pause;
        }
        if self.config.estimate_missing {
            self.request = Some(body);
        }
        Flow::Continue
    }

    fn on_response_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        if self.decision.is_none() {
            return Flow::Continue;
        }
        self.status = host.header(Side::Response, ":status").and_then(|s| s.parse().ok());
        if let Some(s) = self.standing {
            host.set_header(Side::Response, "x-ratelimit-limit-tokens", &s.limit.to_string());
            host.set_header(Side::Response, "x-ratelimit-remaining-tokens", &s.remaining.to_string());
            host.set_header(Side::Response, "x-ratelimit-reset-tokens", &budget::reset_text(s.reset));
        }
        let Some((api, model, labels)) = self.served_by(host).unwrap_or_else(|()| {
            self.unattributed = true;
            None
        }) else {
            return Flow::Continue;
        };
        let is_sse = host.header(Side::Response, "content-type").is_some_and(|ct| sse::is_event_stream(&ct));
        let body = if is_sse {
            let copy = self.config.estimate_missing.then(Vec::new);
            Body::Stream(Box::new((SseParser::default(), StreamUsage::new(api), copy)))
        } else {
            Body::Json(Vec::new())
        };
        // Asked only of Bedrock's embeddings answers: Cohere's body has no count of its own.
        let header_usage = (api == WireApi::BedrockEmbeddings)
            .then(|| usage::from_bedrock_headers(&mut |name| host.header(Side::Response, name)))
            .flatten();
        self.observer = Some(Observer { api, model, labels, body, ended: false, header_usage });
        Flow::Continue
    }

    fn on_response_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let Some(observer) = &mut self.observer else {
            return Flow::Continue;
        };
        if size > 0 && self.first_byte_ns.is_none() {
            self.first_byte_ns = Some(host.now_nanos());
        }
        if let Some(chunk) = host.body(Side::Response, size) {
            let max = self.config.max_json_bytes;
            match &mut observer.body {
                Body::Json(buf) if buf.len().saturating_add(chunk.len()) > max => {
                    observer.body = Body::TooLarge;
                }
                Body::Json(buf) => buf.extend_from_slice(&chunk),
                Body::TooLarge => {}
                Body::Stream(stream) => {
                    let (parser, acc, copy) = &mut **stream;
                    if parser.feed(&chunk, |event| acc.observe(&event)).is_err() {
                        log::warn!("oversized SSE event, usage may be incomplete");
                    }
                    if let Some(buf) = copy {
                        if buf.len().saturating_add(chunk.len()) > max {
                            *copy = None;
                        } else {
                            buf.extend_from_slice(&chunk);
                        }
                    }
                }
            }
        }
        if end_of_stream {
            observer.ended = true;
            self.record(host);
        }
        Flow::Continue
    }

    fn on_log(&mut self, host: &mut dyn Host) {
        // A stream cut short still reports what it counted so far; a request that never got an
        // answer gives its reservations back.
        self.record(host);
    }
}

/// The 429 for a budget with no room, in the client's shape, with OpenAI's rate-limit headers.
fn refuse(host: &mut dyn Host, decision: &Decision, config: &UsageConfig, refusal: &Refusal) {
    let (index, standing, wanted) = match refusal {
        Refusal::Exhausted { budget, standing, wanted } => (*budget, Some(*standing), *wanted),
        Refusal::Unavailable { budget } => (*budget, None, 0),
    };
    let Some(b) = config.budgets.get(index) else { return };
    metrics::refusal(host, "budget", &b.name, &decision.route);
    let (message, retry_after) = match standing {
        Some(s) => {
            let what = match b.unit {
                Unit::Tokens => format!("{wanted} tokens requested, {} of {} left", s.remaining, s.limit),
                Unit::CostMicros => format!(
                    "an estimated {:.6} {} requested, {:.6} of {:.6} left",
                    micros_to_amount(wanted),
                    config.prices.currency,
                    micros_to_amount(s.remaining),
                    micros_to_amount(s.limit)
                ),
            };
            (
                format!("budget `{}` exceeded: {what}; it resets in {}", b.name, budget::reset_text(s.reset)),
                s.reset,
            )
        }
        None => (format!("budget `{}` could not be checked; retry", b.name), 1),
    };
    let err = ClientError::new(ErrorKind::RateLimited, message).with_retry_after(retry_after);
    let mut headers: Vec<(&str, String)> = err.headers();
    if let (Some(s), Unit::Tokens) = (standing, b.unit) {
        headers.push(("x-ratelimit-limit-tokens", s.limit.to_string()));
        headers.push(("x-ratelimit-remaining-tokens", s.remaining.to_string()));
        headers.push(("x-ratelimit-reset-tokens", budget::reset_text(s.reset)));
    }
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    host.send_reply(err.status(), &pairs, &err.body(decision.client_api.error_shape()));
}

/// `gen_ai.operation.name` of a request in `api`.
fn operation(api: WireApi) -> &'static str {
    match api {
        WireApi::OpenAiChat | WireApi::AnthropicMessages | WireApi::BedrockConverse => "chat",
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => "embeddings",
        WireApi::GeminiGenerate => "generate_content",
    }
}

/// The response model as a label, bounded: the provider's name when it is the model sent or a
/// version of it (`gpt-4o` → `gpt-4o-2024-08-06`) and the request model is labelled, else
/// `other`.
fn response_model_label(reported: Option<&str>, sent: &str, request_label: &str) -> String {
    match reported {
        _ if request_label == "other" => "other".into(),
        Some(m) if !sent.is_empty() && m.starts_with(sent) && m.len() <= 128 => m.to_string(),
        Some(_) => "other".into(),
        None => request_label.to_string(),
    }
}

/// The status Envoy answered with, when no response headers passed this filter.
fn response_code(host: &mut dyn Host) -> u16 {
    host.property(&["response", "code"])
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok().map(u64::from_le_bytes))
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(0)
}
