//! Token and cost budgets per tenant, tenant and model, or route, per window — exact across
//! Envoy's worker threads.
//!
//! Each budget's ledger for one scope (one tenant, one route…) is one shared-data entry: the
//! window it counts and what was spent in it, updated by compare-and-swap so every worker sees
//! one ledger. A request is admitted by its *estimate* — its prompt's tokens plus the output it
//! may produce (its own `max_tokens`, else the budget's `reserve`) — which is reserved at once;
//! at the end the reservation is replaced by what the provider reported (never going below
//! zero). So a request is refused as soon as the reservations and spending of the window leave
//! no room for it, and the budget is overshot only by what requests used beyond their estimate
//! (an answer longer than `reserve` when the client set no `max_tokens`).
//!
//! Ledgers live in the Envoy process's shared data, keyed by the plugin's `vm_id`: they survive
//! a VM reload (FAIL_RELOAD) and a config update that keeps the `vm_id`, not an Envoy restart
//! (nor a hot restart), and each Envoy process has its own — the global budget across replicas
//! is the rate limit service's job.

use crate::common::binding::{Selector, Subject};
use crate::common::config::ConfigError;
use crate::http::host::{self, Host};
use serde::Deserialize;
use std::cell::Cell;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetConfig {
    /// Unique; in the ledger's key, metrics and the 429 message.
    pub name: String,
    /// Which requests the budget covers (any if none is set).
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    /// One ledger per … (default: one per tenant).
    #[serde(default)]
    pub per: Scope,
    /// A token budget (input + output, every type)…
    #[serde(default)]
    pub tokens: Option<u64>,
    /// … or a cost budget, in the price table's currency.
    #[serde(default)]
    pub cost: Option<f64>,
    /// `minute`, `hour`, `day`, `month` (calendar, UTC), or a number of seconds (`"30s"`).
    pub window: String,
    /// Output tokens assumed at admission for a request that sets no `max_tokens`.
    #[serde(default = "default_reserve")]
    pub reserve: u64,
}

fn default_reserve() -> u64 {
    1024
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    /// One ledger for every request the budget covers.
    Global,
    #[default]
    Tenant,
    /// Per tenant and model (the model as metrics label it: `other` for a wildcard route's).
    TenantModel,
    Route,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Seconds(u64),
    /// Calendar month, UTC.
    Month,
}

impl Window {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "minute" => Window::Seconds(60),
            "hour" => Window::Seconds(3600),
            "day" => Window::Seconds(86_400),
            "month" => Window::Month,
            _ => {
                let n: u64 = s.strip_suffix('s')?.parse().ok()?;
                if n == 0 {
                    return None;
                }
                Window::Seconds(n)
            }
        })
    }

    /// The window holding `now` (epoch seconds): its start and end.
    pub fn bounds(self, now: u64) -> (u64, u64) {
        match self {
            Window::Seconds(n) => {
                let start = now.checked_div(n).unwrap_or(0).saturating_mul(n);
                (start, start.saturating_add(n))
            }
            Window::Month => {
                let (y, m) = year_month(now / 86_400);
                let start = days_from_civil(y, m).saturating_mul(86_400);
                let (ny, nm) = if m == 12 { (y.saturating_add(1), 1) } else { (y, m.saturating_add(1)) };
                (start, days_from_civil(ny, nm).saturating_mul(86_400))
            }
        }
    }
}

/// Year and month of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`, for
/// dates after the epoch).
fn year_month(days: u64) -> (u64, u64) {
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z.saturating_sub(era.saturating_mul(146_097));
    let yoe = doe.saturating_sub(doe / 1460).saturating_add(doe / 36_524).saturating_sub(doe / 146_096) / 365;
    let doy =
        doe.saturating_sub((365u64.saturating_mul(yoe)).saturating_add(yoe / 4).saturating_sub(yoe / 100));
    let mp = (5u64.saturating_mul(doy).saturating_add(2)) / 153;
    let m = if mp < 10 { mp.saturating_add(3) } else { mp.saturating_sub(9) };
    let y = yoe.saturating_add(era.saturating_mul(400)).saturating_add(u64::from(m <= 2));
    (y, m)
}

/// Days since 1970-01-01 of the first day of month `m` of year `y`.
fn days_from_civil(y: u64, m: u64) -> u64 {
    let y = if m <= 2 { y.saturating_sub(1) } else { y };
    let era = y / 400;
    let yoe = y.saturating_sub(era.saturating_mul(400));
    let mp = if m > 2 { m.saturating_sub(3) } else { m.saturating_add(9) };
    let doy = (153u64.saturating_mul(mp).saturating_add(2)) / 5;
    let doe = yoe.saturating_mul(365).saturating_add(yoe / 4).saturating_sub(yoe / 100).saturating_add(doy);
    era.saturating_mul(146_097).saturating_add(doe).saturating_sub(719_468)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Tokens,
    /// Micro-units of the price table's currency.
    CostMicros,
}

/// A compiled budget.
#[derive(Debug, Clone)]
pub struct Budget {
    pub name: String,
    selector: Selector,
    per: Scope,
    pub unit: Unit,
    /// In `unit`.
    pub limit: u64,
    pub window: Window,
    pub reserve: u64,
}

