//! The glue may reach the host only through `portcullis_host::abi`: the SDK's host calls and
//! trait helpers panic on host refusals and on non-UTF-8 header values, and a panic traps the
//! VM for every later request on that worker. `clippy.toml` forbids them by path under
//! `make lint`; this test reads the sources, so the rule holds in `make test` too and cannot be
//! dodged by a `use` alias or a glob import.

// Test code: a failed read is a failed test.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let filters = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let mut files = Vec::new();
    for krate in ["host", "router", "credentials", "prompt", "usage"] {
        rust_files(&filters.join(krate).join("src"), &mut files);
    }
    assert!(files.len() >= 8, "found only {files:?}");
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&filters).unwrap().display().to_string();
            (rel, fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Words that reach the SDK's panicking host access.
const FORBIDDEN: &[&str] = &[
    "hostcalls",
    "proxy_wasm::set_log_level",
    // The SDK trait helpers (self.get_http_request_header(..) and friends).
    "get_http_request_header",
    "get_http_response_header",
    "set_http_request_header",
    "set_http_response_header",
    "add_http_request_header",
    "add_http_response_header",
    "remove_http_request_header",
    "remove_http_response_header",
    "get_http_request_body",
    "set_http_request_body",
    "get_http_response_body",
    "set_http_response_body",
    "send_http_response",
    "self.get_property",
    "self.set_property",
    "self.get_shared_data",
    "self.set_shared_data",
    "self.get_current_time",
    "self.dispatch_http_call",
    "self.resume_http",
    "self.reset_http",
    "get_plugin_configuration",
];

#[test]
fn only_the_abi_module_touches_the_host() {
    let mut offences = Vec::new();
    for (file, text) in sources() {
        if file.ends_with("host/src/abi.rs") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                if code.contains(word) {
                    offences.push(format!("{file}:{}: `{word}` in: {}", n + 1, line.trim()));
                }
            }
            if code.contains("unsafe") {
                offences.push(format!("{file}:{}: unsafe code outside abi.rs", n + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the glue reaches the host around portcullis_host::abi:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_check_sees_an_offence() {
    // Guard against a scan that silently matches nothing.
    let abi = sources().into_iter().find(|(f, _)| f.ends_with("host/src/abi.rs")).unwrap().1;
    assert!(abi.contains("proxy_get_header_map_pairs"));
    assert!(FORBIDDEN.iter().any(|w| "hostcalls::get_map".contains(w)));
}

#[test]
fn clippy_forbids_every_sdk_host_call() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let clippy = fs::read_to_string(root.join("clippy.toml")).unwrap();
    for call in [
        "get_map",
        "get_map_value",
        "set_map_value",
        "set_buffer",
        "get_buffer",
        "send_http_response",
        "set_property",
        "get_property",
        "dispatch_http_call",
        "call_foreign_function",
    ] {
        let path = format!("\"proxy_wasm::hostcalls::{call}\"");
        assert!(clippy.contains(&path), "clippy.toml does not forbid {path}");
    }
    assert!(clippy.contains("\"proxy_wasm::traits::HttpContext::get_http_request_header\""));
}
