//! The client side of the fleet protocol: AXFR (RFC 5936), SOA serial checks and NOTIFY
//! (RFC 1996), each TSIG-signed when a key is given and each reply verified.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigVerifier};
use tokio::net::{TcpStream, UdpSocket};

use crate::frame::{Oversize, read_frame, write_frame};
use crate::tsig::{TsigKey, now};

/// Most records one transfer may bring (bounded memory against a broken or hostile primary).
pub const MAX_TRANSFER_RECORDS: usize = 20_000_000;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, sending or receiving.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The server answered with an error code.
    #[error("server answered {0}")]
    Rcode(ResponseCode),
    /// The reply's TSIG did not verify, or was missing.
    #[error("TSIG verification failed: {0}")]
    Tsig(String),
    /// The reply made no sense.
    #[error("malformed reply: {0}")]
    Malformed(String),
}

/// A random message id.
pub(crate) fn new_id() -> u16 {
    let mut b = [0u8; 2];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u16::from_be_bytes(b)
}

/// Encodes `message`, TSIG-signing it with `key` if given; returns the bytes and the verifier
/// for the reply.
fn encode_signed(
    mut message: Message,
    key: Option<&TsigKey>,
) -> Result<(Vec<u8>, Option<TSigVerifier>), ClientError> {
    let verifier = match key {
        Some(key) => {
            let (tsig, verifier) = key
                .signer()
                .sign_message(&message, now())
                .map_err(|e| ClientError::Tsig(e.to_string()))?;
            message.set_signature(tsig);
            verifier
        }
        None => None,
    };
    let bytes = message
        .to_vec()
        .map_err(|e| ClientError::Malformed(e.to_string()))?;
    Ok((bytes, verifier))
}

/// Decodes a reply, verifying its TSIG when a verifier is given.
fn decode_reply(
    bytes: Vec<u8>,
    verifier: Option<&mut TSigVerifier>,
    id: u16,
) -> Result<Message, ClientError> {
    let message = match verifier {
        Some(v) => v
            .verify(&bytes)
            .map_err(|e| ClientError::Tsig(e.to_string()))?
            .into_message(),
        None => Message::from_vec(&bytes).map_err(|e| ClientError::Malformed(e.to_string()))?,
    };
    if message.metadata.id != id || message.metadata.message_type != MessageType::Response {
        return Err(ClientError::Malformed(
            "reply does not match the request".into(),
        ));
    }
    Ok(message)
}

/// Transfers `zone` from `primary` by AXFR over TCP. Returns the records with the SOA first
/// and the closing SOA removed.
pub async fn axfr(
    primary: SocketAddr,
    zone: &Name,
    key: Option<&TsigKey>,
    timeout: Duration,
) -> Result<Vec<Record>, ClientError> {
    tokio::time::timeout(timeout, axfr_inner(primary, zone, key))
        .await
        .map_err(|_| ClientError::Timeout)?
}

async fn axfr_inner(
    primary: SocketAddr,
    zone: &Name,
    key: Option<&TsigKey>,
) -> Result<Vec<Record>, ClientError> {
    let id = new_id();
    let mut query = Message::new(id, MessageType::Query, OpCode::Query);
    query.add_query(Query::query(zone.clone(), RecordType::AXFR));
    let (bytes, mut verifier) = encode_signed(query, key)?;
    let mut stream = TcpStream::connect(primary).await?;
    stream.set_nodelay(true)?;
    write_frame(&mut stream, &bytes, Oversize::Error).await?;
    let mut records: Vec<Record> = Vec::new();
    loop {
        let Some(frame) = read_frame(&mut stream).await? else {
            return Err(ClientError::Malformed(
                "connection closed before the closing SOA".into(),
            ));
        };
        let message = decode_reply(frame, verifier.as_mut(), id)?;
        if message.metadata.response_code != ResponseCode::NoError {
            return Err(ClientError::Rcode(message.metadata.response_code));
        }
        for record in message.answers {
            let is_soa = record.record_type() == RecordType::SOA;
            if records.is_empty() && !is_soa {
                return Err(ClientError::Malformed(
                    "transfer does not start with the SOA".into(),
                ));
            }
            if is_soa && !records.is_empty() {
                return Ok(records);
            }
            if records.len() >= MAX_TRANSFER_RECORDS {
                return Err(ClientError::Malformed(
                    "transfer exceeds the record limit".into(),
                ));
            }
            records.push(record);
        }
    }
}

