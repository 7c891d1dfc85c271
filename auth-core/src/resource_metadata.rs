//! RFC 9728 protected-resource metadata: the document that tells a client (an MCP client, a
//! generic OAuth client) which authorization servers issue tokens for this API and which scopes
//! it knows, and the `resource_metadata` pointer to it in every `Bearer` challenge.
//!
//! ```
//! use auth_core::{Scopes, resource_metadata::ProtectedResourceMetadata};
//! use axum::{Router, routing::get};
//!
//! #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
//! pub enum Scope {
//!     /// Read items.
//!     #[scope("items:read")]
//!     ItemsRead,
//! }
//!
//! let metadata = ProtectedResourceMetadata::new("https://api.example.com")?
//!     .authorization_server("https://sso.example.com/realms/acme")
//!     .scopes::<Scope>();
//! let app: Router = metadata.install(Router::new().route("/items", get(|| async { "[]" })));
//! // GET /.well-known/oauth-protected-resource →
//! // {"resource":"https://api.example.com",
//! //  "authorization_servers":["https://sso.example.com/realms/acme"],
//! //  "scopes_supported":["items:read"],"bearer_methods_supported":["header"]}
//! // and every 401: WWW-Authenticate: Bearer …, resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"
//! # Ok::<(), auth_core::resource_metadata::ResourceMetadataError>(())
//! ```
//!
//! # How the challenge parameter is added
//!
//! [`ProtectedResourceMetadata::install`] adds the route and wraps the router in one response
//! mapping: every response carrying a `Bearer` challenge (a 401, or a 403 `insufficient_scope`
//! in RFC 6750 style) gets `resource_metadata="…"` next to its `scope="…"`. A layer rather than
//! a change to how [`AuthError`](crate::AuthError) renders, because the URL is the application's
//! configuration and an error renders without access to it; the parameter survives
//! [`AuthError::rfc6750`](crate::AuthError::rfc6750) re-rendering, on whichever side of it this layer sits.
//! As with any axum layer, it covers the routes added before `install`: call it last.

use std::{fmt, str::FromStr, sync::Arc};

use axum::{
    Router,
    extract::State,
    http::{Uri, header},
    middleware::map_response_with_state,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Map, Value, json};

use crate::{error::add_challenge_param, security::ScopeDeclaration};

impl ProtectedResourceMetadata {
    /// The well-known path suffix of RFC 9728 §3.
    pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";
}

/// Why a resource identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid resource identifier: {0}")]
pub struct ResourceMetadataError(String);

/// This API's RFC 9728 metadata, built from its configuration and its scopes declaration.
///
/// Members written: `resource` (required), `authorization_servers`, `scopes_supported` (from
/// [`ProtectedResourceMetadata::scopes`]: every scope of the declaration, in its order),
/// `bearer_methods_supported` (`["header"]`: this library reads bearer tokens from the
/// `Authorization` header only), and `resource_name` / `resource_documentation` when set.
#[derive(Clone)]
pub struct ProtectedResourceMetadata {
    resource: String,
    path: String,
    url: Arc<str>,
    authorization_servers: Vec<String>,
    scopes_supported: Option<Vec<&'static str>>,
    bearer_methods: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
}

impl fmt::Debug for ProtectedResourceMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedResourceMetadata").field("document", &self.document()).finish()
    }
}

