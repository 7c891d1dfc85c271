//! The `Authorization` header's size limit, at its boundary: a value of exactly 16 KiB is read,
//! one byte more is not. Mutation testing found that nothing pinned the limit (TESTING.md).

use auth_core::transport::authorization_credentials;
use axum::http::{HeaderMap, HeaderValue, header};

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
