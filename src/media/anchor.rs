//! The seam between call control and media, as data: the port pairs a call's audio is anchored
//! at (`PortPair`, taken from a pool of pre-bound sockets through `Ports`), the commands the
//! engine gives the media driver (`MediaCommand`) and what the driver reports back
//! (`MediaEvent`). The engine never binds a socket or spawns a task: it takes a pair that is
//! already bound, says what to do with it, and hears of the outcome as an input.

use std::net::SocketAddr;

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
    /// Stop and free the pair; the driver answers `MediaEvent::Closed`.
    Close(RelayId),
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
}
