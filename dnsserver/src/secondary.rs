//! The secondary engine: follows the catalog zone and keeps every member zone current, in tasks
//! of its own so the answer path never waits on it.
//!
//! Each followed zone (the catalog and every member) has one task running this cycle:
//!
//! ```text
//!            start (no data: full transfer)
//!              │
//!              ▼
//!   ┌──────► refresh ──ok──► wait REFRESH ─┐        SOA check, AXFR if newer (RFC 1982);
//!   │          │                           │        the catalog also re-applies its diff
//!   │        failed                        │
//!   │          ▼                           │
//!   │      wait RETRY ─────────────────────┤
//!   │                                      │
//!   └──── NOTIFY or timer ◄────────────────┘
//!              EXPIRE passed with no successful refresh: the zone answers SERVFAIL until
//!              the next success
//! ```
//!
//! NOTIFY wakes the zone's task through a [`Notify`]: a NOTIFY arriving while a refresh runs
//! leaves one stored wake-up, so the task runs exactly once more afterwards and never two
//! transfers of one zone at the same time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use apex_zone::catalog;
use apex_zone::name::canonical;
use hickory_proto::rr::{Name, RData, Record};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::config::CatalogConfig;
use crate::store::{Store, ZoneSlot};
use crate::transfer::{Fetched, Primaries, RefreshError};
use crate::zone::{SoaTimers, Zone, ZoneError};

/// Retry delay before a zone was ever loaded (no SOA RETRY to go by yet), doubling per failure.
const FIRST_RETRY: Duration = Duration::from_secs(5);
/// Longest retry delay before a zone was ever loaded.
const MAX_FIRST_RETRY: Duration = Duration::from_secs(300);

/// One member zone being followed.
#[derive(Debug)]
struct Member {
    id: String,
    trigger: Arc<Notify>,
    task: JoinHandle<()>,
}

/// What a zone task follows.
enum Kind {
    Catalog,
    Member(Arc<ZoneSlot>),
}

/// The engine shared by the zone tasks and the NOTIFY handler.
#[derive(Debug)]
pub struct Engine {
    store: Arc<Store>,
    catalog: Name,
    primaries: Primaries,
    catalog_trigger: Arc<Notify>,
    members: Mutex<HashMap<Name, Member>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The map stays consistent even if a holder panicked: every change is one insert/remove.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Engine {
    /// An engine for the catalog in `config`, publishing zones into `store`.
    pub fn new(store: Arc<Store>, config: &CatalogConfig) -> Arc<Self> {
        Arc::new(Self {
            store,
            catalog: canonical(&config.name),
            primaries: Primaries::new(config.primaries.clone(), config.tsig_key.clone()),
            catalog_trigger: Arc::new(Notify::new()),
            members: Mutex::new(HashMap::new()),
        })
    }

    /// The task that follows the catalog: it transfers the catalog at once, then keeps it
    /// current, starting and stopping the member tasks, until it is aborted.
    pub fn follow_catalog(self: &Arc<Self>) -> impl Future<Output = ()> + Send + 'static {
        self.clone().follow(
            self.catalog.clone(),
            Kind::Catalog,
            self.catalog_trigger.clone(),
        )
    }

    /// Wakes the task of `zone` after a NOTIFY. False if we do not follow that zone.
    pub fn notify(&self, zone: &Name) -> bool {
        let zone = canonical(zone);
        if zone == self.catalog {
            self.catalog_trigger.notify_one();
            return true;
        }
        match lock(&self.members).get(&zone) {
            Some(member) => {
                member.trigger.notify_one();
                true
            }
            None => false,
        }
    }

    /// Stops every member task.
    pub fn shutdown(&self) {
        for (_, member) in lock(&self.members).drain() {
            member.task.abort();
        }
    }

    /// Applies the catalog's member list: stops and removes dropped zones, starts new ones,
    /// and swaps the zone table once.
    fn apply_catalog(self: &Arc<Self>, listed: &BTreeMap<Name, String>) {
        let mut members = lock(&self.members);
        let current: HashMap<Name, String> = members
            .iter()
            .map(|(name, m)| (name.clone(), m.id.clone()))
            .collect();
        let diff = crate::catalog::diff(&current, listed, &self.catalog);
        if diff.is_empty() {
            return;
        }
        for zone in &diff.remove {
            if let Some(member) = members.remove(zone) {
                member.task.abort();
                tracing::info!(zone.name = %zone, "zone left the catalog");
            }
        }
        let mut added = Vec::with_capacity(diff.add.len());
        for (zone, id) in diff.add {
            let slot = Arc::new(ZoneSlot::new());
            let trigger = Arc::new(Notify::new());
            let task = tokio::spawn(self.clone().follow(
                zone.clone(),
                Kind::Member(slot.clone()),
                trigger.clone(),
            ));
            tracing::info!(zone.name = %zone, id = %id, "zone joined the catalog");
            members.insert(zone.clone(), Member { id, trigger, task });
            added.push((zone, slot));
        }
        // Swapped while the member map is locked, so the table and the map agree.
        self.store.change(&diff.remove, &added);
    }

