//! One scopes declaration for several services, in a crate of its own, as real workspaces keep
//! it. Other crates use it with `use shared_scopes::Scope;` or
//! `#[secured(declaration = shared_scopes::permissions::Permission, …)]`, and get the
//! same compile-time checks as in this crate.

/// The declarations, in a module: they are reached by path, like any item.
pub mod permissions {
    use auth_core::Scopes;

    /// The scopes every service of the workspace knows.
    #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Scope {
        /// Read information about the current user.
        #[scope("me")]
        Me,
        /// Read items.
        #[scope("items")]
        Items,
    }

    /// Fine-grained permissions, named otherwise than `Scope`.
    #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Permission {
        /// Read items.
        #[scope("items:read")]
        ReadItems,
        /// Write items.
        #[scope("items:write")]
        WriteItems,
    }

    /// A declaration this crate keeps to itself: its visibility decides who may use it.
    #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
    #[allow(dead_code)]
    pub(crate) enum Internal {
        /// Run maintenance.
        #[scope("maintenance")]
        Maintenance,
    }
}

pub use permissions::Scope;

/// This crate uses its own declarations, as any crate does.
#[auth_core::secured(scopes = ["me"])]
pub async fn whoami() -> &'static str {
    "me"
}

/// The crate-private declaration works inside the crate.
#[auth_core::secured(scopes = ["maintenance"], declaration = permissions::Internal)]
pub async fn maintenance() -> &'static str {
    "maintenance"
}
