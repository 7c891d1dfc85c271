//! Introspection answers that a real provider does not give, served by an endpoint of the test's
//! own on loopback: an active token past its `exp`, one before its `nbf`, one from another issuer.
//! The provider of `identity_providers.rs` answers `active: false` for those, so without these
//! tests the library's own checks of an active answer (`IntrospectionStrategy::check`) could be
//! removed with every test still green; mutation testing showed it (TESTING.md).
#![cfg(feature = "oidc")]

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use auth_core::strategies::oidc::{ClientAuth, IntrospectionStrategy, ProviderTokenError};
use axum::{Form, Json, Router, extract::State, routing::post};
use serde_json::{Value, json};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Serves `answers[token]` (else `{"active": false}`) at `/introspect`; returns the base URL.
async fn endpoint(answers: HashMap<&'static str, Value>) -> String {
    async fn introspect(
        State(answers): State<Arc<HashMap<&'static str, Value>>>,
        Form(form): Form<HashMap<String, String>>,
    ) -> Json<Value> {
        let token = form.get("token").map(String::as_str).unwrap_or_default();
        Json(answers.get(token).cloned().unwrap_or_else(|| json!({ "active": false })))
    }
    let app = Router::new().route("/introspect", post(introspect)).with_state(Arc::new(answers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A strategy for the endpoint at `base`, whose issuer is `base`, uncached. The answers here
/// carry no `aud` (the audience rule has its own tests in `identity_providers.rs`), hence
/// `accept_any_audience`: every other check still applies.
async fn strategy(base: &str, leeway: Duration) -> IntrospectionStrategy {
    IntrospectionStrategy::builder(ClientAuth::basic("api", "api-secret"))
        .endpoint(format!("{base}/introspect"))
        .issuer(base)
        .accept_any_audience()
        .leeway(leeway)
        .cache_ttl(Duration::ZERO)
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_active_answer_past_its_exp_is_refused() {
    let now = now();
    let base = endpoint(HashMap::from([
        ("live", json!({ "active": true, "sub": "alice", "exp": now + 600 })),
        ("within-leeway", json!({ "active": true, "sub": "alice", "exp": now - 20 })),
        ("expired", json!({ "active": true, "sub": "alice", "exp": now - 300 })),
    ]))
    .await;
    let strict = strategy(&base, Duration::ZERO).await;
    assert_eq!(strict.verify("live").await.unwrap().sub.as_deref(), Some("alice"));
    assert_eq!(strict.verify("expired").await, Err(ProviderTokenError::Invalid("expired")));
    assert_eq!(strict.verify("within-leeway").await, Err(ProviderTokenError::Invalid("expired")));
    let lenient = strategy(&base, Duration::from_secs(60)).await;
    assert!(lenient.verify("within-leeway").await.is_ok());
    assert_eq!(lenient.verify("expired").await, Err(ProviderTokenError::Invalid("expired")));
}

#[tokio::test]
async fn an_active_answer_before_its_nbf_is_refused() {
    let now = now();
    let base = endpoint(HashMap::from([
        ("started", json!({ "active": true, "sub": "alice", "nbf": now - 600 })),
        ("within-leeway", json!({ "active": true, "sub": "alice", "nbf": now + 20 })),
        ("early", json!({ "active": true, "sub": "alice", "nbf": now + 300 })),
    ]))
    .await;
    let strict = strategy(&base, Duration::ZERO).await;
    assert!(strict.verify("started").await.is_ok());
    assert_eq!(strict.verify("early").await, Err(ProviderTokenError::Invalid("not yet valid")));
    assert_eq!(strict.verify("within-leeway").await, Err(ProviderTokenError::Invalid("not yet valid")));
    let lenient = strategy(&base, Duration::from_secs(60)).await;
    assert!(lenient.verify("within-leeway").await.is_ok());
    assert_eq!(lenient.verify("early").await, Err(ProviderTokenError::Invalid("not yet valid")));
}

#[tokio::test]
async fn an_active_answer_from_another_issuer_is_refused() {
    let answers = HashMap::from([
        ("foreign", json!({ "active": true, "sub": "alice", "iss": "https://elsewhere.example" })),
        ("silent", json!({ "active": true, "sub": "alice" })),
    ]);
    let base = endpoint(answers).await;
    // The issuer the strategy expects is the endpoint's base URL; an answer naming it passes.
    let own = endpoint(HashMap::from([("own", json!({ "active": true, "sub": "alice", "iss": base.clone() }))])).await;
    let strategy_for_own = IntrospectionStrategy::builder(ClientAuth::basic("api", "api-secret"))
        .endpoint(format!("{own}/introspect"))
        .issuer(&base)
        .accept_any_audience()
        .cache_ttl(Duration::ZERO)
        .build()
        .await
        .unwrap();
    assert_eq!(strategy_for_own.verify("own").await.unwrap().iss.as_deref(), Some(base.as_str()));
    let strategy = strategy(&base, Duration::ZERO).await;
    assert_eq!(strategy.verify("foreign").await, Err(ProviderTokenError::Invalid("wrong issuer")));
    // An answer that names no issuer is the endpoint's own (RFC 7662 makes `iss` optional).
    assert!(strategy.verify("silent").await.is_ok());
}

#[tokio::test]
async fn a_token_of_the_longest_allowed_length_is_asked_about() {
    use auth_core::strategies::jwt::JwtStrategy;
    let longest: &'static str = Box::leak("a".repeat(JwtStrategy::DEFAULT_MAX_TOKEN_LEN).into_boxed_str());
    let base = endpoint(HashMap::from([(longest, json!({ "active": true, "sub": "alice" }))])).await;
    let strategy = strategy(&base, Duration::ZERO).await;
    assert!(strategy.verify(longest).await.is_ok());
    let too_long = format!("{longest}a");
    assert_eq!(strategy.verify(&too_long).await, Err(ProviderTokenError::Invalid("token too long")));
}
