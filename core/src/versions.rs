//! Stored zone versions: what the transfer server hands to the fleet.

use apex_zone::name::ZoneName;
use sqlx::PgPool;

use crate::CoreError;
use crate::db::{serial_from_db, serial_to_db};
use crate::ids::DomainId;
use crate::settings::SoaTimers;

/// The newest published version of a zone.
#[derive(Debug, Clone)]
pub struct Version {
    /// Its domain.
    pub domain_id: DomainId,
    /// Its serial.
    pub serial: u32,
    /// The records in apex_zone::wire form.
    pub data: Vec<u8>,
}

/// The serial of the newest published version of `zone`, if any, with the domain's SOA timers.
pub async fn published_serial(
    pool: &PgPool,
    zone: &ZoneName,
) -> Result<Option<(DomainId, u32, SoaTimers)>, CoreError> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: DomainId", published_serial, soa_refresh, soa_retry, soa_expire, soa_minimum, soa_ttl
             FROM domains WHERE name = $1"#,
        zone.as_text()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|r| {
        let timers = SoaTimers::from_db(
            r.soa_refresh,
            r.soa_retry,
            r.soa_expire,
            r.soa_minimum,
            r.soa_ttl,
        );
        r.published_serial
            .map(|s| (r.id, serial_from_db(s), timers))
    }))
}

/// Loads the stored version of `domain` at `serial`: its data, or the nearest earlier
/// snapshot with the diffs after it applied (versions published incrementally store only their
/// diff).
pub async fn load(
    pool: &PgPool,
    domain: DomainId,
    serial: u32,
) -> Result<Option<Version>, CoreError> {
    let Some(target) = sqlx::query!(
        "SELECT id, data FROM zone_versions WHERE domain_id = $1 AND serial = $2 ORDER BY id DESC LIMIT 1",
        domain.0,
        serial_to_db(serial),
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    if let Some(data) = target.data {
        return Ok(Some(Version {
            domain_id: domain,
            serial,
            data,
        }));
    }
    let Some(base) = sqlx::query!(
        r#"SELECT id, data AS "data!" FROM zone_versions
            WHERE domain_id = $1 AND id < $2 AND data IS NOT NULL ORDER BY id DESC LIMIT 1"#,
        domain.0,
        target.id,
    )
    .fetch_optional(pool)
    .await?
    else {
        return Err(CoreError::Internal(format!(
            "zone version {serial} of domain {domain} has no snapshot before it"
        )));
    };
    let steps = sqlx::query_scalar!(
        r#"SELECT diff AS "diff!" FROM zone_versions
            WHERE domain_id = $1 AND id > $2 AND id <= $3 AND diff IS NOT NULL ORDER BY id"#,
        domain.0,
        base.id,
        target.id,
    )
    .fetch_all(pool)
    .await?;
    let data = tokio::task::spawn_blocking(move || apply_diffs(&base.data, &steps))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))??;
    Ok(Some(Version {
        domain_id: domain,
        serial,
        data,
    }))
}

