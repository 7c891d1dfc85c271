//! No `impl FromRef<AppState> for JwtStrategy`, with no `state = …` anywhere: `routes!`
//! reports that `Claims` needs it, naming both types, at the parameter whose chain needs it,
//! rather than inferring a wrong state or "`Handler<_, _>` is not satisfied".

use auth_core::{
    AuthError, Authenticated, Depends, secured,
    strategies::{Claims, JwtStrategy},
};
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
struct AppState {
    _jwt: JwtStrategy,
}

#[secured]
async fn current_user(Authenticated(claims): Authenticated<Claims>) -> Result<String, AuthError> {
    claims.sub.ok_or(AuthError::invalid_credentials())
}

#[secured]
async fn current_active_user(Depends(user): Depends<current_user>) -> Result<String, AuthError> {
    Ok(user)
}

#[utoipa::path(get, path = "/notes")]
#[secured]
async fn list_notes(Depends(user): Depends<current_active_user>) -> String {
    user
}

fn main() {
    let (_router, _api) = OpenApiRouter::<AppState>::new().routes(auth_core::routes!(list_notes)).split_for_parts();
}
