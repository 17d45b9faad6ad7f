//! The credentials filter, per request.
//!
//! Request path: read the client's credential (virtual key, or the trusted identity header an
//! Envoy authn filter wrote), remove every client credential header, identify the tenant, check
//! its scope against the provider and model the router chose (the router's record, required on
//! routed requests), pick a key from the provider's pool and inject it in the provider's scheme.
//! Response path: a 401 or 429 from the provider puts the key used in cooldown for every worker
//! (shared data, under a key id, never the key).
//!
//! With failover ([`Placement::Upstream`]), a second instance runs as an upstream filter on the
//! failover cluster and does the key part once per attempt, for the provider of that attempt.
//!
//! Nothing secret is logged: keys are `Secret`s, which print as `<redacted>`; log lines name a
//! key by its position in the pool and its id (a hash prefix).

use super::client_key::{self, CLIENT_CREDENTIAL_HEADERS};
use super::credential::{self, CredentialStore, Lookup, Placement};
use super::keypool::{self, KeyId, Pick};
use super::tenant::{Caller, Presented, Tenant};
use crate::common::error::{ClientError, ErrorKind};
use crate::contract::{self, decision};
use crate::http::host::{self, Flow, Headers, Host, HttpFlow, Side};
use crate::llm::api::{self, WireApi};
use crate::llm::provider::ProviderKind;
use crate::router::plan::RoutePlan;
use std::rc::Rc;

/// The provider key a request was sent with, so its response can cool it down.
struct UsedKey {
    id: KeyId,
    index: usize,
    provider: String,
    cooldown_seconds: u64,
}

pub struct CredentialsFlow {
    store: Rc<CredentialStore>,
    /// The API the client speaks, once known: the shape of a refusal.
    client_api: Option<WireApi>,
    used: Option<UsedKey>,
}

impl CredentialsFlow {
    pub fn new(store: Rc<CredentialStore>) -> Self {
        Self { store, client_api: None, used: None }
    }

    /// Downstream: identify the caller, check scope, inject the key (unless Envoy fails over
    /// between providers, in which case the upstream instance injects per attempt).
    fn on_client_request(&mut self, host: &mut dyn Host) -> Flow {
        let store = Rc::clone(&self.store);
        let tenants = store.tenants();
        // One snapshot: what the client presented, and which credential headers to remove.
        let headers = host.headers(Side::Request);
        let decision = match decision::require(host, "credentials") {
            Ok(decision) => decision,
            Err((err, shape)) => {
                strip_client_credentials(host, &headers, tenants.identity_header());
                host::send_error(host, &err, shape);
                return Flow::Pause;
            }
        };
        self.client_api = decision.as_ref().map(|d| d.client_api);
        let virtual_key = tenants
            .enabled()
            .then(|| client_key::client_key(|name| headers.get(name).map(str::to_string)))
            .flatten();
        let identity = tenants.identity_header().and_then(|name| headers.get(name)).map(str::to_string);
        // Whatever the client presented, none of it travels further.
        strip_client_credentials(host, &headers, tenants.identity_header());

        let presented = Presented { virtual_key: virtual_key.as_deref(), identity: identity.as_deref() };
        let tenant = match tenants.identify(presented) {
            Ok(Caller::Tenant(t)) => {
                host.set_filter_state(contract::TENANT, t.id.as_bytes());
                Some(t)
            }
            Ok(Caller::Anonymous) => None,
            Err(err) => {
                log::debug!("{} {}", err.status(), err.message);
                return self.refuse(host, &headers, &err);
            }
        };

        let Some(decision) = decision else {
            // Not routed by Portcullis: nothing to check or inject.
            return Flow::Continue;
        };
        if let Err(err) = check_scope(tenant, &decision.provider, &decision.request_model, &decision.model) {
            return self.refuse(host, &headers, &err);
        }
        if decision.failover {
            // One request, several providers: the first provider's key must not travel to the
            // next one. The upstream instance injects per attempt.
            return Flow::Continue;
        }
        self.inject(host, &headers, tenant, &decision.provider, Some(decision.kind), false)
    }

