//! Notes that belong to someone: who may touch which record, declared with the scopes.
//!
//! - Scopes: `notes:read`, `notes:write`, and `admin`, which implies both.
//! - Policies: [`can_read_note`] (the owner, or someone the note is shared with; it hides the
//!   note from anyone else, who is answered 404) and [`owner_of_note`].
//! - The record: [`Note`] is a [`Resource`], loaded from the database by its `{id}`, once per
//!   request, before the handler runs; a handler takes it as `Authorized<Note, Claims>`.
//! - `GET /notes` takes `Authorized<Vec<Note>, Claims>`: the same rule filters the list.
//!
//! The example binary and the integration tests both include this module.
#![allow(unreachable_pub, dead_code)]

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use auth_core::{
    AuthError, Authenticated, OAuth2PasswordRequestForm, ScopeDeclaration, Scopes,
    authz::{Authorized, Resource},
    openapi::{SecurityDoc, swagger_ui},
    password::Passwords,
    policy,
    response::TokenResponse,
    secured,
    strategies::jwt::{Claims, JwtError, JwtKey, JwtStrategy},
    transport::OAuth2PasswordBearer,
};
use axum::{
    Json, Router,
    extract::{FromRef, Path, State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

/// The scopes this API grants.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the notes you may see.
    #[scope("notes:read")]
    NotesRead,
    /// Write, share and delete your notes.
    #[scope("notes:write")]
    NotesWrite,
    /// Administer every note.
    #[scope("admin", implies = ["notes:read", "notes:write"])]
    Admin,
}

/// How long an access token lives.
pub const ACCESS_TOKEN_EXPIRE: Duration = Duration::from_secs(30 * 60);

/// A note, as stored and as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct Note {
    /// Its id, in the path of `/notes/{id}`.
    pub id: i64,
    /// The username of whoever wrote it.
    pub owner: String,
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// The usernames it is shared with (they may read it).
    pub shared_with: Vec<String>,
}

/// The body of `POST /notes`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewNote {
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
}

/// A user: an argon2id hash, and the scopes the user may be granted.
#[derive(Clone, Debug)]
pub struct UserInDb {
    /// argon2id PHC string.
    pub hashed_password: String,
    /// The scopes the user may be granted.
    pub allowed_scopes: Vec<Scope>,
}

/// Where the notes live: SQLite (the default, a file created on first run) or PostgreSQL.
#[derive(Clone, Debug)]
pub enum NoteStore {
    /// A SQLite database.
    Sqlite(sqlx::SqlitePool),
    /// A PostgreSQL database.
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool: the SQL is written once.
macro_rules! on_store {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            NoteStore::Sqlite($pool) => $body,
            NoteStore::Postgres($pool) => $body,
        }
    };
}

/// A store that failed: logged, and answered 503 `Authentication service unavailable`.
fn unavailable(error: sqlx::Error) -> AuthError {
    tracing::error!(%error, "the notes database failed");
    AuthError::Unavailable
}

