//! The secondary engine: follows the catalog zones and keeps every member zone current, in
//! tasks of its own so the answer path never waits on it.
//!
//! Each followed zone (every catalog and every member) has one task running this cycle:
//!
//! ```text
//!            start (copy from disk, or none: full transfer)
//!              │
//!              ▼
//!   ┌──────► refresh ──ok──► wait REFRESH ─┐        SOA check, then IXFR from our serial
//!   │          │                           │        (AXFR when we hold nothing or IXFR
//!   │        failed                        │        fails); the catalog re-applies its list
//!   │          ▼                           │
//!   │      wait RETRY ─────────────────────┤
//!   │                                      │
//!   └──── NOTIFY or timer ◄────────────────┘
//!              EXPIRE passed with no successful refresh: the zone answers SERVFAIL until
//!              the next success (counted from the copy on disk after a restart)
//! ```
//!
//! NOTIFY wakes the zone's task through a [`Notify`]: a NOTIFY arriving while a refresh runs
//! leaves one stored wake-up, so the task runs exactly once more afterwards and never two
//! transfers of one zone at the same time.
//!
//! Membership (RFC 9432): a zone belongs to the first catalog that lists it. Another catalog
//! listing it too is ignored, unless the owner's `coo` property points at that catalog: then
//! the zone changes owner, keeping its data when its unique id stays the same (section 5.6).
//! A new unique id in the owner's catalog resets the zone: its copy is dropped and transferred
//! afresh (section 5.4). What a catalog's new list changes is decided by
//! [`crate::membership::plan`], a pure function; the engine carries the plan out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use apex_zone::catalog::{self, Listed};
use apex_zone::dname::DName;
use apex_zone::record::ZoneRecord;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::config::CatalogConfig;
use crate::membership::{self, Held};
use crate::persist;
use crate::store::{Store, ZoneSlot};
use crate::transfer::{Fetched, Primaries, RefreshError, TransferStats};
use crate::zone::{SoaTimers, Zone, ZoneError};

/// Retry delay before a zone was ever loaded (no SOA RETRY to go by yet), doubling per failure.
const FIRST_RETRY: Duration = Duration::from_secs(5);
/// A journal is folded into a new copy only past this size, however small the zone (a small
/// zone's quarter is one IXFR).
const JOURNAL_MIN_FOLD: u64 = 1 << 20;
/// Longest retry delay before a zone was ever loaded.
const MAX_FIRST_RETRY: Duration = Duration::from_secs(300);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent even if a holder panicked: every change is one insert/remove.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One catalog being followed.
#[derive(Debug)]
struct Source {
    name: DName,
    primaries: Arc<Primaries>,
    /// The keys NOTIFY for this catalog and its members may be signed with.
    keys: Vec<apex_net::TsigKey>,
    /// NOTIFY must be signed with one of `keys` (else a primary's address suffices).
    notify_requires_tsig: bool,
    trigger: Arc<Notify>,
    /// The catalog's current copy.
    zone: Mutex<Option<Arc<Zone>>>,
    /// Its member list as last read.
    listing: Mutex<BTreeMap<DName, Listed>>,
}

/// One member zone being followed.
#[derive(Debug)]
struct Member {
    id: String,
    /// Index of the owning catalog.
    owner: usize,
    slot: Arc<ZoneSlot>,
    trigger: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Held for Member {
    fn id(&self) -> &str {
        &self.id
    }
    fn owner(&self) -> usize {
        self.owner
    }
}

/// What a zone task follows.
#[derive(Clone)]
enum Kind {
    Catalog(usize),
    Member(Arc<ZoneSlot>),
}

/// The engine shared by the zone tasks and the NOTIFY handler.
#[derive(Debug)]
pub struct Engine {
    store: Arc<Store>,
    data_dir: Option<PathBuf>,
    sources: Vec<Source>,
    members: Mutex<HashMap<DName, Member>>,
    statics: HashSet<DName>,
    /// Held while a zone file is written or removed: a zone dropped while its transfer was in
    /// flight is never written back after its removal.
    disk: Arc<Mutex<()>>,
    /// Transfer counters.
    pub stats: TransferStats,
}

/// What became of a NOTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// The zone's task was woken.
    Accepted,
    /// We do not follow that zone.
    NotOurs,
    /// Unsigned and not from one of the zone's primaries.
    Refused,
}

