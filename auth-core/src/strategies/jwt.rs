//! The JWT strategy: signs and verifies JSON Web Tokens, as FastAPI's tutorials do with PyJWT.
//!
//! A [`JwtStrategy`] holds one or more keys ([`JwtKeySet`]) and the rules a token must follow:
//! lifetime, issuer, audience and clock leeway. It issues tokens in FastAPI's shape
//! (`{"sub": …, "scopes": […], "exp": …}`) and verifies them into [`Claims`].
//!
//! ```
//! use auth_core::strategies::jwt::{JwtKey, JwtStrategy};
//!
//! let strategy = JwtStrategy::builder(JwtKey::hs256("09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"))
//!     .issuer("https://auth.example.com")
//!     .build()?;
//!
//! let token = strategy.issue("johndoe", &["me", "items"]).unwrap();
//! let claims = strategy.verify(&token)?;
//! assert_eq!(claims.sub.as_deref(), Some("johndoe"));
//! assert_eq!(claims.scopes, ["me", "items"]);
//! # Ok::<(), auth_core::strategies::jwt::JwtError>(())
//! ```
//!
//! # What verification enforces
//!
//! - The algorithm comes from the key, never from the token: a key set up for RS256 only accepts
//!   RS256. `alg: none`, and the classic HS256-signed-with-the-RSA-public-key forgery, are refused.
//! - `exp` is required and must be a number; `nbf` is checked when present; `iss` and `aud` are
//!   required and checked when the strategy is configured with them, and a token carrying an
//!   `aud` is refused by a strategy that has none (RFC 7519 §4.1.3).
//! - Tokens longer than [`JwtStrategy::DEFAULT_MAX_TOKEN_LEN`] are refused before any decoding.
//! - A `crit` header is refused: this strategy understands no JWS extension.
//! - `jku`, `x5u`, `jwk` and `x5c` headers are ignored. Keys come only from the strategy; nothing
//!   is ever fetched or trusted from a token.
//!
//! # Crypto backend
//!
//! `jsonwebtoken` runs on its `aws_lc_rs` backend. aws-lc-rs verifies RS256 about ten times
//! faster than the `rust_crypto` backend, and `rust_crypto` would pull in the `rsa` crate, which
//! carries RUSTSEC-2023-0071 (the Marvin timing side channel). The backend is installed as
//! jsonwebtoken's process default the first time a key is loaded, so the choice holds even if
//! another crate in the build enables `rust_crypto` too.

mod ecdsa;
mod wire;

use std::{borrow::Cow, collections::HashSet, fmt, str::FromStr, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Header,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, EllipticCurve, PublicKeyUse},
};
use serde::Serialize;
use serde_json::{Map, Value};

use self::wire::Typed;
use crate::{error::AuthError, security::SecurityScopes};

pub use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey,
    jwk::{Jwk, JwkSet},
};

/// [`JwtStrategy::MIN_HMAC_SECRET_LEN`], for the crate's own use.
pub(crate) const MIN_HMAC_SECRET_LEN: usize = 32;

/// The shortest secret RFC 7518 §3.2 allows for an HMAC algorithm, the size of its hash output:
/// 32 bytes for HS256, 48 for HS384, 64 for HS512; `None` for other algorithms. Every way of
/// making an HMAC key here ([`JwtKey::hs256`], [`JwtKey::new`], [`JwtKey::from_jwk`]) enforces it.
pub(crate) const fn min_hmac_secret_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::HS256 => Some(MIN_HMAC_SECRET_LEN),
        Algorithm::HS384 => Some(48),
        Algorithm::HS512 => Some(64),
        _ => None,
    }
}

impl JwtStrategy {
    /// How long an issued token lives unless configured: 15 minutes, as FastAPI's `create_access_token`.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(15 * 60);

    /// The longest token [`JwtStrategy::verify`] looks at, 8 KiB: far above any sane JWT, far below
    /// what would make decoding a cost worth attacking.
    pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

    /// The shortest HS256 secret accepted, 32 bytes: RFC 7518 §3.2 requires a key at least as long
    /// as the hash output. HS384 and HS512 need 48 and 64 bytes.
    pub const MIN_HMAC_SECRET_LEN: usize = MIN_HMAC_SECRET_LEN;

    /// The largest clock leeway a strategy accepts, one hour; a larger one defeats expiry.
    pub const MAX_LEEWAY: Duration = Duration::from_secs(60 * 60);

    /// The `typ` header of refresh tokens. A strategy without a configured token type refuses
    /// tokens of this type, so a refresh token never passes as an access token, even if both were
    /// signed with the same key by mistake.
    pub const REFRESH_TOKEN_TYPE: &str = "refresh+jwt";
}

/// Claims this strategy writes itself; [`JwtStrategy::issue_claims`] refuses them as extras.
const RESERVED_CLAIMS: [&str; 8] = ["sub", "scopes", "scope", "exp", "iat", "iss", "aud", "jti"];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a token, a key or a configuration was refused.
///
/// Nothing here carries a token, a claim value or key material: the `Display` text is safe to
/// log. Turn it into the HTTP-facing [`AuthError`] with [`JwtError::into_credentials_error`] or
/// [`JwtError::into_token_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is well formed and correctly signed, but its `exp` has passed.
    #[error("token expired")]
    Expired,
    /// The token is malformed, forged, not for us, or breaks a rule; the reason is for logs.
    #[error("invalid token: {0}")]
    Invalid(InvalidReason),
    /// A key or an option could not be used (at build time, or a strategy that cannot sign).
    #[error("invalid JWT configuration: {0}")]
    Config(String),
    /// Signing a token failed (random number generator, crypto backend, unserialisable claims).
    #[error("could not issue a token: {0}")]
    Issue(String),
}

