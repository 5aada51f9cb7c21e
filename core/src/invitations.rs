//! Invitations: mailed links that let someone without an account sign up — to a domain at a
//! role (sharing with an address that has no account yet), or to the platform alone (an
//! administrator's invitation, which is how an invite-only platform grows). The link's token
//! is stored hashed; an invitation expires after `APEX_INVITATION_DAYS`, is used once, and
//! can be revoked.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, Postgres, Transaction};

use crate::actor::{Actor, Permission, Role};
use crate::audit::Event;
use crate::auth::token::{random_token, token_hash};
use crate::authz;
use crate::config::Signup;
use crate::ids::{DomainId, InvitationId, UserId};
use crate::users::parse_email;
use crate::{Core, CoreError, mail};

/// A pending invitation as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    /// Id (to revoke it).
    pub id: InvitationId,
    /// Who is invited.
    pub email: String,
    /// To which domain (none: the platform alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// At which role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// By whom.
    pub invited_by: Option<String>,
    /// Sent at.
    pub created_at: DateTime<Utc>,
    /// Works until.
    pub expires_at: DateTime<Utc>,
}

/// An invitation found by its link.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Id.
    pub id: InvitationId,
    /// The invited address.
    pub email: String,
    /// The domain, if any, with its name.
    pub domain: Option<(DomainId, String)>,
    /// The role there.
    pub role: Option<Role>,
}

/// Makes an invitation in `tx` and queues its mail. Any earlier pending invitation of the
/// same address to the same place is replaced.
pub async fn create(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    actor: &Actor,
    email: &str,
    domain: Option<(DomainId, &str)>,
    role: Option<Role>,
) -> Result<InvitationView, CoreError> {
    if core.platform.accounts.signup == Signup::Closed {
        return Err(CoreError::invalid(
            "email",
            format!(
                "no account has the address {email}, and this platform takes no sign-ups: ask an administrator to create the account first"
            ),
        ));
    }
    sqlx::query!(
        "UPDATE invitations SET revoked_at = now()
          WHERE email = $1 AND domain_id IS NOT DISTINCT FROM $2
            AND accepted_at IS NULL AND revoked_at IS NULL",
        email,
        domain.map(|d| d.0.0),
    )
    .execute(&mut **tx)
    .await?;
    let token = random_token("")?;
    let expires_at = Utc::now() + core.platform.accounts.invitation_ttl;
    let row = sqlx::query!(
        r#"INSERT INTO invitations (token_hash, email, domain_id, role, invited_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id AS "id: InvitationId", created_at"#,
        token_hash(&token),
        email,
        domain.map(|d| d.0.0),
        role as Option<Role>,
        actor.user_id.map(|u| u.0),
        expires_at,
    )
    .fetch_one(&mut **tx)
    .await?;
    let link = core
        .platform
        .accounts
        .link(&format!("/signup?invitation={token}"));
    let inviter = actor
        .email
        .clone()
        .unwrap_or_else(|| "an administrator".into());
    mail::enqueue(
        &mut **tx,
        None,
        email,
        &mail::Message::invitation(&inviter, domain.map(|d| d.1), role.map(Role::as_str), &link),
    )
    .await?;
    let mut event = Event::new("invitation.created", true)
        .actor(actor)
        .subject(None, email)
        .detail(serde_json::json!({"invitation_id": row.id, "role": role}));
    if let Some((id, name)) = domain {
        event = event.domain(id, name);
    }
    event.record(&mut **tx).await?;
    Ok(InvitationView {
        id: row.id,
        email: email.to_string(),
        domain: domain.map(|d| d.1.to_string()),
        role,
        invited_by: actor.email.clone(),
        created_at: row.created_at,
        expires_at,
    })
}

/// Finds a pending, unexpired invitation by its link's token.
pub async fn find(db: impl PgExecutor<'_>, token: &str) -> Result<Option<Pending>, CoreError> {
    let row = sqlx::query!(
        r#"SELECT i.id AS "id: InvitationId", i.email, i.domain_id AS "domain_id: DomainId",
                  d.name AS "domain?", i.role AS "role: Role"
             FROM invitations i LEFT JOIN domains d ON d.id = i.domain_id
            WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
              AND i.expires_at > now()"#,
        token_hash(token.trim()),
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Pending {
        id: r.id,
        email: r.email,
        domain: r.domain_id.zip(r.domain),
        role: r.role,
    }))
}

