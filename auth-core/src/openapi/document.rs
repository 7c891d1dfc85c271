//! Rendering requirements, schemes and forms into a utoipa [`OpenApi`] document.

use std::any::TypeId;

use serde_json::{Value, json};
use utoipa::openapi::{
    OpenApi, PathItem, RefOr,
    path::Operation,
    schema::Schema,
    security::{
        ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, OpenIdConnect,
        Password, Scopes, SecurityRequirement, SecurityScheme,
    },
};

use crate::{
    form::FormBody,
    security::{
        ApiKeyLocation, ChainPlan, Credential, CredentialRef, OAuth2Flow, Requirement, SchemeKind, function::SecuredFn,
    },
};

/// What [`routes!`](crate::routes) writes on the operation of the `#[secured]` handler `H`:
/// its `security`, and, when it reads one of auth-core's forms, the request body, the 422
/// response and their schemas (added to `schemas`, which utoipa-axum puts in components).
pub fn document_operation<H: SecuredFn>(operation: &mut Operation, schemas: &mut Vec<(String, RefOr<Schema>)>) {
    let plan = ChainPlan::of::<H>();
    if let Some(security) = to_security(plan.requirement()) {
        operation.security = Some(security);
    }
    if let Some(body) = plan.body() {
        document_body(operation, body, schemas);
    }
    if let Some((authorization, path_param)) = plan.authorization() {
        document_authorization(operation, authorization, path_param);
    }
}

/// What an operation whose handler takes an `Authorized` record documents: the answers of the
/// order (401, 403, and 404 for one record), the rule and each policy with its description (in
/// the description and in `x-authorization`), and the path parameter naming the record.
fn document_authorization(
    operation: &mut Operation,
    authorization: &crate::authz::Authorization,
    path_param: Option<(&'static str, &'static str)>,
) {
    let detail = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": {
                "type": "object",
                "required": ["detail"],
                "properties": { "detail": { "type": "string" } }
            } } }
        })
    };
    let hides = authorization.policies.iter().any(|policy| policy.hides);
    let mut answers = vec![
        ("401", "Not authenticated, or the token could not be validated".to_owned()),
        (
            "403",
            "Not enough permissions: the token lacks a required scope, or the authorization rule denies".to_owned(),
        ),
    ];
    if path_param.is_some() {
        let not_found = if hides {
            "Not Found: no such record, or one the caller may not see (existence is hidden)"
        } else {
            "Not Found: no such record"
        };
        answers.push(("404", not_found.to_owned()));
    }
    for (status, description) in answers {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| from_json(detail(&description)));
    }

    let mut text = format!("**Authorization:** `{}`", authorization.rule);
    for policy in authorization.policies {
        let description = if policy.description.is_empty() { "(undocumented)" } else { policy.description };
        let hidden = if policy.hides { " Denied: 404, as if the record did not exist." } else { "" };
        text.push_str(&format!("\n- `{}`: {}{hidden}", policy.name, description.replace('\n', " ")));
    }
    for scope in authorization.scopes {
        text.push_str(&format!("\n- `scope(\"{scope}\")`: the token grants `{scope}` (or a scope implying it)"));
    }
    if path_param.is_none() {
        text.push_str("\n\nThe list holds only the records the rule allows.");
    }
    operation.description = Some(match operation.description.take() {
        Some(existing) if !existing.is_empty() => format!("{existing}\n\n{text}"),
        _ => text,
    });

    let policies: Vec<Value> = authorization
        .policies
        .iter()
        .map(|policy| json!({ "name": policy.name, "description": policy.description, "hidesExistence": policy.hides }))
        .collect();
    let mut extension = json!({ "rule": authorization.rule, "policies": policies, "scopes": authorization.scopes });
    if let Some((name, _)) = path_param {
        extension["resourceParameter"] = json!(name);
    } else {
        extension["filtersList"] = json!(true);
    }
    let extensions = operation.extensions.get_or_insert_with(Default::default);
    extensions.insert("x-authorization".to_owned(), extension);

    if let Some((name, id_type)) = path_param {
        let parameters = operation.parameters.get_or_insert_with(Vec::new);
        let documented = parameters.iter().any(|parameter| match parameter {
            RefOr::T(parameter) => parameter.name == name,
            RefOr::Ref(_) => false,
        });
        if !documented {
            let schema = match id_type.rsplit("::").next().unwrap_or(id_type) {
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => json!({ "type": "integer" }),
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => json!({ "type": "integer", "minimum": 0 }),
                _ => json!({ "type": "string" }),
            };
            parameters.push(from_json(json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": "The id of the record; one that does not exist, or that the caller may not see, is 404",
                "schema": schema
            })));
        }
    }
}

