//! Every filter's config parser and compiler on arbitrary input: an error, never a panic.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_core::access::credential::{CredentialStore, CredentialsConfig};
use portcullis_core::common::config;
use portcullis_core::prompt::Prompt;
use portcullis_core::router::Router;
use portcullis_core::usage::UsageConfig;

fuzz_target!(|data: &[u8]| {
    let (selector, input) = common::take(data);
    match selector % 4 {
        0 => drop(Router::configure(Some(input))),
        1 => {
            if let Ok(c) = config::parse::<CredentialsConfig>(Some(input)) {
                let _ = CredentialStore::compile(c, |name| (name.len() % 2 == 0).then(|| "sk-x".to_string()));
            }
        }
        2 => drop(Prompt::configure(Some(input))),
        _ => drop(UsageConfig::configure(Some(input))),
    }
});
