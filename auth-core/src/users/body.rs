//! JSON request bodies of the users routes, read as FastAPI reads a pydantic model: the same
//! 422 answers (`missing`, `string_type`, `bool_type`, `json_invalid`, email `value_error`),
//! and never a 500 or a panic, whatever arrives.

use axum::{
    body::{Body, to_bytes},
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{
    email::Email,
    error::{UsersError, ValidationError},
    model::{BASE_FIELDS, UserCreate, UserUpdate},
};

/// The largest body the users routes read. A user is a few hundred bytes; the room left is for
/// an app's own fields.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body as FastAPI sees it: parsed as JSON when its `Content-Type` is
/// `application/json` or `application/*+json` (FastAPI's strict content type, its default), and
/// otherwise not an object. A body over [`MAX_BODY_BYTES`] is 413, invalid JSON 422
/// `json_invalid`.
#[derive(Debug, Clone, Default)]
pub(crate) enum JsonObject {
    /// No body at all.
    #[default]
    Absent,
    /// A body that is not a JSON object: an array, a string, a form, plain text.
    NotObject,
    /// A JSON object.
    Object(Map<String, Value>),
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = UsersError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request.headers().get(header::CONTENT_TYPE).is_some_and(|value| {
            value.to_str().ok().and_then(|v| v.parse::<mime::Mime>().ok()).is_some_and(|mime| {
                mime.type_() == mime::APPLICATION
                    && (mime.subtype() == mime::JSON || mime.suffix().is_some_and(|s| s == mime::JSON))
            })
        });
        // Reading fails on the limit, or on a client that went away (which reads no answer).
        let bytes =
            to_bytes(Body::new(request.into_body()), MAX_BODY_BYTES).await.map_err(|_| UsersError::PayloadTooLarge)?;
        if bytes.is_empty() {
            return Ok(Self::Absent);
        }
        if !is_json {
            return Ok(Self::NotObject);
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self::Object(map)),
            Ok(_) => Ok(Self::NotObject),
            Err(error) => Err(UsersError::Validation(vec![ValidationError {
                kind: "json_invalid",
                loc: vec!["body".into(), error_position(&bytes, &error).into()],
                msg: "JSON decode error".to_owned(),
                ctx: Some(json!({ "error": json_error_reason(&error) })),
            }])),
        }
    }
}

fn not_an_object() -> UsersError {
    UsersError::Validation(vec![ValidationError::body(
        "model_attributes_type",
        "Input should be a valid dictionary or object to extract fields from",
    )])
}

/// Where the JSON went wrong, as Python's `JSONDecodeError.pos` says it: a character index, the
/// end of the document when it ended too early.
fn error_position(bytes: &[u8], error: &serde_json::Error) -> usize {
    let offset = match error.classify() {
        serde_json::error::Category::Eof => bytes.len(),
        _ => byte_offset(bytes, error.line(), error.column()).min(bytes.len()),
    };
    String::from_utf8_lossy(&bytes[..offset]).chars().count()
}

/// The byte offset serde_json's line and column point at.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, text_line) in bytes.split(|b| *b == b'\n').enumerate() {
        if index + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += text_line.len() + 1;
    }
    bytes.len()
}

fn json_error_reason(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Eof => "Expecting value",
        _ => "Invalid JSON",
    }
}

/// Reads the fields of a body one by one, collecting every error before answering.
pub(crate) struct Fields {
    map: Map<String, Value>,
    errors: Vec<ValidationError>,
}

impl Fields {
    /// The fields of a body of embedded fields (FastAPI's `Body(..., embed=True)`): a missing
    /// body, or one that is not an object, is read as an empty object, so each field is
    /// reported missing, as FastAPI reports them.
    pub(crate) fn embedded(body: JsonObject) -> Self {
        let map = match body {
            JsonObject::Object(map) => map,
            JsonObject::Absent | JsonObject::NotObject => Map::new(),
        };
        Self { map, errors: Vec::new() }
    }

    /// The fields of a body that is one model (a pydantic model parameter): a missing body is
    /// one `missing` error, one that is not an object one `model_attributes_type` error.
    pub(crate) fn model(body: JsonObject) -> Result<Self, UsersError> {
        match body {
            JsonObject::Object(map) => Ok(Self { map, errors: Vec::new() }),
            JsonObject::Absent => Err(UsersError::Validation(vec![ValidationError::body("missing", "Field required")])),
            JsonObject::NotObject => Err(not_an_object()),
        }
    }

    fn missing(&mut self, name: &str) {
        self.errors.push(ValidationError::field("missing", name, "Field required"));
    }

