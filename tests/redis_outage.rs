//! Postgres is the truth: writes made while Redis is down are published all the same (by the
//! reconciler), none is lost, and the fast path comes back with Redis.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Env, PrivateRedis, a_records, test_config};
use hickory_proto::rr::RecordType;
use reqwest::Method;
use sqlx::PgPool;

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn writes_while_redis_is_down_are_not_lost(pool: PgPool) {
    let mut redis = PrivateRedis::start();
    let (config, key) = test_config(&redis.url(), 1);
    let env = Env::start(pool.clone(), config, key).await;
    env.create_domain("example.net").await;
    env.add_record("example.net", "www", "A", "192.0.2.1").await;
    env.wait_for(
        "www.example.net.",
        RecordType::A,
        Duration::from_secs(3),
        |m| a_records(m) == ["192.0.2.1"],
    )
    .await;

    // Redis dies. Writes keep succeeding.
    redis.kill();
    let mut want = vec!["192.0.2.1".to_string()];
    for i in 2..=11 {
        let ip = format!("192.0.2.{i}");
        let (s, b) = env
            .api(
                Method::POST,
                "/api/v1/domains/example.net/records",
                Some(serde_json::json!({"name": "www", "type": "A", "ttl": 300, "content": ip})),
            )
            .await;
        assert_eq!(s, 201, "write failed while Redis was down: {b}");
        want.push(ip);
    }
    want.sort();
    let (s, b) = env.api(Method::GET, "/readyz", None).await;
    assert_eq!(
        (s, b["checks"]["redis"].as_str()),
        (503, Some("unreachable"))
    );

    // The reconciler publishes them from Postgres, every one.
    let took = env
        .wait_for(
            "www.example.net.",
            RecordType::A,
            Duration::from_secs(10),
            |m| a_records(m) == want,
        )
        .await;
    eprintln!("10 writes made with Redis down were served {took:?} after the last one");
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM changes WHERE published_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unpublished, 0);

    // Redis comes back (empty, as after a crash): readiness recovers and new writes flow again.
    redis.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (s, _) = env.api(Method::GET, "/readyz", None).await;
        if s == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never ready again after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.add_record("example.net", "after", "A", "198.51.100.1")
        .await;
    env.wait_for(
        "after.example.net.",
        RecordType::A,
        Duration::from_secs(3),
        |m| a_records(m) == ["198.51.100.1"],
    )
    .await;
}
