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
//! let passwords = Passwords::new();
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
    fmt,
    sync::{Arc, OnceLock},
};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::Error as HashError,
};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::AuthError;

mod pool;

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
/// A fixed salt for the dummy hash, so building it never depends on the system RNG.
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
/// The type is cheap to clone (the clones share the threads, the bound and the dummy hash), so
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
    /// The threads the work runs on, as many as permits.
    pool: pool::HashPool,
    /// The dummy hash unknown users are verified against, made on first use with `params`.
    dummy: OnceLock<Option<PasswordHash>>,
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
    /// A fresh argon2id PHC string to store in place of the old one, when the password was right
    /// but the stored hash is bcrypt, another argon2 variant or version, or has other parameters
    /// than the current ones. `None` when the stored hash is current or the password was wrong.
    pub rehash: Option<String>,
}

impl Verified {
    const INVALID: Verified = Verified { valid: false, rehash: None };
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("valid", &self.valid)
            .field("rehash", &self.rehash.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("m_cost", &self.inner.params.m_cost())
            .field("t_cost", &self.inner.params.t_cost())
            .field("p_cost", &self.inner.params.p_cost())
            .field("max_concurrency", &self.inner.max_concurrency)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// A hasher with the argon2 crate's default (OWASP) parameters, running at most as many
    /// hashes at once as the machine has cores (`std::thread::available_parallelism`). Its
    /// threads yield to any other work (`SCHED_IDLE`), so using every core for logins takes none
    /// from other requests; on a machine saturated by other work, logins wait for it instead.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::with_max_concurrency(cores)
    }

    /// A hasher with the default parameters that runs at most `permits` hashes or verifications
    /// at once. `0` is taken as `1`.
    ///
    /// Each running argon2 computation holds 19 MiB and a core, so this bounds both.
    pub fn with_max_concurrency(permits: usize) -> Self {
        Self::with_params(Params::default(), permits)
    }

    fn with_params(params: Params, permits: usize) -> Self {
        let permits = permits.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            inner: Arc::new(Inner {
                params,
                permits: Arc::new(Semaphore::new(permits)),
                max_concurrency: permits,
                pool: pool::HashPool::new(permits),
                dummy: OnceLock::new(),
            }),
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
    /// [`AuthError::Internal`] if the OS random number generator or the blocking pool fails.
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
    ///   hash with the current parameters, so the answer takes as long as for a wrong password and
    ///   timing does not reveal which usernames exist. The result is always invalid.
    /// - A malformed stored hash, or one whose parameters exceed the caps, is invalid (with a
    ///   warning that never includes the hash) and costs the same dummy verification.
    /// - When the password is right and the hash is bcrypt, argon2i/argon2d, version 0x10, or has
    ///   other parameters than the current ones, [`Verified::rehash`] holds a new argon2id hash.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] only for server-side faults (no tokio runtime, a failed blocking
    /// task); a wrong password or a bad stored hash is `Ok` with `valid: false`.
    pub async fn verify_and_upgrade(&self, password: &str, stored: Option<&str>) -> Result<Verified, AuthError> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let stored = stored.map(str::to_owned);
        self.run_off_thread(move |inner| inner.verify_and_upgrade(&password, stored.as_deref())).await?
    }

