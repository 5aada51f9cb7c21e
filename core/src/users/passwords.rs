//! Changing and resetting a password. Either one forgets remembered devices
//! (`security_epoch`), ends sessions (a change keeps the one making it; a reset ends all)
//! and tells the user by mail.

use serde::Deserialize;

use super::{Purpose, mail_link, parse_email, take_token};
use crate::actor::Actor;
use crate::audit::Event;
use crate::auth::attempt::{Attempt, mail_throttle};
use crate::auth::sessions::{self, Client};
use crate::auth::{password, throttle};
use crate::authz::{self, AccountAction};
use crate::ids::UserId;
use crate::{Core, CoreError, mail};

/// `POST /api/v1/account/password`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
}

/// `POST /api/v1/auth/password-reset/confirm`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// From the mailed link.
    pub token: String,
    /// The new password.
    pub password: String,
}

/// Checks the actor's current password, counted on the sign-in throttle (so this is no way
/// around it); returns the address.
pub(crate) async fn check_current(
    core: &Core,
    actor: &Actor,
    user: UserId,
    given: &str,
    field: &str,
) -> Result<String, CoreError> {
    let row = sqlx::query!(
        "SELECT email, password_hash FROM users WHERE id = $1",
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    let attempt = Attempt::take(core, Some(&row.email), actor.source)
        .await?
        .map_err(CoreError::Throttled)?;
    if !password::verify(given, &row.password_hash).await?.ok {
        return Err(CoreError::invalid(field, "is not your password"));
    }
    attempt.succeeded(false).await?;
    Ok(row.email)
}

/// Changes the actor's password; returns how many other sessions ended.
pub async fn change(core: &Core, actor: &Actor, input: &PasswordChange) -> Result<u64, CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    let email = check_current(
        core,
        actor,
        user,
        &input.current_password,
        "current_password",
    )
    .await?;
    if input.new_password == input.current_password {
        return Err(CoreError::invalid(
            "new_password",
            "is the same as the current one",
        ));
    }
    password::check_policy(&input.new_password, &email).map_err(|e| rename(e, "new_password"))?;
    let hash = password::hash(&input.new_password).await?;
    let mut tx = core.pool.begin().await?;
    set(&mut tx, user, &hash).await?;
    let ended = sessions::end_all(&mut *tx, user, actor.session_id()).await?;
    Event::new("password.changed", true)
        .actor(actor)
        .subject(Some(user), email.clone())
        .detail(serde_json::json!({"sessions_ended": ended}))
        .record(&mut *tx)
        .await?;
    mail::enqueue(
        &mut *tx,
        Some(user),
        &email,
        &mail::Message::password_changed(&core.occasion(actor.source)),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user, "password changed");
    Ok(ended)
}

async fn set(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user: UserId,
    hash: &str,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, password_changed_at = now(),
                security_epoch = security_epoch + 1
          WHERE id = $1",
        user.0,
        hash
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn rename(e: CoreError, field: &str) -> CoreError {
    match e {
        CoreError::Invalid { message, .. } => CoreError::invalid(field, message),
        other => other,
    }
}

/// Mails a reset link (valid one hour) if the address has an account. Answers alike in
/// every case.
pub async fn request_reset(core: &Core, email: &str, client: &Client) -> Result<(), CoreError> {
    let email = parse_email(email)?;
    let user = sqlx::query_scalar!(
        r#"SELECT id AS "id: UserId" FROM users WHERE email = $1 AND disabled_at IS NULL"#,
        email
    )
    .fetch_optional(&core.pool)
    .await?;
    let throttled = mail_throttle(core, &email, client).await?.is_err();
    Event::new("password.reset_requested", user.is_some() && !throttled)
        .source(client.ip)
        .subject(user, email.clone())
        .detail(serde_json::json!({"throttled": throttled}))
        .record_quietly(&core.pool)
        .await;
    let Some(user) = user else { return Ok(()) };
    if throttled {
        return Ok(());
    }
    let mut tx = core.pool.begin().await?;
    mail_link(&mut tx, core, user, &email, Purpose::ResetPassword).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password from a reset link: every session ends, every other reset link dies,
/// and the address counts as verified (the link proved it).
pub async fn confirm_reset(
    core: &Core,
    input: &ResetConfirm,
    client: &Client,
) -> Result<(), CoreError> {
    let mut tx = core.pool.begin().await?;
    let taken = take_token(&mut *tx, &input.token, Purpose::ResetPassword)
        .await?
        .ok_or_else(|| {
            CoreError::invalid(
                "token",
                "this link does not work: it has expired (after an hour) or been used; ask for a new one",
            )
        })?;
    password::check_policy(&input.password, &taken.email)?;
    let hash = password::hash(&input.password).await?;
    set(&mut tx, taken.user, &hash).await?;
    sqlx::query!(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now())
          WHERE id = $1 AND email = $2",
        taken.user.0,
        taken.email
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE email_tokens SET used_at = now()
          WHERE user_id = $1 AND purpose = 'reset_password' AND used_at IS NULL",
        taken.user.0
    )
    .execute(&mut *tx)
    .await?;
    let ended = sessions::end_all(&mut *tx, taken.user, None).await?;
    Event::new("password.reset", true)
        .source(client.ip)
        .credential("reset link")
        .subject(Some(taken.user), taken.email.clone())
        .detail(serde_json::json!({"sessions_ended": ended}))
        .record(&mut *tx)
        .await?;
    mail::enqueue(
        &mut *tx,
        Some(taken.user),
        &taken.email,
        &mail::Message::password_reset(&core.occasion(client.ip)),
    )
    .await?;
    tx.commit().await?;
    throttle::clear(&core.pool, &throttle::account(&taken.email)).await?;
    tracing::info!(user.id = %taken.user, "password reset");
    Ok(())
}
