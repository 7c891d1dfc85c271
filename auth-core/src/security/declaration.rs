//! The trait `#[derive(Scopes)]` implements: every scope an app knows, with its description.

use std::fmt;

/// One declared scope: the exact string and the description shown in OpenAPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeInfo {
    /// The scope-token, e.g. `"items"`.
    pub name: &'static str,
    /// The human description, from the variant's doc comment, followed by what the scope
    /// implies (`… Implies `notes:read`, `notes:write`.`) when it implies anything.
    pub description: &'static str,
    /// Every scope this one implies (`#[scope("admin", implies = ["notes:read"])]`), through
    /// any chain of implications, in declaration order: a credential granted this scope is
    /// granted these too.
    pub implies: &'static [&'static str],
}

/// A scopes declaration: the closed set of scopes an app grants and requires.
///
/// Derive it with `#[derive(Scopes)]` on a fieldless enum. The derive checks at compile time
/// that every string is a valid RFC 6749 scope-token and that none appears twice, and it lets
/// `#[secured(scopes = [...])]` check its literals against the declaration.
///
/// ```
/// use auth_core::{ScopeDeclaration, Scopes};
///
/// #[derive(Scopes, Debug, Clone, Copy, PartialEq, Eq)]
/// pub enum Scope {
///     /// Read information about the current user.
///     #[scope("me")]
///     Me,
///     /// Read items.
///     #[scope("items")]
///     Items,
/// }
///
/// assert_eq!(Scope::ALL[1].description, "Read items.");
/// assert_eq!("items".parse::<Scope>().unwrap(), Scope::Items);
/// assert_eq!(Scope::Me.to_string(), "me");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a scopes declaration",
    note = "add `#[derive(Scopes)]` to it, with one unit variant per scope"
)]
pub trait ScopeDeclaration: Sized + 'static {
    /// Every declared scope, in declaration order.
    const ALL: &'static [ScopeInfo];

    /// The scope-token of this scope.
    fn as_str(&self) -> &'static str;

    /// The scope named `scope`, if it is declared.
    fn from_scope_str(scope: &str) -> Option<Self>;

    /// Every scope `scope` implies, through any chain of implications: empty for an
    /// undeclared scope, or one that implies nothing.
    fn implied(scope: &str) -> &'static [&'static str] {
        Self::ALL.iter().find(|info| info.name == scope).map_or(&[], |info| info.implies)
    }

    /// The declared scopes as `(name, description)` pairs, the shape OpenAPI's OAuth2 flows use.
    fn descriptions() -> impl Iterator<Item = (&'static str, &'static str)> {
        Self::ALL.iter().map(|info| (info.name, info.description))
    }
}

/// A string that names no declared scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{scope}`")]
pub struct ParseScopeError {
    /// The string that was given, truncated to 64 bytes so hostile input stays small.
    pub scope: String,
}

impl ParseScopeError {
    /// Builds the error for the given input.
    pub fn new(scope: &str) -> Self {
        Self { scope: crate::logging::truncate(scope, 64).to_owned() }
    }
}

impl fmt::Display for ScopeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Deserializes a declared scope from a string, for `#[derive(Scopes)]`'s serde impl.
pub fn deserialize_scope<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: ScopeDeclaration,
    D: serde::Deserializer<'de>,
{
    let scope = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
    T::from_scope_str(&scope).ok_or_else(|| serde::de::Error::custom(ParseScopeError::new(&scope)))
}
