//! UDP: dedicated threads, each with its own socket on the same address (`SO_REUSEPORT`, so
//! the kernel spreads clients over them), each blocking until datagrams arrive, then taking
//! up to [`BATCH`] of them in one `recvmmsg`, answering each into a reused buffer and sending
//! the answers back in one `sendmmsg` (as NSD does). No task scheduling per query, and under
//! load two system calls per batch instead of two per query.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::RrlConfig;
use crate::rrl::Rrl;
use crate::server::{Action, Incoming, Server};

/// How often a blocked thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// Kernel receive buffer asked for, to ride out bursts.
const RECV_BUFFER: usize = 4 << 20;
/// Datagrams taken (and answers sent) per system call.
pub const BATCH: usize = 32;
/// Room for one datagram: the largest UDP payload, so nothing is cut.
const SLOT: usize = 65_535;

/// One UDP socket for `addr` (port 0: a free port), shareable with more sockets on the same
/// address.
pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Best effort: the kernel caps it at net.core.rmem_max.
    let _ = socket.set_recv_buffer_size(RECV_BUFFER);
    socket.bind(&addr.into())?;
    // recvmmsg waits for its first datagram at most this long (SO_RCVTIMEO).
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket.into())
}

/// The answering threads of one address; they stop when this is dropped.
#[derive(Debug)]
pub struct UdpThreads {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpThreads {
    /// Starts one thread per socket.
    pub fn start(
        sockets: Vec<UdpSocket>,
        server: Arc<Server>,
        rrl: &RrlConfig,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let count = sockets.len();
        let mut threads = Vec::with_capacity(count);
        for (i, socket) in sockets.into_iter().enumerate() {
            let stop = stop.clone();
            let server = server.clone();
            let rrl = Rrl::new(rrl, count);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("dns-udp-{i}"))
                    .spawn(move || run(&socket, &server, rrl, &stop))?,
            );
        }
        Ok(Self { stop, threads })
    }
}

impl Drop for UdpThreads {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The threads notice within POLL; joined so the sockets are closed on return.
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A client address as the standard library has it.
fn std_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

fn run(socket: &UdpSocket, server: &Server, mut rrl: Option<Rrl>, stop: &AtomicBool) {
    let shard = server.metrics().shard();
    let fd = socket.as_raw_fd();
    // Forwarded UPDATE answers are sent from a task, through a handle on the same socket.
    let replies = socket.try_clone().ok().map(Arc::new);
    let mut bufs: Vec<Vec<u8>> = (0..BATCH).map(|_| vec![0u8; SLOT]).collect();
    let mut outs: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(4096)).collect();
    let mut received = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut sending = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    // (length, client) of each datagram of the batch.
    let mut got: Vec<(usize, Option<SocketAddr>)> = Vec::with_capacity(BATCH);
    // (answer index, client) of each answer to send.
    let mut answers: Vec<(usize, SocketAddr)> = Vec::with_capacity(BATCH);
    while !stop.load(Ordering::Relaxed) {
        got.clear();
        {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> =
                bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
            // Blocks for the first datagram (up to POLL), then takes what is queued.
            match recvmmsg(
                fd,
                &mut received,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(batch) => {
                    for m in batch {
                        got.push((m.bytes, m.address.as_ref().and_then(std_addr)));
                    }
                }
                Err(Errno::EAGAIN | Errno::EINTR) => continue,
                Err(e) => {
                    // ICMP errors from earlier sends surface here (ECONNREFUSED): not ours to fix.
                    tracing::debug!(error = %e, "UDP receive error");
                    continue;
                }
            }
        }
        answers.clear();
        for (i, &(len, src)) in got.iter().enumerate() {
            let Some(src) = src else { continue };
            match server.handle(
                Incoming {
                    packet: &bufs[i][..len],
                    src,
                    udp: true,
                },
                &mut outs[i],
                &shard,
                rrl.as_mut(),
            ) {
                Action::Send => answers.push((i, src)),
                Action::Forward(forwarder, slot) => {
                    let Some(replies) = replies.clone() else {
                        continue;
                    };
                    let packet = bufs[i][..len].to_vec();
                    forwarder.runtime().clone().spawn(async move {
                        let _slot = slot;
                        if let Some(reply) =
                            crate::server::forwarded(&forwarder, &packet, src).await
                            && let Err(e) = replies.send_to(&reply, src)
                        {
                            tracing::debug!(error = %e, client = %src, "UDP send failed");
                        }
                    });
                }
                Action::Drop | Action::Transfer(_) => {}
            }
        }
        send_all(fd, &mut sending, &outs, &answers);
    }
}

/// Sends `answers` ((index into `outs`, client)) with as few `sendmmsg` calls as the kernel
/// allows; an answer that cannot be sent is skipped (and logged), not retried.
fn send_all(
    fd: std::os::fd::RawFd,
    headers: &mut MultiHeaders<SockaddrStorage>,
    outs: &[Vec<u8>],
    answers: &[(usize, SocketAddr)],
) {
    let mut from = 0;
    while from < answers.len() {
        let rest = &answers[from..];
        let slices: Vec<[IoSlice<'_>; 1]> = rest
            .iter()
            .map(|&(i, _)| [IoSlice::new(&outs[i])])
            .collect();
        let addrs: Vec<Option<SockaddrStorage>> = rest
            .iter()
            .map(|&(_, a)| Some(SockaddrStorage::from(a)))
            .collect();
        match sendmmsg(fd, headers, &slices, &addrs, [], MsgFlags::empty()) {
            Ok(sent) => {
                let n = sent.count();
                if n == 0 {
                    return;
                }
                from += n;
            }
            Err(Errno::EINTR) => {}
            Err(e) => {
                tracing::debug!(error = %e, client = %rest[0].1, "UDP send failed");
                from += 1;
            }
        }
    }
}
