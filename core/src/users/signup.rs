//! Sign-up and address verification.
//!
//! `APEX_SIGNUP` says who may sign up: anyone (`open`), someone holding an invitation
//! (`invite`, the default) or nobody (`closed`). A new account cannot sign in until its
//! address is confirmed by the mailed link. The answer to a sign-up is the same whether or
//! not the address already has an account (its owner gets a mail instead), so the form tells
//! nobody who has one.

use serde::{Deserialize, Serialize};

use super::{Purpose, insert, mail_link, parse_email, take_token};
use crate::audit::Event;
use crate::auth::attempt::mail_throttle;
use crate::auth::password;
use crate::auth::sessions::Client;
use crate::config::Signup;
use crate::{Core, CoreError, invitations, mail};

/// `POST /api/v1/auth/signup`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    /// The address to sign in with (the invitation's, when there is one).
    pub email: Option<String>,
    /// At least 10 characters, not a common password.
    pub password: String,
    /// The invitation's token, from its link.
    pub invitation: Option<String>,
}

/// The answer: the same whether the account is new or existed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignupView {
    /// `verification_sent`.
    pub status: &'static str,
    /// Where the link went.
    pub email: String,
}

/// Signs someone up.
pub async fn signup(
    core: &Core,
    input: &SignupInput,
    client: &Client,
) -> Result<SignupView, CoreError> {
    let mode = core.platform.accounts.signup;
    if mode == Signup::Closed {
        return Err(CoreError::Forbidden(
            "this platform takes no sign-ups; ask its administrators for an account".into(),
        ));
    }
    let invitation = match &input.invitation {
        Some(token) => Some(
            invitations::find(&core.pool, token)
                .await?
                .ok_or_else(invitations::invalid_invitation)?,
        ),
        None if mode == Signup::Invite => {
            return Err(CoreError::Forbidden(
                "sign-up on this platform needs an invitation: use the link in the invitation mail"
                    .into(),
            ));
        }
        None => None,
    };
    let email = match (&input.email, &invitation) {
        (Some(e), Some(inv)) => {
            let e = parse_email(e)?;
            if e != inv.email {
                return Err(CoreError::invalid(
                    "email",
                    format!(
                        "the invitation is for {}; sign up with that address",
                        inv.email
                    ),
                ));
            }
            e
        }
        (None, Some(inv)) => inv.email.clone(),
        (Some(e), None) => parse_email(e)?,
        (None, None) => return Err(CoreError::invalid("email", "is required")),
    };
    password::check_policy(&input.password, &email)?;
    let hash = password::hash(&input.password).await?;
    let mut tx = core.pool.begin().await?;
    let existing = sqlx::query_scalar!(
        r#"SELECT id AS "id: crate::ids::UserId" FROM users WHERE email = $1"#,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(user) = existing {
        drop(tx);
        if mail_throttle(core, &email, client).await?.is_ok() {
            mail::enqueue(
                &core.pool,
                Some(user),
                &email,
                &mail::Message::notice(
                    mail::NoticeKind::Account,
                    &format!(
                        "Someone tried to sign up on Apex with your address.\n\
                         You have an account already: sign in, or reset your password at {} if you forgot it.",
                        core.platform.accounts.link("/reset-password"),
                    ),
                    &core.occasion(client.ip),
                ),
            )
            .await?;
        }
        Event::new("account.signup_existing", false)
            .source(client.ip)
            .subject(Some(user), email.clone())
            .record_quietly(&core.pool)
            .await;
        return Ok(SignupView {
            status: "verification_sent",
            email,
        });
    }
    let user = insert(&mut *tx, &email, &hash, false, false).await?;
    if let Some(inv) = &invitation {
        invitations::accept(&mut tx, inv, user, &email).await?;
    }
    mail_link(&mut tx, core, user, &email, Purpose::VerifyEmail).await?;
    Event::new("account.created", true)
        .source(client.ip)
        .subject(Some(user), email.clone())
        .detail(serde_json::json!({
            "via": "signup",
            "invitation_id": invitation.as_ref().map(|i| i.id),
        }))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user, "account signed up");
    Ok(SignupView {
        status: "verification_sent",
        email,
    })
}

/// Confirms an address from its link; returns the address.
pub async fn verify_email(core: &Core, token: &str, client: &Client) -> Result<String, CoreError> {
    let mut tx = core.pool.begin().await?;
    let taken = take_token(&mut *tx, token, Purpose::VerifyEmail)
        .await?
        .ok_or_else(|| {
            CoreError::invalid(
                "token",
                "this link does not work: it has expired or been used; ask for a new one",
            )
        })?;
    // The link confirms the address it went to, if it is still the account's.
    let done = sqlx::query!(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now())
          WHERE id = $1 AND email = $2",
        taken.user.0,
        taken.email
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(CoreError::invalid(
            "token",
            "this link was for an address the account no longer has",
        ));
    }
    Event::new("email.verified", true)
        .source(client.ip)
        .subject(Some(taken.user), taken.email.clone())
        .detail(serde_json::json!({"link_sent_at": taken.created_at}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(taken.email)
}

/// Sends a new verification link, if the address has an unverified account. Answers alike
/// whatever the case.
pub async fn resend_verification(
    core: &Core,
    email: &str,
    client: &Client,
) -> Result<(), CoreError> {
    let email = parse_email(email)?;
    let user = sqlx::query_scalar!(
        r#"SELECT id AS "id: crate::ids::UserId" FROM users
            WHERE email = $1 AND email_verified_at IS NULL AND disabled_at IS NULL"#,
        email
    )
    .fetch_optional(&core.pool)
    .await?;
    let Some(user) = user else { return Ok(()) };
    if mail_throttle(core, &email, client).await?.is_err() {
        return Ok(());
    }
    let mut tx = core.pool.begin().await?;
    mail_link(&mut tx, core, user, &email, Purpose::VerifyEmail).await?;
    tx.commit().await?;
    Ok(())
}
