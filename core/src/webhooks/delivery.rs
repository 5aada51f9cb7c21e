//! Deliveries as the sender sees them: taking the due ones (with `FOR UPDATE SKIP LOCKED`, so
//! any number of workers share them) together with their webhook's target and sealed secret,
//! and recording how each attempt went. The HTTP side is the worker's
//! (`apex_worker::webhooks`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::CoreError;
use crate::ids::{DeliveryId, DomainId, WebhookId};

/// A delivery taken for an attempt, with what the attempt needs of its webhook.
#[derive(Clone)]
pub struct DueDelivery {
    /// Id.
    pub id: DeliveryId,
    /// The webhook it goes to.
    pub webhook_id: WebhookId,
    /// The webhook's domain (its sealed secret is bound to it).
    pub domain_id: DomainId,
    /// The `webhook-id` header: the same on every attempt.
    pub msg_id: String,
    /// `zone.published` or `zone.in_sync`.
    pub event: String,
    /// The `data` of the body.
    pub payload: serde_json::Value,
    /// Attempts made before this one.
    pub attempts: i32,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// Where to POST.
    pub url: String,
    /// The webhook's secret, sealed (see [`super::open_secret`]).
    pub secret: Vec<u8>,
    /// The webhook is disabled: nothing more is sent.
    pub disabled: bool,
}

impl std::fmt::Debug for DueDelivery {
    // Not derived: the sealed secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueDelivery")
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("msg_id", &self.msg_id)
            .field("event", &self.event)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Takes at most `limit` due deliveries: each is left alone by other workers for
/// `lease_seconds` (the attempt's limit and some slack), so a worker dying mid-attempt only
/// delays the retry.
pub async fn take_due(
    pool: &PgPool,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<DueDelivery>, CoreError> {
    let due = sqlx::query_as!(
        DueDelivery,
        r#"UPDATE webhook_deliveries d
              SET next_attempt_at = now() + make_interval(secs => $2)
             FROM webhooks w
            WHERE w.id = d.webhook_id
              AND d.id IN (SELECT id FROM webhook_deliveries
                            WHERE state = 'pending' AND next_attempt_at <= now()
                            ORDER BY next_attempt_at LIMIT $1
                              FOR UPDATE SKIP LOCKED)
        RETURNING d.id AS "id: DeliveryId", d.webhook_id AS "webhook_id: WebhookId",
                  w.domain_id AS "domain_id: DomainId", d.msg_id, d.event, d.payload,
                  d.attempts, d.created_at, w.url, w.secret,
                  w.disabled_at IS NOT NULL AS "disabled!""#,
        limit,
        lease_seconds,
    )
    .fetch_all(pool)
    .await?;
    Ok(due)
}

/// Records that delivery `id` succeeded at its `attempts`th attempt with HTTP `status`.
pub async fn mark_succeeded(
    pool: &PgPool,
    id: DeliveryId,
    attempts: i32,
    status: u16,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE webhook_deliveries SET state = 'succeeded', attempts = $2, last_status = $3,
                        last_error = NULL, delivered_at = now()
                  WHERE id = $1",
        id.0,
        attempts,
        i32::from(status),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records that the `attempts`th attempt of delivery `id` failed with `error` (and the HTTP
/// `status`, if an answer came): it is tried again at `next`, or, with no `next`, it has
/// `failed` for good.
pub async fn mark_failed(
    pool: &PgPool,
    id: DeliveryId,
    attempts: i32,
    status: Option<u16>,
    next: Option<DateTime<Utc>>,
    error: &str,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE webhook_deliveries
                    SET state = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                        attempts = $2, last_status = $3, last_error = $5,
                        next_attempt_at = coalesce($4, next_attempt_at)
                  WHERE id = $1",
        id.0,
        attempts,
        status.map(i32::from),
        next,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}
