//! Login timing that does not depend on which hash a user has, or whether the user exists.
//!
//! The work of a verification depends on the stored hash: a legacy bcrypt hash at cost 12 takes
//! several times as long as a current argon2id one, and an unknown user is verified against a
//! current argon2id dummy. Left alone, response times would sort usernames into "exists with a
//! legacy hash" and "exists or unknown". So every verification also does *padding*: as many
//! runs of the dummy verification (current parameters) as it takes for its total work to reach
//! the work of the most expensive *profile* (scheme and parameters) this hasher has verified:
//!
//! ```text
//! padding runs = ceil((cost of the slowest profile − cost of this one) / cost of one dummy run)
//! ```
//!
//! An unknown user does only dummy runs, a user of the slowest profile none. Costs are the
//! fastest verification seen of each profile: the work without contention, so their ratios hold
//! on a busy machine too. Padding is real work, not a timer: under load it stretches exactly as
//! the slowest profile's own verification does. The price is CPU: while users with an expensive
//! legacy hash exist (a bcrypt cost-12 hash costs about five dummy runs), every login costs as
//! much as theirs. Once they have all logged in (and been upgraded), a restart forgets them.
//!
//! A profile is learned on its first verification, so the first login against a kind of hash
//! not seen since the start could stand out; [`Passwords::calibrate`](super::Passwords::calibrate)
//! teaches one ahead of time (the FastAPI port calibrates with its bcrypt hashes at startup).
//! Padding stops at [`MAX_PADDING`] of work: a stored hash that costs more than that (argon2
//! near the caps, bcrypt above cost 14) stands out rather than make every login that slow.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// The most padding one verification does, in work (about a second on one core).
pub(super) const MAX_PADDING: Duration = Duration::from_secs(1);

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
    /// Profiles being calibrated.
    claimed: Mutex<HashSet<Profile>>,
}

impl Costs {
    /// Records that verifying against `profile` took `work`.
    pub(super) fn record(&self, profile: Profile, work: Duration) {
        let mut fastest = self.fastest.lock().unwrap_or_else(PoisonError::into_inner);
        let cost = fastest.entry(profile).or_insert(work);
        *cost = (*cost).min(work);
    }

    /// How many runs of the `dummy` profile a verification of `done` (`None`: nothing yet,
    /// an unknown user) needs on top, to cost what the slowest profile costs. At least one for
    /// `None`, so that an unknown user always does the dummy's work; and one while the dummy's
    /// cost is unknown but padding is due, to learn it (ask again after each run).
    pub(super) fn padding(&self, done: Option<Profile>, dummy: Profile) -> u32 {
        let fastest = self.fastest.lock().unwrap_or_else(PoisonError::into_inner);
        let floor = u32::from(done.is_none());
        let Some(slowest) = fastest.values().max().copied() else { return floor };
        let own = done.and_then(|profile| fastest.get(&profile).copied()).unwrap_or_default();
        if slowest <= own {
            return floor;
        }
        let Some(unit) = fastest.get(&dummy).copied().filter(|unit| !unit.is_zero()) else { return 1 };
        let missing = (slowest - own).min(MAX_PADDING);
        let runs = missing.as_nanos().div_ceil(unit.as_nanos());
        u32::try_from(runs).unwrap_or(u32::MAX).max(floor)
    }

    /// Whether `profile` still needs calibrating: neither verified yet nor claimed before.
    /// Claims it.
    pub(super) fn claim(&self, profile: Profile) -> bool {
        let known = self.fastest.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&profile);
        !known && self.claimed.lock().unwrap_or_else(PoisonError::into_inner).insert(profile)
    }

    /// Each profile and its cost, slowest first (for tests).
    #[cfg(test)]
    pub(super) fn learned(&self) -> Vec<(Profile, Duration)> {
        let fastest = self.fastest.lock().unwrap_or_else(PoisonError::into_inner);
        let mut costs: Vec<_> = fastest.iter().map(|(profile, cost)| (*profile, *cost)).collect();
        costs.sort_by_key(|(_, cost)| std::cmp::Reverse(*cost));
        costs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: Profile = Profile::Argon2 { variant: 2, version: 0x13, m: 19456, t: 2, p: 1 };
    const OUTDATED: Profile = Profile::Argon2 { variant: 1, version: 0x13, m: 4096, t: 3, p: 1 };
    const BCRYPT: Profile = Profile::Bcrypt { cost: 12 };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn every_profile_is_padded_up_to_the_slowest() {
        let costs = Costs::default();
        // Nothing known: an unknown user does the dummy's run, a known user nothing more.
        assert_eq!(costs.padding(None, CURRENT), 1);
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), 0);
        // Padding due, but the dummy's cost unknown: one run, to learn it.
        costs.record(BCRYPT, ms(260));
        assert_eq!(costs.padding(Some(OUTDATED), CURRENT), 1);
        let costs = Costs::default();
        costs.record(CURRENT, ms(50));
        assert_eq!(costs.padding(None, CURRENT), 1);
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), 0);
        // A slower legacy profile: everyone else is padded up to it, it is not.
        costs.record(BCRYPT, ms(260));
        costs.record(OUTDATED, ms(20));
        assert_eq!(costs.padding(Some(BCRYPT), CURRENT), 0);
        assert_eq!(costs.padding(None, CURRENT), 6, "260 ms in 50 ms runs");
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), 5, "50 + 5 × 50 ≥ 260");
        assert_eq!(costs.padding(Some(OUTDATED), CURRENT), 5, "20 + 5 × 50 ≥ 260");
        // Costs are the fastest seen: a slow (contended) run changes nothing.
        costs.record(CURRENT, ms(400));
        costs.record(BCRYPT, ms(900));
        assert_eq!(costs.padding(None, CURRENT), 6);
        // Padding stops at MAX_PADDING of work.
        costs.record(Profile::Bcrypt { cost: 16 }, Duration::from_secs(4));
        assert_eq!(costs.padding(None, CURRENT), 20, "1 s in 50 ms runs");
        assert_eq!(costs.learned()[0].0, Profile::Bcrypt { cost: 16 });
    }

    #[test]
    fn a_profile_is_calibrated_once() {
        let costs = Costs::default();
        assert!(costs.claim(BCRYPT));
        assert!(!costs.claim(BCRYPT));
        costs.record(CURRENT, ms(50));
        assert!(!costs.claim(CURRENT), "known already");
    }
}
