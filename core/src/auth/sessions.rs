//! Dashboard sessions: server-side rows in Postgres, found by the SHA-256 of a random token
//! that lives only in the browser's cookie (HttpOnly, SameSite=Lax, Secure behind TLS).
//!
//! A session ends when it is revoked (sign-out, "sign out everywhere", a password change or
//! reset, an administrator disabling the user), when it has not been used for
//! `APEX_SESSION_IDLE_MINUTES`, or `APEX_SESSION_MAX_HOURS` after sign-in, whichever comes
//! first. A session waiting for its second factor (`pending`) lasts five minutes and opens
//! nothing but the second step.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

use super::keys;
use crate::actor::{Actor, Credential, Impersonator, PlatformRoles, Via};
use crate::audit::Event;
use crate::authz::{self, AccountAction};
use crate::ids::{SessionId, UserId};
use crate::{Core, CoreError};

/// How long the second step of a sign-in may take.
pub const PENDING_TTL: TimeDelta = TimeDelta::minutes(5);
/// The session cookie's name.
pub const COOKIE: &str = "apex_session";

/// A `Set-Cookie` value for one of the platform's own cookies (session, remembered device):
/// HttpOnly (no script reads it), `SameSite=Lax` (not sent on another site's POST), the whole
/// site, `Secure` when the platform is served over https; an empty `value` with a zero
/// `max_age` clears it. The API and the dashboard both set their cookies with it.
pub fn set_cookie(
    accounts: &crate::config::Accounts,
    name: &str,
    value: &str,
    max_age: TimeDelta,
) -> String {
    format!(
        "{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        max_age.num_seconds().max(0),
        if accounts.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    )
}

/// A new session's token: for the cookie, nowhere else.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Its id.
    pub id: SessionId,
    /// The cookie value.
    pub token: String,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// Where a request comes from: the client's address and browser.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// Address.
    pub ip: Option<IpAddr>,
    /// `User-Agent`, shortened.
    pub user_agent: Option<String>,
}

impl Client {
    /// The client of an HTTP request, as the API and the dashboard both see it. The address
    /// is the TCP `peer`'s or, when that peer is one of `trusted` proxies, the nearest
    /// address in the `X-Forwarded-For` values that is not one (the ones further left could
    /// be made up by the client).
    pub fn of_request<'a>(
        peer: Option<IpAddr>,
        forwarded_for: impl IntoIterator<Item = &'a str>,
        user_agent: Option<&str>,
        trusted: &[ipnet::IpNet],
    ) -> Self {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
        let ip = peer.map(|peer| {
            if !is_trusted(&peer) {
                return peer;
            }
            let forwarded: Vec<IpAddr> = forwarded_for
                .into_iter()
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !is_trusted(ip))
                .unwrap_or(peer)
        });
        Self {
            ip,
            user_agent: user_agent.map(short_agent),
        }
    }
}

/// Starts a session for `user`: `pending` (awaiting the second factor) or active.
pub async fn create(
    db: impl PgExecutor<'_>,
    core: &Core,
    user: UserId,
    pending: bool,
    impersonator: Option<UserId>,
    client: &Client,
) -> Result<NewSession, CoreError> {
    let token = super::token::random_token("")?;
    let ttl = if pending {
        PENDING_TTL
    } else {
        core.platform.accounts.session_max
    };
    let expires_at = Utc::now() + ttl;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO sessions (user_id, token_hash, state, impersonator_id, expires_at, source_ip, user_agent)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id AS "id: SessionId""#,
        user.0,
        super::token::token_hash(&token),
        if pending { "pending" } else { "active" },
        impersonator.map(|u| u.0),
        expires_at,
        client.ip.map(|ip| ip.to_string()),
        client.user_agent.as_deref().map(short_agent),
    )
    .fetch_one(db)
    .await?;
    Ok(NewSession {
        id,
        token,
        expires_at,
    })
}

fn short_agent(agent: &str) -> String {
    agent.chars().take(200).collect()
}

/// Finds the actor behind an active session cookie, or `Unauthenticated`.
pub async fn authenticate(core: &Core, token: &str, client: &Client) -> Result<Actor, CoreError> {
    if token.len() != 64 {
        return Err(CoreError::Unauthenticated);
    }
    let idle = core.platform.accounts.session_idle.as_seconds_f64();
    let row = sqlx::query!(
        r#"SELECT s.id AS "id: SessionId", s.user_id AS "user_id: UserId",
                  s.last_seen_at < now() - interval '1 minute' AS "touch!",
                  u.email, u.is_admin, u.permissions, u.totp_enabled_at,
                  i.id AS "impersonator_id?: UserId", i.email AS "impersonator_email?"
             FROM sessions s
             JOIN users u ON u.id = s.user_id
             LEFT JOIN users i ON i.id = s.impersonator_id
            WHERE s.token_hash = $1 AND s.state = 'active' AND s.revoked_at IS NULL
              AND s.expires_at > now()
              AND s.last_seen_at > now() - make_interval(secs => $2)
              AND u.disabled_at IS NULL
              -- An impersonation lasts only as long as the administrator may impersonate.
              AND (s.impersonator_id IS NULL
                   OR (i.disabled_at IS NULL
                       AND (i.is_admin OR 'impersonate' = ANY(i.permissions))))"#,
        super::token::token_hash(token),
        idle,
    )
    .fetch_optional(&core.pool)
    .await?
    .ok_or(CoreError::Unauthenticated)?;
    if row.touch {
        sqlx::query!(
            "UPDATE sessions SET last_seen_at = now() WHERE id = $1",
            row.id.0
        )
        .execute(&core.pool)
        .await?;
    }
    let roles = PlatformRoles::from_db(row.is_admin, &row.permissions);
    // An impersonation session is the administrator's, who proved who they are; the user's
    // own enrolment is not in question (as in `users::admin::impersonate`).
    let needs_2fa = row.impersonator_id.is_none()
        && row.totp_enabled_at.is_none()
        && keys::second_factor_required(core, &roles);
    Ok(Actor {
        user_id: Some(row.user_id),
        email: Some(row.email),
        roles,
        credential: Credential::Session(row.id),
        impersonator: row
            .impersonator_id
            .zip(row.impersonator_email)
            .map(|(user_id, email)| Impersonator { user_id, email }),
        needs_2fa,
        via: Via::Web,
        source: client.ip,
    })
}

