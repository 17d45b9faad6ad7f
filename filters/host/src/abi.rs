//! The proxy-wasm ABI, imported directly, every call returning `Result`.
//!
//! Why not `proxy_wasm::hostcalls`: in proxy-wasm 0.2.5 almost every hostcall `panic!`s on a
//! status it did not expect (`set_map_value` when Envoy refuses a header write after the headers
//! left, `set_buffer` on a refused body write, …), and the string getters `unwrap()` UTF-8
//! decoding of header values, so one non-UTF-8 byte in any header trapped the VM. A trap takes
//! the filter down for every later request on that worker. Here every host status becomes a
//! [`HostError`], values stay bytes, and the data the host hands back is parsed with bounds
//! checks. The SDK is still used for what it does well: exporting the `proxy_on_*` callbacks,
//! dispatching them to contexts, and `proxy_on_memory_allocate` (the allocator the host uses for
//! the buffers returned below, which is why `Vec::from_raw_parts` on them is sound).
//!
//! This module is the only place in the project with `unsafe` code; `clippy.toml` forbids the
//! SDK's hostcalls and its panicking trait helpers everywhere, and `tests/no_panicking_host_calls.rs`
//! checks the sources.
#![allow(unsafe_code)]

use std::ptr::{null, null_mut};

/// A non-OK status from the host (the proxy-wasm ABI's `WasmResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostError {
    NotFound,
    BadArgument,
    SerializationFailure,
    ParseFailure,
    Empty,
    CasMismatch,
    InternalFailure,
    Unimplemented,
    /// A status this ABI version does not name.
    Other(u32),
}

impl HostError {
    fn from_status(status: u32) -> Result<(), HostError> {
        Err(match status {
            0 => return Ok(()),
            1 => HostError::NotFound,
            2 => HostError::BadArgument,
            3 => HostError::SerializationFailure,
            4 => HostError::ParseFailure,
            7 => HostError::Empty,
            8 => HostError::CasMismatch,
            10 => HostError::InternalFailure,
            12 => HostError::Unimplemented,
            other => HostError::Other(other),
        })
    }
}

pub type HostResult<T> = Result<T, HostError>;

/// Header maps (`MapType` in the ABI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Map {
    RequestHeaders = 0,
    ResponseHeaders = 2,
    HttpCallResponseHeaders = 6,
}

/// Buffers (`BufferType` in the ABI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Buffer {
    RequestBody = 0,
    ResponseBody = 1,
    HttpCallResponseBody = 4,
    PluginConfiguration = 7,
}

