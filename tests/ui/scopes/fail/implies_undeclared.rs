//! A scope implying one that is not declared: an error at the implied literal, with the nearest
//! declared scope.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read notes.
    #[scope("notes:read")]
    NotesRead,
    /// Write notes.
    #[scope("notes:write")]
    NotesWrite,
    /// Administer.
    #[scope("admin", implies = ["notes:read", "notes:wirte"])]
    Admin,
}

#[secured(scopes = ["notes:read"])]
async fn read_notes() -> &'static str {
    "notes"
}

fn main() {
    let _app: Router = Router::new().route("/notes", get(read_notes));
}
