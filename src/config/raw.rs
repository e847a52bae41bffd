//! The wire types of `pbx.yaml`: what a user writes, exactly as written.
//!
//! These types are deserialized by serde-saphyr and are the source of the JSON Schema
//! (`pbx schema`, committed as `schema/pbx.schema.json`), so every field carries a `///` doc that
//! an editor shows on hover. Unknown keys are rejected (`deny_unknown_fields`); no
//! `#[serde(flatten)]`. Values that need checking (extensions, numbers, durations, names that
//! refer to other entities) stay strings here: `validate` turns them into the domain types of
//! `model`, reporting every problem at once. Nothing outside `config/` sees these types.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A pbx configuration: the server's own settings, shared trunks, and the companies (tenants)
/// the server hosts. Tenants may be written inline or kept one per file (`include`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Version of this file's format. Only `1` exists today.
    pub version: u32,
    /// Settings of the server process: listen addresses, RTP ports, data directory, mail.
    #[serde(default)]
    pub server: Server,
    /// SIP trunks (gateways to the public telephone network) that every tenant may use.
    #[serde(default)]
    pub trunks: Vec<Trunk>,
    /// Files, relative to this one, each holding one tenant (the same keys as an entry of
    /// `tenants`). Lets every company live in its own file. Each must be a `.yaml` or `.yml`
    /// file inside this file's directory (no absolute path, no `..` or symbolic link leading
    /// out), a regular file of at most 16 MiB.
    #[serde(default)]
    pub include: Vec<String>,
    /// The companies served by this PBX. Each has its own SIP domain, staff, numbers and history;
    /// nothing of one tenant is visible to another.
    #[serde(default)]
    pub tenants: Vec<std::sync::Arc<Tenant>>,
}

/// Settings of the server process. Changing `sip.listen`, `http.listen` or `data_dir` needs a
/// restart; everything else is applied live.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// SIP signalling.
    #[serde(default)]
    pub sip: SipSettings,
    /// RTP media relay.
    #[serde(default)]
    pub rtp: RtpSettings,
    /// The admin API.
    #[serde(default)]
    pub http: HttpSettings,
    /// The web cabinet, where staff sign in with their login, their company's domain and
    /// their phone's password: call history and statistics by role, and for administrators
    /// the applied config, its history and password resets. Off unless `listen` is set.
    #[serde(default)]
    pub cabinet: CabinetSettings,
    /// Directory of the embedded store (generated credentials, history, counters), relative to
    /// this file. Default: `data`.
    pub data_dir: Option<String>,
    /// Token that `pbx apply` must present to the admin API. Normally `{env: PBX_ADMIN_TOKEN}`.
    /// Without it the admin API is disabled.
    pub admin_token: Option<Secret>,
    /// Outgoing mail (welcome letters with credentials, voicemail notices).
    pub smtp: Option<Smtp>,
    /// Protection against password guessing: failed digest responses are counted per source
    /// address and per account, and a source that fails too often is banned (its packets are
    /// ignored). Applied live on reload.
    #[serde(default)]
    pub security: SecuritySettings,
    /// Caps on what one person or one company may hold at once: registered devices per staff
    /// member, calls in progress per tenant and per person. Applied live on reload (calls
    /// already in progress are never cut).
    #[serde(default)]
    pub limits: LimitSettings,
}

/// Caps on registrations and concurrent calls. A REGISTER adding a device beyond
/// `contacts_per_person` is refused with 403 (refreshing a device already registered, and
/// unregistering, always work); a call beyond `calls_per_tenant` gets 503 with Retry-After; a
/// call from a person at `calls_per_person`, or dialled straight to one, gets 486 (and a
/// department does not ring that person). Each refusal is one `limit:` line in the server log.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Devices (SIP contacts) one staff member may have registered at once. From 1 to 100.
    /// Default: 10.
    #[schemars(range(min = 1, max = 100))]
    pub contacts_per_person: Option<u32>,
    /// Calls in progress (ringing or talking) one tenant may have at once, inbound, internal
    /// and outbound together. `0`: no limit. From 0 to 100000. Default: 0.
    #[schemars(range(min = 0, max = 100000))]
    pub calls_per_tenant: Option<u32>,
    /// Calls one staff member may be on at once: calls they make count from their start, calls
    /// they take from their answer. `0`: no limit. From 0 to 1000. Default: 0.
    #[schemars(range(min = 0, max = 1000))]
    pub calls_per_person: Option<u32>,
    /// Calls in progress on the whole server (its dialogs); a new call beyond it gets 503 with
    /// `Retry-After`. Each engine shard takes an even share. `0`: no limit. From 0 to 1000000.
    /// Default: 0.
    #[schemars(range(min = 0, max = 1000000))]
    pub calls: Option<u32>,
    /// SIP transactions the server keeps at once (each lives up to 32 s after its answer); a
    /// new request beyond it is answered 503 without one. Each engine shard takes an even
    /// share. From 1000 to 10000000. Default: 200000.
    #[schemars(range(min = 1000, max = 10000000))]
    pub transactions: Option<u32>,
}

