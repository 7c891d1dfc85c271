//! Cookie names that are not RFC 6265 tokens.

use auth_core::{AuthBackend, strategies::jwt::JwtStrategy};

#[derive(AuthBackend, Clone)]
#[backend(name = "empty", transport = cookie(name = ""), strategy = jwt)]
pub struct Empty {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "semicolon", transport = cookie(name = "sid; Secure"), strategy = jwt)]
pub struct Semicolon {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "comma", transport = cookie(name = "a,b"), strategy = jwt)]
pub struct Comma {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "space", transport = cookie(name = "my session"), strategy = jwt)]
pub struct Space {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "equals", transport = cookie(name = "a=b"), strategy = jwt)]
pub struct Equals {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "tab", transport = cookie(name = "a\tb"), strategy = jwt)]
pub struct Tab {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "nonascii", transport = cookie(name = "sessión"), strategy = jwt)]
pub struct NonAscii {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "apikeycookie", transport = api_key(cookie = "api key"), strategy = jwt)]
pub struct ApiKeyCookie {
    strategy: JwtStrategy,
}

fn main() {}
