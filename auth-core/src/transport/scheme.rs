//! How a credential is documented: an OpenAPI security scheme, as plain data.
//!
//! These types say what OpenAPI's `components.securitySchemes` says, without depending on an
//! OpenAPI crate; the `openapi` module renders them into utoipa's types.

use std::borrow::Cow;

use crate::{error::Challenge, security::ScopeDeclaration};

/// A security scheme: its name in `components.securitySchemes`, and what it is.
///
/// Every [`Credential`](crate::Credential) names the scheme it is documented as. The name is
/// the credential's identity in the document: two credentials may share a scheme only if they
/// describe it identically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// The key in `components.securitySchemes`, and in every `security` requirement.
    pub name: Cow<'static, str>,
    /// What the scheme is.
    pub kind: SchemeKind,
}

/// The kinds of OpenAPI 3.1 security schemes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemeKind {
    /// OAuth2, with one or more flows sharing one set of scopes.
    OAuth2 {
        /// The flows a client may use to get a token.
        flows: Vec<OAuth2Flow>,
        /// Each scope with its description, as the flows' `scopes` maps list them.
        scopes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    },
    /// `Authorization: Bearer …` (RFC 6750), as FastAPI's `HTTPBearer`.
    HttpBearer {
        /// A hint such as `JWT`, for documentation only.
        bearer_format: Option<Cow<'static, str>>,
    },
    /// `Authorization: Basic …` (RFC 7617), as FastAPI's `HTTPBasic`.
    HttpBasic,
    /// An API key in a header, a query parameter or a cookie.
    ApiKey {
        /// Where it travels.
        location: ApiKeyLocation,
        /// The header, parameter or cookie name.
        name: Cow<'static, str>,
    },
    /// OpenID Connect, by its discovery document's URL.
    OpenIdConnect {
        /// `openIdConnectUrl`.
        url: Cow<'static, str>,
    },
}

/// One OAuth2 flow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuth2Flow {
    /// The resource owner password flow, as FastAPI's `OAuth2PasswordBearer`.
    Password {
        /// `tokenUrl` (relative URLs allowed).
        token_url: Cow<'static, str>,
        /// `refreshUrl`.
        refresh_url: Option<Cow<'static, str>>,
    },
    /// The authorization code flow (with PKCE, for public clients).
    AuthorizationCode {
        /// `authorizationUrl`.
        authorization_url: Cow<'static, str>,
        /// `tokenUrl`.
        token_url: Cow<'static, str>,
        /// `refreshUrl`.
        refresh_url: Option<Cow<'static, str>>,
    },
    /// The client credentials flow.
    ClientCredentials {
        /// `tokenUrl`.
        token_url: Cow<'static, str>,
        /// `refreshUrl`.
        refresh_url: Option<Cow<'static, str>>,
    },
}

/// Where an API key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// In a request header.
    Header,
    /// In a query parameter.
    ///
    /// **Prefer a header.** A URL ends up in places a header does not: access logs, proxy and
    /// CDN logs, the browser's history, `Referer` headers sent to other sites. If you must
    /// accept keys in the query, keep them out of your own logs: log the URI through
    /// [`logging::RedactedUri`](crate::logging::RedactedUri) (or, with tower-http's
    /// `TraceLayer`, [`logging::RedactingMakeSpan`](crate::logging::RedactingMakeSpan)), naming
    /// the parameter if it is not one of
    /// [`RedactedUri::CREDENTIAL_PARAMETERS`](crate::logging::RedactedUri::CREDENTIAL_PARAMETERS).
    Query,
    /// In a cookie.
    Cookie,
}

impl SchemeKind {
    /// What a client without a credential of this scheme is told (`WWW-Authenticate`): `Bearer`
    /// for OAuth2, HTTP bearer and OpenID Connect tokens, `Basic` for HTTP basic, `APIKey` for
    /// API keys (as FastAPI answers).
    pub fn challenge(&self) -> Challenge {
        match self {
            SchemeKind::OAuth2 { .. } | SchemeKind::HttpBearer { .. } | SchemeKind::OpenIdConnect { .. } => {
                Challenge::Bearer
            }
            SchemeKind::HttpBasic => Challenge::Basic { realm: None },
            SchemeKind::ApiKey { .. } => Challenge::ApiKey,
        }
    }
}

impl From<Scheme> for SchemeKind {
    fn from(scheme: Scheme) -> Self {
        scheme.kind
    }
}

impl Scheme {
    /// A scheme named `name`.
    pub fn new(name: impl Into<Cow<'static, str>>, kind: SchemeKind) -> Self {
        Self { name: name.into(), kind }
    }

    /// The OAuth2 password flow posting to `token_url`, with no scopes yet.
    pub fn oauth2_password(name: impl Into<Cow<'static, str>>, token_url: impl Into<Cow<'static, str>>) -> Self {
        let flow = OAuth2Flow::Password { token_url: token_url.into(), refresh_url: None };
        Self::new(name, SchemeKind::OAuth2 { flows: vec![flow], scopes: Vec::new() })
    }

    /// HTTP bearer authentication.
    pub fn http_bearer(name: impl Into<Cow<'static, str>>) -> Self {
        Self::new(name, SchemeKind::HttpBearer { bearer_format: None })
    }

    /// Sets the scopes of an OAuth2 scheme to every scope of declaration `D`, with its
    /// descriptions. Other kinds carry no scopes, and are returned as they are.
    pub fn scopes<D: ScopeDeclaration>(self) -> Self {
        self.scope_list(D::descriptions().map(|(name, description)| (name.into(), description.into())))
    }

    /// Sets the scopes of an OAuth2 scheme.
    pub fn scope_list(mut self, list: impl IntoIterator<Item = (Cow<'static, str>, Cow<'static, str>)>) -> Self {
        if let SchemeKind::OAuth2 { scopes, .. } = &mut self.kind {
            *scopes = list.into_iter().collect();
        }
        self
    }

    /// Sets `refreshUrl` on every OAuth2 flow that has one.
    pub fn refresh_url(mut self, url: impl Into<Cow<'static, str>>) -> Self {
        let url = url.into();
        if let SchemeKind::OAuth2 { flows, .. } = &mut self.kind {
            for flow in flows {
                match flow {
                    OAuth2Flow::Password { refresh_url, .. }
                    | OAuth2Flow::AuthorizationCode { refresh_url, .. }
                    | OAuth2Flow::ClientCredentials { refresh_url, .. } => *refresh_url = Some(url.clone()),
                }
            }
        }
        self
    }

    /// Sets `bearerFormat` of an HTTP bearer scheme.
    pub fn bearer_format(mut self, format: impl Into<Cow<'static, str>>) -> Self {
        if let SchemeKind::HttpBearer { bearer_format } = &mut self.kind {
            *bearer_format = Some(format.into());
        }
        self
    }
}
