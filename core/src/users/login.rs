//! Signing in: the password, then — when the user has turned it on and this browser is not
//! remembered — a TOTP or recovery code.
//!
//! Every attempt is audited. Failures are throttled per account and per source address
//! ([`crate::auth::throttle`]); an unknown address costs the same argon2 time as a known one, and
//! gets the same answer, so the sign-in form tells nobody who has an account.

use chrono::Utc;
use serde::Serialize;

use super::{parse_email, twofa};
use crate::audit::Event;
use crate::auth::attempt::Attempt;
use crate::auth::sessions::{self, Client, NewSession};
use crate::auth::{device, password};
use crate::ids::{SessionId, UserId};
use crate::{Core, CoreError, mail};

/// Codes a pending session may be tried with.
const MFA_ATTEMPTS: i32 = 5;

/// Why a sign-in did not go through.
#[derive(Debug)]
pub enum LoginError {
    /// Wrong e-mail or password, or a wrong or used code (401; the same for all).
    Invalid(&'static str),
    /// Too many failures: try again after this long (429 with `Retry-After`).
    Throttled(std::time::Duration),
    /// The password was right but the account may not sign in (403): disabled, or its
    /// address not verified yet.
    Refused(String),
    /// Anything else.
    Core(CoreError),
}

impl From<CoreError> for LoginError {
    fn from(e: CoreError) -> Self {
        Self::Core(e)
    }
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        Self::Core(CoreError::Database(e))
    }
}

/// Where a sign-in stands after a step.
#[derive(Debug)]
pub enum Outcome {
    /// Signed in: set this session's cookie.
    SignedIn {
        /// The session.
        session: NewSession,
        /// A "remember this device" cookie value, when asked for.
        device: Option<String>,
        /// Who signed in.
        user: UserId,
        /// Their address.
        email: String,
    },
    /// The password was right; the second factor is needed. Set this pending session's
    /// cookie and ask for a code.
    SecondFactor(NewSession),
}

/// What the second step sends: a TOTP code or a recovery code.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactor {
    /// Six digits from the authenticator app.
    pub code: Option<String>,
    /// One of the recovery codes shown when 2FA was turned on.
    pub recovery_code: Option<String>,
    /// Skip the second factor on this browser for 30 days.
    #[serde(default)]
    pub remember_device: bool,
}

/// Summary of a signed-in session, for the answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    /// The session's id.
    pub session_id: SessionId,
    /// The user.
    pub user_id: UserId,
    /// Their address.
    pub email: String,
    /// When the session ends at the latest.
    pub expires_at: chrono::DateTime<Utc>,
}

