//! Key pools: several provider keys used round robin, and cooldown for keys the provider refused.
//!
//! A key that gets 401 or 429 from its provider is set aside for a while (the provider's
//! `Retry-After`, else the pool's `cooldownSeconds`). Every worker must see that at once, so the
//! "cooling until" time lives in proxy-wasm shared data, under a [`KeyId`] derived from the key,
//! never the key itself. This module is the pure part: choosing a key given the cooldown table,
//! and computing and merging cooldown times; the filter reads and writes the table.
//!
//! Cooling keys only steer the choice among keys; they never lock clients out on a guess. When
//! every key cools down, the gateway refuses (429 with `Retry-After`) only if the provider said
//! how long to wait; a cooldown the gateway chose itself (no `Retry-After`) forwards the request
//! with the key that is back soonest, and the provider decides. One 429 without a hint from a
//! provider with a single key thus costs nobody anything.
//!
//! The round-robin position is per VM (per worker): that spreads load as well as a global
//! counter would, and costs no shared-data write on every request.

use crate::common::secret::{hex, sha256, Secret};
use std::cell::Cell;

/// Upper bound on any cooldown: a key that is still limited afterwards is marked again by its
/// next 429, while a huge `Retry-After` cannot park a key for days.
pub const MAX_COOLDOWN_SECONDS: u64 = 3600;
/// Cooldown when the pool does not configure one and the provider sends no `Retry-After`.
pub const DEFAULT_COOLDOWN_SECONDS: u64 = 30;

/// Names a key in shared data, logs and metrics without revealing it: the first 12 hex digits
/// (48 bits) of the key's SHA-256. Stable across config reloads, so a key keeps its cooldown
/// when a rotation moves it to another position, and two tenants sharing a key share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn of(key: &Secret) -> Self {
        let digest = sha256(key.expose().as_bytes());
        let mut id = hex(&digest);
        id.truncate(12);
        KeyId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared-data key holding this key's "cooling until" time.
    pub fn shared_data_key(&self) -> String {
        format!("portcullis.credentials.cooldown.{}", self.0)
    }
}

/// One provider key of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolKey {
    pub key: Secret,
    pub id: KeyId,
    /// Position in the pool as configured (for log lines: "key #1").
    pub index: usize,
}

/// The keys of one provider (for one tenant, or the default ones), with the extra headers sent
/// alongside and the cooldown to apply when the provider refuses one.
#[derive(Debug)]
pub struct KeyPool {
    keys: Vec<PoolKey>,
    pub headers: Vec<(String, String)>,
    pub cooldown_seconds: u64,
    /// Where the next round-robin pick starts (per VM).
    next: Cell<usize>,
}

/// Pools are equal when they hold the same keys and settings; the rotation position is not
/// part of a pool's identity.
impl PartialEq for KeyPool {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys
            && self.headers == other.headers
            && self.cooldown_seconds == other.cooldown_seconds
    }
}
impl Eq for KeyPool {}

/// A key's entry in the cooldown table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooldown {
    /// Unix seconds.
    pub until: u64,
    /// The provider said how long (`Retry-After`); otherwise the gateway's own default.
    pub hinted: bool,
}

/// The outcome of choosing a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Pick<'a> {
    Key(&'a PoolKey),
    /// Every key is cooling down, each on the provider's word: `soonest` is back first, in
    /// `retry_after` seconds.
    AllCooling {
        retry_after: u64,
        soonest: &'a PoolKey,
    },
    /// The pool has no key (the config compiler never builds one).
    Empty,
}

impl KeyPool {
    pub fn new(keys: Vec<Secret>, headers: Vec<(String, String)>, cooldown_seconds: u64) -> Self {
        let keys = keys
            .into_iter()
            .enumerate()
            .map(|(index, key)| PoolKey { id: KeyId::of(&key), key, index })
            .collect();
        KeyPool { keys, headers, cooldown_seconds, next: Cell::new(0) }
    }

    pub fn keys(&self) -> &[PoolKey] {
        &self.keys
    }

