//! One request in, one reply (or none, or a stream) out: the fast answer path for plain
//! queries, metrics and rate limiting around it, and the slow path, decoded with hickory, for
//! what is rare and needs more care: NOTIFY, TSIG-signed requests and zone transfers to the
//! servers allowed to ask.

use std::net::SocketAddr;
use std::sync::Arc;

use apex_net::TsigKey;
use apex_net::tsig::{RequestAuth, ResponseSigner, verify_request};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::tsig::TsigError;

use crate::answer::{self, Handled};
use crate::config::Net;
use crate::forward::Forwarder;
use crate::metrics::{Metrics, Shard};
use crate::notify;
use crate::rrl::{Rrl, Verdict};
use crate::secondary::Engine;
use crate::store::Store;
use crate::zone::Zone;

/// What to do after handling a request.
pub enum Action {
    /// Send the bytes in the output buffer.
    Send,
    /// Send nothing.
    Drop,
    /// Build a zone transfer with this (off the async threads) and send its messages in
    /// order (TCP only).
    Transfer(Box<dyn FnOnce() -> Vec<Vec<u8>> + Send>),
    /// Forward the request (an UPDATE) to the primary and relay its answer; the slot is
    /// held until then.
    Forward(Forwarder, tokio::sync::OwnedSemaphorePermit),
}

/// One request as it came in.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The message as received.
    pub packet: &'a [u8],
    /// Who sent it.
    pub src: SocketAddr,
    /// Over UDP (else TCP).
    pub udp: bool,
}

/// The request handler shared by every UDP thread and TCP connection.
#[derive(Debug)]
pub struct Server {
    store: Arc<Store>,
    engine: Arc<Engine>,
    keys: Vec<TsigKey>,
    allow_xfr: Vec<Net>,
    metrics: Arc<Metrics>,
    forward: Option<Forwarder>,
}

/// Room left in a UDP reply for the TSIG record appended after encoding: owner (the key name),
/// fixed fields, the algorithm name and a MAC of up to 64 bytes, with margin.
fn tsig_room(signer: &ResponseSigner) -> usize {
    signer.key_name().to_ascii().len() + 128
}

/// Bytes of records per transfer message (well under 64 KB, as BIND and Knot send).
const XFR_MESSAGE: usize = 16_000;

