//! What a handler requires, as one typed value ([`Requirement`]), and the walk over a handler's
//! parameter types that works it out ([`Walk`], [`Describe`]).
//!
//! The walk runs once per handler. Its results feed three readers, and none of them keeps a
//! copy of its own: the handler's chain plan (which scopes are in force at each link), the
//! enforcement each credential makes at run time (the same scopes), and the OpenAPI operation
//! (the [`Requirement`]).

use std::{any::TypeId, fmt};

use super::{Credential, Dependency, RequiredScopes, Scheme, SchemeKind, SecurityScopes, scopes::same_set};
use crate::form::FormBody;

/// A credential type as a requirement names it: which type it is, and the scheme it is
/// documented as.
#[derive(Clone, Copy)]
pub struct CredentialRef {
    id: fn() -> TypeId,
    name: &'static str,
    kind: fn() -> SchemeKind,
    type_name: fn() -> &'static str,
}

impl CredentialRef {
    /// The reference to credential type `C`.
    pub fn of<C: Credential>() -> Self {
        Self { id: TypeId::of::<C>, name: C::SCHEME_NAME, kind: C::scheme, type_name: std::any::type_name::<C> }
    }

    /// The name of the scheme the credential is documented as.
    pub fn scheme_name(&self) -> &'static str {
        self.name
    }

    /// The scheme the credential is documented as, by default.
    pub fn scheme(&self) -> Scheme {
        Scheme::new(self.name, (self.kind)())
    }

    /// The credential's Rust type, for messages.
    pub fn type_name(&self) -> &'static str {
        (self.type_name)()
    }

    /// The credential's type.
    pub fn type_id(&self) -> TypeId {
        (self.id)()
    }
}

impl PartialEq for CredentialRef {
    fn eq(&self, other: &Self) -> bool {
        self.type_id() == other.type_id()
    }
}

impl Eq for CredentialRef {}

impl fmt::Debug for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

/// One way to satisfy a [`Requirement`]: every credential it lists, each carrying its scopes.
/// Empty, it asks for nothing: the request may be anonymous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alternative {
    entries: Vec<(CredentialRef, Vec<&'static str>)>,
}

impl Alternative {
    /// The credentials, each with the scopes it must carry, in the order the walk met them.
    pub fn entries(&self) -> impl Iterator<Item = (&CredentialRef, &[&'static str])> {
        self.entries.iter().map(|(credential, scopes)| (credential, scopes.as_slice()))
    }

    /// Whether it asks for nothing.
    pub fn is_anonymous(&self) -> bool {
        self.entries.is_empty()
    }

    /// Both this and `other`: a credential listed in both must carry the scopes of both.
    fn and(&self, other: &Self) -> Self {
        let mut out = self.clone();
        for (credential, scopes) in &other.entries {
            match out.entries.iter_mut().find(|(existing, _)| existing == credential) {
                Some((_, existing)) => {
                    for scope in scopes {
                        if !existing.contains(scope) {
                            existing.push(scope);
                        }
                    }
                }
                None => out.entries.push((*credential, scopes.clone())),
            }
        }
        out
    }

    fn same_as(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(credential, scopes)| other.entries.iter().any(|(c, s)| c == credential && same_set(s, scopes)))
    }
}

/// What a handler requires, as OpenAPI's `security` says it: any one of the
/// [alternatives](Self::alternatives), each a set of credentials with the scopes each carries.
///
/// - a credential parameter adds itself, with the scopes in force where it is extracted (one
///   alternative per scope alternative of the chain);
/// - `Authenticated<(A, B)>` (the first of several that authenticates) is an alternative per
///   credential: `[{A: […]}, {B: […]}]`;
/// - two credential parameters are both required: `[{A: […], B: […]}]`;
/// - `Option<…>` makes what it wraps optional, and only that: `[{A: […], B: […]}, {A: […]}]`
///   for a mandatory `A` beside an optional `B`.
///
/// A handler that reads no credential requires nothing: one anonymous alternative, and no
/// `security` in its OpenAPI operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    alternatives: Vec<Alternative>,
}

