//! NOTIFY (RFC 1996) to the fleet, TSIG-signed, and to a domain's own secondaries outside
//! it, unsigned; retried with a doubling wait.

use std::net::SocketAddr;
use std::sync::RwLock;

use apex_net::TsigKey;
use apex_net::client::notify_with_retries;
use hickory_proto::rr::Name;

/// Tries per target before giving up (the SOA refresh timer is the fallback after that).
const ATTEMPTS: u32 = 5;

/// Sends NOTIFY to every fleet nameserver.
pub struct Notifier {
    targets: RwLock<Vec<SocketAddr>>,
    key: TsigKey,
}

impl Notifier {
    /// A notifier for `targets`, signing with `key`.
    pub fn new(targets: Vec<SocketAddr>, key: TsigKey) -> Self {
        Self {
            targets: RwLock::new(targets),
            key,
        }
    }

    /// Adds a target.
    pub fn add_target(&self, target: SocketAddr) {
        if let Ok(mut t) = self.targets.write()
            && !t.contains(&target)
        {
            t.push(target);
        }
    }

    /// The fleet, as `address:port` texts (what change receipts name).
    pub fn fleet(&self) -> Vec<String> {
        self.targets
            .read()
            .map(|t| t.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    /// Announces `zone` at `serial` to one fleet nameserver, once, in the background (the
    /// sync watcher's reminder to a nameserver that has not caught up).
    pub fn remind(&self, target: SocketAddr, zone: &Name, serial: u32) {
        let zone = zone.clone();
        let key = self.key.clone();
        tokio::spawn(async move {
            if let Err(e) = notify_with_retries(target, &zone, serial, Some(&key), 1).await {
                tracing::debug!(zone.name = %zone, serial, %target, error = %e, "reminder NOTIFY not acknowledged");
            }
        });
    }

    /// Announces `zone` at `serial` to every fleet nameserver, in the background.
    pub fn announce(&self, zone: &Name, serial: u32) {
        let targets = self.targets.read().map(|t| t.clone()).unwrap_or_default();
        Self::send(zone, serial, targets, Some(self.key.clone()));
    }

    /// Announces `zone` at `serial` to nameservers outside the fleet (a domain's own
    /// secondaries), unsigned, in the background.
    pub fn announce_unsigned(&self, zone: &Name, serial: u32, targets: Vec<SocketAddr>) {
        Self::send(zone, serial, targets, None);
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