impl Server {
    /// A handler over `store`; UPDATE goes to `update_forward` (none: refused). Made inside
    /// the runtime that forwards.
    pub fn new(
        store: Arc<Store>,
        engine: Arc<Engine>,
        allow_xfr: Vec<Net>,
        metrics: Arc<Metrics>,
        update_forward: Option<SocketAddr>,
    ) -> Self {
        let keys = engine.keys();
        Self {
            store,
            engine,
            keys,
            allow_xfr,
            metrics,
            forward: update_forward.map(Forwarder::new),
        }
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Handles one request into `out`.
    pub fn handle(
        &self,
        request: Incoming<'_>,
        out: &mut Vec<u8>,
        shard: &Shard,
        rrl: Option<&mut Rrl>,
    ) -> Action {
        let Incoming { packet, src, udp } = request;
        let (handled, outcome) = answer::handle(&self.store, packet, out, udp, 0);
        match handled {
            Handled::Reply => {
                shard.count(&outcome);
                match rrl {
                    Some(rrl) => limit(rrl, shard, src, &outcome, out),
                    None => Action::Send,
                }
            }
            Handled::Drop => {
                shard
                    .dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Action::Drop
            }
            Handled::SlowPath => {
                let (action, signed) = self.slow(request, out, shard);
                // Over UDP the slow path's replies (FORMERR, REFUSED, NOTAUTH, NOTIMP, refused
                // NOTIFY) are rate limited like errors: one budget per client network. Replies
                // to requests signed with our key are not: their senders are our peers.
                match (rrl, udp && !signed, action) {
                    (Some(rrl), true, Action::Send) => {
                        let error = answer::Outcome {
                            kind: answer::Kind::Error,
                            ..answer::Outcome::default()
                        };
                        limit(rrl, shard, src, &error, out)
                    }
                    (_, _, action) => action,
                }
            }
        }
    }

    /// The slow path: the action, and whether the request was signed with one of our keys.
    fn slow(&self, request: Incoming<'_>, out: &mut Vec<u8>, shard: &Shard) -> (Action, bool) {
        let Incoming { packet, src, .. } = request;
        // UPDATE is the primary's to judge, signature and all (RFC 2136 section 6).
        if (packet[2] >> 3) & 0x0f == answer::parse::OPCODE_UPDATE {
            return (self.forward(packet, out), false);
        }
        let message = match Message::from_vec(packet) {
            Ok(m) if m.metadata.message_type == MessageType::Query => m,
            Ok(_) => return (Action::Drop, false),
            Err(_) => return (error_reply(packet, ResponseCode::FormErr, out), false),
        };
        let signer = match verify_request(packet, &message, &self.keys) {
            RequestAuth::Unsigned => None,
            RequestAuth::Signed(signer) => Some(signer),
            // A SOA query signed with a key this server does not have: a domain's key, used by
            // an UPDATE client to find the zone before it sends (certbot's RFC 2136 plugin
            // signs it). The primary knows the domain's keys: it answers, signed.
            RequestAuth::Failed(failure)
                if failure.error == TsigError::BadKey
                    && message.metadata.op_code == OpCode::Query
                    && matches!(message.queries.as_slice(), [q] if q.query_type() == RecordType::SOA)
                    && self.forward.is_some() =>
            {
                return (self.forward(packet, out), false);
            }
            RequestAuth::Failed(failure) => {
                if apex_net::quiet::allow() {
                    tracing::warn!(source = %src, error = ?failure.error, "request TSIG did not verify");
                }
                let action = match failure.reply(&message) {
                    Some(bytes) => {
                        *out = bytes;
                        Action::Send
                    }
                    None => Action::Drop,
                };
                return (action, false);
            }
        };
        let signed = signer.is_some();
        (
            self.slow_message(request, &message, signer, out, shard),
            signed,
        )
    }

    fn slow_message(
        &self,
        request: Incoming<'_>,
        message: &Message,
        signer: Option<ResponseSigner>,
        out: &mut Vec<u8>,
        shard: &Shard,
    ) -> Action {
        let Incoming { packet, src, udp } = request;
        match message.metadata.op_code {
            OpCode::Notify => {
                let key = signer.as_ref().map(|s| s.key_name().clone());
                let reply = notify::handle(&self.engine, message, src.ip(), key.as_ref());
                let Ok(mut bytes) = reply.to_vec() else {
                    return Action::Drop;
                };
                if let Some(mut signer) = signer
                    && signer.sign(&mut bytes).is_err()
                {
                    return Action::Drop;
                }
                *out = bytes;
                Action::Send
            }
            OpCode::Query => {
                let qtype = message.queries.first().map(|q| q.query_type());
                if matches!(qtype, Some(RecordType::AXFR | RecordType::IXFR)) {
                    return self.transfer_out(request, message, signer, out);
                }
                // A signed query: answered by the fast path from the request without its TSIG,
                // then signed.
                let Some(mut signer) = signer else {
                    return error_reply(packet, ResponseCode::FormErr, out);
                };
                let mut stripped = message.clone();
                stripped.take_signature();
                let Ok(bytes) = stripped.to_vec() else {
                    return error_reply(packet, ResponseCode::FormErr, out);
                };
                let (handled, outcome) =
                    answer::handle(&self.store, &bytes, out, udp, tsig_room(&signer));
                if handled != Handled::Reply {
                    return Action::Drop;
                }
                shard.count(&outcome);
                if signer.sign(out).is_err() {
                    return Action::Drop;
                }
                Action::Send
            }
            _ => error_reply(packet, ResponseCode::NotImp, out),
        }
    }

    /// Forwards the request to the primary (a slot permitting), or refuses it when there is
    /// none to forward to.
    fn forward(&self, packet: &[u8], out: &mut Vec<u8>) -> Action {
        match &self.forward {
            None => error_reply(packet, ResponseCode::Refused, out),
            Some(f) => match f.slot() {
                Some(slot) => Action::Forward(f.clone(), slot),
                None => error_reply(packet, ResponseCode::ServFail, out),
            },
        }
    }

    /// AXFR (and IXFR, answered with the whole zone as RFC 1995 section 4 allows) to a client
    /// that is allowed: signed with one of our keys, or from an allowed network.
    fn transfer_out(
        &self,
        request: Incoming<'_>,
        message: &Message,
        signer: Option<ResponseSigner>,
        out: &mut Vec<u8>,
    ) -> Action {
        let Incoming { packet, src, udp } = request;
        let allowed = signer.is_some() || self.allow_xfr.iter().any(|n| n.contains(src.ip()));
        let refuse = |rcode: ResponseCode, signer: Option<ResponseSigner>, out: &mut Vec<u8>| {
            let Action::Send = error_reply(packet, rcode, out) else {
                return Action::Drop;
            };
            if let Some(mut s) = signer
                && s.sign(out).is_err()
            {
                return Action::Drop;
            }
            Action::Send
        };
        if !allowed {
            if apex_net::quiet::allow() {
                tracing::info!(source = %src, "zone transfer refused: not allowed");
            }
            return refuse(ResponseCode::Refused, signer, out);
        }
        let Some(q) = message.queries.first() else {
            return refuse(ResponseCode::FormErr, signer, out);
        };
        let zone_name = apex_zone::dname::DName::from_name(q.name());
        let zone = self
            .store
            .slot(&zone_name)
            .filter(|s| !s.is_expired())
            .and_then(|s| s.zone());
        let Some(zone) = zone else {
            return refuse(ResponseCode::NotAuth, signer, out);
        };
        if udp {
            // Transfers go over TCP: a truncated reply sends the client there.
            let Action::Send = error_reply(packet, ResponseCode::NoError, out) else {
                return Action::Drop;
            };
            out[2] |= 0x02 | 0x04;
            if let Some(mut s) = signer
                && s.sign(out).is_err()
            {
                return Action::Drop;
            }
            return Action::Send;
        }
        let Some(question_end) = question_end(packet) else {
            return Action::Drop;
        };
        tracing::info!(source = %src, zone.name = %zone_name, serial = zone.serial(), "zone transfer out");
        let head = packet[..question_end].to_vec();
        Action::Transfer(Box::new(move || xfr_messages(&zone, &head, signer)))
    }
}

/// Applies rate limiting to the reply in `out` about `outcome`, sent to `src`.
fn limit(
    rrl: &mut Rrl,
    shard: &Shard,
    src: SocketAddr,
    outcome: &answer::Outcome,
    out: &mut Vec<u8>,
) -> Action {
    match rrl.check(src.ip(), outcome) {
        Verdict::Send => Action::Send,
        Verdict::Slip => {
            shard
                .rrl_slipped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            slip(out);
            Action::Send
        }
        Verdict::Drop => {
            shard
                .rrl_dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Action::Drop
        }
    }
}

/// Turns the reply in `out` into an empty truncated one (question kept).
fn slip(out: &mut Vec<u8>) {
    let Some(end) = question_end(out) else {
        return;
    };
    out.truncate(end);
    out[2] |= 0x02;
    out[6..12].fill(0);
}

/// The end of the question of a message with one question (uncompressed name).
fn question_end(msg: &[u8]) -> Option<usize> {
    if msg.len() < 12 || msg[4..6] != [0, 1] {
        return None;
    }
    let mut pos = 12;
    loop {
        let len = usize::from(*msg.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        pos += 1 + len;
    }
    (pos + 4 <= msg.len()).then_some(pos + 4)
}

/// A reply with `rcode`, the question echoed when it can be read.
/// The relayed answer to a forwarded request, or SERVFAIL when the primary gave none.
pub(crate) async fn forwarded(
    forwarder: &Forwarder,
    packet: &[u8],
    src: SocketAddr,
) -> Option<Vec<u8>> {
    match forwarder.relay(packet).await {
        Ok(reply) => Some(reply),
        Err(e) => {
            if apex_net::quiet::allow() {
                tracing::warn!(client = %src, primary = %forwarder.to(), error = %e, "UPDATE not forwarded");
            }
            let mut out = Vec::new();
            match error_reply(packet, ResponseCode::ServFail, &mut out) {
                Action::Send => Some(out),
                _ => None,
            }
        }
    }
}

fn error_reply(packet: &[u8], rcode: ResponseCode, out: &mut Vec<u8>) -> Action {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return Action::Drop;
    }
    out.clear();
    out.extend_from_slice(&packet[..2]);
    out.push(0x80 | (packet[2] & 0x79));
    out.push(rcode.low());
    match question_end(packet) {
        Some(end) => {
            out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&packet[12..end]);
        }
        None => out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]),
    }
    Action::Send
}