/// Password-guessing protection. A failed digest response is a REGISTER or INVITE whose
/// credentials were checked and were wrong (wrong password or unknown user); the first,
/// unauthenticated request and a correct response to an expired nonce never count.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Failed digest responses from one source address within `window` that get it banned.
    /// Default: 5.
    #[schemars(range(min = 1, max = 1000))]
    pub max_failures: Option<u32>,
    /// How far back failures are counted. From 1s to 24h. Default: `10m`.
    pub window: Option<DurationText>,
    /// How long a banned source is ignored (no answer at all). From 1s to 720h (30 days).
    /// Default: `15m`.
    pub ban: Option<DurationText>,
    /// Failed responses for one account, from all sources together within `window`, above
    /// which the account is under attack: failures for it from addresses that never
    /// authenticated as it are then unanswered and count double. The account's own phones,
    /// and a right password from anywhere, keep working. Default: 20.
    #[schemars(range(min = 1, max = 100000))]
    pub account_failures: Option<u32>,
    /// Networks never counted or banned, in CIDR notation (`10.0.0.0/8`, `192.0.2.7`,
    /// `2001:db8::/32`): an office behind one NAT address, monitoring. Trunks' addresses are
    /// never counted either.
    #[serde(default)]
    pub trusted: Vec<String>,
    /// Requests a second one source address may send (bursts of two seconds' worth); what it
    /// sends beyond is dropped unread, before any work, while other sources keep their
    /// service. Trusted networks and trunks are exempt. `0`: no limit. Default: 200.
    #[schemars(range(min = 0, max = 1000000))]
    pub max_rate: Option<u32>,
}

/// SIP signalling settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipSettings {
    /// Sockets the server listens on. Default: UDP and TCP on `0.0.0.0:5060`.
    pub listen: Option<Vec<Listen>>,
    /// Address written into Via/Contact headers when the listen address is a wildcard.
    /// Default: the listen address, or `127.0.0.1` for a wildcard.
    pub public_address: Option<String>,
    /// Digest algorithms offered in challenges, in order of preference. Default: `[md5]`, which
    /// every phone understands; add `sha-256` (RFC 8760) for phones that support it — some older
    /// clients (baresip 1.0) reject a challenge list that contains an algorithm they lack.
    pub digest_algorithms: Option<Vec<DigestAlgorithm>>,
}

/// A SIP digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum DigestAlgorithm {
    /// MD5 (RFC 2617).
    #[serde(rename = "md5")]
    Md5,
    /// SHA-256 (RFC 8760).
    #[serde(rename = "sha-256")]
    Sha256,
}

/// One SIP listening socket.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// `udp`, `tcp` or `tls`.
    pub transport: Transport,
    /// `IP:port`, e.g. `0.0.0.0:5060` (`0.0.0.0:5061` for TLS).
    pub address: String,
    /// For `tls`: the certificate chain, a PEM file (relative to this file's directory). Read
    /// again at every reload (SIGHUP, an apply), so a renewed certificate is served without a
    /// restart.
    pub certificate: Option<String>,
    /// For `tls`: the certificate's private key, a PEM file (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<String>,
}

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// SIP over UDP (RFC 3261 §18), the usual choice for desk phones.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (RFC 3261 §26, `sips:` aside): phones connect to the PBX; only on
    /// `server.sip.listen`, with `certificate` and `key`.
    Tls,
}

/// RTP media relay settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RtpSettings {
    /// Lowest UDP port used for media. Default: 10000.
    pub port_min: Option<u16>,
    /// Highest UDP port used for media. Default: 20000.
    pub port_max: Option<u16>,
    /// Address announced in SDP for the relay. Default: the SIP public address.
    pub public_address: Option<String>,
}

/// Admin API settings (the web cabinet has its own, `server.cabinet`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// `IP:port` of the HTTP server. Default: `127.0.0.1:8080`.
    pub listen: Option<String>,
}