/// Why [`JwtStrategy::verify`] refused a token. Safe to log; never shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReason {
    /// The token is the empty string.
    Empty,
    /// The token is longer than the strategy's limit; it was not decoded.
    TooLong,
    /// Not three base64url segments, or a header or payload that is not a JSON object.
    Malformed,
    /// The header's `alg` is `none`, unknown, or not the algorithm of the selected key.
    AlgorithmNotAllowed,
    /// The header has a `crit` parameter; no JWS extension is understood here.
    UnsupportedCritical,
    /// The header's `typ` is not the one this strategy expects (e.g. a refresh token offered as
    /// an access token).
    WrongType,
    /// The header's `kid` names no key of the set.
    UnknownKid,
    /// The token has no `kid` and the set holds several keys.
    MissingKid,
    /// The signature does not match the header and payload.
    BadSignature,
    /// `nbf` is in the future.
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the configured audience, or is present when none is configured.
    WrongAudience,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (e.g. `exp` as a string, `scopes` not an array).
    ClaimFormat(&'static str),
    /// An ES256/ES384 signature in its high-S spelling `(r, n − s)`, refused under a key that
    /// only accepts the low-S one (see [`JwtKey::require_low_s`]).
    HighS,
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidReason::Empty => f.write_str("empty token"),
            InvalidReason::TooLong => f.write_str("token too long"),
            InvalidReason::Malformed => f.write_str("malformed token"),
            InvalidReason::AlgorithmNotAllowed => f.write_str("algorithm not allowed"),
            InvalidReason::UnsupportedCritical => f.write_str("unsupported critical header"),
            InvalidReason::WrongType => f.write_str("wrong token type"),
            InvalidReason::UnknownKid => f.write_str("unknown key id"),
            InvalidReason::MissingKid => f.write_str("missing key id"),
            InvalidReason::BadSignature => f.write_str("bad signature"),
            InvalidReason::NotYetValid => f.write_str("token not yet valid"),
            InvalidReason::WrongIssuer => f.write_str("wrong issuer"),
            InvalidReason::WrongAudience => f.write_str("wrong audience"),
            InvalidReason::MissingClaim(claim) => write!(f, "missing claim `{claim}`"),
            InvalidReason::ClaimFormat(claim) => write!(f, "claim `{claim}` has the wrong type"),
            InvalidReason::HighS => f.write_str("high-S ECDSA signature"),
        }
    }
}

/// Into the library's HTTP error, in one of two styles. [`JwtError::Config`] and
/// [`JwtError::Issue`] are server faults and become [`AuthError::Internal`] in both. The reason is
/// logged at `info` (verification failures: "token expired", "bad signature"…, never the token)
/// or `error` (server faults).
impl JwtError {
    /// FastAPI's OAuth2 tutorial: every failure is 401 `Could not validate credentials`
    /// ([`AuthError::InvalidCredentials`]), with the required scopes in `WWW-Authenticate`.
    pub fn into_credentials_error(self, scopes: &SecurityScopes) -> AuthError {
        self.into_auth_error(|_| AuthError::InvalidCredentials { scopes: scopes.clone() })
    }

    /// The refresh-token seed: 401 `Token expired` ([`AuthError::TokenExpired`]) or 401
    /// `Invalid token` ([`AuthError::InvalidToken`]).
    pub fn into_token_error(self) -> AuthError {
        self.into_auth_error(|error| match error {
            JwtError::Expired => AuthError::TokenExpired,
            _ => AuthError::InvalidToken,
        })
    }

    fn into_auth_error(self, rejected: impl FnOnce(&JwtError) -> AuthError) -> AuthError {
        if let JwtError::Config(_) | JwtError::Issue(_) = self {
            tracing::error!(error = %self, "JWT strategy failed");
            return AuthError::Internal;
        }
        tracing::info!(reason = %self, "rejected a JWT");
        rejected(&self)
    }
}

fn invalid(reason: InvalidReason) -> JwtError {
    JwtError::Invalid(reason)
}

