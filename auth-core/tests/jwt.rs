//! The JWT strategy and access + refresh pairs, through the public API.
//!
//! The PEM files under `tests/keys/` are throwaway test keys made with `openssl genpkey`; they
//! protect nothing. Attack tokens that jsonwebtoken refuses to produce are assembled by hand.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use auth_core::{
    AuthError, SecurityScopes,
    strategies::{
        DenylistedJwt, MemoryDenylist, Strategy,
        jwt::{Algorithm, EncodingKey, InvalidReason, Jwk, JwkSet, JwtError, JwtKey, JwtKeySet, JwtStrategy},
        refresh::{
            MemoryFamilyStore, RefreshFamilyStore, Rotation, TokenPair, TokenPairIssuer, TokenPairIssuerBuilder,
        },
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, Header, jwk::PublicKeyUse};
use serde_json::{Value, json};

const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";
const OTHER_SECRET: &[u8] = b"a-completely-different-secret-of-at-least-32-bytes";
const REFRESH_SECRET: &[u8] = b"refresh-secret-refresh-secret-refresh-secret-0001";

const RSA_PRIVATE: &str = include_str!("keys/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa_public.pem");
const RSA_OTHER_PUBLIC: &str = include_str!("keys/rsa_other_public.pem");
const EC_PRIVATE: &str = include_str!("keys/ec_private.pem");
const EC_PUBLIC: &str = include_str!("keys/ec_public.pem");
const ED_PRIVATE: &str = include_str!("keys/ed25519_private.pem");
const ED_PUBLIC: &str = include_str!("keys/ed25519_public.pem");

/// Every user is active and may keep any scope: these tests are about the tokens.
struct Active;

