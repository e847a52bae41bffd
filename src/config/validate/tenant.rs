//! Checks of one tenant: staff (logins, extensions, the `max_users` cap, mobiles, passwords),
//! departments, menus, numbers, trunks and prompts, with every name resolved into a typed id.

use super::{check_trunks, opt, schedule, Ctx};
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::model::{self, DepartmentId, MenuId, ScheduleId, StaffId, Target, TrunkRef};
use crate::config::path::ConfigPath;
use crate::config::raw;
use crate::config::translit::{login_from_name, unique_logins};
use crate::config::values::{self, Email, Extension, Login, MenuDigit, E164};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The names a tenant's references resolve against.
struct Names<'r> {
    staff: HashMap<String, StaffId>,
    departments: HashMap<&'r str, DepartmentId>,
    menus: HashMap<&'r str, MenuId>,
    schedules: HashMap<&'r str, ScheduleId>,
    /// Whether staff may reach external numbers (an outbound trunk is configured).
    has_outbound: bool,
}

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
            .value(values::validate_timezone(tz), &path.key("timezone"))
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

/// Explicit logins are checked and must be unique; the rest are generated from names,
/// deduplicated in file order. Returns each staff member's login (and whether it was
/// generated), `None` where the written login is invalid.
fn check_logins(ctx: &mut Ctx, t: &raw::Tenant, path: &ConfigPath) -> Vec<Option<(Login, bool)>> {
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

fn check_max_users(ctx: &mut Ctx, t: &raw::Tenant, path: &ConfigPath) {
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
fn check_extensions(
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

fn check_staff(
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
        let delay = ctx.duration(m.delay.as_ref(), 15, &p.key("delay"));
        if forwarding != model::Forwarding::Off && !names.has_outbound {
            no_trunk(ctx, &p.key("forwarding"), "forwarding to a mobile");
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
    let ring_time = ctx.duration(s.ring_time.as_ref(), 30, &path.key("ring_time"));
    let no_answer = check_no_answer(ctx, names, s.no_answer.as_ref(), &path.key("no_answer"));
    let voicemail_greeting = s
        .voicemail_greeting
        .as_deref()
        .map(|g| ctx.audio(g, &path.key("voicemail_greeting")));
    let extension = s
        .extension
        .as_deref()
        .and_then(|e| Extension::parse(e).ok());
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

fn no_trunk(ctx: &mut Ctx, path: &ConfigPath, what: &str) {
    ctx.error(
        Code::UnknownReference,
        path,
        format!("{what} needs an outbound trunk, and this tenant has none"),
    )
    .help = Some("list one in the tenant's `outbound_trunks`".into());
}

fn check_no_answer(
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
            let timeout = ctx.duration(f.timeout.as_ref(), 30, &p.key("timeout"));
            if !names.has_outbound {
                no_trunk(ctx, &p, "forwarding to an external number");
            }
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
            number.map(D::External)
        }
        raw::Destination::Hangup => Some(D::Hangup),
    }
}

fn check_department(
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
    let step = ctx.duration(d.step.as_ref(), 15, &path.key("step"));
    let ring_time = ctx.duration(d.ring_time.as_ref(), 60, &path.key("ring_time"));
    let no_answer = check_no_answer(ctx, names, d.no_answer.as_ref(), &path.key("no_answer"));
    let impatient = d
        .impatient_callers
        .as_ref()
        .map(|ic| check_impatient(ctx, ic, &path.key("impatient_callers")));
    let greeting = d
        .voicemail_greeting
        .as_deref()
        .map(|g| ctx.audio(g, &path.key("voicemail_greeting")));
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
    })
}

fn check_impatient(
    ctx: &mut Ctx,
    ic: &raw::ImpatientCallers,
    path: &ConfigPath,
) -> Option<model::ImpatientCallers> {
    let after = ctx.duration(ic.after.as_ref(), 20, &path.key("after"));
    let prompt = ic
        .prompt
        .as_deref()
        .map(|p| ctx.audio(p, &path.key("prompt")));
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
        prompt: opt(prompt)?,
        callback_digit: callback.0,
        wait_digit: wait.0,
        voicemail_digit: voicemail.0,
    })
}

fn check_menu(
    ctx: &mut Ctx,
    names: &Names,
    m: &raw::Menu,
    path: &ConfigPath,
) -> Option<model::Menu> {
    let prompt = ctx.audio(&m.prompt, &path.key("prompt"));
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
    let timeout = ctx.duration(m.timeout.as_ref(), 5, &path.key("timeout"));
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
        repeat: m.repeat.unwrap_or(2),
        on_timeout: opt(on_timeout)?,
        on_invalid: opt(on_invalid)?,
        dial_extensions: m.dial_extensions,
    })
}

fn check_number(
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
        .map(|g| ctx.audio(g, &path.key("greeting")));
    Some(model::Number {
        number: number?,
        name: n.name.clone(),
        schedule: opt(schedule)?,
        destination: destination?,
        after_hours: opt(after_hours)?,
        greeting: opt(greeting)?,
    })
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
