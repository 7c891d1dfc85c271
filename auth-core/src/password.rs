//! Password hashing and verification (argon2id; legacy bcrypt behind a feature).
