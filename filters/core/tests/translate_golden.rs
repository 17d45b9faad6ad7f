//! Golden tests for `portcullis_core::llm::translate`: fixture in, expected bytes out.
//!
//! Every directory under `fixtures/translate/` is one case holding one input file, named for
//! what it is and the API it speaks, and one expected output per target API:
//!
//! | input                  | call                       | expected                           |
//! |------------------------|----------------------------|------------------------------------|
//! | `request.<api>.json`   | `translate::request`       | `expected.<api>.json`              |
//! | `response.<api>.json`  | `translate::response`      | `expected.<api>.json`              |
//! | `stream.<api>.sse`     | `StreamTranslator`         | `expected.<api>.sse`               |
//! | `error.<api>.<any>`    | `translate::error`         | `expected.<api>.json`              |
//!
//! `<api>` is `openai`, `anthropic`, `gemini` or `bedrock` (Converse: provider side only, so
//! only ever a request's expected output or a response's, stream's or error's input; a stream in
//! its SSE form, see `translate::stream`), or `openai-embeddings` / `bedrock-embeddings`. An
//! `expected.<api>.err` holds text the translation error must contain. An optional `case.json`
//! sets `model` (default `upstream-model` for requests, `client-model` otherwise), `stream`,
//! `include_usage`, `status`, and for answers `base64` (the client asked base64 embeddings),
//! `input_tokens` (a count from the response headers) and `response_id` (an id from them). JSON is compared as values; SSE event by event, with JSON data compared as values.
//! Every stream is also re-run split at every byte offset and byte by byte: the output must be
//! byte-identical to the unsplit run.
//!
//! `UPDATE_GOLDEN=1 cargo test -p portcullis-core --test translate_golden` rewrites the expected
//! files from the current output (review the diff!).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use portcullis_core::http::sse::SseParser;
use portcullis_core::llm::api::WireApi;
use portcullis_core::llm::translate::{self, AnswerContext, StreamTranslator};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/translate")
}

fn api(name: &str) -> WireApi {
    match name {
        "openai" => WireApi::OpenAiChat,
        "anthropic" => WireApi::AnthropicMessages,
        "gemini" => WireApi::GeminiGenerate,
        "bedrock" => WireApi::BedrockConverse,
        "openai-embeddings" => WireApi::OpenAiEmbeddings,
        "bedrock-embeddings" => WireApi::BedrockEmbeddings,
        other => panic!("unknown api `{other}` in fixture name"),
    }
}

#[derive(Default)]
struct Options {
    model: Option<String>,
    stream: bool,
    include_usage: bool,
    status: u16,
    answer: AnswerContext,
}

fn options(dir: &Path) -> Options {
    let Ok(text) = fs::read(dir.join("case.json")) else {
        return Options::default();
    };
    let v: Value = serde_json::from_slice(&text).expect("case.json is JSON");
    Options {
        model: v["model"].as_str().map(str::to_string),
        stream: v["stream"].as_bool().unwrap_or(false),
        include_usage: v["include_usage"].as_bool().unwrap_or(false),
        status: v["status"].as_u64().unwrap_or(500) as u16,
        answer: AnswerContext {
            base64_embeddings: v["base64"].as_bool().unwrap_or(false),
            input_tokens: v["input_tokens"].as_u64(),
            response_id: v["response_id"].as_str().unwrap_or_default().to_string(),
        },
    }
}

enum Kind {
    Request,
    Response,
    Stream,
    Error,
}

/// Runs the translation of `input` from `from` to `to`.
fn run(kind: &Kind, opts: &Options, from: WireApi, to: WireApi, input: &[u8]) -> Result<Vec<u8>, String> {
    match kind {
        Kind::Request => {
            let model = opts.model.as_deref().unwrap_or("upstream-model");
            translate::request(from, to, input, model, opts.stream).map_err(|e| e.message)
        }
        Kind::Response => {
            let model = opts.model.as_deref().unwrap_or("client-model");
            translate::response_with(from, to, input, model, &opts.answer).map_err(|e| e.message)
        }
        Kind::Error => Ok(translate::error(from, to, opts.status, input)),
        Kind::Stream => stream(opts, from, to, &[input]),
    }
}