/// A version's records after `steps`: each step's removed records taken out, its added
/// records put in, the last SOA first. Works on the records' canonical wire bytes (data in
/// the older hickory form is converted first), without decoding them: the steps are folded
/// into one set of removed and one list of added records, then the base is walked once.
pub fn apply_diffs(base: &[u8], steps: &[Vec<u8>]) -> Result<Vec<u8>, CoreError> {
    use std::borrow::Cow;
    use std::collections::{HashMap, HashSet};
    let bad =
        |e: apex_zone::wire::WireError| CoreError::Internal(format!("stored zone version: {e}"));
    // Canonical forms are borrowed where the data already is one (every blob Apex writes now).
    let base_c = apex_zone::wire::to_canonical(base).map_err(bad)?;
    // (removed, added) of each step.
    type Step<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);
    let mut parts: Vec<Step<'_>> = Vec::with_capacity(steps.len());
    for step in steps {
        let (removed, added) = split_diff(step)
            .ok_or_else(|| CoreError::Internal("stored zone version: malformed diff".into()))?;
        parts.push((
            apex_zone::wire::to_canonical(removed).map_err(bad)?,
            apex_zone::wire::to_canonical(added).map_err(bad)?,
        ));
    }
    let raw = apex_zone::wire::raw_records;
    let mut gone: HashSet<&[u8]> = HashSet::new();
    let mut added: Vec<Option<&[u8]>> = Vec::new();
    let mut added_at: HashMap<&[u8], usize> = HashMap::new();
    for (removed, new) in &parts {
        for r in raw(removed).map_err(bad)? {
            match added_at.remove(r) {
                Some(i) => added[i] = None,
                None => {
                    gone.insert(r);
                }
            }
        }
        for r in raw(new).map_err(bad)? {
            // A record of the base taken out and put back: it stays where it was.
            if !gone.remove(r) && !added_at.contains_key(r) {
                added_at.insert(r, added.len());
                added.push(Some(r));
            }
        }
    }
    let base_records = raw(&base_c).map_err(bad)?;
    let mut out: Vec<&[u8]> = Vec::with_capacity(base_records.len() + added.len());
    let soa = u16::from(apex_zone::RecordType::SOA);
    let mut soa_record = None;
    let kept = base_records
        .into_iter()
        .filter(|r| gone.is_empty() || !gone.contains(r));
    for r in kept.chain(added.into_iter().flatten()) {
        if apex_zone::wire::raw_type(r) == Some(soa) {
            soa_record = Some(r);
        } else {
            out.push(r);
        }
    }
    if let Some(soa) = soa_record {
        out.insert(0, soa);
    }
    apex_zone::wire::encode_slices(&out).map_err(bad)
}

/// The IXFR step from the version `old` to `new` (both compact forms, SOA first): the records
/// only in `old` after its SOA, and those only in `new` after its SOA (RFC 1995 section 4),
/// as one diff blob in canonical form. Compares the records' canonical wire bytes.
pub fn diff(old: &[u8], new: &[u8]) -> Result<Vec<u8>, CoreError> {
    use std::collections::HashSet;
    let bad = |e: String| CoreError::Internal(format!("zone version: {e}"));
    let old_c = apex_zone::wire::to_canonical(old).map_err(|e| bad(e.to_string()))?;
    let new_c = apex_zone::wire::to_canonical(new).map_err(|e| bad(e.to_string()))?;
    let old_r = apex_zone::wire::raw_records(&old_c).map_err(|e| bad(e.to_string()))?;
    let new_r = apex_zone::wire::raw_records(&new_c).map_err(|e| bad(e.to_string()))?;
    let (Some((old_soa, old_rest)), Some((new_soa, new_rest))) =
        (old_r.split_first(), new_r.split_first())
    else {
        return Ok(join_diff(
            &apex_zone::wire::encode_slices(&[]).map_err(|e| bad(e.to_string()))?,
            &apex_zone::wire::encode_slices(&[]).map_err(|e| bad(e.to_string()))?,
        ));
    };
    let old_set: HashSet<&[u8]> = old_rest.iter().copied().collect();
    let new_set: HashSet<&[u8]> = new_rest.iter().copied().collect();
    let mut removed = vec![*old_soa];
    removed.extend(old_rest.iter().filter(|r| !new_set.contains(*r)));
    let mut added = vec![*new_soa];
    added.extend(new_rest.iter().filter(|r| !old_set.contains(*r)));
    Ok(join_diff(
        &apex_zone::wire::encode_slices(&removed).map_err(|e| bad(e.to_string()))?,
        &apex_zone::wire::encode_slices(&added).map_err(|e| bad(e.to_string()))?,
    ))
}

