//! UDP and TCP serving loops around a [`DnsHandler`].
//!
//! The loops own the sockets: they decode requests, answer undecodable ones with FORMERR (or
//! drop them when not even the header is there), frame TCP messages with their two-byte length
//! ([`crate::frame`], refusing a message too long to frame), keep TCP connections to an idle
//! timeout (on every read and write), cap them in all and per client and cap the requests on
//! each, bound the UDP datagrams answered at once and per client, and write multi-message
//! replies (zone transfers) as the handler produces them. The worker's hidden primary serves with these loops;
//! apex-dnsserver has its own (built for query load) and shares only the framing.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// Most connections open at once; beyond, a new connection is closed at once.
    pub max_connections: usize,
    /// Most connections open at once from one client (an IPv4 address, an IPv6 /64).
    pub max_per_client: usize,
    /// A connection with no complete request for this long is closed; also the limit on
    /// each write (a client that stops reading loses its connection).
    pub idle_timeout: Duration,
    /// Most requests answered on one connection before it is closed.
    pub max_queries_per_connection: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            // A nameserver runs up to 16 transfers at once.
            max_per_client: 32,
            idle_timeout: Duration::from_secs(10),
            max_queries_per_connection: 1_000,
        }
    }
}

/// Limits of the UDP loop.
#[derive(Debug, Clone, Copy)]
pub struct UdpLimits {
    /// Datagrams being answered at once; beyond, new ones are dropped.
    pub max_in_flight: usize,
    /// Datagrams a second answered per client (an IPv4 address, an IPv6 /64); 0: no limit.
    pub per_client_per_second: u32,
}

impl Default for UdpLimits {
    fn default() -> Self {
        Self {
            max_in_flight: 256,
            per_client_per_second: 1_000,
        }
    }
}

/// Who may connect: networks as (address, prefix length). Empty: anyone.
#[derive(Debug, Clone, Default)]
pub struct Allow(pub Vec<(IpAddr, u8)>);

impl Allow {
    /// Whether `ip` may connect.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.0.is_empty() || self.0.iter().any(|&(net, len)| within(ip, net, len))
    }
}

fn within(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip.to_canonical(), net.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The client a connection or datagram counts against: the IPv4 address, or the IPv6 /64
/// (one host usually holds a whole /64).
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
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
/// so a slow answer never holds up the next; at most `limits.max_in_flight` at once, and at
/// most `limits.per_client_per_second` a second from one client; datagrams over those, or
/// from outside `allow`, are dropped.
pub async fn serve_udp<H: DnsHandler>(
    socket: UdpSocket,
    handler: Arc<H>,
    limits: UdpLimits,
    allow: Allow,
) {
    let socket = Arc::new(socket);
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    let mut rates = ClientRates::new(limits.per_client_per_second);
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, src) = match socket.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        if !allow.permits(src.ip()) || !rates.allow(client_of(src.ip())) {
            continue;
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            continue;
        };
        let raw = buf[..len].to_vec();
        let socket = socket.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let _permit = permit;
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

/// Per-client datagram budgets of the current second (a table that forgets every second, so
/// its size is bounded by the clients of one second).
struct ClientRates {
    per_second: u32,
    second: std::time::Instant,
    counts: HashMap<IpAddr, u32>,
}

impl ClientRates {
    fn new(per_second: u32) -> Self {
        Self {
            per_second,
            second: std::time::Instant::now(),
            counts: HashMap::new(),
        }
    }

    fn allow(&mut self, client: IpAddr) -> bool {
        if self.per_second == 0 {
            return true;
        }
        if self.second.elapsed() >= Duration::from_secs(1) {
            self.second = std::time::Instant::now();
            self.counts.clear();
        }
        let n = self.counts.entry(client).or_insert(0);
        *n += 1;
        *n <= self.per_second
    }
}

/// Connections open per client ([`client_of`]).
pub type PerClient = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// A client's place among the connections open, given back when dropped.
pub struct ClientSlot {
    per_client: PerClient,
    ip: IpAddr,
}

impl ClientSlot {
    /// Takes a place for the client of `peer` if it has fewer than `max` connections open.
    pub fn take(per_client: &PerClient, peer: IpAddr, max: usize) -> Option<Self> {
        let ip = client_of(peer);
        let mut map = per_client.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self {
            per_client: per_client.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves TCP on `listener` until the task is dropped: connections from outside `allow`, or
/// over `limits` (in all, per client), are closed at once, nothing queued.
pub async fn serve_tcp<H: DnsHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: TcpLimits,
    allow: Allow,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_client: PerClient = Arc::default();
    // The connections: dropped (and so closed) with this task.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, src) = match listener.accept().await {
            Ok(v) => v,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::debug!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !allow.permits(src.ip()) {
            continue;
        }
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let Some(slot) = ClientSlot::take(&per_client, src.ip(), limits.max_per_client) else {
            continue;
        };
        let handler = handler.clone();
        connections.spawn(async move {
            let _permit = permit;
            let _slot = slot;
            if let Err(e) = connection(stream, src, handler, limits).await {
                tracing::debug!(peer = %src, error = %e, "tcp connection ended");
            }
        });
    }
}

async fn connection<H: DnsHandler>(
    mut stream: TcpStream,
    src: SocketAddr,
    handler: Arc<H>,
    limits: TcpLimits,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let idle = limits.idle_timeout;
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading");
    for _ in 0..limits.max_queries_per_connection {
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
            Reply::One(bytes) => {
                tokio::time::timeout(idle, write_frame(&mut stream, &bytes, Oversize::Error))
                    .await
                    .map_err(|_| timed_out())??;
            }
            Reply::Stream(mut rx) => {
                while let Some(bytes) = rx.recv().await {
                    tokio::time::timeout(idle, write_frame(&mut stream, &bytes, Oversize::Error))
                        .await
                        .map_err(|_| timed_out())??;
                }
            }
        }
    }
    Ok(())
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
