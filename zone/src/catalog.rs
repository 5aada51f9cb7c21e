//! Catalog zones, schema version 2 (RFC 9432): the list of zones the fleet serves, itself
//! transferred like any zone. The worker produces it; apex-dnsserver (or BIND, or Knot)
//! consumes it.
//!
//! ```text
//! catalog.apex.invalid.                 0 SOA invalid. invalid. <serial> 3600 600 2147483646 0
//! catalog.apex.invalid.                 0 NS  invalid.
//! version.catalog.apex.invalid.         0 TXT "2"
//! <unique-id>.zones.catalog.apex.invalid. 0 PTR example.com.
//! ```

use std::collections::BTreeMap;

use hickory_proto::rr::rdata::{NS, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record};

use crate::dname::DName;
use crate::rdata::{RrType, Wire};
use crate::record::ZoneRecord;

/// One member zone and its unique id label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The unique label under `zones.` (RFC 9432 section 4.1). A new id for the same zone
    /// tells consumers to drop their copy and start afresh.
    pub id: String,
    /// The member zone.
    pub zone: Name,
}

fn child(parent: &Name, label: &str) -> Name {
    // Labels passed here are fixed ASCII words or ids made of [a-z0-9]: always valid.
    Name::from_ascii(label)
        .and_then(|l| l.append_domain(parent))
        .unwrap_or_else(|_| parent.clone())
}

fn invalid_name() -> Name {
    Name::from_ascii("invalid.").unwrap_or_else(|_| Name::root())
}

/// The catalog's SOA at `serial` (RFC 9432 section 4.1: the values are conventional).
pub fn soa(catalog: &Name, serial: u32) -> Record {
    let invalid = invalid_name();
    Record::from_rdata(
        catalog.clone(),
        0,
        RData::SOA(SOA::new(
            invalid.clone(),
            invalid,
            serial,
            3600,
            600,
            2_147_483_646,
            0,
        )),
    )
}

/// Renders the catalog zone with `members` at `serial`, SOA first.
pub fn render(catalog: &Name, serial: u32, members: &[Member]) -> Vec<Record> {
    let zones = child(catalog, "zones");
    let mut out = Vec::with_capacity(members.len() + 3);
    out.push(soa(catalog, serial));
    out.push(Record::from_rdata(
        catalog.clone(),
        0,
        RData::NS(NS(invalid_name())),
    ));
    out.push(Record::from_rdata(
        child(catalog, "version"),
        0,
        RData::TXT(TXT::new(vec!["2".to_string()])),
    ));
    for m in members {
        out.push(Record::from_rdata(
            child(&zones, &m.id),
            0,
            RData::PTR(PTR(m.zone.clone())),
        ));
    }
    out
}

/// A catalog that cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// No SOA at the apex.
    #[error("catalog zone has no SOA record at its apex")]
    NoSoa,
    /// Missing or unsupported `version` property.
    #[error("catalog zone schema version is {0:?}; only version \"2\" is supported")]
    Version(Option<String>),
}

/// One member as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its unique id label.
    pub id: String,
    /// `coo` property (RFC 9432 section 5.6): the catalog the member is moving to.
    pub coo: Option<DName>,
}

/// A catalog as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// The catalog's SOA serial.
    pub serial: u32,
    /// Member zones with their unique ids and properties.
    pub members: BTreeMap<DName, Listed>,
    /// Entries ignored, with the reason, for the logs.
    pub ignored: Vec<String>,
}

