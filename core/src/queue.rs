//! Wake-ups for the workers, on a Redis stream: the whole protocol, both sides of it.
//!
//! Postgres holds the intent (a zone's wanted serial ahead of its published one); the stream
//! only says "look at this zone now". So signalling never fails or slows a write: it runs in
//! the background, and if Redis is down the message is dropped with a warning (and for a few
//! seconds after a failure, without even trying) and the reconciler finds the zone on its next
//! pass.
//!
//! The stream is `{prefix}jobs`; each entry has one field, `job`, holding a [`Job`] as JSON
//! (`{"job":"publish_zone","v":1,"domain_id":7}`, see [`Job::encode`]). Workers read it
//! through the consumer group `workers` ([`Queue::create_group`], [`Queue::read`]),
//! acknowledge what they handled ([`Queue::ack`]), take over entries a stopped worker left
//! pending ([`Queue::claim`]) and forget stopped workers ([`Queue::prune_consumers`]). What
//! to do with each job is the worker's (`apex_worker::consumer`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Value;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::StreamReadReply;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::ids::DomainId;

/// Most entries kept in the stream (approximate trim); old entries are long consumed.
const STREAM_MAXLEN: usize = 100_000;

/// After a failed signal, later ones are skipped for this long instead of each waiting for
/// Redis to time out.
const BACK_OFF: Duration = Duration::from_secs(2);

/// The consumer group the workers share the stream through.
const GROUP: &str = "workers";

/// The field of a stream entry that holds its job.
const FIELD: &str = "job";

/// Most entries one read (or one claim) returns.
const BATCH: usize = 256;

/// How long one read waits for entries, in milliseconds.
const BLOCK_MS: u64 = 1000;

/// A job for the workers. Each is idempotent and keyed by what it works on, so running it
/// twice, or after a crash, is safe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Render, store and announce the zone at its wanted serial.
    PublishZone {
        /// Payload version.
        v: u8,
        /// The zone.
        domain_id: DomainId,
    },
    /// Announce the catalog at its current serial.
    NotifyCatalog {
        /// Payload version.
        v: u8,
    },
}

impl Job {
    /// The job's name, for logs and the admin listing.
    pub fn name(&self) -> &'static str {
        match self {
            Job::PublishZone { .. } => "publish_zone",
            Job::NotifyCatalog { .. } => "notify_catalog",
        }
    }

    /// The job as the stream carries it: JSON tagged by `job`, with a payload version `v`.
    pub fn encode(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The job an entry carries ([`Entry::payload`]).
    pub fn decode(payload: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(payload)
    }
}

/// One entry read from the stream: its id, to acknowledge it, and its job as written (decode
/// it with [`Job::decode`]; entries are compared as written, so equal ones are one job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The stream entry id.
    pub id: String,
    /// The `job` field.
    pub payload: String,
}

