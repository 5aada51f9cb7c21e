//! User accounts: made by an operator, by sign-up (with an invitation, unless sign-up is
//! open) or by an administrator; addresses compared case-insensitively and confirmed by a
//! mailed link; passwords hashed with argon2id ([`crate::auth::password`]).
//!
//! - [`signup`]: sign-up, address verification, invitations accepted.
//! - [`login`]: signing in, with the password and then the second factor.
//! - [`passwords`]: password change and reset.
//! - [`account`]: what a user sees and does about their own account, and its deletion.
//! - [`twofa`]: TOTP enrolment, recovery codes, turning it off.
//! - [`admin`]: platform administration of users.

pub mod account;
pub mod admin;
pub mod login;
pub mod passwords;
pub mod signup;
pub mod twofa;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgExecutor, PgPool};

use crate::CoreError;
use crate::auth::token::{random_password, random_token, token_hash};
use crate::auth::{keys, password};
use crate::ids::UserId;

/// Normalises and checks an e-mail address (lowercase, one `@`, a dot in the domain).
pub fn parse_email(input: &str) -> Result<String, CoreError> {
    let email = input.trim().to_lowercase();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !domain.contains('@')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email)
    } else {
        Err(CoreError::invalid(
            "email",
            format!("{:?} is not an e-mail address", input.trim()),
        ))
    }
}

/// Inserts a user with an already hashed password.
async fn insert(
    db: impl PgExecutor<'_>,
    email: &str,
    hash: &str,
    is_admin: bool,
    verified: bool,
) -> Result<UserId, CoreError> {
    sqlx::query_scalar!(
        r#"INSERT INTO users (email, password_hash, is_admin, email_verified_at)
           VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END)
           RETURNING id AS "id: UserId""#,
        email,
        hash,
        is_admin,
        verified,
    )
    .fetch_one(db)
    .await
    .map_err(|e| {
        CoreError::on_constraint(
            e,
            "users_email_key",
            "email",
            format!("a user with e-mail {email} already exists"),
        )
    })
}

/// Creates a user with an argon2id-hashed password, as the operator does (the address
/// counts as verified).
pub async fn create_user(
    db: impl PgExecutor<'_>,
    email: &str,
    password: &str,
    is_admin: bool,
) -> Result<UserId, CoreError> {
    let email = parse_email(email)?;
    password::check_policy(password, &email)?;
    let hash = password::hash(password).await?;
    insert(db, &email, &hash, is_admin, true).await
}

/// Finds a user by e-mail.
pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<UserId, CoreError> {
    let email = parse_email(email)?;
    sqlx::query_scalar!(
        r#"SELECT id AS "id: UserId" FROM users WHERE email = $1"#,
        email
    )
    .fetch_optional(pool)
    .await?
    .ok_or(CoreError::NotFound {
        what: "user",
        name: email,
    })
}

/// First start: when there is no user yet, creates an administrator with a random password
/// and an API key, in one transaction, and returns (password, API key). `None` when users
/// exist already.
pub async fn bootstrap_admin(
    pool: &PgPool,
    email: &str,
) -> Result<Option<(String, String)>, CoreError> {
    let mut tx = pool.begin().await?;
    // Two first starts at once: the second waits, then finds the first's user.
    sqlx::query!("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    if any_user(&mut *tx).await? {
        return Ok(None);
    }
    let password = random_password()?;
    let user = create_user(&mut *tx, email, &password, true).await?;
    let (_, key) = keys::create_full(&mut *tx, user, "first start").await?;
    tx.commit().await?;
    Ok(Some((password, key)))
}

/// Is there any user yet? (First start creates the admin.)
pub async fn any_user(db: impl PgExecutor<'_>) -> Result<bool, CoreError> {
    Ok(
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users) AS "e!""#)
            .fetch_one(db)
            .await?,
    )
}

/// What a mailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirm an address (48 hours).
    VerifyEmail,
    /// Set a new password (one hour).
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }

    fn ttl(self) -> TimeDelta {
        match self {
            Purpose::VerifyEmail => TimeDelta::hours(48),
            Purpose::ResetPassword => TimeDelta::hours(1),
        }
    }
}

/// Makes a single-use link token for `user` (stored hashed) and returns it.
pub(crate) async fn new_token(
    db: impl PgExecutor<'_>,
    user: UserId,
    email: &str,
    purpose: Purpose,
) -> Result<String, CoreError> {
    let token = random_token("")?;
    sqlx::query!(
        "INSERT INTO email_tokens (user_id, purpose, token_hash, email, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        user.0,
        purpose.as_str(),
        token_hash(&token),
        email,
        Utc::now() + purpose.ttl(),
    )
    .execute(db)
    .await?;
    Ok(token)
}

/// Makes a link token and mails the link: `/verify-email?token=…` or
/// `/reset-password?token=…` under the platform's public URL, in `tx`.
pub(crate) async fn mail_link(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    core: &crate::Core,
    user: UserId,
    email: &str,
    purpose: Purpose,
) -> Result<(), CoreError> {
    let token = new_token(&mut **tx, user, email, purpose).await?;
    let (path, message): (&str, fn(&str) -> crate::mail::Message) = match purpose {
        Purpose::VerifyEmail => ("/verify-email", crate::mail::Message::verify_email),
        Purpose::ResetPassword => ("/reset-password", crate::mail::Message::reset_password),
    };
    let link = core
        .platform
        .accounts
        .link(&format!("{path}?token={token}"));
    crate::mail::enqueue(&mut **tx, Some(user), email, &message(&link)).await?;
    Ok(())
}

/// A token taken: whose, and for which address.
pub(crate) struct Taken {
    pub user: UserId,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

/// Takes a link token (once): `None` if unknown, used or expired.
pub(crate) async fn take_token(
    db: impl PgExecutor<'_>,
    token: &str,
    purpose: Purpose,
) -> Result<Option<Taken>, CoreError> {
    let row = sqlx::query!(
        r#"UPDATE email_tokens SET used_at = now()
            WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
           RETURNING user_id AS "user: UserId", email, created_at"#,
        token_hash(token.trim()),
        purpose.as_str(),
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Taken {
        user: r.user,
        email: r.email,
        created_at: r.created_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            parse_email(" Admin@Example.COM ").unwrap(),
            "admin@example.com"
        );
        assert!(parse_email("nope").is_err());
        assert!(parse_email("a@b").is_err());
        assert!(parse_email("a b@example.com").is_err());
        assert!(parse_email("a@example..com").is_err());
    }
}
