//! Macros for the crate's own code.

/// Builder setters that store one value, with their docs: `name(arg: Type) => field = value;`
/// is `pub fn name(mut self, arg: Type) -> Self { self.field = value; self }`, and
/// `name() => field = value;` takes no argument. After a leading `const`, they are `const fn`s.
macro_rules! setters {
    (const $($(#[$attr:meta])* $name:ident($arg:ident: $ty:ty) => $($field:ident).+ = $value:expr;)*) => {
        $(
            $(#[$attr])*
            pub const fn $name(mut self, $arg: $ty) -> Self {
                self.$($field).+ = $value;
                self
            }
        )*
    };
    ($($(#[$attr:meta])* $name:ident($($arg:ident: $ty:ty)?) => $($field:ident).+ = $value:expr;)*) => {
        $(
            $(#[$attr])*
            pub fn $name(mut self $(, $arg: $ty)?) -> Self {
                self.$($field).+ = $value;
                self
            }
        )*
    };
}
pub(crate) use setters;

/// [`Credential`](crate::Credential) and [`Authenticate`](crate::Authenticate) for a wrapper
/// `$carrier<C>` that carries credential `C`'s token somewhere else: documented as `scheme`,
/// read by `read`, then `C`'s principal, scopes and verification, with a `Bearer` challenge.
macro_rules! token_carrier {
    ($carrier:ident, $scheme:expr, |$parts:ident| $read:expr) => {
        impl<C: $crate::Credential> $crate::Credential for $carrier<C> {
            type Principal = C::Principal;
            const SCHEME_NAME: &'static str = stringify!($carrier);

            fn scheme() -> $crate::security::SchemeKind {
                $scheme
            }

            fn granted_scopes(principal: &C::Principal) -> &[String] {
                C::granted_scopes(principal)
            }

            /// A bearer token, whatever carried it.
            fn challenge() -> $crate::error::Challenge {
                $crate::error::Challenge::Bearer
            }

            fn read($parts: &::axum::http::request::Parts) -> Result<::std::borrow::Cow<'_, str>, $crate::AuthError> {
                $read.ok_or($crate::AuthError::NotAuthenticated { challenge: $crate::error::Challenge::Bearer })
            }
        }

        impl<C: $crate::Authenticate<S>, S: Send + Sync> $crate::Authenticate<S> for $carrier<C> {
            async fn verify(
                token: &str,
                state: &S,
            ) -> Result<(C::Principal, $crate::security::Lifetime), $crate::AuthError> {
                C::verify(token, state).await
            }
        }
    };
}
pub(crate) use token_carrier;
