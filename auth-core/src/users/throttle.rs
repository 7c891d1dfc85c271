//! Login throttling: exponential backoff per account and per client IP, answered with 429 and
//! `Retry-After`, kept in memory or in Redis (so that it holds across processes).
//!
//! Every login attempt is checked against three counters of consecutive failures, before its
//! password is looked at (so a throttled guess costs no argon2 work). The check and the count
//! are one atomic step: an attempt that may go ahead is counted as a failure at once, before
//! its password is verified, and given back if it succeeds. So a burst of attempts sent at
//! once gets no more verified than the same attempts sent one after another (the free
//! failures, plus the one that sets the first delay), in memory and in Redis, from one process
//! or many sharing the server.
//!
//! | counter              | default: free failures, then delays doubling from 1 s up to | why |
//! |----------------------|--------------------------------------------------------------|-----|
//! | account + client IP  | 5, up to 15 minutes                                          | one source guessing one account's password |
//! | client IP            | 20, up to 15 minutes                                         | one source trying many accounts (credential stuffing, password spraying) |
//! | account              | 50, up to **1 minute**                                       | many sources guessing one account |
//!
//! A failure adds one to each counter; a success clears the account's two counters and gives
//! back its place on the IP's (a valid login of one's own account must not reset the count of
//! guesses against others). A counter forgets after [`ThrottlePolicy::window`] (1 hour) without failures.
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
//! guesses; the counters are [`LoginThrottleBuilder::per_account`] and friends.
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

impl LoginThrottle {
    /// The Redis key prefix unless configured.
    pub const DEFAULT_REDIS_PREFIX: &str = "auth:throttle:";

    /// How many counters the in-memory store keeps at most; beyond, the ones nearest their expiry
    /// among a sample are dropped first.
    pub const MAX_MEMORY_ENTRIES: usize = 100_000;
}

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

/// Options of a [`LoginThrottle`] being built; from [`LoginThrottle::builder`].
#[derive(Clone, Debug)]
#[must_use = "call .build() to get a LoginThrottle"]
pub struct LoginThrottleBuilder {
    throttle: LoginThrottle,
    #[cfg(feature = "redis")]
    prefix: String,
}

impl LoginThrottle {
    /// Starts a throttle with the default policies, its counters in this process's memory (at
    /// most [`LoginThrottle::MAX_MEMORY_ENTRIES`]) unless [`redis`](LoginThrottleBuilder::redis).
    pub fn builder() -> LoginThrottleBuilder {
        LoginThrottleBuilder {
            throttle: Self {
                store: Store::Memory(Arc::default()),
                per_account_and_ip: ThrottlePolicy::new(5, 15 * 60),
                per_ip: ThrottlePolicy::new(20, 15 * 60),
                per_account: ThrottlePolicy::new(50, 60),
            },
            #[cfg(feature = "redis")]
            prefix: LoginThrottle::DEFAULT_REDIS_PREFIX.to_owned(),
        }
    }

    /// The counters of an attempt on the account with lookup key `account` from `client`.
    pub(crate) fn keys(&self, account: &str, client: ClientIp) -> AttemptKeys {
        let key = |counter: Counter, parts: &[&[u8]]| {
            let mut digest = Sha256::new();
            digest.update(counter.name().as_bytes());
            for part in parts {
                digest.update([0u8]);
                digest.update(part);
            }
            <[u8; 32]>::from(digest.finalize())
        };
        let per_ip = |ip: &str| {
            [
                (
                    Counter::AccountAndIp,
                    key(Counter::AccountAndIp, &[account.as_bytes(), ip.as_bytes()]),
                    self.per_account_and_ip,
                ),
                (Counter::Ip, key(Counter::Ip, &[ip.as_bytes()]), self.per_ip),
            ]
        };
        let keys = match client {
            ClientIp::Known(ip) => {
                let ip = counted_ip(ip).to_string();
                let mut keys = per_ip(&ip).to_vec();
                keys.push((Counter::Account, key(Counter::Account, &[account.as_bytes()]), self.per_account));
                keys
            }
            // A bucket of their own, as if one more client (no IP prints as `unknown`), and not
            // the account-wide counter: their failures never delay the account's known clients.
            ClientIp::Unknown => per_ip("unknown").to_vec(),
            ClientIp::Unseen => {
                vec![(Counter::Account, key(Counter::Account, &[account.as_bytes()]), self.per_account_and_ip)]
            }
        };
        AttemptKeys { keys }
    }

