//! API rate limits: token buckets per credential (an API key or a session) and per client
//! address, shared through Redis by every API process, and kept in each process alone when
//! Redis is down or slow. A check never fails a request because of Redis.
//!
//! Each bucket holds at most `burst` tokens and gets `per_minute` back each minute, one at a
//! time; a request takes one token, an expensive one ([`Settings::expensive_cost`]) more. The
//! buckets are kept as GCRA ("generic cell rate algorithm"): one number per bucket, the
//! *theoretical arrival time* (TAT), the moment the bucket will be full again. A bucket is
//! full when its TAT is in the past; taking `c` tokens moves it `c` intervals on; the take is
//! refused when the TAT would then be more than `burst` intervals ahead of now. [`gcra`] is
//! that arithmetic, pure; [`SCRIPT`] is the same in Lua, run atomically in Redis over every
//! bucket a request draws from, so several API processes share one budget. A request is let
//! through only if every bucket it draws from allows it, and then takes from all of them;
//! refused, it takes from none.
//!
//! The clock is Redis's own (`TIME`), so API servers with skewed clocks still agree. Buckets
//! are the keys `{prefix}{ratelimit}:{policy}:{subject}` (one hash tag, so the script runs on
//! Redis Cluster too) and expire once full again. In memory, the map is swept of full buckets when it
//! grows.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::queue::Queue;

/// After Redis failed or was slow, checks stay in this process for this long before
/// trying Redis again, instead of each waiting for it.
const BACK_OFF: Duration = Duration::from_secs(2);

/// Buckets held in memory before full ones are swept out.
const SWEEP_AT: usize = 50_000;

/// One limit: a name (shown in the `RateLimit` headers), a refill rate and a bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `credential`, `address` or `anonymous`.
    pub name: &'static str,
    /// Tokens given back per minute.
    pub per_minute: u32,
    /// Most tokens held: the largest burst.
    pub burst: u32,
}

impl Policy {
    /// Microseconds between two tokens.
    pub fn interval_us(&self) -> i64 {
        (60_000_000 / i64::from(self.per_minute.max(1))).max(1)
    }

    /// Seconds an empty bucket takes to fill: the window of `RateLimit-Policy` (a bucket of
    /// `burst` tokens refilled at this rate allows `burst` requests per this many seconds).
    pub fn window_secs(&self) -> u64 {
        let us = u64::try_from(i64::from(self.burst) * self.interval_us()).unwrap_or(1);
        us.div_ceil(1_000_000).max(1)
    }
}

/// The rate-limit settings (`APEX_RATE_LIMIT_*`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Limits on at all.
    pub enabled: bool,
    /// Per API key or session.
    pub credential: Option<Policy>,
    /// Per client address, for requests with a credential.
    pub address: Option<Policy>,
    /// Per client address, for requests without one (sign-up, sign-in, password reset).
    pub anonymous: Option<Policy>,
    /// Tokens an expensive request takes.
    pub expensive_cost: u32,
    /// How long a check waits for Redis.
    pub redis_timeout: Duration,
}

impl Settings {
    /// No limits (tests of other things).
    pub fn off() -> Self {
        Self {
            enabled: false,
            credential: None,
            address: None,
            anonymous: None,
            expensive_cost: 1,
            redis_timeout: Duration::from_millis(50),
        }
    }
}

/// What one bucket says about a take, in the bucket's own time (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The take fits.
    pub allowed: bool,
    /// Tokens left: after the take if it fits, now otherwise.
    pub remaining: i64,
    /// Until the bucket is full again (after the take if it fits).
    pub reset_us: i64,
    /// Until the take would fit (0 if it does now).
    pub wait_us: i64,
    /// The bucket's TAT after the take (to store, if every bucket allows it).
    pub new_tat: i64,
}

/// Takes `cost` tokens (at most `burst`: a take can always fit eventually) from the bucket
/// whose TAT is `tat` (`None`: never used, full) at time `now`. Pure; [`SCRIPT`] mirrors it.
pub fn gcra(tat: Option<i64>, now: i64, interval: i64, burst: u32, cost: u32) -> Outcome {
    let burst = i64::from(burst.max(1));
    let cost = i64::from(cost.max(1)).min(burst);
    let tat = tat.unwrap_or(now).max(now);
    let available = ((now - (tat - burst * interval)) / interval).max(0);
    let new_tat = tat + cost * interval;
    let allow_at = new_tat - burst * interval;
    if allow_at <= now {
        Outcome {
            allowed: true,
            remaining: available - cost,
            reset_us: new_tat - now,
            wait_us: 0,
            new_tat,
        }
    } else {
        Outcome {
            allowed: false,
            remaining: available,
            reset_us: tat - now,
            wait_us: allow_at - now,
            new_tat: tat,
        }
    }
}

