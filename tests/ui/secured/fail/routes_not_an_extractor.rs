//! A handler parameter that is no extractor (`app: AppState`), with no `state = …` anywhere:
//! `routes!`, where the state becomes known, reports the parameter's type at the parameter,
//! before axum's "`Handler<_, _>` is not satisfied".

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

#[utoipa::path(get, path = "/notes")]
#[secured]
async fn list_notes(app: AppState, Depends(user): Depends<current_user>) -> String {
    drop(app);
    user
}

fn main() {
    let (_router, _api) = OpenApiRouter::<AppState>::new().routes(auth_core::routes!(list_notes)).split_for_parts();
}
