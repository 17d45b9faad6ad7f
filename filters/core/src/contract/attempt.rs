//! One failover attempt's record: written by the upstream router for the filters after it in the
//! same attempt (credentials upstream), which read the rest from the [plan](super::plan).
//! `{"v":1,"provider":"…"}`; its absence means "not a failover attempt".

use super::record::{self, RecordError};
use crate::http::host::Host;
use serde::{Deserialize, Serialize};

/// The record's format version. 1: the first versioned attempt record (before: the bare name).
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    v: u32,
    /// The provider this attempt goes to (`providers.<name>`).
    pub provider: String,
}

impl AttemptRecord {
    pub fn new(provider: &str) -> Self {
        Self { v: VERSION, provider: provider.to_string() }
    }

    pub fn encode(&self) -> Vec<u8> {
        // A number and a string: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The record in filter state ([`ATTEMPT_PROVIDER`](super::ATTEMPT_PROVIDER)).
    pub fn read(host: &mut dyn Host) -> Result<Self, RecordError> {
        record::read(host, super::ATTEMPT_PROVIDER, VERSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_the_bare_name_of_old() {
        let record = AttemptRecord::new("anthropic");
        assert_eq!(record.encode(), br#"{"v":1,"provider":"anthropic"}"#);
        assert_eq!(record::decode::<AttemptRecord>(&record.encode(), VERSION), Ok(record));
        assert_eq!(record::decode::<AttemptRecord>(b"anthropic", VERSION), Err(RecordError::Unreadable));
    }
}
