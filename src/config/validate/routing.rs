//! Checks of call routing inside a tenant: destinations, no-answer actions and transfer
//! targets resolved into typed ids, departments (members, timings, the impatient-caller
//! offer), voice menus (and their keys against direct dialling) and numbers.

use super::{opt, ranges, Ctx};
use crate::config::audio::Use;
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::generated::FIRST_EXTENSION;
use crate::config::model::{self, DepartmentId, StaffId, Target};
use crate::config::path::ConfigPath;
use crate::config::raw;
use crate::config::values::{Extension, MenuDigit, E164};
use std::collections::{BTreeMap, HashMap};

use super::names::Names;
use super::outbound::denied;

pub(super) fn no_trunk(ctx: &mut Ctx, path: &ConfigPath, what: &str) {
    ctx.error(
        Code::UnknownReference,
        path,
        format!("{what} needs an outbound trunk, and this tenant has none"),
    )
    .help = Some("list one in the tenant's `outbound_trunks`".into());
}

pub(super) fn check_no_answer(
    ctx: &mut Ctx,
    names: &Names,
    na: Option<&raw::NoAnswer>,
    path: &ConfigPath,
) -> Option<model::NoAnswer> {
    match na {
        None | Some(raw::NoAnswer::Voicemail) => Some(model::NoAnswer::Voicemail),
        Some(raw::NoAnswer::Forward(f)) => {
            let p = path.key("forward");
            let number = ctx.value(E164::parse(&f.number), &p.key("number"));
            let timeout = ctx.duration(
                f.timeout.as_ref(),
                30,
                ranges::FORWARD_TIMEOUT,
                &p,
                "timeout",
            );
            if !names.has_outbound {
                no_trunk(ctx, &p, "forwarding to an external number");
            }
            let np = p.key("number");
            denied(ctx, names, number.as_ref(), &np, "the forward");
            Some(model::NoAnswer::Forward {
                number: number?,
                timeout: timeout?,
            })
        }
        Some(raw::NoAnswer::Transfer(t)) => {
            resolve_target(ctx, names, t, &path.key("transfer")).map(model::NoAnswer::Transfer)
        }
    }
}

fn resolve_target(
    ctx: &mut Ctx,
    names: &Names,
    t: &raw::Target,
    path: &ConfigPath,
) -> Option<Target> {
    match t {
        raw::Target::Staff(login) => {
            staff_ref(ctx, names, login, &path.key("staff")).map(Target::Staff)
        }
        raw::Target::Department(id) => {
            dept_ref(ctx, names, id, &path.key("department")).map(Target::Department)
        }
    }
}

fn staff_ref(ctx: &mut Ctx, names: &Names, login: &str, path: &ConfigPath) -> Option<StaffId> {
    let found = names.staff.get(login).copied();
    if found.is_none() {
        ctx.unknown(
            "staff member",
            login,
            names.staff.keys().map(String::as_str),
            path,
        );
    }
    found
}

fn dept_ref(ctx: &mut Ctx, names: &Names, id: &str, path: &ConfigPath) -> Option<DepartmentId> {
    let found = names.departments.get(id).copied();
    if found.is_none() {
        ctx.unknown("department", id, names.departments.keys().copied(), path);
    }
    found
}

