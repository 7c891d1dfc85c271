//! The OpenAPI description of each users router, which [`super::routes`] attaches to it (what
//! it holds is said there); the login form is documented by auth-core's form description.

use axum::Router;
use serde_json::{Map, Value, json};
use utoipa::{
    ToSchema,
    openapi::{
        Components, OpenApiBuilder, RefOr,
        path::{Operation, Paths},
        schema::Schema,
    },
};
use utoipa_axum::router::OpenApiRouter;

use super::{
    ErrorCode, UserBackends, UserHooks, UsersError,
    current::{LoginRequirement, RouteRequirement},
    routes::paths,
};
use crate::{
    backend::{AuthBackend, Transport},
    openapi::{document_operation, validation_error_response, validation_error_schemas},
};

/// `router`, the login and logout routes of backend `B`, documented.
pub(super) fn auth<H, B, S>(router: Router<S>) -> OpenApiRouter<S>
where
    H: UserHooks,
    H::Fields: ToSchema,
    B: AuthBackend,
    S: Clone + Send + Sync + 'static,
{
    let name = B::NAME;
    let cookie = matches!(B::transport(), Transport::Cookie(_));
    let login_ok = if cookie {
        json!({ "204": { "description": "Logged in: the cookie is set." } })
    } else {
        json!({ "200": {
            "description": "Logged in.",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BearerResponse" } } }
        } })
    };
    let mut login_responses = json!({
        "400": error_response(&[
            (ErrorCode::LoginBadCredentials, "Bad credentials or the user is inactive."),
            (ErrorCode::LoginUserNotVerified, "The user is not verified."),
        ]),
        "429": {
            "description": "Too many failed logins: retry after the number of seconds in `Retry-After`.",
            "headers": { "Retry-After": { "schema": { "type": "integer" } } },
            "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/ErrorModel" },
                "example": { "detail": UsersError::TooManyAttempts { retry_after: 0 }.detail() }
            } }
        }
    });
    merge(&mut login_responses, login_ok);
    let logout_ok =
        json!({ "204": { "description": if cookie { "Logged out: the cookie is cleared." } else { "Logged out." } } });
    let mut logout_responses = json!({ "401": { "description": "Missing token or inactive user." } });
    merge(&mut logout_responses, logout_ok);
    let paths = json!({
        paths::LOGIN: { "post": operation("auth", &format!("Auth:{name}.Login"), &format!("auth:{name}.login"), json!({
            "responses": login_responses
        })) },
        paths::LOGOUT: { "post": operation("auth", &format!("Auth:{name}.Logout"), &format!("auth:{name}.logout"), json!({
            "responses": logout_responses
        })) }
    });
    documented(
        router,
        paths,
        components::<H::Fields>(),
        &[
            (paths::LOGIN, document_operation::<LoginRequirement>),
            (paths::LOGOUT, document_operation::<RouteRequirement<H, B, false>>),
        ],
    )
}

/// `router`, the register route, documented.
pub(super) fn register<F: ToSchema, S: Clone + Send + Sync + 'static>(router: Router<S>) -> OpenApiRouter<S> {
    let paths = json!({
        paths::REGISTER: { "post": operation("auth", "Register:Register", "register:register", json!({
            "requestBody": json_body(json!({ "$ref": "#/components/schemas/UserCreate" })),
            "responses": {
                "201": user_read("The user, created."),
                "400": error_response(&[
                    (ErrorCode::RegisterUserAlreadyExists, "A user with this email already exists."),
                    (ErrorCode::RegisterInvalidPassword, "Password validation failed."),
                ]),
                "422": validation_error_response()
            }
        })) }
    });
    documented(router, paths, components::<F>(), &[])
}

