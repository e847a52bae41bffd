//! Checks of staff: logins (written ones valid and unique, the rest generated from names),
//! the tariff's `max_users`, extensions (unique across staff and departments), e-mail,
//! mobile forwarding and passwords.

use super::{opt, ranges, Ctx};
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::model;
use crate::config::path::ConfigPath;
use crate::config::raw;
use crate::config::translit::{login_from_name, unique_logins};
use crate::config::values::{Email, Extension, Login, E164};
use std::collections::{HashMap, HashSet};

use super::names::Names;
use super::routing::{check_no_answer, no_trunk};

/// Explicit logins are checked and must be unique; the rest are generated from names,
/// deduplicated in file order. Returns each staff member's login (and whether it was
/// generated), `None` where the written login is invalid.
pub(super) fn check_logins(
    ctx: &mut Ctx,
    t: &raw::Tenant,
    path: &ConfigPath,
) -> Vec<Option<(Login, bool)>> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut result: Vec<Option<(Login, bool)>> = Vec::with_capacity(t.staff.len());
    let mut first_at: HashMap<String, usize> = HashMap::new();
    for (i, s) in t.staff.iter().enumerate() {
        let Some(written) = &s.login else {
            result.push(None);
            continue;
        };
        let p = path.key("staff").item(i, written);
        let login = ctx.value(Login::parse(written), &p.key("login"));
        if let Some(login) = &login {
            if let Some(&first) = first_at.get(login.as_str()) {
                let first_path = path.key("staff").item(first, written).key("login");
                let mut d = Diagnostic::error(
                    Code::LoginDuplicate,
                    p.key("login"),
                    format!("login `{written}` is used twice"),
                );
                d.location = ctx.sources.locate(&p.key("login"));
                ctx.related(&mut d, &first_path, "first used here");
                d.help =
                    Some("logins are unique in a tenant: phones and the cabinet use them".into());
                ctx.out.push(d);
            } else {
                first_at.insert(login.as_str().to_string(), i);
                taken.insert(login.as_str().to_string());
            }
        }
        result.push(login.map(|l| (l, false)));
    }
    let wanted_idx: Vec<usize> = t
        .staff
        .iter()
        .enumerate()
        .filter(|(_, s)| s.login.is_none())
        .map(|(i, _)| i)
        .collect();
    let wanted: Vec<String> = wanted_idx
        .iter()
        .map(|&i| login_from_name(&t.staff[i].name))
        .collect();
    for (i, generated) in wanted_idx.into_iter().zip(unique_logins(&taken, &wanted)) {
        result[i] = Login::parse(&generated).ok().map(|l| (l, true));
    }
    result
}

