//! A rule of policies and scopes, on a record and on a list.

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

/// Everyone may see that a note exists; only its owner may read it.
#[policy(hide)]
fn reader_of_note(claims: &Claims, note: &Note, _state: &AppState) -> bool {
    claims.sub.as_deref() == Some(note.owner.as_str())
}

#[secured(scopes = ["notes:write"], allow = (reader_of_note & owner_of_note) || scope("admin"))]
async fn delete_note(note: Authorized<Note, Claims>) -> String {
    let (note, claims) = note.into_parts();
    format!("{} {:?}", note.owner, claims.sub)
}

#[secured(allow = owner_of_note | scope("admin"))]
async fn list_notes(notes: Authorized<Vec<Note>, Claims>) -> String {
    notes.len().to_string()
}

const _: fn() = || {
    let _list: Router<AppState> = Router::new().route("/notes", axum::routing::get(list_notes));
};

fn main() {
    let _app: Router<AppState> = Router::new().route("/notes/{id}", delete(delete_note));
}
