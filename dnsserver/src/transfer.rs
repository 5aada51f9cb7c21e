//! Fetching a zone from its primaries: SOA serial check, then IXFR from the serial we hold
//! (AXFR when we hold nothing, or when the primary cannot do IXFR), trying the primaries in
//! order and failing over to the next on any error.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apex_net::TsigKey;
use apex_net::client::query_soa;
use apex_net::xfr::{Ask, Delta, Transferred, transfer};
use apex_zone::catalog::CatalogError;
use apex_zone::dname::DName;
use apex_zone::record::ZoneRecord;
use apex_zone::serial::serial_gt;
use tokio::sync::Semaphore;

use crate::zone::ZoneError;

/// How long one SOA query may take.
const SOA_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one transfer may take, end to end.
const XFR_TIMEOUT: Duration = Duration::from_secs(300);
/// Most zone transfers running at once, so a large catalog does not open thousands of
/// connections to the primary at start.
const MAX_CONCURRENT_TRANSFERS: usize = 16;

/// Why a refresh failed. The zone keeps its current contents and retries later.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Every primary failed; one reason per primary.
    #[error("no primary could provide the zone: {0}")]
    Primaries(String),
    /// The transferred zone is unusable.
    #[error(transparent)]
    Zone(#[from] ZoneError),
    /// The transferred catalog is unusable.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Building the zone did not finish (the runtime is shutting down).
    #[error("zone build interrupted")]
    Interrupted,
}

/// What a refresh found.
#[derive(Debug)]
pub enum Fetched {
    /// The primary has nothing newer than our serial.
    Current,
    /// The whole zone, SOA first.
    Full {
        /// The records.
        records: Vec<ZoneRecord>,
        /// The primary that sent them.
        primary: SocketAddr,
    },
    /// The changes since our serial.
    Incremental {
        /// The new SOA.
        soa: ZoneRecord,
        /// The steps, oldest first.
        deltas: Vec<Delta>,
        /// The primary that sent them.
        primary: SocketAddr,
    },
}

/// Transfer counters, for metrics.
#[derive(Debug, Default)]
pub struct TransferStats {
    /// Full transfers completed.
    pub axfr: AtomicU64,
    /// Incremental transfers completed.
    pub ixfr: AtomicU64,
    /// SOA checks that found the zone current.
    pub current: AtomicU64,
    /// Refreshes that failed on every primary.
    pub failed: AtomicU64,
}

/// The primaries of one source (a catalog and its members), the key, and the bound on
/// concurrent transfers.
#[derive(Debug)]
pub struct Primaries {
    addrs: Vec<SocketAddr>,
    key: TsigKey,
    transfers: Semaphore,
}

impl Primaries {
    /// The primaries in order of preference, signing everything with `key`.
    pub fn new(addrs: Vec<SocketAddr>, key: TsigKey) -> Self {
        Self {
            addrs,
            key,
            transfers: Semaphore::new(MAX_CONCURRENT_TRANSFERS),
        }
    }

    /// The addresses.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Brings `zone` up to date from the first primary that can: nothing when its serial is
    /// not newer than `current` (RFC 1982), IXFR when we hold a copy, AXFR otherwise or when
    /// IXFR fails.
    pub async fn refresh(
        &self,
        zone: &DName,
        current: Option<u32>,
        stats: &TransferStats,
    ) -> Result<Fetched, RefreshError> {
        let result = self.refresh_inner(zone, current).await;
        let counter = match &result {
            Ok(Fetched::Current) => &stats.current,
            Ok(Fetched::Full { .. }) => &stats.axfr,
            Ok(Fetched::Incremental { .. }) => &stats.ixfr,
            Err(_) => &stats.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    async fn refresh_inner(
        &self,
        zone: &DName,
        current: Option<u32>,
    ) -> Result<Fetched, RefreshError> {
        let mut errors = Vec::new();
        let name = zone.to_name();
        for &primary in &self.addrs {
            let Some(serial) = current else {
                match self.xfr(primary, zone, Ask::Axfr).await {
                    Ok(fetched) => return Ok(fetched),
                    Err(e) => {
                        errors.push(format!("{primary}: AXFR: {e}"));
                        continue;
                    }
                }
            };
            match query_soa(primary, &name, Some(&self.key), SOA_TIMEOUT).await {
                Ok(Some(soa)) if !serial_gt(soa.serial, serial) => {
                    tracing::debug!(zone.name = %zone, serial, primary = %primary, "zone is current");
                    return Ok(Fetched::Current);
                }
                Ok(Some(soa)) => {
                    tracing::debug!(zone.name = %zone, serial = soa.serial, primary = %primary, "primary has a newer serial");
                }
                Ok(None) => {
                    errors.push(format!("{primary}: does not serve the zone"));
                    continue;
                }
                Err(e) => {
                    errors.push(format!("{primary}: SOA query: {e}"));
                    continue;
                }
            }
            match self.xfr(primary, zone, Ask::Ixfr { serial }).await {
                Ok(fetched) => return Ok(fetched),
                Err(e) => {
                    tracing::info!(zone.name = %zone, primary = %primary, error = %e, "IXFR failed, trying AXFR");
                }
            }
            match self.xfr(primary, zone, Ask::Axfr).await {
                Ok(fetched) => return Ok(fetched),
                Err(e) => errors.push(format!("{primary}: AXFR: {e}")),
            }
        }
        Err(RefreshError::Primaries(errors.join("; ")))
    }

    /// A full transfer, whatever we hold (after an IXFR that could not be applied).
    pub async fn full(&self, zone: &DName, stats: &TransferStats) -> Result<Fetched, RefreshError> {
        self.refresh(zone, None, stats).await
    }

    async fn xfr(
        &self,
        primary: SocketAddr,
        zone: &DName,
        ask: Ask,
    ) -> Result<Fetched, apex_net::client::ClientError> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.transfers.acquire().await;
        Ok(
            match transfer(primary, zone, ask, Some(&self.key), XFR_TIMEOUT).await? {
                Transferred::UpToDate { .. } => Fetched::Current,
                Transferred::Full(records) => Fetched::Full { records, primary },
                Transferred::Incremental { soa, deltas } => Fetched::Incremental {
                    soa,
                    deltas,
                    primary,
                },
            },
        )
    }
}
