//! `pbx simulate`: who rings, when, if someone calls this number (or extension, or
//! department) at that time, pressing these keys — the call played through the same routing
//! the server runs, on a virtual clock, with a script of who answers, refuses, is away or on
//! another call, which keys the caller presses and how long they speak into voicemail; what
//! the PBX plays and records shows in the timeline. Offline: it reads the config (not the
//! audio files: every prompt is taken to play for 5 s), nothing else.

use super::exit;
use crate::config::model::{Config, DepartmentId};
use crate::routing::offer::Choice;
use crate::routing::simulation::{simulate, Line, Moment, Press, Script};
use crate::routing::Entry;
use crate::routing::NoChoice;
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
    /// Keys the caller presses (`0`-`9`, `*`, `#`; several at once: `201`): at SECONDS since
    /// the call began, or, without `@`, right after the next prompt has played (in order, one
    /// `--press` per prompt).
    #[arg(long, value_name = "KEYS[@SECONDS]")]
    pub press: Vec<String>,
    /// How long the caller speaks into voicemail, in seconds (0: says nothing).
    #[arg(long, value_name = "SECONDS", default_value = "10")]
    pub message: String,
    /// The number a caller to a company number presents (what a callback would call;
    /// `anonymous`: none).
    #[arg(long, value_name = "NUMBER", default_value = "anonymous")]
    pub from: String,
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
        from: args.from,
        ..Script::default()
    };
    for a in &args.answer {
        match parse_answer(a) {
            Ok(answer) => script.answers.push(answer),
            Err(message) => return usage(message),
        }
    }
    for p in &args.press {
        match parse_press(p) {
            Ok(press) => script.presses.push(press),
            Err(message) => return usage(message),
        }
    }
    match seconds_arg(&args.message) {
        Some(d) => script.message = d,
        None => return usage(format!("--message `{}`: expected seconds", args.message)),
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
        Some((who, secs)) => seconds_arg(secs)
            .map(|s| (who.to_string(), s))
            .ok_or_else(|| format!("--answer `{a}`: expected WHO or WHO@SECONDS")),
    }
}

/// `1`, `201`, `#` or `2@12.5` (keys, and seconds since the call began).
fn parse_press(p: &str) -> Result<Press, String> {
    let bad = || format!("--press `{p}`: expected keys (0-9, *, #), optionally @SECONDS");
    let (keys, at) = match p.split_once('@') {
        None => (p, None),
        Some((keys, secs)) => (keys, Some(seconds_arg(secs).ok_or_else(bad)?)),
    };
    let key = |c: char| c.is_ascii_digit() || c == '*' || c == '#';
    if keys.is_empty() || !keys.chars().all(key) {
        return Err(bad());
    }
    Ok(Press {
        keys: keys.to_string(),
        at,
    })
}

/// Seconds (fractions allowed) under an hour.
fn seconds_arg(secs: &str) -> Option<Duration> {
    secs.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 3600.0)
        .map(Duration::from_secs_f64)
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
        Moment::EarlyMedia => "the PBX plays to the caller while it rings (early media)".into(),
        Moment::PbxAnswers => "the PBX answers".into(),
        Moment::Play { sounds, .. } if sounds.is_empty() => "silence".into(),
        Moment::Play { sounds, looped } => format!(
            "plays {}{}",
            sounds.join(", then "),
            if *looped { ", looped" } else { "" }
        ),
        Moment::Press(key) => format!("the caller presses {key}"),
        Moment::Menu(id) => format!("voice menu {id}"),
        Moment::MenuOption { menu, key } => format!("menu {menu}: option {key}"),
        Moment::MenuExtension { menu, to } => format!("menu {menu}: extension of {to}"),
        Moment::MenuNoInput(menu) => format!("menu {menu}: no key pressed"),
        Moment::MenuInvalid { menu, keys } => format!("menu {menu}: `{keys}` is not a choice"),
        Moment::MenuNoChoice { menu, after } => format!(
            "menu {menu}: out of repeats ({})",
            match after {
                NoChoice::NoInput => "no input",
                NoChoice::Invalid => "invalid input",
            }
        ),
        Moment::Voicemail(owner) => format!("voicemail of {owner}"),
        Moment::Record(owner) => format!("records a message for {owner}"),
        Moment::StopRecording => "stops recording".into(),
        Moment::Recorded {
            duration,
            kept: true,
        } => {
            format!("message of {} kept", seconds(*duration))
        }
        Moment::Recorded {
            duration,
            kept: false,
        } => format!("message of {}: too short, discarded", seconds(*duration)),
        Moment::Hangup(why) => format!("the PBX hangs up: {}", why.reason()),
        Moment::OfferChoice(Choice::Callback) => "the caller chooses a callback".into(),
        Moment::OfferChoice(Choice::Voicemail) => "the caller chooses voicemail".into(),
        Moment::CallbackOrdered(number) => {
            format!("a callback to {number} joins the department's queue")
        }
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
        Moment::EarlyMedia => ("early_media", serde_json::Value::Null),
        Moment::PbxAnswers => ("pbx_answers", serde_json::Value::Null),
        Moment::Play { sounds, looped } => (
            "play",
            serde_json::json!({"sounds": sounds, "looped": looped}),
        ),
        Moment::Press(key) => ("press", serde_json::json!(key.to_string())),
        Moment::Menu(id) => ("menu", serde_json::json!(id)),
        Moment::MenuOption { menu, key } => (
            "menu_option",
            serde_json::json!({"menu": menu, "key": key.to_string()}),
        ),
        Moment::MenuExtension { menu, to } => (
            "menu_extension",
            serde_json::json!({"menu": menu, "to": to}),
        ),
        Moment::MenuNoInput(menu) => ("menu_no_input", serde_json::json!(menu)),
        Moment::MenuInvalid { menu, keys } => (
            "menu_invalid",
            serde_json::json!({"menu": menu, "keys": keys}),
        ),
        Moment::MenuNoChoice { menu, after } => (
            "menu_no_choice",
            serde_json::json!({"menu": menu, "after": match after {
                NoChoice::NoInput => "no_input",
                NoChoice::Invalid => "invalid",
            }}),
        ),
        Moment::Voicemail(owner) => ("voicemail", serde_json::json!(owner)),
        Moment::Record(owner) => ("record", serde_json::json!(owner)),
        Moment::StopRecording => ("stop_recording", serde_json::Value::Null),
        Moment::Recorded { duration, kept } => (
            "recorded",
            serde_json::json!({"duration_s": duration.as_secs_f64(), "kept": kept}),
        ),
        Moment::Hangup(why) => ("hangup", serde_json::json!({"reason": why.reason()})),
        Moment::OfferChoice(choice) => (
            "offer_choice",
            serde_json::json!(match choice {
                Choice::Callback => "callback",
                Choice::Voicemail => "voicemail",
            }),
        ),
        Moment::CallbackOrdered(number) => ("callback_ordered", serde_json::json!(number)),
    };
    serde_json::json!({"at_s": line.at.as_secs_f64(), "event": event, "detail": detail})
}
