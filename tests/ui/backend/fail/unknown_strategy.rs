//! An unknown strategy: the error lists the strategies.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token"), strategy = jwtt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
