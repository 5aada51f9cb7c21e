//! A zone's complete record set: the platform's SOA and apex NS set plus the users' records,
//! as [`ZoneRecord`]s (data in canonical wire form). The SOA timers are the platform's, or a
//! zone's own where it has set them (apex-core's `SoaTimers` applies those to [`SoaParams`]
//! before rendering). Turning records into hickory `Record`s is left to the wire edge.

use std::collections::BTreeMap;

use hickory_proto::rr::Name;

use crate::dname::DName;
use crate::name::ZoneName;
use crate::rdata::RrType;
use crate::record::ZoneRecord;

/// A zone's SOA settings: the platform's, with a zone's own timers applied where it has them.
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
pub fn soa_record(zone: &ZoneName, serial: u32, soa: &SoaParams) -> ZoneRecord {
    let mname = DName::from_name(&soa.mname);
    let rname = DName::from_name(&soa.rname);
    let mut rdata = Vec::with_capacity(mname.wire().len() + rname.wire().len() + 20);
    rdata.extend_from_slice(mname.wire());
    rdata.extend_from_slice(rname.wire());
    for n in [serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
        rdata.extend_from_slice(&n.to_be_bytes());
    }
    ZoneRecord::new(
        DName::from_name(zone.name()),
        soa.ttl,
        RrType::SOA,
        rdata.into_boxed_slice(),
    )
}

/// Renders the full zone: SOA first, then every RRset in canonical order (RFC 4034 6.1), the
/// records of one RRset in the order given (the apex NS hosts before any apex NS in
/// `records`). Records of one RRset get one TTL, the smallest given, as RFC 2181 section 5.2
/// requires.
pub fn render(
    zone: &ZoneName,
    serial: u32,
    soa: &SoaParams,
    ns: &ApexNs,
    records: Vec<ZoneRecord>,
) -> Vec<ZoneRecord> {
    let apex = DName::from_name(zone.name());
    let mut rrsets: BTreeMap<(DName, RrType), Vec<ZoneRecord>> = BTreeMap::new();
    for host in &ns.hosts {
        let r = ZoneRecord::new(
            apex.clone(),
            ns.ttl,
            RrType::NS,
            DName::from_name(host).wire().into(),
        );
        rrsets
            .entry((apex.clone(), RrType::NS))
            .or_default()
            .push(r);
    }
    for r in records {
        rrsets.entry((r.name.clone(), r.rtype)).or_default().push(r);
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
    use crate::rdata::type_name;
    use hickory_proto::rr::rdata::{A, NS, SOA};
    use hickory_proto::rr::{RData, Record};

    #[test]
    fn soa_first_then_canonical_order() {
        let zone = ZoneName::parse("example.com").unwrap();
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let soa = plain_soa();
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
        let recs = [
            a("www.example.com.", 600, [192, 0, 2, 2]),
            a("a.example.com.", 300, [192, 0, 2, 1]),
            a("www.example.com.", 300, [192, 0, 2, 3]),
        ]
        .iter()
        .map(|r| ZoneRecord::from_record(r).unwrap())
        .collect();
        let out = render(&zone, 7, &soa, &ns, recs);
        let text: Vec<String> = out
            .iter()
            .map(|r| format!("{} {} {}", r.name, r.ttl, type_name(r.rtype)))
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

    #[test]
    fn same_bytes_as_hickory_records() {
        let zone = ZoneName::parse("example.com").unwrap();
        let n = |s: &str| Name::from_ascii(s).unwrap();
        // Names in the data go out lowercase, as canonical form has them.
        let soa = SoaParams {
            mname: n("NS1.Apex.test."),
            refresh: 7200,
            ..plain_soa()
        };
        let hickory_soa = Record::from_rdata(
            zone.name().clone(),
            3600,
            RData::SOA(SOA::new(
                soa.mname.clone(),
                soa.rname.clone(),
                7,
                7200,
                600,
                1_209_600,
                300,
            )),
        );
        assert_eq!(
            soa_record(&zone, 7, &soa),
            ZoneRecord::from_record(&hickory_soa).unwrap()
        );
        let ns = ApexNs {
            hosts: vec![n("Ns2.apex.test.")],
            ttl: 60,
        };
        let hickory_ns =
            Record::from_rdata(zone.name().clone(), 60, RData::NS(NS(n("ns2.apex.test."))));
        assert_eq!(
            render(&zone, 7, &soa, &ns, Vec::new())[1],
            ZoneRecord::from_record(&hickory_ns).unwrap()
        );
    }

    fn plain_soa() -> SoaParams {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        SoaParams {
            mname: n("ns1.apex.test."),
            rname: n("hostmaster.apex.test."),
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            minimum: 300,
            ttl: 3600,
        }
    }
}
