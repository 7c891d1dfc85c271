//! Tokens from a real identity provider: panva's oidc-provider (a certified OpenID Provider),
//! started by these tests on loopback (`tests/oidc/idp.mjs`), issuing client-credentials tokens,
//! JWT (RFC 9068) and opaque (introspected, RFC 7662). Through real routers, with the app's
//! scopes declared and enforced, and the RFC 9728 metadata installed.
//!
//! The second half is hostile input from the network: a fake provider written byte by byte,
//! serving oversized, malformed, slow and lying documents.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use auth_core::{
    AuthError, Authenticated, Scopes,
    resource_metadata::ProtectedResourceMetadata,
    secured,
    security::CredentialLifetime,
    strategies::{
        jwt::{InvalidReason, JwtError},
        oidc::{
            ClientAuth, FetchError, HttpOptions, IntrospectedToken, IntrospectionStrategy, Issuer, KeyCachePolicy,
            OidcError, OidcStrategy, ProviderToken, ProviderTokenError, SubjectId,
        },
    },
};
use auth_tests::idp::TestIdp;
use axum::{
    Form, Json, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, Request, StatusCode, header},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const API: &str = "https://api.example.test";
const ALGS: [&str; 7] = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"];

/// The scopes of the API under test.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read items.
    #[scope("items:read")]
    ItemsRead,
    /// Create items.
    #[scope("items:write")]
    ItemsWrite,
    /// Administer the API.
    #[scope("admin")]
    Admin,
}

#[secured(scopes = ["items:read"])]
async fn read_items(Authenticated(token): Authenticated<ProviderToken>) -> Json<Value> {
    Json(json!([{ "item_id": "Foo", "owner": token.subject() }]))
}

#[secured(scopes = ["items:write"])]
async fn create_item(_token: Authenticated<ProviderToken>) -> StatusCode {
    StatusCode::CREATED
}

#[secured(scopes = ["admin"])]
async fn admin(_token: Authenticated<ProviderToken>) -> Json<Value> {
    Json(json!({ "admin": true }))
}

#[secured(scopes = ["items:read"])]
async fn read_opaque(Authenticated(token): Authenticated<IntrospectedToken>) -> Json<Value> {
    Json(json!({ "client_id": token.client_id, "scopes": token.scopes }))
}

/// The API, with its protected-resource metadata naming the issuers it trusts.
fn app(strategy: OidcStrategy) -> Router {
    let mut metadata = ProtectedResourceMetadata::new(API).unwrap().scopes::<Scope>();
    for issuer in strategy.issuers() {
        metadata = metadata.authorization_server(issuer);
    }
    let routes = Router::new()
        .route("/items", get(read_items).post(create_item))
        .route("/admin", get(admin))
        .with_state(strategy);
    metadata.install(routes)
}

/// One provider with a key of every algorithm, shared by the tests that neither stop it nor
/// count its fetches. It exits with the test process (its stdin closes).
fn shared_idp() -> &'static TestIdp {
    static IDP: OnceLock<TestIdp> = OnceLock::new();
    IDP.get_or_init(|| TestIdp::start_with(&ALGS, None))
}

