//! The `Authorization` header: its size limit at the boundary (a value of exactly 16 KiB is read,
//! one byte more is not), and the `BearerToken` extractor through a router. Mutation testing found
//! that nothing tested either (TESTING.md).

use auth_core::{__private::authorization_credentials, transport::BearerToken};
use axum::{
    Router,
    body::Body,
    http::{HeaderMap, HeaderValue, Request, StatusCode, header},
    routing::get,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn headers(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn a_16_kib_authorization_value_is_read_and_a_longer_one_is_not() {
    const LIMIT: usize = 16 * 1024;
    let token = "a".repeat(LIMIT - "Bearer ".len());
    let longest = format!("Bearer {token}");
    assert_eq!(longest.len(), LIMIT);
    assert_eq!(authorization_credentials(&headers(&longest), "Bearer"), Some(token.as_str()));
    let too_long = format!("{longest}a");
    assert_eq!(authorization_credentials(&headers(&too_long), "Bearer"), None);
}

async fn token(token: BearerToken) -> String {
    token.as_str().to_owned()
}

async fn maybe_token(token: Option<BearerToken>) -> String {
    token.map_or_else(|| "none".to_owned(), |token| token.as_str().to_owned())
}

/// Status, `WWW-Authenticate` and body of `GET path`, with `authorization` if given.
async fn get_with(path: &str, authorization: Option<&str>) -> (StatusCode, Option<String>, String) {
    let app = Router::new().route("/token", get(token)).route("/maybe", get(maybe_token));
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn bearer_token_extracts_the_token_or_rejects() {
    assert_eq!(get_with("/token", Some("Bearer abc.def")).await, (StatusCode::OK, None, "abc.def".to_owned()));
    let refused = (StatusCode::UNAUTHORIZED, Some("Bearer".to_owned()), r#"{"detail":"Not authenticated"}"#.to_owned());
    assert_eq!(get_with("/token", None).await, refused);
    assert_eq!(get_with("/token", Some("Basic YTpi")).await, refused);
    // Optional: never rejects.
    assert_eq!(get_with("/maybe", Some("bearer abc")).await, (StatusCode::OK, None, "abc".to_owned()));
    assert_eq!(get_with("/maybe", None).await, (StatusCode::OK, None, "none".to_owned()));
}

#[test]
fn bearer_token_debug_does_not_print_the_token() {
    assert_eq!(format!("{:?}", BearerToken("s3cret".to_owned())), "BearerToken(<redacted>)");
}
