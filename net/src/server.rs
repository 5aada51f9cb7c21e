//! UDP and TCP serving loops around a [`DnsHandler`].
//!
//! The loops own the sockets: they decode requests, answer undecodable ones with FORMERR (or
//! drop them when not even the header is there), frame TCP messages with their two-byte length
//! ([`crate::frame`], refusing a message too long to frame), keep TCP connections to an idle
//! timeout and cap their number, and write multi-message replies (zone transfers) as the
//! handler produces them. The worker's hidden primary serves with these loops;
//! apex-dnsserver has its own (built for query load) and shares only the framing.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::frame::{Oversize, read_frame, write_frame};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc};

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A UDP datagram.
    Udp,
    /// A TCP connection.
    Tcp,
}

/// One decoded request.
#[derive(Debug)]
pub struct Request {
    /// The bytes as received (TSIG verification needs them).
    pub raw: Vec<u8>,
    /// The decoded message.
    pub message: Message,
    /// Who sent it.
    pub src: SocketAddr,
    /// How.
    pub transport: Transport,
}

/// What to send back.
#[derive(Debug)]
pub enum Reply {
    /// Nothing (dropped).
    None,
    /// One encoded message.
    One(Vec<u8>),
    /// Several encoded messages, as they are produced (TCP only: zone transfers).
    Stream(mpsc::Receiver<Vec<u8>>),
}

/// Answers requests.
pub trait DnsHandler: Send + Sync + 'static {
    /// Produces the reply to `request`.
    fn handle(&self, request: Request) -> impl Future<Output = Reply> + Send;
}

/// Limits of the TCP loop.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// Most connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A connection with no complete request for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            idle_timeout: Duration::from_secs(10),
        }
    }
}

/// FORMERR for a request whose header could be read but whose body could not.
fn formerr(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < 12 || raw[2] & 0x80 != 0 {
        return None; // no header, or a response: never answer those
    }
    let id = u16::from_be_bytes([raw[0], raw[1]]);
    let op = OpCode::from_u8((raw[2] >> 3) & 0x0f);
    let mut m = Message::new(id, MessageType::Response, op);
    m.metadata.response_code = ResponseCode::FormErr;
    m.to_vec().ok()
}

/// The request in `raw`, or what to answer instead: FORMERR, or nothing (`None`: a response,
/// or no header).
fn request(
    raw: Vec<u8>,
    src: SocketAddr,
    transport: Transport,
) -> Result<Request, Option<Vec<u8>>> {
    match Message::from_vec(&raw) {
        Ok(message) if message.metadata.message_type == MessageType::Query => Ok(Request {
            raw,
            message,
            src,
            transport,
        }),
        Ok(_) => Err(None),
        Err(_) => Err(formerr(&raw)),
    }
}

/// Serves UDP on `socket` until the task is dropped. Each datagram is handled in its own task
/// so a slow answer never holds up the next.
pub async fn serve_udp<H: DnsHandler>(socket: UdpSocket, handler: Arc<H>) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, src) = match socket.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        let raw = buf[..len].to_vec();
        let socket = socket.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let reply = match request(raw, src, Transport::Udp) {
                Ok(request) => handler.handle(request).await,
                Err(Some(err)) => Reply::One(err),
                Err(None) => Reply::None,
            };
            if let Reply::One(bytes) = reply {
                let _ = socket.send_to(&bytes, src).await;
            }
        });
    }
}

/// Serves TCP on `listener` until the task is dropped.
pub async fn serve_tcp<H: DnsHandler>(listener: TcpListener, handler: Arc<H>, limits: TcpLimits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, src) = match listener.accept().await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = connection(stream, src, handler, limits.idle_timeout).await {
                tracing::debug!(peer = %src, error = %e, "tcp connection ended");
            }
        });
    }
}

async fn connection<H: DnsHandler>(
    mut stream: TcpStream,
    src: SocketAddr,
    handler: Arc<H>,
    idle: Duration,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    loop {
        let raw = match tokio::time::timeout(idle, read_frame(&mut stream)).await {
            Ok(Ok(Some(raw))) => raw,
            Ok(Ok(None)) | Err(_) => return Ok(()),
            Ok(Err(e)) => return Err(e),
        };
        let reply = match request(raw, src, Transport::Tcp) {
            Ok(request) => handler.handle(request).await,
            Err(Some(err)) => Reply::One(err),
            Err(None) => return Ok(()),
        };
        match reply {
            Reply::None => {}
            Reply::One(bytes) => write_frame(&mut stream, &bytes, Oversize::Error).await?,
            Reply::Stream(mut rx) => {
                while let Some(bytes) = rx.recv().await {
                    write_frame(&mut stream, &bytes, Oversize::Error).await?;
                }
            }
        }
    }
}

/// Binds UDP and TCP on `addr` (port 0 picks one, the same for both where possible) and returns
/// the address actually bound.
pub async fn bind_both(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener, SocketAddr)> {
    // With port 0, take the TCP port first and try the same number for UDP.
    for _ in 0..20 {
        let tcp = TcpListener::bind(addr).await?;
        let bound = tcp.local_addr()?;
        match UdpSocket::bind(bound).await {
            Ok(udp) => return Ok((udp, tcp, bound)),
            Err(e) if addr.port() != 0 => return Err(e),
            Err(_) => continue,
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no port free for both UDP and TCP",
    ))
}
