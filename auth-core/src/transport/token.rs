//! Where a credential travels by default, read from what its security scheme says: the one
//! reader behind [`Credential::read`](crate::Credential::read).

use std::borrow::Cow;

use axum::http::request::Parts;

use super::{MAX_CREDENTIAL_LEN, authorization_credentials};
use crate::{
    backend::cookie_value,
    security::{ApiKeyLocation, SchemeKind},
};

/// The credential of the request where `scheme` says it travels: the `Authorization: Bearer`
/// token (OAuth2, HTTP bearer, OpenID Connect), the `Authorization: Basic` credentials (still
/// base64), or the API key's one non-empty header, query parameter or cookie. `None` when it
/// is missing, given twice, not visible ASCII (a header), or longer than 8 KiB.
pub(crate) fn read_as<'p>(scheme: &SchemeKind, parts: &'p Parts) -> Option<Cow<'p, str>> {
    let credential = match scheme {
        SchemeKind::HttpBasic => Cow::Borrowed(authorization_credentials(&parts.headers, "Basic")?),
        SchemeKind::ApiKey { location: ApiKeyLocation::Header, name } => {
            let mut values = parts.headers.get_all(name.as_ref()).iter();
            let value = values.next()?;
            if values.next().is_some() {
                return None;
            }
            Cow::Borrowed(value.to_str().ok()?)
        }
        SchemeKind::ApiKey { location: ApiKeyLocation::Query, name } => {
            let query = parts.uri.query()?;
            let mut values =
                form_urlencoded::parse(query.as_bytes()).filter(|(key, _)| key == name.as_ref()).map(|(_, v)| v);
            let value = values.next()?;
            if values.next().is_some() {
                return None;
            }
            Cow::Owned(value.into_owned())
        }
        SchemeKind::ApiKey { location: ApiKeyLocation::Cookie, name } => {
            Cow::Owned(cookie_value(&parts.headers, name)?)
        }
        _ => Cow::Borrowed(authorization_credentials(&parts.headers, "Bearer")?),
    };
    (!credential.is_empty() && credential.len() <= MAX_CREDENTIAL_LEN).then_some(credential)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn read(scheme: SchemeKind, request: Request<()>) -> Option<String> {
        read_as(&scheme, &request.into_parts().0).map(Cow::into_owned)
    }

    #[test]
    fn reads_where_the_scheme_says() {
        let header = || SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-key".into() };
        let get = || Request::get("/x");
        assert_eq!(read(header(), get().header("x-key", "k").body(()).unwrap()).as_deref(), Some("k"));
        assert_eq!(read(header(), get().header("x-key", "a").header("x-key", "b").body(()).unwrap()), None);
        assert_eq!(read(header(), get().header("x-key", "").body(()).unwrap()), None);
        assert_eq!(read(header(), get().header("x-key", "a".repeat(9000)).body(()).unwrap()), None);
        assert_eq!(read(header(), get().header("authorization", "Bearer k").body(()).unwrap()), None);

        let query = SchemeKind::ApiKey { location: ApiKeyLocation::Query, name: "key".into() };
        assert_eq!(read(query.clone(), Request::get("/x?key=a%2Bb").body(()).unwrap()).as_deref(), Some("a+b"));
        assert_eq!(read(query, Request::get("/x?key=a&key=b").body(()).unwrap()), None);

        let cookie = SchemeKind::ApiKey { location: ApiKeyLocation::Cookie, name: "s".into() };
        assert_eq!(read(cookie, get().header("cookie", "a=1; s=v").body(()).unwrap()).as_deref(), Some("v"));

        let basic = get().header("authorization", "Basic dTpw").body(()).unwrap();
        assert_eq!(read(SchemeKind::HttpBasic, basic).as_deref(), Some("dTpw"));
        let bearer = || get().header("authorization", "Bearer t").body(()).unwrap();
        assert_eq!(read(SchemeKind::HttpBearer { bearer_format: None }, bearer()).as_deref(), Some("t"));
        assert_eq!(read(SchemeKind::HttpBasic, bearer()), None);
    }
}
