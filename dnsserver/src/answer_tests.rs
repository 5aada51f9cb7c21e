//! Unit tests of the answering rules, on hand-built requests and a hand-built zone.

use super::*;
use crate::zone::Zone;
use hickory_proto::op::{MessageType, Query};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, TXT};

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn rec(owner: &str, data: RData) -> Record {
    Record::from_rdata(n(owner), 3600, data)
}

fn a(owner: &str, last: u8) -> Record {
    rec(owner, RData::A(A::new(192, 0, 2, last)))
}

fn cname(owner: &str, target: &str) -> Record {
    rec(owner, RData::CNAME(CNAME(n(target))))
}

fn store() -> Store {
    let soa = SOA::new(
        n("ns1.example.com."),
        n("host.example.com."),
        42,
        3600,
        600,
        86400,
        300,
    );
    let records = vec![
        rec("example.com.", RData::SOA(soa)),
        rec("example.com.", RData::NS(NS(n("ns1.example.com.")))),
        a("ns1.example.com.", 53),
        a("www.example.com.", 1),
        a("www.example.com.", 2),
        rec(
            "a.b.c.example.com.",
            RData::TXT(TXT::new(vec!["deep".into()])),
        ),
        cname("alias.example.com.", "chain.example.com."),
        cname("chain.example.com.", "www.example.com."),
        cname("loop1.example.com.", "loop2.example.com."),
        cname("loop2.example.com.", "loop1.example.com."),
        cname("out.example.com.", "www.example.org."),
        cname("dangling.example.com.", "nothere.example.com."),
        a("*.wild.example.com.", 7),
        rec(
            "z.wild.example.com.",
            RData::TXT(TXT::new(vec!["z".into()])),
        ),
        rec("sub.example.com.", RData::NS(NS(n("ns.sub.example.com.")))),
        rec("sub.example.com.", RData::NS(NS(n("ns.elsewhere.org.")))),
        a("ns.sub.example.com.", 10),
        rec(
            "ns.sub.example.com.",
            RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 10)),
        ),
        rec(
            "big.example.com.",
            RData::TXT(TXT::new((0..8).map(|i| format!("{i:0>100}")).collect())),
        ),
    ];
    let store = Store::new();
    store.insert(Zone::from_transfer(&n("example.com."), records).unwrap());
    store
}

fn request(name: &str, rtype: RecordType) -> Message {
    let mut m = Message::new(4711, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(n(name), rtype));
    m
}

fn ask(name: &str, rtype: RecordType) -> Message {
    answer(&store(), &request(name, rtype))
}

fn soa_ttl(m: &Message) -> u32 {
    assert_eq!(m.authorities.len(), 1, "{m:?}");
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    m.authorities[0].ttl
}

