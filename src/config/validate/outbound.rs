//! Checks of a tenant's `outbound:` (toll-fraud rules): every prefix in E.164 form (E0120), no
//! prefix both allowed and denied (E0121), `max_calls` in range (E0122), and a warning when
//! the tenant's country has no dial plan to tell national numbers from international ones
//! (W0710) or when a configured external number — a mobile forwarded to, a no-answer forward,
//! an external destination — is one the rules deny, so it would never ring (W0711). The rules
//! themselves are `config::outbound`.

use super::names::Names;
use super::Ctx;
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::outbound::{dial_plan, Outbound, Prefix};
use crate::config::path::ConfigPath;
use crate::config::raw;
use crate::config::values::E164;
use std::collections::BTreeMap;

/// The bounds of `outbound.max_calls`.
const MAX_CALLS: (u32, u32) = (1, 100_000);
/// The bounds of `outbound.max_minutes_per_hour`.
const MAX_MINUTES: (u32, u32) = (1, 1_000_000);

/// `outbound` of a tenant in `country` (already checked, at `country_path`; `None` when it
/// was wrong), calling out through trunks when `calls_out`.
pub(super) fn check_outbound(
    ctx: &mut Ctx,
    o: &raw::Outbound,
    (country, country_path): (Option<&str>, &ConfigPath),
    calls_out: bool,
    path: &ConfigPath,
) -> Option<Outbound> {
    let allow = prefixes(ctx, &o.allow, &path.key("allow"));
    let deny = prefixes(ctx, &o.deny, &path.key("deny"));
    if let (Some(allow), Some(deny)) = (&allow, &deny) {
        for (j, d) in deny.iter().enumerate() {
            if let Some(i) = allow.iter().position(|a| a == d) {
                let here = path.key("deny").index(j);
                let msg = format!("`{d}` is both allowed and denied");
                let mut diag = Diagnostic::error(Code::OutboundConflict, here.clone(), msg);
                diag.location = ctx.sources.locate(&here);
                diag.help = Some("keep it in one of the two lists".into());
                ctx.related(&mut diag, &path.key("allow").index(i), "allowed here");
                ctx.out.push(diag);
            }
        }
    }
    let max_calls = match o.max_calls {
        Some(n) if !(MAX_CALLS.0..=MAX_CALLS.1).contains(&n) => {
            let msg = format!(
                "`max_calls` is {n}; it must be from {} to {}",
                MAX_CALLS.0, MAX_CALLS.1
            );
            ctx.error(Code::OutboundMaxCalls, &path.key("max_calls"), msg)
                .help = Some("leave `max_calls` out for no limit".into());
            None
        }
        n => Some(n),
    };
    let plan = country.and_then(dial_plan);
    if let (Some(country), None, true) = (country, plan, calls_out) {
        let msg = format!(
            "no dial plan is known for country `{country}`: every `+` number counts as \
             international, and numbers dialled without `+` are checked as written"
        );
        // At `outbound:` when anything is written in it, else at the country.
        let written = !o.allow.is_empty()
            || !o.deny.is_empty()
            || o.international.is_some()
            || o.premium.is_some()
            || o.max_calls.is_some();
        let at = if written { path } else { country_path };
        ctx.warn(Code::OutboundNoHome, at, msg).help = Some(
            "list the country's own calling code in `outbound.allow` (`+54` in Argentina, say)"
                .into(),
        );
    }
    let max_minutes = match o.max_minutes_per_hour {
        Some(n) if !(MAX_MINUTES.0..=MAX_MINUTES.1).contains(&n) => {
            let msg = format!(
                "`max_minutes_per_hour` is {n}; it must be from {} to {}",
                MAX_MINUTES.0, MAX_MINUTES.1
            );
            ctx.error(
                Code::OutboundMaxCalls,
                &path.key("max_minutes_per_hour"),
                msg,
            )
            .help = Some("leave `max_minutes_per_hour` out for no limit".into());
            None
        }
        n => Some(n),
    };
    Some(Outbound {
        allow: allow?,
        deny: deny?,
        international: o.international.unwrap_or(false),
        premium: o.premium.unwrap_or(false),
        max_calls: max_calls?,
        max_minutes_per_hour: max_minutes?,
        per_staff: Default::default(),
        plan,
    })
}

