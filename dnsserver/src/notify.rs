//! Incoming NOTIFY (RFC 1996): who may send it, and what it wakes.

use std::net::IpAddr;

use hickory_proto::op::{Message, Metadata, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};

use crate::answer::EDNS_PAYLOAD;
use crate::secondary::{Engine, NotifyOutcome};
use apex_zone::dname::DName;

/// The reply to a NOTIFY request from `source`. `signed_by` names the key whose TSIG verified
/// on it, if any. Accepted notifications wake the zone's task and return at once: the refresh
/// itself runs in the background.
pub fn handle(
    engine: &Engine,
    request: &Message,
    source: IpAddr,
    signed_by: Option<&Name>,
) -> Message {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata = Metadata::response_from_request(&request.metadata);
    reply.queries = request.queries.clone();
    if request.edns.is_some() {
        let mut edns = hickory_proto::op::Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        reply.edns = Some(edns);
    }
    let rcode = check(engine, request, source.to_canonical(), signed_by);
    reply.metadata.response_code = rcode;
    reply.metadata.authoritative = rcode == ResponseCode::NoError;
    reply
}

fn check(
    engine: &Engine,
    request: &Message,
    source: IpAddr,
    signed_by: Option<&Name>,
) -> ResponseCode {
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
    let signed = signed_by.is_some();
    match engine.notify(&zone, source, signed_by) {
        NotifyOutcome::Accepted => {
            tracing::info!(zone.name = %zone, source = %source, signed, "NOTIFY accepted");
            ResponseCode::NoError
        }
        NotifyOutcome::NotOurs => {
            if !apex_net::quiet::allow() {
                return ResponseCode::NotAuth;
            }
            tracing::info!(zone.name = %zone, source = %source, "NOTIFY for a zone we do not follow");
            ResponseCode::NotAuth
        }
        NotifyOutcome::Refused => {
            if !apex_net::quiet::allow() {
                return ResponseCode::Refused;
            }
            tracing::warn!(zone.name = %zone, source = %source, signed, "NOTIFY refused: not signed with a key of the zone's catalog");
            ResponseCode::Refused
        }
    }
}
