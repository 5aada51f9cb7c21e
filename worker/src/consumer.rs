//! The Redis Streams consumer: wake-ups from API writes, read through a consumer group so
//! several workers share the work. A burst of changes to one zone becomes one publish: jobs
//! read together are deduplicated, and publishing renders the newest state anyway.
//!
//! Only the orchestration is here: read a batch, run each job (publish a zone, announce the
//! catalog), acknowledge. The stream protocol (stream and group names, the entry's encoding,
//! reading, acknowledging, claiming) is [`apex_core::queue`]'s.
//!
//! Entries left pending by a worker that died are claimed after a minute (XAUTOCLAIM).
//! Whatever is lost here is found by the reconciler, because Postgres holds the intent.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use apex_core::queue::{Job, consumer_name};

use crate::Context;
use crate::publish::{catalog_if_behind, publish_zone};

/// Entries idle this long in another consumer's pending list are taken over.
const CLAIM_IDLE_MS: u64 = 60_000;

/// Consumers (each worker process is one) idle this long with nothing pending are removed, so
/// restarts do not pile them up in Redis.
const FORGET_IDLE_MS: i64 = 3_600_000;

/// Runs forever; Redis errors are logged and retried with backoff.
pub async fn run(ctx: Arc<Context>) {
    let queue = ctx.core.queue.clone();
    let me = consumer_name();
    let mut backoff = Duration::from_millis(200);
    let mut group_ready = false;
    let mut last_claim = tokio::time::Instant::now();
    loop {
        let result = async {
            if !group_ready {
                queue.create_group().await?;
                group_ready = true;
            }
            let mut entries = queue.read(&me).await?;
            if last_claim.elapsed() > Duration::from_secs(30) {
                let claimed = queue.claim(&me, CLAIM_IDLE_MS).await?;
                if !claimed.is_empty() {
                    tracing::info!(
                        count = claimed.len(),
                        "claimed jobs of a worker that stopped"
                    );
                }
                entries.extend(claimed);
                for name in queue.prune_consumers(&me, FORGET_IDLE_MS).await? {
                    tracing::debug!(consumer = %name, "forgot a stopped worker's consumer");
                }
                last_claim = tokio::time::Instant::now();
            }
            if entries.is_empty() {
                return Ok::<_, redis::RedisError>(());
            }
            let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
            let jobs: BTreeSet<String> = entries.into_iter().map(|e| e.payload).collect();
            for payload in jobs {
                run_job(&ctx, &payload).await;
            }
            queue.ack(&ids).await?;
            Ok(())
        }
        .await;
        match result {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(error = %e, "queue unreachable; the reconciler keeps publishing meanwhile");
                queue.reset().await;
                group_ready = false;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn run_job(ctx: &Context, payload: &str) {
    let job = match Job::decode(payload) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(error = %e, payload, "unreadable job dropped");
            return;
        }
    };
    let result = match &job {
        Job::PublishZone { domain_id, .. } => publish_zone(ctx, *domain_id).await.map(|_| ()),
        Job::NotifyCatalog { .. } => catalog_if_behind(ctx).await,
    };
    if let Err(e) = result {
        // Not retried here: the zone stays behind in Postgres and the reconciler retries it,
        // with backoff.
        tracing::error!(job = job.name(), error = %e, "job failed; the reconciler will retry");
        if let Job::PublishZone { domain_id, .. } = &job
            && let Err(e) =
                apex_core::publishing::failed(&ctx.core.pool, *domain_id, &e.to_string()).await
        {
            tracing::warn!(error = %e, "could not record the failure");
        }
    }
}
