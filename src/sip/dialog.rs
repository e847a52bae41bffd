//! `Dialog`: one SIP dialog (RFC 3261 §12) as either side keeps it — Call-ID, both tags, our
//! CSeq, the remote target and the route set — and the requests sent inside it (ACK, BYE,
//! re-INVITE) with their Request-URI and Route headers as §12.2.1.1 says: loose routing when
//! the first route has `lr`, strict routing otherwise. A dialog made from a request we answer
//! takes the request's Record-Route as it is; one made from an answer to our request takes the
//! answer's Record-Route reversed, so requests go back through an edge proxy in front of us.

use super::link::Peer;
use super::message::{Headers, Host, Method, NameAddr, Request, Response, Uri};
use std::net::SocketAddr;

/// One dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    /// Our side (the From of requests we send), with our tag.
    pub local: NameAddr,
    /// The other side (their To), with their tag when they gave one.
    pub remote: NameAddr,
    /// The CSeq of the last request we sent in the dialog.
    pub local_seq: u32,
    /// Where requests go: the other side's Contact.
    pub remote_target: Uri,
    /// Proxies in between, in the order requests traverse them.
    pub route_set: Vec<NameAddr>,
    /// The transport address of the other side (as seen: behind NAT, its source address),
    /// used when there is no route to follow.
    pub peer: Peer,
}

impl Dialog {
    /// Our dialog as the answering side of `request`, with our tag `local_tag`; the other side
    /// is at `peer`.
    pub fn as_uas(request: &Request, local_tag: &str, peer: Peer) -> Option<Dialog> {
        let h = request.headers();
        let mut local = h.to().ok()?;
        local.set_tag(local_tag);
        let remote = h.from().ok()?;
        let remote_target = h
            .contacts()
            .ok()
            .and_then(|c| c.first().map(|c| c.uri.clone()))
            .unwrap_or_else(|| remote.uri.clone());
        Some(Dialog {
            call_id: h.call_id().ok()?.to_string(),
            local,
            remote,
            local_seq: 0,
            remote_target,
            route_set: h.record_routes().unwrap_or_default(),
            peer,
        })
    }

    /// Our dialog as the side that sent `request`, established by `response` (a 18x with a To
    /// tag, or a 2xx); the other side is at `peer`.
    pub fn as_uac(request: &Request, response: &Response, peer: Peer) -> Option<Dialog> {
        let h = request.headers();
        let remote = response.headers().to().ok()?;
        let mut route_set = response.headers().record_routes().unwrap_or_default();
        route_set.reverse();
        let remote_target = response
            .headers()
            .contacts()
            .ok()
            .and_then(|c| c.first().map(|c| c.uri.clone()))
            .unwrap_or_else(|| request.uri().clone());
        Some(Dialog {
            call_id: h.call_id().ok()?.to_string(),
            local: h.from().ok()?,
            remote,
            local_seq: h.cseq().ok()?.seq,
            remote_target,
            route_set,
            peer,
        })
    }

    /// Our tag.
    pub fn local_tag(&self) -> &str {
        self.local.tag().unwrap_or_default()
    }

    /// Their tag.
    pub fn remote_tag(&self) -> &str {
        self.remote.tag().unwrap_or_default()
    }

    /// A new request in the dialog (BYE, re-INVITE...), with the next CSeq and our Via `via`.
    pub fn request(&mut self, method: Method, via: &str) -> Request {
        self.local_seq += 1;
        self.build(method, self.local_seq, via)
    }

    /// The ACK for a 2xx to our INVITE with CSeq `seq` (it carries that number).
    pub fn ack(&self, seq: u32, via: &str) -> Request {
        self.build(Method::Ack, seq, via)
    }

    /// Takes the Contact of a target-refresh message (a re-INVITE, or its 2xx) as where this
    /// dialog's requests now go (RFC 3261 §12.2); without a Contact the target stays.
    pub fn refresh_target(&mut self, headers: &Headers) {
        if let Some(contact) = headers.contacts().ok().and_then(|c| c.into_iter().next()) {
            self.remote_target = contact.uri;
        }
    }

    /// Where a request of this dialog is sent: the first route's address when it names one
    /// by IP, else the other side's address as seen.
    pub fn next_hop(&self) -> Peer {
        let first = self.route_set.first().and_then(|r| match &r.uri {
            Uri::Sip(u) => {
                let ip = match &u.host {
                    Host::V4(a) => std::net::IpAddr::V4(*a),
                    Host::V6(a) => std::net::IpAddr::V6(*a),
                    Host::Name(_) => return None,
                };
                Some(SocketAddr::new(ip, u.port.unwrap_or(5060)))
            }
            Uri::Other(_) => None,
        });
        Peer {
            addr: first.unwrap_or(self.peer.addr),
            link: self.peer.link,
        }
    }

    fn build(&self, method: Method, seq: u32, via: &str) -> Request {
        let loose = self.route_set.first().is_none_or(|r| match &r.uri {
            Uri::Sip(u) => u.params.contains("lr"),
            Uri::Other(_) => true,
        });
        let (uri, routes): (Uri, Vec<String>) = if loose {
            (
                self.remote_target.clone(),
                self.route_set.iter().map(ToString::to_string).collect(),
            )
        } else {
            // Strict routing: the first route becomes the Request-URI, the remote target the
            // last Route.
            let mut first = self.route_set[0].uri.clone();
            if let Uri::Sip(u) = &mut first {
                u.headers.clear();
            }
            let mut routes: Vec<String> = self.route_set[1..]
                .iter()
                .map(ToString::to_string)
                .collect();
            routes.push(format!("<{}>", self.remote_target));
            (first, routes)
        };
        let mut r = Request::new(method.clone(), uri);
        let h = r.headers_mut();
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        for route in routes {
            h.push("Route", route);
        }
        h.push("From", self.local.to_string());
        h.push("To", self.remote.to_string());
        h.push("Call-ID", &self.call_id);
        h.push("CSeq", format!("{seq} {method}"));
        r
    }
}