impl NoteStore {
    /// Opens `url` (`sqlite://…`, created if missing, or `postgres://…`) and creates the
    /// tables on first run.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        use std::str::FromStr;
        let options = sqlx::pool::PoolOptions::new().acquire_timeout(Duration::from_secs(2));
        let store = if url.starts_with("sqlite:") {
            let connect = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .busy_timeout(Duration::from_secs(2));
            NoteStore::Sqlite(options.connect_with(connect).await?)
        } else {
            NoteStore::Postgres(
                sqlx::pool::PoolOptions::new().acquire_timeout(Duration::from_secs(2)).connect(url).await?,
            )
        };
        let notes = match store {
            NoteStore::Sqlite(_) => {
                "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)"
            }
            NoteStore::Postgres(_) => {
                "CREATE TABLE IF NOT EXISTS notes (id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)"
            }
        };
        let shares = "CREATE TABLE IF NOT EXISTS note_shares (note_id BIGINT NOT NULL REFERENCES notes(id) ON DELETE CASCADE, \
                      username TEXT NOT NULL, PRIMARY KEY (note_id, username))";
        on_store!(&store, |pool| {
            sqlx::query(notes).execute(pool).await?;
            sqlx::query(shares).execute(pool).await?;
        });
        Ok(store)
    }

    async fn shares(&self, id: i64) -> Result<Vec<String>, sqlx::Error> {
        let sql = "SELECT username FROM note_shares WHERE note_id = $1 ORDER BY username";
        on_store!(self, |pool| sqlx::query_scalar(sql).bind(id).fetch_all(pool).await)
    }

    /// The note `id`, if there is one.
    pub async fn get(&self, id: i64) -> Result<Option<Note>, sqlx::Error> {
        let sql = "SELECT id, owner, title, body FROM notes WHERE id = $1";
        let row: Option<(i64, String, String, String)> =
            on_store!(self, |pool| sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?;
        let Some((id, owner, title, body)) = row else { return Ok(None) };
        let shared_with = self.shares(id).await?;
        Ok(Some(Note { id, owner, title, body, shared_with }))
    }

    /// Every note, oldest first.
    pub async fn all(&self) -> Result<Vec<Note>, sqlx::Error> {
        let rows: Vec<(i64, String, String, String)> = on_store!(self, |pool| {
            sqlx::query_as("SELECT id, owner, title, body FROM notes ORDER BY id").fetch_all(pool).await
        })?;
        let shares: Vec<(i64, String)> = on_store!(self, |pool| {
            sqlx::query_as("SELECT note_id, username FROM note_shares ORDER BY username").fetch_all(pool).await
        })?;
        let mut by_note: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, username) in shares {
            by_note.entry(id).or_default().push(username);
        }
        Ok(rows
            .into_iter()
            .map(|(id, owner, title, body)| Note {
                shared_with: by_note.remove(&id).unwrap_or_default(),
                id,
                owner,
                title,
                body,
            })
            .collect())
    }

    /// Stores a new note of `owner`'s.
    pub async fn insert(&self, owner: &str, new: &NewNote) -> Result<Note, sqlx::Error> {
        let sql = "INSERT INTO notes (owner, title, body) VALUES ($1, $2, $3) RETURNING id";
        let id: i64 = on_store!(self, |pool| {
            sqlx::query_scalar(sql).bind(owner).bind(&new.title).bind(&new.body).fetch_one(pool).await
        })?;
        Ok(Note { id, owner: owner.to_owned(), title: new.title.clone(), body: new.body.clone(), shared_with: vec![] })
    }

    /// Shares note `id` with `username` (again: no change).
    pub async fn share(&self, id: i64, username: &str) -> Result<(), sqlx::Error> {
        let sql = "INSERT INTO note_shares (note_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        on_store!(self, |pool| sqlx::query(sql).bind(id).bind(username).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Deletes note `id` and its shares.
    pub async fn delete(&self, id: i64) -> Result<(), sqlx::Error> {
        on_store!(self, |pool| {
            sqlx::query("DELETE FROM note_shares WHERE note_id = $1").bind(id).execute(pool).await?;
            sqlx::query("DELETE FROM notes WHERE id = $1").bind(id).execute(pool).await.map(drop)
        })?;
        Ok(())
    }
}

/// Everything the handlers share, behind one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<App>);

