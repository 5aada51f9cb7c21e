//! Sending webhook deliveries (queued by `apex_core::webhooks::enqueue` in the transaction of
//! their event) and retrying them.
//!
//! Each pass takes the due deliveries with `FOR UPDATE SKIP LOCKED` and moves their
//! `next_attempt_at` past the attempt's time limit (a lease), so any number of workers share
//! the work without sending one attempt twice, and a worker dying mid-attempt only delays the
//! retry. Deliveries are at least once: receivers drop repeats by `webhook-id`. The queries
//! are core's ([`apex_core::webhooks::delivery`]); this module only sends.
//!
//! Targets are checked again at every attempt: the client resolves names through
//! [`CheckedResolver`], which refuses non-public addresses and hands the connector only the
//! addresses it checked, so a name cannot resolve to a public address for the check and to
//! `127.0.0.1` for the connection. Redirects are not followed and no proxy is used.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use apex_core::CoreError;
use apex_core::ids::WebhookId;
use apex_core::webhooks::delivery::{self, DueDelivery, Fairness, InFlight};
use apex_core::webhooks::{self, target};
use chrono::{SecondsFormat, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::task::JoinSet;

use crate::Context;
use crate::retry::{after_failure, chain};

/// Most attempts in flight at once in one worker.
const IN_FLIGHT: usize = 64;
/// In flight at once per webhook and per tenant (a domain's owner): one slow target, or one
/// tenant's backlog, never takes every slot.
const FAIR: Fairness = Fairness {
    per_webhook: 2,
    per_tenant: 8,
};
/// Least time between two takes of due deliveries.
const MIN_TAKE_GAP: Duration = Duration::from_millis(100);
/// An attempt's time limit.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a taken delivery is left alone by other workers: the time limit and some slack.
const LEASE_SECONDS: f64 = 60.0;

/// How the delivery loop runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Pause between passes that found nothing more to do.
    pub poll: Duration,
    /// Wait before the first retry; each later one waits twice as long (at most an hour).
    pub first_retry: Duration,
}

/// Resolves names for the webhook client, refusing non-public addresses unless allowed.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let allow = self.allow_private;
        Box::pin(async move {
            // Port 0: reqwest puts in the URL's.
            match target::resolve(&host, 0, allow).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(e) => Err(e.into()),
            }
        })
    }
}

fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(CheckedResolver { allow_private }))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("apex-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends due deliveries forever: as attempts end, their slots are filled again at once, so
/// no delivery waits for a slow one of another target (there are no batches).
pub async fn run(ctx: Arc<Context>, settings: Settings) {
    let mut http = None;
    let mut attempts: JoinSet<()> = JoinSet::new();
    // Each attempt's webhook and tenant, by task: counted out when it ends, even by a panic.
    let mut owners: HashMap<tokio::task::Id, (WebhookId, i64)> = HashMap::new();
    let mut busy = InFlight::default();
    let mut last_take = tokio::time::Instant::now()
        .checked_sub(MIN_TAKE_GAP)
        .unwrap_or_else(tokio::time::Instant::now);
    loop {
        while let Some(ended) = attempts.try_join_next_with_id() {
            end(&mut owners, &mut busy, ended);
        }
        if http.is_none() {
            match client(ctx.core.platform.webhook_allow_private) {
                Ok(c) => http = Some(c),
                Err(e) => tracing::error!(error = %e, "cannot build the webhook HTTP client"),
            }
        }
        let free = IN_FLIGHT.saturating_sub(attempts.len());
        // Each take reads every due delivery (to share them out fairly): at most one a
        // tenth of a second, however fast attempts end.
        let since = last_take.elapsed();
        if since < MIN_TAKE_GAP {
            tokio::time::sleep(MIN_TAKE_GAP - since).await;
            continue;
        }
        if let Some(http) = &http
            && free > 0
        {
            last_take = tokio::time::Instant::now();
            match delivery::take_due(&ctx.core.pool, free as i64, LEASE_SECONDS, &busy, FAIR).await
            {
                Ok(due) => {
                    for d in due {
                        busy.start(&d);
                        let owner = (d.webhook_id, d.tenant);
                        let (ctx, http) = (ctx.clone(), http.clone());
                        let task = attempts.spawn(async move {
                            let result = if d.disabled {
                                Err(Failure::permanent("the webhook is disabled"))
                            } else {
                                attempt(&ctx, &http, &d).await
                            };
                            if let Err(e) = record(&ctx, &d, result, settings.first_retry).await {
                                tracing::warn!(webhook.id = %d.webhook_id, delivery.id = %d.id, error = %chain(&e),
                                    "cannot record a webhook attempt; it is retried after its lease");
                            }
                        });
                        owners.insert(task.id(), owner);
                    }
                }
                Err(e) => tracing::warn!(error = %chain(&e), "cannot take due webhook deliveries"),
            }
        }
        // Wait for an attempt to end (a slot, or a webhook's or tenant's turn, frees up) or
        // for the next poll.
        tokio::select! {
            ended = attempts.join_next_with_id(), if !attempts.is_empty() => {
                if let Some(ended) = ended {
                    end(&mut owners, &mut busy, ended);
                }
            }
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
}

/// Counts an ended attempt out of `busy`.
fn end(
    owners: &mut HashMap<tokio::task::Id, (WebhookId, i64)>,
    busy: &mut InFlight,
    ended: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match ended {
        Ok((id, ())) => id,
        Err(e) => {
            tracing::error!(error = %e, "a webhook attempt failed");
            e.id()
        }
    };
    if let Some((webhook, tenant)) = owners.remove(&id) {
        busy.end(webhook, tenant);
    }
}

/// Why an attempt failed.
#[derive(Debug)]
struct Failure {
    status: Option<u16>,
    error: String,
    /// Not worth retrying.
    permanent: bool,
}

impl Failure {
    fn new(error: impl Into<String>) -> Self {
        Self {
            status: None,
            error: error.into(),
            permanent: false,
        }
    }

    fn permanent(error: impl Into<String>) -> Self {
        Self {
            permanent: true,
            ..Self::new(error)
        }
    }
}

/// The body: `{"type", "timestamp", "data"}`, the same on every attempt.
fn body(d: &DueDelivery) -> Vec<u8> {
    serde_json::json!({
        "type": d.event,
        "timestamp": d.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": d.payload,
    })
    .to_string()
    .into_bytes()
}

/// One POST; Ok with the 2xx status.
async fn attempt(ctx: &Context, http: &reqwest::Client, d: &DueDelivery) -> Result<u16, Failure> {
    let platform = &ctx.core.platform;
    let url = target::parse(&d.url).map_err(Failure::permanent)?;
    target::check_port(&url, &platform.webhook_ports).map_err(Failure::permanent)?;
    // Address literals never reach the resolver; check them here.
    if !platform.webhook_allow_private {
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            target::check_ip(ip).map_err(Failure::new)?;
        }
    }
    let master = platform
        .master_key
        .as_ref()
        .ok_or_else(|| Failure::new("APEX_MASTER_KEY is not set; the secret cannot be opened"))?;
    let secret = webhooks::open_secret(master, d.webhook_id, d.domain_id, &d.secret)
        .map_err(|e| Failure::new(e.to_string()))?;
    let body = body(d);
    let timestamp = Utc::now().timestamp();
    let signature = webhooks::sign(&secret, &d.msg_id, timestamp, &body);
    let resp = http
        .post(url)
        .header("webhook-id", &d.msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| Failure::new(chain(&e.without_url())))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    // The status and its reason only: the body is the receiver's, not ours to keep.
    Err(Failure {
        status: Some(status.as_u16()),
        ..Failure::new(format!("HTTP {status}"))
    })
}

async fn record(
    ctx: &Context,
    d: &DueDelivery,
    result: Result<u16, Failure>,
    first_retry: Duration,
) -> Result<(), CoreError> {
    let attempts = d.attempts.saturating_add(1);
    match result {
        Ok(status) => {
            delivery::mark_succeeded(&ctx.core.pool, d.id, attempts, status).await?;
            tracing::info!(webhook.id = %d.webhook_id, delivery.id = %d.id, event = %d.event,
                attempts, status, "webhook delivered");
        }
        Err(f) => {
            let next = after_failure(f.permanent, attempts, d.id.0, d.created_at, first_retry);
            delivery::mark_failed(
                &ctx.core.pool,
                d.id,
                attempts,
                f.status,
                next,
                &f.error,
                &ctx.core.platform.accounts.public_url,
            )
            .await?;
            match next {
                Some(at) => tracing::info!(webhook.id = %d.webhook_id, delivery.id = %d.id,
                    attempts, error = %f.error, retry_at = %at, "webhook attempt failed"),
                None => tracing::warn!(webhook.id = %d.webhook_id, delivery.id = %d.id,
                    attempts, error = %f.error, "webhook delivery failed for good"),
            }
        }
    }
    Ok(())
}