impl Budget {
    pub fn compile(configs: Vec<BudgetConfig>, priced: bool) -> Result<Vec<Self>, ConfigError> {
        let mut out: Vec<Budget> = Vec::with_capacity(configs.len());
        for (i, c) in configs.into_iter().enumerate() {
            let at = |field: &str| format!("budgets[{i}].{field}");
            if c.name.is_empty() || c.name.contains([';', '=']) {
                return Err(ConfigError::new(at("name"), "must be a non-empty name without `;` or `=`"));
            }
            if out.iter().any(|b| b.name == c.name) {
                return Err(ConfigError::new(at("name"), format!("`{}` names two budgets", c.name)));
            }
            let (unit, limit) = match (c.tokens, c.cost) {
                (Some(tokens), None) => (Unit::Tokens, tokens),
                (None, Some(cost)) if cost.is_finite() && cost > 0.0 => {
                    if !priced {
                        return Err(ConfigError::new(
                            at("cost"),
                            "a cost budget needs a price table (`prices`)",
                        ));
                    }
                    // Whole micro-units; a budget above 2^53 micro-units is not a budget.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let micros = (cost * 1_000_000.0).round() as u64;
                    (Unit::CostMicros, micros)
                }
                (None, Some(_)) => return Err(ConfigError::new(at("cost"), "must be more than zero")),
                _ => {
                    return Err(ConfigError::new(
                        format!("budgets[{i}]"),
                        "set exactly one of `tokens` and `cost`",
                    ))
                }
            };
            if limit == 0 {
                return Err(ConfigError::new(at("tokens"), "must be at least 1"));
            }
            let window = Window::parse(&c.window).ok_or_else(|| {
                ConfigError::new(
                    at("window"),
                    "must be `minute`, `hour`, `day`, `month` or a number of seconds like `30s`",
                )
            })?;
            out.push(Budget {
                name: c.name,
                selector: Selector::new(c.route, c.model, c.tenant),
                per: c.per,
                unit,
                limit,
                window,
                reserve: c.reserve,
            });
        }
        Ok(out)
    }

    pub fn covers(&self, subject: &Subject<'_>) -> bool {
        self.selector.matches(subject)
    }

    /// The shared-data key of the ledger `subject` is counted in.
    pub fn ledger_key(&self, subject: &Subject<'_>, model_label: &str) -> String {
        let tenant = subject.tenant.unwrap_or("");
        let scope = match self.per {
            Scope::Global => String::new(),
            Scope::Tenant => tenant.to_string(),
            Scope::TenantModel => format!("{tenant}/{model_label}"),
            Scope::Route => subject.route.to_string(),
        };
        format!("portcullis.budget;{};{scope}", self.name)
    }
}

/// A ledger entry: the window it counts (its start) and what was spent or reserved in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Ledger {
    window: u64,
    spent: u64,
}

impl Ledger {
    fn decode(bytes: Option<&[u8]>) -> Self {
        let word = |range: std::ops::Range<usize>| {
            bytes
                .and_then(|b| b.get(range))
                .and_then(|w| <[u8; 8]>::try_from(w).ok())
                .map_or(0, u64::from_le_bytes)
        };
        Ledger { window: word(0..8), spent: word(8..16) }
    }

    fn encode(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.window.to_le_bytes());
        out.extend_from_slice(&self.spent.to_le_bytes());
        out
    }

    /// The entry as of window `window`: a ledger of an earlier window counts nothing.
    fn current(self, window: u64) -> Self {
        if self.window == window {
            self
        } else {
            Ledger { window, spent: 0 }
        }
    }
}

/// What admission reserved in one ledger, to settle at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub budget: usize,
    pub key: String,
    pub window: u64,
    pub amount: u64,
}

/// The state of a budget after admission, for the response headers and the 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window ends.
    pub reset: u64,
}

/// Why admission failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The budget has no room for the estimate.
    Exhausted { budget: usize, standing: Standing, wanted: u64 },
    /// Shared data could not be written (under heavy contention): refused rather than unaccounted.
    Unavailable { budget: usize },
}

/// Reserves `amount` in ledger `key` for the window holding `now`, if it fits under `limit`.
pub fn reserve(
    host: &mut dyn Host,
    budget: &Budget,
    index: usize,
    key: String,
    amount: u64,
    now: u64,
) -> Result<(Reservation, Standing), Refusal> {
    let (start, end) = budget.window.bounds(now);
    let reset = end.saturating_sub(now).max(1);
    let outcome: Cell<Option<Result<u64, u64>>> = Cell::new(None);
    let written = host::update_shared(host, &key, |current| {
        let ledger = Ledger::decode(current).current(start);
        let after = ledger.spent.saturating_add(amount);
        if after > budget.limit {
            outcome.set(Some(Err(ledger.spent)));
            return None;
        }
        outcome.set(Some(Ok(after)));
        Some(Ledger { window: start, spent: after }.encode())
    });
    match outcome.get() {
        Some(Ok(after)) if written => Ok((
            Reservation { budget: index, key, window: start, amount },
            Standing { limit: budget.limit, remaining: budget.limit.saturating_sub(after), reset },
        )),
        Some(Err(spent)) => Err(Refusal::Exhausted {
            budget: index,
            standing: Standing { limit: budget.limit, remaining: budget.limit.saturating_sub(spent), reset },
            wanted: amount,
        }),
        _ => Err(Refusal::Unavailable { budget: index }),
    }
}

/// Replaces a reservation by what was actually spent. A window that has ended is left alone
/// (its ledger is the next window's now): the request was charged to the window it was
/// admitted in, by its estimate.
pub fn settle(host: &mut dyn Host, reservation: &Reservation, actual: u64) {
    if actual == reservation.amount {
        return;
    }
    host::update_shared(host, &reservation.key, |current| {
        let ledger = Ledger::decode(current);
        if ledger.window != reservation.window {
            return None;
        }
        let spent = ledger.spent.saturating_sub(reservation.amount).saturating_add(actual);
        Some(Ledger { window: ledger.window, spent }.encode())
    });
}

/// `reset` as OpenAI writes `x-ratelimit-reset-tokens` (`1s`, `6m0s`, `1h2m3s`).
pub fn reset_text(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests;
