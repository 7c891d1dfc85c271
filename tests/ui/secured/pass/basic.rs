//! The plain case: a declaration, a handler with scopes, one without, and a dependency.

use auth_core::{Depends, Scopes, SecurityScopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items")]
    Items,
}

#[secured]
async fn required(scopes: SecurityScopes) -> String {
    scopes.scope_str()
}

#[secured(scopes = ["items"])]
async fn read_items(Depends(required): Depends<required>) -> String {
    required
}

#[secured(scopes = ["me", "items"],)]
async fn read_me_and_items() -> &'static str {
    "ok"
}

#[secured()]
async fn open() {}

fn main() {
    let _app: Router =
        Router::new().route("/items", get(read_items)).route("/me", get(read_me_and_items)).route("/open", get(open));
    assert_eq!(Scope::Items.to_string(), "items");
    assert_eq!("me".parse::<Scope>().ok(), Some(Scope::Me));
}
