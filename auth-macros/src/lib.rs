//! Implementation detail of auth-core. Depend on `auth-core`, which re-exports these macros;
//! their documentation is written for it.

mod attr;
mod backend;
mod policy;
mod scopes;
mod secured;

use proc_macro::TokenStream;

/// Marks a handler or a dependency: its scopes, checked at compile time, are added to the
/// dependency chain, enforced by every credential in it, and documented in OpenAPI.
///
/// ```
/// use auth_core::{AuthError, Authenticated, Depends, Scopes, SecurityScopes, secured, strategies::jwt::Claims};
/// use axum::{Json, Router, extract::FromRef, routing::get};
/// # use auth_core::strategies::jwt::JwtStrategy;
///
/// #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
/// pub enum Scope {
///     /// Read information about the current user.
///     #[scope("me")]
///     Me,
///     /// Read items.
///     #[scope("items")]
///     Items,
/// }
///
/// /// A dependency: sees the scopes of everything that depends on it, and its credential is
/// /// checked against them.
/// #[secured]
/// async fn current_user(scopes: SecurityScopes, Authenticated(claims): Authenticated<Claims>) -> Result<String, AuthError> {
///     claims.sub.ok_or(AuthError::InvalidCredentials { scopes })
/// }
///
/// /// Needs `me`, and passes it down.
/// #[secured(scopes = ["me"])]
/// async fn current_active_user(Depends(user): Depends<current_user>) -> String {
///     user
/// }
///
/// /// Needs `items` and, through its dependency, `me`: the token must carry both.
/// #[secured(scopes = ["items"])]
/// async fn read_own_items(Depends(user): Depends<current_active_user>) -> Json<Vec<String>> {
///     Json(vec![format!("Foo, owned by {user}")])
/// }
///
/// # #[derive(Clone)] struct AppState { jwt: JwtStrategy }
/// # impl FromRef<AppState> for JwtStrategy { fn from_ref(s: &AppState) -> Self { s.jwt.clone() } }
/// let app: Router<AppState> = Router::new().route("/users/me/items/", get(read_own_items));
/// ```
///
/// # Arguments
///
/// - `scopes = ["a", "b"]`: every scope listed is required. Each literal must be declared by
///   the scopes declaration (below), or the build stops at the literal, naming the declared
///   scopes and the nearest one ("did you mean `items`?"); every unknown scope of the
///   attribute is reported in one compile.
/// - `scopes = ["items:read"] | ["admin"]`: alternatives, any one of which suffices. Every
///   literal is checked. OpenAPI lists one requirement per alternative; `SecurityScopes`
///   lists them all with [`alternatives`], and its [`scopes`] (and the `scope="…"` of a
///   `WWW-Authenticate` challenge) is the first.
/// - `declaration = path::To::Declaration`: the `#[derive(Scopes)]` enum to check against.
///   Without it, the enum named `Scope` where the function is written: one you declared, or
///   imported with `use` from any crate (`use shared_scopes::Scope;`). The enum's visibility
///   decides who may use it.
/// - `allow = owner_of_note | scope("admin")`: the rule of the function's `Authorized<Record,
///   Credential>` parameter, over `#[policy]` functions and declared scopes, with `|`, `&`
///   (binding tighter) and parentheses. The record is loaded after authentication and the
///   scopes, then the rule decides: 403, or 404 where a `#[policy(hide)]` denied. An unknown
///   policy or scope is an error at its name; see `auth_core::authz`.
/// - `use_cache = false`: run the dependency every time it is reached, rather than once per
///   request and scope set. Its output then need not be `Clone`.
/// - `state = AppState`: check every parameter where it is written, against that state, as
///   axum's `#[debug_handler]` does: a parameter that is not an extractor is reported at the
///   parameter, in words. `auth_core::routes!` checks each handler's parameters against the
///   router's state without it (see below); it still helps with plain `Router::route`, and
///   for a dependency, whose state is otherwise only known through the handlers that use it.
/// - `crate = "path"`: where auth-core is, when it is not `::auth_core` (a crate that
///   re-exports it under another name).
///
/// # What it does
///
/// - The function stays an async fn, routed as usual (`get(read_own_items)`). It gains a
///   first parameter that starts the chain when axum calls it as a handler, so a call by
///   hand takes one more argument.
/// - A type of the same name is declared beside it, so that `Depends<function>` names the
///   dependency. Dependencies chain like FastAPI's `Security(dep, scopes=[...])`: each link's
///   scopes are added after its dependents', outermost first, duplicates dropped.
/// - Every credential in the chain (`Authenticated<C>`) is checked against the scopes in
///   force where it is extracted: a missing scope is 401 `Not enough permissions`, before
///   the handler runs.
/// - The function is described as types: its parameters (what the chain plan and the
///   OpenAPI operation read), its return type, whether it is cached. With
///   `auth_core::routes!`, its operation documents its whole chain's `security`, and the
///   request body of any auth-core form it reads.
///
/// # Errors at compile time
///
/// An unknown scope, a scope that is not an RFC 6749 scope-token, a computed scope, a key
/// given twice, an unknown key, a generic, `const` or method function, or `#[secured]` on
/// something else than a function: each is a spanned error, and the function is still
/// emitted, so nothing cascades.
///
/// Without any option, the first error of these mistakes names the cause:
///
/// - `Depends<f>` where `f` has no `#[secured]`: at the `f`, "add `#[secured]` to this
///   function" (rustc's "constant provided when a type was expected" follows it);
/// - `Authenticated<(A, B)>` whose credentials yield different principals: one error at the
///   parameter, saying how to make them agree;
/// - with `auth_core::routes!`, a parameter that is no extractor for the router's state ("a
///   parameter of handler `list_notes` is not an extractor for state `AppState`", with the
///   parameter's type), or a credential whose strategy the state does not provide ("`Claims`
///   needs `impl FromRef<AppState> for JwtStrategy`"), before axum's "`Handler<_, _>` is not
///   satisfied".
///
/// ```compile_fail
/// use auth_core::{Scopes, secured};
///
/// #[derive(Scopes, Clone, Copy)]
/// pub enum Scope {
///     /// Read items.
///     #[scope("items")]
///     Items,
/// }
///
/// #[secured(scopes = ["itemz"])] // error: unknown scope `itemz` … did you mean `items`?
/// async fn read_items() {}
/// ```
///
/// [`alternatives`]: https://docs.rs/auth-core/latest/auth_core/security/struct.SecurityScopes.html#method.alternatives
/// [`scopes`]: https://docs.rs/auth-core/latest/auth_core/security/struct.SecurityScopes.html#method.scopes
#[proc_macro_attribute]
pub fn secured(args: TokenStream, item: TokenStream) -> TokenStream {
    debug_print("secured", secured::expand(args.into(), item.into())).into()
}

