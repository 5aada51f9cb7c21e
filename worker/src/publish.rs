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
use apex_zone::live::LiveZone;
use apex_zone::name::ZoneName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use apex_zone::sign::{Denial, SignParams, SigningKey, sign_zone};
use apex_zone::{Name, Record, content, render, wire};

use crate::Context;
use crate::cache::Cached;

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

/// Versions published incrementally after which the worker writes a snapshot (the version's
/// whole data) once the zone is idle, so that building a version for AXFR starts from a recent
/// one.
pub const SNAPSHOT_EVERY: i64 = 64;

/// How long a zone must go without a publish before its snapshot is written. Writing one
/// rebuilds and stores the whole version (for a large signed zone, hundreds of milliseconds
/// of CPU and tens of MB through Postgres's WAL), which slows publishes running meanwhile:
/// during a burst of changes it waits.
pub const SNAPSHOT_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Versions after which the snapshot is written even if the zone is never idle, to bound the
/// diffs a version is built from (and the versions kept for that).
pub const SNAPSHOT_LIMIT: i64 = 512;

/// Records the worker keeps in memory over all zones, for incremental publishing.
pub const CACHE_RECORDS: usize = 20_000_000;

/// The domain row as publishing reads it.
struct Row {
    name: String,
    wanted_serial: i64,
    published_serial: Option<i64>,
    soa: SoaTimers,
    state: apex_core::dnssec::State,
    nsec3: bool,
    fingerprint: String,
    /// The last full signing is older than the refresh time: sign everything again.
    renewal_due: bool,
    /// The domain's own secondaries: in the apex NS set, sent NOTIFY.
    secondaries: Vec<apex_core::secondaries::Secondary>,
}

/// What a publish stores: the version's data (none for an incremental version, which is its
/// diff applied to the one before), its diff from the version before, its size, and the zone
/// to keep in memory.
struct Made {
    data: Option<Vec<u8>>,
    prev_serial: Option<i64>,
    diff: Option<Vec<u8>>,
    records: usize,
    live: Option<LiveZone>,
    incremental: bool,
}