fn check_destination(
    ctx: &mut Ctx,
    names: &Names,
    d: &raw::Destination,
    path: &ConfigPath,
) -> Option<model::Destination> {
    use model::Destination as D;
    match d {
        raw::Destination::Staff(l) => staff_ref(ctx, names, l, &path.key("staff")).map(D::Staff),
        raw::Destination::Department(id) => {
            dept_ref(ctx, names, id, &path.key("department")).map(D::Department)
        }
        raw::Destination::Menu(id) => {
            let found = names.menus.get(id.as_str()).copied();
            if found.is_none() {
                ctx.unknown("menu", id, names.menus.keys().copied(), &path.key("menu"));
            }
            found.map(D::Menu)
        }
        raw::Destination::Voicemail(name) => {
            // A department's box first, then a person's.
            if let Some(&d) = names.departments.get(name.as_str()) {
                Some(D::Voicemail(Target::Department(d)))
            } else if let Some(&s) = names.staff.get(name.as_str()) {
                Some(D::Voicemail(Target::Staff(s)))
            } else {
                let known = names
                    .departments
                    .keys()
                    .copied()
                    .chain(names.staff.keys().map(String::as_str));
                ctx.unknown(
                    "voicemail box (department or staff login)",
                    name,
                    known,
                    &path.key("voicemail"),
                );
                None
            }
        }
        raw::Destination::External(n) => {
            let number = ctx.value(E164::parse(n), &path.key("external"));
            if !names.has_outbound {
                no_trunk(ctx, &path.key("external"), "an external destination");
            }
            let p = path.key("external");
            denied(ctx, names, number.as_ref(), &p, "calls sent there");
            number.map(D::External)
        }
        raw::Destination::Hangup => Some(D::Hangup),
    }
}

pub(super) fn check_department(
    ctx: &mut Ctx,
    names: &Names,
    d: &raw::Department,
    path: &ConfigPath,
) -> Option<model::Department> {
    let mut members = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut members_ok = true;
    for (i, m) in d.members.iter().enumerate() {
        let p = path.key("members").index(i);
        if let Some(&first) = seen.get(m.as_str()) {
            let mut diag = Diagnostic::error(
                Code::DuplicateMember,
                p.clone(),
                format!("`{m}` is listed twice"),
            );
            diag.location = ctx.sources.locate(&p);
            ctx.related(
                &mut diag,
                &path.key("members").index(first),
                "first listed here",
            );
            ctx.out.push(diag);
            members_ok = false;
            continue;
        }
        seen.insert(m, i);
        match staff_ref(ctx, names, m, &p) {
            Some(id) => members.push(id),
            None => members_ok = false,
        }
    }
    if d.members.is_empty() {
        ctx.warn(
            Code::EmptyDepartment,
            &path.key("members"),
            format!("department `{}` has no members", d.id),
        )
        .help = Some("its calls go straight to the no-answer action".into());
    }
    let step = ctx.duration(d.step.as_ref(), 15, ranges::STEP, path, "step");
    let ring_time = ctx.duration(
        d.ring_time.as_ref(),
        60,
        ranges::RING_TIME,
        path,
        "ring_time",
    );
    let no_answer = check_no_answer(ctx, names, d.no_answer.as_ref(), &path.key("no_answer"));
    let impatient = d
        .impatient_callers
        .as_ref()
        .map(|ic| check_impatient(ctx, names, ic, &path.key("impatient_callers")));
    let greeting = d
        .voicemail_greeting
        .as_deref()
        .map(|g| ctx.audio(g, Use::VoicemailGreeting, &path.key("voicemail_greeting")));
    members_ok.then_some(())?;
    Some(model::Department {
        id: d.id.clone(),
        name: d.name.clone().unwrap_or_else(|| d.id.clone()),
        extension: d
            .extension
            .as_deref()
            .and_then(|e| Extension::parse(e).ok()),
        strategy: d.strategy,
        step: step?,
        ring_time: ring_time?,
        members,
        no_answer: no_answer?,
        impatient_callers: opt(impatient)?,
        voicemail_greeting: opt(greeting)?,
        notify_missed_calls: d
            .notify
            .as_ref()
            .and_then(|n| n.missed_calls)
            .unwrap_or(false),
    })
}

