//! The only socket code of SIP: UDP sockets and TCP connections (accepted, or opened by the
//! `Router` to a trunk's gateway) that feed messages into the shared sans-io `Endpoint`, a
//! timer task that fires its deadlines, and the `Router` that sends what it returns back over
//! the right socket or connection.
//!
//! The endpoint sits behind a mutex held only while it computes, never across an await. TCP
//! streams are framed by Content-Length (`StreamFramer`); a framing error answers 400 when it
//! can and closes the connection; a CRLF keep-alive is answered with CRLF (RFC 5626).

use super::endpoint::{Endpoint, Link, Outgoing, Peer};
use super::message::{reject, Frame, StreamFramer};
use crate::store::CallRecord;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Largest datagram read (larger ones are truncated by the kernel and rejected by the parser).
const MAX_DATAGRAM: usize = 65_535;
/// A TCP connection silent this long is closed (phones send keep-alives or re-register well
/// within it).
const TCP_IDLE: Duration = Duration::from_secs(15 * 60);
/// How often the timer task looks at the endpoint's next deadline.
const TIMER_TICK: Duration = Duration::from_millis(20);

/// The shared endpoint.
pub type Shared = Arc<Mutex<Endpoint>>;

/// The sending half of a connection's queue.
type StreamQueue = mpsc::UnboundedSender<Vec<u8>>;

/// Socket buffer asked for (the kernel caps it at `net.core.rmem_max`): bursts of REGISTERs
/// must wait in the buffer, not be dropped and retransmitted.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// Tasks reading each UDP socket: one can parse while another waits for the next datagram.
pub const UDP_READERS: usize = 2;

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

/// Sends outgoing messages over the socket or connection they belong to.
#[derive(Clone)]
pub struct Router {
    udp: Vec<Arc<UdpSocket>>,
    tcp: Arc<Mutex<HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>>>,
    /// Where finished calls' history records go (the store writer).
    records: mpsc::UnboundedSender<CallRecord>,
    /// The sender task's queue: what the endpoint produced, in the order it produced it.
    outbound: mpsc::UnboundedSender<Vec<Outgoing>>,
}

impl Router {
    /// A router over these UDP sockets (their index is `Link::Udp(i)`), handing history
    /// records to `records`; `run_sender` must run with the returned queue.
    pub fn new(
        udp: Vec<Arc<UdpSocket>>,
        records: mpsc::UnboundedSender<CallRecord>,
    ) -> (Router, mpsc::UnboundedReceiver<Vec<Outgoing>>) {
        let (outbound, queue) = mpsc::unbounded_channel();
        (
            Router {
                udp,
                tcp: Arc::default(),
                records,
                outbound,
            },
            queue,
        )
    }

    /// Runs `f` on the endpoint and queues what it produced for the sender task — while still
    /// holding the endpoint, so messages leave in the order the endpoint made them (a 180 never
    /// overtakes the 200 that followed it, whichever reader task handled which) — and hands over
    /// any history records.
    pub fn drive(&self, endpoint: &Shared, f: impl FnOnce(&mut Endpoint) -> Vec<Outgoing>) {
        let mut e = lock(endpoint);
        let out = f(&mut e);
        if !out.is_empty() {
            let _ = self.outbound.send(out);
        }
        for r in e.take_records() {
            let _ = self.records.send(r);
        }
        for notice in e.take_notices() {
            eprintln!("pbx serve: {notice}");
        }
    }

    /// Sends `out`. A message for a TCP peer without a connection (a trunk's gateway) opens
    /// one, whose answers feed `endpoint` like an accepted connection's.
    async fn send(&self, out: Vec<Outgoing>, endpoint: &Shared, cancel: &CancellationToken) {
        for o in out {
            match o.link {
                // A failed send (unreachable peer) is the transaction's business: its timers fire.
                Link::Udp(i) => {
                    if let Some(socket) = self.udp.get(i) {
                        let _ = socket.send_to(&o.bytes, o.to).await;
                    }
                }
                Link::Tcp => {
                    let sender = {
                        let mut map = self.tcp.lock().unwrap_or_else(|e| e.into_inner());
                        match map.get(&o.to) {
                            Some(sender) => sender.clone(),
                            None => {
                                // Queued until the connection is up; later messages join it.
                                let (tx, rx) = mpsc::unbounded_channel();
                                map.insert(o.to, tx.clone());
                                tokio::spawn(connect(
                                    o.to,
                                    (tx.clone(), rx),
                                    self.clone(),
                                    endpoint.clone(),
                                    cancel.clone(),
                                ));
                                tx
                            }
                        }
                    };
                    let _ = sender.send(o.bytes);
                }
            }
        }
    }
}

