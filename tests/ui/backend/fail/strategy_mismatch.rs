//! strategy = redis, but the field holds a JwtStrategy.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token"), strategy = redis)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