/// Declares a policy: a function of the principal and a resource (and the app's state) that
/// allows (`true`) or denies (`false`), named by handlers in `#[secured(allow = …)]`.
///
/// ```
/// use auth_core::{AuthError, authz::Resource, policy, strategies::jwt::Claims};
///
/// struct Note {
///     owner: String,
///     shared_with: Vec<String>,
/// }
///
/// // A policy is about a record: something `Authorized<Note, _>` can load.
/// impl Resource for Note {
///     type Id = u64;
///     type State = ();
///     async fn load(_id: u64, _state: &()) -> Result<Option<Note>, AuthError> { Ok(None) }
///     async fn load_all(_state: &()) -> Result<Vec<Note>, AuthError> { Ok(vec![]) }
/// }
///
/// /// The note's owner, or someone it is shared with.
/// #[policy(hide)]
/// fn can_read_note(claims: &Claims, note: &Note) -> bool {
///     let me = claims.sub.as_deref().unwrap_or_default();
///     note.owner == me || note.shared_with.iter().any(|user| user == me)
/// }
/// ```
///
/// - The doc comment is the policy's description in the OpenAPI document.
/// - The function stays callable as written; a type of the same name is declared beside it,
///   which `allow = …` names, so an unknown policy is a compile error with rustc's "a struct
///   with a similar name exists".
/// - `#[policy(hide)]`: a denial is answered 404 `Not Found`, as if the record did not exist.
/// - Its parameters: `(&Principal, &Record)`, or `(&Principal, &Record, &State)` where `State`
///   is the record's `Resource::State` (what its loader reads). A handler whose credential
///   yields another principal, or whose record is another type, is one compile error at the
///   policy's name in its `allow`.
/// - `crate = "path"`: where auth-core is, when not `::auth_core`.
#[proc_macro_attribute]
pub fn policy(args: TokenStream, item: TokenStream) -> TokenStream {
    debug_print("policy", policy::expand(args.into(), item.into())).into()
}

