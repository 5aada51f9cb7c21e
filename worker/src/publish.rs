//! Publishing one zone: the zone's life as an explicit state machine.
//!
//! ```text
//!   committed ──render──▶ rendered ──store──▶ published ──NOTIFY──▶ announced
//!   (wanted_serial >      (records +          (zone_versions row,    (notified_serial =
//!    published_serial)     SOA + NS)           published_serial =     published_serial;
//!                                              wanted_serial)         the fleet transfers)
//! ```
//!
//! Render and store happen in one transaction holding the domain's row lock, the same lock API
//! writes take, so a version always contains exactly the changes committed before it, and
//! running the job twice (two workers, a retry after a crash) publishes once: the second run
//! finds `published_serial = wanted_serial` and stops. A crash between storing and announcing
//! leaves `notified_serial` behind, and the reconciler announces again.

use apex_core::catalog;
use apex_core::db::{serial_from_db, serial_to_db};
use apex_core::ids::DomainId;
use apex_core::settings::SoaTimers;
use apex_zone::dname::DName;
use apex_zone::name::ZoneName;
use apex_zone::rdata::RrType;
use apex_zone::{Name, Record, content, render, wire};

use crate::Context;

/// Where a zone ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new version was stored and announced.
    Published {
        /// Its serial.
        serial: u32,
        /// Records in it.
        records: usize,
    },
    /// Nothing to do: the newest version is current.
    UpToDate,
    /// The domain no longer exists.
    Gone,
}

