//! HTTP basic carries no token, so it cannot be a backend transport.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "basic", transport = basic, strategy = jwt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

fn main() {}
