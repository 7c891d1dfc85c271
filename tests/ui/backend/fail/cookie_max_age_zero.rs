//! `max_age = 0` would delete the cookie as it is set.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "zero", transport = cookie(max_age = 0), strategy = jwt)]
pub struct Zero {
    strategy: JwtStrategy,
}

fn main() {}
