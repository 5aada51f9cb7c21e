//! Webhooks: per domain, HTTP endpoints told when its zone is published (`zone.published`) and
//! when the fleet serves it (`zone.in_sync`), in the Standard Webhooks layout
//! (<https://www.standardwebhooks.com>): a JSON body signed with HMAC-SHA256 under a secret
//! shown once, in `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
//!
//! ```text
//!   event in the publish transaction ──enqueue──▶ delivery pending ──2xx──▶ succeeded
//!                                                   │   ▲
//!                                       non-2xx or  │   │ retry after 5 s, 10 s, 20 s …
//!                                       no answer   ▼   │ (at most an hour apart)
//!                                                 attempt ──24 h after the event──▶ failed
//! ```
//!
//! Events are written by [`enqueue`] in the transaction that makes them true, so a delivery
//! exists exactly when its event happened; the worker (`apex_worker::webhooks`) sends them,
//! taking due ones and recording each attempt through [`delivery`].
//! Secrets are sealed under the platform's master key, bound to their webhook.

pub mod delivery;
pub mod target;

use apex_zone::name::ZoneName;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};

use crate::actor::Actor;
use crate::authz::Action;
use crate::domain::{self, Domain};
use crate::ids::{DeliveryId, DomainId, WebhookId};
use crate::sealing::MasterKey;
use crate::{Core, CoreError};

/// A zone version was stored and announced to the fleet.
pub const ZONE_PUBLISHED: &str = "zone.published";
/// Every nameserver of the fleet serves the published version.
pub const ZONE_IN_SYNC: &str = "zone.in_sync";
/// The events a webhook may subscribe to.
pub const EVENTS: [&str; 2] = [ZONE_PUBLISHED, ZONE_IN_SYNC];

/// Random bytes in a secret (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 32;
/// Longest description accepted.
const MAX_DESCRIPTION: usize = 200;
/// Most deliveries a listing returns.
pub const MAX_DELIVERIES: i64 = 1000;

/// What `POST /api/v1/domains/{name}/webhooks` takes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST: `https://…` (or `http://…`).
    pub url: String,
    /// Events to send; both when absent.
    pub events: Option<Vec<String>>,
    /// A note for people.
    pub description: Option<String>,
}

/// A webhook as the API shows it (never with its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: WebhookId,
    /// Target.
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    /// Note.
    pub description: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Set when disabled: nothing more is sent.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled (by the platform after a day of failures, or by an admin).
    pub disabled_reason: Option<String>,
    /// Deliveries have been failing since then (none while they succeed); after a day of
    /// failures the platform disables the webhook and tells the domain's admins.
    pub failing_since: Option<DateTime<Utc>>,
}

/// A change to a webhook: turning it off, or on again after it was disabled.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// `false` disables it (nothing more is sent), `true` enables it again.
    pub enabled: bool,
}

/// A new webhook and its secret, the one time the secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and the base64 of the key that signs every delivery.
    pub secret: String,
}

/// One message to one webhook, with its attempts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// Id.
    pub id: DeliveryId,
    /// The `webhook-id` header: the same on every attempt.
    pub msg_id: String,
    /// `zone.published` or `zone.in_sync`.
    pub event: String,
    /// `pending`, `succeeded` or `failed` (no success within 24 hours).
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// HTTP status of the last attempt (none if no answer came).
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// While pending: when the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When a 2xx answer came.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The `data` of the body sent.
    pub data: serde_json::Value,
}

/// The associated data that binds a sealed secret to its webhook and domain.
pub(crate) fn seal_context(webhook: WebhookId, domain: DomainId) -> Vec<u8> {
    let mut c = b"apex-webhook-secret:".to_vec();
    c.extend_from_slice(&webhook.0.to_be_bytes());
    c.extend_from_slice(&domain.0.to_be_bytes());
    c
}

/// Opens a webhook's sealed secret (the raw key bytes).
pub fn open_secret(
    master: &MasterKey,
    webhook: WebhookId,
    domain: DomainId,
    sealed: &[u8],
) -> Result<Vec<u8>, CoreError> {
    master
        .open(&seal_context(webhook, domain), sealed)
        .map_err(|_| {
            CoreError::Internal(format!(
                "the secret of webhook {webhook} does not open with APEX_MASTER_KEY (wrong key?)"
            ))
        })
}