    /// A required string.
    pub(crate) fn string(&mut self, name: &str) -> Option<String> {
        match self.map.remove(name) {
            None => {
                self.missing(name);
                None
            }
            Some(value) => self.as_string(name, value),
        }
    }

    /// An optional string; `null` is the same as absent.
    pub(crate) fn optional_string(&mut self, name: &str) -> Option<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(value) => self.as_string(name, value),
        }
    }

    fn as_string(&mut self, name: &str, value: Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s),
            _ => {
                self.errors.push(ValidationError::field("string_type", name, "Input should be a valid string"));
                None
            }
        }
    }

    /// A required email address.
    pub(crate) fn email(&mut self, name: &str) -> Option<Email> {
        let value = self.string(name)?;
        self.parse_email(name, &value)
    }

    /// An optional email address; `null` is the same as absent.
    pub(crate) fn optional_email(&mut self, name: &str) -> Option<Email> {
        let value = self.optional_string(name)?;
        self.parse_email(name, &value)
    }

    fn parse_email(&mut self, name: &str, value: &str) -> Option<Email> {
        match Email::parse(value) {
            Ok(email) => Some(email),
            Err(invalid) => {
                self.errors.push(ValidationError {
                    kind: "value_error",
                    loc: vec!["body".into(), name.into()],
                    msg: format!("value is not a valid email address: {}", invalid.reason),
                    ctx: Some(json!({ "reason": invalid.reason })),
                });
                None
            }
        }
    }

    /// An optional boolean, read as pydantic reads one in lax mode: `true`/`false`, `0`/`1`, and
    /// the strings `true`, `false`, `yes`, `no`, `on`, `off`, `t`, `f`, `y`, `n`, `1`, `0`;
    /// `null` is the same as absent.
    pub(crate) fn optional_bool(&mut self, name: &str) -> Option<bool> {
        let parsed = match self.map.remove(name)? {
            Value::Null => return None,
            Value::Bool(b) => Ok(b),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
            Value::Number(_) => Err("bool_parsing"),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "0" | "off" | "f" | "false" | "n" | "no" => Ok(false),
                "1" | "on" | "t" | "true" | "y" | "yes" => Ok(true),
                _ => Err("bool_parsing"),
            },
            _ => Err("bool_type"),
        };
        match parsed {
            Ok(b) => Some(b),
            Err(kind) => {
                let msg = if kind == "bool_type" {
                    "Input should be a valid boolean"
                } else {
                    "Input should be a valid boolean, unable to interpret input"
                };
                self.errors.push(ValidationError::field(kind, name, msg));
                None
            }
        }
    }

    /// The keys not read so far, without the base model's names (an `id` in a body is ignored,
    /// as fastapi-users ignores it).
    pub(crate) fn rest(&mut self) -> Map<String, Value> {
        let mut rest = std::mem::take(&mut self.map);
        rest.retain(|key, _| !BASE_FIELDS.contains(&key.as_str()));
        rest
    }

    /// The value read, or every error found.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, UsersError> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(UsersError::Validation(self.errors)),
        }
    }

    /// Records errors found elsewhere (the app's fields).
    pub(crate) fn extend(&mut self, errors: Vec<ValidationError>) {
        self.errors.extend(errors);
    }
}

/// Deserialises the app's fields from a JSON object, with pydantic-style errors naming the
/// field.
pub(crate) fn app_fields<F: DeserializeOwned>(object: Map<String, Value>) -> Result<F, Vec<ValidationError>> {
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
        let path: Vec<Value> = error
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Map { key } => Some(Value::from(key.as_str())),
                serde_path_to_error::Segment::Seq { index } => Some(Value::from(*index)),
                _ => None,
            })
            .collect();
        vec![field_error(path, &error.into_inner().to_string())]
    })
}

/// One serde message as a pydantic error: "missing field `x`" is `missing` at `x`; a type
/// mismatch is `<type>_type`. The message never quotes the input.
fn field_error(mut path: Vec<Value>, message: &str) -> ValidationError {
    let mut loc = vec![Value::from("body")];
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        loc.append(&mut path);
        loc.push(field.into());
        return ValidationError { kind: "missing", loc, msg: "Field required".to_owned(), ctx: None };
    }
    loc.append(&mut path);
    let expected = message.rsplit_once("expected ").map(|(_, expected)| expected).unwrap_or_default();
    let (kind, msg) = if message.starts_with("invalid type") {
        if expected.contains("string") || expected.contains("char") {
            ("string_type", "Input should be a valid string")
        } else if expected.contains("bool") {
            ("bool_type", "Input should be a valid boolean")
        } else if expected.contains("integer") || expected.starts_with('i') || expected.starts_with('u') {
            ("int_type", "Input should be a valid integer")
        } else if expected.contains("f32") || expected.contains("f64") || expected.contains("float") {
            ("float_type", "Input should be a valid number")
        } else if expected.contains("sequence") {
            ("list_type", "Input should be a valid list")
        } else {
            ("model_type", "Input should be a valid dictionary or instance")
        }
    } else {
        ("value_error", "Value error, invalid value")
    };
    ValidationError { kind, loc, msg: msg.to_owned(), ctx: None }
}

