#!/usr/bin/env bash
# Compile cost of the macros: `cargo check` of a generated crate with N (default 500) `#[secured]`
# handlers, each behind its own chained dependency, against the same crate written by hand.
#
#   bench/compile_cost.sh                 # 500 handlers, 3 timed checks of each crate
#   HANDLERS=500 RUNS=5 bench/compile_cost.sh
#   METRIC=cpu bench/compile_cost.sh      # CPU seconds (user + sys, rustc included) instead of
#                                         # wall time: steadier on a machine doing other work
#   METRIC=instructions bench/compile_cost.sh
#                                         # instructions rustc executes for the crate, counted by
#                                         # valgrind (callgrind): the same on every run, whatever
#                                         # else the machine does; ~60x slower to take
#
# Both crates live in a throwaway workspace under target/compile-bench/ (its own target dir),
# depend on auth-core by path with the same dependency list, and use this workspace's Cargo.lock,
# so they build the very same dependency artifacts.
#
# Method: generate both crates; `cargo check --workspace` once, which builds every dependency
# (auth-core, auth-macros, axum...) and checks both crates; then, RUNS times, alternating
# secured/hand-written: `touch src/lib.rs` and time `cargo check -p <crate>`. With
# CARGO_INCREMENTAL=0 each timed check re-checks the whole crate from scratch (no incremental
# cache) while every dependency is fresh, so the time is the crate itself: parsing, macro
# expansion (the proc macros run inside this step), name resolution, type and trait checking,
# plus cargo's constant start-up. Reports the median of each and the ratio (budget <= 1.2x, issue 19).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

HANDLERS=${HANDLERS:-500}
RUNS=${RUNS:-3}
METRIC=${METRIC:-wall}
case "$METRIC" in wall | cpu | instructions) ;; *) echo "METRIC is wall, cpu or instructions" >&2; exit 2 ;; esac
dir=${COMPILE_BENCH_DIR:-$root/target/compile-bench}
export CARGO_INCREMENTAL=0
unset CARGO_TARGET_DIR

rm -rf "$dir/secured" "$dir/handwritten"
mkdir -p "$dir/secured/src" "$dir/handwritten/src"
cp Cargo.lock "$dir/Cargo.lock"
cat >"$dir/Cargo.toml" <<'EOF'
[workspace]
resolver = "3"
members = ["secured", "handwritten"]
EOF

manifest() {
    cat <<EOF
[package]
name = "compile-bench-$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
auth-core = { path = "$root/auth-core" }
axum = { version = "0.8.9", default-features = false, features = ["http1", "json", "tokio"] }
serde = { version = "1.0", features = ["derive"] }
serde_json = "1.0"
EOF
}
manifest secured >"$dir/secured/Cargo.toml"
manifest handwritten >"$dir/handwritten/Cargo.toml"

# What both crates share: the user, the state, the JWT strategy found through FromRef.
common() {
    cat <<'EOF'
#![allow(dead_code, non_camel_case_types)]

use std::{collections::HashMap, sync::Arc};

use auth_core::strategies::jwt::JwtStrategy;
use axum::{Json, Router, extract::FromRef, routing::get};
use serde_json::{Value, json};

#[derive(Clone, Debug, serde::Serialize)]
pub struct User {
    pub username: String,
    pub disabled: bool,
}

#[derive(Clone)]
pub struct AppState {
    pub users: Arc<HashMap<String, User>>,
    pub jwt: JwtStrategy,
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}
EOF
}

{
    common
    cat <<'EOF'

use auth_core::{AuthError, Authenticated, Depends, Scopes, SecurityScopes, secured, strategies::jwt::Claims};
use axum::extract::State;

#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Me.
    #[scope("me")]
    Me,
    /// Items.
    #[scope("items")]
    Items,
EOF
    for k in $(seq 0 9); do printf '    /// Area %s.\n    #[scope("s%s")]\n    S%s,\n' "$k" "$k" "$k"; done
    cat <<'EOF'
}

#[secured]
pub async fn current_user(State(app): State<AppState>, scopes: SecurityScopes, Authenticated(claims): Authenticated<Claims>) -> Result<User, AuthError> {
    let username = claims.sub.ok_or_else(|| AuthError::InvalidCredentials { scopes: scopes.clone() })?;
    app.users.get(&username).cloned().ok_or(AuthError::InvalidCredentials { scopes })
}

#[secured(scopes = ["me"])]
pub async fn current_active_user(Depends(user): Depends<current_user>) -> Result<User, AuthError> {
    if user.disabled { Err(AuthError::InactiveUser) } else { Ok(user) }
}
EOF
    for i in $(seq 0 $((HANDLERS - 1))); do
        cat <<EOF

#[secured(scopes = ["s$((i % 10))"])]
pub async fn dep_$i(Depends(user): Depends<current_active_user>) -> Result<User, AuthError> {
    Ok(user)
}

#[secured(scopes = ["items"])]
pub async fn handler_$i(Depends(user): Depends<dep_$i>) -> Json<Value> {
    Json(json!({ "handler": $i, "owner": user.username }))
}
EOF
    done
    printf '\npub fn router(state: AppState) -> Router {\n    let mut router = Router::new();\n'
    for i in $(seq 0 $((HANDLERS - 1))); do printf '    router = router.route("/h/%s", get(handler_%s));\n' "$i" "$i"; done
    printf '    router.with_state(state)\n}\n'
} >"$dir/secured/src/lib.rs"

