//! `Plan`: what applying one config over another would change, entity by entity and field by
//! field, with generated values marked, what needs a restart, and the safety rule against
//! mass removals.
//!
//! Each entity (the server, a trunk, a tenant, a staff member, a department, a number, a
//! schedule, a menu) is first turned into a flat view — field name -> printable value, with
//! references printed by name and file paths relative to the config — and views are compared.
//! Views make the diff structural without a hand-written comparison per type. Enum values
//! print as the config writes them (`all_at_once`, `starttls`), through their `word()`, never
//! their Rust names, so a plan line can be searched for in the file.

use super::clock::format_duration;
use super::generated::{unchanged, Effective, PasswordState, Resolution};
use super::model::{
    Config, Department, Destination, Forwarding, Menu, NoAnswer, Number, PasswordSource, Schedule,
    SecretRef, Server, Staff, Target, Tenant, Trunk, TrunkRef,
};
use super::plan_notes::{notes, Generated, Note};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// One side of a comparison: a validated config, its generated values (when known), and the
/// directory its relative paths are written against.
pub struct Side<'a> {
    pub config: &'a Config,
    pub generated: Option<&'a Resolution>,
    pub base: &'a Path,
}

/// What a change does to an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Destructive changes come first.
    Remove,
    Change,
    Add,
}

/// A printable field value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    pub value: String,
    /// Assigned by the server rather than written in the config.
    pub generated: bool,
    /// Personal data (mobile numbers, e-mail), masked unless asked.
    pub sensitive: bool,
    /// For a secret written in the config (a password, its digest hashes, a token): a
    /// fingerprint of its value, compared but never printed or serialized, so a rotated
    /// secret is a change the plan shows as `(changed)` without showing the secret.
    #[serde(skip)]
    pub fingerprint: Option<Fingerprint>,
}

/// A SHA-256 of a secret's value (with a label for its kind), kept only in memory for the
/// comparison; its `Debug` prints nothing of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    fn of(kind: &str, parts: &[&str]) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(kind.as_bytes());
        for p in parts {
            // Length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        Fingerprint(h.finalize().into())
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprint(..)")
    }
}

/// What the plan prints as the new value of a secret that changed.
pub const CHANGED_SECRET: &str = "(changed)";

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Field>,
    pub after: Option<Field>,
}

/// One entity that is added, changed or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    pub kind: &'static str,
    /// The tenant the entity belongs to (`None` for the server and shared trunks).
    pub tenant: Option<String>,
    pub id: String,
    pub fields: Vec<FieldChange>,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
}

/// The whole plan. Its JSON form is versioned (`version`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub version: u32,
    pub summary: Summary,
    /// Server settings that only take effect after a restart and differ.
    pub restart_required: Vec<String>,
    /// Removals first, then changes, then additions.
    pub changes: Vec<Change>,
    /// What the changes do to whom, in words: namesakes told apart by order, generated
    /// extensions renumbered because the config took them (see `plan_notes`).
    pub notes: Vec<Note>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Server settings a running server cannot change.
const RESTART_FIELDS: &[&str] = &["sip.listen", "http.listen", "cabinet.listen", "data_dir"];

