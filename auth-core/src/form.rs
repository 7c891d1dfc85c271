//! The OAuth2 password form (RFC 6749 §4.3.2), as FastAPI's `OAuth2PasswordRequestForm`.

use axum::{
    body::{Body, to_bytes},
    extract::{FromRequest, Request},
    http::header,
};

use crate::{
    error::{AuthError, FieldError},
    security::{Describe, Walk},
};

const JSON: &str = "application/json";

/// The largest form body accepted; a login form is a few hundred bytes.
pub(crate) const MAX_FORM_BYTES: usize = 16 * 1024;

/// A request body auth-core reads, described for OpenAPI: a `#[secured]` handler that takes
/// one documents it (with the 422 it answers) with no code from the app.
#[doc(hidden)]
#[derive(Debug, PartialEq, Eq)]
pub struct FormBody {
    /// The schema's name in `components.schemas`.
    pub name: &'static str,
    /// The media type it is read as.
    pub media_type: &'static str,
    /// Its fields, in order.
    pub fields: &'static [FormField],
}

/// One field of a [`FormBody`]: always a string.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormField {
    /// The field's name.
    pub name: &'static str,
    /// Its title in the schema, as pydantic writes it.
    pub title: &'static str,
    /// Whether the body must have it.
    pub required: bool,
    /// A regular expression it must match.
    pub pattern: Option<&'static str>,
    /// A secret: documented as `format: password`, so Swagger UI hides it as typed.
    pub secret: bool,
    /// Its value when absent.
    pub default: Option<&'static str>,
}

const fn field(name: &'static str, title: &'static str) -> FormField {
    FormField { name, title, required: false, pattern: None, secret: false, default: None }
}

/// The six fields of the password grant, as FastAPI documents `OAuth2PasswordRequestForm`.
const PASSWORD_GRANT_FIELDS: [FormField; 6] = [
    FormField { pattern: Some("^password$"), ..field("grant_type", "Grant Type") },
    FormField { required: true, ..field("username", "Username") },
    FormField { required: true, secret: true, ..field("password", "Password") },
    FormField { default: Some(""), ..field("scope", "Scope") },
    field("client_id", "Client Id"),
    FormField { secret: true, ..field("client_secret", "Client Secret") },
];

static PASSWORD_FORM: FormBody = FormBody {
    name: "OAuth2PasswordRequestForm",
    media_type: "application/x-www-form-urlencoded",
    fields: &PASSWORD_GRANT_FIELDS,
};

/// The same, with `grant_type` required.
const PASSWORD_GRANT_FIELDS_STRICT: [FormField; 6] = {
    let mut fields = PASSWORD_GRANT_FIELDS;
    fields[0].required = true;
    fields
};

static PASSWORD_FORM_STRICT: FormBody = FormBody {
    name: "OAuth2PasswordRequestFormStrict",
    media_type: "application/x-www-form-urlencoded",
    fields: &PASSWORD_GRANT_FIELDS_STRICT,
};

static REFRESH_REQUEST: FormBody = FormBody {
    name: "RefreshTokenRequest",
    media_type: "application/json",
    fields: &[FormField { required: true, secret: true, ..field("refresh_token", "Refresh Token") }],
};

impl Describe for OAuth2PasswordRequestForm {
    fn describe(walk: &mut Walk) {
        walk.form_body(&PASSWORD_FORM);
    }
}

impl Describe for OAuth2PasswordRequestFormStrict {
    fn describe(walk: &mut Walk) {
        walk.form_body(&PASSWORD_FORM_STRICT);
    }
}

impl Describe for RefreshTokenRequest {
    fn describe(walk: &mut Walk) {
        walk.form_body(&REFRESH_REQUEST);
    }
}

/// The fields of an `application/x-www-form-urlencoded` token request.
///
/// - `grant_type` is optional, but if present it must be `password`
///   ([`OAuth2PasswordRequestFormStrict`] requires it);
/// - `username` and `password` are required and non-empty;
/// - `scope` is split on whitespace into [`scopes`](Self::scopes);
/// - `client_id` and `client_secret` are optional.
///
/// A missing or invalid field is answered with 422 and FastAPI's list of field errors; a field
/// given twice is invalid, since which copy counts would otherwise depend on the parser. Bodies
/// over 16 KiB get 413, other media types 415. `Debug` redacts the secrets.
///
/// The scopes are what the client *asks* for. Grant only those the user may have: the
/// "Danger" box of FastAPI's tutorial.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2PasswordRequestForm {
    /// `password` when given.
    pub grant_type: Option<String>,
    /// The username.
    pub username: String,
    /// The password, as typed.
    pub password: String,
    /// The requested scopes, in order.
    pub scopes: Vec<String>,
    /// The client's id, for apps that authenticate clients.
    pub client_id: Option<String>,
    /// The client's secret.
    pub client_secret: Option<String>,
}