/// The web cabinet. Changing `listen` needs a restart; the rest applies to new sessions.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CabinetSettings {
    /// `IP:port` the cabinet is served on (plain HTTP: put a TLS proxy in front of it beyond
    /// loopback). Default: none, the cabinet is off.
    pub listen: Option<String>,
    /// A session ends after this long without a request; signing in again starts a new one.
    /// From 5m to 7 days (168h). Default: `8h`.
    pub session_idle: Option<DurationText>,
    /// Mark the session cookie `Secure`, so browsers send it over HTTPS only: set it when the
    /// cabinet is reached through a TLS proxy. A request the proxy marks
    /// `X-Forwarded-Proto: https` gets a `Secure` cookie either way. Default: `false`.
    pub secure_cookies: Option<bool>,
    /// A directory (relative to this file's) of pages and strings replacing the built-in
    /// ones: any of `layout.html`, `signin.html`, `history.html`, `stats.html`,
    /// `voicemail.html`, `profile.html`, `admin.html`, `password.html`, `error.html` (minijinja
    /// templates; copy the shipped ones from `assets/cabinet/templates/` to start), and
    /// `en.json` / `ru.json` replacing single strings by key. A file present replaces its
    /// built-in one, the others stay built in. `pbx validate` compiles each template and
    /// refuses a value its page is not given, an unknown file or string key.
    pub templates: Option<String>,
}

/// Outgoing mail over SMTP.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Mail server host name or IP.
    pub host: String,
    /// Mail server port. Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    pub port: Option<u16>,
    /// Connection security. Default: `starttls`.
    pub security: Option<SmtpSecurity>,
    /// Sender address of the letters, e.g. `PBX <pbx@example.com>`.
    pub from: String,
    /// User name for SMTP authentication, if the server needs it.
    pub username: Option<String>,
    /// Password for SMTP authentication; use `{env: NAME}` or `{file: PATH}`.
    pub password: Option<Secret>,
    /// A PEM file (relative to this file's directory) of the certificates to trust for the
    /// server's TLS (`starttls` or `tls`), e.g. a private CA's or the server's self-signed
    /// one. When given, only these are trusted; by default, the public roots (Mozilla's list,
    /// built in). The host name or address in `host` must match the server's certificate
    /// either way. Not with `security: none`.
    pub ca_file: Option<String>,
    /// How long a letter stays in the outbox (and in `GET /api/v1/outbox`) once it was sent
    /// or given up; then the sender removes it. From 1h to 720h (30 days). Default: `720h`.
    pub keep_sent: Option<DurationText>,
    /// A directory (relative to this file's) of templates replacing the built-in ones:
    /// any of `<ru|en>/<welcome|voicemail|missed_call>.<txt|html>`. A file present replaces
    /// its built-in template, the others stay built in. The first line of a `.txt` is the
    /// subject. `pbx validate` compiles each one and renders it with sample data; a variable
    /// the letter does not carry is an error.
    pub templates: Option<String>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection (only for a relay on the same host).
    None,
    /// Plain connection upgraded with STARTTLS.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// A secret kept out of git: read from an environment variable or a file at run time.
/// A literal string is accepted but reported as a warning.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Secret {
    /// A literal value written in the config (discouraged: it ends up in git).
    Literal(String),
    /// Read from an environment variable.
    Env(EnvRef),
    /// Read from a file.
    File(FileRef),
}

/// A value read from an environment variable.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvRef {
    /// Name of the environment variable.
    pub env: String,
}

/// A value read from a file: its first line, trimmed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Path of the file, relative to this config file.
    pub file: String,
}

/// A staff member's password. Normally absent: the server generates a strong one and keeps it in
/// its store. If a team must keep it in git, only as a digest hash or a reference.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Password {
    /// A plaintext password (reported as a warning: it would live in git).
    Literal(String),
    /// Read from an environment variable when the config is applied.
    Env(EnvRef),
    /// Read from a file when the config is applied.
    File(FileRef),
    /// SIP digest hashes, so that the password itself is nowhere.
    Hash(HashRef),
}

/// SIP digest hashes HA1 = H(login:domain:password), as hex.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashRef {
    /// The digest hashes.
    pub ha1: PasswordHash,
}

/// Precomputed SIP digest HA1 values. With only `md5`, phones that use SHA-256 digest cannot
/// authenticate, and the other way round.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordHash {
    /// MD5(login:domain:password) as 32 hex digits.
    pub md5: Option<String>,
    /// SHA-256(login:domain:password) as 64 hex digits (RFC 8760).
    pub sha256: Option<String>,
}

/// A SIP trunk: a gateway to the public telephone network. Outbound calls go to it; inbound
/// calls from its addresses to a tenant's numbers are accepted.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trunk {
    /// Name of the trunk, used by tenants' `outbound_trunks`.
    pub id: String,
    /// Gateway host name or IP address.
    pub host: String,
    /// Gateway port. Default: 5060.
    pub port: Option<u16>,
    /// Transport towards the gateway. Default: `udp`.
    pub transport: Option<Transport>,
    /// Credentials, when the gateway wants digest authentication or registration.
    pub auth: Option<TrunkAuth>,
    /// Register with the gateway (some providers deliver inbound calls only to a registered
    /// trunk). Needs `auth`. Default: false.
    #[serde(default)]
    pub register: bool,
    /// Source IP addresses from which inbound calls are accepted. Default: the resolved `host`.
    #[serde(default)]
    pub inbound_from: Vec<String>,
    /// Rewrites applied to a dialled number before it is sent to this trunk, first match wins.
    #[serde(default)]
    pub outbound_rewrite: Vec<Rewrite>,
    /// Rewrites applied to numbers arriving from this trunk (to reach E.164), first match wins.
    #[serde(default)]
    pub inbound_rewrite: Vec<Rewrite>,
}

