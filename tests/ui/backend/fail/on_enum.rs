//! A backend is a struct holding its strategy.

use auth_core::AuthBackend;

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token"), strategy = jwt)]
pub enum JwtBackend {
    One,
}

fn main() {}