#[test]
fn exact_match_is_authoritative() {
    let m = ask("www.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.metadata.message_type, MessageType::Response);
    assert!(m.metadata.authoritative);
    assert!(m.metadata.recursion_desired);
    assert!(!m.metadata.recursion_available);
    assert_eq!(m.metadata.id, 4711);
    assert_eq!(m.answers.len(), 2);
    assert!(m.authorities.is_empty());
}

#[test]
fn question_case_is_preserved() {
    let m = ask("WwW.ExAmPlE.cOm.", RecordType::A);
    assert_eq!(m.answers.len(), 2);
    assert!(m.queries[0].name().eq_case(&n("WwW.ExAmPlE.cOm.")));
    // Also on the wire.
    let wire = Message::from_vec(&m.to_vec().unwrap()).unwrap();
    assert!(wire.queries[0].name().eq_case(&n("WwW.ExAmPlE.cOm.")));
}

#[test]
fn nxdomain_carries_the_soa_with_negative_ttl() {
    let m = ask("nope.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(m.metadata.authoritative);
    assert!(m.answers.is_empty());
    assert_eq!(soa_ttl(&m), 300);
}

#[test]
fn nodata_carries_the_soa() {
    let m = ask("www.example.com.", RecordType::AAAA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.answers.is_empty());
    assert_eq!(soa_ttl(&m), 300);
}

#[test]
fn empty_non_terminal_is_nodata() {
    for name in ["b.c.example.com.", "c.example.com."] {
        let m = ask(name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(m.answers.is_empty());
        soa_ttl(&m);
    }
    // Below an empty non-terminal is still NXDOMAIN.
    let m = ask("x.b.c.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn cname_chain_is_followed() {
    let m = ask("alias.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    let types: Vec<_> = m.answers.iter().map(Record::record_type).collect();
    assert_eq!(
        types,
        [
            RecordType::CNAME,
            RecordType::CNAME,
            RecordType::A,
            RecordType::A
        ]
    );
    assert_eq!(m.answers[1].name, n("chain.example.com."));

    // Asking for the CNAME itself does not follow it.
    let m = ask("alias.example.com.", RecordType::CNAME);
    assert_eq!(m.answers.len(), 1);
}

#[test]
fn cname_edge_cases() {
    let m = ask("loop1.example.com.", RecordType::A);
    assert_eq!(m.answers.len(), 2, "a loop stops once every name is seen");
    let m = ask("out.example.com.", RecordType::A);
    assert_eq!(
        m.answers.len(),
        1,
        "out-of-zone targets are left to the resolver"
    );
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let m = ask("dangling.example.com.", RecordType::A);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    soa_ttl(&m);
}

#[test]
fn wildcard_synthesis() {
    let m = ask("Host.wild.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
    assert!(m.answers[0].name.eq_case(&n("Host.wild.example.com.")));
    // Several labels below the closest encloser match too.
    let m = ask("a.b.wild.example.com.", RecordType::A);
    assert_eq!(m.answers.len(), 1);
    // Wildcard NODATA.
    let m = ask("host.wild.example.com.", RecordType::TXT);
    assert!(m.answers.is_empty());
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    soa_ttl(&m);
    // An existing name blocks the wildcard (RFC 4592 section 2.2.1): the closest encloser of
    // x.z.wild is z.wild, which has no wildcard child.
    let m = ask("x.z.wild.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    // The encloser itself is an empty non-terminal, not a wildcard match.
    let m = ask("wild.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
}

#[test]
fn referral_with_glue_and_aa_clear() {
    for name in ["sub.example.com.", "deep.host.sub.example.com."] {
        let m = ask(name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(!m.metadata.authoritative, "{name}");
        assert!(m.answers.is_empty());
        assert_eq!(m.authorities.len(), 2);
        assert!(
            m.authorities
                .iter()
                .all(|r| r.record_type() == RecordType::NS)
        );
        let glue: Vec<_> = m.additionals.iter().map(Record::record_type).collect();
        assert_eq!(glue, [RecordType::A, RecordType::AAAA]);
    }
    // DS at the cut belongs to the parent: authoritative NODATA.
    let m = ask("sub.example.com.", RecordType::DS);
    assert!(m.metadata.authoritative);
    soa_ttl(&m);
    // NS at the apex is an ordinary answer.
    let m = ask("example.com.", RecordType::NS);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
}

#[test]
fn refused_outside_our_zones() {
    let m = ask("www.example.org.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(!m.metadata.authoritative);
    assert!(!m.metadata.recursion_available);
    let m = ask("com.", RecordType::NS);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn header_errors() {
    let store = store();
    let mut two = request("www.example.com.", RecordType::A);
    two.add_query(Query::query(n("example.com."), RecordType::SOA));
    assert_eq!(
        answer(&store, &two).metadata.response_code,
        ResponseCode::FormErr
    );

    let mut update = request("example.com.", RecordType::SOA);
    update.metadata.op_code = OpCode::Update;
    assert_eq!(
        answer(&store, &update).metadata.response_code,
        ResponseCode::NotImp
    );

    let mut chaos = request("version.bind.", RecordType::TXT);
    chaos.queries[0].set_query_class(DNSClass::CH);
    assert_eq!(
        answer(&store, &chaos).metadata.response_code,
        ResponseCode::Refused
    );

    let axfr = request("example.com.", RecordType::AXFR);
    assert_eq!(
        answer(&store, &axfr).metadata.response_code,
        ResponseCode::Refused
    );
}

#[test]
fn any_is_minimal() {
    let m = ask("example.com.", RecordType::ANY);
    assert!(m.metadata.authoritative);
    let first = m.answers[0].record_type();
    assert!(m.answers.iter().all(|r| r.record_type() == first));
}

#[test]
fn edns_and_truncation() {
    let store = store();
    // Without EDNS the 800-byte TXT does not fit in 512 bytes.
    let plain = request("big.example.com.", RecordType::TXT);
    let reply = answer(&store, &plain);
    assert!(reply.edns.is_none());
    let limit = udp_limit(&plain);
    assert_eq!(limit, 512);
    let wire = Message::from_vec(&encode(&reply, limit).unwrap()).unwrap();
    assert!(wire.metadata.truncation);
    assert!(wire.answers.is_empty());
    assert_eq!(wire.queries, plain.queries);
    // Over TCP it fits.
    let wire = Message::from_vec(&encode(&reply, 65_535).unwrap()).unwrap();
    assert!(!wire.metadata.truncation);
    assert_eq!(wire.answers.len(), 1);

    // With EDNS 4096 the limit is 1232 and the answer fits; the reply carries OPT.
    let mut with_edns = request("big.example.com.", RecordType::TXT);
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    with_edns.set_edns(edns);
    assert_eq!(udp_limit(&with_edns), 1232);
    let reply = answer(&store, &with_edns);
    let wire = Message::from_vec(&encode(&reply, udp_limit(&with_edns)).unwrap()).unwrap();
    assert!(!wire.metadata.truncation);
    assert_eq!(wire.edns.as_ref().unwrap().max_payload(), EDNS_PAYLOAD);

    // EDNS version 1 is answered BADVERS.
    let mut v1 = request("www.example.com.", RecordType::A);
    let mut edns = Edns::new();
    edns.set_version(1);
    v1.set_edns(edns);
    let wire = Message::from_vec(&answer(&store, &v1).to_vec().unwrap()).unwrap();
    // BADVERS and BADSIG share code 16; hickory decodes it as BADSIG.
    assert_eq!(u16::from(wire.metadata.response_code), 16);
    assert_eq!(wire.edns.as_ref().unwrap().version(), 0);
}

#[test]
fn expired_zone_is_servfail() {
    let store = store();
    store.slot(&n("example.com.")).unwrap().set_expired(true);
    let m = answer(&store, &request("www.example.com.", RecordType::A));
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(m.answers.is_empty());
}