/// Publish errors (the job is retried by the reconciler).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Database.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Core.
    #[error(transparent)]
    Core(#[from] apex_core::CoreError),
    /// Encoding the version.
    #[error("encoding: {0}")]
    Encode(#[from] wire::WireError),
    /// Signing the zone.
    #[error("signing: {0}")]
    Sign(String),
    /// A stored record that no longer parses. Records are validated on the way in, so this is
    /// a bug or a hand edit; the zone stays unpublished (and visibly `pending`) rather than
    /// silently losing the record.
    #[error("record {id} ({name} {rtype}) does not parse: {reason}")]
    BadRecord {
        /// Record id.
        id: i64,
        /// Owner.
        name: String,
        /// Type.
        rtype: String,
        /// Why.
        reason: String,
    },
}

fn zone_name(text: &str) -> Result<ZoneName, PublishError> {
    Name::from_ascii(format!("{text}."))
        .map(ZoneName::from_name)
        .map_err(|e| {
            apex_core::CoreError::Internal(format!("stored zone name {text:?}: {e}")).into()
        })
}

/// Publishes `domain` at its wanted serial, if it is behind.
pub async fn publish_zone(ctx: &Context, domain: DomainId) -> Result<Outcome, PublishError> {
    let mut tx = ctx.core.pool.begin().await?;
    let Some(row) = sqlx::query!(
        "SELECT name, wanted_serial, published_serial, soa_refresh, soa_retry, soa_expire, soa_minimum, soa_ttl,
                dnssec_state, dnssec_denial
           FROM domains WHERE id = $1 FOR UPDATE",
        domain.0
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Outcome::Gone);
    };
    if row.published_serial == Some(row.wanted_serial) {
        return Ok(Outcome::UpToDate);
    }
    let serial = serial_from_db(row.wanted_serial);
    let zone = zone_name(&row.name)?;

    // committed → rendered
    let rows = sqlx::query!(
        "SELECT id, name, type AS rtype, ttl, content FROM records WHERE domain_id = $1",
        domain.0
    )
    .fetch_all(&mut *tx)
    .await?;
    let origin = DName::from_name(zone.name());
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        let bad = |reason: String| PublishError::BadRecord {
            id: r.id,
            name: r.name.clone(),
            rtype: r.rtype.clone(),
            reason,
        };
        let owner = DName::parse(r.name.as_bytes(), None)
            .map_err(|e| bad(e.to_string()))?
            .to_name();
        let rtype = RrType::parse(r.rtype.as_bytes()).ok_or_else(|| bad("unknown type".into()))?;
        let data =
            content::parse(rtype, &r.content, Some(&origin)).map_err(|e| bad(e.to_string()))?;
        let rdata = content::to_rdata(rtype, &data).map_err(|e| bad(e.to_string()))?;
        let ttl = u32::try_from(r.ttl).map_err(|_| bad("negative TTL".into()))?;
        records.push(Record::from_rdata(owner, ttl, rdata));
    }
    let platform = &ctx.core.platform;
    let soa = SoaTimers::from_db(
        row.soa_refresh,
        row.soa_retry,
        row.soa_expire,
        row.soa_minimum,
        row.soa_ttl,
    )
    .apply(&platform.soa);
    let rendered = render::render(&zone, serial, &soa, &platform.apex_ns, records);

    // rendered → signed (when DNSSEC is on)
    let state = apex_core::dnssec::State::from_db(&row.dnssec_state);
    let (data, rendered) = if state == apex_core::dnssec::State::Off {
        (wire::encode(&rendered)?, rendered)
    } else {
        let keys =
            apex_core::dnssec::signing_keys(&mut *tx, domain, platform.master_key.as_ref()).await?;
        let signed = sign(
            ctx,
            domain,
            &origin,
            &rendered,
            keys,
            row.dnssec_denial == "nsec3",
            state == apex_core::dnssec::State::Disabling,
        )
        .await?;
        let data = wire::encode_raw(&signed).map_err(PublishError::Encode)?;
        // The version's records as typed records again, for the diff.
        (data.clone(), wire::decode(&data)?)
    };

    // The difference from the version before, for IXFR.
    let previous = sqlx::query!(
        "SELECT serial, data FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT 1",
        domain.0
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (prev_serial, diff) = match previous {
        Some(p) => match wire::decode(&p.data) {
            Ok(old) => (Some(p.serial), Some(diff(&old, &rendered)?)),
            Err(e) => {
                tracing::warn!(zone.name = %zone, error = %e, "previous version unreadable; no IXFR from it");
                (Some(p.serial), None)
            }
        },
        None => (None, None),
    };

    // rendered → published
    sqlx::query!(
        "INSERT INTO zone_versions (domain_id, serial, record_count, data, prev_serial, diff)
         VALUES ($1, $2, $3, $4, $5, $6)",
        domain.0,
        serial_to_db(serial),
        i32::try_from(rendered.len()).unwrap_or(i32::MAX),
        data,
        prev_serial,
        diff,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE domains SET published_serial = wanted_serial, published_at = now() WHERE id = $1",
        domain.0
    )
    .execute(&mut *tx)
    .await?;
    // Webhooks: `zone.published` with the changes this version includes (those not yet marked
    // published), queued in this transaction so it exists exactly when the version does.
    apex_core::webhooks::enqueue_published(
        &mut tx,
        domain,
        &zone,
        serial,
        row.published_serial.map(serial_from_db),
    )
    .await?;
    sqlx::query!(
        "UPDATE changes SET published_at = now() WHERE domain_id = $1 AND published_at IS NULL",
        domain.0
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM zone_versions WHERE domain_id = $1 AND id NOT IN
           (SELECT id FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT $2)",
        domain.0,
        i64::from(ctx.keep_versions),
    )
    .execute(&mut *tx)
    .await?;
    let first_publish = row.published_serial.is_none();
    let catalog_serial = if first_publish {
        Some(catalog::bump(&mut tx).await?)
    } else {
        None
    };
    tx.commit().await?;
    tracing::info!(zone.name = %zone, serial, records = rendered.len(), "zone published");

    // published → announced. A new zone reaches the fleet through the catalog (members are
    // transferred when they join it), so only zones already listed get a NOTIFY of their own.
    match catalog_serial {
        Some(cs) => announce_catalog(ctx, cs).await?,
        None => ctx.notifier.announce(zone.name(), serial),
    }
    mark_notified(ctx, domain, serial).await?;
    Ok(Outcome::Published {
        serial,
        records: rendered.len(),
    })
}

