//! What a declared policy costs per request, against the same owner check written by hand in
//! the handler. Run with `cargo bench -p auth-bench --bench policy` (BENCHMARKS.md §7).
//!
//! Both routers answer `DELETE /notes/{id}` for the note's owner (the note stays: the bench
//! measures the decision, not a store), with the same JWT, the same `notes:write` scope check
//! and the same in-memory load (a `HashMap` behind an `Arc`, the note cloned):
//!
//! - `declared_policy`: `#[secured(scopes = ["notes:write"], allow = owner_of_note |
//!   scope("admin"))]` with an `Authorized<Note, Claims>` parameter: the id read from the path,
//!   the loader, the rule (`admin` closed under implication), then the handler;
//! - `hand_written`: `#[secured(scopes = ["notes:write"])]` with `Authenticated<Claims>`,
//!   `Path<i64>` and `State`, the load and the owner-or-admin check in the handler's body.
//!
//! Besides criterion's figures for each, `alternating` times them in turns (blocks of 200
//! requests, one function then the other, 40 rounds, in one process) and prints the ratio of
//! the medians, so that drift of the machine hits both alike.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use auth_bench::SECRET;
use auth_core::{
    AuthError, Authenticated, Scopes,
    authz::{Authorized, Resource},
    policy, secured,
    strategies::jwt::{Claims, JwtKey, JwtStrategy},
};
use axum::{
    Router,
    body::Body,
    extract::{FromRef, Path, State},
    http::{Request, StatusCode, header},
    routing::delete,
};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

/// The scopes.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Write notes.
    #[scope("notes:write")]
    NotesWrite,
    /// Everything.
    #[scope("admin", implies = ["notes:write"])]
    Admin,
}

/// A note.
#[derive(Clone)]
pub struct Note {
    owner: String,
    title: String,
}

/// The bench's state.
#[derive(Clone)]
pub struct AppState {
    jwt: JwtStrategy,
    notes: Arc<HashMap<i64, Note>>,
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

impl Resource for Note {
    type Id = i64;
    type State = AppState;

    async fn load(id: i64, state: &AppState) -> Result<Option<Note>, AuthError> {
        Ok(state.notes.get(&id).cloned())
    }

    async fn load_all(state: &AppState) -> Result<Vec<Note>, AuthError> {
        Ok(state.notes.values().cloned().collect())
    }
}

/// The note's owner.
#[policy]
fn owner_of_note(claims: &Claims, note: &Note) -> bool {
    claims.sub.as_deref() == Some(note.owner.as_str())
}

#[secured(scopes = ["notes:write"], allow = owner_of_note | scope("admin"))]
async fn declared(note: Authorized<Note, Claims>) -> (StatusCode, String) {
    (StatusCode::OK, note.title.clone())
}

#[secured(scopes = ["notes:write"])]
async fn by_hand(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated<Claims>,
    Path(id): Path<i64>,
) -> Result<(StatusCode, String), AuthError> {
    let note = state.notes.get(&id).cloned().ok_or(AuthError::NotFound)?;
    let admin = claims.scopes.iter().any(|scope| scope == "admin");
    if !admin && claims.sub.as_deref() != Some(note.owner.as_str()) {
        return Err(AuthError::Forbidden);
    }
    Ok((StatusCode::OK, note.title))
}

async fn call(router: &Router, authorization: &str) -> StatusCode {
    let request =
        Request::delete("/notes/7").header(header::AUTHORIZATION, authorization).body(Body::empty()).expect("request");
    router.clone().oneshot(request).await.expect("infallible").status()
}

fn policy_bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let jwt = JwtStrategy::builder(JwtKey::hs256(SECRET)).build().expect("jwt");
    let notes = (0..100).map(|id| (id, Note { owner: format!("user{}", id % 7), title: format!("note {id}") }));
    let state = AppState { jwt: jwt.clone(), notes: Arc::new(notes.collect()) };
    let policy_app = Router::new().route("/notes/{id}", delete(declared)).with_state(state.clone());
    let hand_app = Router::new().route("/notes/{id}", delete(by_hand)).with_state(state);
    let owner = format!("Bearer {}", jwt.issue("user0", &["notes:write"]).expect("token"));
    let other = format!("Bearer {}", jwt.issue("user1", &["notes:write"]).expect("token"));

    // Both give the same answers before their times mean anything.
    for app in [&policy_app, &hand_app] {
        assert_eq!(runtime.block_on(call(app, &owner)), StatusCode::OK);
        assert_eq!(runtime.block_on(call(app, &other)), StatusCode::FORBIDDEN);
    }

    let mut group = c.benchmark_group("delete_note");
    group.sample_size(50).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function("declared_policy", |b| b.iter(|| runtime.block_on(call(&policy_app, &owner))));
    group.bench_function("hand_written", |b| b.iter(|| runtime.block_on(call(&hand_app, &owner))));
    group.finish();

    // In turns: blocks of each, alternating, the median block of each compared.
    let block = |app: &Router| {
        let start = Instant::now();
        for _ in 0..200 {
            assert_eq!(runtime.block_on(call(app, &owner)), StatusCode::OK);
        }
        start.elapsed()
    };
    let (mut policy_times, mut hand_times) = (Vec::new(), Vec::new());
    for round in 0..40 {
        // Which goes first alternates too.
        if round % 2 == 0 {
            policy_times.push(block(&policy_app));
            hand_times.push(block(&hand_app));
        } else {
            hand_times.push(block(&hand_app));
            policy_times.push(block(&policy_app));
        }
    }
    policy_times.sort();
    hand_times.sort();
    let (policy, hand) = (policy_times[20], hand_times[20]);
    println!(
        "alternating: declared_policy {:.2} µs/request, hand_written {:.2} µs/request, ratio {:.3}x (budget 1.05x)",
        policy.as_secs_f64() * 1e6 / 200.0,
        hand.as_secs_f64() * 1e6 / 200.0,
        policy.as_secs_f64() / hand.as_secs_f64()
    );
}

criterion_group!(benches, policy_bench);
criterion_main!(benches);
