//! `pbx simulate`: who rings, when, if someone calls this number (or extension, or
//! department) at that time — the call played through the same routing the server runs, on a
//! virtual clock, with a script of who answers, refuses, is away or on another call. Offline:
//! it reads the config, nothing else.

use super::exit;
use crate::config::model::{Config, DepartmentId};
use crate::routing::simulation::{simulate, Line, Moment, Script};
use crate::routing::Entry;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a scripted person rings before answering, unless `@SECONDS` says.
const DEFAULT_ANSWER: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What is called: a company number (+7...), or a person's extension or login, or a
    /// department's extension or id.
    pub call: String,
    /// The config.
    #[arg(long, default_value = "pbx.yaml")]
    pub config: PathBuf,
    /// The tenant (needed for extensions and logins when the config has several).
    #[arg(long)]
    pub tenant: Option<String>,
    /// When the call comes: `2026-11-28 19:00` in the tenant's time zone, or RFC 3339 with an
    /// offset. Default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// Who answers: a login or a number, after ringing 5 s or `@SECONDS` (`maria@12`).
    #[arg(long, value_name = "WHO[@SECONDS]")]
    pub answer: Vec<String>,
    /// Who refuses at once (busy), by login or number.
    #[arg(long, value_name = "WHO")]
    pub refuse: Vec<String>,
    /// Who has no phone registered (everyone else has one).
    #[arg(long, value_name = "LOGIN")]
    pub away: Vec<String>,
    /// Who is on another call.
    #[arg(long, value_name = "LOGIN")]
    pub busy: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SimFormat::Human)]
    pub format: SimFormat,
}

