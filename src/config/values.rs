//! Validated domain values: the small strings a config is made of (extensions, logins, E.164
//! numbers, durations, times of day and ranges, dates, e-mail addresses, menu keys, time zones).
//!
//! Each value is a newtype that cannot hold an invalid value: the only way in is `parse` (or
//! `TryFrom`, or serde, which both call `parse`). A failed parse is a [`ValueError`] whose message
//! is a user-facing sentence fragment naming the bad value and, where one can be guessed, the fix;
//! the caller adds the file position and config path. No I/O happens here.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

/// Emergency and service numbers an extension may not take (numbers starting with `0`, such as
/// `04`, are already excluded by the leading-zero rule).
pub const RESERVED_EXTENSIONS: &[&str] = &[
    "100", "101", "102", "103", "104", "109", "112", "115", "121", "123", "125", "141", "149",
];

/// The longest extension, in digits.
pub const EXTENSION_MAX_LEN: usize = 8;

/// The longest login, in characters.
pub const LOGIN_MAX_LEN: usize = 64;

/// The longest e-mail address, in characters.
pub const EMAIL_MAX_LEN: usize = 254;

/// The longest duration [`parse_duration`] accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Why a string is not a valid domain value. Messages are sentence fragments (lower-case start,
/// no final period) that name the value; [`ValueError::code`] gives a stable name for each.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// An extension that is empty or longer than [`EXTENSION_MAX_LEN`] digits.
    #[error("extension must be 1 to 8 digits long, found {}", found(.value))]
    ExtensionLength { value: String },
    /// An extension with a character that is not an ASCII digit.
    #[error("extension must contain digits only, found `{value}`")]
    ExtensionNotDigits { value: String },
    /// An extension starting with `0`.
    #[error(
        "extension must not start with 0, found `{value}`; numbers that start with 0, such as 04, \
         reach emergency services"
    )]
    ExtensionLeadingZero { value: String },
    /// An extension equal to one of [`RESERVED_EXTENSIONS`].
    #[error(
        "extension `{value}` is reserved: it is an emergency or service number ({})",
        RESERVED_EXTENSIONS.join(", ")
    )]
    ExtensionReserved { value: String },
    /// A login that breaks `rule`.
    #[error("{}", login_message(.value, .rule))]
    LoginInvalid { value: String, rule: LoginRule },
    /// A phone number not in E.164 form; `suggestion` is the E.164 form when it can be guessed.
    #[error("{}", e164_message(.value, .suggestion.as_deref()))]
    E164Invalid {
        value: String,
        suggestion: Option<String>,
    },
    /// A duration that is not of the form `1h15m`, `1m30s`, `500ms` or a bare number of seconds.
    #[error("{}", duration_message(.value, .problem))]
    DurationInvalid {
        value: String,
        problem: DurationProblem,
    },
    /// A time of day not of the form `HH:MM` between 00:00 and 24:00.
    #[error("time of day must be written HH:MM, from 00:00 to 24:00, found {}", found(.value))]
    ClockTimeInvalid { value: String },
    /// A time range that is malformed or empty.
    #[error("time range {} is invalid: {problem}", found(.value))]
    TimeRangeInvalid {
        value: String,
        problem: TimeRangeProblem,
    },
    /// A time range whose end is before its start.
    #[error(
        "time range `{value}` crosses midnight; split it into {start}-24:00 and 00:00-{end} on the \
         next day"
    )]
    TimeRangeCrossesMidnight {
        value: String,
        /// The start and end as written back (`HH:MM`).
        start: String,
        end: String,
    },
    /// A date not written `YYYY-MM-DD` or not in the calendar.
    #[error("date must be written YYYY-MM-DD and exist in the calendar, found {}", found(.value))]
    DateInvalid { value: String },
    /// An e-mail address that fails the pragmatic check.
    #[error("{}", email_message(.value, .problem))]
    EmailInvalid {
        value: String,
        problem: EmailProblem,
    },
    /// A menu key that is not one of `0`-`9`, `*`, `#`.
    #[error("menu key must be one of 0-9, * or #, found {}", found(.value))]
    DigitInvalid { value: String },
    /// A time zone name not in the IANA database.
    #[error("`{value}` is not an IANA time zone name")]
    TimezoneUnknown { value: String },
}