/// The plan that turns `before` (`None`: nothing yet) into `after`. Views are built and
/// compared one scope at a time — the shared settings, then each tenant (matched by id) — so
/// only one tenant's views are in memory at once, whatever the config's size.
pub fn diff(before: Option<&Side>, after: &Side) -> Plan {
    let mut changes = Vec::new();
    compare(
        before.map(shared_views).unwrap_or_default(),
        shared_views(after),
        &mut changes,
    );
    let old_index: HashMap<&str, usize> = before
        .map(|b| {
            b.config
                .tenants
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id.as_str(), i))
                .collect()
        })
        .unwrap_or_default();
    for (i, t) in after.config.tenants.iter().enumerate() {
        let old = match (before, old_index.get(t.id.as_str())) {
            (Some(b), Some(&j))
                if unchanged(b.config, b.generated, j, after.config, after.generated, i) =>
            {
                continue
            }
            (Some(b), Some(&j)) => tenant_views(b, j),
            _ => BTreeMap::new(),
        };
        compare(old, tenant_views(after, i), &mut changes);
    }
    if let Some(b) = before {
        let kept: HashSet<&str> = after.config.tenants.iter().map(|t| t.id.as_str()).collect();
        for (j, t) in b.config.tenants.iter().enumerate() {
            if !kept.contains(t.id.as_str()) {
                compare(tenant_views(b, j), BTreeMap::new(), &mut changes);
            }
        }
    }
    changes.sort_by(|a, b| {
        (a.action, &a.tenant, a.kind, &a.id).cmp(&(b.action, &b.tenant, b.kind, &b.id))
    });
    let restart_required = match before {
        None => Vec::new(),
        Some(_) => changes
            .iter()
            .filter(|c| c.kind == "server")
            .flat_map(|c| c.fields.iter())
            .filter(|f| RESTART_FIELDS.contains(&f.field.as_str()))
            .map(|f| format!("server.{}", f.field))
            .collect(),
    };
    let mut summary = Summary::default();
    for c in &changes {
        match c.action {
            Action::Add => summary.add += 1,
            Action::Change => summary.change += 1,
            Action::Remove => summary.remove += 1,
        }
    }
    Plan {
        version: 1,
        summary,
        restart_required,
        changes,
        notes: notes(
            before.map(|b| Generated {
                config: b.config,
                generated: b.generated,
            }),
            Generated {
                config: after.config,
                generated: after.generated,
            },
        ),
    }
}

/// The mass-removal safety rule: for each tenant that had at least `min_size` staff (or
/// numbers), removing more than `max_share` of them is refused. Returns one sentence per
/// violation.
pub fn removal_violations(
    before: &Config,
    plan: &Plan,
    max_share: f64,
    min_size: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for t in &before.tenants {
        for (kind, total) in [("staff", t.staff.len()), ("number", t.numbers.len())] {
            let removed = plan
                .changes
                .iter()
                .filter(|c| {
                    c.action == Action::Remove
                        && c.kind == kind
                        && c.tenant.as_deref() == Some(t.id.as_str())
                })
                .count();
            if total >= min_size && removed as f64 > max_share * total as f64 {
                out.push(format!(
                    "tenant `{}`: {removed} of {total} {} would be removed, more than the {:.0}% allowed without --force",
                    t.id,
                    if kind == "staff" { "staff" } else { "numbers" },
                    max_share * 100.0
                ));
            }
        }
    }
    out
}

