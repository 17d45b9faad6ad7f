//! Filter state: the contract between the filters (keys in `portcullis_core::state`).

use portcullis_core::decision::Decision;
use proxy_wasm::hostcalls;

/// Writes `key` (readable by other filters as `wasm.<key>`).
pub fn set(key: &str, value: &str) {
    if let Err(err) = hostcalls::set_property(vec![key], Some(value.as_bytes())) {
        log::warn!("portcullis: could not set filter state {key}: {err:?}");
    }
}

/// Reads a key written by this or another Portcullis filter for the current request.
pub fn get(key: &str) -> Option<String> {
    let name = portcullis_core::state::envoy_name(key);
    let bytes = hostcalls::get_property(vec!["filter_state", &name]).ok().flatten()?;
    String::from_utf8(bytes).ok()
}

/// The router's decision for this request; `None` if the router did not route it.
pub fn decision() -> Option<Decision> {
    get_bytes(portcullis_core::state::DECISION).and_then(|bytes| Decision::decode(&bytes))
}

/// Reads any Envoy attribute (`["request", "id"]`, `["upstream", "address"]`, …).
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    hostcalls::get_property(path.to_vec()).ok().flatten()
}

/// Writes `key` with a binary value (a request body).
pub fn set_bytes(key: &str, value: &[u8]) {
    if let Err(err) = hostcalls::set_property(vec![key], Some(value)) {
        log::warn!("portcullis: could not set filter state {key}: {err:?}");
    }
}

/// Reads a binary key written by a Portcullis filter.
pub fn get_bytes(key: &str) -> Option<Vec<u8>> {
    let name = portcullis_core::state::envoy_name(key);
    hostcalls::get_property(vec!["filter_state", &name]).ok().flatten()
}
