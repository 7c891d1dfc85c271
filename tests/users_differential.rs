//! The differential test: a real fastapi-users 15 app from PyPI (`tests/users/fastapi_app.py`:
//! its full example on SQLAlchemy + aiosqlite, with the bearer JWT and cookie backends) and
//! `examples/users` get the same requests, in the same order; their statuses, bodies and
//! cookies are compared. Every difference is either fixed, or expected by the step and
//! justified in the step's comment; an expected difference that disappears fails the test too,
//! so no justification outlives its cause.
//!
//! What is compared, after normalisation:
//! - the status;
//! - the JSON body, with ids, tokens and addresses of the run replaced by their names;
//! - for 422, the list of `(type, loc)` of the errors only. The `msg` texts for email errors
//!   are email-validator's, which auth-core follows for common cases but words differently for
//!   some (it names fewer Unicode characters); pydantic echoes the offending `input`, auth-core
//!   never does (it may be a password); `ctx` of a JSON syntax error is Python's json wording.
//! - `Set-Cookie`: name and attributes, compared case-insensitively as a set (Starlette writes
//!   `SameSite=lax`, auth-core `SameSite=Lax`; RFC 6265 compares them case-insensitively). The
//!   token values differ by nature.
//!
//! Not compared, by design: `WWW-Authenticate` on 401 (auth-core sends the backend's challenge,
//! which RFC 9110 §11.6.1 requires of a 401; fastapi-users sends none), and `Cache-Control:
//! no-store` on login answers (RFC 6749 §5.1; fastapi-users sends none). Neither changes what a
//! frontend sees.
//!
//! Tokens: fastapi-users' hooks write them to a file; examples/users mails them, through a real
//! SMTP server (aiosmtpd), and the test reads them out of the mail. Python comes from the users
//! tests' venv (`tests/users/python.sh`).

#[path = "../examples/users/app.rs"]
mod app;

use std::{
    collections::{BTreeSet, HashMap},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use auth_core::users::{ClientIpSource, Email};
use auth_tests::{ChildGuard, ScratchDir, SmtpSink, free_port, users_python};
use reqwest::{Client, Method};
use serde_json::{Value, json};

const PUBLIC_URL: &str = "https://app.example.com";
const ADMIN: &str = "admin@camelot.bt";
const ADMIN_PASSWORD: &str = "admin password";

/// Where the tokens of one side come from.
enum Tokens {
    /// fastapi-users' hooks append `{"kind", "email", "token"}` lines here.
    File(std::path::PathBuf),
    /// examples/users mails them.
    Mail(SmtpSink),
}

/// One of the two apps.
struct Side {
    name: &'static str,
    base: String,
    client: Client,
    tokens: Tokens,
    /// Values the steps saved (ids, credentials, tokens), by name.
    vars: HashMap<String, String>,
    _server: Option<ChildGuard>,
}

/// An answer, normalised for comparison.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    body: Value,
    cookie: Option<BTreeSet<String>>,
}

