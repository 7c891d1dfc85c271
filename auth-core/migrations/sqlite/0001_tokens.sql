-- auth-core DatabaseStrategy: the token table (SQLite).
-- A template: `DatabaseStrategy::migrate` replaces {table} with the configured, validated table
-- name (default auth_tokens) and runs it once, recorded in auth_core_migrations. To manage the
-- schema with your own migration tool instead, copy this file with {table} replaced.
-- Tokens are never stored: token_hash is the lowercase hex SHA-256 of the token.
CREATE TABLE IF NOT EXISTS "{table}" (
    token_hash TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS "{table}_expires_at" ON "{table}" (expires_at);
-- Every token of one subject, for ending a user's sessions at a password change.
CREATE INDEX IF NOT EXISTS "{table}_subject" ON "{table}" (subject);