impl Default for Requirement {
    fn default() -> Self {
        Self::anonymous()
    }
}

impl Requirement {
    /// What the `#[secured]` function `H` requires, from its plan.
    pub fn of<H: super::function::SecuredFn>() -> &'static Requirement {
        super::ChainPlan::of::<H>().requirement()
    }

    /// Requires nothing.
    pub fn anonymous() -> Self {
        Self { alternatives: vec![Alternative::default()] }
    }

    /// The alternatives, any one of which satisfies the requirement.
    pub fn alternatives(&self) -> &[Alternative] {
        &self.alternatives
    }

    /// Whether no credential is involved at all.
    pub fn is_anonymous(&self) -> bool {
        self.alternatives.iter().all(Alternative::is_anonymous)
    }

    /// Every credential the requirement mentions, once each, in order.
    pub fn credentials(&self) -> Vec<CredentialRef> {
        let mut out: Vec<CredentialRef> = Vec::new();
        for (credential, _) in self.alternatives.iter().flat_map(|alternative| &alternative.entries) {
            if !out.contains(credential) {
                out.push(*credential);
            }
        }
        out
    }

    /// One of `credentials` (the first that authenticates), carrying `scopes`.
    fn credential(credentials: &[CredentialRef], scopes: &SecurityScopes) -> Self {
        let mut out = Self { alternatives: Vec::new() };
        for credential in credentials {
            for alternative in scopes.alternatives() {
                out.push(Alternative { entries: vec![(*credential, alternative.to_vec())] });
            }
        }
        out
    }

    /// This and `other`, both.
    fn and(&self, other: &Self) -> Self {
        let mut out = Self { alternatives: Vec::new() };
        for a in &self.alternatives {
            for b in &other.alternatives {
                out.push(a.and(b));
            }
        }
        out
    }

    /// This, or nothing at all.
    fn or_anonymous(mut self) -> Self {
        self.push(Alternative::default());
        self
    }

    fn push(&mut self, alternative: Alternative) {
        if !self.alternatives.iter().any(|existing| existing.same_as(&alternative)) {
            self.alternatives.push(alternative);
        }
    }
}

/// A dependency the walk met: the scopes in force around it and inside it.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) id: TypeId,
    pub(crate) outer: SecurityScopes,
    pub(crate) effective: SecurityScopes,
}

/// The walk over a handler's parameter types, outermost first. Each parameter that matters
/// tells the walk what it is through [`Describe`]: a dependency walks into its own
/// parameters, a credential adds itself to the requirement, a request body documents itself.
#[derive(Debug)]
pub struct Walk {
    /// The scopes in force at the point being walked.
    scopes: SecurityScopes,
    /// What the parameters walked so far in this frame require, all of them.
    requirement: Requirement,
    links: Vec<Link>,
    /// A dependency was met that does not describe its parameters.
    opaque: bool,
    body: Option<&'static FormBody>,
    /// Something holds a connection open past the request.
    long_lived: bool,
    /// The declared scopes that imply others, from the first declaration met.
    implications: &'static [super::ScopeInfo],
    /// The `allow = …` rule of an `Authorized` parameter, and its resource's path parameter.
    authorization: Option<(&'static crate::authz::Authorization, Option<(&'static str, &'static str)>)>,
}

/// What one walk found.
pub(crate) struct Walked {
    pub(crate) requirement: Requirement,
    pub(crate) links: Vec<Link>,
    pub(crate) opaque: bool,
    pub(crate) body: Option<&'static FormBody>,
    pub(crate) long_lived: bool,
    pub(crate) implications: &'static [super::ScopeInfo],
    pub(crate) authorization: Option<(&'static crate::authz::Authorization, Option<(&'static str, &'static str)>)>,
}

impl Walk {
    /// A walk starting at a handler that declares `scopes`.
    pub(crate) fn new(scopes: RequiredScopes) -> Self {
        let mut walk = Self {
            scopes: SecurityScopes::from_required(scopes),
            requirement: Requirement::anonymous(),
            links: Vec::new(),
            opaque: false,
            body: None,
            long_lived: false,
            implications: &[],
            authorization: None,
        };
        walk.declaration(scopes.declaration());
        walk
    }

