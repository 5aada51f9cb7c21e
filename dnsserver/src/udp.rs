//! UDP: dedicated threads, each with its own socket on the same address (`SO_REUSEPORT`, so
//! the kernel spreads clients over them), each blocking in `recv_from`, answering into a
//! reused buffer and sending straight back. No task scheduling per query.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::RrlConfig;
use crate::rrl::Rrl;
use crate::server::{Action, Incoming, Server};

/// How often a blocked thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// Kernel receive buffer asked for, to ride out bursts.
const RECV_BUFFER: usize = 4 << 20;

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

fn run(socket: &UdpSocket, server: &Server, mut rrl: Option<Rrl>, stop: &AtomicBool) {
    let shard = server.metrics().shard();
    // Forwarded UPDATE answers are sent from a task, through a handle on the same socket.
    let replies = socket.try_clone().ok().map(Arc::new);
    let mut buf = vec![0u8; 65_535];
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    while !stop.load(Ordering::Relaxed) {
        let (len, src) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                // ICMP errors from earlier sends surface here (ECONNREFUSED): not ours to fix.
                tracing::debug!(error = %e, "UDP receive error");
                continue;
            }
        };
        match server.handle(
            Incoming {
                packet: &buf[..len],
                src,
                udp: true,
            },
            &mut out,
            &shard,
            rrl.as_mut(),
        ) {
            Action::Send => {
                if let Err(e) = socket.send_to(&out, src) {
                    tracing::debug!(error = %e, client = %src, "UDP send failed");
                }
            }
            Action::Forward(forwarder, slot) => {
                let Some(replies) = replies.clone() else {
                    continue;
                };
                let packet = buf[..len].to_vec();
                forwarder.runtime().clone().spawn(async move {
                    let _slot = slot;
                    if let Some(reply) = crate::server::forwarded(&forwarder, &packet, src).await
                        && let Err(e) = replies.send_to(&reply, src)
                    {
                        tracing::debug!(error = %e, client = %src, "UDP send failed");
                    }
                });
            }
            Action::Drop | Action::Transfer(_) => {}
        }
    }
}
