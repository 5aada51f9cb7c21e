//! The `apex` control plane, put together: what `apex serve`, `apex worker` and `apex all`
//! start. The binary (`src/main.rs`) only parses the command line and calls in here, so
//! end-to-end tests start the very same platform in-process, on ports of their own.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use apex_core::Core;
use apex_core::config::{Config, HttpServer};
use apex_core::queue::Queue;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub mod http;

/// The platform core for `config` on `pool`, with a queue of its own.
pub fn core(config: &Config, pool: PgPool) -> anyhow::Result<Core> {
    let queue = Queue::new(config.redis_url()?, &config.redis_prefix).context("APEX_REDIS_URL")?;
    Ok(Core {
        pool,
        queue,
        platform: Arc::new(config.platform()?),
    })
}

/// API and dashboard on one router.
pub fn http_app(core: Core) -> Router {
    apex_api::app(apex_api::AppState { core: core.clone() }).merge(apex_web::router(core))
}

/// Binds and serves the HTTP side with the default server limits; returns the bound address.
pub async fn start_http(
    core: Core,
    listen: SocketAddr,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    start_http_with(core, listen, Config::defaults().http_server()?).await
}

/// Binds and serves the HTTP side with `limits` (`APEX_HTTP_*`); returns the bound address.
pub async fn start_http_with(
    core: Core,
    listen: SocketAddr,
    limits: HttpServer,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("APEX_HTTP_LISTEN: cannot bind {listen}"))?;
    let addr = listener.local_addr()?;
    let app = http::harden(http_app(core), &limits);
    let task = tokio::spawn(http::serve(listener, app, limits));
    Ok((addr, task))
}

/// Wait before the first retry of a mail the SMTP server did not take: a relay that is
/// restarting is usually back within the minute.
const MAIL_FIRST_RETRY_SECONDS: u64 = 30;

/// The fleet TSIG key of `config` (`APEX_TSIG_KEY`) as apex-net signs with it.
pub fn tsig_key(config: &Config) -> anyhow::Result<apex_net::TsigKey> {
    let key = config.tsig()?;
    apex_net::TsigKey::parse(&key.config_text()).context("APEX_TSIG_KEY")
}

/// Every fleet key of `config`: `APEX_TSIG_KEY`, then `APEX_TSIG_KEYS`.
pub fn tsig_keys(config: &Config) -> anyhow::Result<Vec<apex_net::TsigKey>> {
    config
        .tsig_keys()?
        .iter()
        .map(|k| apex_net::TsigKey::parse(&k.config_text()).context("APEX_TSIG_KEYS"))
        .collect()
}

/// The fleet nameservers of `APEX_NOTIFY`, each with the key that signs its NOTIFYs.
pub fn fleet(config: &Config) -> anyhow::Result<Vec<apex_worker::notify::FleetTarget>> {
    let keys = tsig_keys(config)?;
    config
        .notify_targets()?
        .into_iter()
        .map(|ns| {
            let key = match &ns.key {
                None => keys.first(),
                Some(name) => keys.iter().find(|k| {
                    k.name()
                        .to_ascii()
                        .trim_end_matches('.')
                        .eq_ignore_ascii_case(name)
                }),
            }
            .cloned()
            .with_context(|| format!("APEX_NOTIFY: no key for {}", ns.name))?;
            Ok(apex_worker::notify::FleetTarget {
                name: ns.name,
                addr: ns.addr,
                key,
            })
        })
        .collect()
}

/// The worker's mail settings from `config`.
pub fn mail_settings(config: &Config) -> apex_worker::mail::Settings {
    apex_worker::mail::Settings {
        smtp_url: config.smtp_url().map(secrecy::SecretString::from),
        from: config.mail_from.clone(),
        poll: std::time::Duration::from_secs(1),
        first_retry: std::time::Duration::from_secs(MAIL_FIRST_RETRY_SECONDS),
    }
}