fn config(message: impl Into<String>) -> JwtError {
    JwtError::Config(message.into())
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// One key: the algorithm it is for, the verification half, optionally the signing half, and
/// optionally a key id (`kid`).
///
/// Constructors check the key: a pair is probed by signing and verifying a test message, so a
/// private key that does not match its public key is refused at startup, not at the first login.
#[derive(Clone)]
pub struct JwtKey {
    kid: Option<String>,
    alg: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    /// Refuse ECDSA signatures in their high-S spelling.
    low_s_only: bool,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    /// An HS256 shared secret, for signing and verifying. At least [`JwtStrategy::MIN_HMAC_SECRET_LEN`] bytes.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        let secret = secret.as_ref();
        Self::new(Algorithm::HS256, Some(EncodingKey::from_secret(secret)), DecodingKey::from_secret(secret))
    }

    /// An RS256 key pair from PEM (PKCS#1 or PKCS#8 private key, SPKI or PKCS#1 public key).
    pub fn rs256_pem(private_pem: impl AsRef<[u8]>, public_pem: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        let encoding = EncodingKey::from_rsa_pem(private_pem.as_ref()).map_err(|e| key_error("RSA private", &e))?;
        Self::new(Algorithm::RS256, Some(encoding), rsa_public(public_pem.as_ref())?)
    }

    /// A verify-only RS256 key from a PEM public key.
    pub fn rs256_public_pem(public_pem: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        Self::new(Algorithm::RS256, None, rsa_public(public_pem.as_ref())?)
    }

    /// An ES256 (P-256) key pair from PEM (PKCS#8 private key, SPKI public key).
    pub fn es256_pem(private_pem: impl AsRef<[u8]>, public_pem: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        let encoding = EncodingKey::from_ec_pem(private_pem.as_ref()).map_err(|e| key_error("EC private", &e))?;
        Self::new(Algorithm::ES256, Some(encoding), ec_public(public_pem.as_ref())?)
    }

    /// A verify-only ES256 (P-256) key from a PEM public key.
    pub fn es256_public_pem(public_pem: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        Self::new(Algorithm::ES256, None, ec_public(public_pem.as_ref())?)
    }

    /// An EdDSA (Ed25519) key pair from PEM (PKCS#8 private key, SPKI public key).
    pub fn eddsa_pem(private_pem: impl AsRef<[u8]>, public_pem: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        let encoding = EncodingKey::from_ed_pem(private_pem.as_ref()).map_err(|e| key_error("Ed25519 private", &e))?;
        Self::new(Algorithm::EdDSA, Some(encoding), ed_public(public_pem.as_ref())?)
    }

    /// A verify-only EdDSA (Ed25519) key from a PEM public key.
    pub fn eddsa_public_pem(public_pem: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        Self::new(Algorithm::EdDSA, None, ed_public(public_pem.as_ref())?)
    }

    /// A key from a JWK. Public keys (`RSA`, `EC`, `OKP`) are verify-only; a symmetric `oct` key
    /// can also sign. The JWK's `kid` becomes the key id.
    ///
    /// The algorithm is the JWK's `alg`, or when absent the usual one for the key type: RS256
    /// for RSA, ES256/ES384 by curve, EdDSA for Ed25519, HS256 for `oct`. Keys marked
    /// `"use": "enc"`, and encryption algorithms, are refused, and so is an `oct` key shorter
    /// than its algorithm's floor (RFC 7518 §3.2: 32, 48 or 64 bytes).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwtError> {
        let alg = jwk_signature_algorithm(jwk)?
            .ok_or_else(|| config("JWK is not a supported signature key (key type, curve, `alg` or `use`)"))?;
        let decoding = DecodingKey::from_jwk(jwk).map_err(|e| key_error("JWK", &e))?;
        let encoding = match &jwk.algorithm {
            AlgorithmParameters::OctetKey(_) => {
                let secret = decoding.try_get_as_bytes().map_err(|e| key_error("JWK", &e))?;
                Some(EncodingKey::from_secret(secret))
            }
            AlgorithmParameters::RSA(params) => {
                // aws-lc refuses RSA keys under 2048 bits at verification; say so now instead.
                let modulus =
                    URL_SAFE_NO_PAD.decode(&params.n).map_err(|_| config("JWK RSA modulus is not base64url"))?;
                let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < 2048 {
                    return Err(config("JWK RSA key is shorter than 2048 bits"));
                }
                None
            }
            _ => None,
        };
        let key = Self::new(alg, encoding, decoding)?;
        Ok(match &jwk.common.key_id {
            Some(kid) => key.with_kid(kid.clone()),
            None => key,
        })
    }

    /// A key from jsonwebtoken's own key types, for algorithms without a shortcut here (HS512,
    /// PS256, ES384…). The key family must match `alg`; a pair is probed as in the other
    /// constructors; an HMAC secret must be at least as long as its hash (32, 48 or 64 bytes).
    ///
    /// An ECDSA key that can sign accepts only low-S signatures, the only ones this crate issues
    /// (see [`JwtKey::require_low_s`]).
    pub fn new(alg: Algorithm, encoding: Option<EncodingKey>, decoding: DecodingKey) -> Result<Self, JwtError> {
        install_crypto_provider();
        if decoding.family() != alg.family() || encoding.as_ref().is_some_and(|e| e.family() != alg.family()) {
            return Err(config(format!("key family does not match algorithm {alg:?}")));
        }
        if min_hmac_secret_len(alg).is_some() {
            // The pair probe below proves the signing half is the same secret.
            check_hmac_secret(alg, decoding.try_get_as_bytes().map_err(|e| key_error("HMAC", &e))?)?;
        }
        if let Some(encoding) = &encoding {
            probe_pair(alg, encoding, &decoding)?;
        }
        let low_s_only = encoding.is_some();
        Ok(Self { kid: None, alg, decoding, encoding, low_s_only })
    }

    crate::macros::setters! {
        /// Refuses ES256/ES384 signatures in their high-S spelling `(r, n − s)` under this key too.
        ///
        /// ECDSA signatures are malleable: whoever holds a token can flip `s` to `n − s` and get a
        /// second valid spelling of it, with no key. This crate signs only the low-S spelling, and
        /// keys that can sign (whose tokens are all ours) refuse the other one already. A
        /// verify-only key accepts both by default, because other issuers (identity providers)
        /// sign high-S about half the time; call this when every token it verifies comes from
        /// auth-core. No effect on other algorithms.
        require_low_s() => low_s_only = true;

        /// Names the key: issued tokens carry `kid` in their header, and verification looks it up.
        with_kid(kid: impl Into<String>) => kid = Some(kid.into());
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key signs and verifies with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether the key can sign (has a private key or a shared secret).
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }
}

/// The algorithm a JWK verifies with, `None` for keys that are not for JWS signatures or not
/// supported here (`use: enc`, RSA-OAEP, P-521…), an error for a self-contradicting JWK.
fn jwk_signature_algorithm(jwk: &Jwk) -> Result<Option<Algorithm>, JwtError> {
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return Ok(None);
    }
    let inferred = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Ok(None),
        },
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => Algorithm::HS256,
        _ => return Ok(None),
    };
    let alg = match jwk.common.key_algorithm {
        None => inferred,
        Some(declared) => match Algorithm::try_from(declared) {
            Ok(alg) => alg,
            Err(_) => return Ok(None),
        },
    };
    if matches!(jwk.algorithm, AlgorithmParameters::EllipticCurve(_)) && alg != inferred {
        return Err(config(format!("JWK algorithm {alg:?} does not match its curve")));
    }
    Ok(Some(alg))
}

fn check_hmac_secret(alg: Algorithm, secret: &[u8]) -> Result<(), JwtError> {
    match min_hmac_secret_len(alg) {
        Some(min) if secret.len() < min => {
            Err(config(format!("an {alg:?} secret must be at least {min} bytes (RFC 7518 §3.2)")))
        }
        _ => Ok(()),
    }
}

fn key_error(what: &str, error: &jsonwebtoken::errors::Error) -> JwtError {
    // jsonwebtoken's key errors describe the format problem, never the key bytes.
    config(format!("could not load {what} key: {error}"))
}

