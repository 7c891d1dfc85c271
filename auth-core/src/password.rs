//! Password hashing and verification: argon2id PHC strings, verified off the async workers, with
//! transparent upgrade of outdated hashes (and legacy bcrypt ones, behind the `bcrypt` feature).
//!
//! [`Passwords`] is the one entry point. It hashes with argon2id and the argon2 crate's default
//! (OWASP) parameters: 19 MiB of memory, 2 iterations, 1 lane. On login,
//! [`Passwords::verify_and_upgrade`] checks a password against whatever hash is stored and, when
//! the password is right but the hash is outdated, hands back a fresh argon2id hash to store.
//!
//! ```
//! use auth_core::password::Passwords;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_core::AuthError> {
//! let passwords = Passwords::builder().build();
//! let stored = passwords.hash("correct horse battery staple").await?;
//! assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
//!
//! let verified = passwords.verify_and_upgrade("correct horse battery staple", Some(&stored)).await?;
//! assert!(verified.valid);
//! assert!(verified.rehash.is_none()); // already current
//!
//! // An unknown user costs the same as a wrong password, and never succeeds.
//! let unknown = passwords.verify_and_upgrade("correct horse battery staple", None).await?;
//! assert!(!unknown.valid);
//! # Ok(())
//! # }
//! ```

use std::{
    collections::HashMap,
    fmt,
    future::{Future, poll_fn},
    pin::pin,
    sync::{Arc, Mutex, PoisonError},
    task::Poll,
    time::{Duration, Instant},
};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::Error as HashError,
};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::AuthError;

mod cost;
mod pool;
mod timer;

use cost::{Costs, Padding, Profile};

impl Passwords {
    /// How long a hash or verification may wait for a hashing thread, and run, before the caller is
    /// answered [`AuthError::Overloaded`] (503 with `Retry-After`) unless set with
    /// [`PasswordsBuilder::max_wait`]: 10 seconds.
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10);

    /// bcrypt reads at most this many bytes of a password; see [`Verified::truncated_legacy`].
    pub const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;
}

/// Largest argon2 memory cost accepted in a stored hash, in KiB (256 MiB). A stored hash asking
/// for more is treated as invalid, so a corrupted or planted hash cannot make the server allocate
/// gigabytes. RFC 9106's low-memory profile (64 MiB) and every OWASP profile fit well below it.
const MAX_ARGON2_M_COST: u32 = 256 * 1024;
/// Largest argon2 iteration count accepted in a stored hash.
const MAX_ARGON2_T_COST: u32 = 16;
/// Largest argon2 lane count accepted in a stored hash.
const MAX_ARGON2_P_COST: u32 = 16;
/// Largest bcrypt cost accepted in a stored hash (2^16 rounds, 16 times the tutorial's cost 12).
#[cfg(feature = "bcrypt")]
const MAX_BCRYPT_COST: u32 = 16;

/// The password behind the dummy hash that unknown users are verified against. Its value does not
/// matter: a login for an unknown user is refused whatever the comparison says.
const DUMMY_PASSWORD: &[u8] = b"auth-core: dummy password for unknown users";
/// A fixed salt for the dummy hashes, so building them never depends on the system RNG.
const DUMMY_SALT: &[u8] = b"auth-core:dummy!";

/// Hashes and verifies passwords with argon2id, off the async worker threads.
///
/// Every hash and verification runs on the hasher's own threads, at most
/// [`max_concurrency`](Passwords::max_concurrency) of them at once; the rest wait their turn on a
/// semaphore. The threads run under Linux's `SCHED_IDLE` policy, so a flood of logins queues up
/// instead of exhausting the machine's memory (each argon2 run holds 19 MiB) or taking cores from
/// other requests: those keep being served at their usual latency, and the hashing gets the time
/// they leave.
///
/// A call that has not finished within [`max_wait`](PasswordsBuilder::max_wait) (default
/// [`Passwords::DEFAULT_MAX_WAIT`], waiting for a thread included) fails with [`AuthError::Overloaded`]: 503
/// with `Retry-After`, so on a saturated machine a login is refused rather than left hanging.
///
/// Login timing reveals neither which usernames exist nor which kind of hash a user has: every
/// [`verify_and_upgrade`](Passwords::verify_and_upgrade) does as much work as a verification
/// against the most expensive kind of stored hash this hasher has verified (a legacy bcrypt
/// hash, say), padding with dummy verifications. See [`calibrate`](Passwords::calibrate).
///
/// The type is cheap to clone (the clones share the threads, the bound and the dummy hashes), so
/// put one in your app state. The threads start on first use and stop when the last clone is
/// dropped. No tokio runtime is needed to await its methods.
///
/// Stored hashes with parameters above sane caps (memory above 256 MiB, more than 16 iterations
/// or lanes, bcrypt cost above 16) are refused without being computed, and so are malformed ones.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    permits: Arc<Semaphore>,
    max_concurrency: usize,
    max_wait: Duration,
    /// The threads the work runs on, as many as permits.
    pool: pool::HashPool,
    /// The wait limit of each call.
    timer: timer::Timer,
    /// What verifying each kind of stored hash costs.
    costs: Costs,
    /// Hashes of [`DUMMY_PASSWORD`], one per profile that needed one, made on first use: what
    /// unknown users and padding are verified against.
    dummies: Mutex<HashMap<Profile, Arc<Dummy>>>,
}

/// Options of a [`Passwords`] being built.
#[derive(Debug, Clone)]
#[must_use = "call .build() to get Passwords"]
pub struct PasswordsBuilder {
    params: Params,
    max_concurrency: usize,
    max_wait: Duration,
}