/// `router`, the verify routes, documented.
pub(super) fn verify<F: ToSchema, S: Clone + Send + Sync + 'static>(router: Router<S>) -> OpenApiRouter<S> {
    let paths = json!({
        paths::REQUEST_VERIFY_TOKEN: { "post": by_email("Verify:Request-Token", "verify:request-token",
            "Accepted, whether or not the account exists, is active or is verified.") },
        paths::VERIFY: { "post": operation("auth", "Verify:Verify", "verify:verify", json!({
            "requestBody": json_body(embedded(&[("token", token_schema())])),
            "responses": {
                "200": user_read("The user, verified."),
                "400": error_response(&[
                    (ErrorCode::VerifyUserBadToken, "Bad token, not existing user or not the e-mail currently set for the user."),
                    (ErrorCode::VerifyUserAlreadyVerified, "The user is already verified."),
                ]),
                "422": validation_error_response()
            }
        })) }
    });
    documented(router, paths, components::<F>(), &[])
}

/// `router`, the reset-password routes, documented.
pub(super) fn reset_password<F: ToSchema, S: Clone + Send + Sync + 'static>(router: Router<S>) -> OpenApiRouter<S> {
    let paths = json!({
        paths::FORGOT_PASSWORD: { "post": by_email("Reset:Forgot Password", "reset:forgot_password",
            "Accepted, whether or not the account exists.") },
        paths::RESET_PASSWORD: { "post": operation("auth", "Reset:Reset Password", "reset:reset_password", json!({
            "requestBody": json_body(embedded(&[
                ("token", token_schema()),
                ("password", json!({ "type": "string", "title": "Password", "format": "password" })),
            ])),
            "responses": {
                "200": null_response("The password is changed."),
                "400": error_response(&[
                    (ErrorCode::ResetPasswordBadToken, "Bad or expired token."),
                    (ErrorCode::ResetPasswordInvalidPassword, "Password validation failed."),
                ]),
                "422": validation_error_response()
            }
        })) }
    });
    documented(router, paths, components::<F>(), &[])
}

/// `router`, the users routes of backends `B`, documented.
pub(super) fn users<H, B, S>(router: Router<S>) -> OpenApiRouter<S>
where
    H: UserHooks,
    H::Fields: ToSchema,
    B: UserBackends<H>,
    S: Clone + Send + Sync + 'static,
{
    let unauthorized = json!({ "description": "Missing token or inactive user." });
    let forbidden = json!({ "description": "Not a superuser." });
    let not_found = json!({ "description": "The user does not exist." });
    let update_errors = error_response(&[
        (ErrorCode::UpdateUserEmailAlreadyExists, "A user with this email already exists."),
        (ErrorCode::UpdateUserInvalidPassword, "Password validation failed."),
    ]);
    let id_parameter = json!([{
        "name": "id", "in": "path", "required": true,
        "schema": { "type": "string", "title": "Id" }
    }]);
    let update_body = json_body(json!({ "$ref": "#/components/schemas/UserUpdate" }));
    let paths = json!({
        paths::ME: {
            "get": operation("users", "Users:Current User", "users:current_user", json!({
                "responses": { "200": user_read("The current user."), "401": unauthorized }
            })),
            "patch": operation("users", "Users:Patch Current User", "users:patch_current_user", json!({
                "requestBody": update_body,
                "responses": {
                    "200": user_read("The current user, changed."), "401": unauthorized,
                    "400": update_errors, "422": validation_error_response()
                }
            }))
        },
        paths::USER: {
            "get": operation("users", "Users:User", "users:user", json!({
                "parameters": id_parameter,
                "responses": {
                    "200": user_read("The user."), "401": unauthorized, "403": forbidden, "404": not_found,
                    "422": validation_error_response()
                }
            })),
            "patch": operation("users", "Users:Patch User", "users:patch_user", json!({
                "parameters": id_parameter,
                "requestBody": update_body,
                "responses": {
                    "200": user_read("The user, changed."), "401": unauthorized, "403": forbidden, "404": not_found,
                    "400": update_errors, "422": validation_error_response()
                }
            })),
            "delete": operation("users", "Users:Delete User", "users:delete_user", json!({
                "parameters": id_parameter,
                "responses": {
                    "204": { "description": "The user is deleted." }, "401": unauthorized, "403": forbidden,
                    "404": not_found, "422": validation_error_response()
                }
            }))
        }
    });
    let me = document_operation::<RouteRequirement<H, B, false>>;
    let superuser = document_operation::<RouteRequirement<H, B, true>>;
    documented(router, paths, components::<H::Fields>(), &[(paths::ME, me), (paths::USER, superuser)])
}

