//! The RTP relay: every call's audio goes through two UDP ports of the PBX, one facing each
//! party, so phones behind NAT reach each other and the PBX sees the media.
//!
//! Each side is first expected where its SDP said, then latched to the address its first
//! packet comes from (symmetric RTP, for NAT); after that, packets from anywhere else are
//! dropped. Ports come in pairs from the configured range and are released when the call ends.
//! Payloads (any codec, RFC 4733 telephone-events) are relayed untouched.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// A party of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Caller,
    Callee,
}

/// What the call layer needs from the media layer (a fake can stand in for it in tests).
pub trait MediaAnchor: Send {
    /// Reserves a relay: its id and the addresses the caller and the callee should send to.
    fn open(&mut self) -> Option<(u64, SocketAddr, SocketAddr)>;
    /// Where `side` asked (in its SDP) to receive audio; used until its first packet arrives.
    fn expect(&mut self, id: u64, side: Side, addr: SocketAddr);
    /// `side`'s audio is (now) wanted at `addr` — the device that answered after another
    /// played early media, or a re-INVITE moving the media: send there and learn the side's
    /// address anew from its first packet.
    fn repoint(&mut self, id: u64, side: Side, addr: SocketAddr);
    /// Frees the relay; returns the packets relayed (caller to callee, callee to caller).
    fn close(&mut self, id: u64) -> (u64, u64);
}

/// Where one side's packets go, and whether that was learned from a packet.
#[derive(Default)]
struct Peer {
    addr: Option<SocketAddr>,
    latched: bool,
}

struct Active {
    task: tokio::task::JoinHandle<()>,
    peers: Arc<Mutex<[Peer; 2]>>,
    counts: Arc<[AtomicU64; 2]>,
}

/// The relays of a server: a port range on one address.
pub struct Relays {
    bind: IpAddr,
    advertised: IpAddr,
    min: u16,
    max: u16,
    next: u16,
    next_id: u64,
    active: HashMap<u64, Active>,
}

impl Relays {
    /// Relays binding `bind`, announced in SDP as `advertised`, using ports `min..=max`.
    pub fn new(bind: IpAddr, advertised: IpAddr, min: u16, max: u16) -> Relays {
        let min = min + min % 2;
        Relays {
            bind,
            advertised,
            min,
            max,
            next: min,
            next_id: 1,
            active: HashMap::new(),
        }
    }

    /// Relays running now.
    pub fn len(&self) -> usize {
        self.active.len()
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// Binds the next free even port of the range.
    fn bind_next(&mut self) -> Option<std::net::UdpSocket> {
        let span = u32::from(self.max.saturating_sub(self.min)) / 2 + 1;
        for _ in 0..span {
            let port = self.next;
            self.next = if self.next.saturating_add(2) > self.max {
                self.min
            } else {
                self.next + 2
            };
            if let Ok(s) = std::net::UdpSocket::bind(SocketAddr::new(self.bind, port)) {
                if s.set_nonblocking(true).is_ok() {
                    return Some(s);
                }
            }
        }
        None
    }
}

impl MediaAnchor for Relays {
    fn open(&mut self) -> Option<(u64, SocketAddr, SocketAddr)> {
        let caller_side = self.bind_next()?;
        let callee_side = self.bind_next()?;
        let (a_port, b_port) = (
            caller_side.local_addr().ok()?.port(),
            callee_side.local_addr().ok()?.port(),
        );
        let a = UdpSocket::from_std(caller_side).ok()?;
        let b = UdpSocket::from_std(callee_side).ok()?;
        let peers: Arc<Mutex<[Peer; 2]>> = Arc::default();
        let counts: Arc<[AtomicU64; 2]> = Arc::default();
        let task = tokio::spawn(relay(a, b, peers.clone(), counts.clone()));
        let id = self.next_id;
        self.next_id += 1;
        self.active.insert(
            id,
            Active {
                task,
                peers,
                counts,
            },
        );
        Some((
            id,
            SocketAddr::new(self.advertised, a_port),
            SocketAddr::new(self.advertised, b_port),
        ))
    }

    fn expect(&mut self, id: u64, side: Side, addr: SocketAddr) {
        if let Some(active) = self.active.get(&id) {
            let mut peers = active.peers.lock().unwrap_or_else(|e| e.into_inner());
            let peer = &mut peers[side as usize];
            if !peer.latched {
                peer.addr = Some(addr);
            }
        }
    }

    fn repoint(&mut self, id: u64, side: Side, addr: SocketAddr) {
        if let Some(active) = self.active.get(&id) {
            let mut peers = active.peers.lock().unwrap_or_else(|e| e.into_inner());
            peers[side as usize] = Peer {
                addr: Some(addr),
                latched: false,
            };
        }
    }