/// Signs the rendered zone off the async threads: full signing, every signature fresh, with
/// an expiry spread by up to a tenth of the validity per zone so that a fleet of zones does not
/// come due at once. The SOA comes first in the result, as versions keep it.
async fn sign(
    ctx: &Context,
    domain: DomainId,
    origin: &DName,
    rendered: &[Record],
    keys: Vec<apex_zone::sign::SigningKey>,
    nsec3: bool,
    disabling: bool,
) -> Result<Vec<apex_zone::zonefile::ZoneRecord>, PublishError> {
    use apex_zone::sign::{Denial, SignParams, sign_zone};
    use apex_zone::zonefile::ZoneRecord;
    if keys.is_empty() {
        return Err(PublishError::Sign(
            "the zone is to be signed but has no keys".into(),
        ));
    }
    let records: Vec<ZoneRecord> = rendered
        .iter()
        .map(ZoneRecord::from_record)
        .collect::<Result<_, _>>()
        .map_err(|e| PublishError::Sign(e.to_string()))?;
    let times = ctx.core.platform.dnssec;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let spread = (times.validity / 10).max(1);
    let jitter = u32::try_from(domain.0.unsigned_abs() % u64::from(spread)).unwrap_or(0);
    let params = SignParams {
        // Back-dated an hour for resolvers whose clocks run behind.
        inception: now.wrapping_sub(3600),
        expiration: now.wrapping_add(times.validity - jitter),
        denial: if nsec3 {
            Denial::Nsec3 {
                iterations: 0,
                salt: Vec::new(),
            }
        } else {
            Denial::Nsec
        },
        cds: !disabling,
        cds_delete: disabling,
        threads: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
    };
    let origin = origin.clone();
    let mut signed =
        tokio::task::spawn_blocking(move || sign_zone(&origin, records, &keys, &params))
            .await
            .map_err(|e| PublishError::Sign(e.to_string()))?
            .map_err(|e| PublishError::Sign(e.to_string()))?;
    if let Some(at) = signed.iter().position(|r| r.rtype == RrType::SOA) {
        let soa = signed.remove(at);
        signed.insert(0, soa);
    }
    Ok(signed)
}

/// The IXFR step from `old` to `new` (both SOA first): the records only in `old` after its
/// SOA, and those only in `new` after its SOA (RFC 1995 section 4), as one diff blob.
fn diff(old: &[Record], new: &[Record]) -> Result<Vec<u8>, PublishError> {
    use std::collections::HashSet;
    let key = |r: &Record| wire::encode(std::slice::from_ref(r));
    let (Some(old_soa), Some(new_soa)) = (old.first(), new.first()) else {
        return Ok(apex_core::versions::join_diff(&[], &[]));
    };
    let old_keys: HashSet<Vec<u8>> = old[1..].iter().map(key).collect::<Result<_, _>>()?;
    let new_keys: HashSet<Vec<u8>> = new[1..].iter().map(key).collect::<Result<_, _>>()?;
    let mut removed = vec![old_soa.clone()];
    for r in &old[1..] {
        if !new_keys.contains(&key(r)?) {
            removed.push(r.clone());
        }
    }
    let mut added = vec![new_soa.clone()];
    for r in &new[1..] {
        if !old_keys.contains(&key(r)?) {
            added.push(r.clone());
        }
    }
    Ok(apex_core::versions::join_diff(
        &wire::encode(&removed)?,
        &wire::encode(&added)?,
    ))
}

/// Records that the fleet was told about `serial` (unless a newer version got there first).
async fn mark_notified(ctx: &Context, domain: DomainId, serial: u32) -> Result<(), PublishError> {
    sqlx::query!(
        "UPDATE domains SET notified_serial = $2 WHERE id = $1 AND published_serial = $2",
        domain.0,
        serial_to_db(serial),
    )
    .execute(&ctx.core.pool)
    .await?;
    Ok(())
}

/// Announces a zone whose published version the fleet may not have been told about.
pub async fn announce_zone(
    ctx: &Context,
    domain: DomainId,
    name: &str,
    serial: u32,
) -> Result<(), PublishError> {
    let zone = zone_name(name)?;
    ctx.notifier.announce(zone.name(), serial);
    mark_notified(ctx, domain, serial).await?;
    tracing::info!(zone.name = %zone, serial, "zone announced again");
    Ok(())
}

/// Announces the catalog at `serial` and records that it was.
pub async fn announce_catalog(ctx: &Context, serial: u32) -> Result<(), PublishError> {
    ctx.notifier.announce(&ctx.core.platform.catalog, serial);
    catalog::mark_notified(&ctx.core.pool, serial).await?;
    tracing::info!(zone.name = %ctx.core.platform.catalog, serial, "catalog announced");
    Ok(())
}

/// Announces the catalog if it moved since the last announcement.
pub async fn catalog_if_behind(ctx: &Context) -> Result<(), PublishError> {
    let (serial, notified) = catalog::serials(&ctx.core.pool).await?;
    if notified != Some(serial) {
        announce_catalog(ctx, serial).await?;
    }
    Ok(())
}
