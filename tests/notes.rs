//! examples/notes on a real loopback socket: who may touch which record. The order (401, then
//! scopes, then 404, then 403), existence hidden from those who may not read, policies
//! composed with scopes, scope implication, the list filtered by the same rule, the record
//! loaded once per request (the loader's calls counted), and a store that is down (503). And
//! its OpenAPI document: a reviewed snapshot, and what it must say.

#[path = "../examples/notes/app.rs"]
mod app;

use std::sync::atomic::Ordering;

use auth_tests::ScratchDir;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const SECRET: &[u8] = b"notes-test-secret-0123456789abcdef-0123456789";

struct Server {
    base: String,
    client: Client,
    state: app::AppState,
    _dir: ScratchDir,
}

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    #[track_caller]
    fn is(&self, status: u16, detail: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.json(), json!({ "detail": detail }));
    }
}

async fn serve() -> Server {
    let dir = ScratchDir::new("notes");
    let url = format!("sqlite://{}", dir.0.join("notes.sqlite").display());
    serve_on(&url, dir).await
}

async fn serve_on(url: &str, dir: ScratchDir) -> Server {
    let notes = app::NoteStore::connect(url).await.unwrap();
    let state = app::AppState::new(SECRET, notes).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server { base, client: Client::new(), state, _dir: dir }
}