/// The SOA of the version of `domain` at `serial`, read from its diff when it has one (no
/// need to build the whole version for it).
pub async fn soa(
    pool: &PgPool,
    domain: DomainId,
    serial: u32,
) -> Result<Option<apex_zone::Record>, CoreError> {
    let row = sqlx::query!(
        "SELECT diff FROM zone_versions WHERE domain_id = $1 AND serial = $2 ORDER BY id DESC LIMIT 1",
        domain.0,
        serial_to_db(serial),
    )
    .fetch_optional(pool)
    .await?;
    let from_diff = row
        .and_then(|r| r.diff)
        .and_then(|d| split_diff(&d).and_then(|(_, added)| apex_zone::wire::decode(added).ok()))
        .and_then(|a| a.into_iter().next());
    if from_diff.is_some() {
        return Ok(from_diff);
    }
    Ok(load(pool, domain, serial)
        .await?
        .and_then(|v| apex_zone::wire::decode(&v.data).ok())
        .and_then(|r| r.into_iter().next()))
}

/// Versions published since the newest snapshot of `domain` (0 when the newest has data).
pub async fn since_snapshot(pool: &PgPool, domain: DomainId) -> Result<i64, CoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM zone_versions
            WHERE domain_id = $1 AND id > COALESCE(
                (SELECT max(id) FROM zone_versions WHERE domain_id = $1 AND data IS NOT NULL), 0)"#,
        domain.0,
    )
    .fetch_one(pool)
    .await?)
}

