//! The `state` of a social login, as fastapi-users makes it: an HS256 JWT
//! `{"csrftoken", ["sub",] "aud": "fastapi-users:oauth-state", "exp"}` living one hour. The
//! `csrftoken` is also set as the `fastapiusersoauthcsrf` cookie; the callback wants both, equal.
//! `sub` names the user of an associate flow.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::{error::AuthError, strategies::jwt::now, users::ErrorCode};

/// fastapi-users' `STATE_TOKEN_AUDIENCE`.
pub(crate) const STATE_AUDIENCE: &str = "fastapi-users:oauth-state";
/// How long a state lives: one hour, as fastapi-users'.
pub(crate) const STATE_LIFETIME: Duration = Duration::from_secs(3600);
/// The longest state read; longer ones are refused before any decoding.
const MAX_STATE_LEN: usize = 2048;

#[derive(Serialize, Deserialize)]
pub(crate) struct StateClaims {
    pub(crate) csrftoken: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    aud: String,
    exp: u64,
}

/// Signs a state for `csrf` (and the user `sub` of an associate flow).
pub(crate) fn issue(key: &[u8], csrf: &str, sub: Option<String>) -> Result<String, AuthError> {
    let claims = StateClaims {
        csrftoken: csrf.to_owned(),
        sub,
        aud: STATE_AUDIENCE.to_owned(),
        exp: now() + STATE_LIFETIME.as_secs(),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key)).map_err(|error| {
        tracing::error!(%error, "could not sign an OAuth state");
        AuthError::Internal
    })
}

/// The claims of a valid state; `ACCESS_TOKEN_ALREADY_EXPIRED` for an expired one and
/// `ACCESS_TOKEN_DECODE_ERROR` for anything else (as fastapi-users answers).
pub(crate) fn read(key: &[u8], state: &str) -> Result<StateClaims, ErrorCode> {
    if state.len() > MAX_STATE_LEN {
        return Err(ErrorCode::AccessTokenDecodeError);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[STATE_AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud"]);
    validation.leeway = 0;
    match jsonwebtoken::decode::<StateClaims>(state, &DecodingKey::from_secret(key), &validation) {
        Ok(data) => Ok(data.claims),
        Err(error) if matches!(error.kind(), ErrorKind::ExpiredSignature) => Err(ErrorCode::AccessTokenAlreadyExpired),
        Err(_) => Err(ErrorCode::AccessTokenDecodeError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[9; 32];

    #[test]
    fn states_round_trip_and_refuse_everything_else() {
        let state = issue(KEY, "csrf", Some("user".into())).unwrap();
        let claims = read(KEY, &state).unwrap();
        assert_eq!((claims.csrftoken.as_str(), claims.sub.as_deref()), ("csrf", Some("user")));
        assert!(read(KEY, &issue(KEY, "csrf", None).unwrap()).unwrap().sub.is_none());

        assert_eq!(read(&[8; 32], &state).err(), Some(ErrorCode::AccessTokenDecodeError));
        for junk in ["", "a.b.c", "not a jwt", &"a".repeat(MAX_STATE_LEN + 1)] {
            assert_eq!(read(KEY, junk).err(), Some(ErrorCode::AccessTokenDecodeError), "{junk:.20}");
        }
        let other_audience = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "csrftoken": "c", "aud": "fastapi-users:verify", "exp": now() + 60 }),
            &EncodingKey::from_secret(KEY),
        )
        .unwrap();
        assert_eq!(read(KEY, &other_audience).err(), Some(ErrorCode::AccessTokenDecodeError));
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "csrftoken": "c", "aud": STATE_AUDIENCE, "exp": now() - 5 }),
            &EncodingKey::from_secret(KEY),
        )
        .unwrap();
        assert_eq!(read(KEY, &expired).err(), Some(ErrorCode::AccessTokenAlreadyExpired));
    }
}
