//! A dependency returning `Result<T, E>` whose `E` is not a response.

use auth_core::{Scopes, secured};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

struct LookupFailed;

#[secured]
async fn current_user() -> Result<String, LookupFailed> {
    Err(LookupFailed)
}

fn main() {}