impl PasswordsBuilder {
    crate::macros::setters! {
        /// How many hashes or verifications may run at once; default one per core
        /// (`std::thread::available_parallelism`). `0` is taken as `1`. Each running argon2 computation holds 19 MiB and a core, so this bounds both.
        max_concurrency(permits: usize) => max_concurrency = permits;

        /// How long a hash or verification may take, waiting for a thread included, before it fails
        /// with [`AuthError::Overloaded`] (default [`Passwords::DEFAULT_MAX_WAIT`]; at least 1 ms).
        max_wait(max_wait: Duration) => max_wait = max_wait.max(Duration::from_millis(1));
    }

    /// The hasher.
    pub fn build(self) -> Passwords {
        let permits = self.max_concurrency.clamp(1, Semaphore::MAX_PERMITS);
        Passwords {
            inner: Arc::new(Inner {
                params: self.params,
                permits: Arc::new(Semaphore::new(permits)),
                max_concurrency: permits,
                max_wait: self.max_wait,
                pool: pool::HashPool::new(permits),
                timer: timer::Timer::new(),
                costs: Costs::default(),
                dummies: Mutex::default(),
            }),
        }
    }

    #[cfg(test)]
    fn params(mut self, params: Params) -> Self {
        self.params = params;
        self
    }
}

/// The outcome of [`Passwords::verify_and_upgrade`].
///
/// Its `Debug` output never shows the new hash.
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a password verification whose result is ignored lets everyone in or no one"]
#[non_exhaustive]
pub struct Verified {
    /// Whether the password matches the stored hash. Always `false` for an unknown user or a
    /// malformed stored hash.
    pub valid: bool,
    /// The password is right as far as a legacy bcrypt hash can tell, but it is
    /// [`Passwords::BCRYPT_MAX_PASSWORD_BYTES`] (72) bytes or longer, and bcrypt only ever read its first 72
    /// bytes: any password sharing them would pass too. Such a hash is *not* upgraded (the
    /// upgrade would store whichever variant was typed, locking the real one out); ask the user
    /// to set a new password.
    pub truncated_legacy: bool,
    /// A fresh argon2id PHC string to store in place of the old one, when the password was right
    /// but the stored hash is bcrypt, another argon2 variant or version, or has other parameters
    /// than the current ones. `None` when the stored hash is current or the password was wrong.
    pub rehash: Option<String>,
}

impl Verified {
    const INVALID: Verified = Verified { valid: false, rehash: None, truncated_legacy: false };
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("valid", &self.valid)
            .field("rehash", &self.rehash.as_ref().map(|_| "<redacted>"))
            .field("truncated_legacy", &self.truncated_legacy)
            .finish()
    }
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("m_cost", &self.inner.params.m_cost())
            .field("t_cost", &self.inner.params.t_cost())
            .field("p_cost", &self.inner.params.p_cost())
            .field("max_concurrency", &self.inner.max_concurrency)
            .field("max_wait", &self.inner.max_wait)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// A hasher with the argon2 crate's default (OWASP) parameters, to configure: concurrency,
    /// the wait limit. Its threads yield to any other work (`SCHED_IDLE`), so using every core
    /// for logins takes none from other requests; on a machine saturated by other work, logins
    /// wait for it instead.
    pub fn builder() -> PasswordsBuilder {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        PasswordsBuilder { params: Params::default(), max_concurrency: cores, max_wait: Passwords::DEFAULT_MAX_WAIT }
    }

    #[cfg(test)]
    fn with_params(params: Params, permits: usize) -> Self {
        Self::builder().params(params).max_concurrency(permits).build()
    }

    /// Teaches the hasher what verifying against a hash like `stored` costs, ahead of the first
    /// login that needs it, by verifying a dummy password against it a few times in the
    /// background (on a hashing thread; no tokio runtime needed, nothing to await).
    ///
    /// Verifications against cheaper kinds of hash, and of unknown users, are padded with
    /// dummy work up to the cost of the most expensive kind seen, so that timing reveals neither
    /// unknown users nor users with legacy hashes. A kind of hash is learned when first
    /// verified; until then, the first login against one could stand out. An app whose users still have legacy hashes (bcrypt, older argon2 parameters) calls
    /// this at startup with its stored hashes: each kind is calibrated once, and kinds already
    /// known or being calibrated, and malformed hashes, are skipped.
    pub fn calibrate(&self, stored: &str) {
        const RUNS: usize = 3;
        match profile_of(stored) {
            Some(profile) if self.inner.costs.claim(profile) => {}
            _ => return,
        }
        let stored = stored.to_owned();
        let inner = Arc::clone(&self.inner);
        let queued = self.inner.pool.spawn(move || {
            for _ in 0..RUNS {
                let _ = inner.verify_once(b"auth-core: calibration, never a real password", Some(&stored));
            }
            // Make its dummy now, rather than in the first unknown user's login.
            let _ = profile_of(&stored).map(|profile| inner.dummy(profile));
        });
        if queued.is_err() {
            tracing::error!("could not queue a password calibration");
        }
    }

    /// How many hashes or verifications may run at once.
    pub fn max_concurrency(&self) -> usize {
        self.inner.max_concurrency
    }

    /// Hashes `password` with argon2id, the current parameters and a random salt from the OS,
    /// and returns the PHC string to store (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    ///
    /// # Errors
    ///
    /// [`AuthError::Overloaded`] past the wait limit; [`AuthError::Internal`] if the OS random
    /// number generator or the hashing threads fail.
    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run_off_thread(move |inner| inner.hash(&password)).await?
    }

    /// Verifies `password` against the `stored` hash of a user, and re-hashes it when the hash is
    /// outdated.
    ///
    /// - `stored` is an argon2 PHC string or, with the `bcrypt` feature, a bcrypt hash
    ///   (`$2a$`, `$2b$`, `$2x$`, `$2y$`). Without the feature a bcrypt hash never verifies, and a
    ///   warning says the feature is off.
    /// - `stored: None` means the user is unknown. The password is then verified against a dummy
    ///   hash with the current parameters, padded like every other verification (below), so
    ///   timing does not reveal which usernames exist. The result is always invalid.
    /// - A malformed stored hash, or one whose parameters exceed the caps, is invalid (with a
    ///   warning that never includes the hash) and costs the same dummy verification.
    /// - When the password is right and the hash is bcrypt, argon2i/argon2d, version 0x10, or has
    ///   other parameters than the current ones, [`Verified::rehash`] holds a new argon2id hash;
    ///   except for a bcrypt hash and a password of 72 bytes or more, which bcrypt only read
    ///   in part ([`Verified::truncated_legacy`]).
    /// - Whatever `stored` is (an unknown user, a current argon2id hash, a legacy bcrypt one),
    ///   the verification costs at least the work of the most expensive kind of stored hash
    ///   seen so far, padded with dummy runs: their timings cannot be told apart. See
    ///   [`calibrate`](Passwords::calibrate).
    ///
    /// # Errors
    ///
    /// [`AuthError::Overloaded`] (503, `Retry-After`) when no hashing thread freed up and
    /// finished within the wait limit; [`AuthError::Internal`] for server-side faults (the
    /// hashing threads failed). A wrong password or a bad stored hash is `Ok` with
    /// `valid: false`.
    pub async fn verify_and_upgrade(&self, password: &str, stored: Option<&str>) -> Result<Verified, AuthError> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let stored = stored.map(str::to_owned);
        self.run_off_thread(move |inner| {
            let outcome = inner.verify_padded(&password, stored.as_deref())?;
            inner.finish(&password, outcome)
        })
        .await?
    }

    /// Runs `work` on the hasher's threads once a permit is free. The permit moves into the
    /// job, so it is only released when the computation ends, even if the caller stops waiting.
    /// Waiting for the permit and for the computation together is bounded by `max_wait`.
    async fn run_off_thread<T, F>(&self, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> T + Send + 'static,
    {
        let inner = &self.inner;
        let (expire, expired) = tokio::sync::oneshot::channel::<()>();
        inner.timer.at(Instant::now() + inner.max_wait, move || {
            let _ = expire.send(());
        });
        let mut deadline = Deadline(Some(expired));
        let overloaded = || {
            let retry_after = inner.max_wait.as_secs().max(1);
            tracing::warn!(max_wait = ?inner.max_wait, "no password hashing thread within the wait limit; answering 503");
            AuthError::Overloaded { retry_after }
        };

        let permit = Arc::clone(&inner.permits).acquire_owned();
        let permit = before(permit, &mut deadline).await.ok_or_else(overloaded)?.map_err(|_| AuthError::Internal)?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let job_inner = Arc::clone(inner);
        inner
            .pool
            .spawn(move || {
                let output = work(&job_inner);
                // Free the permit before the caller hears back, so a caller that counts permits
                // after the result sees it returned. A caller that stopped waiting drops the result.
                drop(permit);
                let _ = sender.send(output);
            })
            .map_err(|_| AuthError::Internal)?;
        before(receiver, &mut deadline).await.ok_or_else(overloaded)?.map_err(|_| {
            tracing::error!("password hashing job failed");
            AuthError::Internal
        })
    }
}

