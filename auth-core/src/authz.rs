//! Who may touch which record: resources loaded by their declared loader, policies checked
//! against them, in one fixed order, and the same policies filtering collections.
//!
//! A handler declares its rule in `#[secured]`, beside its scopes, and takes the record as an
//! [`Authorized`] parameter:
//!
//! ```
//! use auth_core::{AuthError, Scopes, authz::{Authorized, Resource}, policy, secured};
//! use auth_core::strategies::jwt::{Claims, JwtStrategy};
//! use axum::extract::FromRef;
//!
//! #[derive(Scopes, Clone, Copy)]
//! pub enum Scope {
//!     /// Write notes.
//!     #[scope("notes:write")]
//!     NotesWrite,
//!     /// Everything.
//!     #[scope("admin", implies = ["notes:write"])]
//!     Admin,
//! }
//!
//! #[derive(Clone)]
//! struct Note {
//!     owner: String,
//! }
//!
//! #[derive(Clone)]
//! struct AppState {
//!     jwt: JwtStrategy,
//! }
//! # impl FromRef<AppState> for JwtStrategy { fn from_ref(s: &AppState) -> Self { s.jwt.clone() } }
//!
//! impl Resource for Note {
//!     type Id = u64;
//!     type State = AppState;
//!
//!     async fn load(id: u64, _state: &AppState) -> Result<Option<Note>, AuthError> {
//!         Ok((id == 1).then(|| Note { owner: "alice".into() }))
//!     }
//!
//!     async fn load_all(_state: &AppState) -> Result<Vec<Note>, AuthError> {
//!         Ok(vec![Note { owner: "alice".into() }])
//!     }
//! }
//!
//! /// The note's owner.
//! #[policy]
//! fn owner_of_note(claims: &Claims, note: &Note) -> bool {
//!     claims.sub.as_deref() == Some(note.owner.as_str())
//! }
//!
//! /// 401 without a token, 401 without `notes:write`, 404 for a note that does not exist, 403
//! /// for a note of someone else's (unless the token grants `admin`).
//! #[secured(scopes = ["notes:write"], allow = owner_of_note | scope("admin"))]
//! async fn delete_note(note: Authorized<Note, Claims>) -> String {
//!     format!("{} deleted a note of {}", note.principal().sub.as_deref().unwrap_or(""), note.owner)
//! }
//! ```
//!
//! # The order, always
//!
//! 1. authenticate: 401, as [`Authenticated`](crate::Authenticated) answers;
//! 2. the scopes in force (the handler's and its chain's, closed under implication): 401
//!    `Not enough permissions` (403 `insufficient_scope` in RFC 6750 style);
//! 3. load, with the id read from the path: 404 [`AuthError::NotFound`] when there is no such
//!    record (or the id cannot name one), 503 when the store is down ([`AuthError::Unavailable`]
//!    from the loader);
//! 4. the rule: 403 [`AuthError::Forbidden`]; or 404, as if the record did not exist, when the
//!    policy that denied hides existence (`#[policy(hide)]`).
//!
//! The credential is verified once, by the `Authorized` parameter, however the rule's
//! alternatives branch; the record is loaded once, and the handler receives it.
//!
//! # Rules
//!
//! `allow = …` combines policies and scopes: `a | b` (either), `a & b` (both, `&` binding
//! tighter), parentheses, and `scope("admin")` (a declared scope the credential grants,
//! implications included). When every alternative denies, the answer is 403 if one of them
//! was denied by a policy that does not hide existence, 404 if one was denied by a policy that
//! hides it, and 403 otherwise: so `(can_read_note & owner_of_note) | scope("admin")` answers
//! 404 to someone who cannot read the note, and 403 to a reader who does not own it.
//!
//! # Lists
//!
//! `Authorized<Vec<Note>, Claims>` under the same `allow` loads [`Resource::load_all`] and
//! keeps the records the rule allows: the rule is written once, for the check and the filter.

use std::{future::Future, marker::PhantomData, ops::Deref, str::FromStr};