    /// The counter a failed API key from `client` adds to: the client IP's, the one failed
    /// logins add to (no account: a key names none until it is verified). None when the app
    /// cannot see addresses.
    pub(crate) fn ip_keys(&self, client: ClientIp) -> AttemptKeys {
        let mut keys = self.keys("", client);
        keys.keys.retain(|(counter, _, _)| *counter == Counter::Ip);
        keys
    }

    /// Whether an attempt has no counter to count on.
    pub(crate) fn is_empty(keys: &AttemptKeys) -> bool {
        keys.keys.is_empty()
    }

    /// Takes the attempt's place on its counters before its password is verified, in one
    /// atomic step (under the lock in memory, one script in Redis): if no counter makes it wait,
    /// counts it as a failure now and lets it go ahead; otherwise counts nothing and says how
    /// long to wait. A burst of attempts at once is thereby held to the allowance, as attempts
    /// one after another are. [`LoginThrottle::succeeded`] and [`LoginThrottle::refund`] give
    /// the place back; a failure keeps it.
    pub(crate) async fn reserve(&self, keys: &AttemptKeys) -> Result<Result<Reservation, Duration>, AuthError> {
        match &self.store {
            Store::Memory(map) => {
                let now = Instant::now();
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                let wait = keys
                    .keys
                    .iter()
                    .filter_map(|(_, key, _)| map.get(key))
                    .filter(|entry| entry.expires_at > now)
                    .map(|entry| entry.blocked_until.saturating_duration_since(now))
                    .max()
                    .unwrap_or_default();
                if !wait.is_zero() {
                    return Ok(Err(wait));
                }
                let mut taken = Vec::with_capacity(keys.keys.len());
                for (_, key, policy) in &keys.keys {
                    if !map.contains_key(key) && map.len() >= LoginThrottle::MAX_MEMORY_ENTRIES {
                        make_room(&mut map, now);
                    }
                    let entry = map.entry(*key).or_insert(Entry { failures: 0, blocked_until: now, expires_at: now });
                    if entry.expires_at <= now {
                        *entry = Entry { failures: 0, blocked_until: now, expires_at: now };
                    }
                    let before = entry.blocked_until;
                    entry.failures += 1;
                    let delay = policy.delay(entry.failures);
                    entry.blocked_until = now + delay;
                    entry.expires_at = now + policy.window.max(delay);
                    taken.push(Taken { failures: entry.failures, before: Before::Memory(before) });
                }
                Ok(Ok(Reservation { taken }))
            }
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.reserve(keys).await,
        }
    }

    /// Settles a successful login: clears the account's counters and gives the IP counter its
    /// place back (a valid login of one's own account must not reset the count of guesses from
    /// that address against others, nor count as one).
    pub(crate) async fn succeeded(&self, keys: &AttemptKeys, reservation: &Reservation) -> Result<(), AuthError> {
        self.settle(keys, reservation, |counter| counter != Counter::Ip).await
    }

    /// Gives every counter its place back: the attempt was not a failure (a right password of
    /// a user who must verify first).
    pub(crate) async fn refund(&self, keys: &AttemptKeys, reservation: &Reservation) -> Result<(), AuthError> {
        self.settle(keys, reservation, |_| false).await
    }

    /// Clears the counters `clear` picks and gives the others the reservation's place back. A
    /// place given back restores the counter's delay as it was before the reservation, unless
    /// other attempts reserved on it since.
    async fn settle(
        &self,
        keys: &AttemptKeys,
        reservation: &Reservation,
        clear: impl Fn(Counter) -> bool,
    ) -> Result<(), AuthError> {
        match &self.store {
            Store::Memory(map) => {
                let now = Instant::now();
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                for ((counter, key, _), taken) in keys.keys.iter().zip(&reservation.taken) {
                    if clear(*counter) {
                        map.remove(key);
                        continue;
                    }
                    let Some(entry) = map.get_mut(key).filter(|entry| entry.expires_at > now) else { continue };
                    if entry.failures == taken.failures
                        && let Before::Memory(before) = taken.before
                    {
                        entry.blocked_until = before;
                    }
                    entry.failures = entry.failures.saturating_sub(1);
                    if entry.failures == 0 {
                        map.remove(key);
                    }
                }
                Ok(())
            }
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.settle(keys, reservation, clear).await,
        }
    }
}