/// People of the same name without a written login are told apart by what else the config
/// says of them (e-mail, mobile, position, extension: `generated::signature`); those it says
/// nothing distinct of are known only by their order among that name, so removing or moving
/// one could hand its login, extension and password to another. Each of those is warned, with
/// the login to write.
pub(super) fn check_namesakes(
    ctx: &mut Ctx,
    t: &raw::Tenant,
    logins: &[Option<(Login, bool)>],
    staff_paths: &[ConfigPath],
) {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, s) in t.staff.iter().enumerate() {
        if s.login.is_some() {
            continue;
        }
        match groups.iter_mut().find(|(name, _)| *name == s.name) {
            Some((_, members)) => members.push(i),
            None => groups.push((s.name.as_str(), vec![i])),
        }
    }
    // What tells a person apart (the raw counterpart of `generated::signature`).
    let signature = |i: usize| {
        let s = &t.staff[i];
        let fields = [
            s.email.as_deref(),
            s.mobile.as_ref().map(|m| m.number.as_str()),
            s.position.as_deref(),
            s.extension.as_deref(),
        ];
        fields.iter().any(Option::is_some).then_some(fields)
    };
    for (name, members) in groups.iter().filter(|(_, m)| m.len() > 1) {
        let apart = |i: usize| {
            signature(i).is_some()
                && members
                    .iter()
                    .filter(|&&j| j != i)
                    .all(|&j| signature(j) != signature(i))
        };
        for &i in members.iter().filter(|&&i| !apart(i)) {
            let login = logins[i].as_ref().map(|l| l.0.to_string());
            let others: Vec<ConfigPath> = members
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| staff_paths[j].key("name"))
                .collect();
            let mut d = Diagnostic::warning(
                Code::NamesakeWithoutLogin,
                staff_paths[i].key("name"),
                format!(
                    "{} staff are named `{name}` without a `login:`, and nothing else the config \
                     says (e-mail, mobile, position, extension) tells this one apart: it is known \
                     by its order, so removing or moving one of them may hand its login, \
                     extension and password to another",
                    members.len()
                ),
            );
            d.location = ctx.sources.locate(&d.path);
            for other in &others {
                ctx.related(&mut d, other, "same name, no login");
            }
            d.help = Some(match login {
                Some(l) => format!(
                    "write its login out: `login: {l}` (what it is generated as here; if a \
                     server gave it another, `pbx plan --server` shows which)"
                ),
                None => "write a `login:` for each of them".into(),
            });
            ctx.out.push(d);
        }
    }
}

pub(super) fn check_max_users(ctx: &mut Ctx, t: &raw::Tenant, path: &ConfigPath) {
    if ctx
        .count(Some(t.max_users), 0, ranges::MAX_USERS, path, "max_users")
        .is_none()
    {
        return;
    }
    let count = t.staff.len();
    if count > t.max_users as usize {
        let d = ctx.error(
            Code::MaxUsers,
            &path.key("max_users"),
            format!(
                "{count} staff members, but the tariff allows {}",
                t.max_users
            ),
        );
        d.help = Some(format!(
            "remove {} of them or raise `max_users` with your tariff",
            count - t.max_users as usize
        ));
    }
}

/// Extensions: each well-formed, and unique across staff and departments.
pub(super) fn check_extensions(
    ctx: &mut Ctx,
    t: &raw::Tenant,
    staff_paths: &[ConfigPath],
    dept_paths: &[ConfigPath],
) {
    let written = t
        .staff
        .iter()
        .zip(staff_paths)
        .filter_map(|(s, p)| s.extension.as_deref().map(|e| (e, p.key("extension"))))
        .chain(
            t.departments
                .iter()
                .zip(dept_paths)
                .filter_map(|(d, p)| d.extension.as_deref().map(|e| (e, p.key("extension")))),
        );
    let mut valid: Vec<(&str, ConfigPath)> = Vec::new();
    for (e, p) in written {
        if ctx.value(Extension::parse(e), &p).is_some() {
            valid.push((e, p));
        }
    }
    ctx.unique(valid, Code::ExtensionDuplicate, "extension");
}

