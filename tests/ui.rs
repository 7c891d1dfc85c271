//! Compile-fail and compile-pass tests of `#[secured]`, `#[derive(Scopes)]` and `#[derive(AuthBackend)]`, with trybuild.
//!
//! Layout: `ui/<macro>/pass/*.rs` must compile (and run); `ui/<macro>/fail/*.rs` must fail
//! with exactly the compiler output recorded next to them in `*.stderr`. Each fail case holds
//! one mistake in an otherwise complete program (its handler routed in a `Router`), so a
//! macro that failed to re-emit the user's item would show up as extra errors in the snapshot.
//!
//! Compiler output changes between releases, so the snapshots are recorded with one toolchain
//! and the test is ignored on any other. `rust-toolchain.toml` pins that toolchain, and `.ci/run`
//! fails on any other rustc, so CI never skips this suite. To re-record after a deliberate change:
//!
//! ```text
//! TRYBUILD=overwrite cargo test -p auth-tests --test ui
//! ```
//!
//! and review the `.stderr` diff like code.

#[rustversion::attr(not(stable(1.95)), ignore = "stderr snapshots are recorded with rustc 1.95 stable")]
#[test]
fn ui() {
    // Paths are relative to this package's manifest directory (`tests/`).
    let t = trybuild::TestCases::new();
    t.pass("ui/*/pass/*.rs");
    t.compile_fail("ui/*/fail/*.rs");
}
