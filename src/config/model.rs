//! The validated config: what the rest of pbx works from.
//!
//! Every value here has been checked (newtypes that cannot hold a bad value), every default
//! filled in, and every reference resolved into a typed index (`StaffId`, `DepartmentId`, ...)
//! into its tenant's lists, so a dangling name cannot exist at run time. Only `validate` builds
//! these types.

use super::clock::{Date, TimeRange};
pub use super::network::Network;
use super::values::{Email, Extension, Login, MenuDigit, E164};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use super::raw::{
    DigestAlgorithm, Forwarding, Language, Role, SmtpSecurity, Strategy, Transport,
};

/// A whole validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub server: Server,
    /// Trunks every tenant may use.
    pub trunks: Vec<Trunk>,
    /// Shared, so a config that changes one tenant reuses the others as they were validated.
    pub tenants: Vec<Arc<Tenant>>,
}

/// Server process settings, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub sip_listen: Vec<Listen>,
    pub sip_public_address: Option<String>,
    /// Digest algorithms challenged with, in order (never empty).
    pub digest_algorithms: Vec<DigestAlgorithm>,
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    pub rtp_public_address: Option<String>,
    pub http_listen: SocketAddr,
    pub cabinet: Cabinet,
    /// Resolved against the config file's directory.
    pub data_dir: PathBuf,
    pub admin_token: Option<SecretRef>,
    pub smtp: Option<Smtp>,
    pub security: Security,
    pub limits: Limits,
}

/// The web cabinet's settings (`server.cabinet`), defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cabinet {
    /// `None`: the cabinet is off.
    pub listen: Option<SocketAddr>,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// The session cookie is `Secure` whatever the request says.
    pub secure_cookies: bool,
    /// The deployment's replacements of the pages and strings, resolved against the config's
    /// directory.
    pub templates: Option<PathBuf>,
}

impl Default for Cabinet {
    fn default() -> Self {
        Cabinet {
            listen: None,
            session_idle: Duration::from_secs(8 * 3600),
            secure_cookies: false,
            templates: None,
        }
    }
}

/// Caps on registrations and concurrent calls (`server.limits`), defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Devices one staff member may have registered (at least 1).
    pub contacts_per_person: u32,
    /// Calls in progress per tenant (0: no limit).
    pub calls_per_tenant: u32,
    /// Calls one staff member may be on (0: no limit).
    pub calls_per_person: u32,
    /// Calls in progress on the server (0: no limit).
    pub calls: u32,
    /// SIP transactions alive on the server.
    pub transactions: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            contacts_per_person: 10,
            calls_per_tenant: 0,
            calls_per_person: 0,
            calls: 0,
            transactions: 200_000,
        }
    }
}

/// Password-guessing protection, defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Security {
    /// Failed digest responses from one source within `window` that ban it (at least 1).
    pub max_failures: u32,
    pub window: Duration,
    pub ban: Duration,
    /// Failed responses for one account within `window` (all sources) that put it under
    /// attack.
    pub account_failures: u32,
    /// Sources never counted nor banned.
    pub trusted: Vec<Network>,
    /// Requests a second per source before the rest is dropped (0: no limit).
    pub max_rate: u32,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            max_failures: 5,
            window: Duration::from_secs(600),
            ban: Duration::from_secs(900),
            account_failures: 20,
            trusted: Vec::new(),
            max_rate: 200,
        }
    }
}

/// A SIP listening socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    pub transport: Transport,
    pub address: SocketAddr,
    /// For TLS: the certificate chain and key files (PEM).
    pub tls: Option<TlsFiles>,
}

/// A TLS listener's certificate chain and private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// Where a secret comes from at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRef {
    Literal(String),
    Env(String),
    /// Resolved against the config file's directory.
    File(PathBuf),
}

/// How long a sent or given-up letter stays in the outbox unless `server.smtp.keep_sent`
/// says otherwise: 30 days.
pub const DEFAULT_KEEP_SENT: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Outgoing mail settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub from: String,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// The PEM file of the certificates trusted for TLS (only these), resolved against the
    /// config file's directory; `None`: the built-in public roots.
    pub ca_file: Option<PathBuf>,
    /// How long a sent or given-up letter stays in the outbox.
    pub keep_sent: std::time::Duration,
    /// The directory of template overrides, resolved against the config file's directory.
    pub templates: Option<PathBuf>,
}

