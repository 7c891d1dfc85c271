//! Email addresses as fastapi-users accepts them (pydantic's `EmailStr`, which is
//! `email-validator` without the DNS check), and the key that makes them unique.
//!
//! [`Email::parse`] follows email-validator 2's syntax rules and messages for what a sign-up form
//! meets: dot-atom local parts, ASCII or internationalised (NFC-normalised, without unsafe
//! characters), and domain names with at least one period, a top-level domain ending in a
//! letter, no special-use names (`.test`, `.local`, `localhost`…), and IDNA (UTS #46) for
//! international ones. Quoted local parts, domain literals (`[1.2.3.4]`) and display names are
//! refused, as pydantic refuses them. The normalised form keeps the local part's case and
//! lower-cases the domain: `King@Camelot.BT` is stored as `King@camelot.bt`.
//!
//! # Uniqueness
//!
//! Two addresses name the same account when their [`Email::key`]s are equal: the local part
//! under NFKC and Unicode lower-casing, `@`, the domain in its ASCII (Punycode) form. So
//! `KING@camelot.bt`, `king@CAMELOT.BT`, `ｋing@camelot.bt` (full-width `ｋ`) and `\u{212A}ing@…`
//! (the Kelvin sign) are one account. The key is computed here, in Rust, and stored in its own
//! column under a unique index, so SQLite (whose `lower()` is ASCII-only) and PostgreSQL (whose
//! `lower()` depends on the locale) agree. Look-alikes from other scripts (a Cyrillic `а` for a
//! Latin `a`) are different mailboxes and stay different accounts; mail always goes to the
//! address stored for the account, never to the one a request typed.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Longest input looked at, in characters, as pydantic (`MAX_EMAIL_LENGTH`).
pub(crate) const MAX_INPUT_CHARS: usize = 2048;

impl Email {
    /// Longest address, in UTF-8 bytes (RFC 5321 §4.5.3.1.3 with RFC 3696 errata).
    pub const MAX_BYTES: usize = 254;
}

/// Longest domain, in bytes of its ASCII form (RFC 1035 §2.3.4).
const MAX_DOMAIN_BYTES: usize = 253;
/// Longest domain label, in bytes of its ASCII form (RFC 1035 §2.3.1).
const MAX_LABEL_BYTES: usize = 63;

/// RFC 5322 `atext`, without the letters and digits.
const ATEXT_SPECIALS: &str = "_!#$%&'*+-/=?^`{|}~";

/// Special-use names no deliverable address has, as email-validator lists them.
const SPECIAL_USE_DOMAINS: [&str; 6] = ["arpa", "invalid", "local", "localhost", "onion", "test"];

/// Mailboxes RFC 2142 says are case-insensitive; email-validator lower-cases them.
const CASE_INSENSITIVE_MAILBOXES: [&str; 15] = [
    "info",
    "marketing",
    "sales",
    "support",
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
];

/// A valid, normalised email address and its uniqueness key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email {
    normalized: String,
    key: String,
}

/// Why an address is not valid: email-validator's sentence, which pydantic puts after
/// `value is not a valid email address: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidEmail {
    /// The reason, for people.
    pub reason: String,
}

fn invalid(reason: impl Into<String>) -> InvalidEmail {
    InvalidEmail { reason: reason.into() }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.normalized, f)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl Email {
    /// Checks and normalises an address; see the [module docs](self).
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(invalid(format!("Length must not exceed {MAX_INPUT_CHARS} characters")));
        }
        if input.contains(['\r', '\n']) {
            return Err(invalid("Carriage return and line feed characters are not allowed"));
        }
        let email = input.trim();
        let (local, domain) = split(email)?;
        let local = local_part(local)?;
        let (domain, ascii_domain) = domain_part(domain)?;
        let normalized = format!("{local}@{domain}");
        check_length(email, &normalized, &format!("{local}@{ascii_domain}"))?;
        let key = format!("{}@{}", key_of_local_part(&local), ascii_domain);
        Ok(Self { normalized, key })
    }

    /// The normalised address: what is stored and answered.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The uniqueness key: equal for addresses that name one account.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The normalised address, owned.
    pub fn into_string(self) -> String {
        self.normalized
    }
}