fn rsa_public(pem: &[u8]) -> Result<DecodingKey, JwtError> {
    let key = DecodingKey::from_rsa_pem(pem).map_err(|e| key_error("RSA public", &e))?;
    // Parses the DER now, so a broken key fails at startup rather than as "bad signature".
    Jwk::from_decoding_key(&key, Some(Algorithm::RS256)).map_err(|e| key_error("RSA public", &e))?;
    Ok(key)
}

fn ec_public(pem: &[u8]) -> Result<DecodingKey, JwtError> {
    let key = DecodingKey::from_ec_pem(pem).map_err(|e| key_error("EC public", &e))?;
    match key.try_get_as_bytes() {
        // An uncompressed P-256 point: 0x04 || x || y.
        Ok(point) if point.len() == 65 && point[0] == 4 => Ok(key),
        _ => Err(config("EC public key is not an uncompressed P-256 point")),
    }
}

fn ed_public(pem: &[u8]) -> Result<DecodingKey, JwtError> {
    let key = DecodingKey::from_ed_pem(pem).map_err(|e| key_error("Ed25519 public", &e))?;
    match key.try_get_as_bytes() {
        Ok(point) if point.len() == 32 => Ok(key),
        _ => Err(config("Ed25519 public key must be 32 bytes")),
    }
}

/// Signs and verifies a test message, so mismatched or broken pairs fail at startup.
fn probe_pair(alg: Algorithm, encoding: &EncodingKey, decoding: &DecodingKey) -> Result<(), JwtError> {
    const PROBE: &[u8] = b"auth-core key probe";
    let signature = jsonwebtoken::crypto::sign(PROBE, encoding, alg).map_err(|e| key_error("private", &e))?;
    match jsonwebtoken::crypto::verify(&signature, PROBE, decoding, alg) {
        Ok(true) => Ok(()),
        _ => Err(config("private and public keys do not match")),
    }
}

/// Makes aws-lc-rs jsonwebtoken's process-wide backend. If something installed a provider
/// before us, that one stays; installing is a no-op after the first call.
fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

/// Several keys told apart by `kid`, for rotation: one signs, all verify.
///
/// To rotate, add the new key as the signing key and keep the old one as a verification key
/// until the tokens it signed have expired, then drop it.
///
/// Rules checked when the strategy is built: the set is not empty; with more than one key,
/// every key has a `kid` and no two share one; the signing key, if any, can sign.
///
/// At verification, a token whose `kid` names no key is refused, and so is a token without
/// `kid` when the set holds several keys. A set of exactly one key without a `kid` accepts any
/// `kid` (an issuer may add one that we never configured).
#[derive(Clone, Debug, Default)]
pub struct JwtKeySet {
    keys: Vec<JwtKey>,
    signing: Option<usize>,
}

impl JwtKeySet {
    /// An empty set; add keys with [`JwtKeySet::signing_key`] and [`JwtKeySet::verification_key`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of one key, which signs if it can.
    pub fn single(key: JwtKey) -> Self {
        let signing = key.can_sign().then_some(0);
        Self { keys: vec![key], signing }
    }

    /// Adds the key that signs new tokens (it verifies too). A previous signing key stays as a
    /// verification key.
    pub fn signing_key(mut self, key: JwtKey) -> Self {
        self.keys.push(key);
        self.signing = Some(self.keys.len() - 1);
        self
    }

    /// Adds a key that only verifies (an older key during rotation, or someone else's public key).
    pub fn verification_key(mut self, key: JwtKey) -> Self {
        self.keys.push(key);
        self
    }

    /// A verify-only set from a JWKS document (e.g. an identity provider's `jwks_uri`, fetched
    /// by the application; this library fetches nothing). Encryption keys and unsupported key
    /// types or curves are skipped; a supported key that fails to load is an error, and so is a
    /// set left empty.
    pub fn from_jwk_set(set: &JwkSet) -> Result<Self, JwtError> {
        let mut keys = Self::new();
        for jwk in &set.keys {
            if jwk_signature_algorithm(jwk)?.is_some() {
                keys = keys.verification_key(JwtKey::from_jwk(jwk)?);
            }
        }
        if keys.is_empty() {
            return Err(config("JWK set has no usable signature key"));
        }
        Ok(keys)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn validate(&self) -> Result<(), JwtError> {
        if self.keys.is_empty() {
            return Err(config("key set is empty"));
        }
        if self.keys.len() > 1 {
            let mut seen = HashSet::new();
            for key in &self.keys {
                let kid = key.kid.as_deref().ok_or_else(|| config("every key of a multi-key set needs a kid"))?;
                if !seen.insert(kid) {
                    return Err(config(format!("duplicate kid `{kid}` in key set")));
                }
            }
        }
        if let Some(index) = self.signing
            && !self.keys[index].can_sign()
        {
            return Err(config("the signing key has no private half"));
        }
        Ok(())
    }

    /// The key a token's header points at, by the rules in the type's docs.
    fn select(&self, kid: Option<&str>) -> Result<usize, JwtError> {
        match (kid, self.keys.as_slice()) {
            (_, [only]) if only.kid.is_none() => Ok(0),
            (Some(kid), keys) => {
                keys.iter().position(|key| key.kid.as_deref() == Some(kid)).ok_or(invalid(InvalidReason::UnknownKid))
            }
            (None, [_]) => Ok(0),
            (None, _) => Err(invalid(InvalidReason::MissingKid)),
        }
    }
}

/// A key set of one key, which signs if it can ([`JwtKeySet::single`]).
impl From<JwtKey> for JwtKeySet {
    fn from(key: JwtKey) -> Self {
        Self::single(key)
    }
}

/// A key as its constructor returned it, so that [`JwtStrategy::builder`] takes
/// `JwtKey::hs256(secret)` as is and reports a key error at build time.
impl TryFrom<Result<JwtKey, JwtError>> for JwtKeySet {
    type Error = JwtError;

