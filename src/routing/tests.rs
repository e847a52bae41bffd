//! Routing table tests: every file in `tests/routing/` is a config and a scripted timeline,
//! checked line by line against the actions the flow returns — who rings at which second, who
//! is cancelled when, what the caller hears, which keys lead where, where the call ends. The
//! format is described in `tests/routing/README.md`. Then random timelines over the same
//! configs check what must hold for any call.

use super::*;
use crate::config::model::{Config, StaffId, Target, Tenant};
use crate::config::validate::validate_text;
use crate::config::values::E164;
use crate::media::sound::{Sound, Tone};
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

impl crate::routing::queue::Staffing for FakePresence {
    fn free(&self, _tenant: usize, s: StaffId) -> bool {
        self.registered(s) && !self.busy(s)
    }
}

/// A time in a queue command: seconds (`90`, `90s`) or a duration (`10m`, `2h`) after `wall`.
fn offset_ms(s: &str) -> Result<u64, String> {
    crate::config::clock::parse_duration(s)
        .map(|d| d.as_millis() as u64)
        .or_else(|_| secs(s).as_millis().try_into().map_err(|_| format!("`{s}`")))
}

/// `ms` after `base` as the scripts write times: `90s`, `10m30s`, `2h`.
fn render_offset(ms: u64, base: u64) -> String {
    crate::config::clock::format_duration(Duration::from_millis(ms.saturating_sub(base)))
}