impl LoginThrottleBuilder {
    /// Counters in Redis, shared by every process using the same server and
    /// [`prefix`](Self::prefix). Each attempt is one script call (check and count together,
    /// timed by the server's clock), and one more when it succeeds; each command gets the Redis
    /// strategy's default timeout.
    #[cfg(feature = "redis")]
    pub fn redis(mut self, connection: crate::strategies::redis::ConnectionManager) -> Self {
        self.throttle.store = Store::Redis(Arc::new(RedisStore {
            connection,
            prefix: self.prefix.clone(),
            timeout: crate::strategies::redis::DEFAULT_TIMEOUT,
            reserve: redis::Script::new(RESERVE_SCRIPT),
            settle: redis::Script::new(SETTLE_SCRIPT),
        }));
        self
    }

    /// The Redis key prefix (keys are `<prefix><counter>:<hash>`); default
    /// [`LoginThrottle::DEFAULT_REDIS_PREFIX`]; no effect in memory.
    #[cfg(feature = "redis")]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        if let Store::Redis(store) = &mut self.throttle.store {
            Arc::make_mut(store).prefix = self.prefix.clone();
        }
        self
    }

    /// The rule for one account from one IP; default 5 free failures, then 1 s doubling to 15 min.
    pub fn per_account_and_ip(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle.per_account_and_ip = policy;
        self
    }

    /// The rule for one IP over all accounts; default 20 free failures, then 1 s doubling to
    /// 15 min.
    pub fn per_ip(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle.per_ip = policy;
        self
    }

    /// The rule for one account over all IPs; default 50 free failures, then 1 s doubling to
    /// 1 min. Keep its maximum short: it is the one an attacker can turn against the owner.
    pub fn per_account(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle.per_account = policy;
        self
    }

    /// The throttle.
    pub fn build(self) -> LoginThrottle {
        self.throttle
    }
}

/// What [`LoginThrottle::reserve`] took, to be given back on success.
#[derive(Debug)]
pub(crate) struct Reservation {
    /// One per counter, in the order of the attempt's keys.
    taken: Vec<Taken>,
}

#[derive(Debug, Clone, Copy)]
struct Taken {
    /// The counter's failures once this attempt was counted.
    failures: u64,
    /// The counter's delay before it.
    before: Before,
}

#[derive(Debug, Clone, Copy)]
enum Before {
    Memory(Instant),
    /// Milliseconds on the Redis server's clock; negative when there was none.
    #[cfg(feature = "redis")]
    Redis(i64),
}

