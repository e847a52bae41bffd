//! `Diagnostic`: one problem found in a config, with its stable code, where it is
//! (`file:line:col` and a logical path), what is wrong and how to fix it.
//!
//! Codes are stable: tools and people may match on them. They are listed in `Code` and in the
//! README's config reference; a new rule gets a new code, an old code is never reused.

use super::path::ConfigPath;
use serde::Serialize;
use std::fmt;

/// How bad a problem is. Errors make a config invalid; warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a file: 1-based line and column (in characters) and the length to underline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file as the user named it (relative paths stay relative).
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// Characters to underline; 0 marks a point.
    #[serde(skip)]
    pub len: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal $name:literal $doc:literal;)*) => {
        /// Every kind of problem `pbx validate` reports, with its stable code and name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $(#[doc = $doc] $variant,)*
        }

        impl Code {
            /// All codes, in order (for the reference table).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code, e.g. `E0103`.
            pub fn code(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The stable name, e.g. `extension-reserved`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line saying what the rule checks.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

codes! {
    YamlSyntax = "E0001" "yaml-syntax" "The file is not valid YAML.";
    UnknownKey = "E0002" "unknown-key" "A key the schema does not know (typos included).";
    WrongType = "E0003" "wrong-type" "A value of the wrong type or out of range.";
    DuplicateKey = "E0004" "duplicate-key" "The same key twice in one mapping; both places are shown.";
    MissingKey = "E0005" "missing-key" "A required key is absent.";
    UnknownValue = "E0006" "unknown-value" "A value that is not one of the allowed words.";
    Include = "E0007" "include" "An included file cannot be read or is not a tenant.";
    Version = "E0008" "unsupported-version" "`version` is not one this pbx understands.";
    IncludeRefused = "E0009" "include-refused" "An `include:` entry refused before reading: an absolute path, one leading outside the config's directory (`..` or a symbolic link), not a `.yaml`/`.yml` name, not a regular file (a directory, FIFO or device), or over 16 MiB.";
    AliasExpansion = "E0010" "alias-expansion" "YAML aliases that would expand a file by more than 10 times its size plus 1 MiB (an \"alias bomb\").";
    ExtensionFormat = "E0101" "extension-format" "An extension must be digits only.";
    ExtensionLeadingZero = "E0102" "extension-leading-zero" "An extension must not start with 0.";
    ExtensionReserved = "E0103" "extension-reserved" "An extension must not be an emergency or service number.";
    ExtensionDuplicate = "E0104" "extension-duplicate" "An extension is used twice in a tenant (staff and departments together).";
    LoginInvalid = "E0111" "login-invalid" "A login must be a valid SIP user name.";
    LoginDuplicate = "E0112" "login-duplicate" "A login is used twice in a tenant.";
    MaxUsers = "E0113" "max-users" "More staff than the tenant's `max_users` allows.";
    DuplicateId = "E0114" "duplicate-id" "Two tenants, departments, menus, schedules or trunks share an id.";
    IdInvalid = "E0115" "id-invalid" "An id must be lower-case letters, digits, `-` and `_`.";
    EmailInvalid = "E0116" "email-invalid" "An e-mail address is malformed.";
    CountRange = "E0117" "count-range" "A count outside its range (`max_users`, a menu's `repeat`, a rewrite's `length`, `server.security` failure counts, `server.limits`).";
    LoginDigits = "E0118" "login-digits" "A login made only of digits: calls dialled to that number would reach the person.";
    OutboundPrefix = "E0120" "outbound-prefix" "A prefix in `outbound.allow` or `outbound.deny` that is not in E.164 form (`+` and 1 to 15 digits).";
    OutboundConflict = "E0121" "outbound-conflict" "The same prefix both in `outbound.allow` and in `outbound.deny`.";
    OutboundMaxCalls = "E0122" "outbound-max-calls" "`outbound.max_calls` outside 1-100000, or `outbound.max_minutes_per_hour` outside 1-1000000.";
    TlsFiles = "E0150" "tls-files" "A TLS listener's `certificate` or `key` that cannot be read, holds no PEM certificate or key, or a key that does not belong to the certificate.";
    TlsTransport = "E0151" "tls-transport" "`transport: tls` without `certificate` and `key`, those on a listener that is not TLS, or TLS towards a trunk (not supported: trunks use UDP or TCP).";
    TemplateUnreadable = "E0140" "template-unreadable" "`server.smtp.templates` or `server.cabinet.templates` is not a readable directory, or a template in it cannot be read (as UTF-8 text).";
    TemplateName = "E0141" "template-name" "A `.txt` or `.html` file in `server.smtp.templates` that is not one of the templates (`<ru|en>/<welcome|voicemail|missed_call>.<txt|html>`), or an `.html` or `.json` file in `server.cabinet.templates` that is not one of the pages or `en.json` / `ru.json`.";
    TemplateSyntax = "E0142" "template-syntax" "A template override that does not compile (minijinja syntax).";
    TemplateVariable = "E0143" "template-variable" "A template override that names a variable its letters (or its cabinet page) do not carry, or a cabinet strings file with a key the cabinet does not have.";
    TemplateRender = "E0144" "template-render" "A template override that fails to render with sample data of its kind.";
    SmtpCaFile = "E0145" "smtp-ca-file" "`server.smtp.ca_file` cannot be read (as a regular text file), holds no PEM certificate, or holds one that cannot be used as a trust anchor.";
    SmtpCaInClear = "E0146" "smtp-ca-in-clear" "`server.smtp.ca_file` with `security: none`: the letters would go unencrypted and the file would be ignored.";
    NumberAsText = "E0160" "number-as-text" "A value YAML reads as a number where text is expected, written so that the number reads differently (`0o101` is 65, `0x70` is 112, `201.0`, `1e3`, `+74951234567`): quote it. Plain digits such as `201` are taken as written.";
    BoolAsText = "E0161" "boolean-as-text" "A value YAML reads as a boolean where text is expected, written otherwise than `true` or `false` (`True`, `TRUE`, `False`): quote it. Plain `true` and `false` are taken as written.";
    UnknownReference = "E0201" "unknown-reference" "A name that refers to nothing: member, destination, schedule, menu, trunk.";
    RoutingLoop = "E0202" "routing-loop" "Calls would go round in a circle with nobody answering and no caller choice (no-answer transfers, menus' `on_timeout` and `on_invalid`, forwards to a number served here).";
    DuplicateMember = "E0203" "duplicate-member" "A person listed twice in one department.";
    MenuDigit = "E0204" "menu-digit" "A menu option that is not one digit 0-9, * or #.";
    MenuKeyCollision = "E0205" "menu-key-collision" "A menu option on a key that also begins an extension callers may dial in that menu (`dial_extensions`).";
    E164 = "E0301" "e164" "A phone number not in E.164 form.";
    DuplicateNumber = "E0302" "duplicate-number" "A number (DID) claimed twice, in one tenant or across tenants.";
    DuplicateDomain = "E0303" "duplicate-domain" "Two tenants share a SIP domain.";
    Country = "E0304" "country" "A tenant's `country` that is not an ISO 3166-1 alpha-2 code.";
    Duration = "E0401" "duration" "A malformed duration.";
    ClockTime = "E0402" "clock-time" "A malformed time of day or time range.";
    ScheduleOverlap = "E0403" "schedule-overlap" "Two ranges of one day overlap.";
    Timezone = "E0404" "timezone" "Not an IANA time zone name.";
    Date = "E0405" "date" "A malformed date or date span.";
    DurationRange = "E0406" "duration-range" "A duration outside its range (`step`, `ring_time`, timeouts, delays, `server.security` windows), e.g. a zero `step`.";
    AudioMissing = "E0501" "audio-missing" "An audio file that does not exist.";
    AudioFormat = "E0502" "audio-format" "An audio file the engine cannot play (8 kHz mono 16-bit PCM WAV).";
    AudioTooLong = "E0503" "audio-too-long" "An audio file longer than its use allows (menu prompts and number greetings 5m, other prompts 2m).";
    Address = "E0601" "address" "A malformed listen address or port range.";
    Secret = "E0602" "secret" "A malformed secret reference or password hash.";
    Network = "E0603" "network" "A malformed trusted network in `server.security.trusted` (CIDR such as `10.0.0.0/8`).";
    MailFrom = "E0604" "mail-from" "`server.smtp.from` is not a mailbox like `PBX <pbx@example.com>`.";
    VoicemailLength = "E0801" "voicemail-length" "`voicemail.max_length` outside 5s-30m, or `min_length` not below it.";
    VoicemailSilence = "E0802" "voicemail-silence" "`voicemail.silence` outside 1s-60s.";
    VoicemailKeep = "E0803" "voicemail-keep" "`voicemail.keep` outside 1-10000.";
    PlaintextSecret = "W0701" "plaintext-secret" "A password or token written in plain text in the config.";
    EmptyDepartment = "W0702" "empty-department" "A department with no members.";
    Unused = "W0703" "unused" "A schedule no number uses, or a menu no number leads to (directly or through other menus).";
    UnreachableOption = "W0704" "unreachable-option" "A menu option callers can never choose (`#` in a menu with `dial_extensions`, where `#` ends the dialled extension).";
    NoticeNowhere = "W0706" "notice-nowhere" "`notify.missed_calls` on a staff member without an `email`: nobody to tell.";
    OutboundNoHome = "W0710" "outbound-no-home" "A tenant whose `country` has no entry in the outbound dial plans: every `+` number counts as international, and numbers without `+` are not recognised as premium-rate (allow the country's own code in `outbound.allow`).";
    OutboundDenied = "W0711" "outbound-denied" "A mobile forwarded to, a no-answer forward or an external destination whose number the tenant's `outbound` rules deny: it would never ring.";
    NamesakeWithoutLogin = "W0730" "namesake-without-login" "Two or more staff of one tenant with the same name and no `login:`, and nothing else (e-mail, mobile, position, extension) that tells this one apart: it is known by its order, so removing or moving one may hand its login, extension and password to another. Write their logins.";
}

/// One problem in a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    /// The logical path of the offending value.
    pub path: ConfigPath,
    /// Where it is, when the value is in a file (a default that was never written has none).
    pub location: Option<Location>,
    pub message: String,
    /// How to fix it, when we can say.
    pub help: Option<String>,
    /// Other places that take part (the first of two duplicates, say), with a label.
    pub related: Vec<(Location, String)>,
}

impl Diagnostic {
    /// An error with no location yet.
    pub fn error(code: Code, path: ConfigPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            path,
            location: None,
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }

    /// A warning with no location yet.
    pub fn warning(code: Code, path: ConfigPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, path, message)
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the location.
    pub fn at(mut self, location: Location) -> Diagnostic {
        self.location = Some(location);
        self
    }

    /// Adds a related location.
    pub fn with_related(mut self, location: Location, label: impl Into<String>) -> Diagnostic {
        self.related.push((location, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean `x`?" for the candidate closest to `word`, if one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("sales2", ["sales", "support"]).as_deref(),
            Some("did you mean `sales`?")
        );
        assert_eq!(did_you_mean("marketing", ["sales", "support"]), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.code()), "{} twice", c.code());
            assert!(seen.insert(c.name()), "{} twice", c.name());
        }
    }
}