/// The queue's changes as a script line: callbacks started (`call +7...`), given up (`give up
/// +7...: why`), retried (`retry +7... at T`), completed (`done +7...`); `-` for none.
fn render_changes(
    started: &[crate::routing::queue::Callback],
    changes: &[crate::routing::queue::Change],
    base: u64,
) -> String {
    use crate::routing::queue::Change;
    let mut out: Vec<String> = started
        .iter()
        .map(|c| format!("call {}", c.number))
        .collect();
    for change in changes {
        match change {
            Change::Put(c) if !c.calling && c.attempts > 0 => out.push(format!(
                "retry {} at {}",
                c.number,
                render_offset(c.next_ms, base)
            )),
            Change::Put(_) => {}
            Change::Removed {
                callback,
                given_up: Some(why),
            } => out.push(format!("give up {}: {why}", callback.number)),
            Change::Removed { callback, .. } => out.push(format!("done {}", callback.number)),
        }
    }
    if out.is_empty() {
        "-".into()
    } else {
        out.join(", ")
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
            Action::Reject { refusal, why } => {
                format!("reject {} {why:?}", format!("{refusal:?}").to_lowercase())
            }
            Action::EarlyMedia => "early-media".into(),
            Action::Answer => "answer".into(),
            Action::Play { sounds, looped } => format!(
                "play {} {}",
                if *looped { "loop" } else { "once" },
                render_sounds(sounds)
            ),
            Action::Record { mailbox } => format!("record {}", render_target(t, *mailbox)),
            Action::StopRecording => "stop-recording".into(),
            Action::Hangup { why } => format!("hangup {why:?}"),
            Action::OrderCallback { department, number } => format!(
                "order-callback {} {number}",
                render_target(t, Target::Department(*department))
            ),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `file:NAME` (relative to the config), `builtin:STEM`, `tone:ringback`, `tone:beep`, one
/// after the other; `silence` for none.
fn render_sounds(sounds: &[Sound]) -> String {
    if sounds.is_empty() {
        return "silence".into();
    }
    sounds
        .iter()
        .map(|s| match s {
            Sound::File(p) => {
                let p = p.strip_prefix(".").unwrap_or(p);
                format!("file:{}", p.display())
            }
            Sound::Builtin(b) => format!("builtin:{}", b.file_stem()),
            Sound::Tone(Tone::Ringback) => "tone:ringback".into(),
            Sound::Tone(Tone::Beep) => "tone:beep".into(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn render_target(t: &Tenant, target: Target) -> String {
    match target {
        Target::Staff(s) => format!("staff:{}", t.staff[s.0].login),
        Target::Department(d) => format!("department:{}", t.departments[d.0].id),
    }
}

/// The route's steps, one after the other.
fn render_steps(t: &Tenant, flow: &Flow) -> String {
    let steps = &flow.route().steps;
    if steps.is_empty() {
        return "-".into();
    }
    let menu = |m: &crate::config::model::MenuId| t.menus[m.0].id.clone();
    steps
        .iter()
        .map(|s| match s {
            Step::Department(d) => format!("department {}", t.departments[d.0].id),
            Step::Transferred => "transferred".into(),
            Step::Forwarded => "forwarded".into(),
            Step::Greeting => "greeting".into(),
            Step::AfterHoursPrompt => "after-hours-prompt".into(),
            Step::Menu(m) => format!("menu {}", menu(m)),
            Step::MenuInput { menu: m, input } => match input {
                MenuInput::Key(k) => format!("{}:key {k}", menu(m)),
                MenuInput::Extension(x) => {
                    format!("{}:extension {}", menu(m), render_target(t, *x))
                }
                MenuInput::NoInput => format!("{}:no-input", menu(m)),
                MenuInput::Invalid(keys) => format!("{}:invalid {keys}", menu(m)),
            },
            Step::MenuNoChoice { menu: m, after } => format!("{}:no-choice {after:?}", menu(m)),
            Step::Voicemail(x) => format!("voicemail {}", render_target(t, *x)),
            Step::OfferChoice(choice) => format!("offer {choice:?}").to_lowercase(),
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
    let mut queue = crate::routing::queue::Queue::default();
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
            ["start", kind, what, more @ ..] => {
                let from = match more {
                    [] => None,
                    ["from", number] => Some(*number),
                    _ => return Err(format!("{}: expected `from NUMBER`", at(n))),
                };
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
                    "callback" => Entry::Callback {
                        department: crate::config::model::DepartmentId(
                            t.departments.iter().position(|d| d.id == *what).unwrap(),
                        ),
                        number: crate::config::values::E164::parse(
                            from.ok_or_else(|| format!("{}: callback needs `from`", at(n)))?,
                        )
                        .unwrap(),
                    },
                    other => return Err(format!("{}: unknown entry {other}", at(n))),
                };
                let from = from.filter(|_| *kind == "number");
                let (f, actions) =
                    Flow::start(Arc::clone(&config), 0, entry, from, t0, wall, &presence);
                flow = Some(f);
                render(t, &actions)
            }
            ["queue", verb, rest @ ..] => {
                use crate::routing::queue::{Attempt, Change, Order};
                let base = wall.as_millisecond() as u64;
                let bad = || format!("{}: cannot read `{cmd}`", at(n));
                match (*verb, rest) {
                    ("order", [s, dept, number, more @ ..]) => {
                        let now = base + offset_ms(s)?;
                        let mut called_ms = now;
                        let mut dialled = None;
                        for pair in more.chunks(2) {
                            match pair {
                                ["first", f] => called_ms = base + offset_ms(f)?,
                                ["on", did] => dialled = Some(did.to_string()),
                                _ => return Err(bad()),
                            }
                        }
                        let before = queue.len();
                        let order = Order {
                            tenant: t.id.clone(),
                            department: dept.to_string(),
                            number: number.to_string(),
                            dialled,
                            called_ms,
                        };
                        let Change::Put(c) = queue.order(order, now) else {
                            return Err(bad());
                        };
                        let verb = if queue.len() > before {
                            "queued"
                        } else {
                            "kept"
                        };
                        format!(
                            "{verb} {} first {}",
                            c.number,
                            render_offset(c.first_called_ms, base)
                        )
                    }
                    ("due", [s]) => {
                        let now = base + offset_ms(s)?;
                        let (started, changes) = queue.due(now, &config, &presence);
                        render_changes(&started, &changes, base)
                    }
                    ("ended", [s, number, how, why @ ..]) => {
                        let now = base + offset_ms(s)?;
                        let id = queue
                            .entries()
                            .iter()
                            .find(|c| c.number == *number)
                            .map(|c| c.id)
                            .ok_or_else(|| format!("{}: {number} is not queued", at(n)))?;
                        let attempt = match *how {
                            "completed" => Attempt::Completed,
                            "failed" => Attempt::Failed(why.join(" ")),
                            _ => return Err(bad()),
                        };
                        let change = queue.ended(id, attempt, now, &config);
                        render_changes(&[], &change.into_iter().collect::<Vec<_>>(), base)
                    }
                    ("list", []) => {
                        let entries = queue.entries();
                        if entries.is_empty() {
                            "-".into()
                        } else {
                            entries
                                .iter()
                                .map(|c| format!("{} {}", c.number, c.attempts))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    }
                    _ => return Err(bad()),
                }
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
                    ("press", [s, keys]) => {
                        let mut actions = Vec::new();
                        for key in keys.chars() {
                            actions.extend(f.on_event(Event::Digit(key), t0 + secs(s), &presence));
                        }
                        render(t, &actions)
                    }
                    ("played", [s]) => {
                        render(t, &f.on_event(Event::PlayDone, t0 + secs(s), &presence))
                    }
                    ("recorded", [s, length, kept]) => {
                        let kept = match *kept {
                            "kept" => true,
                            "discarded" => false,
                            other => {
                                return Err(format!("{}: `{other}`: kept or discarded", at(n)))
                            }
                        };
                        let event = Event::Recorded {
                            duration: secs(length),
                            kept,
                        };
                        render(t, &f.on_event(event, t0 + secs(s), &presence))
                    }
                    ("steps", []) => render_steps(t, f),
                    ("ended", []) => f.route().ended.map_or("-".into(), |e| format!("{e:?}")),
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

/// The routing scripts of `tests/routing/`, in name order.
fn scripts() -> Vec<std::path::PathBuf> {
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
    files
}

#[test]
fn routing_scripts() {
    let files = scripts();
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

/// A small deterministic generator (xorshift64*), so a failing run can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// What the engine would know of a call's audio, to check the flow's media actions and to
/// answer them as the engine would.
#[derive(Default)]
struct Audio {
    /// `EarlyMedia` came.
    early: bool,
    /// `Answer` came.
    answered: bool,
    /// A `Play` once is playing: a `PlayDone` will come.
    playing: bool,
    /// A `Record` is recording: a `Recorded` will come.
    recording: bool,
}

/// Random timelines — random presence, legs refusing or answering at random moments, time
/// running to each deadline, the caller pressing random keys, prompts ending and recordings
/// ending at random moments — over every config of `tests/routing/`, for every number,
/// department and person: the flow only cancels legs it rang and that still ring, rings each
/// leg once, serves audio only in order (`Play` after `EarlyMedia` or `Answer`, `Record` after
/// `Answer` with nothing playing, `StopRecording` while recording, `Hangup` after `Answer`),
/// ends with exactly one answer, refusal or hang-up, says nothing afterwards, never waits with
/// nothing to wait for, and ends within a bounded virtual time.
#[test]
fn random_timelines_keep_the_invariants() {
    use std::collections::BTreeSet;
    let files = scripts();
    let mut runs = 0;
    let mut served = 0;
    for (f, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).unwrap();
        let yaml = text.split("\n---script---\n").next().unwrap();
        let config = config(yaml, &path.display().to_string()).unwrap();
        let t = &config.tenants[0];
        let mut entries: Vec<Entry> = (0..t.numbers.len()).map(Entry::Number).collect();
        entries.extend(
            (0..t.departments.len())
                .map(|d| Entry::Department(crate::config::model::DepartmentId(d))),
        );
        entries.extend((0..t.staff.len()).map(|s| Entry::Staff(StaffId(s))));
        for (e, entry) in entries.iter().enumerate() {
            for seed in 1..=40u64 {
                let mut rng = Rng(seed * 7919 + (f as u64) * 104_729 + e as u64 + 1);
                let mut presence = FakePresence::default();
                for s in 0..t.staff.len() {
                    presence.registered.insert(s, rng.below(4) != 0);
                    presence.busy.insert(s, rng.below(5) == 0);
                    if rng.below(2) == 0 {
                        presence.last.insert(s, rng.next() % 1_000_000);
                    }
                }
                let what = format!("{} {entry:?} seed {seed}", path.display());
                let t0 = Instant::now();
                let wall =
                    jiff::Timestamp::from_second(1_795_000_000 + (rng.next() % 31_536_000) as i64)
                        .unwrap();
                // Outside callers present a number (what a callback would call).
                let from = matches!(entry, Entry::Number(_)).then_some("+79161234567");
                let (mut flow, first) = Flow::start(
                    Arc::clone(&config),
                    0,
                    entry.clone(),
                    from,
                    t0,
                    wall,
                    &presence,
                );
                let mut live: BTreeSet<u32> = BTreeSet::new();
                let mut audio = Audio::default();
                let mut rung = 0u32;
                let mut ended = 0;
                // Actions must make sense; after the end only the cancels an answer causes.
                let mut check = |actions: Vec<Action>,
                                 live: &mut BTreeSet<u32>,
                                 audio: &mut Audio,
                                 ended: &mut u32| {
                    for a in actions {
                        if !matches!(a, Action::Cancel(_)) {
                            assert_eq!(*ended, 0, "{what}: {a:?} after the end");
                        }
                        match a {
                            Action::Ring { leg, .. } => {
                                assert!(leg.0 > rung, "{what}: leg {} rung again", leg.0);
                                rung = leg.0;
                                live.insert(leg.0);
                            }
                            Action::Cancel(leg) => {
                                assert!(
                                    live.remove(&leg.0),
                                    "{what}: cancel of leg {} that does not ring",
                                    leg.0
                                )
                            }
                            Action::Reject { .. } => *ended += 1,
                            Action::EarlyMedia => {
                                assert!(
                                    !audio.early && !audio.answered,
                                    "{what}: early media again"
                                );
                                audio.early = true;
                            }
                            Action::Answer => {
                                assert!(!audio.answered, "{what}: answered twice");
                                audio.answered = true;
                            }
                            Action::Play { sounds, looped } => {
                                assert!(audio.early || audio.answered, "{what}: play unserved");
                                assert!(!audio.recording, "{what}: play while recording");
                                assert!(looped || !sounds.is_empty(), "{what}: silence once");
                                audio.playing = !looped;
                            }
                            Action::Record { .. } => {
                                assert!(audio.answered, "{what}: record unanswered");
                                assert!(!audio.recording, "{what}: record twice");
                                assert!(!audio.playing, "{what}: record while a prompt plays");
                                audio.recording = true;
                            }
                            Action::StopRecording => {
                                assert!(audio.recording, "{what}: stop without recording")
                            }
                            Action::Hangup { .. } => {
                                assert!(audio.answered, "{what}: hangup unanswered");
                                *ended += 1;
                            }
                            Action::OrderCallback { .. } => {
                                assert!(audio.answered, "{what}: callback ordered unanswered");
                                assert!(live.is_empty(), "{what}: callback ordered while ringing");
                            }
                        }
                    }
                };
                check(first, &mut live, &mut audio, &mut ended);
                let mut now = Duration::ZERO;
                let mut steps = 0;
                while !flow.is_done() {
                    steps += 1;
                    assert!(steps < 10_000, "{what}: no end");
                    let leg = live.iter().nth(rng.below(live.len())).copied();
                    // The caller stops pressing keys after a while, so menus end.
                    let keys = (audio.early || audio.answered) && steps < 200;
                    let event = match (rng.below(14), leg) {
                        (0, Some(leg)) => {
                            live.remove(&leg);
                            ended += 1;
                            Event::Answered(LegId(leg))
                        }
                        (1..=3, Some(leg)) => {
                            live.remove(&leg);
                            let r = [Refusal::Busy, Refusal::Declined, Refusal::Unavailable]
                                [rng.below(3)];
                            Event::Failed(LegId(leg), r)
                        }
                        (4..=6, _) if keys => Event::Digit(b"0123456789*#"[rng.below(12)] as char),
                        (7..=8, _) if audio.playing => {
                            audio.playing = false;
                            Event::PlayDone
                        }
                        (9, _) if audio.recording => {
                            audio.recording = false;
                            Event::Recorded {
                                duration: Duration::from_secs(rng.below(60) as u64),
                                kept: rng.below(2) == 0,
                            }
                        }
                        _ => match flow.next_deadline() {
                            Some(d) => {
                                assert!(d >= t0 + now, "{what}: a deadline in the past");
                                now = d - t0;
                                Event::Tick
                            }
                            // Nothing to wait for but an outside number ringing, a prompt
                            // or a recording: it ends.
                            None => match live.iter().next().copied() {
                                Some(leg) => {
                                    live.remove(&leg);
                                    ended += 1;
                                    Event::Answered(LegId(leg))
                                }
                                None if audio.playing => {
                                    audio.playing = false;
                                    Event::PlayDone
                                }
                                None if audio.recording => {
                                    audio.recording = false;
                                    Event::Recorded {
                                        duration: Duration::from_secs(30),
                                        kept: true,
                                    }
                                }
                                None => panic!("{what}: nothing to wait for, not done"),
                            },
                        },
                    };
                    let answered = matches!(event, Event::Answered(_));
                    let actions = flow.on_event(event, t0 + now, &presence);
                    check(actions, &mut live, &mut audio, &mut ended);
                    if answered {
                        assert!(flow.is_done(), "{what}: an answer ends the flow");
                        assert!(
                            live.is_empty(),
                            "{what}: legs still ring after the answer: {live:?}"
                        );
                    }
                }
                assert_eq!(ended, 1, "{what}: ended {ended} times");
                assert!(
                    live.is_empty(),
                    "{what}: legs left ringing at the end: {live:?}"
                );
                assert!(now <= Duration::from_secs(3600), "{what}: {now:?}");
                for late in [Event::Tick, Event::PlayDone, Event::Digit('1')] {
                    assert!(flow
                        .on_event(late, t0 + now + Duration::from_secs(1), &presence)
                        .is_empty());
                }
                runs += 1;
                served += usize::from(audio.early || audio.answered);
            }
        }
    }
    assert!(runs > 1000, "only {runs} timelines");
    assert!(served > 300, "only {served} timelines with audio served");
}

/// A department whose `step` is zero (validation refuses it; here the model is edited after
/// validation, as if one slipped through) still ends: every step moves time forward by at
/// least `hunt::MIN_STEP`, so a call rings a bounded number of legs and reaches no-answer.
#[test]
fn a_zero_step_that_slipped_through_still_ends() {
    let yaml = "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 5\n    staff:\n      - { name: A, login: a, extension: \"201\" }\n      - { name: B, login: b, extension: \"202\" }\n    departments:\n      - id: sales\n        name: Sales\n        strategy: in_order\n        ring_time: 60s\n        members: [a, b]\n";
    for strategy in [
        crate::config::model::Strategy::InOrder,
        crate::config::model::Strategy::Evenly,
        crate::config::model::Strategy::Increasing,
        crate::config::model::Strategy::AllAtOnce,
    ] {
        let mut config = (*config(yaml, "zero-step").unwrap()).clone();
        std::sync::Arc::make_mut(&mut config.tenants[0]).departments[0].step = Duration::ZERO;
        std::sync::Arc::make_mut(&mut config.tenants[0]).departments[0].strategy = strategy;
        let config = Arc::new(config);
        let mut presence = FakePresence::default();
        presence.registered.insert(0, true);
        presence.registered.insert(1, true);
        let t0 = Instant::now();
        let (mut flow, first) = Flow::start(
            config,
            0,
            Entry::Department(crate::config::model::DepartmentId(0)),
            None,
            t0,
            jiff::Timestamp::UNIX_EPOCH,
            &presence,
        );
        let mut rings = first
            .iter()
            .filter(|a| matches!(a, Action::Ring { .. }))
            .count();
        let mut events = 0;
        while let Some(at) = flow.next_deadline() {
            events += 1;
            assert!(events < 1_000, "{strategy:?}: no end after {events} ticks");
            assert!(
                at <= t0 + Duration::from_secs(60),
                "{strategy:?}: beyond ring_time"
            );
            let out = flow.on_event(Event::Tick, at, &presence);
            rings += out
                .iter()
                .filter(|a| matches!(a, Action::Ring { .. }))
                .count();
        }
        // At most one ring per second of ring_time (plus the first).
        assert!(rings <= 61, "{strategy:?}: {rings} legs rung");
    }
}
