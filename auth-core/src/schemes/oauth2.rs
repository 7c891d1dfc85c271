//! OAuth2's password flow, as FastAPI's `OAuth2PasswordBearer` describes it.

use crate::scopes::ScopeDeclaration;

/// The OAuth2 password-bearer scheme: where clients get tokens, and which scopes exist.
///
/// The credential itself travels as a bearer token; extract it with
/// [`BearerToken`](super::BearerToken), or with a strategy's verified-claims extractor. This
/// value describes the scheme for OpenAPI, with the scope descriptions of the declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2PasswordBearer {
    /// The name of the scheme in `components.securitySchemes`.
    pub name: String,
    /// Where the password form is posted, as FastAPI's `tokenUrl` (relative URLs allowed).
    pub token_url: String,
    /// Where tokens are refreshed, if anywhere.
    pub refresh_url: Option<String>,
    /// Every declared scope with its description, in declaration order.
    pub scopes: Vec<(&'static str, &'static str)>,
}

impl OAuth2PasswordBearer {
    /// A scheme named `OAuth2PasswordBearer`, as FastAPI names it, posting to `token_url`,
    /// offering the scopes of declaration `D`.
    pub fn new<D: ScopeDeclaration>(token_url: impl Into<String>) -> Self {
        Self {
            name: "OAuth2PasswordBearer".to_owned(),
            token_url: token_url.into(),
            refresh_url: None,
            scopes: D::descriptions().collect(),
        }
    }

    /// Sets the refresh URL.
    pub fn refresh_url(mut self, url: impl Into<String>) -> Self {
        self.refresh_url = Some(url.into());
        self
    }

    /// Renames the scheme in OpenAPI.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// HTTP bearer authentication (RFC 6750), as FastAPI's `HTTPBearer`: the same
/// `Authorization: Bearer` credential as OAuth2, documented without a token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpBearer {
    /// The name of the scheme in `components.securitySchemes`.
    pub name: String,
    /// A hint such as `JWT`, for documentation only.
    pub bearer_format: Option<String>,
}

impl HttpBearer {
    /// A scheme named `HTTPBearer`, as FastAPI names it.
    pub fn new() -> Self {
        Self { name: "HTTPBearer".to_owned(), bearer_format: None }
    }

    /// Renames the scheme in OpenAPI.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets `bearerFormat`.
    pub fn bearer_format(mut self, format: impl Into<String>) -> Self {
        self.bearer_format = Some(format.into());
        self
    }
}

impl Default for HttpBearer {
    fn default() -> Self {
        Self::new()
    }
}
