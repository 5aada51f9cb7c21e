//! The change log: every write appends one row, in the same transaction as the write.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};

use crate::CoreError;
use crate::actor::Actor;
use crate::authz::Action;
use crate::db::serial_from_db;
use crate::ids::{ApiKeyId, ChangeId, DomainId, SessionId};

/// A change as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Id, for `GET /api/v1/domains/{name}/changes/{id}`.
    pub id: ChangeId,
    /// The zone.
    pub zone: String,
    /// `domain.create`, `record.create`, `record.update`, `record.delete`, `domain.delete`.
    pub action: String,
    /// The zone serial this change will be published at (none for a deletion).
    pub serial: Option<u32>,
    /// `committed` until a publish includes it, then `published`, then `in_sync` once every
    /// fleet nameserver serves that version (or a newer one).
    pub state: &'static str,
    /// When it was committed.
    pub created_at: DateTime<Utc>,
    /// When the worker published it.
    pub published_at: Option<DateTime<Utc>>,
    /// When the last fleet nameserver was seen serving it.
    pub in_sync_at: Option<DateTime<Utc>>,
    /// Each fleet nameserver's progress on the version carrying the change (empty until
    /// published, and for a deletion).
    pub nameservers: Vec<crate::fleet::NameserverSync>,
    /// Who made it, and through what.
    pub by: ChangeActor,
}

/// Who made a change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChangeActor {
    /// The user's e-mail address (none for a domain key, or a deleted user).
    pub user: Option<String>,
    /// The API key (user or domain key) used, if any.
    pub api_key_id: Option<ApiKeyId>,
    /// The dashboard session used, if any.
    pub session_id: Option<SessionId>,
    /// The administrator who acted as the user (support), if any.
    pub impersonator: Option<String>,
    /// `api`, `web`, `cli`, `import`, `dns-update`.
    pub via: String,
}

/// What a write records.
pub struct NewChange<'a> {
    /// The domain (None never: deletions record before the row goes).
    pub domain_id: DomainId,
    /// Its name.
    pub zone: &'a str,
    /// What happened.
    pub action: &'a str,
    /// New wanted serial.
    pub serial: Option<u32>,
    /// Records before, as JSON.
    pub before: Option<serde_json::Value>,
    /// Records after, as JSON.
    pub after: Option<serde_json::Value>,
}

/// Appends a change in the caller's transaction.
pub async fn append(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    c: NewChange<'_>,
) -> Result<Change, CoreError> {
    let row = sqlx::query!(
        r#"INSERT INTO changes (domain_id, zone, action, serial, actor_user_id, actor_api_key_id,
                                actor_session_id, impersonator_user_id, via, before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           RETURNING id AS "id: ChangeId", created_at,
                     (SELECT email FROM users WHERE id = $5) AS user_email"#,
        c.domain_id.0,
        c.zone,
        c.action,
        c.serial.map(i64::from),
        actor.user_id.map(|u| u.0),
        actor.api_key_id().map(|k| k.0),
        actor.session_id().map(|s| s.0),
        actor.impersonator.as_ref().map(|i| i.user_id.0),
        actor.via.as_str(),
        c.before,
        c.after,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Change {
        id: row.id,
        zone: c.zone.to_string(),
        action: c.action.to_string(),
        serial: c.serial,
        state: "committed",
        created_at: row.created_at,
        published_at: None,
        in_sync_at: None,
        nameservers: Vec::new(),
        by: ChangeActor {
            user: row.user_email,
            api_key_id: actor.api_key_id(),
            session_id: actor.session_id(),
            impersonator: actor.impersonator.as_ref().map(|i| i.email.clone()),
            via: actor.via.as_str().to_string(),
        },
    })
}

