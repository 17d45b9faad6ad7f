//! One fetch of a short-lived credential serves every worker: the decision against the shared
//! cache ([`identity::plan`]), the fetch claimed there (one worker fetches while the others keep
//! using the still-valid value), the answer cached, and the fallback when the fetch fails.
//!
//! One path for both credentials fetched this way — bearer tokens (GCP metadata server, Azure
//! IMDS) and AWS container credentials — so their caching and failure behaviour cannot drift
//! apart. What the credential is used for (a header, a signature) stays with the caller.

use super::identity::{self, Plan, TokenSource};
use crate::common::metric;
use crate::common::secret::Secret;
use crate::http::host::{self, Host};

/// Counts fetches by outcome: `ok`, `stale` (failed; the still-valid credential was used),
/// `error` (failed; the request was refused — counted by the caller that refuses).
const FETCHES: &str = "portcullis_credentials_token_fetches_total";

/// What a request does for its credential.
pub(super) enum Acquire {
    /// Use this one now (cached, left by the worker fetching, or still valid after a failed
    /// dispatch).
    Ready(Secret),
    /// Wait for this call's answer ([`settle`]); `stale` is a still-valid credential to fall back
    /// on if it fails.
    Fetching { call: u32, stale: Option<Secret> },
    /// None now and none coming: the caller refuses the request.
    Failed,
}

pub(super) fn acquire(host: &mut dyn Host, source: &TokenSource, provider: &str) -> Acquire {
    let now = host::now_seconds(host);
    let (cached, cas) = host.shared_data(&source.cache_key);
    let stale = match identity::plan(source, cached.as_deref(), now) {
        Plan::Use(token) => return Acquire::Ready(token),
        Plan::Fetch { claim, stale } => {
            // Claim the fetch so other workers keep using the still-valid credential meanwhile.
            // Losing the claim to another worker: use the one it left, if there is one.
            if host.set_shared_data(&source.cache_key, &claim, cas) == host::SharedWrite::Conflict {
                if let Some(token) = stale {
                    return Acquire::Ready(token);
                }
            }
            stale
        }
    };
    let call_headers = source.request_headers();
    let refs: Vec<(&str, &str)> = call_headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    match host.dispatch(&source.cluster, &refs, b"", source.timeout_ms) {
        Ok(call) => Acquire::Fetching { call, stale },
        Err(why) => {
            log::error!("provider {provider}: cannot call identity cluster {}: {why}", source.cluster);
            fall_back(host, provider, stale).map_or(Acquire::Failed, Acquire::Ready)
        }
    }
}

/// The answer to a fetch ([`Acquire::Fetching`]): the fresh credential, cached for every worker;
/// else the still-valid one; `None`: the caller refuses the request.
pub(super) fn settle(
    host: &mut dyn Host,
    source: &TokenSource,
    provider: &str,
    body_size: usize,
    stale: Option<Secret>,
) -> Option<Secret> {
    let (status, answer) = if body_size > identity::MAX_ANSWER_BYTES {
        (None, Vec::new())
    } else {
        host.call_response(body_size)
    };
    let now = host::now_seconds(host);
    match source.parse(status, &answer, now) {
        Ok(fresh) => {
            host.set_shared_data(&source.cache_key, &fresh.encode(), None);
            count(host, provider, "ok");
            log::info!(
                "provider {provider}: new credential from {}, valid {} s",
                source.cluster,
                fresh.expires_at.saturating_sub(now)
            );
            Some(fresh.token)
        }
        Err(why) => {
            log::warn!("provider {provider}: credential from cluster {} failed: {why}", source.cluster);
            fall_back(host, provider, stale)
        }
    }
}

fn fall_back(host: &mut dyn Host, provider: &str, stale: Option<Secret>) -> Option<Secret> {
    if stale.is_some() {
        count(host, provider, "stale");
    }
    stale
}

pub(super) fn count(host: &mut dyn Host, provider: &str, outcome: &str) {
    host.increment(
        &metric::labelled(FETCHES, &[("gen_ai_provider_name", provider), ("outcome", outcome)]),
        1,
    );
}