fn check_impatient(
    ctx: &mut Ctx,
    names: &Names,
    ic: &raw::ImpatientCallers,
    path: &ConfigPath,
) -> Option<model::ImpatientCallers> {
    let after = ctx.duration(
        ic.after.as_ref(),
        20,
        ranges::IMPATIENT_AFTER,
        path,
        "after",
    );
    let repeat = ic
        .repeat
        .as_ref()
        .map(|r| ctx.duration(Some(r), 30, ranges::IMPATIENT_REPEAT, path, "repeat"));
    let max_offers = ctx.count(
        ic.max_offers,
        if ic.repeat.is_some() { 3 } else { 1 },
        ranges::MAX_OFFERS,
        path,
        "max_offers",
    );
    let rules = check_callback(ctx, names, ic.callback.as_ref(), &path.key("callback"));
    let prompt = ic
        .prompt
        .as_deref()
        .map(|p| ctx.audio(p, Use::Prompt, &path.key("prompt")));
    let digit = |ctx: &mut Ctx, v: &Option<String>, default: &str, key: &'static str| {
        ctx.value(
            MenuDigit::parse(v.as_deref().unwrap_or(default)),
            &path.key(key),
        )
        .map(|d| (d, key))
    };
    let callback = digit(ctx, &ic.callback_digit, "1", "callback_digit");
    let wait = digit(ctx, &ic.wait_digit, "2", "wait_digit");
    let voicemail = digit(ctx, &ic.voicemail_digit, "3", "voicemail_digit");
    let (callback, wait, voicemail) = (callback?, wait?, voicemail?);
    for (a, b) in [
        (&callback, &wait),
        (&callback, &voicemail),
        (&wait, &voicemail),
    ] {
        if a.0 == b.0 {
            ctx.error(
                Code::MenuDigit,
                &path.key(b.1),
                format!("`{}` and `{}` are the same digit", a.1, b.1),
            );
            return None;
        }
    }
    Some(model::ImpatientCallers {
        after: after?,
        repeat: opt(repeat)?,
        max_offers: max_offers?,
        callback: rules?,
        prompt: opt(prompt)?,
        callback_digit: callback.0,
        wait_digit: wait.0,
        voicemail_digit: voicemail.0,
    })
}

fn check_callback(
    ctx: &mut Ctx,
    names: &Names,
    cb: Option<&raw::Callback>,
    path: &ConfigPath,
) -> Option<model::CallbackRules> {
    let attempts = ctx.count(
        cb.and_then(|c| c.attempts),
        3,
        ranges::CALLBACK_ATTEMPTS,
        path,
        "attempts",
    );
    let retry_after = ctx.duration(
        cb.and_then(|c| c.retry_after.as_ref()),
        600,
        ranges::CALLBACK_RETRY,
        path,
        "retry_after",
    );
    let expires = ctx.duration(
        cb.and_then(|c| c.expires.as_ref()),
        86_400,
        ranges::CALLBACK_EXPIRES,
        path,
        "expires",
    );
    let ring_time = ctx.duration(
        cb.and_then(|c| c.ring_time.as_ref()),
        45,
        ranges::CALLBACK_RING,
        path,
        "ring_time",
    );
    let schedule = cb.and_then(|c| c.schedule.as_deref()).map(|s| {
        let found = names.schedules.get(s).copied();
        if found.is_none() {
            ctx.unknown(
                "schedule",
                s,
                names.schedules.keys().copied(),
                &path.key("schedule"),
            );
        }
        found
    });
    Some(model::CallbackRules {
        attempts: attempts?,
        retry_after: retry_after?,
        expires: expires?,
        ring_time: ring_time?,
        schedule: opt(schedule)?,
    })
}

