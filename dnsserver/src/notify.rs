//! Incoming NOTIFY (RFC 1996): who may send it, and what it wakes.

use std::net::IpAddr;

use hickory_proto::op::{Message, Metadata, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};

use crate::answer::EDNS_PAYLOAD;
use crate::secondary::{Engine, NotifyOutcome};
use apex_zone::dname::DName;

/// The reply to a NOTIFY request from `source`. `signed` is true when the request carried a
/// TSIG that verified with our key. Accepted notifications wake the zone's task and return at
/// once: the refresh itself runs in the background.
pub fn handle(engine: &Engine, request: &Message, source: IpAddr, signed: bool) -> Message {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata = Metadata::response_from_request(&request.metadata);
    reply.queries = request.queries.clone();
    if request.edns.is_some() {
        let mut edns = hickory_proto::op::Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        reply.edns = Some(edns);
    }
    let rcode = check(engine, request, source.to_canonical(), signed);
    reply.metadata.response_code = rcode;
    reply.metadata.authoritative = rcode == ResponseCode::NoError;
    reply
}

fn check(engine: &Engine, request: &Message, source: IpAddr, signed: bool) -> ResponseCode {
    let [query] = request.queries.as_slice() else {
        return ResponseCode::FormErr;
    };
    let zone = DName::from_name(query.name());
    if query.query_class() != DNSClass::IN {
        return ResponseCode::Refused;
    }
    if query.query_type() != RecordType::SOA {
        // RFC 1996 defines NOTIFY for SOA only.
        return ResponseCode::NotImp;
    }
    match engine.notify(&zone, source, signed) {
        NotifyOutcome::Accepted => {
            tracing::info!(zone.name = %zone, source = %source, signed, "NOTIFY accepted");
            ResponseCode::NoError
        }
        NotifyOutcome::NotOurs => {
            tracing::info!(zone.name = %zone, source = %source, "NOTIFY for a zone we do not follow");
            ResponseCode::NotAuth
        }
        NotifyOutcome::Refused => {
            tracing::warn!(zone.name = %zone, source = %source, "NOTIFY refused: unsigned and not from a primary of the zone");
            ResponseCode::Refused
        }
    }
}