/// Drops expired counters; if none were, the sampled counter nearest its expiry.
fn make_room(map: &mut HashMap<[u8; 32], Entry>, now: Instant) {
    map.retain(|_, entry| entry.expires_at > now);
    if map.len() >= LoginThrottle::MAX_MEMORY_ENTRIES {
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

/// The client of one login attempt, as the throttle counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientIp {
    /// Its address.
    Known(IpAddr),
    /// A proxy header was configured, but it did not hold an address: counted in a bucket of
    /// its own.
    Unknown,
    /// The app cannot see addresses at all (no connect info): only the account counter.
    Unseen,
}

/// Longest header value written to a log line; the rest is cut off.
const MAX_LOGGED_VALUE: usize = 64;

impl ClientIpSource {
    /// The client's address for this request, if it can be told.
    pub fn client_ip(&self, request: &RequestContext) -> Option<IpAddr> {
        match self.resolve(request) {
            ClientIp::Known(ip) => Some(ip),
            ClientIp::Unknown | ClientIp::Unseen => None,
        }
    }

    /// The client of this request, for the throttle; logs a proxy header it cannot read.
    pub(crate) fn resolve(&self, request: &RequestContext) -> ClientIp {
        match self {
            ClientIpSource::Peer => match request.peer {
                Some(peer) => ClientIp::Known(peer.ip()),
                None => {
                    static WARNED: AtomicBool = AtomicBool::new(false);
                    if !WARNED.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "login throttling cannot see client IPs: serve the app with \
                             into_make_service_with_connect_info::<SocketAddr>() or set a ClientIpSource; \
                             only the per-account counters apply"
                        );
                    }
                    ClientIp::Unseen
                }
            },
            ClientIpSource::XForwardedFor { trusted_proxies: 0 } => ClientIp::Unseen,
            ClientIpSource::XForwardedFor { trusted_proxies } => {
                let entries: Vec<&str> = request
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .flat_map(|value| value.split(','))
                    .map(str::trim)
                    .collect();
                let Some(entry) = entries.len().checked_sub(*trusted_proxies).and_then(|index| entries.get(index))
                else {
                    tracing::warn!(
                        entries = entries.len(),
                        trusted_proxies,
                        "X-Forwarded-For has fewer entries than trusted proxies; the login is throttled as from an unknown client"
                    );
                    return ClientIp::Unknown;
                };
                parsed_or_logged(entry, "X-Forwarded-For")
            }
            ClientIpSource::Header(name) => {
                let mut values = request.headers.get_all(name).iter();
                match (values.next(), values.next()) {
                    (Some(value), None) => match value.to_str() {
                        Ok(value) => parsed_or_logged(value, name.as_str()),
                        Err(_) => parsed_or_logged("<not visible ASCII>", name.as_str()),
                    },
                    (None, _) => {
                        tracing::warn!(
                            header = name.as_str(),
                            "the client IP header is missing; the login is throttled as from an unknown client"
                        );
                        ClientIp::Unknown
                    }
                    (Some(_), Some(_)) => {
                        tracing::warn!(
                            header = name.as_str(),
                            "the client IP header is repeated; the login is throttled as from an unknown client"
                        );
                        ClientIp::Unknown
                    }
                }
            }
        }
    }
}

fn parsed_or_logged(value: &str, header: &str) -> ClientIp {
    match parse_ip(value) {
        Some(ip) => ClientIp::Known(ip),
        None => {
            // Escaped and cut short: the value may come from a client, and may be long.
            let value = crate::logging::truncate(value, MAX_LOGGED_VALUE);
            tracing::warn!(header, value = ?value, "not a client IP; the login is throttled as from an unknown client");
            ClientIp::Unknown
        }
    }
}

