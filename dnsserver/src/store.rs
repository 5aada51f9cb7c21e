//! The zone table: which zones this server answers for, swapped atomically so the answer path
//! never waits on the secondary engine.
//!
//! Two levels, both lock-free for readers:
//!
//! - the table (`ArcSwap<HashMap<Name, Arc<ZoneSlot>>>`, lowercased fully qualified names) changes
//!   only when the catalog adds or removes members, one copy per catalog change;
//! - each [`ZoneSlot`] holds the zone's current contents (`ArcSwapOption<Zone>`), replaced in
//!   place after every transfer, so refreshing one zone never copies the table.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use apex_zone::name::canonical;
use arc_swap::{ArcSwap, ArcSwapOption};
use hickory_proto::rr::Name;

use crate::zone::{Zone, label_count};

/// One served zone: its current contents (none until the first transfer) and whether it has
/// expired.
#[derive(Debug, Default)]
pub struct ZoneSlot {
    zone: ArcSwapOption<Zone>,
    expired: AtomicBool,
}

impl ZoneSlot {
    /// An empty slot: listed, not yet transferred.
    pub fn new() -> Self {
        Self::default()
    }

    /// A slot holding `zone`.
    pub fn with_zone(zone: Zone) -> Self {
        Self {
            zone: ArcSwapOption::from_pointee(zone),
            expired: AtomicBool::new(false),
        }
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

    /// Marks the zone expired or fresh again.
    pub fn set_expired(&self, expired: bool) {
        self.expired.store(expired, Ordering::Release);
    }
}

/// The zones this server is authoritative for.
#[derive(Debug, Default)]
pub struct Store {
    table: ArcSwap<HashMap<Name, Arc<ZoneSlot>>>,
}

/// A zone found for a query name.
#[derive(Debug)]
pub struct Found {
    /// The zone's slot (for its expired mark).
    pub slot: Arc<ZoneSlot>,
    /// The zone's contents at the time of the lookup.
    pub zone: Arc<Zone>,
}

impl Store {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most specific loaded zone containing `qname`: one hash lookup per label, walking up
    /// from the name itself. Zones listed but not yet transferred are passed over, so a parent
    /// zone answers (with its referral) until the child arrives.
    pub fn find(&self, qname: &Name) -> Option<Found> {
        let table = self.table.load();
        if table.is_empty() {
            return None;
        }
        let qname = canonical(qname);
        let labels = label_count(&qname);
        (0..=labels).rev().find_map(|n| {
            let candidate = if n == labels {
                qname.clone()
            } else {
                qname.trim_to(n)
            };
            let slot = table.get(&candidate)?;
            let zone = slot.zone()?;
            Some(Found {
                slot: slot.clone(),
                zone,
            })
        })
    }

    /// The slot of the zone named exactly `origin`.
    pub fn slot(&self, origin: &Name) -> Option<Arc<ZoneSlot>> {
        self.table.load().get(&canonical(origin)).cloned()
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
    pub fn change(&self, remove: &[Name], add: &[(Name, Arc<ZoneSlot>)]) {
        if remove.is_empty() && add.is_empty() {
            return;
        }
        self.table.rcu(|old| {
            let mut table = HashMap::clone(old);
            for name in remove {
                table.remove(&canonical(name));
            }
            for (name, slot) in add {
                table.insert(canonical(name), slot.clone());
            }
            table
        });
    }

    /// Adds a loaded zone (static zones and tests).
    pub fn insert(&self, zone: Zone) -> Arc<ZoneSlot> {
        let name = zone.origin().clone();
        let slot = Arc::new(ZoneSlot::with_zone(zone));
        self.change(&[], &[(name, slot.clone())]);
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::SOA;
    use hickory_proto::rr::{RData, Record};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn zone(origin: &str) -> Zone {
        let soa = SOA::new(n("ns."), n("h."), 1, 1, 1, 1, 1);
        Zone::from_transfer(
            &n(origin),
            vec![Record::from_rdata(n(origin), 1, RData::SOA(soa))],
        )
        .unwrap()
    }

    #[test]
    fn finds_the_closest_zone() {
        let store = Store::new();
        assert!(store.find(&n("example.com.")).is_none());
        store.insert(zone("example.com."));
        store.insert(zone("sub.example.com."));
        let found = |q: &str| store.find(&n(q)).map(|f| f.zone.origin().to_ascii());
        assert_eq!(found("WWW.Example.com."), Some("example.com.".into()));
        assert_eq!(
            found("a.b.sub.example.com."),
            Some("sub.example.com.".into())
        );
        assert_eq!(found("sub.example.com"), Some("sub.example.com.".into()));
        assert_eq!(found("example.org."), None);
        assert_eq!(found("com."), None);

        // A listed zone not yet transferred is passed over.
        store.change(&[], &[(n("sub.example.com."), Arc::new(ZoneSlot::new()))]);
        assert_eq!(found("www.sub.example.com."), Some("example.com.".into()));
        store.change(&[n("Example.com.")], &[]);
        assert_eq!(found("www.example.com."), None);
        assert_eq!(store.len(), 1);
    }
}
