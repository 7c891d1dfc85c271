//! Hostile input against the tutorial port, over real HTTP (and, where the bytes must reach the
//! library untouched by an HTTP stack, through `tower::ServiceExt::oneshot`).
//!
//! Every case asserts a 4xx with a clear `detail` (never a 5xx, a panic, a 200 where one must not
//! be, or a hang: each request runs under a timeout), and that neither the body nor a response
//! header echoes the token or password that was sent.
//!
//! A case that exposes a library bug is kept as an `#[ignore = "bug: …"]` regression test.

#[path = "../examples/oauth2_scopes/app.rs"]
mod app;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use auth_core::{
    AuthBackend, Authenticated, ScopeDeclaration, Scopes, secured,
    strategies::jwt::{JwtKey, JwtStrategy},
};
use axum::{
    Json, Router,
    body::Body,
    extract::FromRef,
    http::{HeaderMap, HeaderName, HeaderValue, Request, header},
    routing::get,
};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";
const REFRESH_SECRET: &[u8] = b"a-different-secret-for-refresh-tokens-only-0123456789";
const ATTACKER_SECRET: &[u8] = b"an-attacker-chosen-secret-of-at-least-32-bytes!!";

/// Longest any one request may take. Logins verify bcrypt and argon2 hashes on a shared
/// machine, so this is generous; a hang still fails.
const LIMIT: Duration = Duration::from_secs(30);

const NOT_AUTHENTICATED: &str = "Not authenticated";
const COULD_NOT_VALIDATE: &str = "Could not validate credentials";
const INCORRECT: &str = "Incorrect username or password";
const INVALID_TOKEN: &str = "Invalid token";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

struct Server {
    base: String,
    addr: SocketAddr,
    client: Client,
    state: app::AppState,
}

async fn serve() -> Server {
    let state = app::AppState::new(SECRET, REFRESH_SECRET).expect("valid secrets");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server { base: format!("http://{addr}"), addr, client: Client::new(), state }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn www_authenticate(&self) -> Option<&str> {
        self.headers.get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap())
    }
}

/// Runs `future` under [`LIMIT`]; a timeout is a hang, and fails the test.
async fn limited<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future).await.unwrap_or_else(|_| panic!("{what}: no answer within {LIMIT:?}"))
}

impl Server {
    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Reply {
        limited(what, async {
            let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.text().await.unwrap();
            Reply { status, headers, body }
        })
        .await
    }

    /// `GET path` with these `Authorization` values (none, one, or several headers).
    async fn get(&self, path: &str, authorization: &[HeaderValue]) -> Reply {
        let mut headers = HeaderMap::new();
        for value in authorization {
            headers.append(header::AUTHORIZATION, value.clone());
        }
        let what = format!("GET {path} {:?}", shorten(&format!("{authorization:?}")));
        self.send(&what, self.client.get(format!("{}{path}", self.base)).headers(headers)).await
    }

    async fn get_bearer(&self, path: &str, token: &str) -> Reply {
        self.get(path, &[HeaderValue::from_str(&format!("Bearer {token}")).unwrap()]).await
    }

    async fn post_form(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(&format!("POST {path}"), request).await
    }

