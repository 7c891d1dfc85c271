//! A SameSite value that does not exist.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "cookie", transport = cookie(same_site = "sometimes"), strategy = jwt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
