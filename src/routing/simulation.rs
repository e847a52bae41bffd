//! `simulate`: one call played through a `Flow` on a virtual clock, with a script of who
//! answers, who refuses and who is away, which keys the caller presses and how long they speak
//! into voicemail — "who rings, when, if someone calls this number on Saturday at 19:00,
//! pressing 2". It is the same flow the server runs; only the clock, the people and the audio
//! are made up: every prompt or greeting plays for `Script::sound` (the audio files are not
//! read), a beep for `BEEP`, and a recording lasts `Script::message`. `pbx simulate` prints
//! what it returns.

use super::action::{Action, Callee, Ended, Event, GiveUp, LegId, Presence, Refusal};
use super::flow::{Entry, Flow};
use super::route::{MenuInput, NoChoice, Step};
use crate::config::model::{Config, StaffId, Strategy, Target, Tenant};
use crate::media::sound::{Builtin, Sound, Tone};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a simulated call may last (a guard: every flow ends well before).
const LIMIT: Duration = Duration::from_secs(3600);

/// How long a beep plays, and a digit read out.
pub const BEEP: Duration = Duration::from_secs(1);

/// How the people behave. Names are logins, or numbers for outside numbers and mobiles.
#[derive(Clone, Debug)]
pub struct Script {
    /// Who answers, after ringing for how long.
    pub answers: Vec<(String, Duration)>,
    /// Who refuses at once (busy).
    pub refuses: Vec<String>,
    /// Who has no phone registered (everyone else has).
    pub unregistered: Vec<String>,
    /// Who is on another call.
    pub busy: Vec<String>,
    /// The keys the caller presses, in order.
    pub presses: Vec<Press>,
    /// How long each prompt, greeting or file plays (a beep: `BEEP`; a tone looped: forever).
    pub sound: Duration,
    /// How long the caller speaks into voicemail (the tenant's maximum length cuts it).
    pub message: Duration,
    /// The number an outside caller presents (`anonymous`: none usable).
    pub from: String,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            answers: Vec::new(),
            refuses: Vec::new(),
            unregistered: Vec::new(),
            busy: Vec::new(),
            presses: Vec::new(),
            sound: Duration::from_secs(5),
            message: Duration::from_secs(10),
            from: "anonymous".into(),
        }
    }
}

/// Keys the caller presses, one after the other at one moment: at `at` since the call began,
/// or (`None`) as soon as the next sound played once has ended — the caller listens to the
/// prompt, then answers it. Untimed presses are used up in order, one per such moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Press {
    pub keys: String,
    pub at: Option<Duration>,
}

/// Something that happened, for the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Moment {
    /// Outside the number's working hours; when they start again (if within 400 days).
    AfterHours {
        opens: Option<jiff::Timestamp>,
    },
    /// A department starts ringing.
    Department {
        id: String,
        strategy: Strategy,
    },
    /// Nobody answered: the call is transferred (to the next department or person).
    Transferred,
    /// Nobody answered: the call is forwarded outside.
    Forwarded,
    Ring(String),
    Cancel(String),
    Refuse(String),
    Answer(String),
    /// The call ends unanswered: the caller is told `refusal`.
    Refused {
        refusal: Refusal,
        why: GiveUp,
    },
    /// An outside number rings for as long as the caller waits: the simulation stops here.
    RingsOn,
    /// The PBX plays to the caller while legs ring (183).
    EarlyMedia,
    /// The PBX answers the call itself.
    PbxAnswers,
    /// The PBX plays these sounds (named for people: a file's name, `the ringback tone`...).
    Play {
        sounds: Vec<String>,
        looped: bool,
    },
    /// The caller presses a key.
    Press(char),
    /// The call enters a voice menu.
    Menu(String),
    /// In a menu, the caller chose an option.
    MenuOption {
        menu: String,
        key: char,
    },
    /// In a menu, the caller dialled an extension: whose (a login or department id).
    MenuExtension {
        menu: String,
        to: String,
    },
    /// In a menu, no key came within the timeout.
    MenuNoInput(String),
    /// In a menu, keys that lead nowhere.
    MenuInvalid {
        menu: String,
        keys: String,
    },
    /// A menu ran out of replays.
    MenuNoChoice {
        menu: String,
        after: NoChoice,
    },
    /// The call reached the voicemail box of a person or department (login or id).
    Voicemail(String),
    /// Recording into that box starts.
    Record(String),
    StopRecording,
    /// The recording ended: how long, and whether it was kept.
    Recorded {
        duration: Duration,
        kept: bool,
    },
    /// The caller chose from the impatient-caller offer.
    OfferChoice(super::offer::Choice),
    /// A callback to this number is put in the department's queue.
    CallbackOrdered(String),
    /// The PBX hangs up.
    Hangup(Ended),
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub at: Duration,
    pub moment: Moment,
}

