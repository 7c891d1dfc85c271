-- auth-core ApiKeys: the API key table (postgres).
-- A template: `ApiKeys::migrate` replaces {table} with the configured, validated table name
-- (default api_keys) and runs it once, recorded in auth_core_migrations. To manage the schema
-- with your own migration tool instead, copy this file with {table} replaced.
-- Keys are never stored: key_hash is the lowercase hex HMAC-SHA256 of the key under the
-- server's secret; prefix and last4 are what listings show.
CREATE TABLE IF NOT EXISTS "{table}" (
    id TEXT PRIMARY KEY NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    last4 TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
-- Every key of one owner: listings, and revoking them all at a password change.
CREATE INDEX IF NOT EXISTS "{table}_owner" ON "{table}" (owner);
