//! Rules between records: what may sit beside, above or below what. One set of rules serves
//! both a single API write ([`check_add`], given the record's neighbourhood read from the
//! database) and a whole zone file ([`crate::validate`]).

use std::borrow::Cow;

use crate::rdata::{RrType, type_name};

/// A record already at the name being written to.
#[derive(Debug, Clone)]
pub struct Sibling<'a> {
    /// Its type.
    pub rtype: RrType,
    /// Its canonical content.
    pub content: Cow<'a, str>,
}

/// What surrounds the name a record is written to.
#[derive(Debug, Clone, Default)]
pub struct Neighbourhood<'a> {
    /// The owner relative to the zone, for messages (`www`, `@`).
    pub name: String,
    /// Whether the owner is the zone apex.
    pub at_apex: bool,
    /// Records already at the owner (without the one being replaced on update).
    pub siblings: Vec<Sibling<'a>>,
    /// The nearest ancestor (inside the zone) holding a DNAME, if any.
    pub dname_above: Option<String>,
    /// Whether any record exists below the owner.
    pub has_descendants: bool,
}

/// A rule the new record would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RrsetError {
    /// CNAME at the zone apex (it would hide the SOA and NS).
    #[error("a CNAME cannot be at the zone apex: it would replace the zone's SOA and NS records")]
    CnameAtApex,
    /// DNAME at the apex: it would redirect the whole zone, which is not hosting it.
    #[error("a DNAME cannot be at the zone apex")]
    DnameAtApex,
    /// CNAME beside other data (RFC 1034 section 3.6.2, RFC 2181 section 10.1).
    #[error("a CNAME cannot coexist with other records at {name} (it already has {existing})")]
    CnameBesideData {
        /// The owner, relative to the zone.
        name: String,
        /// The types already there.
        existing: String,
    },
    /// Data beside a CNAME.
    #[error(
        "{name} already has a CNAME, so it cannot have {} {rtype} record too",
        article(rtype)
    )]
    DataBesideCname {
        /// The owner, relative to the zone.
        name: String,
        /// The type being added.
        rtype: String,
    },
    /// A second DNAME at one name (RFC 6672 section 2.4).
    #[error("{name} already has a DNAME; there can be only one")]
    TwoDnames {
        /// The owner.
        name: String,
    },
    /// Data below a DNAME, which can never be reached (RFC 6672 section 2.3).
    #[error("{name} is below the DNAME at {dname}, so it could never be answered")]
    BelowDname {
        /// The owner.
        name: String,
        /// The DNAME's owner.
        dname: String,
    },
    /// A DNAME above existing data.
    #[error("a DNAME at {name} would hide the records below it")]
    DnameAboveData {
        /// The owner.
        name: String,
    },
    /// The apex NS set is built from the platform's nameservers.
    #[error("the NS records at the zone apex are managed by the platform")]
    ApexNs,
    /// DNSKEY, CDS and CDNSKEY at the apex are the signer's: the platform publishes them when
    /// it signs the zone, and a parent that bootstraps from CDS (RFC 8078, RFC 9615) must only
    /// ever see the platform's.
    #[error(
        "the {rtype} records at the zone apex are managed by the platform: it publishes them when it signs the zone (turn DNSSEC on in the domain's settings)"
    )]
    ApexDnssec {
        /// The type.
        rtype: String,
    },
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
            Self::CnameAtApex | Self::DnameAtApex | Self::ApexNs | Self::BelowDname { .. } => {
                "name"
            }
            Self::ApexDnssec { .. } => "type",
            Self::CnameBesideData { .. }
            | Self::DataBesideCname { .. }
            | Self::TwoDnames { .. }
            | Self::DnameAboveData { .. } => "type",
            Self::Duplicate { .. } => "content",
        }
    }
}

/// "a" or "an" before a type's mnemonic, read letter by letter ("an A", "an MX", "a TXT").
pub fn article(mnemonic: &str) -> &'static str {
    match mnemonic.bytes().next() {
        Some(b'A' | b'E' | b'F' | b'H' | b'I' | b'L' | b'M' | b'N' | b'O' | b'R' | b'S' | b'X') => {
            "an"
        }
        _ => "a",
    }
}