    /// Runs `work` on the hasher's threads once a permit is free. The permit moves into the job,
    /// so it is only released when the computation ends, even if the caller stops waiting.
    async fn run_off_thread<T, F>(&self, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> T + Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits).acquire_owned().await.map_err(|_| AuthError::Internal)?;
        let inner = Arc::clone(&self.inner);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.inner
            .pool
            .spawn(move || {
                let output = work(&inner);
                // Free the permit before the caller hears back, so a caller that counts permits
                // after the result sees it returned. A caller that stopped waiting drops the result.
                drop(permit);
                let _ = sender.send(output);
            })
            .map_err(|_| AuthError::Internal)?;
        receiver.await.map_err(|_| {
            tracing::error!("password hashing job failed");
            AuthError::Internal
        })
    }
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

    fn verify_and_upgrade(&self, password: &[u8], stored: Option<&str>) -> Result<Verified, AuthError> {
        let Some(stored) = stored else {
            self.verify_dummy(password)?;
            return Ok(Verified::INVALID);
        };
        let outcome = if stored.starts_with("$argon2") {
            self.verify_argon2(password, stored)
        } else if is_bcrypt(stored) {
            verify_bcrypt(password, stored)
        } else {
            Outcome::Malformed("not an argon2 or bcrypt hash")
        };
        match outcome {
            Outcome::Valid { upgrade } => {
                let rehash = if upgrade {
                    // A failed re-hash must not fail a correct login: the old hash still works.
                    self.hash(password).ok()
                } else {
                    None
                };
                Ok(Verified { valid: true, rehash })
            }
            Outcome::Invalid => Ok(Verified::INVALID),
            Outcome::Malformed(reason) => {
                tracing::warn!(reason, "stored password hash is unusable; the login fails");
                self.verify_dummy(password)?;
                Ok(Verified::INVALID)
            }
        }
    }

    /// Spends the work of one verification with the current parameters, whatever the password.
    fn verify_dummy(&self, password: &[u8]) -> Result<(), AuthError> {
        let dummy =
            self.dummy.get_or_init(|| match self.argon2().hash_password_with_salt(DUMMY_PASSWORD, DUMMY_SALT) {
                Ok(hash) => Some(hash),
                Err(error) => {
                    tracing::error!(%error, "could not build the dummy password hash");
                    None
                }
            });
        let dummy = dummy.as_ref().ok_or(AuthError::Internal)?;
        // The answer is irrelevant: an unknown user or an unusable hash never logs in.
        let _ = self.argon2().verify_password(password, dummy);
        Ok(())
    }

    fn verify_argon2(&self, password: &[u8], stored: &str) -> Outcome {
        let Ok(hash) = PasswordHash::new(stored) else {
            return Outcome::Malformed("malformed argon2 PHC string");
        };
        let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
            return Outcome::Malformed("unknown argon2 variant");
        };
        let Ok(params) = Params::try_from(&hash) else {
            return Outcome::Malformed("invalid argon2 parameters");
        };
        if !within_caps(&params) {
            return Outcome::Malformed("argon2 parameters above the accepted maximum");
        }
        let version = match hash.version.map(Version::try_from) {
            None => None,
            Some(Ok(version)) => Some(version),
            Some(Err(_)) => return Outcome::Malformed("unknown argon2 version"),
        };
        if hash.salt.is_none() || hash.hash.is_none() {
            return Outcome::Malformed("argon2 PHC string without salt or hash");
        }
        // The verifier takes algorithm, version and parameters from the stored hash.
        match self.argon2().verify_password(password, &hash) {
            Ok(()) => Outcome::Valid {
                upgrade: algorithm != Algorithm::Argon2id
                    || version != Some(Version::V0x13)
                    || !same_params(&params, &self.params),
            },
            Err(HashError::PasswordInvalid) => Outcome::Invalid,
            Err(_) => Outcome::Malformed("argon2 verification failed"),
        }
    }
}