/// The Lua twin of [`gcra`] over several buckets at once. `KEYS`: the buckets. `ARGV[1]`: the
/// cost; then, per bucket, its interval (µs) and burst. Answers `{allowed, then per bucket:
/// available tokens now, TAT - now, the wait}`; stores the new TATs only if every bucket
/// allows the take.
pub const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local ok = 1
local out = {}
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local c = math.min(cost, burst)
  local tat = tonumber(redis.call('GET', key) or now) or now
  if tat < now then tat = now end
  local available = math.floor((now - (tat - burst * interval)) / interval)
  if available < 0 then available = 0 end
  local new_tat = tat + c * interval
  local wait = new_tat - burst * interval - now
  if wait > 0 then ok = 0 else wait = 0 end
  tats[i] = new_tat
  out[#out + 1] = available
  out[#out + 1] = tat - now
  out[#out + 1] = wait
end
if ok == 1 then
  for i, key in ipairs(KEYS) do
    local ttl = math.floor((tats[i] - now) / 1000) + 1000
    redis.call('SET', key, string.format('%d', tats[i]), 'PX', ttl)
  end
end
table.insert(out, 1, ok)
return out
"#;

/// One bucket a request draws from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    /// Its limit.
    pub policy: Policy,
    /// Whose bucket: a credential's hash, an address.
    pub subject: String,
}

/// One bucket's state after a check, for the `RateLimit` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketState {
    /// Its limit.
    pub policy: Policy,
    /// Tokens left.
    pub remaining: u64,
    /// Until it is full again.
    pub reset: Duration,
    /// Until it has one token more (zero when full): the `t` of the `RateLimit` header
    /// (draft-ietf-httpapi-ratelimit-headers-10: "until additional quota is made available").
    pub next: Duration,
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The request may go on (and has taken its tokens).
    pub allowed: bool,
    /// Refused: when the same request would fit.
    pub retry_after: Duration,
    /// Every bucket drawn from.
    pub buckets: Vec<BucketState>,
    /// Decided in Redis, shared with every API process (false: in this process alone).
    pub shared: bool,
}

fn us(v: i64) -> Duration {
    Duration::from_micros(u64::try_from(v).unwrap_or(0))
}

/// The client address a bucket is kept for: IPv6 clients by their /64 (one host usually has
/// the whole /64), IPv4 by the address.
pub fn address_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The subject of a credential's bucket: a hash of the secret (never the secret itself), so
/// no database lookup is needed before the limit, and invalid credentials are limited too.
pub fn credential_subject(kind: &str, secret: &str) -> String {
    let hash = crate::auth::token::token_hash(secret);
    format!("{kind}:{}", hex::encode(&hash[..16]))
}

/// The limiter of one API process: the settings, Redis (through the queue's connection) and
/// the in-memory buckets used while Redis is away.
pub struct Limiter {
    settings: Settings,
    queue: Queue,
    memory: Mutex<HashMap<String, i64>>,
    started: Instant,
    failed_at: Mutex<Option<Instant>>,
}

impl Limiter {
    /// A limiter with `settings`, sharing buckets through the Redis of `queue` (a disabled
    /// queue: in memory only).
    pub fn new(settings: Settings, queue: Queue) -> Self {
        Self {
            settings,
            queue,
            memory: Mutex::default(),
            started: Instant::now(),
            failed_at: Mutex::default(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn backing_off(&self) -> bool {
        self.failed_at
            .lock()
            .map(|t| t.is_some_and(|at| at.elapsed() < BACK_OFF))
            .unwrap_or(false)
    }

    fn set_failed(&self) {
        if let Ok(mut t) = self.failed_at.lock() {
            *t = Some(Instant::now());
        }
    }

    /// Takes `cost` tokens from every bucket of `draws`, or from none if one refuses.
    pub async fn check(&self, draws: &[Draw], cost: u32) -> Verdict {
        if draws.is_empty() {
            return Verdict {
                allowed: true,
                retry_after: Duration::ZERO,
                buckets: Vec::new(),
                shared: false,
            };
        }
        if self.queue.enabled() && !self.backing_off() {
            match tokio::time::timeout(self.settings.redis_timeout, self.in_redis(draws, cost))
                .await
            {
                Ok(Ok(v)) => return v,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "rate limits: Redis failed; limiting in this process for now");
                    self.set_failed();
                    self.queue.reset().await;
                }
                Err(_) => {
                    tracing::warn!(
                        timeout_ms = self.settings.redis_timeout.as_millis() as u64,
                        "rate limits: Redis too slow; limiting in this process for now"
                    );
                    self.set_failed();
                    // A first connection may take longer than a check waits: make it in the
                    // background, so the next check finds it.
                    let queue = self.queue.clone();
                    tokio::spawn(async move {
                        let _ = queue.connection().await;
                    });
                }
            }
        }
        self.in_memory(draws, cost)
    }

    fn key(&self, d: &Draw) -> String {
        // One hash tag for every bucket: the script touches several keys at once, which Redis
        // Cluster allows only within one slot.
        format!(
            "{}{{ratelimit}}:{}:{}",
            self.queue.prefix, d.policy.name, d.subject
        )
    }

    async fn in_redis(&self, draws: &[Draw], cost: u32) -> redis::RedisResult<Verdict> {
        let mut conn = self.queue.connection().await?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SCRIPT).arg(draws.len());
        for d in draws {
            cmd.arg(self.key(d));
        }
        cmd.arg(cost);
        for d in draws {
            cmd.arg(d.policy.interval_us()).arg(d.policy.burst);
        }
        let reply: Vec<i64> = cmd.query_async(&mut conn).await?;
        if reply.len() != 1 + 3 * draws.len() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "unexpected rate-limit script reply",
            )));
        }
        let outcomes: Vec<Outcome> = draws
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let taken = i64::from(cost.max(1)).min(i64::from(d.policy.burst.max(1)));
                Outcome::from_script(
                    reply[1 + 3 * i],
                    reply[2 + 3 * i],
                    reply[3 + 3 * i],
                    taken,
                    d.policy.interval_us(),
                )
            })
            .collect();
        Ok(combine(draws, &outcomes, cost, true))
    }

    fn in_memory(&self, draws: &[Draw], cost: u32) -> Verdict {
        let now = i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX);
        let Ok(mut memory) = self.memory.lock() else {
            // A poisoned lock: a panic elsewhere; let the request through.
            return combine(draws, &[], cost, false);
        };
        let keys: Vec<String> = draws.iter().map(|d| self.key(d)).collect();
        let outcomes: Vec<Outcome> = draws
            .iter()
            .zip(&keys)
            .map(|(d, k)| {
                gcra(
                    memory.get(k).copied(),
                    now,
                    d.policy.interval_us(),
                    d.policy.burst,
                    cost,
                )
            })
            .collect();
        if outcomes.iter().all(|o| o.allowed) {
            if memory.len() >= SWEEP_AT {
                memory.retain(|_, tat| *tat > now);
            }
            for (k, o) in keys.into_iter().zip(&outcomes) {
                memory.insert(k, o.new_tat);
            }
        }
        combine(draws, &outcomes, cost, false)
    }
}

