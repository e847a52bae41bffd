//! Routing table tests: every file in `tests/routing/` is a config and a scripted timeline,
//! checked line by line against the actions the flow returns — who rings at which second, who
//! is cancelled when, where the call ends. The format is described in `tests/routing/README.md`.

use super::*;
use crate::config::model::{Config, StaffId, Tenant};
use crate::config::validate::validate_text;
use crate::config::values::E164;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Default)]
struct FakePresence {
    registered: HashMap<usize, bool>,
    busy: HashMap<usize, bool>,
    last: HashMap<usize, u64>,
}

impl Presence for FakePresence {
    fn registered(&self, s: StaffId) -> bool {
        self.registered.get(&s.0).copied().unwrap_or(false)
    }
    fn busy(&self, s: StaffId) -> bool {
        self.busy.get(&s.0).copied().unwrap_or(false)
    }
    fn last_call(&self, s: StaffId) -> Option<u64> {
        self.last.get(&s.0).copied()
    }
}

fn config(yaml: &str, file: &str) -> Result<Arc<Config>, String> {
    validate_text(yaml)
        .map(Arc::new)
        .map_err(|d| format!("{file}: config invalid: {d:?}"))
}

fn staff(t: &Tenant, login: &str) -> StaffId {
    let i = t.staff.iter().position(|s| s.login.as_str() == login);
    StaffId(i.unwrap_or_else(|| panic!("no staff {login}")))
}

fn render_callee(t: &Tenant, c: &Callee) -> String {
    match c {
        Callee::Devices(s) => format!("phones:{}", t.staff[s.0].login),
        Callee::Mobile(s, n) => format!("mobile:{}:{n}", t.staff[s.0].login),
        Callee::External(n) => format!("external:{n}"),
    }
}

fn render(t: &Tenant, actions: &[Action]) -> String {
    if actions.is_empty() {
        return "-".into();
    }
    actions
        .iter()
        .map(|a| match a {
            Action::Ring { leg, callee } => format!("ring #{} {}", leg.0, render_callee(t, callee)),
            Action::Cancel(leg) => format!("cancel #{}", leg.0),
            Action::Reject { code, why } => format!("reject {code} {why:?}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_route(t: &Tenant, flow: &Flow) -> String {
    let r = flow.route();
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "-".into()
        } else {
            v.join(",")
        }
    };
    format!(
        "number {} after_hours {} departments {} offered {} answered {} via {:?}",
        r.number.as_ref().map_or("-".into(), E164::to_string),
        r.after_hours,
        list(
            r.departments()
                .map(|d| t.departments[d.0].id.clone())
                .collect()
        ),
        list(flow.offered().iter().map(|c| render_callee(t, c)).collect()),
        r.answered
            .as_ref()
            .map_or("-".into(), |c| render_callee(t, c)),
        r.via,
    )
}

fn secs(s: &str) -> Duration {
    Duration::from_millis((s.trim_end_matches('s').parse::<f64>().unwrap() * 1000.0) as u64)
}

fn leg(s: &str) -> LegId {
    LegId(s.trim_start_matches('#').parse().unwrap())
}

/// Runs one script; returns the first mismatch.
fn run(file: &str, text: &str) -> Result<(), String> {
    let (yaml, script) = text
        .split_once("\n---script---\n")
        .ok_or_else(|| format!("{file}: no ---script--- line"))?;
    let config = config(yaml, file)?;
    let t = &config.tenants[0];
    let t0 = Instant::now();
    let mut presence = FakePresence::default();
    let mut wall = jiff::Timestamp::UNIX_EPOCH;
    let mut flow: Option<Flow> = None;
    for (n, line) in script.lines().enumerate() {
        let (cmd, expected) = match line.split_once("=>") {
            Some((c, e)) => (c.trim(), Some(e.trim())),
            None => (line.trim(), None),
        };
        if cmd.is_empty() || cmd.starts_with("//") {
            continue;
        }
        let at = |n: usize| format!("{file}:{}", n + 2 + yaml.lines().count());
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let got = match words.as_slice() {
            ["wall", ts] => {
                wall = ts.parse().map_err(|e| format!("{}: {e}", at(n)))?;
                continue;
            }
            ["presence", login, flags @ ..] => {
                let s = staff(t, login).0;
                presence.registered.insert(s, flags.contains(&"registered"));
                presence.busy.insert(s, flags.contains(&"busy"));
                for f in flags {
                    if let Some(ms) = f.strip_prefix("last=") {
                        presence.last.insert(s, ms.parse().unwrap());
                    }
                }
                continue;
            }
            ["start", kind, what] => {
                let entry = match *kind {
                    "number" => Entry::Number(
                        t.numbers
                            .iter()
                            .position(|x| x.number.as_str() == *what)
                            .ok_or_else(|| format!("{}: no number {what}", at(n)))?,
                    ),
                    "staff" => Entry::Staff(staff(t, what)),
                    "department" => Entry::Department(crate::config::model::DepartmentId(
                        t.departments.iter().position(|d| d.id == *what).unwrap(),
                    )),
                    "external" => Entry::External(Dialled::parse(what).unwrap()),
                    other => return Err(format!("{}: unknown entry {other}", at(n))),
                };
                let (f, actions) = Flow::start(Arc::clone(&config), 0, entry, t0, wall, &presence);
                flow = Some(f);
                render(t, &actions)
            }
            [verb, rest @ ..] => {
                let f = flow
                    .as_mut()
                    .ok_or_else(|| format!("{}: no call started", at(n)))?;
                match (*verb, rest) {
                    ("tick", [s]) => {
                        let now = t0 + secs(s);
                        if f.next_deadline() != Some(now) {
                            return Err(format!(
                                "{}: next deadline is {:?}, not {s}",
                                at(n),
                                f.next_deadline().map(|d| d - t0)
                            ));
                        }
                        render(t, &f.on_event(Event::Tick, now, &presence))
                    }
                    ("answer", [s, l]) => render(
                        t,
                        &f.on_event(Event::Answered(leg(l)), t0 + secs(s), &presence),
                    ),
                    ("fail", [s, l, why]) => {
                        let refusal = match *why {
                            "busy" => Refusal::Busy,
                            "declined" => Refusal::Declined,
                            _ => Refusal::Unavailable,
                        };
                        let now = t0 + secs(s);
                        render(
                            t,
                            &f.on_event(Event::Failed(leg(l), refusal), now, &presence),
                        )
                    }
                    ("deadline", []) => f
                        .next_deadline()
                        .map_or("none".into(), |d| format!("{}s", (d - t0).as_secs_f64())),
                    ("done", []) => f.is_done().to_string(),
                    ("route", []) => render_route(t, f),
                    _ => return Err(format!("{}: cannot read `{cmd}`", at(n))),
                }
            }
            [] => continue,
        };
        let expected = expected.ok_or_else(|| format!("{}: `{cmd}` needs `=> expected`", at(n)))?;
        if got != expected {
            return Err(format!(
                "{}: `{cmd}`\n  expected: {expected}\n  got:      {got}",
                at(n)
            ));
        }
    }
    Ok(())
}

#[test]
fn routing_scripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/routing");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "routing scripts missing in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(e) = run(&name, &text) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
