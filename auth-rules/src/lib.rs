//! Implementation detail of [auth-core](https://docs.rs/auth-core): the definitions of its
//! transports and the rules of its cookie options, shared by the runtime and the derive.
//!
//! - auth-core checks `CookieOptionsBuilder::build` with [`cookie::CookieRules::check`], in
//!   `const` context, so a cookie built in a `static` is checked at compile time.
//! - auth-macros checks `#[derive(AuthBackend)]`'s `transport = …(…)` against
//!   [`transport::TRANSPORTS`] and each cookie option with the same rules, reporting at the
//!   option with the precise [`cookie::Flaw`].
//!
//! Depend on `auth-core`, which re-exports what users need; this crate's API may change in any
//! release.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cookie;
pub mod transport;