/// A requirement as OpenAPI's `security`; `None` when it involves no credential.
pub(crate) fn to_security(requirement: &Requirement) -> Option<Vec<SecurityRequirement>> {
    if requirement.is_anonymous() {
        return None;
    }
    let list = requirement
        .alternatives()
        .iter()
        .map(|alternative| {
            let mut entries = alternative.entries();
            match entries.next() {
                None => SecurityRequirement::default(),
                Some((credential, scopes)) => entries
                    .fold(SecurityRequirement::new(credential.scheme_name(), scopes.iter().copied()), |req, (c, s)| {
                        req.add(c.scheme_name(), s.iter().copied())
                    }),
            }
        })
        .collect();
    Some(list)
}

/// A scheme's description as utoipa's [`SecurityScheme`].
pub(crate) fn to_security_scheme(kind: &SchemeKind) -> SecurityScheme {
    match kind {
        SchemeKind::OAuth2 { flows, scopes } => {
            let scopes = || {
                Scopes::from_iter(scopes.iter().map(|(name, description)| (name.to_string(), description.to_string())))
            };
            let flows = flows.iter().map(|flow| match flow {
                OAuth2Flow::Password { token_url, refresh_url: None } => {
                    Flow::Password(Password::new(token_url.as_ref(), scopes()))
                }
                OAuth2Flow::Password { token_url, refresh_url: Some(refresh) } => {
                    Flow::Password(Password::with_refresh_url(token_url.as_ref(), scopes(), refresh.as_ref()))
                }
                OAuth2Flow::AuthorizationCode { authorization_url, token_url, refresh_url: None } => {
                    Flow::AuthorizationCode(AuthorizationCode::new(
                        authorization_url.as_ref(),
                        token_url.as_ref(),
                        scopes(),
                    ))
                }
                OAuth2Flow::AuthorizationCode { authorization_url, token_url, refresh_url: Some(refresh) } => {
                    Flow::AuthorizationCode(AuthorizationCode::with_refresh_url(
                        authorization_url.as_ref(),
                        token_url.as_ref(),
                        scopes(),
                        refresh.as_ref(),
                    ))
                }
                OAuth2Flow::ClientCredentials { token_url, refresh_url: None } => {
                    Flow::ClientCredentials(ClientCredentials::new(token_url.as_ref(), scopes()))
                }
                OAuth2Flow::ClientCredentials { token_url, refresh_url: Some(refresh) } => Flow::ClientCredentials(
                    ClientCredentials::with_refresh_url(token_url.as_ref(), scopes(), refresh.as_ref()),
                ),
            });
            SecurityScheme::OAuth2(OAuth2::new(flows))
        }
        SchemeKind::HttpBearer { bearer_format } => {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.bearer_format = bearer_format.as_ref().map(|format| format.to_string());
            SecurityScheme::Http(http)
        }
        SchemeKind::HttpBasic => SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        SchemeKind::ApiKey { location, name } => SecurityScheme::ApiKey(match location {
            ApiKeyLocation::Header => ApiKey::Header(ApiKeyValue::new(name.as_ref())),
            ApiKeyLocation::Query => ApiKey::Query(ApiKeyValue::new(name.as_ref())),
            ApiKeyLocation::Cookie => ApiKey::Cookie(ApiKeyValue::new(name.as_ref())),
        }),
        SchemeKind::OpenIdConnect { url } => SecurityScheme::OpenIdConnect(OpenIdConnect::new(url.as_ref())),
    }
}

