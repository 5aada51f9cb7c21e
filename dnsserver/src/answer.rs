//! Answering a query from the zone table: RFC 1034 section 4.3.2 for unsigned zones, as a pure
//! function of the table and the request (no sockets), plus the size limits of the reply.
//!
//! The steps, for the most specific zone containing the query name:
//!
//! 1. a delegation (NS below the apex) at or above the name, unless the query is for DS at
//!    the cut itself: a referral, AA clear, the NS in authority and in-zone glue in additional;
//! 2. the name exists: its RRset of the query type; or its CNAME, followed through the zone
//!    (at most [`MAX_CNAME_HOPS`] hops); or NODATA with the SOA (empty non-terminals too);
//! 3. the name does not exist: the wildcard at the closest encloser (RFC 4592) answers as if
//!    it were the name; with no wildcard, NXDOMAIN with the SOA.
//!
//! Negative answers carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308). ANY gets one RRset
//! (RFC 8482). Transfers are not offered here (REFUSED); NOTIFY is handled by the secondary
//! engine before this function is reached.

use apex_zone::name::canonical;
use hickory_proto::op::{Edns, Message, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::store::Store;
use crate::zone::{Node, Zone, label_count};

/// The UDP payload size we offer and honour at most (the DNS Flag Day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;

/// Longest CNAME chain followed inside a zone.
pub const MAX_CNAME_HOPS: usize = 8;

/// The reply to `request`.
pub fn answer(store: &Store, request: &Message) -> Message {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    // Copies RD and CD; RA stays clear: we never recurse.
    reply.metadata = Metadata::response_from_request(&request.metadata);
    // The question goes back exactly as asked, case included (RFC 1034 section 4.1.1 and
    // resolvers using 0x20 case randomisation).
    reply.queries = request.queries.clone();
    if let Some(edns) = &request.edns {
        reply.edns = Some(reply_edns(edns));
        if edns.version() > 0 {
            return with_rcode(reply, ResponseCode::BADVERS);
        }
    }
    if request.metadata.op_code != OpCode::Query {
        return with_rcode(reply, ResponseCode::NotImp);
    }
    let [query] = request.queries.as_slice() else {
        return with_rcode(reply, ResponseCode::FormErr);
    };
    if query.query_class() != DNSClass::IN {
        return with_rcode(reply, ResponseCode::Refused);
    }
    if matches!(query.query_type(), RecordType::AXFR | RecordType::IXFR) {
        return with_rcode(reply, ResponseCode::Refused);
    }
    let Some(found) = store.find(query.name()) else {
        return with_rcode(reply, ResponseCode::Refused);
    };
    if found.slot.is_expired() {
        return with_rcode(reply, ResponseCode::ServFail);
    }
    resolve(&found.zone, query, &mut reply);
    reply
}

fn with_rcode(mut reply: Message, rcode: ResponseCode) -> Message {
    reply.metadata.response_code = rcode;
    reply
}

fn reply_edns(request: &Edns) -> Edns {
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    edns.set_dnssec_ok(request.flags().dnssec_ok);
    edns
}

/// What one name holds for one type.
enum Lookup<'z> {
    Referral(Name),
    Answer {
        records: &'z [Record],
        synthesized: bool,
    },
    Cname {
        record: &'z Record,
        synthesized: bool,
    },
    NoData,
    NxDomain,
}

fn resolve(zone: &Zone, query: &Query, reply: &mut Message) {
    let qtype = query.query_type();
    reply.metadata.authoritative = true;
    let mut owner = query.name().clone();
    let mut seen: Vec<Name> = Vec::new();
    for hop in 0..=MAX_CNAME_HOPS {
        let name = canonical(&owner);
        match lookup(zone, &name, qtype) {
            Lookup::Referral(cut) => {
                // After a CNAME the resolver follows the target itself.
                if hop == 0 {
                    referral(zone, &cut, reply);
                }
                return;
            }
            Lookup::Answer {
                records,
                synthesized,
            } => {
                let answers = records.iter().map(|r| owned(r, &owner, synthesized));
                reply.answers.extend(answers);
                return;
            }
            Lookup::Cname {
                record,
                synthesized,
            } => {
                reply.answers.push(owned(record, &owner, synthesized));
                let RData::CNAME(target) = &record.data else {
                    return;
                };
                seen.push(name);
                let next = canonical(&target.0);
                if !zone.origin().zone_of(&next) || seen.contains(&next) {
                    return;
                }
                owner = target.0.clone();
            }
            Lookup::NoData => {
                reply.authorities.push(zone.negative_soa());
                return;
            }
            Lookup::NxDomain => {
                // After a CNAME the rcode describes the last name of the chain (RFC 6604).
                reply.metadata.response_code = ResponseCode::NXDomain;
                reply.authorities.push(zone.negative_soa());
                return;
            }
        }
    }
}

