//! Validation: `raw` -> `model`, every problem collected.
//!
//! One `check_*` function per rule or per entity, each pushing diagnostics into the shared
//! `Ctx` and returning the model value it could build. A config with any error yields no model;
//! warnings never block. The order: server settings, shared trunks, each tenant (see `tenant`),
//! then what spans tenants (ids, SIP domains, numbers) and routing loops (see `loops`).

mod loops;
mod names;
mod outbound;
mod ranges;
mod routing;
mod schedule;
mod staff;
mod tenant;

use super::audio::{self, AudioError};
use super::clock;
use super::diagnostic::{did_you_mean, Code, Diagnostic};
use super::load::{Loaded, Sources};
use super::model::{self, SecretRef};
use super::path::ConfigPath;
use super::raw;
use super::report;
use super::reuse::{self, Reuse, TenantFile};
use super::values::ValueError;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The result of checking a config: the model when it is valid, and every diagnostic sorted
/// (errors first).
#[derive(Debug)]
pub struct Outcome {
    pub config: Option<model::Config>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Outcome {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

/// Options of a validation run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Open and check every referenced audio file (off only for tests of other rules).
    pub check_audio: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { check_audio: true }
    }
}

/// The validated config of one YAML text (no includes, audio files not checked), or every
/// diagnostic — for tests that need a `Config` built the way users build one.
pub fn validate_text(yaml: &str) -> Result<super::model::Config, Vec<Diagnostic>> {
    let bundle = crate::config::bundle::Bundle {
        main: "pbx.yaml".into(),
        files: [("pbx.yaml".to_string(), yaml.to_string())].into(),
    };
    let loaded = crate::config::load::load_bundle(&bundle, std::path::Path::new("."));
    let (outcome, _) = validate(loaded, Options { check_audio: false });
    outcome.config.ok_or(outcome.diagnostics)
}

/// Validates a loaded config. The loader's own diagnostics come first in the outcome.
pub fn validate(loaded: Loaded, options: Options) -> (Outcome, Sources) {
    let (outcome, sources, _) = validate_reusing(loaded, options, None);
    (outcome, sources)
}

/// `validate`, taking from `reuse` the tenants of files checked before exactly as they are
/// now (`load_reusing` handed out their typed documents), and returning what this run
/// learned for the next one (when the config is valid).
pub fn validate_reusing(
    loaded: Loaded,
    options: Options,
    reuse: Option<&Reuse>,
) -> (Outcome, Sources, Option<Reuse>) {
    let Loaded {
        sources,
        raw,
        diagnostics,
    } = loaded;
    let mut ctx = Ctx {
        sources: &sources,
        out: diagnostics,
        options,
        audio_cache: HashMap::new(),
        reuse,
        audio_read: Vec::new(),
        learned: Vec::new(),
    };
    let config = raw.as_ref().and_then(|raw| check_config(&mut ctx, raw));
    let learned = std::mem::take(&mut ctx.learned);
    let mut diagnostics = ctx.out;
    report::sort(&mut diagnostics);
    let config = config.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
    let next = match (&config, &raw) {
        (Some(config), Some(raw)) => Some(learn(&sources, raw, config, learned, options)),
        _ => None,
    };
    (
        Outcome {
            config,
            diagnostics,
        },
        sources,
        next,
    )
}

/// What a valid config's tenant files teach the next validation (see `reuse`): each file read
/// without a diagnostic, with its tenant as checked.
fn learn(
    sources: &Sources,
    raw: &raw::Config,
    config: &model::Config,
    learned: Vec<Learned>,
    options: Options,
) -> Reuse {
    let main = sources
        .files
        .first()
        .map(|f| f.text.clone())
        .unwrap_or_default();
    let mut files = HashMap::new();
    for l in learned {
        let Some(source) = sources.tenant_file(l.index).filter(|f| f.clean) else {
            continue;
        };
        let file = match l.from {
            Some(earlier) => earlier,
            None => Arc::new(TenantFile {
                source: Arc::clone(source),
                index: l.index,
                raw: Arc::clone(&raw.tenants[l.index]),
                tenant: Arc::clone(&config.tenants[l.index]),
                warnings: l.warnings,
                audio: l.audio,
            }),
        };
        files.insert(source.rel.clone(), file);
    }
    Reuse {
        main,
        check_audio: options.check_audio,
        files,
    }
}

/// What checking one tenant gave, for [`learn`].
struct Learned {
    index: usize,
    /// Taken from the reuse as it was.
    from: Option<Arc<TenantFile>>,
    warnings: Vec<Diagnostic>,
    audio: Vec<(PathBuf, Option<reuse::Stamp>)>,
}