/// Publishes `domain` at its wanted serial, if it is behind.
pub async fn publish_zone(ctx: &Context, domain: DomainId) -> Result<Outcome, PublishError> {
    let started = std::time::Instant::now();
    let mut tx = ctx.core.pool.begin().await?;
    let Some(r) = sqlx::query!(
        "SELECT name, wanted_serial, published_serial, soa_refresh, soa_retry, soa_expire, soa_minimum, soa_ttl,
                dnssec_state, dnssec_denial, dnssec_algorithm, dnssec_split_keys, secondaries,
                dnssec_signed_at < now() - make_interval(secs => $2::double precision) AS \"renewal_due: bool\"
           FROM domains WHERE id = $1 FOR UPDATE",
        domain.0,
        f64::from(ctx.core.platform.dnssec.refresh),
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Outcome::Gone);
    };
    if r.published_serial == Some(r.wanted_serial) {
        return Ok(Outcome::UpToDate);
    }
    let row = Row {
        fingerprint: format!(
            "{}/{}/{}/{}",
            r.dnssec_state, r.dnssec_denial, r.dnssec_algorithm, r.dnssec_split_keys
        ),
        name: r.name,
        wanted_serial: r.wanted_serial,
        published_serial: r.published_serial,
        soa: SoaTimers::from_db(
            r.soa_refresh,
            r.soa_retry,
            r.soa_expire,
            r.soa_minimum,
            r.soa_ttl,
        ),
        state: apex_core::dnssec::State::from_db(&r.dnssec_state),
        nsec3: r.dnssec_denial == "nsec3",
        renewal_due: r.renewal_due.unwrap_or(false),
        secondaries: apex_core::secondaries::from_db(r.secondaries),
    };
    let serial = serial_from_db(row.wanted_serial);
    let zone = zone_name(&row.name)?;

    // committed → rendered → signed: from the zone in memory when it is the published one,
    // else from every record.
    let mut made = None;
    if let Some(mut cached) = ctx.cache.take(domain)
        && row.published_serial == Some(serial_to_db(cached.serial))
        && cached.fingerprint == row.fingerprint
        && !row.renewal_due
        && let Some(delta) =
            incremental(ctx, &mut tx, domain, &zone, serial, &row, &mut cached.live).await?
    {
        let diff = apex_core::versions::join_diff(
            &wire::encode_raw(&delta.removed)?,
            &wire::encode_raw(&delta.added)?,
        );
        made = Some(Made {
            data: None,
            prev_serial: row.published_serial,
            diff: Some(diff),
            records: cached.live.len(),
            live: Some(cached.live),
            incremental: true,
        });
    }
    let made = match made {
        Some(m) => m,
        None => full(ctx, &mut tx, domain, &zone, serial, &row).await?,
    };

    // rendered → published
    sqlx::query!(
        "INSERT INTO zone_versions (domain_id, serial, record_count, data, prev_serial, diff)
         VALUES ($1, $2, $3, $4, $5, $6)",
        domain.0,
        serial_to_db(serial),
        i32::try_from(made.records).unwrap_or(i32::MAX),
        made.data,
        made.prev_serial,
        made.diff,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE domains SET published_serial = wanted_serial, published_at = now(),
                publish_attempts = 0, publish_error = NULL, publish_next_attempt_at = NULL
          WHERE id = $1",
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
    apex_core::versions::prune(&mut tx, domain, ctx.keep_versions).await?;
    apex_core::fleet::expect(&mut tx, domain, serial, &ctx.notifier.fleet()).await?;
    let first_publish = row.published_serial.is_none();
    let catalog_serial = if first_publish {
        Some(catalog::bump(&mut tx).await?)
    } else {
        None
    };
    tx.commit().await?;
    tracing::info!(
        zone.name = %zone,
        serial,
        records = made.records,
        incremental = made.incremental,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "zone published"
    );
    if let Some(live) = made.live {
        ctx.cache
            .put(domain, Cached::new(serial, row.fingerprint.clone(), live));
    }
    if made.incremental {
        snapshot_if_due(ctx, domain);
    }

    // published → announced. A new zone reaches the fleet through the catalog (members are
    // transferred when they join it), so only zones already listed get a NOTIFY of their own.
    match catalog_serial {
        Some(cs) => announce_catalog(ctx, cs).await?,
        None => ctx.notifier.announce(zone.name(), serial),
    }
    notify_secondaries(ctx, &zone, serial, &row.secondaries);
    mark_notified(ctx, domain, serial).await?;
    ctx.sync
        .watch(&ctx.core.pool, &ctx.notifier, domain, zone.name().clone());
    Ok(Outcome::Published {
        serial,
        records: made.records,
    })
}

/// Writes a snapshot of the zone in the background once [`SNAPSHOT_EVERY`] incremental
/// versions piled up and the zone has had no publish for [`SNAPSHOT_IDLE`] (at once past
/// [`SNAPSHOT_LIMIT`]); one at a time per zone. The snapshot is of the newest version then.
fn snapshot_if_due(ctx: &Context, domain: DomainId) {
    let busy = ctx.snapshots.clone();
    if !busy.lock().is_ok_and(|mut b| b.insert(domain)) {
        return;
    }
    let pool = ctx.core.pool.clone();
    tokio::spawn(async move {
        let result = async {
            let newest = || async {
                sqlx::query_scalar!("SELECT published_serial FROM domains WHERE id = $1", domain.0)
                    .fetch_optional(&pool)
                    .await
                    .map(Option::flatten)
            };
            let mut seen = newest().await?;
            loop {
                let piled = apex_core::versions::since_snapshot(&pool, domain).await?;
                if piled < SNAPSHOT_EVERY {
                    return Ok(());
                }
                if piled >= SNAPSHOT_LIMIT {
                    break;
                }
                tokio::time::sleep(SNAPSHOT_IDLE).await;
                let now = newest().await?;
                if now == seen {
                    break;
                }
                seen = now;
            }
            if let Some(serial) = newest().await? {
                let started = std::time::Instant::now();
                apex_core::versions::fill_snapshot(&pool, domain, serial_from_db(serial)).await?;
                tracing::debug!(domain.id = %domain, serial, ms = started.elapsed().as_secs_f64() * 1000.0, "zone snapshot written");
            }
            Ok::<_, apex_core::CoreError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(domain.id = %domain, error = %e, "zone snapshot failed; versions stay diffs");
        }
        if let Ok(mut b) = busy.lock() {
            b.remove(&domain);
        }
    });
}