impl ValueError {
    /// A stable kebab-case name for this kind of error, e.g. `extension-reserved`.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::ExtensionLength { .. } => "extension-length",
            ValueError::ExtensionNotDigits { .. } => "extension-not-digits",
            ValueError::ExtensionLeadingZero { .. } => "extension-leading-zero",
            ValueError::ExtensionReserved { .. } => "extension-reserved",
            ValueError::LoginInvalid {
                rule: LoginRule::DigitsOnly,
                ..
            } => "login-digits",
            ValueError::LoginInvalid { .. } => "login-invalid",
            ValueError::E164Invalid { .. } => "e164-invalid",
            ValueError::DurationInvalid { .. } => "duration-invalid",
            ValueError::ClockTimeInvalid { .. } => "clock-time-invalid",
            ValueError::TimeRangeInvalid { .. } => "time-range-invalid",
            ValueError::TimeRangeCrossesMidnight { .. } => "time-range-crosses-midnight",
            ValueError::DateInvalid { .. } => "date-invalid",
            ValueError::EmailInvalid { .. } => "email-invalid",
            ValueError::DigitInvalid { .. } => "digit-invalid",
            ValueError::TimezoneUnknown { .. } => "timezone-unknown",
        }
    }
}

/// The login rule a string broke, first broken rule first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginRule {
    /// The login is empty.
    Empty,
    /// The login is longer than [`LOGIN_MAX_LEN`] characters.
    TooLong,
    /// The login holds a character outside `a-z0-9._-` (upper case aside).
    BadChar(char),
    /// The login starts with `.`, `_` or `-`.
    BadStart,
    /// The login ends with `.`.
    TrailingDot,
    /// The login contains `..`.
    DoubleDot,
    /// Upper case is the only problem; `suggestion` is the lower-cased login.
    UpperCase { suggestion: String },
    /// The login is only digits: dialled, it would be taken for a number (an extension, a
    /// department, an emergency number).
    DigitsOnly,
}

/// What is wrong with a duration string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationProblem {
    /// The string is empty.
    Empty,
    /// The string starts with `-`.
    Negative,
    /// A number has no unit after it (and the string is not a bare number).
    MissingUnit,
    /// A unit has no number before it.
    MissingNumber,
    /// A unit other than `h`, `m`, `s`, `ms`.
    UnknownUnit(String),
    /// A character that is neither a digit nor a letter.
    UnexpectedChar(char),
    /// A unit repeats or comes after a smaller one.
    UnitOrder,
    /// The total is over [`MAX_DURATION`].
    TooLong,
}

/// What is wrong with a time range string (other than crossing midnight).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeRangeProblem {
    /// No `-` between start and end.
    #[error("write it as START-END, e.g. 09:00-18:00")]
    MissingDash,
    /// One side is not a time of day.
    #[error("`{0}` is not a time of day (write HH:MM, from 00:00 to 24:00)")]
    BadTime(String),
    /// Start and end are equal.
    #[error("it ends when it starts; the end must be after the start")]
    Empty,
    /// The range starts at 24:00.
    #[error("a range cannot start at 24:00; write 00:00")]
    StartsAtEndOfDay,
    /// The range ends at 00:00 after a later start.
    #[error("write 24:00, not 00:00, for the end of the day")]
    EndsAtMidnight,
}

/// What is wrong with an e-mail address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailProblem {
    /// The string is empty.
    Empty,
    /// Longer than [`EMAIL_MAX_LEN`] characters.
    TooLong,
    /// Not exactly one `@`.
    AtCount,
    /// Nothing before the `@`.
    EmptyLocal,
    /// Contains whitespace.
    Whitespace,
    /// The part after `@` is not dot-separated non-empty labels.
    BadDomain,
}

fn found(value: &str) -> String {
    if value.is_empty() {
        "an empty value".to_owned()
    } else {
        format!("`{value}`")
    }
}