/// Shared state of one validation run.
pub(crate) struct Ctx<'a> {
    sources: &'a Sources,
    out: Vec<Diagnostic>,
    options: Options,
    /// Each audio file's verdict, read once however many times it is named.
    audio_cache: HashMap<PathBuf, Result<audio::AudioInfo, AudioError>>,
    /// Tenants checked before, as they were (`reuse`).
    reuse: Option<&'a Reuse>,
    /// The audio files read since the current tenant's check began, as they were.
    audio_read: Vec<(PathBuf, Option<reuse::Stamp>)>,
    /// What each tenant's check gave.
    learned: Vec<Learned>,
}

impl Ctx<'_> {
    /// Records an error at `path` and returns it for decoration (help, related).
    fn error(
        &mut self,
        code: Code,
        path: &ConfigPath,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let mut d = Diagnostic::error(code, path.clone(), message);
        d.location = self.sources.locate(path);
        self.out.push(d);
        self.out.last_mut().expect("just pushed")
    }

    /// Records a warning at `path`.
    fn warn(
        &mut self,
        code: Code,
        path: &ConfigPath,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let mut d = Diagnostic::warning(code, path.clone(), message);
        d.location = self.sources.locate(path);
        self.out.push(d);
        self.out.last_mut().expect("just pushed")
    }

    /// Adds a "first defined here" note pointing at `other`.
    fn related(&self, d: &mut Diagnostic, other: &ConfigPath, label: &str) {
        if let Some(loc) = self.sources.locate(other) {
            d.related.push((loc, label.to_string()));
        }
    }

    /// Turns a value parse result into an option, reporting the error at `path`.
    fn value<T>(&mut self, result: Result<T, ValueError>, path: &ConfigPath) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let code = value_code(&e);
                let help = value_help(&e);
                let d = self.error(code, path, e.to_string());
                d.help = help;
                None
            }
        }
    }

    /// The duration at `parent.key`, or its default, checked against `range` (both ends
    /// included): a value outside it is an error naming the bounds.
    fn duration(
        &mut self,
        raw: Option<&raw::DurationText>,
        default_secs: u64,
        range: ranges::Range<std::time::Duration>,
        parent: &ConfigPath,
        key: &'static str,
    ) -> Option<std::time::Duration> {
        let path = parent.key(key);
        let d = match raw {
            None => return Some(std::time::Duration::from_secs(default_secs)),
            Some(t) => self.value(clock::parse_duration(&t.0), &path)?,
        };
        if range.contains(d) {
            return Some(d);
        }
        let (lo, hi) = (
            clock::format_duration(range.min),
            clock::format_duration(range.max),
        );
        self.error(
            Code::DurationRange,
            &path,
            format!(
                "`{key}` is {}, outside {lo}-{hi}",
                clock::format_duration(d)
            ),
        )
        .help = Some(format!(
            "give a duration from {lo} to {hi}, e.g. `{key}: {}`",
            clock::format_duration(std::time::Duration::from_secs(default_secs))
        ));
        None
    }

    /// The count at `parent.key`, or its default, checked against `range` (both ends
    /// included).
    fn count(
        &mut self,
        raw: Option<u32>,
        default: u32,
        range: ranges::Range<u32>,
        parent: &ConfigPath,
        key: &'static str,
    ) -> Option<u32> {
        let n = raw.unwrap_or(default);
        if range.contains(n) {
            return Some(n);
        }
        let (lo, hi) = (range.min, range.max);
        self.error(
            Code::CountRange,
            &parent.key(key),
            format!("`{key}` is {n}, outside {lo}-{hi}"),
        )
        .help = Some(format!("give a whole number from {lo} to {hi}"));
        None
    }

    /// Checks an audio file named in the file the tenant (or main config) came from, for its
    /// use (which sets how long it may be).
    fn audio(&mut self, value: &str, used_as: audio::Use, path: &ConfigPath) -> Option<PathBuf> {
        let full = self.resolve_file(value, path);
        if !self.options.check_audio {
            return Some(full);
        }
        self.audio_read.push((full.clone(), reuse::stamp(&full)));
        let checked = self
            .audio_cache
            .entry(full.clone())
            .or_insert_with(|| audio::check_prompt(&full));
        let e = match audio::check_use(checked, used_as) {
            Ok(_) => return Some(full),
            Err(e) => e,
        };
        let code = match e {
            AudioError::Missing => Code::AudioMissing,
            AudioError::TooLong { .. } => Code::AudioTooLong,
            _ => Code::AudioFormat,
        };
        let help = match e {
            AudioError::Missing => Some(format!("looked for {}", full.display())),
            _ => e.fix(&full, value),
        };
        self.error(code, path, format!("audio file `{value}` {e}"))
            .help = help;
        None
    }

    /// A path written in the config, resolved against the directory of the file it is in.
    fn resolve_file(&self, value: &str, path: &ConfigPath) -> PathBuf {
        let dir = self.sources.dir_of(path);
        dir.join(value)
    }

    fn secret(&mut self, secret: &raw::Secret, path: &ConfigPath, what: &str) -> Option<SecretRef> {
        match secret {
            raw::Secret::Literal(s) => {
                self.warn(
                    Code::PlaintextSecret,
                    path,
                    format!("{what} is written in plain text"),
                )
                .help = Some("use `{env: NAME}` or `{file: PATH}` so it stays out of git".into());
                Some(SecretRef::Literal(s.clone()))
            }
            raw::Secret::Env(e) => self.env_name(&e.env, &path.key("env")).map(SecretRef::Env),
            raw::Secret::File(f) => Some(SecretRef::File(self.resolve_file(&f.file, path))),
        }
    }

    fn env_name(&mut self, name: &str, path: &ConfigPath) -> Option<String> {
        let ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Some(name.to_string())
        } else {
            self.error(
                Code::Secret,
                path,
                format!("`{name}` is not a valid environment variable name"),
            )
            .help = Some("use letters, digits and `_`, not starting with a digit".into());
            None
        }
    }

    /// An id of a tenant, department, menu, schedule or trunk.
    fn id(&mut self, id: &str, path: &ConfigPath) -> bool {
        let ok = id.len() <= 64
            && id
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok {
            let d = self.error(
                Code::IdInvalid,
                &path.key("id"),
                format!("`{id}` is not a valid id"),
            );
            d.help = Some("use lower-case latin letters, digits, `-` and `_` (at most 64), starting with a letter or digit".into());
        }
        ok
    }

    /// Reports items of `items` whose key repeats an earlier one.
    fn unique<'k>(
        &mut self,
        items: impl IntoIterator<Item = (&'k str, ConfigPath)>,
        code: Code,
        what: &str,
    ) {
        let mut seen: HashMap<String, ConfigPath> = HashMap::new();
        for (key, path) in items {
            let norm = key.to_lowercase();
            if let Some(first) = seen.get(&norm).cloned() {
                let mut d =
                    Diagnostic::error(code, path.clone(), format!("{what} `{key}` is used twice"));
                d.location = self.sources.locate(&path);
                self.related(&mut d, &first, "first used here");
                self.out.push(d);
            } else {
                seen.insert(norm, path);
            }
        }
    }

    /// Reports a name that refers to nothing, with the closest known name as a hint.
    fn unknown<'k>(
        &mut self,
        what: &str,
        name: &str,
        known: impl IntoIterator<Item = &'k str>,
        path: &ConfigPath,
    ) {
        let hint = did_you_mean(name, known);
        let d = self.error(
            Code::UnknownReference,
            path,
            format!("unknown {what} `{name}`"),
        );
        d.help = hint;
    }
}