/// The character-strings of a TXT record's data, joined.
fn txt_text(rdata: &[u8]) -> String {
    let mut out = Vec::new();
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let take = usize::from(len).min(tail.len());
        out.extend_from_slice(&tail[..take]);
        rest = &tail[take..];
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a transferred catalog zone (records in wire form, as a secondary receives them).
pub fn parse(catalog: &DName, records: &[ZoneRecord]) -> Result<Catalog, CatalogError> {
    let serial = records
        .iter()
        .find(|r| r.rtype == RrType::SOA && &r.name == catalog)
        .and_then(|r| {
            let mut w = Wire::new(&r.rdata);
            w.name().ok()?;
            w.name().ok()?;
            w.u32().ok()
        })
        .ok_or(CatalogError::NoSoa)?;
    let version_name = DName::parse(b"version", Some(catalog)).map_err(|_| CatalogError::NoSoa)?;
    let versions: Vec<String> = records
        .iter()
        .filter(|r| r.name == version_name && r.rtype == RrType::TXT)
        .map(|r| txt_text(&r.rdata))
        .collect();
    if versions.len() != 1 || versions[0] != "2" {
        return Err(CatalogError::Version(versions.into_iter().next()));
    }
    let zones = DName::parse(b"zones", Some(catalog)).map_err(|_| CatalogError::NoSoa)?;
    let mut by_id: BTreeMap<String, Vec<DName>> = BTreeMap::new();
    let mut coo: BTreeMap<String, DName> = BTreeMap::new();
    let mut ignored = Vec::new();
    // The member's id is the label just below `zones`.
    let id_of = |name: &DName, depth: usize| -> String {
        name.labels()
            .nth(depth - 1)
            .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
            .unwrap_or_default()
    };
    for r in records {
        if !r.name.is_within(&zones) || r.name == zones {
            continue;
        }
        let depth = r.name.label_count() - zones.label_count();
        if depth == 1 {
            let id = id_of(&r.name, depth);
            match (r.rtype, DName::from_wire(&r.rdata)) {
                (RrType::PTR, Some((zone, _))) => by_id.entry(id).or_default().push(zone),
                (RrType::PTR, None) => ignored.push(format!("{}: malformed PTR", r.name)),
                _ => ignored.push(format!("{}: not a PTR record", r.name)),
            }
            continue;
        }
        // Properties live below the member's node: coo.<id>.zones.<catalog> (section 5.6).
        let first = r.name.labels().next().unwrap_or_default();
        if depth == 2 && first.eq_ignore_ascii_case(b"coo") && r.rtype == RrType::PTR {
            let id = id_of(&r.name, depth);
            if let Some((target, _)) = DName::from_wire(&r.rdata) {
                coo.insert(id, target);
            }
        }
    }
    let mut members: BTreeMap<DName, Listed> = BTreeMap::new();
    for (id, zones) in by_id {
        if zones.len() != 1 {
            ignored.push(format!(
                "member {id}: {} PTR records, exactly one is allowed",
                zones.len()
            ));
            continue;
        }
        let Some(zone) = zones.into_iter().next() else {
            continue;
        };
        if let Some(first) = members.get(&zone) {
            ignored.push(format!(
                "member {id}: {zone} is already listed as {}",
                first.id
            ));
            continue;
        }
        let coo = coo.get(&id).cloned();
        members.insert(zone, Listed { id, coo });
    }
    Ok(Catalog {
        serial,
        members,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn d(s: &str) -> DName {
        DName::parse(s.as_bytes(), None).unwrap()
    }

    fn wire(records: &[Record]) -> Vec<ZoneRecord> {
        records
            .iter()
            .map(|r| ZoneRecord::from_record(r).unwrap())
            .collect()
    }

    #[test]
    fn render_then_parse() {
        let cat = n("catalog.apex.invalid.");
        let members = vec![
            Member {
                id: "z1".into(),
                zone: n("example.com."),
            },
            Member {
                id: "z2".into(),
                zone: n("example.org."),
            },
        ];
        let records = render(&cat, 42, &members);
        assert_eq!(records.len(), 5);
        assert_eq!(records[3].name, n("z1.zones.catalog.apex.invalid."));
        let parsed = parse(&d("catalog.apex.invalid."), &wire(&records)).unwrap();
        assert_eq!(parsed.serial, 42);
        assert_eq!(parsed.members.len(), 2);
        assert_eq!(parsed.members[&d("example.org.")].id, "z2");
        assert!(parsed.ignored.is_empty());
    }

    #[test]
    fn broken_entries_and_coo() {
        let cat = n("cat.example.");
        let mut records = render(&cat, 1, &[]);
        let ptr = |owner: &str, z: &str| Record::from_rdata(n(owner), 0, RData::PTR(PTR(n(z))));
        records.push(ptr("a.zones.cat.example.", "One.example."));
        records.push(ptr("b.zones.cat.example.", "two.example."));
        records.push(ptr("b.zones.cat.example.", "three.example."));
        records.push(ptr("c.zones.cat.example.", "one.example."));
        records.push(ptr("coo.a.zones.cat.example.", "other-cat.example."));
        let parsed = parse(&d("cat.example."), &wire(&records)).unwrap();
        assert_eq!(
            parsed.members.keys().cloned().collect::<Vec<_>>(),
            vec![d("one.example.")]
        );
        assert_eq!(
            parsed.members[&d("one.example.")].coo,
            Some(d("other-cat.example."))
        );
        assert_eq!(parsed.ignored.len(), 2);

        let no_version: Vec<Record> = render(&cat, 1, &[])
            .into_iter()
            .filter(|r| r.record_type() != hickory_proto::rr::RecordType::TXT)
            .collect();
        assert_eq!(
            parse(&d("cat.example."), &wire(&no_version)),
            Err(CatalogError::Version(None))
        );
        assert_eq!(parse(&d("cat.example."), &[]), Err(CatalogError::NoSoa));
    }
}
