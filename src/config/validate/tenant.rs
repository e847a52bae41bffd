//! Checks of one tenant: its id, domain and time zone, the names its references resolve
//! against, and the order in which staff (`staff.rs`), routing (`routing.rs`) and schedules
//! are checked; unused schedules and menus; prompt overrides.

use super::names::Names;
use super::routing::{check_department, check_menu, check_number};
use super::staff::{check_extensions, check_logins, check_max_users, check_staff};
use super::{check_trunks, opt, schedule, Ctx};
use crate::config::clock;
use crate::config::diagnostic::Code;
use crate::config::model::{self, DepartmentId, MenuId, ScheduleId, StaffId, TrunkRef};
use crate::config::path::ConfigPath;
use crate::config::raw;
use std::collections::HashSet;

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

    let logins = check_logins(ctx, t, path);
    let staff_paths: Vec<ConfigPath> = logins
        .iter()
        .enumerate()
        .map(|(i, l)| {
            path.key("staff")
                .item(i, l.as_ref().map_or("?", |l| l.0.as_str()))
        })
        .collect();
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
        prompts: prompts?,
        language: model::Language::default(),
        country: "RU".to_string(),
        voicemail: model::VoicemailSettings::default(),
        staff: staff.into_iter().collect::<Option<_>>()?,
        departments: departments.into_iter().collect::<Option<_>>()?,
        numbers: numbers.into_iter().collect::<Option<_>>()?,
        schedules: schedules.into_iter().collect::<Option<_>>()?,
        menus: menus.into_iter().collect::<Option<_>>()?,
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

/// A schedule or menu that nothing refers to is probably a mistake.
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
                Code::UnusedSchedule,
                &p.key("id"),
                format!("schedule `{}` is not used by any number", s.id),
            );
        }
    }
    let mut used_menus: HashSet<String> = HashSet::new();
    let mut note = |d: &'_ raw::Destination| {
        if let raw::Destination::Menu(m) = d {
            used_menus.insert(m.clone());
        }
    };
    for n in &t.numbers {
        note(&n.destination);
        n.after_hours.iter().for_each(&mut note);
    }
    for m in &t.menus {
        m.options.values().for_each(&mut note);
        m.on_timeout.iter().for_each(&mut note);
        m.on_invalid.iter().for_each(&mut note);
    }
    for (m, p) in t.menus.iter().zip(menu_paths) {
        if !used_menus.contains(&m.id) {
            ctx.warn(
                Code::UnusedSchedule,
                &p.key("id"),
                format!("menu `{}` is not reachable from any number", m.id),
            );
        }
    }
}

fn check_prompts(ctx: &mut Ctx, p: &raw::Prompts, path: &ConfigPath) -> Option<model::Prompts> {
    let mut one = |v: &Option<String>, key: &'static str| {
        opt(v.as_deref().map(|f| ctx.audio(f, &path.key(key))))
    };
    let voicemail_greeting = one(&p.voicemail_greeting, "voicemail_greeting");
    let impatient_offer = one(&p.impatient_offer, "impatient_offer");
    let after_hours = one(&p.after_hours, "after_hours");
    let invalid_choice = one(&p.invalid_choice, "invalid_choice");
    let callback_confirmed = one(&p.callback_confirmed, "callback_confirmed");
    Some(model::Prompts {
        voicemail_greeting: voicemail_greeting?,
        impatient_offer: impatient_offer?,
        after_hours: after_hours?,
        invalid_choice: invalid_choice?,
        callback_confirmed: callback_confirmed?,
    })
}
