//! The answering rules on hand-built requests, on the wire: requests encoded with hickory,
//! answered by [`handle`], replies decoded with hickory.

use super::*;
use crate::zone::Zone;
use apex_zone::dname::DName;
use apex_zone::zonefile::{ParseOptions, parse as parse_zone};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as HQuery, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

const ZONE: &str = r#"$ORIGIN example.com.
$TTL 3600
@ SOA ns1 host 42 3600 600 86400 300
  NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
www A 192.0.2.2
a.b.c TXT "deep"
alias CNAME chain
chain CNAME www
loop1 CNAME loop2
loop2 CNAME loop1
out CNAME www.example.org.
dangling CNAME nothere
*.wild A 192.0.2.7
z.wild TXT "z"
sub NS ns.sub
sub NS ns.elsewhere.org.
ns.sub A 192.0.2.10
ns.sub AAAA 2001:db8::10
old DNAME new.example.net.
indir DNAME example.com.
big TXT "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "3000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "5000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "6000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "7000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
"#;

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

pub(crate) fn zone_from(origin: &str, text: &str) -> Zone {
    let apex = DName::parse(origin.as_bytes(), None).unwrap();
    let parsed = parse_zone(
        text.as_bytes(),
        &apex,
        ParseOptions {
            keep_dnssec: true,
            ..ParseOptions::default()
        },
    )
    .unwrap();
    let mut records = parsed.records;
    records.extend(parsed.soa);
    Zone::build(apex, records).unwrap()
}

fn store() -> Store {
    let store = Store::new();
    store.insert(zone_from("example.com.", ZONE));
    store
}