pub(super) fn check_menu(
    ctx: &mut Ctx,
    names: &Names,
    m: &raw::Menu,
    path: &ConfigPath,
) -> Option<model::Menu> {
    let prompt = ctx.audio(&m.prompt, Use::MenuPrompt, &path.key("prompt"));
    let mut options = BTreeMap::new();
    let mut ok = true;
    for (digit, dest) in &m.options {
        let p = path.key("options").key(digit.clone());
        let d = ctx.value(MenuDigit::parse(digit), &p);
        let dest = check_destination(ctx, names, dest, &p);
        match (d, dest) {
            (Some(d), Some(dest)) => {
                options.insert(d, dest);
            }
            _ => ok = false,
        }
    }
    let timeout = ctx.duration(m.timeout.as_ref(), 5, ranges::MENU_TIMEOUT, path, "timeout");
    let repeat = ctx.count(m.repeat, 2, ranges::MENU_REPEAT, path, "repeat");
    let on_timeout = m
        .on_timeout
        .as_ref()
        .map(|d| check_destination(ctx, names, d, &path.key("on_timeout")));
    let on_invalid = m
        .on_invalid
        .as_ref()
        .map(|d| check_destination(ctx, names, d, &path.key("on_invalid")));
    ok.then_some(())?;
    Some(model::Menu {
        id: m.id.clone(),
        prompt: prompt?,
        options,
        timeout: timeout?,
        repeat: repeat?,
        on_timeout: opt(on_timeout)?,
        on_invalid: opt(on_invalid)?,
        dial_extensions: m.dial_extensions,
    })
}

pub(super) fn check_number(
    ctx: &mut Ctx,
    names: &Names,
    n: &raw::Number,
    path: &ConfigPath,
) -> Option<model::Number> {
    let number = ctx.value(E164::parse(&n.number), &path.key("number"));
    let schedule = n.schedule.as_deref().map(|s| {
        let found = names.schedules.get(s).copied();
        if found.is_none() {
            ctx.unknown(
                "schedule",
                s,
                names.schedules.keys().copied(),
                &path.key("schedule"),
            );
        }
        found
    });
    let destination = check_destination(ctx, names, &n.destination, &path.key("destination"));
    let after_hours = n
        .after_hours
        .as_ref()
        .map(|d| check_destination(ctx, names, d, &path.key("after_hours")));
    let greeting = n
        .greeting
        .as_deref()
        .map(|g| ctx.audio(g, Use::NumberGreeting, &path.key("greeting")));
    let impatient_after = n.impatient_after.as_ref().map(|a| {
        ctx.duration(
            Some(a),
            20,
            ranges::IMPATIENT_AFTER,
            path,
            "impatient_after",
        )
    });
    Some(model::Number {
        number: number?,
        name: n.name.clone(),
        schedule: opt(schedule)?,
        destination: destination?,
        after_hours: opt(after_hours)?,
        greeting: opt(greeting)?,
        impatient_after: opt(impatient_after)?,
    })
}

/// An extension a caller could start dialling in a menu with `dial_extensions`, and whose it is.
pub(super) struct Dialable {
    /// The first key a caller presses to dial it.
    pub(super) first: char,
    /// "extension `201` of staff member `ivan`", "the extension the server allocates to staff
    /// member `anna` (from 200 upward)".
    pub(super) what: String,
    /// Where it is written (the staff member, for one the server allocates).
    pub(super) path: ConfigPath,
}