fn login_message(value: &str, rule: &LoginRule) -> String {
    match rule {
        LoginRule::Empty => "login must not be empty".to_owned(),
        LoginRule::TooLong => format!(
            "login must be at most {LOGIN_MAX_LEN} characters, found {} in `{value}`",
            value.chars().count()
        ),
        LoginRule::BadChar(c) => format!(
            "login may contain only lower-case letters a-z, digits, `.`, `_` and `-`, found {c:?} \
             in `{value}`"
        ),
        LoginRule::BadStart => format!("login must start with a letter or digit, found `{value}`"),
        LoginRule::TrailingDot => format!("login must not end with `.`, found `{value}`"),
        LoginRule::DoubleDot => format!("login must not contain `..`, found `{value}`"),
        LoginRule::UpperCase { suggestion } => {
            format!("login must be lower case, found `{value}`; write it as `{suggestion}`")
        }
        LoginRule::DigitsOnly => format!(
            "login `{value}` is only digits: a call dialled to {value} would reach this person \
             instead of the extension, department or service number {value}"
        ),
    }
}

fn e164_message(value: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("`{value}` is not in E.164 form; write it as {s}"),
        None => format!(
            "{} is not in E.164 form: write `+`, the country code and the number, 7 to 15 digits \
             in all with no spaces, e.g. +74951234567",
            found(value)
        ),
    }
}

fn duration_message(value: &str, problem: &DurationProblem) -> String {
    const UNITS: &str = "units are h, m, s and ms, and a bare number means seconds";
    match problem {
        DurationProblem::Empty => {
            "duration must not be empty; write it like 20s, 1m30s or 500ms".to_owned()
        }
        DurationProblem::Negative => format!("duration must not be negative, found `{value}`"),
        DurationProblem::MissingUnit => {
            format!("duration `{value}` has a number without a unit; {UNITS}")
        }
        DurationProblem::MissingNumber => {
            format!("duration `{value}` has a unit without a number before it; write it like 1m30s")
        }
        DurationProblem::UnknownUnit(u) => {
            format!("duration `{value}` has unknown unit `{u}`; {UNITS}")
        }
        DurationProblem::UnexpectedChar(c) => format!(
            "duration `{value}` has unexpected {c:?}; write whole numbers with units, like 1m30s, \
             20s or 500ms"
        ),
        DurationProblem::UnitOrder => format!(
            "duration `{value}` repeats a unit or has units out of order; write h, m, s, ms in \
             that order, each at most once, e.g. 1h15m"
        ),
        DurationProblem::TooLong => format!("duration `{value}` is longer than 720h (30 days)"),
    }
}

fn email_message(value: &str, problem: &EmailProblem) -> String {
    match problem {
        EmailProblem::Empty => "e-mail address must not be empty".to_owned(),
        EmailProblem::TooLong => format!(
            "e-mail address must be at most {EMAIL_MAX_LEN} characters, found {}",
            value.chars().count()
        ),
        EmailProblem::AtCount => {
            format!("e-mail address must contain exactly one `@`, found `{value}`")
        }
        EmailProblem::EmptyLocal => {
            format!("e-mail address needs a name before `@`, found `{value}`")
        }
        EmailProblem::Whitespace => {
            format!("e-mail address must not contain spaces, found `{value}`")
        }
        EmailProblem::BadDomain => format!(
            "e-mail address needs a domain with a dot after `@`, such as example.com, found \
             `{value}`"
        ),
    }
}

