-- auth-core users, version 1 (SQLite). A template: `UserStore::migrate` replaces {table} with the
-- configured, validated table name (default users), runs it once, and records it in
-- auth_core_migrations. To manage the schema with your own tool, copy it with {table} replaced.
-- email is the address as given (normalised); email_key is what makes it unique, computed by
-- auth-core (case-folded, NFKC, ASCII domain), so both databases agree on what "same" means.
CREATE TABLE "{table}" (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    hashed_password TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    is_verified BOOLEAN NOT NULL DEFAULT FALSE,
    fields TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX "{table}_email_key" ON "{table}" (email_key);