/// Credentials towards a trunk.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkAuth {
    /// User name given by the provider.
    pub username: String,
    /// Password given by the provider; use `{env: NAME}` or `{file: PATH}`.
    pub password: Secret,
    /// Digest realm, if the provider requires a fixed one.
    pub realm: Option<String>,
}

/// A number rewrite: a number starting with `prefix` has it replaced by `replace`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rewrite {
    /// The prefix to match, e.g. `+7` or `8`.
    pub prefix: String,
    /// What the prefix becomes, e.g. `8` or `+7`; empty removes it.
    #[serde(default)]
    pub replace: String,
    /// Only numbers of exactly this many characters (prefix included) match. From 1 to 32.
    pub length: Option<u32>,
}

/// A company served by the PBX.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Short stable identifier (lower-case letters, digits, `-`), e.g. `acme`.
    pub id: String,
    /// Company name, shown in the cabinet and in letters.
    pub name: String,
    /// SIP domain and digest realm of this company's phones, e.g. `acme.pbx.example.com`.
    /// Unique across tenants.
    pub domain: String,
    /// Tariff plan cap: how many staff members the company may have. From 1 to 100000.
    pub max_users: u32,
    /// IANA time zone of the company, e.g. `Europe/Moscow`. Schedules use it unless they name
    /// their own. Default: `UTC`.
    pub timezone: Option<String>,
    /// Language of the built-in prompts callers hear (the voicemail greeting, the after-hours
    /// message, "invalid choice", the impatient-caller offer, digits read out): `ru` or `en`.
    /// Files named in `prompts` replace them whatever the language. Also the language of the
    /// web cabinet's pages for this company's staff. Default: `ru`.
    pub language: Option<Language>,
    /// Country of the company, as an ISO 3166-1 alpha-2 code such as `RU`, `KZ` or `DE` (upper
    /// or lower case): the tones callers hear (ringback) follow its conventions. Default: `RU`.
    pub country: Option<String>,
    /// How the voicemail boxes of this company's staff and departments record and keep messages.
    #[serde(default)]
    pub voicemail: Voicemail,
    /// What staff may change for themselves in the web cabinet's profile page. What they set
    /// is kept by the server, over the config (`pbx plan` does not report it as a change).
    #[serde(default)]
    pub self_service: SelfService,
    /// Trunks of this tenant only (the same keys as the top-level `trunks`).
    #[serde(default)]
    pub trunks: Vec<Trunk>,
    /// Trunks that staff calls to external numbers go through, tried in order. They may be
    /// this tenant's or shared ones. Empty: staff cannot call external numbers.
    #[serde(default)]
    pub outbound_trunks: Vec<String>,
    /// Which numbers calls out through the trunks may reach, and how many may be out at once
    /// (toll-fraud protection). Applies to every call out: staff dialling, forwards to mobiles
    /// and external numbers. Default: the tenant's own country only, premium-rate ranges
    /// denied, no cap.
    #[serde(default)]
    pub outbound: Outbound,
    /// Replacements for the built-in prompts.
    #[serde(default)]
    pub prompts: Prompts,
    /// The company's people (сотрудники). Each can register phones and log in to the cabinet.
    #[serde(default)]
    pub staff: Vec<Staff>,
    /// Departments (отделы): groups of staff that take calls together.
    #[serde(default)]
    pub departments: Vec<Department>,
    /// The company's external phone numbers (DIDs) and where their calls go.
    #[serde(default)]
    pub numbers: Vec<Number>,
    /// Working-hours schedules that numbers refer to.
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    /// Self-service voice menus (IVR).
    #[serde(default)]
    pub menus: Vec<Menu>,
}

