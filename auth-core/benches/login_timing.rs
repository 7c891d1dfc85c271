//! Does a login for an unknown username cost what a wrong password for a known one costs, for
//! every kind of stored hash `Passwords` accepts?
//!
//! One criterion group, every case side by side: an unknown user, and a wrong password for a
//! user with a current argon2id hash, with an outdated argon2 hash (the argon2 crate's old
//! defaults: argon2i, m=4096, t=3), and with a legacy bcrypt hash (the FastAPI tutorial's, cost
//! 12). The SPEC's budget: the unknown user within 1.5x of each known one. The hasher is
//! calibrated with both legacy hashes first, as an app with legacy users does at startup (the
//! FastAPI port does it in `AppState::new`).
//!
//! `cargo bench -p auth-core --features bcrypt --bench login_timing`

use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use auth_core::password::Passwords;
use criterion::{Criterion, criterion_group, criterion_main};

/// The tutorial's bcrypt hash of `secret`, cost 12.
#[cfg(feature = "bcrypt")]
const BCRYPT_12: &str = "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW";

fn login_timing(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let passwords = Passwords::builder().build();
    let current = runtime.block_on(passwords.hash("the real password")).expect("hash");
    let outdated = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(4096, 3, 1, None).expect("params"))
        .hash_password(b"the real password")
        .expect("hash")
        .to_string();
    let mut users = vec![("current_argon2id", current), ("outdated_argon2i_m4096_t3", outdated)];
    #[cfg(feature = "bcrypt")]
    users.push(("bcrypt_cost_12", BCRYPT_12.to_owned()));

    for (_, stored) in &users {
        passwords.calibrate(stored);
    }
    // Build the dummy hash, let the calibrations finish, and give each kind a few timings, as
    // on a server that has been up for a while.
    for _ in 0..3 {
        let _ = runtime.block_on(passwords.verify_and_upgrade("warm up", None)).expect("verify");
        for (_, stored) in &users {
            let _ = runtime.block_on(passwords.verify_and_upgrade("warm up", Some(stored))).expect("verify");
        }
    }

    let mut group = c.benchmark_group("login_timing");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));

    group.bench_function("unknown_user", |b| {
        b.iter(|| {
            let verified = runtime.block_on(passwords.verify_and_upgrade("a wrong password", None)).expect("verify");
            assert!(!verified.valid);
            verified
        })
    });
    for (name, stored) in &users {
        group.bench_function(format!("{name}_wrong_password"), |b| {
            b.iter(|| {
                let verified =
                    runtime.block_on(passwords.verify_and_upgrade("a wrong password", Some(stored))).expect("verify");
                assert!(!verified.valid);
                verified
            })
        });
    }
    group.finish();
}

criterion_group!(benches, login_timing);
criterion_main!(benches);
