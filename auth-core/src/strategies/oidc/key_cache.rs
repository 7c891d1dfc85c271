//! One issuer's key set, cached: fetched from its `jwks_uri`, kept as long as `Cache-Control`
//! allows within a floor and a ceiling, refetched when a token names a key we do not have
//! (single-flight and rate-limited), and kept while the provider is down, up to a limit.

use std::{
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, header};
use reqwest::Url;

use super::{
    OidcError,
    fetch::Fetcher,
    issuer::Rules,
    key_set::{ParsedKeySet, parse_key_set},
};
use crate::strategies::jwt::JwtStrategy;

/// How long key sets are cached and how often they may be refetched.
///
/// A fetched set is *fresh* for its `Cache-Control: max-age` (less `Age`), clamped between
/// [`floor`](Self::floor) and [`ceiling`](Self::ceiling); without a usable header (or with
/// `no-cache` / `no-store`), for the floor. Once it is no longer fresh, the next request starts
/// a refresh in the background and carries on with the cached keys.
///
/// A token whose `kid` names no cached key triggers a refetch at once: concurrent requests share
/// one fetch (single-flight), and fetches happen at most once per
/// [`refetch_interval`](Self::refetch_interval), counted from the previous attempt of any kind,
/// so that a flood of made-up key ids costs the provider one request a minute at most. A token
/// whose key is still unknown after that is refused (401).
///
/// When the provider does not answer, the last good set keeps working for
/// [`max_stale`](Self::max_stale) past the end of its freshness. After that, tokens of this
/// issuer cannot be verified: 503, until a fetch succeeds.
///
/// Defaults: floor 5 minutes, ceiling 24 hours, refetch interval 1 minute, max stale 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCachePolicy {
    pub(super) floor: Duration,
    pub(super) ceiling: Duration,
    pub(super) refetch_interval: Duration,
    pub(super) max_stale: Duration,
}

impl Default for KeyCachePolicy {
    fn default() -> Self {
        Self {
            floor: Duration::from_secs(5 * 60),
            ceiling: Duration::from_secs(24 * 60 * 60),
            refetch_interval: Duration::from_secs(60),
            max_stale: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl KeyCachePolicy {
    crate::macros::setters! {
        /// The shortest time a fetched set is fresh, whatever `Cache-Control` says.
        floor(floor: Duration) => floor = floor;

        /// The longest time a fetched set is fresh, whatever `Cache-Control` says. It bounds how long
        /// a key the provider has withdrawn keeps verifying while the provider is reachable.
        ceiling(ceiling: Duration) => ceiling = ceiling;

        /// The least time between two fetches of one issuer's key set, whatever triggers them.
        refetch_interval(interval: Duration) => refetch_interval = interval;

        /// How long the last good set keeps verifying after its freshness ended, while refreshing
        /// it fails.
        max_stale(max_stale: Duration) => max_stale = max_stale;
    }

    pub(super) fn validate(&self) -> Result<(), OidcError> {
        if self.floor > self.ceiling {
            return Err(OidcError::Config("key cache: the floor is above the ceiling".into()));
        }
        Ok(())
    }

    /// How long a set fetched with these response headers stays fresh.
    fn fresh_for(&self, headers: &HeaderMap) -> Duration {
        max_age(headers).unwrap_or(Duration::ZERO).clamp(self.floor, self.ceiling)
    }
}

/// `Cache-Control: max-age` less `Age` (RFC 9111 §4.2.3, for a private cache); zero for
/// `no-cache` and `no-store`; `None` without a usable directive.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let (name, argument) = directive.split_once('=').unwrap_or((directive, ""));
            if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
                max_age = seconds(argument.trim_matches('"'));
            }
        }
    }
    let age = headers.get(header::AGE).and_then(|age| age.to_str().ok()).and_then(seconds).unwrap_or_default();
    max_age.map(|max_age| max_age.saturating_sub(age))
}

/// A delta-seconds value; out-of-range values saturate (RFC 9111 §1.2.2).
fn seconds(text: &str) -> Option<Duration> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(text.parse::<u64>().unwrap_or(u64::from(u32::MAX))))
}

/// The keys in force and how long they may be used.
#[derive(Clone)]
pub(super) struct Snapshot {
    /// The issuer's rules over the current keys.
    pub(super) strategy: JwtStrategy,
    /// Bumped by every successful fetch, so a waiter can tell that keys changed while it waited.
    pub(super) generation: u64,
    fresh_until: Instant,
    usable_until: Instant,
}

/// Where a snapshot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Freshness {
    /// Within its freshness.
    Fresh,
    /// Past its freshness: usable, and due for a refresh.
    Due,
    /// Past `max_stale`: not usable.
    Expired,
}

impl Snapshot {
    pub(super) fn freshness(&self, now: Instant) -> Freshness {
        if now < self.fresh_until {
            Freshness::Fresh
        } else if now < self.usable_until {
            Freshness::Due
        } else {
            Freshness::Expired
        }
    }
}