/// Where a tenant's calls out may go. Every key may be omitted. A number is compared in
/// international (E.164) form — `8 809 ...` dialled in Russia is `+7809...` — and the longest
/// matching prefix of `allow`, `deny` and the built-in premium-rate list decides (the tenant's
/// own entry wins a tie with the list, `deny` wins one with `allow`). A number nothing matches
/// is allowed inside the tenant's `country` and, outside it, only with `international: true`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    /// E.164 prefixes (`+` and digits) that may be called even where the defaults deny them:
    /// `+375` opens Belarus, `+78095550000` one premium number.
    #[serde(default)]
    pub allow: Vec<String>,
    /// E.164 prefixes that may not be called, e.g. `+7495` or `+3`.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Numbers outside the tenant's `country` may be called. Default: `false`.
    pub international: Option<bool>,
    /// Premium-rate and high-cost ranges may be called: Russian 8-803 and 8-809 (`+7803`,
    /// `+7809`), German 0900, UK 09, satellite and international-network codes (`+870`, `+881`,
    /// `+882`, `+883`, `+979`). Default: `false`.
    pub premium: Option<bool>,
    /// At most this many of the tenant's calls go out through trunks at once; one more gets
    /// 503 (a staff member dialling) or fails like an unreachable number (a forward). From 1 to
    /// 100000. Default: no limit.
    pub max_calls: Option<u32>,
    /// At most this many minutes of calls out (talk time through trunks, counted when each call
    /// ends) in any 60 minutes; beyond it calls out are refused like `max_calls` until the
    /// hour's minutes fall below it again. From 1 to 1000000. Default: no limit.
    pub max_minutes_per_hour: Option<u32>,
    /// Rules for the calls staff of a role dial, replacing the tenant's where written (the
    /// person's own `outbound` replaces these in turn).
    pub roles: Option<RoleRules>,
}

/// The outbound rules of each cabinet role.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRules {
    /// The rules of staff with `role: admin`.
    pub admin: Option<DialRules>,
    /// The rules of staff with `role: user` (or no role).
    pub user: Option<DialRules>,
    /// The rules of staff with `role: restricted`.
    pub restricted: Option<DialRules>,
}

/// Outbound rules for some staff: each field written replaces the one they would have from
/// their role or the tenant.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialRules {
    /// E.164 prefixes they may call even where the defaults deny them.
    pub allow: Option<Vec<String>>,
    /// E.164 prefixes they may not call.
    pub deny: Option<Vec<String>>,
    /// Numbers outside the tenant's `country` may be called.
    pub international: Option<bool>,
    /// Premium-rate and high-cost ranges may be called.
    pub premium: Option<bool>,
}

/// The language of a tenant's built-in prompts (and letters). Its `word()` names the
/// directory of its prompts under `assets/prompts/`.
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Russian (`assets/prompts/ru/`).
    #[default]
    Ru,
    /// English (`assets/prompts/en/`).
    En,
}

/// What staff may change for themselves in the web cabinet. Every key may be omitted.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfService {
    /// Their mobile forwarding (off, instant, delayed, and the delay), for staff with a
    /// `mobile`: it then replaces the config's `mobile.forwarding` and `mobile.delay` for
    /// their calls. `false`: the config's settings apply and the cabinet only shows them.
    /// Default: `true`.
    pub forwarding: Option<bool>,
    /// Their password (a generated one; a password the config sets is changed in the
    /// config). Default: `true`.
    pub password: Option<bool>,
    /// Their voicemail greeting: a WAV file uploaded in the cabinet replaces the config's
    /// `voicemail_greeting` (or the built-in one) for calls to their box. `false`: the
    /// config's greeting plays, and greetings uploaded earlier are kept but not played.
    /// Default: `true`.
    pub greeting: Option<bool>,
}

/// How a tenant's voicemail boxes record and keep messages. Every key may be omitted.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Voicemail {
    /// The longest message: recording stops at this length. From 5s to 30m. Default: 2m.
    pub max_length: Option<DurationText>,
    /// Shorter messages are discarded (a caller who hung up at the tone leaves nothing). Must be
    /// below `max_length`. Default: 2s.
    pub min_length: Option<DurationText>,
    /// Recording stops after this much silence, which is cut off the message. From 1s to 60s.
    /// Default: 5s.
    pub silence: Option<DurationText>,
    /// How many messages each box keeps; when a new one arrives over this count, the oldest is
    /// deleted. From 1 to 10000. Default: 100.
    pub keep: Option<u32>,
}

/// A staff member (сотрудник).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    /// "Surname Name" or just a name; Cyrillic is normal.
    pub name: String,
    /// Login for SIP phones and the cabinet. Default: generated from the name ("Иван Петров" ->
    /// `ivan.petrov`), unique in the tenant, and kept forever once applied.
    pub login: Option<String>,
    /// Normally absent: a strong password is generated on first apply and can be rotated.
    pub password: Option<Password>,
    /// Job title, informational only.
    pub position: Option<String>,
    /// Rights in the cabinet. Default: `user`.
    pub role: Option<Role>,
    /// Internal short number (digits, not starting with 0, not an emergency or service number).
    /// Default: allocated on first apply and kept forever.
    pub extension: Option<String>,
    /// Address for the welcome letter (login, password, extension, SIP settings).
    pub email: Option<String>,
    /// Personal mobile or landline number, with call forwarding to it.
    pub mobile: Option<Mobile>,
    /// How long direct calls ring before `no_answer` applies. From 1s to 1h. Default: 30s.
    pub ring_time: Option<DurationText>,
    /// What happens to a direct call nobody answers. Default: `voicemail`.
    pub no_answer: Option<NoAnswer>,
    /// Replaces the default voicemail greeting of this person (a WAV file, at most 2 minutes).
    pub voicemail_greeting: Option<String>,
    /// What this person is told of by e-mail (at `email`), besides voicemail.
    pub notify: Option<Notify>,
    /// The rules for the calls out this person dials, replacing their role's and the
    /// tenant's where written (`outbound.roles`, `outbound`).
    pub outbound: Option<DialRules>,
}

