//! Sharing a domain: members at the roles `read` < `write` < `admin` < `owner`.
//!
//! The rules (MyDNSHost's): you cannot grant a role equal to or above your own, nor change or
//! remove someone at or above yours; a domain always has exactly one owner, who hands
//! ownership on (and becomes admin) rather than leaving; anyone may leave a domain they do
//! not own; platform administrators (`manage_domains`) can do anything. Inviting an address
//! with an account adds it at once; one without gets an invitation mail whose link creates
//! the account and the membership.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};

use crate::actor::{Actor, Role};
use crate::audit::Event;
use crate::authz::{self, Action, MemberChange, Request};
use crate::domain::{self, Domain};
use crate::domains;
use crate::ids::{InvitationId, UserId};
use crate::invitations::{self, InvitationView};
use crate::users::parse_email;
use crate::{Core, CoreError, mail};

/// A member as the API shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// The user's id (the `{user}` of `/members/{user}`).
    pub user_id: UserId,
    /// Their address.
    pub email: String,
    /// Their role.
    pub role: Role,
    /// Member since.
    pub since: DateTime<Utc>,
}

/// Members and pending invitations.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Members {
    /// Members, by e-mail address.
    pub members: Vec<MemberView>,
    /// Invitations not yet accepted.
    pub invitations: Vec<InvitationView>,
}

/// `POST /api/v1/domains/{name}/members`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Who.
    pub email: String,
    /// `read`, `write` or `admin` (ownership is transferred with PATCH).
    pub role: Role,
}

/// `PATCH /api/v1/domains/{name}/members/{user}`: a new role; `owner` transfers ownership.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// The new role.
    pub role: Role,
}

/// What adding a member did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Added {
    /// The address has an account: a member now.
    Added {
        /// The member.
        member: MemberView,
    },
    /// No account yet: an invitation went out.
    Invited {
        /// The invitation.
        invitation: InvitationView,
    },
}

/// Authorizes a change to the members of a loaded domain.
fn authorize(actor: &Actor, domain: &Domain, change: MemberChange) -> Result<(), CoreError> {
    authz::authorize(actor, Request::Member(domain.access(), change))
}

/// The members and pending invitations of a domain.
/// Members by e-mail address; a page starts after an address. The pending invitations come
/// with the first page.
pub async fn list(
    core: &Core,
    actor: &Actor,
    zone: &str,
    window: &crate::page::Window<String>,
) -> Result<Members, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Read).await?;
    let members = sqlx::query!(
        r#"SELECT m.user_id AS "user_id: UserId", u.email, m.role AS "role: Role", m.created_at
             FROM domain_members m JOIN users u ON u.id = m.user_id
            WHERE m.domain_id = $1 AND ($2::text IS NULL OR u.email > $2)
            ORDER BY u.email LIMIT $3"#,
        domain.id.0,
        window.after,
        window.limit,
    )
    .fetch_all(&core.pool)
    .await?
    .into_iter()
    .map(|r| MemberView {
        user_id: r.user_id,
        email: r.email,
        role: r.role,
        since: r.created_at,
    })
    .collect();
    Ok(Members {
        members,
        invitations: if window.after.is_none() {
            invitations::for_domain(&core.pool, domain.id).await?
        } else {
            Vec::new()
        },
    })
}

/// A domain has one owner, handed on with PATCH, never added.
fn not_owner(role: Role) -> Result<(), CoreError> {
    if role == Role::Owner {
        return Err(CoreError::invalid(
            "role",
            "a domain has one owner: to hand it on, PATCH the new owner's membership to owner",
        ));
    }
    Ok(())
}

