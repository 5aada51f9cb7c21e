//! Wake-ups for the workers, on a Redis stream.
//!
//! Postgres holds the intent (a zone's wanted serial ahead of its published one); the stream
//! only says "look at this zone now". So signalling never fails or slows a write: it runs in
//! the background, and if Redis is down the message is dropped with a warning (and for a few
//! seconds after a failure, without even trying) and the reconciler finds the zone on its next
//! pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::ids::DomainId;

/// Most entries kept in the stream (approximate trim); old entries are long consumed.
const STREAM_MAXLEN: usize = 100_000;

/// After a failed signal, later ones are skipped for this long instead of each waiting for
/// Redis to time out.
const BACK_OFF: Duration = Duration::from_secs(2);

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
}

/// The stream, its consumer group and a lazily (re)connected Redis connection.
#[derive(Clone)]
pub struct Queue {
    client: Option<redis::Client>,
    conn: Arc<Mutex<Option<ConnectionManager>>>,
    failed_at: Arc<std::sync::Mutex<Option<Instant>>>,
    /// The stream key.
    pub stream: String,
    /// The consumer group of the workers.
    pub group: String,
}

impl Queue {
    /// A queue on `url` with keys under `prefix`. Does not connect yet, so a process starts
    /// (and serves writes) while Redis is down.
    pub fn new(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: Some(redis::Client::open(url)?),
            conn: Arc::new(Mutex::new(None)),
            failed_at: Arc::default(),
            stream: format!("{prefix}jobs"),
            group: "workers".to_string(),
        })
    }

    /// A queue that never delivers (tests of the API alone, and the reconciler-only mode).
    pub fn disabled() -> Self {
        Self {
            client: None,
            conn: Arc::new(Mutex::new(None)),
            failed_at: Arc::default(),
            stream: "disabled".into(),
            group: "workers".into(),
        }
    }

    /// A connection, made on first use and after failures.
    pub async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let Some(client) = &self.client else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "queue disabled",
            )));
        };
        let mut slot = self.conn.lock().await;
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

    /// Forgets the connection after an error, so the next call reconnects.
    pub async fn reset(&self) {
        *self.conn.lock().await = None;
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
        let payload = serde_json::to_string(job).map_err(|e| {
            redis::RedisError::from((redis::ErrorKind::Client, "encode", e.to_string()))
        })?;
        let mut conn = self.connection().await?;
        let cmd = redis::cmd("XADD")
            .arg(&self.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAXLEN)
            .arg("*")
            .arg("job")
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
}
