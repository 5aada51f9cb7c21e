//! apex-dnsserver: the public nameserver of Apex.
//!
//! An authoritative server that follows RFC 9432 catalog zones from hidden primaries (AXFR and
//! IXFR with TSIG, NOTIFY, SOA timers) and serves zones from files too, answering from memory
//! and keeping copies on disk so a restart answers at once.
//!
//! - [`config`]: the TOML file, or the same structs built in code.
//! - [`zone`] and [`store`]: one zone as the answer path sees it (pre-encoded records, a hash
//!   index of names), and the table of zones, swapped atomically.
//! - [`answer`]: RFC 1034 section 4.3.2 on the wire, as a pure function of the table and a
//!   packet.
//! - `server`, `udp`, `tcp`: requests in and replies out; `rrl` and `metrics` around them.
//! - `secondary`, `transfer`, `notify`, `persist`: the engine that keeps the table current,
//!   in tasks of its own, and its copies on disk; `membership` decides what a catalog's
//!   member list changes, for `secondary` to carry out.
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
pub mod config;
mod forward;
mod membership;
pub mod metrics;
mod notify;
pub mod persist;
pub mod rrl;
mod secondary;
mod server;
pub mod store;
mod tcp;
mod transfer;
mod udp;
pub mod zone;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use apex_zone::dname::DName;
use apex_zone::zonefile::{ParseOptions, parse};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use config::{CatalogConfig, Config, ConfigError};
pub use server::Server;

use metrics::Metrics;
use secondary::Engine;
use store::Store;
use udp::UdpThreads;
use zone::Zone;

/// A started nameserver. Dropping it (or calling [`Running::shutdown`]) stops every task and
/// thread: the serving loops, the catalog tasks and the member zone tasks.
#[derive(Debug)]
pub struct Running {
    addrs: Vec<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
    tasks: JoinSet<()>,
    udp: Vec<UdpThreads>,
    engine: Arc<Engine>,
    store: Arc<Store>,
}

impl Running {
    /// The addresses actually bound, in the order of `listen` (port 0 resolved), each serving
    /// UDP and TCP.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Where metrics are served, if configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The serial of `zone` as currently served, if it is loaded.
    pub fn zone_serial(&self, zone: &hickory_proto::rr::Name) -> Option<u32> {
        self.store
            .slot(&DName::from_name(zone))
            .and_then(|slot| slot.zone())
            .map(|z| z.serial())
    }

    /// Zone refreshes so far: (full transfers, incremental transfers, found current, failed).
    pub fn transfer_counts(&self) -> (u64, u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.engine.stats;
        (
            s.axfr.load(Relaxed),
            s.ixfr.load(Relaxed),
            s.current.load(Relaxed),
            s.failed.load(Relaxed),
        )
    }

    /// Number of zones listed (loaded or not).
    pub fn zone_count(&self) -> usize {
        self.store.len()
    }

    /// Waits until a task stops, which only happens if it failed: the serving loops and zone
    /// tasks run until shut down.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        match self.tasks.join_next().await {
            Some(Err(e)) => Err(anyhow::anyhow!("a nameserver task failed: {e}")),
            Some(Ok(())) => Err(anyhow::anyhow!("a nameserver task stopped")),
            None => std::future::pending().await,
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
        self.udp.clear();
    }
}

/// A `[[zone]]` file that could not be loaded: the zone is listed but answers SERVFAIL.
#[derive(Debug, Clone)]
pub struct StaticFailure {
    /// The zone.
    pub zone: DName,
    /// Why, naming the file (and the lines at fault).
    pub error: String,
}

/// Reads and builds the zones served from files. A file that cannot be read or loaded does
/// not stop the others (NSD and Knot behave the same): it comes back as a failure.
fn load_static(zones: &[config::StaticZone]) -> (Vec<Zone>, Vec<StaticFailure>) {
    let mut out = Vec::with_capacity(zones.len());
    let mut failures = Vec::new();
    for z in zones {
        match load_one(z) {
            Ok(zone) => {
                tracing::info!(zone.name = %z.name, serial = zone.serial(), records = zone.record_count(), bytes = zone.heap_bytes(), file = %z.file.display(), "zone loaded from file");
                out.push(zone);
            }
            Err(e) => {
                let error = format!("{e:#}");
                tracing::error!(zone.name = %z.name, file = %z.file.display(), error = %error, "zone file not loaded: the zone answers SERVFAIL");
                failures.push(StaticFailure {
                    zone: z.name.clone(),
                    error,
                });
            }
        }
    }
    (out, failures)
}

