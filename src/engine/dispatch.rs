//! The way in, before any shard: a datagram (or a TCP frame) is parsed once, a keep-alive is
//! ignored, a message that does not parse is answered statelessly (400/505 when it can be),
//! and the rest goes to the shard its Call-ID names. When that shard's queue is full, a request
//! that would start something new (a call, a registration) is refused at once with 503 and
//! `Retry-After` — shedding load instead of queueing it — and anything else is dropped (its
//! sender retransmits).

use super::shard;
use crate::sip::link::{Peer, Transmit};
use crate::sip::message::{Message, Method, StatusCode};
use crate::sip::uas;

/// Seconds a refused client is asked to wait.
pub const RETRY_AFTER: u32 = 5;

/// Where an incoming message goes.
#[derive(Debug)]
pub enum Dispatch {
    /// A keep-alive (CRLF): nothing to do.
    KeepAlive,
    /// Malformed: this answer, if any, goes back at once.
    Malformed(Option<Transmit>),
    /// For shard `shard`.
    Shard { shard: usize, message: Message },
}

/// Reads `bytes` from `from` and says which of `shards` takes it.
pub fn dispatch(bytes: &[u8], from: Peer, shards: usize) -> Dispatch {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Dispatch::KeepAlive;
    }
    match Message::parse(bytes) {
        Err(e) => Dispatch::Malformed(uas::reject_malformed(bytes, &e, from)),
        Ok(message) => {
            let shard = message
                .headers()
                .call_id()
                .map_or(0, |id| shard::of(id, shards));
            Dispatch::Shard { shard, message }
        }
    }
}

/// The answer to `message` when its shard cannot take it: 503 with `Retry-After` for a
/// request that starts something (a new INVITE, REGISTER, OPTIONS), `None` (drop it) for
/// the rest — responses and in-dialog requests are retransmitted by their senders.
pub fn overloaded(message: &Message, from: Peer) -> Option<Transmit> {
    let Message::Request(request) = message else {
        return None;
    };
    let starts = match request.method() {
        Method::Invite => request.headers().to().is_ok_and(|t| t.tag().is_none()),
        Method::Register | Method::Options => true,
        _ => false,
    };
    if !starts {
        return None;
    }
    let via = request.headers().top_via().ok()?;
    let mut request = request.clone();
    let (_, reply_to) = uas::stamp_received(&mut request, &via, from);
    // Stateless: the same request always gets the same tag.
    let tag = format!(
        "{:x}",
        shard::hash(&format!("{}{}", via.branch().unwrap_or(""), from.addr))
    );
    let mut response = uas::respond(
        &request,
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        &tag,
    );
    response
        .headers_mut()
        .push("Retry-After", RETRY_AFTER.to_string());
    Some(Transmit {
        to: reply_to,
        bytes: response.to_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::link::Link;

    fn from() -> Peer {
        Peer {
            addr: "127.0.0.1:5070".parse().unwrap(),
            link: Link::Udp(0),
        }
    }

    const INVITE: &str = "INVITE sip:201@acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:ivan@acme.example>;tag=a\r\nTo: <sip:201@acme.example>\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn messages_go_to_their_call_ids_shard_and_garbage_is_answered() {
        assert!(matches!(
            dispatch(b"\r\n\r\n", from(), 2),
            Dispatch::KeepAlive
        ));
        match dispatch(INVITE.as_bytes(), from(), 4) {
            Dispatch::Shard { shard, .. } => assert_eq!(shard, shard::of("x1", 4)),
            other => panic!("{other:?}"),
        }
        let broken = INVITE.replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia");
        match dispatch(broken.as_bytes(), from(), 4) {
            Dispatch::Malformed(Some(t)) => {
                assert!(String::from_utf8_lossy(&t.bytes).starts_with("SIP/2.0 505"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_shard_refuses_new_work_and_drops_the_rest() {
        let Dispatch::Shard { message, .. } = dispatch(INVITE.as_bytes(), from(), 1) else {
            panic!()
        };
        let t = overloaded(&message, from()).expect("a new call is refused");
        let text = String::from_utf8_lossy(&t.bytes);
        assert!(text.starts_with("SIP/2.0 503"), "{text}");
        assert!(text.contains("Retry-After: 5"), "{text}");
        assert_eq!(
            overloaded(&message, from()).unwrap().bytes,
            t.bytes,
            "stateless"
        );
        let bye = INVITE
            .replace("INVITE sip", "BYE sip")
            .replace("1 INVITE", "2 BYE");
        let Dispatch::Shard { message, .. } = dispatch(bye.as_bytes(), from(), 1) else {
            panic!()
        };
        assert!(overloaded(&message, from()).is_none());
    }
}
