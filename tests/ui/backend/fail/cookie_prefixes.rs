//! `__Secure-` and `__Host-` cookies that browsers would refuse.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "secureprefix", transport = cookie(name = "__Secure-sid", secure = false), strategy = jwt)]
pub struct SecurePrefix {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "hostwithdomain", transport = cookie(name = "__Host-sid", domain = "example.com"), strategy = jwt)]
pub struct HostWithDomain {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "hostwithpath", transport = cookie(name = "__Host-sid", path = "/app"), strategy = jwt)]
pub struct HostWithPath {
    strategy: JwtStrategy,
}

fn main() {}
