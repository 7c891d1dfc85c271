//! The one rule for tests that need a server (PostgreSQL, Redis): without it they skip, with a
//! notice on stderr, unless `REQUIRE_SERVICES` is set (`.ci/run` sets it), when they fail.
//! Shared by `redis_strategy.rs` and `database_strategy.rs`; the workspace tests have the same
//! rule in `tests/lib.rs`.

/// Whether every service-backed test must run: `REQUIRE_SERVICES` set to anything but `""` or `0`.
pub(crate) fn services_required() -> bool {
    std::env::var_os("REQUIRE_SERVICES").is_some_and(|value| !value.is_empty() && value != "0")
}

/// Skips `test` for `reason`: `None` with a notice, or a panic naming the reason under
/// `REQUIRE_SERVICES`.
pub(crate) fn skip<T>(test: &str, reason: &str) -> Option<T> {
    assert!(!services_required(), "{test}: {reason}, and REQUIRE_SERVICES is set (see scripts/services.sh)");
    eprintln!("skipping {test}: {reason} (see scripts/services.sh)");
    None
}

/// The URL in the environment variable `var`, or a [`skip`] when it is unset or empty.
pub(crate) fn service_url(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => skip(test, &format!("{var} is not set")),
    }
}
