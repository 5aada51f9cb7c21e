//! The admin's view of background work (`GET /api/v1/admin/jobs`). Jobs are read from
//! Postgres, where the intent lives, not from the Redis stream, which only carries wake-ups:
//!
//! - `publish_zone:<domain id>`: a zone whose wanted serial is ahead of its published one;
//! - `announce_zone:<domain id>`: a zone published but not yet announced to the fleet;
//! - `webhook_delivery:<delivery id>`: a webhook delivery not yet succeeded.
//!
//! Each is `pending` (not tried, or in flight), `retrying` (failed, tried again at
//! `next_attempt_at`) or `failed` (given up: webhook deliveries after 24 hours). A retry makes
//! the job due now.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actor::{Actor, Permission};
use crate::authz;
use crate::db::serial_from_db;
use crate::ids::DomainId;
use crate::{Core, CoreError};

/// Most jobs of each kind listed.
const LIMIT: i64 = 1000;

/// One job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// `kind:id`, for `POST /api/v1/admin/jobs/{id}/retry`.
    pub id: String,
    /// `publish_zone`, `announce_zone` or `webhook_delivery`.
    pub job: &'static str,
    /// `pending`, `retrying` or `failed`.
    pub state: &'static str,
    /// The zone it is about.
    pub zone: String,
    /// Failed attempts so far.
    pub attempts: i32,
    /// The last failure.
    pub last_error: Option<String>,
    /// Since when the job exists (the zone's oldest unpublished change, the delivery's event).
    pub since: Option<DateTime<Utc>>,
    /// When it is tried again (none: as soon as a worker gets to it).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Job-specific detail: serials, the webhook event.
    pub detail: serde_json::Value,
}

/// The states a listing can be narrowed to.
pub const STATES: [&str; 3] = ["pending", "retrying", "failed"];

/// Lists the jobs, newest failures first within each kind; `state` narrows the list.
pub async fn list(
    core: &Core,
    actor: &Actor,
    state: Option<&str>,
) -> Result<Vec<JobView>, CoreError> {
    authz::platform(actor, Permission::ManageDomains)?;
    if let Some(s) = state
        && !STATES.contains(&s)
    {
        return Err(CoreError::invalid(
            "state",
            format!("{s:?} is not one of {}", STATES.join(", ")),
        ));
    }
    let mut jobs = Vec::new();
    let zones = sqlx::query!(
        r#"SELECT d.id, d.name, d.wanted_serial, d.published_serial, d.notified_serial,
                  d.publish_attempts, d.publish_error, d.publish_next_attempt_at,
                  (SELECT min(c.created_at) FROM changes c
                    WHERE c.domain_id = d.id AND c.published_at IS NULL) AS since
             FROM domains d
            WHERE d.published_serial IS DISTINCT FROM d.wanted_serial
               OR d.notified_serial IS DISTINCT FROM d.published_serial
            ORDER BY d.publish_attempts DESC, d.id LIMIT $1"#,
        LIMIT,
    )
    .fetch_all(&core.pool)
    .await?;
    for z in zones {
        let publish = z.published_serial != Some(z.wanted_serial);
        let job = if publish {
            "publish_zone"
        } else {
            "announce_zone"
        };
        jobs.push(JobView {
            id: format!("{job}:{}", z.id),
            job,
            state: if z.publish_attempts > 0 {
                "retrying"
            } else {
                "pending"
            },
            zone: z.name,
            attempts: z.publish_attempts,
            last_error: z.publish_error,
            since: z.since,
            next_attempt_at: z.publish_next_attempt_at,
            detail: serde_json::json!({
                "wanted_serial": serial_from_db(z.wanted_serial),
                "published_serial": z.published_serial.map(serial_from_db),
                "notified_serial": z.notified_serial.map(serial_from_db),
            }),
        });
    }
    let deliveries = sqlx::query!(
        r#"SELECT d.id, d.event, d.state, d.attempts, d.last_status, d.last_error, d.created_at,
                  d.next_attempt_at, w.id AS webhook_id, w.url, dm.name
             FROM webhook_deliveries d
             JOIN webhooks w ON w.id = d.webhook_id
             JOIN domains dm ON dm.id = w.domain_id
            WHERE d.state <> 'succeeded'
            ORDER BY d.id DESC LIMIT $1"#,
        LIMIT,
    )
    .fetch_all(&core.pool)
    .await?;
    for d in deliveries {
        let state = match (d.state.as_str(), d.attempts) {
            ("failed", _) => "failed",
            (_, 0) => "pending",
            _ => "retrying",
        };
        jobs.push(JobView {
            id: format!("webhook_delivery:{}", d.id),
            job: "webhook_delivery",
            state,
            zone: d.name,
            attempts: d.attempts,
            last_error: d.last_error,
            since: Some(d.created_at),
            next_attempt_at: (state != "failed").then_some(d.next_attempt_at),
            detail: serde_json::json!({
                "event": d.event,
                "webhook_id": d.webhook_id,
                "url": d.url,
                "last_status": d.last_status,
            }),
        });
    }
    if let Some(s) = state {
        jobs.retain(|j| j.state == s);
    }
    Ok(jobs)
}