/// The extensions of a tenant a caller could dial from a menu: the valid written ones (a bad
/// one is reported by `check_extensions`), and for staff without one, the first digits of what
/// the server allocates (from [`FIRST_EXTENSION`] upward).
pub(super) fn dialable(
    t: &raw::Tenant,
    staff_owner: &[String],
    staff_paths: &[ConfigPath],
    dept_paths: &[ConfigPath],
) -> Vec<Dialable> {
    let mut out = Vec::new();
    let written = |e: Option<&str>| {
        e.filter(|e| Extension::parse(e).is_ok())
            .and_then(|e| e.chars().next())
    };
    for ((s, owner), p) in t.staff.iter().zip(staff_owner).zip(staff_paths) {
        if let Some(first) = written(s.extension.as_deref()) {
            out.push(Dialable {
                first,
                what: format!(
                    "extension `{}` of {owner}",
                    s.extension.as_deref().unwrap_or_default()
                ),
                path: p.key("extension"),
            });
        }
    }
    for (d, p) in t.departments.iter().zip(dept_paths) {
        if let Some(first) = written(d.extension.as_deref()) {
            out.push(Dialable {
                first,
                what: format!(
                    "extension `{}` of department `{}`",
                    d.extension.as_deref().unwrap_or_default(),
                    d.id
                ),
                path: p.key("extension"),
            });
        }
    }
    // Allocation takes the next free number from FIRST_EXTENSION on, so every allocated
    // extension lies below FIRST_EXTENSION + (all staff and departments).
    let unwritten: Vec<usize> = (0..t.staff.len())
        .filter(|&i| t.staff[i].extension.is_none())
        .collect();
    if let Some(&i) = unwritten.first() {
        let span = u32::try_from(t.staff.len() + t.departments.len()).unwrap_or(u32::MAX);
        let mut firsts: Vec<char> = (FIRST_EXTENSION..FIRST_EXTENSION.saturating_add(span))
            .filter_map(|n| n.to_string().chars().next())
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        for first in firsts {
            out.push(Dialable {
                first,
                what: format!(
                    "the extension the server allocates to {} (from {FIRST_EXTENSION} upward)",
                    staff_owner[i]
                ),
                path: staff_paths[i].clone(),
            });
        }
    }
    out
}

/// Menu keys against direct dialling: in a menu with `dial_extensions`, an option on a key that
/// begins an extension is ambiguous (an error), and `#`, which ends a dialled extension, can
/// never choose an option (a warning).
pub(super) fn check_menu_keys(
    ctx: &mut Ctx,
    menus: &[raw::Menu],
    menu_paths: &[ConfigPath],
    dialable: &[Dialable],
) {
    for (m, path) in menus.iter().zip(menu_paths) {
        if !m.dial_extensions {
            continue;
        }
        let taken: Vec<char> = m
            .options
            .keys()
            .filter_map(|k| MenuDigit::parse(k).ok())
            .map(MenuDigit::as_char)
            .collect();
        let free: Vec<String> = ('0'..='9')
            .chain(['*'])
            .filter(|c| !taken.contains(c) && !dialable.iter().any(|d| d.first == *c))
            .map(|c| format!("`{c}`"))
            .collect();
        let move_it = if free.is_empty() {
            "set `dial_extensions: false`, or move the option to a key no extension starts with"
                .to_owned()
        } else {
            format!(
                "move the option to a free key ({}), or set `dial_extensions: false`",
                free.join(", ")
            )
        };
        for key in m.options.keys() {
            let Ok(digit) = MenuDigit::parse(key) else {
                continue; // reported by check_menu
            };
            let p = path.key("options").key(key.clone());
            let c = digit.as_char();
            if c == '#' {
                ctx.warn(
                    Code::UnreachableOption,
                    &p,
                    format!(
                        "option `#` of menu `{}` can never be chosen: with `dial_extensions: true`, `#` ends the extension a caller dials",
                        m.id
                    ),
                )
                .help = Some(move_it.clone());
                continue;
            }
            let clashes: Vec<&Dialable> = dialable.iter().filter(|d| d.first == c).collect();
            let Some(first) = clashes.first() else {
                continue;
            };
            let (more, verb) = match clashes.len() - 1 {
                0 => (String::new(), "starts"),
                n => (format!(" and {n} more"), "start"),
            };
            let message = format!(
                "option `{c}` of menu `{}` collides with direct dialling: {}{more} also {verb} with `{c}`, so a caller pressing {c} could mean either",
                m.id, first.what
            );
            let mut d = Diagnostic::error(Code::MenuKeyCollision, p.clone(), message);
            d.location = ctx.sources.locate(&p);
            // The first few are enough to see the problem.
            for other in clashes.iter().take(3) {
                ctx.related(&mut d, &other.path, &other.what);
            }
            d.help = Some(move_it.clone());
            ctx.out.push(d);
        }
    }
}