fn change(action: Action, key: &Key, old: &View, new: &View) -> Change {
    let mut fields = Vec::new();
    for (name, before) in old {
        let after = new.get(name);
        if after != Some(before) {
            let after = after.cloned().map(|mut a| {
                // Only the secret differs: say so without showing it.
                if a.value == before.value
                    && (a.fingerprint.is_some() || before.fingerprint.is_some())
                {
                    a.value = CHANGED_SECRET.into();
                }
                a
            });
            fields.push(FieldChange {
                field: name.clone(),
                before: Some(before.clone()),
                after,
            });
        }
    }
    for (name, after) in new {
        if !old.contains_key(name) {
            fields.push(FieldChange {
                field: name.clone(),
                before: None,
                after: Some(after.clone()),
            });
        }
    }
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    Change {
        action,
        kind: key.kind,
        tenant: key.tenant.clone(),
        id: key.id.clone(),
        fields,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    kind: &'static str,
    tenant: Option<String>,
    id: String,
}

type View = BTreeMap<String, Field>;

fn plain(v: impl Into<String>) -> Field {
    Field {
        value: v.into(),
        generated: false,
        sensitive: false,
        fingerprint: None,
    }
}

fn put(view: &mut View, name: &str, value: impl Into<String>) {
    view.insert(name.to_string(), plain(value));
}

fn put_opt(view: &mut View, name: &str, value: Option<impl Into<String>>) {
    if let Some(v) = value {
        put(view, name, v);
    }
}

/// Appends the changes that turn the views `old` into `new`.
fn compare(old: BTreeMap<Key, View>, new: BTreeMap<Key, View>, changes: &mut Vec<Change>) {
    for (key, old_fields) in &old {
        match new.get(key) {
            None => changes.push(change(Action::Remove, key, old_fields, &BTreeMap::new())),
            Some(new_fields) if new_fields != old_fields => {
                changes.push(change(Action::Change, key, old_fields, new_fields))
            }
            Some(_) => {}
        }
    }
    for (key, new_fields) in &new {
        if !old.contains_key(key) {
            changes.push(change(Action::Add, key, &BTreeMap::new(), new_fields));
        }
    }
}

/// The views of what no tenant owns: the server and the shared trunks.
fn shared_views(side: &Side) -> BTreeMap<Key, View> {
    let mut out = BTreeMap::new();
    out.insert(
        Key {
            kind: "server",
            tenant: None,
            id: "server".into(),
        },
        server_view(&side.config.server, side.base),
    );
    for t in &side.config.trunks {
        out.insert(
            Key {
                kind: "trunk",
                tenant: None,
                id: t.id.clone(),
            },
            trunk_view(t),
        );
    }
    out
}

/// The views of tenant `ti` of `side` and everything it owns.
fn tenant_views(side: &Side, ti: usize) -> BTreeMap<Key, View> {
    let mut out = BTreeMap::new();
    let t = &side.config.tenants[ti];
    let tenant = Some(t.id.clone());
    let names = Names {
        side,
        tenant: t,
        index: ti,
    };
    out.insert(
        Key {
            kind: "tenant",
            tenant: tenant.clone(),
            id: t.id.clone(),
        },
        tenant_view(&names),
    );
    for tr in &t.trunks {
        out.insert(
            Key {
                kind: "trunk",
                tenant: tenant.clone(),
                id: tr.id.clone(),
            },
            trunk_view(tr),
        );
    }
    for (i, s) in t.staff.iter().enumerate() {
        let id = names.login(i);
        out.insert(
            Key {
                kind: "staff",
                tenant: tenant.clone(),
                id,
            },
            staff_view(&names, i, s),
        );
    }
    for d in &t.departments {
        out.insert(
            Key {
                kind: "department",
                tenant: tenant.clone(),
                id: d.id.clone(),
            },
            department_view(&names, d),
        );
    }
    for n in &t.numbers {
        out.insert(
            Key {
                kind: "number",
                tenant: tenant.clone(),
                id: n.number.to_string(),
            },
            number_view(&names, n),
        );
    }
    for s in &t.schedules {
        out.insert(
            Key {
                kind: "schedule",
                tenant: tenant.clone(),
                id: s.id.clone(),
            },
            schedule_view(s),
        );
    }
    for m in &t.menus {
        out.insert(
            Key {
                kind: "menu",
                tenant: tenant.clone(),
                id: m.id.clone(),
            },
            menu_view(&names, m),
        );
    }
    out
}

/// Prints references of one tenant by name.
struct Names<'a> {
    side: &'a Side<'a>,
    tenant: &'a Tenant,
    index: usize,
}

impl Names<'_> {
    fn effective(&self, staff: usize) -> Option<&Effective> {
        self.side
            .generated
            .and_then(|g| g.staff.get(self.index))
            .and_then(|t| t.get(staff))
    }

    fn login(&self, staff: usize) -> String {
        self.effective(staff)
            .map(|e| e.login.clone())
            .unwrap_or_else(|| self.tenant.staff[staff].login.to_string())
    }

    fn target(&self, t: &Target) -> String {
        match t {
            Target::Staff(s) => format!("staff {}", self.login(s.0)),
            Target::Department(d) => format!("department {}", self.tenant.departments[d.0].id),
        }
    }

    fn destination(&self, d: &Destination) -> String {
        match d {
            Destination::Staff(s) => format!("staff {}", self.login(s.0)),
            Destination::Department(d) => format!("department {}", self.tenant.departments[d.0].id),
            Destination::Menu(m) => format!("menu {}", self.tenant.menus[m.0].id),
            Destination::Voicemail(t) => format!("voicemail of {}", self.target(t)),
            Destination::External(n) => format!("external {n}"),
            Destination::Hangup => "hang up".into(),
        }
    }

    fn no_answer(&self, n: &NoAnswer) -> String {
        match n {
            NoAnswer::Voicemail => "voicemail".into(),
            NoAnswer::Forward { number, timeout } => {
                format!(
                    "forward to {number} (then voicemail after {})",
                    format_duration(*timeout)
                )
            }
            NoAnswer::Transfer(t) => format!("transfer to {}", self.target(t)),
        }
    }

    fn file(&self, p: &Path) -> String {
        relative(p, self.side.base)
    }
}

