//! Proxy-wasm shared data: a small key-value store that every VM with the same `vm_id` sees, on
//! every worker thread, for the life of the Envoy process (config reloads included).
//!
//! Writes are compare-and-swap: a reader gets a version (`cas`) with the value, and a write with
//! that version fails if another worker wrote in between. [`update`] wraps the retry loop, so a
//! caller only says how the new value follows from the current one.
//!
//! Also here: the host clock, because values in shared data that mean "until" are compared to it.

use crate::abi::{self, HostError};

/// Retries of a compare-and-swap before giving up (only under heavy write contention).
const CAS_ATTEMPTS: usize = 8;

/// The current value of `key`, if any.
pub fn get(key: &str) -> Option<Vec<u8>> {
    match abi::get_shared_data(key) {
        Ok((value, _)) => value,
        Err(err) => {
            log::warn!("could not read shared data {key}: {err:?}");
            None
        }
    }
}

/// Replaces the value of `key` with `next(current)`, atomically with respect to other workers.
/// `next` returning `None` means "leave it as it is". Returns false if the value could not be
/// written (host error, or contention outlasted the retries).
pub fn update(key: &str, next: impl Fn(Option<&[u8]>) -> Option<Vec<u8>>) -> bool {
    for _ in 0..CAS_ATTEMPTS {
        let (current, cas) = match abi::get_shared_data(key) {
            Ok(entry) => entry,
            Err(err) => {
                log::warn!("could not read shared data {key}: {err:?}");
                return false;
            }
        };
        let Some(value) = next(current.as_deref()) else {
            return true;
        };
        // A key that does not exist yet has no version: the first write is unconditional (two
        // workers creating it at once: the later write wins).
        match abi::set_shared_data(key, &value, cas) {
            Ok(()) => return true,
            Err(HostError::CasMismatch) => continue,
            Err(err) => {
                log::warn!("could not write shared data {key}: {err:?}");
                return false;
            }
        }
    }
    log::warn!("shared data {key} kept changing; update dropped");
    false
}

/// The host's wall clock in whole seconds since the Unix epoch.
pub fn now_unix_seconds() -> u64 {
    abi::now_nanos().map_or(0, |nanos| nanos / 1_000_000_000)
}
