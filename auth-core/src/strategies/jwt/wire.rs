//! The JOSE header and the claims set as they arrive, each read in one pass.
//!
//! Only JSON objects are accepted, a name given twice makes the whole part malformed (RFC 7519
//! §4 allows refusing duplicates, and it is the safe choice), and a value of the wrong type is
//! kept as [`Typed::Wrong`] rather than failing the parse, so that verification can name the
//! claim. Header values are borrowed from the decoded JSON where it has no escapes.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::{Map, Value};

/// A value read as `T`, or found to be of another JSON type.
#[derive(Debug, PartialEq)]
pub(super) enum Typed<T> {
    /// The value has the expected type.
    Ok(T),
    /// It has another type (or an out-of-range number); its contents were skipped.
    Wrong,
}

/// The header parameters verification looks at. Every other parameter (`jku`, `x5u`, `jwk`,
/// `x5c`, …) is dropped once parsed: keys come only from the strategy.
#[derive(Debug, Default)]
pub(super) struct JoseHeader<'a> {
    pub(super) alg: Option<Typed<Cow<'a, str>>>,
    pub(super) typ: Option<Typed<Cow<'a, str>>>,
    pub(super) kid: Option<Typed<Cow<'a, str>>>,
    /// Whether a `crit` parameter is present, whatever its value.
    pub(super) crit: bool,
}

/// The claims set: the registered claims this crate reads, typed, and every other claim as it
/// was, for [`Claims::extra`](super::Claims::extra) (`iss`, `aud` and `nbf` included).
#[derive(Debug, Default)]
pub(super) struct ClaimsSet {
    pub(super) exp: Option<Typed<u64>>,
    pub(super) iat: Option<Typed<u64>>,
    pub(super) sub: Option<Typed<String>>,
    pub(super) jti: Option<Typed<String>>,
    pub(super) scopes: Option<Typed<Vec<String>>>,
    pub(super) scope: Option<Typed<String>>,
    /// `scp`: a space-separated string (Entra ID) or an array of strings (Okta), split here.
    pub(super) scp: Option<Typed<Vec<String>>>,
    pub(super) extra: Map<String, Value>,
}

/// Stores a value once; a second one for the same name is a duplicate.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A member name, compared without allocating.
enum Name<'de> {
    Known(&'static str),
    Other(Cow<'de, str>),
}

struct NameVisitor(&'static [&'static str]);

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
        Ok(match self.0.iter().find(|known| **known == name) {
            Some(known) => Name::Known(known),
            None => Name::Other(Cow::Borrowed(name)),
        })
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(match self.0.iter().find(|known| **known == name) {
            Some(known) => Name::Known(known),
            None => Name::Other(Cow::Owned(name.to_owned())),
        })
    }
}

/// Reads a member name, recognising the names in `known`.
struct NameSeed(&'static [&'static str]);

impl<'de> de::DeserializeSeed<'de> for NameSeed {
    type Value = Name<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(NameVisitor(self.0))
    }
}

/// Visits JSON types a visitor does not expect as [`Typed::Wrong`], skipping their contents:
/// booleans, null and objects here, numbers, arrays and strings below.
macro_rules! wrong_otherwise {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Typed::Wrong)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Typed::Wrong)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Typed::Wrong)
        }
    };
}

macro_rules! wrong_numbers {
    () => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Typed::Wrong)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Typed::Wrong)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Typed::Wrong)
        }
    };
}

macro_rules! wrong_seqs {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Typed::Wrong)
        }
    };
}

macro_rules! wrong_strings {
    () => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Typed::Wrong)
        }
    };
}

/// A string, borrowed when it can be.
struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Typed<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Typed::Ok(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Typed::Ok(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Typed::Ok(Cow::Owned(value)))
    }

    wrong_otherwise!();
    wrong_numbers!();
    wrong_seqs!();
}

/// A NumericDate as jsonwebtoken reads one: a non-negative integer, or a finite non-negative
/// float below 2^64, rounded.
struct NumericDateVisitor;

impl<'de> Visitor<'de> for NumericDateVisitor {
    type Value = Typed<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Typed::Ok(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(value).map_or(Typed::Wrong, Typed::Ok))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(numeric_date_f64(value).map_or(Typed::Wrong, Typed::Ok))
    }

    wrong_otherwise!();
    wrong_strings!();
    wrong_seqs!();
}

/// The float rule of a NumericDate.
pub(super) fn numeric_date_f64(value: f64) -> Option<u64> {
    (value.is_finite() && value >= 0.0 && value < u64::MAX as f64).then(|| value.round() as u64)
}

