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

use std::any::TypeId;

use crate::__private::SecuredFn;

/// What one handler requires: its accumulated scopes and the transports its chain reads.
///
/// The same walk also records the dependencies the chain reaches, each with the scopes in
/// force where it runs, for the handler's per-request [`ChainPlan`](crate::scopes::ChainPlan).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityCollector {
    scopes: Vec<&'static str>,
    transports: Vec<&'static str>,
    optional: bool,
    /// The scopes in force at the point being walked.
    path: Vec<&'static str>,
    /// For each dependency being walked, the length of `path` outside it.
    marks: Vec<usize>,
    /// Each dependency reached, with the scopes in force around it and inside it.
    dependencies: Vec<(TypeId, Vec<&'static str>, Vec<&'static str>)>,
    /// A dependency was reached that does not describe what it reads.
    opaque: bool,
}

impl SecurityCollector {
    /// Adds scopes after those already collected, skipping duplicates.
    pub fn scopes(&mut self, scopes: &[&'static str]) {
        for scope in scopes {
            if !self.scopes.contains(scope) {
                self.scopes.push(scope);
            }
            if !self.path.contains(scope) {
                self.path.push(scope);
            }
        }
    }

    /// Starts walking into a dependency: the scopes added until [`leave_dependency`]
    /// (Self::leave_dependency) are its own and its dependencies'.
    pub(crate) fn enter_dependency(&mut self) {
        self.marks.push(self.path.len());
    }

    /// Records dependency `id` with the scopes in force around it and inside it, and steps
    /// back out.
    pub(crate) fn leave_dependency(&mut self, id: TypeId, own: &[&'static str]) {
        let mark = self.marks.pop().unwrap_or(0);
        self.path.truncate(mark);
        let outer = self.path.clone();
        // Inside it: the chain above it, then its own, as `SecurityScopes::with` adds them.
        for scope in own {
            if !self.path.contains(scope) {
                self.path.push(scope);
            }
        }
        self.dependencies.push((id, outer, self.path.clone()));
        self.path.truncate(mark);
    }

    /// Records that a dependency was reached whose own parameters are unknown.
    pub(crate) fn opaque_dependency(&mut self) {
        self.opaque = true;
    }

    /// The dependencies reached (each with the scopes around it and inside it), and whether any
    /// of them could not be walked into.
    #[allow(clippy::type_complexity)]
    pub(crate) fn into_dependencies(self) -> (Vec<(TypeId, Vec<&'static str>, Vec<&'static str>)>, bool) {
        (self.dependencies, self.opaque)
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

/// A dependency adds its scopes and whatever it describes of its own parameters.
impl<D: crate::Dependency> DocumentedSecurity for crate::Depends<D> {
    fn collect_security(out: &mut SecurityCollector) {
        out.enter_dependency();
        out.scopes(D::SCOPES);
        D::describe(out);
        out.leave_dependency(TypeId::of::<D>(), D::SCOPES);
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
