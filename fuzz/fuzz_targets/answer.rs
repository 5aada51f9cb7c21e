//! Arbitrary packets to the nameserver's answer path, over UDP and TCP limits, against zones
//! with every feature (wildcards, delegations, DNAME, CNAME chains, NSEC and NSEC3 signed).
//! It must never panic; a packet is answered (the reply decodes as a DNS message and fits
//! the transport's limit) or dropped.
#![no_main]

use std::sync::OnceLock;

use apex_dnsserver::answer::{Handled, handle};
use apex_dnsserver::store::Store;
use apex_dnsserver::zone::Zone;
use apex_zone::dname::DName;
use apex_zone::zonefile::{ParseOptions, parse};
use libfuzzer_sys::fuzz_target;

const ZONES: &[(&str, &str)] = &[
    ("unsigned.test.", include_str!("../zones/unsigned.test.zone")),
    ("nsec.test.", include_str!("../zones/nsec.test.zone")),
    ("nsec3.test.", include_str!("../zones/nsec3.test.zone")),
];

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = Store::new();
        for (origin, text) in ZONES {
            let apex = DName::parse(origin.as_bytes(), None).expect("origin");
            let options = ParseOptions { keep_dnssec: true, ..ParseOptions::default() };
            let parsed = parse(text.as_bytes(), &apex, options).expect("fixture zone parses");
            let mut records = parsed.records;
            records.extend(parsed.soa);
            store.insert(Zone::build(apex, records).expect("fixture zone builds"));
        }
        store
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, packet)) = data.split_first() else { return };
    let udp = mode & 1 == 0;
    let mut out = Vec::new();
    let (handled, _) = handle(store(), packet, &mut out, udp, 0);
    if handled != Handled::Reply {
        return;
    }
    assert!(out.len() >= 12, "reply shorter than a header");
    assert!(out.len() <= if udp { 1232 } else { 65_535 }, "reply of {} bytes over the limit", out.len());
    if let Err(e) = hickory_proto::op::Message::from_vec(&out) {
        // A reply to a question we could not read has no question: still a message.
        panic!("reply does not decode: {e}\nrequest {packet:02x?}\nreply {out:02x?}");
    }
});
