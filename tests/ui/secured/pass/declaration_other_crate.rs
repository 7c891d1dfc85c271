//! A declaration from another crate of the workspace, reached like any item: imported with
//! `use`, or named with `declaration = path`.

use auth_core::{Depends, secured};
use shared_scopes::Scope;
use axum::{Router, routing::get};

#[secured(scopes = ["me"])]
async fn current_user() -> &'static str {
    "johndoe"
}

#[secured(scopes = ["items"])]
async fn read_items(Depends(user): Depends<current_user>) -> &'static str {
    user
}

#[secured(scopes = ["items:read"] | ["items:write"], declaration = shared_scopes::permissions::Permission)]
async fn read_or_write(Depends(user): Depends<current_user>) -> &'static str {
    user
}

#[secured(declaration = shared_scopes::Scope, scopes = ["me", "items"])]
async fn both() -> &'static str {
    "both"
}

fn main() {
    let _app: Router = Router::new()
        .route("/items", get(read_items))
        .route("/either", get(read_or_write))
        .route("/both", get(both))
        .route("/whoami", get(shared_scopes::whoami));
    let _ = Scope::Items;
}
