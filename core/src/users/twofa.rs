//! The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s — what authenticator apps
//! compute whatever the URI says) and ten single-use recovery codes.
//!
//! Enrolment is two steps: the secret is handed out (text, `otpauth://` URI and QR code), and
//! turned on only once a code computed from it comes back, so a mistyped secret never locks
//! anyone out. The secret is sealed under `APEX_MASTER_KEY`; recovery codes are stored as
//! SHA-256 hashes and shown once.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};

use super::passwords::check_current;
use crate::actor::Actor;
use crate::audit::Event;
use crate::auth::attempt::Attempt;
use crate::auth::{keys, totp};
use crate::authz::{self, AccountAction};
use crate::ids::UserId;
use crate::{Core, CoreError, mail};

/// The issuer shown in authenticator apps.
const ISSUER: &str = "Apex";

/// A started enrolment: what the user puts into their app.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The `otpauth://totp/…` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes, each good once.
    pub recovery_codes: Vec<String>,
}

/// A code from the app: `{"code": "123456"}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// Six digits.
    pub code: String,
}

/// Turning 2FA off: the password and a current code (or a recovery code).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableInput {
    /// The password.
    pub password: String,
    /// A TOTP or recovery code.
    pub code: String,
}

fn now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

fn master(core: &Core) -> Result<&crate::sealing::MasterKey, CoreError> {
    core.platform.master_key.as_ref().ok_or_else(|| {
        CoreError::conflict(
            "totp",
            "two-factor authentication needs the operator to set APEX_MASTER_KEY, which seals the secrets",
        )
    })
}

/// Opens a user's sealed TOTP secret.
pub fn open_secret(core: &Core, user: UserId, sealed: &[u8]) -> Result<Vec<u8>, CoreError> {
    let key = core.platform.master_key.as_ref().ok_or_else(|| {
        CoreError::Internal("APEX_MASTER_KEY is not set: TOTP secrets cannot be opened".into())
    })?;
    key.open(&secret_context(user), sealed)
}

/// What a user's TOTP secret is sealed to (so one user's sealed secret is worth nothing in
/// another's row).
pub fn secret_context(user: UserId) -> Vec<u8> {
    format!("apex totp user {user}").into_bytes()
}

/// Starts enrolment: a new secret, not active until [`confirm`] gets a code from it.
pub async fn start(core: &Core, actor: &Actor) -> Result<Enrolment, CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    let key = master(core)?;
    let row = sqlx::query!(
        "SELECT email, totp_enabled_at FROM users WHERE id = $1",
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    if row.totp_enabled_at.is_some() {
        return Err(CoreError::conflict(
            "totp",
            "two-factor authentication is on already; turn it off first to change the app",
        ));
    }
    let secret = totp::new_secret()?;
    let sealed = key.seal(&secret_context(user), &secret)?;
    sqlx::query!(
        "UPDATE users SET totp_pending = $2 WHERE id = $1",
        user.0,
        sealed
    )
    .execute(&core.pool)
    .await?;
    let uri = totp::otpauth_uri(&secret, ISSUER, &row.email)?;
    Ok(Enrolment {
        secret: totp::secret_base32(&secret),
        qr_svg: totp::qr_svg(&uri)?,
        otpauth_uri: uri,
    })
}

