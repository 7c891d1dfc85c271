-- auth-core social login accounts, version 1 (SQLite). A template: `OAuthProvider::migrate`
-- replaces {table} with oauth_accounts and {users} with the users table, runs it once, and
-- records it in auth_core_migrations. To manage the schema with your own tool, copy it with both
-- replaced.
-- One row per provider account (oauth_name, account_id), linked to one user; deleting the user
-- deletes its rows. access_token and refresh_token are AES-256-GCM ciphertexts (`v1.` and
-- base64url of nonce, ciphertext and tag), under a key derived from the app's secret and bound
-- to the row's provider, account and column: never the provider's tokens in clear.
CREATE TABLE "{table}" (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES "{users}" (id) ON DELETE CASCADE,
    oauth_name TEXT NOT NULL,
    account_id TEXT NOT NULL,
    account_email TEXT NOT NULL,
    access_token TEXT NOT NULL,
    expires_at BIGINT,
    refresh_token TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX "{table}_account" ON "{table}" (oauth_name, account_id);
CREATE INDEX "{table}_user_id" ON "{table}" (user_id);
