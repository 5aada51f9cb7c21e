//! The catalog zone's state. Its members are the published domains; its serial moves in the
//! same transaction that changes that set (first publish of a domain, deletion of a published
//! one), so any snapshot of the database gives a consistent serial and member list.

use apex_zone::Name;
use apex_zone::catalog::Member;
use sqlx::{PgPool, Postgres, Transaction};

use crate::db::{serial_from_db, serial_to_db};
use crate::error::CoreError;

/// Moves the catalog serial forward (wrapping in serial arithmetic) and returns it.
pub async fn bump(tx: &mut Transaction<'_, Postgres>) -> Result<u32, CoreError> {
    let serial = sqlx::query_scalar!(
        "UPDATE catalog_state SET serial = (serial + 1) % 4294967296, updated_at = now() RETURNING serial"
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(serial_from_db(serial))
}

/// The catalog's serial and members, read from one snapshot.
pub async fn snapshot(pool: &PgPool) -> Result<(u32, Vec<Member>), CoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let serial = sqlx::query_scalar!("SELECT serial FROM catalog_state")
        .fetch_one(&mut *tx)
        .await?;
    let rows = sqlx::query!(
        "SELECT name, catalog_id FROM domains WHERE published_serial IS NOT NULL ORDER BY name"
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let members = members(rows.into_iter().map(|r| (r.name, r.catalog_id)));
    Ok((serial_from_db(serial), members))
}

/// Catalog members from stored domains: (name without the final dot, catalog id).
pub(crate) fn members(rows: impl Iterator<Item = (String, String)>) -> Vec<Member> {
    rows.filter_map(|(name, id)| {
        Name::from_ascii(format!("{name}."))
            .ok()
            .map(|zone| Member { id, zone })
    })
    .collect()
}

/// The catalog serial, and the serial the fleet was last notified of.
pub async fn serials(pool: &PgPool) -> Result<(u32, Option<u32>), CoreError> {
    let row = sqlx::query!("SELECT serial, notified_serial FROM catalog_state")
        .fetch_one(pool)
        .await?;
    Ok((
        serial_from_db(row.serial),
        row.notified_serial.map(serial_from_db),
    ))
}

/// Records that the fleet was notified of `serial`, unless the catalog has moved on since
/// (then the newer serial still awaits its announcement).
pub async fn mark_notified(pool: &PgPool, serial: u32) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE catalog_state SET notified_serial = $1 WHERE serial = $1",
        serial_to_db(serial)
    )
    .execute(pool)
    .await?;
    Ok(())
}
