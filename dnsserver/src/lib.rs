//! apex-dnsserver: the public nameserver of Apex.
//!
//! A secondary that follows an RFC 9432 catalog zone from the hidden primaries: it transfers
//! the catalog and every member zone by AXFR with TSIG, keeps them current on NOTIFY (the fast
//! path) and on SOA timers (the fallback), and answers authoritatively from memory.
//!
//! - [`config`]: the TOML file, or the same structs built in code.
//! - [`zone`] and [`store`]: one zone as the answer path sees it, and the table of zones,
//!   swapped atomically.
//! - [`answer`]: RFC 1034 section 4.3.2 as a pure function of the table and a request.
//! - `secondary`, `transfer`, `catalog`, `notify`: the engine that keeps the table current,
//!   in tasks of its own.
//!
//! Embedding (as `apex all` does):
//!
//! ```no_run
//! # async fn demo(config: apex_dnsserver::Config) -> anyhow::Result<()> {
//! let running = apex_dnsserver::start(config).await?;
//! println!("answering on {:?}", running.local_addrs());
//! running.shutdown();
//! # Ok(()) }
//! ```

pub mod answer;
mod catalog;
pub mod config;
mod notify;
mod secondary;
mod server;
pub mod store;
mod transfer;
pub mod zone;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use apex_net::server::{TcpLimits, bind_both, serve_tcp, serve_udp};
use hickory_proto::rr::Name;
use tokio::task::JoinSet;

pub use config::{CatalogConfig, Config, ConfigError};
pub use server::Server;

use secondary::Engine;
use store::Store;

/// A started nameserver. Dropping it (or calling [`Running::shutdown`]) stops every task:
/// the serving loops, the catalog task and the member zone tasks.
#[derive(Debug)]
pub struct Running {
    addrs: Vec<SocketAddr>,
    tasks: JoinSet<()>,
    engine: Arc<Engine>,
    store: Arc<Store>,
}

impl Running {
    /// The addresses actually bound, in the order of `listen` (port 0 resolved), each serving
    /// UDP and TCP.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The serial of `zone` as currently served, if it is loaded.
    pub fn zone_serial(&self, zone: &Name) -> Option<u32> {
        self.store
            .slot(zone)
            .and_then(|slot| slot.zone())
            .map(|z| z.serial())
    }

    /// Number of member zones listed by the catalog (loaded or not).
    pub fn zone_count(&self) -> usize {
        self.store.len()
    }

    /// Waits until a task stops, which only happens if it failed: the serving loops and zone
    /// tasks run until shut down.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        match self.tasks.join_next().await {
            Some(Err(e)) => Err(anyhow::anyhow!("a nameserver task failed: {e}")),
            Some(Ok(())) => Err(anyhow::anyhow!("a nameserver task stopped")),
            None => Ok(()),
        }
    }

    /// Stops the nameserver.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The JoinSet aborts its own tasks when dropped; member tasks belong to the engine.
        self.tasks.abort_all();
        self.engine.shutdown();
    }
}

/// Binds every `listen` address (UDP and TCP), starts answering, and starts following the
/// catalog. Returns once the sockets are bound; zones appear as their transfers complete.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    config.validate()?;
    if let Some(dir) = &config.data_dir {
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("data_dir: cannot create {}", dir.display()))?;
    }
    let store = Arc::new(Store::new());
    let engine = Engine::new(store.clone(), &config.catalog);
    let server = Arc::new(Server::new(
        store.clone(),
        engine.clone(),
        config.catalog.tsig_key.clone(),
        config
            .catalog
            .primaries
            .iter()
            .map(SocketAddr::ip)
            .collect(),
    ));
    // Built first so that a bind failure part-way drops (and stops) what was started.
    let mut running = Running {
        addrs: Vec::with_capacity(config.listen.len()),
        tasks: JoinSet::new(),
        engine: engine.clone(),
        store,
    };
    for addr in &config.listen {
        let (udp, tcp, bound) = bind_both(*addr)
            .await
            .with_context(|| format!("listen: cannot bind {addr}"))?;
        running.tasks.spawn(serve_udp(udp, server.clone()));
        running
            .tasks
            .spawn(serve_tcp(tcp, server.clone(), TcpLimits::default()));
        tracing::info!(address = %bound, "answering on UDP and TCP");
        running.addrs.push(bound);
    }
    running.tasks.spawn(engine.follow_catalog());
    tracing::info!(
        zone.name = %config.catalog.name,
        primaries = ?config.catalog.primaries,
        "following the catalog"
    );
    Ok(running)
}

/// Starts the nameserver and runs it until a task fails.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut running = start(config).await?;
    running.wait().await
}
