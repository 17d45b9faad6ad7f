//! limitador's counters in Redis, so several RLS replicas share one budget.
//!
//! limitador's own Redis storage does not build without its RocksDB disk storage (0.12–0.14:
//! `storage/keys.rs` calls the `bin` module that only `disk_storage` compiles), and RocksDB is a
//! long C++ build; limitador takes any [`CounterStorage`], so this is one, on the `redis` crate.
//!
//! Each counter is one Redis key holding what was charged in the current window, expiring
//! with the window (fixed windows, as limitador's). Checking and charging every counter of a
//! call is one Lua script, atomic in Redis: all counters are charged or none.
//!
//! limitador's storage errors cannot be built outside the crate, so a Redis failure during a
//! check answers "limited" under [`UNAVAILABLE`], which the service turns into a gRPC
//! `UNAVAILABLE` (Envoy's `failure_mode_deny` then decides); a failed settle is logged.

use limitador::counter::Counter;
use limitador::limit::Limit;
use limitador::storage::{Authorization, CounterStorage, StorageErr};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The limit name a check reports when Redis could not be asked.
pub const UNAVAILABLE: &str = "\u{0}rate limit storage unavailable";

const PREFIX: &str = "portcullis-rls:";

/// ARGV: delta, charge (1: charge if every counter has room, 2: charge whatever, 0: only
/// check), then max and window (ms) per key. Returns the first counter without room (1-based,
/// 0: none), then the value and TTL (ms) of each counter before this call.
const SCRIPT: &str = r"
local delta = tonumber(ARGV[1])
local charge = ARGV[2]
local limited = 0
local out = {0}
for i, key in ipairs(KEYS) do
  local value = tonumber(redis.call('GET', key) or '0')
  local ttl = redis.call('PTTL', key)
  if limited == 0 and charge ~= '2' and value + delta > tonumber(ARGV[1 + 2 * i]) then
    limited = i
  end
  out[2 * i] = value
  out[2 * i + 1] = ttl
end
out[1] = limited
if charge ~= '0' and limited == 0 and delta > 0 then
  for i, key in ipairs(KEYS) do
    redis.call('INCRBY', key, delta)
    if out[2 * i + 1] < 0 then
      redis.call('PEXPIRE', key, ARGV[2 + 2 * i])
    end
  end
end
return out
";

pub struct RedisCounters {
    client: redis::Client,
    /// `None` after a failure: the next call reconnects (Redis restarted, a connection dropped).
    connection: Mutex<Option<redis::Connection>>,
    script: redis::Script,
}

impl RedisCounters {
    pub fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let connection = client.get_connection().map_err(|e| e.to_string())?;
        Ok(Self { client, connection: Mutex::new(Some(connection)), script: redis::Script::new(SCRIPT) })
    }

    /// Runs the script over `counters`; annotates each with what was left and when it resets;
    /// the first counter without room, if any.
    fn run(&self, counters: &mut [Counter], delta: u64, charge: &str) -> Result<Option<usize>, String> {
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(delta).arg(charge);
        for counter in counters.iter() {
            invocation.key(key(counter)).arg(counter.max_value()).arg(counter.window().as_millis() as u64);
        }
        let mut slot = self.connection.lock().map_err(|_| "poisoned".to_string())?;
        if slot.is_none() {
            *slot = Some(self.client.get_connection().map_err(|e| e.to_string())?);
        }
        let Some(connection) = slot.as_mut() else { return Err("no connection".into()) };
        let out: Vec<i64> = match invocation.invoke(connection) {
            Ok(out) => out,
            Err(e) => {
                *slot = None;
                return Err(e.to_string());
            }
        };
        let limited = out.first().copied().unwrap_or(0);
        // What was left before this call, as limitador's storages report it (the limiter
        // takes a charge off itself).
        for (i, counter) in counters.iter_mut().enumerate() {
            let value = u64::try_from(out.get(1 + 2 * i).copied().unwrap_or(0)).unwrap_or(0);
            let ttl = out.get(2 + 2 * i).copied().unwrap_or(-1);
            counter.set_remaining(counter.max_value().saturating_sub(value));
            let expires = u64::try_from(ttl).map_or(counter.window(), Duration::from_millis);
            counter.set_expires_in(expires);
        }
        Ok(usize::try_from(limited).ok().filter(|&i| i > 0).map(|i| i - 1))
    }

    fn authorize(&self, counters: &mut [Counter], delta: u64, charge: &str) -> Authorization {
        match self.run(counters, delta, charge) {
            Ok(None) => Authorization::Ok,
            Ok(Some(i)) => {
                Authorization::Limited(counters.get(i).and_then(|c| c.limit().name().map(str::to_string)))
            }
            Err(e) => {
                eprintln!("portcullis-rls: redis: {e}");
                Authorization::Limited(Some(UNAVAILABLE.to_string()))
            }
        }
    }
}

/// One Redis key per counter: the limit (namespace, window, conditions, variables — what
/// limitador serializes of it) and the values of its variables. Every replica with the same
/// limits file derives the same key.
fn key(counter: &Counter) -> String {
    let limit = serde_json::to_string(counter.limit()).unwrap_or_default();
    let values = serde_json::to_string(counter.set_variables()).unwrap_or_default();
    format!("{PREFIX}{limit}:{values}")
}

impl CounterStorage for RedisCounters {
    fn is_within_limits(&self, counter: &Counter, delta: u64) -> Result<bool, StorageErr> {
        let mut counters = [counter.clone()];
        Ok(matches!(self.authorize(&mut counters, delta, "0"), Authorization::Ok))
    }

    fn add_counter(&self, _limit: &Limit) -> Result<(), StorageErr> {
        // Counters are created by their first charge.
        Ok(())
    }

    fn update_counter(&self, counter: &Counter, delta: u64) -> Result<(), StorageErr> {
        let mut counters = [counter.clone()];
        if let Err(e) = self.run(&mut counters, delta, "2") {
            eprintln!("portcullis-rls: redis: charge of {delta} lost: {e}");
        }
        Ok(())
    }

    fn check(&self, counters: &mut Vec<Counter>, delta: u64) -> Result<Authorization, StorageErr> {
        Ok(self.authorize(counters, delta, "0"))
    }

    fn check_and_update(&self, counters: &mut Vec<Counter>, delta: u64) -> Result<Authorization, StorageErr> {
        Ok(self.authorize(counters, delta, "1"))
    }

    fn get_counters(&self, _limits: &HashSet<Arc<Limit>>) -> Result<HashSet<Counter>, StorageErr> {
        // Listing counters serves limitador's admin API, which this service does not have.
        Ok(HashSet::new())
    }

    fn delete_counters(&self, _limits: &HashSet<Arc<Limit>>) -> Result<(), StorageErr> {
        // Called when limits are replaced at run time; this service loads them once.
        Ok(())
    }

    fn clear(&self) -> Result<(), StorageErr> {
        Ok(())
    }
}
