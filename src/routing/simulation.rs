//! `simulate`: one call played through a `Flow` on a virtual clock, with a script of who
//! answers, who refuses and who is away — "who rings, when, if someone calls this number on
//! Saturday at 19:00". It is the same flow the server runs; only the clock and the people are
//! made up. `pbx simulate` prints what it returns.

use super::action::{Action, Callee, Event, GiveUp, LegId, Presence, Refusal};
use super::flow::{Entry, Flow, Step};
use crate::config::model::{Config, StaffId, Strategy, Tenant};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a simulated call may last (a guard: every flow ends well before).
const LIMIT: Duration = Duration::from_secs(3600);

/// How the people behave. Names are logins, or numbers for outside numbers and mobiles.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// Who answers, after ringing for how long.
    pub answers: Vec<(String, Duration)>,
    /// Who refuses at once (busy).
    pub refuses: Vec<String>,
    /// Who has no phone registered (everyone else has).
    pub unregistered: Vec<String>,
    /// Who is on another call.
    pub busy: Vec<String>,
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
    let schedule = match entry {
        Entry::Number(i) => config.tenants[tenant].numbers[i].schedule,
        _ => None,
    };
    let (mut flow, first) = Flow::start(Arc::clone(&config), tenant, entry, t0, wall, &people);
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
    // Scripted answers and refusals, by when they happen.
    let mut pending: BTreeMap<(Duration, LegId), Event> = BTreeMap::new();
    let mut actions = first;
    let mut now = Duration::ZERO;
    loop {
        for action in actions.drain(..) {
            match action {
                Action::Ring { leg, callee } => {
                    // The steps that led here (a department, a transfer) come before its rings.
                    note_steps(&flow, &people, &mut seen, now, &mut lines);
                    let (name, keys) = callee_name(people.tenant, &callee);
                    lines.push(Line {
                        at: now,
                        moment: Moment::Ring(name),
                    });
                    if script.refuses.iter().any(|r| keys.contains(r)) {
                        pending.insert((now, leg), Event::Failed(leg, Refusal::Busy));
                    } else if let Some((_, after)) =
                        script.answers.iter().find(|(k, _)| keys.contains(k))
                    {
                        pending.insert((now + *after, leg), Event::Answered(leg));
                    }
                }
                Action::Cancel(leg) => {
                    pending.retain(|(_, l), _| *l != leg);
                    let name = flow.callee(leg).map(|c| callee_name(people.tenant, c).0);
                    lines.push(Line {
                        at: now,
                        moment: Moment::Cancel(name.unwrap_or_default()),
                    });
                }
                Action::Reject { refusal, why } => {
                    note_steps(&flow, &people, &mut seen, now, &mut lines);
                    lines.push(Line {
                        at: now,
                        moment: Moment::Refused { refusal, why },
                    });
                }
                // Media: the simulation learns them with the media issue's routing work.
                _ => {}
            }
        }
        if flow.is_done() {
            return lines;
        }
        let next_event = pending.keys().next().map(|(at, _)| *at);
        let deadline = flow.next_deadline().map(|d| d - t0);
        let event_first = match (next_event, deadline) {
            (Some(e), Some(d)) => e <= d,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let (at, event) = if let (true, Some((&key, _))) = (event_first, pending.iter().next()) {
            (key.0, pending.remove(&key).expect("it is there"))
        } else if let Some(d) = deadline {
            (d, Event::Tick)
        } else {
            lines.push(Line {
                at: now,
                moment: Moment::RingsOn,
            });
            return lines;
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
        match &event {
            Event::Answered(leg) => lines.push(Line {
                at: now,
                moment: Moment::Answer(name(leg)),
            }),
            Event::Failed(leg, _) => lines.push(Line {
                at: now,
                moment: Moment::Refuse(name(leg)),
            }),
            _ => {}
        }
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
    let steps = &flow.route().steps;
    for step in &steps[*seen..] {
        let moment = match step {
            Step::Department(d) => {
                let dept = &people.tenant.departments[d.0];
                Moment::Department {
                    id: dept.id.clone(),
                    strategy: dept.strategy,
                }
            }
            Step::Transferred => Moment::Transferred,
            Step::Forwarded => Moment::Forwarded,
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
            "60s Refused { refusal: Unavailable, why: VoicemailUnavailable }",
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

    /// Every number of every bundled config, at several times, with nobody answering: the
    /// call ends (refused, or an outside number left ringing) within the limit.
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
                            matches!(last, Some(Moment::Refused { .. } | Moment::RingsOn)),
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
    fn after_hours_without_a_destination_is_refused() {
        // Saturday 19:00 in Moscow.
        let got = run("2026-11-28T16:00:00Z", Script::default());
        assert_eq!(
            got,
            [
                "0s AfterHours { opens: Some(2026-11-30T06:00:00Z) }",
                "0s Refused { refusal: Unavailable, why: Closed }"
            ]
        );
    }
}
