//! An undeclared scope in `allow`: an error at the literal, with the nearest declared scope.

use auth_core::{AuthError, Scopes, authz::{Authorized, Resource}, policy, secured, strategies::jwt::{Claims, JwtStrategy}};
use axum::{Router, extract::FromRef, routing::delete};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Write notes.
    #[scope("notes:write")]
    NotesWrite,
    /// Everything.
    #[scope("admin", implies = ["notes:write"])]
    Admin,
}

#[derive(Clone)]
struct AppState {
    jwt: JwtStrategy,
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

struct Note {
    owner: String,
}

impl Resource for Note {
    type Id = u64;
    type State = AppState;

    async fn load(_id: u64, _state: &AppState) -> Result<Option<Note>, AuthError> {
        Ok(None)
    }

    async fn load_all(_state: &AppState) -> Result<Vec<Note>, AuthError> {
        Ok(Vec::new())
    }
}

/// The note's owner.
#[policy]
fn owner_of_note(claims: &Claims, note: &Note) -> bool {
    claims.sub.as_deref() == Some(note.owner.as_str())
}

#[secured(scopes = ["notes:write"], allow = owner_of_note | scope("admn"))]
async fn delete_note(note: Authorized<Note, Claims>) -> String {
    note.owner.clone()
}

fn main() {
    let _app: Router<AppState> = Router::new().route("/notes/{id}", delete(delete_note));
}
