//! The change log: every write appends one row, in the same transaction as the write.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};

use crate::CoreError;
use crate::actor::Actor;
use crate::authz::Action;
use crate::change_action::ChangeAction;
use crate::db::serial_from_db;
use crate::ids::{ApiKeyId, ChangeId, DomainId, SessionId};

/// A change as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// Id, for `GET /api/v1/domains/{name}/changes/{id}`.
    pub id: ChangeId,
    /// The zone.
    pub zone: String,
    /// What the change did.
    pub action: ChangeAction,
    /// The zone serial this change will be published at (none for a deletion).
    pub serial: Option<u32>,
    /// How far it got: committed, published, in sync.
    pub state: ChangeState,
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

crate::text_enum! {
    /// How far a change has got on its way to the nameservers.
    pub enum ChangeState {
        /// Stored; no published version includes it yet.
        Committed = "committed",
        /// In a published version, which the fleet has been told about.
        Published = "published",
        /// Every fleet nameserver serves that version (or a newer one).
        InSync = "in_sync",
    }
}

impl ChangeState {
    fn of(published_at: Option<DateTime<Utc>>, in_sync_at: Option<DateTime<Utc>>) -> Self {
        if in_sync_at.is_some() {
            Self::InSync
        } else if published_at.is_some() {
            Self::Published
        } else {
            Self::Committed
        }
    }
}

/// One RRset a change touched: its owner and type, as the records table keeps them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RrsetKey {
    /// The owner, absolute (`www.example.com.`), as `records.name`.
    pub owner: String,
    /// The type's mnemonic, as `records.type`.
    pub rtype: String,
}

impl RrsetKey {
    /// The RRset of `owner` (absolute, as stored) and `rtype`.
    pub fn new(owner: impl Into<String>, rtype: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            rtype: rtype.into(),
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
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
    pub action: ChangeAction,
    /// New wanted serial.
    pub serial: Option<u32>,
    /// Records before, as JSON.
    pub before: Option<serde_json::Value>,
    /// Records after, as JSON.
    pub after: Option<serde_json::Value>,
    /// The RRsets a record edit touched, for publishing (empty for other actions, which
    /// publish the zone in full).
    pub rrsets: Vec<RrsetKey>,
}

/// Appends a change in the caller's transaction.
pub async fn append(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    c: NewChange<'_>,
) -> Result<Change, CoreError> {
    // NULL for what is not a record edit: the worker renders those in full.
    let (names, types): (Vec<String>, Vec<String>) =
        c.rrsets.into_iter().map(|k| (k.owner, k.rtype)).unzip();
    let (names, types) = if c.action.is_record_edit() {
        (Some(names), Some(types))
    } else {
        (None, None)
    };
    let row = sqlx::query!(
        r#"INSERT INTO changes (domain_id, zone, action, serial, actor_user_id, actor_api_key_id,
                                actor_session_id, impersonator_user_id, via, before, after,
                                rrset_names, rrset_types)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           RETURNING id AS "id: ChangeId", created_at,
                     (SELECT email FROM users WHERE id = $5) AS user_email"#,
        c.domain_id.0,
        c.zone,
        c.action.as_str(),
        c.serial.map(i64::from),
        actor.user_id.map(|u| u.0),
        actor.api_key_id().map(|k| k.0),
        actor.session_id().map(|s| s.0),
        actor.impersonator.as_ref().map(|i| i.user_id.0),
        actor.via.as_str(),
        c.before,
        c.after,
        names.as_deref(),
        types.as_deref(),
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Change {
        id: row.id,
        zone: c.zone.to_string(),
        action: c.action,
        serial: c.serial,
        state: ChangeState::Committed,
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
        r#"SELECT c.id AS "id: ChangeId", c.zone, c.action AS "action: ChangeAction", c.serial, c.created_at, c.published_at,
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
        state: ChangeState::of(row.published_at, row.in_sync_at),
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
        r#"SELECT c.id AS "id: ChangeId", c.zone, c.action AS "action: ChangeAction", c.serial, c.created_at, c.published_at,
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
                state: ChangeState::of(row.published_at, row.in_sync_at),
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
