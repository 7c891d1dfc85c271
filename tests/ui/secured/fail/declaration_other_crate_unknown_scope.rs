//! An unknown scope against another crate's declaration is the same spanned error, whether the
//! declaration is imported or named by path.

use auth_core::secured;
use shared_scopes::Scope;
use axum::{Router, routing::get};

#[secured(scopes = ["itemz"])]
async fn imported() -> &'static str {
    "imported"
}

#[secured(scopes = ["items:raed"], declaration = shared_scopes::permissions::Permission)]
async fn by_path() -> &'static str {
    "by path"
}

fn main() {
    let _app: Router = Router::new().route("/a", get(imported)).route("/b", get(by_path));
    let _ = Scope::Items;
}