/// Documents one operation from its route's requirement ([`document_operation`] of the route's
/// `SecuredFn` description): its `security`, and its request body when it is one of auth-core's
/// forms.
pub(super) type Document = fn(&mut Operation, &mut Vec<(String, RefOr<Schema>)>);

/// The router and its description, as one utoipa-axum router. `requirements` documents every
/// operation of each path from its route's requirement.
pub(super) fn documented<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    paths: Value,
    components: Value,
    requirements: &[(&str, Document)],
) -> OpenApiRouter<S> {
    // Our own JSON literals, checked by the tests: only a utoipa upgrade could break them.
    let mut paths: Paths =
        serde_json::from_value(paths).expect("the users routes' OpenAPI paths are valid utoipa values");
    let mut components: Components =
        serde_json::from_value(components).expect("the users routes' OpenAPI components are valid utoipa values");
    let mut schemas = Vec::new();
    for (path, document) in requirements {
        if let Some(item) = paths.paths.get_mut(*path) {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                document(operation, &mut schemas);
            }
        }
    }
    components.schemas.extend(schemas);
    let api = OpenApiBuilder::new().paths(paths).components(Some(components)).build();
    OpenApiRouter::with_openapi(api).merge(OpenApiRouter::from(router))
}

/// Adds the keys of `more` to `base` (both objects); social login's documentation uses it too.
pub(super) fn merge(base: &mut Value, more: Value) {
    if let (Value::Object(base), Value::Object(more)) = (base, more) {
        base.extend(more);
    }
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn user_read(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UserRead" } } }
    })
}

/// An operation: fastapi-users' tag, summary and id, and the rest of it.
pub(super) fn operation(tag: &str, summary: &str, id: &str, mut rest: Value) -> Value {
    merge(&mut rest, json!({ "tags": [tag], "summary": summary, "operationId": id }));
    rest
}

/// An answer whose body is JSON `null`.
fn null_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "type": "null" } } } })
}

fn token_schema() -> Value {
    json!({ "type": "string", "title": "Token" })
}

/// A 400 with fastapi-users' `ErrorModel` and one example per code, with fastapi-users'
/// summary; each example is the body the route answers with (a refused password with a sample
/// reason).
fn error_response(codes: &[(ErrorCode, &str)]) -> Value {
    let examples: Map<String, Value> = codes
        .iter()
        .map(|&(code, summary)| {
            let error = match code {
                ErrorCode::RegisterInvalidPassword
                | ErrorCode::ResetPasswordInvalidPassword
                | ErrorCode::UpdateUserInvalidPassword => {
                    UsersError::InvalidPassword { code, reason: "Password should be at least 8 characters".to_owned() }
                }
                code => UsersError::Code(code),
            };
            (code.as_str().to_owned(), json!({ "summary": summary, "value": { "detail": error.detail() } }))
        })
        .collect();
    json!({
        "description": "Bad Request",
        "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/ErrorModel" },
            "examples": examples
        } }
    })
}

/// request-verify-token's and forgot-password's operation: `{"email"}` in, 202 `null` out.
fn by_email(summary: &str, id: &str, accepted: &str) -> Value {
    let body = embedded(&[("email", json!({ "type": "string", "format": "email", "title": "Email" }))]);
    operation(
        "auth",
        summary,
        id,
        json!({
            "requestBody": json_body(body),
            "responses": { "202": null_response(accepted), "422": validation_error_response() }
        }),
    )
}

