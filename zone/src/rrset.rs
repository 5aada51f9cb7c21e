//! Rules between the records at one name, checked before a record is added or changed.

use hickory_proto::rr::{Name, RecordType};

use crate::name::ZoneName;

/// A record already at the name being written to.
#[derive(Debug, Clone)]
pub struct Sibling<'a> {
    /// Its type.
    pub rtype: RecordType,
    /// Its canonical content.
    pub content: &'a str,
}

/// A rule the new record would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RrsetError {
    /// CNAME at the zone apex (it would hide the SOA and NS).
    #[error("a CNAME cannot be at the zone apex: it would replace the zone's SOA and NS records")]
    CnameAtApex,
    /// CNAME beside other data (RFC 1034 section 3.6.2, RFC 2181 section 10.1).
    #[error("a CNAME cannot coexist with other records at {name} (it already has {existing})")]
    CnameBesideData {
        /// The owner, relative to the zone.
        name: String,
        /// The types already there.
        existing: String,
    },
    /// Data beside a CNAME.
    #[error("{name} already has a CNAME, so it cannot have a {rtype} record too")]
    DataBesideCname {
        /// The owner, relative to the zone.
        name: String,
        /// The type being added.
        rtype: String,
    },
    /// The apex NS set is built from the platform's nameservers.
    #[error("the NS records at the zone apex are managed by the platform")]
    ApexNs,
    /// The same record twice.
    #[error("{name} already has this {rtype} record")]
    Duplicate {
        /// The owner, relative to the zone.
        name: String,
        /// Its type.
        rtype: String,
    },
}

impl RrsetError {
    /// The request field the error is about, for problem responses.
    pub fn field(&self) -> &'static str {
        match self {
            Self::CnameAtApex | Self::ApexNs => "name",
            Self::CnameBesideData { .. } | Self::DataBesideCname { .. } => "type",
            Self::Duplicate { .. } => "content",
        }
    }
}

/// Checks that a record of `rtype` with canonical `content` may be added at `name`, given the
/// records already there (`siblings`, excluding the record being replaced on update).
pub fn check_add(
    zone: &ZoneName,
    name: &Name,
    rtype: RecordType,
    content: &str,
    siblings: &[Sibling<'_>],
) -> Result<(), RrsetError> {
    let at_apex = name == zone.name();
    let rel = || zone.relative(name);
    if at_apex && rtype == RecordType::CNAME {
        return Err(RrsetError::CnameAtApex);
    }
    if at_apex && rtype == RecordType::NS {
        return Err(RrsetError::ApexNs);
    }
    if siblings
        .iter()
        .any(|s| s.rtype == rtype && s.content == content)
    {
        return Err(RrsetError::Duplicate {
            name: rel(),
            rtype: rtype.to_string(),
        });
    }
    if rtype == RecordType::CNAME && !siblings.is_empty() {
        let mut types: Vec<String> = siblings.iter().map(|s| s.rtype.to_string()).collect();
        types.sort();
        types.dedup();
        return Err(RrsetError::CnameBesideData {
            name: rel(),
            existing: types.join(", "),
        });
    }
    if rtype != RecordType::CNAME && siblings.iter().any(|s| s.rtype == RecordType::CNAME) {
        return Err(RrsetError::DataBesideCname {
            name: rel(),
            rtype: rtype.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z() -> ZoneName {
        ZoneName::parse("example.com").unwrap()
    }

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn cname_rules() {
        let zone = z();
        let www = n("www.example.com.");
        let a = [Sibling {
            rtype: RecordType::A,
            content: "192.0.2.1",
        }];
        let err = check_add(&zone, &www, RecordType::CNAME, "x.example.net.", &a).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a CNAME cannot coexist with other records at www (it already has A)"
        );
        let c = [Sibling {
            rtype: RecordType::CNAME,
            content: "x.example.net.",
        }];
        assert!(matches!(
            check_add(&zone, &www, RecordType::A, "192.0.2.1", &c),
            Err(RrsetError::DataBesideCname { .. })
        ));
        assert!(matches!(
            check_add(&zone, &www, RecordType::CNAME, "y.example.net.", &c),
            Err(RrsetError::CnameBesideData { .. })
        ));
        assert_eq!(
            check_add(&zone, zone.name(), RecordType::CNAME, "x.", &[]),
            Err(RrsetError::CnameAtApex)
        );
        assert!(check_add(&zone, &www, RecordType::CNAME, "x.example.net.", &[]).is_ok());
    }

    #[test]
    fn duplicates_and_apex_ns() {
        let zone = z();
        let www = n("www.example.com.");
        let a = [Sibling {
            rtype: RecordType::A,
            content: "192.0.2.1",
        }];
        assert!(matches!(
            check_add(&zone, &www, RecordType::A, "192.0.2.1", &a),
            Err(RrsetError::Duplicate { .. })
        ));
        assert!(check_add(&zone, &www, RecordType::A, "192.0.2.2", &a).is_ok());
        assert_eq!(
            check_add(&zone, zone.name(), RecordType::NS, "ns.example.net.", &[]),
            Err(RrsetError::ApexNs)
        );
        assert!(
            check_add(
                &zone,
                &n("sub.example.com."),
                RecordType::NS,
                "ns.example.net.",
                &[]
            )
            .is_ok()
        );
    }
}