    fn try_from(key: Result<JwtKey, JwtError>) -> Result<Self, JwtError> {
        key.map(Self::single)
    }
}

/// A key set as its constructor returned it ([`JwtKeySet::from_jwk_set`]).
impl TryFrom<Result<JwtKeySet, JwtError>> for JwtKeySet {
    type Error = JwtError;

    fn try_from(keys: Result<JwtKeySet, JwtError>) -> Result<Self, JwtError> {
        keys
    }
}

/// For [`JwtStrategy::builder`]'s bound: a conversion that cannot fail.
impl From<std::convert::Infallible> for JwtError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

/// The verified claims of a token.
///
/// `scopes` gathers FastAPI's `scopes` array, RFC 9068's space-separated `scope` string and the
/// `scp` claim identity providers write (Entra ID as a string, Okta as an array), without
/// duplicates. Every claim not given a field here (`iss`, `aud`,
/// `nbf`, custom claims…) is in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claims {
    /// The subject (`sub`): in FastAPI's tutorial, the username.
    pub sub: Option<String>,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Expiry (`exp`), seconds since the Unix epoch.
    pub exp: u64,
    /// Issued-at (`iat`), seconds since the Unix epoch, if present.
    pub iat: Option<u64>,
    /// The token's unique id (`jti`), if present.
    pub jti: Option<String>,
    /// Every other claim.
    pub extra: Map<String, Value>,
}

impl Claims {
    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }

    /// The claims of a correctly signed token, once its registered claims have passed the
    /// strategy's rules, in jsonwebtoken's order (issuer and audience present, `exp` and `nbf`
    /// numbers, expiry, not-before, issuer, audience), then this crate's own (`exp` present, and
    /// `iat`, `sub`, `jti`, `scopes` and `scope` of the right types).
    fn from_wire(set: wire::ClaimsSet, rules: &Inner, now: u64) -> Result<Self, JwtError> {
        let wire::ClaimsSet { exp, iat, sub, jti, scopes: scope_list, scope, scp, extra } = set;
        let issuer = extra.get("iss").map(string_or_strings);
        let audience = extra.get("aud").map(string_or_strings);
        if rules.issuer.is_some() && !matches!(issuer, Some(Typed::Ok(_))) {
            return Err(invalid(InvalidReason::MissingClaim("iss")));
        }
        if rules.audience.is_some() && !matches!(audience, Some(Typed::Ok(_))) {
            return Err(invalid(InvalidReason::MissingClaim("aud")));
        }
        let nbf = extra.get("nbf").map(numeric_date);
        if matches!(exp, Some(Typed::Wrong)) {
            return Err(invalid(InvalidReason::ClaimFormat("exp")));
        }
        if matches!(nbf, Some(Typed::Wrong)) {
            return Err(invalid(InvalidReason::ClaimFormat("nbf")));
        }
        let leeway = rules.leeway.as_secs();
        if let Some(Typed::Ok(exp)) = exp
            && exp < now.saturating_sub(leeway)
        {
            return Err(JwtError::Expired);
        }
        if let Some(Typed::Ok(nbf)) = nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(invalid(InvalidReason::NotYetValid));
        }
        if let (Some(expected), Some(Typed::Ok(issuers))) = (&rules.issuer, &issuer)
            && !issuers.contains(&expected.as_str())
        {
            return Err(invalid(InvalidReason::WrongIssuer));
        }
        // RFC 7519 §4.1.3: a token addressed to someone is refused where no audience is expected.
        match (&rules.audience, &audience) {
            (None, Some(Typed::Ok(_))) => return Err(invalid(InvalidReason::WrongAudience)),
            (Some(expected), Some(Typed::Ok(audiences))) if !audiences.contains(&expected.as_str()) => {
                return Err(invalid(InvalidReason::WrongAudience));
            }
            _ => {}
        }

        let exp = match exp {
            Some(Typed::Ok(exp)) => exp,
            _ => return Err(invalid(InvalidReason::MissingClaim("exp"))),
        };
        let iat = typed(iat, "iat")?;
        let sub = typed(sub, "sub")?;
        let jti = typed(jti, "jti")?;
        let mut scopes: Vec<String> = Vec::new();
        let mut add = |scope: String| {
            if !scope.is_empty() && !scopes.contains(&scope) {
                scopes.push(scope);
            }
        };
        typed(scope_list, "scopes")?.into_iter().flatten().for_each(&mut add);
        if let Some(scope) = typed(scope, "scope")? {
            scope.split(' ').map(str::to_owned).for_each(&mut add);
        }
        typed(scp, "scp")?.into_iter().flatten().for_each(&mut add);
        Ok(Self { sub, scopes, exp, iat, jti, extra })
    }
}

/// A present claim of the wrong type is refused, naming the claim.
fn typed<T>(value: Option<Typed<T>>, claim: &'static str) -> Result<Option<T>, JwtError> {
    match value {
        None => Ok(None),
        Some(Typed::Ok(value)) => Ok(Some(value)),
        Some(Typed::Wrong) => Err(invalid(InvalidReason::ClaimFormat(claim))),
    }
}

/// A NumericDate as jsonwebtoken reads one: a non-negative integer, or a float it rounds.
fn numeric_date(value: &Value) -> Typed<u64> {
    let date = value.as_u64().or_else(|| value.as_f64().and_then(wire::numeric_date_f64));
    date.map_or(Typed::Wrong, Typed::Ok)
}

/// `iss` and `aud` as jsonwebtoken reads them: a string, or an array of strings.
fn string_or_strings(value: &Value) -> Typed<Vec<&str>> {
    match value {
        Value::String(one) => Typed::Ok(vec![one.as_str()]),
        Value::Array(items) => {
            items.iter().map(Value::as_str).collect::<Option<Vec<_>>>().map_or(Typed::Wrong, Typed::Ok)
        }
        _ => Typed::Wrong,
    }
}

// ---------------------------------------------------------------------------------------------
// Strategy
// ---------------------------------------------------------------------------------------------

