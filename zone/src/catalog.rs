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

/// A catalog as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// The catalog's SOA serial.
    pub serial: u32,
    /// Member zones, each with its unique id.
    pub members: BTreeMap<Name, String>,
    /// Entries ignored, with the reason, for the logs.
    pub ignored: Vec<String>,
}

/// Reads a transferred catalog zone.
pub fn parse(catalog: &Name, records: &[Record]) -> Result<Catalog, CatalogError> {
    let serial = records
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) if &r.name == catalog => Some(soa.serial),
            _ => None,
        })
        .ok_or(CatalogError::NoSoa)?;
    let version_name = child(catalog, "version");
    let versions: Vec<String> = records
        .iter()
        .filter(|r| r.name == version_name)
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    if versions.len() != 1 || versions[0] != "2" {
        return Err(CatalogError::Version(versions.into_iter().next()));
    }
    let zones = child(catalog, "zones");
    let member_labels = zones.num_labels() + 1;
    let mut by_id: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    let mut ignored = Vec::new();
    for r in records {
        if !zones.zone_of(&r.name) || r.name == zones {
            continue;
        }
        if r.name.num_labels() != member_labels {
            // Properties of a member (group, coo) live below its node; not used yet.
            continue;
        }
        let id = r
            .name
            .iter()
            .next()
            .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
            .unwrap_or_default();
        match &r.data {
            RData::PTR(ptr) => by_id.entry(id).or_default().push(ptr.0.to_lowercase()),
            _ => ignored.push(format!("{}: not a PTR record", r.name)),
        }
    }
    let mut members: BTreeMap<Name, String> = BTreeMap::new();
    for (id, zones) in by_id {
        if zones.len() != 1 {
            ignored.push(format!(
                "member {id}: {} PTR records, exactly one is allowed",
                zones.len()
            ));
            continue;
        }
        let zone = zones.into_iter().next().unwrap_or_else(Name::root);
        if let Some(first) = members.get(&zone) {
            ignored.push(format!("member {id}: {zone} is already listed as {first}"));
            continue;
        }
        members.insert(zone, id);
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
        let parsed = parse(&cat, &records).unwrap();
        assert_eq!(parsed.serial, 42);
        assert_eq!(parsed.members.len(), 2);
        assert_eq!(parsed.members[&n("example.org.")], "z2");
        assert!(parsed.ignored.is_empty());
    }

    #[test]
    fn broken_entries() {
        let cat = n("cat.example.");
        let mut records = render(&cat, 1, &[]);
        let ptr = |id: &str, z: &str| {
            Record::from_rdata(child(&child(&cat, "zones"), id), 0, RData::PTR(PTR(n(z))))
        };
        records.push(ptr("a", "one.example."));
        records.push(ptr("b", "two.example."));
        records.push(ptr("b", "three.example."));
        records.push(ptr("c", "one.example."));
        let parsed = parse(&cat, &records).unwrap();
        assert_eq!(
            parsed.members.keys().cloned().collect::<Vec<_>>(),
            vec![n("one.example.")]
        );
        assert_eq!(parsed.ignored.len(), 2);

        let no_version: Vec<Record> = render(&cat, 1, &[])
            .into_iter()
            .filter(|r| r.record_type() != hickory_proto::rr::RecordType::TXT)
            .collect();
        assert_eq!(parse(&cat, &no_version), Err(CatalogError::Version(None)));
        assert_eq!(parse(&cat, &[]), Err(CatalogError::NoSoa));
    }
}
