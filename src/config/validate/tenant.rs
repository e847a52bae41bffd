//! Checks of one tenant: its id, domain and time zone, the names its references resolve
//! against, and the order in which staff (`staff.rs`), routing (`routing.rs`) and schedules
//! are checked; its language, country and voicemail settings; unused schedules and menus;
//! prompt overrides.

use super::names::Names;
use super::routing::{check_department, check_menu, check_menu_keys, check_number, dialable};
use super::staff::{check_extensions, check_logins, check_max_users, check_namesakes, check_staff};
use super::{check_trunks, opt, schedule, Ctx};
use crate::config::audio::Use;
use crate::config::clock::{self, format_duration};
use crate::config::country::parse_country;
use crate::config::diagnostic::Code;
use crate::config::model::{self, DepartmentId, MenuId, ScheduleId, StaffId, TrunkRef};
use crate::config::path::ConfigPath;
use crate::config::raw;
use std::collections::HashSet;
use std::time::Duration;

pub(super) fn check_tenant(
    ctx: &mut Ctx,
    t: &raw::Tenant,
    path: &ConfigPath,
    shared_trunks: &[&str],
) -> Option<model::Tenant> {
    let errors_before = ctx.out.iter().filter(|d| d.is_error()).count();
    ctx.id(&t.id, path);
    check_domain(ctx, &t.domain, &path.key("domain"));
    let timezone = match &t.timezone {
        None => Some(model::Timezone("UTC".into())),
        Some(tz) => ctx
            .value(clock::validate_timezone(tz), &path.key("timezone"))
            .map(|_| model::Timezone(tz.clone())),
    };

    let language = t.language.unwrap_or_default();
    let country = check_country(ctx, t.country.as_deref(), &path.key("country"));
    let voicemail = check_voicemail(ctx, &t.voicemail, &path.key("voicemail"));

    let logins = check_logins(ctx, t, path);
    let staff_paths: Vec<ConfigPath> = logins
        .iter()
        .enumerate()
        .map(|(i, l)| {
            path.key("staff")
                .item(i, l.as_ref().map_or("?", |l| l.0.as_str()))
        })
        .collect();
    check_namesakes(ctx, t, &logins, &staff_paths);
    check_max_users(ctx, t, path);
    let dept_paths: Vec<ConfigPath> = t
        .departments
        .iter()
        .enumerate()
        .map(|(i, d)| path.key("departments").item(i, &d.id))
        .collect();
    let menu_paths: Vec<ConfigPath> = t
        .menus
        .iter()
        .enumerate()
        .map(|(i, m)| path.key("menus").item(i, &m.id))
        .collect();
    let sched_paths: Vec<ConfigPath> = t
        .schedules
        .iter()
        .enumerate()
        .map(|(i, s)| path.key("schedules").item(i, &s.id))
        .collect();
    for (ids, what) in [
        (
            t.departments
                .iter()
                .map(|d| d.id.as_str())
                .zip(&dept_paths)
                .collect::<Vec<_>>(),
            "department id",
        ),
        (
            t.menus
                .iter()
                .map(|m| m.id.as_str())
                .zip(&menu_paths)
                .collect(),
            "menu id",
        ),
        (
            t.schedules
                .iter()
                .map(|s| s.id.as_str())
                .zip(&sched_paths)
                .collect(),
            "schedule id",
        ),
    ] {
        for (id, p) in &ids {
            ctx.id(id, p);
        }
        ctx.unique(
            ids.into_iter().map(|(id, p)| (id, p.key("id"))),
            Code::DuplicateId,
            what,
        );
    }
    check_extensions(ctx, t, &staff_paths, &dept_paths);
    let staff_owner: Vec<String> = t
        .staff
        .iter()
        .zip(&logins)
        .map(|(s, l)| match l {
            Some((login, _)) => format!("staff member `{}`", login.as_str()),
            None => format!("staff member `{}`", s.name),
        })
        .collect();
    let dialable = dialable(t, &staff_owner, &staff_paths, &dept_paths);
    check_menu_keys(ctx, &t.menus, &menu_paths, &dialable);

    // Trunks: the tenant's own, then which ones staff call out through.
    let own_trunks = check_trunks(ctx, &t.trunks, &path.key("trunks"));
    let mut outbound_trunks = Vec::new();
    for (i, name) in t.outbound_trunks.iter().enumerate() {
        let p = path.key("outbound_trunks").index(i);
        if let Some(j) = t.trunks.iter().position(|tr| &tr.id == name) {
            outbound_trunks.push(TrunkRef::Own(j));
        } else if let Some(j) = shared_trunks.iter().position(|id| id == name) {
            outbound_trunks.push(TrunkRef::Shared(j));
        } else {
            let known: Vec<&str> = t
                .trunks
                .iter()
                .map(|tr| tr.id.as_str())
                .chain(shared_trunks.iter().copied())
                .collect();
            ctx.unknown("trunk", name, known, &p);
        }
    }

    let outbound = super::outbound::check_outbound(
        ctx,
        &t.outbound,
        (country.as_deref(), &path.key("country")),
        !t.outbound_trunks.is_empty(),
        &path.key("outbound"),
    );
    let names = Names {
        staff: logins
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.as_ref().map(|l| (l.0.as_str().to_string(), StaffId(i))))
            .collect(),
        departments: t
            .departments
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.as_str(), DepartmentId(i)))
            .collect(),
        menus: t
            .menus
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_str(), MenuId(i)))
            .collect(),
        schedules: t
            .schedules
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), ScheduleId(i)))
            .collect(),
        has_outbound: !t.outbound_trunks.is_empty(),
        outbound: outbound.clone(),
    };

    let staff: Vec<Option<model::Staff>> = t
        .staff
        .iter()
        .zip(logins)
        .zip(&staff_paths)
        .map(|((s, login), p)| check_staff(ctx, &names, s, login, p))
        .collect();
    let departments: Vec<Option<model::Department>> = t
        .departments
        .iter()
        .zip(&dept_paths)
        .map(|(d, p)| check_department(ctx, &names, d, p))
        .collect();
    let schedules: Vec<Option<model::Schedule>> = t
        .schedules
        .iter()
        .zip(&sched_paths)
        .map(|(s, p)| schedule::check_schedule(ctx, s, timezone.as_ref(), p))
        .collect();
    let menus: Vec<Option<model::Menu>> = t
        .menus
        .iter()
        .zip(&menu_paths)
        .map(|(m, p)| check_menu(ctx, &names, m, p))
        .collect();
    let numbers: Vec<Option<model::Number>> = t
        .numbers
        .iter()
        .enumerate()
        .map(|(i, n)| check_number(ctx, &names, n, &path.key("numbers").item(i, &n.number)))
        .collect();
    // Checked (and reported) even when the tenant's own rules are wrong.
    let base = outbound.clone().unwrap_or_default();
    let per_staff = super::outbound::check_staff_rules(ctx, t, &base, path, &staff_paths);
    let outbound = outbound.and_then(|mut o| {
        o.per_staff = per_staff?;
        Some(o)
    });
    check_unused(ctx, t, &sched_paths, &menu_paths);
    let prompts = check_prompts(ctx, &t.prompts, &path.key("prompts"));

    let errors_after = ctx.out.iter().filter(|d| d.is_error()).count();
    if errors_after > errors_before {
        return None;
    }
    Some(model::Tenant {
        id: t.id.clone(),
        name: t.name.clone(),
        domain: t.domain.to_lowercase(),
        max_users: t.max_users,
        timezone: timezone?,
        trunks: own_trunks?,
        outbound_trunks,
        outbound: outbound?,
        prompts: prompts?,
        language,
        country: country?,
        voicemail: voicemail?,
        self_service: model::SelfService {
            forwarding: t.self_service.forwarding.unwrap_or(true),
            password: t.self_service.password.unwrap_or(true),
            greeting: t.self_service.greeting.unwrap_or(true),
        },
        staff: staff.into_iter().collect::<Option<_>>()?,
        departments: departments.into_iter().collect::<Option<_>>()?,
        numbers: numbers.into_iter().collect::<Option<_>>()?,
        schedules: schedules.into_iter().collect::<Option<_>>()?,
        menus: menus.into_iter().collect::<Option<_>>()?,
    })
}