/// Parses a stored record.
fn parse_row(
    origin: &DName,
    id: i64,
    name: &str,
    rtype: &str,
    ttl: i32,
    text: &str,
) -> Result<Record, PublishError> {
    let bad = |reason: String| PublishError::BadRecord {
        id,
        name: name.to_string(),
        rtype: rtype.to_string(),
        reason,
    };
    let owner = DName::parse(name.as_bytes(), None)
        .map_err(|e| bad(e.to_string()))?
        .to_name();
    let t = RrType::parse(rtype.as_bytes()).ok_or_else(|| bad("unknown type".into()))?;
    let data = content::parse(t, text, Some(origin)).map_err(|e| bad(e.to_string()))?;
    let rdata = content::to_rdata(t, &data).map_err(|e| bad(e.to_string()))?;
    let ttl = u32::try_from(ttl).map_err(|_| bad("negative TTL".into()))?;
    Ok(Record::from_rdata(owner, ttl, rdata))
}

/// The change since the published version, applied to the zone in memory: only the RRsets
/// the unpublished changes touched are read again (whole, from the records table), and only
/// they, the SOA and the denial records around them are signed. `None` when the changes are
/// not plain record edits or would move the zone's structure: the caller publishes in full.
async fn incremental(
    ctx: &Context,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: DomainId,
    zone: &ZoneName,
    serial: u32,
    row: &Row,
    live: &mut LiveZone,
) -> Result<Option<apex_zone::live::Delta>, PublishError> {
    use std::collections::{BTreeMap, BTreeSet};
    let changes = sqlx::query!(
        "SELECT action, before, after FROM changes
          WHERE domain_id = $1 AND published_at IS NULL ORDER BY id",
        domain.0
    )
    .fetch_all(&mut **tx)
    .await?;
    if changes.is_empty() {
        // A new serial with no record change: a DNSSEC renewal, say. Sign everything.
        return Ok(None);
    }
    let apex_text = format!("{}.", zone.as_text());
    let mut touched: BTreeSet<(String, String)> = BTreeSet::new();
    for c in &changes {
        if !matches!(
            c.action.as_str(),
            "record.create" | "record.update" | "record.delete"
        ) {
            return Ok(None);
        }
        for side in [&c.before, &c.after].into_iter().flatten() {
            let Some(items) = side.as_array() else {
                return Ok(None);
            };
            for item in items {
                let (Some(fqdn), Some(t)) = (item["fqdn"].as_str(), item["type"].as_str()) else {
                    return Ok(None);
                };
                // The apex NS set is merged with the platform's: render it in full.
                if fqdn == apex_text && matches!(t, "NS" | "SOA") {
                    return Ok(None);
                }
                touched.insert((fqdn.to_string(), t.to_string()));
            }
        }
    }
    let (names, types): (Vec<String>, Vec<String>) = touched.iter().cloned().unzip();
    let rows = sqlx::query!(
        r#"SELECT id, name, type AS rtype, ttl, content FROM records
            WHERE domain_id = $1 AND (name, type) IN (SELECT * FROM unnest($2::text[], $3::text[]))"#,
        domain.0,
        &names,
        &types,
    )
    .fetch_all(&mut **tx)
    .await?;
    let origin = DName::from_name(zone.name());
    // The RRsets as render makes them: one TTL each, the lowest.
    let mut sets: BTreeMap<(String, String), Vec<ZoneRecord>> = BTreeMap::new();
    for r in rows {
        let rec = parse_row(&origin, r.id, &r.name, &r.rtype, r.ttl, &r.content)?;
        let zr = ZoneRecord::from_record(&rec).map_err(|e| PublishError::Sign(e.to_string()))?;
        sets.entry((r.name, r.rtype)).or_default().push(zr);
    }
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for (fqdn, t) in &touched {
        let (Ok(owner), Some(rtype)) = (
            DName::parse(fqdn.as_bytes(), None),
            RrType::parse(t.as_bytes()),
        ) else {
            return Ok(None);
        };
        if let Some(old) = live.rrset(&owner, rtype) {
            removed.extend(old.iter().cloned());
        }
        if let Some(mut set) = sets.remove(&(fqdn.clone(), t.clone())) {
            let ttl = set.iter().map(|r| r.ttl).min().unwrap_or_default();
            for r in &mut set {
                r.ttl = ttl;
            }
            added.extend(set);
        }
    }
    let Some(old_soa) = live
        .rrset(&origin, RrType::SOA)
        .and_then(|s| s.first())
        .cloned()
    else {
        return Ok(None);
    };
    removed.push(old_soa);
    added.push(render::soa_record(
        zone,
        serial,
        &row.soa.apply(&ctx.core.platform.soa),
    ));
    let params = sign_params(
        ctx,
        domain,
        row.nsec3,
        row.state == apex_core::dnssec::State::Disabling,
    );
    match live.apply(removed, added, &params) {
        Ok(delta) => Ok(Some(delta)),
        Err(apex_zone::live::LiveError::NeedsFullSign(why)) => {
            tracing::debug!(zone.name = %zone, why, "publishing in full");
            Ok(None)
        }
        Err(e) => Err(PublishError::Sign(e.to_string())),
    }
}

