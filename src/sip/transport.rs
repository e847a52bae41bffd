//! The only socket code of SIP: UDP (and later TCP) sockets that feed datagrams and timer
//! expiries into the sans-io `Endpoint` and send what it returns.
//!
//! One task per socket; the endpoint is shared behind a mutex (held only while it computes, never
//! across an await). Timers are the endpoint's deadlines: the task sleeps until the earliest one
//! or the next datagram, whichever comes first.

use super::endpoint::{Endpoint, Outgoing};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// Largest datagram read (larger ones are truncated by the kernel and rejected by the parser).
const MAX_DATAGRAM: usize = 65_535;

/// Binds a UDP socket on `addr`.
pub async fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    UdpSocket::bind(addr).await
}

/// Serves SIP on `socket` until `cancel` fires.
pub async fn run_udp(socket: UdpSocket, endpoint: Arc<Mutex<Endpoint>>, cancel: CancellationToken) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let deadline = lock(&endpoint).next_deadline();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let out = tokio::select! {
            _ = cancel.cancelled() => return,
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, from)) => lock(&endpoint).on_datagram(&buf[..n], from, Instant::now()),
                // ICMP port unreachable from an earlier send shows up here on Linux: ignore.
                Err(_) => Vec::new(),
            },
            _ = sleep => lock(&endpoint).on_timers(Instant::now()),
        };
        send_all(&socket, out).await;
    }
}

async fn send_all(socket: &UdpSocket, out: Vec<Outgoing>) {
    for o in out {
        // A failed send (unreachable peer) is the transaction's business: its timers fire.
        let _ = socket.send_to(&o.bytes, o.to).await;
    }
}

fn lock(endpoint: &Mutex<Endpoint>) -> std::sync::MutexGuard<'_, Endpoint> {
    endpoint.lock().unwrap_or_else(|e| e.into_inner())
}
