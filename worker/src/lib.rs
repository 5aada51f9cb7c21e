//! apex-worker: the publishing pipeline.
//!
//! ```text
//!  API write ──commit──▶ domains.wanted_serial ahead of published_serial
//!      │                         ▲
//!      └─XADD─▶ Redis stream ─▶ consumer ─┐      reconciler (every few seconds, and
//!                                         ├─▶ publish ◀── whenever Redis is down)
//!                                         │     │
//!                                         │     ▼ render → store version → mark published
//!                                         │     ▼
//!                                         └── NOTIFY fleet ──▶ apex-dnsserver ──AXFR+TSIG──▶ transfer server
//! ```
//!
//! - [`publish`]: one zone from committed to published, idempotent; incremental when the
//!   zone is in [`cache`]. It decides and orchestrates; its reads and writes are
//!   `apex_core::publishing`'s (the worker has no SQL of its own).
//! - [`consumer`]: reads the Redis stream through [`apex_core::queue`] (which owns the
//!   protocol: names, encoding, group, reading, acknowledging, claiming) and runs each job.
//! - [`reconciler`]: republishes whatever is behind, so losing Redis loses nothing.
//! - [`transfer`]: the hidden primary: SOA and AXFR over TCP, TSIG-signed.
//! - [`notify`]: NOTIFY to the fleet with retries.
//! - [`sync`]: asks the fleet for the new serial until it serves it (change receipts).
//! - [`webhooks`]: sends the domains' webhook deliveries, with retries.
//! - [`mail`]: sends the mail outbox over SMTP (or logs it when no server is configured).
//! - [`retry`]: the backoff both of them follow.
//!
//! The worker reads and writes Postgres through apex-core functions (`mail::outbox`,
//! `webhooks::delivery`, `jobs::behind`, `domains`, `fleet`, `versions` …), not SQL of its own.

pub mod axfr;
pub mod cache;
pub mod consumer;
pub mod mail;
pub mod notify;
pub mod publish;
pub mod reconciler;
pub mod retry;
pub mod sync;
pub mod transfer;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apex_core::Core;
use apex_core::ids::DomainId;
use apex_net::TsigKey;
use tokio::task::JoinSet;

use crate::notify::Notifier;

/// What a worker needs beyond the platform core.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Where the transfer server listens (port 0 picks one), who may use it, and its limits.
    pub transfer: transfer::Listeners,
    /// Fleet nameservers to NOTIFY, each with its name and key.
    pub notify: Vec<notify::FleetTarget>,
    /// The fleet's TSIG keys: the transfer server accepts each of them (a nameserver's own
    /// key, both keys of a rollover).
    pub tsig_keys: Vec<TsigKey>,
    /// Zone versions kept per zone.
    pub keep_versions: u32,
    /// Seconds between reconciler passes.
    pub reconcile_interval: Duration,
    /// Webhook deliveries: how often to look for due ones, and the first retry's wait.
    pub webhooks: webhooks::Settings,
    /// Mail: the SMTP server (none: mail is logged), the sender, polling and retries.
    pub mail: mail::Settings,
}

/// Shared by the worker's tasks.
pub struct Context {
    /// Platform data.
    pub core: Core,
    /// NOTIFY sender.
    pub notifier: Arc<Notifier>,
    /// Versions kept per zone.
    pub keep_versions: u32,
    /// Fleet sync watchers.
    pub sync: sync::Watchers,
    /// Published zones in memory, for incremental publishing.
    pub cache: cache::ZoneCache,
    /// Zones whose snapshot is being written (one at a time per zone).
    pub snapshots: Arc<std::sync::Mutex<std::collections::HashSet<DomainId>>>,
    /// The SOA answers of the transfer server, kept briefly.
    pub soa_cache: transfer::SoaCache,
    /// The newest version of zones, for full transfers.
    pub versions: axfr::Versions,
}

impl Context {
    /// A context keeping `keep_versions` versions per zone (at least one).
    pub fn new(core: Core, notifier: Notifier, keep_versions: u32) -> Self {
        Self {
            core,
            notifier: Arc::new(notifier),
            keep_versions: keep_versions.max(1),
            sync: sync::Watchers::default(),
            cache: cache::ZoneCache::new(publish::CACHE_RECORDS),
            snapshots: Arc::default(),
            soa_cache: transfer::SoaCache::default(),
            versions: axfr::Versions::new(axfr::VERSIONS_BUDGET),
        }
    }
}

/// A running worker: its tasks stop when this is dropped.
pub struct Running {
    transfer_addr: SocketAddr,
    customer_transfer_addr: Option<SocketAddr>,
    update_addr: Option<SocketAddr>,
    context: Arc<Context>,
    tasks: JoinSet<()>,
}

impl Running {
    /// The transfer server's address.
    pub fn transfer_addr(&self) -> SocketAddr {
        self.transfer_addr
    }

    /// The transfer server's listener for customers' secondaries, if configured.
    pub fn customer_transfer_addr(&self) -> Option<SocketAddr> {
        self.customer_transfer_addr
    }

    /// The transfer server's UPDATE listener, if configured.
    pub fn update_addr(&self) -> Option<SocketAddr> {
        self.update_addr
    }

    /// Adds a nameserver to NOTIFY (the embedded one of `apex all`, bound after the worker).
    pub fn add_notify_target(&self, target: notify::FleetTarget) {
        self.context.notifier.add_target(target);
    }

    /// Waits until any task ends (they run forever unless one fails). Dropping `Running`
    /// stops them all.
    pub async fn wait(&mut self) {
        if let Some(Err(e)) = self.tasks.join_next().await {
            tracing::error!(error = %e, "a worker task failed");
        }
    }
}

/// Starts the transfer server, the stream consumer, the reconciler, webhook deliveries and
/// the mail sender.
pub async fn start(core: Core, config: WorkerConfig) -> anyhow::Result<Running> {
    // Checked before anything starts: a bad SMTP URL or sender stops the worker here.
    let mailer = mail::Mailer::new(&config.mail)?;
    let notifier = Notifier::new(config.notify.clone());
    let context = Arc::new(Context::new(core, notifier, config.keep_versions));
    let mut tasks = JoinSet::new();
    let bound = transfer::start(
        &mut tasks,
        context.clone(),
        config.transfer.clone(),
        config.tsig_keys.clone(),
    )
    .await?;
    let transfer_addr = bound.fleet;
    tasks.spawn(consumer::run(context.clone()));
    tasks.spawn(reconciler::run(context.clone(), config.reconcile_interval));
    tasks.spawn(webhooks::run(context.clone(), config.webhooks));
    tasks.spawn(mail::run(context.core.pool.clone(), mailer));
    tracing::info!(transfer = %transfer_addr, "worker started");
    Ok(Running {
        transfer_addr,
        customer_transfer_addr: bound.customers,
        update_addr: bound.update,
        context,
        tasks,
    })
}
