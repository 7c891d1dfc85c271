//! A cached dependency (the default) whose output is not `Clone`, with `state = …`: reported at
//! the parameter that needs it, in words, rather than where the handler is routed.

use auth_core::{Depends, Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items")]
    Items,
    /// Administer the system.
    #[scope("admin")]
    Admin,
}

struct Connection {
    id: u32,
}

#[secured]
async fn connection() -> Connection {
    Connection { id: 7 }
}

#[secured(scopes = ["items"], state = ())]
async fn read_items(Depends(connection): Depends<connection>) -> String {
    connection.id.to_string()
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