/// An address as proxies write it: `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_ip(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    value.strip_prefix('[')?.strip_suffix(']')?.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// Waits or reserves, atomically. ARGV holds four numbers per key: free failures, base delay,
/// maximum delay, window (ms). Returns `{wait}` when a counter makes the attempt wait (nothing
/// counted), else `{0, failures, previous until (or -1), …}` per key, the attempt counted.
#[cfg(feature = "redis")]
const RESERVE_SCRIPT: &str = r"
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
if wait > 0 then return {wait} end
local out = {0}
for i, key in ipairs(KEYS) do
  local o = (i - 1) * 4
  local free = tonumber(ARGV[o + 1])
  local base = tonumber(ARGV[o + 2])
  local max = tonumber(ARGV[o + 3])
  local ttl = tonumber(ARGV[o + 4])
  local before = redis.call('HGET', key, 'until')
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  if failures > free then
    local delay = math.min(base * (2 ^ math.min(failures - free - 1, 30)), max)
    redis.call('HSET', key, 'until', string.format('%d', now + delay))
    if delay > ttl then ttl = delay end
  end
  redis.call('PEXPIRE', key, string.format('%d', ttl))
  out[#out + 1] = failures
  if before then out[#out + 1] = tonumber(before) else out[#out + 1] = -1 end
end
return out
";

/// Settles a reservation. ARGV holds three numbers per key: 1 to clear the counter (else 0),
/// the failures the reservation left, the `until` before it (-1: none).
#[cfg(feature = "redis")]
const SETTLE_SCRIPT: &str = r"
for i, key in ipairs(KEYS) do
  local o = (i - 1) * 3
  if ARGV[o + 1] == '1' then
    redis.call('DEL', key)
  else
    local failures = tonumber(redis.call('HGET', key, 'failures'))
    if failures then
      if failures == tonumber(ARGV[o + 2]) then
        local before = tonumber(ARGV[o + 3])
        if before < 0 then redis.call('HDEL', key, 'until') else redis.call('HSET', key, 'until', string.format('%d', before)) end
      end
      if failures <= 1 then redis.call('DEL', key) else redis.call('HINCRBY', key, 'failures', -1) end
    end
  end
end
return 0
";

#[cfg(feature = "redis")]
#[derive(Clone)]
struct RedisStore {
    connection: crate::strategies::redis::ConnectionManager,
    prefix: String,
    timeout: Duration,
    reserve: redis::Script,
    settle: redis::Script,
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

    async fn reserve(&self, keys: &AttemptKeys) -> Result<Result<Reservation, Duration>, AuthError> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = self.reserve.prepare_invoke();
        for (counter, hash, policy) in &keys.keys {
            invocation.key(self.key(*counter, hash));
            invocation
                .arg(policy.free_failures)
                .arg(millis(policy.base_delay))
                .arg(millis(policy.max_delay))
                .arg(millis(policy.window).max(1));
        }
        let mut connection = self.connection.clone();
        let answer: Vec<i64> =
            crate::strategies::redis::timed(self.timeout, "throttle reserve", invocation.invoke_async(&mut connection))
                .await?;
        match answer.as_slice() {
            [wait] if *wait > 0 => Ok(Err(Duration::from_millis(u64::try_from(*wait).unwrap_or(0)))),
            [0, taken @ ..] if taken.len() == 2 * keys.keys.len() => Ok(Ok(Reservation {
                taken: taken
                    .chunks_exact(2)
                    .map(|pair| Taken { failures: u64::try_from(pair[0]).unwrap_or(0), before: Before::Redis(pair[1]) })
                    .collect(),
            })),
            _ => {
                tracing::error!("the throttle's reserve script answered an unexpected shape");
                Err(AuthError::Internal)
            }
        }
    }

    async fn settle(
        &self,
        keys: &AttemptKeys,
        reservation: &Reservation,
        clear: impl Fn(Counter) -> bool,
    ) -> Result<(), AuthError> {
        let mut invocation = self.settle.prepare_invoke();
        for ((counter, hash, _), taken) in keys.keys.iter().zip(&reservation.taken) {
            let before = match taken.before {
                Before::Redis(until) => until,
                Before::Memory(_) => -1,
            };
            invocation.key(self.key(*counter, hash));
            invocation.arg(u8::from(clear(*counter))).arg(taken.failures).arg(before);
        }
        let mut connection = self.connection.clone();
        let _: i64 =
            crate::strategies::redis::timed(self.timeout, "throttle settle", invocation.invoke_async(&mut connection))
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

    #[test]
    fn proxies_write_addresses_with_and_without_ports() {
        let cases = [
            ("203.0.113.9", Some("203.0.113.9")),
            ("203.0.113.9:4711", Some("203.0.113.9")),
            (" 203.0.113.9:4711 ", Some("203.0.113.9")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("[2001:db8::1]", Some("2001:db8::1")),
            ("[2001:db8::1]:4711", Some("2001:db8::1")),
            ("unknown", None),
            ("203.0.113.9:", None),
            ("[203.0.113.9]", None),
            ("", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_ip(value), expected.map(|ip| ip.parse().unwrap()), "{value}");
        }
        let mut request = RequestContext::default();
        request.headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7:4711".parse().unwrap());
        let one = ClientIpSource::XForwardedFor { trusted_proxies: 1 };
        assert_eq!(one.resolve(&request), ClientIp::Known("203.0.113.7".parse().unwrap()));
        request.headers.insert("x-forwarded-for", "6.6.6.6, garbage".parse().unwrap());
        assert_eq!(one.resolve(&request), ClientIp::Unknown);
        assert_eq!(ClientIpSource::Peer.resolve(&RequestContext::default()), ClientIp::Unseen);
    }

    #[test]
    fn unknown_clients_have_a_bucket_of_their_own() {
        let throttle = LoginThrottle::builder().build();
        let unknown = throttle.keys("victim@example.com", ClientIp::Unknown);
        let known = throttle.keys("victim@example.com", ClientIp::Known("192.0.2.1".parse().unwrap()));
        assert!(unknown.keys.iter().all(|(_, key, _)| known.keys.iter().all(|(_, other, _)| key != other)));
    }

    #[tokio::test]
    async fn memory_store_backs_off_and_resets() {
        let throttle = LoginThrottle::builder().per_account_and_ip(ThrottlePolicy::new(1, 60)).build();
        let ip = ClientIp::Known("192.0.2.1".parse().unwrap());
        let keys = throttle.keys("victim@example.com", ip);
        // Two attempts go ahead and fail (they keep their places); the second sets a delay.
        throttle.reserve(&keys).await.unwrap().unwrap();
        throttle.reserve(&keys).await.unwrap().unwrap();
        let wait = throttle.reserve(&keys).await.unwrap().unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        // Another IP is not held up by this one's failures.
        let other = throttle.keys("victim@example.com", ClientIp::Known("192.0.2.2".parse().unwrap()));
        let reservation = throttle.reserve(&other).await.unwrap().unwrap();
        // Its success clears its account counters, not the first IP's (tested over HTTP, with
        // the delays, in tests/users_throttle.rs).
        throttle.succeeded(&other, &reservation).await.unwrap();
        assert!(throttle.reserve(&keys).await.unwrap().is_err());
    }

    #[tokio::test]
    async fn a_refund_restores_the_counter_as_it_was() {
        let throttle = LoginThrottle::builder().per_ip(ThrottlePolicy::new(1, 60)).build();
        let ip = ClientIp::Known("192.0.2.1".parse().unwrap());
        let keys = throttle.keys("someone@example.com", ip);
        throttle.reserve(&keys).await.unwrap().unwrap();
        // The second attempt would set the IP's delay; it succeeds, and the delay goes with it.
        let mine = throttle.keys("mine@example.com", ip);
        let reservation = throttle.reserve(&mine).await.unwrap().unwrap();
        throttle.succeeded(&mine, &reservation).await.unwrap();
        assert!(throttle.reserve(&keys).await.unwrap().is_ok(), "the success left no delay");
        assert!(throttle.reserve(&keys).await.unwrap().is_err(), "two failures: delayed");
    }

    #[tokio::test]
    async fn a_burst_gets_the_allowance() {
        let throttle = LoginThrottle::builder().per_account_and_ip(ThrottlePolicy::new(3, 60)).build();
        let keys = throttle.keys("victim@example.com", ClientIp::Known("192.0.2.1".parse().unwrap()));
        let mut granted = 0;
        for _ in 0..100 {
            granted += usize::from(throttle.reserve(&keys).await.unwrap().is_ok());
        }
        assert_eq!(granted, 4);
    }

    // The memory store's bound, `LoginThrottle::MAX_MEMORY_ENTRIES`, on a full table: a new key
    // makes room, a known key is updated in place. Mutation testing found that nothing checked
    // it (TESTING.md).
    #[tokio::test]
    async fn a_full_memory_store_stays_within_its_bound() {
        let throttle = LoginThrottle::builder().build();
        let Store::Memory(map) = &throttle.store else { unreachable!("a memory store") };
        let now = Instant::now();
        {
            let mut map = map.lock().unwrap();
            for i in 0..LoginThrottle::MAX_MEMORY_ENTRIES as u64 {
                let mut key = [0xffu8; 32];
                key[..8].copy_from_slice(&i.to_le_bytes());
                map.insert(key, Entry { failures: 1, blocked_until: now, expires_at: now + Duration::from_secs(3600) });
            }
        }
        let keys = throttle.keys("newcomer@example.com", ClientIp::Unseen);
        let key = keys.keys[0].1;
        // A new key in a table full of live counters: one of them makes room, the table keeps its size.
        throttle.reserve(&keys).await.unwrap().expect("no delay yet");
        assert_eq!(map.lock().unwrap().len(), LoginThrottle::MAX_MEMORY_ENTRIES);
        // Its next failure updates it in place: no other counter is dropped.
        throttle.reserve(&keys).await.unwrap().expect("no delay yet");
        let map = map.lock().unwrap();
        assert_eq!(map.len(), LoginThrottle::MAX_MEMORY_ENTRIES);
        assert_eq!(map[&key].failures, 2);
    }
}
