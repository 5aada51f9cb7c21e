//! A zone's complete record set: the platform's SOA and apex NS set plus the users' records.

use std::collections::BTreeMap;

use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::name::ZoneName;

/// The platform's SOA settings, the same for every zone (per-zone timers come later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaParams {
    /// MNAME: the primary nameserver's name.
    pub mname: Name,
    /// RNAME: the hostmaster mailbox as a name (`hostmaster.example.net.`).
    pub rname: Name,
    /// Seconds between secondary refresh checks.
    pub refresh: u32,
    /// Seconds between retries after a failed refresh.
    pub retry: u32,
    /// Seconds after which an unrefreshed secondary stops answering.
    pub expire: u32,
    /// Negative-caching TTL (RFC 2308).
    pub minimum: u32,
    /// TTL of the SOA record itself.
    pub ttl: u32,
}

/// The apex NS set every zone gets: the platform's nameservers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApexNs {
    /// Nameserver host names.
    pub hosts: Vec<Name>,
    /// TTL of the NS records.
    pub ttl: u32,
}

/// Builds the zone's SOA record.
pub fn soa_record(zone: &ZoneName, serial: u32, soa: &SoaParams) -> Record {
    let rdata = SOA::new(
        soa.mname.clone(),
        soa.rname.clone(),
        serial,
        soa.refresh as i32,
        soa.retry as i32,
        soa.expire as i32,
        soa.minimum,
    );
    Record::from_rdata(zone.name().clone(), soa.ttl, RData::SOA(rdata))
}

/// Renders the full zone: SOA first, then every RRset in canonical order (RFC 4034 6.1).
/// Records of one RRset get one TTL, the smallest given, as RFC 2181 section 5.2 requires.
pub fn render(
    zone: &ZoneName,
    serial: u32,
    soa: &SoaParams,
    ns: &ApexNs,
    records: impl IntoIterator<Item = Record>,
) -> Vec<Record> {
    let mut rrsets: BTreeMap<(Name, u16), Vec<Record>> = BTreeMap::new();
    for host in &ns.hosts {
        let r = Record::from_rdata(zone.name().clone(), ns.ttl, RData::NS(NS(host.clone())));
        rrsets
            .entry((zone.name().clone(), u16::from(RecordType::NS)))
            .or_default()
            .push(r);
    }
    for r in records {
        rrsets
            .entry((r.name.clone(), u16::from(r.record_type())))
            .or_default()
            .push(r);
    }
    let mut out = Vec::with_capacity(1 + rrsets.values().map(Vec::len).sum::<usize>());
    out.push(soa_record(zone, serial, soa));
    for (_, mut set) in rrsets {
        let ttl = set.iter().map(|r| r.ttl).min().unwrap_or_default();
        for r in &mut set {
            r.ttl = ttl;
        }
        out.extend(set);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::A;

    #[test]
    fn soa_first_then_canonical_order() {
        let zone = ZoneName::parse("example.com").unwrap();
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let soa = SoaParams {
            mname: n("ns1.apex.test."),
            rname: n("hostmaster.apex.test."),
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            minimum: 300,
            ttl: 3600,
        };
        let ns = ApexNs {
            hosts: vec![n("ns1.apex.test."), n("ns2.apex.test.")],
            ttl: 3600,
        };
        let a = |name: &str, ttl, ip: [u8; 4]| {
            Record::from_rdata(
                n(name),
                ttl,
                RData::A(A::from(std::net::Ipv4Addr::from(ip))),
            )
        };
        let recs = vec![
            a("www.example.com.", 600, [192, 0, 2, 2]),
            a("a.example.com.", 300, [192, 0, 2, 1]),
            a("www.example.com.", 300, [192, 0, 2, 3]),
        ];
        let out = render(&zone, 7, &soa, &ns, recs);
        let text: Vec<String> = out
            .iter()
            .map(|r| format!("{} {} {}", r.name, r.ttl, r.record_type()))
            .collect();
        assert_eq!(
            text,
            vec![
                "example.com. 3600 SOA",
                "example.com. 3600 NS",
                "example.com. 3600 NS",
                "a.example.com. 300 A",
                "www.example.com. 300 A",
                "www.example.com. 300 A",
            ]
        );
    }
}