use axum::{
    extract::{FromRef, FromRequestParts, RawPathParams},
    http::request::Parts,
};

use crate::{
    error::AuthError,
    security::{
        RequiredScopes, ScopeInfo,
        chain::enforce_now,
        credential::{AuthenticateSet, CredentialSet},
        requirement::{Describe, Walk},
        scopes::closed,
    },
};

/// A record a handler can take as [`Authorized`]: how its id is read from the path, and how it
/// is loaded with the app's state.
///
/// The loader answers `Ok(None)` for a record that does not exist (404), and
/// `Err(AuthError::Unavailable)` when the store does not answer (503); it never decides who
/// may see the record: the handler's policies do.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a resource",
    note = "implement `auth_core::authz::Resource` for it: its id type, the state it loads with, `load` and `load_all`"
)]
pub trait Resource: Sized + Send + Sync + 'static {
    /// The path parameter that names the record: `"id"` for `/notes/{id}`.
    const PATH_PARAM: &'static str = "id";
    /// The id, parsed from the path parameter; one that does not parse names no record (404).
    type Id: FromStr + Send;
    /// What the loader reads the store from; the router's state gives it by `FromRef`.
    type State: Send + Sync;

    /// The record named `id`, or `None` when there is none.
    fn load(id: Self::Id, state: &Self::State) -> impl Future<Output = Result<Option<Self>, AuthError>> + Send;

    /// Every record a list may show, before the rule filters them.
    fn load_all(state: &Self::State) -> impl Future<Output = Result<Vec<Self>, AuthError>> + Send;
}

/// A record (or, as `Authorized<Vec<R>, C>`, the records) the principal may touch, loaded and
/// checked before the handler runs, with the principal that credential `C` verified.
///
/// It is taken only by a `#[secured(allow = …)]` function, which names the rule; `#[secured]`
/// fills in the third parameter. It derefs to the record (or the list).
pub struct Authorized<R, C: CredentialSet, A = NoRule> {
    resource: R,
    principal: C::Principal,
    rule: PhantomData<fn() -> A>,
}

/// The rule of an [`Authorized`] written outside `#[secured(allow = …)]`: none, so it cannot be
/// extracted. Not public API.
#[doc(hidden)]
pub struct NoRule;

impl<R, C: CredentialSet, A> Authorized<R, C, A> {
    /// The principal the credential named.
    pub fn principal(&self) -> &C::Principal {
        &self.principal
    }

    /// The record, and the principal.
    pub fn into_parts(self) -> (R, C::Principal) {
        (self.resource, self.principal)
    }

    /// The record.
    pub fn into_inner(self) -> R {
        self.resource
    }
}

impl<R, C: CredentialSet, A> Deref for Authorized<R, C, A> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.resource
    }
}

impl<R: std::fmt::Debug, C: CredentialSet, A> std::fmt::Debug for Authorized<R, C, A>
where
    C::Principal: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorized").field("resource", &self.resource).field("principal", &self.principal).finish()
    }
}

/// One record, checked by handler `H`'s rule. Not public API.
#[doc(hidden)]
pub struct One<H>(PhantomData<fn() -> H>);

/// A list, filtered by handler `H`'s rule. Not public API.
#[doc(hidden)]
pub struct Many<H>(PhantomData<fn() -> H>);

/// What a rule decided. Not public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Denied by a policy that shows the record exists: 403.
    Deny,
    /// Denied by a policy that hides the record: 404.
    Hide,
    /// Denied for want of a scope: 403, unless another alternative hid the record.
    Neutral,
}

impl Decision {
    /// Whether it allows.
    pub const fn is_allow(self) -> bool {
        matches!(self, Decision::Allow)
    }

    /// Either of two alternatives: the first that allows; otherwise the denial that says the
    /// most (a visible denial, then a hidden one).
    pub const fn or(self, other: Decision) -> Decision {
        const fn rank(decision: Decision) -> u8 {
            match decision {
                Decision::Allow => 3,
                Decision::Deny => 2,
                Decision::Hide => 1,
                Decision::Neutral => 0,
            }
        }
        if rank(other) > rank(self) { other } else { self }
    }