/// E-mail notices, besides voicemail letters (they need `server.smtp`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// A letter for every call that ends `missed` (offered, nobody answered, no voicemail
    /// left): who called, the number dialled, when, who it was offered to. On a staff member:
    /// the calls offered to them, to their `email`; on a department: the calls that rang it,
    /// to its members who have an `email`. Default: false.
    pub missed_calls: Option<bool>,
}

/// Rights in the web cabinet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees history and statistics of every user of the tenant; views the applied config and its
    /// apply history, rotates passwords, hears every voicemail.
    Admin,
    /// Sees statistics of the whole company; changes only their own profile.
    User,
    /// Sees only their own statistics and history; changes only their own profile.
    Restricted,
}

/// A personal number and how calls are forwarded to it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mobile {
    /// The number in E.164 form, e.g. `+79161234567`.
    pub number: String,
    /// Forwarding mode. Default: `off`.
    pub forwarding: Option<Forwarding>,
    /// For `delayed`: how long the phones ring alone before the mobile rings too. From 1s to
    /// 10m. Default: 15s.
    pub delay: Option<DurationText>,
}

/// Forwarding to the personal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Forwarding {
    /// Calls ring the person's phones only.
    Off,
    /// Calls ring the mobile instead of the phones.
    Instant,
    /// Calls ring the phones, and after `delay` the mobile too.
    Delayed,
}

/// A department (отдел): members who take calls together, by a ring strategy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Short identifier used in references, e.g. `sales`.
    pub id: String,
    /// Display name, e.g. "Отдел продаж".
    pub name: Option<String>,
    /// Internal number that rings the department. Optional.
    pub extension: Option<String>,
    /// How calls are distributed among the members.
    pub strategy: Strategy,
    /// For `in_order` and `increasing`: how long each step rings before the next member is
    /// added. From 1s to 10m. Default: 15s.
    pub step: Option<DurationText>,
    /// How long the department rings in all before `no_answer` applies. From 1s to 1h.
    /// Default: 60s.
    pub ring_time: Option<DurationText>,
    /// Logins of the members, in order (the order matters for `in_order` and `increasing`).
    #[serde(default)]
    pub members: Vec<String>,
    /// What happens when nobody answers within `ring_time`. Default: `voicemail`.
    pub no_answer: Option<NoAnswer>,
    /// Offer waiting callers a way out after a while ("for impatient callers").
    pub impatient_callers: Option<ImpatientCallers>,
    /// Replaces the default voicemail greeting of this department (a WAV file, at most 2
    /// minutes).
    pub voicemail_greeting: Option<String>,
    /// What the members (those with an `email`) are told of by e-mail about this department's
    /// calls.
    pub notify: Option<Notify>,
}

/// Ring strategy of a department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Every available member rings; the first to answer gets the call.
    AllAtOnce,
    /// The member who has gone longest without a call rings first, then the next longest-idle.
    Evenly,
    /// One member at a time in the listed order, each for `step`.
    InOrder,
    /// Like `in_order`, but earlier members keep ringing as each next one is added.
    Increasing,
}

impl Strategy {
    /// The strategy in words, as the seed names it ("all at once").
    pub fn words(self) -> &'static str {
        match self {
            Strategy::AllAtOnce => "all at once",
            Strategy::Evenly => "evenly",
            Strategy::InOrder => "in order",
            Strategy::Increasing => "increasing",
        }
    }
}

/// What happens to a call nobody answered.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NoAnswer {
    /// The caller may leave a voicemail.
    Voicemail,
    /// Forward to an external number through the tenant's trunk.
    Forward(ForwardExternal),
    /// Transfer to a staff member or another department.
    Transfer(Target),
}

/// Forwarding an unanswered call to an external number.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardExternal {
    /// The number in E.164 form.
    pub number: String,
    /// If the number does not answer within this time, the caller gets voicemail. From 1s to
    /// 10m. Default: 30s.
    pub timeout: Option<DurationText>,
}