impl auth_core::strategies::ReloadUser for Active {
    async fn reload_user(&self, _subject: &str) -> Result<Option<Vec<String>>, AuthError> {
        Ok(Some(["me", "items", "admin"].map(str::to_owned).to_vec()))
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn hs256() -> JwtStrategy {
    JwtStrategy::builder(JwtKey::hs256(SECRET)).build().unwrap()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature` with an HS256 signature over whatever bytes are given, valid JSON
/// or not. Build a strategy first: it installs the crypto backend `crypto::sign` uses.
fn hand_signed(secret: &[u8], header: &[u8], payload: &[u8]) -> String {
    let message = format!("{}.{}", b64(header), b64(payload));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(secret), Algorithm::HS256).unwrap();
    format!("{message}.{signature}")
}

/// A correctly signed HS256 token with the given claims, through jsonwebtoken.
fn signed_claims(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn invalid(reason: InvalidReason) -> Result<(), JwtError> {
    Err(JwtError::Invalid(reason))
}

fn verdict(strategy: &JwtStrategy, token: &str) -> Result<(), JwtError> {
    strategy.verify(token).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hs256_round_trip_in_fastapi_shape() {
    let strategy = hs256();
    let before = now();
    let token = strategy.issue("johndoe", &["me", "items"]).unwrap();

    let claims = strategy.verify(&token).unwrap();
    assert_eq!(claims.sub.as_deref(), Some("johndoe"));
    assert_eq!(claims.scopes, ["me", "items"]);
    assert!(claims.has_scope("items") && !claims.has_scope("admin"));
    let lifetime = JwtStrategy::DEFAULT_LIFETIME.as_secs();
    assert!((before + lifetime..=now() + lifetime).contains(&claims.exp));
    assert_eq!((claims.iat, claims.jti.as_deref()), (None, None));
    assert!(claims.extra.is_empty(), "{:?}", claims.extra);

    // The payload is exactly FastAPI's: `scopes` is an array.
    let payload: Value = jsonwebtoken::dangerous::insecure_decode_claims(&token).unwrap();
    assert_eq!(payload["scopes"], json!(["me", "items"]));
    assert_eq!(payload.as_object().unwrap().len(), 3);
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::HS256);
}

#[tokio::test]
async fn options_write_and_check_iss_aud_iat_jti() {
    let strategy = JwtStrategy::builder(JwtKey::hs256(SECRET))
        .issuer("https://auth.example.com")
        .audience("my-api")
        .lifetime(Duration::from_secs(60))
        .with_iat()
        .with_jti()
        .build()
        .unwrap();
    let token = strategy.issue("johndoe", &[] as &[&str]).unwrap();
    let claims = strategy.verify(&token).unwrap();
    assert!(claims.scopes.is_empty());
    let iat = claims.iat.unwrap();
    assert_eq!(claims.exp, iat + 60);
    assert_eq!(claims.extra["iss"], "https://auth.example.com");
    assert_eq!(claims.extra["aud"], "my-api");
    let jti = claims.jti.unwrap();
    assert_eq!(jti.len(), 22, "128 bits in base64url");
    let again = strategy.verify(&strategy.issue("johndoe", &["me"]).unwrap()).unwrap();
    assert_ne!(again.jti.unwrap(), jti);
}

#[tokio::test]
async fn issue_claims_adds_extra_claims_but_not_reserved_ones() {
    #[derive(serde::Serialize)]
    struct Extra {
        tenant: &'static str,
        level: u8,
    }
    let strategy = hs256();
    let token = strategy.issue_claims("johndoe", &["me"], &Extra { tenant: "acme", level: 3 }).unwrap();
    let claims = strategy.verify(&token).unwrap();
    assert_eq!(claims.extra["tenant"], "acme");
    assert_eq!(claims.extra["level"], 3);

    let reserved = json!({ "exp": 99_999_999_999u64 });
    assert!(matches!(strategy.issue_claims("johndoe", &["me"], &reserved), Err(AuthError::Internal)));
    assert!(matches!(strategy.issue_claims("johndoe", &["me"], &[1, 2]), Err(AuthError::Internal)));
}

#[tokio::test]
async fn rs256_pem_round_trip_and_public_only_verifier() {
    let strategy = JwtStrategy::builder(JwtKey::rs256_pem(RSA_PRIVATE, RSA_PUBLIC)).build().unwrap();
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::RS256);
    assert_eq!(strategy.verify(&token).unwrap().scopes, ["me"]);

    let verifier = JwtStrategy::builder(JwtKey::rs256_public_pem(RSA_PUBLIC)).build().unwrap();
    assert!(!verifier.can_issue());
    assert_eq!(verifier.verify(&token).unwrap().sub.as_deref(), Some("johndoe"));
    assert!(matches!(verifier.issue("johndoe", &["me"]), Err(AuthError::Internal)));

    let stranger = JwtStrategy::builder(JwtKey::rs256_public_pem(RSA_OTHER_PUBLIC)).build().unwrap();
    assert_eq!(verdict(&stranger, &token), invalid(InvalidReason::BadSignature));
}

#[tokio::test]
async fn es256_pem_round_trip_and_public_only_verifier() {
    let strategy = JwtStrategy::builder(JwtKey::es256_pem(EC_PRIVATE, EC_PUBLIC)).build().unwrap();
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::ES256);
    assert_eq!(strategy.verify(&token).unwrap().scopes, ["me"]);
    let verifier = JwtStrategy::builder(JwtKey::es256_public_pem(EC_PUBLIC)).build().unwrap();
    assert_eq!(verifier.verify(&token).unwrap().sub.as_deref(), Some("johndoe"));
}

#[tokio::test]
async fn eddsa_pem_round_trip_and_public_only_verifier() {
    let strategy = JwtStrategy::builder(JwtKey::eddsa_pem(ED_PRIVATE, ED_PUBLIC)).build().unwrap();
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::EdDSA);
    assert_eq!(strategy.verify(&token).unwrap().scopes, ["me"]);
    let verifier = JwtStrategy::builder(JwtKey::eddsa_public_pem(ED_PUBLIC)).build().unwrap();
    assert_eq!(verifier.verify(&token).unwrap().sub.as_deref(), Some("johndoe"));
}

/// A public JWK as an identity provider would publish it, round-tripped through JSON.
fn public_jwk(decoding: &DecodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_decoding_key(decoding, None).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let text = serde_json::to_string(&jwk).unwrap();
    assert!(!text.contains("\"alg\""), "the algorithm is inferred from the key type ({alg:?})");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn rsa_jwk_verifies_tokens_of_the_matching_private_key() {
    let signer =
        JwtStrategy::builder(JwtKeySet::single(JwtKey::rs256_pem(RSA_PRIVATE, RSA_PUBLIC).unwrap().with_kid("rsa-1")))
            .build()
            .unwrap();
    let token = signer.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some("rsa-1"));

    let rsa = DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap();
    let verifier =
        JwtStrategy::builder(JwtKey::from_jwk(&public_jwk(&rsa, Algorithm::RS256, "rsa-1"))).build().unwrap();
    assert!(!verifier.can_issue());
    assert_eq!(verifier.verify(&token).unwrap().scopes, ["me"]);

    let renamed = JwtStrategy::builder(JwtKey::from_jwk(&public_jwk(&rsa, Algorithm::RS256, "rsa-2"))).build().unwrap();
    assert_eq!(verdict(&renamed, &token), invalid(InvalidReason::UnknownKid));
}

#[tokio::test]
async fn symmetric_jwk_issues_and_verifies() {
    let jwk: Jwk = serde_json::from_value(json!({ "kty": "oct", "k": b64(SECRET), "kid": "hmac" })).unwrap();
    let strategy = JwtStrategy::builder(JwtKey::from_jwk(&jwk)).build().unwrap();
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some("hmac"));
    // Same secret as `hs256()`, which has no kid and so accepts any.
    assert_eq!(hs256().verify(&token).unwrap().scopes, ["me"]);

    let short: Jwk = serde_json::from_value(json!({ "kty": "oct", "k": b64(b"short") })).unwrap();
    assert!(matches!(JwtStrategy::builder(JwtKey::from_jwk(&short)).build(), Err(JwtError::Config(_))));
}

#[tokio::test]
async fn jwk_set_verifies_each_signer_and_skips_encryption_keys() {
    let rsa_signer =
        JwtStrategy::builder(JwtKeySet::single(JwtKey::rs256_pem(RSA_PRIVATE, RSA_PUBLIC).unwrap().with_kid("rsa")))
            .build()
            .unwrap();
    let ec_signer =
        JwtStrategy::builder(JwtKeySet::single(JwtKey::es256_pem(EC_PRIVATE, EC_PUBLIC).unwrap().with_kid("ec")))
            .build()
            .unwrap();

    let rsa = DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap();
    let ec = DecodingKey::from_ec_pem(EC_PUBLIC.as_bytes()).unwrap();
    let mut encryption =
        public_jwk(&DecodingKey::from_rsa_pem(RSA_OTHER_PUBLIC.as_bytes()).unwrap(), Algorithm::RS256, "enc");
    encryption.common.public_key_use = Some(PublicKeyUse::Encryption);
    let set = JwkSet {
        keys: vec![public_jwk(&rsa, Algorithm::RS256, "rsa"), public_jwk(&ec, Algorithm::ES256, "ec"), encryption],
    };
    let keys = JwtKeySet::from_jwk_set(&set).unwrap();
    assert_eq!(keys.len(), 2);
    let verifier = JwtStrategy::builder(keys).build().unwrap();

    let rsa_token = rsa_signer.issue("alice", &["me"]).unwrap();
    let ec_token = ec_signer.issue("bob", &["items"]).unwrap();
    assert_eq!(verifier.verify(&rsa_token).unwrap().sub.as_deref(), Some("alice"));
    assert_eq!(verifier.verify(&ec_token).unwrap().sub.as_deref(), Some("bob"));

    // The algorithm belongs to the key the kid names: an ES256 token pointing at the RSA key
    // is refused before any signature check.
    let [header, payload, signature] = ec_token.split('.').collect::<Vec<_>>()[..] else { unreachable!() };
    let mut forged_header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    forged_header["kid"] = json!("rsa");
    let forged = format!("{}.{payload}.{signature}", b64(forged_header.to_string()));
    assert_eq!(verdict(&verifier, &forged), invalid(InvalidReason::AlgorithmNotAllowed));

    assert!(matches!(JwtKeySet::from_jwk_set(&JwkSet { keys: vec![] }), Err(JwtError::Config(_))));
}

#[tokio::test]
async fn kid_key_set_rotation() {
    let k2024 = || JwtKey::hs256(SECRET).unwrap().with_kid("2024");
    let k2025 = || JwtKey::hs256(OTHER_SECRET).unwrap().with_kid("2025");

    // Before rotation: one key, signing.
    let before = JwtStrategy::builder(JwtKeySet::new().signing_key(k2024())).build().unwrap();
    let old_token = before.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&old_token).unwrap().kid.as_deref(), Some("2024"));

    // During rotation: the new key signs, the old one still verifies.
    let during = JwtStrategy::builder(JwtKeySet::new().verification_key(k2024()).signing_key(k2025())).build().unwrap();
    let new_token = during.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(), Some("2025"));
    assert!(during.verify(&old_token).is_ok());
    assert!(during.verify(&new_token).is_ok());
    assert_eq!(verdict(&before, &new_token), invalid(InvalidReason::UnknownKid));

    // After rotation: the old key is gone, and so are its tokens.
    let after = JwtStrategy::builder(JwtKeySet::new().signing_key(k2025())).build().unwrap();
    assert!(after.verify(&new_token).is_ok());
    assert_eq!(verdict(&after, &old_token), invalid(InvalidReason::UnknownKid));

    // A token without kid is ambiguous against several keys.
    let no_kid = signed_claims(SECRET, &json!({ "sub": "johndoe", "exp": now() + 60 }));
    assert_eq!(verdict(&during, &no_kid), invalid(InvalidReason::MissingKid));
    // A kid pointing at the wrong key fails its signature.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("2025".to_owned());
    let mislabelled = jsonwebtoken::encode(
        &header,
        &json!({ "sub": "johndoe", "exp": now() + 60 }),
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    assert_eq!(verdict(&during, &mislabelled), invalid(InvalidReason::BadSignature));
}

#[tokio::test]
async fn misconfigurations_fail_at_build() {
    let config_error = |result: Result<JwtStrategy, JwtError>| matches!(result, Err(JwtError::Config(_)));
    assert!(config_error(JwtStrategy::builder(JwtKey::hs256(b"secret")).build()), "short HMAC secret");
    assert!(
        config_error(JwtStrategy::builder(JwtKey::rs256_pem(RSA_PRIVATE, RSA_OTHER_PUBLIC)).build()),
        "mismatched pair"
    );
    assert!(config_error(JwtStrategy::builder(JwtKey::es256_public_pem(RSA_PUBLIC)).build()), "RSA key as EC key");
    assert!(config_error(JwtStrategy::builder(JwtKey::rs256_public_pem("not a pem")).build()));
    assert!(config_error(JwtStrategy::builder(JwtKey::hs256(SECRET)).leeway(Duration::from_secs(7200)).build()));
    assert!(config_error(JwtStrategy::builder(JwtKeySet::new()).build()), "empty set");
    let a = JwtKey::hs256(SECRET).unwrap();
    let b = JwtKey::hs256(OTHER_SECRET).unwrap();
    assert!(config_error(JwtStrategy::builder(JwtKeySet::new().signing_key(a.clone()).verification_key(b)).build()));
    let dup = JwtKeySet::new().signing_key(a.clone().with_kid("x")).verification_key(a.with_kid("x"));
    assert!(config_error(JwtStrategy::builder(dup).build()), "duplicate kid");
    let public_only = JwtKey::rs256_public_pem(RSA_PUBLIC).unwrap();
    assert!(config_error(JwtStrategy::builder(JwtKeySet::new().signing_key(public_only)).build()));
}

#[tokio::test]
async fn scopes_also_come_from_an_rfc9068_scope_string() {
    let strategy = hs256();
    let rfc9068 = signed_claims(SECRET, &json!({ "sub": "johndoe", "scope": "me  items", "exp": now() + 60 }));
    assert_eq!(strategy.verify(&rfc9068).unwrap().scopes, ["me", "items"]);

    let both =
        signed_claims(SECRET, &json!({ "sub": "johndoe", "scopes": ["me"], "scope": "items me", "exp": now() + 60 }));
    assert_eq!(strategy.verify(&both).unwrap().scopes, ["me", "items"]);

    // FastAPI's claim must be an array of strings; a string there is refused, not split.
    let scopes_string = signed_claims(SECRET, &json!({ "sub": "johndoe", "scopes": "me items", "exp": now() + 60 }));
    assert_eq!(verdict(&strategy, &scopes_string), invalid(InvalidReason::ClaimFormat("scopes")));
    let scopes_numbers = signed_claims(SECRET, &json!({ "sub": "johndoe", "scopes": [1, 2], "exp": now() + 60 }));
    assert_eq!(verdict(&strategy, &scopes_numbers), invalid(InvalidReason::ClaimFormat("scopes")));
    let scope_array = signed_claims(SECRET, &json!({ "sub": "johndoe", "scope": ["me"], "exp": now() + 60 }));
    assert_eq!(verdict(&strategy, &scope_array), invalid(InvalidReason::ClaimFormat("scope")));
}

#[tokio::test]
async fn jku_and_x5u_headers_are_ignored_never_fetched() {
    let strategy = hs256();
    let header =
        json!({ "alg": "HS256", "typ": "JWT", "jku": "http://127.0.0.1:9/keys", "x5u": "http://127.0.0.1:9/c" });
    let payload = json!({ "sub": "johndoe", "exp": now() + 60 });
    let token = hand_signed(SECRET, header.to_string().as_bytes(), payload.to_string().as_bytes());
    assert!(strategy.verify(&token).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rejects_a_tampered_signature() {
    let strategy = hs256();
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    // Flip the first signature character: the last one may only hold padding bits.
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{message}.{flipped}{}", &signature[1..]);
    assert_eq!(verdict(&strategy, &tampered), invalid(InvalidReason::BadSignature));

    let truncated = &token[..token.len() - 4];
    assert!(matches!(strategy.verify(truncated), Err(JwtError::Invalid(_))));
}

#[tokio::test]
async fn rejects_a_tampered_payload() {
    let strategy = hs256();
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    let [header, _, signature] = token.split('.').collect::<Vec<_>>()[..] else { unreachable!() };
    let escalated = json!({ "sub": "johndoe", "scopes": ["me", "admin"], "exp": now() + 900 });
    let tampered = format!("{header}.{}.{signature}", b64(escalated.to_string()));
    assert_eq!(verdict(&strategy, &tampered), invalid(InvalidReason::BadSignature));
}

#[tokio::test]
async fn rejects_alg_none() {
    let strategy = hs256();
    let payload = b64(json!({ "sub": "johndoe", "scopes": ["me"], "exp": now() + 900 }).to_string());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({ "alg": alg, "typ": "JWT" }).to_string());
        for token in [format!("{header}.{payload}."), format!("{header}.{payload}.c2lnbmF0dXJl")] {
            assert_eq!(verdict(&strategy, &token), invalid(InvalidReason::AlgorithmNotAllowed), "{token}");
        }
    }
    let no_alg = b64(json!({ "typ": "JWT" }).to_string());
    assert_eq!(verdict(&strategy, &format!("{no_alg}.{payload}.")), invalid(InvalidReason::AlgorithmNotAllowed));
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_rsa_public_key_against_rs256() {
    let verifier = JwtStrategy::builder(JwtKey::rs256_public_pem(RSA_PUBLIC)).build().unwrap();
    let payload = json!({ "sub": "johndoe", "scopes": ["me", "admin"], "exp": now() + 900 }).to_string();
    let header = json!({ "alg": "HS256", "typ": "JWT" }).to_string();
    // The classic key-confusion forgery: the public key, as PEM text or as DER, used as an
    // HMAC secret. Both are public, so anyone can compute these signatures.
    let pem_body: String = RSA_PUBLIC.lines().filter(|line| !line.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(pem_body).unwrap();
    for secret in [RSA_PUBLIC.as_bytes(), der.as_slice()] {
        let forged = hand_signed(secret, header.as_bytes(), payload.as_bytes());
        assert_eq!(verdict(&verifier, &forged), invalid(InvalidReason::AlgorithmNotAllowed));
    }
    // Even a strategy that can sign RS256 refuses them.
    let full = JwtStrategy::builder(JwtKey::rs256_pem(RSA_PRIVATE, RSA_PUBLIC)).build().unwrap();
    let forged = hand_signed(RSA_PUBLIC.as_bytes(), header.as_bytes(), payload.as_bytes());
    assert_eq!(verdict(&full, &forged), invalid(InvalidReason::AlgorithmNotAllowed));
}

#[tokio::test]
async fn rejects_an_expired_token_and_honours_leeway() {
    let expired = signed_claims(SECRET, &json!({ "sub": "johndoe", "scopes": ["me"], "exp": now() - 10 }));
    assert_eq!(verdict(&hs256(), &expired), Err(JwtError::Expired));

    let lenient = JwtStrategy::builder(JwtKey::hs256(SECRET)).leeway(Duration::from_secs(60)).build().unwrap();
    assert!(lenient.verify(&expired).is_ok());
    let long_expired = signed_claims(SECRET, &json!({ "sub": "johndoe", "exp": now() - 120 }));
    assert_eq!(verdict(&lenient, &long_expired), Err(JwtError::Expired));

    // A forged token never reads as merely expired: the signature is checked first.
    let forged = signed_claims(OTHER_SECRET, &json!({ "sub": "johndoe", "exp": now() - 10 }));
    assert_eq!(verdict(&hs256(), &forged), invalid(InvalidReason::BadSignature));
}

#[tokio::test]
async fn rejects_nbf_in_the_future() {
    let early = signed_claims(SECRET, &json!({ "sub": "johndoe", "exp": now() + 900, "nbf": now() + 300 }));
    assert_eq!(verdict(&hs256(), &early), invalid(InvalidReason::NotYetValid));
    let ready = signed_claims(SECRET, &json!({ "sub": "johndoe", "exp": now() + 900, "nbf": now() - 1 }));
    assert!(hs256().verify(&ready).is_ok());
    let nbf_string = signed_claims(SECRET, &json!({ "sub": "johndoe", "exp": now() + 900, "nbf": "soon" }));
    assert_eq!(verdict(&hs256(), &nbf_string), invalid(InvalidReason::ClaimFormat("nbf")));
}

#[tokio::test]
async fn rejects_a_wrong_or_missing_issuer() {
    let ours = JwtStrategy::builder(JwtKey::hs256(SECRET)).issuer("https://auth.example.com").build().unwrap();
    let theirs = JwtStrategy::builder(JwtKey::hs256(SECRET)).issuer("https://evil.example.com").build().unwrap();
    let token = theirs.issue("johndoe", &["me"]).unwrap();
    assert_eq!(verdict(&ours, &token), invalid(InvalidReason::WrongIssuer));
    let no_iss = hs256().issue("johndoe", &["me"]).unwrap();
    assert_eq!(verdict(&ours, &no_iss), invalid(InvalidReason::MissingClaim("iss")));
}

#[tokio::test]
async fn rejects_a_wrong_missing_or_unexpected_audience() {
    let ours = JwtStrategy::builder(JwtKey::hs256(SECRET)).audience("my-api").build().unwrap();
    let theirs = JwtStrategy::builder(JwtKey::hs256(SECRET)).audience("other-api").build().unwrap();
    let token = theirs.issue("johndoe", &["me"]).unwrap();
    assert_eq!(verdict(&ours, &token), invalid(InvalidReason::WrongAudience));
    let no_aud = hs256().issue("johndoe", &["me"]).unwrap();
    assert_eq!(verdict(&ours, &no_aud), invalid(InvalidReason::MissingClaim("aud")));
    // RFC 7519 §4.1.3: a token addressed to someone must not pass where no audience is expected.
    assert_eq!(verdict(&hs256(), &token), invalid(InvalidReason::WrongAudience));
    // `aud` as an array containing ours is fine.
    let array = signed_claims(SECRET, &json!({ "sub": "johndoe", "aud": ["x", "my-api"], "exp": now() + 60 }));
    assert!(ours.verify(&array).is_ok());
}

#[tokio::test]
async fn rejects_exp_as_a_string() {
    let far = (now() + 900).to_string();
    let token = signed_claims(SECRET, &json!({ "sub": "johndoe", "scopes": ["me"], "exp": far }));
    assert_eq!(verdict(&hs256(), &token), invalid(InvalidReason::ClaimFormat("exp")));
    let negative = signed_claims(SECRET, &json!({ "sub": "johndoe", "exp": -1 }));
    assert_eq!(verdict(&hs256(), &negative), invalid(InvalidReason::ClaimFormat("exp")));
}

#[tokio::test]
async fn rejects_a_missing_exp() {
    let token = signed_claims(SECRET, &json!({ "sub": "johndoe", "scopes": ["me"] }));
    assert_eq!(verdict(&hs256(), &token), invalid(InvalidReason::MissingClaim("exp")));
}

#[tokio::test]
async fn rejects_an_unknown_kid() {
    let set = JwtKeySet::new()
        .signing_key(JwtKey::hs256(SECRET).unwrap().with_kid("a"))
        .verification_key(JwtKey::hs256(OTHER_SECRET).unwrap().with_kid("b"));
    let strategy = JwtStrategy::builder(set).build().unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("c".to_owned());
    let token =
        jsonwebtoken::encode(&header, &json!({ "sub": "x", "exp": now() + 60 }), &EncodingKey::from_secret(SECRET))
            .unwrap();
    assert_eq!(verdict(&strategy, &token), invalid(InvalidReason::UnknownKid));
    // A single key with a kid also refuses other kids.
    let single = JwtStrategy::builder(JwtKeySet::single(JwtKey::hs256(SECRET).unwrap().with_kid("a"))).build().unwrap();
    assert_eq!(verdict(&single, &token), invalid(InvalidReason::UnknownKid));
    let kid_number = hand_signed(SECRET, br#"{"alg":"HS256","kid":7}"#, br#"{"exp":99999999999}"#);
    assert_eq!(verdict(&strategy, &kid_number), invalid(InvalidReason::Malformed));
}

#[tokio::test]
async fn rejects_a_header_that_is_not_json() {
    let strategy = hs256();
    let payload = json!({ "sub": "johndoe", "exp": now() + 60 }).to_string();
    for header in [&b"not json"[..], b"[\"alg\",\"HS256\"]", b"{\"alg\":\"HS256\"", b"\xff\xfe"] {
        let token = hand_signed(SECRET, header, payload.as_bytes());
        assert_eq!(verdict(&strategy, &token), invalid(InvalidReason::Malformed), "{header:?}");
    }
}

#[tokio::test]
async fn rejects_a_payload_that_is_not_json() {
    let strategy = hs256();
    let header = br#"{"alg":"HS256","typ":"JWT"}"#;
    for payload in [&b"not json"[..], b"[1,2,3]", b"\"a string\"", b"{\"exp\":1", b"{\"exp\":1,\"exp\":99999999999}"] {
        // Correctly signed, so the failure is the payload's and not the signature's.
        let token = hand_signed(SECRET, header, payload);
        assert_eq!(verdict(&strategy, &token), invalid(InvalidReason::Malformed), "{payload:?}");
    }
}

#[tokio::test]
async fn rejects_a_100_kb_token_before_decoding() {
    let strategy = hs256();
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    let (header, rest) = token.split_once('.').unwrap();
    let huge = format!("{header}.{}{rest}", "A".repeat(100 * 1024));
    assert_eq!(verdict(&strategy, &huge), invalid(InvalidReason::TooLong));
    assert_eq!(verdict(&strategy, &"x".repeat(100 * 1024)), invalid(InvalidReason::TooLong));

    let padded = strategy.issue_claims("johndoe", &["me"], &json!({ "blob": "x".repeat(9 * 1024) })).unwrap();
    assert_eq!(verdict(&strategy, &padded), invalid(InvalidReason::TooLong));
    let roomy = JwtStrategy::builder(JwtKey::hs256(SECRET)).max_token_len(64 * 1024).build().unwrap();
    assert!(roomy.verify(&padded).is_ok());
}

#[tokio::test]
async fn rejects_the_empty_string_and_other_shapes() {
    let strategy = hs256();
    assert_eq!(verdict(&strategy, ""), invalid(InvalidReason::Empty));
    let token = strategy.issue("johndoe", &["me"]).unwrap();
    for garbage in [
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "garbage",
        &format!("{token}."),
        &format!(" {token}"),
        &format!("Bearer {token}"),
        &format!("{token}+"),
        "é.é.é",
    ] {
        assert!(matches!(strategy.verify(garbage), Err(JwtError::Invalid(_))), "{garbage}");
    }
}

#[tokio::test]
async fn rejects_critical_headers() {
    let header = json!({ "alg": "HS256", "crit": ["exp"], "exp": 1 }).to_string();
    let payload = json!({ "sub": "johndoe", "exp": now() + 60 }).to_string();
    let token = hand_signed(SECRET, header.as_bytes(), payload.as_bytes());
    assert_eq!(verdict(&hs256(), &token), invalid(InvalidReason::UnsupportedCritical));
}

#[tokio::test]
async fn token_types_keep_refresh_and_access_tokens_apart() {
    // Refresh tokens are typed; an untyped strategy refuses them even with the same key.
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(JwtStrategy::REFRESH_TOKEN_TYPE.to_owned());
    let refresh_like =
        jsonwebtoken::encode(&header, &json!({ "sub": "x", "exp": now() + 60 }), &EncodingKey::from_secret(SECRET))
            .unwrap();
    assert_eq!(verdict(&hs256(), &refresh_like), invalid(InvalidReason::WrongType));

    let typed = JwtStrategy::builder(JwtKey::hs256(SECRET)).token_type("at+jwt").build().unwrap();
    let token = typed.issue("johndoe", &["me"]).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().typ.as_deref(), Some("at+jwt"));
    assert!(typed.verify(&token).is_ok());
    assert!(hs256().verify(&token).is_ok());
    let untyped = hs256().issue("johndoe", &["me"]).unwrap();
    assert_eq!(verdict(&typed, &untyped), invalid(InvalidReason::WrongType));
    // RFC 7515: case-insensitive, `application/` optional.
    header.typ = Some("application/AT+JWT".to_owned());
    let spelled =
        jsonwebtoken::encode(&header, &json!({ "exp": now() + 60 }), &EncodingKey::from_secret(SECRET)).unwrap();
    assert!(typed.verify(&spelled).is_ok());
}

#[tokio::test]
async fn errors_map_to_fastapi_or_refresh_seed_responses() {
    let scopes = SecurityScopes::new(&["me"]);
    let expired = JwtError::Expired;
    let forged = JwtError::Invalid(InvalidReason::BadSignature);

    let tutorial = expired.clone().into_credentials_error(&scopes);
    assert!(matches!(&tutorial, AuthError::InvalidCredentials { scopes: s } if s.scopes() == ["me"]));
    assert_eq!(tutorial.to_string(), "Could not validate credentials");
    assert!(matches!(forged.clone().into_credentials_error(&scopes), AuthError::InvalidCredentials { .. }));

    assert!(matches!(expired.into_token_error(), AuthError::TokenExpired));
    assert!(matches!(forged.into_token_error(), AuthError::InvalidToken));
    assert!(matches!(JwtError::Config("x".into()).into_credentials_error(&scopes), AuthError::Internal));

    // Reasons are for logs and never echo the token.
    let token = hs256().issue("johndoe", &["me"]).unwrap();
    let error = JwtStrategy::builder(JwtKey::hs256(OTHER_SECRET)).build().unwrap().verify(&token).unwrap_err();
    assert_eq!(error.to_string(), "invalid token: bad signature");
}

// ---------------------------------------------------------------------------------------------
// Access + refresh pairs
// ---------------------------------------------------------------------------------------------

fn pair_issuer() -> TokenPairIssuer {
    pair_issuer_builder().build().unwrap()
}

fn pair_issuer_builder() -> TokenPairIssuerBuilder<MemoryFamilyStore> {
    let access = JwtStrategy::builder(JwtKey::hs256(SECRET)).build().unwrap();
    let refresh = JwtStrategy::builder(JwtKey::hs256(REFRESH_SECRET))
        .lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)
        .build()
        .unwrap();
    TokenPairIssuer::builder(MemoryFamilyStore::new()).strategies(access, refresh)
}

fn refresh_claims(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode_claims(token).unwrap()
}

#[tokio::test]
async fn issue_pair_gives_fastapi_shaped_tokens() {
    let issuer = pair_issuer();
    let pair = issuer.issue_pair("johndoe", &["me", "items"]).await.unwrap();
    let body = serde_json::to_value(&pair).unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body.as_object().unwrap().len(), 3);
    assert_eq!(serde_json::from_value::<TokenPair>(body).unwrap(), pair);

    let access = issuer.access_strategy().verify(&pair.access_token).unwrap();
    assert_eq!(access.sub.as_deref(), Some("johndoe"));
    assert_eq!(access.scopes, ["me", "items"]);

    let refresh = refresh_claims(&pair.refresh_token);
    assert!(refresh[TokenPairIssuer::FAMILY_CLAIM].is_string() && refresh["jti"].is_string());
    let lifetime = refresh["exp"].as_u64().unwrap() - now();
    assert!(lifetime > TokenPairIssuer::DEFAULT_REFRESH_LIFETIME.as_secs() - 10, "{lifetime}");
    let header = jsonwebtoken::decode_header(&pair.refresh_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some(JwtStrategy::REFRESH_TOKEN_TYPE));

    // The refresh token is no access token.
    assert!(issuer.access_strategy().verify(&pair.refresh_token).is_err());
    assert_eq!(issuer.store().len().await, 1);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let issuer = pair_issuer();
    let first = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
    let second = issuer.refresh(&first.refresh_token, &Active).await.unwrap();
    let third = issuer.refresh(&second.refresh_token, &Active).await.unwrap();

    let (c1, c3) = (refresh_claims(&first.refresh_token), refresh_claims(&third.refresh_token));
    assert_eq!(c1[TokenPairIssuer::FAMILY_CLAIM], c3[TokenPairIssuer::FAMILY_CLAIM], "one family");
    assert_ne!(c1["jti"], c3["jti"], "a new head each time");
    let access = issuer.access_strategy().verify(&third.access_token).unwrap();
    assert_eq!((access.sub.as_deref(), access.scopes.as_slice()), (Some("johndoe"), &["me".to_owned()][..]));

    // Replaying a rotated-out token: refused, and the family is gone...
    assert!(matches!(issuer.refresh(&first.refresh_token, &Active).await, Err(AuthError::InvalidToken)));
    // ...so the legitimate current head fails too.
    assert!(matches!(issuer.refresh(&third.refresh_token, &Active).await, Err(AuthError::InvalidToken)));
    assert!(issuer.store().is_empty().await);

    // Other families are untouched.
    let other = issuer.issue_pair("alice", &["me"]).await.unwrap();
    assert!(issuer.refresh(&other.refresh_token, &Active).await.is_ok());
}

#[tokio::test]
async fn an_expired_refresh_token_is_token_expired() {
    let issuer = pair_issuer();
    let pair = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
    let mut claims = refresh_claims(&pair.refresh_token);
    claims["exp"] = json!(now() - 10);
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(JwtStrategy::REFRESH_TOKEN_TYPE.to_owned());
    let expired = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(REFRESH_SECRET)).unwrap();
    let error = issuer.refresh(&expired, &Active).await.unwrap_err();
    assert!(matches!(error, AuthError::TokenExpired));
    assert_eq!(error.to_string(), "Token expired");
    // The family survives an expired token.
    assert!(issuer.refresh(&pair.refresh_token, &Active).await.is_ok());
}

#[tokio::test]
async fn an_access_token_or_garbage_is_no_refresh_token() {
    let issuer = pair_issuer();
    let pair = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
    for token in [pair.access_token.as_str(), "", "garbage", "a.b.c"] {
        let error = issuer.refresh(token, &Active).await.unwrap_err();
        assert!(matches!(error, AuthError::InvalidToken), "{token}");
        assert_eq!(error.to_string(), "Invalid token");
    }
    // Typed as a refresh token but signed with the access secret.
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(JwtStrategy::REFRESH_TOKEN_TYPE.to_owned());
    let claims = refresh_claims(&pair.refresh_token);
    let wrong_key = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
    assert!(matches!(issuer.refresh(&wrong_key, &Active).await, Err(AuthError::InvalidToken)));
    // Correctly signed, but of a family that was never started.
    let mut stray = claims.clone();
    stray[TokenPairIssuer::FAMILY_CLAIM] = json!("never-issued");
    let stray = jsonwebtoken::encode(&header, &stray, &EncodingKey::from_secret(REFRESH_SECRET)).unwrap();
    assert!(matches!(issuer.refresh(&stray, &Active).await, Err(AuthError::InvalidToken)));
    // Without a family id.
    let mut orphan = claims;
    orphan.as_object_mut().unwrap().remove(TokenPairIssuer::FAMILY_CLAIM);
    let orphan = jsonwebtoken::encode(&header, &orphan, &EncodingKey::from_secret(REFRESH_SECRET)).unwrap();
    assert!(matches!(issuer.refresh(&orphan, &Active).await, Err(AuthError::InvalidToken)));
    // None of this disturbed the real family.
    assert!(issuer.refresh(&pair.refresh_token, &Active).await.is_ok());
}

#[tokio::test]
async fn revoke_family_logs_out() {
    let issuer = pair_issuer();
    let pair = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
    let rotated = issuer.refresh(&pair.refresh_token, &Active).await.unwrap();
    issuer.revoke_family(&rotated.refresh_token).await.unwrap();
    assert!(matches!(issuer.refresh(&rotated.refresh_token, &Active).await, Err(AuthError::InvalidToken)));
    assert!(matches!(issuer.revoke_family(&pair.access_token).await, Err(AuthError::InvalidToken)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let issuer = pair_issuer();
    for round in 0..25 {
        let pair = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
        let contenders = 2 + round % 4;
        let barrier = Arc::new(tokio::sync::Barrier::new(contenders));
        let tasks: Vec<_> = (0..contenders)
            .map(|_| {
                let (issuer, barrier, token) = (issuer.clone(), Arc::clone(&barrier), pair.refresh_token.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    issuer.refresh(&token, &Active).await
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => winners += 1,
                Err(error) => assert!(matches!(error, AuthError::InvalidToken), "{error:?}"),
            }
        }
        assert_eq!(winners, 1, "round {round} with {contenders} contenders");
    }
}

#[tokio::test]
async fn memory_store_rotates_atomically_and_prunes_expired_families() {
    let store = MemoryFamilyStore::new();
    let later = now() + 60;
    store.create("f", "a", later).await.unwrap();
    assert_eq!(store.rotate("f", "a", "b", later).await.unwrap(), Rotation::Rotated);
    assert_eq!(store.rotate("f", "a", "c", later).await.unwrap(), Rotation::Reused);
    assert_eq!(store.rotate("f", "b", "c", later).await.unwrap(), Rotation::Unknown);
    store.create("g", "a", now() - 1).await.unwrap();
    assert_eq!(store.rotate("g", "a", "b", later).await.unwrap(), Rotation::Unknown, "expired");

    for i in 0..2000 {
        store.create(&format!("old-{i}"), "a", now() - 1).await.unwrap();
    }
    assert!(store.len().await <= 1024 + 1, "pruned while growing: {}", store.len().await);
    store.create("live", "a", later).await.unwrap();
    store.prune_expired().await;
    assert_eq!(store.len().await, 1);
}

#[tokio::test]
async fn pair_issuer_needs_two_signing_strategies() {
    let access = JwtStrategy::builder(JwtKey::hs256(SECRET)).build().unwrap();
    let verify_only = JwtStrategy::builder(JwtKey::rs256_public_pem(RSA_PUBLIC))
        .lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)
        .build()
        .unwrap();
    assert!(matches!(
        TokenPairIssuer::builder(MemoryFamilyStore::new()).strategies(access.clone(), verify_only).build(),
        Err(JwtError::Config(_))
    ));
    let short_refresh = JwtStrategy::builder(JwtKey::hs256(REFRESH_SECRET)).build().unwrap();
    assert!(
        matches!(
            TokenPairIssuer::builder(MemoryFamilyStore::new()).strategies(access.clone(), short_refresh).build(),
            Err(JwtError::Config(_))
        ),
        "a refresh token that does not outlive the access token is a misconfiguration"
    );
    let refresh_typed_access =
        JwtStrategy::builder(JwtKey::hs256(SECRET)).token_type(JwtStrategy::REFRESH_TOKEN_TYPE).build().unwrap();
    assert!(matches!(
        TokenPairIssuer::builder(MemoryFamilyStore::new()).strategies(refresh_typed_access, access).build(),
        Err(JwtError::Config(_))
    ));
}

#[tokio::test]
async fn hs256_pair_issuer_uses_the_seed_setup() {
    let issuer = TokenPairIssuer::builder(MemoryFamilyStore::new()).hs256(SECRET, REFRESH_SECRET).build().unwrap();
    assert_eq!(issuer.access_strategy().lifetime(), JwtStrategy::DEFAULT_LIFETIME);
    let pair = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
    assert!(
        refresh_claims(&pair.refresh_token)["exp"].as_u64().unwrap() > now() + JwtStrategy::DEFAULT_LIFETIME.as_secs()
    );
    assert!(issuer.refresh(&pair.refresh_token, &Active).await.is_ok());
    assert!(matches!(
        TokenPairIssuer::builder(MemoryFamilyStore::new()).hs256(SECRET, SECRET).build(),
        Err(JwtError::Config(_))
    ));
}

#[test]
fn strategies_are_cheap_to_share_across_tasks() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<JwtStrategy>();
    shareable::<TokenPairIssuer>();
    shareable::<JwtKeySet>();
}

// ---------------------------------------------------------------------------------------------
// Revocation that holds, and key floors (issue 12, findings 1, 2 and 10)
// ---------------------------------------------------------------------------------------------

/// The order of P-256.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The same ES256 token with its signature re-spelled as `(r, n − s)`: what anyone holding the
/// token can do without the key.
fn respelled(token: &str) -> String {
    let (message, signature) = token.rsplit_once('.').unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_eq!(raw.len(), 64);
    let s = &mut raw[32..];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut difference = i16::from(P256_N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(difference < 0);
        if difference < 0 {
            difference += 256;
        }
        s[i] = difference as u8;
    }
    format!("{message}.{}", b64(raw))
}

#[tokio::test]
async fn a_respelled_es256_signature_is_still_logged_out() {
    // A resource server verifying someone else's ES256 tokens with the public key only (it
    // accepts both spellings, as it must for identity providers that sign high-S), and making
    // logout stick with a denylist.
    let issuer = JwtStrategy::builder(JwtKey::es256_pem(EC_PRIVATE, EC_PUBLIC)).build().unwrap();
    let tokens = DenylistedJwt::new(
        JwtStrategy::builder(JwtKey::es256_public_pem(EC_PUBLIC)).build().unwrap(),
        MemoryDenylist::new(),
    );
    for user in 0..8 {
        // Without a `jti`, so the denylist must key the token by something else. (Two tokens
        // with the same claims signed in the same second are one token to the denylist.)
        let subject = format!("user-{user}");
        let token = issuer.issue(&subject, &["me"]).unwrap();
        let twin = respelled(&token);
        assert_ne!(twin, token);
        assert_eq!(tokens.read_token(&twin).await.unwrap().subject, subject, "both spellings verify");

        tokens.destroy_token(&token).await.unwrap();
        assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
        assert!(
            matches!(tokens.read_token(&twin).await, Err(AuthError::InvalidToken)),
            "the re-spelled twin of a logged-out token must be logged out too"
        );
    }
}

#[tokio::test]
async fn es256_tokens_are_issued_low_s_and_their_high_s_twin_is_refused() {
    let strategy = JwtStrategy::builder(JwtKey::es256_pem(EC_PRIVATE, EC_PUBLIC)).build().unwrap();
    let strict_verifier =
        JwtStrategy::builder(JwtKeySet::single(JwtKey::es256_public_pem(EC_PUBLIC).unwrap().require_low_s()))
            .build()
            .unwrap();
    let lenient_verifier = JwtStrategy::builder(JwtKey::es256_public_pem(EC_PUBLIC)).build().unwrap();
    // ECDSA picks a random nonce: half of raw signatures are high-S, so 32 tokens would all be
    // low-S by chance once in 4 billion runs.
    for _ in 0..32 {
        let token = strategy.issue("johndoe", &["me"]).unwrap();
        assert!(strategy.verify(&token).is_ok());
        assert!(strict_verifier.verify(&token).is_ok(), "issued in the low-S spelling");
        let twin = respelled(&token);
        assert_eq!(verdict(&strategy, &twin), invalid(InvalidReason::HighS), "refused under our own key");
        assert_eq!(verdict(&strict_verifier, &twin), invalid(InvalidReason::HighS));
        assert!(lenient_verifier.verify(&twin).is_ok(), "a verify-only key accepts both by default");
    }
}

#[tokio::test]
async fn a_logout_inside_the_leeway_window_sticks() {
    // A 1 s lifetime and a 30 s leeway: the token keeps verifying for 30 s after its `exp`.
    let jwt = JwtStrategy::builder(JwtKey::hs256(SECRET))
        .lifetime(Duration::from_secs(1))
        .leeway(Duration::from_secs(30))
        .build()
        .unwrap();
    for jti in [true, false] {
        let tokens = DenylistedJwt::new(jwt.clone(), MemoryDenylist::new());
        let token = if jti {
            tokens.write_token("johndoe", &[]).await.unwrap()
        } else {
            jwt.issue("johndoe", &["me"]).unwrap()
        };
        let exp = refresh_claims(&token)["exp"].as_u64().unwrap();
        assert_eq!(refresh_claims(&token).get("jti").is_some(), jti, "DenylistedJwt issues a jti");
        while now() <= exp {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(tokens.read_token(&token).await.is_ok(), "past exp, within the leeway: still valid");
        tokens.destroy_token(&token).await.unwrap();
        assert!(
            matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)),
            "a logout made after exp but within the leeway must stick (jti: {jti})"
        );
    }
}

/// A `MemoryDenylist` forgets its entries when the process ends; the tokens live on. A list
/// created later (a restarted process) refuses every token issued in an earlier second, so a
/// token logged out before the restart does not come back.
#[tokio::test]
async fn a_memory_denylist_refuses_tokens_older_than_itself() {
    let jwt = JwtStrategy::builder(JwtKey::hs256(SECRET)).build().unwrap();
    let before = DenylistedJwt::new(jwt.clone(), MemoryDenylist::new());
    let logged_out = before.write_token("johndoe", &[]).await.unwrap();
    let kept = before.write_token("alice", &[]).await.unwrap();
    before.destroy_token(&logged_out).await.unwrap();
    assert!(matches!(before.read_token(&logged_out).await, Err(AuthError::InvalidToken)));
    assert!(before.read_token(&kept).await.is_ok());

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = DenylistedJwt::new(jwt, MemoryDenylist::new());
    assert!(matches!(after.read_token(&logged_out).await, Err(AuthError::InvalidToken)), "a logout came undone");
    assert!(matches!(after.read_token(&kept).await, Err(AuthError::InvalidToken)));
    let fresh = after.write_token("johndoe", &[]).await.unwrap();
    assert!(after.read_token(&fresh).await.is_ok());
}

#[tokio::test]
async fn hmac_keys_meet_rfc_7518_floors_for_every_algorithm() {
    let secret = |len: usize| vec![0x5a; len];
    let key = |alg: Algorithm, len: usize| {
        JwtKey::new(alg, Some(EncodingKey::from_secret(&secret(len))), DecodingKey::from_secret(&secret(len)))
    };
    for (alg, floor) in [(Algorithm::HS256, 32), (Algorithm::HS384, 48), (Algorithm::HS512, 64)] {
        assert!(matches!(key(alg, floor - 1), Err(JwtError::Config(_))), "{alg:?} with {} bytes", floor - 1);
        assert!(key(alg, floor).is_ok(), "{alg:?} with {floor} bytes");
        // Verify-only keys too.
        let verify_only = JwtKey::new(alg, None, DecodingKey::from_secret(&secret(floor - 1)));
        assert!(matches!(verify_only, Err(JwtError::Config(_))), "verify-only {alg:?}");
        // And JWK `oct` keys, whose `alg` decides the floor.
        let alg_name = format!("{alg:?}");
        let jwk = |len: usize| -> Jwk {
            serde_json::from_value(json!({ "kty": "oct", "alg": alg_name, "k": b64(secret(len)) })).unwrap()
        };
        assert!(matches!(JwtKey::from_jwk(&jwk(floor - 1)), Err(JwtError::Config(_))), "JWK {alg:?}");
        assert_eq!(JwtKey::from_jwk(&jwk(floor)).unwrap().algorithm(), alg);
    }
    assert!(matches!(JwtKey::hs256(secret(31)), Err(JwtError::Config(_))));
}

// ---------------------------------------------------------------------------------------------
// Refresh re-checks the user, within an absolute session lifetime (issue 12, finding 7)
// ---------------------------------------------------------------------------------------------

/// A user table the test changes between refreshes: `None` for a disabled user.
#[derive(Default)]
struct Users(std::sync::Mutex<std::collections::HashMap<String, Option<Vec<String>>>>);

impl Users {
    fn set(&self, user: &str, scopes: Option<&[&str]>) {
        let scopes = scopes.map(|scopes| scopes.iter().map(|s| (*s).to_owned()).collect());
        self.0.lock().unwrap().insert(user.to_owned(), scopes);
    }
}

impl auth_core::strategies::ReloadUser for Users {
    async fn reload_user(&self, subject: &str) -> Result<Option<Vec<String>>, AuthError> {
        Ok(self.0.lock().unwrap().get(subject).cloned().flatten())
    }
}

#[tokio::test]
async fn refresh_refuses_a_disabled_user_and_revokes_the_family() {
    let issuer = pair_issuer();
    let users = Users::default();
    users.set("johndoe", Some(&["me", "items"]));
    let login = issuer.issue_pair("johndoe", &["me", "items"]).await.unwrap();
    let rotated = issuer.refresh(&login.refresh_token, &users).await.unwrap();

    users.set("johndoe", None);
    assert!(matches!(issuer.refresh(&rotated.refresh_token, &users).await, Err(AuthError::InvalidToken)));
    // The family is gone: enabling the user again does not bring the session back.
    users.set("johndoe", Some(&["me", "items"]));
    assert!(matches!(issuer.refresh(&rotated.refresh_token, &users).await, Err(AuthError::InvalidToken)));
    assert!(issuer.store().is_empty().await);
    // A user who was deleted: the same.
    let other = issuer.issue_pair("ghost", &["me"]).await.unwrap();
    assert!(matches!(issuer.refresh(&other.refresh_token, &users).await, Err(AuthError::InvalidToken)));
}

#[tokio::test]
async fn refresh_narrows_the_scopes_to_what_the_user_may_still_have() {
    let issuer = pair_issuer();
    let users = Users::default();
    users.set("johndoe", Some(&["me"]));
    let login = issuer.issue_pair("johndoe", &["me", "items"]).await.unwrap();
    let rotated = issuer.refresh(&login.refresh_token, &users).await.unwrap();
    assert_eq!(issuer.access_strategy().verify(&rotated.access_token).unwrap().scopes, ["me"]);
    assert_eq!(refresh_claims(&rotated.refresh_token)["scopes"], json!(["me"]));
    // Granting `items` again does not widen a session that lost it.
    users.set("johndoe", Some(&["me", "items"]));
    let again = issuer.refresh(&rotated.refresh_token, &users).await.unwrap();
    assert_eq!(issuer.access_strategy().verify(&again.access_token).unwrap().scopes, ["me"]);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let issuer = pair_issuer_builder().session_lifetime(Duration::from_secs(2)).build().unwrap();
    let login_at = now();
    let login = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
    let ends_at = refresh_claims(&login.refresh_token)["fxp"].as_u64().unwrap();
    assert!((login_at + 2..=login_at + 3).contains(&ends_at), "{ends_at}");
    for token in [&login.access_token, &login.refresh_token] {
        assert!(refresh_claims(token)["exp"].as_u64().unwrap() <= ends_at, "no token outlives its session");
    }
    let rotated = issuer.refresh(&login.refresh_token, &Active).await.unwrap();
    assert_eq!(refresh_claims(&rotated.refresh_token)["fxp"].as_u64(), Some(ends_at), "rotation keeps the end");
    assert!(refresh_claims(&rotated.refresh_token)["exp"].as_u64().unwrap() <= ends_at);

    while now() < ends_at {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(issuer.refresh(&rotated.refresh_token, &Active).await, Err(AuthError::TokenExpired)));
    // With the default, a week-long refresh token is capped at 30 days of session.
    let pair = pair_issuer().issue_pair("johndoe", &["me"]).await.unwrap();
    let claims = refresh_claims(&pair.refresh_token);
    assert_eq!(claims["fxp"].as_u64().unwrap() - now(), 30 * 24 * 3600);
}

#[tokio::test]
async fn token_pairs_are_never_cached_or_debug_printed() {
    use axum::response::IntoResponse;
    let pair = pair_issuer().issue_pair("johndoe", &["me"]).await.unwrap();
    let debug = format!("{pair:?}");
    assert!(!debug.contains(&pair.access_token) && !debug.contains(&pair.refresh_token), "{debug}");
    let response = pair.into_response();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
}

/// Mutation testing (TESTING.md): the size limit is inclusive, a token of exactly
/// `max_token_len` bytes is verified and one byte less of room refuses it.
#[tokio::test]
async fn a_token_of_exactly_the_limit_is_verified() {
    let token = hs256().issue("johndoe", &["me"]).unwrap();
    let exact = JwtStrategy::builder(JwtKey::hs256(SECRET)).max_token_len(token.len()).build().unwrap();
    assert!(exact.verify(&token).is_ok());
    let short = JwtStrategy::builder(JwtKey::hs256(SECRET)).max_token_len(token.len() - 1).build().unwrap();
    assert_eq!(verdict(&short, &token), invalid(InvalidReason::TooLong));
}