{
    common
    cat <<'EOF'

// The same header parser `Authenticated` uses; it left the public API in issue 19, and is
// reached through `__private` here so that both crates keep doing the same work.
use auth_core::{AuthError, Challenge, SecurityScopes, __private::authorization_credentials};
use axum::{extract::FromRequestParts, http::request::Parts};

pub async fn current_user(parts: &Parts, app: &AppState, scopes: &'static [&'static str]) -> Result<User, AuthError> {
    let token = authorization_credentials(&parts.headers, "Bearer")
        .ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })?;
    let scopes = SecurityScopes::new(scopes);
    let claims = app.jwt.verify(token).map_err(|error| error.into_credentials_error(&scopes))?;
    let username = claims.sub.ok_or_else(|| AuthError::InvalidCredentials { scopes: scopes.clone() })?;
    let user = app.users.get(&username).cloned().ok_or_else(|| AuthError::InvalidCredentials { scopes: scopes.clone() })?;
    if !scopes.missing(&claims.scopes).is_empty() {
        return Err(AuthError::InsufficientScope { scopes });
    }
    Ok(user)
}

pub async fn current_active_user(parts: &Parts, app: &AppState, scopes: &'static [&'static str]) -> Result<User, AuthError> {
    let user = current_user(parts, app, scopes).await?;
    if user.disabled { Err(AuthError::InactiveUser) } else { Ok(user) }
}
EOF
    for i in $(seq 0 $((HANDLERS - 1))); do
        cat <<EOF

pub struct Dep$i(pub User);

impl FromRequestParts<AppState> for Dep$i {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        current_active_user(parts, app, &["items", "s$((i % 10))", "me"]).await.map(Self)
    }
}

pub async fn handler_$i(Dep$i(user): Dep$i) -> Json<Value> {
    Json(json!({ "handler": $i, "owner": user.username }))
}
EOF
    done
    printf '\npub fn router(state: AppState) -> Router {\n    let mut router = Router::new();\n'
    for i in $(seq 0 $((HANDLERS - 1))); do printf '    router = router.route("/h/%s", get(handler_%s));\n' "$i" "$i"; done
    printf '    router.with_state(state)\n}\n'
} >"$dir/handwritten/src/lib.rs"

echo "generated $HANDLERS handlers per crate in $dir ($(wc -l <"$dir/secured/src/lib.rs") and $(wc -l <"$dir/handwritten/src/lib.rs") lines)"
if [ "$METRIC" = instructions ]; then
    command -v valgrind >/dev/null || { echo "METRIC=instructions needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
    # Runs the rustc that checks a bench crate under callgrind; every other rustc as it is.
    cat >"$dir/callgrind-wrapper.sh" <<'WRAPPER'
#!/usr/bin/env bash
case " $* " in
    *" --crate-name compile_bench_"*) exec valgrind --tool=callgrind --callgrind-out-file="$CALLGRIND_OUT" --quiet "$@" ;;
    *) exec "$@" ;;
esac
WRAPPER
    chmod +x "$dir/callgrind-wrapper.sh"
    # Set for the first check too: cargo counts the wrapper as part of the compiler, and would
    # otherwise rebuild every dependency on the first measured check.
    export RUSTC_WRAPPER="$dir/callgrind-wrapper.sh" CALLGRIND_OUT=/dev/null
fi
echo "building the dependencies and checking both crates once (not timed)..."
(cd "$dir" && cargo check --workspace --quiet)

now() { date +%s.%N; }
# What one check costs: wall seconds, CPU seconds of cargo and the rustc it waits for, or
# millions of instructions of the rustc that checks the crate.
measure() {
    local crate=$1
    if [ "$METRIC" = instructions ]; then
        local out="$dir/callgrind.$crate.out"
        rm -f "$out"
        (cd "$dir" && CALLGRIND_OUT="$out" timeout 3600 cargo check --quiet -p "compile-bench-$crate")
        awk '/^(summary|totals):/ { printf "%.1f", $2 / 1e6; exit }' "$out"
    elif [ "$METRIC" = cpu ]; then
        local out
        out=$(cd "$dir" && timeout 900 /usr/bin/time -f 'cpu %U %S' cargo check --quiet -p "compile-bench-$crate" 2>&1 >/dev/null | tail -n 1)
        awk -v line="$out" 'BEGIN { split(line, f, " "); printf "%.2f", f[2] + f[3] }'
    else
        local start
        start=$(now)
        (cd "$dir" && timeout 900 cargo check --quiet -p "compile-bench-$crate")
        awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
    fi
}
echo "measuring $METRIC"
secured_times=() handwritten_times=() ratios=()
for run in $(seq "$RUNS"); do
    for crate in secured handwritten; do
        touch "$dir/$crate/src/lib.rs"
        elapsed=$(measure "$crate")
        if [ "$crate" = secured ]; then secured_times+=("$elapsed"); s=$elapsed; else handwritten_times+=("$elapsed"); h=$elapsed; fi
    done
    ratio=$(awk -v a="$s" -v b="$h" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$ratio")
    unit=s; [ "$METRIC" = instructions ] && unit=" M instructions"
    echo "run $run: secured ${s}${unit}, hand-written ${h}${unit}, ratio ${ratio}x"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }
ms=$(median "${secured_times[@]}")
mh=$(median "${handwritten_times[@]}")
ratio=$(awk -v a="$ms" -v b="$mh" 'BEGIN { printf "%.3f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.2) ? "holds" : "FAILS" }')
echo "secured:      median ${ms}${unit} (range $(range "${secured_times[@]}"))"
echo "hand-written: median ${mh}${unit} (range $(range "${handwritten_times[@]}"))"
echo "ratio of medians: ${ratio}x (per-run range $(range "${ratios[@]}")); budget <= 1.2x: $verdict"