/// The secret as shown to its owner: `whsec_` and base64.
pub fn secret_text(secret: &[u8]) -> String {
    format!("whsec_{}", B64.encode(secret))
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of
/// `{msg_id}.{timestamp}.{body}` under the secret's bytes.
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(msg_id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", B64.encode(ctx.sign().as_ref()))
}

fn events(requested: Option<&[String]>) -> Result<Vec<String>, CoreError> {
    let Some(list) = requested else {
        return Ok(EVENTS.iter().map(|e| e.to_string()).collect());
    };
    if list.is_empty() {
        return Err(CoreError::invalid(
            "events",
            format!("name at least one of {EVENTS:?}, or leave it out for all"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        if !EVENTS.contains(&e.as_str()) {
            return Err(CoreError::invalid(
                format!("events.{i}"),
                format!("{e:?} is not one of {EVENTS:?}"),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// A description as given: trimmed, none when empty, at most 200 characters (webhooks and
/// TSIG keys).
pub(crate) fn description(text: Option<&str>) -> Result<Option<String>, CoreError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(CoreError::invalid(
            "description",
            format!("is longer than {MAX_DESCRIPTION} characters"),
        )),
        Some(d) => Ok(Some(d.to_string())),
    }
}

fn not_found(id: WebhookId) -> CoreError {
    CoreError::NotFound {
        what: "webhook",
        name: id.to_string(),
    }
}

/// Creates a webhook (needs the admin role). The answer carries the secret; nothing shows
/// it again.
pub async fn create(
    core: &Core,
    actor: &Actor,
    zone: &str,
    new: &NewWebhook,
) -> Result<CreatedWebhook, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::AdministerSecret).await?;
    let url = target::parse(&new.url).map_err(|e| CoreError::invalid("url", e))?;
    let events = events(new.events.as_deref())?;
    let description = description(new.description.as_deref())?;
    target::check(&url, core.platform.webhook_allow_private)
        .await
        .map_err(|e| CoreError::invalid("url", e))?;
    target::check_port(&url, &core.platform.webhook_ports)
        .map_err(|e| CoreError::invalid("url", e))?;
    let master = core.platform.master_key.as_ref().ok_or_else(|| {
        CoreError::invalid(
            "url",
            "this platform has no APEX_MASTER_KEY to keep webhook secrets with; ask its operator",
        )
    })?;
    let mut secret = [0u8; SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
    // The id first: the sealed secret is bound to it.
    let id =
        sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('webhooks', 'id')) AS "id!""#)
            .fetch_one(&core.pool)
            .await?;
    let id = WebhookId(id);
    let sealed = master.seal(&seal_context(id, domain.id), &secret)?;
    let mut tx = core.pool.begin().await?;
    crate::quotas::check_one_more_webhook(&mut tx, core, &domain).await?;
    let created_at = sqlx::query_scalar!(
        "INSERT INTO webhooks (id, domain_id, url, events, secret, description)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at",
        id.0,
        domain.id.0,
        url.as_str(),
        &events,
        sealed,
        description,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, webhook.id = %id, key.id = ?actor.api_key_id(), user.id = ?actor.user_id, "webhook created");
    Ok(CreatedWebhook {
        webhook: WebhookView {
            id,
            url: url.to_string(),
            events,
            description,
            created_at,
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
        },
        secret: secret_text(&secret),
    })
}

/// A domain's webhooks, oldest first.
pub async fn list(
    core: &Core,
    actor: &Actor,
    zone: &str,
    window: &crate::page::Window<i64>,
) -> Result<Vec<WebhookView>, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Read).await?;
    Ok(sqlx::query_as!(
        WebhookView,
        r#"SELECT id AS "id: WebhookId", url, events, description, created_at, disabled_at,
                  disabled_reason, failing_since
             FROM webhooks WHERE domain_id = $1 AND ($2::bigint IS NULL OR id > $2)
            ORDER BY id LIMIT $3"#,
        domain.id.0,
        window.after,
        window.limit,
    )
    .fetch_all(&core.pool)
    .await?)
}

async fn find(core: &Core, domain: &Domain, id: WebhookId) -> Result<WebhookView, CoreError> {
    sqlx::query_as!(
        WebhookView,
        r#"SELECT id AS "id: WebhookId", url, events, description, created_at, disabled_at,
                  disabled_reason, failing_since
             FROM webhooks WHERE id = $1 AND domain_id = $2"#,
        id.0,
        domain.id.0,
    )
    .fetch_optional(&core.pool)
    .await?
    .ok_or_else(|| not_found(id))
}

/// One webhook of a domain.
pub async fn get(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: WebhookId,
) -> Result<WebhookView, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Read).await?;
    find(core, &domain, id).await
}

/// Enables or disables a webhook (needs the admin role). Enabling clears the reason and the
/// failure streak; deliveries queued while it was off were not sent.
pub async fn set_enabled(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: WebhookId,
    patch: &WebhookPatch,
) -> Result<WebhookView, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Administer).await?;
    let changed = if patch.enabled {
        sqlx::query!(
            "UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL
              WHERE id = $1 AND domain_id = $2",
            id.0,
            domain.id.0
        )
        .execute(&core.pool)
        .await?
    } else {
        sqlx::query!(
            "UPDATE webhooks SET disabled_at = coalesce(disabled_at, now()),
                    disabled_reason = coalesce(disabled_reason, 'disabled by an administrator')
              WHERE id = $1 AND domain_id = $2",
            id.0,
            domain.id.0
        )
        .execute(&core.pool)
        .await?
    };
    if changed.rows_affected() == 0 {
        return Err(not_found(id));
    }
    tracing::info!(zone.name = %domain.zone, webhook.id = %id, enabled = patch.enabled, key.id = ?actor.api_key_id(), user.id = ?actor.user_id, "webhook enabled or disabled");
    find(core, &domain, id).await
}

