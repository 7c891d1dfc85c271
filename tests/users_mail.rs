//! The verify and reset mails through a real SMTP server (aiosmtpd on loopback, started by the
//! test from the users tests' venv): the token is read out of the delivered mail and completes
//! verify and reset. Also: a mail that cannot be sent does not fail the request.

#[path = "users/test_app.rs"]
mod test_app;

use auth_core::users::Mailer;
use auth_tests::SmtpSink;
use serde_json::{Value, json};
use test_app::{Auth, Db, Options, TestApp, unique};

const PUBLIC_URL: &str = "https://app.example.com";

/// A parsed mail: its headers and its text and HTML parts, decoded.
struct Mail {
    headers: String,
    text: String,
    html: String,
}

fn parse(raw: &str) -> Mail {
    let raw = raw.replace("\r\n", "\n");
    let (headers, body) = raw.split_once("\n\n").expect("headers and body");
    let boundary = headers
        .split("boundary=")
        .nth(1)
        .map(|rest| rest.trim_start_matches('"').split(['"', ';', '\n']).next().unwrap().to_owned())
        .expect("a multipart mail");
    let mut text = String::new();
    let mut html = String::new();
    for part in body.split(&format!("--{boundary}")).skip(1) {
        let Some((part_headers, content)) = part.trim_start_matches('\n').split_once("\n\n") else { continue };
        let lower = part_headers.to_ascii_lowercase();
        let decoded = if lower.contains("content-transfer-encoding: quoted-printable") {
            decode_quoted_printable(content)
        } else if lower.contains("content-transfer-encoding: base64") {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content.split_whitespace().collect::<String>())
                .unwrap();
            String::from_utf8(bytes).unwrap()
        } else {
            content.to_owned()
        };
        if lower.contains("content-type: text/plain") {
            text = decoded;
        } else if lower.contains("content-type: text/html") {
            html = decoded;
        }
    }
    Mail { headers: headers.to_owned(), text, html }
}

fn decode_quoted_printable(content: &str) -> String {
    let joined = content.replace("=\n", "");
    let mut out = Vec::new();
    let mut rest = joined.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = tail
            .get(..2)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) if first == b'=' => {
                out.push(byte);
                rest = &tail[2..];
            }
            _ => {
                out.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The token of the link to `{PUBLIC_URL}/{page}?token=…` in `text`.
fn token_in(text: &str, page: &str) -> String {
    let prefix = format!("{PUBLIC_URL}/{page}?token=");
    let start = text.find(&prefix).unwrap_or_else(|| panic!("no {prefix} link in {text}")) + prefix.len();
    text[start..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_reset_through_smtp() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();

    let mut options = Options::new(Db::Sqlite(dir.path().join("users.sqlite")));
    options.mailer = Mailer::builder(PUBLIC_URL, "Camelot <noreply@camelot.bt>")
        .app_name("Camelot")
        .smtp(sink.url())
        .build()
        .unwrap();
    let app = TestApp::start(options).await;
    let email = format!("gareth-{}@camelot.bt", unique());
    app.register(&email, "guinevere").await;

    // Verify: the token comes out of the mail, and works.
    assert_eq!(app.post("/auth/request-verify-token", json!({ "email": email }), &Auth::None).await.status, 202);
    let mail = parse(&sink.wait_for(1)[0]);
    assert!(mail.headers.contains(&format!("To: {email}")), "{}", mail.headers);
    assert!(mail.headers.contains("From: Camelot <noreply@camelot.bt>"), "{}", mail.headers);
    assert!(mail.headers.contains("Subject: Confirm your email address"), "{}", mail.headers);
    assert!(mail.text.contains("Camelot"), "{}", mail.text);
    let token = token_in(&mail.text, "verify");
    assert_eq!(token_in(&mail.html, "verify"), token, "the HTML part links to the same page");
    assert!(mail.html.contains(&format!("<a href=\"{PUBLIC_URL}/verify?token={token}\">")), "{}", mail.html);
    let res = app.post("/auth/verify", json!({ "token": token }), &Auth::None).await;
    assert_eq!((res.status.as_u16(), &res.body["is_verified"]), (200, &json!(true)));

    // Reset: likewise, and the new password works.
    assert_eq!(
        app.post("/auth/forgot-password", json!({ "email": email.to_uppercase() }), &Auth::None).await.status,
        202
    );
    let mail = parse(&sink.wait_for(2)[1]);
    assert!(mail.headers.contains("Subject: Reset your password"), "{}", mail.headers);
    let token = token_in(&mail.text, "reset-password");
    assert_eq!(token_in(&mail.html, "reset-password"), token);
    let res = app.post("/auth/reset-password", json!({ "token": token, "password": "excalibur" }), &Auth::None).await;
    assert_eq!(res.pair(), (200, Value::Null));
    assert_eq!(app.login("jwt", &email, "excalibur").await.status, 200);
    // Used once, it is spent.
    let res = app.post("/auth/reset-password", json!({ "token": token, "password": "excalibur 2" }), &Auth::None).await;
    assert_eq!(res.detail(), "RESET_PASSWORD_BAD_TOKEN");

    // Nothing is sent for an address without an account.
    app.post("/auth/forgot-password", json!({ "email": format!("nobody-{}@camelot.bt", unique()) }), &Auth::None).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_send_does_not_fail_the_request() {
    // Nothing listens on this port: every send fails (and is logged).
    let port = auth_tests::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(Db::Sqlite(dir.path().join("users.sqlite")));
    options.mailer =
        Mailer::builder(PUBLIC_URL, "noreply@camelot.bt").smtp(format!("smtp://127.0.0.1:{port}")).build().unwrap();
    let app = TestApp::start(options).await;
    let email = format!("dagonet-{}@camelot.bt", unique());
    app.register(&email, "guinevere").await;
    for route in ["/auth/request-verify-token", "/auth/forgot-password"] {
        assert_eq!(app.post(route, json!({ "email": email }), &Auth::None).await.pair(), (202, Value::Null));
    }
    // The hooks still ran: the app can see the tokens even though no mail went out.
    assert!(!app.recorder.token(true, &email).await.is_empty());
}

#[test]
fn an_smtp_delivery_shows_no_url() {
    let builder = Mailer::builder("https://app.example", "App <noreply@app.example>");
    let shown = format!("{:?}", builder.smtp("smtps://user:hunter2@smtp.example"));
    assert!(shown.contains("Smtp") && !shown.contains("hunter2") && !shown.contains("smtp.example"), "{shown}");
}