/// A staff password as configured (usually absent: generated by the server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    Secret(SecretRef),
    /// Digest HA1 hashes in lower-case hex.
    Hash {
        md5: Option<String>,
        sha256: Option<String>,
    },
}

/// A SIP trunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trunk {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub transport: Transport,
    pub auth: Option<TrunkAuth>,
    pub register: bool,
    pub inbound_from: Vec<std::net::IpAddr>,
    pub outbound_rewrite: Vec<Rewrite>,
    pub inbound_rewrite: Vec<Rewrite>,
}

/// Credentials towards a trunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrunkAuth {
    pub username: String,
    pub password: SecretRef,
    pub realm: Option<String>,
}

/// A number prefix rewrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    pub prefix: String,
    pub replace: String,
    pub length: Option<u32>,
}

/// A trunk a tenant may call out through: one of its own or a shared one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrunkRef {
    Own(usize),
    Shared(usize),
}

/// A company.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub max_users: u32,
    pub timezone: Timezone,
    pub trunks: Vec<Trunk>,
    pub outbound_trunks: Vec<TrunkRef>,
    /// Where calls out may go, and how many at once.
    pub outbound: super::outbound::Outbound,
    pub prompts: Prompts,
    /// The language of the built-in prompts callers hear.
    pub language: Language,
    /// ISO 3166 alpha-2 code (upper case): the ringback tone callers hear.
    pub country: String,
    pub voicemail: VoicemailSettings,
    /// What staff may change for themselves in the web cabinet.
    pub self_service: SelfService,
    pub staff: Vec<Staff>,
    pub departments: Vec<Department>,
    pub numbers: Vec<Number>,
    pub schedules: Vec<Schedule>,
    pub menus: Vec<Menu>,
}

impl Config {
    /// For each tenant, whether it is the very same (`Arc`) as `before`'s tenant of its id:
    /// a config that changed other tenants reuses it (`config::reuse`), so nothing of it
    /// changed.
    pub fn same_tenants_as(&self, before: Option<&Config>) -> Vec<bool> {
        let before: std::collections::HashMap<&str, &Arc<Tenant>> = before
            .iter()
            .flat_map(|c| c.tenants.iter().map(|t| (t.id.as_str(), t)))
            .collect();
        self.tenants
            .iter()
            .map(|t| before.get(t.id.as_str()).is_some_and(|b| Arc::ptr_eq(b, t)))
            .collect()
    }
}

impl Tenant {
    /// Whether a staff password is read from outside the config (`{env}`, `{file}`): then its
    /// value can change while the tenant's config does not, and it is read at every apply.
    pub fn reads_secrets(&self) -> bool {
        self.staff.iter().any(|s| {
            matches!(
                s.password,
                Some(PasswordSource::Secret(
                    SecretRef::Env(_) | SecretRef::File(_)
                ))
            )
        })
    }
}

/// What staff may change for themselves in the web cabinet (`self_service`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelfService {
    pub forwarding: bool,
    pub password: bool,
    pub greeting: bool,
}

impl Default for SelfService {
    fn default() -> Self {
        SelfService {
            forwarding: true,
            password: true,
            greeting: true,
        }
    }
}

/// How a tenant's voicemail boxes record and keep messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoicemailSettings {
    /// A recording stops at this length.
    pub max_length: Duration,
    /// Shorter recordings are discarded.
    pub min_length: Duration,
    /// A recording stops after this much silence (trimmed off).
    pub silence: Duration,
    /// Messages kept per box; the oldest go first.
    pub keep: u32,
}

impl Default for VoicemailSettings {
    fn default() -> Self {
        VoicemailSettings {
            max_length: Duration::from_secs(120),
            min_length: Duration::from_secs(2),
            silence: Duration::from_secs(5),
            keep: 100,
        }
    }
}

/// A valid IANA time zone name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timezone(pub(super) String);

