//! `CallbackOrder`: a caller who pressed the callback digit ordering their callback — the
//! number that will be called read back, confirmed or replaced, then the order placed and the
//! PBX hanging up. The flow has answered the call and stopped what rang.
//!
//! - The caller's own number (their caller ID, in E.164 once read with the tenant's dial plan)
//!   is read back digit by digit in the tenant's national form: "We will call you back at the
//!   number 8 9 1 6 ... To confirm, press 1. To give another number, press 2." A caller
//!   without a usable caller ID (anonymous, or a number the tenant may not call) is asked for
//!   a number straight away.
//! - `1` confirms: the order is placed (`Action::OrderCallback`), "we will call you back"
//!   plays and the PBX hangs up. `2` asks for another number: digits, ended by `#` or a pause
//!   of `INTER_DIGIT`; a number that is not one, or one the tenant's `outbound` rules do not
//!   allow, gets "invalid choice" and the question again; a good one is read back to confirm.
//! - No answer to a question within `WAIT` asks it again, at most `TRIES` times in all; then
//!   the PBX hangs up without ordering anything (`Ended::CallbackNotOrdered`).

use super::action::{Action, Ended, Event};
use crate::config::model::DepartmentId;
use crate::config::outbound::Outbound;
use crate::config::values::E164;
use crate::media::sound::{Builtin, Sound};
use std::time::{Duration, Instant};

/// How long a question waits for the caller's key (after its prompt ended).
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a number being keyed waits for its next digit.
pub const INTER_DIGIT: Duration = Duration::from_secs(5);
/// How many times a question is asked before the PBX gives up.
pub const TRIES: u32 = 3;
/// The longest number a caller may key (E.164 has at most 15 digits, plus prefixes).
const MAX_DIGITS: usize = 18;

/// A caller ordering a callback.
#[derive(Clone, Debug)]
pub struct CallbackOrder {
    department: DepartmentId,
    /// The number read back last (to be confirmed).
    number: Option<E164>,
    /// Times the current question was asked.
    asked: u32,
    state: State,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// "We will call you back at ... press 1 / press 2" plays; then `Confirm`.
    ReadBack,
    /// The read-back ended; a key is awaited until then.
    Confirm(Instant),
    /// "Enter the number" plays (or played, with `until` set): digits so far.
    Entering {
        digits: String,
        until: Option<Instant>,
    },
    /// The order is placed; "we will call you back" plays, then the PBX hangs up.
    Placed,
}

impl CallbackOrder {
    /// Starts the dialogue for a callback from `department` to `from` (the caller's number as
    /// presented, if any), read with the tenant's dial plan.
    pub fn start(
        department: DepartmentId,
        from: Option<&str>,
        outbound: &Outbound,
        out: &mut Vec<Action>,
    ) -> CallbackOrder {
        let number = from
            .and_then(|n| caller_number(outbound, n))
            .filter(|n| outbound.check(n.as_str()).is_ok());
        let mut order = CallbackOrder {
            department,
            number: None,
            asked: 0,
            state: State::ReadBack,
        };
        match number {
            Some(n) => order.read_back(n, outbound, out),
            None => order.ask_number(out),
        }
        order
    }

