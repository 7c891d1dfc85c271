//! Implications that loop: an error at the literal closing the cycle, naming its path.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read notes.
    #[scope("notes:read", implies = ["admin"])]
    NotesRead,
    /// Write notes.
    #[scope("notes:write", implies = ["notes:read"])]
    NotesWrite,
    /// Administer.
    #[scope("admin", implies = ["notes:write"])]
    Admin,
}

#[secured(scopes = ["notes:read"])]
async fn read_notes() -> &'static str {
    "notes"
}

fn main() {
    let _app: Router = Router::new().route("/notes", get(read_notes));
}
