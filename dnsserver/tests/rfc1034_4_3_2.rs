//! RFC 1034 section 4.3.2 on the wire: the answering algorithm as a client sees it, for a zone
//! transferred from the primary. The finer cases are unit-tested in `src/answer_tests.rs`.

mod common;

use std::time::Duration;

use apex_net::client::query_soa;
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{AAAA, CNAME, NS, TXT};
use hickory_proto::rr::{RData, Record, RecordType};

async fn server() -> (FakePrimary, apex_dnsserver::Running, apex_net::TsigKey) {
    let key = key();
    let primary = FakePrimary::start(&key).await;
    primary.set_zone(catalog(1, &[("z1", "example.com.")]));
    let big = RData::TXT(TXT::new((0..8).map(|i| format!("{i:0>100}")).collect()));
    primary.set_zone(zone(
        "example.com.",
        7,
        vec![
            ("ns1.example.com.", a(53)),
            ("www.example.com.", a(1)),
            (
                "a.b.c.example.com.",
                RData::TXT(TXT::new(vec!["deep".into()])),
            ),
            (
                "alias.example.com.",
                RData::CNAME(CNAME(n("www.example.com."))),
            ),
            ("*.wild.example.com.", a(7)),
            ("sub.example.com.", RData::NS(NS(n("ns.sub.example.com.")))),
            ("ns.sub.example.com.", a(10)),
            (
                "ns.sub.example.com.",
                RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 10)),
            ),
            ("big.example.com.", big),
        ],
    ));
    let server = start_server(vec![primary.addr], &key).await;
    let addr = server.local_addrs()[0];
    let loaded = eventually(Duration::from_secs(5), move || async move {
        ask(addr, "www.example.com.", RecordType::A)
            .await
            .metadata
            .response_code
            == ResponseCode::NoError
    })
    .await;
    assert!(loaded);
    (primary, server, key)
}

fn types(records: &[Record]) -> Vec<RecordType> {
    records.iter().map(Record::record_type).collect()
}

fn negative_soa(m: &Message) {
    assert_eq!(types(&m.authorities), [RecordType::SOA], "{m:?}");
    assert_eq!(m.authorities[0].ttl, 300, "min(SOA TTL, MINIMUM)");
}

#[tokio::test]
async fn authoritative_answers_and_negative_answers() {
    let (_primary, server, _key) = server().await;
    let addr = server.local_addrs()[0];

    // Exact match, question echoed with its case, EDNS answered with 1232.
    let m = ask(addr, "wWw.EXAMPLE.com.", RecordType::A).await;
    assert!(m.metadata.authoritative);
    assert_eq!(m.metadata.id, 0x1234);
    assert!(m.queries[0].name().eq_case(&n("wWw.EXAMPLE.com.")));
    assert_eq!(addresses(&m), ["192.0.2.1"]);
    assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(1232));

    // NXDOMAIN.
    let m = ask(addr, "missing.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(m.metadata.authoritative);
    negative_soa(&m);

    // NODATA, at a name with data and at an empty non-terminal.
    for name in ["www.example.com.", "b.c.example.com."] {
        let m = ask(addr, name, RecordType::MX).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(m.answers.is_empty());
        negative_soa(&m);
    }

    // Outside our zones.
    let m = ask(addr, "example.org.", RecordType::SOA).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn cname_wildcard_and_referral() {
    let (_primary, server, _key) = server().await;
    let addr = server.local_addrs()[0];

    let m = ask(addr, "alias.example.com.", RecordType::A).await;
    assert_eq!(types(&m.answers), [RecordType::CNAME, RecordType::A]);
    assert!(m.metadata.authoritative);

    let m = ask(addr, "anything.wild.example.com.", RecordType::A).await;
    assert_eq!(addresses(&m), ["192.0.2.7"]);
    assert_eq!(m.answers[0].name, n("anything.wild.example.com."));

    let m = ask(addr, "host.sub.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(!m.metadata.authoritative, "referrals are not authoritative");
    assert!(m.answers.is_empty());
    assert_eq!(types(&m.authorities), [RecordType::NS]);
    assert_eq!(types(&m.additionals), [RecordType::A, RecordType::AAAA]);
}

#[tokio::test]
async fn udp_truncation_and_tcp() {
    let (_primary, server, _key) = server().await;
    let addr = server.local_addrs()[0];

    // 800 bytes of TXT: too big for 512 without EDNS.
    let plain = query_message("big.example.com.", RecordType::TXT, None);
    let m = exchange_udp(addr, &plain).await;
    assert!(m.metadata.truncation);
    assert!(m.answers.is_empty());
    assert_eq!(m.queries, plain.queries);
    assert!(m.edns.is_none());

    // With EDNS it fits in 1232.
    let m = exchange_udp(
        addr,
        &query_message("big.example.com.", RecordType::TXT, Some(4096)),
    )
    .await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 1);

    // A client offering less than 512 still gets 512, and TCP gets everything.
    let m = exchange_tcp(addr, &plain).await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 1);
}

#[tokio::test]
async fn signed_queries_get_signed_answers() {
    let (_primary, server, key) = server().await;
    let addr = server.local_addrs()[0];
    // query_soa verifies the TSIG on the reply.
    let soa = query_soa(addr, &n("example.com."), Some(&key), Duration::from_secs(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(soa.serial, 7);

    let stranger = other_key("apex-fleet");
    let result = query_soa(
        addr,
        &n("example.com."),
        Some(&stranger),
        Duration::from_secs(2),
    )
    .await;
    assert!(
        result.is_err(),
        "a bad signature must not be answered normally"
    );
}