    /// The next key in round-robin order that is not cooling down at `now` (unix seconds);
    /// if every key is, the one back soonest among those the gateway set aside on its own
    /// (see the module docs). `cooling` reads a key's entry in the cooldown table.
    pub fn pick(&self, now: u64, mut cooling: impl FnMut(&KeyId) -> Option<Cooldown>) -> Pick<'_> {
        let n = self.keys.len();
        let start = self.next.get().checked_rem(n).unwrap_or(0);
        let mut soonest_soft: Option<(u64, &PoolKey)> = None;
        let mut soonest_hinted: Option<(u64, &PoolKey)> = None;
        for offset in 0..n {
            let at = start.saturating_add(offset).checked_rem(n).unwrap_or(0);
            let Some(key) = self.keys.get(at) else { continue };
            match cooling(&key.id) {
                Some(c) if c.until > now => {
                    let slot = if c.hinted { &mut soonest_hinted } else { &mut soonest_soft };
                    if slot.is_none_or(|(best, _)| c.until < best) {
                        *slot = Some((c.until, key));
                    }
                }
                _ => {
                    self.next.set(at.saturating_add(1).checked_rem(n).unwrap_or(0));
                    return Pick::Key(key);
                }
            }
        }
        match (soonest_soft, soonest_hinted) {
            (Some((_, key)), _) => Pick::Key(key),
            (None, Some((until, key))) => {
                Pick::AllCooling { retry_after: until.saturating_sub(now).max(1), soonest: key }
            }
            (None, None) => Pick::Empty,
        }
    }
}

/// Whether a provider's answer with this status puts the key that got it in cooldown: 401 (the
/// key is refused) and 429 (the key is rate limited).
pub fn cools_down(status: u16) -> bool {
    status == 401 || status == 429
}

/// How long a key that got `status` should rest, and whether the provider said so, or `None`
/// if the status says nothing against the key. The provider's own hint wins: `retry-after-ms`
/// (OpenAI) or `retry-after` in seconds (an HTTP-date is not parsed and falls back to
/// `default`, unhinted); capped at [`MAX_COOLDOWN_SECONDS`].
pub fn cooldown_after(
    status: u16,
    retry_after: Option<&str>,
    retry_after_ms: Option<&str>,
    default: u64,
) -> Option<(u64, bool)> {
    if !cools_down(status) {
        return None;
    }
    let from_ms = retry_after_ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| (ms / 1000.0).ceil() as u64);
    let from_s = retry_after.and_then(|v| v.trim().parse::<u64>().ok());
    let (seconds, hinted) = match from_ms.or(from_s) {
        Some(seconds) => (seconds, true),
        None => (default, false),
    };
    Some((seconds.clamp(1, MAX_COOLDOWN_SECONDS), hinted))
}

/// Decodes a cooldown table entry: unix seconds, then ` hinted` if the provider said so.
pub fn parse_entry(value: &[u8]) -> Option<Cooldown> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (until, hinted) = match text.strip_suffix(" hinted") {
        Some(until) => (until, true),
        None => (text, false),
    };
    Some(Cooldown { until: until.parse().ok()?, hinted })
}