/// One change of a domain the actor may read.
pub async fn get(
    pool: &PgPool,
    actor: &Actor,
    zone: &str,
    id: ChangeId,
) -> Result<Change, CoreError> {
    let domain = crate::domain::load(pool, actor, zone, Action::Read).await?;
    let row = sqlx::query!(
        r#"SELECT c.id AS "id: ChangeId", c.zone, c.action, c.serial, c.created_at, c.published_at,
                  c.in_sync_at, c.via, c.actor_api_key_id AS "api_key_id: ApiKeyId",
                  c.actor_session_id AS "session_id: SessionId",
                  u.email AS "user_email?", i.email AS "impersonator_email?"
             FROM changes c
             LEFT JOIN users u ON u.id = c.actor_user_id
             LEFT JOIN users i ON i.id = c.impersonator_user_id
            WHERE c.id = $1 AND c.domain_id = $2"#,
        id.0,
        domain.id.0,
    )
    .fetch_optional(pool)
    .await?
    .ok_or(CoreError::NotFound {
        what: "change",
        name: id.to_string(),
    })?;
    let serial = row.serial.map(serial_from_db);
    let nameservers = match serial {
        Some(s) if row.published_at.is_some() => {
            crate::fleet::for_change(pool, domain.id, s).await?
        }
        _ => Vec::new(),
    };
    Ok(Change {
        id: row.id,
        zone: row.zone,
        action: row.action,
        serial,
        state: if row.in_sync_at.is_some() {
            "in_sync"
        } else if row.published_at.is_some() {
            "published"
        } else {
            "committed"
        },
        created_at: row.created_at,
        published_at: row.published_at,
        in_sync_at: row.in_sync_at,
        nameservers,
        by: ChangeActor {
            user: row.user_email,
            api_key_id: row.api_key_id,
            session_id: row.session_id,
            impersonator: row.impersonator_email,
            via: row.via,
        },
    })
}

/// A change in a domain's history, with the records (or settings) before and after it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The change (without per-nameserver progress).
    #[serde(flatten)]
    pub change: Change,
    /// What it replaced: records as JSON, or for an import `{"removed": …}`, for a settings
    /// change the settings.
    pub before: Option<serde_json::Value>,
    /// What it made.
    pub after: Option<serde_json::Value>,
}

/// The domain's changes, newest first: up to `limit`, older than `before` when given.
pub async fn history(
    pool: &PgPool,
    actor: &Actor,
    zone: &str,
    before: Option<ChangeId>,
    limit: i64,
) -> Result<Vec<Entry>, CoreError> {
    let domain = crate::domain::load(pool, actor, zone, Action::Read).await?;
    let rows = sqlx::query!(
        r#"SELECT c.id AS "id: ChangeId", c.zone, c.action, c.serial, c.created_at, c.published_at,
                  c.in_sync_at, c.via, c.actor_api_key_id AS "api_key_id: ApiKeyId",
                  c.actor_session_id AS "session_id: SessionId",
                  u.email AS "user_email?", i.email AS "impersonator_email?",
                  c.before, c.after
             FROM changes c
             LEFT JOIN users u ON u.id = c.actor_user_id
             LEFT JOIN users i ON i.id = c.impersonator_user_id
            WHERE c.domain_id = $1 AND ($2::bigint IS NULL OR c.id < $2)
            ORDER BY c.id DESC
            LIMIT $3"#,
        domain.id.0,
        before.map(|b| b.0),
        limit.clamp(1, 500),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Entry {
            change: Change {
                id: row.id,
                zone: row.zone,
                action: row.action,
                serial: row.serial.map(serial_from_db),
                state: if row.in_sync_at.is_some() {
                    "in_sync"
                } else if row.published_at.is_some() {
                    "published"
                } else {
                    "committed"
                },
                created_at: row.created_at,
                published_at: row.published_at,
                in_sync_at: row.in_sync_at,
                nameservers: Vec::new(),
                by: ChangeActor {
                    user: row.user_email,
                    api_key_id: row.api_key_id,
                    session_id: row.session_id,
                    impersonator: row.impersonator_email,
                    via: row.via,
                },
            },
            before: row.before,
            after: row.after,
        })
        .collect())
}