/// What checking a password against a stored hash found.
enum Outcome {
    /// The password matches; `upgrade` when the hash should be replaced by a current one.
    Valid { upgrade: bool },
    /// The password does not match.
    Invalid,
    /// The stored hash cannot be used; the reason is safe to log, it never quotes the hash.
    Malformed(&'static str),
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

#[cfg(feature = "bcrypt")]
fn verify_bcrypt(password: &[u8], stored: &str) -> Outcome {
    use std::str::FromStr as _;

    let Ok(parts) = bcrypt::HashParts::from_str(stored) else {
        return Outcome::Malformed("malformed bcrypt hash");
    };
    if parts.get_cost() > MAX_BCRYPT_COST {
        return Outcome::Malformed("bcrypt cost above the accepted maximum");
    }
    match bcrypt::verify(password, stored) {
        Ok(true) => Outcome::Valid { upgrade: true },
        Ok(false) => Outcome::Invalid,
        Err(_) => Outcome::Malformed("bcrypt verification failed"),
    }
}

#[cfg(not(feature = "bcrypt"))]
fn verify_bcrypt(_password: &[u8], _stored: &str) -> Outcome {
    Outcome::Malformed("bcrypt hash, but auth-core's `bcrypt` feature is off")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse battery staple";

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
        let passwords = Passwords::new();
        let stored = passwords.hash(PASSWORD).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_current_argon2id(&stored);

        let verified = passwords.verify_and_upgrade(PASSWORD, Some(&stored)).await.unwrap();
        assert_eq!(verified, Verified { valid: true, rehash: None });
    }

    #[tokio::test]
    async fn salts_are_random() {
        let passwords = Passwords::new();
        assert_ne!(passwords.hash(PASSWORD).await.unwrap(), passwords.hash(PASSWORD).await.unwrap());
    }

    #[tokio::test]
    async fn wrong_password_is_invalid() {
        let passwords = Passwords::new();
        let stored = passwords.hash(PASSWORD).await.unwrap();
        for wrong in ["", "correct horse battery stapl", "Correct horse battery staple"] {
            let verified = passwords.verify_and_upgrade(wrong, Some(&stored)).await.unwrap();
            assert_eq!(verified, Verified::INVALID, "{wrong:?}");
        }
    }

    #[tokio::test]
    async fn unknown_user_is_invalid_and_costs_a_verification() {
        let passwords = Passwords::new();
        assert!(passwords.inner.dummy.get().is_none());
        let dummy_password = std::str::from_utf8(DUMMY_PASSWORD).unwrap();
        for password in [PASSWORD, "", dummy_password] {
            let verified = passwords.verify_and_upgrade(password, None).await.unwrap();
            assert_eq!(verified, Verified::INVALID, "{password:?}");
        }
        // The dummy hash was built, with the current parameters, and is reused by clones.
        let dummy = passwords.inner.dummy.get().unwrap().as_ref().unwrap();
        assert_current_argon2id(&dummy.to_string());
        assert!(passwords.clone().inner.dummy.get().is_some());
    }

    #[tokio::test]
    async fn malformed_hashes_are_invalid() {
        // Cheap parameters: this test is about parsing, and each refusal costs a dummy verification.
        let passwords = Passwords::with_params(Params::new(64, 1, 1, None).unwrap(), 1);
        let good = passwords.hash(PASSWORD).await.unwrap();
        let salt_and_hash = good.rsplitn(3, '$').collect::<Vec<_>>();
        let (hash, salt) = (salt_and_hash[0], salt_and_hash[1]);
        assert_eq!(
            passwords.verify_and_upgrade(PASSWORD, Some(&good)).await.unwrap(),
            Verified { valid: true, rehash: None }
        );
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
        let passwords = Passwords::new();
        let phc =
            "$argon2id$v=19$m=8,t=4294967295,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhhc2g";
        let outcome = passwords.inner.verify_argon2(PASSWORD.as_bytes(), phc);
        assert!(matches!(outcome, Outcome::Malformed("argon2 parameters above the accepted maximum")));
    }

    #[tokio::test]
    async fn outdated_argon2_is_upgraded() {
        let passwords = Passwords::new();
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
            assert_eq!(again, Verified { valid: true, rehash: None });
        }
    }

    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn fastapi_tutorial_bcrypt_hashes_verify_and_upgrade() {
        let passwords = Passwords::new();
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
            assert_eq!(again, Verified { valid: true, rehash: None });
        }
    }

    #[cfg(not(feature = "bcrypt"))]
    #[tokio::test]
    async fn bcrypt_hashes_are_refused_without_the_feature() {
        let stored = "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW";
        let verified = Passwords::new().verify_and_upgrade("secret", Some(stored)).await.unwrap();
        assert_eq!(verified, Verified::INVALID);
    }

    #[tokio::test]
    async fn concurrency_bound_is_at_least_one_and_is_held_while_hashing() {
        assert_eq!(Passwords::with_max_concurrency(0).max_concurrency(), 1);
        assert!(Passwords::new().max_concurrency() >= 1);

        let passwords = Passwords::with_max_concurrency(1);
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
            tokio::task::yield_now().await;
        }
        assert!(running.await.unwrap().unwrap().valid);
        assert!(saw_taken);
        assert_eq!(passwords.inner.permits.available_permits(), 1);
    }

    #[test]
    fn works_outside_a_tokio_runtime() {
        let passwords = Passwords::new();
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
            std::thread::yield_now();
        }
    }

    #[test]
    fn verified_debug_hides_the_new_hash() {
        let verified = Verified { valid: true, rehash: Some("$argon2id$v=19$secret-hash".to_owned()) };
        let debug = format!("{verified:?}");
        assert!(!debug.contains("secret-hash"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn passwords_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<Passwords>();
    }
}