impl Outcome {
    /// The outcome [`SCRIPT`] reports for one bucket: its available tokens, TAT - now and
    /// wait, for a take of `cost` at `interval`.
    fn from_script(available: i64, tat_rel: i64, wait: i64, cost: i64, interval: i64) -> Self {
        if wait <= 0 {
            Outcome {
                allowed: true,
                remaining: available - cost,
                reset_us: tat_rel + cost * interval,
                wait_us: 0,
                new_tat: 0,
            }
        } else {
            Outcome {
                allowed: false,
                remaining: available,
                reset_us: tat_rel,
                wait_us: wait,
                new_tat: 0,
            }
        }
    }
}

/// Combines the buckets' outcomes for `cost`: allowed if every bucket allows; refused, each
/// bucket shows what it holds now (nothing was taken) and the wait is the longest.
pub fn combine(draws: &[Draw], outcomes: &[Outcome], cost: u32, shared: bool) -> Verdict {
    if outcomes.is_empty() {
        return Verdict {
            allowed: true,
            retry_after: Duration::ZERO,
            buckets: Vec::new(),
            shared,
        };
    }
    let allowed = outcomes.iter().all(|o| o.allowed);
    let buckets = draws
        .iter()
        .zip(outcomes)
        .map(|(d, o)| {
            let (remaining, reset) = if o.allowed && !allowed {
                let taken = i64::from(cost.max(1)).min(i64::from(d.policy.burst.max(1)));
                (
                    o.remaining + taken,
                    o.reset_us - taken * d.policy.interval_us(),
                )
            } else {
                (o.remaining, o.reset_us)
            };
            let interval = d.policy.interval_us();
            let next = match reset.max(0) % interval {
                _ if reset <= 0 => 0,
                0 => interval,
                part => part,
            };
            BucketState {
                policy: d.policy,
                remaining: u64::try_from(remaining).unwrap_or(0),
                reset: us(reset.max(0)),
                next: us(next),
            }
        })
        .collect();
    let retry_after = if allowed {
        Duration::ZERO
    } else {
        us(outcomes.iter().map(|o| o.wait_us).max().unwrap_or(0))
    };
    Verdict {
        allowed,
        retry_after,
        buckets,
        shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000;

    fn policy(per_minute: u32, burst: u32) -> Policy {
        Policy {
            name: "test",
            per_minute,
            burst,
        }
    }

    /// Runs takes at the given times (seconds) on one bucket; answers each outcome.
    fn run(p: Policy, takes: &[(f64, u32)]) -> Vec<Outcome> {
        let mut tat = None;
        takes
            .iter()
            .map(|&(at, cost)| {
                let o = gcra(tat, (at * 1e6) as i64, p.interval_us(), p.burst, cost);
                if o.allowed {
                    tat = Some(o.new_tat);
                }
                o
            })
            .collect()
    }

    #[test]
    fn a_full_bucket_allows_a_burst_then_refuses() {
        // 60 a minute: one token a second; 3 at most.
        let out = run(policy(60, 3), &[(0.0, 1), (0.0, 1), (0.0, 1), (0.0, 1)]);
        assert_eq!(
            out.iter().map(|o| o.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(
            out.iter().map(|o| o.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0]
        );
        // Refused: the next token comes in a second; the bucket is full in three.
        assert_eq!(out[3].wait_us, SEC);
        assert_eq!(out[3].reset_us, 3 * SEC);
        assert_eq!(out[2].reset_us, 3 * SEC);
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        let p = policy(60, 3);
        let out = run(p, &[(0.0, 3), (0.5, 1), (1.0, 1), (1.5, 1), (10.0, 1)]);
        assert_eq!(
            out.iter().map(|o| o.allowed).collect::<Vec<_>>(),
            [true, false, true, false, true]
        );
        // Half a second after emptying, half a second to wait.
        assert_eq!(out[1].wait_us, SEC / 2);
        assert_eq!(out[3].wait_us, SEC / 2);
        // Long idle: the bucket is full again (not more than full).
        assert_eq!(out[4].remaining, 2);
        assert_eq!(out[4].reset_us, SEC);
    }

    #[test]
    fn expensive_takes_cost_more_and_wait_for_enough_tokens() {
        let p = policy(60, 10);
        let out = run(p, &[(0.0, 8), (0.0, 5), (3.0, 5)]);
        assert!(out[0].allowed);
        assert_eq!(out[0].remaining, 2);
        // Two left, five needed: three seconds.
        assert!(!out[1].allowed);
        assert_eq!(out[1].remaining, 2);
        assert_eq!(out[1].wait_us, 3 * SEC);
        assert!(out[2].allowed);
        assert_eq!(out[2].remaining, 0);
    }

    #[test]
    fn a_cost_above_the_burst_is_the_whole_bucket() {
        let out = run(policy(60, 3), &[(0.0, 50), (0.0, 1)]);
        assert!(out[0].allowed);
        assert_eq!(out[0].remaining, 0);
        assert_eq!(out[1].wait_us, SEC);
    }

    #[test]
    fn windows_and_intervals() {
        assert_eq!(policy(300, 30).interval_us(), 200_000);
        assert_eq!(policy(300, 30).window_secs(), 6);
        assert_eq!(policy(30, 10).window_secs(), 20);
        assert_eq!(policy(7, 1).window_secs(), 9);
    }

    fn b_of(burst: u32) -> Draw {
        Draw {
            policy: policy(60, burst),
            subject: "b".into(),
        }
    }

    #[test]
    fn a_refused_take_takes_from_no_bucket() {
        let a = Draw {
            policy: policy(60, 5),
            subject: "a".into(),
        };
        let b = Draw {
            policy: policy(60, 1),
            subject: "b".into(),
        };
        let oa = gcra(None, 0, a.policy.interval_us(), 5, 1);
        let ob = gcra(Some(SEC), 0, b.policy.interval_us(), 1, 1);
        let v = combine(&[a, b], &[oa, ob], 1, false);
        assert!(!v.allowed);
        assert_eq!(v.retry_after, Duration::from_secs(1));
        // The bucket that would have allowed it still shows its five tokens.
        assert_eq!(v.buckets[0].remaining, 5);
        assert_eq!(v.buckets[0].reset, Duration::ZERO);
        assert_eq!(v.buckets[0].next, Duration::ZERO);
        assert_eq!(v.buckets[1].remaining, 0);
        assert_eq!(v.buckets[1].next, Duration::from_secs(1));
        // A take half a second after another: the first token is back in half a second, the
        // bucket full in a second and a half.
        let o = gcra(Some(SEC), SEC / 2, SEC, 5, 1);
        let v = combine(&[b_of(5)], &[o], 1, false);
        assert!(v.allowed);
        assert_eq!(v.buckets[0].remaining, 3);
        assert_eq!(v.buckets[0].reset, Duration::from_millis(1500));
        assert_eq!(v.buckets[0].next, Duration::from_millis(500));
    }

    #[test]
    fn subjects() {
        assert_eq!(address_subject("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(
            address_subject("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            address_subject("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
        let s = credential_subject("key", "apex_secret");
        assert!(s.starts_with("key:") && s.len() == 4 + 32);
        assert!(!s.contains("secret"));
    }

    /// The Lua script in a real Redis (`APEX_TEST_REDIS_URL`) decides as [`gcra`] does in
    /// memory: the same takes, allowed or refused alike, with the same tokens left.
    #[tokio::test]
    async fn the_script_in_redis_agrees_with_memory() {
        let url = std::env::var("APEX_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let prefix = format!("test-ratelimit-{}-{nanos}:", std::process::id());
        // One token a minute: nothing comes back while the test runs.
        let (a, b) = (policy(1, 6), policy(1, 4));
        let settings = || Settings {
            enabled: true,
            redis_timeout: Duration::from_secs(2),
            ..Settings::off()
        };
        let shared = Limiter::new(settings(), Queue::new(&url, &prefix).unwrap());
        let local = Limiter::new(settings(), Queue::disabled());
        let draws = |subject: &str| {
            vec![
                Draw {
                    policy: a,
                    subject: subject.into(),
                },
                Draw {
                    policy: b,
                    subject: "addr".into(),
                },
            ]
        };
        for (subject, cost) in [
            ("k1", 1),
            ("k1", 2),
            ("k2", 1),
            ("k1", 3),
            ("k2", 9),
            ("k2", 1),
        ] {
            let r = shared.check(&draws(subject), cost).await;
            let m = local.check(&draws(subject), cost).await;
            assert!(r.shared, "Redis at {url} did not answer");
            assert_eq!(r.allowed, m.allowed, "{subject} {cost}");
            let left = |v: &Verdict| v.buckets.iter().map(|b| b.remaining).collect::<Vec<_>>();
            assert_eq!(left(&r), left(&m), "{subject} {cost}");
            let secs = |d: Duration| d.as_secs_f64().round() as u64;
            assert_eq!(secs(r.retry_after), secs(m.retry_after), "{subject} {cost}");
        }
    }

    #[tokio::test]
    async fn in_memory_without_redis() {
        let settings = Settings {
            enabled: true,
            credential: Some(policy(60, 2)),
            ..Settings::off()
        };
        let limiter = Limiter::new(settings, Queue::disabled());
        let draw = [Draw {
            policy: policy(60, 2),
            subject: "x".into(),
        }];
        assert!(limiter.check(&draw, 1).await.allowed);
        assert!(limiter.check(&draw, 1).await.allowed);
        let v = limiter.check(&draw, 1).await;
        assert!(!v.allowed && !v.shared);
        assert!(v.retry_after > Duration::from_millis(900));
        assert!(v.retry_after <= Duration::from_secs(1));
    }
}
