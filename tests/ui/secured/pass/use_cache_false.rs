//! `use_cache = false` lets a dependency return a value that is not `Clone`.

use auth_core::{Depends, Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

/// Deliberately not `Clone`: it cannot live in the per-request cache.
struct Connection {
    id: u32,
}

#[secured(use_cache = false)]
async fn connection() -> Connection {
    Connection { id: 7 }
}

#[secured(scopes = ["items"], use_cache = false)]
async fn uncached_with_scopes(Depends(connection): Depends<connection>) -> u32 {
    connection.id
}

#[secured(use_cache = true)]
async fn cached() -> u32 {
    1
}

#[secured]
async fn read_items(
    Depends(connection): Depends<connection>,
    Depends(id): Depends<uncached_with_scopes>,
    Depends(one): Depends<cached>,
) -> String {
    format!("{} {id} {one}", connection.id)
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
