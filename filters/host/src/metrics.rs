//! Metrics by name, defined on first use and cached per VM.
//!
//! Label values (provider, model, tenant) are only known per request, so metrics cannot all be
//! defined at start-up; defining is a host call, so ids are cached in the VM's (single-threaded)
//! memory. Names are built with `portcullis_core::common::metric::labelled`.

use crate::abi::{self, MetricKind};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static IDS: RefCell<HashMap<(u8, String), u32>> = RefCell::new(HashMap::new());
}

fn id(kind: MetricKind, name: &str) -> Option<u32> {
    let key = (kind as u8, name.to_string());
    if let Some(id) = IDS.with(|ids| ids.borrow().get(&key).copied()) {
        return Some(id);
    }
    match abi::define_metric(kind, name) {
        Ok(id) => {
            IDS.with(|ids| ids.borrow_mut().insert(key, id));
            Some(id)
        }
        Err(err) => {
            log::warn!("could not define metric {name}: {err:?}");
            None
        }
    }
}

pub fn count(name: &str, by: u64) {
    if let Some(id) = id(MetricKind::Counter, name) {
        let by = i64::try_from(by).unwrap_or(i64::MAX);
        let _ = abi::increment_metric(id, by);
    }
}

pub fn record(name: &str, value: u64) {
    if let Some(id) = id(MetricKind::Histogram, name) {
        let _ = abi::record_metric(id, value);
    }
}
