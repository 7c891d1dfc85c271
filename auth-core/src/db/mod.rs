//! Plumbing of the stores: the timeout policy of every store and identity-provider call, and,
//! with a database feature, the sqlx pools, table names and migrations shared by the token store
//! ([`DatabaseStrategy`](crate::strategies::DatabaseStrategy)) and the users store
//! (`UserStore`, feature `users`).
//!
//! # Timeouts
//!
//! One policy, stated here and only here:
//!
//! - **Stores: 2 seconds** unless configured, for every statement of the
//!   token and users databases and every Redis command, pool acquisition or reconnection
//!   included. A store answers in milliseconds when it is well; past 2 seconds it is not, and
//!   the request fails fast with 503 ([`AuthError::Unavailable`](crate::error::AuthError))
//!   instead of holding a connection and a task. Opening a database pool waits as long for the
//!   first connection, so that a wrong URL fails at startup (Redis: four times as long, its
//!   connection manager retrying within). A migration runs several statements
//!   in one transaction, so it may take the longer of the store's timeout and 30 seconds.
//! - **Identity providers: 10 seconds** unless configured, for each discovery, JWKS or
//!   introspection request from connecting to the last byte of the body, of which at most 5
//!   seconds for the TCP and TLS handshake. It is longer because the provider is another
//!   service, often across the internet, reached over a fresh TLS connection, and asked rarely:
//!   discovery documents and keys are cached, and introspection answers for a while, so a slow
//!   provider costs one request now and then rather than every request.
//!
//! Each builder's `timeout` setting overrides its default; the docs of every store link here
//! rather than restate the figures. Nothing here is for applications to call: the module holds
//! the policy's one statement, and the crate's own plumbing.

use std::time::Duration;

#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
mod migrate;
#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
mod pool;

#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
pub(crate) use migrate::{Migration, migrate};
#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
pub(crate) use pool::*;

/// How long one store operation may take unless configured; see [the policy](self#timeouts).
#[cfg_attr(not(any(feature = "database-sqlite", feature = "database-postgres", feature = "redis")), allow(dead_code))]
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The least time a migration is given; see [the policy](self#timeouts).
#[cfg_attr(not(any(feature = "database-sqlite", feature = "database-postgres")), allow(dead_code))]
pub(crate) const MIGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one identity-provider request may take unless configured; see
/// [the policy](self#timeouts).
#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an identity provider's TCP and TLS handshake may take unless configured; see
/// [the policy](self#timeouts).
#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
pub(crate) const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