/// Adds a member, or invites an address without an account.
pub async fn add(
    core: &Core,
    actor: &Actor,
    zone: &str,
    input: &NewMember,
) -> Result<Added, CoreError> {
    let email = parse_email(&input.email)?;
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::ManageMembers).await?;
    not_owner(input.role)?;
    authorize(actor, &domain, MemberChange::Add { role: input.role })?;
    let user = sqlx::query!(
        r#"SELECT id AS "id: UserId", email FROM users WHERE email = $1"#,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user) = user else {
        let invitation = invitations::create(
            &mut tx,
            core,
            actor,
            &email,
            Some((domain.id, &domain.name)),
            Some(input.role),
        )
        .await?;
        tx.commit().await?;
        return Ok(Added::Invited { invitation });
    };
    let inserted = sqlx::query_scalar!(
        "INSERT INTO domain_members (domain_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING created_at",
        domain.id.0,
        user.id.0,
        input.role as Role
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        CoreError::conflict(
            "email",
            format!(
                "{email} is a member of {} already; PATCH to change the role",
                domain.name
            ),
        )
    })?;
    record(
        &mut tx,
        actor,
        &domain,
        user.id,
        &user.email,
        "member.added",
        Some(input.role),
    )
    .await?;
    mail::enqueue(
        &mut *tx,
        Some(user.id),
        &user.email,
        &mail::Message::member_added(
            &domain.name,
            input.role.as_str(),
            &who(actor),
            &core.occasion(actor.source),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Added::Added {
        member: MemberView {
            user_id: user.id,
            email: user.email,
            role: input.role,
            since: inserted,
        },
    })
}

fn who(actor: &Actor) -> String {
    actor
        .email
        .clone()
        .unwrap_or_else(|| "An administrator".into())
}

async fn record(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    domain: &Domain,
    user: UserId,
    email: &str,
    event: &'static str,
    role: Option<Role>,
) -> Result<(), CoreError> {
    Event::new(event, true)
        .actor(actor)
        .subject(Some(user), email)
        .domain(domain.id, domain.name.clone())
        .detail(serde_json::json!({"role": role}))
        .record(&mut **tx)
        .await?;
    Ok(())
}

/// A member row, locked.
struct Member {
    email: String,
    role: Role,
}

async fn member(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    user: UserId,
) -> Result<Member, CoreError> {
    let row = sqlx::query!(
        r#"SELECT u.email, m.role AS "role: Role"
             FROM domain_members m JOIN users u ON u.id = m.user_id
            WHERE m.domain_id = $1 AND m.user_id = $2 FOR UPDATE OF m"#,
        domain.id.0,
        user.0
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CoreError::NotFound {
        what: "member",
        name: user.to_string(),
    })?;
    Ok(Member {
        email: row.email,
        role: row.role,
    })
}