/// Streams that can be resumed (`StreamType` in the ABI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Stream {
    Request = 0,
    Response = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum MetricKind {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

use sys::*;

#[cfg(target_arch = "wasm32")]
mod sys {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
        pub fn proxy_get_log_level(return_level: *mut u32) -> u32;
        pub fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
        pub fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
        pub fn proxy_get_buffer_bytes(
            buffer_type: u32,
            start: usize,
            max_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_buffer_bytes(
            buffer_type: u32,
            start: usize,
            size: usize,
            data: *const u8,
            data_size: usize,
        ) -> u32;
        pub fn proxy_get_header_map_pairs(
            map_type: u32,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_get_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_replace_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
        pub fn proxy_get_property(
            path_data: *const u8,
            path_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_property(
            path_data: *const u8,
            path_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_get_shared_data(
            key_data: *const u8,
            key_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
            return_cas: *mut u32,
        ) -> u32;
        pub fn proxy_set_shared_data(
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
            cas: u32,
        ) -> u32;
        pub fn proxy_continue_stream(stream_type: u32) -> u32;
        #[allow(clippy::too_many_arguments)]
        pub fn proxy_send_local_response(
            status_code: u32,
            details_data: *const u8,
            details_size: usize,
            body_data: *const u8,
            body_size: usize,
            headers_data: *const u8,
            headers_size: usize,
            grpc_status: i32,
        ) -> u32;
        pub fn proxy_call_foreign_function(
            name_data: *const u8,
            name_size: usize,
            args_data: *const u8,
            args_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_define_metric(
            metric_type: u32,
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
        pub fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    }
}

/// Native builds (unit tests, `cargo clippy` on the host) have no proxy: every call reports
/// `Unimplemented`, so code above it stays testable and nothing links against missing symbols.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::too_many_arguments, clippy::missing_safety_doc)]
mod sys {
    const UNIMPLEMENTED: u32 = 12;
    macro_rules! stubs {
        ($(fn $name:ident($($arg:ident: $ty:ty),*) -> u32;)*) => {
            $(pub unsafe fn $name($(_: $ty),*) -> u32 { UNIMPLEMENTED })*
        };
    }
    stubs! {
        fn proxy_log(a: u32, b: *const u8, c: usize) -> u32;
        fn proxy_get_log_level(a: *mut u32) -> u32;
        fn proxy_set_tick_period_milliseconds(a: u32) -> u32;
        fn proxy_get_current_time_nanoseconds(a: *mut u64) -> u32;
        fn proxy_get_buffer_bytes(a: u32, b: usize, c: usize, d: *mut *mut u8, e: *mut usize) -> u32;
        fn proxy_set_buffer_bytes(a: u32, b: usize, c: usize, d: *const u8, e: usize) -> u32;
        fn proxy_get_header_map_pairs(a: u32, b: *mut *mut u8, c: *mut usize) -> u32;
        fn proxy_get_header_map_value(a: u32, b: *const u8, c: usize, d: *mut *mut u8, e: *mut usize) -> u32;
        fn proxy_replace_header_map_value(a: u32, b: *const u8, c: usize, d: *const u8, e: usize) -> u32;
        fn proxy_remove_header_map_value(a: u32, b: *const u8, c: usize) -> u32;
        fn proxy_get_property(a: *const u8, b: usize, c: *mut *mut u8, d: *mut usize) -> u32;
        fn proxy_set_property(a: *const u8, b: usize, c: *const u8, d: usize) -> u32;
        fn proxy_get_shared_data(a: *const u8, b: usize, c: *mut *mut u8, d: *mut usize, e: *mut u32) -> u32;
        fn proxy_set_shared_data(a: *const u8, b: usize, c: *const u8, d: usize, e: u32) -> u32;
        fn proxy_continue_stream(a: u32) -> u32;
        fn proxy_send_local_response(a: u32, b: *const u8, c: usize, d: *const u8, e: usize, f: *const u8, g: usize, h: i32) -> u32;
        fn proxy_call_foreign_function(a: *const u8, b: usize, c: *const u8, d: usize, e: *mut *mut u8, f: *mut usize) -> u32;
        fn proxy_define_metric(a: u32, b: *const u8, c: usize, d: *mut u32) -> u32;
        fn proxy_increment_metric(a: u32, b: i64) -> u32;
        fn proxy_record_metric(a: u32, b: u64) -> u32;
    }
}

/// Takes ownership of a buffer the host allocated through `proxy_on_memory_allocate`.
///
/// # Safety
/// `data`/`size` must come from a host call that returned OK; a null pointer means no data.
unsafe fn owned(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        None
    } else {
        // SAFETY: the host wrote `size` bytes into a block of exactly `size` bytes it got from
        // the SDK's `proxy_on_memory_allocate` (a boxed slice of that length, i.e. the global
        // allocator with the layout of `[u8; size]`).
        Some(unsafe { Vec::from_raw_parts(data, size, size) })
    }
}

pub fn log(level: u32, message: &str) -> HostResult<()> {
    // SAFETY: pointer and length of a live &str.
    HostError::from_status(unsafe { proxy_log(level, message.as_ptr(), message.len()) })
}

/// The host's log level for this plugin (0 trace … 5 critical; 6 off).
pub fn log_level() -> HostResult<u32> {
    let mut level = 0u32;
    // SAFETY: the host writes one u32.
    HostError::from_status(unsafe { proxy_get_log_level(&mut level) })?;
    Ok(level)
}

/// Asks the host to call the root context's `on_tick` every `millis` (0 stops it).
pub fn set_tick_period(millis: u32) -> HostResult<()> {
    // SAFETY: no pointers.
    HostError::from_status(unsafe { proxy_set_tick_period_milliseconds(millis) })
}

/// Wall-clock time in nanoseconds since the Unix epoch.
pub fn now_nanos() -> HostResult<u64> {
    let mut nanos = 0u64;
    // SAFETY: the host writes one u64.
    HostError::from_status(unsafe { proxy_get_current_time_nanoseconds(&mut nanos) })?;
    Ok(nanos)
}

pub fn get_buffer(buffer: Buffer, start: usize, max_size: usize) -> HostResult<Option<Vec<u8>>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: out-pointers to locals; the returned block is owned per `owned`.
    let status = unsafe { proxy_get_buffer_bytes(buffer as u32, start, max_size, &mut data, &mut size) };
    match HostError::from_status(status) {
        // SAFETY: OK status, host-allocated block.
        Ok(()) => Ok(unsafe { owned(data, size) }),
        Err(HostError::NotFound | HostError::Empty) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `size` bytes at `start` of a buffer with `value`.
pub fn set_buffer(buffer: Buffer, start: usize, size: usize, value: &[u8]) -> HostResult<()> {
    // SAFETY: pointer and length of a live slice.
    HostError::from_status(unsafe {
        proxy_set_buffer_bytes(buffer as u32, start, size, value.as_ptr(), value.len())
    })
}

/// Every header of a map, names and values as bytes.
pub fn get_map(map: Map) -> HostResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: out-pointers to locals.
    HostError::from_status(unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) })?;
    // SAFETY: OK status, host-allocated block.
    let bytes = unsafe { owned(data, size) }.unwrap_or_default();
    decode_map(&bytes).ok_or(HostError::SerializationFailure)
}

pub fn get_map_value(map: Map, name: &str) -> HostResult<Option<Vec<u8>>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: pointer/length of a live &str and out-pointers to locals.
    let status =
        unsafe { proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut size) };
    match HostError::from_status(status) {
        // SAFETY: OK status, host-allocated block; a present header with no data is empty.
        Ok(()) => Ok(Some(unsafe { owned(data, size) }.unwrap_or_default())),
        Err(HostError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets (replaces) a header.
pub fn set_map_value(map: Map, name: &str, value: &[u8]) -> HostResult<()> {
    // SAFETY: pointers and lengths of live slices.
    HostError::from_status(unsafe {
        proxy_replace_header_map_value(map as u32, name.as_ptr(), name.len(), value.as_ptr(), value.len())
    })
}

pub fn remove_map_value(map: Map, name: &str) -> HostResult<()> {
    // SAFETY: pointer and length of a live &str.
    HostError::from_status(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

/// The property path encoding: segments joined by NUL.
fn property_path(path: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.iter().map(|p| p.len().saturating_add(1)).sum());
    for (i, segment) in path.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(segment.as_bytes());
    }
    out
}

pub fn get_property(path: &[&str]) -> HostResult<Option<Vec<u8>>> {
    let encoded = property_path(path);
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: pointer/length of a live Vec and out-pointers to locals.
    let status = unsafe { proxy_get_property(encoded.as_ptr(), encoded.len(), &mut data, &mut size) };
    match HostError::from_status(status) {
        // SAFETY: OK status, host-allocated block.
        Ok(()) => Ok(unsafe { owned(data, size) }),
        Err(HostError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn set_property(path: &[&str], value: &[u8]) -> HostResult<()> {
    let encoded = property_path(path);
    // SAFETY: pointers and lengths of live slices.
    HostError::from_status(unsafe {
        proxy_set_property(encoded.as_ptr(), encoded.len(), value.as_ptr(), value.len())
    })
}

/// A shared-data value and its version (`None`: the key does not exist).
pub fn get_shared_data(key: &str) -> HostResult<(Option<Vec<u8>>, Option<u32>)> {
    let (mut data, mut size, mut cas) = (null_mut(), 0usize, 0u32);
    // SAFETY: pointer/length of a live &str and out-pointers to locals.
    let status = unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    match HostError::from_status(status) {
        // SAFETY: OK status, host-allocated block.
        Ok(()) => Ok((unsafe { owned(data, size) }, (cas != 0).then_some(cas))),
        Err(HostError::NotFound) => Ok((None, None)),
        Err(e) => Err(e),
    }
}

/// Writes a shared-data value if its version is still `cas` (`None`: unconditionally).
pub fn set_shared_data(key: &str, value: &[u8], cas: Option<u32>) -> HostResult<()> {
    // SAFETY: pointers and lengths of live slices.
    HostError::from_status(unsafe {
        proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas.unwrap_or(0))
    })
}

/// Resumes a stream this filter paused from a callback that returned `Pause`.
pub fn continue_stream(stream: Stream) -> HostResult<()> {
    // SAFETY: no pointers.
    HostError::from_status(unsafe { proxy_continue_stream(stream as u32) })
}

/// Starts an HTTP call to an Envoy cluster; returns its token. The SDK's call is used (not an
/// import of our own) because it registers the token with the SDK's dispatcher, which routes the
/// answer to the calling context and would `expect()` on a token it does not know. It panics
/// only on a status other than OK, BadArgument and InternalFailure, which Envoy's `httpCall`
/// never returns.
#[allow(clippy::disallowed_methods)]
pub fn dispatch_http_call(
    cluster: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout_ms: u32,
) -> HostResult<u32> {
    #[cfg(target_arch = "wasm32")]
    {
        let timeout = std::time::Duration::from_millis(u64::from(timeout_ms));
        proxy_wasm::hostcalls::dispatch_http_call(cluster, headers.to_vec(), Some(body), Vec::new(), timeout)
            .map_err(|status| match status {
                proxy_wasm::types::Status::BadArgument => HostError::BadArgument,
                _ => HostError::InternalFailure,
            })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (cluster, headers, body, timeout_ms);
        Err(HostError::Unimplemented)
    }
}

/// Answers the request locally. `details` shows in `%RESPONSE_CODE_DETAILS%`.
pub fn send_local_response(
    status: u32,
    details: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> HostResult<()> {
    let encoded = encode_map(headers);
    // SAFETY: pointers and lengths of live slices; -1: not a gRPC reply.
    HostError::from_status(unsafe {
        proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            encoded.as_ptr(),
            encoded.len(),
            -1,
        )
    })
}

pub fn call_foreign_function(name: &str, args: &[u8]) -> HostResult<Option<Vec<u8>>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    let args_ptr = if args.is_empty() { null() } else { args.as_ptr() };
    // SAFETY: pointers/lengths of live slices and out-pointers to locals.
    let status = unsafe {
        proxy_call_foreign_function(name.as_ptr(), name.len(), args_ptr, args.len(), &mut data, &mut size)
    };
    HostError::from_status(status)?;
    // SAFETY: OK status, host-allocated block.
    Ok(unsafe { owned(data, size) })
}

pub fn define_metric(kind: MetricKind, name: &str) -> HostResult<u32> {
    let mut id = 0u32;
    // SAFETY: pointer/length of a live &str and an out-pointer to a local.
    HostError::from_status(unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

pub fn increment_metric(id: u32, by: i64) -> HostResult<()> {
    // SAFETY: no pointers.
    HostError::from_status(unsafe { proxy_increment_metric(id, by) })
}

pub fn record_metric(id: u32, value: u64) -> HostResult<()> {
    // SAFETY: no pointers.
    HostError::from_status(unsafe { proxy_record_metric(id, value) })
}

/// The ABI's map encoding: count, then (name length, value length) pairs, then each name and
/// value followed by a NUL.
fn encode_map(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let size = pairs
        .iter()
        .fold(4usize, |acc, (n, v)| acc.saturating_add(n.len()).saturating_add(v.len()).saturating_add(10));
    let mut out = Vec::with_capacity(size);
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&len(pairs.len()));
    for (name, value) in pairs {
        out.extend_from_slice(&len(name.len()));
        out.extend_from_slice(&len(value.len()));
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// Decodes [`encode_map`]'s format; `None` if the host's bytes do not follow it.
fn decode_map(bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        usize::try_from(u32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?])).ok()
    };
    let count = word(0)?;
    // Each pair takes at least 10 bytes (two lengths, two NULs): bound the allocation.
    if count > bytes.len() / 8 {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    let mut at = count.checked_mul(8)?.checked_add(4)?;
    for i in 0..count {
        let sizes = i.checked_mul(8)?.checked_add(4)?;
        let (name_len, value_len) = (word(sizes)?, word(sizes.checked_add(4)?)?);
        let name = bytes.get(at..at.checked_add(name_len)?)?.to_vec();
        at = at.checked_add(name_len)?.checked_add(1)?;
        let value = bytes.get(at..at.checked_add(value_len)?)?.to_vec();
        at = at.checked_add(value_len)?.checked_add(1)?;
        if at > bytes.len() {
            return None; // no NUL after the value
        }
        pairs.push((name, value));
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_round_trip_with_any_bytes() {
        let pairs: [(&str, &[u8]); 3] = [(":path", b"/v1"), ("x-bin", b"\xff\xfe\x00ok"), ("empty", b"")];
        let decoded = decode_map(&encode_map(&pairs)).unwrap();
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[1], (b"x-bin".to_vec(), b"\xff\xfe\x00ok".to_vec()));
        assert_eq!(decoded[2], (b"empty".to_vec(), Vec::new()));
    }

    #[test]
    fn malformed_maps_are_refused_not_panicked_on() {
        let good = encode_map(&[("a", b"b"), ("cc", b"dd")]);
        for cut in 1..good.len() {
            assert_eq!(decode_map(&good[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode_map(&[0xff, 0xff, 0xff, 0xff]), None);
        let mut lying = good.clone();
        lying[4] = 200; // first name length beyond the data
        assert_eq!(decode_map(&lying), None);
    }

    #[test]
    fn property_paths_are_nul_joined() {
        assert_eq!(property_path(&["filter_state", "wasm.x"]), b"filter_state\0wasm.x");
        assert_eq!(property_path(&["x"]), b"x");
        assert!(property_path(&[]).is_empty());
    }

    #[test]
    fn statuses_map_to_errors() {
        assert_eq!(HostError::from_status(0), Ok(()));
        assert_eq!(HostError::from_status(2), Err(HostError::BadArgument));
        assert_eq!(HostError::from_status(99), Err(HostError::Other(99)));
    }
}