/// The wait limit of one call, fired by the timer thread. If the timer could not take it (no
/// thread could be started: logged), its sender is gone and it never fires: the call waits as
/// it did before there was a limit, rather than failing every login.
struct Deadline(Option<tokio::sync::oneshot::Receiver<()>>);

impl Deadline {
    fn poll_expired(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        let Some(receiver) = &mut self.0 else { return false };
        match std::pin::Pin::new(receiver).poll(cx) {
            Poll::Pending => false,
            Poll::Ready(fired) => {
                self.0 = None;
                fired.is_ok()
            }
        }
    }
}

/// `future`'s output, or `None` if `deadline` expires first.
async fn before<F: Future>(future: F, deadline: &mut Deadline) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if deadline.poll_expired(cx) { Poll::Ready(None) } else { Poll::Pending }
    })
    .await
}

impl Inner {
    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash(&self, password: &[u8]) -> Result<String, AuthError> {
        match self.argon2().hash_password(password) {
            Ok(hash) => Ok(hash.to_string()),
            Err(error) => {
                tracing::error!(%error, "could not hash a password");
                Err(AuthError::Internal)
            }
        }
    }

    /// Checks `password` against `stored` (nothing for an unknown user or an unusable stored
    /// hash), records what that cost, then pads the work with dummy runs up to the cost of the
    /// slowest profile seen ([`Costs::padding`]). What was found is never
    /// [`Outcome::Malformed`].
    fn verify_padded(&self, password: &[u8], stored: Option<&str>) -> Result<Outcome, AuthError> {
        let (outcome, done) = self.verify_once(password, stored);
        let outcome = match (outcome, done) {
            (outcome @ (Outcome::Valid { .. } | Outcome::Invalid), Some(_)) => outcome,
            (outcome, _) => {
                if let (Some(_), Outcome::Malformed(reason)) = (stored, &outcome) {
                    tracing::warn!(reason, "stored password hash is unusable; the login fails");
                }
                Outcome::Invalid
            }
        };
        let unit = self.current_profile();
        match self.costs.padding(done, unit) {
            Padding::Done => {}
            Padding::Slowest(profile) => self.run_dummy(profile, password)?,
            Padding::Units(runs) => {
                for _ in 0..runs {
                    self.run_dummy(unit, password)?;
                }
            }
        }
        Ok(outcome)
    }