/// The first step: e-mail and password. `remembered` is the browser's device cookie.
pub async fn password_step(
    core: &Core,
    email: &str,
    password: &str,
    client: &Client,
    remembered: Option<&str>,
) -> Result<Outcome, LoginError> {
    let audit = |event, success| {
        Event::new(event, success)
            .credential("password")
            .source(client.ip)
    };
    let Ok(email) = parse_email(email) else {
        // Not an address: nothing to check, but it is an attempt from this source all the same.
        let taken = Attempt::take(core, None, client.ip).await?;
        audit("login.failed", false)
            .subject(None, email.chars().take(254).collect::<String>())
            .detail(serde_json::json!({"reason": "not an e-mail address"}))
            .record_quietly(&core.pool)
            .await;
        return Err(match taken {
            Err(wait) => LoginError::Throttled(wait),
            Ok(_) => LoginError::Invalid("wrong e-mail or password"),
        });
    };
    let attempt = match Attempt::take(core, Some(&email), client.ip).await? {
        Ok(a) => a,
        Err(wait) => {
            audit("login.throttled", false)
                .subject(None, email.clone())
                .detail(serde_json::json!({"retry_after_seconds": wait.as_secs()}))
                .record_quietly(&core.pool)
                .await;
            return Err(LoginError::Throttled(wait));
        }
    };
    let user = sqlx::query!(
        r#"SELECT id AS "id: UserId", password_hash, disabled_at, email_verified_at,
                  totp_enabled_at, security_epoch
             FROM users WHERE email = $1"#,
        email
    )
    .fetch_optional(&core.pool)
    .await?;
    let Some(user) = user else {
        password::verify_dummy(password).await;
        audit("login.failed", false)
            .subject(None, email.clone())
            .detail(serde_json::json!({"reason": "no such account"}))
            .record_quietly(&core.pool)
            .await;
        return Err(LoginError::Invalid("wrong e-mail or password"));
    };
    let verified = password::verify(password, &user.password_hash).await?;
    if !verified.ok {
        audit("login.failed", false)
            .subject(Some(user.id), email.clone())
            .detail(serde_json::json!({"reason": "wrong password"}))
            .record_quietly(&core.pool)
            .await;
        return Err(LoginError::Invalid("wrong e-mail or password"));
    }
    if verified.needs_rehash {
        let hash = password::hash(password).await?;
        sqlx::query!(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            user.id.0,
            hash
        )
        .execute(&core.pool)
        .await?;
    }
    let remembered_ok = match (user.totp_enabled_at, remembered) {
        (Some(_), Some(cookie)) => {
            let key = device::signing_key(&core.pool, master(core)?).await?;
            device::verify(
                &key,
                cookie,
                user.id,
                user.security_epoch,
                Utc::now().timestamp(),
            )
        }
        _ => false,
    };
    let second_factor = user.totp_enabled_at.is_some() && !remembered_ok;
    // The password was right. The account's failures are forgotten only once the sign-in is
    // complete: a right password must not reset the count that guards the second factor.
    attempt.succeeded(!second_factor).await?;
    let refuse = |reason: &'static str, message: String| {
        let event = audit("login.failed", false)
            .subject(Some(user.id), email.clone())
            .detail(serde_json::json!({"reason": reason}));
        async move {
            event.record_quietly(&core.pool).await;
            LoginError::Refused(message)
        }
    };
    if user.disabled_at.is_some() {
        return Err(refuse(
            "disabled",
            "this account is disabled; ask the platform's administrators".into(),
        )
        .await);
    }
    if user.email_verified_at.is_none() {
        return Err(refuse(
            "address not verified",
            format!(
                "confirm your address first: follow the link we sent to {email} (POST /api/v1/auth/verify-email/resend sends a new one)"
            ),
        )
        .await);
    }
    if second_factor {
        let session = sessions::create(&core.pool, core, user.id, true, None, client).await?;
        audit("login.password_accepted", true)
            .subject(Some(user.id), email.clone())
            .detail(serde_json::json!({"second_factor": "required"}))
            .record(&core.pool)
            .await?;
        return Ok(Outcome::SecondFactor(session));
    }
    let mut tx = core.pool.begin().await?;
    let session = sessions::create(&mut *tx, core, user.id, false, None, client).await?;
    audit("login.succeeded", true)
        .subject(Some(user.id), email.clone())
        .detail(serde_json::json!({
            "session_id": session.id,
            "second_factor": if remembered_ok { "remembered device" } else { "off" },
        }))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Outcome::SignedIn {
        session,
        device: None,
        user: user.id,
        email,
    })
}

