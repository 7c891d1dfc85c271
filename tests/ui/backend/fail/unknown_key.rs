//! An unknown key in the attribute.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token"), strategy = jwt, lifetime = 60)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