fn check_country(ctx: &mut Ctx, country: Option<&str>, path: &ConfigPath) -> Option<String> {
    let Some(text) = country else {
        return Some("RU".to_owned());
    };
    match parse_country(text) {
        Ok(code) => Some(code),
        Err(e) => {
            ctx.error(Code::Country, path, e.to_string()).help = e.help();
            None
        }
    }
}

/// The bounds of `voicemail:` (see `raw::Voicemail`).
const MAX_LENGTH_RANGE: (Duration, Duration) =
    (Duration::from_secs(5), Duration::from_secs(30 * 60));
const SILENCE_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
const KEEP_RANGE: (u32, u32) = (1, 10_000);

fn check_voicemail(
    ctx: &mut Ctx,
    v: &raw::Voicemail,
    path: &ConfigPath,
) -> Option<model::VoicemailSettings> {
    let defaults = model::VoicemailSettings::default();
    let duration =
        |ctx: &mut Ctx, raw: Option<&raw::DurationText>, default: Duration, key| match raw {
            None => Some(default),
            Some(t) => ctx.value(clock::parse_duration(&t.0), &path.key(key)),
        };
    let max_length = duration(
        ctx,
        v.max_length.as_ref(),
        defaults.max_length,
        "max_length",
    );
    let min_length = duration(
        ctx,
        v.min_length.as_ref(),
        defaults.min_length,
        "min_length",
    );
    let silence = duration(ctx, v.silence.as_ref(), defaults.silence, "silence");
    let mut ok = true;
    let mut out_of = |ctx: &mut Ctx, code, key: &'static str, what: String, help: &str| {
        // A default is never out of bounds, so the key is written wherever this fires.
        ctx.error(code, &path.key(key), what).help = Some(help.to_owned());
        ok = false;
    };
    if let Some(max) = max_length {
        let (lo, hi) = MAX_LENGTH_RANGE;
        if max < lo || max > hi {
            out_of(
                ctx,
                Code::VoicemailLength,
                "max_length",
                format!(
                    "`max_length` is {}, outside {}-{}",
                    format_duration(max),
                    format_duration(lo),
                    format_duration(hi)
                ),
                "give a length from 5s to 30m, e.g. `max_length: 2m`",
            );
        } else if let Some(min) = min_length {
            if min >= max {
                out_of(
                    ctx,
                    Code::VoicemailLength,
                    // max_length is at least 5s, so only a written min_length reaches it.
                    "min_length",
                    format!(
                        "`min_length` ({}) is not below `max_length` ({}): every message would be discarded",
                        format_duration(min),
                        format_duration(max)
                    ),
                    "make `min_length` shorter than `max_length` (the default `min_length` is 2s)",
                );
            }
        }
    }
    if let Some(s) = silence {
        let (lo, hi) = SILENCE_RANGE;
        if s < lo || s > hi {
            out_of(
                ctx,
                Code::VoicemailSilence,
                "silence",
                format!("`silence` is {}, outside 1s-60s", format_duration(s)),
                "give how much silence ends a recording, from 1s to 60s, e.g. `silence: 5s`",
            );
        }
    }
    let keep = v.keep.unwrap_or(defaults.keep);
    if keep < KEEP_RANGE.0 || keep > KEEP_RANGE.1 {
        out_of(
            ctx,
            Code::VoicemailKeep,
            "keep",
            format!("`keep` is {keep}, outside 1-10000"),
            "give how many messages each box keeps, from 1 to 10000",
        );
    }
    ok.then_some(())?;
    Some(model::VoicemailSettings {
        max_length: max_length?,
        min_length: min_length?,
        silence: silence?,
        keep,
    })
}

