//! portcullis.credentials — who is calling, what they may use, and the provider key to send.
//!
//! Request path: read the client's credential (virtual key, or the trusted identity header an
//! Envoy authn filter wrote), remove every client credential header, identify the tenant
//! (`portcullis_core::access::tenant`), check its scope against the provider and model the router chose
//! (filter state), pick a key from the provider's pool (`portcullis_core::access::keypool`) and inject
//! it in the provider's scheme (`portcullis_core::access::credential`).
//! Response path: a 401 or 429 from the provider puts the key used in cooldown for every worker
//! (proxy-wasm shared data, under a key id, never the key).
//!
//! With failover (`Placement`), a second instance runs as an upstream filter on the failover
//! cluster and does the key part once per attempt, for the provider of that attempt.
//!
//! Nothing secret is logged: keys are `Secret`s, which print as `<redacted>`; log lines name a
//! key by its position in the pool and its id (a hash prefix).

use portcullis_core::access::credential::{self, CredentialStore, CredentialsConfig, Lookup, Placement};
use portcullis_core::access::keypool::{self, KeyId, Pick};
use portcullis_core::access::tenant::{self, Caller, Presented, Tenant};
use portcullis_core::common::config::{self, ConfigError};
use portcullis_core::common::error::{ClientError, ErrorKind};
use portcullis_core::contract;
use portcullis_core::llm::api::{self, ClientRequest, WireApi};
use portcullis_core::llm::provider::ProviderKind;
use portcullis_core::router::plan::RoutePlan;
use portcullis_host::http::{self, Side};
use portcullis_host::root::{self, Plugin};
use portcullis_host::shared;
use portcullis_host::state as filter_state;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Credentials>();
}}

struct Credentials {
    store: CredentialStore,
}

impl Plugin for Credentials {
    const NAME: &'static str = "portcullis.credentials";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        let config: CredentialsConfig = config::parse(bytes)?;
        let (store, warnings) = CredentialStore::compile(config, |name| std::env::var(name).ok())?;
        for w in warnings {
            log::warn!("config `{}`: {}", w.path, w.message);
        }
        Ok(Credentials { store })
    }

    fn http_context(plugin: Rc<Self>, context_id: u32) -> Box<dyn HttpContext> {
        Box::new(CredentialsRequest { plugin, context_id, client_api: None, used: None })
    }
}

/// The provider key a request was sent with, so its response can cool it down.
struct UsedKey {
    id: KeyId,
    index: usize,
    provider: String,
    cooldown_seconds: u64,
}

struct CredentialsRequest {
    plugin: Rc<Credentials>,
    context_id: u32,
    /// The API the client speaks, once known: the shape of a refusal.
    client_api: Option<WireApi>,
    used: Option<UsedKey>,
}

impl Context for CredentialsRequest {}

impl HttpContext for CredentialsRequest {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        match self.plugin.store.placement() {
            Placement::Downstream => self.on_client_request(),
            Placement::Upstream => self.on_attempt(),
        }
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        if let Some(used) = &self.used {
            self.observe_provider_status(used);
        }
        Action::Continue
    }
}

impl CredentialsRequest {
    /// Downstream: identify the caller, check scope, inject the key (unless Envoy fails over
    /// between providers, in which case the upstream instance injects per attempt).
    fn on_client_request(&mut self) -> Action {
        let plugin = Rc::clone(&self.plugin);
        let tenants = plugin.store.tenants();
        let decision = filter_state::decision();
        self.client_api = decision.as_ref().map(|d| d.client_api);
        // Read what the client presented, then make sure none of it travels further.
        let virtual_key =
            tenants.enabled().then(|| tenant::client_key(|name| http::header(Side::Request, name))).flatten();
        let identity = tenants.identity_header().and_then(|name| http::header(Side::Request, name));
        strip_client_credentials(tenants.identity_header());

        let presented = Presented { virtual_key: virtual_key.as_deref(), identity: identity.as_deref() };
        let tenant = match tenants.identify(presented) {
            Ok(Caller::Tenant(t)) => {
                filter_state::set(contract::TENANT, &t.id);
                Some(t)
            }
            Ok(Caller::Anonymous) => None,
            Err(err) => {
                log::debug!("portcullis.credentials #{}: {} {}", self.context_id, err.status(), err.message);
                return self.refuse(&err);
            }
        };

        let Some(decision) = decision else {
            // Not routed by Portcullis: nothing to check or inject.
            return Action::Continue;
        };
        if let Err(err) =
            self.check_scope(tenant, &decision.provider, &decision.request_model, &decision.model)
        {
            return self.refuse(&err);
        }
        if decision.failover {
            // One request, several providers: the first provider's key must not travel to the
            // next one. The upstream instance injects per attempt.
            return Action::Continue;
        }
        self.inject(tenant, &decision.provider, Some(decision.kind), false)
    }