impl ProtectedResourceMetadata {
    /// The metadata of the resource `resource`: this API's identifier, an `https` URL (plain
    /// `http` for a loopback host) without fragment, usually the audience its tokens carry.
    pub fn new(resource: impl Into<String>) -> Result<Self, ResourceMetadataError> {
        let resource = resource.into();
        let refuse = |why: &str| ResourceMetadataError(format!("`{resource}` {why}"));
        if resource.contains('#') {
            return Err(refuse("has a fragment"));
        }
        let uri = Uri::from_str(&resource).map_err(|_| refuse("is not a URL"))?;
        let authority = uri.authority().ok_or_else(|| refuse("has no host"))?;
        let loopback = matches!(authority.host(), "localhost" | "[::1]") || authority.host().starts_with("127.");
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            _ => return Err(refuse("is not https (plain http is accepted on loopback only)")),
        }
        if authority.as_str().contains('@') {
            return Err(refuse("carries credentials"));
        }
        // RFC 9728 §3.1: the suffix goes between the host and the resource's path and query.
        let rest = uri.path_and_query().map_or("", |pq| pq.as_str());
        let rest = if rest == "/" { "" } else { rest };
        let path = format!("{}{}", Self::WELL_KNOWN_PATH, uri.path().trim_end_matches('/'));
        let url = format!("{}://{authority}{}{rest}", uri.scheme_str().unwrap_or("https"), Self::WELL_KNOWN_PATH);
        Ok(Self {
            resource,
            path,
            url: url.into(),
            authorization_servers: Vec::new(),
            scopes_supported: None,
            bearer_methods: vec!["header".to_owned()],
            resource_name: None,
            resource_documentation: None,
        })
    }

    /// Adds an authorization server (an issuer identifier) whose tokens this API accepts.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Lists the declared scopes as `scopes_supported`.
    pub fn scopes<S: ScopeDeclaration>(mut self) -> Self {
        self.scopes_supported = Some(S::ALL.iter().map(|scope| scope.name).collect());
        self
    }

    /// Replaces `bearer_methods_supported` (default `["header"]`).
    pub fn bearer_methods<I: IntoIterator<Item = M>, M: Into<String>>(mut self, methods: I) -> Self {
        self.bearer_methods = methods.into_iter().map(Into::into).collect();
        self
    }

    crate::macros::setters! {
        /// A human-readable name of this API (`resource_name`).
        resource_name(name: impl Into<String>) => resource_name = Some(name.into());

        /// Where developers read about this API (`resource_documentation`).
        resource_documentation(url: impl Into<String>) => resource_documentation = Some(url.into());
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where clients fetch the document: the `resource_metadata` parameter of the challenges.
    pub fn metadata_url(&self) -> &str {
        &self.url
    }

    /// The path this API serves the document at.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The document, as served.
    pub fn document(&self) -> Value {
        let mut document = Map::new();
        document.insert("resource".into(), json!(self.resource));
        if !self.authorization_servers.is_empty() {
            document.insert("authorization_servers".into(), json!(self.authorization_servers));
        }
        if let Some(scopes) = &self.scopes_supported {
            document.insert("scopes_supported".into(), json!(scopes));
        }
        document.insert("bearer_methods_supported".into(), json!(self.bearer_methods));
        if let Some(name) = &self.resource_name {
            document.insert("resource_name".into(), json!(name));
        }
        if let Some(url) = &self.resource_documentation {
            document.insert("resource_documentation".into(), json!(url));
        }
        Value::Object(document)
    }

    /// Serves the document at [`path`](Self::path) and adds `resource_metadata` to every
    /// `Bearer` challenge of `router`'s responses. Call it after adding the routes.
    pub fn install<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        // Written once: the document never changes while the app runs.
        let document = axum::body::Bytes::from(self.document().to_string());
        let served = Router::new().route(
            &self.path,
            get(move || async move {
                let headers = [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "max-age=3600")];
                (headers, document).into_response()
            }),
        );
        router.merge(served).layer(map_response_with_state(self.url, add_resource_metadata))
    }
}

async fn add_resource_metadata(State(url): State<Arc<str>>, mut response: Response) -> Response {
    add_challenge_param(&mut response, "resource_metadata", &url);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suffix_goes_between_host_and_path() {
        let root = ProtectedResourceMetadata::new("https://api.example.com").unwrap();
        assert_eq!(root.metadata_url(), "https://api.example.com/.well-known/oauth-protected-resource");
        assert_eq!(root.path(), ProtectedResourceMetadata::WELL_KNOWN_PATH);
        let slash = ProtectedResourceMetadata::new("https://api.example.com/").unwrap();
        assert_eq!(slash.metadata_url(), "https://api.example.com/.well-known/oauth-protected-resource");
        let nested = ProtectedResourceMetadata::new("https://example.com:8443/api/v1").unwrap();
        assert_eq!(nested.metadata_url(), "https://example.com:8443/.well-known/oauth-protected-resource/api/v1");
        assert_eq!(nested.path(), "/.well-known/oauth-protected-resource/api/v1");
        assert!(ProtectedResourceMetadata::new("http://127.0.0.1:8002").is_ok());
    }

    #[test]
    fn resource_identifiers_are_https_urls_without_fragment() {
        for bad in
            ["http://api.example.com", "https://api.example.com/#x", "api.example.com", "/api", "https://u:p@x.example"]
        {
            assert!(ProtectedResourceMetadata::new(bad).is_err(), "{bad}");
        }
    }
}
