//! `portcullis-rls`: Envoy's rate limit service (gRPC `envoy.service.ratelimit.v3`) on the
//! `limitador` crate — the engine of Kuadrant's Limitador — so several Envoy processes share one
//! token budget. Used by the global-budget e2e tests and the demo.
//!
//! Counters live in Redis with `--redis redis://HOST:PORT` (several replicas of this service
//! then share them: `redis_counters`), else in this process's memory (every Envoy calling this
//! one process shares them; a restart loses them).
//!
//! Usage: `portcullis-rls --limits limits.json [--redis URL] [--host ADDR] [--port N]`.
//! It binds ADDR:N (127.0.0.1 and a free port unless told), prints `LISTENING <port>` once
//! ready, writes one JSON line per call to stdout (domain, descriptors, hits_addend, phase,
//! code, remaining: what the e2e tests read), and exits on SIGTERM or SIGINT.
//!
//! The limits file is limitador's own format, as JSON: `{"limits": [{"namespace": …,
//! "max_value": …, "seconds": …, "conditions": [CEL], "variables": [CEL], "name": …}]}`. The
//! request's domain is the namespace and its descriptors are `descriptors[i].<entry key>` in the
//! CEL expressions, as in limitador-server.
//!
//! Two phases, told apart by a descriptor entry `phase`: an admission call (anything but
//! `phase: settle`) is charged only if every limit it matches has room for its `hits_addend`
//! (0 counts as 1, as the RLS protocol says), else it is over the limit and nothing is charged.
//! A settle call (`phase: settle`, sent by Envoy's `apply_on_stream_done` descriptors) charges
//! tokens already spent: it always lands, answers OK, and a `hits_addend` of 0 charges nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod redis_counters;
mod service;

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::RateLimitServiceServer;
use limitador::limit::Limit;
use limitador::RateLimiter;
use std::io::Write;
use std::process::ExitCode;
use tokio::net::TcpListener;

const USAGE: &str = "usage: portcullis-rls --limits FILE [--redis URL] [--host ADDR] [--port N]";

/// Counters kept in memory (one per limit and set of variable values: per tenant, per model…).
const COUNTERS: u64 = 100_000;

struct Args {
    host: String,
    port: u16,
    limits: String,
    redis: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let (mut host, mut port, mut limits, mut redis) = ("127.0.0.1".to_string(), 0u16, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--host" => host = value()?,
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--limits" => limits = Some(value()?),
            "--redis" => redis = Some(value()?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Args { host, port, limits: limits.ok_or_else(|| format!("--limits is required\n{USAGE}"))?, redis })
}

#[derive(serde::Deserialize)]
struct LimitsFile {
    limits: Vec<Limit>,
}

fn load_limits(path: &str) -> Result<Vec<Limit>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let file: LimitsFile = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok(file.limits)
}

async fn run(args: Args) -> Result<(), String> {
    let limits = load_limits(&args.limits)?;
    let limiter = match &args.redis {
        Some(url) => RateLimiter::new_with_storage(Box::new(
            redis_counters::RedisCounters::connect(url).map_err(|e| format!("redis {url}: {e}"))?,
        )),
        None => RateLimiter::new(COUNTERS),
    };
    limiter.configure_with(limits).map_err(|e| format!("limits: {e}"))?;

    let listener =
        TcpListener::bind((args.host.as_str(), args.port)).await.map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    println!("LISTENING {port}");
    std::io::stdout().flush().ok();

    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    tonic::transport::Server::builder()
        .add_service(RateLimitServiceServer::new(service::Service::new(limiter)))
        .serve_with_incoming_shutdown(tokio_stream_listener(listener), shutdown)
        .await
        .map_err(|e| format!("serve: {e}"))
}

fn tokio_stream_listener(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::wrappers::TcpListenerStream::new(listener)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("portcullis-rls: {msg}");
            ExitCode::FAILURE
        }
    }
}