    /// Checks `password` against `stored` alone, and records what that cost: what was found,
    /// and the profile of `stored` if it was usable.
    fn verify_once(&self, password: &[u8], stored: Option<&str>) -> (Outcome, Option<Profile>) {
        let started = Instant::now();
        let (outcome, profile) = match stored {
            None => (Outcome::Malformed("no stored hash"), None),
            Some(stored) if stored.starts_with("$argon2") => self.verify_argon2(password, stored),
            Some(stored) if is_bcrypt(stored) => verify_bcrypt(password, stored),
            Some(_) => (Outcome::Malformed("not an argon2 or bcrypt hash"), None),
        };
        if let Some(profile) = profile {
            self.costs.record(profile, started.elapsed());
        }
        (outcome, profile)
    }

    /// The answer to a verification, with the new hash when the old one is outdated.
    fn finish(&self, password: &[u8], outcome: Outcome) -> Result<Verified, AuthError> {
        match outcome {
            Outcome::Valid { upgrade, truncated_legacy } => {
                // A failed re-hash must not fail a correct login: the old hash still works.
                let rehash = if upgrade { self.hash(password).ok() } else { None };
                Ok(Verified { valid: true, rehash, truncated_legacy })
            }
            Outcome::Invalid | Outcome::Malformed(_) => Ok(Verified::INVALID),
        }
    }

    /// The profile of a current hash, and of the dummy.
    fn current_profile(&self) -> Profile {
        Profile::Argon2 {
            variant: 2,
            version: 0x13,
            m: self.params.m_cost(),
            t: self.params.t_cost(),
            p: self.params.p_cost(),
        }
    }

    /// Verifies `password` against the dummy hash of `profile`, and records what it cost (the
    /// same work as a verification of a real hash of that profile). The answer is ignored.
    fn run_dummy(&self, profile: Profile, password: &[u8]) -> Result<(), AuthError> {
        let dummy = self.dummy(profile)?;
        let started = Instant::now();
        match &*dummy {
            Dummy::Argon2(hash) => {
                // The verifier takes algorithm, version and parameters from the hash.
                let _ = self.argon2().verify_password(password, &**hash);
            }
            #[cfg(feature = "bcrypt")]
            Dummy::Bcrypt(hash) => {
                let _ = bcrypt::verify(password, hash);
            }
        }
        self.costs.record(profile, started.elapsed());
        Ok(())
    }

    /// The hash of [`DUMMY_PASSWORD`] in `profile`, made on first use.
    fn dummy(&self, profile: Profile) -> Result<Arc<Dummy>, AuthError> {
        if let Some(dummy) = self.dummies.lock().unwrap_or_else(PoisonError::into_inner).get(&profile) {
            return Ok(Arc::clone(dummy));
        }
        // Made outside the lock: it costs a hash. Two threads may both make one; either is fine.
        let made = Arc::new(Dummy::make(profile).ok_or_else(|| {
            tracing::error!(?profile, "could not make a dummy password hash");
            AuthError::Internal
        })?);
        let mut dummies = self.dummies.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Arc::clone(dummies.entry(profile).or_insert(made)))
    }

    fn verify_argon2(&self, password: &[u8], stored: &str) -> (Outcome, Option<Profile>) {
        let (hash, algorithm, params, version, profile) = match parse_argon2(stored) {
            Ok(parsed) => parsed,
            Err(reason) => return (Outcome::Malformed(reason), None),
        };
        // The verifier takes algorithm, version and parameters from the stored hash.
        let outcome = match self.argon2().verify_password(password, &hash) {
            Ok(()) => Outcome::Valid {
                upgrade: algorithm != Algorithm::Argon2id
                    || version != Some(Version::V0x13)
                    || !same_params(&params, &self.params),
                truncated_legacy: false,
            },
            Err(HashError::PasswordInvalid) => Outcome::Invalid,
            Err(_) => return (Outcome::Malformed("argon2 verification failed"), None),
        };
        (outcome, Some(profile))
    }
}

/// A hash of [`DUMMY_PASSWORD`] in some profile.
enum Dummy {
    Argon2(Box<PasswordHash>),
    #[cfg(feature = "bcrypt")]
    Bcrypt(String),
}

impl Dummy {
    fn make(profile: Profile) -> Option<Self> {
        match profile {
            Profile::Argon2 { variant, version, m, t, p } => {
                let algorithm = match variant {
                    0 => Algorithm::Argon2d,
                    1 => Algorithm::Argon2i,
                    _ => Algorithm::Argon2id,
                };
                let version = if version == 0x10 { Version::V0x10 } else { Version::V0x13 };
                let params = Params::new(m, t, p, None).ok()?;
                let hash = Argon2::new(algorithm, version, params).hash_password_with_salt(DUMMY_PASSWORD, DUMMY_SALT);
                hash.ok().map(|hash| Dummy::Argon2(Box::new(hash)))
            }
            #[cfg(feature = "bcrypt")]
            Profile::Bcrypt { cost } => {
                let mut salt = [0u8; 16];
                salt.copy_from_slice(DUMMY_SALT);
                let hash = bcrypt::hash_with_salt(DUMMY_PASSWORD, cost, salt).ok()?;
                Some(Dummy::Bcrypt(hash.format_for_version(bcrypt::Version::TwoB)))
            }
            #[cfg(not(feature = "bcrypt"))]
            Profile::Bcrypt { .. } => None,
        }
    }
}

