//! `OAuth2PasswordRequestForm::parse` over arbitrary bodies: never panics, and whatever it
//! accepts has a non-empty username and password and no `grant_type` other than `password`.
#![no_main]

use auth_core::{AuthError, OAuth2PasswordRequestForm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for strict in [false, true] {
        match OAuth2PasswordRequestForm::parse(data, strict) {
            Ok(form) => {
                assert!(!form.username.is_empty() && !form.password.is_empty());
                match form.grant_type.as_deref() {
                    Some("password") => {}
                    None => assert!(!strict, "strict form accepted without grant_type"),
                    Some(other) => panic!("grant_type {other:?} accepted"),
                }
                assert!(form.scopes.iter().all(|s| !s.is_empty() && !s.contains(char::is_whitespace)));
                // `Debug` never depends on the secrets.
                let mut blank = form.clone();
                blank.password = "x".to_owned();
                blank.client_secret = blank.client_secret.map(|_| "x".to_owned());
                assert_eq!(format!("{form:?}"), format!("{blank:?}"), "Debug shows a secret");
            }
            Err(AuthError::InvalidForm { errors }) => assert!(!errors.is_empty()),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
});