/// An optional value that was checked: absent is fine (`Some(None)`), present and valid is
/// `Some(Some(v))`, present and invalid is `None`.
fn opt<T>(checked: Option<Option<T>>) -> Option<Option<T>> {
    match checked {
        None => Some(None),
        Some(v) => v.map(Some),
    }
}

fn value_code(e: &ValueError) -> Code {
    use ValueError as V;
    match e {
        V::ExtensionLength { .. } | V::ExtensionNotDigits { .. } => Code::ExtensionFormat,
        V::ExtensionLeadingZero { .. } => Code::ExtensionLeadingZero,
        V::ExtensionReserved { .. } => Code::ExtensionReserved,
        V::LoginInvalid {
            rule: crate::config::values::LoginRule::DigitsOnly,
            ..
        } => Code::LoginDigits,
        V::LoginInvalid { .. } => Code::LoginInvalid,
        V::E164Invalid { .. } => Code::E164,
        V::DurationInvalid { .. } => Code::Duration,
        V::ClockTimeInvalid { .. }
        | V::TimeRangeInvalid { .. }
        | V::TimeRangeCrossesMidnight { .. } => Code::ClockTime,
        V::DateInvalid { .. } => Code::Date,
        V::EmailInvalid { .. } => Code::EmailInvalid,
        V::DigitInvalid { .. } => Code::MenuDigit,
        V::TimezoneUnknown { .. } => Code::Timezone,
    }
}

fn value_help(e: &ValueError) -> Option<String> {
    match e {
        ValueError::TimezoneUnknown { value } => {
            let names = clock::timezone_names();
            did_you_mean(value, names.iter().map(String::as_str))
        }
        ValueError::LoginInvalid {
            value,
            rule: crate::config::values::LoginRule::DigitsOnly,
        } => Some(format!(
            "a login needs a letter, e.g. `user{value}`; the number people dial is the `extension`"
        )),
        _ => None,
    }
}

