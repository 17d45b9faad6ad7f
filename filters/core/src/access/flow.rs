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
//! A provider whose credential is AWS's (Bedrock) is signed, not keyed: in the upstream placement
//! (on the provider's cluster), which holds the request until its body is complete and signs the
//! final method, path, headers and body ([`super::aws`]); the listener's instance sends nothing.
//!
//! A provider whose credential is a cloud identity ([`super::identity`]) gets a token from the
//! shared cache, or waits while this request fetches one (`dispatch_http_call`, then resume).
//!
//! Nothing secret is logged: keys are `Secret`s, which print as `<redacted>`; log lines name a
//! key by its position in the pool and its id (a hash prefix).

use super::aws::AwsCredential;
use super::client_key::{self, CLIENT_CREDENTIAL_HEADERS};
use super::credential::{self, CredentialStore, Lookup, Placement, TokenCredential};
use super::fetch::{self, Acquire};
use super::identity::{self, CachedToken, TokenSource};
use super::keypool::{self, KeyId, Pick};
use super::sigv4;
use super::tenant::{Caller, Presented, Tenant};
use crate::common::error::{ClientError, ErrorKind};
use crate::common::secret::Secret;
use crate::contract::attempt::AttemptRecord;
use crate::contract::record::{ContractError, RecordError};
use crate::contract::{self, decision};
use crate::http::host::{self, Flow, Headers, Host, HttpFlow, Side};
use crate::llm::api::{self, WireApi};
use crate::llm::provider::{AuthScheme, ProviderKind};
use std::rc::Rc;

/// The provider key a request was sent with, so its response can cool it down.
struct UsedKey {
    id: KeyId,
    index: usize,
    provider: String,
    cooldown_seconds: u64,
}

/// A token fetch this request waits for.
struct PendingToken {
    call: u32,
    provider: String,
    source: TokenSource,
    headers: Vec<(String, String)>,
    /// A still-valid token to use if the fetch fails.
    stale: Option<Secret>,
    api: WireApi,
}

/// A request held to be signed once its body is complete (and its credentials known).
struct Signing {
    aws: AwsCredential,
    provider: String,
    /// The credentials to sign with; `None` while they are being fetched.
    credentials: Option<sigv4::Credentials>,
    /// The credentials fetch in flight, and still-valid credentials to fall back on.
    fetch: Option<(u32, Option<Secret>)>,
    /// The body is complete (its size): signing waits only for the credentials.
    body_size: Option<usize>,
}

pub struct CredentialsFlow {
    store: Rc<CredentialStore>,
    /// The API the client speaks, once known: the shape of a refusal.
    client_api: Option<WireApi>,
    used: Option<UsedKey>,
    pending: Option<PendingToken>,
    /// The cache key of the token this request was sent with: a provider's 401 drops it.
    used_token: Option<String>,
    /// AWS credentials to sign the request with once its body is complete.
    signing: Option<Signing>,
    /// The request had no body (its headers ended the stream).
    headers_only: bool,
}

impl CredentialsFlow {
    pub fn new(store: Rc<CredentialStore>) -> Self {
        Self {
            store,
            client_api: None,
            used: None,
            pending: None,
            used_token: None,
            signing: None,
            headers_only: false,
        }
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
        let provider = match AttemptRecord::read(host) {
            Ok(record) => record.provider,
            // Not a failover attempt: the downstream instance did everything, unless the
            // provider signs its requests (its cluster carries this instance for that).
            Err(RecordError::Missing) => return self.sign_single_provider(host),
            Err(e) => return self.refuse_contract(host, ContractError::Attempt(e)),
        };
        // The plan (the downstream router's) says what the client asked for, what this attempt
        // sends, and whether another provider follows it.
        let plan = match contract::plan::read(host) {
            Ok(plan) => plan,
            Err(e) => return self.refuse_contract(host, ContractError::Plan(e)),
        };
        self.client_api = Some(plan.client_api);
        let Some(at) = plan.attempts.iter().position(|a| a.provider == provider) else {
            return self.refuse_contract(host, ContractError::UnknownProvider);
        };
        let attempt = plan.attempts.get(at).map(|a| (a, at.saturating_add(1) < plan.attempts.len()));
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
        let requested = plan.request_model.as_str();
        let model = attempt.map_or("", |(a, _)| a.upstream_model.as_str());
        if let Err(err) = check_scope(tenant, &provider, requested, model) {
            return self.refuse(host, &headers, &err);
        }
        let kind = attempt.map(|(a, _)| a.kind);
        let fallback_follows = attempt.is_some_and(|(_, follows)| follows);
        self.inject(host, &headers, tenant, &provider, kind, fallback_follows)
    }