fn request(name: &str, rtype: RecordType) -> Message {
    let mut m = Message::new(4711, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(HQuery::query(n(name), rtype));
    m
}

fn reply(store: &Store, m: &Message, udp: bool) -> Message {
    let mut out = Vec::new();
    let (handled, _) = handle(store, &m.to_vec().unwrap(), &mut out, udp, 0);
    assert_eq!(handled, Handled::Reply);
    Message::from_vec(&out).unwrap()
}

fn ask(name: &str, rtype: RecordType) -> Message {
    reply(&store(), &request(name, rtype), true)
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
    // The answer's owner points at the question, so it carries the same case.
    assert!(m.answers[0].name.eq_case(&n("WwW.ExAmPlE.cOm.")));
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
    let m = ask("a.b.wild.example.com.", RecordType::A);
    assert_eq!(m.answers.len(), 1);
    let m = ask("host.wild.example.com.", RecordType::TXT);
    assert!(m.answers.is_empty());
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    soa_ttl(&m);
    // An existing name blocks the wildcard (RFC 4592 section 2.2.1).
    let m = ask("x.z.wild.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
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
    let m = ask("sub.example.com.", RecordType::DS);
    assert!(m.metadata.authoritative);
    soa_ttl(&m);
    let m = ask("example.com.", RecordType::NS);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        m.additionals.len(),
        1,
        "the apex NS answer carries its in-zone address"
    );
}

#[test]
fn dname_synthesis() {
    let m = ask("www.old.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let types: Vec<_> = m.answers.iter().map(Record::record_type).collect();
    assert_eq!(types, [RecordType::DNAME, RecordType::CNAME]);
    assert_eq!(m.answers[1].data.to_string(), "www.new.example.net.");
    // A DNAME back into the zone is followed.
    let m = ask("www.indir.example.com.", RecordType::A);
    let types: Vec<_> = m.answers.iter().map(Record::record_type).collect();
    assert_eq!(
        types,
        [
            RecordType::DNAME,
            RecordType::CNAME,
            RecordType::A,
            RecordType::A
        ]
    );
    // The DNAME owner itself is answered normally.
    let m = ask("old.example.com.", RecordType::DNAME);
    assert_eq!(m.answers.len(), 1);
}

#[test]
fn refused_outside_our_zones() {
    let m = ask("www.example.org.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(!m.metadata.authoritative);
    let m = ask("com.", RecordType::NS);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn header_errors() {
    let store = store();
    let mut two = request("www.example.com.", RecordType::A);
    two.add_query(HQuery::query(n("example.com."), RecordType::SOA));
    assert_eq!(
        reply(&store, &two, true).metadata.response_code,
        ResponseCode::FormErr
    );
    let mut status = request("example.com.", RecordType::SOA);
    status.metadata.op_code = OpCode::Status;
    assert_eq!(
        reply(&store, &status, true).metadata.response_code,
        ResponseCode::NotImp
    );
    let mut chaos = request("version.bind.", RecordType::TXT);
    chaos.queries[0].set_query_class(DNSClass::CH);
    assert_eq!(
        reply(&store, &chaos, true).metadata.response_code,
        ResponseCode::Refused
    );
    // Transfers are decided by the slow path (who may have them).
    let axfr = request("example.com.", RecordType::AXFR);
    let mut out = Vec::new();
    assert_eq!(
        handle(&store, &axfr.to_vec().unwrap(), &mut out, false, 0).0,
        Handled::SlowPath
    );
    // Garbage is dropped or FORMERR, never a panic.
    let mut out = Vec::new();
    assert_eq!(
        handle(&store, &[1, 2, 3], &mut out, true, 0).0,
        Handled::Drop
    );
    let mut short = request("www.example.com.", RecordType::A).to_vec().unwrap();
    short.truncate(20);
    assert_eq!(handle(&store, &short, &mut out, true, 0).0, Handled::Reply);
    assert_eq!(out[3] & 0x0f, 1);
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
    let plain = request("big.example.com.", RecordType::TXT);
    let m = reply(&store, &plain, true);
    assert!(m.metadata.truncation);
    assert!(m.answers.is_empty());
    assert!(m.edns.is_none());
    assert_eq!(m.queries, plain.queries);
    let m = reply(&store, &plain, false);
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 1);

    let mut with_edns = request("big.example.com.", RecordType::TXT);
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    with_edns.set_edns(edns);
    let m = reply(&store, &with_edns, true);
    assert!(!m.metadata.truncation);
    assert_eq!(m.edns.as_ref().unwrap().max_payload(), EDNS_PAYLOAD);

    let mut v1 = request("www.example.com.", RecordType::A);
    let mut edns = Edns::new();
    edns.set_version(1);
    v1.set_edns(edns);
    let m = reply(&store, &v1, true);
    assert_eq!(u16::from(m.metadata.response_code), 16);
}

#[test]
fn expired_zone_is_servfail() {
    let store = store();
    store
        .slot(&DName::parse(b"example.com.", None).unwrap())
        .unwrap()
        .set_expired(true);
    let m = reply(&store, &request("www.example.com.", RecordType::A), true);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(m.answers.is_empty());
}

#[test]
fn ds_at_a_child_apex_comes_from_the_parent() {
    // RFC 4035 section 3.1.4.1: with both sides of the cut loaded, DS is the parent's.
    let store = Store::new();
    store.insert(zone_from(
        "example.com.",
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\nsub NS ns1.sub\nsub DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\nns1.sub A 192.0.2.2\n",
    ));
    store.insert(zone_from(
        "sub.example.com.",
        "$ORIGIN sub.example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.2\nwww A 192.0.2.3\n",
    ));
    let m = reply(&store, &request("sub.example.com.", RecordType::DS), true);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].record_type(), RecordType::DS);
    // Everything else at the child's apex is the child's.
    let m = reply(&store, &request("sub.example.com.", RecordType::SOA), true);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers[0].name, n("sub.example.com."));
}

#[test]
fn nsec3_owner_names_do_not_exist() {
    // RFC 5155 section 7.2.8: the hashed owner names are not names of the zone.
    let text = include_str!("../../../fuzz/zones/nsec3.test.zone");
    let store = Store::new();
    store.insert(zone_from("nsec3.test.", text));
    let owner = text
        .lines()
        .find(|l| l.contains("NSEC3 ") && !l.contains("NSEC3PARAM") && !l.contains("RRSIG"))
        .and_then(|l| l.split_whitespace().next())
        .expect("an NSEC3 record in the fixture")
        .to_string();
    let owner = if owner.ends_with('.') {
        owner
    } else {
        format!("{owner}.nsec3.test.")
    };
    for rtype in [RecordType::A, RecordType::NSEC3] {
        let m = reply(&store, &request(&owner, rtype), true);
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NXDomain,
            "{owner} {rtype}"
        );
    }
}

#[test]
fn a_cname_into_a_delegation_stays_authoritative() {
    // RFC 1035 section 4.1.1: AA describes the query name, which is ours.
    let store = Store::new();
    store.insert(zone_from(
        "example.com.",
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\nalias CNAME www.sub\nsub NS ns1.sub\nns1.sub A 192.0.2.2\n",
    ));
    let m = reply(&store, &request("alias.example.com.", RecordType::A), true);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
    assert!(
        m.authorities
            .iter()
            .all(|r| r.record_type() == RecordType::NS)
    );
}

