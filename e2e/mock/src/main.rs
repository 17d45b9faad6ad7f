//! `portcullis-mock`: a mock LLM provider speaking the real OpenAI, Azure OpenAI, Anthropic,
//! Gemini and AWS Bedrock wire formats, for the gateway's e2e tests and benchmarks.
//!
//! Usage: `portcullis-mock [--host ADDR] [--port N] [--no-record] [--max-record N] [--verbose]`.
//! It binds ADDR:N (127.0.0.1 unless told; 0 or no port: a free one), prints `LISTENING <port>` once ready, and exits
//! cleanly on SIGTERM or SIGINT. Answers are deterministic (see `conversation` and `tokens`);
//! `x-mock-*` headers and admin rules (see `control`, `rules`, `admin`) inject latency, errors
//! and broken streams.
//!
//! This file is only CLI and server glue: accept, hand each connection to hyper (HTTP/1.1 or
//! h2c, auto-detected), stop on a signal.

// Test infrastructure: failing loudly at startup is fine; client input never reaches these.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod admin;
mod anthropic;
mod bedrock;
mod bedrock_embeddings;
mod body;
mod control;
mod conversation;
mod embeddings;
mod gemini;
mod ids;
mod moderations;
mod openai;
mod provider;
mod raw;
mod record;
mod respond;
mod rules;
mod server;
mod sse;
mod tokens;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use server::State;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;

const USAGE: &str =
    "usage: portcullis-mock [--host ADDR] [--port N] [--no-record] [--max-record N] [--verbose]";

struct Args {
    /// Loopback unless told: the mock answers anyone as any provider. The compose demo binds
    /// 0.0.0.0 inside its container network.
    host: String,
    port: u16,
    record: bool,
    max_record: usize,
    verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { host: "127.0.0.1".into(), port: 0, record: true, max_record: 1000, verbose: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => args.host = value("--host")?,
            "--port" => args.port = value("--port")?.parse().map_err(|e| format!("--port: {e}"))?,
            "--no-record" => args.record = false,
            "--max-record" => {
                args.max_record = value("--max-record")?.parse().map_err(|e| format!("--max-record: {e}"))?
            }
            "--verbose" | "-v" => args.verbose = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("portcullis-mock: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("portcullis-mock: cannot bind {}:{}: {e}", args.host, args.port);
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
    let state = Arc::new(State {
        rules: rules::Rules::default(),
        recorder: args.record.then(|| record::Recorder::new(args.max_record)),
        verbose: args.verbose,
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    let builder = Arc::new(builder);

    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "LISTENING {port}");
        let _ = out.flush();
    }

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        if args.verbose {
                            eprintln!("accept: {e}");
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let builder = builder.clone();
                tokio::spawn(async move {
                    let verbose = state.verbose;
                    let svc = service_fn(move |req| server::handle(state.clone(), req));
                    let result = builder.serve_connection(TokioIo::new(stream), svc).await;
                    if let (Err(e), true) = (result, verbose) {
                        eprintln!("connection: {e}");
                    }
                });
            }
        }
    }
    ExitCode::SUCCESS
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