    /// Upstream, once per failover attempt: the tenant is known (filter state from the
    /// downstream instance), the provider is this attempt's.
    fn on_attempt(&mut self) -> Action {
        let Some(provider) = filter_state::get(contract::ATTEMPT_PROVIDER) else {
            // Not a failover attempt: the downstream instance did everything.
            return Action::Continue;
        };
        // The plan (the downstream router's) says what the client asked for, what this
        // attempt sends, and whether another provider follows it.
        let plan = filter_state::get(contract::ROUTE_PLAN)
            .and_then(|json| serde_json::from_str::<RoutePlan>(&json).ok());
        self.client_api = plan.as_ref().map(|p| p.client_api);
        let attempt = plan.as_ref().and_then(|plan| {
            let at = plan.attempts.iter().position(|a| a.provider == provider)?;
            Some((plan.attempts.get(at)?, at + 1 < plan.attempts.len()))
        });
        let plugin = Rc::clone(&self.plugin);
        let tenants = plugin.store.tenants();
        strip_client_credentials(tenants.identity_header());
        let tenant = match filter_state::get(contract::TENANT) {
            Some(id) => tenants.get(&id),
            None => None,
        };
        if tenant.is_none() && tenants.enabled() && tenants.required() {
            log::error!(
                "portcullis.credentials #{}: no tenant in filter state: run a downstream portcullis.credentials with the same tenants",
                self.context_id
            );
            return self.refuse(&ClientError::new(ErrorKind::Authentication, "Missing API key."));
        }
        let requested = plan.as_ref().map_or("", |p| p.request_model.as_str());
        let model = attempt.map_or("", |(a, _)| a.upstream_model.as_str());
        if let Err(err) = self.check_scope(tenant, &provider, requested, model) {
            return self.refuse(&err);
        }
        let kind = attempt.map(|(a, _)| a.kind);
        let fallback_follows = attempt.is_some_and(|(_, follows)| follows);
        self.inject(tenant, &provider, kind, fallback_follows)
    }

    /// May the tenant use `provider` with `requested` (the model the client asked for) or
    /// `model` (the model sent upstream)?
    fn check_scope(
        &self,
        tenant: Option<&Tenant>,
        provider: &str,
        requested: &str,
        model: &str,
    ) -> Result<(), ClientError> {
        let Some(tenant) = tenant else { return Ok(()) };
        if tenant.allows(provider, &[requested, model]) {
            return Ok(());
        }
        log::debug!(
            "portcullis.credentials #{}: tenant {} may not use {provider} / {requested} ({model})",
            self.context_id,
            tenant.id
        );
        Err(ClientError::new(
            ErrorKind::PermissionDenied,
            format!("this API key may not use model `{requested}` (provider `{provider}`)"),
        ))
    }