/// A body of named fields, all required (FastAPI's `Body(..., embed=True)`).
fn embedded(fields: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> =
        fields.iter().map(|(name, schema)| ((*name).to_owned(), schema.clone())).collect();
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// The app's fields: their properties, the required ones, and the schemas they refer to.
fn app_fields<F: ToSchema>() -> (Map<String, Value>, Vec<Value>, Map<String, Value>) {
    let schema = serde_json::to_value(F::schema()).unwrap_or_default();
    let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    if schema.get("properties").is_none() && schema.get("type").and_then(Value::as_str) != Some("object") {
        tracing::warn!(fields = %F::name(), "the app's user fields are not described as an object; they are left out of the schemas");
    }
    let mut nested = Vec::new();
    F::schemas(&mut nested);
    let nested = nested
        .into_iter()
        .filter_map(|(name, schema)| serde_json::to_value(schema).ok().map(|schema| (name, schema)))
        .collect();
    (properties, required, nested)
}

/// fastapi-users' schemas, with the app's fields in `UserRead`, `UserCreate` and `UserUpdate`.
fn components<F: ToSchema>() -> Value {
    let (fields, required_fields, nested) = app_fields::<F>();
    let flag = |title: &str, default: bool| json!({ "type": "boolean", "default": default, "title": title });
    let optional_flag = |title: &str, default: Option<bool>| json!({ "anyOf": [{ "type": "boolean" }, { "type": "null" }], "default": default, "title": title });
    let mut read = json!({
        "type": "object",
        "title": "UserRead",
        "properties": {
            "id": { "type": "string", "format": "uuid", "title": "Id" },
            "email": { "type": "string", "format": "email", "title": "Email" },
            "is_active": flag("Is Active", true),
            "is_superuser": flag("Is Superuser", false),
            "is_verified": flag("Is Verified", false)
        },
        "required": ["id", "email"]
    });
    let mut create = json!({
        "type": "object",
        "title": "UserCreate",
        "properties": {
            "email": { "type": "string", "format": "email", "title": "Email" },
            "password": { "type": "string", "format": "password", "title": "Password" },
            "is_active": optional_flag("Is Active", Some(true)),
            "is_superuser": optional_flag("Is Superuser", Some(false)),
            "is_verified": optional_flag("Is Verified", Some(false))
        },
        "required": ["email", "password"]
    });
    let mut update = json!({
        "type": "object",
        "title": "UserUpdate",
        "properties": {
            "password": { "anyOf": [{ "type": "string", "format": "password" }, { "type": "null" }], "title": "Password" },
            "email": { "anyOf": [{ "type": "string", "format": "email" }, { "type": "null" }], "title": "Email" },
            "is_active": optional_flag("Is Active", None),
            "is_superuser": optional_flag("Is Superuser", None),
            "is_verified": optional_flag("Is Verified", None)
        }
    });
    for (schema, required) in [(&mut read, true), (&mut create, true), (&mut update, false)] {
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            properties.extend(fields.clone());
        }
        if required && let Some(Value::Array(list)) = schema.get_mut("required") {
            list.extend(required_fields.iter().cloned());
        }
    }
    let mut schemas = json!({
        "UserRead": read,
        "UserCreate": create,
        "UserUpdate": update,
        "ErrorModel": {
            "type": "object",
            "title": "ErrorModel",
            "properties": { "detail": {
                "anyOf": [{ "type": "string" }, { "type": "object", "additionalProperties": { "type": "string" } }],
                "title": "Detail"
            } },
            "required": ["detail"]
        },
        "BearerResponse": {
            "type": "object",
            "title": "BearerResponse",
            "properties": {
                "access_token": { "type": "string", "title": "Access Token" },
                "token_type": { "type": "string", "title": "Token Type" }
            },
            "required": ["access_token", "token_type"]
        }
    });
    // FastAPI's, as auth-core's forms describe them: one definition of each name.
    merge(
        &mut schemas,
        validation_error_schemas().into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect(),
    );
    merge(&mut schemas, Value::Object(nested));
    json!({ "schemas": schemas })
}