fn relative(p: &Path, base: &Path) -> String {
    p.strip_prefix(base).unwrap_or(p).display().to_string()
}

/// A secret as the plan shows it: where it comes from, and for one written in the config a
/// fingerprint of its value (an environment variable or a file is read by the server when it
/// applies, so only its name or path can be compared here).
fn secret(s: &SecretRef) -> Field {
    match s {
        SecretRef::Literal(value) => Field {
            fingerprint: Some(Fingerprint::of("literal", &[value])),
            ..plain("(written in the config)")
        },
        SecretRef::Env(n) => plain(format!("from environment variable {n}")),
        SecretRef::File(p) => plain(format!("from file {}", p.display())),
    }
}

fn put_field(view: &mut View, name: &str, field: Option<Field>) {
    if let Some(f) = field {
        view.insert(name.to_string(), f);
    }
}

fn server_view(s: &Server, base: &Path) -> View {
    let mut v = View::new();
    let listen: Vec<String> = s
        .sip_listen
        .iter()
        .map(|l| match &l.tls {
            Some(t) => format!(
                "{}/{} (certificate {}, key {})",
                l.address,
                l.transport.word(),
                relative(&t.certificate, base),
                relative(&t.key, base)
            ),
            None => format!("{}/{}", l.address, l.transport.word()),
        })
        .collect();
    put(&mut v, "sip.listen", listen.join(", "));
    put_opt(&mut v, "sip.public_address", s.sip_public_address.clone());
    put(
        &mut v,
        "rtp.ports",
        format!("{}-{}", s.rtp_port_min, s.rtp_port_max),
    );
    put_opt(&mut v, "rtp.public_address", s.rtp_public_address.clone());
    put(&mut v, "http.listen", s.http_listen.to_string());
    put_opt(
        &mut v,
        "cabinet.listen",
        s.cabinet.listen.map(|a| a.to_string()),
    );
    put(
        &mut v,
        "cabinet.session_idle",
        crate::config::clock::format_duration(s.cabinet.session_idle),
    );
    put(
        &mut v,
        "cabinet.secure_cookies",
        s.cabinet.secure_cookies.to_string(),
    );
    put(&mut v, "data_dir", relative(&s.data_dir, base));
    put_field(&mut v, "admin_token", s.admin_token.as_ref().map(secret));
    if let Some(m) = &s.smtp {
        put(
            &mut v,
            "smtp.server",
            format!("{}:{} ({})", m.host, m.port, m.security.word()),
        );
        put(&mut v, "smtp.from", m.from.clone());
        put_opt(&mut v, "smtp.username", m.username.clone());
        put_field(&mut v, "smtp.password", m.password.as_ref().map(secret));
        if m.keep_sent != crate::config::model::DEFAULT_KEEP_SENT {
            put(
                &mut v,
                "smtp.keep_sent",
                crate::config::clock::format_duration(m.keep_sent),
            );
        }
        put_opt(
            &mut v,
            "smtp.ca_file",
            m.ca_file.as_ref().map(|f| relative(f, base)),
        );
        put_opt(
            &mut v,
            "smtp.templates",
            m.templates.as_ref().map(|t| relative(t, base)),
        );
    }
    // Shown only when set, so plans of configs without it stay as they were.
    let g = &s.security;
    let defaults = crate::config::model::Security {
        trusted: g.trusted.clone(),
        ..Default::default()
    };
    if *g != defaults {
        put(
            &mut v,
            "security",
            format!(
                "max_failures {} in {}, ban {}, account_failures {}, max_rate {}/s",
                g.max_failures,
                crate::config::clock::format_duration(g.window),
                crate::config::clock::format_duration(g.ban),
                g.account_failures,
                g.max_rate
            ),
        );
    }
    // Also shown only when set.
    let l = &s.limits;
    if *l != crate::config::model::Limits::default() {
        put(
            &mut v,
            "limits",
            format!(
                "contacts_per_person {}, calls_per_tenant {}, calls_per_person {}",
                l.contacts_per_person, l.calls_per_tenant, l.calls_per_person
            ),
        );
    }
    let trusted: Vec<String> = g.trusted.iter().map(ToString::to_string).collect();
    put_opt(
        &mut v,
        "security.trusted",
        (!trusted.is_empty()).then(|| trusted.join(", ")),
    );
    v
}

