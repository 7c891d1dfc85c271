// Minting an API key with a scope the app does not declare: the scopes are the declaration's
// variants, so a misspelt one is a compile error at the scope, naming the declared one.
use auth_core::{AuthError, Scopes, strategies::ApiKeys};

/// The app's scopes.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the reports.
    #[scope("reports")]
    Reports,
}

async fn mint(keys: ApiKeys) -> Result<String, AuthError> {
    let (key, _) = keys.mint("alice", &["reports"], "ci", &[Scope::Reprots], None).await?;
    Ok(key)
}

fn main() {
    let _ = mint;
}
