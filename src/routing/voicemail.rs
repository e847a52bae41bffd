//! `Voicemail`: a caller leaving a message in a box — the box's greeting, then the recording,
//! then the PBX hangs up. The flow has already cancelled what rang and answered the call; this
//! machine owns what follows.
//!
//! The greeting is the box owner's own recording followed by a beep when the person or
//! department has a `voicemail_greeting`, otherwise the built-in greeting (which ends with its
//! own beep; the media side plays the tenant's `prompts.voicemail_greeting` instead when there
//! is one). `#` during the greeting skips to the recording (other keys are ignored); `#`
//! during the recording ends it. The engine ends a recording by the tenant's limits (maximum
//! length, silence) and reports `Recorded`; `kept` says whether a message was left.

use super::action::{Action, Ended, Event};
use crate::config::model::{Target, Tenant};
use crate::media::sound::{Builtin, Sound, Tone};

/// A caller in a voicemail box.
#[derive(Clone, Debug)]
pub struct Voicemail {
    mailbox: Target,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The greeting plays; `PlayDone` starts the recording.
    Greeting,
    /// The caller is being recorded; `Recorded` ends the call.
    Recording,
}

impl Voicemail {
    /// Plays `mailbox`'s greeting (the call is answered already).
    pub fn start(mailbox: Target, tenant: &Tenant, out: &mut Vec<Action>) -> Voicemail {
        out.push(Action::Play {
            sounds: greeting(tenant, mailbox),
            looped: false,
        });
        Voicemail {
            mailbox,
            state: State::Greeting,
        }
    }

    /// The box the caller is in.
    pub fn mailbox(&self) -> Target {
        self.mailbox
    }

    /// Feeds one event in; `Some` when the PBX hung up (the actions say so).
    pub fn on_event(&mut self, event: &Event, out: &mut Vec<Action>) -> Option<Ended> {
        match (self.state, event) {
            (State::Greeting, Event::Digit('#')) => {
                // The rest of the greeting is skipped: silence (looped, so no `PlayDone`).
                out.push(Action::Play {
                    sounds: Vec::new(),
                    looped: true,
                });
                self.record(out);
                None
            }
            (State::Greeting, Event::PlayDone) => {
                self.record(out);
                None
            }
            (State::Recording, Event::Digit('#')) => {
                out.push(Action::StopRecording);
                None
            }
            (State::Recording, Event::Recorded { kept, .. }) => {
                let why = if *kept {
                    Ended::VoicemailLeft
                } else {
                    Ended::VoicemailEmpty
                };
                out.push(Action::Hangup { why });
                Some(why)
            }
            _ => None,
        }
    }

    fn record(&mut self, out: &mut Vec<Action>) {
        self.state = State::Recording;
        out.push(Action::Record {
            mailbox: self.mailbox,
        });
    }
}

/// What a caller of `mailbox` hears before the recording.
pub fn greeting(tenant: &Tenant, mailbox: Target) -> Vec<Sound> {
    let own = match mailbox {
        Target::Staff(s) => tenant.staff[s.0].voicemail_greeting.as_ref(),
        Target::Department(d) => tenant.departments[d.0].voicemail_greeting.as_ref(),
    };
    match own {
        Some(file) => vec![Sound::File(file.clone()), Sound::Tone(Tone::Beep)],
        None => vec![Sound::Builtin(Builtin::VoicemailGreeting)],
    }
}