/// `POST /register`'s body (fastapi-users' `UserCreate` plus the app's fields).
pub(crate) fn user_create<F: DeserializeOwned>(body: JsonObject) -> Result<UserCreate<F>, UsersError> {
    let mut fields = Fields::model(body)?;
    let email = fields.email("email");
    let password = fields.string("password");
    let is_active = fields.optional_bool("is_active");
    let is_superuser = fields.optional_bool("is_superuser");
    let is_verified = fields.optional_bool("is_verified");
    let rest = fields.rest();
    let app = match app_fields::<F>(rest) {
        Ok(app) => Some(app),
        Err(errors) => {
            fields.extend(errors);
            None
        }
    };
    let create = match (email, password, app) {
        (Some(email), Some(password), Some(fields)) => {
            Some(UserCreate { email, password, is_active, is_superuser, is_verified, fields })
        }
        _ => None,
    };
    fields.finish(create)
}

/// `PATCH /users/…`'s body (fastapi-users' `UserUpdate`; the app's fields as a patch).
pub(crate) fn user_update(body: JsonObject) -> Result<UserUpdate, UsersError> {
    let mut fields = Fields::model(body)?;
    let password = fields.optional_string("password");
    let email = fields.optional_email("email");
    let is_active = fields.optional_bool("is_active");
    let is_superuser = fields.optional_bool("is_superuser");
    let is_verified = fields.optional_bool("is_verified");
    let rest = fields.rest();
    fields.finish(Some(UserUpdate { password, email, is_active, is_superuser, is_verified, fields: rest }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::NoFields;

    fn body(value: Value) -> JsonObject {
        value.as_object().cloned().map_or(JsonObject::NotObject, JsonObject::Object)
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Profile {
        full_name: String,
        age: Option<u8>,
    }

    #[test]
    fn create_errors_name_every_field() {
        let Err(UsersError::Validation(errors)) = user_create::<NoFields>(body(json!({ "password": 3 }))) else {
            panic!()
        };
        let kinds: Vec<_> = errors.iter().map(|e| (e.kind, e.loc[1].as_str().unwrap())).collect();
        assert_eq!(kinds, [("missing", "email"), ("string_type", "password")]);

        let Err(UsersError::Validation(errors)) =
            user_create::<Profile>(body(json!({ "email": "a@b.co", "password": "x" })))
        else {
            panic!()
        };
        assert_eq!(errors[0].kind, "missing");
        assert_eq!(errors[0].loc, [json!("body"), json!("full_name")]);

        let Err(UsersError::Validation(errors)) =
            user_create::<Profile>(body(json!({ "email": "a@b.co", "password": "x", "full_name": 1, "age": 300 })))
        else {
            panic!()
        };
        // serde reports the first failure, in key order: `age` (over `u8`).
        assert_eq!(errors[0].kind, "value_error");
        assert_eq!(errors[0].loc, [json!("body"), json!("age")]);
        assert!(!serde_json::to_string(&errors).unwrap().contains("300"), "the input is never echoed");

        let Err(UsersError::Validation(errors)) =
            user_create::<Profile>(body(json!({ "email": "a@b.co", "password": "x", "full_name": 1 })))
        else {
            panic!()
        };
        assert_eq!(errors[0].kind, "string_type");
        assert_eq!(errors[0].loc, [json!("body"), json!("full_name")]);
    }

    #[test]
    fn booleans_read_as_pydantic() {
        let update = user_update(body(json!({ "is_active": "yes", "is_superuser": 0, "is_verified": null }))).unwrap();
        assert_eq!((update.is_active, update.is_superuser, update.is_verified), (Some(true), Some(false), None));
        let Err(UsersError::Validation(errors)) = user_update(body(json!({ "is_active": [] }))) else { panic!() };
        assert_eq!(errors[0].kind, "bool_type");
        let Err(UsersError::Validation(errors)) = user_update(body(json!({ "is_active": "maybe" }))) else { panic!() };
        assert_eq!(errors[0].kind, "bool_parsing");
    }

    #[test]
    fn offsets_follow_python() {
        assert_eq!(byte_offset(b"{\"a\": }", 1, 7), 6);
        assert_eq!(byte_offset(b"{\n  x", 2, 3), 4);
    }
}
