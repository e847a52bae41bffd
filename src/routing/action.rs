//! The vocabulary between routing and the SIP engine: the events a call's flow is fed
//! (`Event`: legs answering or failing, time passing, the caller's keys, the end of what the
//! PBX played or recorded), what it asks the engine to do (`Action`: ring and cancel legs,
//! refuse the call, serve the caller's audio — early media, answer, play, record — and hang
//! up), and what it asks about the staff (`Presence`). A flow never sees a SIP message or an
//! audio sample; the engine never decides who rings or what the caller hears.

use super::number::Dialled;
use crate::config::model::{DepartmentId, StaffId, Target};
use crate::config::values::E164;
use crate::media::sound::Sound;
use std::time::Duration;

/// One thing the flow rang: a person's phones, or a number through the trunk. The engine may
/// carry a leg as several SIP dialogs (one per registered phone); to the flow it is one leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LegId(pub u32);

/// Who a leg rings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Callee {
    /// Every registered phone of a staff member.
    Devices(StaffId),
    /// A person's mobile (their forwarding), through the tenant's trunk.
    Mobile(StaffId, E164),
    /// An external number (a no-answer forward, or a number dialled out), through the trunk.
    External(Dialled),
}

/// Why a leg ended without answering — and what the caller is told when the whole call
/// ends that way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 486/600: the person is on another call.
    Busy,
    /// 603: the person declined.
    Declined,
    /// Anything else: not registered, no route, an error, a timeout.
    Unavailable,
}

/// What happened to the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A leg answered. The engine has connected the caller to it.
    Answered(LegId),
    /// A leg ended without answering (never for legs the flow cancelled).
    Failed(LegId, Refusal),
    /// Time passed: the engine calls this at (or after) `next_deadline`.
    Tick,
    /// The caller pressed a key (`0`-`9`, `*`, `#`, `A`-`D`), reported once whichever way it
    /// came (RFC 4733, SIP INFO, in-band). Only while the PBX serves the caller's audio.
    Digit(char),
    /// What `Play` asked for has played to its end (never for a looped play, nor for one
    /// replaced by another `Play`).
    PlayDone,
    /// A recording `Record` started has ended (the caller was silent, reached the maximum
    /// length, or the flow sent `StopRecording` — it does on `#`); `kept` is false when it was
    /// shorter than the minimum and discarded.
    Recorded { duration: Duration, kept: bool },
}

/// Why a call ends unanswered (refused, or — after the PBX answered — hung up by `Reject`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// The config says hang up (before the PBX answered the call).
    Hangup,
    /// An external number could not be reached (no trunk, or the trunk refused).
    ExternalFailed,
    /// Transfers went round more than the limit (validation forbids loops; a guard anyway).
    TooManySteps,
}

impl GiveUp {
    /// Why the call ended unanswered, in words (history records, logs, `pbx simulate`).
    pub fn reason(&self) -> &'static str {
        match self {
            GiveUp::Hangup => "the config says to hang up",
            GiveUp::ExternalFailed => "the external number could not be reached",
            GiveUp::TooManySteps => "too many transfers",
        }
    }
}

/// What the engine must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start ringing `callee` on a new leg.
    Ring { leg: LegId, callee: Callee },
    /// Stop ringing a leg (CANCEL).
    Cancel(LegId),
    /// End the call unanswered: the caller is told `refusal` (the engine maps it to a SIP
    /// status), and `why`. After `Answer`, the call is hung up instead.
    Reject { refusal: Refusal, why: GiveUp },
    /// Early media: the caller gets 183 with the PBX's audio, and hears what `Play` plays,
    /// while legs ring. A leg that answers is connected at once.
    EarlyMedia,
    /// The PBX answers the caller itself (200); the caller hears what `Play` plays and its
    /// keys come in as `Digit`s. A leg that answers later is connected at once.
    Answer,
    /// Plays `sounds` to the caller in order, once (then `PlayDone`) or looped, replacing what
    /// played before; an empty list is silence (looped: until the next `Play`, without a
    /// `PlayDone` — how the flow stops a prompt a key interrupted). Needs `EarlyMedia` or
    /// `Answer` first. Routing never assumes how long a sound lasts: it waits for `PlayDone`.
    Play { sounds: Vec<Sound>, looped: bool },
    /// Records the caller into `mailbox` (after `Answer`, once nothing plays), with the
    /// tenant's voicemail limits (maximum length, silence, minimum length); ends with
    /// `Recorded`. The caller's keys still come in as `Digit`s (`#` makes the flow send
    /// `StopRecording`).
    Record { mailbox: Target },
    /// Ends the recording now (the recording so far is kept if long enough); then `Recorded`.
    /// Ignored when the recording has ended already.
    StopRecording,
    /// Ends an answered call (BYE); `why` goes into the history.
    Hangup { why: Ended },
    /// Puts a callback in `department`'s queue: `number` is called back (the caller ordered
    /// it; the engine keeps one entry per caller and department).
    OrderCallback {
        department: DepartmentId,
        number: E164,
    },
}

/// Why the PBX hung up a call it answered itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// A voicemail message was left.
    VoicemailLeft,
    /// The caller reached voicemail but left nothing (or too short).
    VoicemailEmpty,
    /// The after-hours prompt played.
    Closed,
    /// A voice menu got no usable answer, with nowhere configured to go.
    MenuNoChoice,
    /// The config says hang up.
    Hangup,
    /// The caller ordered a callback.
    CallbackOrdered,
    /// The caller chose a callback but confirmed no number.
    CallbackNotOrdered,
    /// A callback: no member of the department answered.
    CallbackNoMember,
    /// A callback: the caller's number did not answer (or could not be called).
    CallbackUnreachable,
    /// A callback: the member hung up before the caller answered.
    CallbackAbandoned,
}

impl Ended {
    /// In words, for history records, logs and `pbx simulate`.
    pub fn reason(self) -> &'static str {
        match self {
            Ended::VoicemailLeft => "the caller left a voicemail",
            Ended::VoicemailEmpty => "the caller reached voicemail and left no message",
            Ended::Closed => "outside working hours: the after-hours prompt played",
            Ended::MenuNoChoice => "the voice menu got no valid choice",
            Ended::Hangup => "the config says to hang up",
            Ended::CallbackOrdered => "the caller ordered a callback",
            Ended::CallbackNotOrdered => "the caller chose a callback but confirmed no number",
            Ended::CallbackNoMember => "no member of the department answered the callback",
            Ended::CallbackUnreachable => "the caller's number did not answer the callback",
            Ended::CallbackAbandoned => "the member hung up before the caller answered",
        }
    }
}

/// What the flow asks about staff when it decides who rings.
pub trait Presence {
    /// Whether the person has at least one registered phone.
    fn registered(&self, staff: StaffId) -> bool;
    /// Whether the person is on a call now.
    fn busy(&self, staff: StaffId) -> bool;
    /// When the person last received (answered) a call, in ms since the epoch; `None` if never.
    fn last_call(&self, staff: StaffId) -> Option<u64>;
}
