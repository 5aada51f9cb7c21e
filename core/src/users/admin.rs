//! Platform administration of users (`/api/v1/admin/users`): list, create, disable and
//! enable, reset a second factor, set quotas and grant platform roles; and impersonation for
//! support.
//!
//! `manage_users` does the everyday work; granting platform roles, and touching an account
//! that holds any, is for platform administrators alone, so that no role can be used to get
//! more.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Purpose, insert, mail_link, parse_email, twofa};
use crate::actor::{Actor, Impersonator, Permission, PlatformRoles};
use crate::audit::Event;
use crate::auth::password;
use crate::auth::sessions;
use crate::auth::token::random_password;
use crate::authz::{self, Request};
use crate::ids::UserId;
use crate::{Core, CoreError, mail};

/// A user as administrators see them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Id.
    pub id: UserId,
    /// Address.
    pub email: String,
    /// Confirmed.
    pub email_verified: bool,
    /// Platform administrator.
    pub admin: bool,
    /// Platform roles.
    pub permissions: Vec<Permission>,
    /// Own quota (null: the platform's).
    pub domain_quota: Option<i32>,
    /// Own limit of records in each domain owned (null: the platform's; 0: none).
    pub max_records_per_domain: Option<i32>,
    /// Own limit of webhooks on each domain owned (null: the platform's; 0: none).
    pub max_webhooks_per_domain: Option<i32>,
    /// Domains owned.
    pub domains_owned: i64,
    /// TOTP on.
    pub totp: bool,
    /// Since.
    pub created_at: DateTime<Utc>,
    /// Disabled since.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
}

/// Which users to list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Part of the address.
    pub q: Option<String>,
    /// Only users with an id below this (the `next` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<i64>,
}

/// A page of users, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    /// The users.
    pub users: Vec<UserView>,
    /// Pass as `before` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// `POST /api/v1/admin/users`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Address.
    pub email: String,
    /// A password; left out, the user gets a mail with a link to set one.
    pub password: Option<String>,
    /// Make a platform administrator (administrators only).
    #[serde(default)]
    pub admin: bool,
}

/// `PATCH /api/v1/admin/users/{id}`: fields left out stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disable (true) or enable (false) the account.
    pub disabled: Option<bool>,
    /// Platform administrator (administrators only).
    pub admin: Option<bool>,
    /// Platform roles, the whole list (administrators only).
    pub permissions: Option<Vec<String>>,
    /// Own domain quota; `null` goes back to the platform's.
    #[serde(default, deserialize_with = "double_option")]
    pub domain_quota: Option<Option<i32>>,
    /// Own limit of records per domain (0: no limit); `null` goes back to the platform's.
    #[serde(default, deserialize_with = "double_option")]
    pub max_records_per_domain: Option<Option<i32>>,
    /// Own limit of webhooks per domain (0: no limit); `null` goes back to the platform's.
    #[serde(default, deserialize_with = "double_option")]
    pub max_webhooks_per_domain: Option<Option<i32>>,
}

fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

struct Row {
    id: UserId,
    email: String,
    email_verified_at: Option<DateTime<Utc>>,
    is_admin: bool,
    permissions: Vec<String>,
    domain_quota: Option<i32>,
    max_records_per_domain: Option<i32>,
    max_webhooks_per_domain: Option<i32>,
    owned: i64,
    totp_enabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
}

impl Row {
    fn view(self) -> UserView {
        let roles = PlatformRoles::from_db(self.is_admin, &self.permissions);
        UserView {
            id: self.id,
            email: self.email,
            email_verified: self.email_verified_at.is_some(),
            admin: roles.admin,
            permissions: roles.granted,
            domain_quota: self.domain_quota,
            max_records_per_domain: self.max_records_per_domain,
            max_webhooks_per_domain: self.max_webhooks_per_domain,
            domains_owned: self.owned,
            totp: self.totp_enabled_at.is_some(),
            created_at: self.created_at,
            disabled_at: self.disabled_at,
            last_login_at: self.last_login_at,
        }
    }
}