/// An array of strings (FastAPI's `scopes`).
struct StringsVisitor;

impl<'de> Visitor<'de> for StringsVisitor {
    type Value = Typed<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Seed(StrVisitor))? {
            match item {
                Typed::Ok(item) => items.push(item.into_owned()),
                Typed::Wrong => {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Typed::Wrong);
                }
            }
        }
        Ok(Typed::Ok(items))
    }

    wrong_otherwise!();
    wrong_numbers!();
    wrong_strings!();
}

/// `scp`, as identity providers write it: a space-separated string or an array of strings.
struct ScpVisitor;

impl<'de> Visitor<'de> for ScpVisitor {
    type Value = Typed<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Typed::Ok(value.split(' ').filter(|scope| !scope.is_empty()).map(str::to_owned).collect()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        StringsVisitor.visit_seq(seq)
    }

    wrong_otherwise!();
    wrong_numbers!();
}

/// Runs a visitor through `deserialize_any`.
struct Seed<V>(V);

impl<'de, V: Visitor<'de>> de::DeserializeSeed<'de> for Seed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self.0)
    }
}

fn owned(value: Typed<Cow<'_, str>>) -> Typed<String> {
    match value {
        Typed::Ok(value) => Typed::Ok(value.into_owned()),
        Typed::Wrong => Typed::Wrong,
    }
}

impl<'de> Deserialize<'de> for JoseHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;

        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = JoseHeader<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JOSE header object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                const NAMES: &[&str] = &["alg", "typ", "kid", "crit"];
                let mut header = JoseHeader::default();
                while let Some(name) = map.next_key_seed(NameSeed(NAMES))? {
                    match name {
                        Name::Known("alg") => once(&mut header.alg, map.next_value_seed(Seed(StrVisitor))?, "alg")?,
                        Name::Known("typ") => once(&mut header.typ, map.next_value_seed(Seed(StrVisitor))?, "typ")?,
                        Name::Known("kid") => once(&mut header.kid, map.next_value_seed(Seed(StrVisitor))?, "kid")?,
                        Name::Known(_) => {
                            map.next_value::<IgnoredAny>()?;
                            if std::mem::replace(&mut header.crit, true) {
                                return Err(de::Error::duplicate_field("crit"));
                            }
                        }
                        Name::Other(_) => {
                            // Parsed to be dropped, so that serde_json's nesting limit refuses
                            // a pathological header as it does a pathological claim.
                            map.next_value::<Value>()?;
                        }
                    }
                }
                Ok(header)
            }
        }

        deserializer.deserialize_map(HeaderVisitor)
    }
}

