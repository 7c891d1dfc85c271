//! [`OAuthProvider::router`]'s documentation.

use axum::extract::FromRef;
use serde_json::{Value, json};
use utoipa::openapi::{Components, OpenApiBuilder, path::Paths};
use utoipa_axum::router::OpenApiRouter;

use super::{
    OAuthProvider,
    routes::{CSRF_COOKIE, detail},
};
use crate::{
    backend::{AuthBackend, Transport},
    security::Authenticate,
    users::{ErrorCode, UserHooks, UserManager, UserToken, openapi::merge},
};

impl OAuthProvider {
    /// The routes, to nest at `/auth`: `GET /{name}/authorize` and `GET /{name}/callback`,
    /// logging in through backend `B`; with an
    /// [associate redirect URL](super::OAuthProviderBuilder::associate_redirect_url), also
    /// `GET /associate/{name}/authorize` and `GET /associate/{name}/callback` for the user
    /// logged in with `B`. See [`OAuthProvider`] for what each answers.
    ///
    /// As the users routers, it is a utoipa-axum `OpenApiRouter` carrying its paths (tag
    /// `auth`, fastapi-users' operation ids `oauth:{name}.{backend}.authorize` and
    /// `….callback`), so nesting it moves the documentation along; an app without docs nests
    /// `.into()`. The associate callback answers fastapi-users' `UserRead`, which the users
    /// routers' documentation defines.
    pub fn router<H, B, S>(&self) -> OpenApiRouter<S>
    where
        H: UserHooks,
        H::Fields: Default,
        B: AuthBackend + FromRef<S>,
        UserToken<B, H>: Authenticate<S>,
        UserManager<H>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let name = &self.inner.name;
        let backend = B::NAME;
        let cookie = matches!(B::transport(), Transport::Cookie(_));
        let login_ok = if cookie {
            json!({ "204": { "description": "Logged in: the backend's cookie is set, the CSRF cookie cleared." } })
        } else {
            json!({ "200": {
                "description": "Logged in: the backend's token.",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BearerResponse" } } }
            } })
        };
        let scopes = json!([{
            "name": "scopes", "in": "query", "required": false,
            "description": "Scopes to ask the provider for, instead of the configured ones (`openid` is always added, except at GitHub).",
            "schema": { "type": "array", "items": { "type": "string" }, "title": "Scopes" }
        }]);
        let callback_parameters = json!([
            { "name": "code", "in": "query", "required": false, "schema": { "type": "string" } },
            { "name": "state", "in": "query", "required": false, "schema": { "type": "string" } },
            { "name": "error", "in": "query", "required": false, "schema": { "type": "string" } },
            { "name": "iss", "in": "query", "required": false, "schema": { "type": "string" } }
        ]);
        let authorize_ok = json!({
            "description": format!("The provider's authorization URL; the `{CSRF_COOKIE}` cookie is set."),
            "headers": { "Set-Cookie": { "schema": { "type": "string" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/OAuth2AuthorizeResponse" } } }
        });
        let mut callback_errors = vec![
            (ErrorCode::AccessTokenDecodeError.as_str(), "Invalid state token."),
            (ErrorCode::AccessTokenAlreadyExpired.as_str(), "Expired state token."),
            (ErrorCode::OauthInvalidState.as_str(), "The state and the CSRF cookie differ."),
            (ErrorCode::OauthNotAvailableEmail.as_str(), "The provider gave no e-mail."),
            (ErrorCode::OauthUserAlreadyExists.as_str(), "The e-mail belongs to a user that may not be linked."),
            (detail::MISSING_CODE, "No `code` (and no `error`)."),
            (detail::INVALID_ISSUER, "The `iss` parameter is not the provider's."),
            (detail::INVALID_ID_TOKEN, "The ID token fails a check (signature, audience, nonce, expiry)."),
        ];
        let mut login_responses = json!({
            "502": error_response("The provider refused the code or could not be reached.", &[(detail::TOKEN_EXCHANGE_FAILED, "Token exchange failed.")])
        });
        let mut login_errors = callback_errors.clone();
        login_errors.push((ErrorCode::LoginBadCredentials.as_str(), "User is inactive."));
        login_errors.push((ErrorCode::LoginUserNotVerified.as_str(), "The user is not verified."));
        merge(&mut login_responses, json!({ "400": error_response("Bad Request", &login_errors) }));
        merge(&mut login_responses, login_ok);
        let security = json!([{ backend: [] }]);
        let mut paths = json!({
            format!("/{name}/authorize"): { "get": {
                "tags": ["auth"], "summary": format!("Oauth:{name}.{backend}.Authorize"),
                "operationId": format!("oauth:{name}.{backend}.authorize"),
                "parameters": scopes,
                "responses": { "200": authorize_ok, "400": error_response("Bad Request", &[("OAUTH_INVALID_SCOPES", "A scope is not an RFC 6749 scope token.")]) }
            } },
            format!("/{name}/callback"): { "get": {
                "tags": ["auth"], "summary": format!("Oauth:{name}.{backend}.Callback"),
                "operationId": format!("oauth:{name}.{backend}.callback"),
                "description": "The response varies based on the authentication backend used.",
                "parameters": callback_parameters,
                "responses": login_responses
            } }
        });
        if self.inner.associate_redirect_url.is_some() {
            callback_errors.push(("Bad Request", "The state was issued to another user."));
            merge(
                &mut paths,
                json!({
                    format!("/associate/{name}/authorize"): { "get": {
                        "tags": ["auth"], "summary": format!("Oauth-Associate:{name}.Authorize"),
                        "operationId": format!("oauth-associate:{name}.authorize"),
                        "security": security,
                        "parameters": scopes,
                        "responses": { "200": authorize_ok, "401": { "description": "Missing token or inactive user." } }
                    } },
                    format!("/associate/{name}/callback"): { "get": {
                        "tags": ["auth"], "summary": format!("Oauth-Associate:{name}.Callback"),
                        "operationId": format!("oauth-associate:{name}.callback"),
                        "security": security,
                        "parameters": callback_parameters,
                        "responses": {
                            "200": { "description": "The user, the provider account linked.",
                                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UserRead" } } } },
                            "400": error_response("Bad Request", &callback_errors),
                            "401": { "description": "Missing token or inactive user." },
                            "502": error_response("The provider refused the code or could not be reached.", &[(detail::TOKEN_EXCHANGE_FAILED, "Token exchange failed.")])
                        }
                    } }
                }),
            );
        }
        let components = json!({ "schemas": {
            "OAuth2AuthorizeResponse": {
                "type": "object", "title": "OAuth2AuthorizeResponse",
                "properties": { "authorization_url": { "type": "string", "title": "Authorization Url" } },
                "required": ["authorization_url"]
            },
            "ErrorModel": {
                "type": "object", "title": "ErrorModel",
                "properties": { "detail": { "anyOf": [
                    { "type": "string" },
                    { "type": "object", "additionalProperties": { "type": "string" } }
                ], "title": "Detail" } },
                "required": ["detail"]
            },
            "BearerResponse": {
                "type": "object", "title": "BearerResponse",
                "properties": {
                    "access_token": { "type": "string", "title": "Access Token" },
                    "token_type": { "type": "string", "title": "Token Type" }
                },
                "required": ["access_token", "token_type"]
            }
        } });
        // Our own JSON literals, checked by the tests: only a utoipa upgrade could break them.
        let paths: Paths =
            serde_json::from_value(paths).expect("the OAuth routes' OpenAPI paths are valid utoipa values");
        let components: Components =
            serde_json::from_value(components).expect("the OAuth routes' OpenAPI components are valid utoipa values");
        let api = OpenApiBuilder::new().paths(paths).components(Some(components)).build();
        OpenApiRouter::with_openapi(api).merge(OpenApiRouter::from(self.routes::<H, B, S>()))
    }
}

/// An error answer with fastapi-users' `ErrorModel` and one example per `detail`.
fn error_response(description: &str, details: &[(&str, &str)]) -> Value {
    let examples: serde_json::Map<String, Value> = details
        .iter()
        .map(|(detail, summary)| ((*detail).to_owned(), json!({ "summary": summary, "value": { "detail": detail } })))
        .collect();
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorModel" }, "examples": examples } }
    })
}