/// `TryFrom<&str>`, `TryFrom<String>`, `From<T> for String`, serde (as a string, through
/// `parse`) and a JSON Schema for a value type that has `parse` and `Display`.
macro_rules! string_value {
    ($ty:ident, $schema:tt) => {
        impl TryFrom<&str> for $ty {
            type Error = ValueError;
            fn try_from(s: &str) -> Result<Self, ValueError> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, ValueError> {
                Self::parse(&s)
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.to_string()
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(D::Error::custom)
            }
        }
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}

pub(crate) use string_value;

/// An internal phone number: 1 to 8 ASCII digits, not starting with `0`, not one of
/// [`RESERVED_EXTENSIONS`]. Ordered numerically (shorter first, then by digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension(String);

impl Extension {
    /// Checks `s` against the extension rules.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let value = || s.to_owned();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::ExtensionNotDigits { value: value() });
        }
        if s.is_empty() || s.len() > EXTENSION_MAX_LEN {
            return Err(ValueError::ExtensionLength { value: value() });
        }
        if s.starts_with('0') {
            return Err(ValueError::ExtensionLeadingZero { value: value() });
        }
        if RESERVED_EXTENSIONS.contains(&s) {
            return Err(ValueError::ExtensionReserved { value: value() });
        }
        Ok(Extension(value()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for Extension {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.len(), &self.0).cmp(&(other.0.len(), &other.0))
    }
}

impl PartialOrd for Extension {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(Extension, {
    "type": "string",
    "pattern": "^[1-9][0-9]{0,7}$",
    "description": "Internal number: 1 to 8 digits, not starting with 0, not an emergency or service number."
});

/// A user name valid both for SIP and for the cabinet: 1 to 64 characters of `a-z0-9._-`,
/// starting with a letter or digit, not ending with `.`, without `..`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Login(String);

impl Login {
    /// Checks `s` against the login rules, reporting the first rule broken.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let err = |rule| ValueError::LoginInvalid {
            value: s.to_owned(),
            rule,
        };
        if s.is_empty() {
            return Err(err(LoginRule::Empty));
        }
        if s.chars().count() > LOGIN_MAX_LEN {
            return Err(err(LoginRule::TooLong));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if let Some(c) = s.chars().find(|&c| !allowed(c)) {
            return Err(err(LoginRule::BadChar(c)));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(err(LoginRule::BadStart));
        }
        if s.ends_with('.') {
            return Err(err(LoginRule::TrailingDot));
        }
        if s.contains("..") {
            return Err(err(LoginRule::DoubleDot));
        }
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            let suggestion = s.to_ascii_lowercase();
            return Err(err(LoginRule::UpperCase { suggestion }));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(LoginRule::DigitsOnly));
        }
        Ok(Login(s.to_owned()))
    }

    /// The login text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(Login, {
    "type": "string",
    "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$",
    "description": "User name for SIP and the cabinet: lower-case a-z, digits, `.`, `_`, `-`; starts with a letter or digit; no `..`; does not end with `.`."
});

/// A phone number in E.164 form: `+` and 7 to 15 digits, the first not `0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// Checks `s` is in E.164 form; the error suggests the E.164 form when it can be guessed.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        if is_e164(s) {
            return Ok(E164(s.to_owned()));
        }
        Err(ValueError::E164Invalid {
            value: s.to_owned(),
            suggestion: guess_e164(s),
        })
    }

    /// The number including the leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_e164(s: &str) -> bool {
    match s.strip_prefix('+') {
        Some(digits) => {
            (7..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
        }
        None => false,
    }
}

/// The E.164 form of a number written with spaces, dashes or parentheses, with a `00`
/// international prefix, or in the Russian national form (`8` or `7` and ten digits).
fn guess_e164(s: &str) -> Option<String> {
    let kept: String = s.chars().filter(|c| !" -().\u{a0}".contains(*c)).collect();
    let candidate = if kept.starts_with('+') {
        kept
    } else if let Some(rest) = kept.strip_prefix("00") {
        format!("+{rest}")
    } else if kept.len() == 11 && (kept.starts_with('8') || kept.starts_with('7')) {
        format!("+7{}", &kept[1..])
    } else {
        return None;
    };
    (is_e164(&candidate) && candidate != s).then_some(candidate)
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(E164, {
    "type": "string",
    "pattern": "^\\+[1-9][0-9]{6,14}$",
    "description": "Phone number in E.164 form: `+`, country code and number, e.g. +74951234567."
});

/// An e-mail address that passes a pragmatic check: at most 254 characters, no whitespace,
/// exactly one `@`, a non-empty local part, and a domain of two or more non-empty dot-separated
/// labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Checks `s` with the pragmatic rules above.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let problem = if s.is_empty() {
            Some(EmailProblem::Empty)
        } else if s.chars().count() > EMAIL_MAX_LEN {
            Some(EmailProblem::TooLong)
        } else if s.chars().any(char::is_whitespace) {
            Some(EmailProblem::Whitespace)
        } else if s.matches('@').count() != 1 {
            Some(EmailProblem::AtCount)
        } else {
            let (local, domain) = s.split_once('@').unwrap_or_default();
            if local.is_empty() {
                Some(EmailProblem::EmptyLocal)
            } else if !domain.contains('.') || domain.split('.').any(str::is_empty) {
                Some(EmailProblem::BadDomain)
            } else {
                None
            }
        };
        match problem {
            None => Ok(Email(s.to_owned())),
            Some(problem) => Err(ValueError::EmailInvalid {
                value: s.to_owned(),
                problem,
            }),
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(Email, {
    "type": "string",
    "format": "email",
    "maxLength": 254,
    "description": "E-mail address."
});

/// A key a caller can press in a voice menu: `0`-`9`, `*` or `#`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MenuDigit(char);

impl MenuDigit {
    /// Parses a one-character string `0`-`9`, `*` or `#`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c @ ('0'..='9' | '*' | '#')), None) => Ok(MenuDigit(c)),
            _ => Err(ValueError::DigitInvalid {
                value: s.to_owned(),
            }),
        }
    }

    /// The key.
    pub fn as_char(self) -> char {
        self.0
    }
}

