//! A chain handler → current_active_user → current_user, with app state read at every link.

use auth_core::{AuthError, Depends, Scopes, SecurityScopes, secured};
use axum::{Json, Router, extract::State, routing::get};

#[derive(Scopes, Clone, Copy, Debug)]
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items")]
    Items,
}

#[derive(Clone)]
struct AppState {
    name: &'static str,
}

#[derive(Clone, Debug)]
struct User {
    name: String,
    disabled: bool,
}

#[secured]
async fn current_user(State(state): State<AppState>, scopes: SecurityScopes) -> Result<User, AuthError> {
    if scopes.scopes().is_empty() {
        return Err(AuthError::InactiveUser);
    }
    Ok(User { name: state.name.to_owned(), disabled: false })
}

#[secured(scopes = ["me"])]
async fn current_active_user(
    State(_state): State<AppState>,
    Depends(user): Depends<current_user>,
) -> Result<User, AuthError> {
    if user.disabled { Err(AuthError::InactiveUser) } else { Ok(user) }
}

#[secured(scopes = ["items"])]
async fn read_own_items(
    State(state): State<AppState>,
    Depends(user): Depends<current_active_user>,
) -> Json<Vec<String>> {
    Json(vec![format!("{} owns an item in {}", user.name, state.name)])
}

#[secured]
async fn maybe_user(user: Option<Depends<current_user>>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |Depends(user)| user.name)
}

fn main() {
    let _app: Router = Router::new()
        .route("/users/me/items", get(read_own_items))
        .route("/maybe", get(maybe_user))
        .with_state(AppState { name: "app" });
}
