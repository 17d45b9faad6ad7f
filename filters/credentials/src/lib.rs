//! portcullis.credentials — provider keys stay in the gateway.
//!
//! Every client credential header is removed; the provider the router chose (filter state)
//! gets its key injected in its own scheme. Keys are read from the VM's environment at load.

use portcullis_core::api::WireApi;
use portcullis_core::config::{self, ConfigError};
use portcullis_core::credential::{self, CredentialStore, CredentialsConfig, Lookup};
use portcullis_core::error::{ClientError, ErrorKind};
use portcullis_core::provider::ProviderKind;
use portcullis_core::state;
use portcullis_host::http::{self, Side};
use portcullis_host::root::{self, Plugin};
use portcullis_host::state as filter_state;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Credentials>();
}}

struct Credentials {
    store: CredentialStore,
}

impl Plugin for Credentials {
    const NAME: &'static str = "portcullis.credentials";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        let config: CredentialsConfig = config::parse(bytes)?;
        let (store, warnings) = CredentialStore::compile(config, |name| std::env::var(name).ok())?;
        for w in warnings {
            log::warn!("config `{}`: {}", w.path, w.message);
        }
        Ok(Credentials { store })
    }

    fn http_context(plugin: Rc<Self>, context_id: u32) -> Box<dyn HttpContext> {
        Box::new(CredentialsRequest { plugin, context_id })
    }
}

struct CredentialsRequest {
    plugin: Rc<Credentials>,
    context_id: u32,
}

impl Context for CredentialsRequest {}

impl HttpContext for CredentialsRequest {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        for name in credential::CLIENT_CREDENTIAL_HEADERS {
            http::remove_header(Side::Request, name);
        }
        let Some(provider) = filter_state::get(state::PROVIDER) else {
            // Not routed by Portcullis: nothing to inject.
            return Action::Continue;
        };
        let kind = filter_state::get(state::PROVIDER_KIND).and_then(|k| ProviderKind::parse(&k));
        match (self.plugin.store.lookup(&provider), kind) {
            (Lookup::Found(cred), Some(kind)) => {
                for (name, value) in credential::injected_headers(kind.auth_scheme(), cred) {
                    http::set_header(Side::Request, &name, &value);
                }
                Action::Continue
            }
            (Lookup::NotConfigured, _) => Action::Continue,
            (Lookup::Missing(why), _) => {
                log::error!(
                    "portcullis.credentials #{}: provider {provider}: {why}",
                    self.context_id
                );
                self.refuse(&format!(
                    "the gateway has no credential for provider `{provider}`"
                ))
            }
            (Lookup::Found(_), None) => {
                log::error!(
                    "portcullis.credentials #{}: provider kind missing in filter state",
                    self.context_id
                );
                self.refuse("the gateway could not determine the provider's auth scheme")
            }
        }
    }
}

impl CredentialsRequest {
    fn refuse(&self, message: &str) -> Action {
        let shape = filter_state::get(state::CLIENT_API)
            .and_then(|a| WireApi::parse(&a))
            .unwrap_or(WireApi::OpenAiChat)
            .error_shape();
        http::send_error(&ClientError::new(ErrorKind::Unavailable, message), shape);
        Action::Pause
    }
}