/// The second step, in the pending session the first one started.
pub async fn second_step(
    core: &Core,
    pending_token: &str,
    input: &SecondFactor,
    client: &Client,
) -> Result<Outcome, LoginError> {
    let row = sqlx::query!(
        r#"SELECT s.id AS "id: SessionId", s.mfa_failures, u.id AS "user_id: UserId", u.email,
                  u.security_epoch
             FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $1 AND s.state = 'pending' AND s.revoked_at IS NULL
              AND s.expires_at > now() AND u.disabled_at IS NULL"#,
        crate::auth::token::token_hash(pending_token),
    )
    .fetch_optional(&core.pool)
    .await?
    .ok_or(LoginError::Invalid(
        "no sign-in is waiting for a second factor here (it lasts five minutes): sign in with your password again",
    ))?;
    let audit = |event, success| {
        Event::new(event, success)
            .credential(format!("session:{}", row.id))
            .source(client.ip)
            .subject(Some(row.user_id), row.email.clone())
    };
    let method = match (&input.code, &input.recovery_code) {
        (Some(_), None) => "totp",
        (None, Some(_)) => "recovery code",
        _ => {
            audit("login.second_factor_failed", false)
                .detail(serde_json::json!({"reason": "neither or both of code and recovery_code"}))
                .record_quietly(&core.pool)
                .await;
            return Err(LoginError::Core(CoreError::invalid(
                "code",
                "send either code (six digits) or recovery_code",
            )));
        }
    };
    // The attempt is counted on the pending session before the code is looked at: parallel
    // guesses cannot all get in under the limit.
    let Some(attempts) = sqlx::query_scalar!(
        "UPDATE sessions SET mfa_failures = mfa_failures + 1
          WHERE id = $1 AND state = 'pending' AND revoked_at IS NULL AND expires_at > now()
            AND mfa_failures < $2
         RETURNING mfa_failures",
        row.id.0,
        MFA_ATTEMPTS
    )
    .fetch_optional(&core.pool)
    .await?
    else {
        return Err(LoginError::Invalid(
            "wrong code too often, or this sign-in ended: sign in with your password again",
        ));
    };
    let attempt = match Attempt::take(core, Some(&row.email), client.ip).await? {
        Ok(a) => a,
        Err(wait) => {
            audit("login.throttled", false)
                .detail(serde_json::json!({"retry_after_seconds": wait.as_secs()}))
                .record_quietly(&core.pool)
                .await;
            return Err(LoginError::Throttled(wait));
        }
    };
    let accepted = match (&input.code, &input.recovery_code) {
        (Some(code), None) => twofa::take_totp(core, row.user_id, code).await?,
        (None, Some(code)) => {
            use_recovery_code(core, row.user_id, &row.email, code, client).await?
        }
        _ => false,
    };
    if !accepted {
        audit("login.second_factor_failed", false)
            .detail(serde_json::json!({"method": method, "attempts": attempts}))
            .record_quietly(&core.pool)
            .await;
        return Err(LoginError::Invalid(if attempts >= MFA_ATTEMPTS {
            "wrong code too often: sign in with your password again"
        } else {
            "wrong or already used code"
        }));
    }
    attempt.succeeded(true).await?;
    // A new token for the signed-in session: the pending one's cookie is worth nothing now.
    // Taken once: two right codes racing in one pending session make one session.
    let mut tx = core.pool.begin().await?;
    let ended = sqlx::query!(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        row.id.0,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if ended == 0 {
        return Err(LoginError::Invalid(
            "this sign-in was completed or ended meanwhile: sign in with your password again",
        ));
    }
    let session = sessions::create(&mut *tx, core, row.user_id, false, None, client).await?;
    audit("login.succeeded", true)
        .detail(serde_json::json!({
            "session_id": session.id,
            "second_factor": method,
            "remember_device": input.remember_device,
        }))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    let device = if input.remember_device {
        let key = device::signing_key(&core.pool, master(core)?).await?;
        let expires = Utc::now().timestamp() + device::REMEMBER_DAYS * 86_400;
        Some(device::sign(&key, row.user_id, row.security_epoch, expires))
    } else {
        None
    };
    Ok(Outcome::SignedIn {
        session,
        device,
        user: row.user_id,
        email: row.email,
    })
}

/// Takes a recovery code (once); tells the user by mail how many are left.
async fn use_recovery_code(
    core: &Core,
    user: UserId,
    email: &str,
    code: &str,
    client: &Client,
) -> Result<bool, CoreError> {
    let mut tx = core.pool.begin().await?;
    if !twofa::take_recovery_code(&mut *tx, user, code).await? {
        return Ok(false);
    }
    let left = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"#,
        user.0
    )
    .fetch_one(&mut *tx)
    .await?;
    mail::enqueue(
        &mut *tx,
        Some(user),
        email,
        &mail::Message::notice(
            mail::NoticeKind::TwoFactor,
            &format!(
                "A recovery code was used to sign in to your Apex account.\n\
                 {left} unused recovery codes are left; make new ones from your account before they run out."
            ),
            &core.occasion(client.ip),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The master key (a second factor cannot be on without one).
fn master(core: &Core) -> Result<&crate::sealing::MasterKey, CoreError> {
    core.platform.master_key.as_ref().ok_or_else(|| {
        CoreError::Internal("APEX_MASTER_KEY is not set: second factors cannot be checked".into())
    })
}