/// The lookup key for a login name that may not be a valid address (a login form takes any
/// string): the key of the address when it parses, otherwise a key that no valid address has.
pub(crate) fn login_key(username: &str) -> String {
    match Email::parse(username) {
        Ok(email) => email.key,
        // No valid address's key contains a space and starts with one: `Email::key` is an
        // `@`-joined pair of non-empty parts without spaces.
        Err(_) => format!(" invalid {}", key_of_local_part(username)),
    }
}

/// NFKC, Unicode lower case, NFKC again (lower-casing can un-normalise).
fn key_of_local_part(local: &str) -> String {
    let folded: String = local.nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

/// Splits at the first `@` that is not inside quotes, as email-validator does.
fn split(email: &str) -> Result<(&str, &str), InvalidEmail> {
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in email.char_indices() {
        if quoted {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => quoted = false,
                _ => escaped = false,
            }
        } else if c == '"' {
            quoted = true;
        } else if c == '@' {
            return Ok((&email[..index], &email[index + 1..]));
        }
    }
    if email.contains('＠') {
        return Err(invalid(
            "The email address has the \"full-width\" at-sign (@) character instead of a regular at-sign.",
        ));
    }
    if email.contains('﹫') {
        return Err(invalid(
            "The email address has the \"small commercial at\" character instead of a regular at-sign.",
        ));
    }
    Err(invalid("An email address must have an @-sign."))
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(c)
}

fn is_atext_intl(c: char) -> bool {
    is_atext(c) || u32::from(c) >= 0x80
}

