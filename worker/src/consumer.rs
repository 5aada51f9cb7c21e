//! The Redis Streams consumer: wake-ups from API writes, read through a consumer group so
//! several workers share the work. A burst of changes to one zone becomes one publish: jobs
//! read together are deduplicated, and publishing renders the newest state anyway.
//!
//! Entries left pending by a worker that died are claimed after a minute (XAUTOCLAIM).
//! Whatever is lost here is found by the reconciler, because Postgres holds the intent.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use apex_core::queue::Job;
use redis::Value;
use redis::aio::ConnectionManager;
use redis::streams::StreamReadReply;

use crate::Context;
use crate::publish::{catalog_if_behind, publish_zone};

/// Entries idle this long in another consumer's pending list are taken over.
const CLAIM_IDLE_MS: u64 = 60_000;

/// Consumers (each worker process is one) idle this long with nothing pending are removed, so
/// restarts do not pile them up in Redis.
const FORGET_IDLE_MS: i64 = 3_600_000;

fn consumer_name() -> String {
    format!(
        "worker-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

/// Runs forever; Redis errors are logged and retried with backoff.
pub async fn run(ctx: Arc<Context>) {
    let queue = ctx.core.queue.clone();
    let me = consumer_name();
    let mut backoff = Duration::from_millis(200);
    let mut group_ready = false;
    let mut last_claim = tokio::time::Instant::now();
    loop {
        let result = async {
            let mut conn = queue.connection().await?;
            if !group_ready {
                ensure_group(&mut conn, &queue.stream, &queue.group).await?;
                group_ready = true;
            }
            let mut entries = read(&mut conn, &queue.stream, &queue.group, &me).await?;
            if last_claim.elapsed() > Duration::from_secs(30) {
                entries.extend(claim(&mut conn, &queue.stream, &queue.group, &me).await?);
                prune_consumers(&mut conn, &queue.stream, &queue.group, &me).await?;
                last_claim = tokio::time::Instant::now();
            }
            if entries.is_empty() {
                return Ok::<_, redis::RedisError>(());
            }
            let ids: Vec<String> = entries.iter().map(|(id, _)| id.clone()).collect();
            let jobs: BTreeSet<String> = entries.into_iter().map(|(_, job)| job).collect();
            for payload in jobs {
                run_job(&ctx, &payload).await;
            }
            redis::cmd("XACK")
                .arg(&queue.stream)
                .arg(&queue.group)
                .arg(&ids)
                .query_async::<i64>(&mut conn)
                .await?;
            Ok(())
        }
        .await;
        match result {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(error = %e, "queue unreachable; the reconciler keeps publishing meanwhile");
                queue.reset().await;
                group_ready = false;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn run_job(ctx: &Context, payload: &str) {
    let job: Job = match serde_json::from_str(payload) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(error = %e, payload, "unreadable job dropped");
            return;
        }
    };
    let result = match &job {
        Job::PublishZone { domain_id, .. } => publish_zone(ctx, *domain_id).await.map(|_| ()),
        Job::NotifyCatalog { .. } => catalog_if_behind(ctx).await,
    };
    if let Err(e) = result {
        // Not retried here: the zone stays behind in Postgres and the reconciler retries it,
        // with backoff.
        tracing::error!(job = job.name(), error = %e, "job failed; the reconciler will retry");
        if let Job::PublishZone { domain_id, .. } = &job
            && let Err(e) =
                apex_core::publishing::failed(&ctx.core.pool, *domain_id, &e.to_string()).await
        {
            tracing::warn!(error = %e, "could not record the failure");
        }
    }
}

async fn ensure_group(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
) -> redis::RedisResult<()> {
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(group)
        // From the start: entries added before the group existed (say, right after Redis
        // came back) are still wake-ups; jobs are idempotent, so reading old ones is harmless.
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<String>(conn)
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("BUSYGROUP") => Ok(()),
        Err(e) => Err(e),
    }
}

fn job_of(map: &std::collections::HashMap<String, Value>) -> Option<String> {
    match map.get("job")? {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

async fn read(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    me: &str,
) -> redis::RedisResult<Vec<(String, String)>> {
    let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(group)
        .arg(me)
        .arg("COUNT")
        .arg(256)
        .arg("BLOCK")
        .arg(1000)
        .arg("STREAMS")
        .arg(stream)
        .arg(">")
        .query_async(conn)
        .await?;
    Ok(reply
        .map(|r| {
            r.keys
                .into_iter()
                .flat_map(|k| k.ids)
                .filter_map(|e| job_of(&e.map).map(|j| (e.id, j)))
                .collect()
        })
        .unwrap_or_default())
}

async fn claim(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    me: &str,
) -> redis::RedisResult<Vec<(String, String)>> {
    let reply: Value = redis::cmd("XAUTOCLAIM")
        .arg(stream)
        .arg(group)
        .arg(me)
        .arg(CLAIM_IDLE_MS)
        .arg("0-0")
        .arg("COUNT")
        .arg(256)
        .query_async(conn)
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
            let mut map = std::collections::HashMap::new();
            for kv in fields.chunks(2) {
                if let [k, v] = kv {
                    map.insert(
                        redis::from_redis_value_ref::<String>(k).unwrap_or_default(),
                        v.clone(),
                    );
                }
            }
            if let Some(job) = job_of(&map) {
                out.push((id, job));
            }
        }
    }
    if !out.is_empty() {
        tracing::info!(count = out.len(), "claimed jobs of a worker that stopped");
    }
    Ok(out)
}

/// Removes consumers of stopped workers that hold no pending entries.
async fn prune_consumers(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    me: &str,
) -> redis::RedisResult<()> {
    let consumers: Vec<std::collections::HashMap<String, Value>> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(stream)
        .arg(group)
        .query_async(conn)
        .await?;
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
            && field("idle").is_some_and(|i| i > FORGET_IDLE_MS)
        {
            redis::cmd("XGROUP")
                .arg("DELCONSUMER")
                .arg(stream)
                .arg(group)
                .arg(&name)
                .query_async::<i64>(conn)
                .await?;
            tracing::debug!(consumer = %name, "forgot a stopped worker's consumer");
        }
    }
    Ok(())
}