/// Accepts an invitation for `user` in `tx`: the membership it offers, if any, is added
/// (an existing membership keeps the higher role).
pub async fn accept(
    tx: &mut Transaction<'_, Postgres>,
    invitation: &Pending,
    user: UserId,
    email: &str,
) -> Result<(), CoreError> {
    let taken = sqlx::query!(
        "UPDATE invitations SET accepted_at = now(), accepted_by = $2
          WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
        invitation.id.0,
        user.0
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if taken == 0 {
        return Err(invalid_invitation());
    }
    if let (Some((domain, name)), Some(role)) = (&invitation.domain, invitation.role) {
        sqlx::query!(
            "INSERT INTO domain_members (domain_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (domain_id, user_id) DO UPDATE
               SET role = GREATEST(domain_members.role, EXCLUDED.role)",
            domain.0,
            user.0,
            role as Role,
        )
        .execute(&mut **tx)
        .await?;
        Event::new("member.added", true)
            .subject(Some(user), email)
            .domain(*domain, name.clone())
            .detail(serde_json::json!({"role": role, "invitation_id": invitation.id}))
            .record(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The error for a link that does not (or no longer) work.
pub fn invalid_invitation() -> CoreError {
    CoreError::invalid(
        "invitation",
        "this invitation does not work: it has expired, been used or been revoked; ask for a new one",
    )
}

/// Pending invitations to a domain.
pub async fn for_domain(
    db: impl PgExecutor<'_>,
    domain: DomainId,
) -> Result<Vec<InvitationView>, CoreError> {
    let rows = sqlx::query!(
        r#"SELECT i.id AS "id: InvitationId", i.email, d.name AS "domain?", i.role AS "role: Role",
                  u.email AS "invited_by?", i.created_at, i.expires_at
             FROM invitations i
             LEFT JOIN domains d ON d.id = i.domain_id
             LEFT JOIN users u ON u.id = i.invited_by
            WHERE i.domain_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
              AND i.expires_at > now()
            ORDER BY i.id"#,
        domain.0
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| InvitationView {
            id: r.id,
            email: r.email,
            domain: r.domain,
            role: r.role,
            invited_by: r.invited_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
        .collect())
}

/// Revokes a pending invitation of a domain; `false` when there was none.
pub async fn revoke(
    db: impl PgExecutor<'_>,
    domain: Option<DomainId>,
    id: InvitationId,
) -> Result<bool, CoreError> {
    Ok(sqlx::query!(
        "UPDATE invitations SET revoked_at = now()
          WHERE id = $1 AND domain_id IS NOT DISTINCT FROM $2
            AND accepted_at IS NULL AND revoked_at IS NULL",
        id.0,
        domain.map(|d| d.0),
    )
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// An administrator invites an address to the platform (needs `manage_users`).
pub async fn invite_to_platform(
    core: &Core,
    actor: &Actor,
    email: &str,
) -> Result<InvitationView, CoreError> {
    authz::platform(actor, Permission::ManageUsers)?;
    let email = parse_email(email)?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE email = $1) AS "e!""#,
        email
    )
    .fetch_one(&core.pool)
    .await?;
    if exists {
        return Err(CoreError::conflict(
            "email",
            format!("{email} has an account already"),
        ));
    }
    let mut tx = core.pool.begin().await?;
    let view = create(&mut tx, core, actor, &email, None, None).await?;
    tx.commit().await?;
    Ok(view)
}

/// A signed-in user accepts an invitation sent to their address (to a domain they were
/// invited to before they had an account, or under another address they also own: the link
/// itself is the proof).
pub async fn accept_signed_in(core: &Core, actor: &Actor, token: &str) -> Result<(), CoreError> {
    let user = authz::account(actor, authz::AccountAction::Manage)?;
    let invitation = find(&core.pool, token)
        .await?
        .ok_or_else(invalid_invitation)?;
    let mut tx = core.pool.begin().await?;
    accept(
        &mut tx,
        &invitation,
        user,
        actor.email.as_deref().unwrap_or_default(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
