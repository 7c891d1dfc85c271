//! Login timing that does not depend on which hash a user has, or whether the user exists.
//!
//! The work of a verification depends on the stored hash: a legacy bcrypt hash at cost 12 takes
//! several times as long as a current argon2id one. Left alone, response times would sort
//! usernames into "exists with a legacy hash", "exists with a current hash" and "unknown". So
//! every verification is *padded* with dummy verifications (of the dummy password, whose answer
//! is ignored) up to the work of the most expensive *profile* (scheme and parameters) this
//! hasher has verified, the *slowest*:
//!
//! - an unknown user, or an unusable stored hash, verifies against a dummy hash of the slowest
//!   profile itself: the very work a user of that profile costs, so the two stretch alike on a
//!   busy machine (argon2 is memory-bound and bcrypt is not: under load they do not slow down
//!   in proportion, so padding bcrypt's time with argon2 runs would drift);
//! - a user of a profile costing at most half the slowest's does the same on top of its own
//!   verification: at most 1.5 times the slowest's work;
//! - a user of a profile costing more than half of it (two argon2 parameter sets, say) is
//!   padded with dummy runs at the current parameters, as many as make up the difference;
//! - a user of the slowest profile is not padded.
//!
//! Costs are the fastest verification seen of each profile: its work without contention.
//! Padding is real work, not a timer. The price is CPU: while users with an expensive legacy
//! hash exist, every login costs about as much as theirs. A restart, once they have all logged in
//! (and been upgraded), forgets them.
//!
//! A profile is learned on its first verification, so the first login against a kind of hash
//! not seen since the start could stand out; [`Passwords::calibrate`](super::Passwords::calibrate)
//! teaches one ahead of time (the FastAPI port calibrates with its bcrypt hashes at startup).
//! A profile costing more than [`MAX_PADDING`] is never padded to: its users (argon2 near the
//! caps, bcrypt above cost 14) stand out rather than every login costing seconds.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// The most expensive profile padded to, in work (a few times bcrypt at cost 12).
pub(super) const MAX_PADDING: Duration = Duration::from_secs(2);

/// What a verification does on top of its own work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Padding {
    /// Nothing more.
    Done,
    /// One verification against a dummy hash of this (the slowest) profile.
    Slowest(Profile),
    /// This many runs of the current-parameters dummy.
    Units(u32),
}

/// Scheme and parameters of a stored hash: what decides the cost of verifying against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Profile {
    /// An argon2 hash: variant (0 = d, 1 = i, 2 = id), version, memory, iterations, lanes.
    Argon2 { variant: u8, version: u32, m: u32, t: u32, p: u32 },
    /// A bcrypt hash of this cost (read only with the `bcrypt` feature).
    #[cfg_attr(not(feature = "bcrypt"), allow(dead_code))]
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

    /// What a verification of `done` (`None`: nothing verified, an unknown user or an unusable
    /// hash) does on top, given the profiles seen; `unit` is the current-parameters dummy's.
    pub(super) fn padding(&self, done: Option<Profile>, unit: Profile) -> Padding {
        let fastest = self.fastest.lock().unwrap_or_else(PoisonError::into_inner);
        let slowest = fastest.iter().filter(|(_, cost)| **cost <= MAX_PADDING).max_by_key(|(_, cost)| **cost);
        let Some((&slowest, &slowest_cost)) = slowest else {
            return if done.is_none() { Padding::Units(1) } else { Padding::Done };
        };
        let own = done.and_then(|profile| fastest.get(&profile).copied()).unwrap_or_default();
        if done == Some(slowest) || own >= slowest_cost {
            return Padding::Done;
        }
        if own <= slowest_cost / 2 {
            return Padding::Slowest(slowest);
        }
        match fastest.get(&unit).copied().filter(|cost| !cost.is_zero()) {
            // The unit's cost not known yet: err on the slow side, once.
            None => Padding::Slowest(slowest),
            Some(unit) => {
                let runs = (slowest_cost - own).as_nanos().div_ceil(unit.as_nanos());
                Padding::Units(u32::try_from(runs).unwrap_or(u32::MAX))
            }
        }
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
        assert_eq!(costs.padding(None, CURRENT), Padding::Units(1));
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), Padding::Done);
        costs.record(CURRENT, ms(50));
        assert_eq!(costs.padding(None, CURRENT), Padding::Slowest(CURRENT));
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), Padding::Done);
        // A slower legacy profile: unknown users and cheap profiles do its work, it does not.
        costs.record(BCRYPT, ms(260));
        costs.record(OUTDATED, ms(20));
        assert_eq!(costs.padding(Some(BCRYPT), CURRENT), Padding::Done);
        assert_eq!(costs.padding(None, CURRENT), Padding::Slowest(BCRYPT));
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), Padding::Slowest(BCRYPT));
        assert_eq!(costs.padding(Some(OUTDATED), CURRENT), Padding::Slowest(BCRYPT));
        // Costs are the fastest seen: a slow (contended) run changes nothing.
        costs.record(BCRYPT, ms(900));
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), Padding::Slowest(BCRYPT));
        // Above MAX_PADDING, a profile is not padded to.
        costs.record(Profile::Bcrypt { cost: 16 }, Duration::from_secs(4));
        assert_eq!(costs.padding(None, CURRENT), Padding::Slowest(BCRYPT));
        assert_eq!(costs.learned()[0].0, Profile::Bcrypt { cost: 16 });

        // Two argon2 profiles within a factor two: the difference in current-parameter runs.
        let costs = Costs::default();
        let heavier = Profile::Argon2 { variant: 2, version: 0x13, m: 32768, t: 2, p: 1 };
        costs.record(heavier, ms(80));
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), Padding::Slowest(heavier), "unit unknown yet");
        costs.record(CURRENT, ms(50));
        assert_eq!(costs.padding(Some(CURRENT), CURRENT), Padding::Units(1), "50 + 50 ≥ 80");
        assert_eq!(costs.padding(None, CURRENT), Padding::Slowest(heavier));
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
