//! `SameSite=None` on a cookie that is not `Secure`: browsers drop it.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "insecure", transport = cookie(same_site = "none", secure = false), strategy = jwt)]
pub struct Insecure {
    strategy: JwtStrategy,
}

fn main() {}
