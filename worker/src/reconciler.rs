//! The reconciler: every few seconds, publish every zone whose wanted serial is ahead of its
//! published one, announce every zone whose announcement was lost, announce the catalog if it
//! moved, and schedule DNSSEC work (signatures due for renewal, zones whose DNSSEC removal
//! delay has passed). This is what makes Redis optional for correctness: a wake-up lost with Redis,
//! or a worker killed between storing and announcing, is found here, from Postgres (the scan
//! is core's [`apex_core::jobs::behind`]).

use std::sync::Arc;
use std::time::Duration;

use apex_core::ids::DomainId;

use crate::Context;
use crate::publish::{Outcome, PublishError, announce_zone, catalog_if_behind, publish_zone};

/// Zones read per query; a pass walks all of them, page by page.
const PAGE: i64 = 500;

/// How often ended sessions, used links and old throttle counts are deleted.
const HOUSEKEEPING: Duration = Duration::from_secs(600);

/// Runs forever.
pub async fn run(ctx: Arc<Context>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut housekept = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        if let Err(e) = pass(&ctx).await {
            tracing::warn!(error = %e, "reconciler pass failed");
        }
        if housekept.elapsed() >= HOUSEKEEPING {
            housekept = tokio::time::Instant::now();
            match apex_core::auth::prune(&ctx.core.pool).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "ended sessions and used links deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "account housekeeping failed"),
            }
            let days = ctx.core.platform.history_days;
            match apex_core::changes::prune_history(&ctx.core.pool, days).await {
                Ok(n) if n > 0 => {
                    tracing::info!(
                        changes = n,
                        days,
                        "record diffs beyond the history window forgotten"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "history housekeeping failed"),
            }
        }
    }
}

/// One pass over every zone that is behind; returns how many it published. A zone that fails
/// is logged and skipped, so it never holds up the others.
pub async fn pass(ctx: &Context) -> Result<usize, PublishError> {
    let mut published = 0;
    let mut after = DomainId(0);
    loop {
        let page = apex_core::jobs::behind(&ctx.core.pool, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for z in page {
            let result = if z.needs_publish() {
                publish_zone(ctx, z.id).await.map(|o| {
                    if matches!(o, Outcome::Published { .. }) {
                        published += 1;
                    }
                })
            } else {
                announce_zone(ctx, z.id, &z.name, z.wanted_serial).await
            };
            if let Err(e) = result {
                tracing::error!(domain.id = %z.id, zone.name = %z.name, error = %e, "zone still behind; retrying with backoff");
                if let Err(e) =
                    apex_core::publishing::failed(&ctx.core.pool, z.id, &e.to_string()).await
                {
                    tracing::warn!(error = %e, "could not record the failure");
                }
            }
        }
    }
    if published > 0 {
        tracing::info!(
            zones = published,
            "reconciler published zones that were behind"
        );
    }
    catalog_if_behind(ctx).await?;
    // Receipts still waiting (a worker restarted while watching).
    if let Err(e) = ctx.sync.resume(&ctx.core.pool, &ctx.notifier).await {
        tracing::warn!(error = %e, "could not resume fleet sync watchers");
    }
    // DNSSEC: signatures due for renewal, zones whose removal delay has passed. They get a
    // new wanted serial here and are published by the next pass.
    let times = ctx.core.platform.dnssec;
    match apex_core::dnssec::maintain(&ctx.core.pool, times.refresh, times.removal).await {
        Ok(done) => {
            for (zone, what) in done {
                tracing::info!(zone.name = %zone, action = ?what, "DNSSEC maintenance");
            }
        }
        Err(e) => tracing::warn!(error = %e, "DNSSEC maintenance failed"),
    }
    Ok(published)
}
