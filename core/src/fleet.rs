//! Change receipts: which fleet nameservers serve which published version.
//!
//! Publishing a version records one row per fleet nameserver, waiting. The worker's sync
//! watcher asks each nameserver for the zone's SOA until it serves that serial or a newer one
//! and marks the row seen; when every row of a version is seen, the changes that version
//! carried are `in_sync`. The rows live as long as their zone version is kept.

use apex_zone::serial::serial_gt;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};

use crate::actor::{Actor, Permission};
use crate::db::{serial_from_db, serial_to_db};
use crate::ids::DomainId;
use crate::{Core, CoreError, authz};

/// One nameserver's progress on the version that carries a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NameserverSync {
    /// The nameserver's configured name (`APEX_NOTIFY`), never its address.
    pub nameserver: String,
    /// The serial it was seen serving (this version's or newer); none while waiting.
    pub serial: Option<u32>,
    /// When it was first seen serving it; none while waiting.
    pub seen_at: Option<DateTime<Utc>>,
}

/// How far behind one fleet nameserver is: the published versions it has not been seen
/// serving yet (none: in sync).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameserverLag {
    /// The nameserver's configured name (`APEX_NOTIFY`).
    pub nameserver: String,
    /// Zone versions it has not been seen serving yet.
    pub versions_waiting: i64,
    /// Domains those versions belong to.
    pub domains_waiting: i64,
    /// When the oldest of them was published; none when nothing waits.
    pub waiting_since: Option<DateTime<Utc>>,
    /// When it was last seen catching up with a version.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// Each fleet nameserver the kept receipts name, with how far behind it is, most behind
/// first. The platform's configuration does not list the fleet (the worker's `APEX_NOTIFY`
/// does), so a nameserver shows once a version has been published to it; one with nothing
/// waiting is in sync. For holders of `manage_domains`, who see the publishing jobs too.
pub async fn status(core: &Core, actor: &Actor) -> Result<Vec<NameserverLag>, CoreError> {
    authz::platform(actor, Permission::ManageDomains)?;
    let rows = sqlx::query!(
        r#"SELECT nameserver,
                  count(*) FILTER (WHERE seen_at IS NULL) AS "versions_waiting!",
                  count(DISTINCT domain_id) FILTER (WHERE seen_at IS NULL) AS "domains_waiting!",
                  min(created_at) FILTER (WHERE seen_at IS NULL) AS waiting_since,
                  max(seen_at) AS last_seen_at
             FROM fleet_sync
            GROUP BY nameserver
            ORDER BY 2 DESC, 4 NULLS LAST, nameserver"#
    )
    .fetch_all(&core.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NameserverLag {
            nameserver: r.nameserver,
            versions_waiting: r.versions_waiting,
            domains_waiting: r.domains_waiting,
            waiting_since: r.waiting_since,
            last_seen_at: r.last_seen_at,
        })
        .collect())
}

/// A version still waiting for a nameserver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The version's serial.
    pub serial: u32,
    /// The nameserver.
    pub nameserver: String,
}

fn at_least(a: u32, b: u32) -> bool {
    a == b || serial_gt(a, b)
}

