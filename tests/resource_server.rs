//! `examples/resource_server`, the binary itself, against panva's oidc-provider: every line of
//! the README's curl session, the metadata, the OpenAPI document, and the startup errors.

use std::{
    io::{BufRead, BufReader},
    net::{Ipv4Addr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use auth_tests::idp::TestIdp;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

/// The example's executable: built by `cargo test --workspace` next to this test's own
/// directory, or built here.
fn executable() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let example = profile_dir.join("examples/resource_server");
    if !example.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "auth-examples", "--example", "resource_server"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example resource_server failed");
    }
    example
}

/// The example, running until dropped.
struct Example {
    child: Child,
    base: String,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(issuer: &str) -> Example {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let mut child = Command::new(executable())
        .env("OIDC_ISSUER", issuer)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("AUDIENCE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = sender.send(line);
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    // Owned before the check, so a failed start does not leave the process behind.
    let example = Example { child, base: format!("http://127.0.0.1:{port}") };
    let line = receiver.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    assert!(line.starts_with("Serving the resource server on"), "the example did not start: {line:?}");
    example
}

async fn token(idp: &TestIdp, scope: &str) -> String {
    let body: Value = Client::new()
        .post(idp.token_endpoint())
        .basic_auth("app", Some("app-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope), ("resource", "https://api.example.test")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn call(method: reqwest::Method, url: String, token: Option<&str>) -> (StatusCode, String, Value) {
    let mut request = Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge =
        response.headers().get(header::WWW_AUTHENTICATE).map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

#[tokio::test]
async fn the_example_answers_as_its_readme_says() {
    use reqwest::Method;
    let idp = TestIdp::start();
    let example = start(&idp.issuer);
    let url = |path: &str| format!("{}{path}", example.base);
    let metadata = r#"resource_metadata="https://api.example.test/.well-known/oauth-protected-resource""#;

    let reader = token(&idp, "items:read").await;
    assert_eq!(
        call(Method::GET, url("/items"), Some(&reader)).await,
        (StatusCode::OK, String::new(), json!([{ "item_id": "Foo", "owner": "app" }]))
    );
    assert_eq!(
        call(Method::POST, url("/items"), Some(&reader)).await,
        (
            StatusCode::FORBIDDEN,
            format!(r#"Bearer error="insufficient_scope", scope="items:write", {metadata}"#),
            json!({ "detail": "Not enough permissions" })
        )
    );
    assert_eq!(call(Method::GET, url("/admin"), Some(&reader)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        call(Method::GET, url("/items"), None).await,
        (StatusCode::UNAUTHORIZED, format!("Bearer {metadata}"), json!({ "detail": "Not authenticated" }))
    );
    assert_eq!(
        call(Method::GET, url("/items"), Some("garbage")).await,
        (
            StatusCode::UNAUTHORIZED,
            format!(r#"Bearer error="invalid_token", scope="items:read", {metadata}"#),
            json!({ "detail": "Could not validate credentials" })
        )
    );

    let admin = token(&idp, "items:read items:write admin").await;
    assert_eq!(call(Method::GET, url("/admin"), Some(&admin)).await.2, json!({ "admin": true }));
    assert_eq!(call(Method::POST, url("/items"), Some(&admin)).await.0, StatusCode::CREATED);

    let (status, _, document) = call(Method::GET, url("/.well-known/oauth-protected-resource"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        document,
        json!({
            "resource": "https://api.example.test",
            "authorization_servers": [idp.issuer],
            "scopes_supported": ["items:read", "items:write", "admin"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Resource server",
        })
    );

    let (status, _, openapi) = call(Method::GET, url("/openapi.json"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        openapi["components"]["securitySchemes"]["OpenIdConnect"],
        json!({ "type": "openIdConnect", "openIdConnectUrl": format!("{}/.well-known/openid-configuration", idp.issuer) })
    );
    assert_eq!(openapi["paths"]["/items"]["get"]["security"], json!([{ "OpenIdConnect": ["items:read"] }]));
    assert_eq!(openapi["paths"]["/items"]["post"]["security"], json!([{ "OpenIdConnect": ["items:write"] }]));
    assert_eq!(openapi["paths"]["/admin"]["get"]["security"], json!([{ "OpenIdConnect": ["admin"] }]));
    let docs = Client::new().get(url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"), "Swagger UI at /docs");
}

#[test]
fn a_missing_or_unreachable_issuer_stops_it_with_the_reason() {
    let run = |issuer: Option<&str>| {
        let mut command = Command::new(executable());
        command.env("BIND_ADDR", "127.0.0.1:0").env_remove("OIDC_ISSUER");
        if let Some(issuer) = issuer {
            command.env("OIDC_ISSUER", issuer);
        }
        let output = command.output().unwrap();
        assert!(!output.status.success());
        String::from_utf8(output.stderr).unwrap()
    };
    let missing = run(None);
    assert!(missing.contains("OIDC_ISSUER is not set"), "{missing}");
    let unreachable = run(Some("http://127.0.0.1:9"));
    assert!(
        unreachable.contains("cannot use the OpenID provider at http://127.0.0.1:9")
            && unreachable.contains("connection failed"),
        "{unreachable}"
    );
}