fn check_config(ctx: &mut Ctx, raw: &raw::Config) -> Option<model::Config> {
    let root = ConfigPath::root();
    if raw.version != 1 {
        ctx.error(
            Code::Version,
            &root.key("version"),
            format!("version {} is not supported", raw.version),
        )
        .help = Some("this pbx reads `version: 1`".into());
    }
    let server = check_server(ctx, &raw.server);
    let trunks = check_trunks(ctx, &raw.trunks, &root.key("trunks"));
    let shared_ids: Vec<&str> = raw.trunks.iter().map(|t| t.id.as_str()).collect();
    let tenant_paths: Vec<ConfigPath> = raw
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| root.key("tenants").item(i, &t.id))
        .collect();
    let mut changed = HashSet::new();
    let tenants: Vec<Option<Arc<model::Tenant>>> = raw
        .tenants
        .iter()
        .zip(&tenant_paths)
        .enumerate()
        .map(|(i, (t, path))| {
            let earlier = ctx
                .reuse
                .zip(ctx.sources.tenant_file(i))
                .and_then(|(r, f)| r.tenant(&f.rel, t, i, ctx.options.check_audio));
            if let Some(earlier) = earlier {
                ctx.out.extend(earlier.warnings.iter().cloned());
                ctx.learned.push(Learned {
                    index: i,
                    from: Some(Arc::clone(earlier)),
                    warnings: Vec::new(),
                    audio: Vec::new(),
                });
                return Some(Arc::clone(&earlier.tenant));
            }
            changed.insert(i);
            let start = ctx.out.len();
            ctx.audio_read.clear();
            let checked = tenant::check_tenant(ctx, t, path, &shared_ids).map(Arc::new);
            let warnings = ctx.out[start..].to_vec();
            let audio = std::mem::take(&mut ctx.audio_read);
            ctx.learned.push(Learned {
                index: i,
                from: None,
                warnings,
                audio,
            });
            checked
        })
        .collect();

    // What must be unique across tenants.
    ctx.unique(
        raw.tenants
            .iter()
            .zip(&tenant_paths)
            .map(|(t, p)| (t.id.as_str(), p.key("id"))),
        Code::DuplicateId,
        "tenant id",
    );
    ctx.unique(
        raw.tenants
            .iter()
            .zip(&tenant_paths)
            .map(|(t, p)| (t.domain.as_str(), p.key("domain"))),
        Code::DuplicateDomain,
        "SIP domain",
    );
    let dids = raw.tenants.iter().zip(&tenant_paths).flat_map(|(t, p)| {
        t.numbers.iter().enumerate().map(move |(i, n)| {
            (
                n.number.as_str(),
                p.key("numbers").item(i, &n.number).key("number"),
            )
        })
    });
    ctx.unique(dids, Code::DuplicateNumber, "number");

    let tenants: Option<Vec<Arc<model::Tenant>>> = tenants.into_iter().collect();
    if let Some(tenants) = &tenants {
        // The reused tenants were part of a config without a loop.
        let only = (changed.len() < tenants.len()).then_some(&changed);
        loops::check_loops(ctx, tenants, &tenant_paths, only);
    }
    Some(model::Config {
        server: server?,
        trunks: trunks?,
        tenants: tenants?,
    })
}