/// `atext+ ("." atext+)*` over the given character class.
fn is_dot_atom(text: &str, atext: fn(char) -> bool) -> bool {
    !text.is_empty() && text.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

fn local_part(local: &str) -> Result<String, InvalidEmail> {
    if local.is_empty() {
        return Err(invalid("There must be something before the @-sign."));
    }
    if local.starts_with('"') {
        // email-validator parses quoted local parts, then refuses them: pydantic does not allow
        // them. Its character checks come first; the outcome is a 422 either way.
        return Err(invalid("Quoting the part before the @-sign is not allowed here."));
    }
    check_local_syntax(local)?;
    let normalized: String = local.nfc().collect();
    if normalized != local {
        check_local_syntax(&normalized).map_err(|e| invalid(format!("After Unicode normalization: {}", e.reason)))?;
    }
    if normalized.is_ascii() && CASE_INSENSITIVE_MAILBOXES.contains(&normalized.to_ascii_lowercase().as_str()) {
        return Ok(normalized.to_ascii_lowercase());
    }
    Ok(normalized)
}

fn check_local_syntax(local: &str) -> Result<(), InvalidEmail> {
    if is_dot_atom(local, is_atext) {
        return Ok(());
    }
    if is_dot_atom(local, is_atext_intl) {
        return check_unsafe_chars(local);
    }
    let bad: Vec<char> = local.chars().filter(|c| !is_atext_intl(*c) && *c != '.').collect();
    if !bad.is_empty() {
        return Err(invalid(format!(
            "The email address contains invalid characters before the @-sign: {}.",
            display_set(&bad, true)
        )));
    }
    check_dot_atom(
        local,
        "An email address cannot start with a {}.",
        "An email address cannot have a {} immediately before the @-sign.",
        false,
    )?;
    Err(invalid("The email address contains invalid characters before the @-sign."))
}

/// email-validator's `check_unsafe_chars`: letters, marks (not first), numbers, punctuation and
/// symbols only; no spaces, separators, controls, format characters (bidi overrides, zero-width
/// joiners), private-use or unassigned code points.
fn check_unsafe_chars(text: &str) -> Result<(), InvalidEmail> {
    let mut bad = Vec::new();
    for (index, c) in text.chars().enumerate() {
        let unsafe_char = match c.general_category_group() {
            GeneralCategoryGroup::Letter
            | GeneralCategoryGroup::Number
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol => false,
            GeneralCategoryGroup::Mark => index == 0,
            GeneralCategoryGroup::Separator | GeneralCategoryGroup::Other => true,
        };
        if unsafe_char && !bad.contains(&c) {
            bad.push(c);
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    bad.sort_unstable();
    let shown: Vec<String> = bad.iter().map(|c| character_display(*c)).collect();
    Err(invalid(format!("The email address contains unsafe characters: {}.", shown.join(", "))))
}

/// The characters of `chars`, shown as email-validator shows them, sorted by their display
/// (`sort_displays`) or by code point.
fn display_set(chars: &[char], sort_displays: bool) -> String {
    let mut shown: Vec<String> = Vec::new();
    let mut chars = chars.to_vec();
    chars.sort_unstable();
    chars.dedup();
    for c in chars {
        shown.push(character_display(c));
    }
    if sort_displays {
        shown.sort();
    }
    shown.join(", ")
}

/// email-validator's `safe_character_display`: printable characters quoted as Python's `repr`,
/// others by their Unicode name (for the usual suspects) or as `U+XXXX`.
fn character_display(c: char) -> String {
    if c == '\\' {
        return "\"\\\"".to_owned();
    }
    if matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter
            | GeneralCategoryGroup::Number
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
    ) {
        return if c == '\'' { "\"'\"".to_owned() } else { format!("'{c}'") };
    }
    let name = match c {
        ' ' => "SPACE",
        '\u{a0}' => "NO-BREAK SPACE",
        '\u{ad}' => "SOFT HYPHEN",
        '\u{200b}' => "ZERO WIDTH SPACE",
        '\u{200c}' => "ZERO WIDTH NON-JOINER",
        '\u{200d}' => "ZERO WIDTH JOINER",
        '\u{200e}' => "LEFT-TO-RIGHT MARK",
        '\u{200f}' => "RIGHT-TO-LEFT MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202a}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202b}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202c}' => "POP DIRECTIONAL FORMATTING",
        '\u{202d}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202e}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{feff}' => "ZERO WIDTH NO-BREAK SPACE",
        _ if u32::from(c) < 0xffff => return format!("U+{:04X}", u32::from(c)),
        _ => return format!("U+{:08X}", u32::from(c)),
    };
    name.to_owned()
}

/// email-validator's `check_dot_atom`: no leading, trailing or doubled period, and for host
/// names no hyphen at either end of a label.
fn check_dot_atom(label: &str, start: &str, end: &str, hostname: bool) -> Result<(), InvalidEmail> {
    if label.ends_with('.') {
        return Err(invalid(end.replace("{}", "period")));
    }
    if label.starts_with('.') {
        return Err(invalid(start.replace("{}", "period")));
    }
    if label.contains("..") {
        return Err(invalid("An email address cannot have two periods in a row."));
    }
    if hostname {
        if label.ends_with('-') {
            return Err(invalid(end.replace("{}", "hyphen")));
        }
        if label.starts_with('-') {
            return Err(invalid(start.replace("{}", "hyphen")));
        }
        if label.contains(".-") || label.contains("-.") {
            return Err(invalid("An email address cannot have a period and a hyphen next to each other."));
        }
    }
    Ok(())
}

fn is_hostname_char_intl(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || u32::from(c) >= 0x80
}

/// email-validator's approximation of the characters UTS #46 accepts.
fn uts46_valid_char(c: char) -> bool {
    let code = u32::from(c);
    if (0x80..=0x9f).contains(&code) {
        return false;
    }
    if ((0x2010..=0x2060).contains(&code) && !(0x2024..=0x2026).contains(&code) && !(0x2028..=0x202e).contains(&code))
        || matches!(code, 0xad | 0x2064 | 0xff0e)
        || (0x200b..=0x200d).contains(&code)
        || (0x1bca0..=0x1bca3).contains(&code)
    {
        return true;
    }
    !matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::SpaceSeparator
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// The domain's display form (Unicode, lower case) and its ASCII form.
fn domain_part(domain: &str) -> Result<(String, String), InvalidEmail> {
    if domain.is_empty() {
        return Err(invalid("There must be something after the @-sign."));
    }
    if domain.starts_with('[') && domain.ends_with(']') {
        return Err(invalid("A bracketed IP address after the @-sign is not allowed here."));
    }
    let bad: Vec<char> = domain.chars().filter(|c| !is_hostname_char_intl(*c)).collect();
    if !bad.is_empty() {
        return Err(invalid(format!(
            "The part after the @-sign contains invalid characters: {}.",
            display_set(&bad, true)
        )));
    }
    check_unsafe_chars(domain)?;
    let bad: Vec<char> = domain.chars().filter(|c| !uts46_valid_char(*c)).collect();
    if !bad.is_empty() {
        return Err(invalid(format!(
            "The part after the @-sign contains invalid characters: {}.",
            display_set(&bad, true)
        )));
    }

    // UTS #46: case folding, NFC, full-width dots to dots, then Punycode. ASCII names only
    // need lower-casing, and are kept away from the IDNA library for the basic syntax checks,
    // as email-validator does, so the messages name the actual problem.
    let ascii = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        let mapped = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3)
            .map_err(|_| invalid("The part after the @-sign contains invalid characters."))?;
        mapped.to_ascii_lowercase()
    };
    check_dot_atom(
        &ascii,
        "An email address cannot have a {} immediately after the @-sign.",
        "An email address cannot end with a {}.",
        true,
    )?;
    for label in ascii.split('.') {
        let bytes = label.as_bytes();
        if bytes.len() >= 4 && &bytes[2..4] == b"--" && !label[..2].eq_ignore_ascii_case("xn") {
            return Err(invalid(
                "An email address cannot have two letters followed by two dashes immediately after the @-sign or \
                 after a period, except Punycode.",
            ));
        }
    }
    if !ascii.split('.').all(is_hostname_label) {
        return Err(invalid("The email address contains invalid characters after the @-sign after IDNA encoding."));
    }
    if ascii.len() > MAX_DOMAIN_BYTES {
        let diff = ascii.len() - MAX_DOMAIN_BYTES;
        return Err(invalid(if domain.is_ascii() {
            format!("The email address is too long after the @-sign ({}).", too_many(diff, "character"))
        } else {
            format!("The email address is too long after the @-sign ({} after IDNA encoding).", too_many(diff, "byte"))
        }));
    }
    if let Some(label) = ascii.split('.').find(|label| label.len() > MAX_LABEL_BYTES) {
        return Err(invalid(format!(
            "After the @-sign, periods cannot be separated by so many characters ({}).",
            too_many(label.len() - MAX_LABEL_BYTES, "character")
        )));
    }
    if !ascii.contains('.') {
        return Err(invalid("The part after the @-sign is not valid. It should have a period."));
    }
    if !ascii.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(invalid("The part after the @-sign is not valid. It is not within a valid top-level domain."));
    }
    if SPECIAL_USE_DOMAINS.iter().any(|d| ascii == *d || ascii.strip_suffix(d).is_some_and(|rest| rest.ends_with('.')))
    {
        return Err(invalid(
            "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
        ));
    }
    // A name that looks like Punycode must be Punycode.
    let (display, checked) = idna::domain_to_unicode(&ascii);
    if checked.is_err() {
        return Err(invalid("The part after the @-sign is not valid IDNA."));
    }
    if display.chars().any(|c| !is_hostname_char_intl(c)) {
        return Err(invalid("The part after the @-sign contains invalid characters."));
    }
    // UTS #46 (the WHATWG URL rules) lets symbols through that IDNA 2008, which email-validator
    // applies, does not: its labels are letters, digits and combining marks (RFC 5892).
    if let Some(c) = display.chars().find(|c| !c.is_ascii() && !idna2008_letter_digit(*c)) {
        return Err(invalid(format!(
            "The part after the @-sign is invalid (Codepoint U+{:04X} not allowed).",
            u32::from(c)
        )));
    }
    check_unsafe_chars(&display)?;
    Ok((display, ascii))
}