    /// Upstream, once per failover attempt: the tenant is known (filter state from the
    /// downstream instance), the provider is this attempt's.
    fn on_attempt(&mut self, host: &mut dyn Host) -> Flow {
        let Some(provider) = host.filter_state(contract::ATTEMPT_PROVIDER) else {
            // Not a failover attempt: the downstream instance did everything.
            return Flow::Continue;
        };
        let provider = String::from_utf8_lossy(&provider).into_owned();
        // The plan (the downstream router's) says what the client asked for, what this attempt
        // sends, and whether another provider follows it.
        let plan = host
            .filter_state(contract::ROUTE_PLAN)
            .and_then(|json| serde_json::from_slice::<RoutePlan>(&json).ok());
        self.client_api = plan.as_ref().map(|p| p.client_api);
        let attempt = plan.as_ref().and_then(|plan| {
            let at = plan.attempts.iter().position(|a| a.provider == provider)?;
            Some((plan.attempts.get(at)?, at.saturating_add(1) < plan.attempts.len()))
        });
        let store = Rc::clone(&self.store);
        let tenants = store.tenants();
        let headers = host.headers(Side::Request);
        strip_client_credentials(host, &headers, tenants.identity_header());
        let tenant = match host.filter_state(contract::TENANT) {
            Some(id) => tenants.get(&String::from_utf8_lossy(&id)),
            None => None,
        };
        if tenant.is_none() && tenants.enabled() && tenants.required() {
            log::error!(
                "no tenant in filter state: run a downstream portcullis.credentials with the same tenants"
            );
            return self.refuse(
                host,
                &headers,
                &ClientError::new(ErrorKind::Authentication, "Missing API key."),
            );
        }
        let requested = plan.as_ref().map_or("", |p| p.request_model.as_str());
        let model = attempt.map_or("", |(a, _)| a.upstream_model.as_str());
        if let Err(err) = check_scope(tenant, &provider, requested, model) {
            return self.refuse(host, &headers, &err);
        }
        let kind = attempt.map(|(a, _)| a.kind);
        let fallback_follows = attempt.is_some_and(|(_, follows)| follows);
        self.inject(host, &headers, tenant, &provider, kind, fallback_follows)
    }

    /// Picks a key from the pool for `provider` and sets it in the provider's scheme.
    /// `fallback_follows`: a failover attempt after which Envoy may still try another provider.
    fn inject(
        &mut self,
        host: &mut dyn Host,
        headers: &Headers,
        tenant: Option<&Tenant>,
        provider: &str,
        kind: Option<ProviderKind>,
        fallback_follows: bool,
    ) -> Flow {
        let store = Rc::clone(&self.store);
        let pool = match store.lookup(tenant, provider) {
            Lookup::Found(pool) => pool,
            Lookup::NotConfigured => return Flow::Continue,
            Lookup::Missing(why) => {
                log::error!("provider {provider}: {why}");
                let err = ClientError::new(
                    ErrorKind::Unavailable,
                    format!("the gateway has no credential for provider `{provider}`"),
                );
                return self.refuse(host, headers, &err);
            }
        };
        let Some(kind) = kind else {
            log::error!("provider kind missing in filter state");
            let err = ClientError::new(
                ErrorKind::Unavailable,
                "the gateway could not determine the provider's auth scheme",
            );
            return self.refuse(host, headers, &err);
        };
        let now = host::now_seconds(host);
        let key = match pool
            .pick(now, |id| host.shared_data(&id.shared_data_key()).0.and_then(|v| keypool::parse_entry(&v)))
        {
            Pick::Key(key) => key,
            // Envoy fails over only on a provider's answer: a local reply from an upstream filter
            // is final (and resetting the attempt resets the client's request), so while another
            // provider follows, the key that is back soonest is sent and the provider's 429 moves
            // the request on.
            Pick::AllCooling { soonest, .. } if fallback_follows => soonest,
            Pick::AllCooling { retry_after, .. } => {
                log::warn!("every key of provider {provider} is cooling down; retry in {retry_after}s");
                let err = ClientError::new(
                    ErrorKind::RateLimited,
                    format!("every key for provider `{provider}` is rate limited; retry in {retry_after} s"),
                )
                .with_retry_after(retry_after);
                return self.refuse(host, headers, &err);
            }
            Pick::Empty => {
                let err = ClientError::new(
                    ErrorKind::Unavailable,
                    format!("the gateway has no credential for provider `{provider}`"),
                );
                return self.refuse(host, headers, &err);
            }
        };
        for (name, value) in credential::injected_headers(kind.auth_scheme(), &key.key, &pool.headers) {
            host.set_header(Side::Request, &name, &value);
        }
        log::debug!("provider {provider} key #{} ({})", key.index, key.id.as_str());
        self.used = Some(UsedKey {
            id: key.id.clone(),
            index: key.index,
            provider: provider.to_string(),
            cooldown_seconds: pool.cooldown_seconds,
        });
        Flow::Continue
    }

