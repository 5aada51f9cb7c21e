//! Writing a zone in canonical BIND form: `$ORIGIN`, the SOA first, then records grouped by
//! owner in DNSSEC canonical order (owner names relative to the origin, written once per
//! group), names in data absolute, comments after their record. Loadable as it is by
//! `named-checkzone` and `kzonecheck`.

use std::fmt::Write;

use crate::dname::DName;
use crate::rdata::{self, WireError, type_name};

use super::ZoneRecord;

/// Writes `soa` and `records` as the zone `origin`, putting the records in canonical order.
pub fn write(
    origin: &DName,
    soa: Option<&ZoneRecord>,
    records: &mut [ZoneRecord],
) -> Result<String, WireError> {
    crate::validate::sort_canonical(records);
    let sorted = records.iter();
    let mut out = String::with_capacity(64 + records.len() * 48);
    let _ = writeln!(out, "$ORIGIN {origin}");
    let mut last_owner: Option<&DName> = None;
    for r in soa.into_iter().chain(sorted) {
        let owner = if last_owner == Some(&r.name) {
            String::new()
        } else {
            r.name.relative_to(origin)
        };
        last_owner = Some(&r.name);
        let _ = write!(
            out,
            "{owner}\t{}\tIN\t{}\t{}",
            r.ttl,
            type_name(r.rtype),
            rdata::format(r.rtype, &r.rdata)?
        );
        if let Some(c) = &r.comment {
            out.push_str(" ; ");
            out.extend(
                c.chars()
                    .map(|ch| if ch == '\n' || ch == '\r' { ' ' } else { ch }),
            );
        }
        out.push('\n');
    }
    Ok(out)
}
