//! Fetching a zone from the primaries: SOA serial check, then AXFR when the primary is newer,
//! trying the primaries in order and failing over to the next on any error.

use std::net::SocketAddr;
use std::time::Duration;

use apex_net::TsigKey;
use apex_net::client::{axfr, query_soa};
use apex_zone::catalog::CatalogError;
use apex_zone::serial::serial_gt;
use hickory_proto::rr::{Name, Record};
use tokio::sync::Semaphore;

use crate::zone::ZoneError;

/// How long one SOA query may take.
const SOA_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one AXFR may take, end to end.
const AXFR_TIMEOUT: Duration = Duration::from_secs(300);

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
    /// A full transfer, SOA first.
    New {
        /// The records.
        records: Vec<Record>,
        /// The primary that sent them.
        primary: SocketAddr,
    },
}

/// The primaries, the key, and the bound on concurrent transfers.
#[derive(Debug)]
pub struct Primaries {
    addrs: Vec<SocketAddr>,
    key: TsigKey,
    transfers: Semaphore,
}

/// Most zone transfers running at once, so a large catalog does not open thousands of
/// connections to the primary at start.
const MAX_CONCURRENT_TRANSFERS: usize = 16;

impl Primaries {
    /// The primaries in order of preference, signing everything with `key`.
    pub fn new(addrs: Vec<SocketAddr>, key: TsigKey) -> Self {
        Self {
            addrs,
            key,
            transfers: Semaphore::new(MAX_CONCURRENT_TRANSFERS),
        }
    }

    /// Transfers `zone` if the first primary that answers has a serial newer than `current`
    /// (RFC 1982), or unconditionally when there is no current copy.
    pub async fn refresh(
        &self,
        zone: &Name,
        current: Option<u32>,
    ) -> Result<Fetched, RefreshError> {
        let Some(current) = current else {
            return self.transfer(zone).await;
        };
        let mut errors = Vec::new();
        for &primary in &self.addrs {
            match query_soa(primary, zone, Some(&self.key), SOA_TIMEOUT).await {
                Ok(Some(soa)) if !serial_gt(soa.serial, current) => {
                    tracing::debug!(zone.name = %zone, serial = current, primary = %primary, "zone is current");
                    return Ok(Fetched::Current);
                }
                Ok(Some(soa)) => {
                    tracing::debug!(zone.name = %zone, serial = soa.serial, primary = %primary, "primary has a newer serial");
                    match self.axfr_from(primary, zone).await {
                        Ok(records) => return Ok(Fetched::New { records, primary }),
                        Err(e) => errors.push(format!("{primary}: {e}")),
                    }
                }
                Ok(None) => errors.push(format!("{primary}: does not serve the zone")),
                Err(e) => errors.push(format!("{primary}: SOA query: {e}")),
            }
        }
        Err(RefreshError::Primaries(errors.join("; ")))
    }

    /// Transfers `zone` from the first primary that delivers it.
    pub async fn transfer(&self, zone: &Name) -> Result<Fetched, RefreshError> {
        let mut errors = Vec::new();
        for &primary in &self.addrs {
            match self.axfr_from(primary, zone).await {
                Ok(records) => return Ok(Fetched::New { records, primary }),
                Err(e) => errors.push(format!("{primary}: {e}")),
            }
        }
        Err(RefreshError::Primaries(errors.join("; ")))
    }

    async fn axfr_from(
        &self,
        primary: SocketAddr,
        zone: &Name,
    ) -> Result<Vec<Record>, apex_net::client::ClientError> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.transfers.acquire().await;
        axfr(primary, zone, Some(&self.key), AXFR_TIMEOUT).await
    }
}
