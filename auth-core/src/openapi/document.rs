//! Writing the collected requirements into a utoipa [`OpenApi`] document.

use utoipa::openapi::{
    OpenApi, PathItem,
    path::{Operation, Paths},
    security::{Flow, Http, HttpAuthScheme, OAuth2, Password, Scopes, SecurityRequirement, SecurityScheme},
};

use super::requirement_of;
use crate::{
    __private::SecuredFn,
    schemes::{HttpBearer, OAuth2PasswordBearer},
};

/// The operation extension that carries a requirement from [`attach`] to [`SecurityDoc::apply`].
const EXTENSION: &str = "x-auth-core-security";

/// A transport described as an OpenAPI security scheme.
pub trait DocumentedScheme {
    /// The scheme's name in `components.securitySchemes`.
    fn scheme_name(&self) -> &str;
    /// The transport it documents, e.g. [`BEARER`](super::BEARER).
    fn transport(&self) -> &'static str;
    /// The scheme object.
    fn to_scheme(&self) -> SecurityScheme;
}

impl DocumentedScheme for OAuth2PasswordBearer {
    fn scheme_name(&self) -> &str {
        &self.name
    }

    fn transport(&self) -> &'static str {
        super::BEARER
    }

    fn to_scheme(&self) -> SecurityScheme {
        let scopes = Scopes::from_iter(self.scopes.iter().map(|(name, description)| (*name, *description)));
        let flow = match &self.refresh_url {
            Some(refresh) => Password::with_refresh_url(&self.token_url, scopes, refresh),
            None => Password::new(&self.token_url, scopes),
        };
        SecurityScheme::OAuth2(OAuth2::new([Flow::Password(flow)]))
    }
}

impl DocumentedScheme for HttpBearer {
    fn scheme_name(&self) -> &str {
        &self.name
    }

    fn transport(&self) -> &'static str {
        super::BEARER
    }

    fn to_scheme(&self) -> SecurityScheme {
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = self.bearer_format.clone();
        SecurityScheme::Http(http)
    }
}

impl crate::backend::Transport {
    /// This transport as an OpenAPI security scheme, with `scopes` for OAuth2 flows.
    pub fn to_scheme(&self, scopes: &[(&'static str, &'static str)]) -> SecurityScheme {
        use crate::backend::{ApiKeyLocation, Transport};
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, OpenIdConnect};
        let scopes = || Scopes::from_iter(scopes.iter().copied());
        match self {
            Transport::Bearer { token_url, refresh_url } => {
                let flow = match refresh_url {
                    Some(refresh) => Password::with_refresh_url(*token_url, scopes(), *refresh),
                    None => Password::new(*token_url, scopes()),
                };
                SecurityScheme::OAuth2(OAuth2::new([Flow::Password(flow)]))
            }
            Transport::HttpBearer { bearer_format } => {
                let mut http = Http::new(HttpAuthScheme::Bearer);
                http.bearer_format = bearer_format.map(str::to_owned);
                SecurityScheme::Http(http)
            }
            Transport::OAuth2AuthorizationCode { authorization_url, token_url } => SecurityScheme::OAuth2(OAuth2::new(
                [Flow::AuthorizationCode(AuthorizationCode::new(*authorization_url, *token_url, scopes()))],
            )),
            Transport::OAuth2ClientCredentials { token_url } => {
                SecurityScheme::OAuth2(OAuth2::new([Flow::ClientCredentials(ClientCredentials::new(
                    *token_url,
                    scopes(),
                ))]))
            }
            Transport::OpenIdConnect { url } => SecurityScheme::OpenIdConnect(OpenIdConnect::new(*url)),
            Transport::ApiKey { location, name } => SecurityScheme::ApiKey(match location {
                ApiKeyLocation::Header => ApiKey::Header(ApiKeyValue::new(*name)),
                ApiKeyLocation::Query => ApiKey::Query(ApiKeyValue::new(*name)),
                ApiKeyLocation::Cookie => ApiKey::Cookie(ApiKeyValue::new(*name)),
            }),
            Transport::Cookie(options) => SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(options.name()))),
        }
    }
}

