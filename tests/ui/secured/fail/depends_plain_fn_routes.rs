//! The newcomer's notes service, with no `state = …` anywhere: `current_active_user` lacks
//! `#[secured]` and is used by several handlers. The first error is at a `Depends<…>` that
//! names it, and says to add `#[secured]` to it, rather than rustc's "constant provided when a
//! type was expected" at every use.

use auth_core::{
    AuthError, Authenticated, Depends, secured,
    strategies::{Claims, JwtStrategy},
};
use axum::extract::FromRef;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
struct AppState {
    jwt: JwtStrategy,
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

#[secured]
async fn current_user(Authenticated(claims): Authenticated<Claims>) -> Result<String, AuthError> {
    claims.sub.ok_or(AuthError::invalid_credentials())
}

async fn current_active_user(Depends(user): Depends<current_user>) -> Result<String, AuthError> {
    Ok(user)
}

#[utoipa::path(get, path = "/notes")]
#[secured]
async fn list_notes(Depends(user): Depends<current_active_user>) -> String {
    user
}

#[utoipa::path(post, path = "/notes")]
#[secured]
async fn create_note(Depends(user): Depends<current_active_user>, body: String) -> String {
    format!("{user}: {body}")
}

#[utoipa::path(get, path = "/me")]
#[secured]
async fn me(user: Option<Depends<current_active_user>>) -> String {
    user.map(|Depends(user)| user).unwrap_or_default()
}

fn main() {
    let (_router, _api) = OpenApiRouter::<AppState>::new()
        .routes(auth_core::routes!(list_notes, create_note))
        .routes(auth_core::routes!(me))
        .split_for_parts();
}
