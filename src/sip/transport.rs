//! The only socket code of SIP: UDP sockets, TCP connections (accepted, or opened by the
//! `Router` to a peer such as a trunk's gateway) and TLS connections (accepted: phones connect
//! to the PBX; the handshake within `TLS_HANDSHAKE`, with the certificate `sip::tls` holds). Every datagram or TCP frame received goes to
//! the `Sink` the server plugs in (which parses it and hands it to the right engine shard); the
//! `Router` sends `Transmit`s over the right socket or connection.
//!
//! TCP and TLS streams are framed by Content-Length (`StreamFramer`); a framing error answers 400 when
//! it can and closes the connection; a CRLF keep-alive is answered with CRLF (RFC 5626). Each
//! connection's outgoing queue is bounded: a peer that stops reading loses messages (its
//! transactions time out) rather than growing the server's memory.

use super::link::{Link, Peer, Transmit};
use super::message::{reject, Frame, StreamFramer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Largest datagram read (larger ones are truncated by the kernel and rejected by the parser).
const MAX_DATAGRAM: usize = 65_535;
/// A TCP connection silent this long is closed (phones send keep-alives or re-register well
/// within it).
const TCP_IDLE: Duration = Duration::from_secs(15 * 60);
/// How long opening a connection to a peer may take; its queued messages are dropped after
/// that (their transactions time out as for a silent peer).
const TCP_CONNECT: Duration = Duration::from_secs(5);
/// How long a TLS client may take to finish its handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);
/// Messages waiting to be written to one connection.
const TCP_QUEUE: usize = 1024;
/// Socket buffer asked for (the kernel caps it at `net.core.rmem_max`): bursts must wait in
/// the buffer, not be dropped and retransmitted.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Where received messages go: each datagram or frame with its sender. What it returns is sent
/// back at once (the answer to a malformed message, a refusal under overload).
pub type Sink = Arc<dyn Fn(Peer, &[u8]) -> Option<Transmit> + Send + Sync>;

/// Binds a UDP socket for SIP with large buffers.
pub fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Sends messages over the socket or connection they belong to.
#[derive(Clone)]
pub struct Router {
    udp: Arc<Vec<Arc<UdpSocket>>>,
    /// The open TCP and TLS connections, by peer.
    streams: Arc<Mutex<HashMap<Peer, mpsc::Sender<Vec<u8>>>>>,
    sink: Sink,
    cancel: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Router {
    /// A router over these UDP sockets (their index is `Link::Udp(i)`), whose connections
    /// feed `sink`, until `cancel` fires.
    pub fn new(udp: Vec<Arc<UdpSocket>>, sink: Sink, cancel: CancellationToken) -> Router {
        Router {
            udp: Arc::new(udp),
            streams: Arc::default(),
            sink,
            cancel,
        }
    }

    /// Sends `t`. A message for a TCP peer without a connection opens one, whose messages
    /// feed the sink like an accepted connection's; one for a TLS peer goes over the
    /// connection it made, or nowhere (its transaction times out).
    pub async fn send(&self, t: Transmit) {
        match t.to.link {
            // A failed send (unreachable peer) is the transaction's business: its timers fire.
            Link::Udp(i) => {
                if let Some(socket) = self.udp.get(i).or_else(|| self.udp.first()) {
                    let _ = socket.send_to(&t.bytes, t.to.addr).await;
                }
            }
            Link::Tcp => {
                let sender = {
                    let mut map = lock(&self.streams);
                    match map.get(&t.to) {
                        Some(sender) => sender.clone(),
                        None => {
                            // Queued until the connection is up; later messages join it.
                            let (tx, rx) = mpsc::channel(TCP_QUEUE);
                            map.insert(t.to, tx.clone());
                            tokio::spawn(connect(t.to.addr, (tx.clone(), rx), self.clone()));
                            tx
                        }
                    }
                };
                let _ = sender.try_send(t.bytes);
            }
            Link::Tls => {
                let sender = lock(&self.streams).get(&t.to).cloned();
                if let Some(sender) = sender {
                    let _ = sender.try_send(t.bytes);
                }
            }
        }
    }
}

/// Serves SIP on UDP socket `index` of the router until it is cancelled.
pub async fn run_udp(index: usize, router: Router) {
    let Some(socket) = router.udp.get(index).cloned() else {
        return;
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let received = tokio::select! {
            _ = router.cancel.cancelled() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        // ICMP port unreachable from an earlier send shows up as an error on Linux: ignore.
        if let Ok((n, addr)) = received {
            let from = Peer {
                addr,
                link: Link::Udp(index),
            };
            if let Some(answer) = (router.sink)(from, &buf[..n]) {
                router.send(answer).await;
            }
        }
    }
}

/// Accepts SIP over TCP on `listener` until the router is cancelled.
pub async fn run_tcp(listener: TcpListener, router: Router) {
    loop {
        let accepted = tokio::select! {
            _ = router.cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, addr)) = accepted else {
            continue;
        };
        let peer = Peer {
            addr,
            link: Link::Tcp,
        };
        tokio::spawn(connection(
            stream,
            peer,
            mpsc::channel(TCP_QUEUE),
            router.clone(),
        ));
    }
}

/// Accepts SIP over TLS on `listener` until the router is cancelled: each connection's
/// handshake with `acceptor`'s certificate (as it is at that moment), then served like TCP.
pub async fn run_tls(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, router: Router) {
    loop {
        let accepted = tokio::select! {
            _ = router.cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, addr)) = accepted else {
            continue;
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            // A client that never finishes its handshake is dropped.
            let Ok(Ok(stream)) = tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await
            else {
                return;
            };
            let peer = Peer {
                addr,
                link: Link::Tls,
            };
            connection(stream, peer, mpsc::channel(TCP_QUEUE), router).await;
        });
    }
}

