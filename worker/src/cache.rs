//! Published zones kept in memory ([`LiveZone`]), so the next change to a zone is applied and
//! signed incrementally instead of rendering and signing the whole zone again.
//!
//! An entry is only ever used for the serial it was published at, with the DNSSEC settings it
//! was made with; anything else (another worker published in between, the settings changed)
//! is a miss and the zone is published in full, which makes a new entry. Entries are taken
//! out while a publish works on them, so a failed publish leaves none behind. The least
//! recently used entries go when the records held pass the budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use apex_core::ids::DomainId;
use apex_zone::live::LiveZone;

/// A zone as published.
pub struct Cached {
    /// The serial it was published at.
    pub serial: u32,
    /// The DNSSEC settings it was made with.
    pub fingerprint: String,
    /// The zone.
    pub live: LiveZone,
    used: Instant,
}

impl Cached {
    /// An entry for `live` published at `serial`.
    pub fn new(serial: u32, fingerprint: String, live: LiveZone) -> Self {
        Self {
            serial,
            fingerprint,
            live,
            used: Instant::now(),
        }
    }
}

/// The worker's zones in memory.
pub struct ZoneCache {
    zones: Mutex<HashMap<DomainId, Cached>>,
    /// Most records held over all zones.
    budget: usize,
}

impl ZoneCache {
    /// A cache holding at most `budget` records.
    pub fn new(budget: usize) -> Self {
        Self {
            zones: Mutex::new(HashMap::new()),
            budget,
        }
    }

    /// Takes the entry of `domain` out, if any.
    pub fn take(&self, domain: DomainId) -> Option<Cached> {
        self.zones.lock().ok()?.remove(&domain)
    }

    /// Puts an entry (back) in, dropping the least recently used ones beyond the budget.
    pub fn put(&self, domain: DomainId, mut entry: Cached) {
        if entry.live.len() > self.budget {
            return;
        }
        entry.used = Instant::now();
        let Ok(mut zones) = self.zones.lock() else {
            return;
        };
        zones.insert(domain, entry);
        let mut held: usize = zones.values().map(|c| c.live.len()).sum();
        while held > self.budget {
            let Some((&oldest, _)) = zones.iter().min_by_key(|(_, c)| c.used) else {
                break;
            };
            if let Some(gone) = zones.remove(&oldest) {
                held -= gone.live.len();
            }
        }
    }
}