/// Asks `server` for the SOA of `zone` over UDP (TCP if truncated). `Ok(None)` when the
/// server does not serve the zone (REFUSED, NOTAUTH, NXDOMAIN or no SOA in the answer).
pub async fn query_soa(
    server: SocketAddr,
    zone: &Name,
    key: Option<&TsigKey>,
    timeout: Duration,
) -> Result<Option<SOA>, ClientError> {
    let id = new_id();
    let mut query = Message::new(id, MessageType::Query, OpCode::Query);
    query.add_query(Query::query(zone.clone(), RecordType::SOA));
    let (bytes, mut verifier) = encode_signed(query, key)?;
    let reply = udp_exchange(server, &bytes, id, timeout).await?;
    let message = if reply.len() > 2 && reply[2] & 0x02 != 0 {
        // Truncated: ask again over TCP.
        let (bytes, v) = {
            let mut query = Message::new(id, MessageType::Query, OpCode::Query);
            query.add_query(Query::query(zone.clone(), RecordType::SOA));
            encode_signed(query, key)?
        };
        verifier = v;
        let frame = tokio::time::timeout(timeout, async {
            let mut stream = TcpStream::connect(server).await?;
            write_frame(&mut stream, &bytes, Oversize::Error).await?;
            read_frame(&mut stream).await
        })
        .await
        .map_err(|_| ClientError::Timeout)??
        .ok_or_else(|| ClientError::Malformed("connection closed".into()))?;
        decode_reply(frame, verifier.as_mut(), id)?
    } else {
        decode_reply(reply, verifier.as_mut(), id)?
    };
    match message.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::Refused | ResponseCode::NotAuth | ResponseCode::NXDomain => return Ok(None),
        other => return Err(ClientError::Rcode(other)),
    }
    Ok(message.answers.into_iter().find_map(|r| match r.data {
        RData::SOA(soa) if r.name == *zone => Some(soa),
        _ => None,
    }))
}

async fn udp_exchange(
    server: SocketAddr,
    bytes: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Vec<u8>, ClientError> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    socket.send(bytes).await?;
    let mut buf = vec![0u8; 65_535];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let len = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
            .await
            .map_err(|_| ClientError::Timeout)??;
        // Ignore stray datagrams that are not the reply to this request.
        if len >= 12 && u16::from_be_bytes([buf[0], buf[1]]) == id && buf[2] & 0x80 != 0 {
            return Ok(buf[..len].to_vec());
        }
    }
}

/// Sends one NOTIFY for `zone` at `serial` to `target` and waits for the acknowledgement.
pub async fn notify(
    target: SocketAddr,
    zone: &Name,
    serial: u32,
    key: Option<&TsigKey>,
    timeout: Duration,
) -> Result<(), ClientError> {
    let id = new_id();
    let mut message = Message::new(id, MessageType::Query, OpCode::Notify);
    message.metadata.authoritative = true;
    let mut q = Query::query(zone.clone(), RecordType::SOA);
    q.set_query_class(DNSClass::IN);
    message.add_query(q);
    // The SOA in the answer section is a hint of the new serial (RFC 1996 section 3.7).
    let soa = SOA::new(Name::root(), Name::root(), serial, 0, 0, 0, 0);
    message.add_answer(Record::from_rdata(zone.clone(), 0, RData::SOA(soa)));
    let (bytes, mut verifier) = encode_signed(message, key)?;
    let reply = udp_exchange(target, &bytes, id, timeout).await?;
    let reply = decode_reply(reply, verifier.as_mut(), id)?;
    match reply.metadata.response_code {
        ResponseCode::NoError => Ok(()),
        other => Err(ClientError::Rcode(other)),
    }
}

/// Sends NOTIFY with RFC 1996 retries: up to `attempts` tries, the wait doubling from one second.
pub async fn notify_with_retries(
    target: SocketAddr,
    zone: &Name,
    serial: u32,
    key: Option<&TsigKey>,
    attempts: u32,
) -> Result<(), ClientError> {
    let mut wait = Duration::from_secs(1);
    let mut last = ClientError::Timeout;
    for attempt in 0..attempts.max(1) {
        match notify(target, zone, serial, key, wait).await {
            Ok(()) => return Ok(()),
            Err(e @ ClientError::Rcode(_)) => return Err(e),
            Err(e) => {
                tracing::debug!(target = %target, zone = %zone, attempt, error = %e, "notify not acknowledged");
                last = e;
            }
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
    Err(last)
}