/// What checking a password against a stored hash found.
enum Outcome {
    /// The password matches; `upgrade` when the hash should be replaced by a current one;
    /// `truncated_legacy` when only its first 72 bytes were checked (bcrypt).
    Valid { upgrade: bool, truncated_legacy: bool },
    /// The password does not match.
    Invalid,
    /// The stored hash cannot be used; the reason is safe to log, it never quotes the hash.
    Malformed(&'static str),
}

/// A stored argon2 PHC string, checked: the parsed hash, its variant, parameters (within the
/// caps), version, and profile; or why it cannot be used.
fn parse_argon2(stored: &str) -> Result<(PasswordHash, Algorithm, Params, Option<Version>, Profile), &'static str> {
    let hash = PasswordHash::new(stored).map_err(|_| "malformed argon2 PHC string")?;
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).map_err(|_| "unknown argon2 variant")?;
    let params = Params::try_from(&hash).map_err(|_| "invalid argon2 parameters")?;
    if !within_caps(&params) {
        return Err("argon2 parameters above the accepted maximum");
    }
    let version = match hash.version.map(Version::try_from) {
        None => None,
        Some(Ok(version)) => Some(version),
        Some(Err(_)) => return Err("unknown argon2 version"),
    };
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err("argon2 PHC string without salt or hash");
    }
    let profile = Profile::Argon2 {
        variant: match algorithm {
            Algorithm::Argon2d => 0,
            Algorithm::Argon2i => 1,
            _ => 2,
        },
        version: version.map_or(0x10, |version| version as u32),
        m: params.m_cost(),
        t: params.t_cost(),
        p: params.p_cost(),
    };
    Ok((hash, algorithm, params, version, profile))
}

/// The profile of a usable stored hash, without verifying anything.
fn profile_of(stored: &str) -> Option<Profile> {
    if stored.starts_with("$argon2") {
        return parse_argon2(stored).ok().map(|parsed| parsed.4);
    }
    #[cfg(feature = "bcrypt")]
    if is_bcrypt(stored) {
        use std::str::FromStr as _;
        let parts = bcrypt::HashParts::from_str(stored).ok()?;
        return (parts.get_cost() <= MAX_BCRYPT_COST).then(|| Profile::Bcrypt { cost: parts.get_cost() });
    }
    None
}

fn within_caps(params: &Params) -> bool {
    params.m_cost() <= MAX_ARGON2_M_COST && params.t_cost() <= MAX_ARGON2_T_COST && params.p_cost() <= MAX_ARGON2_P_COST
}

fn same_params(stored: &Params, current: &Params) -> bool {
    let output_len = |p: &Params| p.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    stored.m_cost() == current.m_cost()
        && stored.t_cost() == current.t_cost()
        && stored.p_cost() == current.p_cost()
        && output_len(stored) == output_len(current)
        && stored.keyid() == current.keyid()
        && stored.data() == current.data()
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"].iter().any(|prefix| stored.starts_with(prefix))
}

/// bcrypt reads a password as a C string of at most 72 bytes, its NUL terminator included when
/// it fits: a password of 72 bytes or more is checked on its first 72 bytes only, so any other
/// password sharing them passes too. Such a login succeeds (the user's own password is one of
/// them, and nothing tells which was typed) but is not upgraded: an upgrade would store the
/// argon2id hash of whichever variant was typed, and lock the real password out.
#[cfg(feature = "bcrypt")]
fn verify_bcrypt(password: &[u8], stored: &str) -> (Outcome, Option<Profile>) {
    use std::str::FromStr as _;

    let Ok(parts) = bcrypt::HashParts::from_str(stored) else {
        return (Outcome::Malformed("malformed bcrypt hash"), None);
    };
    if parts.get_cost() > MAX_BCRYPT_COST {
        return (Outcome::Malformed("bcrypt cost above the accepted maximum"), None);
    }
    let truncated = password.len() >= Passwords::BCRYPT_MAX_PASSWORD_BYTES;
    let outcome = match bcrypt::verify(password, stored) {
        Ok(true) if truncated => {
            tracing::warn!(
                "a legacy bcrypt hash verified a password of 72 bytes or more, of which bcrypt reads 72: not upgraded; the user should set a new password"
            );
            Outcome::Valid { upgrade: false, truncated_legacy: true }
        }
        Ok(true) => Outcome::Valid { upgrade: true, truncated_legacy: false },
        Ok(false) => Outcome::Invalid,
        Err(_) => return (Outcome::Malformed("bcrypt verification failed"), None),
    };
    (outcome, Some(Profile::Bcrypt { cost: parts.get_cost() }))
}