/// Sends everything queued by `drive`, in order, until `cancel` fires.
pub async fn run_sender(
    router: Router,
    mut queue: mpsc::UnboundedReceiver<Vec<Outgoing>>,
    endpoint: Shared,
    cancel: CancellationToken,
) {
    loop {
        let out = tokio::select! {
            _ = cancel.cancelled() => return,
            out = queue.recv() => match out {
                Some(out) => out,
                None => return,
            },
        };
        router.send(out, &endpoint, &cancel).await;
    }
}

fn lock(endpoint: &Mutex<Endpoint>) -> std::sync::MutexGuard<'_, Endpoint> {
    endpoint.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves SIP on UDP socket `index` of the router until `cancel` fires.
pub async fn run_udp(index: usize, router: Router, endpoint: Shared, cancel: CancellationToken) {
    let Some(socket) = router.udp.get(index).cloned() else {
        return;
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        // ICMP port unreachable from an earlier send shows up as an error on Linux: ignore.
        if let Ok((n, addr)) = received {
            let peer = Peer {
                addr,
                link: Link::Udp(index),
            };
            // Parsed before the endpoint is locked: the other reader can work meanwhile.
            let parsed = Endpoint::parse(&buf[..n]);
            router.drive(&endpoint, |e| {
                e.on_parsed(&buf[..n], parsed, peer, Instant::now())
            });
        }
    }
}

/// Fires the endpoint's timers until `cancel` fires.
pub async fn run_timers(router: Router, endpoint: Shared, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(TIMER_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        router.drive(&endpoint, |e| {
            if e.next_deadline().is_some_and(|at| at <= now) {
                e.on_timers(now)
            } else {
                Vec::new()
            }
        });
    }
}

/// Accepts SIP over TCP on `listener` until `cancel` fires.
pub async fn run_tcp(
    listener: TcpListener,
    router: Router,
    endpoint: Shared,
    cancel: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, addr)) = accepted else {
            continue;
        };
        tokio::spawn(connection(
            stream,
            addr,
            mpsc::unbounded_channel(),
            router.clone(),
            endpoint.clone(),
            cancel.clone(),
        ));
    }
}

/// How long opening a connection to a gateway may take; its queued messages are dropped
/// after that (their transactions time out as for a silent peer).
const TCP_CONNECT: Duration = Duration::from_secs(5);

/// Opens a connection to `addr` and serves it; `channel` holds what waits to be sent.
async fn connect(
    addr: SocketAddr,
    channel: (StreamQueue, mpsc::UnboundedReceiver<Vec<u8>>),
    router: Router,
    endpoint: Shared,
    cancel: CancellationToken,
) {
    match tokio::time::timeout(TCP_CONNECT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => connection(stream, addr, channel, router, endpoint, cancel).await,
        _ => {
            router
                .tcp
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&addr);
        }
    }
}

async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    (tx, mut rx): (StreamQueue, mpsc::UnboundedReceiver<Vec<u8>>),
    router: Router,
    endpoint: Shared,
    cancel: CancellationToken,
) {
    let (mut reader, mut writer) = stream.into_split();
    router
        .tcp
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(addr, tx.clone());
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
            _ = cancel.cancelled() => break,
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
                    let _ = tx.send(b"\r\n".to_vec());
                }
                Ok(Some(Frame::Message(bytes))) => {
                    let peer = Peer {
                        addr,
                        link: Link::Tcp,
                    };
                    let parsed = Endpoint::parse(&bytes);
                    router.drive(&endpoint, |e| {
                        e.on_parsed(&bytes, parsed, peer, Instant::now())
                    });
                }
                Err(e) => {
                    // The stream cannot be resynchronised: answer if we can, then close.
                    if let Some(response) = reject(framer.buffered(), &e) {
                        let _ = tx.send(response.to_bytes());
                    }
                    break 'read;
                }
            }
        }
    }
    router
        .tcp
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&addr);
    drop(tx);
    let _ = write.await;
}
