//! Login throttling: exponential backoff per account and per client IP, answered with 429 and
//! `Retry-After`, kept in memory or in Redis (so that it holds across processes).
//!
//! Every login attempt is checked against three counters of consecutive failures, before its
//! password is looked at (so a throttled guess costs no argon2 work):
//!
//! | counter              | default: free failures, then delays doubling from 1 s up to | why |
//! |----------------------|--------------------------------------------------------------|-----|
//! | account + client IP  | 5, up to 15 minutes                                          | one source guessing one account's password |
//! | client IP            | 20, up to 15 minutes                                         | one source trying many accounts (credential stuffing, password spraying) |
//! | account              | 50, up to **1 minute**                                       | many sources guessing one account |
//!
//! A failure adds one to each counter; a success clears the account's two counters (not the
//! IP's: a valid login of one's own account must not reset the count of guesses against
//! others). A counter forgets after [`ThrottlePolicy::window`] (1 hour) without failures.
//! A request that must wait is answered 429 `{"detail": "LOGIN_TOO_MANY_ATTEMPTS"}` with
//! `Retry-After: <seconds>`, before any password check.
//!
//! # Account lockout
//!
//! Throttling per account lets anyone who knows an address slow down its owner's logins with
//! wrong passwords: a denial of service. This design limits it three ways:
//!
//! 1. The strict counter is per *account and IP*: an attacker's failures delay the attacker's
//!    own address, not the owner's, who logs in from another one.
//! 2. The account-wide counter, which does delay everyone, needs ten times as many failures and
//!    never delays more than one minute: the owner can always log in within a minute, while a
//!    distributed guesser is held to about one guess a minute per account (1 440 a day, against
//!    the 2^20+ guesses NIST SP 800-63B §5.2.2 assumes an online attacker needs).
//! 3. A throttled attempt is refused without counting, so a flood does not push the delays
//!    further; the per-IP counter holds each attacking address to its own slowing rate.
//!
//! What remains: many addresses together can keep one account at its one-minute delay. Apps
//! that must rule even that out can raise `per_account`'s free failures, at the price of more
//! guesses; the counters are [`LoginThrottle::per_account`] and friends.
//!
//! # Client IP
//!
//! The IP comes from [`ClientIpSource`]: the TCP peer by default (serve the app with
//! `into_make_service_with_connect_info::<SocketAddr>()`), or a header set by a trusted proxy.
//! IPv6 clients are counted per /64, the block a single host usually controls. When the IP is
//! unknown (no connect info), only the account counters apply, the account-wide one with the
//! account + IP limits, and an error is logged once.
//!
//! # Failures of the store
//!
//! A Redis store that does not answer fails the login with 503 (closed, not open: a login that
//! skipped the check would make an outage an invitation).

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::http::HeaderName;
use sha2::{Digest, Sha256};

use super::hooks::RequestContext;
use crate::error::AuthError;

/// How many counters the in-memory store keeps at most; beyond, the ones nearest their expiry
/// among a sample are dropped first.
pub const MAX_MEMORY_ENTRIES: usize = 100_000;

/// The Redis key prefix unless configured.
pub const DEFAULT_REDIS_PREFIX: &str = "auth:throttle:";

/// One counter's rule: how many failures are free, then how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures allowed without delay.
    pub free_failures: u32,
    /// The delay after the first failure beyond the free ones; each further one doubles it.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// How long a counter lives after its last failure.
    pub window: Duration,
}

impl ThrottlePolicy {
    /// The delay after `failures` consecutive failures.
    pub fn delay(&self, failures: u64) -> Duration {
        let Some(beyond) = failures.checked_sub(u64::from(self.free_failures) + 1) else { return Duration::ZERO };
        let factor = 1u32 << beyond.min(30);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    const fn new(free_failures: u32, max_delay_secs: u64) -> Self {
        Self {
            free_failures,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(max_delay_secs),
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// Which counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    AccountAndIp,
    Ip,
    Account,
}

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Counter::AccountAndIp => "account-ip",
            Counter::Ip => "ip",
            Counter::Account => "account",
        }
    }
}

/// The counters one login attempt touches.
#[derive(Debug, Clone)]
pub(crate) struct AttemptKeys {
    keys: Vec<(Counter, [u8; 32], ThrottlePolicy)>,
}

/// Login throttling; see the [module docs](self). Cheap to clone: clones share the counters.
#[derive(Clone, Debug)]
pub struct LoginThrottle {
    store: Store,
    per_account_and_ip: ThrottlePolicy,
    per_ip: ThrottlePolicy,
    per_account: ThrottlePolicy,
}

