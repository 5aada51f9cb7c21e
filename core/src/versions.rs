//! Stored zone versions: what the transfer server hands to the fleet.

use apex_zone::name::ZoneName;
use sqlx::PgPool;

use crate::CoreError;
use crate::db::serial_from_db;
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
