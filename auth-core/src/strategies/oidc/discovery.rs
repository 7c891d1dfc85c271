//! OpenID Connect Discovery 1.0: `{issuer}/.well-known/openid-configuration`, read and checked.

use reqwest::Url;
use serde::Deserialize;

use super::{
    OidcError,
    fetch::{Fetcher, secure_url, shorten},
};

/// The path appended to an issuer to find its configuration (OpenID Connect Discovery §4).
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// What an identity provider says about itself: the members of its discovery document that
/// this library reads. Unknown members are ignored.
///
/// Only `issuer` and `jwks_uri` are checked at discovery (the issuer equal to the configured one,
/// the key set URL secure). Endpoints are checked where they are used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier; equal to the configured issuer, character for character.
    pub issuer: String,
    /// Where the provider publishes its signing keys.
    pub jwks_uri: String,
    /// The OAuth 2.0 authorization endpoint (authorization code flow).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The OAuth 2.0 token endpoint.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The OpenID Connect userinfo endpoint (social login reads the e-mail there when the ID
    /// token has none).
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// The RFC 7662 introspection endpoint.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// The RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// The scopes the provider announces.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// The grant types the provider announces.
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
}

/// An issuer identifier: `https` with a host, no query or fragment (OpenID Connect Discovery §3),
/// or `http` on a loopback host for development.
pub(crate) fn issuer_url(issuer: &str) -> Result<Url, OidcError> {
    let url = secure_url(issuer, true).map_err(|e| OidcError::Config(format!("issuer: {e}")))?;
    if url.query().is_some() {
        return Err(OidcError::Config(format!("issuer `{}` has a query", shorten(issuer))));
    }
    Ok(url)
}

/// Whether URLs an issuer gives may be plain `http` on loopback: only when the issuer itself is.
pub(crate) fn allows_loopback_http(issuer: &Url) -> bool {
    issuer.scheme() == "http"
}

/// Fetches and checks the issuer's discovery document.
pub(crate) async fn discover(fetcher: &Fetcher, issuer: &str) -> Result<ProviderMetadata, OidcError> {
    let url = discovery_url(issuer)?;
    let fetched = fetcher.get(&url).await.map_err(|error| OidcError::Fetch { url: url.to_string(), error })?;
    parse_metadata(&fetched.body, issuer)
}

/// `{issuer}/.well-known/openid-configuration`, the issuer's trailing `/` removed first.
pub(crate) fn discovery_url(issuer: &str) -> Result<Url, OidcError> {
    Url::parse(&super::OidcStrategy::discovery_url(issuer))
        .map_err(|e| OidcError::Config(format!("discovery URL of `{}`: {e}", shorten(issuer))))
}

/// Reads a discovery document and checks it: its `issuer` must be identical to the issuer it
/// was fetched for (OpenID Connect Discovery §4.3, which stops one provider from speaking for
/// another), and its `jwks_uri` must be `https` (plain `http` on loopback only, and only for a
/// loopback `http` issuer).
pub fn parse_metadata(json: &[u8], issuer: &str) -> Result<ProviderMetadata, OidcError> {
    let issuer_url = issuer_url(issuer)?;
    let discovery = |reason: String| OidcError::Discovery { issuer: issuer.to_owned(), reason };
    let metadata: ProviderMetadata =
        serde_json::from_slice(json).map_err(|e| discovery(format!("not a valid discovery document: {e}")))?;
    if metadata.issuer != issuer {
        return Err(discovery(format!(
            "the document names the issuer `{}`, not the one it was fetched for",
            shorten(&metadata.issuer)
        )));
    }
    secure_url(&metadata.jwks_uri, allows_loopback_http(&issuer_url))
        .map_err(|e| discovery(format!("`jwks_uri`: {e}")))?;
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_must_name_its_own_issuer() {
        let json = br#"{"issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/jwks","x":[1]}"#;
        let metadata = parse_metadata(json, "https://idp.example.com").unwrap();
        assert_eq!(metadata.jwks_uri, "https://idp.example.com/jwks");
        assert_eq!(metadata.introspection_endpoint, None);

        for issuer in ["https://idp.example.com/", "https://evil.example.com", "https://IDP.example.com"] {
            let error = parse_metadata(json, issuer).unwrap_err();
            assert!(error.to_string().contains("names the issuer"), "{error}");
        }
    }

    #[test]
    fn the_key_set_url_must_be_as_secure_as_the_issuer() {
        let doc = |issuer: &str, jwks: &str| format!(r#"{{"issuer":"{issuer}","jwks_uri":"{jwks}"}}"#);
        let https = "https://idp.example.com";
        for jwks in ["http://idp.example.com/jwks", "http://127.0.0.1:4000/jwks", "ftp://idp.example.com/jwks", "jwks"]
        {
            let error = parse_metadata(doc(https, jwks).as_bytes(), https).unwrap_err();
            assert!(error.to_string().contains("`jwks_uri`"), "{error}");
        }
        let loopback = "http://127.0.0.1:4000";
        assert!(parse_metadata(doc(loopback, "http://127.0.0.1:4000/jwks").as_bytes(), loopback).is_ok());
        assert!(parse_metadata(doc(loopback, "http://idp.example.com/jwks").as_bytes(), loopback).is_err());
    }

    #[test]
    fn malformed_documents_are_refused() {
        for json in [
            &b"[]"[..],
            b"{}",
            br#"{"issuer":"https://a"}"#,
            br#"{"issuer":1,"jwks_uri":"https://a/jwks"}"#,
            br#"{"issuer":"https://a","jwks_uri":"https://a/jwks","issuer":"https://b"}"#,
            br#"{"issuer":"https://a","jwks_uri":"https://a/jwks","scopes_supported":"a b"}"#,
            b"<html>",
        ] {
            let error = parse_metadata(json, "https://a").unwrap_err();
            assert!(error.to_string().contains("not a valid discovery document"), "{error}");
        }
    }

    #[test]
    fn issuers_are_https_or_loopback() {
        assert!(issuer_url("https://login.example.com/tenant/v2.0").is_ok());
        assert!(issuer_url("http://127.0.0.1:4000").is_ok());
        assert!(issuer_url("http://login.example.com").is_err());
        assert!(issuer_url("https://login.example.com?tenant=1").is_err());
        assert_eq!(
            discovery_url("https://login.example.com/t/").unwrap().as_str(),
            "https://login.example.com/t/.well-known/openid-configuration"
        );
    }
}