#[derive(Clone)]
enum Store {
    Memory(Arc<Mutex<HashMap<[u8; 32], Entry>>>),
    #[cfg(feature = "redis")]
    Redis(Arc<RedisStore>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Memory(_) => f.write_str("Memory"),
            #[cfg(feature = "redis")]
            Store::Redis(store) => f.debug_struct("Redis").field("prefix", &store.prefix).finish_non_exhaustive(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u64,
    blocked_until: Instant,
    expires_at: Instant,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::memory()
    }
}

impl LoginThrottle {
    /// Counters in this process's memory (at most [`MAX_MEMORY_ENTRIES`]), with the default
    /// policies.
    pub fn memory() -> Self {
        Self::with_store(Store::Memory(Arc::default()))
    }

    /// Counters in Redis, shared by every process using the same server and prefix
    /// ([`DEFAULT_REDIS_PREFIX`]), with the default policies. Each check and each failure is
    /// one script call, timed by the server's clock; each command gets `timeout`.
    #[cfg(feature = "redis")]
    pub fn redis(connection: crate::strategies::redis::ConnectionManager) -> Self {
        Self::with_store(Store::Redis(Arc::new(RedisStore {
            connection,
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            timeout: crate::strategies::redis::DEFAULT_TIMEOUT,
            check: redis::Script::new(CHECK_SCRIPT),
            fail: redis::Script::new(FAIL_SCRIPT),
        })))
    }

    /// The Redis key prefix (keys are `<prefix><counter>:<hash>`); no effect in memory.
    #[cfg(feature = "redis")]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        if let Store::Redis(store) = &mut self.store {
            let mut changed = RedisStore::clone(store);
            changed.prefix = prefix.into();
            *store = Arc::new(changed);
        }
        self
    }

    fn with_store(store: Store) -> Self {
        Self {
            store,
            per_account_and_ip: ThrottlePolicy::new(5, 15 * 60),
            per_ip: ThrottlePolicy::new(20, 15 * 60),
            per_account: ThrottlePolicy::new(50, 60),
        }
    }

    /// The rule for one account from one IP; default 5 free failures, then 1 s doubling to 15 min.
    pub fn per_account_and_ip(mut self, policy: ThrottlePolicy) -> Self {
        self.per_account_and_ip = policy;
        self
    }

    /// The rule for one IP over all accounts; default 20 free failures, then 1 s doubling to
    /// 15 min.
    pub fn per_ip(mut self, policy: ThrottlePolicy) -> Self {
        self.per_ip = policy;
        self
    }

    /// The rule for one account over all IPs; default 50 free failures, then 1 s doubling to
    /// 1 min. Keep its maximum short: it is the one an attacker can turn against the owner.
    pub fn per_account(mut self, policy: ThrottlePolicy) -> Self {
        self.per_account = policy;
        self
    }

    /// The counters of an attempt on the account with lookup key `account` from `ip`.
    pub(crate) fn keys(&self, account: &str, ip: Option<IpAddr>) -> AttemptKeys {
        let key = |counter: Counter, parts: &[&[u8]]| {
            let mut digest = Sha256::new();
            digest.update(counter.name().as_bytes());
            for part in parts {
                digest.update([0u8]);
                digest.update(part);
            }
            <[u8; 32]>::from(digest.finalize())
        };
        let keys = match ip.map(counted_ip) {
            Some(ip) => {
                let ip = ip.to_string();
                vec![
                    (
                        Counter::AccountAndIp,
                        key(Counter::AccountAndIp, &[account.as_bytes(), ip.as_bytes()]),
                        self.per_account_and_ip,
                    ),
                    (Counter::Ip, key(Counter::Ip, &[ip.as_bytes()]), self.per_ip),
                    (Counter::Account, key(Counter::Account, &[account.as_bytes()]), self.per_account),
                ]
            }
            None => {
                vec![(Counter::Account, key(Counter::Account, &[account.as_bytes()]), self.per_account_and_ip)]
            }
        };
        AttemptKeys { keys }
    }

    /// How long the attempt must wait; zero if it may go ahead.
    pub(crate) async fn wait(&self, keys: &AttemptKeys) -> Result<Duration, AuthError> {
        match &self.store {
            Store::Memory(map) => {
                let now = Instant::now();
                let map = map.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(keys
                    .keys
                    .iter()
                    .filter_map(|(_, key, _)| map.get(key))
                    .filter(|entry| entry.expires_at > now)
                    .map(|entry| entry.blocked_until.saturating_duration_since(now))
                    .max()
                    .unwrap_or_default())
            }
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.wait(keys).await,
        }
    }

    /// Counts a failed attempt.
    pub(crate) async fn failed(&self, keys: &AttemptKeys) -> Result<(), AuthError> {
        match &self.store {
            Store::Memory(map) => {
                let now = Instant::now();
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                for (_, key, policy) in &keys.keys {
                    if !map.contains_key(key) && map.len() >= MAX_MEMORY_ENTRIES {
                        make_room(&mut map, now);
                    }
                    let entry = map.entry(*key).or_insert(Entry { failures: 0, blocked_until: now, expires_at: now });
                    if entry.expires_at <= now {
                        *entry = Entry { failures: 0, blocked_until: now, expires_at: now };
                    }
                    entry.failures += 1;
                    let delay = policy.delay(entry.failures);
                    entry.blocked_until = now + delay;
                    entry.expires_at = now + policy.window.max(delay);
                }
                Ok(())
            }
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.failed(keys).await,
        }
    }

    /// Clears the account's counters after a successful login.
    pub(crate) async fn succeeded(&self, keys: &AttemptKeys) -> Result<(), AuthError> {
        let account_keys = keys.keys.iter().filter(|(counter, _, _)| *counter != Counter::Ip);
        match &self.store {
            Store::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                for (_, key, _) in account_keys {
                    map.remove(key);
                }
                Ok(())
            }
            #[cfg(feature = "redis")]
            Store::Redis(store) => {
                let keys: Vec<String> = account_keys.map(|(counter, key, _)| store.key(*counter, key)).collect();
                let mut connection = store.connection.clone();
                let command = redis::cmd("DEL").arg(keys).clone();
                crate::strategies::redis::timed(
                    store.timeout,
                    "throttle reset",
                    command.query_async::<i64>(&mut connection),
                )
                .await
                .map(|_| ())
            }
        }
    }
}

