//! `Route`: what a call went through on its way through the config — the number, the steps
//! (departments, transfers, forwards, menus and the keys pressed, voicemail), who answered and
//! how it ended — kept by the `Flow` and read for the call's history record.

use super::action::{Callee, Ended, GiveUp};
use crate::config::model::{DepartmentId, MenuId, Target};
use crate::config::values::{MenuDigit, E164};

/// How the call reached whoever answered it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Via {
    /// The destination itself.
    #[default]
    Direct,
    /// After a no-answer transfer to another person or department.
    Transferred,
    /// After a no-answer forward to an external number.
    Forwarded,
}

/// What the call went through, for its history record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// The company number called.
    pub number: Option<E164>,
    /// Outside the number's working hours.
    pub after_hours: bool,
    /// Who answered.
    pub answered: Option<Callee>,
    pub via: Via,
    /// Why the call ended unanswered, when it did.
    pub gave_up: Option<GiveUp>,
    /// Why the PBX hung up a call it answered itself, when it did.
    pub ended: Option<Ended>,
    /// What it went through, in order.
    pub steps: Vec<Step>,
}

impl Route {
    /// The departments the call rang, in order.
    pub fn departments(&self) -> impl Iterator<Item = DepartmentId> + '_ {
        self.steps.iter().filter_map(|s| match s {
            Step::Department(d) => Some(*d),
            _ => None,
        })
    }

    /// The voicemail box the call reached, if it did (whether a message was left: `ended`).
    pub fn voicemail(&self) -> Option<Target> {
        self.steps.iter().rev().find_map(|s| match s {
            Step::Voicemail(t) => Some(*t),
            _ => None,
        })
    }
}

/// A step of a call's way through the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A department started ringing.
    Department(DepartmentId),
    /// Nobody answered: transferred to a person or department.
    Transferred,
    /// Nobody answered: forwarded to a number outside.
    Forwarded,
    /// The number's greeting played instead of the ringback tone.
    Greeting,
    /// Outside working hours: the after-hours prompt played (the PBX hangs up after it).
    AfterHoursPrompt,
    /// A voice menu's prompt started (each time the call enters the menu).
    Menu(MenuId),
    /// What the caller did in a voice menu.
    MenuInput { menu: MenuId, input: MenuInput },
    /// A voice menu's replays ran out without a choice: its `on_timeout` or `on_invalid`
    /// follows (the PBX hangs up when there is none).
    MenuNoChoice { menu: MenuId, after: NoChoice },
    /// The call reached a voicemail box.
    Voicemail(Target),
    /// The caller chose from the impatient-caller offer: a callback or voicemail.
    OfferChoice(super::offer::Choice),
}

/// What a caller did in a voice menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuInput {
    /// Pressed an option's key: the call goes where the option says.
    Key(MenuDigit),
    /// Dialled the extension of a person or department (`dial_extensions`).
    Extension(Target),
    /// Pressed nothing within the menu's timeout.
    NoInput,
    /// Pressed keys that are neither an option nor an extension.
    Invalid(String),
}

/// How a voice menu ran out of replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoChoice {
    /// The caller pressed nothing (last): `on_timeout`.
    NoInput,
    /// The caller pressed something invalid (last): `on_invalid`.
    Invalid,
}