/// Checks that a record of `rtype` with canonical `content` may be added where `near` says.
pub fn check_add(near: &Neighbourhood<'_>, rtype: RrType, content: &str) -> Result<(), RrsetError> {
    let name = || near.name.clone();
    if near.at_apex {
        match rtype {
            RrType::CNAME => return Err(RrsetError::CnameAtApex),
            RrType::DNAME => return Err(RrsetError::DnameAtApex),
            RrType::NS => return Err(RrsetError::ApexNs),
            RrType::DNSKEY | RrType::CDS | RrType::CDNSKEY => {
                return Err(RrsetError::ApexDnssec {
                    rtype: type_name(rtype),
                });
            }
            _ => {}
        }
    }
    if near
        .siblings
        .iter()
        .any(|s| s.rtype == rtype && s.content == content)
    {
        return Err(RrsetError::Duplicate {
            name: name(),
            rtype: type_name(rtype),
        });
    }
    if let Some(dname) = &near.dname_above {
        return Err(RrsetError::BelowDname {
            name: name(),
            dname: dname.clone(),
        });
    }
    if rtype == RrType::CNAME && !near.siblings.is_empty() {
        let mut types: Vec<String> = near.siblings.iter().map(|s| type_name(s.rtype)).collect();
        types.sort();
        types.dedup();
        return Err(RrsetError::CnameBesideData {
            name: name(),
            existing: types.join(", "),
        });
    }
    if rtype != RrType::CNAME && near.siblings.iter().any(|s| s.rtype == RrType::CNAME) {
        return Err(RrsetError::DataBesideCname {
            name: name(),
            rtype: type_name(rtype),
        });
    }
    if rtype == RrType::DNAME {
        if near.siblings.iter().any(|s| s.rtype == RrType::DNAME) {
            return Err(RrsetError::TwoDnames { name: name() });
        }
        if near.has_descendants {
            return Err(RrsetError::DnameAboveData { name: name() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(name: &str, siblings: Vec<Sibling<'static>>) -> Neighbourhood<'static> {
        Neighbourhood {
            name: name.into(),
            at_apex: name == "@",
            siblings,
            ..Default::default()
        }
    }

    fn a() -> Sibling<'static> {
        Sibling {
            rtype: RrType::A,
            content: "192.0.2.1".into(),
        }
    }

    #[test]
    fn the_signers_apex_records_are_the_platforms() {
        for t in [RrType::DNSKEY, RrType::CDS, RrType::CDNSKEY] {
            let err = check_add(&near("@", vec![]), t, "0 3 0 AA==").unwrap_err();
            assert!(matches!(err, RrsetError::ApexDnssec { .. }), "{err}");
            assert_eq!(err.field(), "type");
            // Below the apex they are data like any other (a child's keys, for example).
            assert!(check_add(&near("child", vec![]), t, "0 3 0 AA==").is_ok());
        }
    }

    #[test]
    fn cname_rules() {
        let err = check_add(&near("www", vec![a()]), RrType::CNAME, "x.example.net.").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a CNAME cannot coexist with other records at www (it already has A)"
        );
        let c = Sibling {
            rtype: RrType::CNAME,
            content: "x.example.net.".into(),
        };
        assert!(matches!(
            check_add(&near("www", vec![c.clone()]), RrType::A, "192.0.2.1"),
            Err(RrsetError::DataBesideCname { .. })
        ));
        assert!(matches!(
            check_add(&near("www", vec![c]), RrType::CNAME, "y.example.net."),
            Err(RrsetError::CnameBesideData { .. })
        ));
        assert_eq!(
            check_add(&near("@", vec![]), RrType::CNAME, "x."),
            Err(RrsetError::CnameAtApex)
        );
        assert!(check_add(&near("www", vec![]), RrType::CNAME, "x.example.net.").is_ok());
    }

    #[test]
    fn dname_rules() {
        let mut n = near("old", vec![]);
        n.has_descendants = true;
        assert!(matches!(
            check_add(&n, RrType::DNAME, "new.example."),
            Err(RrsetError::DnameAboveData { .. })
        ));
        let mut n = near("x.old", vec![]);
        n.dname_above = Some("old".into());
        assert!(matches!(
            check_add(&n, RrType::A, "192.0.2.1"),
            Err(RrsetError::BelowDname { .. })
        ));
        let d = Sibling {
            rtype: RrType::DNAME,
            content: "a.example.".into(),
        };
        assert!(matches!(
            check_add(&near("old", vec![d]), RrType::DNAME, "b.example."),
            Err(RrsetError::TwoDnames { .. })
        ));
        assert_eq!(
            check_add(&near("@", vec![]), RrType::DNAME, "b.example."),
            Err(RrsetError::DnameAtApex)
        );
        // DNAME beside other data at its own name is fine (only below is shadowed).
        assert!(check_add(&near("old", vec![a()]), RrType::DNAME, "new.example.").is_ok());
    }

    #[test]
    fn duplicates_and_apex_ns() {
        assert!(matches!(
            check_add(&near("www", vec![a()]), RrType::A, "192.0.2.1"),
            Err(RrsetError::Duplicate { .. })
        ));
        assert!(check_add(&near("www", vec![a()]), RrType::A, "192.0.2.2").is_ok());
        assert_eq!(
            check_add(&near("@", vec![]), RrType::NS, "ns.example.net."),
            Err(RrsetError::ApexNs)
        );
        assert!(check_add(&near("sub", vec![]), RrType::NS, "ns.example.net.").is_ok());
    }
}
