//! Login timing that does not depend on which hash a user has, or whether the user exists.
//!
//! The work of a verification depends on the stored hash: a legacy bcrypt hash at cost 12 takes
//! several times as long as a current argon2id one, and an unknown user is verified against a
//! current argon2id dummy. Left alone, response times would sort usernames into "exists with a
//! legacy hash", "exists or unknown". So every verification's answer is held back until it has
//! taken as long as the most expensive *profile* (scheme and parameters) this hasher has
//! verified, scaled by how slow the machine is right now:
//!
//! ```text
//! hold until  start + work × (slowest profile's cost / this profile's cost)
//! ```
//!
//! where a profile's cost is the fastest verification of it seen so far (its work without
//! contention). On an idle machine every answer takes the slowest profile's time; under load
//! everything stretches together, so the ratios stay put. The hold is a timer, not work: the
//! hashing thread and its permit are free as soon as the computation ends.
//!
//! A profile's cost is learned on its first verification, so the first login against a kind of
//! hash not seen since the start could stand out; [`Passwords::calibrate`](super::Passwords::calibrate)
//! teaches one ahead of time (the FastAPI port calibrates with its bcrypt hashes at startup).

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// The most an answer is held back beyond its own work, whatever the learned costs say.
const MAX_HOLD: Duration = Duration::from_secs(10);

/// Scheme and parameters of a stored hash: what decides the cost of verifying against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Profile {
    /// An argon2 hash: variant (0 = d, 1 = i, 2 = id), version, memory, iterations, lanes.
    Argon2 { variant: u8, version: u32, m: u32, t: u32, p: u32 },
    /// A bcrypt hash of this cost.
    Bcrypt { cost: u32 },
}

/// The fastest verification seen of each profile.
#[derive(Debug, Default)]
pub(super) struct Costs {
    fastest: Mutex<HashMap<Profile, Duration>>,
}

impl Costs {
    /// Records that verifying against `profile` took `work` now, and returns how long the whole
    /// answer should take from the start of the work.
    pub(super) fn record(&self, profile: Profile, work: Duration) -> Duration {
        let mut fastest = self.fastest.lock().unwrap_or_else(PoisonError::into_inner);
        let own = fastest.entry(profile).or_insert(work);
        *own = (*own).min(work);
        let own = *own;
        let slowest = fastest.values().copied().max().unwrap_or(own);
        drop(fastest);
        if own.is_zero() {
            return work.max(slowest).min(work + MAX_HOLD);
        }
        let scaled = work.mul_f64(slowest.as_secs_f64() / own.as_secs_f64());
        scaled.clamp(work, work + MAX_HOLD)
    }

    /// Whether `profile`'s cost is known.
    pub(super) fn knows(&self, profile: Profile) -> bool {
        self.fastest.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&profile)
    }

    /// The learned cost of each profile, slowest first (for tests and diagnostics).
    #[cfg(test)]
    pub(super) fn learned(&self) -> Vec<(Profile, Duration)> {
        let mut costs: Vec<_> =
            self.fastest.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|(p, d)| (*p, *d)).collect();
        costs.sort_by_key(|(_, cost)| std::cmp::Reverse(*cost));
        costs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARGON2: Profile = Profile::Argon2 { variant: 2, version: 0x13, m: 19456, t: 2, p: 1 };
    const BCRYPT: Profile = Profile::Bcrypt { cost: 12 };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn every_profile_is_held_to_the_slowest_scaled_by_the_current_slowdown() {
        let costs = Costs::default();
        // Only argon2 known: no hold.
        assert_eq!(costs.record(ARGON2, ms(50)), ms(50));
        // bcrypt is slower: it is not held, and argon2 is from now on held to its cost.
        assert_eq!(costs.record(BCRYPT, ms(250)), ms(250));
        assert_eq!(costs.record(ARGON2, ms(50)), ms(250));
        // Twice as slow now (load): held to twice the slowest.
        assert_eq!(costs.record(ARGON2, ms(100)), ms(500));
        assert_eq!(costs.record(BCRYPT, ms(500)), ms(500));
        // A slow first sample is corrected by a faster one.
        let costs = Costs::default();
        costs.record(BCRYPT, ms(900));
        costs.record(BCRYPT, ms(250));
        assert_eq!(costs.record(ARGON2, ms(50)), ms(250));
        // Never held more than MAX_HOLD beyond the work.
        costs.record(Profile::Bcrypt { cost: 16 }, Duration::from_secs(60));
        assert_eq!(costs.record(ARGON2, ms(50)), ms(50) + MAX_HOLD);
        assert_eq!(costs.learned()[0].0, Profile::Bcrypt { cost: 16 });
    }
}
