//! From a zone file to the records a domain on the platform gets: what the platform manages
//! (the SOA, the apex NS set) is left out with a warning, TTLs are held to the platform's
//! bounds, and every rule of [`crate::validate`] applies. Cloudflare exports import as they
//! are: their nameserver placeholders are apex NS records, and their TTL 1 ("automatic")
//! becomes 300 seconds, Cloudflare's own automatic value.

use crate::dname::DName;
use crate::rdata::{RrType, type_name, user_may_create};
use crate::record::ZoneRecord;
use crate::ttl::TtlBounds;
use crate::validate::Warning;
use crate::validate::{Problem, check_zone};
use crate::zonefile::ParsedZone;

/// TTL that Cloudflare's "automatic" (written as 1 in its exports) stands for.
pub const CLOUDFLARE_AUTO_TTL: u32 = 300;

/// The records to store, in canonical order, and what was said about them.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Records for the domain.
    pub records: Vec<ZoneRecord>,
    /// Remarks: dropped records, adjusted TTLs, suspicious targets.
    pub warnings: Vec<Warning>,
}

/// Prepares a parsed file for the domain `apex`.
pub fn prepare(apex: &DName, parsed: ParsedZone, ttl: TtlBounds) -> Result<Prepared, Vec<Problem>> {
    let mut warnings = parsed.warnings;
    let mut errors = Vec::new();
    if let Some(soa) = &parsed.soa {
        warnings.push(Warning {
            line: soa.line,
            message: "the SOA record is left out: the platform writes it (serial and timers are domain settings)".into(),
        });
    }
    let mut records = Vec::with_capacity(parsed.records.len());
    let (mut apex_ns, mut auto_ttl) = (Vec::new(), 0usize);
    let mut apex_dnssec: Vec<u32> = Vec::new();
    for mut r in parsed.records {
        if r.rtype == RrType::NS && r.name == *apex {
            apex_ns.push(r.line);
            continue;
        }
        // The signer's apex records are the platform's (a DNSKEY there is already dropped by
        // the reader, unless it keeps DNSSEC records).
        if matches!(r.rtype, RrType::DNSKEY | RrType::CDS | RrType::CDNSKEY) && r.name == *apex {
            apex_dnssec.push(r.line);
            continue;
        }
        if !user_may_create(r.rtype) {
            errors.push(Problem {
                line: r.line,
                message: format!("{} records cannot be imported", type_name(r.rtype)),
            });
            continue;
        }
        if r.ttl == 1 && ttl.min > 1 {
            r.ttl = CLOUDFLARE_AUTO_TTL.clamp(ttl.min, ttl.max);
            auto_ttl += 1;
        } else if r.ttl < ttl.min || r.ttl > ttl.max {
            errors.push(Problem {
                line: r.line,
                message: format!(
                    "TTL {} is outside the allowed range {}..={} seconds",
                    r.ttl, ttl.min, ttl.max
                ),
            });
            continue;
        }
        records.push(r);
    }
    if let Some(first) = apex_ns.first() {
        warnings.push(Warning {
            line: *first,
            message: format!(
                "{} NS record(s) at the apex left out: the platform's nameservers serve the zone",
                apex_ns.len()
            ),
        });
    }
    if let Some(first) = apex_dnssec.first() {
        warnings.push(Warning {
            line: *first,
            message: format!(
                "{} DNSKEY, CDS or CDNSKEY record(s) at the apex left out: the platform publishes them when it signs the zone",
                apex_dnssec.len()
            ),
        });
    }
    if auto_ttl > 0 {
        warnings.push(Warning {
            line: 0,
            message: format!("{auto_ttl} record(s) with TTL 1 (\"automatic\" in Cloudflare exports) get {} seconds", CLOUDFLARE_AUTO_TTL.clamp(ttl.min, ttl.max)),
        });
    }
    let (problems, more) = check_zone(apex, &mut records);
    errors.extend(problems);
    warnings.extend(more);
    if errors.is_empty() {
        Ok(Prepared { records, warnings })
    } else {
        errors.sort_by_key(|p| p.line);
        Err(errors)
    }
}