    /// When the dialogue next has something to do on its own.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Confirm(until) => Some(until),
            State::Entering { until, .. } => until,
            State::ReadBack | State::Placed => None,
        }
    }

    /// Feeds one event in; `Some` when the PBX hung up (the actions say so).
    pub fn on_event(
        &mut self,
        event: &Event,
        now: Instant,
        outbound: &Outbound,
        out: &mut Vec<Action>,
    ) -> Option<Ended> {
        let state = self.state.clone();
        match (state, event) {
            (State::Placed, Event::PlayDone) => {
                out.push(Action::Hangup {
                    why: Ended::CallbackOrdered,
                });
                Some(Ended::CallbackOrdered)
            }
            (State::Placed, _) => None,
            (State::ReadBack | State::Confirm(_), Event::Digit('1')) => {
                let number = self.number.clone()?;
                out.push(Action::OrderCallback {
                    department: self.department,
                    number,
                });
                out.push(Action::Play {
                    sounds: vec![Sound::Builtin(Builtin::CallbackConfirmed)],
                    looped: false,
                });
                self.state = State::Placed;
                None
            }
            (State::ReadBack | State::Confirm(_), Event::Digit('2')) => {
                self.asked = 0;
                self.ask_number(out);
                None
            }
            (State::ReadBack, Event::PlayDone) => {
                self.state = State::Confirm(now + WAIT);
                None
            }
            (State::Confirm(until), Event::Tick) if now >= until => {
                let number = self.number.clone()?;
                self.again(out, |order, out| order.read_back(number, outbound, out))
            }
            (State::Entering { digits, .. }, Event::PlayDone) if digits.is_empty() => {
                self.state = State::Entering {
                    digits,
                    until: Some(now + WAIT),
                };
                None
            }
            (State::Entering { mut digits, .. }, Event::Digit(d)) if d.is_ascii_digit() => {
                if digits.is_empty() {
                    // The prompt stops when the caller starts keying.
                    out.push(Action::Play {
                        sounds: Vec::new(),
                        looped: true,
                    });
                }
                if digits.len() < MAX_DIGITS {
                    digits.push(*d);
                }
                self.state = State::Entering {
                    digits,
                    until: Some(now + INTER_DIGIT),
                };
                None
            }
            (State::Entering { digits, .. }, Event::Digit('#')) if !digits.is_empty() => {
                self.keyed(&digits, outbound, out);
                None
            }
            (State::Entering { digits, until }, Event::Tick) if until.is_some_and(|u| now >= u) => {
                if digits.is_empty() {
                    self.again(out, |order, out| order.ask_number(out))
                } else {
                    self.keyed(&digits, outbound, out);
                    None
                }
            }
            _ => None,
        }
    }

    /// The caller keyed `digits`: read back when they make a number the tenant may call,
    /// asked again otherwise.
    fn keyed(&mut self, digits: &str, outbound: &Outbound, out: &mut Vec<Action>) {
        let number = keyed_number(outbound, digits).filter(|n| outbound.check(n.as_str()).is_ok());
        match number {
            Some(n) => {
                self.asked = 0;
                self.read_back(n, outbound, out);
            }
            None => {
                out.push(Action::Play {
                    sounds: vec![
                        Sound::Builtin(Builtin::InvalidChoice),
                        Sound::Builtin(Builtin::CallbackEnter),
                    ],
                    looped: false,
                });
                self.state = State::Entering {
                    digits: String::new(),
                    until: None,
                };
            }
        }
    }

    /// Asks the current question again, or gives up after `TRIES`.
    fn again(
        &mut self,
        out: &mut Vec<Action>,
        ask: impl FnOnce(&mut CallbackOrder, &mut Vec<Action>),
    ) -> Option<Ended> {
        if self.asked >= TRIES {
            out.push(Action::Hangup {
                why: Ended::CallbackNotOrdered,
            });
            self.state = State::Placed;
            return Some(Ended::CallbackNotOrdered);
        }
        ask(self, out);
        None
    }

    fn read_back(&mut self, number: E164, outbound: &Outbound, out: &mut Vec<Action>) {
        self.asked += 1;
        let mut sounds = vec![Sound::Builtin(Builtin::CallbackNumber)];
        sounds.extend(spoken(&number, outbound));
        sounds.push(Sound::Builtin(Builtin::CallbackConfirm));
        out.push(Action::Play {
            sounds,
            looped: false,
        });
        self.number = Some(number);
        self.state = State::ReadBack;
    }

    fn ask_number(&mut self, out: &mut Vec<Action>) {
        self.asked += 1;
        out.push(Action::Play {
            sounds: vec![Sound::Builtin(Builtin::CallbackEnter)],
            looped: false,
        });
        self.state = State::Entering {
            digits: String::new(),
            until: None,
        };
    }
}

/// A number's digits read out, in the tenant's national form when it is in the tenant's
/// country (`+79161234567` in Russia: 8 9 1 6 ...), else after the `+`.
pub fn spoken(number: &E164, outbound: &Outbound) -> Vec<Sound> {
    let n = number.as_str();
    let national = outbound
        .plan
        .and_then(|p| Some(format!("{}{}", p.national, n.strip_prefix(p.code)?)));
    national
        .as_deref()
        .unwrap_or(&n[1..])
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|d| Sound::Builtin(Builtin::Digit(d - b'0')))
        .collect()
}

/// The number an outside caller presented, in E.164: as it is with a `+`; digits after the
/// tenant's international prefix, or after its national prefix, or beginning with its calling
/// code and as long as its numbers are, read accordingly; other digits as a national number.
pub fn caller_number(outbound: &Outbound, presented: &str) -> Option<E164> {
    let digits = presented.trim();
    if digits.starts_with('+') {
        return E164::parse(digits).ok();
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() {
        return None;
    }
    let plan = outbound.plan?;
    let code = &plan.code[1..];
    // A number already with its calling code, as many gateways present it (`79161234567`).
    let with_code = format!("+{digits}");
    if digits.starts_with(code)
        && !plan.international.iter().any(|p| digits.starts_with(p))
        && (plan.national.is_empty() || !digits.starts_with(plan.national))
        && E164::parse(&with_code).is_ok()
        && digits.len() >= 11
    {
        return E164::parse(&with_code).ok();
    }
    keyed_number(outbound, digits)
}

/// Digits a caller keyed, in E.164 with the tenant's dial plan: after an international prefix,
/// after the national prefix, or whole as a national number.
pub fn keyed_number(outbound: &Outbound, digits: &str) -> Option<E164> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    outbound
        .readings(digits)
        .into_iter()
        .next()
        .and_then(|n| E164::parse(&n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_numbers_are_read_in_e164() {
        let ru = Outbound::default();
        for (presented, e164) in [
            ("+79161234567", Some("+79161234567")),
            ("79161234567", Some("+79161234567")),
            ("89161234567", Some("+79161234567")),
            ("81049301234567", Some("+49301234567")),
            ("4951234567", Some("+74951234567")),
            ("anonymous", None),
            ("", None),
        ] {
            assert_eq!(
                caller_number(&ru, presented).map(|n| n.as_str().to_string()),
                e164.map(str::to_string),
                "{presented}"
            );
        }
    }

    #[test]
    fn numbers_are_spoken_in_national_form() {
        let ru = Outbound::default();
        let digits = |n: &str| -> String {
            spoken(&E164::parse(n).unwrap(), &ru)
                .iter()
                .map(|s| match s {
                    Sound::Builtin(Builtin::Digit(d)) => char::from(b'0' + d),
                    _ => '?',
                })
                .collect()
        };
        assert_eq!(digits("+79161234567"), "89161234567");
        assert_eq!(digits("+49301234567"), "49301234567");
    }
}
