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

/// A record as `records` stores it, in a change's exact diff (`changes.record_diff`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StoredRecord {
    /// The owner, absolute, as `records.name`.
    pub name: String,
    /// The type's mnemonic.
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL.
    pub ttl: u32,
    /// Canonical content.
    pub content: String,
    /// Comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Kept, not published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

impl StoredRecord {
    /// The record's identity in its zone: owner, type and content (not TTL or comment).
    pub fn key(&self) -> (&str, &str, &str) {
        (&self.name, &self.rtype, &self.content)
    }
}

/// The records a change removed and added, exactly and completely (what revert works from).
/// A record kept with a new TTL or comment is removed with its old values and added with its
/// new ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RecordDiff {
    /// Records as they were before the change.
    pub removed: Vec<StoredRecord>,
    /// Records as the change left them.
    pub added: Vec<StoredRecord>,
}

impl RecordDiff {
    /// Nothing removed, nothing added.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
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
    /// The TSIG key that signed the DNS UPDATE, by name (for `via: dns-update`).
    pub tsig_key: Option<String>,
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
    /// The exact records removed and added, kept for revert (`None` when no record moved).
    pub records: Option<RecordDiff>,
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
    // Serialized straight into the query (an import's diff is hundreds of thousands of
    // records: no intermediate `serde_json::Value`).
    let record_diff = c.records.as_ref().map(sqlx::types::Json);
    let row = sqlx::query!(
        r#"INSERT INTO changes (domain_id, zone, action, serial, actor_user_id, actor_api_key_id,
                                actor_session_id, impersonator_user_id, via, before, after,
                                rrset_names, rrset_types, record_diff, actor_tsig_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
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
        record_diff as Option<sqlx::types::Json<&RecordDiff>>,
        actor.tsig_key_name(),
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
            tsig_key: actor.tsig_key_name().map(str::to_string),
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
                  c.in_sync_at, c.via, c.actor_tsig_key, c.actor_api_key_id AS "api_key_id: ApiKeyId",
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
            tsig_key: row.actor_tsig_key,
        },
    })
}

/// A change in a domain's history, with the records (or settings) before and after it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ChangeEntry)]
pub struct Entry {
    /// The change (without per-nameserver progress).
    #[serde(flatten)]
    pub change: Change,
    /// What it replaced: records as JSON, or for an import `{"removed": …}`, for a settings
    /// change the settings.
    pub before: Option<serde_json::Value>,
    /// What it made.
    pub after: Option<serde_json::Value>,
    /// The exact records it removed and added, while history keeps them (none for a change
    /// that moved no records, and for one older than `APEX_HISTORY_DAYS`).
    pub records: Option<DiffSummary>,
}

/// A change's exact record diff as history lists it: each side counted, and listed up to
/// [`DIFF_LISTED`] records.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DiffSummary {
    /// How many records it removed.
    pub removed_count: usize,
    /// How many records it added.
    pub added_count: usize,
    /// The records removed (the first [`DIFF_LISTED`]).
    pub removed: Vec<StoredRecord>,
    /// The records added (the first [`DIFF_LISTED`]).
    pub added: Vec<StoredRecord>,
}

/// Records listed per side of a change's diff in history.
pub const DIFF_LISTED: usize = 100;

impl DiffSummary {
    fn of(diff: RecordDiff) -> Self {
        let (removed_count, added_count) = (diff.removed.len(), diff.added.len());
        let mut removed = diff.removed;
        let mut added = diff.added;
        removed.truncate(DIFF_LISTED);
        added.truncate(DIFF_LISTED);
        Self {
            removed_count,
            added_count,
            removed,
            added,
        }
    }
}

/// Which changes to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// Older than this change (the cursor of the page before).
    pub before: Option<ChangeId>,
    /// Made by this user (e-mail address, any case).
    pub user: Option<String>,
    /// Made with this API key.
    pub key: Option<ApiKeyId>,
    /// Made through this channel (`api`, `web`, `cli`, `import`, `dns-update`, `platform`).
    pub via: Option<String>,
    /// Made at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Made before this time.
    pub until: Option<DateTime<Utc>>,
    /// At most this many (1–500).
    pub limit: i64,
}

/// The domain's changes, newest first: up to `limit`, older than `before` when given.
pub async fn history(
    pool: &PgPool,
    actor: &Actor,
    zone: &str,
    before: Option<ChangeId>,
    limit: i64,
) -> Result<Vec<Entry>, CoreError> {
    list(
        pool,
        actor,
        zone,
        &ChangeFilter {
            before,
            limit,
            ..ChangeFilter::default()
        },
    )
    .await
}

/// The domain's changes matching `filter`, newest first (by id, which is commit order).
pub async fn list(
    pool: &PgPool,
    actor: &Actor,
    zone: &str,
    filter: &ChangeFilter,
) -> Result<Vec<Entry>, CoreError> {
    let domain = crate::domain::load(pool, actor, zone, Action::Read).await?;
    let rows = sqlx::query!(
        r#"SELECT c.id AS "id: ChangeId", c.zone, c.action AS "action: ChangeAction", c.serial, c.created_at, c.published_at,
                  c.in_sync_at, c.via, c.actor_tsig_key, c.actor_api_key_id AS "api_key_id: ApiKeyId",
                  c.actor_session_id AS "session_id: SessionId",
                  u.email AS "user_email?", i.email AS "impersonator_email?",
                  c.before, c.after, c.record_diff
             FROM changes c
             LEFT JOIN users u ON u.id = c.actor_user_id
             LEFT JOIN users i ON i.id = c.impersonator_user_id
            WHERE c.domain_id = $1 AND ($2::bigint IS NULL OR c.id < $2)
              AND ($3::text IS NULL OR lower(u.email) = lower($3))
              AND ($4::bigint IS NULL OR c.actor_api_key_id = $4)
              AND ($5::text IS NULL OR c.via = $5)
              AND ($6::timestamptz IS NULL OR c.created_at >= $6)
              AND ($7::timestamptz IS NULL OR c.created_at < $7)
            ORDER BY c.id DESC
            LIMIT $8"#,
        domain.id.0,
        filter.before.map(|b| b.0),
        filter.user,
        filter.key.map(|k| k.0),
        filter.via,
        filter.since,
        filter.until,
        filter.limit.clamp(1, 500),
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let records = row
                .record_diff
                .map(serde_json::from_value::<RecordDiff>)
                .transpose()
                .map_err(|e| CoreError::Internal(format!("stored record diff: {e}")))?
                .map(DiffSummary::of);
            Ok(Entry {
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
                        tsig_key: row.actor_tsig_key,
                    },
                },
                before: row.before,
                after: row.after,
                records,
            })
        })
        .collect()
}

/// Forgets the exact record diffs of changes older than `days` (the history window): those
/// changes stay listed, but can no longer be reverted across. Returns how many were pruned.
pub async fn prune_history(pool: &PgPool, days: u32) -> Result<u64, CoreError> {
    let pruned = sqlx::query!(
        "UPDATE changes SET record_diff = NULL
          WHERE record_diff IS NOT NULL AND created_at < now() - make_interval(days => $1)",
        i32::try_from(days).unwrap_or(i32::MAX),
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(pruned)
}
