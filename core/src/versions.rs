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

/// Loads the stored version of `domain` at `serial`.
pub async fn load(
    pool: &PgPool,
    domain: DomainId,
    serial: u32,
) -> Result<Option<Version>, CoreError> {
    let row = sqlx::query!(
        "SELECT data FROM zone_versions WHERE domain_id = $1 AND serial = $2 ORDER BY id DESC LIMIT 1",
        domain.0,
        i64::from(serial),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Version {
        domain_id: domain,
        serial,
        data: r.data,
    }))
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