/// Drops expired counters; if none were, the sampled counter nearest its expiry.
fn make_room(map: &mut HashMap<[u8; 32], Entry>, now: Instant) {
    map.retain(|_, entry| entry.expires_at > now);
    if map.len() >= MAX_MEMORY_ENTRIES {
        let victim = map.iter().take(64).min_by_key(|(_, entry)| entry.expires_at).map(|(key, _)| *key);
        if let Some(victim) = victim {
            map.remove(&victim);
        }
    }
}

/// The address a client is counted by: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64.
fn counted_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// Where the client's IP address comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientIpSource {
    /// The TCP peer, from axum's `ConnectInfo<SocketAddr>`: serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`. Right when clients connect
    /// directly.
    #[default]
    Peer,
    /// Behind `trusted_proxies` proxies that each append to `X-Forwarded-For`: the entry that
    /// many places from the right (1: the address your one proxy saw). Entries further left
    /// were written by the client and are never trusted.
    XForwardedFor {
        /// How many proxies of yours append to the header.
        trusted_proxies: usize,
    },
    /// A header your proxy sets to the client's address (`X-Real-IP`, `Fly-Client-IP`…). Only
    /// when the proxy overwrites it on every request.
    Header(HeaderName),
}

impl ClientIpSource {
    /// The client's address for this request, if it can be told.
    pub fn client_ip(&self, request: &RequestContext) -> Option<IpAddr> {
        match self {
            ClientIpSource::Peer => {
                let ip = request.peer.map(|peer| peer.ip());
                if ip.is_none() {
                    static WARNED: AtomicBool = AtomicBool::new(false);
                    if !WARNED.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "login throttling cannot see client IPs: serve the app with \
                             into_make_service_with_connect_info::<SocketAddr>() or set a ClientIpSource; \
                             only the per-account counters apply"
                        );
                    }
                }
                ip
            }
            ClientIpSource::XForwardedFor { trusted_proxies } => {
                let entries: Vec<&str> = request
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .flat_map(|value| value.split(','))
                    .map(str::trim)
                    .collect();
                let index = entries.len().checked_sub(*trusted_proxies)?;
                if *trusted_proxies == 0 {
                    return None;
                }
                entries.get(index)?.parse().ok()
            }
            ClientIpSource::Header(name) => {
                let mut values = request.headers.get_all(name).iter();
                let value = values.next()?;
                if values.next().is_some() {
                    return None;
                }
                value.to_str().ok()?.trim().parse().ok()
            }
        }
    }
}

#[cfg(feature = "redis")]
const CHECK_SCRIPT: &str = r"
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local wait = 0
for _, key in ipairs(KEYS) do
  local blocked = redis.call('HGET', key, 'until')
  if blocked then
    local left = tonumber(blocked) - now
    if left > wait then wait = left end
  end
end
return wait
";

