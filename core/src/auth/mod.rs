//! Authentication: establishing who is acting.
//!
//! Every request is made by a [`crate::actor::Actor`]: a user (or, for a domain key, nobody
//! in particular), through a credential — a dashboard session ([`sessions`], begun by
//! [`crate::users::login`]), a user's or a domain's API key ([`keys`]), or the command line.
//! What an actor may do is decided in one place, [`crate::authz::authorize`]. Tokens are
//! random and stored hashed ([`token`]); passwords get argon2id ([`password`]); failed
//! attempts are throttled ([`attempt`], [`throttle`]).

pub mod attempt;
pub mod device;
pub mod keys;
pub mod origin;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod token;
pub mod totp;

use crate::CoreError;

/// Deletes what has run its course: sessions ended a day ago, mailed links used or expired a
/// day ago, throttle counts whose window and lock are over, answers kept for idempotency keys
/// past their 24 hours. Safe to run from every worker at
/// any time (the reconciler does, every ten minutes). Returns the rows removed.
pub async fn prune(pool: &sqlx::PgPool) -> Result<u64, CoreError> {
    let sessions = sessions::prune(pool).await?;
    let tokens = sqlx::query!(
        "DELETE FROM email_tokens WHERE expires_at < now() - interval '1 day'
            OR used_at < now() - interval '1 day'"
    )
    .execute(pool)
    .await?
    .rows_affected();
    let throttle = sqlx::query!(
        "DELETE FROM login_throttle WHERE window_start < now() - interval '1 day'
            AND (locked_until IS NULL OR locked_until < now())"
    )
    .execute(pool)
    .await?
    .rows_affected();
    let idempotency = crate::idempotency::prune(pool).await?;
    Ok(sessions + tokens + throttle + idempotency)
}
