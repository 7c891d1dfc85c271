//! OAuth2's password flow and HTTP bearer authentication, as FastAPI's `OAuth2PasswordBearer`
//! and `HTTPBearer` document them.

use std::borrow::Cow;

use crate::security::{OAuth2Flow, Scheme, SchemeKind, ScopeDeclaration};

/// The OAuth2 password-bearer scheme, as FastAPI's `OAuth2PasswordBearer(tokenUrl=…, scopes=…)`
/// documents it: where clients get tokens, and which scopes exist.
///
/// The token travels as a bearer token. This value is the scheme's description; give it to
/// `SecurityDoc::scheme` for the credential it documents:
///
/// ```ignore
/// SecurityDoc::new().scheme::<Claims>(OAuth2PasswordBearer::new::<Scope>("token"))
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2PasswordBearer {
    /// Where the password form is posted, as FastAPI's `tokenUrl` (relative URLs allowed).
    pub token_url: Cow<'static, str>,
    /// Where tokens are refreshed, if anywhere.
    pub refresh_url: Option<Cow<'static, str>>,
    /// Every declared scope with its description, in declaration order.
    pub scopes: Vec<(&'static str, &'static str)>,
}

impl OAuth2PasswordBearer {
    /// The name FastAPI gives the scheme, and the one [`Claims`](crate::strategies::jwt::Claims)
    /// is documented under.
    pub const NAME: &'static str = "OAuth2PasswordBearer";

    /// Posting to `token_url`, offering the scopes of declaration `D`.
    pub fn new<D: ScopeDeclaration>(token_url: impl Into<Cow<'static, str>>) -> Self {
        Self { token_url: token_url.into(), refresh_url: None, scopes: D::descriptions().collect() }
    }

    /// Sets the refresh URL.
    pub fn refresh_url(mut self, url: impl Into<Cow<'static, str>>) -> Self {
        self.refresh_url = Some(url.into());
        self
    }
}

impl From<OAuth2PasswordBearer> for SchemeKind {
    fn from(bearer: OAuth2PasswordBearer) -> Self {
        let flow = OAuth2Flow::Password { token_url: bearer.token_url, refresh_url: bearer.refresh_url };
        let scopes = bearer.scopes.into_iter().map(|(name, description)| (name.into(), description.into())).collect();
        SchemeKind::OAuth2 { flows: vec![flow], scopes }
    }
}

impl From<OAuth2PasswordBearer> for Scheme {
    fn from(bearer: OAuth2PasswordBearer) -> Self {
        Scheme::new(OAuth2PasswordBearer::NAME, bearer.into())
    }
}

/// HTTP bearer authentication (RFC 6750), as FastAPI's `HTTPBearer`: the same
/// `Authorization: Bearer` credential as OAuth2, documented without a token endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpBearer {
    /// A hint such as `JWT`, for documentation only.
    pub bearer_format: Option<Cow<'static, str>>,
}

impl HttpBearer {
    /// The name FastAPI gives the scheme.
    pub const NAME: &'static str = "HTTPBearer";

    /// Without a format hint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `bearerFormat`.
    pub fn bearer_format(mut self, format: impl Into<Cow<'static, str>>) -> Self {
        self.bearer_format = Some(format.into());
        self
    }
}

impl From<HttpBearer> for SchemeKind {
    fn from(bearer: HttpBearer) -> Self {
        SchemeKind::HttpBearer { bearer_format: bearer.bearer_format }
    }
}

impl From<HttpBearer> for Scheme {
    fn from(bearer: HttpBearer) -> Self {
        Scheme::new(HttpBearer::NAME, bearer.into())
    }
}
