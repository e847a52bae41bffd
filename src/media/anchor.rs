//! The seam between call control and media, as data: the port pairs a call's audio is anchored
//! at (`PortPair`, taken from a pool of pre-bound sockets through `Ports`), the commands the
//! engine gives the media driver (`MediaCommand`) and what the driver reports back
//! (`MediaEvent`). The engine never binds a socket or spawns a task: it takes a pair that is
//! already bound, says what to do with it, and hears of the outcome as an input.
//!
//! A relay's caller side can be served by the PBX instead of relayed: `Serve` turns it into an
//! endpoint (`endpoint::Endpoint`) that plays what `Play` asks, records what `Record` asks and
//! hears the caller's keys; `Bridge` turns it back into a relay, on the same ports — so the
//! caller goes from a greeting to ringback to the person who answered without a re-INVITE.

use super::dtmf::Via;
use super::endpoint::{Codec, Limits};
use super::prompt::Audio;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// One call's relay: a pair of ports, one facing each party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelayId(pub u64);

/// A party of a call, as the relay sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Caller,
    Callee,
}

/// A pre-bound pair of ports: the addresses (as announced in SDP) the caller and the callee
/// send their audio to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortPair {
    pub id: RelayId,
    pub caller: SocketAddr,
    pub callee: SocketAddr,
}

/// Where the engine takes port pairs from (the relay driver's pool; a fake in tests). Taking
/// one is a memory operation: the sockets were bound beforehand.
pub trait Ports: Send + Sync {
    /// A pair for a new call, or `None` when none is ready.
    fn take(&self) -> Option<PortPair>;
}

/// What the engine asks of the media driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaCommand {
    /// Start relaying on a pair the engine took.
    Start(RelayId),
    /// `side` asked (in its SDP) for audio at `addr`: send there until its own packets show
    /// where it really is (symmetric RTP).
    Expect {
        relay: RelayId,
        side: Side,
        addr: SocketAddr,
    },
    /// `side`'s audio is now wanted at `addr` (the device that answered after another played
    /// early media, or a re-INVITE moving the media): send there and learn it anew.
    Repoint {
        relay: RelayId,
        side: Side,
        addr: SocketAddr,
    },
    /// Stop and free the pair; the driver answers `MediaEvent::Closed` (after `Recorded`, when
    /// a recording was running).
    Close(RelayId),
    /// The PBX serves the caller's side from now on, in `codec`: the caller hears silence until
    /// `Play`; what the callee side sends is not passed to the caller.
    Serve { relay: RelayId, codec: Codec },
    /// Plays `clips` to the served caller, in order, once (then `MediaEvent::PlayDone`) or
    /// looped, replacing what played.
    Play {
        relay: RelayId,
        clips: Vec<Clip>,
        looped: bool,
    },
    /// Records the served caller into a voicemail box (then `MediaEvent::Recorded`).
    Record {
        relay: RelayId,
        limits: Limits,
        into: Box<Mailbox>,
    },
    /// Ends the recording now.
    StopRecording(RelayId),
    /// The caller's side is relayed again (someone answered): their audio reaches each other.
    Bridge(RelayId),
    /// `side` speaks SRTP (it offered it, RFC 4568): its packets are unprotected with its
    /// key, what goes to it is protected with ours, from now on.
    Secure {
        relay: RelayId,
        side: Side,
        keys: Box<SrtpKeys>,
    },
}

/// One side's SRTP keys, as the SDP `a=crypto` lines gave them.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: super::srtp::Suite,
    /// The party's master key and salt: what it protects its packets with.
    pub remote: [u8; super::srtp::KEY_LEN],
    /// Ours: what the packets to it are protected with.
    pub local: [u8; super::srtp::KEY_LEN],
}

impl std::fmt::Debug for SrtpKeys {
    /// Keys are never written to a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SrtpKeys({:?})", self.suite)
    }
}

/// A sound ready to play, compared by identity (the same prompt of the same config).
#[derive(Clone, Debug)]
pub struct Clip(pub Arc<Audio>);

impl PartialEq for Clip {
    fn eq(&self, other: &Clip) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Clip {}

/// Where a recording goes: a voicemail box, and what its index entry says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub tenant: String,
    /// `staff:<login>` or `department:<id>`.
    pub mailbox: String,
    /// Who called: a login, or the number an outside caller presented.
    pub caller: String,
    /// The company number the caller dialled.
    pub number: Option<String>,
    pub received_ms: u64,
    /// Messages the box keeps.
    pub keep: u32,
}

/// What the media driver reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaEvent {
    /// A relay is closed, having carried this many packets each way.
    Closed {
        relay: RelayId,
        caller_to_callee: u64,
        callee_to_caller: u64,
    },
    /// The served caller pressed a key (each way it came reported; the engine merges them).
    Digit {
        relay: RelayId,
        digit: char,
        via: Via,
    },
    /// What `Play` played once has ended.
    PlayDone(RelayId),
    /// A recording ended: `kept` when long enough (handed to the voicemail writer).
    Recorded {
        relay: RelayId,
        duration: Duration,
        kept: bool,
    },
}