/// What [`AppState`] shares.
pub struct App {
    /// The users, in memory.
    pub users: HashMap<String, UserInDb>,
    /// Issues and verifies access tokens.
    pub jwt: JwtStrategy,
    /// argon2id hashing off the async workers.
    pub passwords: Passwords,
    /// The notes.
    pub notes: NoteStore,
    /// How many times the loader ran (`Note::load` and `Note::load_all`): each request that
    /// takes a note loads it once.
    pub loads: AtomicUsize,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

/// The users: `(name, password, scopes they may be granted)`.
pub const USERS: [(&str, &str, &[Scope]); 4] = [
    ("alice", "alice-password", &[Scope::NotesRead, Scope::NotesWrite]),
    ("bob", "bob-password", &[Scope::NotesRead, Scope::NotesWrite]),
    ("carol", "carol-password", &[Scope::NotesRead]),
    ("root", "root-password", &[Scope::Admin]),
];

impl AppState {
    /// The app's state: the users hashed with argon2id (once, at startup), tokens signed with
    /// `secret_key`, the notes in `notes`.
    pub async fn new(secret_key: &[u8], notes: NoteStore) -> Result<Self, JwtError> {
        let jwt = JwtStrategy::builder(JwtKey::hs256(secret_key)).lifetime(ACCESS_TOKEN_EXPIRE).build()?;
        let passwords = Passwords::builder().build();
        let mut users = HashMap::new();
        for (name, password, scopes) in USERS {
            let hashed_password = passwords.hash(password).await.expect("hashing a password at startup");
            users.insert(name.to_owned(), UserInDb { hashed_password, allowed_scopes: scopes.to_vec() });
        }
        Ok(Self(Arc::new(App { users, jwt, passwords, notes, loads: AtomicUsize::new(0) })))
    }
}

impl Resource for Note {
    type Id = i64;
    type State = AppState;

    async fn load(id: i64, app: &AppState) -> Result<Option<Note>, AuthError> {
        app.loads.fetch_add(1, Ordering::Relaxed);
        app.notes.get(id).await.map_err(unavailable)
    }

    async fn load_all(app: &AppState) -> Result<Vec<Note>, AuthError> {
        app.loads.fetch_add(1, Ordering::Relaxed);
        app.notes.all().await.map_err(unavailable)
    }
}

/// Its owner, or a user it is shared with; anyone else is told it does not exist.
#[policy(hide)]
pub fn can_read_note(claims: &Claims, note: &Note) -> bool {
    let Some(me) = claims.sub.as_deref() else { return false };
    note.owner == me || note.shared_with.iter().any(|user| user == me)
}

/// Its owner.
#[policy]
pub fn owner_of_note(claims: &Claims, note: &Note) -> bool {
    claims.sub.as_deref() == Some(note.owner.as_str())
}

/// The OAuth2 scheme this app documents.
pub fn oauth2_scheme() -> OAuth2PasswordBearer {
    OAuth2PasswordBearer::new::<Scope>("token")
}

/// A request body that is not what the route reads: 422, `{"detail": …}`.
fn bad_body(rejection: JsonRejection) -> Response {
    let detail = match rejection {
        JsonRejection::MissingJsonContentType(_) => "send the note as JSON (Content-Type: application/json)".to_owned(),
        other => format!("expected {{\"title\": string, \"body\": string}}: {}", other.body_text()),
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({ "detail": detail }))).into_response()
}

/// `POST /token`: the OAuth2 password flow, granting the requested scopes the user may have
/// (`admin`'s user may ask for what `admin` implies).
#[utoipa::path(post, path = "/token", responses(
    (status = 200, description = "An access token", body = TokenResponse),
    (status = 400, description = "Incorrect username or password"),
))]
#[secured]
pub async fn login(State(app): State<AppState>, form: OAuth2PasswordRequestForm) -> Result<TokenResponse, AuthError> {
    let user = app.users.get(&form.username);
    // An unknown username costs what a wrong password costs.
    let verified =
        app.passwords.verify_and_upgrade(&form.password, user.map(|user| user.hashed_password.as_str())).await?;
    let Some(user) = user.filter(|_| verified.valid) else { return Err(AuthError::IncorrectLogin) };
    let allowed = user
        .allowed_scopes
        .iter()
        .flat_map(|scope| std::iter::once(scope.as_str()).chain(Scope::implied(scope.as_str()).iter().copied()));
    let scopes = form.scopes_within(allowed);
    Ok(TokenResponse::bearer(app.jwt.issue(&form.username, &scopes)?))
}

