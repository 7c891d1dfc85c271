//! The `AuthBackend` impl, the strategy-kind check, and `router()`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::validate::{Validated, Value};
use crate::attr::crate_path;

pub(crate) fn expand(backend: &Validated<'_>) -> TokenStream {
    let krate = crate_path(backend.backend.args.krate.as_ref());
    let ident = backend.backend.ident;
    let name = &backend.name;
    let (field, field_ty) = backend.backend.strategy_field.as_ref().expect("validated");
    let transport = transport_expr(&krate, &backend.transport, &backend.options);
    let scopes = match &backend.backend.args.scopes {
        Some(path) => quote! {
            <#path as #krate::ScopeDeclaration>::descriptions().collect()
        },
        None => quote!(#krate::__private::std::vec::Vec::new()),
    };
    let kind = backend.strategy.to_string();
    let mismatch = format!(
        "`strategy = {kind}` but the strategy field has another kind of strategy: give it a `{}`",
        match kind.as_str() {
            "jwt" => "JwtStrategy",
            "database" => "DatabaseStrategy",
            "api_key" => "ApiKeys",
            _ => "RedisStrategy",
        }
    );
    let strategy_span = backend.strategy.span();
    let kind_check = quote_spanned! {strategy_span=>
        const _: () = ::core::assert!(
            #krate::__private::str_eq(<#field_ty as #krate::strategies::Strategy>::KIND, #kind),
            #mismatch
        );
    };

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::backend::AuthBackend for #ident {
                const NAME: &'static str = #name;
                type Strategy = #field_ty;

                fn transport() -> &'static #krate::backend::Transport {
                    static TRANSPORT: #krate::backend::Transport = #transport;
                    &TRANSPORT
                }

                fn strategy(&self) -> &Self::Strategy {
                    &self.#field
                }

                fn scope_descriptions() -> #krate::__private::std::vec::Vec<(&'static str, &'static str)> {
                    #scopes
                }
            }

            #kind_check

            #[automatically_derived]
            impl #ident {
                /// `POST /login` and `POST /logout` for this backend, logging in with `A`.
                #[allow(dead_code)]
                pub fn router<A, S>() -> #krate::__private::axum::Router<S>
                where
                    Self: #krate::__private::axum::extract::FromRef<S>,
                    A: #krate::backend::Authenticator + #krate::__private::axum::extract::FromRef<S>,
                    S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
                {
                    #krate::__private::backend_routes::<Self, A, S>()
                }
            }
        };
    }
}

fn get<'v>(options: &'v [(String, Value)], key: &str) -> Option<&'v Value> {
    options.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn string(options: &[(String, Value)], key: &str) -> TokenStream {
    match get(options, key) {
        Some(Value::Str(s)) => quote!(#s),
        _ => quote!(""),
    }
}

fn optional_string(options: &[(String, Value)], key: &str) -> TokenStream {
    match get(options, key) {
        Some(Value::Str(s)) => quote!(::core::option::Option::Some(#s)),
        _ => quote!(::core::option::Option::None),
    }
}

fn transport_expr(krate: &TokenStream, kind: &str, options: &[(String, Value)]) -> TokenStream {
    let t = quote!(#krate::backend::Transport);
    match kind {
        "bearer" => {
            let (token_url, refresh_url) = (string(options, "token_url"), optional_string(options, "refresh_url"));
            quote!(#t::Bearer { token_url: #token_url, refresh_url: #refresh_url })
        }
        "http_bearer" => {
            let format = optional_string(options, "bearer_format");
            quote!(#t::HttpBearer { bearer_format: #format })
        }
        "oauth2_authorization_code" => {
            let (authorization_url, token_url) = (string(options, "authorization_url"), string(options, "token_url"));
            quote!(#t::OAuth2AuthorizationCode { authorization_url: #authorization_url, token_url: #token_url })
        }
        "oauth2_client_credentials" => {
            let token_url = string(options, "token_url");
            quote!(#t::OAuth2ClientCredentials { token_url: #token_url })
        }
        "openid_connect" => {
            let url = string(options, "url");
            quote!(#t::OpenIdConnect { url: #url })
        }
        "api_key" => {
            let (location, name) = ["header", "query", "cookie"]
                .iter()
                .find_map(|place| match get(options, place) {
                    Some(Value::Str(s)) => Some((*place, s)),
                    _ => None,
                })
                .expect("validated: exactly one location");
            let location = match location {
                "header" => quote!(Header),
                "query" => quote!(Query),
                _ => quote!(Cookie),
            };
            quote!(#t::ApiKey { location: #krate::security::ApiKeyLocation::#location, name: #name })
        }
        _ => {
            // Through auth-core's own `const fn` builder: the options were checked above with
            // spanned messages, and `build` checks them again while the `static` is evaluated,
            // so the two sets of rules cannot drift apart silently.
            // The default name is a `__Host-` one where the cookie has no domain, and `auth`
            // where it is shared or the app opted out (auth-rules' `default_name`).
            let name = match get(options, "name") {
                Some(Value::Str(s)) => quote!(#s),
                _ => {
                    let keep_prefix = !matches!(get(options, "host_prefix"), Some(Value::Bool(false)));
                    let name = auth_rules::cookie::default_name(get(options, "domain").is_some(), keep_prefix);
                    quote!(#name)
                }
            };
            let mut setters = Vec::new();
            if let Some(Value::Int(n)) = get(options, "max_age") {
                setters.push(quote!(.max_age(#n)));
            }
            for key in ["path", "domain"] {
                if let Some(Value::Str(s)) = get(options, key) {
                    let setter = syn::Ident::new(key, proc_macro2::Span::call_site());
                    setters.push(quote!(.#setter(#s)));
                }
            }
            for key in ["secure", "http_only", "host_prefix"] {
                if let Some(Value::Bool(b)) = get(options, key) {
                    let setter = syn::Ident::new(key, proc_macro2::Span::call_site());
                    setters.push(quote!(.#setter(#b)));
                }
            }
            if let Some(Value::Str(s)) = get(options, "same_site") {
                let variant = match auth_rules::cookie::same_site(&s.value()) {
                    Some(auth_rules::cookie::SameSite::Strict) => quote!(Strict),
                    Some(auth_rules::cookie::SameSite::None) => quote!(None),
                    _ => quote!(Lax),
                };
                setters.push(quote!(.same_site(#krate::backend::SameSite::#variant)));
            }
            if let Some(Value::StrList(origins)) = get(options, "allowed_origins") {
                setters.push(quote!(.allowed_origins(&[#(#origins),*])));
            }
            quote!(#t::Cookie(match #krate::backend::CookieOptions::builder(#name) #(#setters)* .build() {
                ::core::result::Result::Ok(options) => options,
                ::core::result::Result::Err(error) => ::core::panic!("{}", error.message()),
            }))
        }
    }
}