fn check_server(ctx: &mut Ctx, s: &raw::Server) -> Option<model::Server> {
    let path = ConfigPath::root().key("server");
    let sip_listen = match &s.sip.listen {
        None => vec![
            model::Listen {
                transport: model::Transport::Udp,
                address: SocketAddr::from(([0, 0, 0, 0], 5060)),
                tls: None,
            },
            model::Listen {
                transport: model::Transport::Tcp,
                address: SocketAddr::from(([0, 0, 0, 0], 5060)),
                tls: None,
            },
        ],
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let at = path.key("sip").key("listen").index(i);
                let address = socket_addr(ctx, &l.address, &at.key("address"));
                let tls = check_tls(ctx, l, &at);
                Some(model::Listen {
                    transport: l.transport,
                    address: address?,
                    tls: tls?,
                })
            })
            .collect(),
    };
    let sip_public_address = s
        .sip
        .public_address
        .as_deref()
        .and_then(|a| ip(ctx, a, &path.key("sip").key("public_address")));
    let rtp_port_min = s.rtp.port_min.unwrap_or(10000);
    let rtp_port_max = s.rtp.port_max.unwrap_or(20000);
    let mut ok = true;
    if rtp_port_min > rtp_port_max || rtp_port_min < 1024 {
        ctx.error(
            Code::Address,
            &path.key("rtp").key("port_min"),
            format!("RTP port range {rtp_port_min}-{rtp_port_max} is not a usable range"),
        )
        .help = Some("port_min must be at least 1024 and not above port_max".into());
        ok = false;
    }
    let rtp_public_address = s
        .rtp
        .public_address
        .as_deref()
        .and_then(|a| ip(ctx, a, &path.key("rtp").key("public_address")));
    let http_listen = match &s.http.listen {
        None => Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        Some(a) => socket_addr(ctx, a, &path.key("http").key("listen")),
    };
    let cabinet = {
        let p = path.key("cabinet");
        let defaults = model::Cabinet::default();
        let listen = match &s.cabinet.listen {
            None => Some(None),
            Some(a) => socket_addr(ctx, a, &p.key("listen")).map(Some),
        };
        let session_idle = ctx.duration(
            s.cabinet.session_idle.as_ref(),
            defaults.session_idle.as_secs(),
            ranges::SESSION_IDLE,
            &p,
            "session_idle",
        );
        let templates = s
            .cabinet
            .templates
            .as_deref()
            .map(|dir| check_cabinet_templates(ctx, dir, &p.key("templates")));
        match (listen, session_idle) {
            (Some(listen), Some(session_idle)) => Some(model::Cabinet {
                listen,
                session_idle,
                secure_cookies: s.cabinet.secure_cookies.unwrap_or(false),
                templates,
            }),
            _ => None,
        }
    };
    let data_dir = ctx.resolve_file(
        s.data_dir.as_deref().unwrap_or("data"),
        &path.key("data_dir"),
    );
    let admin_token = match &s.admin_token {
        None => Some(None),
        Some(t) => ctx
            .secret(t, &path.key("admin_token"), "the admin token")
            .map(Some),
    };
    let smtp = match &s.smtp {
        None => Some(None),
        Some(m) => {
            let p = path.key("smtp");
            let security = m.security.unwrap_or(model::SmtpSecurity::Starttls);
            let port = m.port.unwrap_or(match security {
                model::SmtpSecurity::None => 25,
                model::SmtpSecurity::Starttls => 587,
                model::SmtpSecurity::Tls => 465,
            });
            let password = match &m.password {
                None => Some(None),
                Some(pw) => ctx
                    .secret(pw, &p.key("password"), "the SMTP password")
                    .map(Some),
            };
            if m.host.trim().is_empty() {
                ctx.error(Code::Address, &p.key("host"), "the SMTP host is empty");
            }
            // The sender parses it the same way, so what validates here is what it sends from.
            if let Err(e) = m.from.parse::<lettre::message::Mailbox>() {
                ctx.error(
                    Code::MailFrom,
                    &p.key("from"),
                    format!("`{}` is not a sender mailbox ({e})", m.from),
                )
                .help = Some("write `Name <address@domain>` or `address@domain`".into());
            }
            let templates = m
                .templates
                .as_deref()
                .map(|dir| check_templates(ctx, dir, &p.key("templates")));
            let ca_file = m
                .ca_file
                .as_deref()
                .map(|file| check_ca_file(ctx, file, security, &p.key("ca_file")));
            let keep_sent = ctx.duration(
                m.keep_sent.as_ref(),
                model::DEFAULT_KEEP_SENT.as_secs(),
                ranges::KEEP_SENT,
                &p,
                "keep_sent",
            );
            password.zip(keep_sent).map(|(password, keep_sent)| {
                Some(model::Smtp {
                    host: m.host.clone(),
                    port,
                    security,
                    from: m.from.clone(),
                    username: m.username.clone(),
                    password,
                    ca_file,
                    keep_sent,
                    templates,
                })
            })
        }
    };
    let security = check_security(ctx, &s.security, &path.key("security"));
    let limits = check_limits(ctx, &s.limits, &path.key("limits"));
    ok.then_some(())?;
    Some(model::Server {
        sip_listen,
        sip_public_address: sip_public_address.map(|a| a.to_string()),
        digest_algorithms: match &s.sip.digest_algorithms {
            Some(list) if !list.is_empty() => {
                let mut unique = Vec::new();
                for a in list {
                    if !unique.contains(a) {
                        unique.push(*a);
                    }
                }
                unique
            }
            _ => vec![model::DigestAlgorithm::Md5],
        },
        rtp_port_min,
        rtp_port_max,
        rtp_public_address: rtp_public_address.map(|a| a.to_string()),
        http_listen: http_listen?,
        cabinet: cabinet?,
        data_dir,
        admin_token: admin_token?,
        smtp: smtp?,
        security: security?,
        limits: limits?,
    })
}

/// A listener's TLS files: required for `tls` (and checked: readable PEM, the key the
/// certificate's), refused for the others.
fn check_tls(ctx: &mut Ctx, l: &raw::Listen, at: &ConfigPath) -> Option<Option<model::TlsFiles>> {
    match (l.transport, &l.certificate, &l.key) {
        (model::Transport::Tls, Some(certificate), Some(key)) => {
            let files = model::TlsFiles {
                certificate: ctx.resolve_file(certificate, &at.key("certificate")),
                key: ctx.resolve_file(key, &at.key("key")),
            };
            if ctx.options.check_audio {
                if let Err(e) = crate::config::tls::load(&files.certificate, &files.key) {
                    let key = match e {
                        crate::config::tls::TlsError::NoKey { .. } => "key",
                        crate::config::tls::TlsError::Unreadable { ref path, .. }
                            if *path == files.key =>
                        {
                            "key"
                        }
                        _ => "certificate",
                    };
                    ctx.error(Code::TlsFiles, &at.key(key), e.to_string()).help = Some(
                        "give the certificate chain and its private key as PEM files, e.g. \
                         certbot's fullchain.pem and privkey.pem"
                            .into(),
                    );
                    return None;
                }
            }
            Some(Some(files))
        }
        (model::Transport::Tls, _, _) => {
            ctx.error(
                Code::TlsTransport,
                at,
                "a TLS listener needs `certificate` and `key`",
            )
            .help =
                Some("add `certificate: fullchain.pem` and `key: privkey.pem` (PEM files)".into());
            None
        }
        (_, None, None) => Some(None),
        (_, _, _) => {
            ctx.error(
                Code::TlsTransport,
                at,
                "`certificate` and `key` are only for `transport: tls`",
            );
            None
        }
    }
}