fn stream(opts: &Options, from: WireApi, to: WireApi, chunks: &[&[u8]]) -> Result<Vec<u8>, String> {
    let model = opts.model.as_deref().unwrap_or("client-model");
    let mut t =
        StreamTranslator::new(from, to, model, opts.include_usage).with_response_id(&opts.answer.response_id);
    let mut out = Vec::new();
    for chunk in chunks {
        t.push(chunk, &mut out).map_err(|e| e.message)?;
    }
    t.finish(&mut out).map_err(|e| e.message)?;
    Ok(out)
}

/// SSE as (event name, data as JSON or text).
fn events(sse: &[u8]) -> Vec<(Option<String>, Value)> {
    let mut parser = SseParser::default();
    let mut out = Vec::new();
    let mut take = |e: portcullis_core::http::sse::SseEvent<'_>| {
        let data = serde_json::from_slice(&e.data)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&e.data).into_owned()));
        out.push((e.event_name().map(str::to_string), data));
    };
    parser.feed(sse, &mut take).expect("SSE parses");
    parser.finish(&mut take);
    out
}

fn pretty_events(events: &[(Option<String>, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("{}: {data}", name.as_deref().unwrap_or("-")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn update() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some()
}

/// Rewrites an expected file from the actual output (JSON pretty-printed).
fn write_expected(path: &Path, actual: &[u8], sse: bool) {
    let text = if sse {
        String::from_utf8(actual.to_vec()).expect("utf-8 output")
    } else {
        let v: Value = serde_json::from_slice(actual).expect("output is JSON");
        serde_json::to_string_pretty(&v).unwrap() + "\n"
    };
    fs::write(path, text).unwrap();
}

fn check_case(dir: &Path) -> usize {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let opts = options(dir);
    let mut files: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let inputs: Vec<&String> =
        files.iter().filter(|f| !f.starts_with("expected.") && *f != "case.json").collect();
    assert_eq!(inputs.len(), 1, "{name}: exactly one input file, found {inputs:?}");
    let input_name = inputs[0];
    let mut parts = input_name.split('.');
    let kind = match parts.next() {
        Some("request") => Kind::Request,
        Some("response") => Kind::Response,
        Some("stream") => Kind::Stream,
        Some("error") => Kind::Error,
        other => panic!("{name}: unknown input kind {other:?}"),
    };
    let from = api(parts.next().expect("input names its api"));
    let input = fs::read(dir.join(input_name)).unwrap();

    let mut checked = 0;
    for expected_name in files.iter().filter(|f| f.starts_with("expected.")) {
        let mut parts = expected_name.split('.').skip(1);
        let to = api(parts.next().expect("expected names its api"));
        let ext = parts.next().unwrap_or_default();
        let path = dir.join(expected_name);
        let context = format!("{name}/{expected_name}");
        let actual = run(&kind, &opts, from, to, &input);
        checked += 1;

        if ext == "err" {
            let want = fs::read_to_string(&path).unwrap();
            let err = actual.expect_err(&format!("{context}: expected a translation error"));
            assert!(err.contains(want.trim()), "{context}: error `{err}` lacks `{}`", want.trim());
            continue;
        }
        let actual = actual.unwrap_or_else(|e| panic!("{context}: translation failed: {e}"));
        if update() {
            write_expected(&path, &actual, ext == "sse");
        }
        let expected = fs::read(&path).unwrap();
        if ext == "sse" {
            let (want, got) = (events(&expected), events(&actual));
            assert!(
                want == got,
                "{context}: stream differs\n--- expected\n{}\n--- actual\n{}",
                pretty_events(&want),
                pretty_events(&got)
            );
            assert_split_invariant(&opts, from, to, &input, &actual, &context);
        } else {
            let want: Value = serde_json::from_slice(&expected)
                .unwrap_or_else(|e| panic!("{context}: expected file is not JSON: {e}"));
            let got: Value = serde_json::from_slice(&actual)
                .unwrap_or_else(|e| panic!("{context}: output is not JSON: {e}"));
            assert!(
                want == got,
                "{context}: output differs\n--- expected\n{}\n--- actual\n{}",
                serde_json::to_string_pretty(&want).unwrap(),
                serde_json::to_string_pretty(&got).unwrap()
            );
        }
    }
    assert!(checked > 0, "{name}: no expected.* files");
    checked
}

/// The stream's output must not depend on how the provider's bytes were chunked.
fn assert_split_invariant(
    opts: &Options,
    from: WireApi,
    to: WireApi,
    input: &[u8],
    whole: &[u8],
    context: &str,
) {
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        let split = stream(opts, from, to, &[a, b]).unwrap();
        assert!(split == whole, "{context}: output differs when split at byte {cut}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let byte_by_byte = stream(opts, from, to, &bytes).unwrap();
    assert!(byte_by_byte == whole, "{context}: output differs byte by byte");
}

#[test]
fn golden_fixtures() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .expect("fixtures/translate exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut cases = 0;
    let mut checks = 0;
    for dir in &dirs {
        checks += check_case(dir);
        cases += 1;
    }
    assert!(cases >= 30, "only {cases} fixture cases found");
    eprintln!("{cases} golden cases, {checks} translations checked");
}

const PAIRS: [(WireApi, WireApi); 14] = [
    (WireApi::OpenAiChat, WireApi::AnthropicMessages),
    (WireApi::OpenAiChat, WireApi::GeminiGenerate),
    (WireApi::AnthropicMessages, WireApi::OpenAiChat),
    (WireApi::AnthropicMessages, WireApi::GeminiGenerate),
    (WireApi::GeminiGenerate, WireApi::OpenAiChat),
    (WireApi::GeminiGenerate, WireApi::AnthropicMessages),
    (WireApi::OpenAiChat, WireApi::BedrockConverse),
    (WireApi::AnthropicMessages, WireApi::BedrockConverse),
    (WireApi::GeminiGenerate, WireApi::BedrockConverse),
    (WireApi::BedrockConverse, WireApi::OpenAiChat),
    (WireApi::BedrockConverse, WireApi::AnthropicMessages),
    (WireApi::BedrockConverse, WireApi::GeminiGenerate),
    (WireApi::OpenAiEmbeddings, WireApi::BedrockEmbeddings),
    (WireApi::BedrockEmbeddings, WireApi::OpenAiEmbeddings),
];

const GARBAGE: &[&[u8]] = &[
    b"",
    b"{",
    b"null",
    b"[]",
    b"42",
    b"\"text\"",
    b"\xff\xfe\x00garbage",
    br#"{"messages": 5}"#,
    br#"{"messages": [{"role": "wizard", "content": "hi"}]}"#,
    br#"{"messages": [{"role": "user"}]}"#,
    br#"{"contents": [{"role": "user", "parts": "hi"}]}"#,
    br#"{"messages": [{"role": "user", "content": [{"type": "hologram"}]}]}"#,
];

#[test]
fn garbage_requests_are_errors_for_every_pair() {
    for (from, to) in PAIRS {
        for body in GARBAGE {
            // An embeddings model of a family the translation knows, so the body is what fails.
            let model = if to == WireApi::BedrockEmbeddings { "cohere.embed-english-v3" } else { "m" };
            let result = translate::request(from, to, body, model, false);
            assert!(
                result.is_err(),
                "{from} -> {to}: {:?} translated to {:?}",
                String::from_utf8_lossy(body),
                result.map(|b| String::from_utf8_lossy(&b).into_owned())
            );
        }
    }
}

#[test]
fn garbage_responses_and_errors_never_panic() {
    for (from, to) in PAIRS {
        for body in GARBAGE {
            // A response may happen to parse leniently; it must simply not panic.
            let _ = translate::response(from, to, body, "m");
            let err: Value = serde_json::from_slice(&translate::error(from, to, 502, body))
                .expect("error bodies are always JSON");
            // Bedrock's own shape only where it is the target (never for a client).
            let in_shape = err["error"].is_object() || (to.is_bedrock() && err["message"].is_string());
            assert!(in_shape, "{from} -> {to}: {err}");
            let mut t = StreamTranslator::new(from, to, "m", true);
            let mut out = Vec::new();
            let _ = t.push(body, &mut out);
            let _ = t.push(b"\n\ndata: {\"x\n\ndata: [1,2]\n\n", &mut out);
            let _ = t.finish(&mut out);
        }
    }
}

#[test]
fn unsupported_pairs_are_errors() {
    let body = br#"{"model":"m","input":"x"}"#;
    assert!(translate::request(WireApi::OpenAiEmbeddings, WireApi::GeminiGenerate, body, "m", false).is_err());
    assert!(translate::response(WireApi::OpenAiChat, WireApi::OpenAiEmbeddings, body, "m").is_err());
}

/// Mutated fixture inputs (truncations, byte flips, spliced bytes) must never panic any entry
/// point. A small deterministic fuzz over real-shaped bodies, which reach deeper than garbage.
#[test]
fn mutated_fixtures_never_panic() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(fixtures()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if file.starts_with("expected.") || file == "case.json" {
                continue;
            }
            let input = fs::read(&path).unwrap();
            for round in 0..40 {
                let mut m = input.clone();
                if m.is_empty() {
                    break;
                }
                match round % 4 {
                    0 => m.truncate((next() as usize) % m.len()),
                    1 => {
                        let at = (next() as usize) % m.len();
                        m[at] = next() as u8;
                    }
                    2 => {
                        let at = (next() as usize) % m.len();
                        const SPLICE: &[u8] = b"{}[]\",:\\0\xc3";
                        m.insert(at, SPLICE[(next() as usize) % SPLICE.len()]);
                    }
                    _ => {
                        let at = (next() as usize) % m.len();
                        m.drain(at..(at + 8).min(m.len()));
                    }
                }
                for (from, to) in PAIRS {
                    let _ = translate::request(from, to, &m, "m", round % 2 == 0);
                    let _ = translate::response(from, to, &m, "m");
                    let _ = translate::error(from, to, 400, &m);
                    let mut t = StreamTranslator::new(from, to, "m", true);
                    let mut out = Vec::new();
                    let _ = t.push(&m, &mut out);
                    let _ = t.finish(&mut out);
                }
            }
        }
    }
}

/// What a writer writes, its format's reader reads: every request fixture translated to each
/// client API and back is never refused as malformed (unsupported, at most: a part the first
/// target could not carry back). Exercises each reader of the intermediate form on each writer's
/// output.
#[test]
fn written_requests_read_back() {
    let clients = [WireApi::OpenAiChat, WireApi::AnthropicMessages, WireApi::GeminiGenerate];
    let mut checked = 0;
    for entry in fs::read_dir(fixtures()).unwrap() {
        let dir = entry.unwrap().path();
        for file in fs::read_dir(&dir).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            let Some(from) = name.strip_prefix("request.").and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let from = api(from);
            if !clients.contains(&from) {
                continue;
            }
            let body = fs::read(dir.join(&name)).unwrap();
            for to in clients.into_iter().filter(|to| *to != from) {
                let Ok(out) = translate::request(from, to, &body, "m", false) else { continue };
                match translate::request(to, from, &out, "m", false) {
                    Ok(back) => assert!(serde_json::from_slice::<Value>(&back).is_ok()),
                    Err(e) => assert_ne!(
                        e.kind,
                        translate::TranslateErrorKind::Malformed,
                        "{}: {from} → {to} → {from}: {}",
                        dir.display(),
                        e.message
                    ),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} round trips");
}
