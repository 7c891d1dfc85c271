//! The declaration's trait impls, and the `macro_rules!` matcher `#[secured]` checks through.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::parse::Declaration;
use crate::attr::crate_path;

/// The prefix of the hidden matcher macro; it is re-exported under the enum's own name.
pub(crate) const MATCHER_PREFIX: &str = "__auth_scopes_";

/// The trait impls of a declaration whose variants are all well formed.
pub(crate) fn impls(decl: &Declaration<'_>) -> TokenStream {
    let krate = crate_path(decl.krate.as_ref());
    let ident = decl.ident;
    let names: Vec<&str> = decl.scopes.iter().map(|s| s.name.as_str()).collect();
    let variants: Vec<&syn::Ident> = decl.scopes.iter().map(|s| s.variant).collect();
    // The transitive closure of each scope's implications, worked out here once, so a request
    // reads a table; and the description OpenAPI shows says what the scope implies.
    let closures: Vec<Vec<&str>> = (0..decl.scopes.len())
        .map(|i| super::validate::implied_closure(decl, i).into_iter().map(|j| names[j]).collect())
        .collect();
    let descriptions: Vec<String> =
        decl.scopes.iter().zip(&closures).map(|(scope, implied)| describe(&scope.description, implied)).collect();

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::ScopeDeclaration for #ident {
                const ALL: &'static [#krate::ScopeInfo] = &[
                    #( #krate::ScopeInfo { name: #names, description: #descriptions, implies: &[#(#closures),*] }, )*
                ];

                fn as_str(&self) -> &'static str {
                    match *self { #( #ident::#variants => #names, )* }
                }

                fn from_scope_str(scope: &str) -> #krate::__private::core::option::Option<Self> {
                    match scope {
                        #( #names => #krate::__private::core::option::Option::Some(#ident::#variants), )*
                        _ => #krate::__private::core::option::Option::None,
                    }
                }
            }

            #[automatically_derived]
            impl #krate::__private::core::str::FromStr for #ident {
                type Err = #krate::__private::ParseScopeError;

                fn from_str(scope: &str) -> #krate::__private::core::result::Result<Self, Self::Err> {
                    <Self as #krate::ScopeDeclaration>::from_scope_str(scope)
                        .ok_or_else(|| #krate::__private::ParseScopeError::new(scope))
                }
            }

            #[automatically_derived]
            impl #krate::__private::core::fmt::Display for #ident {
                fn fmt(&self, f: &mut #krate::__private::core::fmt::Formatter<'_>) -> #krate::__private::core::fmt::Result {
                    f.write_str(<Self as #krate::ScopeDeclaration>::as_str(self))
                }
            }

            #[automatically_derived]
            impl #krate::__private::core::convert::AsRef<str> for #ident {
                fn as_ref(&self) -> &str {
                    <Self as #krate::ScopeDeclaration>::as_str(self)
                }
            }

            #[automatically_derived]
            impl #krate::__private::serde::Serialize for #ident {
                fn serialize<S: #krate::__private::serde::Serializer>(&self, serializer: S) -> #krate::__private::core::result::Result<S::Ok, S::Error> {
                    serializer.serialize_str(<Self as #krate::ScopeDeclaration>::as_str(self))
                }
            }

            #[automatically_derived]
            impl<'de> #krate::__private::serde::Deserialize<'de> for #ident {
                fn deserialize<D: #krate::__private::serde::Deserializer<'de>>(deserializer: D) -> #krate::__private::core::result::Result<Self, D::Error> {
                    #krate::__private::deserialize_scope(deserializer)
                }
            }
        };
    }
}

/// The doc comment, followed by what the scope implies: `Administer. Implies `a`, `b`.`
fn describe(doc: &str, implied: &[&str]) -> String {
    if implied.is_empty() {
        return doc.to_owned();
    }
    let list = implied.iter().map(|scope| format!("`{scope}`")).collect::<Vec<_>>().join(", ");
    if doc.is_empty() { format!("Implies {list}.") } else { format!("{doc} Implies {list}.") }
}