/// Deletes a webhook and its delivery log (needs the admin role); pending deliveries are
/// not sent.
pub async fn delete(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: WebhookId,
) -> Result<(), CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Administer).await?;
    let deleted = sqlx::query!(
        "DELETE FROM webhooks WHERE id = $1 AND domain_id = $2",
        id.0,
        domain.id.0
    )
    .execute(&core.pool)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(not_found(id));
    }
    tracing::info!(zone.name = %domain.zone, webhook.id = %id, key.id = ?actor.api_key_id(), user.id = ?actor.user_id, "webhook deleted");
    Ok(())
}

/// A webhook's deliveries, newest first (by id, descending), at most `window.limit` (and
/// [`MAX_DELIVERIES`]), below the id `window.after`.
pub async fn deliveries(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: WebhookId,
    window: &crate::page::Window<i64>,
) -> Result<Vec<DeliveryView>, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Read).await?;
    find(core, &domain, id).await?;
    Ok(sqlx::query_as!(
        DeliveryView,
        r#"SELECT id AS "id: DeliveryId", msg_id, event, state, attempts, last_status, last_error,
                  CASE WHEN state = 'pending' THEN next_attempt_at END AS next_attempt_at,
                  created_at, delivered_at, payload AS data
             FROM webhook_deliveries WHERE webhook_id = $1 AND ($3::bigint IS NULL OR id < $3)
            ORDER BY id DESC LIMIT $2"#,
        id.0,
        window.limit.clamp(1, MAX_DELIVERIES + 1),
        window.after,
    )
    .fetch_all(&core.pool)
    .await?)
}

/// Records `event` with `payload` for every active webhook of the domain subscribed to it, in
/// the caller's transaction: the deliveries exist if and only if the transaction commits.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    domain_id: DomainId,
    event: &str,
    payload: serde_json::Value,
) -> Result<(), CoreError> {
    if !EVENTS.contains(&event) {
        return Err(CoreError::Internal(format!(
            "unknown webhook event {event:?}"
        )));
    }
    let queued = sqlx::query!(
        "INSERT INTO webhook_deliveries (webhook_id, msg_id, event, payload)
         SELECT id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), $2, $3
           FROM webhooks WHERE domain_id = $1 AND disabled_at IS NULL AND $2 = ANY (events)",
        domain_id.0,
        event,
        payload,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if queued > 0 {
        tracing::debug!(domain.id = %domain_id, event, deliveries = queued, "webhook deliveries queued");
    }
    Ok(())
}

/// One change a publish includes, as `zone.published` lists it.
#[derive(Debug, Clone, Serialize)]
struct IncludedChange {
    id: i64,
    action: String,
    serial: Option<i64>,
}

/// Queues `zone.published` for a publish about to commit in `tx`: the zone, its serials and
/// the changes it includes (those not yet marked published). Call it before marking them.
pub async fn enqueue_published(
    tx: &mut Transaction<'_, Postgres>,
    domain_id: DomainId,
    zone: &ZoneName,
    serial: u32,
    previous_serial: Option<u32>,
) -> Result<(), CoreError> {
    let subscribed = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM webhooks WHERE domain_id = $1 AND disabled_at IS NULL
                            AND $2 = ANY (events)) AS "subscribed!""#,
        domain_id.0,
        ZONE_PUBLISHED,
    )
    .fetch_one(&mut **tx)
    .await?;
    if !subscribed {
        return Ok(());
    }
    let changes = sqlx::query_as!(
        IncludedChange,
        "SELECT id, action, serial FROM changes
          WHERE domain_id = $1 AND published_at IS NULL ORDER BY id",
        domain_id.0,
    )
    .fetch_all(&mut **tx)
    .await?;
    let payload = serde_json::json!({
        "zone": zone.as_text(),
        "serial": serial,
        "previous_serial": previous_serial,
        "changes": changes,
    });
    enqueue(tx, domain_id, ZONE_PUBLISHED, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The test vector of the Standard Webhooks reference libraries.
        let secret = B64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn event_lists() {
        assert_eq!(events(None).unwrap(), EVENTS);
        assert_eq!(
            events(Some(&["zone.in_sync".into(), "zone.in_sync".into()])).unwrap(),
            ["zone.in_sync"]
        );
        match events(Some(&["zone.published".into(), "zone.deleted".into()])) {
            Err(CoreError::Invalid { field, .. }) => assert_eq!(field, "events.1"),
            other => panic!("{other:?}"),
        }
        assert!(events(Some(&[])).is_err());
    }

    #[test]
    fn secrets_are_bound_to_their_webhook() {
        let master = MasterKey::parse(&MasterKey::generate_text()).unwrap();
        let sealed = master
            .seal(&seal_context(WebhookId(1), DomainId(2)), b"k")
            .unwrap();
        assert_eq!(
            open_secret(&master, WebhookId(1), DomainId(2), &sealed).unwrap(),
            b"k"
        );
        assert!(open_secret(&master, WebhookId(2), DomainId(2), &sealed).is_err());
        assert!(open_secret(&master, WebhookId(1), DomainId(3), &sealed).is_err());
        assert!(secret_text(b"k").starts_with("whsec_"));
    }
}
