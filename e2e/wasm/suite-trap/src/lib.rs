//! portcullis_suite.wasm's four roles plus `portcullis.trap`, which traps the shared VM on demand.

use portcullis_core::http::host::{Flow, Host, HttpFlow, Side};
use portcullis_host::root::{self, Flows, Role};
use portcullis_host::roles;

struct TrapOnDemand;

impl HttpFlow for TrapOnDemand {
    fn on_request_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        if host.header(Side::Request, "x-trap-vm").is_some() {
            panic!("trap requested");
        }
        Flow::Continue
    }
}

const TRAP: Role = Role {
    name: "portcullis.trap",
    configure: |_| {
        let flows: Flows = Box::new(|| Box::new(TrapOnDemand));
        Ok(flows)
    },
};

const ROLES: [Role; 5] = [roles::ROUTER, roles::CREDENTIALS, roles::PROMPT, roles::USAGE, TRAP];

proxy_wasm::main! {{
    root::install_suite(&ROLES);
}}
