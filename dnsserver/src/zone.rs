//! One zone as the answer path needs it, built once from a transfer.
//!
//! Owner names are kept lowercased in a hash map, each with its RRsets by type. Every ancestor
//! of an owner up to the apex is present too (empty non-terminals, RFC 8020), so "does this
//! name exist" is one hash lookup. Delegation points (NS below the apex) are kept in a set.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// Longest any SOA timer is taken to be; larger values (the catalog's expire is 68 years)
/// mean "practically never" and would only overflow timer arithmetic.
const MAX_TIMER: Duration = Duration::from_secs(365 * 24 * 3600);

/// A transfer that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    /// The first record is not the zone's SOA.
    #[error("transfer of {0} does not start with its SOA")]
    NoSoa(Name),
}

/// The SOA timers that drive a secondary (RFC 1035 section 3.3.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoaTimers {
    /// Check the primary for a newer serial this often.
    pub refresh: Duration,
    /// After a failed check, try again after this long.
    pub retry: Duration,
    /// Stop answering (SERVFAIL) when no check has succeeded for this long.
    pub expire: Duration,
}

impl SoaTimers {
    /// The timers of `soa`, each at least one second and at most a year.
    pub fn from_soa(soa: &SOA) -> Self {
        let secs = |v: i32| {
            Duration::from_secs(u64::try_from(v).unwrap_or(u64::MAX))
                .clamp(Duration::from_secs(1), MAX_TIMER)
        };
        Self {
            refresh: secs(soa.refresh),
            retry: secs(soa.retry),
            expire: secs(soa.expire),
        }
    }
}

/// The RRsets at one owner name. Empty for an empty non-terminal.
#[derive(Debug, Default)]
pub struct Node {
    rrsets: Vec<(RecordType, Vec<Record>)>,
}

impl Node {
    /// The RRset of type `rtype`, if any.
    pub fn get(&self, rtype: RecordType) -> Option<&[Record]> {
        self.rrsets
            .iter()
            .find(|(t, _)| *t == rtype)
            .map(|(_, records)| records.as_slice())
    }

    /// The first RRset in transfer order (the minimal answer to ANY, RFC 8482).
    pub fn first(&self) -> Option<&[Record]> {
        self.rrsets.first().map(|(_, records)| records.as_slice())
    }

    /// True for an empty non-terminal: the name exists but owns no records.
    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }

    fn push(&mut self, record: Record) {
        let rtype = record.record_type();
        match self.rrsets.iter_mut().find(|(t, _)| *t == rtype) {
            Some((_, records)) => {
                if !records.iter().any(|r| r.data == record.data) {
                    records.push(record);
                }
            }
            None => self.rrsets.push((rtype, vec![record])),
        }
    }
}

/// A zone ready to answer from.
#[derive(Debug)]
pub struct Zone {
    origin: Name,
    soa: Record,
    serial: u32,
    timers: SoaTimers,
    nodes: HashMap<Name, Node>,
    cuts: HashSet<Name>,
    origin_labels: usize,
    records: usize,
}

/// Number of labels of `name`, counting a leading `*` (unlike [`Name::num_labels`]).
pub fn label_count(name: &Name) -> usize {
    name.iter().len()
}

impl Zone {
    /// Builds the zone `origin` from the records of a transfer, SOA first. Records outside the
    /// zone or of a class other than IN are dropped: they could never be served.
    pub fn from_transfer(origin: &Name, records: Vec<Record>) -> Result<Self, ZoneError> {
        let mut origin = origin.to_lowercase();
        origin.set_fqdn(true);
        let mut iter = records.into_iter();
        let soa = match iter.next() {
            Some(r) if r.name == origin && matches!(r.data, RData::SOA(_)) => r,
            _ => return Err(ZoneError::NoSoa(origin)),
        };
        let RData::SOA(soa_data) = &soa.data else {
            return Err(ZoneError::NoSoa(origin));
        };
        let serial = soa_data.serial;
        let timers = SoaTimers::from_soa(soa_data);
        let origin_labels = label_count(&origin);
        let mut zone = Self {
            nodes: HashMap::new(),
            cuts: HashSet::new(),
            soa: soa.clone(),
            origin: origin.clone(),
            serial,
            timers,
            origin_labels,
            records: 0,
        };
        zone.add(soa);
        let mut dropped = 0usize;
        for record in iter {
            if record.dns_class != DNSClass::IN || !origin.zone_of(&record.name) {
                dropped += 1;
                continue;
            }
            if matches!(record.data, RData::SOA(_)) {
                // Only the apex SOA counts; a second one is noise from a broken primary.
                dropped += 1;
                continue;
            }
            zone.add(record);
        }
        if dropped > 0 {
            tracing::warn!(zone.name = %origin, dropped, "records outside the zone or not IN were dropped");
        }
        Ok(zone)
    }

