//! The SIP answer to a call routing gave up on: routing says what the caller is told (busy,
//! declined, unavailable) and why; this maps that to the status (486, 603, 480) and adds a
//! `Reason` header (RFC 3326) carrying the why in words, so the caller's phone — and whoever
//! reads a trace — learns it, not only the server log.

use crate::routing::{GiveUp, Refusal};
use crate::sip::message::{Response, StatusCode};

/// The SIP status for what the caller is told.
pub fn status(refusal: Refusal) -> StatusCode {
    match refusal {
        Refusal::Busy => StatusCode::BUSY_HERE,
        Refusal::Declined => StatusCode::DECLINE,
        Refusal::Unavailable => StatusCode::TEMPORARILY_UNAVAILABLE,
    }
}

/// Adds `Reason: SIP;cause=<status>;text="<why>"` to `response`.
pub fn add_reason(response: &mut Response, why: &GiveUp) {
    let cause = response.code().as_u16();
    let text = why.reason().replace(['"', '\\'], "'");
    response
        .headers_mut()
        .push("Reason", format!("SIP;cause={cause};text=\"{text}\""));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_their_statuses_and_the_why_travels() {
        assert_eq!(status(Refusal::Busy).as_u16(), 486);
        assert_eq!(status(Refusal::Declined).as_u16(), 603);
        assert_eq!(status(Refusal::Unavailable).as_u16(), 480);
        let mut r = Response::new(
            StatusCode::TEMPORARILY_UNAVAILABLE,
            "Temporarily Unavailable",
        );
        add_reason(&mut r, &GiveUp::ExternalFailed);
        let reason = r.headers().get("Reason").unwrap();
        assert!(reason.starts_with("SIP;cause=480;text=\""), "{reason}");
        assert!(reason.contains("external number"), "{reason}");
    }
}
