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
/// three an hour.
pub const MAIL: Policy = Policy {
    free: 3,
    window: Duration::from_secs(3600),
    first_lock: Duration::from_secs(3600),
    max_lock: Duration::from_secs(3600),
};

/// The throttle key of an account.
pub fn account(email: &str) -> String {
    format!("account:{email}")
}

/// The throttle key of a source address. An IPv6 client is keyed by its /64, the smallest
/// block a site is given: otherwise every address of that block would be a fresh counter.
pub fn address(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let net = ipnet::Ipv6Net::new(v6, 64)
                    .map_or_else(|_| v6.to_string(), |n| n.trunc().to_string());
                format!("ip:{net}")
            }
        },
        v4 => format!("ip:{v4}"),
    }
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

/// Takes an attempt on `key` before it is checked: while the key is locked the attempt is
/// refused (the wait comes back) and not counted; otherwise it counts as a failure at once —
/// the attempt that reaches the limit locks the key for those after it — until
/// [`release`]d or [`clear`]ed on success. Counting before checking is what keeps a burst of
/// parallel attempts from all being checked before the first failure is written.
pub async fn reserve(
    pool: &PgPool,
    key: &str,
    policy: Policy,
) -> Result<Option<Duration>, CoreError> {
    // `before` locks the row and reads the lock as it was; the upsert counts the attempt
    // unless it was locked, and locks the key once the count reaches the limit.
    let left = sqlx::query_scalar!(
        r#"WITH before AS (
               SELECT locked_until FROM login_throttle WHERE key = $1 FOR UPDATE
           ), counted AS (
               INSERT INTO login_throttle AS t (key, failures, window_start)
               VALUES ($1, 1, now())
               ON CONFLICT (key) DO UPDATE SET
                   failures = CASE
                       WHEN t.locked_until > now() THEN t.failures
                       WHEN t.window_start < now() - make_interval(secs => $2) THEN 1
                       ELSE t.failures + 1 END,
                   window_start = CASE
                       WHEN t.locked_until > now() THEN t.window_start
                       WHEN t.window_start < now() - make_interval(secs => $2) THEN now()
                       ELSE t.window_start END,
                   locked_until = CASE
                       WHEN t.locked_until > now() THEN t.locked_until
                       WHEN t.window_start >= now() - make_interval(secs => $2)
                            AND t.failures + 1 >= $3
                       THEN now() + make_interval(secs => least($5, $4 * power(2, t.failures + 1 - $3)))
                       ELSE t.locked_until END
               RETURNING 1
           )
           SELECT EXTRACT(EPOCH FROM (b.locked_until - now()))::float8 AS "left"
             FROM before b WHERE b.locked_until > now()"#,
        key,
        policy.window.as_secs_f64(),
        policy.free,
        policy.first_lock.as_secs_f64(),
        policy.max_lock.as_secs_f64(),
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(left.map(|s| Duration::from_secs_f64(s.max(0.0))))
}

/// Gives back an attempt taken by [`reserve`] that turned out right (on a key that is not
/// cleared, such as a source address).
pub async fn release(pool: &PgPool, key: &str) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE key = $1",
        key
    )
    .execute(pool)
    .await?;
    Ok(())
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
    fn addresses_are_keyed_by_what_one_client_holds() {
        let key = |s: &str| address(s.parse().unwrap());
        assert_eq!(key("192.0.2.7"), "ip:192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "ip:192.0.2.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), key("2001:db8:1:2:ffff::1"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn attempts_lock_the_key_doubling(pool: PgPool) {
        let key = "account:x@example.com";
        for _ in 0..4 {
            assert_eq!(reserve(&pool, key, ACCOUNT).await.unwrap(), None);
        }
        // The fifth is let through, and locks the key for the ones after it.
        assert_eq!(reserve(&pool, key, ACCOUNT).await.unwrap(), None);
        let wait = reserve(&pool, key, ACCOUNT).await.unwrap().unwrap();
        assert!((29..=30).contains(&wait.as_secs()), "{wait:?}");
        // Attempts while locked do not count.
        let failures = || async {
            sqlx::query_scalar::<_, i32>("SELECT failures FROM login_throttle WHERE key = $1")
                .bind(key)
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        assert_eq!(failures().await, 5);
        // Once the lock is over, the next failure locks twice as long, up to the ceiling.
        sqlx::query("UPDATE login_throttle SET locked_until = now() WHERE key = $1")
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(reserve(&pool, key, ACCOUNT).await.unwrap(), None);
        let wait = locked(&pool, key).await.unwrap().unwrap();
        assert!((59..=60).contains(&wait.as_secs()), "{wait:?}");
        sqlx::query("UPDATE login_throttle SET locked_until = now(), failures = 40 WHERE key = $1")
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
        reserve(&pool, key, ACCOUNT).await.unwrap();
        let wait = locked(&pool, key).await.unwrap().unwrap();
        assert!((899..=900).contains(&wait.as_secs()), "{wait:?}");
        // A right attempt gives itself back; a complete sign-in forgets the key.
        release(&pool, key).await.unwrap();
        assert_eq!(failures().await, 40);
        clear(&pool, key).await.unwrap();
        assert_eq!(locked(&pool, key).await.unwrap(), None);
    }
}