impl Server {
    async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let www_authenticate = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        Reply { status, www_authenticate, body: response.text().await.unwrap() }
    }

    async fn token(&self, username: &str, scope: &str) -> String {
        let password = format!("{username}-password");
        let form = [("username", username), ("password", password.as_str()), ("scope", scope)];
        let response = self.client.post(format!("{}/token", self.base)).form(&form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn create(&self, token: &str, title: &str) -> i64 {
        let reply = self.send(Method::POST, "/notes", Some(token), Some(json!({ "title": title, "body": "…" }))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.json()["id"].as_i64().unwrap()
    }

    fn loads(&self) -> usize {
        self.state.loads.load(Ordering::SeqCst)
    }

    /// What `request` answers, and how many times it ran the loader.
    async fn counted(&self, method: Method, path: &str, token: Option<&str>) -> (Reply, usize) {
        let before = self.loads();
        let reply = self.send(method, path, token, None).await;
        (reply, self.loads() - before)
    }
}

/// Everyone's tokens: alice and bob write, carol only reads, root is `admin` only.
struct Tokens {
    alice: String,
    bob: String,
    carol: String,
    root: String,
}

async fn tokens(server: &Server) -> Tokens {
    Tokens {
        alice: server.token("alice", "notes:read notes:write").await,
        bob: server.token("bob", "notes:read notes:write").await,
        carol: server.token("carol", "notes:read").await,
        root: server.token("root", "admin").await,
    }
}

#[tokio::test]
async fn a_created_note_is_the_callers_and_reads_back() {
    let server = serve().await;
    let t = tokens(&server).await;
    let reply = server.send(Method::POST, "/notes", Some(&t.alice), Some(json!({"title": "t", "body": "b"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.json()["id"].as_i64().unwrap();
    assert_eq!(reply.json(), json!({ "id": id, "owner": "alice", "title": "t", "body": "b", "shared_with": [] }));
    let read = server.send(Method::GET, &format!("/notes/{id}"), Some(&t.alice), None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), reply.json());
    // carol may not write.
    let refused = server.send(Method::POST, "/notes", Some(&t.carol), Some(json!({"title": "t", "body": "b"}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.www_authenticate.unwrap().contains("insufficient_scope"));
    // A body that is not a note: 422 with a detail.
    let bad = server.send(Method::POST, "/notes", Some(&t.alice), Some(json!({"title": 1}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["detail"].as_str().unwrap().contains("title"));
}

#[tokio::test]
async fn the_order_is_401_then_scopes_then_404_then_403_and_nothing_is_loaded_before_the_scopes() {
    let server = serve().await;
    let t = tokens(&server).await;
    let id = server.create(&t.alice, "alice's").await;
    let shared = format!("/notes/{id}/shares/bob");
    assert_eq!(server.send(Method::PUT, &shared, Some(&t.alice), None).await.status, StatusCode::NO_CONTENT);
    let note = format!("/notes/{id}");
    let missing = "/notes/999999";

    // 1. No token, or a bad one: 401, whatever the record, and nothing loaded.
    for path in [note.as_str(), missing] {
        let (reply, loads) = server.counted(Method::DELETE, path, None).await;
        reply.is(401, "Not authenticated");
        assert_eq!(loads, 0);
        let (reply, loads) = server.counted(Method::DELETE, path, Some("not-a-token")).await;
        reply.is(401, "Could not validate credentials");
        assert!(reply.www_authenticate.unwrap().contains("invalid_token"));
        assert_eq!(loads, 0);
    }
    // 2. A token without `notes:write` (carol's): 403 insufficient_scope, before any load, for a
    //    note that exists and for one that does not.
    for path in [note.as_str(), missing] {
        let (reply, loads) = server.counted(Method::DELETE, path, Some(&t.carol)).await;
        reply.is(403, "Not enough permissions");
        assert!(reply.www_authenticate.unwrap().contains("error=\"insufficient_scope\""));
        assert_eq!(loads, 0, "loaded before the scopes were checked");
    }
    // 3. The scopes hold, no such note: 404, loaded once.
    let (reply, loads) = server.counted(Method::DELETE, missing, Some(&t.bob)).await;
    reply.is(404, "Not Found");
    assert_eq!(loads, 1);
    // 4. The note exists, bob can read it but does not own it: 403 from the policy, without a
    //    challenge (another token would not help), loaded once.
    let (reply, loads) = server.counted(Method::DELETE, &note, Some(&t.bob)).await;
    reply.is(403, "Not enough permissions");
    assert_eq!(reply.www_authenticate, None);
    assert_eq!(loads, 1);
    // And the owner: 204, then it is gone.
    let (reply, loads) = server.counted(Method::DELETE, &note, Some(&t.alice)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(loads, 1);
    server.send(Method::GET, &note, Some(&t.alice), None).await.is(404, "Not Found");
}

#[tokio::test]
async fn a_note_is_hidden_from_whoever_may_not_read_it() {
    let server = serve().await;
    let t = tokens(&server).await;
    let id = server.create(&t.alice, "private").await;
    let note = format!("/notes/{id}");
    let nonexistent = server.send(Method::GET, "/notes/999999", Some(&t.bob), None).await;
    let hidden = server.send(Method::GET, &note, Some(&t.bob), None).await;
    // The same answer as for a note that does not exist: status, body, headers.
    hidden.is(404, "Not Found");
    assert_eq!(
        (hidden.status, hidden.body.clone(), hidden.www_authenticate.clone()),
        (nonexistent.status, nonexistent.body, nonexistent.www_authenticate)
    );
    // Its owner reads it; shared with carol, carol does too.
    assert_eq!(server.send(Method::GET, &note, Some(&t.alice), None).await.status, StatusCode::OK);
    server.send(Method::GET, &note, Some(&t.carol), None).await.is(404, "Not Found");
    let share = format!("/notes/{id}/shares/carol");
    assert_eq!(server.send(Method::PUT, &share, Some(&t.alice), None).await.status, StatusCode::NO_CONTENT);
    let read = server.send(Method::GET, &note, Some(&t.carol), None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["shared_with"], json!(["carol"]));
    // Sharing: 403 for carol, who can see it now but does not own it; 404 for bob, who cannot
    // see it; and bob cannot delete what he cannot see either (404, not 403).
    server.send(Method::PUT, &format!("{note}/shares/bob"), Some(&t.bob), None).await.is(404, "Not Found");
    let carol_token = server.token("carol", "notes:read").await;
    let carol_shares = server.send(Method::PUT, &format!("{note}/shares/bob"), Some(&carol_token), None).await;
    // carol lacks `notes:write`: refused at the scopes before the record is looked at.
    assert_eq!(carol_shares.status, StatusCode::FORBIDDEN);
    assert!(carol_shares.www_authenticate.unwrap().contains("insufficient_scope"));
    server.send(Method::DELETE, &note, Some(&t.bob), None).await.is(404, "Not Found");
    // A malformed id names no note: 404 with a detail, never a 500.
    for path in ["/notes/abc", "/notes/1.5", "/notes/99999999999999999999999", "/notes/%00"] {
        server.send(Method::GET, path, Some(&t.alice), None).await.is(404, "Not Found");
    }
}

#[tokio::test]
async fn share_is_for_the_owner_and_a_reader_who_does_not_own_gets_403() {
    let server = serve().await;
    let t = tokens(&server).await;
    let id = server.create(&t.alice, "to share").await;
    let base = format!("/notes/{id}/shares");
    assert_eq!(
        server.send(Method::PUT, &format!("{base}/bob"), Some(&t.alice), None).await.status,
        StatusCode::NO_CONTENT
    );
    // Twice is the same.
    assert_eq!(
        server.send(Method::PUT, &format!("{base}/bob"), Some(&t.alice), None).await.status,
        StatusCode::NO_CONTENT
    );
    // bob sees it, does not own it: 403.
    server.send(Method::PUT, &format!("{base}/carol"), Some(&t.bob), None).await.is(403, "Not enough permissions");
    // root sees every note (admin) but owns none: 403.
    server.send(Method::PUT, &format!("{base}/carol"), Some(&t.root), None).await.is(403, "Not enough permissions");
    // A user that does not exist: 422 with a detail.
    let reply = server.send(Method::PUT, &format!("{base}/mallory"), Some(&t.alice), None).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.json()["detail"].as_str().unwrap().contains("mallory"));
    let read = server.send(Method::GET, &format!("/notes/{id}"), Some(&t.bob), None).await;
    assert_eq!(read.json()["shared_with"], json!(["bob"]));
}

#[tokio::test]
async fn admin_is_the_alternative_to_the_owner_and_implies_the_note_scopes() {
    let server = serve().await;
    let t = tokens(&server).await;
    let id = server.create(&t.bob, "bob's").await;
    let note = format!("/notes/{id}");
    // root's token carries `admin` only: `notes:read` and `notes:write` are implied.
    let claims = server.state.jwt.verify(&t.root).unwrap();
    assert_eq!(claims.scopes, ["admin"]);
    assert_eq!(server.send(Method::GET, &note, Some(&t.root), None).await.status, StatusCode::OK);
    assert_eq!(server.send(Method::GET, "/notes", Some(&t.root), None).await.status, StatusCode::OK);
    // root deletes bob's note through `scope("admin")`, the owner's alternative.
    let (reply, loads) = server.counted(Method::DELETE, &note, Some(&t.root)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(loads, 1);
    // A token for root without `admin` (root may ask for what `admin` implies): no alternative.
    let id = server.create(&t.bob, "bob's again").await;
    let reader = server.token("root", "notes:read notes:write").await;
    server.send(Method::GET, &format!("/notes/{id}"), Some(&reader), None).await.is(404, "Not Found");
    server.send(Method::DELETE, &format!("/notes/{id}"), Some(&reader), None).await.is(404, "Not Found");
    // carol cannot get `admin`, nor what it implies beyond her own scopes.
    let carol = server.token("carol", "admin notes:write notes:read").await;
    assert_eq!(server.state.jwt.verify(&carol).unwrap().scopes, ["notes:read"]);
}

#[tokio::test]
async fn the_list_shows_what_the_single_record_rule_allows_and_loads_once() {
    let server = serve().await;
    let t = tokens(&server).await;
    let a1 = server.create(&t.alice, "a1").await;
    let a2 = server.create(&t.alice, "a2").await;
    let b1 = server.create(&t.bob, "b1").await;
    let shared = format!("/notes/{a2}/shares/bob");
    assert_eq!(server.send(Method::PUT, &shared, Some(&t.alice), None).await.status, StatusCode::NO_CONTENT);
    let ids = |reply: &Reply| -> Vec<i64> {
        reply.json().as_array().unwrap().iter().map(|note| note["id"].as_i64().unwrap()).collect()
    };
    let mut seen = Vec::new();
    for (token, expected) in
        [(&t.alice, vec![a1, a2]), (&t.bob, vec![a2, b1]), (&t.carol, vec![]), (&t.root, vec![a1, a2, b1])]
    {
        let (reply, loads) = server.counted(Method::GET, "/notes", Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(ids(&reply), expected);
        assert_eq!(loads, 1);
        // Every listed note reads back one by one, and every other one is hidden: one rule.
        for id in [a1, a2, b1] {
            let single = server.send(Method::GET, &format!("/notes/{id}"), Some(token), None).await;
            assert_eq!(single.status == StatusCode::OK, expected.contains(&id), "note {id}: {}", single.body);
        }
        seen.push(expected);
    }
    server.send(Method::GET, "/notes", None, None).await.is(401, "Not authenticated");
    assert_eq!(seen.len(), 4);
}

#[tokio::test]
async fn a_store_that_is_down_is_503_after_the_scopes() {
    let server = serve().await;
    let t = tokens(&server).await;
    let id = server.create(&t.alice, "before the outage").await;
    match &server.state.notes {
        app::NoteStore::Sqlite(pool) => pool.close().await,
        app::NoteStore::Postgres(pool) => pool.close().await,
    }
    let note = format!("/notes/{id}");
    server.send(Method::GET, &note, Some(&t.alice), None).await.is(503, "Authentication service unavailable");
    server.send(Method::GET, "/notes", Some(&t.alice), None).await.is(503, "Authentication service unavailable");
    // Still 401 and scope refusals first.
    server.send(Method::GET, &note, None, None).await.is(401, "Not authenticated");
    assert_eq!(server.send(Method::DELETE, &note, Some(&t.carol), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_same_rules_hold_with_the_notes_in_postgresql() {
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    // The database is shared with other tests and runs: only this run's notes are looked at.
    let server = serve_on(&url, ScratchDir::new("notes-postgres")).await;
    assert!(matches!(server.state.notes, app::NoteStore::Postgres(_)));
    let t = tokens(&server).await;
    let a = server.create(&t.alice, "alice on postgres").await;
    let b = server.create(&t.bob, "bob on postgres").await;
    server.send(Method::GET, &format!("/notes/{a}"), Some(&t.bob), None).await.is(404, "Not Found");
    let share = format!("/notes/{a}/shares/bob");
    assert_eq!(server.send(Method::PUT, &share, Some(&t.alice), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(server.send(Method::PUT, &share, Some(&t.alice), None).await.status, StatusCode::NO_CONTENT);
    let read = server.send(Method::GET, &format!("/notes/{a}"), Some(&t.bob), None).await;
    assert_eq!(read.json()["shared_with"], json!(["bob"]));
    let listed = |reply: &Reply| -> Vec<i64> {
        reply.json().as_array().unwrap().iter().map(|note| note["id"].as_i64().unwrap()).collect()
    };
    let bobs = listed(&server.send(Method::GET, "/notes", Some(&t.bob), None).await);
    assert!(bobs.contains(&a) && bobs.contains(&b), "{bobs:?}");
    let carols = listed(&server.send(Method::GET, "/notes", Some(&t.carol), None).await);
    assert!(!carols.contains(&a) && !carols.contains(&b), "{carols:?}");
    server.send(Method::DELETE, &format!("/notes/{a}"), Some(&t.bob), None).await.is(403, "Not enough permissions");
    let (reply, loads) = server.counted(Method::DELETE, &format!("/notes/{a}"), Some(&t.root)).await;
    assert_eq!((reply.status, loads), (StatusCode::NO_CONTENT, 1));
    assert_eq!(
        server.send(Method::DELETE, &format!("/notes/{b}"), Some(&t.bob), None).await.status,
        StatusCode::NO_CONTENT
    );
    server.send(Method::GET, &format!("/notes/{b}"), Some(&t.bob), None).await.is(404, "Not Found");
}

/// The document the example serves at `/openapi.json`.
fn document() -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (_, api) = app::documented(runtime.block_on(state_alone()));
    serde_json::to_value(&api).unwrap()
}

/// The state alone, for the document: no server, the notes in memory.
async fn state_alone() -> app::AppState {
    let notes = app::NoteStore::connect("sqlite::memory:").await.unwrap();
    app::AppState::new(SECRET, notes).await.unwrap()
}

#[test]
fn notes_document_snapshot() {
    // `tests/openapi/validate.sh` runs openapi-spec-validator on this snapshot.
    insta::assert_json_snapshot!("notes_openapi", document());
}

#[test]
fn the_document_shows_the_policies_their_answers_and_the_implied_scopes() {
    let doc = document();
    let scopes = &doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["scopes"];
    assert_eq!(scopes["admin"], "Administer every note. Implies `notes:read`, `notes:write`.");
    assert_eq!(scopes["notes:read"], "Read the notes you may see.");
    let delete = &doc["paths"]["/notes/{id}"]["delete"];
    // No redundant alternative: `scope("admin")` of the rule is not a second `security` entry.
    assert_eq!(delete["security"], json!([{ "OAuth2PasswordBearer": ["notes:write"] }]));
    for status in ["401", "403", "404"] {
        assert!(delete["responses"][status]["description"].is_string(), "{status}: {delete}");
    }
    assert_eq!(delete["x-authorization"]["rule"], "(can_read_note & owner_of_note) | scope(\"admin\")");
    let policies = delete["x-authorization"]["policies"].as_array().unwrap();
    let names: Vec<&str> = policies.iter().map(|policy| policy["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["can_read_note", "owner_of_note"]);
    assert_eq!(policies[0]["hidesExistence"], true);
    assert_eq!(policies[1]["description"], "Its owner.");
    let description = delete["description"].as_str().unwrap();
    assert!(description.contains("`owner_of_note`: Its owner."), "{description}");
    assert!(description.contains("`can_read_note`: Its owner, or a user it is shared with"), "{description}");
    let id = delete["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "id").unwrap();
    assert_eq!((id["in"].as_str(), id["required"].as_bool()), (Some("path"), Some(true)));
    assert_eq!(id["schema"]["type"], "integer");
    // The list: filtered, no 404, no path parameter of ours.
    let list = &doc["paths"]["/notes"]["get"];
    assert_eq!(list["x-authorization"]["filtersList"], true);
    assert!(list["responses"]["404"].is_null());
    assert!(list["responses"]["403"].is_object());
    // An operation without a rule gains nothing.
    assert!(doc["paths"]["/notes"]["post"]["x-authorization"].is_null());
}
