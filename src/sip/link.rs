//! Where SIP messages come from and go to, without the sockets: a `Link` (a UDP socket by
//! index, TCP or TLS), a `Peer` (an address on a link), a `Transmit` (bytes for a peer), and
//! `Locals` — the PBX's own address on each link, as written into the Via and Contact of the
//! requests it sends.

use std::collections::HashMap;
use std::net::SocketAddr;

/// How a message reached us, and so how answers go back: a UDP socket (by index), or the TCP
/// or TLS connection of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    Udp(usize),
    Tcp,
    Tls,
}

impl Link {
    /// Whether the transport retransmits for us (RFC 3261 §17: no retransmission timers).
    pub fn is_reliable(self) -> bool {
        matches!(self, Link::Tcp | Link::Tls)
    }

    /// The transport's name in a Via (`UDP`, `TCP`, `TLS`).
    pub fn name(self) -> &'static str {
        match self {
            Link::Udp(_) => "UDP",
            Link::Tcp => "TCP",
            Link::Tls => "TLS",
        }
    }
}

/// An address on a link: where a message came from, or where one goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub addr: SocketAddr,
    pub link: Link,
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub to: Peer,
    pub bytes: Vec<u8>,
}

/// The PBX's own address on each link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locals {
    addrs: HashMap<Link, SocketAddr>,
}

impl Locals {
    /// Our address on `link` is `addr`.
    pub fn set(&mut self, link: Link, addr: SocketAddr) {
        self.addrs.insert(link, addr);
    }

    /// Our transport name and address on `link` (any of ours when that link has none).
    pub fn local(&self, link: Link) -> (&'static str, SocketAddr) {
        let proto = link.name();
        let addr = self
            .addrs
            .get(&link)
            .or_else(|| self.addrs.get(&Link::Udp(0)))
            .or_else(|| self.addrs.values().next())
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)));
        (proto, addr)
    }

    /// Our Via on `link` with `branch` (RFC 3581 `rport` asked for).
    pub fn via(&self, link: Link, branch: &str) -> String {
        let (proto, addr) = self.local(link);
        format!("SIP/2.0/{proto} {addr};branch={branch};rport")
    }

    /// Our Contact on `link`, with `user` as its user part.
    pub fn contact(&self, link: Link, user: &str) -> String {
        let (proto, addr) = self.local(link);
        format!(
            "<sip:{user}@{addr};transport={}>",
            proto.to_ascii_lowercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_and_contact_name_the_link() {
        let mut locals = Locals::default();
        locals.set(Link::Udp(0), "10.0.0.1:5060".parse().unwrap());
        locals.set(Link::Tcp, "10.0.0.1:5061".parse().unwrap());
        assert_eq!(
            locals.via(Link::Tcp, "z9hG4bKx"),
            "SIP/2.0/TCP 10.0.0.1:5061;branch=z9hG4bKx;rport"
        );
        assert_eq!(
            locals.contact(Link::Udp(0), "pbx"),
            "<sip:pbx@10.0.0.1:5060;transport=udp>"
        );
        // A second UDP socket without its own address borrows the first's.
        assert_eq!(locals.local(Link::Udp(1)).1.port(), 5060);
        assert!(Link::Tcp.is_reliable() && !Link::Udp(0).is_reliable());
        locals.set(Link::Tls, "10.0.0.1:5062".parse().unwrap());
        assert_eq!(
            locals.contact(Link::Tls, "pbx"),
            "<sip:pbx@10.0.0.1:5062;transport=tls>"
        );
        assert!(Link::Tls.is_reliable());
    }
}