    /// Records the scopes declaration a link's scopes were checked against: the first one met
    /// says which granted scopes imply which.
    pub(crate) fn declaration(&mut self, declared: &'static [super::ScopeInfo]) {
        if self.implications.is_empty() && declared.iter().any(|info| !info.implies.is_empty()) {
            let implying: Vec<super::ScopeInfo> =
                declared.iter().filter(|info| !info.implies.is_empty()).copied().collect();
            // Once per handler, for the life of the process, as the plan that keeps it.
            self.implications = Box::leak(implying.into_boxed_slice());
        }
    }

    /// The scopes in force at the point being walked.
    pub fn scopes(&self) -> &SecurityScopes {
        &self.scopes
    }

    /// A credential read at this point, which must authenticate: one of `credentials`, the
    /// first that does, carrying the scopes in force here.
    pub fn credential(&mut self, credentials: &[CredentialRef]) {
        let credential = Requirement::credential(credentials, &self.scopes);
        self.requirement = self.requirement.and(&credential);
    }

    /// Walks `inner` as optional: the request may also come without what it requires.
    pub fn optional(&mut self, inner: impl FnOnce(&mut Self)) {
        let outside = std::mem::take(&mut self.requirement);
        inner(self);
        let optional = std::mem::replace(&mut self.requirement, outside).or_anonymous();
        self.requirement = self.requirement.and(&optional);
    }

    /// Walks into dependency `D`: its scopes are added for everything it depends on.
    pub fn dependency<D: Dependency>(&mut self) {
        self.declaration(D::SCOPES.declaration());
        let effective = self.scopes.with_required(D::SCOPES);
        let outer = std::mem::replace(&mut self.scopes, effective.clone());
        D::describe(self);
        self.links.push(Link { id: TypeId::of::<D>(), outer: outer.clone(), effective });
        self.scopes = outer;
    }

    /// Records the handler's `allow = …` rule, read by an `Authorized` parameter, with the path
    /// parameter naming its record (none for a list).
    pub(crate) fn authorization(
        &mut self,
        authorization: &'static crate::authz::Authorization,
        path_param: Option<(&'static str, &'static str)>,
    ) {
        self.authorization = Some((authorization, path_param));
    }

    /// Records that a dependency was met whose parameters are unknown.
    pub fn opaque_dependency(&mut self) {
        self.opaque = true;
    }

    /// Records the handler's request body, as one of auth-core's forms.
    pub fn form_body(&mut self, body: &'static FormBody) {
        self.body = Some(body);
    }

    /// Records that the handler holds a connection open past the request (a WebSocket, an event
    /// stream): every credential its chain verifies then also says how long it lives, and the
    /// connection ends with the first that ends. See
    /// [`CredentialLifetime`](super::CredentialLifetime).
    pub fn long_lived(&mut self) {
        self.long_lived = true;
    }

    pub(crate) fn finish(self) -> Walked {
        Walked {
            requirement: self.requirement,
            links: self.links,
            opaque: self.opaque,
            body: self.body,
            long_lived: self.long_lived,
            implications: self.implications,
            authorization: self.authorization,
        }
    }
}

/// An extractor that tells the walk what it is: a dependency, a credential, a documented body.
///
/// `#[secured]` describes each parameter of the function it marks through this trait;
/// parameters that do not implement it add nothing. It is implemented for [`Depends`],
/// [`Authenticated`], `Option` of either, and the forms auth-core reads. An extractor of your
/// own that resolves a `Depends` or an `Authenticated` inside should implement it by
/// delegating to them, so the handler's plan and its OpenAPI operation see them.
///
/// [`Depends`]: super::Depends
/// [`Authenticated`]: super::Authenticated
pub trait Describe {
    /// Tells the walk what this extractor is.
    fn describe(walk: &mut Walk);
}

impl<T: Describe> Describe for Option<T> {
    fn describe(walk: &mut Walk) {
        walk.optional(T::describe);
    }
}