/// Starts the worker (transfer server, queue consumer, reconciler, webhooks, mail).
pub async fn start_worker(config: &Config, pool: PgPool) -> anyhow::Result<apex_worker::Running> {
    let worker = apex_worker::WorkerConfig {
        transfer: apex_worker::transfer::Listeners {
            fleet: config.transfer_listen,
            fleet_allow: apex_net::server::Allow(
                config
                    .transfer_allow()?
                    .iter()
                    .map(|n| (n.addr(), n.prefix_len()))
                    .collect(),
            ),
            customers: config.transfer_customer_listen,
            update: config.update_listen,
            tcp: apex_net::server::TcpLimits::default(),
            udp: apex_net::server::UdpLimits {
                per_client_per_second: config.transfer_udp_per_client,
                ..apex_net::server::UdpLimits::default()
            },
        },
        notify: fleet(config)?,
        tsig_keys: tsig_keys(config)?,
        keep_versions: config.keep_versions,
        reconcile_interval: std::time::Duration::from_secs(config.reconcile_interval),
        webhooks: apex_worker::webhooks::Settings {
            poll: std::time::Duration::from_secs(1),
            first_retry: std::time::Duration::from_secs(config.webhook_first_retry),
        },
        mail: mail_settings(config),
    };
    apex_worker::start(core(config, pool)?, worker).await
}

/// What change receipts call the embedded nameserver of `apex all`.
pub const EMBEDDED_NAMESERVER: &str = "embedded";

/// Everything of `apex all`, running.
pub struct Platform {
    /// API and dashboard.
    pub http: SocketAddr,
    /// The embedded nameserver (UDP and TCP).
    pub dns: SocketAddr,
    /// The transfer server (hidden primary).
    pub transfer: SocketAddr,
    /// Its listener for customers' secondaries, if configured.
    pub customer_transfer: Option<SocketAddr>,
    http_task: JoinHandle<()>,
    worker: apex_worker::Running,
    nameserver: apex_dnsserver::Running,
    fleet_key: apex_net::TsigKey,
}

impl Platform {
    /// Adds a fleet nameserver for the worker to NOTIFY and watch, called `name` in
    /// receipts; its NOTIFYs are signed with `key` (none: the fleet key).
    pub fn add_notify_target(
        &self,
        name: &str,
        target: SocketAddr,
        key: Option<apex_net::TsigKey>,
    ) {
        self.worker
            .add_notify_target(apex_worker::notify::FleetTarget {
                name: name.to_string(),
                addr: target,
                key: key.unwrap_or_else(|| self.fleet_key.clone()),
            });
    }

    /// Runs until one part stops.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = &mut self.http_task => anyhow::bail!("the HTTP server stopped"),
            r = self.nameserver.wait() => r.and_then(|_| anyhow::bail!("the nameserver stopped")),
            () = self.worker.wait() => anyhow::bail!("the worker stopped"),
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.http_task.abort();
    }
}

/// Starts API, dashboard, worker and an embedded nameserver following the worker's catalog.
pub async fn start_all(config: &Config, pool: PgPool) -> anyhow::Result<Platform> {
    let worker = start_worker(config, pool.clone()).await?;
    let transfer = worker.transfer_addr();
    let catalog = apex_dnsserver::CatalogConfig::new(
        &config.platform()?.catalog,
        vec![transfer],
        tsig_key(config)?,
    );
    let nameserver = apex_dnsserver::start(apex_dnsserver::Config::new(
        vec![config.dns_listen],
        catalog,
    ))
    .await
    .context("APEX_DNS_LISTEN")?;
    let dns = *nameserver
        .local_addrs()
        .first()
        .context("the nameserver bound no address")?;
    worker.add_notify_target(apex_worker::notify::FleetTarget {
        name: EMBEDDED_NAMESERVER.to_string(),
        addr: dns,
        key: tsig_key(config)?,
    });
    let (http, http_task) = start_http_with(
        core(config, pool)?,
        config.http_listen,
        config.http_server()?,
    )
    .await?;
    Ok(Platform {
        http,
        dns,
        transfer,
        customer_transfer: worker.customer_transfer_addr(),
        http_task,
        worker,
        nameserver,
        fleet_key: tsig_key(config)?,
    })
}