/// The step that finishes a document: `components.securitySchemes` for every scheme its
/// operations name, each described by its credential, unless the app describes it here.
///
/// ```ignore
/// SecurityDoc::new()
///     .scheme::<Claims>(OAuth2PasswordBearer::new::<Scope>("token"))
///     .apply(&mut api);
/// ```
///
/// A backend describes itself (its transport, its scopes), and needs no line here. A
/// credential whose description is only known at run time (a provider's discovery URL, say)
/// or is an app's choice (`Claims`: which token URL, which scopes) is described with
/// [`scheme`](Self::scheme).
#[derive(Debug, Clone, Default)]
pub struct SecurityDoc {
    described: Vec<(TypeId, &'static str, &'static str, SchemeKind)>,
    extra: Vec<CredentialRef>,
}

impl SecurityDoc {
    /// Nothing described yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Documents credential `C`'s scheme (named `C::SCHEME_NAME`) as `kind` in this document.
    ///
    /// # Panics
    ///
    /// When `C` is described twice.
    pub fn scheme<C: Credential>(mut self, kind: impl Into<SchemeKind>) -> Self {
        let id = TypeId::of::<C>();
        assert!(
            !self.described.iter().any(|(existing, ..)| *existing == id),
            "credential `{}` is described twice in one SecurityDoc",
            std::any::type_name::<C>()
        );
        self.described.push((id, C::SCHEME_NAME, std::any::type_name::<C>(), kind.into()));
        self
    }

    /// Lists credential `C`'s scheme in `components.securitySchemes` even when no operation
    /// of the document uses it.
    pub fn credential<C: Credential>(mut self) -> Self {
        self.extra.push(CredentialRef::of::<C>());
        self
    }

    /// Writes `components.securitySchemes`: one entry per scheme named by an operation's
    /// `security` (or listed with [`credential`](Self::credential)) that auth-core knows.
    /// Schemes an app wrote by hand are left alone.
    ///
    /// # Panics
    ///
    /// When two credentials of different types share a scheme name but describe it
    /// differently: the document could only show one of them, and would be wrong about the
    /// other. Describe one of them with [`scheme`](Self::scheme), or rename it.
    pub fn apply(&self, openapi: &mut OpenApi) {
        let mut named: Vec<String> = self.extra.iter().map(|c| c.scheme_name().to_owned()).collect();
        for item in openapi.paths.paths.values() {
            for operation in operations(item) {
                for requirement in operation.security.iter().flatten() {
                    for name in requirement_names(requirement) {
                        if !named.contains(&name) {
                            named.push(name);
                        }
                    }
                }
            }
        }
        let mut known = crate::security::known_credentials();
        known.extend(self.extra.iter().copied());
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in named {
            if let Some(kind) = self.describe(&name, &known) {
                components.add_security_scheme(name, to_security_scheme(&kind));
            }
        }
    }

    /// The description of the scheme named `name`: the app's, else the one its credentials
    /// agree on.
    fn describe(&self, name: &str, known: &[CredentialRef]) -> Option<SchemeKind> {
        let mut by_app = self.described.iter().filter(|(_, scheme, ..)| *scheme == name);
        if let Some((_, _, type_name, kind)) = by_app.next() {
            if let Some((_, _, other, _)) = by_app.find(|(.., other_kind)| other_kind != kind) {
                panic!("scheme `{name}` is described differently for `{type_name}` and `{other}`");
            }
            return Some(kind.clone());
        }
        let mut found: Option<(CredentialRef, SchemeKind)> = None;
        for credential in known.iter().filter(|c| c.scheme_name() == name) {
            let kind = credential.scheme().kind;
            match &found {
                None => found = Some((*credential, kind)),
                Some((first, first_kind)) if *first_kind != kind => panic!(
                    "scheme `{name}` is described differently by `{}` and `{}`: give one of them another scheme name, or describe the scheme with `SecurityDoc::scheme`",
                    first.type_name(),
                    credential.type_name()
                ),
                Some(_) => {}
            }
        }
        found.map(|(_, kind)| kind)
    }
}