impl Side {
    /// Replaces `{name}` by the side's saved values.
    fn fill(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (name, value) in &self.vars {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    async fn send(&self, step: &Step) -> (u16, Value, Option<String>) {
        let url = format!("{}{}", self.base, self.fill(step.path));
        let mut request = self.client.request(step.method.clone(), url);
        if let Some(name) = &step.auth {
            let credential = self.vars.get(*name).unwrap_or_else(|| panic!("{}: no credential {name}", step.name));
            request = if credential.contains('=') {
                request.header("cookie", credential)
            } else {
                request.bearer_auth(credential)
            };
        }
        request = match &step.body {
            Body::None => request,
            Body::Json(value) => request.header("content-type", "application/json").body(self.fill(&value.to_string())),
            Body::Form(pairs) => {
                let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), self.fill(v))).collect();
                request.form(&pairs)
            }
            Body::Raw(content_type, body) => request.header("content-type", *content_type).body(self.fill(body)),
        };
        let response = request.send().await.unwrap_or_else(|e| panic!("{} on {}: {e}", step.name, self.name));
        let status = response.status().as_u16();
        let set_cookie = response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.bytes().await.unwrap();
        let raw: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, raw, set_cookie)
    }

    /// Ids, tokens and the run's addresses by name; 422 bodies as their `(type, loc)` list.
    fn normalise(&self, status: u16, body: &Value) -> Value {
        if status == 422 {
            let errors = body["detail"].as_array().cloned().unwrap_or_default();
            return errors.iter().map(|e| json!([e["type"], e["loc"]])).collect();
        }
        let mut text = body.to_string();
        let mut vars: Vec<_> = self.vars.iter().filter(|(_, value)| value.len() >= 8).collect();
        vars.sort_by_key(|(_, value)| std::cmp::Reverse(value.len()));
        for (name, value) in vars {
            text = text.replace(value.as_str(), &format!("<{name}>"));
        }
        let mut value: Value = serde_json::from_str(&text).unwrap();
        if let Some(token) = value.get_mut("access_token") {
            *token = json!("<access token>");
        }
        value
    }

    /// The last `kind` token (`verify` or `reset`) made for `email`, waiting for it.
    async fn token(&self, kind: &str, email: &str, seen: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found: Vec<String> = match &self.tokens {
                Tokens::File(path) => std::fs::read_to_string(path)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                    .filter(|entry| entry["kind"] == kind && entry["email"] == email)
                    .map(|entry| entry["token"].as_str().unwrap().to_owned())
                    .collect(),
                Tokens::Mail(sink) => {
                    let page = if kind == "verify" { "verify" } else { "reset-password" };
                    sink.messages()
                        .iter()
                        .filter(|mail| mail.contains(&format!("To: {email}")))
                        .filter_map(|mail| link_token(mail, page))
                        .collect()
                }
            };
            if found.len() > seen {
                return found.last().unwrap().clone();
            }
            assert!(Instant::now() < deadline, "{}: no new {kind} token for {email}", self.name);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The token of the `{PUBLIC_URL}/{page}?token=` link in a raw mail (quoted-printable or not).
fn link_token(mail: &str, page: &str) -> Option<String> {
    let unfolded = mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let prefix = format!("{PUBLIC_URL}/{page}?token=");
    let start = unfolded.find(&prefix)? + prefix.len();
    Some(unfolded[start..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next()?.to_owned())
}

/// A `Set-Cookie` header as the set of its lower-cased parts, the value left out.
///
/// The cookie auth-core clears at logout also carries `Expires` in 1970, for clients older than
/// `Max-Age`; fastapi-users sends `Max-Age=0` alone. Where `Max-Age` is present it wins (RFC 6265
/// §5.3 step 3), so both clear the cookie alike: an `Expires` beside `Max-Age=0` is left out.
fn cookie_attributes(header: &str) -> BTreeSet<String> {
    let mut parts: BTreeSet<String> = header
        .split(';')
        .enumerate()
        .map(|(i, part)| {
            let part = part.trim().to_ascii_lowercase();
            if i == 0 { part.split('=').next().unwrap().to_owned() + "=<value>" } else { part }
        })
        .collect();
    if parts.contains("max-age=0") {
        parts.retain(|part| !part.starts_with("expires="));
    }
    parts
}

enum Body {
    None,
    Json(Value),
    Form(Vec<(&'static str, &'static str)>),
    Raw(&'static str, &'static str),
}

/// What to keep from an answer, per side.
enum Save {
    Nothing,
    /// `body.access_token` as a bearer credential.
    Bearer(&'static str),
    /// The `Set-Cookie` pair as a cookie credential.
    Cookie(&'static str),
    /// `body.id`.
    Id(&'static str),
}

/// How the two answers must relate.
enum Expect {
    Same,
    /// They differ, for the stated reason; our status is this.
    Differs {
        ours: u16,
        why: &'static str,
    },
}

struct Step {
    name: &'static str,
    method: Method,
    path: &'static str,
    auth: Option<&'static str>,
    body: Body,
    save: Save,
    expect: Expect,
}

fn step(name: &'static str, method: Method, path: &'static str) -> Step {
    Step { name, method, path, auth: None, body: Body::None, save: Save::Nothing, expect: Expect::Same }
}

impl Step {
    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }
    fn form(mut self, pairs: Vec<(&'static str, &'static str)>) -> Self {
        self.body = Body::Form(pairs);
        self
    }
    fn raw(mut self, content_type: &'static str, body: &'static str) -> Self {
        self.body = Body::Raw(content_type, body);
        self
    }
    fn auth(mut self, name: &'static str) -> Self {
        self.auth = Some(name);
        self
    }
    fn save(mut self, save: Save) -> Self {
        self.save = save;
        self
    }
    fn differs(mut self, ours: u16, why: &'static str) -> Self {
        self.expect = Expect::Differs { ours, why };
        self
    }
}

/// One action of the scenario.
enum Action {
    Request(Step),
    /// Read the next `kind` token for `email` into a variable.
    Token {
        kind: &'static str,
        email: &'static str,
        name: &'static str,
    },
}

fn login(backend_path: &'static str, username: &'static str, password: &'static str) -> Step {
    step("login", Method::POST, backend_path).form(vec![("username", username), ("password", password)])
}

/// The scenario: every route, the usual and the odd requests, in an order that leaves each
/// side's database in the same state.
fn scenario() -> Vec<Action> {
    use Action::{Request as R, Token};
    vec![
        // Registration.
        R(step("register", Method::POST, "/auth/register").json(json!({ "email": "King.Arthur@Camelot.BT", "password": "guinevere", "full_name": "Arthur" })).save(Save::Id("arthur_id"))),
        R(step("register a duplicate", Method::POST, "/auth/register").json(json!({ "email": "King.Arthur@Camelot.BT", "password": "guinevere" }))),
        R(step("register a duplicate in another case", Method::POST, "/auth/register").json(json!({ "email": "KING.ARTHUR@camelot.bt", "password": "guinevere" }))),
        R(step("register a full-width confusable", Method::POST, "/auth/register")
            .json(json!({ "email": "ｋing.arthur@camelot.bt", "password": "guinevere" }))
            // fastapi-users makes a second account for `ｋing.arthur@` (full-width ｋ), which
            // looks the same as `king.arthur@`. auth-core keys addresses by NFKC and case, so
            // compatibility look-alikes name the existing account: 400, as for any duplicate.
            .differs(400, "NFKC-equal addresses are one account")),
        R(step("register a short password", Method::POST, "/auth/register").json(json!({ "email": "bors@camelot.bt", "password": "short" }))),
        R(step("register a password with the email", Method::POST, "/auth/register").json(json!({ "email": "bors@camelot.bt", "password": "I am bors@camelot.bt" }))),
        R(step("register with flags and an id", Method::POST, "/auth/register")
            .json(json!({ "email": "bors@camelot.bt", "password": "bors password", "is_superuser": true, "is_verified": true, "is_active": false, "id": "00000000-0000-0000-0000-000000000000", "unknown": 1 }))
            .save(Save::Id("bors_id"))),
        R(step("register without email", Method::POST, "/auth/register").json(json!({ "password": 12 }))),
        R(step("register an invalid email", Method::POST, "/auth/register").json(json!({ "email": "not an email", "password": "guinevere" }))),
        R(step("register with a wrong field type", Method::POST, "/auth/register").json(json!({ "email": "x@camelot.bt", "password": "guinevere", "full_name": 5, "is_active": "maybe" }))),
        R(step("register with lax booleans", Method::POST, "/auth/register").json(json!({ "email": "kay@camelot.bt", "password": "kay password", "is_active": "yes", "is_verified": 0 })).save(Save::Id("kay_id"))),
        R(step("register an array", Method::POST, "/auth/register").raw("application/json", "[]")),
        R(step("register broken JSON", Method::POST, "/auth/register").raw("application/json", "{\"email\": ")),
        R(step("register plain text", Method::POST, "/auth/register").raw("text/plain", "{\"email\": \"y@camelot.bt\", \"password\": \"guinevere\"}")),
        R(step("register no body", Method::POST, "/auth/register")),
        R(step("register an email with a zero-width space", Method::POST, "/auth/register").json(json!({ "email": "ad\u{200b}min@camelot.bt", "password": "guinevere" }))),
        R(step("register an email to localhost", Method::POST, "/auth/register").json(json!({ "email": "a@localhost", "password": "guinevere" }))),
        R(step("register an emoji domain", Method::POST, "/auth/register").json(json!({ "email": "a@😀.com", "password": "guinevere" }))),
        R(step("register an IDNA domain", Method::POST, "/auth/register").json(json!({ "email": "Gawain@BÜCHER.de", "password": "gawain password" })).save(Save::Id("gawain_id"))),
        // Login, both backends.
        R(login("/auth/jwt/login", "king.arthur@camelot.bt", "guinevere").save(Save::Bearer("arthur_jwt"))),
        R(login("/auth/jwt/login", "KING.ARTHUR@CAMELOT.BT", "guinevere")),
        R(login("/auth/jwt/login", "king.arthur@camelot.bt", "wrong password")),
        R(login("/auth/jwt/login", "nobody@camelot.bt", "guinevere")),
        R(login("/auth/jwt/login", "not an email", "guinevere")),
        R(step("login without password", Method::POST, "/auth/jwt/login").form(vec![("username", "king.arthur@camelot.bt")])),
        R(step("login with a bad grant type", Method::POST, "/auth/jwt/login").form(vec![("username", "king.arthur@camelot.bt"), ("password", "guinevere"), ("grant_type", "implicit")])),
        R(login("/auth/cookie/login", "king.arthur@camelot.bt", "guinevere").save(Save::Cookie("arthur_cookie"))),
        R(login("/auth/cookie/login", "king.arthur@camelot.bt", "wrong password")),
        R(login("/auth/jwt/login", "bors@camelot.bt", "bors password").save(Save::Bearer("bors_jwt"))),
        R(login("/auth/jwt/login", ADMIN, ADMIN_PASSWORD).save(Save::Bearer("admin"))),
        // The current user.
        R(step("me, no token", Method::GET, "/users/me")),
        R(step("me, garbage token", Method::GET, "/users/me").auth("garbage")),
        R(step("me, JWT", Method::GET, "/users/me").auth("arthur_jwt")),
        R(step("me, cookie", Method::GET, "/users/me").auth("arthur_cookie")),
        R(step("authenticated route", Method::GET, "/authenticated-route").auth("arthur_jwt")),
        R(step("authenticated route, cookie", Method::GET, "/authenticated-route").auth("arthur_cookie")),
        R(step("authenticated route, no token", Method::GET, "/authenticated-route")),
        R(step("patch me: flags ignored, own field set", Method::PATCH, "/users/me").auth("arthur_jwt").json(json!({ "is_superuser": true, "is_active": false, "is_verified": true, "full_name": "King Arthur" }))),
        R(step("patch me: null clears own field", Method::PATCH, "/users/me").auth("arthur_jwt").json(json!({ "full_name": null, "password": null }))),
        R(step("patch me: taken email", Method::PATCH, "/users/me").auth("arthur_jwt").json(json!({ "email": "bors@camelot.bt" }))),
        R(step("patch me: taken email in another case", Method::PATCH, "/users/me").auth("arthur_jwt").json(json!({ "email": "BORS@camelot.bt" }))),
        R(step("patch me: own email in another case", Method::PATCH, "/users/me").auth("arthur_jwt")
            .json(json!({ "email": "king.arthur@camelot.bt" }))
            // fastapi-users looks the new address up case-insensitively, finds the user's own
            // account, and refuses it as taken. It is the same account: auth-core accepts the
            // new spelling (and keeps `is_verified`, the mailbox being the same).
            .differs(200, "one's own address in another case is not taken")),
        R(step("patch me: back to the first spelling", Method::PATCH, "/users/me").auth("arthur_jwt")
            .json(json!({ "email": "King.Arthur@camelot.bt" }))
            // The previous step made no change on fastapi-users' side, so this one is a no-op
            // there and a change back here: both answer the same user.
            ),
        R(step("patch me: email null", Method::PATCH, "/users/me").auth("arthur_jwt")
            .json(json!({ "email": null }))
            // fastapi-users writes NULL into the NOT NULL email column: 500. auth-core reads
            // `null` as "not given", as for every optional field.
            .differs(200, "fastapi-users answers 500 (NOT NULL constraint)")),
        R(step("patch me: short password", Method::PATCH, "/users/me").auth("arthur_jwt").json(json!({ "password": "short" }))),
        R(step("patch me: wrong types", Method::PATCH, "/users/me").auth("arthur_jwt").json(json!({ "email": 3, "is_active": "perhaps" }))),
        R(step("patch me: not an object", Method::PATCH, "/users/me").auth("arthur_jwt").raw("application/json", "[1]")),
        R(step("patch me: no token", Method::PATCH, "/users/me").json(json!({ "full_name": "x" }))),
        // Superuser routes.
        R(step("user by id, not a superuser", Method::GET, "/users/{arthur_id}").auth("bors_jwt")),
        R(step("user by id, unknown, not a superuser", Method::GET, "/users/00000000-0000-0000-0000-000000000000").auth("bors_jwt")),
        R(step("user by id, no token", Method::GET, "/users/{arthur_id}")),
        R(step("patch user, not a superuser", Method::PATCH, "/users/{arthur_id}").auth("bors_jwt").json(json!({ "is_superuser": true }))),
        R(step("delete user, not a superuser", Method::DELETE, "/users/{arthur_id}").auth("bors_jwt")),
        R(step("user by id", Method::GET, "/users/{arthur_id}").auth("admin")),
        R(step("user by id, unknown", Method::GET, "/users/00000000-0000-0000-0000-000000000000").auth("admin")),
        R(step("user by id, not a UUID", Method::GET, "/users/not-a-uuid").auth("admin")),
        R(step("patch user: flags and own field", Method::PATCH, "/users/{kay_id}").auth("admin").json(json!({ "is_superuser": true, "is_verified": true, "full_name": "Sir Kay" }))),
        R(step("patch user: taken email", Method::PATCH, "/users/{kay_id}").auth("admin").json(json!({ "email": "bors@camelot.bt" }))),
        R(step("patch user: short password", Method::PATCH, "/users/{kay_id}").auth("admin").json(json!({ "password": "x" }))),
        R(step("patch user: new email and verified", Method::PATCH, "/users/{kay_id}").auth("admin").json(json!({ "email": "sir.kay@camelot.bt", "is_verified": true }))),
        R(step("patch user: is_active null", Method::PATCH, "/users/{kay_id}").auth("admin")
            .json(json!({ "is_active": null }))
            // fastapi-users writes NULL into the NOT NULL is_active column: 500. auth-core reads
            // `null` as "not given".
            .differs(200, "fastapi-users answers 500 (NOT NULL constraint)")),
        R(step("patch user: deactivate", Method::PATCH, "/users/{kay_id}").auth("admin").json(json!({ "is_active": false }))),
        R(login("/auth/jwt/login", "sir.kay@camelot.bt", "kay password")),
        R(step("patch user: unknown", Method::PATCH, "/users/00000000-0000-0000-0000-000000000000").auth("admin").json(json!({}))),
        // Verify.
        R(step("request verify token", Method::POST, "/auth/request-verify-token").json(json!({ "email": "king.arthur@camelot.bt" }))),
        Token { kind: "verify", email: "King.Arthur@camelot.bt", name: "verify_arthur" },
        R(step("request verify token, unknown", Method::POST, "/auth/request-verify-token").json(json!({ "email": "nobody@camelot.bt" }))),
        R(step("request verify token, invalid email", Method::POST, "/auth/request-verify-token").json(json!({ "email": "nope" }))),
        R(step("request verify token, no body", Method::POST, "/auth/request-verify-token")),
        R(step("verify, garbage", Method::POST, "/auth/verify").json(json!({ "token": "garbage" }))),
        R(step("verify, wrong type", Method::POST, "/auth/verify").json(json!({ "token": 1 }))),
        R(step("verify", Method::POST, "/auth/verify").json(json!({ "token": "{verify_arthur}" }))),
        R(step("verify again", Method::POST, "/auth/verify").json(json!({ "token": "{verify_arthur}" }))),
        R(step("request verify token, verified", Method::POST, "/auth/request-verify-token").json(json!({ "email": "king.arthur@camelot.bt" }))),
        // Forgot and reset.
        R(step("forgot password", Method::POST, "/auth/forgot-password").json(json!({ "email": "KING.arthur@camelot.bt" }))),
        Token { kind: "reset", email: "King.Arthur@camelot.bt", name: "reset_arthur" },
        R(step("forgot password, unknown", Method::POST, "/auth/forgot-password").json(json!({ "email": "nobody@camelot.bt" }))),
        R(step("forgot password, inactive", Method::POST, "/auth/forgot-password").json(json!({ "email": "sir.kay@camelot.bt" }))),
        R(step("forgot password, array", Method::POST, "/auth/forgot-password").raw("application/json", "[]")),
        R(step("verify with a reset token", Method::POST, "/auth/verify").json(json!({ "token": "{reset_arthur}" }))),
        R(step("reset, short password", Method::POST, "/auth/reset-password").json(json!({ "token": "{reset_arthur}", "password": "short" }))),
        R(step("reset", Method::POST, "/auth/reset-password").json(json!({ "token": "{reset_arthur}", "password": "excalibur" }))),
        R(step("me, JWT from before the reset", Method::GET, "/users/me").auth("arthur_jwt")
            // fastapi-users keeps every session across a reset: whoever stole the old token or
            // cookie keeps the account. auth-core ends them with the password (issue 20,
            // finding 3): the JWT is refused by its issue time, the cookie's row is deleted.
            .differs(401, "sessions end with the password")),
        R(step("me, cookie from before the reset", Method::GET, "/users/me").auth("arthur_cookie")
            .differs(401, "sessions end with the password")),
        R(step("patch me, cookie from before the reset", Method::PATCH, "/users/me").auth("arthur_cookie")
            .json(json!({}))
            // The probe of finding 3: fastapi-users lets the old cookie change the account (an
            // empty change here, so that the steps after it see the same account on both sides).
            .differs(401, "sessions end with the password")),
        R(login("/auth/cookie/login", "king.arthur@camelot.bt", "excalibur").save(Save::Cookie("arthur_cookie"))),
        R(step("reset, token used twice", Method::POST, "/auth/reset-password").json(json!({ "token": "{reset_arthur}", "password": "excalibur 2" }))),
        R(step("reset, garbage", Method::POST, "/auth/reset-password").json(json!({ "token": "garbage", "password": "excalibur 3" }))),
        R(step("reset, missing fields", Method::POST, "/auth/reset-password").json(json!({ "password": 5 }))),
        R(login("/auth/jwt/login", "king.arthur@camelot.bt", "guinevere")),
        R(login("/auth/jwt/login", "king.arthur@camelot.bt", "excalibur").save(Save::Bearer("arthur_jwt"))),
        // Logout.
        R(step("logout, JWT", Method::POST, "/auth/jwt/logout").auth("arthur_jwt")),
        R(step("logout, no token", Method::POST, "/auth/jwt/logout")),
        R(step("logout, cookie", Method::POST, "/auth/cookie/logout").auth("arthur_cookie")),
        R(step("cookie after logout", Method::GET, "/users/me").auth("arthur_cookie")),
        R(step("logout, cookie again", Method::POST, "/auth/cookie/logout").auth("arthur_cookie")),
        // Delete.
        R(login("/auth/cookie/login", "bors@camelot.bt", "bors password").save(Save::Cookie("bors_cookie"))),
        R(step("delete user", Method::DELETE, "/users/{bors_id}").auth("admin")),
        R(step("deleted user's JWT", Method::GET, "/users/me").auth("bors_jwt")),
        R(step("deleted user's cookie", Method::GET, "/users/me").auth("bors_cookie")),
        R(step("deleted user by id", Method::GET, "/users/{bors_id}").auth("admin")),
        R(step("delete user again", Method::DELETE, "/users/{bors_id}").auth("admin")),
        R(step("register the deleted address again", Method::POST, "/auth/register").json(json!({ "email": "bors@camelot.bt", "password": "bors password" })).save(Save::Id("bors_id"))),
        R(step("user by id, hex without hyphens", Method::GET, "/users/{gawain_hex}").auth("admin")),
        // After its logout (above): fastapi-users' JWT strategy cannot revoke, so the token
        // works until it expires; examples/users lists it in a denylist at logout (issue 20,
        // finding 7), so a logged-out token is refused.
        R(step("me, JWT after its logout", Method::GET, "/users/me")
            .auth("arthur_jwt")
            .differs(401, "a JWT logout sticks here; fastapi-users' JWT logout leaves the token valid")),
        R(login("/auth/jwt/login", "king.arthur@camelot.bt", "excalibur").save(Save::Bearer("arthur_jwt"))),
        R(step("me", Method::GET, "/users/me").auth("arthur_jwt")),
    ]
}

async fn start_fastapi_users(dir: &ScratchDir) -> Side {
    let python = users_python();
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/users");
    let database = format!("sqlite+aiosqlite:///{}", dir.0.join("fastapi-users.db").display());
    let tokens = dir.0.join("tokens.jsonl");
    let secret = "differential-test-secret-0123456789abcdef";
    let status = Command::new(&python)
        .args(["fastapi_app.py", "create-superuser", ADMIN, ADMIN_PASSWORD])
        .current_dir(here)
        .env("DATABASE_URL", &database)
        .env("SECRET", secret)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "creating fastapi-users' superuser failed");
    let port = free_port();
    // Its tracebacks (it answers two of the steps with 500) go to a file, not the test output.
    let log = std::fs::File::create(dir.0.join("fastapi-users.log")).unwrap();
    let server = Command::new(&python)
        .args([
            "-m",
            "uvicorn",
            "fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "warning",
        ])
        .current_dir(here)
        .env("DATABASE_URL", &database)
        .env("SECRET", secret)
        .env("TOKENS_FILE", &tokens)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = ChildGuard(server);
    let base = format!("http://127.0.0.1:{port}");
    // A fresh connection per request: uvicorn drops one after a 500.
    let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/openapi.json")).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(Instant::now() < deadline, "fastapi-users did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Side {
        name: "fastapi-users",
        base,
        client,
        tokens: Tokens::File(tokens),
        vars: HashMap::new(),
        _server: Some(server),
    }
}

async fn start_ours(dir: &ScratchDir) -> Side {
    let sink = SmtpSink::start();
    let config = app::Config {
        database_url: format!("sqlite://{}", dir.0.join("auth-core.sqlite").display()),
        users_table: "users".to_owned(),
        tokens_table: "auth_tokens".to_owned(),
        smtp_url: Some(sink.url()),
        public_url: PUBLIC_URL.to_owned(),
        mail_from: "Camelot <noreply@camelot.bt>".to_owned(),
        secret_key: b"differential-test-secret-0123456789abcdef".to_vec(),
        redis_url: None,
        redis_prefix: String::new(),
        client_ip: ClientIpSource::Peer,
        requires_verification: false,
    };
    let state = app::AppState::new(&config).await.unwrap();
    state.users.create_superuser(Email::parse(ADMIN).unwrap(), ADMIN_PASSWORD.to_owned()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app::serve(listener, app::router(state)));
    Side {
        name: "examples/users",
        base,
        client: Client::new(),
        tokens: Tokens::Mail(sink),
        vars: HashMap::new(),
        _server: None,
    }
}

/// Runs one request on both sides and checks how the answers relate.
async fn run_step(sides: &mut [Side; 2], step: &Step, failures: &mut Vec<String>) {
    let mut answers = Vec::new();
    for side in sides.iter_mut() {
        let (status, raw, set_cookie) = side.send(step).await;
        match step.save {
            Save::Nothing => {}
            Save::Bearer(name) => {
                if let Some(token) = raw["access_token"].as_str() {
                    side.vars.insert(name.to_owned(), token.to_owned());
                }
            }
            Save::Cookie(name) => {
                if let Some(header) = &set_cookie {
                    side.vars.insert(name.to_owned(), header.split(';').next().unwrap().to_owned());
                }
            }
            Save::Id(name) => {
                if let Some(id) = raw["id"].as_str() {
                    side.vars.insert(name.to_owned(), id.to_owned());
                    side.vars.insert(name.replace("_id", "_hex"), id.replace('-', ""));
                }
            }
        }
        let cookie = set_cookie.as_deref().map(cookie_attributes);
        answers.push(Answer { status, body: side.normalise(status, &raw), cookie });
    }
    let (theirs, ours) = (&answers[0], &answers[1]);
    match step.expect {
        Expect::Same => {
            if theirs != ours {
                failures.push(format!("{}: fastapi-users {theirs:?}\n    examples/users {ours:?}", step.name));
            }
        }
        Expect::Differs { ours: status, why } => {
            if theirs == ours {
                failures.push(format!("{}: expected to differ ({why}) but both answered {ours:?}", step.name));
            } else if ours.status != status {
                failures.push(format!("{}: examples/users answered {ours:?}, expected {status} ({why})", step.name));
            }
        }
    }
}

/// The paths and methods of both OpenAPI documents, and the fields of the user schemas.
async fn compare_openapi(sides: &[Side; 2], failures: &mut Vec<String>) {
    let mut shapes = Vec::new();
    for side in sides {
        let doc: Value =
            side.client.get(format!("{}/openapi.json", side.base)).send().await.unwrap().json().await.unwrap();
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            // examples/users' API key routes (issue 22) have no fastapi-users counterpart.
            if path.starts_with("/api-keys") {
                continue;
            }
            for method in item.as_object().unwrap().keys() {
                operations.insert(format!("{method} {path}"));
            }
        }
        let mut fields = BTreeSet::new();
        for schema in ["UserRead", "UserCreate", "UserUpdate"] {
            for property in doc["components"]["schemas"][schema]["properties"].as_object().unwrap().keys() {
                fields.insert(format!("{schema}.{property}"));
            }
        }
        shapes.push((operations, fields));
    }
    if shapes[0] != shapes[1] {
        failures.push(format!("OpenAPI: fastapi-users {:?}\n    examples/users {:?}", shapes[0], shapes[1]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastapi_users_and_examples_users_answer_alike() {
    let dir = ScratchDir::new("differential");
    let mut sides = [start_fastapi_users(&dir).await, start_ours(&dir).await];
    for side in sides.iter_mut() {
        side.vars.insert("garbage".to_owned(), "garbage".to_owned());
    }
    let mut failures = Vec::new();
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for action in scenario() {
        match action {
            Action::Request(step) => run_step(&mut sides, &step, &mut failures).await,
            Action::Token { kind, email, name } => {
                let count = seen.entry((kind, email)).or_default();
                for side in sides.iter_mut() {
                    let token = side.token(kind, email, *count).await;
                    side.vars.insert(name.to_owned(), token);
                }
                *count += 1;
            }
        }
    }
    compare_openapi(&sides, &mut failures).await;
    assert!(failures.is_empty(), "{} difference(s):\n  {}", failures.len(), failures.join("\n  "));
}
