//! `CallerSide`: the caller's side of a call — the INVITE the PBX answers, through its server
//! transaction, and the dialog that answer makes. The PBX's 200 is retransmitted until the
//! caller's ACK (RFC 3261 §13.3.1.4: T1 doubling up to T2, for 64·T1) — over UDP; a reliable
//! transport needs none. Its state carries what it knows: waiting for an answer, answered (the
//! 200's bytes and the next retransmission), confirmed by the ACK, or done.
//!
//! When the PBX serves the caller's audio itself (a greeting as early media, a voice menu,
//! voicemail), `Serving` keeps the codec and the SDP answer it gave: the same answer goes into
//! the 183 and the 200 that follows, whoever answers in the end.

use crate::media::endpoint::Codec;
use crate::sip::dialog::Dialog;
use crate::sip::link::Peer;
use crate::sip::message::Request;
use crate::sip::transaction::TransactionKey;
use std::time::{Duration, Instant};

/// Where the caller's side is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerState {
    /// No final answer sent yet.
    Waiting,
    /// Our 200 is out and retransmitted at `next` (every `interval`) until `until`.
    Answered {
        ok: Vec<u8>,
        interval: Duration,
        next: Instant,
        until: Instant,
    },
    /// The ACK came (or the transport is reliable): the dialog is up.
    Confirmed,
    /// A final refusal went out, or the dialog ended.
    Done,
}

/// The caller's side.
#[derive(Clone, Debug)]
pub struct CallerSide {
    pub invite: Request,
    /// The INVITE's server transaction.
    pub key: TransactionKey,
    /// Where answers go (RFC 3261 §18.2.2).
    pub reply_to: Peer,
    /// The dialog our answer makes (our tag is in it from the start).
    pub dialog: Dialog,
    pub state: CallerState,
    /// The PBX serves the caller's audio (early media or answered).
    pub serving: Option<Serving>,
}

/// The caller's audio as the PBX serves it.
#[derive(Clone, Debug)]
pub struct Serving {
    pub codec: Codec,
    /// Our SDP answer (in the 183 and the 200).
    pub sdp: Vec<u8>,
    /// The PBX answered the caller (200) — rather than only playing early media.
    pub answered: bool,
}

impl CallerSide {
    /// Our tag.
    pub fn tag(&self) -> &str {
        self.dialog.local_tag()
    }

    /// Whether the side is still owed something: an answer, or the ACK for ours.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            CallerState::Waiting | CallerState::Answered { .. }
        )
    }
}