impl utoipa::Modify for SecurityDoc {
    fn modify(&self, openapi: &mut OpenApi) {
        self.apply(openapi);
    }
}

/// The scheme names of one `security` entry.
fn requirement_names(requirement: &SecurityRequirement) -> Vec<String> {
    // utoipa keeps the map private; its serialised form is the map itself.
    match serde_json::to_value(requirement) {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn operations(item: &PathItem) -> impl Iterator<Item = &Operation> {
    [&item.get, &item.put, &item.post, &item.delete, &item.options, &item.head, &item.patch, &item.trace]
        .into_iter()
        .filter_map(Option::as_ref)
}

/// The request body of a form, its 422 response, and the schemas both refer to, as FastAPI
/// documents them.
fn document_body(operation: &mut Operation, body: &FormBody, schemas: &mut Vec<(String, RefOr<Schema>)>) {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for field in body.fields {
        // Optional fields without a default are nullable, as pydantic writes `str | None`
        // (OpenAPI 3.1's type list, which keeps the title and format beside it).
        let nullable = !field.required && field.default.is_none();
        let mut property =
            json!({ "type": if nullable { json!(["string", "null"]) } else { json!("string") }, "title": field.title });
        if let Some(pattern) = field.pattern {
            property["pattern"] = json!(pattern);
        }
        if field.secret {
            property["format"] = json!("password");
        }
        if let Some(default) = field.default {
            property["default"] = json!(default);
        }
        if field.required {
            required.push(field.name);
        }
        properties.insert(field.name.to_owned(), property);
    }
    let schema = json!({ "type": "object", "title": body.name, "properties": properties, "required": required });
    add_schema(schemas, body.name, schema);
    for (name, schema) in validation_error_schemas() {
        add_schema(schemas, name, schema);
    }
    let request_body = json!({
        "content": { body.media_type: { "schema": { "$ref": format!("#/components/schemas/{}", body.name) } } },
        "required": true
    });
    operation.request_body = Some(from_json(request_body));
    operation.responses.responses.insert("422".to_owned(), from_json(validation_error_response()));
}

/// FastAPI's 422 answer, as every operation with a body documents it.
pub(crate) fn validation_error_response() -> Value {
    json!({
        "description": "Validation Error",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/HTTPValidationError" } } }
    })
}

/// The schemas of FastAPI's 422 answer, `ValidationError` and `HTTPValidationError`: the one
/// definition, for auth-core's forms and the users routes alike.
pub(crate) fn validation_error_schemas() -> [(&'static str, Value); 2] {
    [
        (
            "ValidationError",
            json!({
                "type": "object",
                "title": "ValidationError",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": { "type": "array", "title": "Location", "items": { "anyOf": [{ "type": "string" }, { "type": "integer" }] } },
                    "msg": { "type": "string", "title": "Message" },
                    "type": { "type": "string", "title": "Error Type" },
                    // auth-core never echoes the input back: it may be a password.
                    "input": { "type": "null", "title": "Input" }
                }
            }),
        ),
        (
            "HTTPValidationError",
            json!({
                "type": "object",
                "title": "HTTPValidationError",
                "properties": {
                    "detail": { "type": "array", "title": "Detail", "items": { "$ref": "#/components/schemas/ValidationError" } }
                }
            }),
        ),
    ]
}

fn add_schema(schemas: &mut Vec<(String, RefOr<Schema>)>, name: &str, schema: Value) {
    if !schemas.iter().any(|(existing, _)| existing == name) {
        schemas.push((name.to_owned(), from_json(schema)));
    }
}

/// A document fragment written as JSON, read back as utoipa's type. The fragments are
/// literals in this file, covered by the tests; a failure is a bug here, not bad input.
fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("auth-core's OpenAPI fragments are valid utoipa values")
}