    /// Puts the key in cooldown if the provider refused it (401) or rate limited it (429).
    /// Local replies (a later filter's 429, Envoy's own 503) say nothing about the key.
    fn observe_provider_status(&self, host: &mut dyn Host, used: &UsedKey) {
        let Some(status) = host.header(Side::Response, ":status").and_then(|s| s.parse::<u16>().ok()) else {
            return;
        };
        if !keypool::cools_down(status) {
            // The common case: one host call and done.
            return;
        }
        // Upstream, only the codec follows this filter: every response is the provider's.
        let from_upstream = self.store.placement() == Placement::Upstream
            || host.property(&["response", "code_details"]).is_some_and(|d| d == b"via_upstream");
        if !from_upstream {
            return;
        }
        let Some((seconds, hinted)) = keypool::cooldown_after(
            status,
            host.header(Side::Response, "retry-after").as_deref(),
            host.header(Side::Response, "retry-after-ms").as_deref(),
            used.cooldown_seconds,
        ) else {
            return;
        };
        let until = host::now_seconds(host).saturating_add(seconds);
        host::update_shared(host, &used.id.shared_data_key(), |current| {
            keypool::extend_until(current, until, hinted)
        });
        log::warn!(
            "provider {} answered {status} to key #{} ({}); cooling down for {seconds}s",
            used.provider,
            used.index,
            used.id.as_str()
        );
    }

    /// Answers locally in the client's API shape; nothing reaches a provider.
    fn refuse(&self, host: &mut dyn Host, headers: &Headers, err: &ClientError) -> Flow {
        let api = self.client_api.unwrap_or_else(|| client_api_from_path(headers));
        host::send_error(host, err, api.error_shape());
        Flow::Pause
    }
}

impl HttpFlow for CredentialsFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        match self.store.placement() {
            Placement::Downstream => self.on_client_request(host),
            Placement::Upstream => self.on_attempt(host),
        }
    }

    fn on_response_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        if let Some(used) = self.used.take() {
            self.observe_provider_status(host, &used);
        }
        Flow::Continue
    }
}

/// May the tenant use `provider` with `requested` (the model the client asked for) or `model`
/// (the model sent upstream)?
fn check_scope(
    tenant: Option<&Tenant>,
    provider: &str,
    requested: &str,
    model: &str,
) -> Result<(), ClientError> {
    let Some(tenant) = tenant else { return Ok(()) };
    if tenant.allows(provider, &[requested, model]) {
        return Ok(());
    }
    log::debug!("tenant {} may not use {provider} / {requested} ({model})", tenant.id);
    Err(ClientError::new(
        ErrorKind::PermissionDenied,
        format!("this API key may not use model `{requested}` (provider `{provider}`)"),
    ))
}

/// Removes every header a client may carry a credential in (and the trusted identity header),
/// of those present: a removal is a host call.
fn strip_client_credentials(host: &mut dyn Host, headers: &Headers, identity_header: Option<&str>) {
    for name in headers.names() {
        if CLIENT_CREDENTIAL_HEADERS.contains(&name) || identity_header == Some(name) {
            host.remove_header(Side::Request, name);
        }
    }
}

/// The API the client speaks, for a request the router did not route: from the request.
fn client_api_from_path(headers: &Headers) -> WireApi {
    let method = headers.get(":method").unwrap_or_default();
    let path = headers.get(":path").unwrap_or_default();
    api::client_api(method, path, headers)
}