/// The zone as AXFR messages: the SOA, every record, the SOA again (RFC 5936), each message
/// signed in turn when the request was.
fn xfr_messages(
    zone: &Zone,
    request_head: &[u8],
    mut signer: Option<ResponseSigner>,
) -> Vec<Vec<u8>> {
    let records = zone.to_records();
    let Some(soa) = records.first().cloned() else {
        return Vec::new();
    };
    let mut messages = Vec::new();
    let mut count: u16 = 0;
    let start = |first: bool| {
        let mut m = Vec::with_capacity(XFR_MESSAGE + 512);
        m.extend_from_slice(&request_head[..2]);
        m.push(0x84); // QR, AA
        m.push(0);
        if first {
            m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
            m.extend_from_slice(&request_head[12..]);
        } else {
            m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        }
        m
    };
    // A message that cannot be signed ends the transfer: the client sees it incomplete.
    let mut failed = false;
    let mut finish = |mut m: Vec<u8>, count: u16, messages: &mut Vec<Vec<u8>>| {
        m[6..8].copy_from_slice(&count.to_be_bytes());
        if let Some(s) = signer.as_mut()
            && s.sign(&mut m).is_err()
        {
            failed = true;
            return;
        }
        messages.push(m);
    };
    let mut current = start(true);
    for r in records.iter().chain(std::iter::once(&soa)) {
        // Each message stays under 64 KB with room for the TSIG record.
        let size = r.name.wire().len() + 10 + r.rdata.len();
        if count > 0
            && (current.len() > XFR_MESSAGE
                || current.len() + size > 65_535 - 512
                || count == u16::MAX)
        {
            let full = std::mem::replace(&mut current, start(false));
            finish(full, count, &mut messages);
            count = 0;
        }
        current.extend_from_slice(r.name.wire());
        current.extend_from_slice(&r.rtype.0.to_be_bytes());
        current.extend_from_slice(&1u16.to_be_bytes());
        current.extend_from_slice(&r.ttl.to_be_bytes());
        current.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
        current.extend_from_slice(&r.rdata);
        count += 1;
    }
    finish(current, count, &mut messages);
    if failed {
        tracing::warn!("zone transfer out stopped: a message could not be signed");
        messages.clear();
    }
    messages
}
