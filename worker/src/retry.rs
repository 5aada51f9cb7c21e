//! When to try again: the retry policy shared by webhook deliveries and mail. Waits double
//! from a first retry up to an hour, and everything gives up a day after it was queued, so a
//! receiver that is down for a night still gets its messages and one that is gone for good
//! stops costing attempts. Also how both write a failure down: [`chain`].

use std::hash::BuildHasher;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Retries stop this long after the message was queued.
pub const RETRY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// When to try again after `failures` failed attempts, or `None` to give up: waits double from
/// `first_retry` up to an hour, stretched by `jitter` (0 to 1) by up to a tenth, and the last
/// attempt falls at the end of the retry window.
pub fn next_attempt(
    failures: u32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    first_retry: Duration,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    let deadline = created_at + RETRY_WINDOW;
    if now >= deadline {
        return None;
    }
    let doublings = failures.saturating_sub(1).min(30);
    let wait = first_retry
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
        .mul_f64(1.0 + jitter.clamp(0.0, 1.0) / 10.0);
    let wait = chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::hours(1));
    Some((now + wait).min(deadline))
}

/// After a failed attempt (the `attempts`th) of message `id`: when to try again, or `None`
/// when the failure is permanent or the retry window is over.
pub fn after_failure(
    permanent: bool,
    attempts: i32,
    id: i64,
    created_at: DateTime<Utc>,
    first_retry: Duration,
) -> Option<DateTime<Utc>> {
    if permanent {
        return None;
    }
    next_attempt(
        u32::try_from(attempts).unwrap_or(u32::MAX),
        created_at,
        Utc::now(),
        first_retry,
        jitter(id),
    )
}

/// A number in 0..1 that differs between calls (for jitter, not for secrets): retries of
/// messages that failed together do not all come back at the same instant.
pub fn jitter(seed: i64) -> f64 {
    let h = std::collections::hash_map::RandomState::new().hash_one(seed);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// An error and its causes, on one line, without repeats (reqwest's and lettre's own
/// messages hide the cause), for `last_error` and the log.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_stops_after_a_day() {
        let t0 = Utc::now();
        let five = Duration::from_secs(5);
        let wait = |failures, now: DateTime<Utc>| {
            next_attempt(failures, t0, now, five, 0.0).map(|at| (at - now).num_seconds())
        };
        assert_eq!(wait(1, t0), Some(5));
        assert_eq!(wait(2, t0), Some(10));
        assert_eq!(wait(3, t0), Some(20));
        assert_eq!(wait(12, t0), Some(3600));
        assert_eq!(wait(40, t0), Some(3600));
        // Jitter stretches by at most a tenth.
        let j = next_attempt(1, t0, t0, five, 1.0).unwrap();
        assert_eq!((j - t0).num_milliseconds(), 5500);
        // The last attempt is at the end of the window; after it, no more.
        let late = t0 + chrono::TimeDelta::hours(24) - chrono::TimeDelta::minutes(10);
        assert_eq!(wait(30, late), Some(600));
        assert_eq!(wait(31, t0 + chrono::TimeDelta::hours(24)), None);
    }

    #[test]
    fn chain_lists_causes_once() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = E(
            "send failed: refused",
            Some(Box::new(E("refused", Some(Box::new(E("port 25", None)))))),
        );
        assert_eq!(chain(&e), "send failed: refused: port 25");
    }

    #[test]
    fn jitter_is_in_range() {
        for i in 0..100 {
            let j = jitter(i);
            assert!((0.0..1.0).contains(&j));
        }
    }
}
