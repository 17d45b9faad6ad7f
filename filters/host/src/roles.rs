//! The four filters' roles: how each compiles its config and what flow it runs per request.
//!
//! Each filter's `.wasm` installs one role; the suite module installs all four and picks one per
//! plugin by its `root_id` ([`crate::root::install_suite`]). A module links only the roles it
//! names, so the router's `.wasm` carries no guardrail code.

use crate::root::{Flows, Role};
use portcullis_core::access::credential::{CredentialStore, CredentialsConfig};
use portcullis_core::access::flow::CredentialsFlow;
use portcullis_core::common::config;
use portcullis_core::prompt::Prompt;
use portcullis_core::router::Router;
use portcullis_core::usage::UsageConfig;
use std::rc::Rc;

pub const ROUTER: Role = Role {
    name: "portcullis.router",
    configure: |bytes| {
        let router = Rc::new(Router::configure(bytes)?);
        Ok(Box::new(move || router.flow()) as Flows)
    },
};

/// Provider keys come from the VM's environment (`vm_config.environment_variables`), read once
/// at configure.
pub const CREDENTIALS: Role = Role {
    name: "portcullis.credentials",
    configure: |bytes| {
        let config: CredentialsConfig = config::parse(bytes)?;
        let (store, warnings) = CredentialStore::compile(config, |name| std::env::var(name).ok())?;
        for w in warnings {
            log::warn!("config `{}`: {}", w.path, w.message);
        }
        let store = Rc::new(store);
        let flows: Flows = Box::new(move || Box::new(CredentialsFlow::new(Rc::clone(&store))));
        Ok(flows)
    },
};

pub const PROMPT: Role = Role {
    name: "portcullis.prompt",
    configure: |bytes| {
        let prompt = Prompt::configure(bytes)?;
        Ok(Box::new(move || prompt.flow()) as Flows)
    },
};

pub const USAGE: Role = Role {
    name: "portcullis.usage",
    configure: |bytes| {
        let usage = UsageConfig::configure(bytes)?;
        Ok(Box::new(move || usage.flow()) as Flows)
    },
};

/// Every role, for the suite module.
pub const ALL: [Role; 4] = [ROUTER, CREDENTIALS, PROMPT, USAGE];
