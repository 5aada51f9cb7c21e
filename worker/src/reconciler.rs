//! The reconciler: every few seconds, publish every zone whose wanted serial is ahead of its
//! published one, and announce the catalog if it moved. This is what makes Redis optional for
//! correctness: a wake-up lost with Redis is found here, from Postgres.

use std::sync::Arc;
use std::time::Duration;

use apex_core::ids::DomainId;

use crate::Context;
use crate::publish::{catalog_if_behind, publish_zone};

/// Runs forever.
pub async fn run(ctx: Arc<Context>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = pass(&ctx).await {
            tracing::warn!(error = %e, "reconciler pass failed");
        }
    }
}

/// One pass; returns how many zones it published.
pub async fn pass(ctx: &Context) -> Result<usize, crate::publish::PublishError> {
    let behind = sqlx::query_scalar!(
        r#"SELECT id AS "id: DomainId" FROM domains WHERE published_serial IS DISTINCT FROM wanted_serial ORDER BY id LIMIT 1000"#
    )
    .fetch_all(&ctx.core.pool)
    .await?;
    let mut published = 0;
    for id in behind {
        match publish_zone(ctx, id).await {
            Ok(crate::publish::Outcome::Published { .. }) => published += 1,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(domain.id = %id, error = %e, "publish failed; retrying next pass")
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
    Ok(published)
}