/// Writes the data of the version of `domain` at `serial` (built from the snapshot before it
/// and the diffs), so later loads start there. Idempotent.
pub async fn fill_snapshot(pool: &PgPool, domain: DomainId, serial: u32) -> Result<(), CoreError> {
    let Some(version) = load(pool, domain, serial).await? else {
        return Ok(());
    };
    sqlx::query!(
        "UPDATE zone_versions SET data = $3 WHERE domain_id = $1 AND serial = $2 AND data IS NULL",
        domain.0,
        serial_to_db(serial),
        version.data,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Drops the versions of `domain` beyond the newest `keep`, except those the kept ones are
/// built from (back to the newest snapshot at or before the oldest kept version).
pub async fn prune(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: DomainId,
    keep: u32,
) -> Result<(), CoreError> {
    sqlx::query!(
        "WITH kept AS (SELECT id FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT $2),
              base AS (SELECT max(id) AS id FROM zone_versions
                        WHERE domain_id = $1 AND data IS NOT NULL
                          AND id <= (SELECT min(id) FROM kept))
         DELETE FROM zone_versions
          WHERE domain_id = $1 AND id < COALESCE((SELECT id FROM base), 0)",
        domain.0,
        i64::from(keep),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored steps from the version at serial `from` to the version at `to`, oldest first,
/// each a diff blob as `publish` stores it; `None` when the kept versions do not link `from`
/// to `to` (too old, or stored before diffs were kept): the caller then sends the whole zone.
pub async fn diffs_between(
    pool: &PgPool,
    domain: DomainId,
    from: u32,
    to: u32,
) -> Result<Option<Vec<Vec<u8>>>, CoreError> {
    // The chain first, without the diffs (a renewal's diff is the size of the zone): only the
    // steps wanted are read.
    let rows = sqlx::query!(
        r#"SELECT id, serial, prev_serial, diff IS NOT NULL AS "has_diff!" FROM zone_versions
            WHERE domain_id = $1 ORDER BY id"#,
        domain.0
    )
    .fetch_all(pool)
    .await?;
    let Some(start) = rows
        .iter()
        .position(|r| r.prev_serial == Some(serial_to_db(from)))
    else {
        return Ok(None);
    };
    let mut serial = from;
    let mut ids = Vec::new();
    for r in &rows[start..] {
        if r.prev_serial != Some(serial_to_db(serial)) || !r.has_diff {
            return Ok(None);
        }
        ids.push(r.id);
        serial = serial_from_db(r.serial);
        if serial == to {
            // Read by id: a publish pruning in between makes rows go missing, which is seen
            // (the client then gets the whole zone), never a chain with a gap.
            let steps = sqlx::query_scalar!(
                r#"SELECT diff AS "diff!" FROM zone_versions
                    WHERE id = ANY($1) AND diff IS NOT NULL ORDER BY id"#,
                &ids,
            )
            .fetch_all(pool)
            .await?;
            return Ok((steps.len() == ids.len()).then_some(steps));
        }
    }
    Ok(None)
}

/// Splits a diff blob into (removed, added), each in apex_zone::wire form.
pub fn split_diff(blob: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let removed = blob.get(4..4 + len)?;
    Some((removed, &blob[4 + len..]))
}

/// Joins (removed, added) into a diff blob.
pub fn join_diff(removed: &[u8], added: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(4 + removed.len() + added.len());
    blob.extend_from_slice(
        &u32::try_from(removed.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    blob.extend_from_slice(removed);
    blob.extend_from_slice(added);
    blob
}

#[cfg(test)]
mod tests {
    use super::*;
    use apex_zone::{Name, RData, Record};
    use std::collections::BTreeSet;

    fn version(serial: u32, hosts: &BTreeSet<u8>) -> Vec<Record> {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let soa = hickory_proto::rr::rdata::SOA::new(
            n("ns1.apex.test."),
            n("hostmaster.apex.test."),
            serial,
            3600,
            600,
            1_209_600,
            300,
        );
        let mut out = vec![Record::from_rdata(n("example.com."), 300, RData::SOA(soa))];
        for h in hosts {
            out.push(Record::from_rdata(
                n(&format!("h{h}.example.com.")),
                300,
                RData::A(hickory_proto::rr::rdata::A::new(192, 0, 2, *h)),
            ));
            // A name in record data, which hickory's encoder compresses and the canonical
            // form lowercases.
            out.push(Record::from_rdata(
                n("example.com."),
                300,
                RData::MX(hickory_proto::rr::rdata::MX::new(
                    u16::from(*h),
                    n(&format!("Mail{h}.Example.com.")),
                )),
            ));
        }
        out
    }

    /// The SOA and the other records, sorted: duplicates show.
    fn records(data: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
        let c = apex_zone::wire::to_canonical(data).unwrap();
        let raw = apex_zone::wire::raw_records(&c).unwrap();
        let mut rest: Vec<Vec<u8>> = raw[1..].iter().map(|r| r.to_vec()).collect();
        rest.sort();
        (raw[0].to_vec(), rest)
    }

    /// `step` with `extra` both removed and added again (as a step that touched a record and
    /// left it as it was).
    fn touch(step: &[u8], extra: &[u8]) -> Vec<u8> {
        let (removed, added) = split_diff(step).unwrap();
        let mut removed = apex_zone::wire::raw_records(removed).unwrap();
        let mut added = apex_zone::wire::raw_records(added).unwrap();
        removed.push(extra);
        added.push(extra);
        join_diff(
            &apex_zone::wire::encode_slices(&removed).unwrap(),
            &apex_zone::wire::encode_slices(&added).unwrap(),
        )
    }

    /// Versions built from a base and the diffs after it equal the versions themselves, in
    /// either stored form, over random sequences of edits (a record out and back in, the same
    /// record in and out again, and so on).
    #[test]
    fn diffs_rebuild_every_version() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20 {
            let mut hosts: BTreeSet<u8> = (0..10).collect();
            let mut blobs: Vec<Vec<u8>> = Vec::new();
            let encode = |records: &[Record], hickory: bool| {
                if hickory {
                    apex_zone::wire::encode(records).unwrap()
                } else {
                    apex_zone::wire::to_canonical(&apex_zone::wire::encode(records).unwrap())
                        .unwrap()
                        .into_owned()
                }
            };
            blobs.push(encode(&version(1, &hosts), round % 2 == 0));
            let mut steps = Vec::new();
            for serial in 2..30u32 {
                for _ in 0..(next() % 4) {
                    let h = (next() % 16) as u8;
                    if !hosts.remove(&h) {
                        hosts.insert(h);
                    }
                }
                let blob = encode(&version(serial, &hosts), next() % 3 == 0);
                let mut step = diff(blobs.last().unwrap(), &blob).unwrap();
                // Now and then a record in both versions is taken out and put back.
                if next() % 2 == 0 {
                    let c = apex_zone::wire::to_canonical(&blob).unwrap().into_owned();
                    let raw = apex_zone::wire::raw_records(&c).unwrap();
                    if raw.len() > 1 {
                        let pick = raw[1 + (next() as usize) % (raw.len() - 1)].to_vec();
                        let old = records(blobs.last().unwrap()).1;
                        if old.contains(&pick) {
                            step = touch(&step, &pick);
                        }
                    }
                }
                steps.push(step);
                blobs.push(blob);
                let rebuilt = apply_diffs(&blobs[0], &steps).unwrap();
                assert!(apex_zone::wire::is_canonical(&rebuilt));
                assert_eq!(
                    records(&rebuilt),
                    records(blobs.last().unwrap()),
                    "round {round}, serial {serial}"
                );
                // The SOA leads.
                let soa = apex_zone::wire::decode(&rebuilt).unwrap();
                assert!(matches!(&soa[0].data, RData::SOA(s) if s.serial == serial));
            }
        }
    }
}

/// A kept version of a zone, as the API lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VersionView {
    /// Its serial.
    pub serial: u32,
    /// The serial of the version it followed (none for a zone's first).
    pub previous_serial: Option<u32>,
    /// Records in it, SOA and signatures included.
    pub record_count: i32,
    /// When the worker published it.
    pub published_at: chrono::DateTime<chrono::Utc>,
}

/// The kept versions of `zone`, newest first (`APEX_KEEP_VERSIONS` of them, and those they
/// are built from).
pub async fn list(
    pool: &PgPool,
    actor: &crate::actor::Actor,
    zone: &str,
) -> Result<Vec<VersionView>, CoreError> {
    let domain = crate::domain::load(pool, actor, zone, crate::authz::Action::Read).await?;
    Ok(sqlx::query!(
        "SELECT serial, prev_serial, record_count, created_at FROM zone_versions
          WHERE domain_id = $1 ORDER BY id DESC",
        domain.id.0,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| VersionView {
        serial: serial_from_db(r.serial),
        previous_serial: r.prev_serial.map(serial_from_db),
        record_count: r.record_count,
        published_at: r.created_at,
    })
    .collect())
}

/// The version of `zone` at `serial` as a zone file (canonical BIND form): exactly what the
/// nameservers served at that serial, signatures included when the zone was signed.
pub async fn export(
    pool: &PgPool,
    actor: &crate::actor::Actor,
    zone: &str,
    serial: u32,
) -> Result<String, CoreError> {
    let domain = crate::domain::load(pool, actor, zone, crate::authz::Action::Read).await?;
    let version = load(pool, domain.id, serial)
        .await?
        .ok_or_else(|| CoreError::NotFound {
            what: "version",
            name: format!(
                "{serial} of {} (GET /api/v1/domains/{}/versions lists those kept)",
                domain.zone, domain.zone
            ),
        })?;
    let bad = |e: String| CoreError::Internal(format!("stored zone version {serial}: {e}"));
    let mut records = apex_zone::wire::decode(&version.data)
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(apex_zone::record::ZoneRecord::from_record)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let soa = match records.first() {
        Some(r) if r.rtype == apex_zone::rdata::RrType::SOA => Some(records.remove(0)),
        _ => None,
    };
    let origin = apex_zone::dname::DName::from_name(domain.zone.name());
    apex_zone::zonefile::write(&origin, soa.as_ref(), &mut records).map_err(|e| bad(e.to_string()))
}
