//! What the generated dependency chain costs per request, against a hand-written axum app and
//! against the JWT decode alone. Run with `cargo bench -p auth-bench --bench chain`, or
//! `bench/chain.sh` for several runs and the ratios.
//!
//! Every function in the `users_me_items` group answers `GET /users/me/items/` (or, for the
//! floors, does the part of it named), in one process, one after the other:
//!
//! - `generated_chain`: the tutorial port's router (`examples/oauth2_scopes/app.rs`) through
//!   `tower::ServiceExt::oneshot`: routing, `Enter`, `Depends<current_active_user>` →
//!   `Depends<current_user>` → `State`, `SecurityScopes`, `Authenticated<Claims>` (bearer, JWT verification,
//!   scope check), the user lookup, the active check, the JSON body, collected.
//! - `hand_written`: the same request on `auth_bench::baseline`, plain `FromRequestParts` impls and
//!   `jsonwebtoken::decode`.
//! - `hand_written_same_jwt`: the same hand-written app, decoding with auth-core's
//!   `JwtStrategy::verify`, the port's own JWT step. Against this one the ratio is the cost of the
//!   dependency chain alone.
//! - `auth_core_verify`: `JwtStrategy::verify` alone, the port's JWT step.
//! - `jsonwebtoken_decode`: `jsonwebtoken::decode` alone, the baseline's JWT step: the floor.

use std::time::Duration;

use auth_bench::{REFRESH_SECRET, SECRET, baseline, port};
use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, StatusCode, header},
};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use jsonwebtoken::{DecodingKey, decode};
use tower::ServiceExt;

fn request(authorization: &str) -> Request<Body> {
    Request::get("/users/me/items/").header(header::AUTHORIZATION, authorization).body(Body::empty()).expect("request")
}

async fn call(router: &Router, authorization: &str) -> (StatusCode, Bytes) {
    let response = router.clone().oneshot(request(authorization)).await.expect("infallible");
    let status = response.status();
    (status, response.into_body().collect().await.expect("body").to_bytes())
}

fn chain(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let state = port::AppState::new(SECRET, REFRESH_SECRET).expect("valid secrets");
    let token = state.jwt.issue("johndoe", &["me", "items"]).expect("token");
    let authorization = format!("Bearer {token}");
    let generated = port::app(state.clone());
    let hand_written = baseline::app(baseline::BaselineState::new(SECRET));
    let same_jwt = baseline::app(baseline::BaselineState::with_auth_core_jwt(state.jwt.clone()));

    // Both apps must give the same answer before their times mean anything.
    let expected = runtime.block_on(call(&generated, &authorization));
    assert_eq!(expected.0, StatusCode::OK, "{:?}", expected.1);
    assert_eq!(runtime.block_on(call(&hand_written, &authorization)), expected);
    assert_eq!(runtime.block_on(call(&same_jwt, &authorization)), expected);

    let key = DecodingKey::from_secret(SECRET);
    let validation = baseline::validation();

    let mut group = c.benchmark_group("users_me_items");
    group.sample_size(50).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function("generated_chain", |b| b.iter(|| runtime.block_on(call(&generated, &authorization))));
    group.bench_function("hand_written", |b| b.iter(|| runtime.block_on(call(&hand_written, &authorization))));
    group.bench_function("hand_written_same_jwt", |b| b.iter(|| runtime.block_on(call(&same_jwt, &authorization))));
    group.bench_function("auth_core_verify", |b| b.iter(|| state.jwt.verify(&token).expect("valid token")));
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| decode::<baseline::TokenClaims>(&token, &key, &validation).expect("valid token"))
    });
    group.finish();
}

criterion_group!(benches, chain);
criterion_main!(benches);