/// Changes a member's role; `owner` hands ownership on (the previous owner becomes admin).
pub async fn update(
    core: &Core,
    actor: &Actor,
    zone: &str,
    user: UserId,
    patch: &MemberPatch,
) -> Result<MemberView, CoreError> {
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::ManageMembers).await?;
    let target = member(&mut tx, &domain, user).await?;
    if target.role == Role::Owner && patch.role != Role::Owner {
        return Err(CoreError::conflict(
            "role",
            format!(
                "{} owns {}: make someone else the owner first",
                target.email, domain.name
            ),
        ));
    }
    authorize(
        actor,
        &domain,
        MemberChange::Change {
            from: target.role,
            to: patch.role,
            own: Some(user) == actor.user_id,
        },
    )?;
    if patch.role == Role::Owner {
        // Handing a domain on makes the new owner own one more; creations and transfers
        // take the same lock, so quotas hold.
        sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('apex.domains.create'))")
            .execute(&mut *tx)
            .await?;
        domains::quota_allows_one_more(&mut tx, core, user, &target.email).await?;
        if target.role == Role::Owner {
            return Err(CoreError::conflict(
                "role",
                format!("{} owns {} already", target.email, domain.name),
            ));
        }
        let old_owner = sqlx::query_scalar!(
            r#"UPDATE domain_members SET role = 'admin' WHERE domain_id = $1 AND role = 'owner'
               RETURNING user_id AS "user_id: UserId""#,
            domain.id.0
        )
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE domain_members SET role = 'owner' WHERE domain_id = $1 AND user_id = $2",
            domain.id.0,
            user.0
        )
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            &domain,
            user,
            &target.email,
            "member.ownership_transferred",
            Some(Role::Owner),
        )
        .await?;
        mail::enqueue(
            &mut *tx,
            Some(user),
            &target.email,
            &mail::Message::ownership_transferred(
                &domain.name,
                &who(actor),
                &core.occasion(actor.source),
            ),
        )
        .await?;
        if let Some(old) = old_owner
            && Some(old) != actor.user_id
            && let Some(email) = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", old.0)
                .fetch_optional(&mut *tx)
                .await?
        {
            mail::enqueue(
                &mut *tx,
                Some(old),
                &email,
                &mail::Message::member_role_changed(
                    &domain.name,
                    "owner",
                    "admin",
                    &format!("{} (handing ownership to {})", who(actor), target.email),
                    &core.occasion(actor.source),
                ),
            )
            .await?;
        }
    } else {
        sqlx::query!(
            "UPDATE domain_members SET role = $3 WHERE domain_id = $1 AND user_id = $2",
            domain.id.0,
            user.0,
            patch.role as Role
        )
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            &domain,
            user,
            &target.email,
            "member.role_changed",
            Some(patch.role),
        )
        .await?;
        mail::enqueue(
            &mut *tx,
            Some(user),
            &target.email,
            &mail::Message::member_role_changed(
                &domain.name,
                target.role.as_str(),
                patch.role.as_str(),
                &who(actor),
                &core.occasion(actor.source),
            ),
        )
        .await?;
    }
    let since = sqlx::query_scalar!(
        "SELECT created_at FROM domain_members WHERE domain_id = $1 AND user_id = $2",
        domain.id.0,
        user.0
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(MemberView {
        user_id: user,
        email: target.email,
        role: patch.role,
        since,
    })
}

/// Removes a member, or (when `user` is the actor) leaves the domain.
pub async fn remove(core: &Core, actor: &Actor, zone: &str, user: UserId) -> Result<(), CoreError> {
    let leaving = Some(user) == actor.user_id;
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(
        &mut tx,
        actor,
        zone,
        if leaving {
            Action::Leave
        } else {
            Action::ManageMembers
        },
    )
    .await?;
    let target = member(&mut tx, &domain, user).await?;
    if target.role == Role::Owner {
        return Err(CoreError::conflict(
            "user",
            if leaving {
                format!(
                    "you own {}: make someone else the owner first, or delete the domain",
                    domain.name
                )
            } else {
                format!(
                    "{} owns {}: ownership is handed on, not taken away",
                    target.email, domain.name
                )
            },
        ));
    }
    authorize(
        actor,
        &domain,
        MemberChange::Remove {
            role: target.role,
            own: leaving,
        },
    )?;
    sqlx::query!(
        "DELETE FROM domain_members WHERE domain_id = $1 AND user_id = $2",
        domain.id.0,
        user.0
    )
    .execute(&mut *tx)
    .await?;
    record(
        &mut tx,
        actor,
        &domain,
        user,
        &target.email,
        if leaving {
            "member.left"
        } else {
            "member.removed"
        },
        Some(target.role),
    )
    .await?;
    if !leaving {
        mail::enqueue(
            &mut *tx,
            Some(user),
            &target.email,
            &mail::Message::member_removed(&domain.name, &who(actor), &core.occasion(actor.source)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Revokes a pending invitation to a domain.
pub async fn revoke_invitation(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: InvitationId,
) -> Result<(), CoreError> {
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::ManageMembers).await?;
    if !invitations::revoke(&mut *tx, Some(domain.id), id).await? {
        return Err(CoreError::NotFound {
            what: "invitation",
            name: id.to_string(),
        });
    }
    Event::new("invitation.revoked", true)
        .actor(actor)
        .domain(domain.id, domain.name.clone())
        .detail(serde_json::json!({"invitation_id": id}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