/// A session as its user sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Id.
    pub id: SessionId,
    /// The session making this request.
    pub current: bool,
    /// Signed in at.
    pub created_at: DateTime<Utc>,
    /// Last used (to the minute).
    pub last_seen_at: DateTime<Utc>,
    /// Ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// From where it signed in.
    pub source_ip: Option<String>,
    /// With what.
    pub user_agent: Option<String>,
    /// An administrator acting as you (support).
    pub impersonator: Option<String>,
}

/// The actor's live sessions, newest first.
pub async fn list(core: &Core, actor: &Actor) -> Result<Vec<SessionView>, CoreError> {
    let user = authz::account(actor, AccountAction::Read)?;
    let idle = core.platform.accounts.session_idle.as_seconds_f64();
    let rows = sqlx::query!(
        r#"SELECT s.id AS "id: SessionId", s.created_at, s.last_seen_at, s.expires_at, s.source_ip,
                  s.user_agent, i.email AS "impersonator?"
             FROM sessions s LEFT JOIN users i ON i.id = s.impersonator_id
            WHERE s.user_id = $1 AND s.state = 'active' AND s.revoked_at IS NULL
              AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => $2)
            ORDER BY s.id DESC"#,
        user.0,
        idle,
    )
    .fetch_all(&core.pool)
    .await?;
    let current = actor.session_id();
    Ok(rows
        .into_iter()
        .map(|r| SessionView {
            current: Some(r.id) == current,
            id: r.id,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r
                .expires_at
                .min(r.last_seen_at + core.platform.accounts.session_idle),
            source_ip: r.source_ip,
            user_agent: r.user_agent,
            impersonator: r.impersonator,
        })
        .collect())
}

/// Ends one of the actor's sessions.
pub async fn revoke(core: &Core, actor: &Actor, id: SessionId) -> Result<(), CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    let mut tx = core.pool.begin().await?;
    let done = sqlx::query!(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        id.0,
        user.0
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(CoreError::NotFound {
            what: "session",
            name: id.to_string(),
        });
    }
    Event::new("session.revoked", true)
        .actor(actor)
        .detail(serde_json::json!({"session_id": id}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Signs out: ends the session making the request (a key has none to end).
pub async fn sign_out(core: &Core, actor: &Actor) -> Result<(), CoreError> {
    authz::account(actor, AccountAction::Read)?;
    let Some(id) = actor.session_id() else {
        return Err(CoreError::invalid(
            "session",
            "this request carries no session to sign out of",
        ));
    };
    let mut tx = core.pool.begin().await?;
    sqlx::query!(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        id.0
    )
    .execute(&mut *tx)
    .await?;
    Event::new("logout", true)
        .actor(actor)
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Signs out everywhere: ends every session of the actor's user (this one too); returns how
/// many ended.
pub async fn sign_out_everywhere(core: &Core, actor: &Actor) -> Result<u64, CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    let mut tx = core.pool.begin().await?;
    let ended = end_all(&mut *tx, user, None).await?;
    Event::new("logout.everywhere", true)
        .actor(actor)
        .detail(serde_json::json!({"sessions_ended": ended}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Ends every session of `user` but `keep` (password change keeps the one making it), and
/// every session in which `user` acts as someone else (impersonation).
pub async fn end_all(
    db: impl PgExecutor<'_>,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<u64, CoreError> {
    Ok(sqlx::query!(
        "UPDATE sessions SET revoked_at = now()
          WHERE (user_id = $1 OR impersonator_id = $1) AND revoked_at IS NULL
            AND ($2::bigint IS NULL OR id <> $2)",
        user.0,
        keep.map(|s| s.0),
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Deletes sessions that ended more than a day ago (the reconciler calls this now and then).
pub async fn prune(pool: &PgPool) -> Result<u64, CoreError> {
    Ok(sqlx::query!(
        "DELETE FROM sessions WHERE expires_at < now() - interval '1 day'
            OR revoked_at < now() - interval '1 day'"
    )
    .execute(pool)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn client_address_behind_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A peer that is no proxy is the client, whatever it forwards.
        let c = Client::of_request(ip("192.0.2.1"), ["203.0.113.9"], Some("curl"), &trusted);
        assert_eq!(c.ip, ip("192.0.2.1"));
        assert_eq!(c.user_agent.as_deref(), Some("curl"));
        // Through trusted proxies: the nearest address that is not one; the ones to its
        // left could be made up.
        let c = Client::of_request(
            ip("10.0.0.1"),
            ["198.51.100.7, 203.0.113.9", "10.0.0.2"],
            None,
            &trusted,
        );
        assert_eq!(c.ip, ip("203.0.113.9"));
        // Nothing usable forwarded: the proxy itself.
        let c = Client::of_request(ip("10.0.0.1"), ["junk"], None, &trusted);
        assert_eq!(c.ip, ip("10.0.0.1"));
        assert_eq!(Client::of_request(None, [], None, &trusted).ip, None);
        let long = "x".repeat(500);
        let c = Client::of_request(None, [], Some(&long), &trusted);
        assert_eq!(c.user_agent.unwrap().len(), 200);
    }
}