/// Records, in the publishing transaction, that `nameservers` are to serve `serial`, and
/// forgets the receipts of versions no longer kept.
pub async fn expect(
    tx: &mut Transaction<'_, Postgres>,
    domain: DomainId,
    serial: u32,
    nameservers: &[String],
) -> Result<(), CoreError> {
    sqlx::query!(
        "INSERT INTO fleet_sync (domain_id, serial, nameserver)
         SELECT $1, $2, ns FROM unnest($3::text[]) AS ns
         ON CONFLICT DO NOTHING",
        domain.0,
        serial_to_db(serial),
        nameservers,
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "DELETE FROM fleet_sync WHERE domain_id = $1
            AND serial NOT IN (SELECT serial FROM zone_versions WHERE domain_id = $1)",
        domain.0,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The versions of `domain` some nameserver has not been seen serving yet.
pub async fn waiting(pool: &PgPool, domain: DomainId) -> Result<Vec<Waiting>, CoreError> {
    let rows = sqlx::query!(
        "SELECT serial, nameserver FROM fleet_sync
          WHERE domain_id = $1 AND seen_at IS NULL ORDER BY created_at",
        domain.0
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Waiting {
            serial: serial_from_db(r.serial),
            nameserver: r.nameserver,
        })
        .collect())
}

/// Domains with versions still waiting that were published less than `within` ago (the
/// reconciler restarts their watchers after a worker restart).
pub async fn domains_waiting(
    pool: &PgPool,
    within: std::time::Duration,
) -> Result<Vec<DomainId>, CoreError> {
    let secs = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
    let rows = sqlx::query_scalar!(
        r#"SELECT DISTINCT domain_id AS "id: DomainId" FROM fleet_sync
            WHERE seen_at IS NULL AND created_at > now() - make_interval(secs => $1)"#,
        secs as f64,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Records, in the caller's transaction, that `nameserver` serves `domain` at `observed`.
/// Returns the serials of the versions that thereby reached the whole fleet; the changes
/// they carried are marked `in_sync` in the same transaction (the caller queues the
/// `zone.in_sync` webhooks in it too, so the marking and the events go together).
pub async fn seen(
    tx: &mut Transaction<'_, Postgres>,
    domain: DomainId,
    nameserver: &str,
    observed: u32,
) -> Result<Vec<u32>, CoreError> {
    // One marking at a time per zone (watchers of several workers may mark different
    // nameservers of one version at once, and each must see the other's rows to tell when
    // the version is complete). An advisory lock, not the domain row: publishes hold that.
    lock_receipts(tx, domain).await?;
    let rows = sqlx::query!(
        "SELECT serial FROM fleet_sync
          WHERE domain_id = $1 AND nameserver = $2 AND seen_at IS NULL
          FOR UPDATE",
        domain.0,
        nameserver,
    )
    .fetch_all(&mut **tx)
    .await?;
    let reached: Vec<i64> = rows
        .into_iter()
        .map(|r| r.serial)
        .filter(|s| at_least(observed, serial_from_db(*s)))
        .collect();
    if reached.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query!(
        "UPDATE fleet_sync SET seen_at = now(), observed_serial = $4
          WHERE domain_id = $1 AND nameserver = $2 AND serial = ANY($3)",
        domain.0,
        nameserver,
        &reached,
        serial_to_db(observed),
    )
    .execute(&mut **tx)
    .await?;
    let complete = sqlx::query_scalar!(
        "SELECT s FROM unnest($2::bigint[]) AS s
          WHERE NOT EXISTS (SELECT 1 FROM fleet_sync
                             WHERE domain_id = $1 AND serial = s AND seen_at IS NULL)",
        domain.0,
        &reached,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut done = Vec::new();
    for serial in complete.into_iter().flatten() {
        // The changes this version carried: those published by the transaction that stored
        // it (both stamped with that transaction's now()) or before.
        sqlx::query!(
            "UPDATE changes SET in_sync_at = now()
              WHERE domain_id = $1 AND in_sync_at IS NULL AND published_at <=
                    (SELECT max(created_at) FROM zone_versions WHERE domain_id = $1 AND serial = $2)",
            domain.0,
            serial,
        )
        .execute(&mut **tx)
        .await?;
        done.push(serial_from_db(serial));
    }
    Ok(done)
}

/// Takes the zone's receipt lock (held to the end of `tx`). Marking receipts takes it before
/// it locks `fleet_sync` and `changes` rows; deleting the domain takes it before anything
/// else, since the delete cascades to those same rows: in the other order the two deadlock.
pub async fn lock_receipts(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: DomainId,
) -> Result<(), CoreError> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(5155, ($1::bigint % 2147483647)::int)",
        domain.0
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Each nameserver's progress on the version that carried a change at `serial`: the oldest
/// kept version at or after it. Empty when that version's receipts are no longer kept, or
/// the platform has no fleet to wait for.
pub async fn for_change(
    pool: &PgPool,
    domain: DomainId,
    serial: u32,
) -> Result<Vec<NameserverSync>, CoreError> {
    let rows = sqlx::query!(
        "SELECT serial, nameserver, observed_serial, seen_at FROM fleet_sync
          WHERE domain_id = $1 ORDER BY nameserver",
        domain.0
    )
    .fetch_all(pool)
    .await?;
    let version = rows
        .iter()
        .map(|r| serial_from_db(r.serial))
        .filter(|v| at_least(*v, serial))
        .min_by_key(|v| v.wrapping_sub(serial));
    let Some(version) = version else {
        return Ok(Vec::new());
    };
    Ok(rows
        .into_iter()
        .filter(|r| serial_from_db(r.serial) == version)
        .map(|r| NameserverSync {
            nameserver: r.nameserver,
            serial: r.observed_serial.map(serial_from_db),
            seen_at: r.seen_at,
        })
        .collect())
}