/// Makes a job due now: a zone's backoff is cleared and the workers woken; a webhook
/// delivery (even one given up) is pending again, due now.
pub async fn retry(core: &Core, actor: &Actor, id: &str) -> Result<(), CoreError> {
    authz::platform(actor, Permission::ManageDomains)?;
    let not_found = || CoreError::NotFound {
        what: "job",
        name: id.to_string(),
    };
    let (kind, number) = id.split_once(':').ok_or_else(|| {
        CoreError::invalid(
            "id",
            "a job id is kind:number, as GET /api/v1/admin/jobs lists it",
        )
    })?;
    let number: i64 = number
        .parse()
        .map_err(|_| CoreError::invalid("id", format!("{number:?} is not a number")))?;
    match kind {
        "publish_zone" | "announce_zone" => {
            let done = sqlx::query!(
                "UPDATE domains SET publish_next_attempt_at = NULL WHERE id = $1",
                number
            )
            .execute(&core.pool)
            .await?
            .rows_affected();
            if done == 0 {
                return Err(not_found());
            }
            core.queue.zone_changed(DomainId(number));
        }
        "webhook_delivery" => {
            let done = sqlx::query!(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now()
                  WHERE id = $1 AND state <> 'succeeded'",
                number
            )
            .execute(&core.pool)
            .await?
            .rows_affected();
            if done == 0 {
                return Err(not_found());
            }
        }
        _ => {
            return Err(CoreError::invalid(
                "id",
                format!(
                    "{kind:?} is not a job kind (publish_zone, announce_zone, webhook_delivery)"
                ),
            ));
        }
    }
    tracing::info!(job = id, "job retried by an admin");
    Ok(())
}

/// A zone behind: its wanted serial is ahead of its published one (publish it), or its
/// published version was not announced (announce it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehindZone {
    /// The domain.
    pub id: DomainId,
    /// Its name, without the final dot.
    pub name: String,
    /// The serial the zone should be published at.
    pub wanted_serial: u32,
    /// The serial of the newest published version, if any.
    pub published_serial: Option<u32>,
    /// The serial last announced to the fleet, if any.
    pub notified_serial: Option<u32>,
}

impl BehindZone {
    /// Whether the zone needs publishing (rather than only announcing).
    pub fn needs_publish(&self) -> bool {
        self.published_serial != Some(self.wanted_serial)
    }
}

/// The reconciler's scan: at most `limit` zones behind whose backoff after a failed publish
/// (see `crate::publishing::failed`) is over, with ids above `after`, by id. Page with the last id.
pub async fn behind(
    pool: &sqlx::PgPool,
    after: DomainId,
    limit: i64,
) -> Result<Vec<BehindZone>, CoreError> {
    let page = sqlx::query!(
        r#"SELECT id AS "id: DomainId", name, wanted_serial, published_serial, notified_serial
                 FROM domains
                WHERE (published_serial IS DISTINCT FROM wanted_serial
                       OR notified_serial IS DISTINCT FROM published_serial)
                  AND (publish_next_attempt_at IS NULL OR publish_next_attempt_at <= now())
                  AND id > $1
                ORDER BY id LIMIT $2"#,
        after.0,
        limit,
    )
    .fetch_all(pool)
    .await?;
    Ok(page
        .into_iter()
        .map(|z| BehindZone {
            id: z.id,
            name: z.name,
            wanted_serial: serial_from_db(z.wanted_serial),
            published_serial: z.published_serial.map(serial_from_db),
            notified_serial: z.notified_serial.map(serial_from_db),
        })
        .collect())
}