impl fmt::Display for MenuDigit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

string_value!(MenuDigit, {
    "type": "string",
    "pattern": "^[0-9*#]$",
    "description": "Menu key: 0-9, * or #."
});

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::clock::{parse_duration, ClockTime, Date, TimeRange};

    /// The code of the error `r` must be.
    pub(crate) fn code<T: fmt::Debug>(r: Result<T, ValueError>) -> &'static str {
        r.expect_err("should be rejected").code()
    }

    /// The message of the error `r` must be.
    pub(crate) fn message<T: fmt::Debug>(r: Result<T, ValueError>) -> String {
        r.expect_err("should be rejected").to_string()
    }

    #[test]
    fn extensions() {
        for ok in ["1", "200", "12345678", "1000", "1120"] {
            assert_eq!(Extension::parse(ok).unwrap().as_str(), ok);
        }
        let cases = [
            ("", "extension-length"),
            ("123456789", "extension-length"),
            ("12a", "extension-not-digits"),
            ("١٢", "extension-not-digits"),
            ("04", "extension-leading-zero"),
            ("0", "extension-leading-zero"),
            ("112", "extension-reserved"),
            ("141", "extension-reserved"),
        ];
        for (bad, expected) in cases {
            assert_eq!(code(Extension::parse(bad)), expected, "{bad:?}");
        }
        assert_eq!(
            message(Extension::parse("12a")),
            "extension must contain digits only, found `12a`"
        );
        assert!(message(Extension::parse("04")).contains("04"));
        assert!(message(Extension::parse("")).contains("an empty value"));
        assert!(RESERVED_EXTENSIONS
            .iter()
            .all(|r| Extension::parse(r).is_err()));
        let mut sorted: Vec<Extension> = ["20", "3", "1000"]
            .map(|s| Extension::try_from(s).unwrap())
            .to_vec();
        sorted.sort();
        let shown: Vec<&str> = sorted.iter().map(Extension::as_str).collect();
        assert_eq!(shown, ["3", "20", "1000"]);
    }

    #[test]
    fn logins() {
        for ok in ["ivan", "ivan.petrov", "a", "1c", "x_y-z", &"a".repeat(64)] {
            assert_eq!(Login::parse(ok).unwrap().as_str(), ok);
        }
        let cases = [
            ("", LoginRule::Empty),
            (&*"a".repeat(65), LoginRule::TooLong),
            ("ivan petrov", LoginRule::BadChar(' ')),
            ("иван", LoginRule::BadChar('и')),
            (".ivan", LoginRule::BadStart),
            ("-ivan", LoginRule::BadStart),
            ("ivan.", LoginRule::TrailingDot),
            ("ivan..petrov", LoginRule::DoubleDot),
            ("112", LoginRule::DigitsOnly),
            ("0", LoginRule::DigitsOnly),
            (
                "Ivan.Petrov",
                LoginRule::UpperCase {
                    suggestion: "ivan.petrov".into(),
                },
            ),
        ];
        for (bad, rule) in cases {
            let err = Login::parse(bad).unwrap_err();
            let code = if rule == LoginRule::DigitsOnly {
                "login-digits"
            } else {
                "login-invalid"
            };
            assert_eq!(err.code(), code);
            assert_eq!(
                err,
                ValueError::LoginInvalid {
                    value: bad.into(),
                    rule
                }
            );
        }
        assert_eq!(
            message(Login::parse("Ivan")),
            "login must be lower case, found `Ivan`; write it as `ivan`"
        );
        // Upper case plus another problem: the other problem is reported, no suggestion.
        assert!(message(Login::parse("Ivan.")).contains("must not end with `.`"));
    }

    #[test]
    fn e164() {
        for ok in ["+74951234567", "+1234567", "+123456789012345"] {
            assert_eq!(E164::parse(ok).unwrap().as_str(), ok);
        }
        let cases = [
            ("89161234567", Some("+79161234567")),
            ("79161234567", Some("+79161234567")),
            ("+7 (916) 123-45-67", Some("+79161234567")),
            ("8 916 123-45-67", Some("+79161234567")),
            ("0049301234567", Some("+49301234567")),
            ("", None),
            ("4951234567", None),
            ("+0123456789", None),
            ("+123456", None),
            ("+1234567890123456", None),
            ("+7495abc4567", None),
        ];
        for (bad, suggestion) in cases {
            match E164::parse(bad).unwrap_err() {
                ValueError::E164Invalid { suggestion: s, .. } => {
                    assert_eq!(s.as_deref(), suggestion, "{bad:?}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            message(E164::parse("89161234567")),
            "`89161234567` is not in E.164 form; write it as +79161234567"
        );
        assert!(message(E164::parse("4951234567")).contains("country code"));
    }

    #[test]
    fn emails() {
        for ok in ["ivan@example.com", "a.b+c@mail.example.ru"] {
            assert_eq!(Email::parse(ok).unwrap().as_str(), ok);
        }
        let long = format!("{}@example.com", "a".repeat(250));
        let cases = [
            ("", EmailProblem::Empty),
            (long.as_str(), EmailProblem::TooLong),
            ("ivan example.com", EmailProblem::Whitespace),
            ("ivan.example.com", EmailProblem::AtCount),
            ("a@b@example.com", EmailProblem::AtCount),
            ("@example.com", EmailProblem::EmptyLocal),
            ("ivan@localhost", EmailProblem::BadDomain),
            ("ivan@example.", EmailProblem::BadDomain),
            ("ivan@.com", EmailProblem::BadDomain),
        ];
        for (bad, problem) in cases {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.code(), "email-invalid");
            assert_eq!(
                err,
                ValueError::EmailInvalid {
                    value: bad.into(),
                    problem
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn menu_digits() {
        for ok in ["0", "9", "*", "#"] {
            assert_eq!(MenuDigit::parse(ok).unwrap().to_string(), ok);
        }
        for bad in ["", "10", "a", "**"] {
            assert_eq!(code(MenuDigit::parse(bad)), "digit-invalid", "{bad}");
        }
    }

    #[test]
    fn messages_are_fragments() {
        let errors = [
            message(Extension::parse("0")),
            message(parse_duration("")),
            message(ClockTime::parse("")),
            message(TimeRange::parse("")),
            message(Date::parse("")),
            message(Email::parse("a")),
            message(MenuDigit::parse("")),
        ];
        for m in errors {
            assert!(m.starts_with(|c: char| c.is_lowercase() || c == '`'), "{m}");
            assert!(!m.ends_with('.'), "{m}");
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(
            Extension::try_from("200".to_owned()),
            Extension::parse("200")
        );
        assert_eq!(String::from(Login::parse("ivan").unwrap()), "ivan");
        assert_eq!(MenuDigit::try_from("#").map(MenuDigit::as_char), Ok('#'));
        let schema = schemars::schema_for!(E164);
        assert!(schema.as_value().to_string().contains("pattern"));
    }
}
