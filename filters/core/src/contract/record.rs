//! What every record in the contract shares: a version, one way to read it, and one way a
//! reader reports that it could not.
//!
//! Every record a filter leaves for another (the [decision](super::decision), the
//! [route plan](super::plan), the [attempt](super::attempt)) is JSON with a `v` field. A reader
//! reads the version first, so a record another version of the filters wrote (a partial upgrade
//! of the WasmPlugins) is told apart from a broken one, and never guessed at. A reader that
//! cannot use a record it needs fails closed — it refuses the request, or refuses the answer, or
//! charges what it reserved — and says so through [`ContractError::count`]: the metric
//! `portcullis_contract_errors_total{filter,reason}` and an error log. No reader treats a
//! missing or unreadable record as "nothing to do" on a request the router routed.

use crate::common::metric::labelled;
use crate::http::host::Host;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The metric every contract failure counts, labelled `filter` and `reason`.
pub const CONTRACT_ERRORS: &str = "portcullis_contract_errors_total";

/// Why a record could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// No record where one was needed.
    Missing,
    /// Not JSON, or not the record's fields.
    Unreadable,
    /// Written by filters of another version (0: a record from before versions).
    Version(u32),
}

/// Reads a record of `version`: first its `v`, then the whole of it.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], version: u32) -> Result<T, RecordError> {
    #[derive(Deserialize)]
    struct Head {
        v: Option<u32>,
    }
    let head = serde_json::from_slice::<Head>(bytes).map_err(|_| RecordError::Unreadable)?;
    match head.v {
        Some(v) if v == version => serde_json::from_slice(bytes).map_err(|_| RecordError::Unreadable),
        other => Err(RecordError::Version(other.unwrap_or(0))),
    }
}

/// Reads the record under `key` in filter state, of `version`.
pub fn read<T: DeserializeOwned>(host: &mut dyn Host, key: &str, version: u32) -> Result<T, RecordError> {
    let bytes = host.filter_state(key).ok_or(RecordError::Missing)?;
    decode(&bytes, version)
}

/// Which part of the contract failed a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractError {
    /// The router's [decision](super::decision::Decision).
    Decision(RecordError),
    /// The [route plan](super::plan) of a failover request.
    Plan(RecordError),
    /// The [attempt record](super::attempt) of one failover attempt.
    Attempt(RecordError),
    /// A failover answer without the response header naming the provider that served it: the
    /// upstream router did not run on the attempt (a cluster without it).
    NoAnsweringProvider,
    /// The answer names a provider the plan does not have.
    UnknownProvider,
}

impl ContractError {
    /// The metric's `reason` label.
    pub fn reason(self) -> &'static str {
        use RecordError::{Missing, Unreadable, Version};
        match self {
            ContractError::Decision(Missing) => "missing",
            ContractError::Decision(Unreadable) => "unreadable",
            ContractError::Decision(Version(_)) => "version",
            ContractError::Plan(Missing) => "plan_missing",
            ContractError::Plan(Unreadable) => "plan_unreadable",
            ContractError::Plan(Version(_)) => "plan_version",
            ContractError::Attempt(Missing) => "attempt_missing",
            ContractError::Attempt(Unreadable) => "attempt_unreadable",
            ContractError::Attempt(Version(_)) => "attempt_version",
            ContractError::NoAnsweringProvider => "no_answering_provider",
            ContractError::UnknownProvider => "unknown_provider",
        }
    }

    /// What went wrong, for the log and the client (never a record's content).
    pub fn message(self) -> String {
        let record = |what: &str, e: RecordError, expected: u32| match e {
            RecordError::Missing => format!("no {what} in filter state"),
            RecordError::Unreadable => format!("unreadable {what}"),
            RecordError::Version(v) => format!("{what} version {v}, expected {expected}"),
        };
        match self {
            ContractError::Decision(e) => record("routing record", e, super::decision::VERSION),
            ContractError::Plan(e) => record("route plan", e, super::plan::VERSION),
            ContractError::Attempt(e) => record("attempt record", e, super::attempt::VERSION),
            ContractError::NoAnsweringProvider => {
                "a failover answer does not say which provider served it".to_string()
            }
            ContractError::UnknownProvider => {
                "a failover answer names a provider outside its route plan".to_string()
            }
        }
    }

    /// Counts the failure for `filter` and logs it; returns the message for the client.
    pub fn count(self, host: &mut dyn Host, filter: &str) -> String {
        host.increment(&labelled(CONTRACT_ERRORS, &[("filter", filter), ("reason", self.reason())]), 1);
        let message = self.message();
        log::error!("contract: {message} (filter {filter}): upgrade and install the filters together");
        format!("the gateway is misconfigured: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        provider: String,
    }

    #[test]
    fn the_version_is_read_before_the_fields() {
        assert_eq!(decode::<Probe>(br#"{"v":1,"provider":"x"}"#, 1), Ok(Probe { provider: "x".into() }));
        assert_eq!(decode::<Probe>(br#"{"v":2,"provider":"x"}"#, 1), Err(RecordError::Version(2)));
        assert_eq!(decode::<Probe>(br#"{"provider":"x"}"#, 1), Err(RecordError::Version(0)));
        assert_eq!(decode::<Probe>(br#"{"v":1}"#, 1), Err(RecordError::Unreadable));
        assert_eq!(decode::<Probe>(b"true", 1), Err(RecordError::Unreadable));
        assert_eq!(decode::<Probe>(b"", 1), Err(RecordError::Unreadable));
        assert_eq!(decode::<Probe>(br#"{"v":"1"}"#, 1), Err(RecordError::Unreadable));
    }

    #[test]
    fn a_failure_is_counted_with_its_reason() {
        let mut host = crate::http::fake_host::FakeHost::new();
        let message = ContractError::Plan(RecordError::Version(9)).count(&mut host, "usage");
        assert!(message.contains("route plan version 9, expected"), "{message}");
        assert_eq!(
            host.counters.get("portcullis_contract_errors_total;filter=usage;reason=plan_version"),
            Some(&1)
        );
    }
}
