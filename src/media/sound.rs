//! What a caller the PBX serves can hear, as data: a built-in prompt (in the tenant's
//! language, or the tenant's replacement), an audio file named in the config, or a tone. Routing
//! asks for sounds by these names; the media side turns them into audio (`prompt`, `tone`).

use std::path::PathBuf;

/// The prompts the product ships, in every language it speaks (`assets/prompts/<lang>/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builtin {
    /// "Please leave a message after the tone." (the tone is part of it)
    VoicemailGreeting,
    /// "We are closed now..."
    AfterHours,
    /// "Sorry, that is not a valid choice."
    InvalidChoice,
    /// "Please hold..."
    PleaseHold,
    /// The impatient-caller offer.
    ImpatientOffer,
    /// "We will call you back."
    CallbackConfirmed,
    /// "We will call you back at the number" (its digits follow).
    CallbackNumber,
    /// "To confirm, press 1. To give another number, press 2."
    CallbackConfirm,
    /// "Please enter the number to call you back at, then press the hash key."
    CallbackEnter,
    /// To the member who took a callback: "A callback to a customer who waited. Calling the
    /// number" (its digits follow).
    CallbackAnnounce,
    /// A digit read out, 0–9.
    Digit(u8),
}

impl Builtin {
    /// Every built-in prompt.
    pub const ALL: [Builtin; 20] = [
        Builtin::VoicemailGreeting,
        Builtin::AfterHours,
        Builtin::InvalidChoice,
        Builtin::PleaseHold,
        Builtin::ImpatientOffer,
        Builtin::CallbackConfirmed,
        Builtin::CallbackNumber,
        Builtin::CallbackConfirm,
        Builtin::CallbackEnter,
        Builtin::CallbackAnnounce,
        Builtin::Digit(0),
        Builtin::Digit(1),
        Builtin::Digit(2),
        Builtin::Digit(3),
        Builtin::Digit(4),
        Builtin::Digit(5),
        Builtin::Digit(6),
        Builtin::Digit(7),
        Builtin::Digit(8),
        Builtin::Digit(9),
    ];

    /// The file name (without `.wav`) in `assets/prompts/<lang>/`.
    pub fn file_stem(self) -> String {
        match self {
            Builtin::VoicemailGreeting => "voicemail_greeting".into(),
            Builtin::AfterHours => "after_hours".into(),
            Builtin::InvalidChoice => "invalid_choice".into(),
            Builtin::PleaseHold => "please_hold".into(),
            Builtin::ImpatientOffer => "impatient_offer".into(),
            Builtin::CallbackConfirmed => "callback_confirmed".into(),
            Builtin::CallbackNumber => "callback_number".into(),
            Builtin::CallbackConfirm => "callback_confirm".into(),
            Builtin::CallbackEnter => "callback_enter".into(),
            Builtin::CallbackAnnounce => "callback_announce".into(),
            Builtin::Digit(d) => format!("digit_{d}"),
        }
    }
}

/// A tone the PBX generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tone {
    /// The ringback tone of the tenant's country (Russia: 425 Hz, 1 s on, 4 s off).
    Ringback,
    /// A short beep (1 kHz, 0.3 s), before a recording.
    Beep,
}

/// One thing to play.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Sound {
    Builtin(Builtin),
    /// A file named in the config (a menu's prompt, a number's greeting, a box's greeting),
    /// resolved against the config's directory.
    File(PathBuf),
    Tone(Tone),
}