/// Declares the closed set of scopes an app grants and requires, on a fieldless enum.
///
/// ```
/// use auth_core::{ScopeDeclaration, Scopes};
///
/// #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
/// pub enum Scope {
///     /// Read information about the current user.
///     #[scope("me")]
///     Me,
///     /// Read items.
///     #[scope("items:read")]
///     ReadItems,
///     /// Without `#[scope]`, the variant's name in snake case: `admin`.
///     Admin,
/// }
///
/// assert_eq!(Scope::ALL[1].name, "items:read");
/// assert_eq!(Scope::ALL[1].description, "Read items.");
/// assert_eq!("admin".parse::<Scope>().unwrap(), Scope::Admin);
/// assert_eq!(serde_json::to_string(&Scope::Me).unwrap(), r#""me""#);
/// ```
///
/// - `#[scope("…")]` on a variant gives its scope string, an RFC 6749 scope-token; the doc
///   comment is its description in OpenAPI's OAuth2 flows.
/// - It implements `ScopeDeclaration`, `FromStr`, `Display`, `AsRef<str>`, `Serialize` and
///   `Deserialize` (as the scope string).
/// - It lets `#[secured(scopes = [...])]` check its literals at compile time, here or in any
///   crate that can see the enum: `use shared::Scope;`, or `declaration = shared::Scope`.
/// - `#[scopes(crate = "path")]` on the enum: where auth-core is, when not `::auth_core`.
///
/// A scope that is not a scope-token, declared twice, or a variant with fields, is a spanned
/// compile error.
#[proc_macro_derive(Scopes, attributes(scope, scopes))]
pub fn derive_scopes(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    debug_print("Scopes", scopes::expand(&input)).into()
}

/// Declares an authentication backend, as fastapi-users' `AuthenticationBackend`: a name, a
/// transport (how the credential travels) and a strategy (how a token becomes a principal).
///
/// ```
/// use auth_core::{AuthBackend, Authenticated, Scopes, secured, strategies::jwt::JwtStrategy};
///
/// #[derive(Scopes, Clone, Copy)]
/// pub enum Scope {
///     /// Read items.
///     #[scope("items")]
///     Items,
/// }
///
/// #[derive(AuthBackend, Clone)]
/// #[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = Scope)]
/// struct JwtBackend {
///     strategy: JwtStrategy,
/// }
///
/// #[secured(scopes = ["items"])]
/// async fn read_items(user: Authenticated<JwtBackend>) -> String {
///     user.subject.clone()
/// }
/// ```
///
/// The backend is a [`Credential`]: `Authenticated<JwtBackend>` reads its transport, verifies
/// with its strategy, enforces the chain's scopes and documents it under its name;
/// `Authenticated<(CookieBackend, JwtBackend)>` tries several in order. `JwtBackend::router`
/// builds its `POST /login` and `POST /logout`.
///
/// # `#[backend(...)]`
///
/// - `name = "…"`: the backend's name, unique: its OpenAPI scheme name, `Principal::backend`.
/// - `transport = …`, one of `bearer(token_url, refresh_url)`, `http_bearer(bearer_format)`,
///   `oauth2_authorization_code(authorization_url, token_url)`,
///   `oauth2_client_credentials(token_url)`, `openid_connect(url)`,
///   `api_key(header | query | cookie = "name")`, and `cookie(name, max_age, path, domain,
///   secure, http_only, same_site, allowed_origins, host_prefix)` (`HttpOnly`, `Secure` and
///   `SameSite=Lax` by default). A cookie without a `domain` is named `__Host-…` (default
///   `__Host-auth`) unless `host_prefix = false`: a sibling subdomain cannot plant it.
/// - `strategy = jwt | database | redis | api_key`: checked against the strategy field's type.
/// - `scopes = Declaration`: the scopes its OAuth2 flows document.
/// - `crate = "path"`: where auth-core is, when not `::auth_core`.
///
/// The strategy is the struct's only field, or the one marked `#[backend(strategy)]`. Every
/// mistake (an unknown transport or option, a missing name, an option that does not apply)
/// is a compile error at the offending token.
///
/// [`Credential`]: https://docs.rs/auth-core/latest/auth_core/security/trait.Credential.html
#[proc_macro_derive(AuthBackend, attributes(backend))]
pub fn derive_auth_backend(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    debug_print("AuthBackend", backend::expand(&input)).into()
}

/// Checks scope literals against a declaration; called by the `macro_rules!` matcher that
/// `#[derive(Scopes)]` emits. Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn __check_scopes(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as scopes::check::CheckInput);
    debug_print("check_scopes", scopes::check::expand(&input)).into()
}

/// `AUTH_MACROS_DEBUG=1` prints every expansion to stderr while compiling.
fn debug_print(name: &str, tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if std::env::var_os("AUTH_MACROS_DEBUG").is_some() {
        eprintln!("--- auth-macros: #[{name}] expansion ---\n{tokens}\n");
    }
    tokens
}