/// One issuer's cached key set.
pub(super) struct KeyCache {
    jwks_uri: Url,
    fetcher: Fetcher,
    policy: KeyCachePolicy,
    rules: Rules,
    current: RwLock<Snapshot>,
    /// Held for the whole of a fetch: the single flight.
    flight: tokio::sync::Mutex<()>,
    last_attempt: Mutex<Instant>,
    background: AtomicBool,
}

impl KeyCache {
    /// Fetches the set once; an issuer whose keys cannot be had at startup is a startup error.
    pub(super) async fn load(
        jwks_uri: Url,
        fetcher: Fetcher,
        policy: KeyCachePolicy,
        rules: Rules,
    ) -> Result<Arc<Self>, OidcError> {
        let started = Instant::now();
        let (parsed, fresh_for) = fetch(&fetcher, &jwks_uri, &policy).await?;
        let strategy = rules.strategy(parsed.into_keys())?;
        let snapshot = Snapshot {
            strategy,
            generation: 0,
            fresh_until: started + fresh_for,
            usable_until: started + fresh_for + policy.max_stale,
        };
        Ok(Arc::new(Self {
            jwks_uri,
            fetcher,
            policy,
            rules,
            current: RwLock::new(snapshot),
            flight: tokio::sync::Mutex::new(()),
            last_attempt: Mutex::new(started),
            background: AtomicBool::new(false),
        }))
    }

    /// The keys in force.
    pub(super) fn snapshot(&self) -> Snapshot {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Refetches the set unless another fetch has replaced `seen` meanwhile, or the last attempt
    /// is more recent than the refetch interval. Concurrent callers share one fetch: they wait
    /// for it and then find the generation changed. Returns whether keys newer than `seen` are
    /// in place.
    pub(super) async fn refresh(&self, seen: u64) -> bool {
        let _flight = self.flight.lock().await;
        if self.snapshot().generation != seen {
            return true;
        }
        let started = Instant::now();
        {
            let mut last = self.last_attempt.lock().unwrap_or_else(PoisonError::into_inner);
            if started.saturating_duration_since(*last) < self.policy.refetch_interval {
                return false;
            }
            *last = started;
        }
        let fetched = async {
            let (parsed, fresh_for) = fetch(&self.fetcher, &self.jwks_uri, &self.policy).await?;
            Ok::<_, OidcError>((self.rules.strategy(parsed.into_keys())?, fresh_for))
        };
        match fetched.await {
            Ok((strategy, fresh_for)) => {
                let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
                *current = Snapshot {
                    strategy,
                    generation: seen + 1,
                    fresh_until: started + fresh_for,
                    usable_until: started + fresh_for + self.policy.max_stale,
                };
                true
            }
            Err(error) => {
                tracing::warn!(issuer = %self.rules.issuer, %error, "could not refresh the key set; keeping the last good one");
                false
            }
        }
    }

    /// Starts a refresh without waiting for it; at most one runs in the background at a time.
    pub(super) fn refresh_in_background(self: &Arc<Self>, seen: u64) {
        // Outside a tokio runtime there is nothing to spawn on: the next request due tries again.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = Arc::clone(self);
        runtime.spawn(async move {
            cache.refresh(seen).await;
            cache.background.store(false, Ordering::Release);
        });
    }
}

/// Fetches and parses the set, and says how long it stays fresh.
async fn fetch(fetcher: &Fetcher, url: &Url, policy: &KeyCachePolicy) -> Result<(ParsedKeySet, Duration), OidcError> {
    let fetched = fetcher.get(url).await.map_err(|error| OidcError::Fetch { url: url.to_string(), error })?;
    let parsed = parse_key_set(&fetched.body)
        .map_err(|error| OidcError::KeySet { url: url.to_string(), reason: error.to_string() })?;
    for skipped in parsed.skipped() {
        tracing::warn!(jwks_uri = %url, kid = ?skipped.kid, reason = %skipped.reason, "skipped a key of the key set");
    }
    let fresh_for = policy.fresh_for(&fetched.headers);
    tracing::info!(jwks_uri = %url, keys = parsed.keys().len(), ?fresh_for, "fetched the key set");
    Ok((parsed, fresh_for))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn cache_control_is_followed_within_floor_and_ceiling() {
        let policy = KeyCachePolicy::default().floor(Duration::from_secs(60)).ceiling(Duration::from_secs(3600));
        let fresh = |pairs: &[(header::HeaderName, &str)]| policy.fresh_for(&headers(pairs)).as_secs();
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "public, max-age=600")]), 600);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "max-age=600"), (header::AGE, "100")]), 500);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "max-age=\"900\"")]), 900);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "max-age=86400")]), 3600);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "max-age=5")]), 60);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "no-cache, max-age=600")]), 60);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "private"), (header::CACHE_CONTROL, "no-store")]), 60);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "max-age=99999999999999999999999")]), 3600);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "max-age=-1")]), 60);
        assert_eq!(fresh(&[(header::CACHE_CONTROL, "max-age=1e3")]), 60);
        assert_eq!(fresh(&[]), 60);
    }
}
