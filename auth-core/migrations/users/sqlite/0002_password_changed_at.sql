-- auth-core users, version 2 (SQLite): when the password last changed (seconds since the Unix
-- epoch; 0 for never). Tokens issued at or before it are refused: sessions end with the
-- password (a reset, or a change through PATCH /users/…).
ALTER TABLE "{table}" ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;