    /// The answer to a denial.
    pub fn into_result(self) -> Result<(), AuthError> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Hide => Err(AuthError::NotFound),
            Decision::Deny | Decision::Neutral => Err(AuthError::Forbidden),
        }
    }
}

/// What a policy says of itself, for the OpenAPI document. Not public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The function's name.
    pub name: &'static str,
    /// Its doc comment.
    pub description: &'static str,
    /// Whether a denial is answered 404 (`#[policy(hide)]`).
    pub hides: bool,
}

/// A handler's `allow = …`, for the OpenAPI document. Not public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorization {
    /// The rule as written.
    pub rule: &'static str,
    /// Each policy it names, once, in order.
    pub policies: &'static [PolicyInfo],
    /// Each scope it names, once, in order.
    pub scopes: &'static [&'static str],
}

/// A `#[policy]` function, described: what `#[policy]` implements. Not public API.
#[doc(hidden)]
pub trait PolicyDoc {
    /// Its name, description and whether it hides existence.
    const INFO: PolicyInfo;
}

/// A `#[policy]` function, for principal `P` and resource `R`: what `#[policy]` implements,
/// and what `#[secured(allow = …)]` checks at the policy's name. Not public API.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "policy `{Self}` does not apply to principal `{P}` and resource `{R}`",
    label = "its types do not fit this handler",
    note = "a policy is a `#[policy]` fn taking `(&Principal, &Resource)` (and optionally the resource's `&State`): here `(&{P}, &{R})`, where `{P}` is what the `Authorized` parameter's credential yields",
    note = "a plain function must be marked `#[policy]` to be named in `allow`"
)]
pub trait Policy<P, R: Resource>: PolicyDoc {
    /// Whether the policy allows.
    fn allows(principal: &P, resource: &R, state: &R::State) -> bool;
}

/// The rule of `#[secured(allow = …)]` handler `Self`, generated. Not public API.
#[doc(hidden)]
pub trait Rule<P, R: Resource> {
    /// What the rule says of `resource`, for `principal` granted `granted`.
    fn decide(principal: &P, granted: &[String], resource: &R, state: &R::State) -> Decision;
}

/// The rule's description, generated. Not public API.
#[doc(hidden)]
pub trait RuleDoc {
    /// The rule, its policies and its scopes.
    const AUTHORIZATION: Authorization;
}

/// One policy term of a rule.
#[doc(hidden)]
pub fn policy_decision<X: Policy<P, R>, P, R: Resource>(principal: &P, resource: &R, state: &R::State) -> Decision {
    if X::allows(principal, resource, state) {
        Decision::Allow
    } else if <X as PolicyDoc>::INFO.hides {
        Decision::Hide
    } else {
        Decision::Deny
    }
}

/// One `scope("…")` term of a rule: whether the grant, closed under the declaration's
/// implications, holds it. Allocates nothing.
#[doc(hidden)]
pub fn scope_decision(required: RequiredScopes, granted: &[String]) -> Decision {
    let Some(scope) = required.alternatives().first().and_then(|one| one.first()) else { return Decision::Allow };
    let table: &'static [ScopeInfo] = required.declaration();
    if closed(granted, table).any(|granted| granted == *scope) { Decision::Allow } else { Decision::Neutral }
}

/// Authenticates `C` and checks the scopes in force, at once (even inside a dependency), so
/// nothing is loaded for a request that fails them.
/// Returns the principal, and what its credential grants.
async fn authenticate<C, S>(parts: &mut Parts, state: &S) -> Result<(C::Principal, Granted<C::Principal>), AuthError>
where
    C: AuthenticateSet<S>,
    S: Send + Sync,
{
    let verified = C::authenticate(parts, state).await.map_err(|error| error.in_chain(parts))?;
    let (principal, granted) = verified.into_parts();
    enforce_now(parts, granted(&principal))?;
    Ok((principal, granted))
}

