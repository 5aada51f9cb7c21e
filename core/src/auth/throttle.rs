//! Throttling of failed sign-ins, per account and per source address, kept in Postgres (so it
//! holds across API servers and survives a Redis outage).
//!
//! Each key (`account:<email>`, `ip:<address>`) counts failures in a window. Past the free
//! failures, each further one locks the key for twice as long as the one before, up to a
//! ceiling. While a key is locked, attempts are refused without looking at the password
//! (429 with `Retry-After`) and do not count, so the lock ends when it says it does.

use std::time::Duration;

use sqlx::PgPool;

use crate::CoreError;

/// How a key is throttled.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed in a window before the first lock.
    pub free: i32,
    /// The window failures are counted in.
    pub window: Duration,
    /// The first lock; each later failure doubles it.
    pub first_lock: Duration,
    /// The longest lock.
    pub max_lock: Duration,
}

/// One account: five wrong passwords or codes, then 30 s, 1 min, 2 min … up to 15 min.
pub const ACCOUNT: Policy = Policy {
    free: 5,
    window: Duration::from_secs(15 * 60),
    first_lock: Duration::from_secs(30),
    max_lock: Duration::from_secs(15 * 60),
};

/// One source address, over all accounts (password spraying): twenty failures, then 1 min
/// doubling up to an hour.
pub const ADDRESS: Policy = Policy {
    free: 20,
    window: Duration::from_secs(15 * 60),
    first_lock: Duration::from_secs(60),
    max_lock: Duration::from_secs(3600),
};

/// Mail-sending requests (password reset, verification resend) per address or recipient:
/// three, then 5 min doubling up to an hour.
pub const MAIL: Policy = Policy {
    free: 3,
    window: Duration::from_secs(3600),
    first_lock: Duration::from_secs(300),
    max_lock: Duration::from_secs(3600),
};

/// The throttle key of an account.
pub fn account(email: &str) -> String {
    format!("account:{email}")
}

/// The throttle key of a source address.
pub fn address(ip: std::net::IpAddr) -> String {
    format!("ip:{ip}")
}

/// How long a key is still locked, if it is.
pub async fn locked(pool: &PgPool, key: &str) -> Result<Option<Duration>, CoreError> {
    let left = sqlx::query_scalar!(
        r#"SELECT EXTRACT(EPOCH FROM (locked_until - now()))::float8 AS "left"
             FROM login_throttle WHERE key = $1 AND locked_until > now()"#,
        key
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(left.map(|s| Duration::from_secs_f64(s.max(0.0))))
}

/// The longest lock among `keys`.
pub async fn locked_any(pool: &PgPool, keys: &[String]) -> Result<Option<Duration>, CoreError> {
    let mut longest: Option<Duration> = None;
    for key in keys {
        if let Some(d) = locked(pool, key).await? {
            longest = Some(longest.map_or(d, |l| l.max(d)));
        }
    }
    Ok(longest)
}

/// Counts a failure; returns the lock it starts, if any.
pub async fn fail(pool: &PgPool, key: &str, policy: Policy) -> Result<Option<Duration>, CoreError> {
    let window = policy.window.as_secs_f64();
    let failures = sqlx::query_scalar!(
        r#"INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, now())
           ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN t.window_start < now() - make_interval(secs => $2) THEN 1
                               ELSE t.failures + 1 END,
               window_start = CASE WHEN t.window_start < now() - make_interval(secs => $2) THEN now()
                                   ELSE t.window_start END
           RETURNING failures"#,
        key,
        window,
    )
    .fetch_one(pool)
    .await?;
    if failures < policy.free {
        return Ok(None);
    }
    let lock = lock_for(policy, failures);
    sqlx::query!(
        "UPDATE login_throttle SET locked_until = now() + make_interval(secs => $2) WHERE key = $1",
        key,
        lock.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(Some(lock))
}

/// The lock after `failures` failures (at least `policy.free`).
fn lock_for(policy: Policy, failures: i32) -> Duration {
    let doublings = u32::try_from(failures - policy.free).unwrap_or(0).min(20);
    policy
        .first_lock
        .saturating_mul(1 << doublings)
        .min(policy.max_lock)
}

/// Forgets a key's failures (a successful sign-in).
pub async fn clear(pool: &PgPool, key: &str) -> Result<(), CoreError> {
    sqlx::query!("DELETE FROM login_throttle WHERE key = $1", key)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_the_ceiling() {
        assert_eq!(lock_for(ACCOUNT, 5), Duration::from_secs(30));
        assert_eq!(lock_for(ACCOUNT, 6), Duration::from_secs(60));
        assert_eq!(lock_for(ACCOUNT, 8), Duration::from_secs(240));
        assert_eq!(lock_for(ACCOUNT, 100), Duration::from_secs(900));
    }
}