/// The `macro_rules!` matcher `#[secured]` expands through, re-exported under the enum's name.
///
/// `#[secured]` writes its function's scopes as `Scope! { scopes: Scope, [::auth_core], [["a"],
/// ["b"]] }`, in the expression position of the function's `SCOPES`. The matcher checks each
/// literal against the declared scopes (`macro_rules!` itself settles a declared one, so it
/// costs no proc-macro call; only a literal that matches none, or is spelt another way, goes to
/// `__check_scopes!`, which explains the error at the literal), and expands to the value, which
/// names the declaration's type: so the enum's own visibility decides who may use it, where it
/// is named. A single declared scope settles in the first expansion. With `declared: None` (a
/// declaration that did not compile) it accepts every scope, so the declaration's own error is
/// the only one reported.
///
/// The matcher is `#[macro_export]`ed under a name no one writes (the enum's name and where it
/// is declared), and re-exported next to the enum under the enum's own name. So the
/// declaration is reached like any item: `use decl::Scope;` or `declaration = decl::Scope` from
/// another crate brings the type and its matcher together.
pub(crate) fn matcher(ident: &syn::Ident, declared: Option<&[&str]>) -> TokenStream {
    let matcher = format_ident!("{MATCHER_PREFIX}{}_{:016x}", ident, location_hash(ident));
    let ident_str = ident.to_string();
    // `$krate` is the path to auth-core where `#[secured]` is written, one bracketed token tree
    // (`[::auth_core]`), so it can be passed along inside repetitions.
    // A declaration that compiled names its table (`all_in`, whose `ScopeDeclaration` bound
    // carries the implications); one that did not is only named (`all_of`), so its own error
    // stands alone.
    let (all, any) = match declared {
        Some(_) => (quote!(all_in), quote!(any_in)),
        None => (quote!(all_of), quote!(any_of)),
    };
    let value = quote! {
        (value: $declaration:path, [$($krate:tt)*], [[$($scope:literal),*]]) => {
            $($krate)*::__private::RequiredScopes::#all::<$declaration>(&[$($scope),*])
        };
        (value: $declaration:path, [$($krate:tt)*], [$([$($scope:literal),*]),+]) => {
            $($krate)*::__private::RequiredScopes::#any::<$declaration>(&[$(&[$($scope),*]),+])
        };
    };
    // What `#[secured]`'s common path writes, `Scope! { ["a"] Scope [$crate] }`: the literal
    // first, so each arm that does not match fails at its first token, and a single declared
    // scope becomes a path to a constant of `ScopeAt` (no array or call to check in each
    // function's constant). Anything else goes on to the `scopes:` arms.
    let forward = quote! {
        ([$($scope:literal),+] $declaration:ident $krate:tt) => {
            $declaration! { scopes: $declaration, $krate, [[$($scope),+]] }
        };
    };
    let rules = match declared {
        Some(names) => {
            let index = (0..names.len()).map(proc_macro2::Literal::usize_unsuffixed);
            quote! {
            #( ([#names] $declaration:ident [$($krate:tt)*]) => {
                $($krate)*::__private::ScopeAt::<$declaration, #index>::REQUIRED
            }; )*
            #forward
            #( (scopes: $declaration:path, [$($krate:tt)*], [[#names]]) => {
                $($krate)*::__private::RequiredScopes::all_in::<$declaration>(&[#names])
            }; )*
            (scopes: $declaration:path, $krate:tt, [$([$($scope:literal),*]),+]) => {{
                $( $( $declaration! { one: $krate, $scope } )* )+
                $declaration! { value: $declaration, $krate, [$([$($scope),*]),+] }
            }};
            #( (one: $krate:tt, #names) => {}; )*
            // A `literal` fragment keeps the literal's span for the error.
            (one: [$($krate:tt)*], $scope:literal) => {
                $($krate)*::__private::check_scopes! {
                    declaration = #ident_str,
                    declared = [#(#names),*],
                    used = [$scope]
                }
            };
            #value
            }
        }
        None => quote! {
            #forward
            (scopes: $declaration:path, $krate:tt, $lists:tt) => {{
                $declaration! { value: $declaration, $krate, $lists }
            }};
            #value
        },
    };
    quote! {
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #matcher {
            #rules
        }

        #[doc(hidden)]
        #[allow(unused_imports, unreachable_pub)]
        pub use #matcher as #ident;
    }
}

/// Tells apart two declarations of one name in one crate (their matchers share the crate
/// root): where the enum is written, or, where the compiler gives no location, a count.
fn location_hash(ident: &syn::Ident) -> u64 {
    use std::hash::{Hash, Hasher};
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ident.to_string().hash(&mut hasher);
    let span = ident.span().unwrap();
    let (file, line, column) = (span.file(), span.line(), span.column());
    if file.is_empty() && line == 0 {
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).hash(&mut hasher);
    } else {
        (file, line, column).hash(&mut hasher);
    }
    hasher.finish()
}