    /// Picks a key from the pool for `provider` and sets it in the provider's scheme.
    /// `fallback_follows`: a failover attempt after which Envoy may still try another provider.
    fn inject(
        &mut self,
        tenant: Option<&Tenant>,
        provider: &str,
        kind: Option<ProviderKind>,
        fallback_follows: bool,
    ) -> Action {
        let plugin = Rc::clone(&self.plugin);
        let pool = match plugin.store.lookup(tenant, provider) {
            Lookup::Found(pool) => pool,
            Lookup::NotConfigured => return Action::Continue,
            Lookup::Missing(why) => {
                log::error!("portcullis.credentials #{}: provider {provider}: {why}", self.context_id);
                return self.refuse(&ClientError::new(
                    ErrorKind::Unavailable,
                    format!("the gateway has no credential for provider `{provider}`"),
                ));
            }
        };
        let Some(kind) = kind else {
            log::error!("portcullis.credentials #{}: provider kind missing in filter state", self.context_id);
            return self.refuse(&ClientError::new(
                ErrorKind::Unavailable,
                "the gateway could not determine the provider's auth scheme",
            ));
        };
        let now = shared::now_unix_seconds();
        let key = match pool
            .pick(now, |id| shared::get(&id.shared_data_key()).and_then(|v| keypool::parse_until(&v)))
        {
            Pick::Key(key) => key,
            // Envoy fails over only on a provider's answer: a local reply from an upstream filter
            // is final (and resetting the attempt resets the client's request), so while another
            // provider follows, the key that is back soonest is sent and the provider's 429 moves
            // the request on.
            Pick::AllCooling { soonest, .. } if fallback_follows => soonest,
            Pick::AllCooling { retry_after, .. } => {
                log::warn!(
                    "portcullis.credentials #{}: every key of provider {provider} is cooling down; retry in {retry_after}s",
                    self.context_id
                );
                return self.refuse(
                    &ClientError::new(
                        ErrorKind::RateLimited,
                        format!(
                            "every key for provider `{provider}` is rate limited; retry in {retry_after} s"
                        ),
                    )
                    .with_retry_after(retry_after),
                );
            }
            Pick::Empty => {
                return self.refuse(&ClientError::new(
                    ErrorKind::Unavailable,
                    format!("the gateway has no credential for provider `{provider}`"),
                ))
            }
        };
        for (name, value) in credential::injected_headers(kind.auth_scheme(), &key.key, &pool.headers) {
            http::set_header(Side::Request, &name, &value);
        }
        log::debug!(
            "portcullis.credentials #{}: provider {provider} key #{} ({})",
            self.context_id,
            key.index,
            key.id.as_str()
        );
        self.used = Some(UsedKey {
            id: key.id.clone(),
            index: key.index,
            provider: provider.to_string(),
            cooldown_seconds: pool.cooldown_seconds,
        });
        Action::Continue
    }

    /// Puts the key in cooldown if the provider refused it (401) or rate limited it (429).
    /// Local replies (a later filter's 429, Envoy's own 503) say nothing about the key.
    fn observe_provider_status(&self, used: &UsedKey) {
        let Some(status) = http::header(Side::Response, ":status").and_then(|s| s.parse::<u16>().ok()) else {
            return;
        };
        if !keypool::cools_down(status) {
            // The common case: one host call and done.
            return;
        }
        // Upstream, only the codec follows this filter: every response is the provider's.
        let from_upstream = self.plugin.store.placement() == Placement::Upstream
            || filter_state::property(&["response", "code_details"]).is_some_and(|d| d == b"via_upstream");
        if !from_upstream {
            return;
        }
        let Some(seconds) = keypool::cooldown_after(
            status,
            http::header(Side::Response, "retry-after").as_deref(),
            http::header(Side::Response, "retry-after-ms").as_deref(),
            used.cooldown_seconds,
        ) else {
            return;
        };
        let until = shared::now_unix_seconds().saturating_add(seconds);
        shared::update(&used.id.shared_data_key(), |current| keypool::extend_until(current, until));
        log::warn!(
            "portcullis.credentials #{}: provider {} answered {status} to key #{} ({}); cooling down for {seconds}s",
            self.context_id,
            used.provider,
            used.index,
            used.id.as_str()
        );
    }

    /// Answers locally in the client's API shape; nothing reaches a provider.
    fn refuse(&self, err: &ClientError) -> Action {
        let api = self.client_api.unwrap_or_else(client_api_from_path);
        http::send_error(err, api.error_shape());
        Action::Pause
    }
}

/// Removes every header a client may carry a credential in (and the trusted identity header).
fn strip_client_credentials(identity_header: Option<&str>) {
    for name in credential::CLIENT_CREDENTIAL_HEADERS {
        http::remove_header(Side::Request, name);
    }
    if let Some(name) = identity_header {
        http::remove_header(Side::Request, name);
    }
}

/// The API the client speaks, for a request the router did not route: from the request path.
fn client_api_from_path() -> WireApi {
    let method = http::header(Side::Request, ":method").unwrap_or_default();
    let path = http::header(Side::Request, ":path").unwrap_or_default();
    match api::classify(&method, &path) {
        Some(ClientRequest::Inference(api)) => api,
        Some(ClientRequest::Gemini { .. }) => WireApi::GeminiGenerate,
        _ => WireApi::OpenAiChat,
    }
}