/// Opens a connection to `addr` and serves it; `channel` holds what waits to be sent.
async fn connect(
    addr: SocketAddr,
    channel: (mpsc::Sender<Vec<u8>>, mpsc::Receiver<Vec<u8>>),
    router: Router,
) {
    let peer = Peer {
        addr,
        link: Link::Tcp,
    };
    match tokio::time::timeout(TCP_CONNECT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => connection(stream, peer, channel, router).await,
        _ => {
            lock(&router.streams).remove(&peer);
        }
    }
}

/// Serves one TCP or TLS connection of `from`: frames read go to the sink, what is queued on
/// `tx` is written, until either side closes, it is idle too long, or the router stops.
async fn connection<S>(
    stream: S,
    from: Peer,
    (tx, mut rx): (mpsc::Sender<Vec<u8>>, mpsc::Receiver<Vec<u8>>),
    router: Router,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    lock(&router.streams).insert(from, tx.clone());
    let write = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = tokio::select! {
            _ = router.cancel.cancelled() => break,
            r = tokio::time::timeout(TCP_IDLE, reader.read(&mut buf)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(n)) => n,
            },
        };
        framer.push(&buf[..n]);
        loop {
            match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::KeepAlive)) => {
                    let _ = tx.try_send(b"\r\n".to_vec());
                }
                Ok(Some(Frame::Message(bytes))) => {
                    // An immediate answer goes back on this connection.
                    if let Some(answer) = (router.sink)(from, &bytes) {
                        let _ = tx.try_send(answer.bytes);
                    }
                }
                Err(e) => {
                    // The stream cannot be resynchronised: answer if we can, then close.
                    if let Some(response) = reject(framer.buffered(), &e) {
                        let _ = tx.try_send(response.to_bytes());
                    }
                    break 'read;
                }
            }
        }
    }
    lock(&router.streams).remove(&from);
    drop(tx);
    let _ = write.await;
}
