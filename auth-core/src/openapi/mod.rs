//! OpenAPI from the declarations, on utoipa (feature `openapi`): each operation's `security`
//! from its own handler's requirement (`#[secured]`'s), `components.securitySchemes`
//! from the credentials those requirements name, and the request bodies auth-core reads. This
//! module renders; it decides nothing.
//!
//! Route with [`routes!`](crate::routes) instead of `utoipa_axum::routes!`, and finish the
//! document with a [`SecurityDoc`]:
//!
//! ```ignore
//! let (router, mut api) = OpenApiRouter::new()
//!     .routes(auth_core::routes!(login_for_access_token))
//!     .routes(auth_core::routes!(read_users_me))
//!     .routes(auth_core::routes!(read_own_items))
//!     .split_for_parts();
//! SecurityDoc::new().scheme::<Claims>(OAuth2PasswordBearer::new::<Scope>("token")).apply(&mut api);
//! ```
//!
//! The scopes in `security` are those in force where each credential is extracted: the
//! handler's own followed by those of every dependency down to the credential, outermost first,
//! without duplicates. They are never written by hand.

#[cfg(feature = "openapi")]
pub(crate) mod document;
#[cfg(feature = "swagger-ui")]
mod swagger;

#[cfg(feature = "openapi")]
pub use document::SecurityDoc;
#[cfg(feature = "openapi")]
pub(crate) use document::document_operation;
#[cfg(all(feature = "openapi", feature = "users"))]
pub(crate) use document::{validation_error_response, validation_error_schemas};
#[cfg(feature = "swagger-ui")]
pub use swagger::swagger_ui;

/// `utoipa_axum::routes!` for `#[secured]` handlers: the same `(schemas, paths, router)`, with
/// each operation documenting its own handler's requirement (its `security`) and the request
/// body it reads when that is one of auth-core's forms (with the 422 it answers).
///
/// Every handler given must be `#[secured]` (with or without scopes; a handler that reads no
/// credential is documented without `security`) and carry `#[utoipa::path(…)]`. Handlers that
/// share a path each keep their own requirement.
#[cfg(feature = "openapi")]
#[macro_export]
macro_rules! routes {
    ($($handler:path),+ $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::__private::utoipa_axum::PathItemExt as _;
        let mut paths = $crate::__private::utoipa::openapi::path::Paths::new();
        let mut schemas = $crate::__private::std::vec::Vec::<(
            $crate::__private::std::string::String,
            $crate::__private::utoipa::openapi::RefOr<$crate::__private::utoipa::openapi::schema::Schema>,
        )>::new();
        let mut router = $crate::__private::axum::routing::MethodRouter::new();
        $(
            let (path, mut operation, methods) =
                $crate::__private::utoipa_axum::routes!(@resolve_types $handler : schemas);
            $crate::__private::document_operation::<$handler>(&mut operation, &mut schemas);
            // Where the state becomes known: a parameter that is no extractor for it is
            // reported at the parameter, before axum reports the handler as a whole.
            $crate::__private::check_handler::<$handler, _, _>(&router);
            router = methods.iter().fold(router, |router, method| {
                $crate::__private::route_on(router, method.to_method_filter(), $handler)
            });
            paths.add_path_operation(&path, methods, operation);
        )+
        (schemas, paths, router)
    }};
}