impl Timezone {
    pub fn name(&self) -> &str {
        &self.0
    }
    /// The zone's rules (validated to exist when the config was checked).
    pub fn tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::db()
            .get(&self.0)
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// Audio files replacing the built-in prompts, resolved against the config's directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prompts {
    pub voicemail_greeting: Option<PathBuf>,
    pub impatient_offer: Option<PathBuf>,
    pub after_hours: Option<PathBuf>,
    pub invalid_choice: Option<PathBuf>,
    pub callback_confirmed: Option<PathBuf>,
}

/// Index of a staff member in its tenant's `staff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StaffId(pub usize);
/// Index of a department in its tenant's `departments`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DepartmentId(pub usize);
/// Index of a menu in its tenant's `menus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MenuId(pub usize);
/// Index of a schedule in its tenant's `schedules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScheduleId(pub usize);

/// A staff member.
#[derive(Clone, Debug, PartialEq)]
pub struct Staff {
    pub name: String,
    pub login: Login,
    /// True when the login was generated from the name rather than written.
    pub login_generated: bool,
    pub password: Option<PasswordSource>,
    pub position: Option<String>,
    pub role: Role,
    /// Absent: allocated by the server on first apply.
    pub extension: Option<Extension>,
    pub email: Option<Email>,
    pub mobile: Option<Mobile>,
    pub ring_time: Duration,
    pub no_answer: NoAnswer,
    pub voicemail_greeting: Option<PathBuf>,
    /// `notify.missed_calls`: a letter (at `email`) for every missed call offered to them.
    pub notify_missed_calls: bool,
}

/// A personal number with its forwarding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mobile {
    pub number: E164,
    pub forwarding: Forwarding,
    /// For `Delayed`: how long the devices ring alone.
    pub delay: Duration,
}

/// What happens to an unanswered call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoAnswer {
    Voicemail,
    Forward { number: E164, timeout: Duration },
    Transfer(Target),
}

/// A person or a department.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Staff(StaffId),
    Department(DepartmentId),
}

/// Where a call goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Staff(StaffId),
    Department(DepartmentId),
    Menu(MenuId),
    Voicemail(Target),
    External(E164),
    Hangup,
}

/// A department.
#[derive(Clone, Debug, PartialEq)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub extension: Option<Extension>,
    pub strategy: Strategy,
    pub step: Duration,
    pub ring_time: Duration,
    pub members: Vec<StaffId>,
    pub no_answer: NoAnswer,
    pub impatient_callers: Option<ImpatientCallers>,
    pub voicemail_greeting: Option<PathBuf>,
    /// `notify.missed_calls`: a letter to each member with an e-mail for every missed call
    /// that rang the department.
    pub notify_missed_calls: bool,
}

/// The "for impatient callers" offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImpatientCallers {
    pub after: Duration,
    /// `None`: offered once.
    pub repeat: Option<Duration>,
    pub max_offers: u32,
    pub prompt: Option<PathBuf>,
    pub callback_digit: MenuDigit,
    pub wait_digit: MenuDigit,
    pub voicemail_digit: MenuDigit,
    pub callback: CallbackRules,
}

/// How the callbacks a department's callers order are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRules {
    pub attempts: u32,
    pub retry_after: Duration,
    pub expires: Duration,
    pub ring_time: Duration,
    /// `None`: the hours of the number the caller called.
    pub schedule: Option<ScheduleId>,
}

/// An external number (DID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number {
    pub number: E164,
    pub name: Option<String>,
    /// `None`: 24/7.
    pub schedule: Option<ScheduleId>,
    pub destination: Destination,
    /// `None`: the after-hours prompt, then hang up.
    pub after_hours: Option<Destination>,
    pub greeting: Option<PathBuf>,
    /// Replaces the `after` of the impatient-caller offer for calls on this number.
    pub impatient_after: Option<Duration>,
}

/// Weekly hours and holidays.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub id: String,
    pub timezone: Timezone,
    /// Monday first; ranges sorted and not overlapping.
    pub week: [Vec<TimeRange>; 7],
    /// Inclusive date spans.
    pub holidays: Vec<(Date, Date)>,
}

/// A voice menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Menu {
    pub id: String,
    pub prompt: PathBuf,
    pub options: BTreeMap<MenuDigit, Destination>,
    pub timeout: Duration,
    pub repeat: u32,
    pub on_timeout: Option<Destination>,
    pub on_invalid: Option<Destination>,
    pub dial_extensions: bool,
}