/// Issues and verifies JWTs with a fixed set of keys and rules. Cheap to clone (an `Arc`).
///
/// Build one with [`JwtStrategy::builder`] over a key ([`JwtKey::hs256`], [`JwtKey::rs256_pem`],
/// …) or a key set ([`JwtKeySet`]), then set options on the [`JwtStrategyBuilder`]:
///
/// ```
/// use std::time::Duration;
/// use auth_core::strategies::jwt::{JwtKey, JwtKeySet, JwtStrategy};
///
/// let old = JwtKey::hs256([1u8; 32])?.with_kid("2024");
/// let new = JwtKey::hs256([2u8; 32])?.with_kid("2025");
/// let strategy = JwtStrategy::builder(JwtKeySet::new().verification_key(old).signing_key(new))
///     .lifetime(Duration::from_secs(30 * 60))
///     .audience("my-api")
///     .with_jti()
///     .build()?;
/// # Ok::<(), auth_core::strategies::jwt::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtStrategy {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
struct Inner {
    keys: JwtKeySet,
    lifetime: Duration,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    with_iat: bool,
    with_jti: bool,
    token_type: Option<String>,
    max_token_len: usize,
}

impl fmt::Debug for JwtStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("JwtStrategy")
            .field("keys", &inner.keys.keys)
            .field("lifetime", &inner.lifetime)
            .field("issuer", &inner.issuer)
            .field("audience", &inner.audience)
            .field("leeway", &inner.leeway)
            .field("token_type", &inner.token_type)
            .finish_non_exhaustive()
    }
}

/// Options of a [`JwtStrategy`] being built. Key errors are kept until [`JwtStrategyBuilder::build`].
#[derive(Debug)]
#[must_use = "call .build() to get a JwtStrategy"]
pub struct JwtStrategyBuilder {
    keys: Result<JwtKeySet, JwtError>,
    /// The options; its `keys` are filled in by [`build`](Self::build).
    inner: Inner,
}

impl JwtStrategy {
    /// Starts a strategy over `keys`: one [`JwtKey`], a [`JwtKeySet`] for rotation, or either
    /// one's constructor result as it is (`JwtKey::hs256(secret)`, `JwtKeySet::from_jwk_set(…)`):
    /// a key that failed to load is reported by [`JwtStrategyBuilder::build`].
    ///
    /// ```
    /// use auth_core::strategies::jwt::{JwtKey, JwtStrategy};
    ///
    /// // HS256 with a shared secret, as FastAPI's tutorial; `openssl rand -hex 32` makes a good one.
    /// let strategy = JwtStrategy::builder(JwtKey::hs256("09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"))
    ///     .build()?;
    /// assert!(strategy.can_issue());
    /// # Ok::<(), auth_core::strategies::jwt::JwtError>(())
    /// ```
    pub fn builder<K>(keys: K) -> JwtStrategyBuilder
    where
        K: TryInto<JwtKeySet>,
        JwtError: From<K::Error>,
    {
        JwtStrategyBuilder::new(keys.try_into().map_err(JwtError::from))
    }

    /// How long issued tokens live.
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    /// Whether this strategy has a signing key, i.e. whether [`JwtStrategy::issue`] can work.
    pub fn can_issue(&self) -> bool {
        self.inner.keys.signing.is_some()
    }

    /// Issues a token for `subject` with `scopes`, in FastAPI's shape: `sub`, `scopes` (an
    /// array), `exp`, plus `iss`, `aud`, `iat` and `jti` when configured.
    ///
    /// Fails with [`AuthError::Internal`] (the cause is logged) if the strategy is verify-only or
    /// the crypto backend fails.
    pub fn issue(&self, subject: &str, scopes: &[impl AsRef<str>]) -> Result<String, AuthError> {
        self.issue_claims(subject, scopes, &Map::new())
    }

