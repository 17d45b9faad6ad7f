//! Budgets across Envoy replicas, through Envoy's own rate limit filter and a rate limit
//! service (RLS) shared by every replica: this filter only says *how much* each call charges.
//!
//! Envoy's `envoy.filters.http.ratelimit`, placed after this filter, calls the RLS with the
//! descriptors of the route's `rate_limits` and, as the number of hits, the filter state
//! `envoy.ratelimit.hits_addend` (a registered key, set through the foreign function
//! `set_envoy_filter_state`). So:
//! - at admission (the final request body known) the addend is the request's *estimate*: its
//!   prompt tokens plus its own max output tokens, else [`GlobalBudgetConfig::reserve`]; the
//!   rate limit filter then charges it, or refuses the request with a 429 before any provider
//!   is called;
//! - when the answer is complete the addend becomes the *remainder* (actual − estimate, floored
//!   at 0), which the route's `apply_on_stream_done` descriptors charge when the stream ends.
//!   The RLS protocol has no refunds: an over-estimate stays charged until the window ends.
//!
//! The rate limit filter reads the addend in its `decodeHeaders`, so this filter holds the
//! request headers until the body is complete (`allow_on_headers_stop_iteration: true` in its
//! plugin config, like the router's); without that flag Envoy never delivers the body.

use crate::http::host::Host;
use serde::Deserialize;

/// Envoy's filter-state key for the number of hits a rate limit call adds.
pub const HITS_ADDEND: &str = "envoy.ratelimit.hits_addend";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalBudgetConfig {
    /// Output tokens assumed at admission for a request that sets no max output tokens.
    #[serde(default = "default_reserve")]
    pub reserve: u64,
}

fn default_reserve() -> u64 {
    1024
}

/// What admission charged, to settle when the answer is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub estimate: u64,
    settled: bool,
}

/// Sets the addend to the request's estimate, for the rate limit filter's admission call.
/// `None` if Envoy refused the filter state (logged; the rate limit filter then charges 1).
pub fn admit(host: &mut dyn Host, estimate: u64) -> Option<Charge> {
    // At least 1: 0 means "unset" to the RLS protocol, which counts it as 1 anyway.
    let estimate = clamp(estimate).max(1);
    host.set_envoy_filter_state(HITS_ADDEND, &estimate.to_string())
        .then_some(Charge { estimate, settled: false })
}

/// Sets the addend to what the request spent beyond its estimate, for the rate limit filter's
/// call when the stream is done. Once per request.
pub fn settle(host: &mut dyn Host, charge: &mut Charge, actual: u64) {
    if charge.settled {
        return;
    }
    charge.settled = true;
    let remainder = clamp(actual.saturating_sub(charge.estimate));
    host.set_envoy_filter_state(HITS_ADDEND, &remainder.to_string());
}

/// Envoy keeps the addend as a 32-bit number.
fn clamp(n: u64) -> u64 {
    n.min(u64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fake_host::FakeHost;

    #[test]
    fn admission_charges_the_estimate_and_settling_the_remainder_once() {
        let mut host = FakeHost::default();
        let mut charge = admit(&mut host, 700).unwrap();
        assert_eq!(host.envoy_filter_state.get(HITS_ADDEND).map(String::as_str), Some("700"));
        settle(&mut host, &mut charge, 1_000);
        assert_eq!(host.envoy_filter_state.get(HITS_ADDEND).map(String::as_str), Some("300"));
        settle(&mut host, &mut charge, 5_000);
        assert_eq!(host.envoy_filter_state.get(HITS_ADDEND).map(String::as_str), Some("300"), "once");
    }

    #[test]
    fn an_over_estimate_settles_to_zero_and_huge_counts_clamp() {
        let mut host = FakeHost::default();
        let mut charge = admit(&mut host, 0).unwrap();
        assert_eq!(charge.estimate, 1, "never 0, which the protocol reads as 1 anyway");
        settle(&mut host, &mut charge, 0);
        assert_eq!(host.envoy_filter_state.get(HITS_ADDEND).map(String::as_str), Some("0"));
        let charge = admit(&mut host, u64::MAX).unwrap();
        assert_eq!(charge.estimate, u64::from(u32::MAX));
    }

    #[test]
    fn a_refused_filter_state_is_no_charge() {
        let mut host = FakeHost::default();
        host.refuse_envoy_filter_state = true;
        assert_eq!(admit(&mut host, 10), None);
    }
}
