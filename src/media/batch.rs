//! `Batch`: the datagrams waiting on a UDP socket, read with one `recvmmsg(2)` — up to `SIZE`
//! at a time. A relay wakes for one packet far more often than for several, and reading until
//! the socket says "would block" costs a second system call per wake-up; a batch that comes
//! back short tells the same with the first call, so `Batch::read` also tells tokio the socket
//! is drained (its readiness is cleared) without asking again.
//!
//! One batch serves every relay task of a thread (`with`): its buffers are not part of any
//! call's memory.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams read at once.
pub const SIZE: usize = 8;
/// The largest datagram kept whole (RTP over Ethernet stays well below).
const MTU: usize = 2048;

/// Buffers for `SIZE` datagrams and where each came from.
pub struct Batch {
    bufs: Box<[[u8; MTU]; SIZE]>,
    lens: [usize; SIZE],
    from: [Option<SocketAddr>; SIZE],
    count: usize,
}

thread_local! {
    static BATCH: RefCell<Batch> = RefCell::new(Batch::new());
}

impl Batch {
    fn new() -> Batch {
        Batch {
            bufs: Box::new([[0; MTU]; SIZE]),
            lens: [0; SIZE],
            from: [None; SIZE],
            count: 0,
        }
    }

    /// Runs `f` with this thread's batch (never across an `await`).
    pub fn with<R>(f: impl FnOnce(&mut Batch) -> R) -> R {
        BATCH.with(|b| f(&mut b.borrow_mut()))
    }

    /// Reads what is waiting on `socket`, up to `SIZE`; returns whether the socket may hold
    /// more (a full batch). Nothing waiting, or an error, reads nothing and returns `false`.
    pub fn read(&mut self, socket: &UdpSocket) -> bool {
        self.count = 0;
        let mut full = false;
        let _ = socket.try_io(Interest::READABLE, || {
            let n = self.recvmmsg(socket)?;
            self.count = n;
            full = n == SIZE;
            if full {
                Ok(())
            } else {
                // A short batch: the queue is empty; tokio clears the readiness on this.
                Err(io::ErrorKind::WouldBlock.into())
            }
        });
        full
    }

    /// The datagrams read: (bytes, source).
    pub fn datagrams(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        (0..self.count).filter_map(|i| Some((&self.bufs[i][..self.lens[i]], self.from[i]?)))
    }

    fn recvmmsg(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        // SAFETY: all-zero bytes are valid values of these plain C structs.
        let mut names: [libc::sockaddr_storage; SIZE] = unsafe { std::mem::zeroed() };
        let mut iovecs: [libc::iovec; SIZE] = unsafe { std::mem::zeroed() };
        let mut headers: [libc::mmsghdr; SIZE] = unsafe { std::mem::zeroed() };
        for i in 0..SIZE {
            iovecs[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: MTU,
            };
            headers[i].msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            headers[i].msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            headers[i].msg_hdr.msg_iov = &mut iovecs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a buffer, a name and an iovec that live until the
        // call returns; the kernel writes at most the lengths given.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                SIZE as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for i in 0..n {
            self.lens[i] = (headers[i].msg_len as usize).min(MTU);
            self.from[i] = address(&names[i]);
        }
        Ok(n)
    }
}

/// The socket address in `s`, if it is IPv4 or IPv6.
fn address(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*(s as *const _ as *const libc::sockaddr_in) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                u32::from_be(a.sin_addr.s_addr).into(),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(s as *const _ as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                a.sin6_addr.s6_addr.into(),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_what_waits_in_batches_and_says_when_more_may() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = socket.local_addr().unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let from = peer.local_addr().unwrap();
        for i in 0..(SIZE as u8 + 3) {
            peer.send_to(&[i; 5], to).unwrap();
        }
        socket.readable().await.unwrap();
        // The kernel has queued them all once a packet sent after them arrived.
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.send_to(b"p", probe.local_addr().unwrap()).unwrap();
        probe.recv_from(&mut [0; 4]).unwrap();
        let (more, first) = Batch::with(|b| {
            let more = b.read(&socket);
            (
                more,
                b.datagrams()
                    .map(|(d, f)| (d.to_vec(), f))
                    .collect::<Vec<_>>(),
            )
        });
        assert!(more, "a full batch");
        assert_eq!(first.len(), SIZE);
        assert_eq!(first[0], (vec![0; 5], from));
        assert_eq!(first[SIZE - 1].0, vec![SIZE as u8 - 1; 5]);
        let (more, rest) = Batch::with(|b| (b.read(&socket), b.datagrams().count()));
        assert!(!more, "a short batch: drained");
        assert_eq!(rest, 3);
        let (more, none) = Batch::with(|b| (b.read(&socket), b.datagrams().count()));
        assert!(!more);
        assert_eq!(none, 0);
    }
}