    fn close(&mut self, id: u64) -> (u64, u64) {
        match self.active.remove(&id) {
            Some(active) => {
                active.task.abort();
                (
                    active.counts[0].load(Ordering::Relaxed),
                    active.counts[1].load(Ordering::Relaxed),
                )
            }
            None => (0, 0),
        }
    }
}

/// Relays between the caller-facing socket `a` and the callee-facing socket `b` until aborted.
async fn relay(
    a: UdpSocket,
    b: UdpSocket,
    peers: Arc<Mutex<[Peer; 2]>>,
    counts: Arc<[AtomicU64; 2]>,
) {
    let mut buf_a = vec![0u8; 2048];
    let mut buf_b = vec![0u8; 2048];
    loop {
        // (the side a packet came from, its length, its source)
        let (from, n, src) = tokio::select! {
            r = a.recv_from(&mut buf_a) => match r { Ok((n, s)) => (Side::Caller, n, s), Err(_) => continue },
            r = b.recv_from(&mut buf_b) => match r { Ok((n, s)) => (Side::Callee, n, s), Err(_) => continue },
        };
        let to = {
            let mut peers = peers.lock().unwrap_or_else(|e| e.into_inner());
            let me = &mut peers[from as usize];
            if !me.latched {
                me.addr = Some(src);
                me.latched = true;
            } else if me.addr != Some(src) {
                continue; // not the party this side latched to
            }
            peers[1 - from as usize].addr
        };
        let Some(to) = to else { continue };
        let (socket, payload) = match from {
            Side::Caller => (&b, &buf_a[..n]),
            Side::Callee => (&a, &buf_b[..n]),
        };
        if socket.send_to(payload, to).await.is_ok() {
            counts[from as usize].fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn relays_both_ways_latches_and_frees_ports() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let mut relays = Relays::new(lo, lo, 41000, 41009);
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (id, to_caller_side, to_callee_side) = relays.open().unwrap();
        assert_eq!(to_caller_side.port() % 2, 0);
        // The callee is expected where its SDP said; the caller is learned from its packets.
        relays.expect(id, Side::Callee, callee.local_addr().unwrap());
        let mut buf = [0u8; 64];
        for i in 0..5u8 {
            caller.send_to(&[i; 20], to_caller_side).await.unwrap();
            let (n, from) =
                tokio::time::timeout(Duration::from_secs(2), callee.recv_from(&mut buf))
                    .await
                    .unwrap()
                    .unwrap();
            assert_eq!((&buf[..n], from), (&[i; 20][..], to_callee_side));
            callee
                .send_to(&[i + 100; 20], to_callee_side)
                .await
                .unwrap();
            let (n, from) =
                tokio::time::timeout(Duration::from_secs(2), caller.recv_from(&mut buf))
                    .await
                    .unwrap()
                    .unwrap();
            assert_eq!((&buf[..n], from), (&[i + 100; 20][..], to_caller_side));
        }
        // A stranger on the caller's side is dropped once the caller is latched.
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        stranger.send_to(b"noise", to_caller_side).await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(200), callee.recv_from(&mut buf))
                .await
                .is_err()
        );
        assert_eq!(relays.close(id), (5, 5));
        tokio::task::yield_now().await;
        // The ports are free again: the range has room for only so many pairs.
        for _ in 0..3 {
            let (id, _, _) = relays.open().expect("ports are reused");
            relays.close(id);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn the_device_that_answers_replaces_the_one_that_sent_early_media() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let mut relays = Relays::new(lo, lo, 41010, 41019);
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let early = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answering = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (id, to_caller_side, to_callee_side) = relays.open().unwrap();
        let mut buf = [0u8; 64];
        // The caller is learned first; then one device plays early media: the callee side
        // latches to it.
        relays.expect(id, Side::Callee, early.local_addr().unwrap());
        caller.send_to(b"hello", to_caller_side).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), early.recv_from(&mut buf)).await;
        assert_eq!(&buf[..got.unwrap().unwrap().0], b"hello");
        early.send_to(b"ringback", to_callee_side).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), caller.recv_from(&mut buf)).await;
        assert_eq!(&buf[..got.unwrap().unwrap().0], b"ringback");
        // Another answers: its audio reaches the caller, the first device's no longer does.
        relays.repoint(id, Side::Callee, answering.local_addr().unwrap());
        answering.send_to(b"answer", to_callee_side).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), caller.recv_from(&mut buf)).await;
        assert_eq!(&buf[..got.unwrap().unwrap().0], b"answer");
        early.send_to(b"late", to_callee_side).await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(200), caller.recv_from(&mut buf))
                .await
                .is_err()
        );
        // And the caller's audio goes to the answering device.
        caller.send_to(b"to you", to_caller_side).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), answering.recv_from(&mut buf)).await;
        assert_eq!(&buf[..got.unwrap().unwrap().0], b"to you");
        relays.close(id);
    }
}