/// The rules of the staff whose role (`outbound.roles`) or own `outbound` changes the
/// tenant's `tenant` rules: each field written replaces the one inherited. Every prefix is
/// checked like the tenant's. `path` is the tenant's.
pub(super) fn check_staff_rules(
    ctx: &mut Ctx,
    t: &raw::Tenant,
    tenant: &Outbound,
    path: &ConfigPath,
    staff_paths: &[ConfigPath],
) -> Option<BTreeMap<usize, Outbound>> {
    let roles = t.outbound.roles.as_ref();
    let mut by_role: BTreeMap<&'static str, Option<Outbound>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (i, (s, p)) in t.staff.iter().zip(staff_paths).enumerate() {
        let role = s.role.unwrap_or(raw::Role::User);
        let written = roles.and_then(|r| match role {
            raw::Role::Admin => r.admin.as_ref(),
            raw::Role::User => r.user.as_ref(),
            raw::Role::Restricted => r.restricted.as_ref(),
        });
        if written.is_none() && s.outbound.is_none() {
            continue;
        }
        // A role's rules are checked (and reported) once, whoever has it.
        let base = match written {
            None => Some(tenant.clone()),
            Some(r) => by_role
                .entry(role.word())
                .or_insert_with(|| {
                    let at = path.key("outbound").key("roles").key(role.word());
                    apply(ctx, tenant, r, &at)
                })
                .clone(),
        };
        let rules = match (base, &s.outbound) {
            (Some(base), Some(own)) => apply(ctx, &base, own, &p.key("outbound")),
            (base, _) => base,
        };
        match rules {
            Some(rules) => {
                out.insert(i, rules);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `base` with what `rules` (at `path`) writes replacing its fields.
fn apply(
    ctx: &mut Ctx,
    base: &Outbound,
    rules: &raw::DialRules,
    path: &ConfigPath,
) -> Option<Outbound> {
    let mut out = base.clone();
    if let Some(list) = &rules.allow {
        out.allow = prefixes(ctx, list, &path.key("allow"))?;
    }
    if let Some(list) = &rules.deny {
        out.deny = prefixes(ctx, list, &path.key("deny"))?;
    }
    out.international = rules.international.unwrap_or(base.international);
    out.premium = rules.premium.unwrap_or(base.premium);
    Some(out)
}

/// The prefixes of one list; every malformed one is an error at its place.
fn prefixes(ctx: &mut Ctx, list: &[String], path: &ConfigPath) -> Option<Vec<Prefix>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, text) in list.iter().enumerate() {
        match Prefix::try_from(text.as_str()) {
            Ok(p) => out.push(p),
            Err(e) => {
                ok = false;
                let help = e.help();
                ctx.error(Code::OutboundPrefix, &path.index(i), e.to_string())
                    .help = Some(help);
            }
        }
    }
    ok.then_some(out)
}

/// Warns when `number` (configured at `path`; `None` when it was malformed) is one the tenant's
/// outbound rules deny: `what` would never ring.
pub(super) fn denied(
    ctx: &mut Ctx,
    names: &Names,
    number: Option<&E164>,
    path: &ConfigPath,
    what: &str,
) {
    let (Some(rules), Some(number), true) = (&names.outbound, number, names.has_outbound) else {
        return;
    };
    if let Err(why) = rules.check(number.as_str()) {
        let msg = format!("`{number}` may not be called: {why}; {what} would never ring");
        ctx.warn(Code::OutboundDenied, path, msg).help = Some(
            "open it in the tenant's `outbound` (`allow`, `international` or `premium`), or \
             forward somewhere else"
                .into(),
        );
    }
}
