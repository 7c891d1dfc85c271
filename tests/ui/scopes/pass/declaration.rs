//! A declaration's generated API: names from `#[scope]` or from the variant, doc comments as
//! descriptions, `FromStr`, `Display`, `AsRef<str>`, serde, and a `crate` override.

use auth_core::{ScopeDeclaration, Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read information
    /// about the current user.
    #[scope("me")]
    Me,
    /// Named after the variant.
    ReadItems,
    #[scope("users:read")]
    UsersRead,
}

#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
#[scopes(crate = "::auth_core")]
enum Private {
    /// Only this module.
    #[scope("private")]
    Only,
}

#[derive(Scopes, Clone, Copy)]
pub enum Empty {}

#[secured(scopes = ["me", "read_items", "users:read"])]
async fn all() {}

#[secured(scopes = ["private"], declaration = Private)]
async fn private() {}

fn main() {
    let _app: Router = Router::new().route("/all", get(all)).route("/private", get(private));
    let names: Vec<&str> = Scope::ALL.iter().map(|s| s.name).collect();
    assert_eq!(names, ["me", "read_items", "users:read"]);
    assert_eq!(Scope::ALL[0].description, "Read information\nabout the current user.");
    assert_eq!(Scope::ALL[2].description, "");
    assert_eq!("read_items".parse::<Scope>(), Ok(Scope::ReadItems));
    assert_eq!(Scope::UsersRead.as_ref(), "users:read");
    assert_eq!(Private::Only.to_string(), "private");
    assert!(Empty::ALL.is_empty());
}
