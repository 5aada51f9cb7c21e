//! The sync watcher: after a publish, ask each fleet nameserver for the zone's SOA until it
//! serves the new serial, and record the receipts ([`apex_core::fleet`]).
//!
//! One watcher runs per zone at a time and follows whatever versions of it are waiting, so a
//! burst of publishes does not start a burst of pollers. It polls quickly at first (a healthy
//! fleet takes a few milliseconds to transfer a change) and backs off to every few seconds;
//! after [`GIVE_UP`] it stops, leaving the version `published`. A worker that restarts picks
//! waiting zones up again from Postgres (the reconciler calls [`Watchers::resume`]).
//!
//! A nameserver that stays behind is sent NOTIFY again (after a second, then doubling up to
//! [`MAX_REMIND`]): its transfer may have been cut (the worker it was transferring from was
//! killed), and without a reminder it would wait for the SOA retry timer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apex_core::fleet;
use apex_core::ids::DomainId;
use apex_net::client::query_soa;
use hickory_proto::rr::Name;
use sqlx::PgPool;

use crate::notify::Notifier;

/// How long a watcher keeps asking.
pub const GIVE_UP: Duration = Duration::from_secs(15 * 60);

/// First wait between rounds; doubled each round up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(2);
const MAX_WAIT: Duration = Duration::from_secs(5);
/// Longest wait between reminder NOTIFYs to a nameserver that stays behind.
const MAX_REMIND: Duration = Duration::from_secs(30);
/// Per SOA query.
const QUERY_TIMEOUT: Duration = Duration::from_millis(800);

/// The zones being watched.
#[derive(Clone, Default)]
pub struct Watchers {
    running: Arc<Mutex<HashSet<DomainId>>>,
}

impl Watchers {
    /// Starts watching `domain` (named `zone`) unless a watcher for it already runs.
    pub fn watch(&self, pool: &PgPool, notifier: &Arc<Notifier>, domain: DomainId, zone: Name) {
        if !self.claim(domain) {
            return;
        }
        let me = self.clone();
        let pool = pool.clone();
        let notifier = notifier.clone();
        tokio::spawn(async move {
            loop {
                let gave_up = match watch_zone(&pool, &notifier, domain, &zone).await {
                    Ok(gave_up) => gave_up,
                    Err(e) => {
                        tracing::warn!(zone.name = %zone, error = %e, "fleet sync watcher failed");
                        false
                    }
                };
                if gave_up {
                    me.release(domain);
                    break;
                }
                // Release, then look once more: a publish that found this watcher still
                // running did not start one of its own.
                me.release(domain);
                let more = fleet::waiting(&pool, domain)
                    .await
                    .is_ok_and(|w| !w.is_empty());
                if !more || !me.claim(domain) {
                    break;
                }
            }
        });
    }

    /// Restarts watchers for zones published recently whose versions are still waiting.
    pub async fn resume(
        &self,
        pool: &PgPool,
        notifier: &Arc<Notifier>,
    ) -> Result<(), apex_core::CoreError> {
        for domain in fleet::domains_waiting(pool, GIVE_UP).await? {
            if self.is_running(domain) {
                continue;
            }
            let name = apex_core::domain::name_of(pool, domain).await?;
            if let Some(name) = name
                && let Ok(zone) = Name::from_ascii(format!("{name}."))
            {
                self.watch(pool, notifier, domain, zone);
            }
        }
        Ok(())
    }

    fn claim(&self, domain: DomainId) -> bool {
        self.running.lock().is_ok_and(|mut r| r.insert(domain))
    }

    fn release(&self, domain: DomainId) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(&domain);
        }
    }

    fn is_running(&self, domain: DomainId) -> bool {
        self.running.lock().is_ok_and(|r| r.contains(&domain))
    }
}

/// Polls until no version of the zone is waiting (false), or until [`GIVE_UP`] (true).
async fn watch_zone(
    pool: &PgPool,
    notifier: &Notifier,
    domain: DomainId,
    zone: &Name,
) -> Result<bool, apex_core::CoreError> {
    let started = tokio::time::Instant::now();
    let mut wait = FIRST_WAIT;
    // Per nameserver: when to remind it next, and the wait after that.
    let mut reminders: HashMap<String, (tokio::time::Instant, Duration)> = HashMap::new();
    loop {
        let waiting = fleet::waiting(pool, domain).await?;
        if waiting.is_empty() {
            return Ok(false);
        }
        if started.elapsed() > GIVE_UP {
            tracing::warn!(zone.name = %zone, waiting = waiting.len(), "fleet not in sync; stopped asking");
            return Ok(true);
        }
        // The newest serial each nameserver is awaited at.
        let mut servers: BTreeMap<String, u32> = BTreeMap::new();
        for w in waiting {
            let newest = servers.entry(w.nameserver).or_insert(w.serial);
            if apex_zone::serial::serial_gt(w.serial, *newest) {
                *newest = w.serial;
            }
        }
        let targets = servers.clone();
        let mut asks = tokio::task::JoinSet::new();
        for ns in servers.into_keys() {
            let zone = zone.clone();
            // A nameserver no longer in the fleet is not asked (its rows go with the version).
            let target = notifier.target(&ns);
            asks.spawn(async move {
                let serial = match target {
                    Some(t) => query_soa(t.addr, &zone, None, QUERY_TIMEOUT)
                        .await
                        .ok()
                        .flatten()
                        .map(|s| s.serial),
                    None => None,
                };
                (ns, serial)
            });
        }
        let answers = asks.join_all().await;
        let mut progressed = false;
        // What the nameservers answered, marked in one transaction (one commit per round,
        // not one per nameserver: each is a disk flush, and edits wait on the same disk).
        let mut tx = None;
        let mut marked = Vec::new();
        for (ns, serial) in answers {
            let behind = targets.get(&ns).is_some_and(|&want| {
                serial.is_none_or(|s| s != want && !apex_zone::serial::serial_gt(s, want))
            });
            if behind && let (Some(&want), Some(target)) = (targets.get(&ns), notifier.target(&ns))
            {
                let now = tokio::time::Instant::now();
                let (due, gap) = reminders
                    .entry(ns.clone())
                    .or_insert((started + Duration::from_secs(1), Duration::from_secs(1)));
                if now >= *due {
                    tracing::info!(zone.name = %zone, serial = want, nameserver = %ns, "nameserver behind; NOTIFY again");
                    notifier.remind(&target, zone, want);
                    *gap = (*gap * 2).min(MAX_REMIND);
                    *due = now + *gap;
                }
            }
            let Some(serial) = serial else { continue };
            let tx = match &mut tx {
                Some(tx) => tx,
                None => tx.insert(pool.begin().await?),
            };
            let done = fleet::seen(tx, domain, &ns, serial).await?;
            // `zone.in_sync` webhooks go with the marking, in the same transaction.
            for s in &done {
                let payload = serde_json::json!({
                    "zone": zone.to_ascii().trim_end_matches('.'),
                    "serial": s,
                });
                apex_core::webhooks::enqueue(
                    tx,
                    domain,
                    apex_core::webhooks::ZONE_IN_SYNC,
                    payload,
                )
                .await?;
            }
            marked.extend(done);
        }
        if let Some(tx) = tx {
            tx.commit().await?;
        }
        for s in marked {
            progressed = true;
            tracing::info!(zone.name = %zone, serial = s, "zone version in sync on the fleet");
        }
        if progressed {
            wait = FIRST_WAIT;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_WAIT);
    }
}
