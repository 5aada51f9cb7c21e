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
    /// The tenant it counts against: the domain's owner (or, with none, minus the domain's
    /// id), for the limit of deliveries in flight per tenant.
    pub tenant: i64,
}

/// Deliveries being attempted by this worker, by webhook and by tenant: the next take leaves
/// out what would pass the limits.
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    /// Per webhook.
    pub webhooks: std::collections::HashMap<WebhookId, i32>,
    /// Per tenant ([`DueDelivery::tenant`]).
    pub tenants: std::collections::HashMap<i64, i32>,
}

impl InFlight {
    /// Counts `d` in.
    pub fn start(&mut self, d: &DueDelivery) {
        *self.webhooks.entry(d.webhook_id).or_insert(0) += 1;
        *self.tenants.entry(d.tenant).or_insert(0) += 1;
    }

    /// Counts an attempt of `webhook` for `tenant` out.
    pub fn end(&mut self, webhook: WebhookId, tenant: i64) {
        if let Some(n) = self.webhooks.get_mut(&webhook) {
            *n -= 1;
            if *n <= 0 {
                self.webhooks.remove(&webhook);
            }
        }
        if let Some(n) = self.tenants.get_mut(&tenant) {
            *n -= 1;
            if *n <= 0 {
                self.tenants.remove(&tenant);
            }
        }
    }
}

/// Limits on the deliveries taken at once.
#[derive(Debug, Clone, Copy)]
pub struct Fairness {
    /// In flight per webhook.
    pub per_webhook: i32,
    /// In flight per tenant.
    pub per_tenant: i32,
}