fn trunk_view(t: &Trunk) -> View {
    let mut v = View::new();
    put(
        &mut v,
        "gateway",
        format!("{}:{} ({})", t.host, t.port, t.transport.word()),
    );
    if let Some(a) = &t.auth {
        put(&mut v, "auth.username", a.username.clone());
        put_field(&mut v, "auth.password", Some(secret(&a.password)));
        put_opt(&mut v, "auth.realm", a.realm.clone());
    }
    put(&mut v, "register", t.register.to_string());
    let from: Vec<String> = t.inbound_from.iter().map(ToString::to_string).collect();
    put(&mut v, "inbound_from", from.join(", "));
    let rewrites = |rs: &[super::model::Rewrite]| -> String {
        rs.iter()
            .map(|r| match r.length {
                Some(n) => format!("{}->{} (length {n})", r.prefix, r.replace),
                None => format!("{}->{}", r.prefix, r.replace),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    put(&mut v, "outbound_rewrite", rewrites(&t.outbound_rewrite));
    put(&mut v, "inbound_rewrite", rewrites(&t.inbound_rewrite));
    v
}

fn tenant_view(n: &Names) -> View {
    let t = n.tenant;
    let mut v = View::new();
    put(&mut v, "name", t.name.clone());
    put(&mut v, "domain", t.domain.clone());
    put(&mut v, "max_users", t.max_users.to_string());
    put(&mut v, "timezone", t.timezone.name());
    put(&mut v, "language", t.language.word());
    put(&mut v, "country", t.country.clone());
    let vm = &t.voicemail;
    put(
        &mut v,
        "voicemail.max_length",
        format_duration(vm.max_length),
    );
    put(
        &mut v,
        "voicemail.min_length",
        format_duration(vm.min_length),
    );
    put(&mut v, "voicemail.silence", format_duration(vm.silence));
    put(&mut v, "voicemail.keep", vm.keep.to_string());
    put(
        &mut v,
        "self_service.forwarding",
        t.self_service.forwarding.to_string(),
    );
    put(
        &mut v,
        "self_service.password",
        t.self_service.password.to_string(),
    );
    put(
        &mut v,
        "self_service.greeting",
        t.self_service.greeting.to_string(),
    );
    let trunks: Vec<String> = t
        .outbound_trunks
        .iter()
        .map(|r| match r {
            TrunkRef::Own(i) => t.trunks[*i].id.clone(),
            TrunkRef::Shared(i) => n.side.config.trunks[*i].id.clone(),
        })
        .collect();
    put(&mut v, "outbound_trunks", trunks.join(", "));
    let o = &t.outbound;
    let list = |l: &[crate::config::outbound::Prefix]| {
        l.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
    };
    put(&mut v, "outbound.allow", list(&o.allow));
    put(&mut v, "outbound.deny", list(&o.deny));
    put(
        &mut v,
        "outbound.international",
        o.international.to_string(),
    );
    put(&mut v, "outbound.premium", o.premium.to_string());
    put(
        &mut v,
        "outbound.max_calls",
        o.max_calls.map_or("no limit".into(), |n| n.to_string()),
    );
    put(
        &mut v,
        "outbound.max_minutes_per_hour",
        o.max_minutes_per_hour
            .map_or("no limit".into(), |n| n.to_string()),
    );
    // The rules of staff whose role or own rules change the tenant's, as they come out.
    for (s, rules) in &o.per_staff {
        put(
            &mut v,
            &format!("outbound.staff.{}", n.login(*s)),
            format!(
                "allow [{}], deny [{}], international {}, premium {}",
                list(&rules.allow),
                list(&rules.deny),
                rules.international,
                rules.premium
            ),
        );
    }
    let p = &t.prompts;
    for (name, file) in [
        ("prompts.voicemail_greeting", &p.voicemail_greeting),
        ("prompts.impatient_offer", &p.impatient_offer),
        ("prompts.after_hours", &p.after_hours),
        ("prompts.invalid_choice", &p.invalid_choice),
        ("prompts.callback_confirmed", &p.callback_confirmed),
    ] {
        put_opt(&mut v, name, file.as_deref().map(|f| n.file(f)));
    }
    v
}

fn staff_view(n: &Names, i: usize, s: &Staff) -> View {
    let mut v = View::new();
    let e = n.effective(i);
    put(&mut v, "name", s.name.clone());
    put_opt(&mut v, "position", s.position.clone());
    put(&mut v, "role", s.role.word());
    let login_generated = e.map_or(s.login_generated, |e| e.login_generated);
    v.insert(
        "login".into(),
        Field {
            value: n.login(i),
            generated: login_generated,
            sensitive: false,
            fingerprint: None,
        },
    );
    match (e, &s.extension) {
        (Some(e), _) => {
            if let Some(x) = &e.extension {
                v.insert(
                    "extension".into(),
                    Field {
                        value: x.clone(),
                        generated: e.extension_generated,
                        sensitive: false,
                        fingerprint: None,
                    },
                );
            }
        }
        (None, Some(x)) => put(&mut v, "extension", x.to_string()),
        (None, None) => {
            v.insert(
                "extension".into(),
                Field {
                    value: "(allocated on apply)".into(),
                    generated: true,
                    sensitive: false,
                    fingerprint: None,
                },
            );
        }
    }
    let password = match (&s.password, e.map(|e| e.password)) {
        (Some(PasswordSource::Secret(sr)), _) => secret(sr),
        (Some(PasswordSource::Hash { md5, sha256 }), _) => Field {
            fingerprint: Some(Fingerprint::of(
                "hash",
                &[
                    md5.as_deref().unwrap_or(""),
                    sha256.as_deref().unwrap_or(""),
                ],
            )),
            ..plain("digest hashes in the config")
        },
        (None, Some(PasswordState::Kept)) => Field {
            value: "(generated earlier)".into(),
            generated: true,
            sensitive: false,
            fingerprint: None,
        },
        (None, _) => Field {
            value: "(generated on apply, shown once)".into(),
            generated: true,
            sensitive: false,
            fingerprint: None,
        },
    };
    v.insert("password".into(), password);
    if let Some(email) = &s.email {
        v.insert(
            "email".into(),
            Field {
                value: email.to_string(),
                generated: false,
                sensitive: true,
                fingerprint: None,
            },
        );
    }
    if let Some(m) = &s.mobile {
        v.insert(
            "mobile".into(),
            Field {
                value: m.number.to_string(),
                generated: false,
                sensitive: true,
                fingerprint: None,
            },
        );
        let mode = match m.forwarding {
            Forwarding::Off | Forwarding::Instant => m.forwarding.word().to_string(),
            Forwarding::Delayed => format!(
                "{}, delay {}",
                m.forwarding.word(),
                format_duration(m.delay)
            ),
        };
        put(&mut v, "mobile.forwarding", mode);
    }
    put(&mut v, "ring_time", format_duration(s.ring_time));
    put(&mut v, "no_answer", n.no_answer(&s.no_answer));
    put_opt(
        &mut v,
        "voicemail_greeting",
        s.voicemail_greeting.as_deref().map(|f| n.file(f)),
    );
    v
}

fn department_view(n: &Names, d: &Department) -> View {
    let mut v = View::new();
    put(&mut v, "name", d.name.clone());
    put_opt(
        &mut v,
        "extension",
        d.extension.as_ref().map(ToString::to_string),
    );
    put(&mut v, "strategy", d.strategy.word());
    put(&mut v, "step", format_duration(d.step));
    put(&mut v, "ring_time", format_duration(d.ring_time));
    let members: Vec<String> = d.members.iter().map(|m| n.login(m.0)).collect();
    put(&mut v, "members", members.join(", "));
    put(&mut v, "no_answer", n.no_answer(&d.no_answer));
    if let Some(ic) = &d.impatient_callers {
        put(
            &mut v,
            "impatient_callers",
            format!(
                "after {}: {} callback, {} wait, {} voicemail",
                format_duration(ic.after),
                ic.callback_digit,
                ic.wait_digit,
                ic.voicemail_digit
            ),
        );
        put(
            &mut v,
            "impatient_callers.offers",
            match ic.repeat {
                Some(r) => format!("{} at most, every {}", ic.max_offers, format_duration(r)),
                None => "once".into(),
            },
        );
        put_opt(
            &mut v,
            "impatient_callers.prompt",
            ic.prompt.as_deref().map(|f| n.file(f)),
        );
        let cb = &ic.callback;
        put(
            &mut v,
            "impatient_callers.callback",
            format!(
                "{} attempt(s) {} apart, ringing {}, given up after {}",
                cb.attempts,
                format_duration(cb.retry_after),
                format_duration(cb.ring_time),
                format_duration(cb.expires)
            ),
        );
        put_opt(
            &mut v,
            "impatient_callers.callback.schedule",
            cb.schedule.map(|s| n.tenant.schedules[s.0].id.clone()),
        );
    }
    put_opt(
        &mut v,
        "voicemail_greeting",
        d.voicemail_greeting.as_deref().map(|f| n.file(f)),
    );
    v
}

fn number_view(n: &Names, num: &Number) -> View {
    let mut v = View::new();
    put_opt(&mut v, "name", num.name.clone());
    put(
        &mut v,
        "schedule",
        num.schedule.map_or_else(
            || "24/7".to_string(),
            |s| n.tenant.schedules[s.0].id.clone(),
        ),
    );
    put(&mut v, "destination", n.destination(&num.destination));
    put_opt(
        &mut v,
        "after_hours",
        num.after_hours.as_ref().map(|d| n.destination(d)),
    );
    put_opt(
        &mut v,
        "greeting",
        num.greeting.as_deref().map(|f| n.file(f)),
    );
    put_opt(
        &mut v,
        "impatient_after",
        num.impatient_after.map(format_duration),
    );
    v
}

fn schedule_view(s: &Schedule) -> View {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let mut v = View::new();
    put(&mut v, "timezone", s.timezone.name());
    for (day, ranges) in DAYS.iter().zip(&s.week) {
        let text: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        put(
            &mut v,
            &format!("hours.{day}"),
            if text.is_empty() {
                "closed".into()
            } else {
                text.join(", ")
            },
        );
    }
    let holidays: Vec<String> = s
        .holidays
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..{b}")
            }
        })
        .collect();
    put(&mut v, "holidays", holidays.join(", "));
    v
}

