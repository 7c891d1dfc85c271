//! Allowed origins that no browser sends in `Origin`.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "trailingslash", transport = cookie(allowed_origins = ["https://app.example.com/"]), strategy = jwt)]
pub struct TrailingSlash {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "noscheme", transport = cookie(allowed_origins = ["app.example.com"]), strategy = jwt)]
pub struct NoScheme {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "null", transport = cookie(allowed_origins = ["null"]), strategy = jwt)]
pub struct Null {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "badport", transport = cookie(allowed_origins = ["https://app.example.com:https"]), strategy = jwt)]
pub struct BadPort {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "notalist", transport = cookie(allowed_origins = "https://app.example.com"), strategy = jwt)]
pub struct NotAList {
    strategy: JwtStrategy,
}

fn main() {}