pub fn run(args: Args) -> u8 {
    let config = match super::validate::validated(&args.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let config = Arc::new(config);
    let usage = |message: String| {
        eprintln!("pbx simulate: {message}");
        exit::USAGE
    };
    let (tenant, entry, called) = match resolve(&config, args.tenant.as_deref(), &args.call) {
        Ok(found) => found,
        Err(message) => return usage(message),
    };
    let zone = config.tenants[tenant].timezone.tz();
    let wall = match args.at.as_deref().map(|at| parse_time(at, &zone)) {
        None => jiff::Timestamp::now(),
        Some(Ok(t)) => t,
        Some(Err(message)) => return usage(message),
    };
    let mut script = Script {
        refuses: args.refuse,
        unregistered: args.away,
        busy: args.busy,
        ..Script::default()
    };
    for a in &args.answer {
        match parse_answer(a) {
            Ok(answer) => script.answers.push(answer),
            Err(message) => return usage(message),
        }
    }
    let lines = simulate(
        Arc::clone(&config),
        tenant,
        entry,
        wall,
        std::time::Instant::now(),
        &script,
    );
    let when = wall.to_zoned(zone.clone());
    match args.format {
        SimFormat::Human => {
            println!(
                "{called} (tenant {}), {}:",
                config.tenants[tenant].id,
                when.strftime("%a %Y-%m-%d %H:%M %Z")
            );
            for line in &lines {
                println!("{:>7}  {}", seconds(line.at), describe(&line.moment, &zone));
            }
        }
        SimFormat::Json => {
            let events: Vec<serde_json::Value> = lines.iter().map(json).collect();
            let out = serde_json::json!({
                "call": args.call,
                "tenant": config.tenants[tenant].id,
                "at": when.timestamp().to_string(),
                "events": events,
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
    }
    exit::OK
}

/// The tenant and routing entry of what is called, and how to name it.
fn resolve(
    config: &Config,
    tenant: Option<&str>,
    call: &str,
) -> Result<(usize, Entry, String), String> {
    let tenants: Vec<usize> = match tenant {
        Some(id) => vec![config
            .tenants
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| format!("no tenant `{id}` in the config"))?],
        None => (0..config.tenants.len()).collect(),
    };
    for &t in &tenants {
        if let Some(i) = config.tenants[t]
            .numbers
            .iter()
            .position(|n| n.number.as_str() == call)
        {
            let number = &config.tenants[t].numbers[i];
            let called = match &number.name {
                Some(name) => format!("{call} \"{name}\""),
                None => call.to_string(),
            };
            return Ok((t, Entry::Number(i), called));
        }
    }
    let [t] = tenants[..] else {
        return Err(format!(
            "`{call}` is not a company number; name the tenant (--tenant) to call an extension"
        ));
    };
    let tenant = &config.tenants[t];
    if let Some(s) = tenant.staff.iter().position(|s| {
        s.login.as_str() == call || s.extension.as_ref().is_some_and(|x| x.as_str() == call)
    }) {
        let called = format!("{} ({})", call, tenant.staff[s].name);
        return Ok((t, Entry::Staff(crate::config::model::StaffId(s)), called));
    }
    if let Some(d) = tenant
        .departments
        .iter()
        .position(|d| d.id == call || d.extension.as_ref().is_some_and(|x| x.as_str() == call))
    {
        let called = format!("{call} (department {})", tenant.departments[d].id);
        return Ok((t, Entry::Department(DepartmentId(d)), called));
    }
    Err(format!(
        "`{call}` is not a company number, extension, login or department of tenant `{}` (extensions the server generated are not in the config: use the login)",
        tenant.id
    ))
}

/// `2026-11-28 19:00` (or with `T`, with seconds) in `zone`, or an RFC 3339 time with offset.
fn parse_time(at: &str, zone: &jiff::tz::TimeZone) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = at.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    at.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(zone.clone()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            format!(
                "--at `{at}`: expected a time like `2026-11-28 19:00` or `2026-11-28T16:00:00Z`"
            )
        })
}

/// `maria` or `maria@12` (seconds, fractions allowed).
fn parse_answer(a: &str) -> Result<(String, Duration), String> {
    match a.split_once('@') {
        None => Ok((a.to_string(), DEFAULT_ANSWER)),
        Some((who, secs)) => secs
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 3600.0)
            .map(|s| (who.to_string(), Duration::from_secs_f64(s)))
            .ok_or_else(|| format!("--answer `{a}`: expected WHO or WHO@SECONDS")),
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

fn describe(m: &Moment, zone: &jiff::tz::TimeZone) -> String {
    match m {
        Moment::AfterHours { opens: None } => "outside working hours".into(),
        Moment::AfterHours { opens: Some(t) } => format!(
            "outside working hours (they start again {})",
            t.to_zoned(zone.clone()).strftime("%a %Y-%m-%d %H:%M")
        ),
        Moment::Department { id, strategy: s } => {
            format!("department {id} ({})", s.words())
        }
        Moment::Transferred => "nobody answered: transfer".into(),
        Moment::Forwarded => "nobody answered: forward outside".into(),
        Moment::Ring(who) => format!("ring {who}"),
        Moment::Cancel(who) => format!("stop ringing {who}"),
        Moment::Refuse(who) => format!("{who} refuses"),
        Moment::Answer(who) => format!("{who} answers"),
        Moment::Refused { refusal, why } => format!(
            "the caller gets {}: {}",
            crate::engine::reason::status(*refusal).as_u16(),
            why.reason()
        ),
        Moment::RingsOn => "rings for as long as the caller waits".into(),
    }
}

fn json(line: &Line) -> serde_json::Value {
    let (event, detail) = match &line.moment {
        Moment::AfterHours { opens } => (
            "after_hours",
            serde_json::json!({"opens": opens.map(|t| t.to_string())}),
        ),
        Moment::Department { id, strategy: s } => (
            "department",
            serde_json::json!({"id": id, "strategy": s.words()}),
        ),
        Moment::Transferred => ("transfer", serde_json::Value::Null),
        Moment::Forwarded => ("forward", serde_json::Value::Null),
        Moment::Ring(who) => ("ring", serde_json::json!(who)),
        Moment::Cancel(who) => ("cancel", serde_json::json!(who)),
        Moment::Refuse(who) => ("refuse", serde_json::json!(who)),
        Moment::Answer(who) => ("answer", serde_json::json!(who)),
        Moment::Refused { refusal, why } => (
            "end",
            serde_json::json!({
                "status": crate::engine::reason::status(*refusal).as_u16(),
                "reason": why.reason()
            }),
        ),
        Moment::RingsOn => ("rings_on", serde_json::Value::Null),
    };
    serde_json::json!({"at_s": line.at.as_secs_f64(), "event": event, "detail": detail})
}