/// `server.smtp.ca_file`: the file resolved, refused with `security: none` (it would be
/// ignored and the letters go in clear), and (when files are checked) read and checked the way
/// the sender will read it: a regular text file with at least one PEM certificate, each one
/// usable as a trust anchor.
fn check_ca_file(
    ctx: &mut Ctx,
    file: &str,
    security: model::SmtpSecurity,
    path: &ConfigPath,
) -> PathBuf {
    let full = ctx.resolve_file(file, path);
    if security == model::SmtpSecurity::None {
        ctx.error(
            Code::SmtpCaInClear,
            path,
            format!("`ca_file: {file}` with `security: none`: the letters would go unencrypted"),
        )
        .help = Some("use `security: starttls` or `tls`, or drop `ca_file`".into());
        return full;
    }
    if !ctx.options.check_audio {
        return full;
    }
    if let Err(e) = crate::mail::tls::TrustedCa::read(&full) {
        ctx.error(Code::SmtpCaFile, path, format!("CA file `{file}` {e}"))
            .help = Some(
            "give a PEM file of the certificates to trust (`-----BEGIN CERTIFICATE-----` blocks), relative to this file's directory".into(),
        );
    }
    full
}

/// `server.smtp.templates`: the directory resolved, and (when files are checked) each override
/// in it compiled, free of unknown variables and rendered with sample data — the same check an
/// apply runs before the overrides replace the running ones.
fn check_templates(ctx: &mut Ctx, dir: &str, path: &ConfigPath) -> PathBuf {
    use crate::mail::render::{self, TemplateProblem};
    let full = ctx.resolve_file(dir, path);
    if !ctx.options.check_audio {
        return full;
    }
    let overrides = match render::read_overrides(&full) {
        Ok(o) => o,
        Err(e) => {
            let code = match e.problem {
                TemplateProblem::UnknownName => Code::TemplateName,
                _ => Code::TemplateUnreadable,
            };
            let file = if e.template == full.display().to_string() {
                dir.to_owned()
            } else {
                format!("{}/{}", dir.trim_end_matches('/'), e.template)
            };
            let help = match e.problem {
                TemplateProblem::UnknownName => {
                    "name it `<ru|en>/<welcome|voicemail|missed_call>.<txt|html>`, or move it out"
                }
                _ => "give a directory holding any of `<ru|en>/<welcome|voicemail|missed_call>.<txt|html>`",
            };
            ctx.error(code, path, format!("template `{file}` {}", e.problem))
                .help = Some(help.into());
            return full;
        }
    };
    for (name, source) in &overrides {
        let Err(e) = render::check(name, source) else {
            continue;
        };
        let code = match &e.problem {
            TemplateProblem::Syntax(_) => Code::TemplateSyntax,
            TemplateProblem::UnknownVariable { .. } => Code::TemplateVariable,
            TemplateProblem::Render(_) => Code::TemplateRender,
            TemplateProblem::Unreadable(_) => Code::TemplateUnreadable,
            TemplateProblem::UnknownName => Code::TemplateName,
        };
        let at = e.line.map(|l| format!(" line {l}")).unwrap_or_default();
        let file = format!("{}/{name}", dir.trim_end_matches('/'));
        let help = match &e.problem {
            TemplateProblem::UnknownVariable { known, .. } => {
                Some(format!("this template knows: {}", known.join(", ")))
            }
            _ => None,
        };
        let problem = match &e.problem {
            TemplateProblem::Syntax(m) | TemplateProblem::Render(m) => {
                let kind = if matches!(e.problem, TemplateProblem::Syntax(_)) {
                    "does not compile"
                } else {
                    "does not render with sample data"
                };
                format!(
                    "{kind}: {}",
                    m.detail()
                        .map_or_else(|| m.kind().to_string(), str::to_owned)
                )
            }
            other => other.to_string(),
        };
        ctx.error(code, path, format!("template `{file}`{at} {problem}"))
            .help = help;
    }
    full
}

