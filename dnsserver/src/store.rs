//! The zone table: which zones this server answers for, swapped atomically so the answer path
//! never waits on the secondary engine.
//!
//! Two levels, both lock-free for readers:
//!
//! - the table (`ArcSwap<HashMap<DName, Arc<ZoneSlot>>>`, keyed by lowercase wire names)
//!   changes only when zones are added or removed, one copy per change;
//! - each [`ZoneSlot`] holds the zone's current contents (`ArcSwapOption<Zone>`), replaced in
//!   place after every transfer, so refreshing one zone never copies the table.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use apex_zone::dname::DName;
use arc_swap::{ArcSwap, ArcSwapOption};
use foldhash::fast::RandomState;

use crate::zone::Zone;

/// One served zone: its current contents (none until the first transfer), whether it has
/// expired, and how many queries it answered.
#[derive(Debug, Default)]
pub struct ZoneSlot {
    zone: ArcSwapOption<Zone>,
    expired: AtomicBool,
    /// When the zone expires unless refreshed (kept here so it survives a change of task).
    deadline: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// Queries answered from this zone.
    pub queries: AtomicU64,
}

impl ZoneSlot {
    /// An empty slot: listed, not yet transferred.
    pub fn new() -> Self {
        Self::default()
    }

    /// A slot holding `zone`.
    pub fn with_zone(zone: Zone) -> Self {
        let slot = Self::default();
        slot.zone.store(Some(Arc::new(zone)));
        slot
    }

    /// The current contents, if transferred.
    pub fn zone(&self) -> Option<Arc<Zone>> {
        self.zone.load_full()
    }

    /// Replaces the contents (after a transfer) and clears the expired mark.
    pub fn set(&self, zone: Arc<Zone>) {
        self.zone.store(Some(zone));
        self.expired.store(false, Ordering::Release);
    }

    /// True once no refresh has succeeded within the SOA EXPIRE: the zone answers SERVFAIL.
    pub fn is_expired(&self) -> bool {
        self.expired.load(Ordering::Acquire)
    }

    /// When the zone expires unless refreshed.
    pub fn deadline(&self) -> Option<tokio::time::Instant> {
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets when the zone expires unless refreshed.
    pub fn set_deadline(&self, at: Option<tokio::time::Instant>) {
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Marks the zone expired or fresh again.
    pub fn set_expired(&self, expired: bool) {
        self.expired.store(expired, Ordering::Release);
    }
}

type Table = HashMap<DName, Arc<ZoneSlot>, RandomState>;

/// The zones this server is authoritative for.
#[derive(Debug)]
pub struct Store {
    table: ArcSwap<Table>,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            table: ArcSwap::from_pointee(Table::default()),
        }
    }
}

/// A zone found for a query name.
#[derive(Debug)]
pub struct Found {
    /// The zone's slot (for its expired mark and counters).
    pub slot: Arc<ZoneSlot>,
    /// The zone's contents at the time of the lookup; `None` only for an expired slot that
    /// never had any (a `[[zone]]` file that failed to load), which answers SERVFAIL.
    pub zone: Option<Arc<Zone>>,
    /// Which suffix of the query name is the apex (0: the name itself).
    pub apex_label: usize,
}

impl Store {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most specific loaded zone containing a name, given the name's suffixes from the
    /// longest (`suffix(0)`, the name itself) to the root (`suffix(labels)`): one hash lookup
    /// per label. Zones listed but not yet transferred are passed over, so a parent zone
    /// answers (with its referral) until the child arrives; a zone marked expired is found
    /// even empty (it answers SERVFAIL).
    pub fn find<'n>(&self, labels: usize, suffix: impl Fn(usize) -> &'n [u8]) -> Option<Found> {
        self.find_from(0, labels, suffix)
    }

    /// [`Store::find`] starting at suffix `first` (1: the zones strictly above the name).
    pub fn find_from<'n>(
        &self,
        first: usize,
        labels: usize,
        suffix: impl Fn(usize) -> &'n [u8],
    ) -> Option<Found> {
        let table = self.table.load();
        if table.is_empty() {
            return None;
        }
        (first..=labels).find_map(|i| {
            let slot = table.get(suffix(i))?;
            let zone = slot.zone();
            if zone.is_none() && !slot.is_expired() {
                return None;
            }
            Some(Found {
                slot: slot.clone(),
                zone,
                apex_label: i,
            })
        })
    }

    /// The slot of the zone named exactly `origin`.
    pub fn slot(&self, origin: &DName) -> Option<Arc<ZoneSlot>> {
        self.table.load().get(origin.wire()).cloned()
    }

    /// Every zone with its slot (for metrics and persistence).
    pub fn slots(&self) -> Vec<(DName, Arc<ZoneSlot>)> {
        self.table
            .load()
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect()
    }

    /// Number of zones listed (loaded or not).
    pub fn len(&self) -> usize {
        self.table.load().len()
    }

    /// True when no zone is listed.
    pub fn is_empty(&self) -> bool {
        self.table.load().is_empty()
    }

    /// Applies one change of membership as a single atomic swap: removes `remove`, then adds
    /// (or replaces) the slots in `add`.
    pub fn change(&self, remove: &[DName], add: &[(DName, Arc<ZoneSlot>)]) {
        if remove.is_empty() && add.is_empty() {
            return;
        }
        self.table.rcu(|old| {
            let mut table = Table::clone(old);
            for name in remove {
                table.remove(name.wire());
            }
            for (name, slot) in add {
                table.insert(name.clone(), slot.clone());
            }
            table
        });
    }

    /// Adds a loaded zone (static zones and tests).
    pub fn insert(&self, zone: Zone) -> Arc<ZoneSlot> {
        let name = zone.apex().clone();
        let slot = Arc::new(ZoneSlot::with_zone(zone));
        self.change(&[], &[(name, slot.clone())]);
        slot
    }
}
