//! An API key in two places at once.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "key", transport = api_key(header = "x-api-key", query = "api_key"), strategy = jwt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