/// The entry to write so the key cools down until at least `until`, or `None` if the entry
/// already says as long or longer (another worker got there first).
pub fn extend_until(current: Option<&[u8]>, until: u64, hinted: bool) -> Option<Vec<u8>> {
    match current.and_then(parse_entry) {
        Some(existing) if existing.until >= until => None,
        _ if hinted => Some(format!("{until} hinted").into_bytes()),
        _ => Some(until.to_string().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pool(n: usize) -> KeyPool {
        KeyPool::new((0..n).map(|i| Secret::new(format!("sk-{i}"))).collect(), vec![], 30)
    }

    #[test]
    fn round_robin() {
        let p = pool(3);
        let picks: Vec<usize> = (0..7)
            .map(|_| match p.pick(100, |_| None) {
                Pick::Key(k) => k.index,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn cooling_keys_are_skipped_and_rotation_continues_after_the_pick() {
        let p = pool(3);
        let cooling: HashMap<KeyId, Cooldown> = [(p.keys()[0].id.clone(), hinted(200))].into();
        let pick = |now| match p.pick(now, |id| cooling.get(id).copied()) {
            Pick::Key(k) => k.index,
            other => panic!("{other:?}"),
        };
        assert_eq!(pick(100), 1);
        assert_eq!(pick(100), 2);
        assert_eq!(pick(100), 1);
        // Cooldown over at 200: key 0 is back.
        assert_eq!(pick(200), 2);
        assert_eq!(pick(200), 0);
    }

    fn hinted(until: u64) -> Cooldown {
        Cooldown { until, hinted: true }
    }

    fn soft(until: u64) -> Cooldown {
        Cooldown { until, hinted: false }
    }

    #[test]
    fn all_cooling_on_the_providers_word_reports_the_soonest() {
        let p = pool(2);
        let until: HashMap<KeyId, Cooldown> =
            [(p.keys()[0].id.clone(), hinted(140)), (p.keys()[1].id.clone(), hinted(107))].into();
        assert_eq!(
            p.pick(100, |id| until.get(id).copied()),
            Pick::AllCooling { retry_after: 7, soonest: &p.keys()[1] }
        );
    }

    #[test]
    fn a_cooldown_the_gateway_guessed_never_locks_clients_out() {
        // One key, set aside after a 429 without Retry-After: still sent.
        let one = pool(1);
        let entry = soft(130);
        assert_eq!(one.pick(100, |_| Some(entry)), Pick::Key(&one.keys()[0]));
        // Several keys, all cooling: the soonest of those the gateway set aside itself.
        let p = pool(3);
        let until: HashMap<KeyId, Cooldown> = [
            (p.keys()[0].id.clone(), hinted(101)),
            (p.keys()[1].id.clone(), soft(150)),
            (p.keys()[2].id.clone(), soft(120)),
        ]
        .into();
        assert_eq!(p.pick(100, |id| until.get(id).copied()), Pick::Key(&p.keys()[2]));
    }

    #[test]
    fn an_empty_pool_has_nothing_to_pick() {
        assert_eq!(pool(0).pick(100, |_| None), Pick::Empty);
    }

    #[test]
    fn key_id_is_a_short_hash_not_the_key() {
        let id = KeyId::of(&Secret::new("sk-live-123".into()));
        assert_eq!(id.as_str().len(), 12);
        assert!(!id.shared_data_key().contains("sk-live"));
        assert_eq!(id, KeyId::of(&Secret::new("sk-live-123".into())));
        assert_ne!(id, KeyId::of(&Secret::new("sk-live-124".into())));
    }

    #[test]
    fn cooldown_durations() {
        assert_eq!(cooldown_after(200, None, None, 30), None);
        assert_eq!(cooldown_after(500, Some("5"), None, 30), None);
        assert_eq!(cooldown_after(429, None, None, 30), Some((30, false)));
        assert_eq!(cooldown_after(401, None, None, 30), Some((30, false)));
        assert_eq!(cooldown_after(429, Some("7"), None, 30), Some((7, true)));
        assert_eq!(cooldown_after(429, Some(" 0 "), None, 30), Some((1, true)));
        assert_eq!(cooldown_after(429, Some("7"), Some("1500"), 30), Some((2, true)));
        assert_eq!(cooldown_after(429, Some("99999"), None, 30), Some((3600, true)));
        assert_eq!(cooldown_after(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), None, 30), Some((30, false)));
        assert_eq!(cooldown_after(429, None, Some("NaN"), 30), Some((30, false)));
    }

    #[test]
    fn cooldown_entries_only_grow() {
        assert_eq!(extend_until(None, 50, false), Some(b"50".to_vec()));
        assert_eq!(extend_until(Some(b"40"), 50, true), Some(b"50 hinted".to_vec()));
        assert_eq!(extend_until(Some(b"60 hinted"), 50, false), None);
        assert_eq!(extend_until(Some(b"junk"), 50, false), Some(b"50".to_vec()));
        assert_eq!(parse_entry(b"123"), Some(soft(123)));
        assert_eq!(parse_entry(b"123 hinted"), Some(hinted(123)));
        assert_eq!(parse_entry(b"x hinted"), None);
    }
}
