//! Publishing's reads and writes in Postgres, for the worker: every query a publish makes
//! lives here, and the worker (`apex-worker`'s `publish`) keeps only the orchestration —
//! cache, sign, store, announce.
//!
//! A publish [`open`]s the zone: the domain's row is locked (the lock API writes take) for
//! the whole publish, so a version contains exactly the changes committed before it. Under
//! that lock it reads what it needs — the RRsets the unpublished changes [`Publish::touched`]
//! (from the columns a change stores for the purpose, typed, never from the API's JSON view
//! of the records), those RRsets' records, or every record, as [`ZoneRecord`]s decoded by
//! [`crate::records::stored`] — and [`Publish::store`]s the new version, marking the domain
//! and its changes published in the same transaction. After the commit the worker announces
//! the version and records that with [`mark_notified`]; a failure anywhere is recorded by
//! [`failed`], which the reconciler's backoff reads.

use apex_zone::dname::DName;
use apex_zone::name::ZoneName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use apex_zone::render::{ApexNs, SoaParams};
use apex_zone::sign::{Denial, SignParams, SigningKey};
use sqlx::{PgPool, Postgres, Transaction};

use crate::change_action::ChangeAction;
use crate::changes::RrsetKey;
use crate::db::{serial_from_db, serial_to_db};
use crate::dnssec::State;
use crate::ids::DomainId;
use crate::secondaries::Secondary;
use crate::{Core, CoreError};

/// The domain as a publish needs it, read under its row lock.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The domain.
    pub id: DomainId,
    /// Its name.
    pub name: ZoneName,
    /// The serial to publish.
    pub wanted_serial: u32,
    /// The serial published last (none before the first publish).
    pub published_serial: Option<u32>,
    /// The SOA to serve: the domain's timers over the platform's.
    pub soa: SoaParams,
    /// The apex NS set: the platform's nameservers and the domain's own secondaries.
    pub apex_ns: ApexNs,
    /// DNSSEC state.
    pub dnssec: State,
    /// Denial of existence by NSEC3 (else NSEC).
    pub nsec3: bool,
    /// The DNSSEC settings a signed zone in memory was made with: a zone kept from an
    /// earlier publish is only reused while this is unchanged.
    pub fingerprint: String,
    /// The last full signing is older than the platform's refresh time: sign everything.
    pub renewal_due: bool,
    /// The domain's own secondaries: in the apex NS set, sent NOTIFY.
    pub secondaries: Vec<Secondary>,
    /// The domain whose records this one serves, renamed into it (an alias).
    pub alias_of: Option<crate::domain::AliasOf>,
}

impl Zone {
    /// The zone's origin.
    pub fn origin(&self) -> DName {
        DName::from_name(self.name.name())
    }

    /// Signature parameters for a publish now (see [`sign_params`]).
    pub fn sign_params(&self, core: &Core) -> SignParams {
        sign_params(
            core.platform.dnssec.validity,
            self.id,
            self.nsec3,
            self.dnssec == State::Disabling,
        )
    }
}

/// Signature validity for a publish of `domain` now: inception back-dated an hour (see
/// [`SignParams::now`]), expiry spread by up to a tenth of `validity` per zone so that a
/// fleet of zones does not come due at once; CDS/CDNSKEY published, or their delete form
/// while DNSSEC is being turned off.
pub fn sign_params(validity: u32, domain: DomainId, nsec3: bool, disabling: bool) -> SignParams {
    let spread = (validity / 10).max(1);
    let jitter = u32::try_from(domain.0.unsigned_abs() % u64::from(spread)).unwrap_or(0);
    let denial = if nsec3 {
        Denial::Nsec3 {
            iterations: 0,
            salt: Vec::new(),
        }
    } else {
        Denial::Nsec
    };
    SignParams {
        cds: !disabling,
        cds_delete: disabling,
        ..SignParams::now(validity - jitter, denial)
    }
}