async fn rows(
    core: &Core,
    id: Option<UserId>,
    q: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<UserView>, CoreError> {
    let pattern = q.map(|q| {
        format!(
            "%{}%",
            q.trim()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT u.id AS "id: UserId", u.email, u.email_verified_at, u.is_admin, u.permissions,
                  u.domain_quota, u.max_records_per_domain, u.max_webhooks_per_domain,
                  u.totp_enabled_at, u.created_at, u.disabled_at,
                  (SELECT count(*) FROM domain_members m WHERE m.user_id = u.id AND m.role = 'owner') AS "owned!",
                  (SELECT max(a.created_at) FROM audit_events a
                    WHERE a.subject_user_id = u.id AND a.event = 'login.succeeded') AS last_login_at
             FROM users u
            WHERE ($1::bigint IS NULL OR u.id = $1)
              AND ($2::text IS NULL OR u.email LIKE $2)
              AND ($3::bigint IS NULL OR u.id < $3)
            ORDER BY u.id DESC
            LIMIT $4"#,
        id.map(|u| u.0),
        pattern,
        before,
        limit,
    )
    .fetch_all(&core.pool)
    .await?;
    Ok(rows.into_iter().map(Row::view).collect())
}

/// Lists users, newest first, optionally matching part of the address.
pub async fn list(core: &Core, actor: &Actor, q: &UserQuery) -> Result<UserPage, CoreError> {
    authz::platform(actor, Permission::ManageUsers)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(CoreError::invalid("limit", "must be between 1 and 500"));
    }
    let mut users = rows(core, None, q.q.as_deref(), q.before, limit + 1).await?;
    let next = if users.len() as i64 > limit {
        users.truncate(usize::try_from(limit).unwrap_or(100));
        users.last().map(|u| u.id.0)
    } else {
        None
    };
    Ok(UserPage { users, next })
}

/// One user.
pub async fn show(core: &Core, actor: &Actor, id: UserId) -> Result<UserView, CoreError> {
    authz::platform(actor, Permission::ManageUsers)?;
    rows(core, Some(id), None, None, 1)
        .await?
        .pop()
        .ok_or_else(|| not_found(id))
}

fn not_found(id: UserId) -> CoreError {
    CoreError::NotFound {
        what: "user",
        name: id.to_string(),
    }
}

/// Authorizes a change to `target`'s account (`grants`: platform roles given or taken);
/// returns their address.
async fn authorize_change(
    core: &Core,
    actor: &Actor,
    target: UserId,
    grants: bool,
) -> Result<String, CoreError> {
    authz::platform(actor, Permission::ManageUsers)?;
    let row = sqlx::query!(
        "SELECT email, is_admin, permissions FROM users WHERE id = $1",
        target.0
    )
    .fetch_optional(&core.pool)
    .await?
    .ok_or_else(|| not_found(target))?;
    let roles = PlatformRoles::from_db(row.is_admin, &row.permissions);
    authz::authorize(
        actor,
        Request::AdminUser {
            target: &roles,
            grants,
        },
    )?;
    Ok(row.email)
}

/// Creates a user (verified: an administrator vouches for the address). Without a password,
/// the user is mailed a link to set one.
pub async fn create(core: &Core, actor: &Actor, input: &NewUser) -> Result<UserView, CoreError> {
    authz::authorize(
        actor,
        Request::AdminUser {
            target: &PlatformRoles::default(),
            grants: input.admin,
        },
    )?;
    let email = parse_email(&input.email)?;
    let (secret, mailed) = match &input.password {
        Some(p) => {
            password::check_policy(p, &email)?;
            (p.clone(), false)
        }
        None => (random_password()?, true),
    };
    let hash = password::hash(&secret).await?;
    let mut tx = core.pool.begin().await?;
    let user = insert(&mut *tx, &email, &hash, input.admin, true).await?;
    if mailed {
        mail_link(&mut tx, core, user, &email, Purpose::ResetPassword).await?;
    }
    Event::new("account.created", true)
        .actor(actor)
        .subject(Some(user), email.clone())
        .detail(
            serde_json::json!({"via": "admin", "admin": input.admin, "password_mailed": mailed}),
        )
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    show(core, actor, user).await
}

/// Changes a user: disable or enable, quota, platform roles.
pub async fn update(
    core: &Core,
    actor: &Actor,
    id: UserId,
    patch: &UserPatch,
) -> Result<UserView, CoreError> {
    let granting = patch.admin.is_some() || patch.permissions.is_some();
    let email = authorize_change(core, actor, id, granting).await?;
    if Some(id) == actor.user_id && (patch.disabled == Some(true) || patch.admin == Some(false)) {
        return Err(CoreError::conflict(
            "disabled",
            "you cannot disable yourself or take away your own administration",
        ));
    }
    let permissions = patch
        .permissions
        .as_ref()
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, p)| {
                    Permission::parse(p).map(|p| p.as_str().to_string()).ok_or_else(|| {
                        CoreError::invalid(
                            format!("permissions[{i}]"),
                            format!(
                                "{p:?} is not a platform role (manage_users, manage_domains, create_domains, view_audit, impersonate)"
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    if let Some(Some(q)) = patch.domain_quota
        && q < 0
    {
        return Err(CoreError::invalid("domain_quota", "must be 0 or more"));
    }
    for (field, value) in [
        ("max_records_per_domain", patch.max_records_per_domain),
        ("max_webhooks_per_domain", patch.max_webhooks_per_domain),
    ] {
        if value.flatten().is_some_and(|q| q < 0) {
            return Err(CoreError::invalid(field, "must be 0 (no limit) or more"));
        }
    }
    let mut tx = core.pool.begin().await?;
    sqlx::query!(
        r#"UPDATE users SET
              disabled_at = CASE WHEN $2::boolean IS NULL THEN disabled_at
                                 WHEN $2 THEN COALESCE(disabled_at, now()) ELSE NULL END,
              is_admin = COALESCE($3, is_admin),
              permissions = COALESCE($4, permissions),
              domain_quota = CASE WHEN $5 THEN $6 ELSE domain_quota END,
              max_records_per_domain = CASE WHEN $7 THEN $8 ELSE max_records_per_domain END,
              max_webhooks_per_domain = CASE WHEN $9 THEN $10 ELSE max_webhooks_per_domain END
            WHERE id = $1"#,
        id.0,
        patch.disabled,
        patch.admin,
        permissions.as_deref(),
        patch.domain_quota.is_some(),
        patch.domain_quota.flatten(),
        patch.max_records_per_domain.is_some(),
        patch.max_records_per_domain.flatten(),
        patch.max_webhooks_per_domain.is_some(),
        patch.max_webhooks_per_domain.flatten(),
    )
    .execute(&mut *tx)
    .await?;
    if patch.disabled == Some(true) {
        sessions::end_all(&mut *tx, id, None).await?;
    }
    let event = match patch.disabled {
        Some(true) => "user.disabled",
        Some(false) => "user.enabled",
        None => "user.updated",
    };
    Event::new(event, true)
        .actor(actor)
        .subject(Some(id), email)
        .detail(serde_json::json!({
            "admin": patch.admin,
            "permissions": permissions,
            "domain_quota": patch.domain_quota,
            "max_records_per_domain": patch.max_records_per_domain,
            "max_webhooks_per_domain": patch.max_webhooks_per_domain,
        }))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    show(core, actor, id).await
}

/// Removes a user's second factor (a lost phone): they sign in with the password alone and
/// can enrol again. The user is told by mail.
pub async fn reset_2fa(core: &Core, actor: &Actor, id: UserId) -> Result<UserView, CoreError> {
    let email = authorize_change(core, actor, id, false).await?;
    let mut tx = core.pool.begin().await?;
    twofa::clear(&mut tx, id).await?;
    Event::new("2fa.reset", true)
        .actor(actor)
        .subject(Some(id), email.clone())
        .record(&mut *tx)
        .await?;
    mail::enqueue(
        &mut *tx,
        Some(id),
        &email,
        &mail::Message::two_factor_reset(
            actor.email.as_deref().unwrap_or("a platform administrator"),
            &core.occasion(actor.source),
        ),
    )
    .await?;
    tx.commit().await?;
    show(core, actor, id).await
}

/// An administrator with `impersonate` acts as another user. The result carries both: every
/// change records the impersonator, and so does the audit log (each request, by the
/// caller). Users holding platform roles can be impersonated by platform administrators
/// only; disabled users not at all.
pub async fn impersonate(core: &Core, actor: &Actor, target: &str) -> Result<Actor, CoreError> {
    // Before the target is looked up: nobody else learns who has an account.
    authz::platform(actor, Permission::Impersonate)?;
    let me = actor.user()?;
    let email = parse_email(target).map_err(|_| {
        CoreError::invalid(
            "Apex-Impersonate",
            "give the e-mail address of the user to act as",
        )
    })?;
    let row = sqlx::query!(
        r#"SELECT id AS "id: UserId", email, is_admin, permissions, disabled_at
             FROM users WHERE email = $1"#,
        email
    )
    .fetch_optional(&core.pool)
    .await?
    .ok_or(CoreError::NotFound {
        what: "user",
        name: email.clone(),
    })?;
    if row.disabled_at.is_some() {
        return Err(CoreError::Forbidden(format!("{email} is disabled")));
    }
    let roles = PlatformRoles::from_db(row.is_admin, &row.permissions);
    authz::authorize(actor, Request::Impersonate { target: &roles })?;
    if row.id == me {
        return Err(CoreError::invalid("Apex-Impersonate", "that is you"));
    }
    Ok(Actor {
        user_id: Some(row.id),
        email: Some(row.email),
        // The administrator proved who they are; the user's own enrolment is not in question.
        needs_2fa: false,
        roles,
        credential: actor.credential.clone(),
        impersonator: Some(Impersonator {
            user_id: me,
            email: actor.email.clone().unwrap_or_default(),
        }),
        via: actor.via,
        source: actor.source,
    })
}