/// Writes a note; the caller owns it.
#[utoipa::path(post, path = "/notes", request_body = NewNote, responses((status = 201, description = "The note", body = Note)))]
#[secured(scopes = ["notes:write"])]
pub async fn create_note(
    State(app): State<AppState>,
    Authenticated(claims): Authenticated<Claims>,
    body: Result<Json<NewNote>, JsonRejection>,
) -> Result<(StatusCode, Json<Note>), Response> {
    let Json(new) = body.map_err(bad_body)?;
    let owner = claims.sub.as_deref().ok_or_else(|| AuthError::invalid_credentials().into_response())?;
    let note = app.notes.insert(owner, &new).await.map_err(|error| unavailable(error).into_response())?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// The notes the caller may read: their own and those shared with them; every note for
/// `admin`.
#[utoipa::path(get, path = "/notes", responses((status = 200, description = "The notes", body = Vec<Note>)))]
#[secured(scopes = ["notes:read"], allow = can_read_note | scope("admin"))]
pub async fn list_notes(notes: Authorized<Vec<Note>, Claims>) -> Json<Vec<Note>> {
    Json(notes.into_inner())
}

/// One note.
#[utoipa::path(get, path = "/notes/{id}", responses((status = 200, description = "The note", body = Note)))]
#[secured(scopes = ["notes:read"], allow = can_read_note | scope("admin"))]
pub async fn read_note(note: Authorized<Note, Claims>) -> Json<Note> {
    Json(note.into_inner())
}

/// Shares a note with another user, who may then read it.
#[utoipa::path(
    put,
    path = "/notes/{id}/shares/{username}",
    params(("username" = String, Path, description = "The user to share the note with")),
    responses((status = 204, description = "Shared"), (status = 422, description = "There is no such user")),
)]
#[secured(scopes = ["notes:write"], allow = (can_read_note | scope("admin")) & owner_of_note)]
pub async fn share_note(
    State(app): State<AppState>,
    note: Authorized<Note, Claims>,
    Path((_, username)): Path<(String, String)>,
) -> Result<StatusCode, Response> {
    if !app.users.contains_key(&username) {
        let detail = serde_json::json!({ "detail": format!("there is no user `{}`", username.escape_debug()) });
        return Err((StatusCode::UNPROCESSABLE_ENTITY, Json(detail)).into_response());
    }
    app.notes.share(note.id, &username).await.map_err(|error| unavailable(error).into_response())?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a note.
#[utoipa::path(delete, path = "/notes/{id}", responses((status = 204, description = "Deleted")))]
#[secured(scopes = ["notes:write"], allow = (can_read_note & owner_of_note) | scope("admin"))]
pub async fn delete_note(State(app): State<AppState>, note: Authorized<Note, Claims>) -> Result<StatusCode, AuthError> {
    app.notes.delete(note.id).await.map_err(unavailable)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The document's info.
#[derive(OpenApi)]
#[openapi(info(title = "notes", version = "0.1.0", description = "Notes that belong to someone."))]
struct ApiDoc;

/// The routes and the OpenAPI document generated from them.
pub fn documented(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(auth_core::routes!(login))
        .routes(auth_core::routes!(create_note, list_notes))
        .routes(auth_core::routes!(read_note, delete_note))
        .routes(auth_core::routes!(share_note))
        .split_for_parts();
    SecurityDoc::new().scheme::<Claims>(oauth2_scheme()).apply(&mut api);
    api.info.license = None;
    (router.with_state(state), api)
}

/// The app: its routes, `/openapi.json` and Swagger UI at `/docs`, answering in RFC 6750
/// style (403 `insufficient_scope` for a missing scope).
pub fn app(state: AppState) -> Router {
    let (router, api) = documented(state);
    router.merge(swagger_ui(api)).layer(axum::middleware::map_response(AuthError::rfc6750))
}