/// [`OAuth2PasswordRequestForm`] with `grant_type=password` required, as the OAuth2 spec says.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OAuth2PasswordRequestFormStrict(pub OAuth2PasswordRequestForm);

impl std::ops::Deref for OAuth2PasswordRequestFormStrict {
    type Target = OAuth2PasswordRequestForm;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::fmt::Debug for OAuth2PasswordRequestForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2PasswordRequestForm")
            .field("grant_type", &self.grant_type)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The field names the parser reads, in the documented order.
const FIELDS: [&str; 6] = {
    let mut names = [""; 6];
    let mut i = 0;
    while i < names.len() {
        names[i] = PASSWORD_GRANT_FIELDS[i].name;
        i += 1;
    }
    names
};

impl OAuth2PasswordRequestForm {
    /// Parses an urlencoded body; `strict` requires `grant_type`.
    pub fn parse(body: &[u8], strict: bool) -> Result<Self, AuthError> {
        let mut values: [Option<String>; 6] = Default::default();
        // Whether a field was sent at all, empty or not: `username=&username=x` is a duplicate,
        // or a proxy reading the first copy and we reading the second would disagree.
        let mut seen = [false; 6];
        let mut errors = Vec::new();
        for (key, value) in form_urlencoded::parse(body) {
            let Some(index) = FIELDS.iter().position(|field| *field == key) else { continue };
            if std::mem::replace(&mut seen[index], true) {
                if !errors.iter().any(|e: &FieldError| e.field == FIELDS[index]) {
                    errors.push(FieldError {
                        kind: "duplicate",
                        field: FIELDS[index],
                        message: "Field given more than once".to_owned(),
                    });
                }
                continue;
            }
            // FastAPI treats an empty form value as absent.
            if !value.is_empty() {
                values[index] = Some(value.into_owned());
            }
        }
        let [grant_type, username, password, scope, client_id, client_secret] = values;

        let missing = |field| FieldError { kind: "missing", field, message: "Field required".to_owned() };
        match grant_type.as_deref() {
            Some("password") => {}
            Some(_) => errors.push(FieldError {
                kind: "string_pattern_mismatch",
                field: "grant_type",
                message: "String should match pattern '^password$'".to_owned(),
            }),
            None if strict => errors.push(missing("grant_type")),
            None => {}
        }
        if username.is_none() {
            errors.push(missing("username"));
        }
        if password.is_none() {
            errors.push(missing("password"));
        }
        // One error per field: a duplicate whose copies were empty is not also "missing".
        let mut reported: Vec<&str> = Vec::new();
        errors.retain(|e| {
            let first = !reported.contains(&e.field);
            reported.push(e.field);
            first
        });
        errors.sort_by_key(|e| FIELDS.iter().position(|f| *f == e.field));
        match (username, password) {
            (Some(username), Some(password)) if errors.is_empty() => Ok(Self {
                grant_type,
                username,
                password,
                scopes: scope.as_deref().unwrap_or_default().split_whitespace().map(str::to_owned).collect(),
                client_id,
                client_secret,
            }),
            _ => Err(AuthError::InvalidForm { errors }),
        }
    }

    /// The requested scopes that `allowed` permits, in request order: grant these, not
    /// [`scopes`](Self::scopes) as sent.
    pub fn scopes_within<I, S>(&self, allowed: I) -> Vec<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let allowed: Vec<S> = allowed.into_iter().collect();
        self.scopes.iter().filter(|scope| allowed.iter().any(|a| a.as_ref() == scope.as_str())).cloned().collect()
    }
}

/// The body of a refresh request, `{"refresh_token": "…"}`, as the refresh-token seed posts it.
///
/// Anything else is answered in the library's shape and never echoes the body (it may hold a
/// token): 415 for another media type, 413 over 16 KiB, and 422
/// `{"detail":[{"type":"missing","loc":["body","refresh_token"],…}]}` for a body that is not
/// such an object.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshTokenRequest {
    /// The refresh token presented.
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshTokenRequest(<redacted>)")
    }
}