    /// Like [`JwtStrategy::issue`], with extra claims taken from `extra`, which must serialise to
    /// a JSON object (a `serde_json::Map`, a `#[derive(Serialize)]` struct…). Extras may not
    /// use the names this strategy writes (`sub`, `scopes`, `scope`, `exp`, `iat`, `iss`, `aud`,
    /// `jti`).
    pub fn issue_claims<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        scopes: &[impl AsRef<str>],
        extra: &T,
    ) -> Result<String, AuthError> {
        let issue = || {
            let extra = match serde_json::to_value(extra) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(JwtError::Issue("extra claims must serialize to a JSON object".into())),
                Err(e) => return Err(JwtError::Issue(format!("extra claims do not serialize: {e}"))),
            };
            if let Some(name) = RESERVED_CLAIMS.iter().find(|name| extra.contains_key(**name)) {
                return Err(JwtError::Issue(format!("extra claim `{name}` is reserved")));
            }
            let jti = if self.inner.with_jti { Some(random_id()?) } else { None };
            Ok(self.sign(subject, scopes, extra, jti, now(), None)?.0)
        };
        issue().map_err(|e| e.into_token_error())
    }

    /// Signs a token with an explicit `jti` and issue time, expiring after the strategy's
    /// lifetime but never after `not_after`; returns it with its `exp`.
    pub(crate) fn sign(
        &self,
        subject: &str,
        scopes: &[impl AsRef<str>],
        mut claims: Map<String, Value>,
        jti: Option<String>,
        now: u64,
        not_after: Option<u64>,
    ) -> Result<(String, u64), JwtError> {
        let inner = &self.inner;
        let key = match inner.keys.signing {
            Some(index) => &inner.keys.keys[index],
            None => return Err(config("this strategy has no signing key; it can only verify")),
        };
        let Some(encoding) = &key.encoding else { return Err(config("the signing key has no private half")) };
        let exp = now.saturating_add(inner.lifetime.as_secs()).min(not_after.unwrap_or(u64::MAX));
        claims.insert("sub".into(), subject.into());
        claims.insert("scopes".into(), scopes.iter().map(|s| Value::from(s.as_ref())).collect());
        claims.insert("exp".into(), exp.into());
        if inner.with_iat {
            claims.insert("iat".into(), now.into());
        }
        if let Some(issuer) = &inner.issuer {
            claims.insert("iss".into(), issuer.as_str().into());
        }
        if let Some(audience) = &inner.audience {
            claims.insert("aud".into(), audience.as_str().into());
        }
        if let Some(jti) = jti {
            claims.insert("jti".into(), jti.into());
        }
        let mut header = Header::new(key.alg);
        header.kid.clone_from(&key.kid);
        if let Some(typ) = &inner.token_type {
            header.typ = Some(typ.clone());
        }
        let mut token =
            jsonwebtoken::encode(&header, &claims, encoding).map_err(|e| JwtError::Issue(format!("signing: {e}")))?;
        if matches!(key.alg, Algorithm::ES256 | Algorithm::ES384) {
            token = low_s_token(key.alg, &token)?;
        }
        Ok((token, exp))
    }

    /// Verifies a token: size, shape, header, key, signature, then claims; see the module docs
    /// for the rules. The reason of a failure is in [`JwtError`]; map it to a response with
    /// [`JwtError::into_credentials_error`].
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let inner = &*self.inner;
        if token.is_empty() {
            return Err(invalid(InvalidReason::Empty));
        }
        if token.len() > inner.max_token_len {
            return Err(invalid(InvalidReason::TooLong));
        }
        let Some((message, signature)) = token.rsplit_once('.') else { return Err(invalid(InvalidReason::Malformed)) };
        let Some((header, payload)) = message.split_once('.') else { return Err(invalid(InvalidReason::Malformed)) };
        if payload.contains('.') {
            return Err(invalid(InvalidReason::Malformed));
        }

        // The header is read here, once, before any signature work: it names the precise
        // reason (`alg: none` is "algorithm not allowed", not "malformed") and enforces `crit`,
        // `typ` and `kid`, which jsonwebtoken leaves to the caller.
        let mut buffer = [0u8; 256];
        let header_json = match URL_SAFE_NO_PAD.decode_slice(header, &mut buffer) {
            Ok(len) => Cow::Borrowed(&buffer[..len]),
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
                Cow::Owned(URL_SAFE_NO_PAD.decode(header).map_err(|_| invalid(InvalidReason::Malformed))?)
            }
            Err(_) => return Err(invalid(InvalidReason::Malformed)),
        };
        let header: wire::JoseHeader<'_> =
            serde_json::from_slice(&header_json).map_err(|_| invalid(InvalidReason::Malformed))?;
        if header.crit {
            return Err(invalid(InvalidReason::UnsupportedCritical));
        }
        let alg = match &header.alg {
            Some(Typed::Ok(alg)) => {
                Algorithm::from_str(alg).map_err(|_| invalid(InvalidReason::AlgorithmNotAllowed))?
            }
            _ => return Err(invalid(InvalidReason::AlgorithmNotAllowed)),
        };
        let typ = typed_header(header.typ.as_ref())?;
        match (&inner.token_type, typ) {
            (Some(expected), Some(typ)) if same_media_type(expected, typ) => {}
            (Some(_), _) => return Err(invalid(InvalidReason::WrongType)),
            (None, Some(typ)) if same_media_type(JwtStrategy::REFRESH_TOKEN_TYPE, typ) => {
                return Err(invalid(InvalidReason::WrongType));
            }
            (None, _) => {}
        }
        let index = inner.keys.select(typed_header(header.kid.as_ref())?)?;
        let key = &inner.keys.keys[index];
        // The algorithm is the key's, never the token's.
        if alg != key.alg {
            return Err(invalid(InvalidReason::AlgorithmNotAllowed));
        }

        if key.low_s_only && matches!(key.alg, Algorithm::ES256 | Algorithm::ES384) {
            let mut raw = [0u8; 96];
            match URL_SAFE_NO_PAD.decode_slice(signature, &mut raw) {
                Ok(len) if ecdsa::is_high_s(key.alg, &raw[..len]) => return Err(invalid(InvalidReason::HighS)),
                Ok(_) => {}
                Err(_) => return Err(invalid(InvalidReason::Malformed)),
            }
        }

        // jsonwebtoken's crypto over header and payload as they were sent (a constant-time
        // comparison for HMAC, in aws-lc); the claims are read only once it holds.
        match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, key.alg) {
            Ok(true) => {}
            Ok(false) => return Err(invalid(InvalidReason::BadSignature)),
            Err(error) => return Err(map_crypto_error(&error)),
        }
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid(InvalidReason::Malformed))?;
        let claims: wire::ClaimsSet =
            serde_json::from_slice(&payload).map_err(|_| invalid(InvalidReason::Malformed))?;
        Claims::from_wire(claims, inner, now())
    }

    /// The same strategy, issuing and requiring `typ: token_type` in the header.
    pub(crate) fn with_token_type(&self, token_type: &str) -> Self {
        let mut inner = Inner::clone(&self.inner);
        inner.token_type = Some(token_type.to_owned());
        Self { inner: Arc::new(inner) }
    }

    /// The configured clock leeway in whole seconds.
    pub(crate) fn leeway_secs(&self) -> u64 {
        self.inner.leeway.as_secs()
    }

    /// When `claims`, verified by this strategy, stop verifying: the end of the second `exp`,
    /// plus the clock leeway (verification compares whole seconds, and accepts `exp` itself).
    /// What ends a connection the token opened, so that a client reconnecting then is refused
    /// rather than let in and closed at once.
    pub fn valid_until(&self, claims: &Claims) -> std::time::SystemTime {
        let seconds = claims.exp.saturating_add(self.leeway_secs()).saturating_add(1);
        // Past what `SystemTime` holds, the token outlives every connection anyway.
        std::time::UNIX_EPOCH
            .checked_add(Duration::from_secs(seconds))
            .unwrap_or_else(crate::security::lifetime::far_future)
    }

    /// When `claims`, verified by this strategy, were issued: `iat` when the token has one,
    /// otherwise `exp` less this strategy's lifetime (what [`JwtStrategy::issue`] wrote), whole
    /// seconds. What a password change compares with, to end the sessions issued before it.
    pub fn issued_at(&self, claims: &Claims) -> std::time::SystemTime {
        let seconds = claims.iat.unwrap_or_else(|| claims.exp.saturating_sub(self.inner.lifetime.as_secs()));
        std::time::UNIX_EPOCH.checked_add(Duration::from_secs(seconds)).unwrap_or(std::time::UNIX_EPOCH)
    }

    pub(crate) fn writes_jti(&self) -> bool {
        self.inner.with_jti
    }

    /// The same strategy, writing `iat` into every token it issues.
    pub(crate) fn with_iat_always(&self) -> Self {
        if self.inner.with_iat {
            return self.clone();
        }
        let mut inner = Inner::clone(&self.inner);
        inner.with_iat = true;
        Self { inner: Arc::new(inner) }
    }

    /// The same strategy, writing a `jti` into every token it issues.
    pub(crate) fn with_jti_always(&self) -> Self {
        if self.inner.with_jti {
            return self.clone();
        }
        let mut inner = Inner::clone(&self.inner);
        inner.with_jti = true;
        Self { inner: Arc::new(inner) }
    }

    pub(crate) fn token_type(&self) -> Option<&str> {
        self.inner.token_type.as_deref()
    }
}