/// A record as it goes out: wildcard matches take the query name as owner.
fn owned(record: &Record, owner: &Name, synthesized: bool) -> Record {
    let mut record = record.clone();
    if synthesized {
        record.name = owner.clone();
    }
    record
}

fn lookup<'z>(zone: &'z Zone, name: &Name, qtype: RecordType) -> Lookup<'z> {
    if let Some(cut) = delegation(zone, name, qtype) {
        return Lookup::Referral(cut);
    }
    if let Some(node) = zone.node(name) {
        return at_node(node, qtype, false);
    }
    // The closest encloser: the longest existing ancestor (the apex at worst).
    let mut encloser = name.base_name();
    while zone.node(&encloser).is_none() && label_count(&encloser) > zone.origin_labels() {
        encloser = encloser.base_name();
    }
    let Ok(wildcard) = encloser.prepend_label("*") else {
        return Lookup::NxDomain;
    };
    match zone.node(&wildcard) {
        Some(node) => at_node(node, qtype, true),
        None => Lookup::NxDomain,
    }
}

/// The highest delegation point at or above `name`, if the name is below a cut. DS at the cut
/// itself is the parent's data and is answered normally (RFC 4035 section 3.1.4.1).
fn delegation(zone: &Zone, name: &Name, qtype: RecordType) -> Option<Name> {
    if !zone.has_cuts() {
        return None;
    }
    let labels = label_count(name);
    for n in zone.origin_labels() + 1..=labels {
        let candidate = if n == labels {
            name.clone()
        } else {
            name.trim_to(n)
        };
        if zone.is_cut(&candidate) {
            if n == labels && qtype == RecordType::DS {
                return None;
            }
            return Some(candidate);
        }
    }
    None
}

fn at_node(node: &Node, qtype: RecordType, synthesized: bool) -> Lookup<'_> {
    let records = if qtype == RecordType::ANY {
        node.first()
    } else {
        node.get(qtype)
    };
    if let Some(records) = records {
        return Lookup::Answer {
            records,
            synthesized,
        };
    }
    if qtype != RecordType::CNAME
        && let Some(record) = node.get(RecordType::CNAME).and_then(<[Record]>::first)
    {
        return Lookup::Cname {
            record,
            synthesized,
        };
    }
    Lookup::NoData
}

fn referral(zone: &Zone, cut: &Name, reply: &mut Message) {
    reply.metadata.authoritative = false;
    let Some(ns) = zone.node(cut).and_then(|n| n.get(RecordType::NS)) else {
        return;
    };
    reply.authorities.extend(ns.iter().cloned());
    for record in ns {
        let RData::NS(target) = &record.data else {
            continue;
        };
        let target = canonical(&target.0);
        if !zone.origin().zone_of(&target) {
            continue;
        }
        if let Some(node) = zone.node(&target) {
            for rtype in [RecordType::A, RecordType::AAAA] {
                reply
                    .additionals
                    .extend(node.get(rtype).unwrap_or_default().iter().cloned());
            }
        }
    }
}

/// The largest UDP reply `request` may get: its EDNS payload size capped at
/// [`EDNS_PAYLOAD`], or 512 without EDNS.
pub fn udp_limit(request: &Message) -> usize {
    match &request.edns {
        Some(edns) => usize::from(edns.max_payload().clamp(512, EDNS_PAYLOAD)),
        None => 512,
    }
}

/// Encodes `reply` in at most `limit` bytes. A reply that does not fit goes out as header,
/// question and OPT with TC set, so the client retries over TCP. `None` only if even that
/// cannot be encoded.
pub fn encode(reply: &Message, limit: usize) -> Option<Vec<u8>> {
    match reply.to_vec() {
        Ok(bytes) if bytes.len() <= limit => return Some(bytes),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "reply cannot be encoded");
            let mut failed = Message::response(reply.metadata.id, reply.metadata.op_code);
            failed.metadata = reply.metadata;
            failed.metadata.response_code = ResponseCode::ServFail;
            failed.queries = reply.queries.clone();
            failed.edns = reply.edns.clone();
            return failed.to_vec().ok();
        }
    }
    let mut truncated = Message::response(reply.metadata.id, reply.metadata.op_code);
    truncated.metadata = reply.metadata;
    truncated.metadata.truncation = true;
    truncated.queries = reply.queries.clone();
    truncated.edns = reply.edns.clone();
    truncated.to_vec().ok()
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