fn menu_view(n: &Names, m: &Menu) -> View {
    let mut v = View::new();
    put(&mut v, "prompt", n.file(&m.prompt));
    for (digit, d) in &m.options {
        put(&mut v, &format!("options.{digit}"), n.destination(d));
    }
    put(&mut v, "timeout", format_duration(m.timeout));
    put(&mut v, "repeat", m.repeat.to_string());
    put_opt(
        &mut v,
        "on_timeout",
        m.on_timeout.as_ref().map(|d| n.destination(d)),
    );
    put_opt(
        &mut v,
        "on_invalid",
        m.on_invalid.as_ref().map(|d| n.destination(d)),
    );
    put(&mut v, "dial_extensions", m.dial_extensions.to_string());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plan_report::{render, PlanFormat};
    use crate::config::validate::validate_text;

    fn config(trunk_password: &str, staff_password: &str) -> Config {
        let yaml = format!(
            "version: 1\ntrunks:\n  - id: t\n    host: 192.0.2.1\n    auth: {{ username: u, password: {trunk_password} }}\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 5\n    staff:\n      - name: Maria\n        login: maria\n        extension: \"201\"\n        password: {staff_password}\n"
        );
        validate_text(&yaml).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn plan(before: &Config, after: &Config) -> Plan {
        let side = |c| Side {
            config: c,
            generated: None,
            base: Path::new("."),
        };
        diff(Some(&side(before)), &side(after))
    }

    const MD5_A: &str = "{ ha1: { md5: 0123456789abcdef0123456789abcdef } }";
    const MD5_B: &str = "{ ha1: { md5: fedcba9876543210fedcba9876543210 } }";

    #[test]
    fn a_rotated_hash_is_a_change_shown_without_the_hash() {
        let p = plan(&config("s3cret", MD5_A), &config("s3cret", MD5_B));
        assert_eq!(p.summary.change, 1, "{p:?}");
        let field = &p.changes[0].fields[0];
        assert_eq!(field.field, "password");
        assert_eq!(field.after.as_ref().unwrap().value, CHANGED_SECRET);
        for format in [PlanFormat::Human, PlanFormat::Json, PlanFormat::Markdown] {
            let text = render(&p, format, true);
            assert!(text.contains("(changed)"), "{text}");
            assert!(
                !text.contains("fedcba") && !text.contains("012345"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_rotated_plaintext_password_is_a_change() {
        let p = plan(&config("s3cret", "old-pass"), &config("s3cret", "new-pass"));
        assert_eq!(p.summary.change, 1, "{p:?}");
        let text = render(&p, PlanFormat::Human, true);
        assert!(
            text.contains("password: \"(written in the config)\" -> \"(changed)\""),
            "{text}"
        );
        assert!(!text.contains("new-pass") && !text.contains("old-pass"));
    }

    #[test]
    fn a_rotated_trunk_password_is_a_change() {
        let p = plan(&config("old-trunk", MD5_A), &config("new-trunk", MD5_A));
        assert_eq!(p.summary.change, 1, "{p:?}");
        assert_eq!(p.changes[0].kind, "trunk");
        assert_eq!(p.changes[0].fields[0].field, "auth.password");
        assert!(!format!("{p:?}").contains("new-trunk"));
    }

    #[test]
    fn a_secret_from_another_source_is_a_change() {
        let p = plan(
            &config("{ env: OLD_TRUNK }", "{ env: OLD }"),
            &config("{ env: NEW_TRUNK }", "{ file: pw.txt }"),
        );
        assert_eq!(p.summary.change, 2, "{p:?}");
    }

    #[test]
    fn the_same_secrets_are_no_change() {
        let p = plan(&config("s3cret", MD5_A), &config("s3cret", MD5_A));
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn enum_values_print_as_the_config_writes_them() {
        let yaml = "version: 1\nserver:\n  sip:\n    listen:\n      - { transport: tcp, address: \"0.0.0.0:5060\" }\n  smtp: { host: Mail.Example, port: 587, security: starttls, from: \"PBX <pbx@a.example>\" }\ntrunks:\n  - id: t\n    host: 192.0.2.1\n    transport: tcp\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 5\n    language: en\n    outbound_trunks: [t]\n    staff:\n      - name: Maria\n        login: maria\n        extension: \"201\"\n        role: restricted\n        mobile: { number: \"+79161110202\", forwarding: delayed, delay: 20s }\n    departments:\n      - id: sales\n        name: Sales\n        strategy: in_order\n        members: [maria]\n";
        let after = validate_text(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let before = validate_text(&yaml.replace("in_order", "all_at_once"))
            .unwrap_or_else(|d| panic!("{d:?}"));
        let side = |c| Side {
            config: c,
            generated: None,
            base: Path::new("."),
        };
        let p = diff(Some(&side(&before)), &side(&after));
        let text = render(&p, PlanFormat::Human, true);
        assert!(
            text.contains("strategy: \"all_at_once\" -> \"in_order\""),
            "{text}"
        );
        let after_side = side(&after);
        let mut v = shared_views(&after_side);
        v.extend(tenant_views(&after_side, 0));
        let field = |kind: &str, name: &str| {
            v.iter()
                .find(|(k, _)| k.kind == kind)
                .and_then(|(_, view)| view.get(name))
                .map(|f| f.value.clone())
                .unwrap_or_else(|| panic!("no {kind}.{name} in {v:?}"))
        };
        assert_eq!(field("server", "sip.listen"), "0.0.0.0:5060/tcp");
        assert_eq!(
            field("server", "smtp.server"),
            "Mail.Example:587 (starttls)",
            "the host is printed as written, only the word is the config's"
        );
        assert_eq!(field("trunk", "gateway"), "192.0.2.1:5060 (tcp)");
        assert_eq!(field("tenant", "language"), "en");
        assert_eq!(field("staff", "role"), "restricted");
        assert_eq!(field("staff", "mobile.forwarding"), "delayed, delay 20s");
        assert_eq!(field("department", "strategy"), "in_order");
    }
}