/// Copies `request`'s Record-Route into `response` (RFC 3261 §12.1.1: a UAS answering a
/// dialog-creating request echoes it in 18x and 2xx answers).
pub fn echo_record_route(request: &Request, response: &mut Response) {
    for rr in request.headers().get_all("Record-Route") {
        response.headers_mut().push("Record-Route", rr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::link::Link;
    use crate::sip::message::Message;

    fn parse(text: &str) -> Message {
        Message::parse(text.replace('\n', "\r\n").as_bytes()).unwrap()
    }

    fn peer() -> Peer {
        Peer {
            addr: "192.0.2.10:5060".parse().unwrap(),
            link: Link::Udp(0),
        }
    }

    const INVITE: &str = "INVITE sip:bob@pbx.example SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKp\nVia: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKa\nRecord-Route: <sip:192.0.2.1;lr>\nRecord-Route: <sip:edge.example;lr>\nFrom: Alice <sip:alice@a.example>;tag=a1\nTo: <sip:bob@pbx.example>\nCall-ID: d1\nCSeq: 7 INVITE\nContact: <sip:alice@10.1.1.1:5070>\nMax-Forwards: 69\nContent-Length: 0\n\n";

    #[test]
    fn the_answering_side_routes_through_the_record_route_as_listed() {
        let Message::Request(invite) = parse(INVITE) else {
            panic!()
        };
        let mut d = Dialog::as_uas(&invite, "b1", peer()).unwrap();
        assert_eq!((d.local_tag(), d.remote_tag()), ("b1", "a1"));
        let bye = d.request(Method::Bye, "SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKbye");
        let text = bye.to_string();
        assert!(
            text.starts_with("BYE sip:alice@10.1.1.1:5070 SIP/2.0"),
            "{text}"
        );
        let routes: Vec<&str> = bye.headers().get_all("Route").collect();
        assert_eq!(routes, ["<sip:192.0.2.1;lr>", "<sip:edge.example;lr>"]);
        assert!(
            text.contains("From: <sip:bob@pbx.example>;tag=b1"),
            "{text}"
        );
        assert!(
            text.contains("To: \"Alice\" <sip:alice@a.example>;tag=a1"),
            "{text}"
        );
        assert!(text.contains("CSeq: 1 BYE"));
        // The first route is an address: that is where the BYE goes, not the phone.
        assert_eq!(d.next_hop().addr, "192.0.2.1:5060".parse().unwrap());
    }

    #[test]
    fn the_calling_side_reverses_the_record_route_and_follows_a_strict_router() {
        let Message::Request(invite) = parse(INVITE) else {
            panic!()
        };
        let Message::Response(ok) = parse("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKp\nRecord-Route: <sip:p1.example>\nRecord-Route: <sip:p2.example;lr>\nFrom: Alice <sip:alice@a.example>;tag=a1\nTo: <sip:bob@pbx.example>;tag=b9\nCall-ID: d1\nCSeq: 7 INVITE\nContact: <sip:bob@10.2.2.2>\nContent-Length: 0\n\n") else {
            panic!()
        };
        let mut d = Dialog::as_uac(&invite, &ok, peer()).unwrap();
        assert_eq!(
            (d.local_tag(), d.remote_tag(), d.local_seq),
            ("a1", "b9", 7)
        );
        // Reversed: p2 (loose) first.
        let ack = d.ack(7, "SIP/2.0/UDP x;branch=z9hG4bKack");
        assert!(ack.to_string().starts_with("ACK sip:bob@10.2.2.2 SIP/2.0"));
        assert!(ack.to_string().contains("CSeq: 7 ACK"));
        let routes: Vec<&str> = ack.headers().get_all("Route").collect();
        assert_eq!(routes, ["<sip:p2.example;lr>", "<sip:p1.example>"]);
        // A strict router first: it becomes the Request-URI, the target the last Route.
        d.route_set.reverse();
        let bye = d.request(Method::Bye, "SIP/2.0/UDP x;branch=z9hG4bKb");
        assert!(bye.to_string().starts_with("BYE sip:p1.example SIP/2.0"));
        let routes: Vec<&str> = bye.headers().get_all("Route").collect();
        assert_eq!(routes, ["<sip:p2.example;lr>", "<sip:bob@10.2.2.2>"]);
        assert!(bye.to_string().contains("CSeq: 8 BYE"));
        // Names cannot be resolved here: the request goes to the peer as seen.
        assert_eq!(d.next_hop(), peer());
    }

    #[test]
    fn record_route_is_echoed_in_answers() {
        let Message::Request(invite) = parse(INVITE) else {
            panic!()
        };
        let mut ok = Message::response_to(&invite, crate::sip::message::StatusCode::OK, "OK");
        echo_record_route(&invite, &mut ok);
        assert_eq!(ok.headers().get_all("Record-Route").count(), 2);
    }
}
