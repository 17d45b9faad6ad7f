//! `portcullis`: one gateway config → a checked config, an Envoy bootstrap, Istio manifests.
//!
//! ```text
//! portcullis validate gateway.yaml            # the filters' own checks, then `envoy --mode validate`
//! portcullis render envoy gateway.yaml -o envoy.yaml
//! portcullis render istio gateway.yaml -o istio/
//! portcullis render compose gateway.yaml -o compose.yaml
//! ```
//! The config format is documented in docs/gateway-config.md.

mod check;
mod compose;
mod config;
mod envoy;
mod gateway;
mod istio;
mod output;
mod schema;
mod stats;

use clap::{Parser, Subcommand, ValueEnum};
use gateway::Gateway;
use portcullis_core::common::config::ConfigError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Portcullis gateway config: validate it, render Envoy and Istio configs from it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks a gateway config with the filters' own config code; with Envoy installed (or
    /// `--envoy`), also runs `envoy --mode validate` on the rendered bootstrap.
    Validate {
        config: PathBuf,
        /// The Envoy binary (default: `envoy` on PATH, if there is one).
        #[arg(long)]
        envoy: Option<PathBuf>,
    },
    /// Prints the gateway config's JSON Schema.
    Schema,
    /// Writes the configs for a target.
    Render {
        target: Target,
        config: PathBuf,
        /// Output: a file for `envoy` and `compose`, a directory for `istio` (default: stdout).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// The listener's port, instead of the config's `listener.port`.
        #[arg(long)]
        port: Option<u16>,
        /// The admin port, instead of the config's `admin.port`.
        #[arg(long)]
        admin_port: Option<u16>,
        /// The directory of the .wasm files as Envoy sees it, instead of the config's `modules`.
        #[arg(long)]
        modules: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// A complete Envoy bootstrap.
    Envoy,
    /// WasmPlugins, EnvoyFilters, ServiceEntry, DestinationRules, Gateway and VirtualService.
    Istio,
    /// A docker-compose file: Envoy with the filters, the mock provider if used, Prometheus.
    Compose,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("portcullis: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> Result<Gateway, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let invalid =
        |e: ConfigError| format!("{}: invalid gateway config at `{}`: {}", path.display(), e.path, e.message);
    Gateway::from_config(config::parse(&text).map_err(invalid)?).map_err(invalid)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Validate { config, envoy } => {
            let gateway = load(&config)?;
            println!("{}: valid gateway config", config.display());
            match envoy.or_else(|| find_on_path("envoy")) {
                Some(bin) => output::envoy_validate(&bin, &envoy::render(&gateway)),
                None => {
                    println!(
                        "(no envoy on PATH: the rendered bootstrap was not checked by Envoy; --envoy <bin>)"
                    );
                    Ok(())
                }
            }
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&schema::schema()).unwrap_or_default());
            Ok(())
        }
        Command::Render { target, config, out, port, admin_port, modules } => {
            let mut gateway = load(&config)?;
            let settings = &mut gateway.config;
            settings.listener.port = port.unwrap_or(settings.listener.port);
            settings.admin.port = admin_port.unwrap_or(settings.admin.port);
            if let Some(dir) = modules {
                settings.modules = dir;
            }
            let source = config.display().to_string();
            match target {
                Target::Envoy => {
                    output::write(out.as_deref(), &output::bootstrap(&source, &envoy::render(&gateway))?)
                }
                Target::Istio => {
                    let manifests = istio::render(&gateway).map_err(|e| {
                        format!("{source}: invalid gateway config at `{}`: {}", e.path, e.message)
                    })?;
                    output::write_manifests(out.as_deref(), &source, &manifests)
                }
                Target::Compose => {
                    output::write(out.as_deref(), &output::compose(&source, &compose::render(&gateway)?)?)
                }
            }
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}