    /// One zone's life: refresh, then wait for NOTIFY or the SOA timers, forever.
    async fn follow(self: Arc<Self>, zone: Name, kind: Kind, trigger: Arc<Notify>) {
        let mut timers: Option<SoaTimers> = None;
        let mut catalog_state: Option<(u32, SoaTimers)> = None;
        let mut expire_at: Option<Instant> = None;
        let mut failures: u32 = 0;
        loop {
            let outcome = match &kind {
                Kind::Catalog => self.refresh_catalog(&mut catalog_state).await,
                Kind::Member(slot) => self.refresh_member(&zone, slot).await,
            };
            let now = Instant::now();
            let next_check = match outcome {
                Ok(t) => {
                    failures = 0;
                    timers = Some(t);
                    expire_at = Some(now + t.expire);
                    if let Kind::Member(slot) = &kind {
                        slot.set_expired(false);
                    }
                    now + t.refresh
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let retry = timers.map_or_else(|| first_retry(failures), |t| t.retry);
                    tracing::warn!(zone.name = %zone, error = %e, retry_in = ?retry, "zone refresh failed");
                    now + retry
                }
            };
            loop {
                let expiring =
                    expire_at.filter(|_| matches!(&kind, Kind::Member(s) if !s.is_expired()));
                tokio::select! {
                    biased;
                    () = trigger.notified() => break,
                    () = sleep_until(next_check) => break,
                    () = sleep_until(expiring.unwrap_or(next_check)), if expiring.is_some() => {
                        if let Kind::Member(slot) = &kind {
                            slot.set_expired(true);
                        }
                        tracing::error!(zone.name = %zone, "zone expired: no successful refresh within the SOA expire; answering SERVFAIL");
                    }
                }
            }
        }
    }

    async fn refresh_member(
        &self,
        zone: &Name,
        slot: &ZoneSlot,
    ) -> Result<SoaTimers, RefreshError> {
        let current = slot.zone();
        let fetched = self
            .primaries
            .refresh(zone, current.as_ref().map(|z| z.serial()))
            .await?;
        match (fetched, current) {
            (Fetched::Current, Some(current)) => Ok(current.timers()),
            (Fetched::Current, None) => Err(RefreshError::Primaries("no data".into())),
            (Fetched::New { records, primary }, _) => {
                let built = build(zone.clone(), records).await?;
                tracing::info!(
                    zone.name = %zone,
                    serial = built.serial(),
                    primary = %primary,
                    records = built.record_count(),
                    "zone transferred"
                );
                let timers = built.timers();
                slot.set(Arc::new(built));
                Ok(timers)
            }
        }
    }

    /// Refreshes the catalog: the primary's SOA serial first, the transfer only when it moved.
    /// A NOTIFY takes the same path, so spoofed NOTIFYs cost a SOA query, not a transfer.
    async fn refresh_catalog(
        self: &Arc<Self>,
        state: &mut Option<(u32, SoaTimers)>,
    ) -> Result<SoaTimers, RefreshError> {
        let zone = &self.catalog;
        let fetched = match *state {
            Some((current, _)) => self.primaries.refresh(zone, Some(current)).await?,
            None => self.primaries.transfer(zone).await?,
        };
        let (records, primary) = match fetched {
            Fetched::New { records, primary } => (records, primary),
            Fetched::Current => {
                return state
                    .map(|(_, timers)| timers)
                    .ok_or_else(|| ZoneError::NoSoa(zone.clone()).into());
            }
        };
        let parsed = catalog::parse(zone, &records)?;
        for reason in &parsed.ignored {
            tracing::warn!(zone.name = %zone, reason = %reason, "catalog entry ignored");
        }
        let timers = records
            .first()
            .and_then(soa_timers)
            .ok_or_else(|| ZoneError::NoSoa(zone.clone()))?;
        tracing::info!(
            zone.name = %zone,
            serial = parsed.serial,
            primary = %primary,
            members = parsed.members.len(),
            "catalog transferred"
        );
        self.apply_catalog(&parsed.members);
        *state = Some((parsed.serial, timers));
        Ok(timers)
    }
}

fn soa_timers(record: &Record) -> Option<SoaTimers> {
    match &record.data {
        RData::SOA(soa) => Some(SoaTimers::from_soa(soa)),
        _ => None,
    }
}

fn first_retry(failures: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(MAX_FIRST_RETRY)
}

/// Builds the zone off the async threads: large zones take a while.
async fn build(zone: Name, records: Vec<Record>) -> Result<Zone, RefreshError> {
    tokio::task::spawn_blocking(move || Zone::from_transfer(&zone, records))
        .await
        .map_err(|_| RefreshError::Interrupted)?
        .map_err(RefreshError::from)
}
