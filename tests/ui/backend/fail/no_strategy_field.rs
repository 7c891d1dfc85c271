//! Two fields and none marked as the strategy.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token"), strategy = jwt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
    other: JwtStrategy,
}

fn main() {}
