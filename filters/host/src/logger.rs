//! `log` records to Envoy's log, through [`abi::log`], never panicking.
//!
//! Replaces the SDK's logger, which `unwrap()`s the host call. Envoy prefixes each line with the
//! plugin's name, so lines need not repeat it.

use crate::abi;

struct HostLogger;

static LOGGER: HostLogger = HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Trace => 0,
            log::Level::Debug => 1,
            log::Level::Info => 2,
            log::Level::Warn => 3,
            log::Level::Error => 4,
        };
        // Nowhere to report a failed log line.
        let _ = abi::log(level, &record.args().to_string());
    }

    fn flush(&self) {}
}

/// Installs the logger and a panic hook that logs the panic (at critical level) before the VM
/// traps. Called once per VM, from `_initialize`, where host calls are not yet allowed: the
/// level is asked for later ([`follow_host_level`]).
pub fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        std::panic::set_hook(Box::new(|info| {
            let _ = abi::log(5, &format!("panic: {info}"));
        }));
    }
    log::set_max_level(log::LevelFilter::Trace);
}

/// Lets only the log lines through that Envoy would print. Envoy drops lines below its `wasm`
/// logger's level anyway, but only after the filter formatted the line and crossed into the
/// host with it (the router and credentials log a debug line per request). Asked when a plugin
/// is configured and then once a second from the root context's tick (not per request: one host
/// crossing less per filter and request), so `/logging?wasm=debug` on the admin port takes
/// effect within a second.
pub fn follow_host_level() {
    let level = match abi::log_level() {
        Ok(0) | Err(_) => log::LevelFilter::Trace,
        Ok(1) => log::LevelFilter::Debug,
        Ok(2) => log::LevelFilter::Info,
        Ok(3) => log::LevelFilter::Warn,
        Ok(4) => log::LevelFilter::Error,
        Ok(_) => log::LevelFilter::Off,
    };
    log::set_max_level(level);
}
