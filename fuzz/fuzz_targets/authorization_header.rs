//! `authorization_credentials` over arbitrary header bytes: never panics, and answers `Some` only
//! for one `Authorization` header of the shape `bearer<SP>+<credentials>`, scheme in any case.
#![no_main]

use auth_core::__private::authorization_credentials;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks how many copies of the header the request carries (0, 1 or 2).
    let Some((&copies, value)) = data.split_first() else { return };
    let Ok(value) = HeaderValue::from_bytes(value) else { return };
    let mut headers = HeaderMap::new();
    for _ in 0..copies % 3 {
        headers.append(AUTHORIZATION, value.clone());
    }
    for scheme in ["Bearer", "bearer", "Basic"] {
        let Some(credentials) = authorization_credentials(&headers, scheme) else { continue };
        assert_eq!(copies % 3, 1, "a credential from {} headers", copies % 3);
        let text = value.to_str().expect("a credential from a non-visible-ASCII header");
        let (given, rest) = text.split_once(' ').expect("a credential without a space after the scheme");
        assert!(given.eq_ignore_ascii_case(scheme), "scheme {given:?} accepted as {scheme:?}");
        assert!(!credentials.is_empty(), "empty credential");
        assert!(!credentials.starts_with(' ') && !credentials.ends_with(' '), "untrimmed {credentials:?}");
        assert_eq!(rest.trim_matches(' '), credentials);
        assert!(value.len() <= 16 * 1024, "a credential from a {} byte header", value.len());
    }
});
