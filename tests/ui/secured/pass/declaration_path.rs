//! `declaration = path` picks a declaration that is not named `Scope`, here in a submodule.

use auth_core::{Depends, secured};
use axum::{Router, routing::get};

mod permissions {
    use auth_core::Scopes;

    #[derive(Scopes, Clone, Copy)]
    pub enum Permission {
        /// Read items.
        #[scope("items:read")]
        ReadItems,
        /// Write items.
        #[scope("items:write")]
        WriteItems,
    }
}

#[secured(scopes = ["items:read"], declaration = permissions::Permission)]
async fn reader() -> &'static str {
    "reader"
}

#[secured(declaration = crate::permissions::Permission, scopes = ["items:write"])]
async fn write_items(Depends(reader): Depends<reader>) -> &'static str {
    reader
}

fn main() {
    let _app: Router = Router::new().route("/items", get(write_items).post(write_items));
    let _ = [permissions::Permission::ReadItems, permissions::Permission::WriteItems];
}