/// Renders (and signs) the whole zone from every record, with its diff from the version
/// before.
async fn full(
    ctx: &Context,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: DomainId,
    zone: &ZoneName,
    serial: u32,
    row: &Row,
) -> Result<Made, PublishError> {
    let rows = sqlx::query!(
        "SELECT id, name, type AS rtype, ttl, content FROM records WHERE domain_id = $1",
        domain.0
    )
    .fetch_all(&mut **tx)
    .await?;
    let origin = DName::from_name(zone.name());
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        let rec = parse_row(&origin, r.id, &r.name, &r.rtype, r.ttl, &r.content)?;
        records.push(ZoneRecord::from_record(&rec).map_err(|e| PublishError::Sign(e.to_string()))?);
    }
    let platform = &ctx.core.platform;
    let soa = row.soa.apply(&platform.soa);
    let apex_ns = apex_core::secondaries::apex_ns(platform, &row.secondaries);
    let rendered = render::render(zone, serial, &soa, &apex_ns, records);

    let (data, records, live) = if row.state == apex_core::dnssec::State::Off {
        let count = rendered.len();
        let data = wire::encode_raw(&rendered)?;
        let live = LiveZone::unsigned(origin.clone(), rendered);
        (data, count, Some(live))
    } else {
        let keys = apex_core::dnssec::signing_keys(&mut **tx, domain, platform.master_key.as_ref())
            .await?;
        let (signed, keys) = sign(
            ctx,
            domain,
            &origin,
            rendered,
            keys,
            row.nsec3,
            row.state == apex_core::dnssec::State::Disabling,
        )
        .await?;
        let data = wire::encode_raw(&signed).map_err(PublishError::Encode)?;
        let count = signed.len();
        sqlx::query!(
            "UPDATE domains SET dnssec_signed_at = now() WHERE id = $1",
            domain.0
        )
        .execute(&mut **tx)
        .await?;
        let denial = sign_params(ctx, domain, row.nsec3, false).denial;
        let live = LiveZone::signed(origin.clone(), signed, keys, denial)
            .map_err(|e| {
                tracing::warn!(zone.name = %zone, error = %e, "signed zone not kept in memory");
            })
            .ok();
        (data, count, live)
    };

    // The difference from the version before, for IXFR.
    let previous = sqlx::query_scalar!(
        "SELECT serial FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT 1",
        domain.0
    )
    .fetch_optional(&mut **tx)
    .await?;
    let (prev_serial, diff) = match previous {
        Some(p) => {
            let old = apex_core::versions::load(&ctx.core.pool, domain, serial_from_db(p))
                .await
                .ok()
                .flatten()
                .and_then(|v| apex_core::versions::diff(&v.data, &data).ok());
            match old {
                Some(diff) => (Some(p), Some(diff)),
                None => {
                    tracing::warn!(zone.name = %zone, "previous version unreadable; no IXFR from it");
                    (Some(p), None)
                }
            }
        }
        None => (None, None),
    };
    Ok(Made {
        records,
        data: Some(data),
        prev_serial,
        diff,
        live,
        incremental: false,
    })
}

