//! Cookie domains that are not host names.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "injected", transport = cookie(domain = "example.com; Secure"), strategy = jwt)]
pub struct Injected {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "leadingdot", transport = cookie(domain = ".example.com"), strategy = jwt)]
pub struct LeadingDot {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "port", transport = cookie(domain = "example.com:8443"), strategy = jwt)]
pub struct Port {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "url", transport = cookie(domain = "https://example.com"), strategy = jwt)]
pub struct Url {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "nonascii", transport = cookie(domain = "bücher.example"), strategy = jwt)]
pub struct NonAscii {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "emptylabel", transport = cookie(domain = "example..com"), strategy = jwt)]
pub struct EmptyLabel {
    strategy: JwtStrategy,
}

fn main() {}
