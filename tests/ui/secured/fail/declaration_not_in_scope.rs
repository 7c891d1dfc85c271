//! The declaration lives in another module and is not imported: `Scope` is looked up where
//! the function is written.

use auth_core::secured;
use axum::{Router, routing::get};

mod scopes {
    use auth_core::Scopes;

    #[derive(Scopes, Clone, Copy)]
    pub enum Scope {
        /// Read items.
        #[scope("items")]
        Items,
    }
}

#[secured(scopes = ["items"])]
async fn read_items() -> &'static str {
    let _ = scopes::Scope::Items;
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