impl Engine {
    /// An engine following `catalogs`, publishing zones into `store`, keeping copies in
    /// `data_dir`. `statics` are the zones served from files, which no catalog may take.
    pub fn new(
        store: Arc<Store>,
        catalogs: &[CatalogConfig],
        data_dir: Option<PathBuf>,
        statics: HashSet<DName>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            data_dir,
            sources: catalogs
                .iter()
                .map(|c| Source {
                    name: c.name.clone(),
                    primaries: Arc::new(Primaries::new(c.primaries.clone(), c.tsig_key.clone())),
                    keys: c.keys(),
                    notify_requires_tsig: c.notify_requires_tsig,
                    trigger: Arc::new(Notify::new()),
                    zone: Mutex::new(None),
                    listing: Mutex::new(BTreeMap::new()),
                })
                .collect(),
            members: Mutex::new(HashMap::new()),
            statics,
            disk: Arc::new(Mutex::new(())),
            stats: TransferStats::default(),
        })
    }

    /// The keys NOTIFY and transfer requests may be signed with.
    pub fn keys(&self) -> Vec<apex_net::TsigKey> {
        let mut keys: Vec<apex_net::TsigKey> = Vec::new();
        for k in self.sources.iter().flat_map(|s| s.keys.iter()) {
            if !keys.iter().any(|o| o.name() == k.name()) {
                keys.push(k.clone());
            }
        }
        keys
    }

    /// Serves what `data_dir` holds: every catalog's copy, and the copies of the members it
    /// lists, each with the time it was last known current (a copy already past its SOA
    /// expire answers SERVFAIL until refreshed). Then removes copies nothing lists any more.
    /// Member tasks start here; catalog tasks with [`Engine::follow_catalogs`].
    pub async fn restore(self: &Arc<Self>) {
        let Some(dir) = self.data_dir.clone() else {
            return;
        };
        let mut keep: HashSet<PathBuf> = HashSet::new();
        for (idx, source) in self.sources.iter().enumerate() {
            keep.insert(persist::path_of(&dir, &source.name));
            keep.insert(persist::journal_of(&dir, &source.name));
            let name = source.name.clone();
            let dir2 = dir.clone();
            let loaded = tokio::task::spawn_blocking(move || load_zone(&dir2, &name)).await;
            let Ok(Some((zone, _age))) = loaded else {
                continue;
            };
            match catalog::parse(&source.name, &zone.to_records()) {
                Ok(parsed) => {
                    *lock(&source.zone) = Some(Arc::new(zone));
                    self.apply_catalog(idx, parsed.members, true).await;
                }
                Err(e) => {
                    tracing::warn!(zone.name = %source.name, error = %e, "stored catalog unusable");
                }
            }
        }
        for name in lock(&self.members).keys() {
            keep.insert(persist::path_of(&dir, name));
            keep.insert(persist::journal_of(&dir, name));
        }
        for path in persist::files(&dir) {
            if !keep.contains(&path) {
                tracing::info!(path = %path.display(), "removing the copy of a zone no catalog lists");
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    /// The tasks that follow the catalogs: each transfers its catalog at once, then keeps it
    /// current, starting and stopping member tasks, until aborted.
    pub fn follow_catalogs(
        self: &Arc<Self>,
    ) -> Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>>> {
        (0..self.sources.len())
            .map(|idx| {
                let source = &self.sources[idx];
                let expire_at = None;
                self.clone().follow(
                    source.name.clone(),
                    Kind::Catalog(idx),
                    source.trigger.clone(),
                    source.primaries.clone(),
                    expire_at,
                )
            })
            .collect()
    }

    /// Wakes the task of `zone` after a NOTIFY from `source`. `signed_by`: the name of the
    /// key whose TSIG verified on it, if any. Accepted when that is a key of the zone's
    /// catalog, or, where the catalog allows unsigned NOTIFY, when it comes from one of its
    /// primaries' addresses: a key of another catalog does not do.
    pub fn notify(
        &self,
        zone: &DName,
        source: std::net::IpAddr,
        signed_by: Option<&hickory_proto::rr::Name>,
    ) -> NotifyOutcome {
        let allowed = |s: &Source| match signed_by {
            Some(key) => s.keys.iter().any(|k| k.name() == key),
            None => {
                !s.notify_requires_tsig
                    && s.primaries
                        .addrs()
                        .iter()
                        .any(|a| a.ip().to_canonical() == source)
            }
        };
        if let Some(s) = self.sources.iter().find(|s| &s.name == zone) {
            if !allowed(s) {
                return NotifyOutcome::Refused;
            }
            s.trigger.notify_one();
            return NotifyOutcome::Accepted;
        }
        let members = lock(&self.members);
        let Some(member) = members.get(zone) else {
            return NotifyOutcome::NotOurs;
        };
        if !allowed(&self.sources[member.owner]) {
            return NotifyOutcome::Refused;
        }
        member.trigger.notify_one();
        NotifyOutcome::Accepted
    }

    /// Stops every member task.
    pub fn shutdown(&self) {
        for (_, member) in lock(&self.members).drain() {
            member.task.abort();
        }
    }

    /// Applies catalog `idx`'s member list: plans the change ([`membership::plan`]), reports
    /// zones two catalogs claim, and carries the plan out. `from_disk`: the members' copies are
    /// loaded from `data_dir` before their tasks start (at start-up).
    async fn apply_catalog(
        self: &Arc<Self>,
        idx: usize,
        listed: BTreeMap<DName, Listed>,
        from_disk: bool,
    ) {
        *lock(&self.sources[idx].listing) = listed.clone();
        // Decide under the lock, load copies outside it, then apply under it again.
        let plan = {
            let members = lock(&self.members);
            let catalogs: Vec<DName> = self.sources.iter().map(|s| s.name.clone()).collect();
            membership::plan(
                idx,
                &listed,
                &members,
                &catalogs,
                &self.statics,
                |t, zone| lock(&self.sources[t].listing).get(zone).cloned(),
            )
        };
        for (zone, owner) in &plan.contested {
            tracing::warn!(zone.name = %zone, catalog = %self.sources[idx].name, owner = %self.sources[*owner].name, "zone listed by two catalogs; the first keeps it");
        }
        if plan.changes_nothing() {
            return;
        }
        self.apply_plan(plan, from_disk).await;
    }

    /// Carries out a membership plan: stops and forgets the zones removed (their copies
    /// deleted), starts tasks for the zones added (from their copies on disk when `from_disk`)
    /// and moves the zones that change catalog, then swaps the store's table once.
    async fn apply_plan(self: &Arc<Self>, plan: membership::Plan, from_disk: bool) {
        let membership::Plan {
            remove, add, moved, ..
        } = plan;
        // Copies from disk for the new members (start-up only: a zone joining later has none).
        let mut loaded: HashMap<DName, (Zone, Duration)> = HashMap::new();
        if from_disk && let Some(dir) = self.data_dir.clone() {
            let names: Vec<DName> = add.iter().map(|(z, _, _)| z.clone()).collect();
            loaded = tokio::task::spawn_blocking(move || load_many(&dir, names))
                .await
                .unwrap_or_default();
        }
        let mut members = lock(&self.members);
        let mut removed_names = Vec::new();
        for zone in &remove {
            if let Some(member) = members.remove(zone) {
                member.task.abort();
                removed_names.push(zone.clone());
                if !add.iter().any(|(z, _, _)| z == zone) {
                    tracing::info!(zone.name = %zone, "zone left the catalog");
                }
                if let Some(dir) = &self.data_dir {
                    let _disk = lock(&self.disk);
                    persist::remove(dir, zone);
                }
            }
        }
        let mut starting = Vec::with_capacity(add.len() + moved.len());
        let moving: HashSet<DName> = moved.iter().map(|(z, _, _)| z.clone()).collect();
        for (zone, id, owner) in add.into_iter().chain(moved.iter().cloned()) {
            // The map may have changed since the decision (another catalog applied in between):
            // a zone that appeared meanwhile keeps its owner; a move whose zone left is void.
            let (slot, expire_at) = match members.remove(&zone) {
                Some(old) if !moving.contains(&zone) => {
                    members.insert(zone, old);
                    continue;
                }
                None if moving.contains(&zone) => continue,
                // A move: the data stays; the old task (with the old primaries) stops.
                Some(old) => {
                    old.task.abort();
                    tracing::info!(zone.name = %zone, catalog = %self.sources[owner].name, "zone changed catalog (coo)");
                    let deadline = old.slot.deadline();
                    (old.slot, deadline)
                }
                None => match loaded.remove(&zone) {
                    Some((z, age)) => {
                        let expire = z.timers().expire;
                        let slot = Arc::new(ZoneSlot::with_zone(z));
                        let left = expire.checked_sub(age);
                        if left.is_none() {
                            slot.set_expired(true);
                            tracing::warn!(zone.name = %zone, "stored copy is past its SOA expire: SERVFAIL until refreshed");
                        }
                        (slot, left.map(|l| Instant::now() + l))
                    }
                    None => (Arc::new(ZoneSlot::new()), None),
                },
            };
            starting.push((zone, id, owner, slot, expire_at));
        }
        let added: Vec<(DName, Arc<ZoneSlot>)> = starting
            .iter()
            .map(|(zone, _, _, slot, _)| (zone.clone(), slot.clone()))
            .collect();
        // Swapped while the member map is locked, so the table and the map agree.
        let removed_only: Vec<DName> = removed_names
            .into_iter()
            .filter(|z| !added.iter().any(|(a, _)| a == z))
            .collect();
        self.store.change(&removed_only, &added);
        // The tasks start once their slots are in the table: a small zone is transferred and
        // built at once, and its copy is written only if its slot is the one served.
        for (zone, id, owner, slot, expire_at) in starting {
            let trigger = Arc::new(Notify::new());
            let task = tokio::spawn(self.clone().follow(
                zone.clone(),
                Kind::Member(slot.clone()),
                trigger.clone(),
                self.sources[owner].primaries.clone(),
                expire_at,
            ));
            tracing::info!(zone.name = %zone, id = %id, catalog = %self.sources[owner].name, "zone joined the catalog");
            members.insert(
                zone,
                Member {
                    id,
                    owner,
                    slot,
                    trigger,
                    task,
                },
            );
        }
    }

    /// One zone's life: refresh, then wait for NOTIFY or the SOA timers, until aborted.
    /// (Boxed: the catalog's task starts member tasks, so the future type refers to itself.)
    fn follow(
        self: Arc<Self>,
        zone: DName,
        kind: Kind,
        trigger: Arc<Notify>,
        primaries: Arc<Primaries>,
        expire_at: Option<Instant>,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(self.follow_inner(zone, kind, trigger, primaries, expire_at))
    }

    async fn follow_inner(
        self: Arc<Self>,
        zone: DName,
        kind: Kind,
        trigger: Arc<Notify>,
        primaries: Arc<Primaries>,
        mut expire_at: Option<Instant>,
    ) {
        let mut timers: Option<SoaTimers> = match &kind {
            Kind::Member(slot) => slot.zone().map(|z| z.timers()),
            Kind::Catalog(idx) => lock(&self.sources[*idx].zone).as_ref().map(|z| z.timers()),
        };
        if let Kind::Member(slot) = &kind {
            slot.set_deadline(expire_at);
        }
        let mut failures: u32 = 0;
        // The journal write of the last IXFR, still running: the next change is served without
        // waiting for it; the next write waits, so entries stay in order.
        let mut writing: Option<JoinHandle<()>> = None;
        loop {
            let outcome = match &kind {
                Kind::Catalog(idx) => self.refresh_catalog(*idx, &mut writing).await,
                Kind::Member(slot) => {
                    self.refresh_member(&zone, slot, &primaries, &mut writing)
                        .await
                }
            };
            let now = Instant::now();
            let next_check = match outcome {
                Ok(t) => {
                    failures = 0;
                    timers = Some(t);
                    expire_at = Some(now + t.expire);
                    if let Kind::Member(slot) = &kind {
                        slot.set_expired(false);
                        slot.set_deadline(expire_at);
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

    /// Brings the zone up to date; `current`'s copy is replaced only by a complete zone. A
    /// full transfer is written to disk before it is served; an incremental one is served
    /// first and journaled after, in the background ([`Engine::journal`]), so the change is
    /// answered as soon as it is applied.
    async fn fetch(
        &self,
        zone: &DName,
        current: Option<Arc<Zone>>,
        primaries: &Primaries,
        slot: Option<&Arc<ZoneSlot>>,
    ) -> Result<Option<Update>, RefreshError> {
        let started = Instant::now();
        let fetched = primaries
            .refresh(zone, current.as_ref().map(|z| z.serial()), &self.stats)
            .await?;
        let transfer_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (records, primary) = match fetched {
            Fetched::Current => {
                if current.is_none() {
                    return Err(RefreshError::Primaries("no data".into()));
                }
                if let Some(dir) = &self.data_dir {
                    let _ = persist::touch(dir, zone);
                }
                return Ok(None);
            }
            Fetched::Full { records, primary } => (records, primary),
            Fetched::Incremental {
                soa,
                deltas,
                primary,
            } => {
                let base = current.clone();
                let applied = tokio::task::spawn_blocking(move || match base {
                    Some(base) => base.apply(soa.clone(), &deltas).map(|z| (z, (soa, deltas))),
                    None => Err("no copy to apply changes to".to_string()),
                })
                .await
                .map_err(|_| RefreshError::Interrupted)?;
                match applied {
                    Ok((built, entry)) => {
                        tracing::info!(
                            zone.name = %zone,
                            serial = built.serial(),
                            primary = %primary,
                            transfer = "IXFR",
                            records = built.record_count(),
                            delta_bytes = built.delta_bytes(),
                            "zone transferred"
                        );
                        return Ok(Some(Update {
                            zone: built,
                            journal: Some(entry),
                        }));
                    }
                    Err(reason) => {
                        tracing::warn!(zone.name = %zone, primary = %primary, reason = %reason, "IXFR does not apply to our copy; transferring the whole zone");
                        match primaries.full(zone, &self.stats).await? {
                            Fetched::Full { records, primary } => (records, primary),
                            _ => return Err(RefreshError::Primaries("no full transfer".into())),
                        }
                    }
                }
            }
        };
        // A member's copy is written only while it is still the zone served.
        let alive = slot.map(|slot| (self.store.clone(), slot.clone()));
        let built = build_and_save(
            zone.clone(),
            records,
            self.data_dir.clone(),
            self.disk.clone(),
            alive,
        )
        .await?;
        tracing::info!(
            zone.name = %zone,
            serial = built.serial(),
            primary = %primary,
            transfer = "AXFR",
            records = built.record_count(),
            transfer_ms,
            build_ms = started.elapsed().as_secs_f64() * 1000.0 - transfer_ms,
            "zone transferred"
        );
        Ok(Some(Update {
            zone: built,
            journal: None,
        }))
    }

    /// Keeps an incremental transfer on disk, after the write before it (`writing`) and in a
    /// task of its own: appended to the zone's journal, which is folded into a new copy once it
    /// outgrows a quarter of the copy and [`JOURNAL_MIN_FOLD`] (or cannot be written).
    async fn journal(
        &self,
        name: &DName,
        zone: Arc<Zone>,
        entry: persist::JournalEntry,
        slot: Option<&Arc<ZoneSlot>>,
        writing: &mut Option<JoinHandle<()>>,
    ) {
        if let Some(before) = writing.take() {
            let _ = before.await;
        }
        let Some(dir) = self.data_dir.clone() else {
            return;
        };
        let alive = slot.map(|slot| (self.store.clone(), slot.clone()));
        let disk = self.disk.clone();
        let name = name.clone();
        *writing = Some(tokio::task::spawn_blocking(move || {
            let _disk = lock(&disk);
            if !still_served(&name, alive.as_ref()) {
                return;
            }
            let copy = std::fs::metadata(persist::path_of(&dir, &name)).map(|m| m.len());
            match (persist::append(&dir, &name, &entry.0, &entry.1), copy) {
                (Ok(size), Ok(copy)) if size <= (copy / 4).max(JOURNAL_MIN_FOLD) => return,
                (Err(e), _) => {
                    tracing::warn!(zone.name = %name, error = %e, "cannot append to the zone's journal; writing a new copy");
                }
                _ => {}
            }
            if let Err(e) = persist::save(&dir, &name, &zone.to_records()) {
                tracing::error!(zone.name = %name, error = %e, "cannot keep the zone on disk");
            }
        }));
    }

    async fn refresh_member(
        &self,
        zone: &DName,
        slot: &Arc<ZoneSlot>,
        primaries: &Primaries,
        writing: &mut Option<JoinHandle<()>>,
    ) -> Result<SoaTimers, RefreshError> {
        let current = slot.zone();
        match self
            .fetch(zone, current.clone(), primaries, Some(slot))
            .await?
        {
            Some(Update {
                zone: built,
                journal,
            }) => {
                let timers = built.timers();
                let built = Arc::new(built);
                slot.set(built.clone());
                if let Some(entry) = journal {
                    self.journal(zone, built, entry, Some(slot), writing).await;
                }
                Ok(timers)
            }
            None => current
                .map(|z| z.timers())
                .ok_or_else(|| RefreshError::Primaries("no data".into())),
        }
    }

    /// Refreshes a catalog: the primary's SOA serial first, the transfer only when it moved.
    /// A NOTIFY takes the same path, so spoofed NOTIFYs cost a SOA query, not a transfer.
    async fn refresh_catalog(
        self: &Arc<Self>,
        idx: usize,
        writing: &mut Option<JoinHandle<()>>,
    ) -> Result<SoaTimers, RefreshError> {
        let source = &self.sources[idx];
        let current = lock(&source.zone).clone();
        let Some(Update {
            zone: built,
            journal,
        }) = self
            .fetch(&source.name, current.clone(), &source.primaries, None)
            .await?
        else {
            return current
                .map(|z| z.timers())
                .ok_or_else(|| ZoneError::NoSoa(source.name.to_string()).into());
        };
        let records = built.to_records();
        let parsed = catalog::parse(&source.name, &records)?;
        for reason in &parsed.ignored {
            tracing::warn!(zone.name = %source.name, reason = %reason, "catalog entry ignored");
        }
        tracing::info!(
            zone.name = %source.name,
            serial = parsed.serial,
            members = parsed.members.len(),
            "catalog read"
        );
        let timers = built.timers();
        let built = Arc::new(built);
        *lock(&source.zone) = Some(built.clone());
        if let Some(entry) = journal {
            self.journal(&source.name, built, entry, None, writing)
                .await;
        }
        self.apply_catalog(idx, parsed.members, false).await;
        Ok(timers)
    }
}

fn first_retry(failures: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(MAX_FIRST_RETRY)
}

/// Whether `zone` is still served from `slot` (a zone removed while it was being transferred
/// is not written back); `None`: a catalog, always served.
fn still_served(zone: &DName, alive: Option<&(Arc<Store>, Arc<ZoneSlot>)>) -> bool {
    alive.is_none_or(|(store, slot)| store.slot(zone).is_some_and(|s| Arc::ptr_eq(&s, slot)))
}

/// A new version of a zone, and the IXFR that made it (for the journal) when it was one.
struct Update {
    zone: Zone,
    journal: Option<persist::JournalEntry>,
}

/// Builds the zone off the async threads (large zones take a while) and keeps a copy on disk,
/// unless `alive` says the zone is no longer served (removed while it was being transferred).
async fn build_and_save(
    zone: DName,
    records: Vec<ZoneRecord>,
    data_dir: Option<PathBuf>,
    disk: Arc<Mutex<()>>,
    alive: Option<(Arc<Store>, Arc<ZoneSlot>)>,
) -> Result<Zone, RefreshError> {
    tokio::task::spawn_blocking(move || {
        let built = Zone::build_sized(zone.clone(), records)?;
        if let Some(dir) = data_dir {
            let _disk = lock(&disk);
            if still_served(&zone, alive.as_ref())
                && let Err(e) = persist::save(&dir, &zone, &built.to_records())
            {
                tracing::error!(zone.name = %zone, error = %e, "cannot keep the zone on disk");
            }
        }
        Ok(built)
    })
    .await
    .map_err(|_| RefreshError::Interrupted)?
}

/// A zone's copy from disk with its journal replayed: the zone, and how long ago it was
/// known current.
fn load_zone(dir: &std::path::Path, name: &DName) -> Option<(Zone, Duration)> {
    let (records, age) = match persist::load(dir, name) {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(zone.name = %name, error = %e, "stored copy unreadable; transferring afresh");
            return None;
        }
    };
    match Zone::build_sized(name.clone(), records) {
        Ok(zone) => Some((replay(dir, name, zone), age)),
        Err(e) => {
            tracing::warn!(zone.name = %name, error = %e, "stored copy unusable");
            None
        }
    }
}

/// Applies the zone's journal to its copy, as far as it applies (a journal that starts from
/// another serial is from before the copy was last written: the copy already holds it).
fn replay(dir: &std::path::Path, name: &DName, mut zone: Zone) -> Zone {
    let entries = match persist::journal(dir, name) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(zone.name = %name, error = %e, "journal unreadable; serving the copy without it");
            return zone;
        }
    };
    let mut applied = 0;
    for (soa, steps) in entries {
        if steps.first().is_none_or(|s| s.from != zone.serial()) {
            continue;
        }
        match zone.apply(soa, &steps) {
            Ok(next) => {
                zone = next;
                applied += 1;
            }
            Err(reason) => {
                tracing::warn!(zone.name = %name, reason = %reason, "journal entry does not apply; stopping the replay there");
                break;
            }
        }
    }
    if applied > 0 {
        tracing::info!(zone.name = %name, entries = applied, serial = zone.serial(), "journal replayed");
    }
    zone
}

/// Loads many copies at once, on every CPU.
fn load_many(dir: &std::path::Path, names: Vec<DName>) -> HashMap<DName, (Zone, Duration)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(16);
    let chunk = names.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|n| load_zone(dir, n).map(|found| (n.clone(), found)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .flatten()
            .collect()
    })
}