/// RFC 5892's `LetterDigits` (the code points IDNA 2008 allows, short of its exceptions): lower
/// case and other letters, modifier letters, combining marks, decimal digits.
fn idna2008_letter_digit(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::LowercaseLetter
            | GeneralCategory::OtherLetter
            | GeneralCategory::ModifierLetter
            | GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::DecimalNumber
    )
}

/// RFC 952 / RFC 1123 label: letters, digits, inner hyphens.
fn is_hostname_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn too_many(diff: usize, unit: &str) -> String {
    format!("{diff} {unit}{} too many", if diff > 1 { "s" } else { "" })
}

/// email-validator's `validate_email_length`: the original, the normalised and the ASCII-domain
/// forms must each fit in [`Email::MAX_BYTES`] bytes of UTF-8.
fn check_length(original: &str, normalized: &str, ascii: &str) -> Result<(), InvalidEmail> {
    for (address, after) in [
        (original, None),
        (normalized, Some("after normalization")),
        (ascii, Some("when the part after the @-sign is converted to IDNA ASCII")),
    ] {
        let bytes = address.len();
        if bytes <= Email::MAX_BYTES {
            continue;
        }
        let diff = bytes - Email::MAX_BYTES;
        let chars = address.chars().count();
        let reason = match after {
            None if chars == bytes => too_many(diff, "character"),
            None => {
                let widest = address.chars().map(char::len_utf8).max().unwrap_or(1);
                let least = (diff / widest).max(1);
                let suffix = if diff > 1 { "s" } else { "" };
                if least == diff {
                    format!("{diff} character{suffix} too many")
                } else {
                    format!("{least}-{diff} character{suffix} too many")
                }
            }
            Some(after) => {
                return Err(invalid(format!("The email address is too long {after} ({}).", too_many(diff, "byte"))));
            }
        };
        return Err(invalid(format!("The email address is too long ({reason}).")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        Email::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}")).normalized
    }

    fn err(input: &str) -> String {
        Email::parse(input).expect_err(input).reason
    }

    /// Each case was run through pydantic 2.14 / email-validator 2.3 (`EmailStr`).
    #[test]
    fn normalises_as_email_validator() {
        assert_eq!(ok("King@Camelot.BT"), "King@camelot.bt");
        assert_eq!(ok("KING@EXAMPLE.COM"), "KING@example.com");
        assert_eq!(ok("a@b.c"), "a@b.c");
        assert_eq!(ok("user@bücher.de"), "user@bücher.de");
        assert_eq!(ok("USER@BÜCHER.DE"), "USER@bücher.de");
        assert_eq!(ok("user@xn--bcher-kva.de"), "user@bücher.de");
        assert_eq!(ok("\u{212A}ing@x.com"), "King@x.com");
        assert_eq!(ok("ｋing@x.com"), "ｋing@x.com");
        assert_eq!(ok(" a@x.com "), "a@x.com");
        assert_eq!(ok("Ä@x.com"), "Ä@x.com");
        assert_eq!(ok("a+tag@x.co"), "a+tag@x.co");
        assert_eq!(ok("a@b\u{3002}com"), "a@b.com");
        assert_eq!(ok("a@x.com\u{301}"), "a@x.coḿ");
        assert_eq!(ok("Postmaster@x.com"), "postmaster@x.com");
        assert_eq!(ok(&format!("{}@x.com", "x".repeat(65))), format!("{}@x.com", "x".repeat(65)));
    }

    #[test]
    fn refuses_as_email_validator() {
        let cases = [
            ("a@b", "The part after the @-sign is not valid. It should have a period."),
            ("a..b@x.com", "An email address cannot have two periods in a row."),
            ("a@x..com", "An email address cannot have two periods in a row."),
            ("a b@x.com", "The email address contains invalid characters before the @-sign: SPACE."),
            ("a@localhost", "The part after the @-sign is not valid. It should have a period."),
            ("a@x.test", "The part after the @-sign is a special-use or reserved name that cannot be used with email."),
            ("\"quoted\"@x.com", "Quoting the part before the @-sign is not allowed here."),
            ("a@[1.2.3.4]", "A bracketed IP address after the @-sign is not allowed here."),
            ("a@x.com\n", "Carriage return and line feed characters are not allowed"),
            ("a\u{200b}@x.com", "The email address contains unsafe characters: ZERO WIDTH SPACE."),
            ("a@-x.com", "An email address cannot have a hyphen immediately after the @-sign."),
            ("a@x.123", "The part after the @-sign is not valid. It is not within a valid top-level domain."),
            ("", "An email address must have an @-sign."),
            ("@x.com", "There must be something before the @-sign."),
            ("a@", "There must be something after the @-sign."),
            ("a@x.com.", "An email address cannot end with a period."),
            (
                "a＠x.com",
                "The email address has the \"full-width\" at-sign (@) character instead of a regular at-sign.",
            ),
            (".a@x.com", "An email address cannot start with a period."),
            ("\u{301}a@x.com", "The email address contains unsafe characters: U+0301."),
            ("a@\u{ff0e}com", "An email address cannot have a period immediately after the @-sign."),
            (
                "a@ab--c.com",
                "An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.",
            ),
            ("a.@x.com", "An email address cannot have a period immediately before the @-sign."),
        ];
        for (input, reason) in cases {
            assert_eq!(err(input), reason, "{input:?}");
        }
        let long_domain = format!("a@{}.com", "b".repeat(250));
        assert_eq!(err(&long_domain), "The email address is too long after the @-sign (1 character too many).");
        assert!(err("😀@😀.com").starts_with("The part after the @-sign is invalid (Codepoint U+1F600"));
        assert!(err("a@xn--zz.com").starts_with("The part after the @-sign is not valid IDNA"));
        let long = format!("{}@{}.com", "a".repeat(200), "b".repeat(60));
        assert_eq!(err(&long), "The email address is too long (11 characters too many).");
        assert_eq!(err(&"a".repeat(3000)), "Length must not exceed 2048 characters");
    }

    #[test]
    fn keys_fold_case_and_compatibility_forms() {
        let key = |s: &str| Email::parse(s).unwrap().key;
        assert_eq!(key("King@Camelot.BT"), "king@camelot.bt");
        assert_eq!(key("KING@camelot.bt"), key("king@CAMELOT.bt"));
        assert_eq!(key("ｋing@camelot.bt"), "king@camelot.bt");
        assert_eq!(key("\u{212A}ing@camelot.bt"), "king@camelot.bt");
        assert_eq!(key("user@BÜCHER.de"), "user@xn--bcher-kva.de");
        assert_eq!(key("user@xn--bcher-kva.de"), key("user@bücher.de"));
        // A Cyrillic look-alike is another mailbox.
        assert_ne!(key("\u{430}dmin@x.com"), key("admin@x.com"));
        assert_eq!(login_key("KING@camelot.bt"), "king@camelot.bt");
        assert!(login_key("not an address").starts_with(' '));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for input in [
            "@",
            "@@",
            "\"",
            "\"@",
            "a@\"",
            "a@.",
            "a@..",
            "\u{301}a@x.com",
            "a@x.\u{301}com",
            "a@\u{ff0e}com",
            "a@b\u{3002}com",
            "😀@😀.com",
            "a@xn--.com",
            "a@xn--zz.com",
            &"é".repeat(300),
        ] {
            let _ = Email::parse(input);
            let _ = login_key(input);
        }
    }
}