/// What [`open`] found.
pub enum Opened {
    /// The domain no longer exists.
    Gone,
    /// Its newest version is published already.
    UpToDate,
    /// It is behind: publish it.
    Behind(Box<Publish>),
}

/// A publish in progress: the open transaction holding the domain's row lock.
pub struct Publish {
    tx: Transaction<'static, Postgres>,
    /// The domain.
    pub zone: Zone,
}

/// What the unpublished changes touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// These RRsets and nothing else (none of them the apex SOA or NS set).
    Rrsets(Vec<RrsetKey>),
    /// More than RRsets can say — a setting, a new domain, an import, a change written before
    /// changes kept their RRsets, or none at all (a DNSSEC renewal): render the zone in full.
    Everything(&'static str),
}

/// One touched RRset as it is now: its records, none if it is gone.
#[derive(Debug, Clone)]
pub struct RrsetNow {
    /// Owner.
    pub owner: DName,
    /// Type.
    pub rtype: RrType,
    /// Its records, as stored (TTLs not yet aligned).
    pub records: Vec<ZoneRecord>,
}

/// A version to store.
pub struct NewVersion {
    /// The version's whole data (`apex_zone::wire` form, SOA first); none for a version
    /// published incrementally, which is its diff applied to the version before. Shared: the
    /// transfer server keeps it after it is stored.
    pub data: Option<std::sync::Arc<Vec<u8>>>,
    /// The serial of the version the diff starts from.
    pub prev_serial: Option<u32>,
    /// The diff from that version (`versions::join_diff`), for IXFR.
    pub diff: Option<Vec<u8>>,
    /// Records in the version.
    pub records: usize,
}

/// What storing a version did beyond the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The zone was published for the first time, which moved the catalog to this serial:
    /// the fleet learns of the zone through the catalog.
    pub catalog_serial: Option<u32>,
}

/// Opens a publish of `domain`: locks its row and reads it.
pub async fn open(core: &Core, domain: DomainId) -> Result<Opened, CoreError> {
    let mut tx = core.pool.begin().await?;
    let Some((d, renewal_due)) =
        crate::domain::lock_for_publish(&mut tx, domain, core.platform.dnssec.refresh).await?
    else {
        return Ok(Opened::Gone);
    };
    if d.published_serial == Some(d.wanted_serial) {
        return Ok(Opened::UpToDate);
    }
    let dnssec = &d.settings.dnssec;
    let zone = Zone {
        id: domain,
        fingerprint: format!(
            "{}/{}/{:?}/{}",
            dnssec.state.as_str(),
            dnssec.nsec3,
            dnssec.algorithm,
            dnssec.split_keys
        ),
        wanted_serial: d.wanted_serial,
        published_serial: d.published_serial,
        soa: d.settings.soa.apply(&core.platform.soa),
        apex_ns: crate::secondaries::apex_ns(&core.platform, &d.secondaries),
        dnssec: dnssec.state,
        nsec3: dnssec.nsec3,
        renewal_due,
        secondaries: d.secondaries,
        alias_of: d.alias_of,
        name: d.zone,
    };
    Ok(Opened::Behind(Box::new(Publish { tx, zone })))
}