    /// On a signing provider's own cluster (no failover): the router's record names the
    /// provider; a provider with AWS credentials is signed here.
    fn sign_single_provider(&mut self, host: &mut dyn Host) -> Flow {
        let decision = match decision::Decision::read(host) {
            Ok(decision) => decision,
            // Not routed by Portcullis: nothing to sign for.
            Err(RecordError::Missing) => return Flow::Continue,
            Err(e) => return self.refuse_contract(host, ContractError::Decision(e)),
        };
        self.client_api = Some(decision.client_api);
        let store = Rc::clone(&self.store);
        let tenant = host
            .filter_state(contract::TENANT)
            .and_then(|id| store.tenants().get(&String::from_utf8_lossy(&id)));
        match store.lookup(tenant, &decision.provider) {
            Lookup::Aws(aws) => self.hold_for_signature(host, &decision.provider, aws),
            _ => Flow::Continue,
        }
    }

    /// Downstream: nothing (the upstream instance signs). Upstream: hold the headers until the
    /// body is complete (and the credentials known: from the environment, the shared cache, or
    /// a fetch from the container credentials endpoint), then sign.
    fn hold_for_signature(&mut self, host: &mut dyn Host, provider: &str, aws: &AwsCredential) -> Flow {
        if self.store.placement() == Placement::Downstream {
            log::debug!("provider {provider}: signed per request on its cluster (upstream placement)");
            return Flow::Continue;
        }
        for (name, value) in &aws.headers {
            host.set_header(Side::Request, name, value);
        }
        let mut signing = Signing {
            aws: aws.clone(),
            provider: provider.to_owned(),
            credentials: aws.static_credentials().cloned(),
            fetch: None,
            body_size: None,
        };
        if let (None, Some(source)) = (&signing.credentials, &aws.source) {
            match fetch::acquire(host, source, provider) {
                Acquire::Ready(token) => signing.credentials = identity::aws_credentials(&token),
                Acquire::Fetching { call, stale } => signing.fetch = Some((call, stale)),
                Acquire::Failed => return self.refuse_signing(host, provider),
            }
        }
        if signing.credentials.is_none() && signing.fetch.is_none() {
            // Nothing to sign with and nothing on its way (an unreadable cache entry): refuse
            // rather than hold the request forever.
            return self.refuse_signing(host, provider);
        }
        self.signing = Some(signing);
        if self.headers_only {
            return self.sign_when_ready(host, 0);
        }
        Flow::Pause
    }

    /// The body is complete: sign now, or once the credentials arrive.
    fn sign_when_ready(&mut self, host: &mut dyn Host, size: usize) -> Flow {
        let ready = self.signing.as_ref().is_some_and(|s| s.credentials.is_some());
        if !ready {
            if let Some(signing) = &mut self.signing {
                signing.body_size = Some(size);
            }
            return Flow::Pause;
        }
        let body = if size == 0 { Vec::new() } else { host.body(Side::Request, size).unwrap_or_default() };
        self.sign(host, &body)
    }

    /// The container credentials endpoint answered (or failed).
    fn on_credentials(&mut self, host: &mut dyn Host, call: u32, body_size: usize) -> bool {
        let Some(signing) = self.signing.as_mut() else { return false };
        if signing.fetch.as_ref().is_none_or(|(pending, _)| *pending != call) {
            return false;
        }
        let stale = signing.fetch.take().and_then(|(_, stale)| stale);
        let Some(source) = signing.aws.source.clone() else { return true };
        let provider = signing.provider.clone();
        let credentials = fetch::settle(host, &source, &provider, body_size, stale)
            .and_then(|t| identity::aws_credentials(&t));
        let Some(credentials) = credentials else {
            self.refuse_signing(host, &provider);
            return true;
        };
        signing.credentials = Some(credentials);
        if let Some(size) = signing.body_size {
            if self.sign_when_ready(host, size) == Flow::Continue {
                host.resume(Side::Request);
            }
        }
        true
    }

    fn refuse_signing(&mut self, host: &mut dyn Host, provider: &str) -> Flow {
        self.signing = None;
        unavailable(host, provider, self.client_api.unwrap_or(WireApi::OpenAiChat))
    }