/// A small deterministic generator (xorshift), so a failure names its seed and repeats.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn parse_records(origin: &DName, text: &str) -> Vec<apex_zone::record::ZoneRecord> {
    let parsed = parse_zone(
        format!("$TTL 300\n{text}\n").as_bytes(),
        origin,
        ParseOptions {
            keep_dnssec: true,
            ..ParseOptions::default()
        },
    )
    .unwrap();
    parsed.records
}

/// RFC 1995 applied in place: after every one of a series of random IXFR steps (records of
/// any type removed and added, signed and unsigned zones, names and empty non-terminals
/// appearing and disappearing, wildcards, delegations, NSEC and NSEC3 records), the zone made
/// by [`Zone::apply`] answers every question byte for byte like the same version built whole,
/// and holds the same records.
#[test]
fn ixfr_versions_answer_like_the_zone_built_whole() {
    use apex_zone::record::ZoneRecord;
    use std::collections::BTreeSet;
    let fixtures = [
        (
            "unsigned.test.",
            include_str!("../../../fuzz/zones/unsigned.test.zone"),
        ),
        (
            "nsec.test.",
            include_str!("../../../fuzz/zones/nsec.test.zone"),
        ),
        (
            "nsec3.test.",
            include_str!("../../../fuzz/zones/nsec3.test.zone"),
        ),
    ];
    // Records the steps may add (relative to each zone).
    let pool = [
        "www TXT \"added\"",
        "new A 192.0.2.77",
        "a.b.new A 192.0.2.78",
        "x.y.z.deep AAAA 2001:db8::77",
        "*.w2 A 192.0.2.79",
        "x.w2 TXT \"beside a wildcard\"",
        "d2 NS ns.d2",
        "ns.d2 A 192.0.2.80",
        "c2 CNAME www",
        "dn2 DNAME example.net.",
        "@ TXT \"apex text\"",
        "zz A 192.0.2.81",
        "0 A 192.0.2.82",
        "new NSEC zz A RRSIG NSEC",
        "a.b.new NSEC new A RRSIG NSEC",
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG",
        "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv NSEC3 1 0 0 - 00000000000000000000000000000000 A",
        "00000000000000000000000000000000 NSEC3 1 0 0 - vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv NS",
    ];
    let names = [
        "@",
        "www",
        "new",
        "b.new",
        "a.b.new",
        "x.a.b.new",
        "deep",
        "z.deep",
        "x.y.z.deep",
        "w2",
        "q.w2",
        "x.w2",
        "*.w2",
        "d2",
        "ns.d2",
        "x.d2",
        "c2",
        "dn2",
        "x.dn2",
        "zz",
        "0",
        "nope",
        "mail",
        "ns1",
        "a",
        "b",
        "c",
        "sub",
        "x.sub",
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
    ];
    let types = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::TXT,
        RecordType::NS,
        RecordType::SOA,
        RecordType::CNAME,
        RecordType::DS,
        RecordType::NSEC,
        RecordType::NSEC3,
        RecordType::RRSIG,
        RecordType::ANY,
    ];
    for (seed, (origin, text)) in fixtures.into_iter().enumerate() {
        let apex = DName::parse(origin.as_bytes(), None).unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed as u64);
        let start = zone_from(origin, text);
        let soa_of = |serial: u32| {
            parse_zone(
                format!("@ 300 SOA ns1 host {serial} 3600 600 86400 300\n").as_bytes(),
                &apex,
                ParseOptions::default(),
            )
            .unwrap()
            .soa
            .unwrap()
        };
        // The model: every record but the SOA, as (owner, type, data) with its TTL.
        type Key = (DName, u16, Box<[u8]>);
        let mut model: BTreeSet<Key> = start
            .to_records()
            .into_iter()
            .filter(|r| r.rtype.0 != 6)
            .map(|r| (r.name, r.rtype.0, r.rdata))
            .collect();
        let ttl_of: std::collections::HashMap<Key, u32> = start
            .to_records()
            .into_iter()
            .map(|r| ((r.name, r.rtype.0, r.rdata), r.ttl))
            .collect();
        // One TTL per RRset (RFC 2181 section 5.2), as a primary sends them: an added record
        // takes its RRset's.
        let rrset_ttl: std::collections::HashMap<(DName, u16), u32> = ttl_of
            .iter()
            .map(|(k, ttl)| ((k.0.clone(), k.1), *ttl))
            .collect();
        let record = |k: &Key| ZoneRecord {
            name: k.0.clone(),
            ttl: if k.1 == 46 {
                ttl_of.get(k).copied().unwrap_or(300)
            } else {
                rrset_ttl.get(&(k.0.clone(), k.1)).copied().unwrap_or(300)
            },
            rtype: apex_zone::rdata::RrType(k.1),
            rdata: k.2.clone(),
            comment: None,
            line: 0,
        };
        let mut zone = start;
        for step in 0..120u32 {
            let serial = zone.serial();
            let mut removed = Vec::new();
            let mut added = Vec::new();
            for _ in 0..1 + rng.below(4) {
                if rng.below(2) == 0 && !model.is_empty() {
                    let k = model.iter().nth(rng.below(model.len())).unwrap().clone();
                    model.remove(&k);
                    if let Some(i) = added.iter().position(|r: &ZoneRecord| {
                        r.name == k.0 && r.rtype.0 == k.1 && r.rdata == k.2
                    }) {
                        added.swap_remove(i);
                    } else {
                        removed.push(record(&k));
                    }
                } else {
                    for r in parse_records(&apex, pool[rng.below(pool.len())]) {
                        let k = (r.name.clone(), r.rtype.0, r.rdata.clone());
                        if model.insert(k.clone()) {
                            added.push(record(&k));
                        }
                    }
                }
            }
            // A signature whose RRset is gone is not kept (by either build), so the model
            // forgets it too.
            let mut present: BTreeSet<(DName, u16)> =
                model.iter().map(|k| (k.0.clone(), k.1)).collect();
            present.insert((apex.clone(), 6));
            model.retain(|k| {
                k.1 != 46 || present.contains(&(k.0.clone(), u16::from_be_bytes([k.2[0], k.2[1]])))
            });
            let soa = soa_of(serial + 1);
            let delta = apex_net::xfr::Delta {
                from: serial,
                to: serial + 1,
                removed,
                added,
            };
            zone = zone
                .apply(soa.clone(), std::slice::from_ref(&delta))
                .unwrap_or_else(|e| panic!("{origin} step {step}: {e}"));
            let mut all: Vec<ZoneRecord> = model.iter().map(record).collect();
            all.push(soa);
            let whole = Zone::build(apex.clone(), all).unwrap();
            let sorted = |z: &Zone| {
                let mut v: Vec<Key> = z
                    .to_records()
                    .into_iter()
                    .map(|r| (r.name, r.rtype.0, r.rdata))
                    .collect();
                v.sort();
                v
            };
            let (x, y) = (sorted(&zone), sorted(&whole));
            let only_x: Vec<_> = x
                .iter()
                .filter(|k| !y.contains(k))
                .map(|k| (k.0.to_string(), k.1))
                .collect();
            let only_y: Vec<_> = y
                .iter()
                .filter(|k| !x.contains(k))
                .map(|k| (k.0.to_string(), k.1))
                .collect();
            assert!(
                only_x.is_empty() && only_y.is_empty(),
                "{origin} step {step}: records only incremental {only_x:?}, only whole {only_y:?}"
            );
            assert_eq!(
                zone.record_count(),
                whole.record_count(),
                "{origin} step {step}"
            );
            let (a, b) = (Store::new(), Store::new());
            a.insert(zone.clone());
            b.insert(whole);
            for name in names {
                let name = if name == "@" {
                    origin.to_string()
                } else {
                    format!("{name}.{origin}")
                };
                for rtype in types {
                    for dnssec_ok in [false, true] {
                        let mut m = request(&name, rtype);
                        let mut edns = Edns::new();
                        edns.set_max_payload(4096);
                        edns.set_dnssec_ok(dnssec_ok);
                        m.set_edns(edns);
                        let q = m.to_vec().unwrap();
                        let (mut x, mut y) = (Vec::new(), Vec::new());
                        handle(&a, &q, &mut x, true, 0);
                        handle(&b, &q, &mut y, true, 0);
                        assert!(
                            x == y,
                            "{origin} step {step}: {name} {rtype} DO={dnssec_ok}\nincremental: {:?}\nwhole: {:?}",
                            Message::from_vec(&x),
                            Message::from_vec(&y)
                        );
                    }
                }
            }
        }
        assert!(zone.delta_bytes() > 0, "{origin}: the delta was never used");
    }
}