impl Publish {
    /// What the changes not yet published touched, from what each change stored for
    /// publishing: its action and its RRsets.
    pub async fn touched(&mut self) -> Result<Touched, CoreError> {
        if self.zone.alias_of.is_some() {
            // Its target moved on: its own change log does not say how.
            return Ok(Touched::Everything("an alias, following its target"));
        }
        let changes = sqlx::query!(
            r#"SELECT action AS "action: ChangeAction", rrset_names, rrset_types FROM changes
                WHERE domain_id = $1 AND published_at IS NULL ORDER BY id"#,
            self.zone.id.0
        )
        .fetch_all(&mut *self.tx)
        .await?;
        if changes.is_empty() {
            return Ok(Touched::Everything("a new serial without a change"));
        }
        let apex = format!("{}.", self.zone.name.as_text());
        let mut touched = std::collections::BTreeSet::new();
        for c in changes {
            if !c.action.is_record_edit() {
                return Ok(Touched::Everything("a change that is not a record edit"));
            }
            let (Some(names), Some(types)) = (c.rrset_names, c.rrset_types) else {
                return Ok(Touched::Everything("a change without its RRsets"));
            };
            for (owner, rtype) in names.into_iter().zip(types) {
                // The apex NS set is merged with the platform's: render it in full.
                if owner == apex && matches!(rtype.as_str(), "NS" | "SOA") {
                    return Ok(Touched::Everything("the apex NS or SOA"));
                }
                touched.insert(RrsetKey::new(owner, rtype));
            }
        }
        Ok(Touched::Rrsets(touched.into_iter().collect()))
    }

