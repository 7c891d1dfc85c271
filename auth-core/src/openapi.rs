//! OpenAPI security from the declarations: what each `#[secured]` handler's whole dependency
//! chain requires, collected by the macros, and (with the `openapi` feature) written into a
//! utoipa document as `components.securitySchemes` and per-operation `security`.
//!
//! With utoipa-axum, route with [`routes!`](crate::routes) instead of `utoipa_axum::routes!`
//! and finish the document with a [`SecurityDoc`]:
//!
//! ```ignore
//! let (router, mut api) = OpenApiRouter::new()
//!     .routes(auth_core::routes!(read_users_me))
//!     .routes(auth_core::routes!(read_own_items))
//!     .split_for_parts();
//! SecurityDoc::new().scheme(OAuth2PasswordBearer::new::<Scope>("token")).apply(&mut api);
//! ```
//!
//! The scopes in `security` are the handler's own followed by those of every dependency it
//! reaches, outermost first, without duplicates: never written twice by hand.

use crate::__private::SecuredFn;

/// What one handler requires: its accumulated scopes and the transports its chain reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityCollector {
    scopes: Vec<&'static str>,
    transports: Vec<&'static str>,
    optional: bool,
}

impl SecurityCollector {
    /// Adds scopes after those already collected, skipping duplicates.
    pub fn scopes(&mut self, scopes: &[&'static str]) {
        for scope in scopes {
            if !self.scopes.contains(scope) {
                self.scopes.push(scope);
            }
        }
    }

    /// Records that the chain reads a credential from `transport` (e.g. `"bearer"`).
    pub fn transport(&mut self, transport: &'static str) {
        if !self.transports.contains(&transport) {
            self.transports.push(transport);
        }
    }

    /// Records that a credential is optional (an `Option<…>` extractor).
    pub fn optional(&mut self) {
        self.optional = true;
    }

    /// The accumulated scopes, outermost first.
    pub fn required_scopes(&self) -> &[&'static str] {
        &self.scopes
    }

    /// The transports the chain reads credentials from.
    pub fn transports(&self) -> &[&'static str] {
        &self.transports
    }

    /// Whether the credential may be absent.
    pub fn is_optional(&self) -> bool {
        self.optional
    }
}

/// The security requirement of the `#[secured]` handler `H`, walking its whole chain.
pub fn requirement_of<H: SecuredFn>() -> SecurityCollector {
    let mut out = SecurityCollector::default();
    H::security(&mut out);
    out
}

/// An extractor that contributes to OpenAPI security: dependencies add their chain, credential
/// extractors their transport. Everything else contributes nothing.
pub trait DocumentedSecurity {
    /// Adds this extractor's part of the requirement.
    fn collect_security(out: &mut SecurityCollector);
}

impl<D> DocumentedSecurity for crate::Depends<D>
where
    D: crate::Dependency + SecuredFn,
{
    fn collect_security(out: &mut SecurityCollector) {
        D::security(out);
    }
}

impl<T: DocumentedSecurity> DocumentedSecurity for Option<T> {
    fn collect_security(out: &mut SecurityCollector) {
        T::collect_security(out);
        out.optional();
    }
}

impl DocumentedSecurity for crate::schemes::BearerToken {
    fn collect_security(out: &mut SecurityCollector) {
        out.transport(BEARER);
    }
}

impl DocumentedSecurity for crate::strategies::jwt::Claims {
    fn collect_security(out: &mut SecurityCollector) {
        out.transport(BEARER);
    }
}

/// Each backend is its own scheme, keyed by its name.
impl<B: crate::backend::BackendNames> DocumentedSecurity for crate::backend::Authenticated<B> {
    fn collect_security(out: &mut SecurityCollector) {
        for name in B::names() {
            out.transport(name);
        }
    }
}

/// The transport of `Authorization: Bearer` credentials.
pub const BEARER: &str = "bearer";

#[cfg(feature = "openapi")]
mod document;

#[cfg(feature = "openapi")]
pub use document::{DocumentedScheme, SecurityDoc, attach};

#[cfg(feature = "swagger-ui")]
mod swagger;

#[cfg(feature = "swagger-ui")]
pub use swagger::swagger_ui;