/// `server.cabinet.templates`: the directory resolved, and (when files are checked) its pages
/// and strings read and checked as an apply does (`Views::load`), each problem at the key,
/// naming the file (and line) inside.
fn check_cabinet_templates(ctx: &mut Ctx, dir: &str, path: &ConfigPath) -> PathBuf {
    use crate::http::cabinet::view::{Views, ViewsProblem};
    let full = ctx.resolve_file(dir, path);
    if !ctx.options.check_audio {
        return full;
    }
    let Err(e) = Views::load(Some(&full)) else {
        return full;
    };
    let file = if e.file == full.display().to_string() {
        dir.to_owned()
    } else {
        format!("{}/{}", dir.trim_end_matches('/'), e.file)
    };
    let at = e.line.map(|l| format!(" line {l}")).unwrap_or_default();
    let (code, help) = match &e.problem {
        ViewsProblem::Unreadable(_) => (
            Code::TemplateUnreadable,
            Some("give a directory holding any of the pages (`history.html`, …) and `en.json` / `ru.json`".to_owned()),
        ),
        ViewsProblem::UnknownName => (
            Code::TemplateName,
            Some("name it after a page of `assets/cabinet/templates/`, or `en.json` / `ru.json`, or move it out".to_owned()),
        ),
        ViewsProblem::Syntax(_) => (Code::TemplateSyntax, None),
        ViewsProblem::UnknownVariable { known, .. } => (
            Code::TemplateVariable,
            Some(format!("this page is given: {}", known.join(", "))),
        ),
        ViewsProblem::UnknownString(_) => (
            Code::TemplateVariable,
            Some("the keys are those of `assets/cabinet/en.json`".to_owned()),
        ),
    };
    ctx.error(code, path, format!("template `{file}`{at} {}", e.problem))
        .help = help;
    full
}

/// `server.limits`: each cap within its range (0 meaning no limit where allowed).
fn check_limits(ctx: &mut Ctx, s: &raw::LimitSettings, path: &ConfigPath) -> Option<model::Limits> {
    let defaults = model::Limits::default();
    let contacts_per_person = ctx.count(
        s.contacts_per_person,
        defaults.contacts_per_person,
        ranges::CONTACTS_PER_PERSON,
        path,
        "contacts_per_person",
    );
    let calls_per_tenant = ctx.count(
        s.calls_per_tenant,
        defaults.calls_per_tenant,
        ranges::CALLS_PER_TENANT,
        path,
        "calls_per_tenant",
    );
    let calls_per_person = ctx.count(
        s.calls_per_person,
        defaults.calls_per_person,
        ranges::CALLS_PER_PERSON,
        path,
        "calls_per_person",
    );
    let calls = ctx.count(s.calls, defaults.calls, ranges::CALLS, path, "calls");
    let transactions = ctx.count(
        s.transactions,
        defaults.transactions,
        ranges::TRANSACTIONS,
        path,
        "transactions",
    );
    Some(model::Limits {
        contacts_per_person: contacts_per_person?,
        calls_per_tenant: calls_per_tenant?,
        calls_per_person: calls_per_person?,
        calls: calls?,
        transactions: transactions?,
    })
}

/// `server.security`: durations of at least a second, and every trusted network (each bad
/// one reported at its place).
fn check_security(
    ctx: &mut Ctx,
    s: &raw::SecuritySettings,
    path: &ConfigPath,
) -> Option<model::Security> {
    let defaults = model::Security::default();
    let window = ctx.duration(
        s.window.as_ref(),
        defaults.window.as_secs(),
        ranges::SECURITY_WINDOW,
        path,
        "window",
    );
    let ban = ctx.duration(
        s.ban.as_ref(),
        defaults.ban.as_secs(),
        ranges::SECURITY_BAN,
        path,
        "ban",
    );
    let max_failures = ctx.count(
        s.max_failures,
        defaults.max_failures,
        ranges::MAX_FAILURES,
        path,
        "max_failures",
    );
    let account_failures = ctx.count(
        s.account_failures,
        defaults.account_failures,
        ranges::ACCOUNT_FAILURES,
        path,
        "account_failures",
    );
    let mut trusted = Vec::new();
    let mut ok = true;
    for (i, text) in s.trusted.iter().enumerate() {
        match text.parse::<model::Network>() {
            Ok(n) => trusted.push(n),
            Err(e) => {
                ok = false;
                let help = match &e {
                    crate::config::network::NetworkError::HostBits { network, .. } => {
                        format!("write `{network}`, or the single address without a prefix")
                    }
                    _ => "a network in CIDR notation, e.g. `10.0.0.0/8`, `192.0.2.7` or `2001:db8::/32`".into(),
                };
                ctx.error(Code::Network, &path.key("trusted").index(i), e.to_string())
                    .help = Some(help);
            }
        }
    }
    ok.then_some(())?;
    Some(model::Security {
        max_failures: max_failures?,
        window: window?,
        ban: ban?,
        account_failures: account_failures?,
        trusted,
        max_rate: s.max_rate.unwrap_or(defaults.max_rate),
    })
}

fn socket_addr(ctx: &mut Ctx, text: &str, path: &ConfigPath) -> Option<SocketAddr> {
    match text.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.error(
                Code::Address,
                path,
                format!("`{text}` is not an IP:port address"),
            )
            .help = Some("for example `0.0.0.0:5060` or `[::]:5060`".into());
            None
        }
    }
}

