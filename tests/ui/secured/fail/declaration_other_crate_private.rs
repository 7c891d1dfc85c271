//! A declaration is usable where its enum is visible, and nowhere else.

use auth_core::secured;
use axum::{Router, routing::get};

#[secured(scopes = ["maintenance"], declaration = shared_scopes::permissions::Internal)]
async fn maintenance() -> &'static str {
    "maintenance"
}

fn main() {
    let _app: Router = Router::new().route("/m", get(maintenance));
}
