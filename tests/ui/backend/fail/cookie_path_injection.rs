//! A cookie path that would inject a `Domain` attribute into `Set-Cookie`.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "injected", transport = cookie(path = "/; Domain=evil"), strategy = jwt)]
pub struct Injected {
    strategy: JwtStrategy,
}

fn main() {}