#[cfg(not(feature = "bcrypt"))]
fn verify_bcrypt(_password: &[u8], _stored: &str) -> (Outcome, Option<Profile>) {
    (Outcome::Malformed("bcrypt hash, but auth-core's `bcrypt` feature is off"), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse battery staple";

    impl Verified {
        /// A right password against a current hash.
        const CURRENT: Verified = Verified { valid: true, rehash: None, truncated_legacy: false };
    }

    /// An argon2 hash of `password` made with explicit, possibly outdated, settings.
    fn legacy_argon2(password: &str, algorithm: Algorithm, version: Version, m: u32, t: u32, p: u32) -> String {
        let params = Params::new(m, t, p, None).unwrap();
        Argon2::new(algorithm, version, params).hash_password(password.as_bytes()).unwrap().to_string()
    }

    fn assert_current_argon2id(phc: &str) {
        let hash = PasswordHash::new(phc).unwrap();
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert_eq!(hash.version, Some(0x13));
        let params = Params::try_from(&hash).unwrap();
        assert!(same_params(&params, &Params::default()), "{params:?}");
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips() {
        let passwords = Passwords::builder().build();
        let stored = passwords.hash(PASSWORD).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_current_argon2id(&stored);

        let verified = passwords.verify_and_upgrade(PASSWORD, Some(&stored)).await.unwrap();
        assert_eq!(verified, Verified::CURRENT);
    }

    #[tokio::test]
    async fn salts_are_random() {
        let passwords = Passwords::builder().build();
        assert_ne!(passwords.hash(PASSWORD).await.unwrap(), passwords.hash(PASSWORD).await.unwrap());
    }

    #[tokio::test]
    async fn wrong_password_is_invalid() {
        let passwords = Passwords::builder().build();
        let stored = passwords.hash(PASSWORD).await.unwrap();
        for wrong in ["", "correct horse battery stapl", "Correct horse battery staple"] {
            let verified = passwords.verify_and_upgrade(wrong, Some(&stored)).await.unwrap();
            assert_eq!(verified, Verified::INVALID, "{wrong:?}");
        }
    }

    #[tokio::test]
    async fn unknown_user_is_invalid_and_costs_a_verification() {
        let passwords = Passwords::builder().build();
        let dummies = |passwords: &Passwords| passwords.inner.dummies.lock().unwrap().len();
        assert_eq!(dummies(&passwords), 0);
        let dummy_password = std::str::from_utf8(DUMMY_PASSWORD).unwrap();
        for password in [PASSWORD, "", dummy_password] {
            let verified = passwords.verify_and_upgrade(password, None).await.unwrap();
            assert_eq!(verified, Verified::INVALID, "{password:?}");
        }
        // One dummy hash was built, with the current parameters, and is shared by clones.
        let dummy = passwords.inner.dummy(passwords.inner.current_profile()).unwrap();
        let Dummy::Argon2(hash) = &*dummy else { panic!("an argon2 dummy") };
        assert_current_argon2id(&hash.to_string());
        assert_eq!(dummies(&passwords.clone()), 1);
    }

    #[tokio::test]
    async fn malformed_hashes_are_invalid() {
        // Cheap parameters: this test is about parsing, and each refusal costs a dummy verification.
        let passwords = Passwords::with_params(Params::new(64, 1, 1, None).unwrap(), 1);
        let good = passwords.hash(PASSWORD).await.unwrap();
        let salt_and_hash = good.rsplitn(3, '$').collect::<Vec<_>>();
        let (hash, salt) = (salt_and_hash[0], salt_and_hash[1]);
        assert_eq!(passwords.verify_and_upgrade(PASSWORD, Some(&good)).await.unwrap(), Verified::CURRENT);
        let mut malformed = vec![
            String::new(),
            "garbage".to_owned(),
            "$".to_owned(),
            "$$$$".to_owned(),
            "$argon2id".to_owned(),
            "$argon2id$v=19$m=19456,t=2,p=1".to_owned(),
            good[..good.len() - 10].to_owned(),
            good[..good.len() / 2].to_owned(),
            format!("$argon2x$v=19$m=19456,t=2,p=1${salt}${hash}"),
            format!("$argon2id$v=7$m=19456,t=2,p=1${salt}${hash}"),
            format!("$argon2id$v=19$m=19456,t=2,p=1,z=3${salt}${hash}"),
            format!("$argon2id$v=19$m=19456,t=0,p=1${salt}${hash}"),
            format!("$argon2id$v=19$m=abc,t=2,p=1${salt}${hash}"),
            format!("$argon2id$v=19$m=19456,t=2,p=1$!!${hash}"),
            format!("{good}é"),
            "$2b$12$short".to_owned(),
            "$2b$99$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW".to_owned(),
            "$2b$1é$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31l".to_owned(),
        ];
        // Parameters that would allocate terabytes or run for years if they were computed.
        for params in ["m=4294967295,t=1,p=1", "m=8,t=4294967295,p=1", "m=4294967295,t=4294967295,p=16777215"] {
            malformed.push(format!("$argon2id$v=19${params}${salt}${hash}"));
        }
        for stored in &malformed {
            let verified = passwords.verify_and_upgrade(PASSWORD, Some(stored)).await.unwrap();
            assert_eq!(verified, Verified::INVALID, "{stored:?}");
        }
    }

    #[test]
    fn absurd_params_are_rejected_before_computing() {
        let absurd = [(u32::MAX, 1, 1), (8, u32::MAX, 1), (u32::MAX, 2, 0xFF_FFFF), (MAX_ARGON2_M_COST + 1, 1, 1)];
        for (m, t, p) in absurd {
            let phc = format!(
                "$argon2id$v=19$m={m},t={t},p={p}$c29tZXNhbHRzb21lc2FsdA$c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhhc2g"
            );
            let hash = PasswordHash::new(&phc).unwrap();
            assert!(!within_caps(&Params::try_from(&hash).unwrap()), "{phc}");
        }
        assert!(within_caps(&Params::default()));
        assert!(within_caps(&Params::new(MAX_ARGON2_M_COST, MAX_ARGON2_T_COST, MAX_ARGON2_P_COST, None).unwrap()));

        // The whole check refuses them without running argon2 (which would take forever).
        let passwords = Passwords::builder().build();
        let phc =
            "$argon2id$v=19$m=8,t=4294967295,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhhc2g";
        let (outcome, profile) = passwords.inner.verify_argon2(PASSWORD.as_bytes(), phc);
        assert!(matches!(outcome, Outcome::Malformed("argon2 parameters above the accepted maximum")));
        assert_eq!(profile, None);
    }

    #[tokio::test]
    async fn outdated_argon2_is_upgraded() {
        let passwords = Passwords::builder().build();
        let outdated = [
            legacy_argon2(PASSWORD, Algorithm::Argon2id, Version::V0x13, 8192, 1, 1),
            legacy_argon2(PASSWORD, Algorithm::Argon2id, Version::V0x13, 12288, 3, 2),
            legacy_argon2(PASSWORD, Algorithm::Argon2i, Version::V0x13, 19456, 2, 1),
            legacy_argon2(PASSWORD, Algorithm::Argon2d, Version::V0x13, 19456, 2, 1),
            legacy_argon2(PASSWORD, Algorithm::Argon2id, Version::V0x10, 19456, 2, 1),
        ];
        for stored in &outdated {
            let wrong = passwords.verify_and_upgrade("not the password", Some(stored)).await.unwrap();
            assert_eq!(wrong, Verified::INVALID, "{stored}");

            let verified = passwords.verify_and_upgrade(PASSWORD, Some(stored)).await.unwrap();
            assert!(verified.valid, "{stored}");
            let rehash = verified.rehash.expect("an outdated hash is re-hashed");
            assert_current_argon2id(&rehash);
            let again = passwords.verify_and_upgrade(PASSWORD, Some(&rehash)).await.unwrap();
            assert_eq!(again, Verified::CURRENT);
        }
    }

    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn fastapi_tutorial_bcrypt_hashes_verify_and_upgrade() {
        let passwords = Passwords::builder().build();
        let users = [
            ("secret", "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW"),
            ("secretalice", "$2b$12$gSvqqUPvlXP2tfVFaWK1Be7DlH.PKZbv5H8KnzzVgXXbVxpva.pFm"),
        ];
        for (password, stored) in users {
            let wrong = passwords.verify_and_upgrade("wrong", Some(stored)).await.unwrap();
            assert_eq!(wrong, Verified::INVALID);

            let verified = passwords.verify_and_upgrade(password, Some(stored)).await.unwrap();
            assert!(verified.valid, "{password}");
            let rehash = verified.rehash.expect("bcrypt is upgraded to argon2id");
            assert_current_argon2id(&rehash);

            let again = passwords.verify_and_upgrade(password, Some(&rehash)).await.unwrap();
            assert_eq!(again, Verified::CURRENT);
        }
    }

    #[cfg(not(feature = "bcrypt"))]
    #[tokio::test]
    async fn bcrypt_hashes_are_refused_without_the_feature() {
        let stored = "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW";
        let verified = Passwords::builder().build().verify_and_upgrade("secret", Some(stored)).await.unwrap();
        assert_eq!(verified, Verified::INVALID);
    }

    #[tokio::test]
    async fn concurrency_bound_is_at_least_one_and_is_held_while_hashing() {
        assert_eq!(Passwords::builder().max_concurrency(0).build().max_concurrency(), 1);
        assert!(Passwords::builder().build().max_concurrency() >= 1);

        let passwords = Passwords::builder().max_concurrency(1).build();
        let stored = passwords.hash(PASSWORD).await.unwrap();
        let (a, b) = tokio::join!(
            passwords.verify_and_upgrade(PASSWORD, Some(&stored)),
            passwords.verify_and_upgrade(PASSWORD, None)
        );
        assert!(a.unwrap().valid);
        assert!(!b.unwrap().valid);
        assert_eq!(passwords.inner.permits.available_permits(), 1);

        // While one verification runs, the only permit is taken.
        let running = tokio::spawn({
            let passwords = passwords.clone();
            async move { passwords.verify_and_upgrade(PASSWORD, Some(&stored)).await }
        });
        let mut saw_taken = false;
        while !running.is_finished() {
            saw_taken |= passwords.inner.permits.available_permits() == 0;
            // Not a busy loop: hashing threads run under SCHED_IDLE and would starve behind it.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(running.await.unwrap().unwrap().valid);
        assert!(saw_taken);
        assert_eq!(passwords.inner.permits.available_permits(), 1);
    }

    #[test]
    fn works_outside_a_tokio_runtime() {
        let passwords = Passwords::builder().build();
        let stored = block_on_without_runtime(passwords.hash(PASSWORD)).unwrap();
        let verified = block_on_without_runtime(passwords.verify_and_upgrade(PASSWORD, Some(&stored))).unwrap();
        assert!(verified.valid);
    }

    /// Polls a future to completion without a tokio runtime.
    fn block_on_without_runtime<F: std::future::Future>(future: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn verified_debug_hides_the_new_hash() {
        let verified =
            Verified { valid: true, rehash: Some("$argon2id$v=19$secret-hash".to_owned()), truncated_legacy: false };
        let debug = format!("{verified:?}");
        assert!(!debug.contains("secret-hash"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn passwords_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<Passwords>();
    }

    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn a_bcrypt_hash_of_a_long_password_is_not_upgraded_from_a_truncated_match() {
        let passwords = Passwords::builder().build();
        // The real password is 100 bytes; bcrypt only ever read its first 72.
        let real = format!("{}{}", "p".repeat(72), "the-real-tail-of-a-long-passphrase");
        let stored = bcrypt::hash(&real, 4).unwrap();
        let impostor = format!("{}{}", "p".repeat(72), "any other tail");

        let verified = passwords.verify_and_upgrade(&impostor, Some(&stored)).await.unwrap();
        assert!(verified.valid, "bcrypt cannot tell them apart");
        assert_eq!(verified.rehash, None, "no upgrade from a password bcrypt read only in part");
        assert!(verified.truncated_legacy);
        // So the real password keeps working, against the same hash.
        let verified = passwords.verify_and_upgrade(&real, Some(&stored)).await.unwrap();
        assert!(verified.valid && verified.rehash.is_none() && verified.truncated_legacy);
        // Exactly 72 bytes: the NUL terminator no longer fits, so a longer one matches too.
        let stored = bcrypt::hash("q".repeat(72), 4).unwrap();
        let verified = passwords.verify_and_upgrade(&format!("{}x", "q".repeat(72)), Some(&stored)).await.unwrap();
        assert!(verified.valid && verified.rehash.is_none() && verified.truncated_legacy);

        // 71 bytes and under are checked whole, and upgraded.
        let short = "s".repeat(71);
        let stored = bcrypt::hash(&short, 4).unwrap();
        assert!(!passwords.verify_and_upgrade(&format!("{short}x"), Some(&stored)).await.unwrap().valid);
        let verified = passwords.verify_and_upgrade(&short, Some(&stored)).await.unwrap();
        assert!(verified.valid && !verified.truncated_legacy);
        assert_current_argon2id(&verified.rehash.expect("upgraded"));
    }

    #[tokio::test]
    async fn a_login_that_cannot_get_a_hashing_thread_in_time_is_told_to_retry() {
        let passwords = Passwords::builder().max_concurrency(1).max_wait(Duration::from_secs(3)).build();
        let stored = passwords.hash(PASSWORD).await.unwrap();
        // Every hashing thread busy (its permit taken) for longer than the wait limit.
        let busy = Arc::clone(&passwords.inner.permits).acquire_owned().await.unwrap();
        let error = passwords.verify_and_upgrade(PASSWORD, Some(&stored)).await.unwrap_err();
        assert!(matches!(error, AuthError::Overloaded { retry_after: 3 }), "{error:?}");
        assert!(matches!(passwords.hash(PASSWORD).await, Err(AuthError::Overloaded { .. })));
        // Once a thread is free again, logins work.
        drop(busy);
        assert!(passwords.verify_and_upgrade(PASSWORD, Some(&stored)).await.unwrap().valid);

        // A verification that starts in time but runs past the limit (a stored hash at the caps'
        // edge, or a machine too busy to give the hashing thread a core) is answered 503 too,
        // not left hanging; the thread is free again once it ends.
        let slow = legacy_argon2(PASSWORD, Algorithm::Argon2id, Version::V0x13, 64 * 1024, MAX_ARGON2_T_COST, 1);
        let impatient = Passwords::builder().max_concurrency(1).max_wait(Duration::from_millis(200)).build();
        let error = impatient.verify_and_upgrade(PASSWORD, Some(&slow)).await.unwrap_err();
        assert!(matches!(error, AuthError::Overloaded { .. }), "{error:?}");

        let response = axum::response::IntoResponse::into_response(error);
        assert_eq!(response.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "1");
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"detail":"Authentication service busy, retry later"}"#);
    }

    #[tokio::test]
    async fn every_kind_of_hash_verified_or_calibrated_is_costed() {
        let passwords = Passwords::builder().max_concurrency(1).build();
        assert!(passwords.inner.costs.learned().is_empty());
        let outdated = legacy_argon2(PASSWORD, Algorithm::Argon2id, Version::V0x13, 8192, 1, 1);
        passwords.calibrate(&outdated);
        passwords.calibrate("not a hash");
        let _ = passwords.verify_and_upgrade("wrong", None).await.unwrap();
        let profiles: Vec<Profile> = passwords.inner.costs.learned().into_iter().map(|(profile, _)| profile).collect();
        // The unknown user did the outdated profile's work, the only one known: the current
        // parameters were never run, and a malformed hash teaches nothing.
        assert_eq!(profiles, [Profile::Argon2 { variant: 2, version: 0x13, m: 8192, t: 1, p: 1 }]);
        let stored = passwords.hash(PASSWORD).await.unwrap();
        let _ = passwords.verify_and_upgrade("wrong", Some(&stored)).await.unwrap();
        assert!(
            passwords.inner.costs.learned().iter().any(|(profile, _)| *profile == passwords.inner.current_profile())
        );
    }

    /// Not a benchmark (`benches/login_timing.rs` measures the ratios): a lower bound on
    /// deliberate padding, which load can only lengthen.
    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn unknown_users_and_current_hashes_wait_as_long_as_the_slowest_known_kind() {
        let passwords = Passwords::builder().max_wait(Duration::from_secs(120)).build();
        let legacy = bcrypt::hash(PASSWORD, 11).unwrap();
        let current = passwords.hash(PASSWORD).await.unwrap();
        // Until bcrypt's cost is known below MAX_PADDING (a busy machine can make a run slow),
        // and at least five runs: the learned cost is the fastest run, and one run on a busy
        // machine can take several times what the next takes.
        let mut slowest = Duration::MAX;
        for run in 0..12 {
            let started = Instant::now();
            let verified = passwords.verify_and_upgrade("wrong", Some(&legacy)).await.unwrap();
            assert!(!verified.valid);
            slowest = passwords.inner.costs.learned()[0].1;
            assert!(started.elapsed() >= slowest, "the slowest kind is not padded; its cost is its fastest run");
            if run >= 4 && slowest <= cost::MAX_PADDING {
                break;
            }
        }
        assert!(slowest <= cost::MAX_PADDING, "bcrypt at cost 11 never ran under {:?}", cost::MAX_PADDING);
        // Unknown users do bcrypt's own work, current hashes their own plus bcrypt's; a run can
        // beat the fastest seen so far, hence the margin. A padding run of bcrypt is recorded
        // too: when the machine gets quieter it is faster than every learning run, and the
        // bound follows it down (a run that did no padding records nothing and still fails).
        for stored in [None, Some(current.as_str()), Some("not a hash")] {
            let started = Instant::now();
            let verified = passwords.verify_and_upgrade("wrong", stored).await.unwrap();
            let elapsed = started.elapsed();
            assert!(!verified.valid);
            let bcrypt = passwords
                .inner
                .costs
                .learned()
                .into_iter()
                .find(|(profile, _)| matches!(profile, Profile::Bcrypt { .. }));
            let bound = slowest.min(bcrypt.expect("bcrypt's cost is known").1).mul_f64(0.75);
            assert!(elapsed >= bound, "{stored:?} answered in {elapsed:?}, before {bound:?}");
        }
    }
}