struct Scripted<'a> {
    tenant: &'a Tenant,
    script: &'a Script,
}

impl Scripted<'_> {
    fn login(&self, s: StaffId) -> &str {
        self.tenant.staff[s.0].login.as_str()
    }
}

impl Presence for Scripted<'_> {
    fn registered(&self, s: StaffId) -> bool {
        !self.script.unregistered.iter().any(|l| l == self.login(s))
    }
    fn busy(&self, s: StaffId) -> bool {
        self.script.busy.iter().any(|l| l == self.login(s))
    }
    fn last_call(&self, _: StaffId) -> Option<u64> {
        None
    }
}

/// How a callee is named in the timeline, and the names the script may use for it (a
/// mobile answers to its owner's login and to its number).
pub fn callee_name(tenant: &Tenant, callee: &Callee) -> (String, Vec<String>) {
    match callee {
        Callee::Devices(s) => {
            let login = tenant.staff[s.0].login.to_string();
            (login.clone(), vec![login])
        }
        Callee::Mobile(s, n) => {
            let login = tenant.staff[s.0].login.to_string();
            (format!("{login} (mobile {n})"), vec![login, n.to_string()])
        }
        Callee::External(n) => (n.to_string(), vec![n.to_string()]),
    }
}

/// The login or department id of a person or department.
pub fn target_name(tenant: &Tenant, target: Target) -> String {
    match target {
        Target::Staff(s) => tenant.staff[s.0].login.to_string(),
        Target::Department(d) => tenant.departments[d.0].id.clone(),
    }
}

/// A sound as the timeline names it: a file by its name, a built-in prompt by its name.
pub fn sound_name(sound: &Sound) -> String {
    match sound {
        Sound::File(path) => path.file_name().map_or_else(
            || path.display().to_string(),
            |f| f.to_string_lossy().into(),
        ),
        Sound::Builtin(b) => format!("the {} prompt", b.file_stem().replace('_', " ")),
        Sound::Tone(Tone::Ringback) => "the ringback tone".into(),
        Sound::Tone(Tone::Beep) => "a beep".into(),
    }
}

/// Sounds as the timeline names them, digits read out one after the other as one number.
fn sound_names(sounds: &[Sound]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut digits = String::new();
    for s in sounds {
        if let Sound::Builtin(Builtin::Digit(d)) = s {
            digits.push(char::from(b'0' + d));
            continue;
        }
        if !digits.is_empty() {
            names.push(format!("the digits {}", std::mem::take(&mut digits)));
        }
        names.push(sound_name(s));
    }
    if !digits.is_empty() {
        names.push(format!("the digits {digits}"));
    }
    names
}

/// Events the script has in store, by when they happen (then in the order they were made).
#[derive(Default)]
struct Pending {
    events: BTreeMap<(Duration, u64), (Option<LegId>, Event)>,
    seq: u64,
}

impl Pending {
    fn add(&mut self, at: Duration, leg: Option<LegId>, event: Event) {
        self.seq += 1;
        self.events.insert((at, self.seq), (leg, event));
    }
    fn next_at(&self) -> Option<Duration> {
        self.events.keys().next().map(|(at, _)| *at)
    }
    fn pop(&mut self) -> Option<(Duration, Event)> {
        self.events.pop_first().map(|((at, _), (_, e))| (at, e))
    }
    fn drop_leg(&mut self, leg: LegId) {
        self.events.retain(|_, (l, _)| *l != Some(leg));
    }
    fn drop_where(&mut self, f: impl Fn(&Event) -> bool) {
        self.events.retain(|_, (_, e)| !f(e));
    }
}