/// Signature validity for a publish now: inception back-dated an hour for resolvers whose
/// clocks run behind, expiry spread by up to a tenth of the validity per zone so that a fleet
/// of zones does not come due at once.
fn sign_params(ctx: &Context, domain: DomainId, nsec3: bool, disabling: bool) -> SignParams {
    let times = ctx.core.platform.dnssec;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let spread = (times.validity / 10).max(1);
    let jitter = u32::try_from(domain.0.unsigned_abs() % u64::from(spread)).unwrap_or(0);
    SignParams {
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
    }
}

/// Signs the rendered zone off the async threads: full signing, every signature fresh. The
/// SOA comes first in the result, as versions keep it. The keys come back with it.
async fn sign(
    ctx: &Context,
    domain: DomainId,
    origin: &DName,
    records: Vec<ZoneRecord>,
    keys: Vec<SigningKey>,
    nsec3: bool,
    disabling: bool,
) -> Result<(Vec<ZoneRecord>, Vec<SigningKey>), PublishError> {
    if keys.is_empty() {
        return Err(PublishError::Sign(
            "the zone is to be signed but has no keys".into(),
        ));
    }
    let params = sign_params(ctx, domain, nsec3, disabling);
    let origin = origin.clone();
    let (mut signed, keys) = tokio::task::spawn_blocking(move || {
        sign_zone(&origin, records, &keys, &params).map(|s| (s, keys))
    })
    .await
    .map_err(|e| PublishError::Sign(e.to_string()))?
    .map_err(|e| PublishError::Sign(e.to_string()))?;
    if let Some(at) = signed.iter().position(|r| r.rtype == RrType::SOA) {
        let soa = signed.remove(at);
        signed.insert(0, soa);
    }
    Ok((signed, keys))
}

/// Records that the fleet was told about `serial` (unless a newer version got there first).
async fn mark_notified(ctx: &Context, domain: DomainId, serial: u32) -> Result<(), PublishError> {
    // Announced: whatever failure was recorded on the way (after the version was stored) is
    // over too.
    sqlx::query!(
        "UPDATE domains SET notified_serial = $2, publish_attempts = 0, publish_error = NULL,
                publish_next_attempt_at = NULL
          WHERE id = $1 AND published_serial = $2",
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
    let secondaries =
        sqlx::query_scalar!("SELECT secondaries FROM domains WHERE id = $1", domain.0)
            .fetch_optional(&ctx.core.pool)
            .await?
            .map(apex_core::secondaries::from_db)
            .unwrap_or_default();
    notify_secondaries(ctx, &zone, serial, &secondaries);
    mark_notified(ctx, domain, serial).await?;
    ctx.sync
        .watch(&ctx.core.pool, &ctx.notifier, domain, zone.name().clone());
    tracing::info!(zone.name = %zone, serial, "zone announced again");
    Ok(())
}

/// Sends NOTIFY to the domain's own secondaries (unsigned: they do not hold the fleet key),
/// skipping addresses the platform no longer allows.
fn notify_secondaries(
    ctx: &Context,
    zone: &ZoneName,
    serial: u32,
    list: &[apex_core::secondaries::Secondary],
) {
    let platform = &ctx.core.platform;
    let targets: Vec<std::net::SocketAddr> = apex_core::secondaries::addresses(list)
        .into_iter()
        .filter(|ip| {
            let refused = !platform.secondary_allow_private
                && apex_core::address::refused(*ip).is_some();
            if refused {
                tracing::warn!(zone.name = %zone, %ip, "secondary's address is not public; no NOTIFY");
            }
            !refused
        })
        .map(|ip| std::net::SocketAddr::new(ip, platform.secondary_notify_port))
        .collect();
    if !targets.is_empty() {
        ctx.notifier.announce_unsigned(zone.name(), serial, targets);
    }
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
