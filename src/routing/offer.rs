//! `Offer`: the "for impatient callers" offer on a department's hunt — after `after` of
//! waiting, the caller hears the offer (the tenant's or the department's prompt) while the
//! members keep ringing, and may press the callback digit, the wait digit or the voicemail
//! digit. The flow answers the call before the first offer (keys need an answered call on most
//! phones) and carries out the choice; this machine keeps the timing and reads the keys.
//!
//! - The first offer plays `after` from when the department started ringing (the greeting, if
//!   any, is replaced by it).
//! - When it ends, or on the wait digit, the caller hears the ringback tone again; with
//!   `repeat`, the offer plays again `repeat` after it ended, at most `max_offers` times.
//! - Once the offer was heard, the choice keys work until the call ends (also between offers);
//!   before it, keys are ignored. Other keys are ignored.
//! - A member answering at any moment is the hunt's business: the caller is bridged at once.

use super::action::{Action, Event};
use crate::config::model::ImpatientCallers;
use crate::media::sound::{Builtin, Sound, Tone};
use std::time::Instant;

/// What the caller chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Order a callback (the department's members stop ringing).
    Callback,
    /// Leave a voicemail in the department's box.
    Voicemail,
}

/// The offer's timing on one call.
#[derive(Clone, Debug)]
pub struct Offer {
    rules: ImpatientCallers,
    /// Offers played so far.
    made: u32,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The next offer plays at this instant.
    Waiting(Instant),
    /// The offer plays.
    Playing,
    /// No more offers (the caller may still choose, once one was heard).
    Over,
}

impl Offer {
    /// The offer of `rules`, for a caller who started waiting `now`.
    pub fn new(rules: &ImpatientCallers, now: Instant) -> Offer {
        Offer {
            rules: rules.clone(),
            made: 0,
            state: State::Waiting(now + rules.after),
        }
    }

    /// When the next offer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Waiting(at) => Some(at),
            State::Playing | State::Over => None,
        }
    }

    /// Whether an offer is due at `now` (the flow answers the call, then calls `play`).
    pub fn due(&self, now: Instant) -> bool {
        matches!(self.state, State::Waiting(at) if at <= now)
    }

    /// Whether the offer is playing now.
    pub fn playing(&self) -> bool {
        self.state == State::Playing
    }

    /// Plays the offer.
    pub fn play(&mut self, out: &mut Vec<Action>) {
        self.made += 1;
        self.state = State::Playing;
        let prompt = match &self.rules.prompt {
            Some(file) => Sound::File(file.clone()),
            None => Sound::Builtin(Builtin::ImpatientOffer),
        };
        out.push(Action::Play {
            sounds: vec![prompt],
            looped: false,
        });
    }

    /// Feeds a key or the end of the offer's prompt in; `Some` when the caller chose to leave
    /// the queue. Keeping on waiting brings the ringback tone back.
    pub fn on_event(
        &mut self,
        event: &Event,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> Option<Choice> {
        match *event {
            Event::PlayDone if self.state == State::Playing => {
                self.wait_again(now, out);
                None
            }
            Event::Digit(key) if self.made > 0 => {
                if key == self.rules.callback_digit.as_char() {
                    Some(Choice::Callback)
                } else if key == self.rules.voicemail_digit.as_char() {
                    Some(Choice::Voicemail)
                } else {
                    if key == self.rules.wait_digit.as_char() && self.state == State::Playing {
                        self.wait_again(now, out);
                    }
                    None
                }
            }
            _ => None,
        }
    }

    /// Back to the ringback tone; the next offer scheduled if one is left.
    fn wait_again(&mut self, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::Play {
            sounds: vec![Sound::Tone(Tone::Ringback)],
            looped: true,
        });
        self.state = match self.rules.repeat {
            Some(every) if self.made < self.rules.max_offers => State::Waiting(now + every),
            _ => State::Over,
        };
    }
}
