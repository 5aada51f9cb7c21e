//! NOTIFY (RFC 1996) to the fleet, TSIG-signed, and to nameservers outside it: a domain's own
//! secondaries (unsigned) and a customer catalog's (signed with the catalog's key); retried
//! with a doubling wait.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use apex_net::TsigKey;
use apex_net::client::{ClientError, notify, notify_with_retries};
use hickory_proto::rr::Name;

/// Tries per target before giving up (the SOA refresh timer is the fallback after that).
const ATTEMPTS: u32 = 5;

/// A fleet nameserver: its name (what receipts show), address, and the key signing its
/// NOTIFYs (its own, or the fleet's).
#[derive(Debug, Clone)]
pub struct FleetTarget {
    /// Its configured name.
    pub name: String,
    /// Where NOTIFY and SOA queries go.
    pub addr: SocketAddr,
    /// Signs its NOTIFYs.
    pub key: TsigKey,
}

/// NOTIFYs outside the fleet being retried: by zone and target, the newest serial and the key
/// to sign with.
type Outside = HashMap<(Name, SocketAddr), (u32, Option<TsigKey>)>;

/// Sends NOTIFY to every fleet nameserver.
pub struct Notifier {
    targets: RwLock<Vec<FleetTarget>>,
    /// NOTIFYs to nameservers outside the fleet still being retried, by zone and target, with
    /// the newest serial to announce: a target that does not answer gets one retry loop, not
    /// one per publish (customers choose these addresses).
    outside: Arc<Mutex<Outside>>,
}

impl Notifier {
    /// A notifier for `targets`.
    pub fn new(targets: Vec<FleetTarget>) -> Self {
        Self {
            targets: RwLock::new(targets),
            outside: Arc::default(),
        }
    }

    /// Adds a target, unless one of that name or address is there.
    pub fn add_target(&self, target: FleetTarget) {
        if let Ok(mut t) = self.targets.write()
            && !t
                .iter()
                .any(|o| o.name == target.name || o.addr == target.addr)
        {
            t.push(target);
        }
    }

    /// The fleet, by name (what change receipts show).
    pub fn fleet(&self) -> Vec<String> {
        self.targets
            .read()
            .map(|t| t.iter().map(|t| t.name.clone()).collect())
            .unwrap_or_default()
    }

    /// The fleet nameserver named `name`.
    pub fn target(&self, name: &str) -> Option<FleetTarget> {
        self.targets
            .read()
            .ok()
            .and_then(|t| t.iter().find(|t| t.name == name).cloned())
    }

    /// Announces `zone` at `serial` to one fleet nameserver, once, in the background (the
    /// sync watcher's reminder to a nameserver that has not caught up).
    pub fn remind(&self, target: &FleetTarget, zone: &Name, serial: u32) {
        let zone = zone.clone();
        let FleetTarget { addr, key, .. } = target.clone();
        tokio::spawn(async move {
            if let Err(e) = notify_with_retries(addr, &zone, serial, Some(&key), 1).await {
                tracing::debug!(zone.name = %zone, serial, target = %addr, error = %e, "reminder NOTIFY not acknowledged");
            }
        });
    }

    /// Announces `zone` at `serial` to every fleet nameserver, each signed with its key, in
    /// the background.
    pub fn announce(&self, zone: &Name, serial: u32) {
        let targets = self.targets.read().map(|t| t.clone()).unwrap_or_default();
        for t in targets {
            Self::send(zone, serial, vec![t.addr], Some(t.key));
        }
    }

    /// Announces `zone` at `serial` to nameservers outside the fleet (a domain's own
    /// secondaries, a customer catalog's), signed with `tsig` when given, in the background.
    /// A target still being retried for the zone is told the newer serial in the same loop.
    pub fn announce_outside(
        &self,
        zone: &Name,
        serial: u32,
        targets: Vec<SocketAddr>,
        tsig: Option<TsigKey>,
    ) {
        for target in targets {
            let key = (zone.clone(), target);
            {
                let Ok(mut inflight) = self.outside.lock() else {
                    return;
                };
                if let Some(s) = inflight.get_mut(&key) {
                    s.0 = serial;
                    if tsig.is_some() {
                        s.1.clone_from(&tsig);
                    }
                    continue;
                }
                inflight.insert(key.clone(), (serial, tsig.clone()));
            }
            tokio::spawn(retry_outside(self.outside.clone(), key));
        }
    }

    fn send(zone: &Name, serial: u32, targets: Vec<SocketAddr>, key: Option<TsigKey>) {
        for target in targets {
            let zone = zone.clone();
            let key = key.clone();
            tokio::spawn(async move {
                match notify_with_retries(target, &zone, serial, key.as_ref(), ATTEMPTS).await {
                    Ok(()) => {
                        tracing::debug!(zone.name = %zone, serial, %target, "notify acknowledged")
                    }
                    Err(e) => {
                        tracing::warn!(zone.name = %zone, serial, %target, error = %e, "notify failed")
                    }
                }
            });
        }
    }
}

/// The retry loop for one zone and one target outside the fleet: RFC 1996 retries (the wait
/// doubling from one second), always with the newest serial; ends when the newest serial is
/// acknowledged, refused, or the tries run out.
async fn retry_outside(inflight: Arc<Mutex<Outside>>, key: (Name, SocketAddr)) {
    let (zone, target) = (&key.0, key.1);
    let newest = || inflight.lock().ok().and_then(|m| m.get(&key).cloned());
    let done = || {
        if let Ok(mut m) = inflight.lock() {
            m.remove(&key);
        }
    };
    let mut wait = Duration::from_secs(1);
    let mut failures = 0;
    while let Some((serial, tsig)) = newest() {
        match notify(target, zone, serial, tsig.as_ref(), wait).await {
            Ok(()) => {
                let Ok(mut m) = inflight.lock() else { return };
                if m.get(&key).map(|(s, _)| *s) == Some(serial) {
                    m.remove(&key);
                    tracing::debug!(zone.name = %zone, serial, %target, "notify acknowledged");
                    return;
                }
                // A newer serial came meanwhile: announce that one too.
                wait = Duration::from_secs(1);
                failures = 0;
            }
            Err(e @ ClientError::Rcode(_)) => {
                tracing::warn!(zone.name = %zone, serial, %target, error = %e, "notify refused");
                done();
                return;
            }
            Err(e) => {
                failures += 1;
                if failures >= ATTEMPTS {
                    tracing::warn!(zone.name = %zone, serial, %target, error = %e, "notify failed");
                    done();
                    return;
                }
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}