fn check_domain(ctx: &mut Ctx, domain: &str, path: &ConfigPath) {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if domain.len() > 253 || !domain.split('.').all(label_ok) {
        ctx.error(
            Code::Address,
            path,
            format!("`{domain}` is not a valid SIP domain"),
        )
        .help = Some("use a DNS name such as `acme.pbx.example.com`".into());
    }
}

/// A schedule no number uses, or a menu no number leads to (directly or through other menus),
/// is probably a mistake. (Only menus lead to menus: no-answer transfers name people and
/// departments.)
fn check_unused(
    ctx: &mut Ctx,
    t: &raw::Tenant,
    sched_paths: &[ConfigPath],
    menu_paths: &[ConfigPath],
) {
    let used_schedules: HashSet<&str> = t
        .numbers
        .iter()
        .filter_map(|n| n.schedule.as_deref())
        .collect();
    for (s, p) in t.schedules.iter().zip(sched_paths) {
        if !used_schedules.contains(s.id.as_str()) {
            ctx.warn(
                Code::Unused,
                &p.key("id"),
                format!("schedule `{}` is not used by any number", s.id),
            );
        }
    }
    // Menus a number leads to, then the menus those lead to, and so on.
    fn menu_of(d: &raw::Destination) -> Option<&str> {
        match d {
            raw::Destination::Menu(m) => Some(m.as_str()),
            _ => None,
        }
    }
    let mut reached: HashSet<&str> = t
        .numbers
        .iter()
        .flat_map(|n| std::iter::once(&n.destination).chain(&n.after_hours))
        .filter_map(menu_of)
        .collect();
    let mut queue: Vec<&str> = reached.iter().copied().collect();
    while let Some(id) = queue.pop() {
        for m in t.menus.iter().filter(|m| m.id == id) {
            let next = m
                .options
                .values()
                .chain(&m.on_timeout)
                .chain(&m.on_invalid)
                .filter_map(menu_of);
            for n in next {
                if reached.insert(n) {
                    queue.push(n);
                }
            }
        }
    }
    for (m, p) in t.menus.iter().zip(menu_paths) {
        if reached.contains(m.id.as_str()) {
            continue;
        }
        let from: Vec<String> = t
            .menus
            .iter()
            .filter(|other| {
                other.id != m.id
                    && other
                        .options
                        .values()
                        .chain(&other.on_timeout)
                        .chain(&other.on_invalid)
                        .any(|d| menu_of(d) == Some(m.id.as_str()))
            })
            .map(|other| format!("`{}`", other.id))
            .collect();
        let help = if from.is_empty() {
            "lead a number's `destination` or `after_hours` (or another menu's option) to it, or remove it".to_owned()
        } else {
            format!(
                "only menus no number reaches lead to it ({}); lead a number to one of them, or remove it",
                from.join(", ")
            )
        };
        ctx.warn(
            Code::Unused,
            &p.key("id"),
            format!("menu `{}` is not reachable from any number", m.id),
        )
        .help = Some(help);
    }
}

fn check_prompts(ctx: &mut Ctx, p: &raw::Prompts, path: &ConfigPath) -> Option<model::Prompts> {
    let mut one = |v: &Option<String>, used_as: Use, key: &'static str| {
        opt(v.as_deref().map(|f| ctx.audio(f, used_as, &path.key(key))))
    };
    let voicemail_greeting = one(
        &p.voicemail_greeting,
        Use::VoicemailGreeting,
        "voicemail_greeting",
    );
    let impatient_offer = one(&p.impatient_offer, Use::Prompt, "impatient_offer");
    let after_hours = one(&p.after_hours, Use::Prompt, "after_hours");
    let invalid_choice = one(&p.invalid_choice, Use::Prompt, "invalid_choice");
    let callback_confirmed = one(&p.callback_confirmed, Use::Prompt, "callback_confirmed");
    Some(model::Prompts {
        voicemail_greeting: voicemail_greeting?,
        impatient_offer: impatient_offer?,
        after_hours: after_hours?,
        invalid_choice: invalid_choice?,
        callback_confirmed: callback_confirmed?,
    })
}
