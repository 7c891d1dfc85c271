//! Does a login for an unknown username cost the same as a wrong password for a known one?
//!
//! Both cases run `Passwords::verify_and_upgrade` side by side in one criterion group; their
//! times should be within noise of each other, so response times do not reveal which usernames
//! exist. Run with `cargo bench -p auth-core --bench login_timing`.

use std::time::Duration;

use auth_core::password::Passwords;
use criterion::{Criterion, criterion_group, criterion_main};

fn login_timing(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let passwords = Passwords::new();
    let stored = runtime.block_on(passwords.hash("the real password")).expect("hash");
    // Build the dummy hash before measuring, as a warmed-up server would have.
    let _ = runtime.block_on(passwords.verify_and_upgrade("warm up", None)).expect("verify");

    let mut group = c.benchmark_group("login_timing");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));

    group.bench_function("unknown_user", |b| {
        b.iter(|| {
            let verified = runtime.block_on(passwords.verify_and_upgrade("a wrong password", None)).expect("verify");
            assert!(!verified.valid);
            verified
        })
    });
    group.bench_function("known_user_wrong_password", |b| {
        b.iter(|| {
            let verified =
                runtime.block_on(passwords.verify_and_upgrade("a wrong password", Some(&stored))).expect("verify");
            assert!(!verified.valid);
            verified
        })
    });
    group.finish();
}

criterion_group!(benches, login_timing);
criterion_main!(benches);
