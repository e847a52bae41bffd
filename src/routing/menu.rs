//! `VoiceMenu`: a caller in a self-service voice menu (IVR) — the prompt, the keys, the
//! repeats — until the caller has chosen where to go or the menu gives up. The flow has
//! answered the call; this machine plays the prompt and reads the keys, and says where the
//! call goes next (`MenuEnd`).
//!
//! - The prompt plays once; a key interrupts it (barge-in). After it ends the menu waits
//!   `timeout` for a key.
//! - A key that is an option goes to the option's destination at once.
//! - With `dial_extensions`, a key that is not an option but starts the extension of a staff
//!   member or department (as written in the config) begins an extension: further keys are
//!   collected, each within `INTER_DIGIT` of the one before. A complete extension that no longer
//!   one starts with is dialled at once; otherwise the extension is dialled when the caller
//!   pauses for `INTER_DIGIT` or presses `#`. An option key always wins over an extension's
//!   first digit (validation reports such collisions).
//! - No key within `timeout` (`NoInput`), or keys that are neither an option nor an extension
//!   (`Invalid`, answered with "invalid choice" and the prompt again), use up one of the menu's
//!   `repeat` replays: the prompt plays at most `1 + repeat` times in all, whatever made it
//!   repeat. When no replay is left, the menu gives up with what happened last: no input goes
//!   to `on_timeout`, invalid input to `on_invalid` (the flow hangs up when they are not set).

use super::action::{Action, Event};
use super::route::{MenuInput, NoChoice, Step};
use crate::config::model::{Destination, MenuId, Target, Tenant};
use crate::config::values::MenuDigit;
use crate::media::sound::{Builtin, Sound};
use std::time::{Duration, Instant};

/// How long the menu waits for the next key of an extension.
pub const INTER_DIGIT: Duration = Duration::from_secs(3);

/// How a menu ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuEnd {
    /// The caller chose: an option's destination, or an extension.
    Go(Destination),
    /// The replays ran out; the menu's `on_timeout` or `on_invalid` applies.
    NoChoice(NoChoice),
}

/// A caller in a voice menu.
#[derive(Clone, Debug)]
pub struct VoiceMenu {
    menu: MenuId,
    /// Replays of the prompt so far.
    replays: u32,
    state: State,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// The prompt (after a wrong key: "invalid choice" and the prompt) plays.
    Prompt,
    /// The prompt ended; a key is awaited until `until`.
    Waiting { until: Instant },
    /// Keys of an extension so far; the next is awaited until `until`.
    Extension { digits: String, until: Instant },
}

impl VoiceMenu {
    /// Plays the menu's prompt (the call is answered already).
    pub fn start(menu: MenuId, tenant: &Tenant, out: &mut Vec<Action>) -> VoiceMenu {
        out.push(Action::Play {
            sounds: vec![Sound::File(tenant.menus[menu.0].prompt.clone())],
            looped: false,
        });
        VoiceMenu {
            menu,
            replays: 0,
            state: State::Prompt,
        }
    }

    /// The menu the caller is in.
    pub fn id(&self) -> MenuId {
        self.menu
    }