pub(super) fn check_staff(
    ctx: &mut Ctx,
    names: &Names,
    s: &raw::Staff,
    login: Option<(Login, bool)>,
    path: &ConfigPath,
) -> Option<model::Staff> {
    if s.name.trim().is_empty() {
        ctx.error(Code::MissingKey, &path.key("name"), "the name is empty");
    }
    let email = s
        .email
        .as_deref()
        .map(|e| ctx.value(Email::parse(e), &path.key("email")));
    let mobile = s.mobile.as_ref().map(|m| {
        let p = path.key("mobile");
        let number = ctx.value(E164::parse(&m.number), &p.key("number"));
        let forwarding = m.forwarding.unwrap_or(model::Forwarding::Off);
        let delay = ctx.duration(m.delay.as_ref(), 15, ranges::MOBILE_DELAY, &p, "delay");
        if forwarding != model::Forwarding::Off && !names.has_outbound {
            no_trunk(ctx, &p.key("forwarding"), "forwarding to a mobile");
        }
        if forwarding != model::Forwarding::Off {
            let np = p.key("number");
            super::outbound::denied(ctx, names, number.as_ref(), &np, "forwarding to it");
        }
        Some(model::Mobile {
            number: number?,
            forwarding,
            delay: delay?,
        })
    });
    let password = s
        .password
        .as_ref()
        .map(|pw| check_password(ctx, pw, &path.key("password")));
    let ring_time = ctx.duration(
        s.ring_time.as_ref(),
        30,
        ranges::RING_TIME,
        path,
        "ring_time",
    );
    let no_answer = check_no_answer(ctx, names, s.no_answer.as_ref(), &path.key("no_answer"));
    let voicemail_greeting = s.voicemail_greeting.as_deref().map(|g| {
        ctx.audio(
            g,
            crate::config::audio::Use::VoicemailGreeting,
            &path.key("voicemail_greeting"),
        )
    });
    let extension = s
        .extension
        .as_deref()
        .and_then(|e| Extension::parse(e).ok());
    let notify_missed_calls = s
        .notify
        .as_ref()
        .and_then(|n| n.missed_calls)
        .unwrap_or(false);
    if notify_missed_calls && s.email.is_none() {
        ctx.warn(
            Code::NoticeNowhere,
            &path.key("notify").key("missed_calls"),
            "missed calls are to be told by e-mail, but there is no `email`",
        )
        .help = Some("add an `email`, or remove `notify.missed_calls`".into());
    }
    let (login, login_generated) = login?;
    Some(model::Staff {
        name: s.name.clone(),
        login,
        login_generated,
        password: opt(password)?,
        position: s.position.clone(),
        role: s.role.unwrap_or(model::Role::User),
        extension,
        email: opt(email)?,
        mobile: opt(mobile)?,
        ring_time: ring_time?,
        no_answer: no_answer?,
        voicemail_greeting: opt(voicemail_greeting)?,
        notify_missed_calls,
    })
}

fn check_password(
    ctx: &mut Ctx,
    pw: &raw::Password,
    path: &ConfigPath,
) -> Option<model::PasswordSource> {
    let hex =
        |ctx: &mut Ctx, v: &Option<String>, len: usize, p: ConfigPath| -> Option<Option<String>> {
            match v {
                None => Some(None),
                Some(h) if h.len() == len && h.chars().all(|c| c.is_ascii_hexdigit()) => {
                    Some(Some(h.to_ascii_lowercase()))
                }
                Some(h) => {
                    ctx.error(Code::Secret, &p, format!("`{h}` is not {len} hex digits"));
                    None
                }
            }
        };
    match pw {
        raw::Password::Literal(s) => {
            ctx.warn(Code::PlaintextSecret, path, "a password is written in plain text")
                .help = Some("remove it to have one generated, or use `{env: NAME}`, `{file: PATH}` or `{ha1: {md5: ..., sha256: ...}}`".into());
            Some(model::PasswordSource::Secret(model::SecretRef::Literal(
                s.clone(),
            )))
        }
        raw::Password::Env(e) => ctx
            .env_name(&e.env, &path.key("env"))
            .map(|n| model::PasswordSource::Secret(model::SecretRef::Env(n))),
        raw::Password::File(f) => Some(model::PasswordSource::Secret(model::SecretRef::File(
            ctx.resolve_file(&f.file, path),
        ))),
        raw::Password::Hash(h) => {
            let p = path.key("ha1");
            let md5 = hex(ctx, &h.ha1.md5, 32, p.key("md5"));
            let sha256 = hex(ctx, &h.ha1.sha256, 64, p.key("sha256"));
            if h.ha1.md5.is_none() && h.ha1.sha256.is_none() {
                ctx.error(Code::Secret, &p, "give at least one of `md5` and `sha256`");
            }
            Some(model::PasswordSource::Hash {
                md5: md5?,
                sha256: sha256?,
            })
        }
    }
}