/// A name for this worker process in the consumer group, unique across restarts.
pub fn consumer_name() -> String {
    format!(
        "worker-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

/// The `job` field of an entry's fields, if it has one.
fn job_of(map: &HashMap<String, Value>) -> Option<String> {
    match map.get(FIELD)? {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// The stream, its consumer group and lazily (re)connected Redis connections: one for the
/// workers' blocking reads, one for everything else. A multiplexed connection runs its
/// commands in order, so an XADD (or a rate-limit check) sharing the connection of a blocked
/// XREADGROUP would wait out the block: a change made in the worker itself (DNS UPDATE)
/// reached the fleet a second late.
#[derive(Clone)]
pub struct Queue {
    client: Option<redis::Client>,
    conn: Arc<Mutex<Option<ConnectionManager>>>,
    blocking: Arc<Mutex<Option<ConnectionManager>>>,
    failed_at: Arc<std::sync::Mutex<Option<Instant>>>,
    /// The stream key.
    pub stream: String,
    /// The consumer group of the workers.
    pub group: String,
    /// The prefix of every key (`APEX_REDIS_PREFIX`), for others sharing the connection
    /// (the rate limiter's buckets).
    pub prefix: String,
}

impl Queue {
    /// A queue on `url` with keys under `prefix`. Does not connect yet, so a process starts
    /// (and serves writes) while Redis is down.
    pub fn new(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: Some(redis::Client::open(url)?),
            conn: Arc::new(Mutex::new(None)),
            blocking: Arc::new(Mutex::new(None)),
            failed_at: Arc::default(),
            stream: format!("{prefix}jobs"),
            group: GROUP.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// A queue that never delivers (tests of the API alone, and the reconciler-only mode).
    pub fn disabled() -> Self {
        Self {
            client: None,
            conn: Arc::new(Mutex::new(None)),
            blocking: Arc::new(Mutex::new(None)),
            failed_at: Arc::default(),
            stream: "disabled".into(),
            group: GROUP.into(),
            prefix: String::new(),
        }
    }

    /// A connection, made on first use and after failures.
    pub async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        self.connection_in(&self.conn).await
    }

    async fn connection_in(
        &self,
        slot: &Mutex<Option<ConnectionManager>>,
    ) -> Result<ConnectionManager, redis::RedisError> {
        let Some(client) = &self.client else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "queue disabled",
            )));
        };
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let c = tokio::time::timeout(
            Duration::from_secs(1),
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "connect timed out")))??;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Is a Redis configured (not [`Queue::disabled`])?
    pub fn enabled(&self) -> bool {
        self.client.is_some()
    }

    /// Forgets the connections after an error, so the next call reconnects.
    pub async fn reset(&self) {
        *self.conn.lock().await = None;
        *self.blocking.lock().await = None;
    }

    fn backing_off(&self) -> bool {
        self.failed_at
            .lock()
            .map(|t| t.is_some_and(|at| at.elapsed() < BACK_OFF))
            .unwrap_or(false)
    }

    fn set_failed(&self, failed: bool) {
        if let Ok(mut t) = self.failed_at.lock() {
            *t = failed.then(Instant::now);
        }
    }

    async fn xadd(&self, job: &Job) -> Result<(), redis::RedisError> {
        let payload = job.encode().map_err(|e| {
            redis::RedisError::from((redis::ErrorKind::Client, "encode", e.to_string()))
        })?;
        let mut conn = self.connection().await?;
        let cmd = redis::cmd("XADD")
            .arg(&self.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAXLEN)
            .arg("*")
            .arg(FIELD)
            .arg(payload)
            .to_owned();
        tokio::time::timeout(Duration::from_secs(2), cmd.query_async::<String>(&mut conn))
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "XADD timed out")))??;
        Ok(())
    }

    /// Adds a job in the background; a failure is logged, never returned.
    pub fn push(&self, job: Job) {
        if self.client.is_none() {
            return;
        }
        if self.backing_off() {
            tracing::debug!(
                job = job.name(),
                "Redis recently unreachable; leaving this to the reconciler"
            );
            return;
        }
        let queue = self.clone();
        tokio::spawn(async move {
            match queue.xadd(&job).await {
                Ok(()) => queue.set_failed(false),
                Err(e) => {
                    tracing::warn!(job = job.name(), error = %e, "could not signal the workers; the reconciler will pick this up");
                    queue.set_failed(true);
                    queue.reset().await;
                }
            }
        });
    }

    /// Tells the workers a zone changed.
    pub fn zone_changed(&self, domain_id: DomainId) {
        self.push(Job::PublishZone { v: 1, domain_id });
    }

    /// Tells the workers the catalog changed.
    pub fn catalog_changed(&self) {
        self.push(Job::NotifyCatalog { v: 1 });
    }

    /// Creates the consumer group (and the stream) unless it exists.
    pub async fn create_group(&self) -> redis::RedisResult<()> {
        let mut conn = self.connection().await?;
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            // From the start: entries added before the group existed (say, right after Redis
            // came back) are still wake-ups; jobs are idempotent, so reading old ones is harmless.
            .arg("0")
            .arg("MKSTREAM")
            .query_async::<String>(&mut conn)
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("BUSYGROUP") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Reads, as `consumer`, the entries no worker of the group has read yet: at most a batch,
    /// waiting up to a second for one. Entries without a job are left out.
    pub async fn read(&self, consumer: &str) -> redis::RedisResult<Vec<Entry>> {
        let mut conn = self.connection_in(&self.blocking).await?;
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.group)
            .arg(consumer)
            .arg("COUNT")
            .arg(BATCH)
            .arg("BLOCK")
            .arg(BLOCK_MS)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut conn)
            .await?;
        Ok(reply
            .map(|r| {
                r.keys
                    .into_iter()
                    .flat_map(|k| k.ids)
                    .filter_map(|e| job_of(&e.map).map(|payload| Entry { id: e.id, payload }))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Takes over, for `consumer`, entries idle for `min_idle_ms` in another consumer's pending
    /// list (a worker that stopped): at most a batch (XAUTOCLAIM).
    pub async fn claim(&self, consumer: &str, min_idle_ms: u64) -> redis::RedisResult<Vec<Entry>> {
        let mut conn = self.connection().await?;
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(consumer)
            .arg(min_idle_ms)
            .arg("0-0")
            .arg("COUNT")
            .arg(BATCH)
            .query_async(&mut conn)
            .await?;
        // Reply: [next-cursor, [[id, [field, value, ...]], ...], [deleted ids]]
        let mut out = Vec::new();
        if let Value::Array(parts) = reply
            && let Some(Value::Array(entries)) = parts.get(1)
        {
            for entry in entries {
                let Value::Array(pair) = entry else { continue };
                let (Some(id), Some(Value::Array(fields))) = (pair.first(), pair.get(1)) else {
                    continue;
                };
                let id: String = redis::from_redis_value_ref(id).unwrap_or_default();
                let mut map = HashMap::new();
                for kv in fields.chunks(2) {
                    if let [k, v] = kv {
                        map.insert(
                            redis::from_redis_value_ref::<String>(k).unwrap_or_default(),
                            v.clone(),
                        );
                    }
                }
                if let Some(payload) = job_of(&map) {
                    out.push(Entry { id, payload });
                }
            }
        }
        Ok(out)
    }

    /// Acknowledges entries `ids`: they leave the group's pending list.
    pub async fn ack(&self, ids: &[String]) -> redis::RedisResult<()> {
        let mut conn = self.connection().await?;
        redis::cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(ids)
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    /// Removes the consumers other than `me` that hold no pending entries and have been idle
    /// for `idle_ms` (stopped workers), so restarts do not pile them up; returns their names.
    pub async fn prune_consumers(&self, me: &str, idle_ms: i64) -> redis::RedisResult<Vec<String>> {
        let mut conn = self.connection().await?;
        let consumers: Vec<HashMap<String, Value>> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&self.stream)
            .arg(&self.group)
            .query_async(&mut conn)
            .await?;
        let mut forgotten = Vec::new();
        for c in consumers {
            let field = |k: &str| {
                c.get(k)
                    .and_then(|v| redis::from_redis_value_ref::<i64>(v).ok())
            };
            let name: Option<String> = c
                .get("name")
                .and_then(|v| redis::from_redis_value_ref(v).ok());
            let Some(name) = name else { continue };
            if name != me
                && field("pending") == Some(0)
                && field("idle").is_some_and(|i| i > idle_ms)
            {
                redis::cmd("XGROUP")
                    .arg("DELCONSUMER")
                    .arg(&self.stream)
                    .arg(&self.group)
                    .arg(&name)
                    .query_async::<i64>(&mut conn)
                    .await?;
                forgotten.push(name);
            }
        }
        Ok(forgotten)
    }

    /// Is Redis reachable? (For `/readyz`.)
    pub async fn ping(&self) -> bool {
        let Ok(mut conn) = self.connection().await else {
            return false;
        };
        let ok = tokio::time::timeout(
            Duration::from_secs(1),
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if !ok {
            self.reset().await;
        }
        self.set_failed(!ok);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_versioned_json() {
        let j = Job::PublishZone {
            v: 1,
            domain_id: DomainId(7),
        };
        let s = serde_json::to_string(&j).unwrap();
        assert_eq!(s, r#"{"job":"publish_zone","v":1,"domain_id":7}"#);
        assert_eq!(serde_json::from_str::<Job>(&s).unwrap(), j);
    }

    #[test]
    fn encode_and_decode_are_the_wire_format() {
        let j = Job::PublishZone {
            v: 1,
            domain_id: DomainId(7),
        };
        assert_eq!(
            j.encode().unwrap(),
            r#"{"job":"publish_zone","v":1,"domain_id":7}"#
        );
        let c = Job::NotifyCatalog { v: 1 };
        assert_eq!(c.encode().unwrap(), r#"{"job":"notify_catalog","v":1}"#);
        assert_eq!(Job::decode(&c.encode().unwrap()).unwrap(), c);
        assert!(Job::decode("{}").is_err());
    }
}
