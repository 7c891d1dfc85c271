//! The same key twice.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", name = "jwt2", transport = bearer(token_url = "token"), strategy = jwt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