/// Plays a call entering at `entry` at wall-clock time `wall`; `t0` is any instant, the origin
/// of the virtual clock.
pub fn simulate(
    config: Arc<Config>,
    tenant: usize,
    entry: Entry,
    wall: jiff::Timestamp,
    t0: Instant,
    script: &Script,
) -> Vec<Line> {
    let people = Scripted {
        tenant: &config.tenants[tenant],
        script,
    };
    let settings = &people.tenant.voicemail;
    let schedule = match entry {
        Entry::Number(i) => config.tenants[tenant].numbers[i].schedule,
        _ => None,
    };
    let from = matches!(entry, Entry::Number(_)).then_some(script.from.as_str());
    let (mut flow, first) =
        Flow::start(Arc::clone(&config), tenant, entry, from, t0, wall, &people);
    let mut lines = Vec::new();
    let mut seen = 0;
    if flow.route().after_hours {
        let opens = schedule.and_then(|s| {
            super::schedule::next_change(&config.tenants[tenant].schedules[s.0], wall)
        });
        lines.push(Line {
            at: Duration::ZERO,
            moment: Moment::AfterHours { opens },
        });
    }
    let mut pending = Pending::default();
    let mut untimed: VecDeque<&str> = VecDeque::new();
    for press in &script.presses {
        match press.at {
            Some(at) => press
                .keys
                .chars()
                .for_each(|k| pending.add(at, None, Event::Digit(k))),
            None => untimed.push_back(&press.keys),
        }
    }
    let mut ringing: Vec<LegId> = Vec::new();
    let mut recording_since = None;
    let mut actions = first;
    let mut now = Duration::ZERO;
    loop {
        for action in actions.drain(..) {
            if !matches!(action, Action::Cancel(_)) {
                // The steps that led here (a department, a transfer, a menu) come first.
                note_steps(&flow, &people, &mut seen, now, &mut lines);
            }
            let moment = match action {
                Action::Ring { leg, callee } => {
                    let (name, keys) = callee_name(people.tenant, &callee);
                    ringing.push(leg);
                    if script.refuses.iter().any(|r| keys.contains(r)) {
                        pending.add(now, Some(leg), Event::Failed(leg, Refusal::Busy));
                    } else if let Some((_, after)) =
                        script.answers.iter().find(|(k, _)| keys.contains(k))
                    {
                        pending.add(now + *after, Some(leg), Event::Answered(leg));
                    }
                    Moment::Ring(name)
                }
                Action::Cancel(leg) => {
                    pending.drop_leg(leg);
                    ringing.retain(|l| *l != leg);
                    let name = flow.callee(leg).map(|c| callee_name(people.tenant, c).0);
                    Moment::Cancel(name.unwrap_or_default())
                }
                Action::Reject { refusal, why } => Moment::Refused { refusal, why },
                Action::EarlyMedia => Moment::EarlyMedia,
                Action::Answer => Moment::PbxAnswers,
                Action::Play { sounds, looped } => {
                    pending.drop_where(|e| *e == Event::PlayDone);
                    if !looped {
                        let length: Duration = sounds
                            .iter()
                            .map(|s| match s {
                                Sound::Tone(Tone::Beep) | Sound::Builtin(Builtin::Digit(_)) => BEEP,
                                _ => script.sound,
                            })
                            .sum();
                        pending.add(now + length, None, Event::PlayDone);
                    }
                    Moment::Play {
                        sounds: sound_names(&sounds),
                        looped,
                    }
                }
                Action::Record { mailbox } => {
                    recording_since = Some(now);
                    let length = script.message.min(settings.max_length);
                    let recorded = Event::Recorded {
                        duration: length,
                        kept: length >= settings.min_length && !length.is_zero(),
                    };
                    pending.add(now + length, None, recorded);
                    Moment::Record(target_name(people.tenant, mailbox))
                }
                Action::StopRecording => {
                    if let Some(since) = recording_since {
                        pending.drop_where(|e| matches!(e, Event::Recorded { .. }));
                        let length = now - since;
                        let recorded = Event::Recorded {
                            duration: length,
                            kept: length >= settings.min_length && !length.is_zero(),
                        };
                        pending.add(now, None, recorded);
                    }
                    Moment::StopRecording
                }
                Action::Hangup { why } => Moment::Hangup(why),
                Action::OrderCallback { number, .. } => Moment::CallbackOrdered(number.to_string()),
            };
            lines.push(Line { at: now, moment });
        }
        if flow.is_done() {
            note_steps(&flow, &people, &mut seen, now, &mut lines);
            return lines;
        }
        let deadline = flow.next_deadline().map(|d| d - t0);
        let event_first = match (pending.next_at(), deadline) {
            (Some(e), Some(d)) => e <= d,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let (at, event) = match (event_first, deadline) {
            (true, _) => pending.pop().expect("it is there"),
            (false, Some(d)) => (d, Event::Tick),
            (false, None) => {
                note_steps(&flow, &people, &mut seen, now, &mut lines);
                if !ringing.is_empty() {
                    lines.push(Line {
                        at: now,
                        moment: Moment::RingsOn,
                    });
                }
                return lines;
            }
        };
        now = at;
        if now > LIMIT {
            return lines;
        }
        let name = |leg: &LegId| {
            flow.callee(*leg)
                .map(|c| callee_name(people.tenant, c).0)
                .unwrap_or_default()
        };
        let moment = match &event {
            Event::Answered(leg) => Some(Moment::Answer(name(leg))),
            Event::Failed(leg, _) => Some(Moment::Refuse(name(leg))),
            Event::Digit(k) => Some(Moment::Press(*k)),
            Event::Recorded { duration, kept } => {
                recording_since = None;
                Some(Moment::Recorded {
                    duration: *duration,
                    kept: *kept,
                })
            }
            Event::PlayDone => {
                if let Some(keys) = untimed.pop_front() {
                    keys.chars()
                        .for_each(|k| pending.add(now, None, Event::Digit(k)));
                }
                None
            }
            Event::Tick => None,
        };
        if let Event::Answered(leg) | Event::Failed(leg, _) = &event {
            ringing.retain(|l| l != leg);
        }
        lines.extend(moment.map(|moment| Line { at: now, moment }));
        actions = flow.on_event(event, t0 + now, &people);
    }
}

/// Lines for the steps the route took since the `seen`-th.
fn note_steps(
    flow: &Flow,
    people: &Scripted,
    seen: &mut usize,
    now: Duration,
    lines: &mut Vec<Line>,
) {
    let tenant = people.tenant;
    let steps = &flow.route().steps;
    for step in &steps[*seen..] {
        let menu = |m: &crate::config::model::MenuId| tenant.menus[m.0].id.clone();
        let moment = match step {
            Step::Department(d) => {
                let dept = &tenant.departments[d.0];
                Moment::Department {
                    id: dept.id.clone(),
                    strategy: dept.strategy,
                }
            }
            Step::Transferred => Moment::Transferred,
            Step::Forwarded => Moment::Forwarded,
            // The sound played says it.
            Step::Greeting | Step::AfterHoursPrompt => continue,
            Step::Menu(m) => Moment::Menu(menu(m)),
            Step::MenuInput { menu: m, input } => match input {
                MenuInput::Key(k) => Moment::MenuOption {
                    menu: menu(m),
                    key: k.as_char(),
                },
                MenuInput::Extension(t) => Moment::MenuExtension {
                    menu: menu(m),
                    to: target_name(tenant, *t),
                },
                MenuInput::NoInput => Moment::MenuNoInput(menu(m)),
                MenuInput::Invalid(keys) => Moment::MenuInvalid {
                    menu: menu(m),
                    keys: keys.clone(),
                },
            },
            Step::MenuNoChoice { menu: m, after } => Moment::MenuNoChoice {
                menu: menu(m),
                after: *after,
            },
            Step::Voicemail(t) => Moment::Voicemail(target_name(tenant, *t)),
            Step::OfferChoice(choice) => Moment::OfferChoice(*choice),
        };
        lines.push(Line { at: now, moment });
    }
    *seen = steps.len();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::validate_text;

    const YAML: &str = r#"version: 1
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    max_users: 10
    timezone: Europe/Moscow
    staff:
      - { name: Maria, login: maria }
      - { name: Oleg, login: oleg }
      - { name: Ivan, login: ivan }
    departments:
      - id: sales
        strategy: in_order
        step: 10s
        ring_time: 30s
        members: [maria, oleg]
        no_answer: { transfer: { staff: ivan } }
    schedules:
      - { id: office, hours: { weekdays: ["09:00-18:00"] } }
    numbers:
      - { number: "+74950000001", schedule: office, destination: { department: sales } }
"#;

    fn run(wall: &str, script: Script) -> Vec<String> {
        let config = Arc::new(validate_text(YAML).unwrap());
        let lines = simulate(
            config,
            0,
            Entry::Number(0),
            wall.parse().unwrap(),
            Instant::now(),
            &script,
        );
        lines
            .iter()
            .map(|l| format!("{}s {:?}", l.at.as_secs(), l.moment))
            .collect()
    }

    #[test]
    fn nobody_answers_then_the_transfer_then_voicemail() {
        let got = run("2026-11-23T07:00:00Z", Script::default());
        let want = [
            "0s Department { id: \"sales\", strategy: InOrder }",
            "0s Ring(\"maria\")",
            "10s Cancel(\"maria\")",
            "10s Ring(\"oleg\")",
            "20s Cancel(\"oleg\")",
            "20s Ring(\"maria\")",
            "30s Cancel(\"maria\")",
            "30s Transferred",
            "30s Ring(\"ivan\")",
            "60s Cancel(\"ivan\")",
            "60s Voicemail(\"ivan\")",
            "60s PbxAnswers",
            "60s Play { sounds: [\"the voicemail greeting prompt\"], looped: false }",
            "65s Record(\"ivan\")",
            "75s Recorded { duration: 10s, kept: true }",
            "75s Hangup(VoicemailLeft)",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn scripted_people_answer_refuse_and_are_away() {
        let script = Script {
            answers: vec![("oleg".into(), Duration::from_secs(4))],
            refuses: vec!["maria".into()],
            ..Script::default()
        };
        let got = run("2026-11-23T07:00:00Z", script);
        let want = [
            "0s Department { id: \"sales\", strategy: InOrder }",
            "0s Ring(\"maria\")",
            "0s Refuse(\"maria\")",
            "0s Ring(\"oleg\")",
            "4s Answer(\"oleg\")",
        ];
        assert_eq!(got, want);
        let away = Script {
            unregistered: vec!["maria".into(), "oleg".into()],
            ..Script::default()
        };
        let got = run("2026-11-23T07:00:00Z", away);
        assert_eq!(got[1], "0s Transferred");
        assert_eq!(got[2], "0s Ring(\"ivan\")");
    }

    /// Every number of every bundled config, at several times, with nobody answering and no
    /// key pressed: the call ends (refused, hung up by the PBX, or an outside number left
    /// ringing) within the limit.
    #[test]
    fn every_bundled_number_ends() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut played = 0;
        for file in [
            "pbx.yaml",
            "examples/small-office.yaml",
            "examples/multi-tenant.yaml",
            "examples/call-centre.yaml",
        ] {
            let loaded = crate::config::load::load(&root.join(file)).unwrap();
            let (outcome, _) = crate::config::validate::validate(
                loaded,
                crate::config::validate::Options { check_audio: false },
            );
            let config = Arc::new(outcome.config.unwrap_or_else(|| panic!("{file} is valid")));
            for (t, tenant) in config.tenants.iter().enumerate() {
                for (i, _) in tenant.numbers.iter().enumerate() {
                    for wall in [
                        "2026-11-25T09:00:00Z",
                        "2026-11-28T20:00:00Z",
                        "2027-01-01T10:00:00Z",
                    ] {
                        let lines = simulate(
                            Arc::clone(&config),
                            t,
                            Entry::Number(i),
                            wall.parse().unwrap(),
                            Instant::now(),
                            &Script::default(),
                        );
                        let last = lines.last().map(|l| &l.moment);
                        assert!(
                            matches!(
                                last,
                                Some(Moment::Refused { .. } | Moment::Hangup(_) | Moment::RingsOn)
                            ),
                            "{file} {} at {wall}: {lines:?}",
                            tenant.numbers[i].number
                        );
                        played += 1;
                    }
                }
            }
        }
        assert!(played >= 12, "only {played} calls played");
    }

    #[test]
    fn after_hours_without_a_destination_plays_the_prompt() {
        // Saturday 19:00 in Moscow.
        let got = run("2026-11-28T16:00:00Z", Script::default());
        assert_eq!(
            got,
            [
                "0s AfterHours { opens: Some(2026-11-30T06:00:00Z) }",
                "0s PbxAnswers",
                "0s Play { sounds: [\"the after hours prompt\"], looped: false }",
                "5s Hangup(Closed)",
            ]
        );
    }

    const MENU: &str = r#"version: 1
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    max_users: 10
    voicemail: { min_length: 3s }
    staff:
      - { name: Maria, login: maria, extension: "201", voicemail_greeting: maria.wav }
    menus:
      - id: main
        prompt: prompts/main.wav
        dial_extensions: true
        options:
          "1": { staff: maria }
          "5": { voicemail: maria }
    numbers:
      - { number: "+74950000001", destination: { menu: main } }
"#;

    fn run_menu(script: Script) -> Vec<String> {
        let config = Arc::new(validate_text(MENU).unwrap());
        let wall = "2026-11-23T07:00:00Z".parse().unwrap();
        let lines = simulate(config, 0, Entry::Number(0), wall, Instant::now(), &script);
        lines
            .iter()
            .map(|l| format!("{}s {:?}", l.at.as_secs_f64(), l.moment))
            .collect()
    }

    #[test]
    fn keys_pressed_after_the_prompt_and_a_message_cut_short() {
        let script = Script {
            presses: vec![
                Press {
                    keys: "5".into(),
                    at: None,
                },
                Press {
                    keys: "#".into(),
                    at: Some(Duration::from_secs(13)),
                },
            ],
            ..Script::default()
        };
        let want = [
            "0s Menu(\"main\")",
            "0s PbxAnswers",
            "0s Play { sounds: [\"main.wav\"], looped: false }",
            "5s Press('5')",
            "5s MenuOption { menu: \"main\", key: '5' }",
            "5s Voicemail(\"maria\")",
            "5s Play { sounds: [\"maria.wav\", \"a beep\"], looped: false }",
            "11s Record(\"maria\")",
            "13s Press('#')",
            "13s StopRecording",
            "13s Recorded { duration: 2s, kept: false }",
            "13s Hangup(VoicemailEmpty)",
        ];
        assert_eq!(run_menu(script), want);
    }

    #[test]
    fn an_extension_dialled_during_the_prompt_and_a_menu_nobody_answers() {
        let script = Script {
            presses: vec![Press {
                keys: "201".into(),
                at: Some(Duration::from_secs(2)),
            }],
            answers: vec![("maria".into(), Duration::from_secs(3))],
            ..Script::default()
        };
        let want = [
            "0s Menu(\"main\")",
            "0s PbxAnswers",
            "0s Play { sounds: [\"main.wav\"], looped: false }",
            "2s Press('2')",
            "2s Play { sounds: [], looped: true }",
            "2s Press('0')",
            "2s Press('1')",
            "2s MenuExtension { menu: \"main\", to: \"maria\" }",
            "2s Play { sounds: [\"the ringback tone\"], looped: true }",
            "2s Ring(\"maria\")",
            "5s Answer(\"maria\")",
        ];
        assert_eq!(run_menu(script), want);
        // Nothing pressed: the prompt three times (repeat 2 by default, 5 s timeout), then
        // the PBX hangs up.
        let got = run_menu(Script::default());
        assert_eq!(
            got.last().map(String::as_str),
            Some("30s Hangup(MenuNoChoice)"),
            "{got:#?}"
        );
    }
}
