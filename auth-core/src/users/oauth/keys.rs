//! The keys of social login and what they make. The state token is signed with the app's secret
//! itself, as fastapi-users signs it with its `state_secret`; the other keys are derived from
//! that secret (HKDF-SHA256, one `info` per use, so no key serves two purposes): the PKCE
//! verifier and the `nonce` of one login, and the provider tokens' encryption at rest.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    digest, hkdf, hmac,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::error::AuthError;

/// The HKDF salt: fixed, naming the scheme (RFC 5869 §3.1 allows a constant salt).
const SALT: &[u8] = b"auth-core social login v1";
/// The prefix of a ciphertext as stored, naming its format and key.
const CIPHERTEXT_PREFIX: &str = "v1.";

/// The derived keys of one provider configuration.
pub(crate) struct Keys {
    /// The state token's HS256 secret: the app's secret.
    pub(crate) state: Zeroizing<Vec<u8>>,
    /// The key of the PKCE verifier and the `nonce` (HMAC-SHA256).
    flow: hmac::Key,
    /// The provider tokens' key at rest (AES-256-GCM).
    tokens: LessSafeKey,
}

impl Keys {
    /// Derives the keys from `secret` (at least 32 bytes, checked by the builder).
    pub(crate) fn derive(secret: &[u8]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret);
        let expand = |info: &[u8]| {
            let mut key = Zeroizing::new([0u8; 32]);
            // Infallible: 32 bytes is within HKDF-SHA256's 255 × 32.
            prk.expand(&[info], hkdf::HKDF_SHA256)
                .and_then(|okm| okm.fill(&mut key[..]))
                .expect("HKDF-SHA256 expands to 32 bytes");
            key
        };
        let state = Zeroizing::new(secret.to_vec());
        let flow = hmac::Key::new(hmac::HMAC_SHA256, &expand(b"oauth pkce and nonce")[..]);
        let tokens = expand(b"oauth provider tokens at rest");
        let tokens = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &tokens[..]).expect("a 32-byte AES-256 key"));
        Self { state, flow, tokens }
    }

    /// The PKCE verifier of the login whose CSRF token is `csrf` (RFC 7636 §4.1: 43 characters of
    /// base64url). Recomputed at the callback from the CSRF cookie, so it is never sent anywhere
    /// but to the token endpoint, and a code obtained in another browser's session is redeemed
    /// with the wrong verifier.
    pub(crate) fn pkce_verifier(&self, csrf: &str) -> Zeroizing<String> {
        Zeroizing::new(self.tag(b"pkce verifier", csrf))
    }

    /// The `nonce` of the login whose CSRF token is `csrf`; the ID token must carry it.
    pub(crate) fn nonce(&self, csrf: &str) -> String {
        self.tag(b"nonce", csrf)
    }

    fn tag(&self, purpose: &[u8], csrf: &str) -> String {
        let mut context = hmac::Context::with_key(&self.flow);
        context.update(purpose);
        context.update(&[0]);
        context.update(csrf.as_bytes());
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }

    /// Encrypts a provider token for its row: `v1.` and base64url of nonce, ciphertext and tag.
    /// `binding` (provider, account, column) is authenticated, so a ciphertext copied to another
    /// row or column does not decrypt.
    pub(crate) fn seal(&self, plaintext: &str, binding: &[u8]) -> Result<String, AuthError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|error| {
            tracing::error!(%error, "random number generator failed");
            AuthError::Internal
        })?;
        let mut sealed = plaintext.as_bytes().to_vec();
        self.tokens
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(binding), &mut sealed)
            .map_err(|_| AuthError::Internal)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!("{CIPHERTEXT_PREFIX}{}", URL_SAFE_NO_PAD.encode(stored)))
    }

    /// Decrypts what [`Keys::seal`] made for the same `binding`; `None` for anything else (another
    /// key, another row, a tampered value).
    pub(crate) fn open(&self, stored: &str, binding: &[u8]) -> Option<Zeroizing<String>> {
        let bytes = URL_SAFE_NO_PAD.decode(stored.strip_prefix(CIPHERTEXT_PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plaintext = self.tokens.open_in_place(nonce, Aad::from(binding), &mut sealed).ok()?;
        String::from_utf8(plaintext.to_vec()).ok().map(Zeroizing::new)
    }
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

/// A CSRF token: 32 random bytes, base64url (as fastapi-users' `secrets.token_urlsafe(32)`).
pub(crate) fn csrf_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| {
        tracing::error!(%error, "random number generator failed");
        AuthError::Internal
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_base64url_sha256() {
        // `printf %s <verifier> | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d =`
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ0kzyCWDtA3lN1ycAu3aAfFkpNX4E"),
            "pN8JcGUe4WV9wJ_JATQs2m-mciFsMq0Si3wfHSwTyV4"
        );
    }

    #[test]
    fn verifiers_and_nonces_belong_to_one_login_and_one_secret() {
        let keys = Keys::derive(&[7; 32]);
        let verifier = keys.pkce_verifier("csrf-a");
        assert_eq!(verifier.len(), 43);
        assert_eq!(*verifier, *keys.pkce_verifier("csrf-a"));
        assert_ne!(*verifier, *keys.pkce_verifier("csrf-b"));
        assert_ne!(*verifier, keys.nonce("csrf-a"), "the verifier is not the nonce sent in clear");
        assert_ne!(*verifier, *Keys::derive(&[8; 32]).pkce_verifier("csrf-a"));
    }

    #[test]
    fn tokens_at_rest_open_only_in_their_row() {
        let keys = Keys::derive(&[7; 32]);
        let sealed = keys.seal("provider-access-token", b"oidc\0alice\0access_token").unwrap();
        assert!(!sealed.contains("provider-access-token"));
        assert_ne!(sealed, keys.seal("provider-access-token", b"oidc\0alice\0access_token").unwrap());
        assert_eq!(keys.open(&sealed, b"oidc\0alice\0access_token").unwrap().as_str(), "provider-access-token");
        assert!(keys.open(&sealed, b"oidc\0bob\0access_token").is_none());
        assert!(keys.open(&sealed, b"oidc\0alice\0refresh_token").is_none());
        assert!(Keys::derive(&[8; 32]).open(&sealed, b"oidc\0alice\0access_token").is_none());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(keys.open(std::str::from_utf8(&tampered).unwrap(), b"oidc\0alice\0access_token").is_none());
        for junk in ["", "v1.", "v1.!!", "v0.AAAA", "provider-access-token"] {
            assert!(keys.open(junk, b"x").is_none(), "{junk}");
        }
    }
}
