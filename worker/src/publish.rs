//! Publishing one zone: the zone's life as an explicit state machine.
//!
//! ```text
//!   committed ──render──▶ rendered ──store──▶ published ──NOTIFY──▶ announced
//!   (wanted_serial >      (records +          (zone_versions row,    (notified_serial =
//!    published_serial)     SOA + NS)           published_serial =     published_serial;
//!                                              wanted_serial)         the fleet transfers)
//! ```
//!
//! Every read and write is apex-core's (`apex_core::publishing`); this module only decides and
//! orchestrates: from the zone kept in memory or from every record, sign, store, announce.
//! Render and store happen in one transaction holding the domain's row lock, the same lock API
//! writes take, so a version always contains exactly the changes committed before it, and
//! running the job twice (two workers, a retry after a crash) publishes once: the second run
//! finds `published_serial = wanted_serial` and stops. A crash between storing and announcing
//! leaves `notified_serial` behind, and the reconciler announces again.

use std::sync::Arc;

use apex_core::dnssec::State;
use apex_core::ids::DomainId;
use apex_core::publishing::{self, NewVersion, Opened, Publish, RrsetNow, Touched};
use apex_core::secondaries::Secondary;
use apex_core::{account_catalogs, catalog};
use apex_zone::dname::DName;
use apex_zone::live::{Delta, LiveError, LiveZone};
use apex_zone::name::ZoneName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use apex_zone::sign::{SigningKey, sign_zone};
use apex_zone::{Name, render, wire};

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
    /// Core: the database, or a stored record that no longer parses (records are validated on
    /// the way in, so that is a bug or a hand edit; the zone stays unpublished, and visibly
    /// `pending`, rather than silently losing the record).
    #[error(transparent)]
    Core(#[from] apex_core::CoreError),
    /// Encoding the version.
    #[error("encoding: {0}")]
    Encode(#[from] wire::WireError),
    /// Signing the zone.
    #[error("signing: {0}")]
    Sign(String),
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

/// A version made, ready to store, with the zone to keep in memory.
struct Made {
    version: NewVersion,
    live: Live,
    incremental: bool,
}

/// The zone to keep in memory: at hand, or still being indexed.
enum Live {
    Ready(Box<LiveZone>),
    Building(tokio::task::JoinHandle<Option<LiveZone>>),
}

impl Live {
    async fn get(self) -> Option<LiveZone> {
        match self {
            Live::Ready(live) => Some(*live),
            Live::Building(task) => task.await.ok().flatten(),
        }
    }
}

/// Publishes `domain` at its wanted serial, if it is behind.
pub async fn publish_zone(ctx: &Context, domain: DomainId) -> Result<Outcome, PublishError> {
    let started = std::time::Instant::now();
    let mut publish = match publishing::open(&ctx.core, domain).await? {
        Opened::Gone => return Ok(Outcome::Gone),
        Opened::UpToDate => return Ok(Outcome::UpToDate),
        Opened::Behind(p) => *p,
    };

    // committed → rendered → signed: from the zone in memory when it is the published one,
    // else from every record.
    let made = match incremental(ctx, &mut publish).await? {
        Some(m) => m,
        None => full(ctx, &mut publish).await?,
    };

    // rendered → published
    let zone = publish.zone.clone();
    let serial = zone.wanted_serial;
    let records = made.version.records;
    let data = made.version.data.clone();
    let stored = publish
        .store(made.version, &ctx.notifier.fleet(), ctx.keep_versions)
        .await?;
    // Full transfers of this version are sent from its data, without reading it back.
    match data {
        Some(data) => ctx.versions.put(domain, serial, data),
        None => ctx.versions.forget(domain),
    }
    tracing::info!(
        zone.name = %zone.name,
        serial,
        records,
        incremental = made.incremental,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "zone published"
    );
    // published → announced. A new zone reaches the fleet through the catalog (members are
    // transferred when they join it), so only zones already listed get a NOTIFY of their own.
    // The fleet is told before the zone in memory is awaited (after a full publish it may
    // still be indexing), and that is kept whether or not announcing succeeded (the
    // reconciler announces again).
    let announce = async {
        match stored.catalog_serial {
            Some(cs) => {
                announce_catalog(ctx, cs).await?;
                account_catalogs_if_behind(ctx, None).await?;
            }
            None => {
                // The fleet's SOA queries, all at once after the NOTIFY, are answered from
                // the version just stored, not each with a query of Postgres.
                match render::soa_record(&zone.name, serial, &zone.soa).to_record() {
                    Ok(soa) => ctx.soa_cache.fresh(zone.name.name(), soa),
                    Err(_) => ctx.soa_cache.forget(zone.name.name()),
                }
                ctx.notifier.announce(zone.name.name(), serial);
            }
        }
        announced(ctx, domain, &zone.name, serial, &zone.secondaries).await
    }
    .await;
    if let Some(live) = made.live.get().await {
        ctx.cache
            .put(domain, Cached::new(serial, zone.fingerprint.clone(), live));
    }
    if made.incremental {
        snapshot_if_due(ctx, domain);
    }
    announce?;

    // Its aliases serve its records: they follow at once (an alias has no aliases itself).
    if zone.alias_of.is_none() {
        for alias in apex_core::domain::aliases_of(&ctx.core.pool, domain).await? {
            if let Err(e) = Box::pin(publish_zone(ctx, alias)).await {
                tracing::warn!(zone.id = %alias, error = %e, "publishing an alias failed; the reconciler retries");
            }
        }
    }
    Ok(Outcome::Published { serial, records })
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
            let mut seen = publishing::published_serial(&pool, domain).await?;
            loop {
                let piled = apex_core::versions::since_snapshot(&pool, domain).await?;
                if piled < SNAPSHOT_EVERY {
                    return Ok(());
                }
                if piled >= SNAPSHOT_LIMIT {
                    break;
                }
                tokio::time::sleep(SNAPSHOT_IDLE).await;
                let now = publishing::published_serial(&pool, domain).await?;
                if now == seen {
                    break;
                }
                seen = now;
            }
            if let Some(serial) = publishing::published_serial(&pool, domain).await? {
                let started = std::time::Instant::now();
                apex_core::versions::fill_snapshot(&pool, domain, serial).await?;
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

/// The change since the published version, applied to the zone in memory: only the RRsets
/// the unpublished changes touched are read again (whole), and only they, the SOA and the
/// denial records around them are signed. `None` when the zone in memory is not the published
/// one, or the changes are not plain record edits or would move the zone's structure: the
/// caller publishes in full.
async fn incremental(ctx: &Context, publish: &mut Publish) -> Result<Option<Made>, PublishError> {
    // Taken out of the cache whatever happens: a failed publish must leave no stale entry.
    let Some(mut cached) = ctx.cache.take(publish.zone.id) else {
        return Ok(None);
    };
    let zone = &publish.zone;
    if zone.published_serial != Some(cached.serial)
        || cached.fingerprint != zone.fingerprint
        || zone.renewal_due
    {
        return Ok(None);
    }
    let Touched::Rrsets(keys) = publish.touched().await? else {
        return Ok(None);
    };
    let Some(now) = publish.rrsets(&keys).await? else {
        return Ok(None);
    };
    let zone = &publish.zone;
    let soa = render::soa_record(&zone.name, zone.wanted_serial, &zone.soa);
    let Some((removed, added)) = replacement(&cached.live, &zone.origin(), now, soa) else {
        return Ok(None);
    };
    let delta: Delta = match cached
        .live
        .apply(removed, added, &zone.sign_params(&ctx.core))
    {
        Ok(delta) => delta,
        Err(LiveError::NeedsFullSign(why)) => {
            tracing::debug!(zone.name = %zone.name, why, "publishing in full");
            return Ok(None);
        }
        Err(e) => return Err(PublishError::Sign(e.to_string())),
    };
    let diff = apex_core::versions::join_diff(
        &wire::encode_raw(&delta.removed)?,
        &wire::encode_raw(&delta.added)?,
    );
    Ok(Some(Made {
        version: NewVersion {
            data: None,
            prev_serial: zone.published_serial,
            diff: Some(diff),
            records: cached.live.len(),
        },
        live: Live::Ready(Box::new(cached.live)),
        incremental: true,
    }))
}

/// What replaces what in the zone in memory: each touched RRset's old records out, its
/// records now in (with one TTL, the lowest, as render makes RRsets), and the SOA swapped for
/// `soa`. `None` when the zone in memory has no SOA.
fn replacement(
    live: &LiveZone,
    origin: &DName,
    now: Vec<RrsetNow>,
    soa: ZoneRecord,
) -> Option<(Vec<ZoneRecord>, Vec<ZoneRecord>)> {
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for mut set in now {
        if let Some(old) = live.rrset(&set.owner, set.rtype) {
            removed.extend(old.iter().cloned());
        }
        let ttl = set.records.iter().map(|r| r.ttl).min().unwrap_or_default();
        for r in &mut set.records {
            r.ttl = ttl;
        }
        added.extend(set.records);
    }
    let old_soa = live.rrset(origin, RrType::SOA)?.first()?.clone();
    removed.push(old_soa);
    added.push(soa);
    Some((removed, added))
}

/// Renders (and signs) the whole zone from every record, with its diff from the version
/// before.
async fn full(ctx: &Context, publish: &mut Publish) -> Result<Made, PublishError> {
    let mut stages = apex_core::stages::Stages::new();
    let records = publish.records().await?;
    stages.lap("read");
    let zone = publish.zone.clone();
    let origin = zone.origin();
    let rendered = render::render(
        &zone.name,
        zone.wanted_serial,
        &zone.soa,
        &zone.apex_ns,
        records,
    );
    stages.lap("render");

    // The zone in memory is indexed on a thread of its own while the version is compared with
    // the one before and stored.
    let (data, count, live) = if zone.dnssec == State::Off {
        let data = Arc::new(wire::encode_raw(&rendered)?);
        let count = rendered.len();
        let live = tokio::task::spawn_blocking(move || Some(LiveZone::unsigned(origin, rendered)));
        (data, count, live)
    } else {
        let keys = publish.signing_keys(&ctx.core).await?;
        let params = zone.sign_params(&ctx.core);
        let denial = params.denial.clone();
        let (signed, keys) = sign(&origin, rendered, keys, params).await?;
        stages.lap("sign");
        let data = Arc::new(wire::encode_raw(&signed)?);
        stages.lap("encode");
        let count = signed.len();
        publish.mark_signed().await?;
        let name = zone.name.clone();
        let live = tokio::task::spawn_blocking(move || {
            LiveZone::signed(origin, signed, keys, denial)
                .map_err(|e| {
                    tracing::warn!(zone.name = %name, error = %e, "signed zone not kept in memory");
                })
                .ok()
        });
        (data, count, live)
    };

    // The difference from the version before, for IXFR; not kept when it is larger than
    // the version itself (a zone filled by an import, say): the secondaries are then sent the
    // whole zone, which is less to send and to apply (BIND's `max-ixfr-ratio`, at 100%).
    let prev_serial = publish.previous_serial().await?;
    let diff = match prev_serial {
        Some(p) => {
            let before = apex_core::versions::load(&ctx.core.pool, zone.id, p)
                .await
                .ok()
                .flatten();
            let now = data.clone();
            let diff = tokio::task::spawn_blocking(move || {
                before.and_then(|v| apex_core::versions::diff(&v.data, &now).ok())
            })
            .await
            .ok()
            .flatten();
            if diff.is_none() {
                tracing::warn!(zone.name = %zone.name, "previous version unreadable; no IXFR from it");
            }
            diff.filter(|d| d.len() < data.len())
        }
        None => None,
    };
    stages.lap("diff");
    tracing::debug!(zone.name = %zone.name, %stages, "zone rendered in full");
    Ok(Made {
        version: NewVersion {
            data: Some(data),
            prev_serial,
            diff,
            records: count,
        },
        live: Live::Building(live),
        incremental: false,
    })
}

/// Signs the rendered zone off the async threads: full signing, every signature fresh. The
/// SOA comes first in the result, as versions keep it. The keys come back with it.
async fn sign(
    origin: &DName,
    records: Vec<ZoneRecord>,
    keys: Vec<SigningKey>,
    params: apex_zone::sign::SignParams,
) -> Result<(Vec<ZoneRecord>, Vec<SigningKey>), PublishError> {
    if keys.is_empty() {
        return Err(PublishError::Sign(
            "the zone is to be signed but has no keys".into(),
        ));
    }
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

/// After the fleet was told about `serial`: NOTIFY the domain's own secondaries, record the
/// announcement, and watch the fleet until it serves the version.
async fn announced(
    ctx: &Context,
    domain: DomainId,
    zone: &ZoneName,
    serial: u32,
    secondaries: &[Secondary],
) -> Result<(), PublishError> {
    notify_secondaries(ctx, zone, serial, secondaries);
    notify_catalog_secondaries(ctx, zone, serial).await?;
    publishing::mark_notified(&ctx.core.pool, domain, serial).await?;
    ctx.sync
        .watch(&ctx.core.pool, &ctx.notifier, domain, zone.name().clone());
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
    ctx.soa_cache.forget(zone.name());
    ctx.notifier.announce(zone.name(), serial);
    let secondaries = apex_core::domain::secondaries_of(&ctx.core.pool, &zone)
        .await?
        .unwrap_or_default();
    announced(ctx, domain, &zone, serial, &secondaries).await?;
    tracing::info!(zone.name = %zone, serial, "zone announced again");
    Ok(())
}

/// Sends NOTIFY to the domain's own secondaries (unsigned: they do not hold the fleet key),
/// skipping addresses the platform no longer allows.
fn notify_secondaries(ctx: &Context, zone: &ZoneName, serial: u32, list: &[Secondary]) {
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
        ctx.soa_cache.forget(zone.name());
        ctx.notifier
            .announce_outside(zone.name(), serial, targets, None);
    }
}

/// Sends NOTIFY for a member zone to the secondaries of its owner's catalog, signed with the
/// catalog's key (they follow the catalog, and are told of each member's change too).
async fn notify_catalog_secondaries(
    ctx: &Context,
    zone: &ZoneName,
    serial: u32,
) -> Result<(), PublishError> {
    let core = &ctx.core;
    if let Some((targets, key)) =
        account_catalogs::member_targets(&core.pool, &core.platform, &zone.as_text()).await?
    {
        let key = tsig_key(&key)?;
        ctx.notifier
            .announce_outside(zone.name(), serial, targets, Some(key));
    }
    Ok(())
}

fn tsig_key(key: &account_catalogs::CatalogKey) -> Result<apex_net::TsigKey, PublishError> {
    apex_net::TsigKey::parse(&key.config_text()).map_err(|e| {
        PublishError::Core(apex_core::CoreError::Internal(format!("catalog key: {e}")))
    })
}

/// Announces customer catalogs (all, or `user`'s) that moved since their secondaries were
/// last told, signed with each catalog's key.
pub async fn account_catalogs_if_behind(
    ctx: &Context,
    user: Option<apex_core::ids::UserId>,
) -> Result<(), PublishError> {
    let core = &ctx.core;
    for due in account_catalogs::due(&core.pool, &core.platform, user).await? {
        ctx.soa_cache.forget(&due.zone);
        if !due.secondaries.is_empty() {
            ctx.notifier.announce_outside(
                &due.zone,
                due.serial,
                due.secondaries.clone(),
                Some(tsig_key(&due.key)?),
            );
        }
        account_catalogs::mark_notified(&core.pool, due.key.user, due.serial).await?;
        tracing::info!(zone.name = %due.zone, serial = due.serial, "customer catalog announced");
    }
    Ok(())
}

/// Announces the catalog at `serial` and records that it was.
pub async fn announce_catalog(ctx: &Context, serial: u32) -> Result<(), PublishError> {
    ctx.soa_cache.forget(&ctx.core.platform.catalog);
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
    account_catalogs_if_behind(ctx, None).await
}
