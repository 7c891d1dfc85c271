//! `Authenticated<(ApiKey, Claims)>`: credentials whose principals differ. One error, at the
//! parameter, saying what to do, instead of one at every mention of the type.

use auth_core::{
    AuthError, Authenticate, Authenticated, Credential, secured,
    security::{ApiKeyLocation, Lifetime, SchemeKind},
    strategies::{Claims, JwtStrategy},
};
use axum::{Router, extract::FromRef, routing::get};

#[derive(Clone)]
struct AppState {
    jwt: JwtStrategy,
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

struct ApiKey;

struct Service {
    scopes: Vec<String>,
}

impl Credential for ApiKey {
    type Principal = Service;
    const SCHEME_NAME: &'static str = "ApiKey";

    fn scheme() -> SchemeKind {
        SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-api-key".into() }
    }

    fn granted_scopes(service: &Service) -> &[String] {
        &service.scopes
    }
}

impl<S: Send + Sync> Authenticate<S> for ApiKey {
    async fn verify(_key: &str, _state: &S) -> Result<(Service, Lifetime), AuthError> {
        Err(AuthError::invalid_credentials())
    }
}

#[secured]
async fn reports(Authenticated(who): Authenticated<(ApiKey, Claims)>) -> String {
    drop(who);
    String::new()
}

fn main() {
    let _app: Router<AppState> = Router::new().route("/reports", get(reports));
}
