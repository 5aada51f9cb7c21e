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
/// records put in, the last SOA first. Records are compared in canonical form, so versions
/// encoded by either encoder match.
pub fn apply_diffs(base: &[u8], steps: &[Vec<u8>]) -> Result<Vec<u8>, CoreError> {
    use apex_zone::rdata::RrType;
    use apex_zone::zonefile::ZoneRecord;
    use std::collections::HashSet;
    let bad = |e: String| CoreError::Internal(format!("stored zone version: {e}"));
    let canonical = |data: &[u8]| -> Result<Vec<ZoneRecord>, CoreError> {
        apex_zone::wire::decode(data)
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(|r| ZoneRecord::from_record(r).map_err(|e| bad(e.to_string())))
            .collect()
    };
    let key = |r: &ZoneRecord| (r.name.clone(), r.rtype, r.ttl, r.rdata.clone());
    let mut records = canonical(base)?;
    for step in steps {
        let (removed, added) = split_diff(step).ok_or_else(|| bad("malformed diff".into()))?;
        let gone: HashSet<_> = canonical(removed)?.iter().map(key).collect();
        records.retain(|r| !gone.contains(&key(r)));
        records.extend(canonical(added)?);
    }
    if let Some(at) = records.iter().position(|r| r.rtype == RrType::SOA) {
        let soa = records.remove(at);
        records.insert(0, soa);
    }
    apex_zone::wire::encode_raw(&records).map_err(|e| bad(e.to_string()))
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
    let rows = sqlx::query!(
        "SELECT serial, prev_serial, diff FROM zone_versions WHERE domain_id = $1 ORDER BY id",
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
    let mut steps = Vec::new();
    for r in rows.into_iter().skip(start) {
        if r.prev_serial != Some(serial_to_db(serial)) {
            return Ok(None);
        }
        let Some(diff) = r.diff else {
            return Ok(None);
        };
        steps.push(diff);
        serial = serial_from_db(r.serial);
        if serial == to {
            return Ok(Some(steps));
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