/// ARGV holds four numbers per key: free failures, base delay, maximum delay, window (ms).
#[cfg(feature = "redis")]
const FAIL_SCRIPT: &str = r"
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local o = (i - 1) * 4
  local free = tonumber(ARGV[o + 1])
  local base = tonumber(ARGV[o + 2])
  local max = tonumber(ARGV[o + 3])
  local ttl = tonumber(ARGV[o + 4])
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  if failures > free then
    local delay = math.min(base * (2 ^ math.min(failures - free - 1, 30)), max)
    redis.call('HSET', key, 'until', string.format('%d', now + delay))
    if delay > ttl then ttl = delay end
  end
  redis.call('PEXPIRE', key, string.format('%d', ttl))
end
return 0
";

#[cfg(feature = "redis")]
#[derive(Clone)]
struct RedisStore {
    connection: crate::strategies::redis::ConnectionManager,
    prefix: String,
    timeout: Duration,
    check: redis::Script,
    fail: redis::Script,
}

#[cfg(feature = "redis")]
impl RedisStore {
    fn key(&self, counter: Counter, hash: &[u8; 32]) -> String {
        let mut key = format!("{}{}:", self.prefix, counter.name());
        for byte in &hash[..16] {
            key.push_str(&format!("{byte:02x}"));
        }
        key
    }

    async fn wait(&self, keys: &AttemptKeys) -> Result<Duration, AuthError> {
        let mut invocation = self.check.prepare_invoke();
        for (counter, hash, _) in &keys.keys {
            invocation.key(self.key(*counter, hash));
        }
        let mut connection = self.connection.clone();
        let millis: i64 =
            crate::strategies::redis::timed(self.timeout, "throttle check", invocation.invoke_async(&mut connection))
                .await?;
        Ok(Duration::from_millis(u64::try_from(millis).unwrap_or(0)))
    }

    async fn failed(&self, keys: &AttemptKeys) -> Result<(), AuthError> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = self.fail.prepare_invoke();
        for (counter, hash, policy) in &keys.keys {
            invocation.key(self.key(*counter, hash));
            invocation
                .arg(policy.free_failures)
                .arg(millis(policy.base_delay))
                .arg(millis(policy.max_delay))
                .arg(millis(policy.window).max(1));
        }
        let mut connection = self.connection.clone();
        let _: i64 =
            crate::strategies::redis::timed(self.timeout, "throttle failure", invocation.invoke_async(&mut connection))
                .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_then_cap() {
        let policy = ThrottlePolicy::new(2, 60);
        let delays: Vec<u64> = (0..10).map(|n| policy.delay(n).as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60]);
        assert_eq!(policy.delay(u64::MAX), Duration::from_secs(60));
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(counted_ip(a), counted_ip(b));
        assert_ne!(counted_ip(a), counted_ip(c));
        assert_eq!(counted_ip("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_for_trusts_only_its_proxies() {
        let mut request = RequestContext::default();
        request.headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let one = ClientIpSource::XForwardedFor { trusted_proxies: 1 };
        assert_eq!(one.client_ip(&request), Some("203.0.113.7".parse().unwrap()));
        let two = ClientIpSource::XForwardedFor { trusted_proxies: 2 };
        assert_eq!(two.client_ip(&request), Some("6.6.6.6".parse().unwrap()));
        let three = ClientIpSource::XForwardedFor { trusted_proxies: 3 };
        assert_eq!(three.client_ip(&request), None);
        assert_eq!(ClientIpSource::XForwardedFor { trusted_proxies: 0 }.client_ip(&request), None);
    }

    #[tokio::test]
    async fn memory_store_backs_off_and_resets() {
        let throttle = LoginThrottle::memory().per_account_and_ip(ThrottlePolicy::new(1, 60));
        let ip = Some("192.0.2.1".parse().unwrap());
        let keys = throttle.keys("victim@example.com", ip);
        assert_eq!(throttle.wait(&keys).await.unwrap(), Duration::ZERO);
        throttle.failed(&keys).await.unwrap();
        assert_eq!(throttle.wait(&keys).await.unwrap(), Duration::ZERO);
        throttle.failed(&keys).await.unwrap();
        let wait = throttle.wait(&keys).await.unwrap();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        // Another IP is not held up by this one's failures.
        let other = throttle.keys("victim@example.com", Some("192.0.2.2".parse().unwrap()));
        assert_eq!(throttle.wait(&other).await.unwrap(), Duration::ZERO);
        throttle.succeeded(&keys).await.unwrap();
        assert_eq!(throttle.wait(&keys).await.unwrap(), Duration::ZERO);
    }
}

#[cfg(test)]
#[path = "throttle_bound_tests.rs"]
mod bound_tests;