/// `typ` and `kid` must be strings when present.
fn typed_header<'h>(value: Option<&'h Typed<Cow<'_, str>>>) -> Result<Option<&'h str>, JwtError> {
    match value {
        None => Ok(None),
        Some(Typed::Ok(value)) => Ok(Some(value)),
        Some(Typed::Wrong) => Err(invalid(InvalidReason::Malformed)),
    }
}

/// RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, `application/` optional.
pub(crate) fn same_media_type(a: &str, b: &str) -> bool {
    fn strip(t: &str) -> &str {
        match t.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &t[12..],
            _ => t,
        }
    }
    strip(a).eq_ignore_ascii_case(strip(b))
}

/// `token` with its ECDSA signature in the low-S spelling.
fn low_s_token(alg: Algorithm, token: &str) -> Result<String, JwtError> {
    let (message, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| JwtError::Issue("jsonwebtoken wrote a token without a signature".into()))?;
    let raw = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Issue("jsonwebtoken wrote a signature that is not base64url".into()))?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(ecdsa::to_low_s(alg, raw))))
}

/// Keys were checked at build time, so a failure of the crypto step is the token's fault: a
/// signature that is not base64url, or of the wrong length for the algorithm.
fn map_crypto_error(error: &jsonwebtoken::errors::Error) -> JwtError {
    match error.kind() {
        ErrorKind::InvalidSignature => invalid(InvalidReason::BadSignature),
        _ => invalid(InvalidReason::Malformed),
    }
}

impl JwtStrategyBuilder {
    fn new(keys: Result<JwtKeySet, JwtError>) -> Self {
        let inner = Inner {
            keys: JwtKeySet::default(),
            lifetime: JwtStrategy::DEFAULT_LIFETIME,
            issuer: None,
            audience: None,
            leeway: Duration::ZERO,
            with_iat: false,
            with_jti: false,
            token_type: None,
            max_token_len: JwtStrategy::DEFAULT_MAX_TOKEN_LEN,
        };
        Self { keys, inner }
    }

    crate::macros::setters! {
        /// How long issued tokens live; default [`JwtStrategy::DEFAULT_LIFETIME`] (15 minutes). Whole seconds.
        lifetime(lifetime: Duration) => inner.lifetime = lifetime;

        /// Writes `iss` into issued tokens, and requires it to match on verification.
        issuer(issuer: impl Into<String>) => inner.issuer = Some(issuer.into());

        /// Writes `aud` into issued tokens, and requires verified tokens to be addressed to it.
        audience(audience: impl Into<String>) => inner.audience = Some(audience.into());

        /// Clock skew tolerated on `exp` and `nbf`, in whole seconds, at most [`JwtStrategy::MAX_LEEWAY`].
        ///
        /// Default zero, as PyJWT (FastAPI's tutorial): a token is refused the second after its
        /// `exp`. Set a few seconds when the issuer runs on another machine than the verifier.
        leeway(leeway: Duration) => inner.leeway = leeway;

        /// Writes `iat` (issued-at) into issued tokens. Off by default, as FastAPI's tutorial.
        /// It is read into [`Claims::iat`] but not checked against the clock.
        with_iat() => inner.with_iat = true;

        /// Writes a random 128-bit `jti` into issued tokens, for deny-lists and audit logs. Off by
        /// default, as FastAPI's tutorial.
        with_jti() => inner.with_jti = true;

        /// Writes this `typ` header (e.g. `at+jwt`, RFC 9068) into issued tokens and requires it on
        /// verification. Without it any `typ` is accepted except [`JwtStrategy::REFRESH_TOKEN_TYPE`].
        token_type(token_type: impl Into<String>) => inner.token_type = Some(token_type.into());

        /// The longest token accepted, in bytes; default [`JwtStrategy::DEFAULT_MAX_TOKEN_LEN`].
        max_token_len(max: usize) => inner.max_token_len = max;
    }

    /// Checks the keys and options and builds the strategy.
    pub fn build(self) -> Result<JwtStrategy, JwtError> {
        let keys = self.keys?;
        keys.validate()?;
        if self.inner.leeway > JwtStrategy::MAX_LEEWAY {
            return Err(config("leeway must be at most one hour"));
        }
        Ok(JwtStrategy { inner: Arc::new(Inner { keys, ..self.inner }) })
    }
}

/// Seconds since the Unix epoch; a clock before 1970 reads as 0 rather than panicking.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 128 random bits, base64url: for `jti` and refresh family ids.
pub(crate) fn random_id() -> Result<String, JwtError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| JwtError::Issue(format!("random number generator: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
