//! Handlers whose return type mentions `impl Trait` (alone or inside `Result`) are handlers
//! only: they cannot be named as a dependency's output, and need not be.

use auth_core::{AuthError, Depends, Scopes, secured};
use axum::{Router, response::IntoResponse, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

#[secured(scopes = ["items"])]
async fn current_user() -> Result<String, AuthError> {
    Ok("johndoe".to_owned())
}

#[secured]
async fn plain(Depends(user): Depends<current_user>) -> impl IntoResponse {
    user
}

#[secured]
async fn fallible(Depends(user): Depends<current_user>) -> Result<impl IntoResponse, AuthError> {
    Ok(user)
}

#[secured]
async fn boxed(Depends(user): Depends<current_user>) -> Result<Box<dyn Fn() -> String + Send>, AuthError> {
    Ok(Box::new(move || user.clone()))
}

fn main() {
    let _app: Router = Router::new().route("/plain", get(plain)).route("/fallible", get(fallible));
    let _ = boxed;
}