    fn add(&mut self, record: Record) {
        let owner = record.name.to_lowercase();
        if record.record_type() == RecordType::NS && owner != self.origin {
            self.cuts.insert(owner.clone());
        }
        let fresh = !self.nodes.contains_key(&owner);
        self.nodes.entry(owner.clone()).or_default().push(record);
        self.records += 1;
        if fresh {
            // Every ancestor up to the apex exists; stop at the first one already present,
            // whose own ancestors were added with it.
            let mut name = owner;
            while label_count(&name) > self.origin_labels {
                name = name.base_name();
                if self.nodes.contains_key(&name) {
                    break;
                }
                self.nodes.insert(name.clone(), Node::default());
            }
        }
    }

    /// The zone's apex, lowercased.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The SOA's refresh, retry and expire.
    pub fn timers(&self) -> SoaTimers {
        self.timers
    }

    /// Number of records held (SOA included).
    pub fn record_count(&self) -> usize {
        self.records
    }

    /// The node at `name` (lowercased, fully qualified), if the name exists.
    pub fn node(&self, name: &Name) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// True if `name` (lowercased) is a delegation point: NS records below the apex.
    pub fn is_cut(&self, name: &Name) -> bool {
        self.cuts.contains(name)
    }

    /// True if the zone delegates anything at all.
    pub fn has_cuts(&self) -> bool {
        !self.cuts.is_empty()
    }

    /// Number of labels of the apex.
    pub fn origin_labels(&self) -> usize {
        self.origin_labels
    }

    /// The SOA for the authority section of a negative answer: its TTL is the lesser of the
    /// SOA's own TTL and its MINIMUM field (RFC 2308 section 3).
    pub fn negative_soa(&self) -> Record {
        let mut soa = self.soa.clone();
        if let RData::SOA(data) = &self.soa.data {
            soa.ttl = soa.ttl.min(data.minimum);
        }
        soa
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, NS};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn soa(origin: &str, serial: u32) -> Record {
        Record::from_rdata(
            n(origin),
            3600,
            RData::SOA(SOA::new(n("ns."), n("h."), serial, 7200, 600, -5, 300)),
        )
    }

    #[test]
    fn builds_nodes_cuts_and_timers() {
        let records = vec![
            soa("Example.COM.", 7),
            Record::from_rdata(n("a.b.C.example.com."), 60, RData::A(A::new(192, 0, 2, 1))),
            Record::from_rdata(
                n("sub.example.com."),
                60,
                RData::NS(NS(n("ns.sub.example.com."))),
            ),
            Record::from_rdata(n("other.org."), 60, RData::A(A::new(192, 0, 2, 9))),
        ];
        let zone = Zone::from_transfer(&n("example.com."), records).unwrap();
        assert_eq!(zone.serial(), 7);
        assert_eq!(zone.record_count(), 3);
        assert!(zone.node(&n("b.c.example.com.")).unwrap().is_empty());
        assert!(zone.node(&n("c.example.com.")).is_some());
        assert!(
            zone.node(&n("a.b.c.example.com."))
                .unwrap()
                .get(RecordType::A)
                .is_some()
        );
        assert!(zone.node(&n("other.org.")).is_none());
        assert!(zone.is_cut(&n("sub.example.com.")));
        assert_eq!(zone.timers().refresh, Duration::from_secs(7200));
        assert_eq!(zone.timers().expire, MAX_TIMER);
        assert_eq!(zone.negative_soa().ttl, 300);
    }

    #[test]
    fn needs_the_soa_first() {
        let records = vec![Record::from_rdata(
            n("example.com."),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        )];
        assert!(Zone::from_transfer(&n("example.com."), records).is_err());
        assert!(Zone::from_transfer(&n("example.com."), vec![soa("example.org.", 1)]).is_err());
    }
}
