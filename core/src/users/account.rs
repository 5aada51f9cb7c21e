//! A user's own account: what they see of it, and deleting it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::passwords::check_current;
use super::twofa;
use crate::actor::{Actor, Permission};
use crate::audit::Event;
use crate::auth::keys;
use crate::authz::{self, AccountAction};
use crate::ids::UserId;
use crate::{Core, CoreError};

/// `GET /api/v1/account`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// Id.
    pub id: UserId,
    /// Address (the login).
    pub email: String,
    /// Whether the address is confirmed.
    pub email_verified: bool,
    /// Since.
    pub created_at: DateTime<Utc>,
    /// Password last set.
    pub password_changed_at: DateTime<Utc>,
    /// Second factor.
    pub two_factor: TwoFactorView,
    /// Platform administrator.
    pub admin: bool,
    /// Platform roles held.
    pub permissions: Vec<Permission>,
    /// Domains owned, and the most allowed (null: no limit).
    pub domains_owned: i64,
    /// The most domains this account may own (null: no limit).
    pub domain_quota: Option<i64>,
    /// Who is looking (an administrator acting as this user), if not the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
}

/// The state of the second factor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TwoFactorView {
    /// TOTP is on.
    pub totp: bool,
    /// Since.
    pub enabled_at: Option<DateTime<Utc>>,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// The platform requires it of this account.
    pub required: bool,
}

/// The actor's account.
pub async fn view(core: &Core, actor: &Actor) -> Result<AccountView, CoreError> {
    let user = authz::account(actor, AccountAction::Read)?;
    let r = sqlx::query!(
        r#"SELECT u.email, u.email_verified_at, u.created_at, u.password_changed_at, u.is_admin,
                  u.permissions, u.domain_quota, u.totp_enabled_at,
                  (SELECT count(*) FROM recovery_codes c WHERE c.user_id = u.id AND c.used_at IS NULL) AS "codes!",
                  (SELECT count(*) FROM domain_members m WHERE m.user_id = u.id AND m.role = 'owner') AS "owned!"
             FROM users u WHERE u.id = $1"#,
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    let roles = crate::actor::PlatformRoles::from_db(r.is_admin, &r.permissions);
    let unlimited = roles.has(Permission::CreateDomains);
    Ok(AccountView {
        id: user,
        email: r.email,
        email_verified: r.email_verified_at.is_some(),
        created_at: r.created_at,
        password_changed_at: r.password_changed_at,
        two_factor: TwoFactorView {
            totp: r.totp_enabled_at.is_some(),
            enabled_at: r.totp_enabled_at,
            recovery_codes_left: r.codes,
            required: keys::second_factor_required(core, &roles),
        },
        admin: roles.admin,
        permissions: if roles.admin {
            Permission::ALL.to_vec()
        } else {
            roles.granted.clone()
        },
        domains_owned: r.owned,
        domain_quota: (!unlimited).then(|| {
            i64::from(
                r.domain_quota
                    .map_or(core.platform.accounts.domain_quota, |q| {
                        u32::try_from(q).unwrap_or(0)
                    }),
            )
        }),
        impersonated_by: actor.impersonator.as_ref().map(|i| i.email.clone()),
    })
}

/// `DELETE /api/v1/account`: proof that it is really the user.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    /// The password.
    pub password: String,
    /// A TOTP or recovery code, when the second factor is on.
    pub code: Option<String>,
}

/// Deletes the actor's account: refused while they own domains (transfer or delete them
/// first). Their memberships, keys, sessions and second factor go with it; their changes
/// stay in the domains' history, without a name.
pub async fn delete(core: &Core, actor: &Actor, input: &DeleteAccount) -> Result<(), CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    // Asked first, before the password's cost; asked again under locks below.
    owns_nothing(&core.pool, user).await?;
    let email = check_current(core, actor, user, &input.password, "password").await?;
    twofa::require_code(core, actor, user, input.code.as_deref()).await?;
    let mut tx = core.pool.begin().await?;
    // The user row, then every membership row: a membership being added waits on the first,
    // an ownership being handed to this user on the second, so no domain is left without
    // its owner by the delete's cascade.
    sqlx::query!("SELECT id FROM users WHERE id = $1 FOR UPDATE", user.0)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query!(
        "SELECT domain_id FROM domain_members WHERE user_id = $1 FOR UPDATE",
        user.0
    )
    .fetch_all(&mut *tx)
    .await?;
    owns_nothing(&mut *tx, user).await?;
    Event::new("account.deleted", true)
        .actor(actor)
        .subject(Some(user), email.clone())
        .record(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM users WHERE id = $1", user.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user, "account deleted");
    Ok(())
}

/// Refuses while `user` owns domains, naming some.
async fn owns_nothing(db: impl sqlx::PgExecutor<'_>, user: UserId) -> Result<(), CoreError> {
    let owned = sqlx::query_scalar!(
        r#"SELECT d.name FROM domain_members m JOIN domains d ON d.id = m.domain_id
            WHERE m.user_id = $1 AND m.role = 'owner' ORDER BY d.name LIMIT 5"#,
        user.0
    )
    .fetch_all(db)
    .await?;
    if owned.is_empty() {
        Ok(())
    } else {
        Err(CoreError::conflict(
            "account",
            format!(
                "you own {}: transfer ownership of your domains or delete them first",
                owned.join(", ")
            ),
        ))
    }
}
