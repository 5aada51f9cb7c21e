//! RFC 2136 section 6: UPDATE sent to a nameserver of the fleet (the zone's MNAME) goes to
//! the primary untouched, and its answer comes back untouched. The TSIG signature covers the
//! message end to end, so this server neither checks nor needs the key: the primary decides.
//!
//! Forwarding goes over TCP whatever the client used (an UPDATE answer is small, and TCP needs
//! no matching of ids), a few at a time: beyond [`IN_FLIGHT`] an UPDATE is answered SERVFAIL
//! at once, as when the primary does not answer within [`TIMEOUT`], and the client retries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apex_net::frame::{Oversize, read_frame, write_frame};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// UPDATE messages being forwarded at once, at most.
pub const IN_FLIGHT: usize = 64;
/// How long the primary has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Where UPDATE goes, and the slots to forward with.
#[derive(Debug, Clone)]
pub struct Forwarder {
    to: SocketAddr,
    slots: Arc<Semaphore>,
    runtime: tokio::runtime::Handle,
}

impl Forwarder {
    /// Forwards to `to`, on the runtime this is made in.
    pub fn new(to: SocketAddr) -> Self {
        Self {
            to,
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// The primary's address.
    pub fn to(&self) -> SocketAddr {
        self.to
    }

    /// A slot, if one is free.
    pub fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// The runtime to forward on (the UDP threads are not in one).
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// Sends `message` to the primary and returns its answer.
    pub async fn relay(&self, message: &[u8]) -> std::io::Result<Vec<u8>> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.to).await?;
            write_frame(&mut stream, message, Oversize::Error).await?;
            read_frame(&mut stream).await?.ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the primary closed the connection without answering",
                )
            })
        };
        tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "the primary did not answer")
        })?
    }
}