/// A person or a department.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A staff member, by login.
    Staff(String),
    /// A department, by id.
    Department(String),
}

/// The "for impatient callers" offer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpatientCallers {
    /// How long a caller waits before the offer is played. From 1s to 1h. Default: 20s.
    pub after: Option<DurationText>,
    /// Offer again this long after the previous offer ended, while the caller still waits.
    /// From 5s to 10m. Absent: the offer is made once.
    pub repeat: Option<DurationText>,
    /// At most this many offers to one caller. From 1 to 10. Default: 3 with `repeat`, else 1.
    pub max_offers: Option<u32>,
    /// Replaces the built-in offer prompt (a WAV file, at most 2 minutes).
    pub prompt: Option<String>,
    /// Digit that orders a callback. Default: `1`.
    pub callback_digit: Option<String>,
    /// Digit that keeps waiting. Default: `2`.
    pub wait_digit: Option<String>,
    /// Digit that leaves a voicemail. Default: `3`.
    pub voicemail_digit: Option<String>,
    /// How the callbacks ordered here are made.
    pub callback: Option<Callback>,
}

/// How a callback is made: the department's members rung by its strategy, the one who answers
/// told who is called back, then the caller's number rung through the tenant's trunk.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// Attempts in all before the callback is given up. From 1 to 10. Default: 3.
    pub attempts: Option<u32>,
    /// The wait after a failed attempt. From 1m to 24h. Default: 10m.
    pub retry_after: Option<DurationText>,
    /// A callback not made this long after it was ordered is given up. From 1h to 720h.
    /// Default: 24h.
    pub expires: Option<DurationText>,
    /// How long the caller's number rings. From 5s to 5m. Default: 45s.
    pub ring_time: Option<DurationText>,
    /// When callbacks are made (a schedule id); outside it they wait for the next opening.
    /// Default: the working hours of the number the caller called (any time for a number
    /// without a schedule, or a call to the department's extension).
    pub schedule: Option<String>,
}

/// An external number (DID) of the company.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Number {
    /// The number in E.164 form, e.g. `+74951234567`. A number belongs to one tenant only.
    pub number: String,
    /// A label, e.g. "Main line".
    pub name: Option<String>,
    /// Working hours (a schedule id). Absent: the number takes calls 24/7.
    pub schedule: Option<String>,
    /// Where calls go during working hours.
    pub destination: Destination,
    /// Where calls go outside working hours. Default: the after-hours prompt, then hang up.
    pub after_hours: Option<Destination>,
    /// A WAV file played to the caller instead of ringback tone (at most 5 minutes).
    pub greeting: Option<String>,
    /// For calls on this number, the impatient-caller offer of the department they wait for
    /// comes after this long instead of the department's `after`. From 1s to 1h.
    pub impatient_after: Option<DurationText>,
}

/// Where a call goes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Destination {
    /// A staff member, by login.
    Staff(String),
    /// A department, by id.
    Department(String),
    /// A voice menu, by id.
    Menu(String),
    /// The voicemail box of a staff member (login) or a department (id).
    Voicemail(String),
    /// An external number in E.164 form, through the tenant's trunk.
    External(String),
    /// End the call.
    Hangup,
}

/// Weekly working hours and holidays.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Short identifier used by numbers, e.g. `office`.
    pub id: String,
    /// IANA time zone. Default: the tenant's.
    pub timezone: Option<String>,
    /// Working hours per weekday, each a list of `HH:MM-HH:MM` ranges.
    #[serde(default)]
    pub hours: WeeklyHours,
    /// Days off: `YYYY-MM-DD`, or a span `YYYY-MM-DD..YYYY-MM-DD` (both days included).
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Working hours of each weekday. A day that is absent is a day off.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    /// Shorthand for Monday to Friday; may not overlap ranges given for those days.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Monday.
    #[serde(default)]
    pub monday: Vec<String>,
    /// Tuesday.
    #[serde(default)]
    pub tuesday: Vec<String>,
    /// Wednesday.
    #[serde(default)]
    pub wednesday: Vec<String>,
    /// Thursday.
    #[serde(default)]
    pub thursday: Vec<String>,
    /// Friday.
    #[serde(default)]
    pub friday: Vec<String>,
    /// Saturday.
    #[serde(default)]
    pub saturday: Vec<String>,
    /// Sunday.
    #[serde(default)]
    pub sunday: Vec<String>,
}