impl<S: Send + Sync> FromRequest<S> for RefreshTokenRequest {
    type Rejection = AuthError;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        let body = read_body(request, JSON).await?;
        #[derive(serde::Deserialize)]
        struct Raw {
            refresh_token: Option<String>,
        }
        match serde_json::from_slice::<Raw>(&body) {
            Ok(Raw { refresh_token: Some(refresh_token) }) => Ok(Self { refresh_token }),
            Ok(_) => Err(AuthError::InvalidForm {
                errors: vec![FieldError {
                    kind: "missing",
                    field: "refresh_token",
                    message: "Field required".to_owned(),
                }],
            }),
            Err(_) => Err(AuthError::InvalidForm {
                errors: vec![FieldError {
                    kind: "json_invalid",
                    field: "refresh_token",
                    message: "Expected a JSON object with a `refresh_token` string".to_owned(),
                }],
            }),
        }
    }
}

async fn read_form(request: Request<Body>) -> Result<Vec<u8>, AuthError> {
    read_body(request, "application/x-www-form-urlencoded").await
}

/// The body, if its media type is `expected` (or unstated) and it fits in [`MAX_FORM_BYTES`].
async fn read_body(request: Request<Body>, expected: &'static str) -> Result<Vec<u8>, AuthError> {
    match request.headers().get(header::CONTENT_TYPE) {
        Some(content_type) => {
            let mime = content_type.to_str().ok().and_then(|v| v.parse::<mime::Mime>().ok());
            if mime.as_ref().map(mime::Mime::essence_str) != Some(expected) {
                return Err(AuthError::UnsupportedMediaType { expected });
            }
        }
        // A form without a media type is still read as one, as browsers and curl never omit
        // it; JSON endpoints insist, as axum's `Json` does.
        None if expected == JSON => return Err(AuthError::UnsupportedMediaType { expected }),
        None => {}
    }
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_FORM_BYTES as u64) {
        return Err(AuthError::PayloadTooLarge);
    }
    let bytes = to_bytes(request.into_body(), MAX_FORM_BYTES).await.map_err(|_| AuthError::PayloadTooLarge)?;
    Ok(bytes.to_vec())
}

impl<S: Send + Sync> FromRequest<S> for OAuth2PasswordRequestForm {
    type Rejection = AuthError;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        Self::parse(&read_form(request).await?, false)
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuth2PasswordRequestFormStrict {
    type Rejection = AuthError;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        OAuth2PasswordRequestForm::parse(&read_form(request).await?, true).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(error: AuthError) -> Vec<(&'static str, &'static str)> {
        match error {
            AuthError::InvalidForm { errors } => errors.iter().map(|e| (e.kind, e.field)).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parses_the_tutorial_form() {
        let form = OAuth2PasswordRequestForm::parse(b"username=johndoe&password=secret&scope=me+items", false).unwrap();
        assert_eq!(form.username, "johndoe");
        assert_eq!(form.password, "secret");
        assert_eq!(form.scopes, ["me", "items"]);
        assert_eq!(form.grant_type, None);
        assert!(!format!("{form:?}").contains("\"secret\""), "{form:?}");
        assert_eq!(form.scopes_within(["items"]), ["items"]);
    }

    #[test]
    fn names_every_missing_or_invalid_field() {
        assert_eq!(
            fields(OAuth2PasswordRequestForm::parse(b"", false).unwrap_err()),
            [("missing", "username"), ("missing", "password")]
        );
        assert_eq!(
            fields(OAuth2PasswordRequestForm::parse(b"username=a&password=", true).unwrap_err()),
            [("missing", "grant_type"), ("missing", "password")]
        );
        assert_eq!(
            fields(
                OAuth2PasswordRequestForm::parse(b"grant_type=client_credentials&username=a&password=b", false)
                    .unwrap_err()
            ),
            [("string_pattern_mismatch", "grant_type")]
        );
        assert_eq!(
            fields(OAuth2PasswordRequestForm::parse(b"username=a&username=b&password=c", false).unwrap_err()),
            [("duplicate", "username")]
        );
        assert_eq!(
            fields(OAuth2PasswordRequestForm::parse(b"username=&username=b&password=c", false).unwrap_err()),
            [("duplicate", "username")]
        );
    }

    #[test]
    fn strict_accepts_grant_type_password() {
        let form =
            OAuth2PasswordRequestForm::parse(b"grant_type=password&username=a&password=b&client_id=c", true).unwrap();
        assert_eq!(form.grant_type.as_deref(), Some("password"));
        assert_eq!(form.client_id.as_deref(), Some("c"));
    }
}
