//! Filter state: the contract between the filters (keys in `portcullis_core::contract`).

use crate::abi;
use portcullis_core::contract::decision::Decision;

/// Writes `key` (readable by other filters as `wasm.<key>`).
pub fn set(key: &str, value: &str) {
    set_bytes(key, value.as_bytes());
}

/// Reads a key written by this or another Portcullis filter for the current request.
pub fn get(key: &str) -> Option<String> {
    String::from_utf8(get_bytes(key)?).ok()
}

/// The router's decision for this request; `None` if the router did not route it.
pub fn decision() -> Option<Decision> {
    get_bytes(portcullis_core::contract::DECISION).and_then(|bytes| Decision::decode(&bytes))
}

/// Reads any Envoy attribute (`["request", "id"]`, `["upstream", "address"]`, …).
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    abi::get_property(path).ok().flatten()
}

/// Writes `key` with a binary value (a request body).
pub fn set_bytes(key: &str, value: &[u8]) {
    if let Err(err) = abi::set_property(&[key], value) {
        log::warn!("could not set filter state {key}: {err:?}");
    }
}

/// Reads a binary key written by a Portcullis filter.
pub fn get_bytes(key: &str) -> Option<Vec<u8>> {
    let name = portcullis_core::contract::envoy_name(key);
    abi::get_property(&["filter_state", &name]).ok().flatten()
}