async fn fetch_token(idp: &TestIdp, client: &str, scope: &str, resource: &str) -> String {
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .basic_auth(client, Some(format!("{client}-secret")))
        .form(&[("grant_type", "client_credentials"), ("scope", scope), ("resource", resource)])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn strategy_for(idp: &TestIdp, policy: KeyCachePolicy) -> OidcStrategy {
    OidcStrategy::builder(Issuer::new(&idp.issuer).audience(API)).key_cache(policy).build().await.unwrap()
}

/// A policy for tests: refetches allowed as often as asked.
fn eager() -> KeyCachePolicy {
    KeyCachePolicy::default().refetch_interval(Duration::ZERO)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn call(app: &Router, method: &str, path: &str, token: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply { status, headers, body }
}

fn challenge(reply: &Reply) -> &str {
    reply.headers.get(header::WWW_AUTHENTICATE).map_or("", |v| v.to_str().unwrap())
}

/// A token with the header replaced (its signature no longer matches; the header is checked
/// first).
fn with_header(token: &str, header: Value) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Against oidc-provider
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_right_scope_is_200_and_a_missing_one_401_or_403() {
    let idp = shared_idp();
    let app = app(strategy_for(idp, KeyCachePolicy::default()).await);
    let metadata_url = format!("{API}/.well-known/oauth-protected-resource");
    let reader = fetch_token(idp, "app", "items:read", API).await;
    assert_eq!(header_of(&reader)["typ"], "at+jwt");

    let items = call(&app, "GET", "/items", Some(&reader)).await;
    assert_eq!(items.status, 200);
    assert_eq!(items.body, json!([{ "item_id": "Foo", "owner": "app" }]));

    let admin = call(&app, "GET", "/admin", Some(&reader)).await;
    assert_eq!(admin.status, 401);
    assert_eq!(admin.body, json!({ "detail": "Not enough permissions" }));
    assert_eq!(challenge(&admin), format!(r#"Bearer scope="admin", resource_metadata="{metadata_url}""#));
    assert_eq!(call(&app, "POST", "/items", Some(&reader)).await.status, 401);

    let writer = fetch_token(idp, "app", "items:read items:write admin", API).await;
    assert_eq!(call(&app, "POST", "/items", Some(&writer)).await.status, 201);
    assert_eq!(call(&app, "GET", "/admin", Some(&writer)).await.body, json!({ "admin": true }));

    let anonymous = call(&app, "GET", "/items", None).await;
    assert_eq!(
        (anonymous.status, &anonymous.body),
        (StatusCode::UNAUTHORIZED, &json!({ "detail": "Not authenticated" }))
    );
    assert_eq!(challenge(&anonymous), format!(r#"Bearer resource_metadata="{metadata_url}""#));

    let garbage = call(&app, "GET", "/items", Some("not.a.token")).await;
    assert_eq!(garbage.body, json!({ "detail": "Could not validate credentials" }));
    assert_eq!(challenge(&garbage), format!(r#"Bearer scope="items:read", resource_metadata="{metadata_url}""#));

    // RFC 6750 style: 403 insufficient_scope, with the pointer kept on either side of the layer.
    let inner = app.clone().layer(axum::middleware::map_response(AuthError::rfc6750));
    let admin = call(&inner, "GET", "/admin", Some(&reader)).await;
    assert_eq!(admin.status, 403);
    assert_eq!(
        challenge(&admin),
        format!(r#"Bearer error="insufficient_scope", scope="admin", resource_metadata="{metadata_url}""#)
    );
    let strategy = strategy_for(idp, KeyCachePolicy::default()).await;
    let outer = ProtectedResourceMetadata::new(API).unwrap().install(
        Router::new()
            .route("/admin", get(admin_route))
            .layer(axum::middleware::map_response(AuthError::rfc6750))
            .with_state(strategy),
    );
    let admin = call(&outer, "GET", "/admin", Some(&reader)).await;
    assert_eq!(admin.status, 403);
    assert!(challenge(&admin).ends_with(&format!(r#", resource_metadata="{metadata_url}""#)), "{}", challenge(&admin));
}

#[secured(scopes = ["admin"])]
async fn admin_route(_token: Authenticated<ProviderToken>) -> &'static str {
    "admin"
}

#[tokio::test]
async fn the_protected_resource_metadata_comes_from_the_declarations() {
    let idp = shared_idp();
    let app = app(strategy_for(idp, KeyCachePolicy::default()).await);
    let document = call(&app, "GET", "/.well-known/oauth-protected-resource", None).await;
    assert_eq!(document.status, 200);
    assert_eq!(document.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        document.body,
        json!({
            "resource": API,
            "authorization_servers": [idp.issuer],
            "scopes_supported": ["items:read", "items:write", "admin"],
            "bearer_methods_supported": ["header"],
        })
    );
}

/// Who is asking, if anyone with `items:read`.
#[utoipa::path(get, path = "/maybe", responses((status = 200, description = "The subject, or nothing")))]
#[secured(scopes = ["items:read"])]
async fn maybe(token: Option<Authenticated<ProviderToken>>) -> String {
    token.and_then(|token| token.subject().map(str::to_owned)).unwrap_or_default()
}

/// The items, documented.
#[utoipa::path(get, path = "/items", responses((status = 200, description = "Items")))]
#[secured(scopes = ["items:read"])]
async fn documented_items(Authenticated(token): Authenticated<ProviderToken>) -> String {
    token.subject().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn provider_tokens_are_credentials_enforced_optional_and_documented() {
    let idp = shared_idp();
    let strategy = strategy_for(idp, KeyCachePolicy::default()).await;
    let app = Router::new().route("/maybe", get(maybe)).with_state(strategy.clone());
    let reader = fetch_token(idp, "app", "items:read", API).await;
    let writer = fetch_token(idp, "app", "items:write", API).await;
    let ask = |token| call(&app, "GET", "/maybe", token);
    let reply = ask(Some(&reader)).await;
    assert_eq!((reply.status, reply.body), (StatusCode::OK, json!("app")));
    // `Option<_>` never rejects: no token, a bad one, one without the scope are all `None`.
    for token in [None, Some("garbage"), Some(writer.as_str())] {
        let reply = ask(token).await;
        assert_eq!((reply.status, reply.body), (StatusCode::OK, Value::Null), "{token:?}");
    }

    let (_, mut api) = utoipa_axum::router::OpenApiRouter::<OidcStrategy>::new()
        .routes(auth_core::routes!(documented_items))
        .routes(auth_core::routes!(maybe))
        .split_for_parts();
    let bare = {
        let mut api = api.clone();
        auth_core::openapi::SecurityDoc::new().apply(&mut api);
        serde_json::to_value(&api).unwrap()
    };
    // Without being told where the provider is, the credential is a bearer JWT…
    assert_eq!(
        bare["components"]["securitySchemes"]["OpenIdConnect"],
        json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT" })
    );
    // …and with it, an `openIdConnect` scheme on the discovery document.
    auth_core::openapi::SecurityDoc::new().scheme::<ProviderToken>(strategy.openapi_scheme()).apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["OpenIdConnect"],
        json!({ "type": "openIdConnect", "openIdConnectUrl": format!("{}/.well-known/openid-configuration", idp.issuer) })
    );
    assert_eq!(doc["paths"]["/items"]["get"]["security"], json!([{ "OpenIdConnect": ["items:read"] }]));
    assert_eq!(doc["paths"]["/maybe"]["get"]["security"], json!([{ "OpenIdConnect": ["items:read"] }, {}]));
}

#[tokio::test]
async fn wrong_audience_and_wrong_issuer_are_rejected() {
    let idp = shared_idp();
    let strategy = strategy_for(idp, KeyCachePolicy::default()).await;
    let app = app(strategy.clone());

    let other_api = fetch_token(idp, "app", "items:read", "https://other.example.test").await;
    assert_eq!(strategy.verify(&other_api).await, Err(JwtError::Invalid(InvalidReason::WrongAudience).into()));
    assert_eq!(call(&app, "GET", "/items", Some(&other_api)).await.status, 401);

    // Another provider's token, to an API that trusts only this one: its key is unknown here
    // (a refetch finds none), and its `iss` is not ours.
    let stranger = TestIdp::start();
    let foreign = fetch_token(&stranger, "app", "items:read", API).await;
    assert_eq!(call(&app, "GET", "/items", Some(&foreign)).await.status, 401);
    // Trusting that provider under another audience does not make its token ours either.
    let both = OidcStrategy::builder(Issuer::new(&idp.issuer).audience(API))
        .issuer(Issuer::new(&stranger.issuer).audience("https://other.example.test"))
        .build()
        .await
        .unwrap();
    assert_eq!(both.verify(&foreign).await, Err(JwtError::Invalid(InvalidReason::WrongAudience).into()));
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let idp = shared_idp();
    let strategy =
        OidcStrategy::builder(Issuer::new(&idp.issuer).audience("https://short.example.test").leeway(Duration::ZERO))
            .build()
            .await
            .unwrap();
    let token = fetch_token(idp, "app", "items:read", "https://short.example.test").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(strategy.verify(&token).await, Err(JwtError::Expired.into()));
}

#[tokio::test]
async fn every_algorithm_the_provider_signs_with_verifies_pinned_to_its_key() {
    let idp = shared_idp();
    for alg in ALGS {
        let audience = format!("https://{}.example.test", alg.to_lowercase());
        let strategy = OidcStrategy::builder(Issuer::new(&idp.issuer).audience(&audience)).build().await.unwrap();
        let token = fetch_token(idp, "app", "items:read", &audience).await;
        assert_eq!(header_of(&token)["alg"], alg);
        let verified = strategy.verify(&token).await.unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.scopes(), ["items:read"]);
        assert_eq!(verified.client_id(), Some("app"));
        assert_eq!(&*verified.issuer, idp.issuer);

        // The same key under another algorithm's name is refused before any crypto.
        let other = if alg == "RS256" { "PS256" } else { "RS256" };
        let mut header = header_of(&token);
        header["alg"] = json!(other);
        assert_eq!(
            strategy.verify(&with_header(&token, header)).await,
            Err(JwtError::Invalid(InvalidReason::AlgorithmNotAllowed).into()),
            "{alg} key, token saying {other}"
        );
    }
}

#[tokio::test]
async fn provider_claims_map_to_scopes_and_scp_counts() {
    let idp = shared_idp();
    // The `roles` client's tokens carry scope "items:read", scp ["items:write"] and
    // realm_access.roles ["admin"], as Keycloak and Okta write them.
    let token = fetch_token(idp, "roles", "items:read", API).await;
    let plain = app(strategy_for(idp, KeyCachePolicy::default()).await);
    assert_eq!(call(&plain, "POST", "/items", Some(&token)).await.status, 201);
    assert_eq!(call(&plain, "GET", "/admin", Some(&token)).await.status, 401);

    let keycloak = OidcStrategy::builder(
        Issuer::new(&idp.issuer).audience(API).scopes_from(Issuer::scopes_and_claim(&["realm_access", "roles"])),
    )
    .build()
    .await
    .unwrap();
    assert_eq!(keycloak.verify(&token).await.unwrap().scopes(), ["items:read", "items:write", "admin"]);
    assert_eq!(call(&app(keycloak), "GET", "/admin", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn rfc_9068_access_tokens_can_be_required() {
    let idp = shared_idp();
    let strict = OidcStrategy::builder(Issuer::new(&idp.issuer).audience(API).require_access_token_type())
        .build()
        .await
        .unwrap();
    let token = fetch_token(idp, "app", "items:read", API).await;
    assert!(strict.verify(&token).await.is_ok());
    let mut header = header_of(&token);
    header["typ"] = json!("JWT");
    assert_eq!(
        strict.verify(&with_header(&token, header)).await,
        Err(JwtError::Invalid(InvalidReason::WrongType).into())
    );
}

#[tokio::test]
async fn keys_rotate_without_restarting_the_api() {
    let mut idp = TestIdp::start();
    let strategy = strategy_for(&idp, eager()).await;
    let app = app(strategy);
    let old = fetch_token(&idp, "app", "items:read", API).await;
    assert_eq!(call(&app, "GET", "/items", Some(&old)).await.status, 200);
    let old_kid = idp.kids["RS256"].clone();

    idp.restart_with_new_keys();
    assert_ne!(idp.kids["RS256"], old_kid);
    let new = fetch_token(&idp, "app", "items:read", API).await;
    assert_eq!(header_of(&new)["kid"], idp.kids["RS256"]);
    assert_eq!(idp.jwks_fetches(), 0);
    assert_eq!(call(&app, "GET", "/items", Some(&new)).await.status, 200);
    assert_eq!(idp.jwks_fetches(), 1, "the unknown kid made one fetch");
    assert_eq!(call(&app, "GET", "/items", Some(&new)).await.status, 200);
    assert_eq!(idp.jwks_fetches(), 1, "and the new key is cached");
    // The provider no longer publishes the old key: its tokens are refused.
    assert_eq!(call(&app, "GET", "/items", Some(&old)).await.status, 401);
}

#[tokio::test]
async fn with_the_provider_down_cached_keys_work_and_unknown_keys_are_a_clean_401() {
    let mut idp = TestIdp::start();
    let app = app(strategy_for(&idp, eager()).await);
    let token = fetch_token(&idp, "app", "items:read", API).await;
    let mut unknown = header_of(&token);
    unknown["kid"] = json!("rotated-meanwhile");
    let unknown = with_header(&token, unknown);

    idp.stop();
    assert_eq!(call(&app, "GET", "/items", Some(&token)).await.status, 200);
    let started = Instant::now();
    let refused = call(&app, "GET", "/items", Some(&unknown)).await;
    assert_eq!(
        (refused.status, refused.body),
        (StatusCode::UNAUTHORIZED, json!({ "detail": "Could not validate credentials" }))
    );
    assert!(started.elapsed() < Duration::from_secs(5), "the failed refetch took {:?}", started.elapsed());
    assert_eq!(call(&app, "GET", "/items", Some(&token)).await.status, 200, "the last good keys are kept");
}

#[tokio::test]
async fn keys_past_their_limit_with_the_provider_down_are_503_until_it_returns() {
    let mut idp = TestIdp::start();
    let policy =
        eager().floor(Duration::from_secs(1)).ceiling(Duration::from_secs(1)).max_stale(Duration::from_secs(1));
    let app = app(strategy_for(&idp, policy).await);
    let token = fetch_token(&idp, "app", "items:read", API).await;
    idp.stop();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let unavailable = call(&app, "GET", "/items", Some(&token)).await;
    assert_eq!(
        (unavailable.status, unavailable.body),
        (StatusCode::SERVICE_UNAVAILABLE, json!({ "detail": "Authentication service unavailable" }))
    );
    idp.restart_with_new_keys();
    let fresh = fetch_token(&idp, "app", "items:read", API).await;
    assert_eq!(call(&app, "GET", "/items", Some(&fresh)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_unknown_kids_makes_one_fetch() {
    let mut idp = TestIdp::start();
    let interval = Duration::from_secs(3);
    let app = app(strategy_for(&idp, KeyCachePolicy::default().refetch_interval(interval)).await);
    let token = fetch_token(&idp, "app", "items:read", API).await;
    assert_eq!(idp.jwks_fetches(), 1, "discovery's fetch");
    tokio::time::sleep(interval).await;

    let burst = |token: String, made_up: bool| {
        let app = app.clone();
        async move {
            let requests = (0..1000).map(|i| {
                let token = if made_up {
                    let mut header = header_of(&token);
                    header["kid"] = json!(format!("made-up-{i}"));
                    with_header(&token, header)
                } else {
                    token.clone()
                };
                let app = app.clone();
                tokio::spawn(async move { call(&app, "GET", "/items", Some(&token)).await.status })
            });
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            for request in requests.collect::<Vec<_>>() {
                *statuses.entry(request.await.unwrap().as_u16()).or_default() += 1;
            }
            statuses
        }
    };
    assert_eq!(burst(token.clone(), true).await, [(401, 1000)].into());
    assert_eq!(idp.jwks_fetches(), 2, "1,000 unknown kids, one fetch");
    assert_eq!(burst(token.clone(), true).await, [(401, 1000)].into());
    assert_eq!(idp.jwks_fetches(), 2, "and none more within the refetch interval");

    // A real rotation: 1,000 requests with the new key wait for one fetch and all pass.
    idp.restart_with_new_keys();
    tokio::time::sleep(interval).await;
    let rotated = fetch_token(&idp, "app", "items:read", API).await;
    assert_eq!(burst(rotated, false).await, [(200, 1000)].into());
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn cache_control_of_the_key_set_is_followed() {
    let idp = TestIdp::start_with(&["RS256"], Some(1));
    let policy = KeyCachePolicy::default().floor(Duration::ZERO).refetch_interval(Duration::ZERO);
    let strategy = strategy_for(&idp, policy).await;
    let token = fetch_token(&idp, "app", "items:read", API).await;
    assert!(strategy.verify(&token).await.is_ok());
    assert_eq!(idp.jwks_fetches(), 1);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // Due: this request is served from the cache and starts a refresh in the background.
    assert!(strategy.verify(&token).await.is_ok());
    let deadline = Instant::now() + Duration::from_secs(5);
    while idp.jwks_fetches() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(idp.jwks_fetches(), 2, "max-age=1 made the set due after a second");
    assert!(strategy.verify(&token).await.is_ok());
    assert_eq!(idp.jwks_fetches(), 2, "fresh again");
}

#[tokio::test]
async fn two_issuers_at_once_each_with_its_keys_and_audience() {
    let first = shared_idp();
    let second = TestIdp::start();
    let third = TestIdp::start();
    let strategy = OidcStrategy::builder(Issuer::new(&first.issuer).audience(API))
        .issuer(Issuer::new(&second.issuer).audience("https://other.example.test"))
        .build()
        .await
        .unwrap();
    assert_eq!(strategy.issuers().collect::<Vec<_>>(), [first.issuer.as_str(), second.issuer.as_str()]);
    let app = app(strategy.clone());

    let from_first = fetch_token(first, "app", "items:read", API).await;
    let from_second = fetch_token(&second, "app", "items:read", "https://other.example.test").await;
    for (token, issuer) in [(&from_first, &first.issuer), (&from_second, &second.issuer)] {
        assert_eq!(&*strategy.verify(token).await.unwrap().issuer, issuer.as_str());
        assert_eq!(call(&app, "GET", "/items", Some(token)).await.status, 200);
    }
    // Each issuer with its own audience.
    let second_for_api = fetch_token(&second, "app", "items:read", API).await;
    assert_eq!(strategy.verify(&second_for_api).await, Err(JwtError::Invalid(InvalidReason::WrongAudience).into()));
    // An issuer nobody configured.
    let from_third = fetch_token(&third, "app", "items:read", API).await;
    assert_eq!(strategy.verify(&from_third).await, Err(ProviderTokenError::UnknownIssuer));
    assert_eq!(call(&app, "GET", "/items", Some(&from_third)).await.status, 401);
    // A token of the second issuer claiming to be the first's: the first's keys do not know it.
    let mut forged = header_of(&from_second);
    forged["kid"] = json!(first.kids["RS256"]);
    let (_, rest) = from_second.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let payload = json!({ "iss": first.issuer, "aud": API, "exp": 4_000_000_000u64, "scope": "admin" });
    let forged = format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    assert_eq!(strategy.verify(&forged).await, Err(JwtError::Invalid(InvalidReason::BadSignature).into()));
}

#[secured(scopes = ["items:read"])]
async fn whoami(Authenticated(token): Authenticated<ProviderToken>) -> Json<Value> {
    let id = token.identity().expect("a sub");
    Json(json!({ "issuer": &*id.issuer, "subject": id.subject }))
}

#[tokio::test]
async fn two_issuers_giving_the_same_sub_are_two_subjects() {
    let first = shared_idp();
    let second = TestIdp::start();
    let strategy = OidcStrategy::builder(Issuer::new(&first.issuer).audience(API))
        .issuer(Issuer::new(&second.issuer).audience(API))
        .build()
        .await
        .unwrap();
    // Both providers have a client `app`; a client-credentials token's `sub` is its client id.
    let from_first = strategy.verify(&fetch_token(first, "app", "items:read", API).await).await.unwrap();
    let from_second = strategy.verify(&fetch_token(&second, "app", "items:read", API).await).await.unwrap();
    assert_eq!(from_first.subject(), Some("app"));
    assert_eq!(from_first.subject(), from_second.subject(), "the bare sub collides");

    let (first_id, second_id) = (from_first.identity().unwrap(), from_second.identity().unwrap());
    assert_eq!(first_id, SubjectId { issuer: first.issuer.as_str().into(), subject: "app".into() });
    assert_eq!(second_id, SubjectId { issuer: second.issuer.as_str().into(), subject: "app".into() });
    assert_ne!(first_id, second_id, "(iss, sub) does not");
    // Users keyed by the identity: two accounts, and a second token of the first issuer finds
    // the first account again.
    let mut users: HashMap<SubjectId, &str> = HashMap::new();
    users.insert(first_id.clone(), "account at the first issuer");
    users.insert(second_id.clone(), "account at the second issuer");
    assert_eq!(users.len(), 2);
    let again = strategy.verify(&fetch_token(first, "app", "items:read", API).await).await.unwrap();
    assert_eq!(users[&again.identity().unwrap()], "account at the first issuer");

    // Through a handler: each token names its own issuer.
    let app = Router::new().route("/whoami", get(whoami)).with_state(strategy);
    for (token, issuer) in [
        (fetch_token(first, "app", "items:read", API).await, &first.issuer),
        (fetch_token(&second, "app", "items:read", API).await, &second.issuer),
    ] {
        let reply = call(&app, "GET", "/whoami", Some(&token)).await;
        assert_eq!((reply.status, reply.body), (StatusCode::OK, json!({ "issuer": issuer, "subject": "app" })));
    }
}

async fn introspection(idp: &TestIdp, cache_ttl: Duration) -> IntrospectionStrategy {
    IntrospectionStrategy::builder(ClientAuth::basic("api", "api-secret"))
        .issuer(&idp.issuer)
        .audience("https://opaque.example.test")
        .cache_ttl(cache_ttl)
        .build()
        .await
        .unwrap()
}

fn opaque_app(strategy: IntrospectionStrategy) -> Router {
    Router::new().route("/opaque", get(read_opaque)).with_state(strategy)
}

async fn revoke(idp: &TestIdp, token: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/token/revocation", idp.issuer))
        .basic_auth("app", Some("app-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_introspected_token_is_active_then_revoked_within_the_bound() {
    let idp = shared_idp();
    let bound = Duration::from_secs(2);
    let app = opaque_app(introspection(idp, bound).await);
    let token = fetch_token(idp, "app", "items:read", "https://opaque.example.test").await;
    assert!(!token.contains('.'), "an opaque token");

    let active = call(&app, "GET", "/opaque", Some(&token)).await;
    assert_eq!((active.status, active.body), (StatusCode::OK, json!({ "client_id": "app", "scopes": ["items:read"] })));
    // The answer was cached before this instant, so it expires before `cached_at + bound`.
    let cached_at = Instant::now();
    revoke(idp, &token).await;
    // Within the bound the cached answer may hold; every request started past it is refused.
    let mut seen = Vec::new();
    while cached_at.elapsed() < bound + Duration::from_secs(1) {
        let started = cached_at.elapsed();
        let status = call(&app, "GET", "/opaque", Some(&token)).await.status;
        seen.push((started, status));
        if status == StatusCode::OK {
            assert!(started < bound, "accepted {started:?} after caching, past the {bound:?} bound");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen.first().map(|(_, status)| *status),
        Some(StatusCode::OK),
        "cached right after revocation: {seen:?}"
    );
    assert!(
        seen.iter().filter(|(started, _)| *started >= bound).all(|(_, status)| *status == StatusCode::UNAUTHORIZED),
        "{seen:?}"
    );
    assert!(seen.iter().any(|(started, _)| *started >= bound), "{seen:?}");

    // Without a cache, revocation takes effect on the next request.
    let uncached = opaque_app(introspection(idp, Duration::ZERO).await);
    let token = fetch_token(idp, "app", "items:read", "https://opaque.example.test").await;
    assert_eq!(call(&uncached, "GET", "/opaque", Some(&token)).await.status, 200);
    revoke(idp, &token).await;
    assert_eq!(call(&uncached, "GET", "/opaque", Some(&token)).await.status, 401);
}

/// A long-lived handler (an event stream, a WebSocket) with a provider token: when does the
/// token end, by the credential's own account?
#[secured(scopes = ["items:read"])]
async fn provider_lifetime(_token: Authenticated<ProviderToken>, lifetime: CredentialLifetime) -> String {
    let at = lifetime.expires_at().expect("a provider JWT says when it expires");
    at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string()
}

/// The same with an introspected token, waiting for it to end (re-checked every 100 ms).
#[secured(scopes = ["items:read"])]
async fn introspected_lifetime(
    Authenticated(token): Authenticated<IntrospectedToken>,
    lifetime: CredentialLifetime,
) -> String {
    let lifetime = lifetime.recheck_every(Duration::from_millis(100));
    assert_eq!(
        lifetime.expires_at().map(|at| at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()),
        token.exp,
        "the connection ends at the introspected exp"
    );
    match tokio::time::timeout(Duration::from_secs(10), lifetime.ended()).await {
        Ok(ended) => ended.reason().to_owned(),
        Err(_) => "still open".to_owned(),
    }
}

#[tokio::test]
async fn connections_opened_with_provider_tokens_end_with_the_token() {
    let idp = shared_idp();
    let strategy = strategy_for(idp, KeyCachePolicy::default()).await;
    let app = Router::new().route("/lifetime", get(provider_lifetime)).with_state(strategy);
    let token = fetch_token(idp, "app", "items:read", API).await;
    let exp = payload_of(&token)["exp"].as_u64().unwrap();
    let reply = call(&app, "GET", "/lifetime", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body, json!(exp), "ends at the token's exp");

    // An introspected token: revoked at the provider while the connection is open, the
    // re-check (uncached introspection) ends it.
    let strategy = introspection(idp, Duration::ZERO).await;
    let app = Router::new().route("/lifetime", get(introspected_lifetime)).with_state(strategy);
    let token = fetch_token(idp, "app", "items:read", "https://opaque.example.test").await;
    let open = tokio::spawn({
        let (app, token) = (app.clone(), token.clone());
        async move { call(&app, "GET", "/lifetime", Some(&token)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    revoke(idp, &token).await;
    let reply = open.await.unwrap();
    assert_eq!((reply.status, reply.body), (StatusCode::OK, json!("Token revoked")));
}

/// The payload of a JWT, unverified.
fn payload_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn introspection_refuses_inactive_foreign_and_expired_tokens() {
    let idp = shared_idp();
    let strategy = introspection(idp, Duration::from_secs(60)).await;
    let app = opaque_app(strategy.clone());

    let unknown = call(&app, "GET", "/opaque", Some("DPb-ZjTCSdbdO6hyExlQcPTSvova7S2CQQsB_XpF57o")).await;
    assert_eq!(
        (unknown.status, unknown.body),
        (StatusCode::UNAUTHORIZED, json!({ "detail": "Could not validate credentials" }))
    );
    assert_eq!(call(&app, "GET", "/opaque", Some("not a token")).await.status, 401);

    let other = fetch_token(idp, "app", "items:read", "https://api.example.test").await;
    assert!(strategy.verify(&other).await.is_err(), "a JWT for another audience");

    // An opaque token the provider issued for another of its APIs: active, introspected, and
    // refused for its `aud`.
    let for_another_api = fetch_token(idp, "app", "items:read", "https://opaque-short.example.test").await;
    assert_eq!(strategy.verify(&for_another_api).await, Err(ProviderTokenError::Invalid("wrong audience")));

    let forbidden = fetch_token(idp, "app", "items:write", "https://opaque.example.test").await;
    assert_eq!(call(&app, "GET", "/opaque", Some(&forbidden)).await.status, 401, "lacks items:read");

    // The cache is bounded by the token's exp: a 2 s token is refused once it is gone at the
    // provider, though the cache would keep answers for a minute.
    let short = fetch_token(idp, "app", "items:read", "https://opaque-short.example.test").await;
    let short_app = opaque_app(
        IntrospectionStrategy::builder(ClientAuth::post("api", "api-secret"))
            .issuer(&idp.issuer)
            .audience("https://opaque-short.example.test")
            .cache_ttl(Duration::from_secs(60))
            .build()
            .await
            .unwrap(),
    );
    assert_eq!(call(&short_app, "GET", "/opaque", Some(&short)).await.status, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(call(&short_app, "GET", "/opaque", Some(&short)).await.status, 401);

    // Our own credentials refused by the provider: the provider's fault, 503, not the client's.
    let wrong = IntrospectionStrategy::builder(ClientAuth::basic("api", "wrong-secret"))
        .issuer(&idp.issuer)
        .audience("https://opaque.example.test")
        .build()
        .await
        .unwrap();
    let token = fetch_token(idp, "app", "items:read", "https://opaque.example.test").await;
    assert_eq!(call(&opaque_app(wrong), "GET", "/opaque", Some(&token)).await.status, 503);
}

/// An introspection endpoint on loopback that answers what it is told for each token, as a
/// provider introspecting JWTs or another API's tokens would; it counts the requests.
struct StubIntrospection {
    issuer: String,
    endpoint: String,
    asked: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct StubState {
    answers: Arc<HashMap<String, Value>>,
    asked: Arc<AtomicUsize>,
}

async fn stub_introspect(
    State(stub): State<StubState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    assert!(
        headers.get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes().starts_with(b"Basic ")),
        "the API authenticates to the endpoint"
    );
    stub.asked.fetch_add(1, Ordering::SeqCst);
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    Json(stub.answers.get(token).cloned().unwrap_or_else(|| json!({ "active": false })))
}

impl StubIntrospection {
    /// Serves `answers(issuer)`: token → introspection answer.
    async fn start(answers: impl FnOnce(&str) -> HashMap<String, Value>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(AtomicUsize::new(0));
        let state = StubState { answers: Arc::new(answers(&issuer)), asked: Arc::clone(&asked) };
        let router = Router::new().route("/introspect", post(stub_introspect)).with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { endpoint: format!("{issuer}/introspect"), issuer, asked }
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }

    /// A strategy asking this endpoint, for the audience `OURS` unless `any_audience`.
    async fn strategy(&self, any_audience: bool) -> IntrospectionStrategy {
        let builder = IntrospectionStrategy::builder(ClientAuth::basic("api", "api-secret"))
            .issuer(&self.issuer)
            .endpoint(&self.endpoint);
        let builder = if any_audience { builder.accept_any_audience() } else { builder.audience(OURS) };
        builder.build().await.unwrap()
    }
}

/// This API's audience in the stub's answers.
const OURS: &str = "https://opaque.example.test";

/// Answers an endpoint may give for active tokens, keyed by the token sent.
fn stub_answers(issuer: &str) -> HashMap<String, Value> {
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let active = |extra: Value| {
        let mut answer = json!({
            "active": true, "iss": issuer, "aud": OURS, "scope": "items:read", "client_id": "app",
            "sub": "alice", "token_type": "Bearer", "exp": exp,
        });
        for (name, value) in extra.as_object().unwrap() {
            if value.is_null() {
                answer.as_object_mut().unwrap().remove(name);
            } else {
                answer[name] = value.clone();
            }
        }
        answer
    };
    [
        ("ours", active(json!({}))),
        ("ours-among-others", active(json!({ "aud": ["https://other.example.test", OURS] }))),
        ("foreign-aud", active(json!({ "aud": "https://other.example.test" }))),
        ("foreign-auds", active(json!({ "aud": ["https://other.example.test", "https://opaque.example.test/"] }))),
        ("no-aud", active(json!({ "aud": null }))),
        ("foreign-iss", active(json!({ "iss": "https://evil.example.test" }))),
        (
            "foreign-iss-and-aud",
            active(json!({ "iss": "https://evil.example.test", "aud": "https://other.example.test" })),
        ),
        ("refresh-token-type", active(json!({ "token_type": "refresh_token" }))),
        ("refresh-urn", active(json!({ "token_type": "urn:ietf:params:oauth:token-type:refresh_token" }))),
        ("refresh-hydra", active(json!({ "token_use": "refresh_token" }))),
        ("refresh-keycloak", active(json!({ "typ": "Refresh" }))),
        ("offline-keycloak", active(json!({ "typ": "Offline" }))),
    ]
    .into_iter()
    .map(|(token, answer)| (token.to_owned(), answer))
    .collect()
}

#[tokio::test]
async fn introspected_tokens_for_another_audience_or_issuer_or_refresh_tokens_are_refused() {
    let stub = StubIntrospection::start(stub_answers).await;
    let strategy = stub.strategy(false).await;
    let app = opaque_app(strategy.clone());

    for ours in ["ours", "ours-among-others"] {
        let reply = call(&app, "GET", "/opaque", Some(ours)).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::OK, json!({ "client_id": "app", "scopes": ["items:read"] }))
        );
    }
    let refused = [
        ("foreign-aud", "wrong audience"),
        ("foreign-auds", "wrong audience"),
        ("no-aud", "wrong audience"),
        ("foreign-iss", "wrong issuer"),
        ("foreign-iss-and-aud", "wrong issuer"),
        ("refresh-token-type", "a refresh token"),
        ("refresh-urn", "a refresh token"),
        ("refresh-hydra", "a refresh token"),
        ("refresh-keycloak", "a refresh token"),
        ("offline-keycloak", "a refresh token"),
    ];
    for (token, reason) in refused {
        // The endpoint is asked and says "active": the refusal is ours, for the stated reason.
        let asked = stub.asked();
        assert_eq!(strategy.verify(token).await, Err(ProviderTokenError::Invalid(reason)), "{token}");
        assert_eq!(stub.asked(), asked + 1, "{token}: the endpoint answered");
        // Through the app, from the cached answer: the same 401.
        let reply = call(&app, "GET", "/opaque", Some(token)).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::UNAUTHORIZED, json!({ "detail": "Could not validate credentials" })),
            "{token}"
        );
        assert_eq!(stub.asked(), asked + 1, "{token}: the cached answer is checked again");
    }

    // The explicit opt-out accepts any audience (and none), and nothing else.
    let any = stub.strategy(true).await;
    for token in ["ours", "foreign-aud", "foreign-auds", "no-aud"] {
        assert!(any.verify(token).await.is_ok(), "{token}");
    }
    for (token, reason) in refused.iter().filter(|(_, reason)| *reason != "wrong audience") {
        assert_eq!(any.verify(token).await, Err(ProviderTokenError::Invalid(reason)), "{token}");
    }
}

#[tokio::test]
async fn introspection_without_an_audience_does_not_build() {
    let stub = StubIntrospection::start(stub_answers).await;
    let error = IntrospectionStrategy::builder(ClientAuth::basic("api", "api-secret"))
        .issuer(&stub.issuer)
        .endpoint(&stub.endpoint)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(&error, OidcError::Config(_)), "{error}");
    assert!(error.to_string().contains("introspection has no audience"), "{error}");
    assert_eq!(stub.asked(), 0);
}

#[tokio::test]
async fn startup_errors_say_what_is_wrong() {
    let unreachable = OidcStrategy::builder(Issuer::new("http://127.0.0.1:9").audience(API)).build().await.unwrap_err();
    assert!(matches!(&unreachable, OidcError::Fetch { error: FetchError::Connect(_), .. }), "{unreachable}");
    assert!(unreachable.to_string().contains("http://127.0.0.1:9/.well-known/openid-configuration"), "{unreachable}");

    let idp = shared_idp();
    let no_audience = OidcStrategy::builder(Issuer::new(&idp.issuer)).build().await.unwrap_err();
    assert!(no_audience.to_string().contains("has no audience"), "{no_audience}");
    let twice = OidcStrategy::builder(Issuer::new(&idp.issuer).audience(API))
        .issuer(Issuer::new(&idp.issuer).audience(API))
        .build()
        .await
        .unwrap_err();
    assert!(twice.to_string().contains("configured twice"), "{twice}");
    let http = OidcStrategy::builder(Issuer::new("http://idp.example.test").audience(API)).build().await.unwrap_err();
    assert!(http.to_string().contains("not https"), "{http}");
}

// ---------------------------------------------------------------------------------------------
// Hostile providers
// ---------------------------------------------------------------------------------------------

/// What the fake provider answers on one path.
#[derive(Clone)]
enum Answer {
    /// 200 with this body and these extra headers, with a `Content-Length`.
    Body(Vec<u8>),
    /// 200 with this body, chunked (no `Content-Length`).
    Chunked(Vec<u8>),
    /// A `Content-Length` of 100, then one byte every 300 ms.
    Trickle,
    /// A redirect to the same path on another host.
    Redirect,
}

/// A provider written byte by byte, answering discovery and the key set as told.
struct FakeIdp {
    issuer: String,
    discovery: Arc<Mutex<Answer>>,
    jwks: Arc<Mutex<Answer>>,
}

impl FakeIdp {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") }).to_string().into_bytes();
        let fake = Self {
            issuer,
            discovery: Arc::new(Mutex::new(Answer::Body(discovery))),
            jwks: Arc::new(Mutex::new(Answer::Body(jwks(&[rsa_jwk("k1", "RS256")])))),
        };
        let (discovery, jwks) = (Arc::clone(&fake.discovery), Arc::clone(&fake.jwks));
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let (discovery, jwks) = (Arc::clone(&discovery), Arc::clone(&jwks));
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let path = String::from_utf8_lossy(&request).split(' ').nth(1).unwrap_or_default().to_owned();
                    let answer = if path.ends_with("/jwks") {
                        jwks.lock().unwrap().clone()
                    } else {
                        discovery.lock().unwrap().clone()
                    };
                    let _ = write_answer(&mut socket, answer).await;
                });
            }
        });
        fake
    }

    fn serve_discovery(&self, answer: Answer) {
        *self.discovery.lock().unwrap() = answer;
    }

    fn serve_jwks(&self, answer: Answer) {
        *self.jwks.lock().unwrap() = answer;
    }

    async fn build(&self, http: HttpOptions) -> Result<OidcStrategy, OidcError> {
        OidcStrategy::builder(Issuer::new(&self.issuer).audience(API)).http(http).key_cache(eager()).build().await
    }

    fn token(&self, kid: &str, alg: Algorithm, key: &EncodingKey) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        let claims =
            json!({ "iss": self.issuer, "aud": API, "sub": "u", "exp": 4_000_000_000u64, "scope": "items:read" });
        jsonwebtoken::encode(&header, &claims, key).unwrap()
    }
}

async fn write_answer(socket: &mut tokio::net::TcpStream, answer: Answer) -> std::io::Result<()> {
    let head =
        |extra: &str| format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n{extra}\r\n");
    match answer {
        Answer::Body(body) => {
            socket.write_all(head(&format!("Content-Length: {}\r\n", body.len())).as_bytes()).await?;
            socket.write_all(&body).await?;
        }
        Answer::Chunked(body) => {
            socket.write_all(head("Transfer-Encoding: chunked\r\n").as_bytes()).await?;
            for chunk in body.chunks(8192) {
                socket.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                socket.write_all(chunk).await?;
                socket.write_all(b"\r\n").await?;
            }
            socket.write_all(b"0\r\n\r\n").await?;
        }
        Answer::Trickle => {
            socket.write_all(head("Content-Length: 100\r\n").as_bytes()).await?;
            for _ in 0..100 {
                socket.write_all(b" ").await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        Answer::Redirect => {
            let response = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            socket.write_all(response.as_bytes()).await?;
        }
    }
    socket.shutdown().await
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("../auth-core/tests/keys/rsa_private.pem")).unwrap()
}

fn rsa_jwk(kid: &str, alg: &str) -> Value {
    let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&rsa_key(), Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg);
    jwk
}

fn ec_jwk(kid: &str, alg: &str) -> Value {
    let key = EncodingKey::from_ec_pem(include_bytes!("../auth-core/tests/keys/ec_private.pem")).unwrap();
    let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg);
    jwk
}

fn jwks(keys: &[Value]) -> Vec<u8> {
    json!({ "keys": keys }).to_string().into_bytes()
}

fn big_json(bytes: usize) -> Vec<u8> {
    json!({ "padding": "x".repeat(bytes) }).to_string().into_bytes()
}

#[tokio::test]
async fn oversized_discovery_documents_and_key_sets_are_refused() {
    let fake = FakeIdp::start().await;
    let small = HttpOptions::default().max_response_bytes(64 * 1024);
    for answer in [Answer::Body(big_json(100 * 1024)), Answer::Chunked(big_json(100 * 1024))] {
        fake.serve_discovery(answer);
        let error = fake.build(small.clone()).await.unwrap_err();
        assert!(matches!(&error, OidcError::Fetch { error: FetchError::TooLarge { limit: 65536 }, .. }), "{error}");
    }
    // The default cap, 256 KiB, against 10 MB.
    fake.serve_discovery(Answer::Chunked(big_json(10 * 1024 * 1024)));
    let error = fake.build(HttpOptions::default()).await.unwrap_err();
    assert!(matches!(&error, OidcError::Fetch { error: FetchError::TooLarge { .. }, .. }), "{error}");

    let fake = FakeIdp::start().await;
    for answer in [Answer::Body(big_json(100 * 1024)), Answer::Chunked(big_json(100 * 1024))] {
        fake.serve_jwks(answer);
        let error = fake.build(small.clone()).await.unwrap_err();
        assert!(
            matches!(&error, OidcError::Fetch { error: FetchError::TooLarge { .. }, url } if url.ends_with("/jwks"))
        );
    }
}

#[tokio::test]
async fn malformed_or_lying_discovery_documents_are_refused() {
    let fake = FakeIdp::start().await;
    let issuer = fake.issuer.clone();
    for (document, expected) in [
        (b"<html>".to_vec(), "not a valid discovery document"),
        (b"[]".to_vec(), "not a valid discovery document"),
        (b"{}".to_vec(), "not a valid discovery document"),
        (json!({ "issuer": issuer }).to_string().into_bytes(), "not a valid discovery document"),
        (json!({ "issuer": 7, "jwks_uri": "x" }).to_string().into_bytes(), "not a valid discovery document"),
        (b"{\"issuer\":".to_vec(), "not a valid discovery document"),
        (format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(), "not a valid discovery document"),
        (
            json!({ "issuer": "https://evil.example", "jwks_uri": "https://evil.example/jwks" })
                .to_string()
                .into_bytes(),
            "names the issuer",
        ),
        (json!({ "issuer": issuer, "jwks_uri": "http://evil.example/jwks" }).to_string().into_bytes(), "`jwks_uri`"),
        (json!({ "issuer": issuer, "jwks_uri": "file:///etc/passwd" }).to_string().into_bytes(), "`jwks_uri`"),
    ] {
        fake.serve_discovery(Answer::Body(document));
        let error = fake.build(HttpOptions::default()).await.unwrap_err();
        assert!(matches!(error, OidcError::Discovery { .. }), "{error}");
        assert!(error.to_string().contains(expected), "{error}");
    }
    fake.serve_discovery(Answer::Redirect);
    let error = fake.build(HttpOptions::default()).await.unwrap_err();
    assert!(matches!(error, OidcError::Fetch { error: FetchError::Status(302), .. }), "{error}");
    fake.serve_discovery(Answer::Trickle);
    let started = Instant::now();
    let error = fake.build(HttpOptions::default().timeout(Duration::from_secs(1))).await.unwrap_err();
    assert!(matches!(error, OidcError::Fetch { error: FetchError::Timeout(_), .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_http_key_set_for_an_https_issuer_is_refused() {
    // Discovery's `jwks_uri` is checked as the document is read (the malformed test above); a
    // configured one is checked before anything is fetched.
    let error = OidcStrategy::builder(
        Issuer::new("https://idp.example.test").audience(API).jwks_uri("http://127.0.0.1:9/jwks"),
    )
    .build()
    .await
    .unwrap_err();
    assert!(error.to_string().contains("is plain http, and the issuer is https"), "{error}");
}

#[tokio::test]
async fn malformed_key_sets_and_keys_are_refused_with_the_reason() {
    let fake = FakeIdp::start().await;
    let mut private = rsa_jwk("k1", "RS256");
    private["d"] = json!("AAAA");
    for (document, expected) in [
        (b"{\"keys\":".to_vec(), "not a JWK set"),
        (b"{\"keys\":{}}".to_vec(), "not a JWK set"),
        (b"null".to_vec(), "not a JWK set"),
        (jwks(&[]), "no usable signature key (the set is empty)"),
        (jwks(&[ec_jwk("k1", "RS256")]), "does not match"),
        (jwks(&[rsa_jwk("k1", "ES256")]), "does not match"),
        (jwks(&[rsa_jwk("k1", "HS256")]), "does not match"),
        (jwks(&[json!({ "kty": "oct", "kid": "k1", "k": URL_SAFE_NO_PAD.encode([7u8; 32]) })]), "symmetric"),
        (jwks(&[private]), "private key material"),
        (jwks(&[json!({ "kty": "RSA", "kid": "k1", "n": 1, "e": "AQAB" })]), "RSA key without a string `n`"),
        (jwks(&vec![rsa_jwk("k", "RS256"); 101]), "101 keys"),
    ] {
        fake.serve_jwks(Answer::Body(document));
        let error = fake.build(HttpOptions::default()).await.unwrap_err();
        assert!(matches!(error, OidcError::KeySet { .. }), "{error}");
        assert!(error.to_string().contains(expected), "{expected}: {error}");
    }
}

#[tokio::test]
async fn a_key_with_a_mismatched_alg_is_skipped_and_its_kid_unknown() {
    let fake = FakeIdp::start().await;
    fake.serve_jwks(Answer::Body(jwks(&[rsa_jwk("good", "RS256"), ec_jwk("bad", "RS256")])));
    let strategy = fake.build(HttpOptions::default()).await.unwrap();
    let good = fake.token("good", Algorithm::RS256, &rsa_key());
    assert_eq!(strategy.verify(&good).await.unwrap().scopes(), ["items:read"]);
    let ec_key = EncodingKey::from_ec_pem(include_bytes!("../auth-core/tests/keys/ec_private.pem")).unwrap();
    for token in [fake.token("bad", Algorithm::ES256, &ec_key), fake.token("bad", Algorithm::RS256, &rsa_key())] {
        assert_eq!(strategy.verify(&token).await, Err(JwtError::Invalid(InvalidReason::UnknownKid).into()));
    }
    // The token's alg never picks the algorithm: RS512 and HS256 (keyed with the public key)
    // against the RS256 key.
    let rs512 = fake.token("good", Algorithm::RS512, &rsa_key());
    let public_pem = include_bytes!("../auth-core/tests/keys/rsa_public.pem");
    let confused = fake.token("good", Algorithm::HS256, &EncodingKey::from_secret(public_pem));
    for token in [rs512, confused] {
        assert_eq!(strategy.verify(&token).await, Err(JwtError::Invalid(InvalidReason::AlgorithmNotAllowed).into()));
    }
}

#[tokio::test]
async fn a_provider_turning_hostile_after_startup_leaves_the_last_good_keys() {
    let fake = FakeIdp::start().await;
    let strategy = fake.build(HttpOptions::default().timeout(Duration::from_secs(1))).await.unwrap();
    let app = app(strategy);
    let good = fake.token("k1", Algorithm::RS256, &rsa_key());
    let unknown = fake.token("k2", Algorithm::RS256, &rsa_key());
    for answer in [
        Answer::Body(b"garbage".to_vec()),
        Answer::Chunked(big_json(1024 * 1024)),
        Answer::Trickle,
        Answer::Redirect,
        Answer::Body(jwks(&[json!({ "kty": "oct", "kid": "k2", "k": URL_SAFE_NO_PAD.encode([7u8; 32]) })])),
    ] {
        fake.serve_jwks(answer);
        // The unknown kid makes a refetch, which fails: a clean 401, never a 500.
        let refused = call(&app, "GET", "/items", Some(&unknown)).await;
        assert_eq!(
            (refused.status, refused.body),
            (StatusCode::UNAUTHORIZED, json!({ "detail": "Could not validate credentials" }))
        );
        assert_eq!(call(&app, "GET", "/items", Some(&good)).await.status, 200);
    }
}