/// What a verified credential grants, as the credential that verified it reads it.
type Granted<P> = fn(&P) -> &[String];

/// The record's id, from its path parameter: `None` when it does not parse.
async fn path_id<R: Resource, S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Option<R::Id>, AuthError> {
    let Ok(params) = RawPathParams::from_request_parts(parts, state).await else { return Ok(None) };
    match params.iter().find(|(name, _)| *name == R::PATH_PARAM) {
        Some((_, value)) => Ok(value.parse().ok()),
        None => {
            tracing::error!(
                resource = std::any::type_name::<R>(),
                param = R::PATH_PARAM,
                "the route has no path parameter naming the resource"
            );
            Err(AuthError::Internal)
        }
    }
}

// Not among the extractors rustc lists when a parameter is none: it is written by `#[secured]`.
#[diagnostic::do_not_recommend]
impl<R, C, H, S> FromRequestParts<S> for Authorized<R, C, One<H>>
where
    R: Resource,
    R::State: FromRef<S>,
    C: AuthenticateSet<S>,
    H: Rule<C::Principal, R>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let (principal, granted) = authenticate::<C, S>(parts, state).await?;
        let Some(id) = path_id::<R, S>(parts, state).await? else { return Err(AuthError::NotFound) };
        let store = R::State::from_ref(state);
        let resource = R::load(id, &store).await?.ok_or(AuthError::NotFound)?;
        H::decide(&principal, granted(&principal), &resource, &store).into_result()?;
        Ok(Self { resource, principal, rule: PhantomData })
    }
}

#[diagnostic::do_not_recommend]
impl<R, C, H, S> FromRequestParts<S> for Authorized<Vec<R>, C, Many<H>>
where
    R: Resource,
    R::State: FromRef<S>,
    C: AuthenticateSet<S>,
    H: Rule<C::Principal, R>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let (principal, granted) = authenticate::<C, S>(parts, state).await?;
        let store = R::State::from_ref(state);
        let mut resources = R::load_all(&store).await?;
        let granted = granted(&principal);
        resources.retain(|resource| H::decide(&principal, granted, resource, &store).is_allow());
        Ok(Self { resource: resources, principal, rule: PhantomData })
    }
}

impl<R: Resource, C: CredentialSet, H: RuleDoc> Describe for Authorized<R, C, One<H>> {
    fn describe(walk: &mut Walk) {
        let mut credentials = Vec::new();
        C::credentials(&mut credentials);
        walk.credential(&credentials);
        walk.authorization(&H::AUTHORIZATION, Some((R::PATH_PARAM, std::any::type_name::<R::Id>())));
    }
}

impl<R: Resource, C: CredentialSet, H: RuleDoc> Describe for Authorized<Vec<R>, C, Many<H>> {
    fn describe(walk: &mut Walk) {
        let mut credentials = Vec::new();
        C::credentials(&mut credentials);
        walk.credential(&credentials);
        walk.authorization(&H::AUTHORIZATION, None);
    }
}

#[cfg(test)]
mod tests {
    use super::Decision::{self, Allow, Deny, Hide, Neutral};
    use crate::error::AuthError;

    #[test]
    fn alternatives_keep_the_denial_that_says_most() {
        // Allow beats everything; then a visible denial (403), then a hidden one (404), then
        // a missing scope.
        let order = [Allow, Deny, Hide, Neutral];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(a.or(*b), order[i.min(j)], "{a:?} | {b:?}");
            }
        }
    }

    #[test]
    fn each_decision_has_its_answer() {
        let answer = |decision: Decision| decision.into_result().err().map(|error| error.status().as_u16());
        assert_eq!(answer(Allow), None);
        assert_eq!(answer(Deny), Some(403));
        assert_eq!(answer(Neutral), Some(403));
        assert_eq!(answer(Hide), Some(404));
        assert!(matches!(Hide.into_result(), Err(AuthError::NotFound)));
        assert!(matches!(Deny.into_result(), Err(AuthError::Forbidden)));
    }
}
