//! Cookie paths that cannot be a `Path` attribute.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "relative", transport = cookie(path = "app"), strategy = jwt)]
pub struct Relative {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "space", transport = cookie(path = "/my app"), strategy = jwt)]
pub struct Space {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "comma", transport = cookie(path = "/a,b"), strategy = jwt)]
pub struct Comma {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "control", transport = cookie(path = "/a\rSet-Cookie: x=y"), strategy = jwt)]
pub struct Control {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "nonascii", transport = cookie(path = "/bücher"), strategy = jwt)]
pub struct NonAscii {
    strategy: JwtStrategy,
}

fn main() {}