/// Finishes enrolment with a code from the app: 2FA is on, and the recovery codes are made.
pub async fn confirm(core: &Core, actor: &Actor, code: &str) -> Result<RecoveryCodes, CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    let key = master(core)?;
    let row = sqlx::query!(
        "SELECT email, totp_pending, totp_enabled_at FROM users WHERE id = $1",
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    if row.totp_enabled_at.is_some() {
        return Err(CoreError::conflict(
            "totp",
            "two-factor authentication is on already",
        ));
    }
    let sealed = row.totp_pending.ok_or_else(|| {
        CoreError::conflict(
            "code",
            "no enrolment is under way: start one with POST /api/v1/account/2fa/totp",
        )
    })?;
    let secret = key.open(&secret_context(user), &sealed)?;
    let step = totp::verify(&secret, code, now(), None).ok_or_else(|| {
        CoreError::invalid(
            "code",
            "does not match the secret: check the app's clock and that the secret was entered right",
        )
    })?;
    let mut tx = core.pool.begin().await?;
    // Exactly the secret the code was checked against, and only if nothing turned it on
    // meanwhile (another tab restarting enrolment, a second confirm).
    let done = sqlx::query!(
        "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_enabled_at = now(),
                totp_last_step = $2, security_epoch = security_epoch + 1
          WHERE id = $1 AND totp_enabled_at IS NULL AND totp_pending = $3",
        user.0,
        step,
        sealed,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(CoreError::conflict(
            "code",
            "the enrolment changed meanwhile (started again, or finished elsewhere): start again",
        ));
    }
    let codes = replace_codes(&mut tx, user).await?;
    Event::new("2fa.enabled", true)
        .actor(actor)
        .subject(Some(user), row.email.clone())
        .record(&mut *tx)
        .await?;
    mail::enqueue(
        &mut *tx,
        Some(user),
        &row.email,
        &mail::Message::two_factor_enabled(&core.occasion(actor.source)),
    )
    .await?;
    tx.commit().await?;
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

async fn replace_codes(
    tx: &mut Transaction<'_, Postgres>,
    user: UserId,
) -> Result<Vec<String>, CoreError> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user.0)
        .execute(&mut **tx)
        .await?;
    let codes = totp::new_recovery_codes()?;
    for code in &codes {
        let canonical = totp::normalize_recovery_code(code)
            .ok_or_else(|| CoreError::Internal("a fresh recovery code does not parse".into()))?;
        sqlx::query!(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
            user.0,
            totp::recovery_code_hash(&canonical)
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(codes)
}

/// Checks a TOTP code of `user` and takes its time step, so the code is good once (two
/// requests racing with one code: one wins). False for a wrong, replayed or absent code, or
/// when TOTP is off.
pub(crate) async fn take_totp(core: &Core, user: UserId, code: &str) -> Result<bool, CoreError> {
    let row = sqlx::query!(
        "SELECT totp_secret, totp_last_step FROM users WHERE id = $1",
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    let Some(sealed) = row.totp_secret else {
        return Ok(false);
    };
    let Some(step) = totp::verify(
        &open_secret(core, user, &sealed)?,
        code,
        now(),
        row.totp_last_step,
    ) else {
        return Ok(false);
    };
    Ok(sqlx::query!(
        "UPDATE users SET totp_last_step = $2
          WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        user.0,
        step
    )
    .execute(&core.pool)
    .await?
    .rows_affected()
        == 1)
}

/// Uses up one of `user`'s recovery codes, if `code` is one that is unused.
pub(crate) async fn take_recovery_code(
    db: impl sqlx::PgExecutor<'_>,
    user: UserId,
    code: &str,
) -> Result<bool, CoreError> {
    let Some(canonical) = totp::normalize_recovery_code(code) else {
        return Ok(false);
    };
    Ok(sqlx::query_scalar!(
        "UPDATE recovery_codes SET used_at = now()
          WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id",
        user.0,
        totp::recovery_code_hash(&canonical)
    )
    .fetch_optional(db)
    .await?
    .is_some())
}

/// Checks a code outside sign-in (a TOTP code, or a recovery code when `recovery`), counted
/// on the account's and the address's throttle like a sign-in attempt, so these doors are no
/// way around it.
async fn checked_code(
    core: &Core,
    actor: &Actor,
    user: UserId,
    code: &str,
    recovery: bool,
) -> Result<bool, CoreError> {
    let email = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user.0)
        .fetch_one(&core.pool)
        .await?;
    let attempt = Attempt::take(core, Some(&email), actor.source)
        .await?
        .map_err(CoreError::Throttled)?;
    let ok = take_totp(core, user, code).await?
        || (recovery && take_recovery_code(&core.pool, user, code).await?);
    if ok {
        attempt.succeeded(false).await?;
    }
    Ok(ok)
}

/// Checks a TOTP code or a recovery code of the actor's user, when their second factor is on
/// (taking it: each is good once); does nothing when it is off.
pub async fn require_code(
    core: &Core,
    actor: &Actor,
    user: UserId,
    code: Option<&str>,
) -> Result<(), CoreError> {
    let on = sqlx::query_scalar!(
        r#"SELECT totp_secret IS NOT NULL AS "on!" FROM users WHERE id = $1"#,
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    if !on {
        return Ok(());
    }
    let code = code.ok_or_else(|| {
        CoreError::invalid("code", "two-factor authentication is on: a code is needed")
    })?;
    if checked_code(core, actor, user, code, true).await? {
        Ok(())
    } else {
        Err(CoreError::invalid("code", "wrong or already used code"))
    }
}

/// Turns the second factor off (password and a code needed). Refused where the platform
/// requires it of this user.
pub async fn disable(core: &Core, actor: &Actor, input: &DisableInput) -> Result<(), CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    if keys::second_factor_required(core, &actor.roles) {
        return Err(CoreError::Forbidden(
            "this platform requires two-factor authentication of your account; it cannot be turned off".into(),
        ));
    }
    let email = check_current(core, actor, user, &input.password, "password").await?;
    let on = sqlx::query_scalar!(
        r#"SELECT totp_enabled_at IS NOT NULL AS "on!" FROM users WHERE id = $1"#,
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    if !on {
        return Err(CoreError::conflict(
            "totp",
            "two-factor authentication is off already",
        ));
    }
    require_code(core, actor, user, Some(&input.code)).await?;
    let mut tx = core.pool.begin().await?;
    clear(&mut tx, user).await?;
    Event::new("2fa.disabled", true)
        .actor(actor)
        .subject(Some(user), email.clone())
        .record(&mut *tx)
        .await?;
    mail::enqueue(
        &mut *tx,
        Some(user),
        &email,
        &mail::Message::two_factor_disabled(&core.occasion(actor.source)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a user's second factor (turning it off, or an administrator's reset).
pub(crate) async fn clear(
    tx: &mut Transaction<'_, Postgres>,
    user: UserId,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_enabled_at = NULL,
                totp_last_step = NULL, security_epoch = security_epoch + 1
          WHERE id = $1",
        user.0
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// New recovery codes (the old ones stop working), proved by a current TOTP code.
pub async fn regenerate_codes(
    core: &Core,
    actor: &Actor,
    code: &str,
) -> Result<RecoveryCodes, CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    let row = sqlx::query!(
        r#"SELECT email, totp_secret IS NOT NULL AS "on!" FROM users WHERE id = $1"#,
        user.0
    )
    .fetch_one(&core.pool)
    .await?;
    if !row.on {
        return Err(CoreError::conflict(
            "totp",
            "two-factor authentication is off: there are no codes",
        ));
    }
    if !checked_code(core, actor, user, code, false).await? {
        return Err(CoreError::invalid("code", "wrong or already used code"));
    }
    let mut tx = core.pool.begin().await?;
    let codes = replace_codes(&mut tx, user).await?;
    Event::new("2fa.recovery_codes_regenerated", true)
        .actor(actor)
        .subject(Some(user), row.email.clone())
        .record(&mut *tx)
        .await?;
    mail::enqueue(
        &mut *tx,
        Some(user),
        &row.email,
        &mail::Message::recovery_codes_regenerated(&core.occasion(actor.source)),
    )
    .await?;
    tx.commit().await?;
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}
