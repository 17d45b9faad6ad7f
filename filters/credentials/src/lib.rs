//! portcullis.credentials — who is calling, what they may use, and the provider key to send.
//!
//! Glue only: the per-request logic is `portcullis_core::access::flow`. Provider keys come from
//! the VM's environment (`vm_config.environment_variables`), read once at configure.

use portcullis_core::access::credential::{CredentialStore, CredentialsConfig};
use portcullis_core::access::flow::CredentialsFlow;
use portcullis_core::common::config::{self, ConfigError};
use portcullis_core::http::host::HttpFlow;
use portcullis_host::root::{self, Plugin};
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Credentials>();
}}

struct Credentials(Rc<CredentialStore>);

impl Plugin for Credentials {
    const NAME: &'static str = "portcullis.credentials";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        let config: CredentialsConfig = config::parse(bytes)?;
        let (store, warnings) = CredentialStore::compile(config, |name| std::env::var(name).ok())?;
        for w in warnings {
            log::warn!("config `{}`: {}", w.path, w.message);
        }
        Ok(Credentials(Rc::new(store)))
    }

    fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        Box::new(CredentialsFlow::new(Rc::clone(&self.0)))
    }
}
