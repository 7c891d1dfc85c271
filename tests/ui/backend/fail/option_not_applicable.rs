//! A cookie option on the bearer transport.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token", max_age = 3600), strategy = jwt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