fn ip(ctx: &mut Ctx, text: &str, path: &ConfigPath) -> Option<IpAddr> {
    match text.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.error(
                Code::Address,
                path,
                format!("`{text}` is not an IP address"),
            );
            None
        }
    }
}

/// Trunks defined at `path` (shared, or a tenant's own).
fn check_trunks(
    ctx: &mut Ctx,
    trunks: &[raw::Trunk],
    path: &ConfigPath,
) -> Option<Vec<model::Trunk>> {
    let paths: Vec<ConfigPath> = trunks
        .iter()
        .enumerate()
        .map(|(i, t)| path.item(i, &t.id))
        .collect();
    ctx.unique(
        trunks
            .iter()
            .zip(&paths)
            .map(|(t, p)| (t.id.as_str(), p.key("id"))),
        Code::DuplicateId,
        "trunk id",
    );
    let built: Vec<Option<model::Trunk>> = trunks
        .iter()
        .zip(&paths)
        .map(|(t, p)| check_trunk(ctx, t, p))
        .collect();
    built.into_iter().collect()
}

fn check_trunk(ctx: &mut Ctx, t: &raw::Trunk, path: &ConfigPath) -> Option<model::Trunk> {
    let id_ok = ctx.id(&t.id, path);
    if t.host.trim().is_empty() || t.host.contains(char::is_whitespace) {
        ctx.error(
            Code::Address,
            &path.key("host"),
            format!("`{}` is not a host name or IP address", t.host),
        );
    }
    let auth = match &t.auth {
        None => Some(None),
        Some(a) => ctx
            .secret(
                &a.password,
                &path.key("auth").key("password"),
                "the trunk password",
            )
            .map(|password| {
                Some(model::TrunkAuth {
                    username: a.username.clone(),
                    password,
                    realm: a.realm.clone(),
                })
            }),
    };
    if t.register && t.auth.is_none() {
        ctx.error(
            Code::MissingKey,
            &path.key("register"),
            "a trunk that registers needs `auth`",
        )
        .help = Some("add `auth: {username: ..., password: {env: ...}}`".into());
    }
    let mut inbound_from = Vec::new();
    for (i, a) in t.inbound_from.iter().enumerate() {
        inbound_from.extend(ip(ctx, a, &path.key("inbound_from").index(i)));
    }
    if inbound_from.is_empty() {
        if let Ok(a) = t.host.parse::<IpAddr>() {
            inbound_from.push(a);
        }
    }
    let rewrites =
        |ctx: &mut Ctx, list: &[raw::Rewrite], key: &'static str| -> Vec<model::Rewrite> {
            list.iter()
                .enumerate()
                .map(|(i, r)| {
                    if r.prefix.is_empty() {
                        ctx.error(
                            Code::E164,
                            &path.key(key).index(i).key("prefix"),
                            "a rewrite prefix cannot be empty",
                        );
                    }
                    if r.length.is_some() {
                        let p = path.key(key).index(i);
                        ctx.count(r.length, 0, ranges::REWRITE_LENGTH, &p, "length");
                    }
                    model::Rewrite {
                        prefix: r.prefix.clone(),
                        replace: r.replace.clone(),
                        length: r.length,
                    }
                })
                .collect()
        };
    let outbound_rewrite = rewrites(ctx, &t.outbound_rewrite, "outbound_rewrite");
    let inbound_rewrite = rewrites(ctx, &t.inbound_rewrite, "inbound_rewrite");
    id_ok.then_some(())?;
    Some(model::Trunk {
        id: t.id.clone(),
        host: t.host.clone(),
        port: t.port.unwrap_or(5060),
        transport: match t.transport {
            Some(model::Transport::Tls) => {
                ctx.error(
                    Code::TlsTransport,
                    &path.key("transport"),
                    "trunks are reached over `udp` or `tcp`; TLS is for phones connecting here",
                );
                return None;
            }
            other => other.unwrap_or(model::Transport::Udp),
        },
        auth: auth?,
        register: t.register,
        inbound_from,
        outbound_rewrite,
        inbound_rewrite,
    })
}

/// Loads and validates the file at `path` as what it is (the whole of `pbx validate`): a
/// whole config, or a tenant file — with the config that includes it, or alone (see
/// `tenant_file`).
pub fn check_any_file(
    path: &Path,
    options: Options,
) -> Result<(Outcome, Sources, super::tenant_file::Scope), super::load::LoadError> {
    let (loaded, scope) = super::tenant_file::load_any(path)?;
    let (outcome, sources) = validate(loaded, options);
    Ok((outcome, sources, scope))
}

/// Loads and validates the config at `path`, a whole config.
pub fn check_file(
    path: &Path,
    options: Options,
) -> Result<(Outcome, Sources), super::load::LoadError> {
    let loaded = super::load::load(path)?;
    Ok(validate(loaded, options))
}
