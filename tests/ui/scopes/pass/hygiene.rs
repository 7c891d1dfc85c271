//! The generated code names nothing through the user's scope: a module that shadows the
//! prelude, `core` and `std`, and has no implicit prelude at all, still compiles.

mod core {}

mod app {
    #![no_implicit_prelude]
    #![allow(dead_code)]

    mod core {}
    mod std {}

    type Result = ();
    struct Option;
    struct Vec;
    struct String;
    struct Box;
    trait Send {}
    trait Sync {}
    trait Clone {}
    trait Copy {}
    trait Default {}
    trait Future {}
    trait FromStr {}
    trait Display {}
    trait Serialize {}
    trait Deserialize {}
    struct Enter;
    struct Depends;
    struct SecuredFn;
    struct S;
    struct D;

    use ::auth_core::{Depends as Dep, SecurityScopes, secured};
    use ::axum::{Router, extract::State, routing::get};

    #[derive(::auth_core::Scopes, ::core::clone::Clone, ::core::marker::Copy)]
    pub enum Scope {
        /// Read items.
        #[scope("items")]
        Items,
        /// Read information about the current user.
        #[scope("me")]
        Me,
    }

    #[derive(::core::clone::Clone)]
    pub struct User {
        pub name: &'static str,
    }

    #[derive(::core::clone::Clone)]
    pub struct AppState;

    #[secured]
    async fn current_user(
        State(_state): State<AppState>,
        scopes: SecurityScopes,
    ) -> ::core::result::Result<User, ::auth_core::AuthError> {
        let _ = scopes;
        ::core::result::Result::Ok(User { name: "johndoe" })
    }

    #[secured(scopes = ["me"])]
    async fn current_active_user(Dep(user): Dep<current_user>) -> User {
        user
    }

    #[secured(scopes = ["items"], use_cache = false)]
    async fn read_items(Dep(user): Dep<current_active_user>) -> &'static str {
        user.name
    }

    #[secured(scopes = ["items", "me"], crate = "::auth_core")]
    async fn with_crate_path(_user: ::core::option::Option<Dep<current_user>>) {}

    pub fn router() -> Router {
        Router::new().route("/items", get(read_items)).route("/both", get(with_crate_path)).with_state(AppState)
    }
}

fn main() {
    let _app = app::router();
}
