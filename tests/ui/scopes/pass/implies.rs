//! Implications between declared scopes compile, and close a grant.

use auth_core::{ScopeDeclaration, Scopes};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read notes.
    #[scope("notes:read")]
    NotesRead,
    /// Write notes.
    #[scope("notes:write", implies = ["notes:read"],)]
    NotesWrite,
    /// Administer.
    #[scope("admin", implies = ["notes:write"])]
    Admin,
}

fn main() {
    assert_eq!(Scope::implied("admin"), ["notes:read", "notes:write"]);
}