fn load_one(z: &config::StaticZone) -> anyhow::Result<Zone> {
    {
        let text = std::fs::read(&z.file)
            .with_context(|| format!("zone {}: cannot read {}", z.name, z.file.display()))?;
        let read = || {
            let options = ParseOptions {
                keep_dnssec: true,
                ..ParseOptions::default()
            };
            let parsed = parse(&text, &z.name, options).map_err(|errors| {
                errors
                    .iter()
                    .take(10)
                    .map(|e| {
                        format!(
                            "{}:{}:{}: {}",
                            z.file.display(),
                            e.line,
                            e.column,
                            e.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            let mut records = parsed.records;
            records.extend(parsed.soa);
            Ok::<_, String>(records)
        };
        Zone::build_compact(z.name.clone(), read)
            .map_err(|e| anyhow::anyhow!("zone {}: {e}", z.name))?
            .with_context(|| format!("zone {}", z.name))
    }
}

/// Reads every `[[zone]]` file as start-up would (for `--check-config`): the number of zones
/// loaded, or an error listing every zone that failed (start-up would serve the others).
pub fn check_zone_files(config: &Config) -> anyhow::Result<usize> {
    let (zones, failures) = load_static(&config.zones);
    if failures.is_empty() {
        return Ok(zones.len());
    }
    let listed: Vec<String> = failures.iter().map(|f| f.error.clone()).collect();
    anyhow::bail!(
        "{} of {} zone files cannot be loaded (the nameserver would answer SERVFAIL for them):\n{}",
        failures.len(),
        config.zones.len(),
        listed.join("\n")
    )
}

/// Binds UDP (`threads` sockets) and TCP on `addr`, the same port for both.
fn bind(
    addr: SocketAddr,
    threads: usize,
) -> anyhow::Result<(Vec<std::net::UdpSocket>, std::net::TcpListener, SocketAddr)> {
    let mut last = None;
    // With port 0 the UDP port picked may be taken for TCP: try a few.
    for _ in 0..16 {
        let first = udp::bind(addr)?;
        let bound = first.local_addr()?;
        let tcp = match std::net::TcpListener::bind(bound) {
            Ok(l) => l,
            Err(e) if addr.port() == 0 => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        tcp.set_nonblocking(true)?;
        let mut sockets = vec![first];
        for _ in 1..threads {
            sockets.push(udp::bind(bound)?);
        }
        return Ok((sockets, tcp, bound));
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no free port"), Into::into))
}

/// Loads the static zones and the copies on disk, binds every `listen` address (UDP and TCP)
/// and starts answering, then starts following the catalogs. Returns once the sockets are
/// bound; zones not on disk appear as their transfers complete.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    config.validate()?;
    if let Some(dir) = &config.data_dir {
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("data_dir: cannot create {}", dir.display()))?;
    }
    let store = Arc::new(Store::new());
    let statics_config = config.zones.clone();
    let (statics, failures) =
        tokio::task::spawn_blocking(move || load_static(&statics_config)).await?;
    let mut static_names: HashSet<DName> = statics.iter().map(|z| z.apex().clone()).collect();
    for zone in statics {
        store.insert(zone);
    }
    // A zone whose file failed stays ours (no catalog may take it) and answers SERVFAIL, so
    // resolvers ask the other nameservers, until the file is fixed and the server restarted.
    for f in &failures {
        let slot = Arc::new(store::ZoneSlot::new());
        slot.set_expired(true);
        store.change(&[], &[(f.zone.clone(), slot)]);
        static_names.insert(f.zone.clone());
    }
    let engine = Engine::new(
        store.clone(),
        &config.catalogs,
        config.data_dir.clone(),
        static_names,
    );
    let restored = std::time::Instant::now();
    engine.restore().await;
    if config.data_dir.is_some() {
        tracing::info!(zones = store.len(), elapsed = ?restored.elapsed(), "copies on disk loaded");
    }
    let metrics = Arc::new(Metrics::default());
    metrics.set_static_failures(failures.iter().map(|f| f.zone.to_string()).collect());
    let server = Arc::new(Server::new(
        store.clone(),
        engine.clone(),
        config.transfer.allow.clone(),
        metrics.clone(),
        config.update_target(),
    ));
    // Built first so that a bind failure part-way drops (and stops) what was started.
    let mut running = Running {
        addrs: Vec::with_capacity(config.listen.len()),
        metrics_addr: None,
        tasks: JoinSet::new(),
        udp: Vec::new(),
        engine: engine.clone(),
        store: store.clone(),
    };
    let threads = config.udp_thread_count();
    for addr in &config.listen {
        let (sockets, tcp, bound) =
            bind(*addr, threads).with_context(|| format!("listen: cannot bind {addr}"))?;
        running
            .udp
            .push(UdpThreads::start(sockets, server.clone(), &config.rrl)?);
        let listener = TcpListener::from_std(tcp)?;
        running
            .tasks
            .spawn(tcp::serve(listener, server.clone(), config.tcp));
        tracing::info!(address = %bound, udp_threads = threads, "answering on UDP and TCP");
        running.addrs.push(bound);
    }
    for follow in engine.follow_catalogs() {
        running.tasks.spawn(follow);
    }
    for c in &config.catalogs {
        tracing::info!(zone.name = %c.name, primaries = ?c.primaries, "following the catalog");
    }
    if let Some(addr) = config.metrics {
        let (bound, serve) = metrics::serve(addr, metrics, store, engine)
            .await
            .with_context(|| format!("metrics: cannot bind {addr}"))?;
        running.tasks.spawn(serve);
        running.metrics_addr = Some(bound);
        tracing::info!(address = %bound, "metrics at /metrics");
    }
    Ok(running)
}

/// Starts the nameserver and runs it until a task fails.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut running = start(config).await?;
    running.wait().await
}