    /// The records of the RRsets `keys` as they are now, in the order given; `None` if a key
    /// does not name an RRset a zone can hold (then render the zone in full).
    pub async fn rrsets(&mut self, keys: &[RrsetKey]) -> Result<Option<Vec<RrsetNow>>, CoreError> {
        let (names, types): (Vec<String>, Vec<String>) = keys
            .iter()
            .map(|k| (k.owner.clone(), k.rtype.clone()))
            .unzip();
        let rows = sqlx::query!(
            r#"SELECT id, name, type AS rtype, ttl, content FROM records
                WHERE domain_id = $1 AND NOT disabled
                  AND (name, type) IN (SELECT * FROM unnest($2::text[], $3::text[]))"#,
            self.zone.id.0,
            &names,
            &types,
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let origin = self.zone.origin();
        let mut found: std::collections::BTreeMap<RrsetKey, Vec<ZoneRecord>> =
            std::collections::BTreeMap::new();
        for r in rows {
            let record =
                crate::records::stored(&origin, r.id, &r.name, &r.rtype, r.ttl, &r.content)?;
            found
                .entry(RrsetKey::new(r.name, r.rtype))
                .or_default()
                .push(record);
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let (Ok(owner), Some(rtype)) = (
                DName::parse(key.owner.as_bytes(), None),
                RrType::parse(key.rtype.as_bytes()),
            ) else {
                return Ok(None);
            };
            out.push(RrsetNow {
                owner,
                rtype,
                records: found.remove(key).unwrap_or_default(),
            });
        }
        Ok(Some(out))
    }

    /// Every published record of the zone, as stored (the platform's SOA and NS are not
    /// among them, nor disabled records).
    pub async fn records(&mut self) -> Result<Vec<ZoneRecord>, CoreError> {
        // An alias serves its target's records, renamed into it.
        let source = self.zone.alias_of.as_ref().map_or(self.zone.id, |a| a.id);
        let rows = sqlx::query!(
            "SELECT id, name, type AS rtype, ttl, content FROM records WHERE domain_id = $1 AND NOT disabled",
            source.0
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let origin = self.zone.origin();
        let rename = self.zone.alias_of.as_ref().map(|a| {
            (
                format!("{}.", a.name),
                format!("{}.", self.zone.name.as_text()),
            )
        });
        rows.into_iter()
            .map(|r| {
                let name = match &rename {
                    Some((from, to)) => crate::records::renamed(&r.name, from, to),
                    None => r.name,
                };
                crate::records::stored(&origin, r.id, &name, &r.rtype, r.ttl, &r.content)
            })
            .collect()
    }

    /// The zone's DNSSEC keys, opened for signing.
    pub async fn signing_keys(&mut self, core: &Core) -> Result<Vec<SigningKey>, CoreError> {
        crate::dnssec::signing_keys(
            &mut *self.tx,
            self.zone.id,
            core.platform.master_key.as_ref(),
        )
        .await
    }

    /// Records that the zone was signed in full now (renewals count from here).
    pub async fn mark_signed(&mut self) -> Result<(), CoreError> {
        sqlx::query!(
            "UPDATE domains SET dnssec_signed_at = now() WHERE id = $1",
            self.zone.id.0
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The serial of the newest stored version, the one a new full version is diffed from.
    pub async fn previous_serial(&mut self) -> Result<Option<u32>, CoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT serial FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT 1",
            self.zone.id.0
        )
        .fetch_optional(&mut *self.tx)
        .await?
        .map(serial_from_db))
    }

    /// Stores `version` at the wanted serial and marks the domain and its changes published,
    /// in one transaction with the `zone.published` webhooks, the fleet's receipts and (for a
    /// first publish) the catalog; then commits, releasing the lock. `keep` versions are kept.
    pub async fn store(
        mut self,
        version: NewVersion,
        fleet: &[String],
        keep: u32,
    ) -> Result<Stored, CoreError> {
        let zone = &self.zone;
        let tx = &mut self.tx;
        sqlx::query!(
            "INSERT INTO zone_versions (domain_id, serial, record_count, data, prev_serial, diff)
             VALUES ($1, $2, $3, $4, $5, $6)",
            zone.id.0,
            serial_to_db(zone.wanted_serial),
            i32::try_from(version.records).unwrap_or(i32::MAX),
            version.data.as_deref().map(Vec::as_slice),
            version.prev_serial.map(serial_to_db),
            version.diff,
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            "UPDATE domains SET published_serial = wanted_serial, published_at = now(),
                    publish_attempts = 0, publish_error = NULL, publish_next_attempt_at = NULL
              WHERE id = $1",
            zone.id.0
        )
        .execute(&mut **tx)
        .await?;
        // `zone.published` with the changes this version includes (those not yet marked
        // published), queued in this transaction so it exists exactly when the version does.
        crate::webhooks::enqueue_published(
            tx,
            zone.id,
            &zone.name,
            zone.wanted_serial,
            zone.published_serial,
        )
        .await?;
        sqlx::query!(
            "UPDATE changes SET published_at = now() WHERE domain_id = $1 AND published_at IS NULL",
            zone.id.0
        )
        .execute(&mut **tx)
        .await?;
        crate::versions::prune(tx, zone.id, keep).await?;
        crate::fleet::expect(tx, zone.id, zone.wanted_serial, fleet).await?;
        let catalog_serial = if zone.published_serial.is_none() {
            Some(crate::catalog::bump(tx).await?)
        } else {
            None
        };
        self.tx.commit().await?;
        Ok(Stored { catalog_serial })
    }
}

/// Records that the fleet was told about `serial` (unless a newer version got there first);
/// whatever failure was recorded on the way, after the version was stored, is over too.
pub async fn mark_notified(pool: &PgPool, domain: DomainId, serial: u32) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE domains SET notified_serial = $2, publish_attempts = 0, publish_error = NULL,
                publish_next_attempt_at = NULL
          WHERE id = $1 AND published_serial = $2",
        domain.0,
        serial_to_db(serial),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a failed publish (or announcement) of `domain`: the reconciler tries again after
/// a wait that doubles with each failure in a row (2 s up to 15 minutes).
pub async fn failed(pool: &PgPool, domain: DomainId, error: &str) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE domains SET publish_attempts = publish_attempts + 1, publish_error = $2,
                publish_failed_at = now(),
                publish_next_attempt_at = now() + make_interval(secs => least(900, 2 ^ least(publish_attempts + 1, 10)))
          WHERE id = $1",
        domain.0,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The serial `domain` is published at (none if it is gone or was never published).
pub async fn published_serial(pool: &PgPool, domain: DomainId) -> Result<Option<u32>, CoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT published_serial FROM domains WHERE id = $1",
        domain.0
    )
    .fetch_optional(pool)
    .await?
    .flatten()
    .map(serial_from_db))
}
