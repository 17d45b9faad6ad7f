//! The route plan as filter state: written by the downstream router on a failover request, read
//! by every per-attempt filter (router and credentials upstream) and by the filters that must
//! know which attempt answered (prompt and usage, through [`answering`](super::decision::answering)).
//!
//! The plan ([`RoutePlan`]) is the router's own type; this record wraps it with its version:
//! `{"v":1,"plan":{…}}`.

use super::record::{self, RecordError};
use crate::http::host::Host;
use crate::router::plan::RoutePlan;
use serde::{Deserialize, Serialize};

/// The record's format version. 1: the first versioned plan.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Out<'a> {
    v: u32,
    plan: &'a RoutePlan,
}

#[derive(Deserialize)]
struct In {
    plan: RoutePlan,
}

/// The record for `plan`.
pub fn encode(plan: &RoutePlan) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&Out { v: VERSION, plan })
}

pub fn decode(bytes: &[u8]) -> Result<RoutePlan, RecordError> {
    record::decode::<In>(bytes, VERSION).map(|r| r.plan)
}

/// The plan in filter state ([`ROUTE_PLAN`](super::ROUTE_PLAN)).
pub fn read(host: &mut dyn Host) -> Result<RoutePlan, RecordError> {
    record::read::<In>(host, super::ROUTE_PLAN, VERSION).map(|r| r.plan)
}
