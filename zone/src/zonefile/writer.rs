//! Writing a zone in canonical BIND form: `$ORIGIN`, the SOA first, then records grouped by
//! owner in DNSSEC canonical order (owner names relative to the origin, written once per
//! group), names in data absolute, comments after their record. Loadable as it is by
//! `named-checkzone` and `kzonecheck`.

use std::fmt::Write;

use crate::dname::DName;
use crate::rdata::{self, WireError, type_name};

use crate::record::{ZoneRecord, sort_canonical};

/// Writes `soa` and `records` as the zone `origin`, putting the records in canonical order.
/// Large zones are formatted on every CPU, in runs that start at a new owner.
pub fn write(
    origin: &DName,
    soa: Option<&ZoneRecord>,
    records: &mut [ZoneRecord],
) -> Result<String, WireError> {
    sort_canonical(records);
    let mut out = String::with_capacity(64 + records.len() * 48);
    let _ = writeln!(out, "$ORIGIN {origin}");
    if let Some(soa) = soa {
        format_run(origin, std::slice::from_ref(soa), None, &mut out)?;
    }
    let after_soa = soa.map(|r| &r.name);
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if records.len() < 50_000 || threads < 2 {
        format_run(origin, records, after_soa, &mut out)?;
        return Ok(out);
    }
    // Cut into runs at owner boundaries, one per thread.
    let mut bounds = vec![0];
    for t in 1..threads {
        let mut at = records.len() * t / threads;
        while at < records.len() && at > 0 && records[at].name == records[at - 1].name {
            at += 1;
        }
        if at > *bounds.last().unwrap_or(&0) && at < records.len() {
            bounds.push(at);
        }
    }
    bounds.push(records.len());
    let parts: Vec<Result<String, WireError>> = std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let run = &records[w[0]..w[1]];
                let before = if w[0] == 0 {
                    after_soa
                } else {
                    Some(&records[w[0] - 1].name)
                };
                s.spawn(move || {
                    let mut part = String::with_capacity(run.len() * 64);
                    format_run(origin, run, before, &mut part).map(|()| part)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(WireError("a writer thread panicked".into())))
            })
            .collect()
    });
    for part in parts {
        out.push_str(&part?);
    }
    Ok(out)
}

/// Formats `records` (one owner's records together) onto `out`, each owner written once
/// (not at all if it is `before`, the owner of the line above).
fn format_run<'a>(
    origin: &DName,
    records: &'a [ZoneRecord],
    before: Option<&'a DName>,
    out: &mut String,
) -> Result<(), WireError> {
    let mut last_owner: Option<&DName> = before;
    for r in records {
        if last_owner != Some(&r.name) {
            out.push_str(&r.name.relative_to(origin));
        }
        last_owner = Some(&r.name);
        let _ = write!(
            out,
            "\t{}\tIN\t{}\t{}",
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
    Ok(())
}