    async fn token(&self, username: &str, password: &str, scope: &str) -> String {
        let form = [("username", username), ("password", password), ("scope", scope)];
        let reply = self.send("login", self.client.post(format!("{}/token", self.base)).form(&form)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        serde_json::from_str::<Value>(&reply.body).unwrap()["access_token"].as_str().unwrap().to_owned()
    }

    async fn pair(&self) -> (String, String) {
        let form = [("username", "johndoe"), ("password", "secret"), ("scope", "me items")];
        let reply = self.send("pair", self.client.post(format!("{}/token/pair", self.base)).form(&form)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
    }

    /// Writes `request` as raw bytes on a fresh connection and returns the status line's code
    /// and the rest of the answer, for requests no HTTP client would send.
    async fn raw(&self, request: &[u8]) -> (u16, String) {
        limited("raw request", async {
            let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
            let (mut reader, mut writer) = stream.into_split();
            let request = request.to_vec();
            // Written while the answer is read: the server may answer, and close, before the
            // request is complete. A failed write is fine; what was answered before counts.
            let writing = tokio::spawn(async move {
                let _ = writer.write_all(&request).await;
                writer
            });
            let mut answer = Vec::new();
            let _ = reader.read_to_end(&mut answer).await;
            writing.abort();
            let answer = String::from_utf8_lossy(&answer).into_owned();
            let status = answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
            (status, answer)
        })
        .await
    }
}

/// The app as a service, for requests whose header bytes must reach the library untouched.
async fn oneshot(state: &app::AppState, request: Request<Body>) -> Reply {
    limited("oneshot", async {
        let response = app::app(state.clone()).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
    })
    .await
}

fn shorten(text: &str) -> String {
    if text.len() > 80 { format!("{}…({} bytes)", &text[..80], text.len()) } else { text.to_owned() }
}

/// A refusal: `status`, body `{"detail": detail}`, and none of `secrets` in the body or headers.
#[track_caller]
fn assert_refused(reply: &Reply, status: u16, detail: &str, secrets: &[&str], what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", shorten(&reply.body));
    let body: Value =
        serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("{what}: not JSON: {}", shorten(&reply.body)));
    assert_eq!(body, json!({ "detail": detail }), "{what}");
    assert_no_echo(reply, secrets, what);
}

/// Any 4xx whose body is `{"detail": …}` with a non-empty message (a string, or FastAPI's
/// list of field errors), echoing none of `secrets`.
#[track_caller]
fn assert_clear_4xx(reply: &Reply, secrets: &[&str], what: &str) {
    assert!((400..500).contains(&reply.status), "{what}: status {} {}", reply.status, shorten(&reply.body));
    let body: Value =
        serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("{what}: not JSON: {}", shorten(&reply.body)));
    match &body["detail"] {
        Value::String(detail) => assert!(!detail.is_empty(), "{what}: empty detail"),
        Value::Array(errors) => {
            assert!(!errors.is_empty(), "{what}: empty detail list");
            for error in errors {
                assert!(error["msg"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {error}");
            }
        }
        other => panic!("{what}: no detail in {other}"),
    }
    assert_no_echo(reply, secrets, what);
}

#[track_caller]
fn assert_no_echo(reply: &Reply, secrets: &[&str], what: &str) {
    for secret in secrets.iter().filter(|s| s.len() >= 6) {
        assert!(!reply.body.contains(secret), "{what}: the body echoes {}", shorten(secret));
        for (name, value) in &reply.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            assert!(!value.contains(secret), "{what}: header {name} echoes {}", shorten(secret));
        }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

// ---------------------------------------------------------------------------------------------
// Hand-made tokens: any header, any payload text, any encoding
// ---------------------------------------------------------------------------------------------

const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

fn b64url(bytes: &[u8]) -> String {
    base64(bytes, URL_SAFE, false)
}

fn b64url_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = bits << 6 | URL_SAFE.iter().position(|a| *a == c).expect("base64url") as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// `header.payload.signature`, the segments encoded as given and signed with `key` by `alg`.
fn sign_segments(header: &str, payload: &str, key: &[u8], alg: Algorithm) -> String {
    let message = format!("{header}.{payload}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(key), alg).unwrap();
    format!("{message}.{signature}")
}

/// A token with this header and these claims (as raw JSON text), HS256-signed with `key`.
fn sign_raw(header: &str, claims: &str, key: &[u8]) -> String {
    sign_segments(&b64url(header.as_bytes()), &b64url(claims.as_bytes()), key, Algorithm::HS256)
}

fn sign(header: Value, claims: Value, key: &[u8]) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), key)
}

fn hs256() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

fn johndoe_claims() -> Value {
    json!({ "sub": "johndoe", "scopes": ["me", "items"], "exp": now() + 600 })
}

fn segments(token: &str) -> [&str; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    [parts[0], parts[1], parts[2]]
}

// ---------------------------------------------------------------------------------------------
// Authorization header
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authorization_header_variants_are_not_authenticated() {
    let server = serve().await;
    let token = server.token("johndoe", "secret", "me items").await;
    let value = |text: &str| HeaderValue::from_str(text).unwrap();
    let bytes = |bytes: &[u8]| HeaderValue::from_bytes(bytes).unwrap();

    let not_authenticated: Vec<(&str, Vec<HeaderValue>)> = vec![
        ("no header", vec![]),
        ("empty", vec![value("")]),
        ("scheme only", vec![value("Bearer")]),
        ("scheme and a space", vec![value("Bearer ")]),
        ("scheme and spaces", vec![value("Bearer       ")]),
        ("no space", vec![bytes(format!("Bearer{token}").as_bytes())]),
        ("tab instead of space", vec![value(&format!("Bearer\t{token}"))]),
        ("other scheme", vec![value(&format!("Token {token}"))]),
        ("basic", vec![value("Basic am9obmRvZTpzZWNyZXQ=")]),
        ("scheme prefix", vec![value(&format!("Bear {token}"))]),
        ("scheme suffix", vec![value(&format!("Bearers {token}"))]),
        ("two valid headers", vec![value(&format!("Bearer {token}")), value(&format!("Bearer {token}"))]),
        ("valid then garbage", vec![value(&format!("Bearer {token}")), value("Bearer garbage")]),
        ("garbage then valid", vec![value("Bearer garbage"), value(&format!("Bearer {token}"))]),
        ("valid then empty", vec![value(&format!("Bearer {token}")), value("")]),
        ("obs-text", vec![bytes(b"Bearer \xff\xfe\xfd")]),
        ("valid token then obs-text", vec![bytes([format!("Bearer {token}").as_bytes(), b"\x80"].concat().as_slice())]),
        ("latin-1 scheme", vec![bytes([&b"B\xe9arer "[..], token.as_bytes()].concat().as_slice())]),
        ("64 kB of token characters", vec![value(&format!("Bearer {}", "a".repeat(64 * 1024)))]),
        ("a valid token behind 64 kB of spaces", vec![value(&format!("Bearer {}{token}", " ".repeat(64 * 1024)))]),
        ("100 kB token", vec![value(&format!("Bearer {0}.{0}.{0}", "A".repeat(100 * 1024 / 3)))]),
    ];
    for (what, headers) in &not_authenticated {
        let reply = server.get("/users/me/", headers).await;
        assert_refused(&reply, 401, NOT_AUTHENTICATED, &[&token], what);
        assert_eq!(reply.www_authenticate(), Some("Bearer"), "{what}");
    }

    // A credential in the right place that is not a valid token: could not validate.
    let invalid = [
        ("two tokens", format!("Bearer {token} {token}")),
        ("token and comma", format!("Bearer {token},")),
        ("quoted token", format!("Bearer \"{token}\"")),
        ("token68 padding", format!("Bearer {token}==")),
        ("auth-param", format!("Bearer token={token}")),
    ];
    for (what, header) in &invalid {
        let reply = server.get("/users/me/", &[value(header)]).await;
        assert_refused(&reply, 401, COULD_NOT_VALIDATE, &[&token], what);
        assert_eq!(reply.www_authenticate(), Some(r#"Bearer scope="me""#), "{what}");
    }

    // The scheme is case-insensitive and runs of spaces are allowed (RFC 9110 §11.1, §11.4).
    for header in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("bEaReR {token}"),
        format!("Bearer      {token}"),
    ] {
        let reply = server.get("/users/me/", &[value(&header)]).await;
        assert_eq!(reply.status, 200, "{}: {}", shorten(&header), reply.body);
    }
}

#[tokio::test]
async fn authorization_bytes_reach_the_library_untouched() {
    // Through `oneshot` no HTTP parser trims whitespace or refuses odd bytes first.
    let server = serve().await;
    let token = server.token("johndoe", "secret", "me").await;
    let request = |values: &[&[u8]]| {
        let mut request = Request::get("/users/me/");
        for value in values {
            request = request.header(header::AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        request.body(Body::empty()).unwrap()
    };
    let with_token = |prefix: &[u8], suffix: &[u8]| [prefix, token.as_bytes(), suffix].concat();

    for (what, value, detail) in [
        ("leading tab", with_token(b"\tBearer ", b""), NOT_AUTHENTICATED),
        ("leading space", with_token(b" Bearer ", b""), NOT_AUTHENTICATED),
        ("tab after scheme", with_token(b"Bearer\t", b""), NOT_AUTHENTICATED),
        ("space and tab", with_token(b"Bearer \t", b""), COULD_NOT_VALIDATE),
        ("trailing tab", with_token(b"Bearer ", b"\t"), COULD_NOT_VALIDATE),
        ("tab inside", with_token(b"Bearer ", b"\tx"), COULD_NOT_VALIDATE),
        ("obs-text inside", with_token(b"Bearer ", b"\xc3\xa9"), NOT_AUTHENTICATED),
        ("a Latin-1 no-break space", with_token(b"Bearer ", b"\xa0"), NOT_AUTHENTICATED),
        ("16 KiB + 1", [&b"Bearer "[..], &vec![b'a'; 16 * 1024 - 6]].concat(), NOT_AUTHENTICATED),
        ("just under 16 KiB", [&b"Bearer "[..], &vec![b'a'; 16 * 1024 - 8]].concat(), COULD_NOT_VALIDATE),
    ] {
        let reply = oneshot(&server.state, request(&[&value])).await;
        assert_refused(&reply, 401, detail, &[&token], what);
    }
    // Control characters and NUL cannot even be put in a header value.
    for bad in [&b"Bearer a\0b"[..], b"Bearer a\r\nb", b"Bearer \x7f", b"Bearer \x01"] {
        assert!(HeaderValue::from_bytes(bad).is_err());
    }
}

#[tokio::test]
async fn malformed_http_is_refused_before_the_app() {
    let server = serve().await;
    let token = server.token("johndoe", "secret", "me").await;
    let request = |header: &[u8]| {
        [&b"GET /users/me/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"[..], header, b"\r\n\r\n"].concat()
    };
    for (what, header) in [
        ("NUL in the value", [&b"Authorization: Bearer "[..], token.as_bytes(), b"\0"].concat()),
        ("obs-fold", [&b"Authorization: Bearer\r\n "[..], token.as_bytes()].concat()),
        ("space before colon", [&b"Authorization : Bearer "[..], token.as_bytes()].concat()),
        ("bare CR", [&b"Authorization: Bearer \r"[..], token.as_bytes()].concat()),
        ("header of 1 MB", [&b"Authorization: Bearer "[..], &vec![b'a'; 1024 * 1024]].concat()),
    ] {
        let (status, answer) = server.raw(&request(&header)).await;
        assert!((400..500).contains(&status), "{what}: {}", shorten(&answer));
        assert!(!answer.contains(&token), "{what}: echoed the token");
    }
    // A well-formed request with an empty value is the app's to answer.
    let (status, answer) = server.raw(&request(b"Authorization:")).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.ends_with(r#"{"detail":"Not authenticated"}"#), "{answer}");
    // Header names are case-insensitive: this one is a valid credential.
    let (status, _) = server.raw(&request(format!("AUTHORIZATION: Bearer {token}").as_bytes())).await;
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// Sends each token to `/users/me/` and expects 401 `Could not validate credentials`.
async fn assert_all_invalid(server: &Server, cases: &[(&str, String)]) {
    for (what, token) in cases {
        let reply = server.get_bearer("/users/me/", token).await;
        assert_refused(&reply, 401, COULD_NOT_VALIDATE, &[token], what);
        assert_eq!(reply.www_authenticate(), Some(r#"Bearer scope="me""#), "{what}");
    }
}

#[tokio::test]
async fn forged_and_malformed_tokens_could_not_be_validated() {
    let server = serve().await;
    let token = server.token("johndoe", "secret", "me items").await;
    assert_eq!(server.get_bearer("/users/me/", &token).await.status, 200, "control");
    let [h, p, s] = segments(&token);
    let claims = johndoe_claims();
    let payload = b64url(claims.to_string().as_bytes());

    // The signature's last character carries 4 bits of data and 2 of padding: flipping a
    // padding bit spells the same signature differently. Strict base64url refuses it.
    let last = *s.as_bytes().last().unwrap();
    let index = URL_SAFE.iter().position(|c| *c == last).unwrap();
    let same_bits = URL_SAFE[index ^ 1] as char;
    let malleable = format!("{h}.{p}.{}{same_bits}", &s[..s.len() - 1]);
    let flipped = {
        let mut sig = s.to_owned().into_bytes();
        sig[0] = if sig[0] == b'A' { b'B' } else { b'A' };
        String::from_utf8(sig).unwrap()
    };
    let alice = b64url(json!({ "sub": "alice", "scopes": ["me"], "exp": now() + 600 }).to_string().as_bytes());
    let none = |alg: &str| format!("{}.{p}.", b64url(json!({ "alg": alg, "typ": "JWT" }).to_string().as_bytes()));
    let header_of = |header: Value| b64url(header.to_string().as_bytes());

    let cases = vec![
        ("garbage", "garbage".to_owned()),
        ("three dots", "...".to_owned()),
        ("empty segments", "a..b".to_owned()),
        ("two segments", format!("{h}.{p}")),
        ("four segments", format!("{token}.{s}")),
        ("trailing dot", format!("{token}.")),
        ("signature flipped", format!("{h}.{p}.{flipped}")),
        ("signature padding bits flipped", malleable),
        ("signature dropped", format!("{h}.{p}.")),
        ("signature truncated", format!("{h}.{p}.{}", &s[..s.len() - 4])),
        ("signature doubled", format!("{h}.{p}.{s}{s}")),
        ("payload swapped", format!("{h}.{payload}.{s}")),
        ("payload for alice", format!("{h}.{alice}.{s}")),
        ("header swapped", format!("{}.{p}.{s}", header_of(json!({ "alg": "HS256" })))),
        ("alg none", none("none")),
        ("alg None", none("None")),
        ("alg NONE", none("NONE")),
        ("alg none with the old signature", format!("{}{s}", none("none"))),
        ("alg empty", none("")),
        ("another key", sign(hs256(), claims.clone(), ATTACKER_SECRET)),
        ("HS384 with the right key", sign_segments(h, p, SECRET, Algorithm::HS384)),
        ("HS512 with the right key", sign_segments(h, p, SECRET, Algorithm::HS512)),
        ("RS256 header, HMAC signature", sign(json!({ "alg": "RS256" }), claims.clone(), SECRET)),
        ("ES256 header, HMAC signature", sign(json!({ "alg": "ES256" }), claims.clone(), SECRET)),
        ("alg in lowercase", sign(json!({ "alg": "hs256" }), claims.clone(), SECRET)),
        ("alg with NUL", sign(json!({ "alg": "HS256\u{0}" }), claims.clone(), SECRET)),
        ("alg missing", sign(json!({ "typ": "JWT" }), claims.clone(), SECRET)),
        ("alg a number", sign(json!({ "alg": 256 }), claims.clone(), SECRET)),
        ("header an array", sign_raw(r#"["HS256"]"#, &claims.to_string(), SECRET)),
        ("header not JSON", sign_raw("alg=HS256", &claims.to_string(), SECRET)),
        ("header empty", sign_raw("", &claims.to_string(), SECRET)),
        ("kid a number", sign(json!({ "alg": "HS256", "kid": 1 }), claims.clone(), SECRET)),
        ("typ a number", sign(json!({ "alg": "HS256", "typ": 1 }), claims.clone(), SECRET)),
        ("crit", sign(json!({ "alg": "HS256", "crit": ["exp"] }), claims.clone(), SECRET)),
        ("crit empty", sign(json!({ "alg": "HS256", "crit": [] }), claims.clone(), SECRET)),
        ("crit null", sign(json!({ "alg": "HS256", "crit": null }), claims.clone(), SECRET)),
        ("refresh typ", sign(json!({ "alg": "HS256", "typ": "refresh+jwt" }), claims.clone(), SECRET)),
        ("refresh typ, long form", sign(json!({ "alg": "HS256", "typ": "APPLICATION/Refresh+JWT" }), claims, SECRET)),
    ];
    assert_all_invalid(&server, &cases).await;

    // A real refresh token is not an access token.
    let (_, refresh) = server.pair().await;
    assert_all_invalid(&server, &[("refresh token", refresh)]).await;
}

#[tokio::test]
async fn non_canonical_encodings_are_refused_even_when_signed_with_the_key() {
    // Signed with the server's own key, so only the encoding is wrong: RFC 7515 §2 says
    // base64url without padding, and a lenient decoder would give one token several spellings.
    let server = serve().await;
    let claims = johndoe_claims();
    // JSON allows a trailing space; with it the header needs padding.
    let header = format!("{} ", hs256());
    assert_ne!(header.len() % 3, 0);
    // A filler claim whose length puts `+`/`/` in the standard encoding and needs padding.
    let mut filler = String::new();
    let (claims_text, standard) = loop {
        let mut with_filler = claims.clone();
        with_filler["x"] = json!(filler);
        let text = with_filler.to_string();
        let standard = base64(text.as_bytes(), STANDARD, true);
        if (standard.contains('+') || standard.contains('/')) && standard.ends_with('=') {
            break (text, standard);
        }
        filler.push('\u{ff}');
    };
    let padded = |text: &str| base64(text.as_bytes(), URL_SAFE, true);
    let url_header = b64url(header.as_bytes());
    let valid = sign_segments(&url_header, &b64url(claims_text.as_bytes()), SECRET, Algorithm::HS256);
    assert_eq!(server.get_bearer("/users/me/", &valid).await.status, 200, "control");

    let [_, _, signature] = segments(&valid);
    let signature_bytes = b64url_decode(signature);
    let cases = vec![
        ("standard alphabet payload", sign_segments(&url_header, &standard, SECRET, Algorithm::HS256)),
        ("padded payload", sign_segments(&url_header, &padded(&claims_text), SECRET, Algorithm::HS256)),
        ("padded header", sign_segments(&padded(&header), &b64url(claims_text.as_bytes()), SECRET, Algorithm::HS256)),
        (
            "padded signature",
            format!("{}{}", &valid[..valid.len() - signature.len()], base64(&signature_bytes, URL_SAFE, true)),
        ),
        (
            "standard alphabet signature",
            format!("{}{}", &valid[..valid.len() - signature.len()], base64(&signature_bytes, STANDARD, true)),
        ),
        (
            "whitespace in payload",
            sign_segments(&url_header, &format!("{} ", b64url(claims_text.as_bytes())), SECRET, Algorithm::HS256),
        ),
        (
            "percent-encoded payload",
            sign_segments(&url_header, &b64url(claims_text.as_bytes()).replace('A', "%41"), SECRET, Algorithm::HS256),
        ),
    ];
    assert_all_invalid(&server, &cases).await;
}

#[tokio::test]
async fn token_claims_of_the_wrong_type_are_refused() {
    let server = serve().await;
    let exp = now() + 600;
    let signed = |claims: Value| sign(hs256(), claims, SECRET);
    let nested_inner = server.token("johndoe", "secret", "me items").await;
    let cases = vec![
        ("exp a string", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": exp.to_string() }))),
        ("exp null", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": null }))),
        ("exp missing", signed(json!({ "sub": "johndoe", "scopes": ["me"] }))),
        ("exp negative", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": -1 }))),
        ("exp a bool", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": true }))),
        ("exp an array", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": [exp] }))),
        ("exp 1e300", sign_raw(&hs256().to_string(), r#"{"sub":"johndoe","scopes":["me"],"exp":1e300}"#, SECRET)),
        (
            "exp past, then future",
            sign_raw(
                &hs256().to_string(),
                &format!(r#"{{"sub":"johndoe","scopes":["me"],"exp":1,"exp":{exp}}}"#),
                SECRET,
            ),
        ),
        (
            "exp future, then past",
            sign_raw(
                &hs256().to_string(),
                &format!(r#"{{"sub":"johndoe","scopes":["me"],"exp":{exp},"exp":1}}"#),
                SECRET,
            ),
        ),
        ("nbf in the future", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": exp, "nbf": exp }))),
        ("nbf a string", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": exp, "nbf": "0" }))),
        ("iat a string", signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": exp, "iat": "now" }))),
        (
            "aud without a configured audience",
            signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": exp, "aud": "x" })),
        ),
        ("scopes a number", signed(json!({ "sub": "johndoe", "scopes": 5, "exp": exp }))),
        ("scopes a string", signed(json!({ "sub": "johndoe", "scopes": "me", "exp": exp }))),
        ("scopes an object", signed(json!({ "sub": "johndoe", "scopes": { "me": true }, "exp": exp }))),
        ("scopes of numbers", signed(json!({ "sub": "johndoe", "scopes": [1, 2], "exp": exp }))),
        ("scopes nested", signed(json!({ "sub": "johndoe", "scopes": [["me"]], "exp": exp }))),
        ("scopes with null", signed(json!({ "sub": "johndoe", "scopes": ["me", null], "exp": exp }))),
        ("scope a number", signed(json!({ "sub": "johndoe", "scope": 5, "exp": exp }))),
        ("scope an array", signed(json!({ "sub": "johndoe", "scope": ["me"], "exp": exp }))),
        ("sub a number", signed(json!({ "sub": 1, "scopes": ["me"], "exp": exp }))),
        ("sub an array", signed(json!({ "sub": ["johndoe"], "scopes": ["me"], "exp": exp }))),
        ("sub an object", signed(json!({ "sub": { "name": "johndoe" }, "scopes": ["me"], "exp": exp }))),
        ("sub null", signed(json!({ "sub": null, "scopes": ["me"], "exp": exp }))),
        ("sub a bool", signed(json!({ "sub": true, "scopes": ["me"], "exp": exp }))),
        ("sub empty", signed(json!({ "sub": "", "scopes": ["me"], "exp": exp }))),
        ("sub with NUL", signed(json!({ "sub": "johndoe\u{0}", "scopes": ["me"], "exp": exp }))),
        ("sub with NUL and more", signed(json!({ "sub": "johndoe\u{0}admin", "scopes": ["me"], "exp": exp }))),
        ("sub in fullwidth", signed(json!({ "sub": "ｊｏｈｎｄｏｅ", "scopes": ["me"], "exp": exp }))),
        ("sub with a zero-width space", signed(json!({ "sub": "john\u{200b}doe", "scopes": ["me"], "exp": exp }))),
        ("sub in uppercase", signed(json!({ "sub": "JOHNDOE", "scopes": ["me"], "exp": exp }))),
        ("sub with a trailing space", signed(json!({ "sub": "johndoe ", "scopes": ["me"], "exp": exp }))),
        (
            "sub escaped",
            sign_raw(
                &hs256().to_string(),
                &format!(r#"{{"sub":"john\u0000doe","scopes":["me"],"exp":{exp}}}"#),
                SECRET,
            ),
        ),
        ("claims an array", sign_raw(&hs256().to_string(), &format!(r#"[{{"sub":"johndoe","exp":{exp}}}]"#), SECRET)),
        ("claims a string", sign_raw(&hs256().to_string(), r#""johndoe""#, SECRET)),
        ("claims not JSON", sign_raw(&hs256().to_string(), "sub=johndoe", SECRET)),
        (
            "claims with a trailing comma",
            sign_raw(&hs256().to_string(), &format!(r#"{{"sub":"johndoe","exp":{exp},}}"#), SECRET),
        ),
        // Deep enough to overflow a naive recursive parser, short enough to get past the 8 KiB limit.
        (
            "claims nested 2000 deep",
            sign_raw(
                &hs256().to_string(),
                &format!(r#"{{"sub":"johndoe","exp":{exp},"x":{}{}}}"#, "[".repeat(2000), "]".repeat(2000)),
                SECRET,
            ),
        ),
        (
            "header nested 800 deep",
            sign_raw(
                &format!(r#"{{"alg":"HS256","x":{}1{}}}"#, "{\"a\":".repeat(800), "}".repeat(800)),
                &johndoe_claims().to_string(),
                SECRET,
            ),
        ),
        (
            "nested JWT as the payload",
            sign_segments(
                &b64url(json!({ "alg": "HS256", "cty": "JWT" }).to_string().as_bytes()),
                &b64url(nested_inner.as_bytes()),
                SECRET,
                Algorithm::HS256,
            ),
        ),
        (
            "nested JWT under alg none",
            format!(
                "{}.{}.",
                b64url(json!({ "alg": "none", "cty": "JWT" }).to_string().as_bytes()),
                b64url(nested_inner.as_bytes())
            ),
        ),
        ("nested JWT in sub", signed(json!({ "sub": nested_inner, "scopes": ["me"], "exp": exp }))),
        (
            "10 kB token, validly signed",
            signed(json!({ "sub": "johndoe", "scopes": ["me"], "exp": exp, "pad": "x".repeat(10_000) })),
        ),
    ];
    assert_all_invalid(&server, &cases).await;

    // Valid tokens whose scopes fall short: refused for scope, whatever they look like.
    for (what, claims) in [
        ("scope with NUL", json!({ "sub": "johndoe", "scopes": ["me\u{0}"], "exp": exp })),
        ("scope in uppercase", json!({ "sub": "johndoe", "scopes": ["ME"], "exp": exp })),
        ("scopes joined in one string", json!({ "sub": "johndoe", "scopes": ["items me"], "exp": exp })),
        ("scope with a tab", json!({ "sub": "johndoe", "scope": "items\tme", "exp": exp })),
    ] {
        let token = signed(claims);
        let reply = server.get_bearer("/users/me/items/", &token).await;
        assert_refused(&reply, 401, "Not enough permissions", &[&token], what);
    }
}

/// A loopback listener that counts every connection made to it.
async fn tripwire() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (base, hits)
}

#[tokio::test]
async fn key_urls_in_token_headers_are_never_fetched() {
    let server = serve().await;
    let (tripwire, hits) = tripwire().await;
    let attacker_jwk = json!({ "kty": "oct", "k": b64url(ATTACKER_SECRET), "alg": "HS256" });
    let headers = [
        ("jku", json!({ "alg": "HS256", "jku": format!("{tripwire}/jwks.json") })),
        ("x5u", json!({ "alg": "HS256", "x5u": format!("{tripwire}/cert.pem") })),
        (
            "jku and x5u with kid",
            json!({ "alg": "HS256", "kid": "k", "jku": format!("{tripwire}/jwks.json"), "x5u": format!("{tripwire}/x") }),
        ),
        ("kid as a URL", json!({ "alg": "HS256", "kid": format!("{tripwire}/key") })),
        ("embedded jwk", json!({ "alg": "HS256", "jwk": attacker_jwk })),
        ("x5c", json!({ "alg": "HS256", "x5c": [b64url(b"not a certificate")] })),
        (
            "everything",
            json!({ "alg": "HS256", "jku": tripwire, "x5u": tripwire, "jwk": attacker_jwk, "kid": "../../../../dev/null" }),
        ),
    ];
    let forged: Vec<(&str, String)> =
        headers.iter().map(|(what, header)| (*what, sign(header.clone(), johndoe_claims(), ATTACKER_SECRET))).collect();
    assert_all_invalid(&server, &forged).await;

    // The same headers on a token the server did sign are ignored, not followed.
    for (what, header) in &headers {
        let token = sign(header.clone(), johndoe_claims(), SECRET);
        assert_eq!(server.get_bearer("/users/me/", &token).await.status, 200, "{what}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the server connected to a URL taken from a token");
}

// ---------------------------------------------------------------------------------------------
// POST /token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_form_variants_are_refused_clearly() {
    let server = serve().await;
    const PASSWORD: &str = "secret";
    let wrong = "hunter2-not-the-password";
    let field_errors = |reply: &Reply| -> Vec<(String, String)> {
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        body["detail"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", reply.body))
            .iter()
            .map(|e| (e["type"].as_str().unwrap().to_owned(), e["loc"][1].as_str().unwrap().to_owned()))
            .collect()
    };
    let pair = |kind: &str, field: &str| (kind.to_owned(), field.to_owned());

    // Duplicated fields: whichever copy counts would depend on the parser, so neither does.
    for (body, field) in [
        (format!("username=johndoe&username=johndoe&password={PASSWORD}"), "username"),
        (format!("username=johndoe&password={PASSWORD}&password={wrong}"), "password"),
        (format!("username=johndoe&password={wrong}&password={PASSWORD}"), "password"),
        (format!("grant_type=password&grant_type=password&username=johndoe&password={PASSWORD}"), "grant_type"),
        (format!("username=johndoe&password={PASSWORD}&scope=me&scope=items"), "scope"),
        (format!("username=johndoe&password={PASSWORD}&client_secret={wrong}&client_secret=x"), "client_secret"),
    ] {
        for path in ["/token", "/token/pair"] {
            let reply = server.post_form(path, body.clone()).await;
            assert_clear_4xx(&reply, &[wrong], &body);
            assert_eq!(reply.status, 422, "{body}");
            assert_eq!(field_errors(&reply), [pair("duplicate", field)], "{body}");
        }
    }

    // grant_type other than `password`, and missing fields.
    for (body, errors) in [
        (
            format!("grant_type=client_credentials&username=johndoe&password={PASSWORD}"),
            vec![pair("string_pattern_mismatch", "grant_type")],
        ),
        (
            format!("grant_type=PASSWORD&username=johndoe&password={PASSWORD}"),
            vec![pair("string_pattern_mismatch", "grant_type")],
        ),
        (
            format!("grant_type=password%00&username=johndoe&password={PASSWORD}"),
            vec![pair("string_pattern_mismatch", "grant_type")],
        ),
        (
            format!("grant_type=refresh_token&refresh_token={wrong}"),
            vec![
                pair("string_pattern_mismatch", "grant_type"),
                pair("missing", "username"),
                pair("missing", "password"),
            ],
        ),
        (String::new(), vec![pair("missing", "username"), pair("missing", "password")]),
        ("=&&==&".to_owned(), vec![pair("missing", "username"), pair("missing", "password")]),
        (
            format!("username[]=johndoe&password[]={wrong}"),
            vec![pair("missing", "username"), pair("missing", "password")],
        ),
        (format!("USERNAME=johndoe&PASSWORD={wrong}"), vec![pair("missing", "username"), pair("missing", "password")]),
        (format!("password={wrong}"), vec![pair("missing", "username")]),
        ("username=johndoe&password=".to_owned(), vec![pair("missing", "password")]),
    ] {
        let reply = server.post_form("/token", body.clone()).await;
        assert_clear_4xx(&reply, &[wrong], &body);
        assert_eq!(reply.status, 422, "{body}");
        assert_eq!(field_errors(&reply), errors, "{body}");
    }

    // Wrong media types: 415, whatever the body says.
    let form = format!("username=johndoe&password={PASSWORD}");
    for content_type in [
        "multipart/form-data; boundary=x",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded-evil",
        "application/x-www-form-urlencoded/x",
        "application/x-www-form-urlencodedd",
        "*/*",
        "",
        ";;;",
    ] {
        let request = server
            .client
            .post(format!("{}/token", server.base))
            .header(header::CONTENT_TYPE, content_type)
            .body(form.clone());
        let reply = server.send(content_type, request).await;
        assert_clear_4xx(&reply, &[wrong], content_type);
        assert_eq!(reply.status, 415, "{content_type}");
    }
    let multipart = format!(
        "--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njohndoe\r\n\
         --x\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{wrong}\r\n--x--\r\n"
    );
    let request = server
        .client
        .post(format!("{}/token", server.base))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .body(multipart);
    let reply = server.send("multipart", request).await;
    assert_clear_4xx(&reply, &[wrong], "multipart");
    assert_eq!(reply.status, 415);
    let reply = server
        .send(
            "json",
            server
                .client
                .post(format!("{}/token", server.base))
                .json(&json!({ "username": "johndoe", "password": wrong })),
        )
        .await;
    assert_clear_4xx(&reply, &[wrong], "json");
    assert_eq!(reply.status, 415);
    let request = server
        .client
        .post(format!("{}/token", server.base))
        .header(header::CONTENT_TYPE, HeaderValue::from_bytes(b"application/x-www-form-urlencoded\xff").unwrap())
        .body(form.clone());
    assert_eq!(server.send("obs-text content type", request).await.status, 415);

    // No content type at all: parsed as a form (a login needs the password anyway, and the
    // answer, a bearer token, is not readable cross-origin). Garbage is still 422.
    let no_type = |body: String| server.client.post(format!("{}/token", server.base)).body(body);
    let reply = server.send("no content type, garbage", no_type(format!("{{\"password\": \"{wrong}\"}}"))).await;
    assert_clear_4xx(&reply, &[wrong], "no content type, garbage");
    assert_eq!(reply.status, 422);
    let reply =
        server.send("no content type, wrong password", no_type(format!("username=johndoe&password={wrong}"))).await;
    assert_refused(&reply, 400, INCORRECT, &[wrong], "no content type, wrong password");

    // A charset parameter is fine.
    let request = server
        .client
        .post(format!("{}/token", server.base))
        .header(header::CONTENT_TYPE, "Application/X-WWW-Form-Urlencoded; charset=UTF-8")
        .body(form);
    assert_eq!(server.send("charset", request).await.status, 200);
}

#[tokio::test]
async fn token_bodies_over_the_limit_are_refused() {
    let server = serve().await;
    let password = "hunter2-not-the-password";
    // Declared length over the limit: refused before the body is read.
    let ten_mb = format!("username=johndoe&password={password}&pad={}", "a".repeat(10 * 1024 * 1024));
    let reply = oneshot(
        &server.state,
        Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, ten_mb.len())
            .body(Body::from(ten_mb.clone()))
            .unwrap(),
    )
    .await;
    assert_clear_4xx(&reply, &[password], "10 MB with content-length");
    assert_eq!(reply.status, 413);
    // No length declared: refused once 16 KiB have been read. (`map_frame` hides the size.)
    let unsized_body = http_body_util::Full::new(axum::body::Bytes::from(ten_mb.clone())).map_frame(|frame| frame);
    let reply = oneshot(
        &server.state,
        Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::new(unsized_body))
            .unwrap(),
    )
    .await;
    assert_clear_4xx(&reply, &[password], "10 MB without a length");
    assert_eq!(reply.status, 413);

    // Chunked over the socket: the server answers once it has read past the limit. The write may
    // then fail, the answer read before it is what counts; a reset before any answer is allowed.
    let head = "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
    let mut request = head.as_bytes().to_vec();
    let fields = format!("username=johndoe&password={password}&pad=");
    request.extend(format!("{:x}\r\n{fields}\r\n", fields.len()).as_bytes());
    for _ in 0..160 {
        request.extend(chunk.as_bytes());
    }
    request.extend(b"0\r\n\r\n");
    let (status, answer) = server.raw(&request).await;
    assert!(status == 413 || status == 0, "10 MB chunked: {}", shorten(&answer));
    assert!(!answer.contains(password), "10 MB chunked: echoed the password");

    // Over the socket too. The server may answer before reading it all and close; the client
    // then either reads the 413 or sees the connection go, and the server keeps serving.
    for (what, body) in
        [("10 MB", ten_mb), ("1 MB username", format!("username={}&password=x", "j".repeat(1024 * 1024)))]
    {
        let request = server
            .client
            .post(format!("{}/token", server.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        match limited(what, request.send()).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = limited(what, response.text()).await.unwrap_or_default();
                let reply = Reply { status, headers: HeaderMap::new(), body };
                assert_refused(&reply, 413, "Request body too large", &[password], what);
            }
            Err(error) => assert!(!error.is_timeout(), "{what}: {error}"),
        }
    }
    assert_eq!(server.get("/status/", &[]).await.status, 401, "the server still answers");

    // Just under the limit: a 15 KiB username, or password, is simply wrong.
    for body in [
        format!("username={}&password=secret", "j".repeat(15 * 1024)),
        format!("username=johndoe&password={}", "s".repeat(15 * 1024)),
        format!("username=johndoe&password=secret{}", "s".repeat(15 * 1024)),
    ] {
        let reply = server.post_form("/token", body.clone()).await;
        assert_refused(&reply, 400, INCORRECT, &[&"s".repeat(1024)], &shorten(&body));
    }
}

#[tokio::test]
async fn the_token_endpoint_grants_only_allowed_scopes() {
    let server = serve().await;
    for (scope, granted) in [
        ("me items admin root", &["me", "items"][..]),
        ("admin", &[]),
        ("*", &[]),
        ("ME ITEMS", &[]),
        ("me\u{0}admin", &[]),
        ("me%20admin", &[]),
        ("items\tadmin\nme", &["items", "me"]),
        ("admin\u{3000}me", &["me"]),
        ("me,items", &[]),
        ("me+items", &[]),
        ("\"me\"", &[]),
        ("me items me items", &["me", "items", "me", "items"]),
    ] {
        let token = server.token("johndoe", "secret", scope).await;
        let claims = server.state.jwt.verify(&token).unwrap();
        assert_eq!(claims.scopes.iter().map(String::as_str).collect::<Vec<_>>(), dedup(granted), "{scope:?}");
        assert!(claims.scopes.iter().all(|s| s == "me" || s == "items"), "{scope:?} granted {:?}", claims.scopes);
    }
    // A client-supplied `scopes` or `scope[]` field grants nothing.
    let reply = server.post_form("/token", "username=johndoe&password=secret&scopes=me+items&scope[]=me").await;
    let token: Value = serde_json::from_str(&reply.body).unwrap();
    let claims = server.state.jwt.verify(token["access_token"].as_str().unwrap()).unwrap();
    assert!(claims.scopes.is_empty(), "{:?}", claims.scopes);
}

fn dedup<'a>(scopes: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for scope in scopes {
        if !out.contains(scope) {
            out.push(scope);
        }
    }
    out
}

#[tokio::test]
async fn odd_usernames_and_encodings_never_log_in() {
    let server = serve().await;
    for body in [
        "username=j%C3%B6hndoe&password=secret",
        "username=%EF%BD%8A%EF%BD%8F%EF%BD%88%EF%BD%8E%EF%BD%84%EF%BD%8F%EF%BD%85&password=secret",
        "username=john%E2%80%8Bdoe&password=secret",
        "username=%D1%98ohndoe&password=secret",
        "username=%E2%80%AEeodnhoj&password=secret",
        "username=JOHNDOE&password=secret",
        "username=johndoe+&password=secret",
        "username=+johndoe&password=secret",
        "username=johndoe%00&password=secret",
        "username=johndoe%00admin&password=secret",
        "username=johndoe%&password=secret",
        "username=john%zzdoe&password=secret",
        "username=%ZZjohndoe&password=secret",
        "username=%FF%FE&password=%FF%FE",
        "username=johndoe&password=secret%",
        "username=johndoe&password=secre%74%",
        "username=johndoe&password=%EF%BD%93%EF%BD%85%EF%BD%83%EF%BD%92%EF%BD%85%EF%BD%94",
        "username=johndoe&password=SECRET",
        "username=johndoe&password=secret%00",
        "username=johndoe&password=secret+",
        "username=nobody&password=secret",
        "username=alice&password=secret",
    ] {
        let reply = server.post_form("/token", body).await;
        assert_refused(&reply, 400, INCORRECT, &["secret%", "secre%74"], body);
    }
    // Percent-encoding that decodes to the right bytes is just the right form.
    let reply = server.post_form("/token", "username=john%64oe&password=%73ecret").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_field_given_twice_is_refused_even_when_one_copy_is_empty() {
    let server = serve().await;
    // The doc says a duplicated field is invalid "since which copy counts would otherwise
    // depend on the parser"; a proxy that takes the first copy sees an empty username here.
    for body in [
        "username=&username=johndoe&password=secret",
        "username=johndoe&password=&password=secret",
        "grant_type=&grant_type=password&username=johndoe&password=secret",
    ] {
        let reply = server.post_form("/token", body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
    }
}

// ---------------------------------------------------------------------------------------------
// POST /refresh
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_variants_are_refused() {
    let server = serve().await;
    let (access, refresh) = server.pair().await;
    let post = |content_type: Option<&str>, body: String| {
        let mut request = server.client.post(format!("{}/refresh", server.base)).body(body);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type.to_owned());
        }
        request
    };
    let json_body = |value: Value| value.to_string();
    let forged_refresh = sign(
        json!({ "alg": "HS256", "typ": "refresh+jwt" }),
        json!({ "sub": "johndoe", "exp": now() + 600, "jti": "j", "fid": "f" }),
        ATTACKER_SECRET,
    );

    // Rejected by the JSON extractor before the app sees them: 4xx, never 5xx.
    for (what, content_type, body) in [
        ("not JSON", Some("application/json"), "garbage".to_owned()),
        ("text/plain", Some("text/plain"), json_body(json!({ "refresh_token": refresh }))),
        ("no content type", None, json_body(json!({ "refresh_token": refresh }))),
        ("form", Some("application/x-www-form-urlencoded"), format!("refresh_token={refresh}")),
        ("wrong field", Some("application/json"), json_body(json!({ "token": refresh }))),
        ("a number", Some("application/json"), json_body(json!({ "refresh_token": 5 }))),
        ("an array", Some("application/json"), json_body(json!({ "refresh_token": [refresh] }))),
        ("null", Some("application/json"), "null".to_owned()),
        ("empty", Some("application/json"), String::new()),
        ("truncated", Some("application/json"), format!("{{\"refresh_token\": \"{refresh}")),
        ("nested 3000 deep", Some("application/json"), format!("{}{}", "[".repeat(3000), "]".repeat(3000))),
        ("3 MB", Some("application/json"), json_body(json!({ "refresh_token": "a".repeat(3 * 1024 * 1024) }))),
    ] {
        let reply = server.send(what, post(content_type, body)).await;
        assert!((400..500).contains(&reply.status), "{what}: {} {}", reply.status, shorten(&reply.body));
        assert!(!reply.body.is_empty(), "{what}: no explanation");
    }

    // Tokens the app does see: 401 `Invalid token`.
    for (what, token) in [
        ("access token", access.clone()),
        ("garbage", "garbage".to_owned()),
        ("empty", String::new()),
        ("refresh token, tampered", format!("{refresh}x")),
        ("refresh token signed by another key", forged_refresh),
        ("refresh token under alg none", {
            let [_, p, _] = segments(&refresh);
            format!("{}.{p}.", b64url(br#"{"alg":"none","typ":"refresh+jwt"}"#))
        }),
    ] {
        let reply =
            server.send(what, post(Some("application/json"), json_body(json!({ "refresh_token": token })))).await;
        assert_refused(&reply, 401, INVALID_TOKEN, &[&token, &refresh, &access], what);
    }
    // A body over the 16 KiB limit is refused before it is parsed.
    let huge = "a".repeat(100 * 1024);
    let reply =
        server.send("100 kB", post(Some("application/json"), json_body(json!({ "refresh_token": huge })))).await;
    assert_refused(&reply, 413, "Request body too large", &[&huge, &refresh, &access], "100 kB");
    // None of that burnt the family: the real refresh token still rotates.
    let reply =
        server.send("rotate", post(Some("application/json"), json_body(json!({ "refresh_token": refresh })))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn refresh_rejections_are_json_details_that_never_echo_the_token() {
    let server = serve().await;
    let (_, refresh) = server.pair().await;
    for (what, body) in [
        ("the token as a bare JSON string", json!(refresh).to_string()),
        ("wrong field", json!({ "token": refresh }).to_string()),
        ("not JSON", format!("refresh_token={refresh}")),
    ] {
        let request = server
            .client
            .post(format!("{}/refresh", server.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        let reply = server.send(what, request).await;
        assert_no_echo(&reply, &[&refresh], what);
        assert_clear_4xx(&reply, &[&refresh], what);
    }
}

// ---------------------------------------------------------------------------------------------
// Cookie and API-key transports
// ---------------------------------------------------------------------------------------------

mod transports {
    use super::*;

    /// The scopes of this app.
    #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Scope {
        /// Read items.
        #[scope("items")]
        Items,
    }

    /// A cookie holding a JWT.
    #[derive(AuthBackend, Clone)]
    #[backend(name = "cookie", transport = cookie(name = "session", host_prefix = false), strategy = jwt)]
    pub(crate) struct CookieBackend {
        strategy: JwtStrategy,
    }

    /// An API key in a header.
    #[derive(AuthBackend, Clone)]
    #[backend(name = "header_key", transport = api_key(header = "x-api-key"), strategy = jwt)]
    pub(crate) struct HeaderKeyBackend {
        strategy: JwtStrategy,
    }

    /// An API key in the query string.
    #[derive(AuthBackend, Clone)]
    #[backend(name = "query_key", transport = api_key(query = "api_key"), strategy = jwt)]
    pub(crate) struct QueryKeyBackend {
        strategy: JwtStrategy,
    }

    #[derive(Clone, FromRef)]
    pub(crate) struct State {
        cookie: CookieBackend,
        header_key: HeaderKeyBackend,
        query_key: QueryKeyBackend,
    }

    #[secured(scopes = ["items"])]
    async fn items(user: Authenticated<(CookieBackend, HeaderKeyBackend, QueryKeyBackend)>) -> Json<Value> {
        Json(json!({ "backend": user.backend }))
    }

    pub(crate) fn app(strategy: &JwtStrategy) -> Router {
        let state = State {
            cookie: CookieBackend { strategy: strategy.clone() },
            header_key: HeaderKeyBackend { strategy: strategy.clone() },
            query_key: QueryKeyBackend { strategy: strategy.clone() },
        };
        Router::new().route("/items", get(items)).with_state(state)
    }
}

/// What the case is, the request URI, and its headers.
type TransportCase = (&'static str, String, Vec<(HeaderName, HeaderValue)>);

#[tokio::test]
async fn cookie_and_api_key_variants_are_refused() {
    let strategy = JwtStrategy::builder(JwtKey::hs256(SECRET)).build().unwrap();
    let token = strategy.issue("johndoe", &[transports::Scope::Items.as_str()]).unwrap();
    let no_scope = strategy.issue("johndoe", &[] as &[&str]).unwrap();
    let forged = sign(hs256(), json!({ "sub": "johndoe", "scopes": ["items"], "exp": now() + 600 }), ATTACKER_SECRET);
    let send = |uri: String, headers: Vec<(HeaderName, HeaderValue)>| {
        let app = transports::app(&strategy);
        async move {
            let mut request = Request::get(uri);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            limited("transport", async {
                let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
            })
            .await
        }
    };
    let cookie = |value: &[u8]| (header::COOKIE, HeaderValue::from_bytes(value).unwrap());
    let api_key = |value: &[u8]| (HeaderName::from_static("x-api-key"), HeaderValue::from_bytes(value).unwrap());

    // Controls: each transport works.
    for (uri, headers) in [
        ("/items".to_owned(), vec![cookie(format!("session={token}").as_bytes())]),
        ("/items".to_owned(), vec![api_key(token.as_bytes())]),
        (format!("/items?api_key={token}"), vec![]),
    ] {
        assert_eq!(send(uri, headers).await.status, 200);
    }

    let not_authenticated: Vec<TransportCase> = vec![
        ("empty cookie", "/items".into(), vec![cookie(b"session=")]),
        ("cookie without value", "/items".into(), vec![cookie(b"session")]),
        ("other cookie", "/items".into(), vec![cookie(format!("Session={token}").as_bytes())]),
        ("cookie twice", "/items".into(), vec![cookie(format!("session={token}; session={token}").as_bytes())]),
        (
            "cookie in two headers",
            "/items".into(),
            vec![cookie(format!("session={token}").as_bytes()), cookie(format!("session={token}").as_bytes())],
        ),
        ("cookie 64 kB", "/items".into(), vec![cookie(format!("session={}", "a".repeat(64 * 1024)).as_bytes())]),
        (
            "cookie obs-text",
            "/items".into(),
            vec![cookie([b"session=", token.as_bytes(), b"\xff"].concat().as_slice())],
        ),
        ("empty api key", "/items".into(), vec![api_key(b"")]),
        ("api key twice", "/items".into(), vec![api_key(token.as_bytes()), api_key(token.as_bytes())]),
        ("api key obs-text", "/items".into(), vec![api_key(b"\xff\xfe")]),
        ("api key 64 kB", "/items".into(), vec![api_key("a".repeat(64 * 1024).as_bytes())]),
        ("query key twice", format!("/items?api_key={token}&api_key={token}"), vec![]),
        ("query key empty", "/items?api_key=".into(), vec![]),
        ("query key other case", format!("/items?API_KEY={token}"), vec![]),
        ("query key 60 kB", format!("/items?api_key={}", "a".repeat(60 * 1024)), vec![]),
    ];
    for (what, uri, headers) in not_authenticated {
        let reply = send(uri, headers).await;
        assert_refused(&reply, 401, NOT_AUTHENTICATED, &[&token], what);
        assert_eq!(reply.www_authenticate(), Some("APIKey"), "{what}");
    }

    let invalid: Vec<TransportCase> = vec![
        ("forged cookie", "/items".into(), vec![cookie(format!("session={forged}").as_bytes())]),
        ("garbage cookie", "/items".into(), vec![cookie(b"session=garbage")]),
        ("cookie with a trailing quote", "/items".into(), vec![cookie(format!("session={token}x\"").as_bytes())]),
        ("forged api key", "/items".into(), vec![api_key(forged.as_bytes())]),
        ("api key with the bearer scheme", "/items".into(), vec![api_key(format!("Bearer {token}").as_bytes())]),
        ("forged query key", format!("/items?api_key={forged}"), vec![]),
        ("query key with bad percent-encoding", "/items?api_key=%zz%".into(), vec![]),
        ("query key with NUL", format!("/items?api_key={token}%00"), vec![]),
    ];
    for (what, uri, headers) in invalid {
        let reply = send(uri, headers).await;
        assert_refused(&reply, 401, COULD_NOT_VALIDATE, &[&token, &forged], what);
    }

    // A valid credential without the scope is not enough, in any transport.
    for (what, uri, headers) in [
        ("cookie", "/items".to_owned(), vec![cookie(format!("session={no_scope}").as_bytes())]),
        ("header", "/items".to_owned(), vec![api_key(no_scope.as_bytes())]),
        ("query", format!("/items?api_key={no_scope}"), vec![]),
    ] {
        let reply = send(uri, headers).await;
        assert_refused(&reply, 401, "Not enough permissions", &[&no_scope], what);
    }
}

#[tokio::test]
async fn docs_paths_never_escape_the_vendored_assets() {
    let server = serve().await;
    for path in [
        "/docs/../Cargo.toml",
        "/docs/%2e%2e/%2e%2e/Cargo.toml",
        "/docs/..%2f..%2fCargo.toml",
        "/docs/%2fetc%2fpasswd",
        "/docs//etc/passwd",
        "/docs/swagger-initializer.js%00.css",
        "/docs/%ff%fe",
        "/docs/index.html/..",
        &format!("/docs/{}", "a/".repeat(4000)),
    ] {
        let reply = server.send(path, server.client.get(format!("{}{path}", server.base))).await;
        assert!(matches!(reply.status, 200 | 400 | 404), "{}: {}", shorten(path), reply.status);
        assert!(!reply.body.contains("[workspace]") && !reply.body.contains("root:"), "{}", shorten(path));
    }
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

/// Every event (and span field) of auth-core and of the example app, formatted, for the whole
/// test binary: a `tracing` subscriber of our own, installed once as the global default.
fn captured_logs() -> &'static std::sync::Mutex<String> {
    use tracing::{
        Event, Metadata, Subscriber,
        field::{Field, Visit},
        span::{Attributes, Id, Record},
    };

    struct Capture(&'static std::sync::Mutex<String>);
    struct Fields<'a>(&'a mut String);
    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
    impl Subscriber for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            let target = metadata.target();
            target.starts_with("auth_core") || target.starts_with("hostile")
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut line = String::new();
            span.record(&mut Fields(&mut line));
            self.0.lock().unwrap().push_str(&format!("span{line}\n"));
            Id::from_u64(1)
        }
        fn record(&self, _span: &Id, values: &Record<'_>) {
            let mut line = String::new();
            values.record(&mut Fields(&mut line));
            self.0.lock().unwrap().push_str(&format!("record{line}\n"));
        }
        fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = format!("{} {}", event.metadata().level(), event.metadata().target());
            event.record(&mut Fields(&mut line));
            self.0.lock().unwrap().push_str(&format!("{line}\n"));
        }
        fn enter(&self, _span: &Id) {}
        fn exit(&self, _span: &Id) {}
    }

    static LOGS: std::sync::OnceLock<&'static std::sync::Mutex<String>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static std::sync::Mutex<String> = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Capture(logs)).expect("no other global subscriber");
        logs
    })
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let logs = captured_logs();
    let server = serve().await;
    // Unique to this test, so that other tests running meanwhile cannot put them in the log.
    const MARK: &str = "Zq7MarkOfThisTest";
    let password = format!("{MARK}-password");
    let forged =
        sign(hs256(), json!({ "sub": "johndoe", "scopes": ["me"], "exp": now() + 600, "x": MARK }), ATTACKER_SECRET);
    let garbage = format!("{MARK}.{MARK}.{MARK}");
    let (_, refresh) = server.pair().await;

    // Failed logins (a wrong password, an unknown user), and a successful one that upgrades the
    // tutorial's bcrypt hash, all with secrets.
    for body in [
        format!("username=johndoe&password={password}"),
        format!("username=nobody&password={password}"),
        format!("username=johndoe&password={password}&password={password}"),
        format!("grant_type=x&password={password}&client_secret={password}"),
    ] {
        assert!((400..500).contains(&server.post_form("/token", body).await.status));
    }
    assert_eq!(server.post_form("/token", "username=alice&password=secretalice").await.status, 200);
    // Bad tokens, every way they can fail.
    for token in [&forged, &garbage, &refresh] {
        assert_eq!(server.get_bearer("/users/me/", token).await.status, 401);
    }
    let expired = sign(hs256(), json!({ "sub": MARK, "scopes": ["me"], "exp": 1 }), SECRET);
    let unknown_user = sign(hs256(), json!({ "sub": MARK, "scopes": ["me"], "exp": now() + 600 }), SECRET);
    for token in [&expired, &unknown_user] {
        assert_eq!(server.get_bearer("/users/me/", token).await.status, 401);
    }
    // Refreshes with bad tokens, and a replayed one (which logs the family's revocation).
    for token in [&forged, &garbage, &expired] {
        let request = server.client.post(format!("{}/refresh", server.base)).json(&json!({ "refresh_token": token }));
        assert_eq!(server.send("refresh", request).await.status, 401);
    }
    for expected in [200, 401, 401] {
        let request = server.client.post(format!("{}/refresh", server.base)).json(&json!({ "refresh_token": refresh }));
        assert_eq!(server.send("replay", request).await.status, expected);
    }

    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("rejected a JWT"), "the capture works: {logs}");
    assert!(logs.contains("refresh token reused"), "the capture works: {logs}");
    for secret in [&password, &forged, &garbage, &refresh, &expired, &unknown_user] {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs: {}", shorten(secret));
    }
    // The mark itself is in claims and subjects; only the password must never show.
    assert!(!logs.contains("-password"), "{logs}");
}