impl SecurityDoc {
    /// Adds backend `B` as the scheme named after it.
    ///
    /// # Panics
    ///
    /// When a scheme of the same name was added before, as [`scheme`](Self::scheme).
    pub fn backend<B: crate::backend::AuthBackend>(self, backend: &B) -> Self {
        let scheme = backend.transport().to_scheme(&B::scope_descriptions());
        self.named_scheme(B::NAME.to_owned(), B::NAME, scheme)
    }
}

/// Records handler `H`'s requirement on each of its operations in `paths`; [`SecurityDoc`]
/// later turns it into `security`. [`routes!`](crate::routes) calls this for you.
pub fn attach<H: SecuredFn>(paths: &mut Paths) {
    let requirement = requirement_of::<H>();
    if requirement.transports().is_empty() {
        return;
    }
    let value = serde_json::json!({
        "scopes": requirement.required_scopes(),
        "transports": requirement.transports(),
        "optional": requirement.is_optional(),
    });
    for item in paths.paths.values_mut() {
        for operation in operations(item) {
            operation.extensions.get_or_insert_with(Default::default).insert(EXTENSION.to_owned(), value.clone());
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The app's security schemes, and the step that writes every handler's requirement.
///
/// Each operation attached by [`routes!`](crate::routes) gets one alternative per scheme of a
/// transport its chain reads, each listing the chain's scopes; an optional credential also
/// gets the empty alternative `{}`.
#[derive(Default)]
pub struct SecurityDoc {
    schemes: Vec<(String, &'static str, SecurityScheme)>,
}

impl SecurityDoc {
    /// No schemes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a scheme. Names must be unique.
    ///
    /// # Panics
    ///
    /// When a scheme of the same name was added before: two schemes cannot share a name in
    /// OpenAPI, and silently keeping one would document the wrong credential.
    pub fn scheme(self, scheme: impl DocumentedScheme) -> Self {
        self.named_scheme(scheme.scheme_name().to_owned(), scheme.transport(), scheme.to_scheme())
    }

    fn named_scheme(mut self, name: String, transport: &'static str, scheme: SecurityScheme) -> Self {
        assert!(
            !self.schemes.iter().any(|(existing, ..)| *existing == name),
            "security scheme `{name}` is declared twice; scheme names must be unique"
        );
        self.schemes.push((name, transport, scheme));
        self
    }

    /// Writes `components.securitySchemes` and every attached operation's `security`.
    pub fn apply(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, _, scheme) in &self.schemes {
            components.add_security_scheme(name.clone(), scheme.clone());
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let Some(value) = operation.extensions.as_mut().and_then(|ext| ext.remove(EXTENSION)) else {
                    continue;
                };
                if operation.extensions.as_ref().is_some_and(|ext| ext.is_empty()) {
                    operation.extensions = None;
                }
                operation.security = Some(self.requirements(&value));
            }
        }
    }

    fn requirements(&self, value: &serde_json::Value) -> Vec<SecurityRequirement> {
        let strings = |key: &str| -> Vec<String> {
            value[key].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        };
        let (scopes, transports) = (strings("scopes"), strings("transports"));
        let mut requirements: Vec<SecurityRequirement> = self
            .schemes
            .iter()
            .filter(|(_, transport, _)| transports.iter().any(|t| t == transport))
            .map(|(name, ..)| SecurityRequirement::new(name.clone(), scopes.clone()))
            .collect();
        if value["optional"].as_bool() == Some(true) {
            requirements.push(SecurityRequirement::default());
        }
        requirements
    }
}

impl utoipa::Modify for SecurityDoc {
    fn modify(&self, openapi: &mut OpenApi) {
        self.apply(openapi);
    }
}