impl<'de> Deserialize<'de> for ClaimsSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClaimsVisitor;

        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = ClaimsSet;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWT claims set object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                const NAMES: &[&str] = &["exp", "iat", "sub", "jti", "scopes", "scope", "scp"];
                let mut claims = ClaimsSet::default();
                while let Some(name) = map.next_key_seed(NameSeed(NAMES))? {
                    match name {
                        Name::Known("exp") => {
                            once(&mut claims.exp, map.next_value_seed(Seed(NumericDateVisitor))?, "exp")?;
                        }
                        Name::Known("iat") => {
                            once(&mut claims.iat, map.next_value_seed(Seed(NumericDateVisitor))?, "iat")?;
                        }
                        Name::Known("sub") => {
                            once(&mut claims.sub, owned(map.next_value_seed(Seed(StrVisitor))?), "sub")?;
                        }
                        Name::Known("jti") => {
                            once(&mut claims.jti, owned(map.next_value_seed(Seed(StrVisitor))?), "jti")?;
                        }
                        Name::Known("scopes") => {
                            once(&mut claims.scopes, map.next_value_seed(Seed(StringsVisitor))?, "scopes")?;
                        }
                        Name::Known("scp") => {
                            once(&mut claims.scp, map.next_value_seed(Seed(ScpVisitor))?, "scp")?;
                        }
                        Name::Known(_) => {
                            once(&mut claims.scope, owned(map.next_value_seed(Seed(StrVisitor))?), "scope")?;
                        }
                        Name::Other(name) => {
                            let value: Value = map.next_value()?;
                            if claims.extra.insert(name.into_owned(), value).is_some() {
                                return Err(de::Error::custom("a claim is given twice"));
                            }
                        }
                    }
                }
                Ok(claims)
            }
        }

        deserializer.deserialize_map(ClaimsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_borrows_strings_and_keeps_wrong_types() {
        let json = br#"{"alg":"HS256","typ":"JWT","kid":7,"jku":"https://x","x5c":["a"]}"#;
        let header: JoseHeader<'_> = serde_json::from_slice(json).unwrap();
        assert!(matches!(header.alg, Some(Typed::Ok(Cow::Borrowed("HS256")))));
        assert!(matches!(header.typ, Some(Typed::Ok(Cow::Borrowed("JWT")))));
        assert_eq!(header.kid, Some(Typed::Wrong));
        assert!(!header.crit);

        let escaped: JoseHeader<'_> = serde_json::from_slice(br#"{"alg":"HS\u0032\u00356","crit":[]}"#).unwrap();
        assert_eq!(escaped.alg, Some(Typed::Ok(Cow::Owned("HS256".to_owned()))));
        assert!(escaped.crit);
    }

    #[test]
    fn header_must_be_an_object_without_repeats() {
        for json in [&br#"["alg","HS256"]"#[..], br#""HS256""#, br#"{"alg":"HS256","alg":"none"}"#, b"{}x"] {
            assert!(serde_json::from_slice::<JoseHeader<'_>>(json).is_err(), "{}", String::from_utf8_lossy(json));
        }
    }

    #[test]
    fn claims_are_typed_and_the_rest_kept() {
        let json =
            br#"{"sub":"johndoe","scopes":["me","items"],"exp":1.6,"iat":-1,"jti":null,"aud":["a"],"x":{"y":1}}"#;
        let claims: ClaimsSet = serde_json::from_slice(json).unwrap();
        assert_eq!(claims.sub, Some(Typed::Ok("johndoe".to_owned())));
        assert_eq!(claims.scopes, Some(Typed::Ok(vec!["me".to_owned(), "items".to_owned()])));
        assert_eq!(claims.exp, Some(Typed::Ok(2)));
        assert_eq!(claims.iat, Some(Typed::Wrong));
        assert_eq!(claims.jti, Some(Typed::Wrong));
        assert_eq!(claims.scope, None);
        assert_eq!(Value::Object(claims.extra), serde_json::json!({ "aud": ["a"], "x": { "y": 1 } }));

        let wrong: ClaimsSet = serde_json::from_slice(br#"{"scopes":["me",1,"x"],"scope":["a"],"exp":"1"}"#).unwrap();
        assert_eq!(wrong.scopes, Some(Typed::Wrong));
        assert_eq!(wrong.scope, Some(Typed::Wrong));
        assert_eq!(wrong.exp, Some(Typed::Wrong));
    }

    #[test]
    fn scp_is_a_string_or_an_array() {
        let string: ClaimsSet = serde_json::from_slice(br#"{"scp":"User.Read  Mail.Send"}"#).unwrap();
        assert_eq!(string.scp, Some(Typed::Ok(vec!["User.Read".to_owned(), "Mail.Send".to_owned()])));
        let array: ClaimsSet = serde_json::from_slice(br#"{"scp":["a","b"]}"#).unwrap();
        assert_eq!(array.scp, Some(Typed::Ok(vec!["a".to_owned(), "b".to_owned()])));
        for json in [&br#"{"scp":1}"#[..], br#"{"scp":["a",2]}"#, br#"{"scp":{"a":1}}"#, br#"{"scp":null}"#] {
            let wrong: ClaimsSet = serde_json::from_slice(json).unwrap();
            assert_eq!(wrong.scp, Some(Typed::Wrong), "{}", String::from_utf8_lossy(json));
        }
        assert!(serde_json::from_slice::<ClaimsSet>(br#"{"scp":"a","scp":"b"}"#).is_err());
    }

    #[test]
    fn claims_must_be_an_object_without_repeats() {
        for json in
            [&b"[1,2,3]"[..], b"\"a string\"", br#"{"exp":1,"exp":2}"#, br#"{"iss":"a","iss":"b"}"#, b"{\"exp\":1"]
        {
            assert!(serde_json::from_slice::<ClaimsSet>(json).is_err(), "{}", String::from_utf8_lossy(json));
        }
    }

    #[test]
    fn numeric_dates_follow_jsonwebtoken() {
        assert_eq!(numeric_date_f64(1.4), Some(1));
        assert_eq!(numeric_date_f64(-0.5), None);
        assert_eq!(numeric_date_f64(f64::NAN), None);
        assert_eq!(numeric_date_f64(1e30), None);
    }
}
