//! Why a call out through a trunk was not started — the tenant's `outbound` rules deny the
//! number (toll fraud), or the tenant has `max_calls` calls out already — and what the caller
//! who dialled it is told: 403 Forbidden with a `Warning` (RFC 3261 §20.43) and a `Reason`
//! (RFC 3326) saying the destination is not allowed, or 503 with `Retry-After`. The check
//! itself is `Call::through_trunk`, the one gate every leg to a trunk passes.

use crate::config::outbound::Barred;
use crate::sip::message::{Request, Response, StatusCode};
use crate::sip::uas::respond;
use std::fmt;

/// How long a caller over the cap is asked to wait, in seconds.
const RETRY_AFTER: u32 = 30;

/// A call out that was not started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The tenant's rules deny the number.
    Barred(Barred),
    /// The tenant has this many calls out already (its `max_calls`).
    Full(u32),
    /// The tenant's calls out talked this many minutes in the last hour already (its
    /// `max_minutes_per_hour`).
    Minutes(u32),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Barred(b) => b.fmt(f),
            Refused::Full(n) => write!(f, "the company has {n} calls out already (its limit)"),
            Refused::Minutes(n) => write!(
                f,
                "the company's calls out talked {n} minutes in the last hour already (its limit)"
            ),
        }
    }
}

impl Refused {
    /// The answer to `invite` for a caller who dialled the number themselves.
    pub fn answer(&self, invite: &Request, tag: &str) -> Response {
        let text = self.to_string().replace(['"', '\\'], "'");
        match self {
            Refused::Barred(_) => {
                let mut r = respond(invite, StatusCode::FORBIDDEN, "Forbidden", tag);
                let h = r.headers_mut();
                h.push("Warning", format!("399 pbx \"{text}\""));
                h.push("Reason", format!("SIP;cause=403;text=\"{text}\""));
                r
            }
            Refused::Full(_) | Refused::Minutes(_) => {
                let mut r = respond(
                    invite,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    tag,
                );
                let h = r.headers_mut();
                h.push("Retry-After", RETRY_AFTER.to_string());
                h.push("Reason", format!("SIP;cause=503;text=\"{text}\""));
                r
            }
        }
    }

    /// The status the caller got.
    pub fn status(&self) -> u16 {
        match self {
            Refused::Barred(_) => 403,
            Refused::Full(_) | Refused::Minutes(_) => 503,
        }
    }
}
