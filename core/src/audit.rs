//! The audit log of security events: sign-ins and their failures, second-factor and password
//! changes, keys made, refused and revoked, sharing, impersonation and administration. Zone
//! edits are in `changes`; this is everything about who may get in and what they may do.
//!
//! Events that report a refusal are written on their own (the refused request changes
//! nothing else); events about a change are written in the transaction of the change.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;

use crate::actor::{Actor, Permission};
use crate::authz::{self, AccountAction, Request};
use crate::ids::{AuditId, DomainId, UserId};
use crate::{Core, CoreError};

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct Event {
    event: &'static str,
    success: bool,
    actor_user: Option<(UserId, Option<String>)>,
    credential: Option<String>,
    impersonator: Option<UserId>,
    subject: Option<(Option<UserId>, String)>,
    source: Option<IpAddr>,
    domain: Option<(DomainId, String)>,
    detail: serde_json::Value,
}

impl Event {
    /// A new event named `event` (`login.failed`) that did (`true`) or did not happen.
    pub fn new(event: &'static str, success: bool) -> Self {
        Self {
            event,
            success,
            actor_user: None,
            credential: None,
            impersonator: None,
            subject: None,
            source: None,
            domain: None,
            detail: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Who acted, through which credential, from where.
    pub fn actor(mut self, actor: &Actor) -> Self {
        self.actor_user = actor.user_id.map(|u| (u, actor.email.clone()));
        self.credential = Some(actor.credential.label());
        self.impersonator = actor.impersonator.as_ref().map(|i| i.user_id);
        self.source = self.source.or(actor.source);
        self
    }

    /// The credential presented, when there is no actor (a refused key, a password).
    pub fn credential(mut self, label: impl Into<String>) -> Self {
        self.credential = Some(label.into());
        self
    }

    /// Whose account the event is about.
    pub fn subject(mut self, user: Option<UserId>, email: impl Into<String>) -> Self {
        self.subject = Some((user, email.into()));
        self
    }

    /// The client's address.
    pub fn source(mut self, ip: Option<IpAddr>) -> Self {
        if ip.is_some() {
            self.source = ip;
        }
        self
    }

    /// The domain concerned.
    pub fn domain(mut self, id: DomainId, name: impl Into<String>) -> Self {
        self.domain = Some((id, name.into()));
        self
    }

    /// Details (never a secret).
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Writes the event.
    pub async fn record(self, db: impl PgExecutor<'_>) -> Result<AuditId, CoreError> {
        let (actor_id, actor_email) = match self.actor_user {
            Some((id, email)) => (Some(id.0), email),
            None => (None, None),
        };
        let (subject_id, subject_email) = match self.subject {
            Some((id, email)) => (id.map(|u| u.0), Some(email)),
            None => (None, None),
        };
        let id = sqlx::query_scalar!(
            r#"INSERT INTO audit_events (event, success, actor_user_id, actor_email, subject_user_id,
                                         subject_email, credential, impersonator_user_id, source_ip,
                                         domain_id, domain, detail)
               VALUES ($1, $2, $3, COALESCE($4, (SELECT email FROM users WHERE id = $3)), $5,
                       $6, $7, $8, $9, $10,
                       COALESCE(NULLIF($11, ''), (SELECT name FROM domains WHERE id = $10)), $12)
               RETURNING id AS "id: AuditId""#,
            self.event,
            self.success,
            actor_id,
            actor_email,
            subject_id,
            subject_email,
            self.credential,
            self.impersonator.map(|u| u.0),
            self.source.map(|ip| ip.to_string()),
            self.domain.as_ref().map(|d| d.0.0),
            self.domain.as_ref().map(|d| d.1.clone()),
            self.detail,
        )
        .fetch_one(db)
        .await?;
        tracing::info!(
            audit.id = %id,
            audit.event = self.event,
            audit.success = self.success,
            user.id = ?actor_id,
            "security event"
        );
        Ok(id)
    }

    /// Writes the event without failing the caller: used for refusals, where the answer to
    /// the client matters more than the log line (a failure is logged).
    pub async fn record_quietly(self, db: impl PgExecutor<'_>) {
        let event = self.event;
        if let Err(e) = self.record(db).await {
            tracing::error!(audit.event = event, error = %e, "could not write an audit event");
        }
    }
}

/// An event as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    /// Id (events are listed newest first; page with `before`).
    pub id: AuditId,
    /// When.
    pub at: DateTime<Utc>,
    /// What: `login.succeeded`, `key.created`, …
    pub event: String,
    /// Whether it happened (false: refused or failed).
    pub success: bool,
    /// Who acted.
    pub actor: Option<String>,
    /// Whose account it concerns.
    pub subject: Option<String>,
    /// The credential: `password`, `session:12`, `api_key:5`, `domain_key:7`, `cli`.
    pub credential: Option<String>,
    /// The administrator acting as the actor, if any.
    pub impersonator: Option<String>,
    /// The client's address (hidden from you when another user acted).
    pub source_ip: Option<String>,
    /// The domain concerned.
    pub domain: Option<String>,
    /// Details.
    pub detail: serde_json::Value,
}

/// Which events to list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only events older than this id (the `next` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<i64>,
    /// Everyone's events (holders of `view_audit`); otherwise your own.
    #[serde(default)]
    pub all: bool,
    /// Only events whose name starts with this (`login.`).
    pub event: Option<String>,
}

/// A page of events, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditView>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// Lists events: the actor's own (as actor, subject or impersonator), or everyone's for
/// holders of `view_audit` who ask for `all`.
pub async fn list(core: &Core, actor: &Actor, q: &AuditQuery) -> Result<AuditPage, CoreError> {
    let user = authz::account(actor, AccountAction::Read)?;
    if q.all {
        authz::authorize(actor, Request::Platform(Permission::ViewAudit))?;
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(CoreError::invalid("limit", "must be between 1 and 500"));
    }
    let rows = sqlx::query!(
        r#"SELECT a.id AS "id: AuditId", a.created_at, a.event, a.success, a.actor_email,
                  a.actor_user_id, a.impersonator_user_id, a.subject_email, a.credential,
                  i.email AS "impersonator?",
                  a.source_ip, a.domain, a.detail
             FROM audit_events a LEFT JOIN users i ON i.id = a.impersonator_user_id
            WHERE ($1::bigint IS NULL OR a.id < $1)
              AND ($2::text IS NULL OR starts_with(a.event, $2))
              AND ($3 OR a.actor_user_id = $4 OR a.subject_user_id = $4 OR a.impersonator_user_id = $4)
            ORDER BY a.id DESC
            LIMIT $5"#,
        q.before,
        q.event,
        q.all,
        user.0,
        limit + 1,
    )
    .fetch_all(&core.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let events: Vec<AuditView> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(100))
        .map(|r| AuditView {
            id: r.id,
            at: r.created_at,
            event: r.event,
            success: r.success,
            actor: r.actor_email,
            subject: r.subject_email,
            credential: r.credential,
            impersonator: r.impersonator,
            // Another person's address is theirs: shown to them and to auditors, and for
            // attempts made by nobody signed in (someone trying your password).
            source_ip: r.source_ip.filter(|_| {
                q.all
                    || (r.impersonator_user_id.is_none()
                        && r.actor_user_id.is_none_or(|a| a == user.0))
            }),
            domain: r.domain,
            detail: r.detail,
        })
        .collect();
    let next = if more {
        events.last().map(|e| e.id.0)
    } else {
        None
    };
    Ok(AuditPage { events, next })
}