    /// When the menu next has something to do on its own.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Prompt => None,
            State::Waiting { until } | State::Extension { until, .. } => Some(*until),
        }
    }

    /// Feeds one event in; records what the caller did in `steps`; `Some` when the menu is
    /// over.
    pub fn on_event(
        &mut self,
        event: &Event,
        now: Instant,
        tenant: &Tenant,
        steps: &mut Vec<Step>,
        out: &mut Vec<Action>,
    ) -> Option<MenuEnd> {
        let menu = &tenant.menus[self.menu.0];
        match (&mut self.state, event) {
            (State::Prompt, Event::PlayDone) => {
                self.state = State::Waiting {
                    until: now + menu.timeout,
                };
                None
            }
            (State::Prompt | State::Waiting { .. }, Event::Digit(key)) => {
                let option = MenuDigit::parse(&key.to_string())
                    .ok()
                    .filter(|k| menu.options.contains_key(k));
                if let Some(k) = option {
                    self.input(steps, MenuInput::Key(k));
                    return Some(MenuEnd::Go(menu.options[&k].clone()));
                }
                let digits = key.to_string();
                if menu.dial_extensions && starts_extension(tenant, &digits) {
                    // The prompt stops: silence (looped, so no `PlayDone`) while keys come.
                    out.push(Action::Play {
                        sounds: Vec::new(),
                        looped: true,
                    });
                    return self.extension(digits, now, tenant, steps, out);
                }
                self.invalid(digits, tenant, steps, out)
            }
            (State::Waiting { until }, Event::Tick) if now >= *until => {
                self.input(steps, MenuInput::NoInput);
                if self.replays < menu.repeat {
                    self.replays += 1;
                    self.play(vec![Sound::File(menu.prompt.clone())], out);
                    None
                } else {
                    self.give_up(NoChoice::NoInput, steps)
                }
            }
            (State::Extension { digits, .. }, Event::Digit('#')) => {
                let digits = std::mem::take(digits);
                self.dial(digits, tenant, steps, out)
            }
            (State::Extension { digits, .. }, Event::Digit(key)) => {
                let mut digits = std::mem::take(digits);
                digits.push(*key);
                self.extension(digits, now, tenant, steps, out)
            }
            (State::Extension { digits, until }, Event::Tick) if now >= *until => {
                let digits = std::mem::take(digits);
                self.dial(digits, tenant, steps, out)
            }
            _ => None,
        }
    }

    /// `digits` so far of an extension: dialled when complete and no longer one starts with
    /// them, invalid when no extension starts with them, otherwise the next key is awaited.
    fn extension(
        &mut self,
        digits: String,
        now: Instant,
        tenant: &Tenant,
        steps: &mut Vec<Step>,
        out: &mut Vec<Action>,
    ) -> Option<MenuEnd> {
        let longer =
            extensions(tenant).any(|(x, _)| x.len() > digits.len() && x.starts_with(&*digits));
        if !longer {
            return self.dial(digits, tenant, steps, out);
        }
        self.state = State::Extension {
            digits,
            until: now + INTER_DIGIT,
        };
        None
    }

    /// The caller finished an extension: dial it, or it is invalid.
    fn dial(
        &mut self,
        digits: String,
        tenant: &Tenant,
        steps: &mut Vec<Step>,
        out: &mut Vec<Action>,
    ) -> Option<MenuEnd> {
        let found = extensions(tenant)
            .find(|(x, _)| *x == digits)
            .map(|(_, t)| t);
        match found {
            Some(target) => {
                self.input(steps, MenuInput::Extension(target));
                Some(MenuEnd::Go(match target {
                    Target::Staff(s) => Destination::Staff(s),
                    Target::Department(d) => Destination::Department(d),
                }))
            }
            None => self.invalid(digits, tenant, steps, out),
        }
    }

    /// Keys that lead nowhere: "invalid choice" and the prompt again, or the menu gives up.
    fn invalid(
        &mut self,
        keys: String,
        tenant: &Tenant,
        steps: &mut Vec<Step>,
        out: &mut Vec<Action>,
    ) -> Option<MenuEnd> {
        self.input(steps, MenuInput::Invalid(keys));
        let menu = &tenant.menus[self.menu.0];
        if self.replays < menu.repeat {
            self.replays += 1;
            let sounds = vec![
                Sound::Builtin(Builtin::InvalidChoice),
                Sound::File(menu.prompt.clone()),
            ];
            self.play(sounds, out);
            None
        } else {
            self.give_up(NoChoice::Invalid, steps)
        }
    }

    fn play(&mut self, sounds: Vec<Sound>, out: &mut Vec<Action>) {
        self.state = State::Prompt;
        out.push(Action::Play {
            sounds,
            looped: false,
        });
    }

    fn input(&self, steps: &mut Vec<Step>, input: MenuInput) {
        steps.push(Step::MenuInput {
            menu: self.menu,
            input,
        });
    }

    fn give_up(&mut self, after: NoChoice, steps: &mut Vec<Step>) -> Option<MenuEnd> {
        self.state = State::Prompt;
        steps.push(Step::MenuNoChoice {
            menu: self.menu,
            after,
        });
        Some(MenuEnd::NoChoice(after))
    }
}

/// The extensions a caller may dial from a menu: staff members' and departments' as written
/// in the config (the ones the server generates are not known to routing).
fn extensions(tenant: &Tenant) -> impl Iterator<Item = (&str, Target)> {
    let staff = tenant.staff.iter().enumerate().filter_map(|(i, s)| {
        s.extension
            .as_ref()
            .map(|x| (x.as_str(), Target::Staff(crate::config::model::StaffId(i))))
    });
    let departments = tenant.departments.iter().enumerate().filter_map(|(i, d)| {
        d.extension.as_ref().map(|x| {
            (
                x.as_str(),
                Target::Department(crate::config::model::DepartmentId(i)),
            )
        })
    });
    staff.chain(departments)
}

/// Whether some extension starts with `digits`.
fn starts_extension(tenant: &Tenant, digits: &str) -> bool {
    extensions(tenant).any(|(x, _)| x.starts_with(digits))
}