/// A day of failures disables a webhook.
pub const DISABLE_AFTER_HOURS: f64 = 24.0;

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
/// delays the retry. Fair: with those `busy` already in flight, no webhook gets more than
/// `fair.per_webhook` and no tenant more than `fair.per_tenant` at once, and webhooks take
/// turns (each one's oldest due delivery first), so one tenant's backlog or one slow target
/// holds up nobody else.
pub async fn take_due(
    pool: &PgPool,
    limit: i64,
    lease_seconds: f64,
    busy: &InFlight,
    fair: Fairness,
) -> Result<Vec<DueDelivery>, CoreError> {
    let (hooks, hook_counts): (Vec<i64>, Vec<i32>) =
        busy.webhooks.iter().map(|(k, v)| (k.0, *v)).unzip();
    let (tenants, tenant_counts): (Vec<i64>, Vec<i32>) =
        busy.tenants.iter().map(|(k, v)| (*k, *v)).unzip();
    let due = sqlx::query_as!(
        DueDelivery,
        r#"WITH due AS (
               SELECT d.id, d.webhook_id, d.next_attempt_at,
                      coalesce(o.user_id, -w.domain_id) AS tenant
                 FROM webhook_deliveries d
                 JOIN webhooks w ON w.id = d.webhook_id
                 LEFT JOIN domain_members o ON o.domain_id = w.domain_id AND o.role = 'owner'
                WHERE d.state = 'pending' AND d.next_attempt_at <= now()
           ), ranked AS (
               SELECT due.id, due.next_attempt_at,
                      row_number() OVER (PARTITION BY due.webhook_id ORDER BY due.next_attempt_at, due.id)
                        + coalesce(hb.n, 0) AS hook_rank,
                      row_number() OVER (PARTITION BY due.tenant ORDER BY due.next_attempt_at, due.id)
                        + coalesce(tb.n, 0) AS tenant_rank
                 FROM due
                 LEFT JOIN unnest($3::bigint[], $4::int[]) AS hb(id, n) ON hb.id = due.webhook_id
                 LEFT JOIN unnest($5::bigint[], $6::int[]) AS tb(id, n) ON tb.id = due.tenant
           ), chosen AS (
               SELECT id FROM ranked WHERE hook_rank <= $7 AND tenant_rank <= $8
                ORDER BY hook_rank, next_attempt_at, id LIMIT $1
           )
           UPDATE webhook_deliveries d
              SET next_attempt_at = now() + make_interval(secs => $2)
             FROM webhooks w
            WHERE w.id = d.webhook_id
              AND d.id IN (SELECT id FROM webhook_deliveries
                            WHERE id IN (SELECT id FROM chosen)
                              AND state = 'pending' AND next_attempt_at <= now()
                              FOR UPDATE SKIP LOCKED)
        RETURNING d.id AS "id: DeliveryId", d.webhook_id AS "webhook_id: WebhookId",
                  w.domain_id AS "domain_id: DomainId", d.msg_id, d.event, d.payload,
                  d.attempts, d.created_at, w.url, w.secret,
                  w.disabled_at IS NOT NULL AS "disabled!",
                  coalesce((SELECT m.user_id FROM domain_members m
                             WHERE m.domain_id = w.domain_id AND m.role = 'owner'), -w.domain_id)
                    AS "tenant!""#,
        limit,
        lease_seconds,
        &hooks,
        &hook_counts,
        &tenants,
        &tenant_counts,
        i64::from(fair.per_webhook),
        i64::from(fair.per_tenant),
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
    let mut tx = pool.begin().await?;
    let webhook = sqlx::query_scalar!(
        "UPDATE webhook_deliveries SET state = 'succeeded', attempts = $2, last_status = $3,
                        last_error = NULL, delivered_at = now()
                  WHERE id = $1 RETURNING webhook_id",
        id.0,
        attempts,
        i32::from(status),
    )
    .fetch_optional(&mut *tx)
    .await?;
    // A success ends the webhook's failure streak.
    if let Some(webhook) = webhook {
        sqlx::query!(
            "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
            webhook
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records that the `attempts`th attempt of delivery `id` failed with `error` (and the HTTP
/// `status`, if an answer came): it is tried again at `next`, or, with no `next`, it has
/// `failed` for good. A webhook whose deliveries have been failing for
/// [`DISABLE_AFTER_HOURS`] is disabled here, and each of the domain's owners and admins is
/// sent a notice, in the same transaction; answers whether it was.
pub async fn mark_failed(
    pool: &PgPool,
    id: DeliveryId,
    attempts: i32,
    status: Option<u16>,
    next: Option<DateTime<Utc>>,
    error: &str,
    public_url: &str,
) -> Result<bool, CoreError> {
    let mut tx = pool.begin().await?;
    let webhook = sqlx::query_scalar!(
        "UPDATE webhook_deliveries
                    SET state = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                        attempts = $2, last_status = $3, last_error = $5,
                        next_attempt_at = coalesce($4, next_attempt_at)
                  WHERE id = $1 RETURNING webhook_id",
        id.0,
        attempts,
        status.map(i32::from),
        next,
        error,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(webhook) = webhook else {
        tx.commit().await?;
        return Ok(false);
    };
    let disabled = sqlx::query!(
        r#"UPDATE webhooks w
              SET failing_since = coalesce(w.failing_since, now()),
                  disabled_at = CASE WHEN w.failing_since < now() - make_interval(secs => $2::double precision * 3600)
                                     THEN now() END,
                  disabled_reason = CASE WHEN w.failing_since < now() - make_interval(secs => $2::double precision * 3600)
                                         THEN 'deliveries failed for a day; the last: ' || $3 END
            WHERE w.id = $1 AND w.disabled_at IS NULL
        RETURNING w.disabled_at IS NOT NULL AS "disabled!", w.url,
                  (SELECT d.name FROM domains d WHERE d.id = w.domain_id) AS "domain!""#,
        webhook,
        DISABLE_AFTER_HOURS,
        error,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let mut was_disabled = false;
    if let Some(row) = disabled
        && row.disabled
    {
        was_disabled = true;
        let admins = sqlx::query!(
            r#"SELECT u.id AS "id: crate::ids::UserId", u.email
                 FROM domain_members m JOIN users u ON u.id = m.user_id
                WHERE m.domain_id = (SELECT domain_id FROM webhooks WHERE id = $1)
                  AND m.role IN ('owner', 'admin')
                ORDER BY u.id"#,
            webhook
        )
        .fetch_all(&mut *tx)
        .await?;
        let message = disabled_notice(&row.domain, &row.url, error, public_url);
        for a in admins {
            crate::mail::enqueue(&mut *tx, Some(a.id), &a.email, &message).await?;
        }
        tracing::warn!(webhook.id = webhook, zone.name = %row.domain, "webhook disabled after a day of failures");
    }
    tx.commit().await?;
    Ok(was_disabled)
}

/// The notice to a domain's admins that one of its webhooks was disabled. The URL is shown
/// without its query (which may hold a token).
fn disabled_notice(domain: &str, url: &str, error: &str, public_url: &str) -> crate::mail::Message {
    let shown = url::Url::parse(url).map_or_else(
        |_| url.to_string(),
        |mut u| {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        },
    );
    crate::mail::Message {
        kind: "notice.webhook",
        subject: format!("A webhook of {domain} was disabled"),
        body: format!(
            "Hello,\n\nDeliveries of {domain}'s webhook to {shown} have failed for a day \
             (the last: {error}), so it was disabled: nothing more is sent to it.\n\n\
             Once the endpoint answers again, enable the webhook on the domain's page at \
             {public_url} or with PATCH /api/v1/domains/{domain}/webhooks/{{id}} \
             {{\"enabled\": true}}. Events of the time it was off are not sent.\n"
        ),
    }
}
