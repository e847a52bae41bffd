//! `Leg`: one SIP dialog the PBX starts for a call — to a phone of a person, or through a
//! trunk — and its state, which carries what that state knows: a leg is calling, proceeding
//! (it answered provisionally), waiting to be cancelled until it does (RFC 3261 §9.1: no
//! CANCEL before a provisional answer), cancelled, answered (its dialog), or ended (its final
//! status). Routing sees a
//! person's phones as one leg of its own (`group`); the engine rings each phone as a `Leg`.

use crate::routing::LegId;
use crate::sip::dialog::Dialog;
use crate::sip::link::Peer;
use crate::sip::message::{Method, Request};

/// Where a leg is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LegState {
    /// The INVITE is out; nothing heard yet.
    Calling,
    /// A provisional answer came (100 included): it may be cancelled.
    Proceeding,
    /// Given up on before any provisional answer: the CANCEL goes when one comes.
    CancelPending,
    /// The CANCEL is out; the INVITE's final answer (487, or a 200 that crossed it) is due.
    Cancelled,
    /// It answered: its dialog.
    Answered(Box<Dialog>),
    /// Over, with the final status it got (487 cancelled, 408 no answer).
    Ended(u16),
}

/// One dialog the PBX started.
#[derive(Clone, Debug)]
pub struct Leg {
    /// The routing leg it carries.
    pub group: LegId,
    /// Our INVITE (the latest: with credentials after a trunk's challenge).
    pub invite: Request,
    /// Where it goes.
    pub target: Peer,
    /// The trunk it goes through (index into the directory's trunks), and whether our
    /// INVITE already answered the trunk's challenge.
    pub trunk: Option<usize>,
    pub authenticated: bool,
    pub state: LegState,
}

impl Leg {
    /// Whether routing still waits on it: it has not answered nor ended nor been given up.
    pub fn is_ringing(&self) -> bool {
        matches!(self.state, LegState::Calling | LegState::Proceeding)
    }

    /// Whether its INVITE transaction may still bring an answer.
    pub fn awaits_answer(&self) -> bool {
        matches!(
            self.state,
            LegState::Calling
                | LegState::Proceeding
                | LegState::CancelPending
                | LegState::Cancelled
        )
    }

    /// The Call-ID of its dialog.
    pub fn call_id(&self) -> &str {
        self.invite.headers().call_id().unwrap_or_default()
    }

    /// Our tag in its dialog.
    pub fn tag(&self) -> String {
        self.invite
            .headers()
            .from()
            .ok()
            .and_then(|f| f.tag().map(str::to_string))
            .unwrap_or_default()
    }

    /// The CSeq number of our INVITE.
    pub fn seq(&self) -> u32 {
        self.invite.headers().cseq().map_or(1, |c| c.seq)
    }

    /// The CANCEL for our INVITE (RFC 3261 §9.1: its Request-URI, Via, From, To, Call-ID,
    /// Route and CSeq number).
    pub fn cancel(&self) -> Request {
        let mut cancel = Request::new(Method::Cancel, self.invite.uri().clone());
        let src = self.invite.headers();
        let h = cancel.headers_mut();
        for name in ["Via", "From", "To", "Call-ID"] {
            if let Some(v) = src.get(name) {
                h.push(name, v);
            }
        }
        for route in src.get_all("Route") {
            h.push("Route", route);
        }
        h.push("CSeq", format!("{} CANCEL", self.seq()));
        h.push("Max-Forwards", "70");
        cancel
    }
}