/// A self-service voice menu (IVR).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    /// Short identifier used in destinations, e.g. `main`.
    pub id: String,
    /// The WAV file played to the caller (8 kHz mono 16-bit PCM, at most 5 minutes).
    pub prompt: String,
    /// What each key (`0`-`9`, `*`, `#`) leads to; a key takes effect as soon as it is pressed.
    /// In a menu with `dial_extensions`, no option may use a key that an extension of the
    /// tenant starts with, and `#` cannot be an option (it ends a dialled extension).
    #[serde(default)]
    pub options: BTreeMap<String, Destination>,
    /// How long to wait for a digit after the prompt. From 1s to 60s. Default: 5s.
    pub timeout: Option<DurationText>,
    /// How many times the prompt is replayed on silence or a wrong digit. From 0 to 10.
    /// Default: 2.
    pub repeat: Option<u32>,
    /// Where the call goes when the caller presses nothing. Default: hang up after the repeats.
    /// Leading back to this menu without a caller's choice (directly or through other menus
    /// and no-answer transfers) is a routing loop.
    pub on_timeout: Option<Destination>,
    /// Where the call goes after a wrong digit and the repeats. Default: hang up. Like
    /// `on_timeout`, it may not lead back to this menu on its own.
    pub on_invalid: Option<Destination>,
    /// Let callers dial an extension (a staff member's or a department's) directly instead of
    /// choosing an option; `#` ends the extension early. Then no option may use a key that an
    /// extension starts with: the caller's first key would mean both. (Staff without a written
    /// extension get one from 200 upward, so while there are any, `2` counts as taken.)
    /// Default: false.
    #[serde(default)]
    pub dial_extensions: bool,
}

/// Replacements for the built-in prompts (WAV files, 8 kHz mono 16-bit PCM, at most 2 minutes
/// each). Without one, callers hear the built-in prompt in the tenant's `language`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    /// Played before recording a voicemail.
    pub voicemail_greeting: Option<String>,
    /// The "for impatient callers" offer.
    pub impatient_offer: Option<String>,
    /// Played outside working hours when a number has no `after_hours` destination.
    pub after_hours: Option<String>,
    /// Played after a wrong menu digit.
    pub invalid_choice: Option<String>,
    /// Confirms that a callback was ordered.
    pub callback_confirmed: Option<String>,
}

/// A duration such as `20s`, `1m30s`, `2m`, `500ms`, or a number of seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText(pub String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // serde-saphyr hands a plain `20` to a string target as its text.
        String::deserialize(d).map(DurationText)
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: `20s`, `1m30s`, `2m`, `1h`, `500ms`, or a number of seconds.",
            "type": ["string", "integer"],
            "pattern": "^([0-9]+(h|m|s|ms))+$|^[0-9]+$",
            "minimum": 0
        })
    }
}

/// `word()`: a value of a config enum as the config writes it (`all_at_once`, not `AllAtOnce`),
/// for output a user compares with their file (plans, messages). `WORDS` lists every value, so
/// a test can check each word reads back as its value.
macro_rules! config_words {
    ($($ty:ident { $($variant:ident => $word:literal),+ $(,)? })+) => {$(
        impl $ty {
            /// The value as written in the config.
            pub fn word(self) -> &'static str {
                match self {
                    $($ty::$variant => $word,)+
                }
            }

            /// Every value, for tests.
            #[cfg(test)]
            pub const WORDS: &'static [$ty] = &[$($ty::$variant),+];
        }
    )+};
}

config_words! {
    DigestAlgorithm { Md5 => "md5", Sha256 => "sha-256" }
    Transport { Udp => "udp", Tcp => "tcp", Tls => "tls" }
    SmtpSecurity { None => "none", Starttls => "starttls", Tls => "tls" }
    Language { Ru => "ru", En => "en" }
    Role { Admin => "admin", User => "user", Restricted => "restricted" }
    Forwarding { Off => "off", Instant => "instant", Delayed => "delayed" }
    Strategy {
        AllAtOnce => "all_at_once",
        Evenly => "evenly",
        InOrder => "in_order",
        Increasing => "increasing",
    }
}

#[cfg(test)]
mod word_tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;

    fn reads_back<T: DeserializeOwned + PartialEq + Debug + Copy>(
        values: &[T],
        word: fn(T) -> &'static str,
    ) {
        for &v in values {
            let read: T =
                serde_json::from_value(serde_json::Value::from(word(v))).unwrap_or_else(|e| {
                    panic!(
                        "{v:?} prints as `{}`, which the config does not accept: {e}",
                        word(v)
                    )
                });
            assert_eq!(read, v, "`{}`", word(v));
        }
    }

    #[test]
    fn every_config_word_reads_back_as_its_value() {
        reads_back(DigestAlgorithm::WORDS, DigestAlgorithm::word);
        reads_back(Transport::WORDS, Transport::word);
        reads_back(SmtpSecurity::WORDS, SmtpSecurity::word);
        reads_back(Language::WORDS, Language::word);
        reads_back(Role::WORDS, Role::word);
        reads_back(Forwarding::WORDS, Forwarding::word);
        reads_back(Strategy::WORDS, Strategy::word);
    }
}
