//! Model names into provider paths: whatever the name, a name the checks accept yields a path
//! whose model stays in its one segment — no traversal, no query, no fragment of its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::llm::api::WireApi;
use portcullis_core::llm::model_name;
use portcullis_core::llm::provider::{Endpoint, ProviderKind, Settings};

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else { return };
    let general = model_name::check(name);
    if general.is_ok() {
        assert!(!name.bytes().any(|b| b"?#&%; \r\n=".contains(&b)), "{name:?}");
    }
    let segment = model_name::path_segment(name);
    assert!(!segment.contains('/') && !segment.contains('?') && !segment.contains('#'), "{segment}");
    if model_name::check_path_segment(name).is_err() {
        return;
    }
    for (kind, api) in [
        (ProviderKind::Gemini, WireApi::GeminiGenerate),
        (ProviderKind::Vertex, WireApi::GeminiGenerate),
        (ProviderKind::Azure, WireApi::OpenAiChat),
    ] {
        let settings = match kind {
            ProviderKind::Azure => Settings::Azure { api_version: "2024-10-21".into() },
            ProviderKind::Vertex => Settings::Vertex { project: "p".into(), location: "l".into() },
            _ => Settings::Gemini,
        };
        let endpoint = Endpoint { host: "h".into(), settings };
        let Some(path) = endpoint.path(api, name, false) else { continue };
        let (path_only, query) = path.split_once('?').unwrap_or((&path, ""));
        assert!(!path_only.split('/').any(|s| s == ".." || s == "."), "{path}");
        assert!(!query.contains('&') && !path.contains('#'), "{path}");
        let reference = endpoint.path(api, "m", false).unwrap_or_default();
        let reference_only = reference.split('?').next().unwrap_or_default();
        assert_eq!(path_only.matches('/').count(), reference_only.matches('/').count(), "{path}");
    }
});