    /// Signs the request as it leaves: method, path and query, `host` and `content-type`, body.
    fn sign(&mut self, host: &mut dyn Host, body: &[u8]) -> Flow {
        let Some(Signing { aws, credentials: Some(credentials), .. }) = self.signing.take() else {
            return Flow::Continue;
        };
        let headers = host.headers(Side::Request);
        let authority = headers.get(":authority").unwrap_or_default().to_string();
        let Some(region) = aws.region_for(&authority) else {
            log::error!(
                "cannot tell the signing region from host `{authority}`: set the provider's `aws.region`"
            );
            let err = ClientError::new(
                ErrorKind::Unavailable,
                "the gateway cannot sign requests for this provider",
            );
            host::send_error(host, &err, self.client_api.unwrap_or(WireApi::OpenAiChat).error_shape());
            return Flow::Pause;
        };
        let mut signed_headers: Vec<(&str, &str)> = vec![("host", authority.as_str())];
        if let Some(ct) = headers.get("content-type") {
            signed_headers.push(("content-type", ct));
        }
        signed_headers.extend(aws.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let method = headers.get(":method").unwrap_or("POST");
        let path = headers.get(":path").unwrap_or("/");
        let now = host::now_seconds(host);
        for (name, value) in
            AwsCredential::sign(&credentials, method, path, &signed_headers, body, &region, now)
        {
            host.set_header(Side::Request, name, &value);
        }
        if !body.is_empty() {
            // The whole body is known (a per-attempt rewrite dropped its length): sent with a
            // length, not chunked, as AWS expects.
            host.set_header(Side::Request, "content-length", &body.len().to_string());
        }
        Flow::Continue
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
            Lookup::Token(credential) => return self.inject_token(host, headers, provider, credential),
            Lookup::Aws(aws) => return self.hold_for_signature(host, provider, aws),
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

    /// A token from the shared cache, or a fetch this request waits for.
    fn inject_token(
        &mut self,
        host: &mut dyn Host,
        headers: &Headers,
        provider: &str,
        credential: &TokenCredential,
    ) -> Flow {
        let source = &credential.source;
        match fetch::acquire(host, source, provider) {
            Acquire::Ready(token) => self.send_token(host, source, &token, &credential.headers),
            Acquire::Fetching { call, stale } => {
                self.pending = Some(PendingToken {
                    call,
                    provider: provider.to_owned(),
                    source: source.clone(),
                    headers: credential.headers.clone(),
                    stale,
                    api: self.client_api.unwrap_or_else(|| client_api_from_path(headers)),
                });
                Flow::Pause
            }
            Acquire::Failed => {
                unavailable(host, provider, self.client_api.unwrap_or_else(|| client_api_from_path(headers)))
            }
        }
    }

    /// The fetched token (cached for every worker), the still-valid one, or a 503.
    fn on_token(&mut self, host: &mut dyn Host, call: u32, body_size: usize) {
        let Some(pending) = self.pending.take_if(|p| p.call == call) else { return };
        let PendingToken { provider, source, headers, stale, api, .. } = pending;
        let flow = match fetch::settle(host, &source, &provider, body_size, stale) {
            Some(token) => self.send_token(host, &source, &token, &headers),
            None => unavailable(host, &provider, api),
        };
        if flow == Flow::Continue {
            host.resume(Side::Request);
        }
    }

    fn send_token(
        &mut self,
        host: &mut dyn Host,
        source: &TokenSource,
        token: &Secret,
        extra: &[(String, String)],
    ) -> Flow {
        for (name, value) in credential::injected_headers(AuthScheme::Bearer, token, extra) {
            host.set_header(Side::Request, &name, &value);
        }
        self.used_token = Some(source.cache_key.clone());
        Flow::Continue
    }

    /// A provider refused the token (401): drop it from the cache so the next request fetches
    /// a new one (a revoked or rotated identity), instead of failing until it expires.
    fn observe_token_status(&self, host: &mut dyn Host, cache_key: &str) {
        if host.header(Side::Response, ":status").as_deref() != Some("401") {
            return;
        }
        let from_upstream = self.store.placement() == Placement::Upstream
            || host.property(&["response", "code_details"]).is_some_and(|d| d == b"via_upstream");
        if from_upstream {
            let dropped = CachedToken { token: Secret::new(String::new()), expires_at: 0, fetching_since: 0 };
            host.set_shared_data(cache_key, &dropped.encode(), None);
            log::warn!("a provider refused a token (401): the next request fetches a new one");
        }
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

    /// A record this instance needs is unusable: nothing is sent to a provider (it would go
    /// without a key, or with the wrong one).
    fn refuse_contract(&self, host: &mut dyn Host, failure: ContractError) -> Flow {
        let message = failure.count(host, "credentials");
        let api = self.client_api.unwrap_or(WireApi::OpenAiChat);
        host::send_error(host, &ClientError::new(ErrorKind::Internal, message), api.error_shape());
        Flow::Pause
    }
}

impl HttpFlow for CredentialsFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Flow {
        self.headers_only = end_of_stream;
        match self.store.placement() {
            Placement::Downstream => self.on_client_request(host),
            Placement::Upstream => self.on_attempt(host),
        }
    }

    fn on_response_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        if let Some(used) = self.used.take() {
            self.observe_provider_status(host, &used);
        }
        if let Some(cache_key) = self.used_token.take() {
            self.observe_token_status(host, &cache_key);
        }
        Flow::Continue
    }

    fn on_request_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        if self.signing.is_none() {
            return Flow::Continue;
        }
        if !end_of_stream {
            // Envoy buffers until the body is complete: a signature covers all of it.
            return Flow::Pause;
        }
        self.sign_when_ready(host, size)
    }

    fn on_http_call_response(&mut self, host: &mut dyn Host, token: u32, body_size: usize) {
        if !self.on_credentials(host, token, body_size) {
            self.on_token(host, token, body_size);
        }
    }
}

/// No credential for `provider` now and none coming: a 503 in the client's shape (counted as
/// a failed fetch).
fn unavailable(host: &mut dyn Host, provider: &str, api: WireApi) -> Flow {
    fetch::count(host, provider, "error");
    let err = ClientError::new(
        ErrorKind::Unavailable,
        format!("the gateway could not get a credential for provider `{provider}`"),
    );
    host::send_error(host, &err, api.error_shape());
    Flow::Pause
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
