//! Idempotency-Key on POSTs: a retry gets the first answer and changes nothing; the same key
//! on another request is 422; while the first runs, 409; a failed request is not kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apex_core::idempotency::{self, Begin};
use axum::http::StatusCode;
use common::{Client, setup};
use serde_json::json;
use sqlx::PgPool;

const RECORDS: &str = "/api/v1/domains/example.com/records";

async fn records_named(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM records WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_retried_post_gets_the_first_answer_and_changes_nothing(pool: PgPool) {
    let api = setup(pool.clone()).await;
    let (s, b) = api
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let mut c = Client::with_key(&api.router, &api.key);
    c.headers
        .push(("idempotency-key".into(), "\"9b2f6c1e-rec-1\"".into()));
    let record = json!({"name": "www", "type": "A", "content": "192.0.2.1"});
    let first = c.post(RECORDS, record.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let changes = api.state().await;

    let second = c.post(RECORDS, record.clone()).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.body, first.body);
    assert_eq!(
        second.headers.get("content-type"),
        first.headers.get("content-type")
    );
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(records_named(&pool, "www.example.com.").await, 1);
    assert_eq!(api.state().await, changes, "the retry changed nothing");

    // The kept answer is sealed: the record's content does not appear at rest.
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT response FROM idempotency_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!sealed.windows(9).any(|w| w == b"192.0.2.1"));

    // The same key for another body, or another path: 422.
    let other = c
        .post(
            RECORDS,
            json!({"name": "www", "type": "A", "content": "192.0.2.2"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.body["type"],
        "urn:apex:problem:idempotency-key-reused"
    );
    let other = c
        .post("/api/v1/domains", json!({"name": "example.net"}))
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(records_named(&pool, "www.example.com.").await, 1);

    // Keys are per credential: another key's same key is a new request.
    let user: i64 = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let other_key = apex_core::auth::keys::create_full(&pool, apex_core::ids::UserId(user), "b")
        .await
        .unwrap()
        .1;
    let mut d = Client::with_key(&api.router, &other_key);
    d.headers = c.headers.clone();
    let third = d
        .post(
            RECORDS,
            json!({"name": "www", "type": "A", "content": "192.0.2.3"}),
        )
        .await;
    assert_eq!(third.status, StatusCode::CREATED, "{}", third.body);
    assert!(third.headers.get("idempotent-replayed").is_none());
    assert_eq!(records_named(&pool, "www.example.com.").await, 2);

    // Kept for 24 hours, then pruned by the worker's housekeeping.
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&pool)
        .await
        .unwrap();
    apex_core::auth::prune(&pool).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn in_flight_failed_and_malformed(pool: PgPool) {
    let api = setup(pool.clone()).await;
    let (s, _) = api
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let record = json!({"name": "www", "type": "A", "content": "192.0.2.1"});
    let body = record.to_string();

    // A request with this key is running (claimed, not answered yet): 409.
    let claim = idempotency::Request {
        secret: &api.key,
        key: "busy",
        method: "POST",
        path: RECORDS,
        content_type: "application/json",
        body: body.as_bytes(),
    };
    assert_eq!(
        idempotency::begin(&pool, &claim).await.unwrap(),
        Begin::First
    );
    let mut c = Client::with_key(&api.router, &api.key);
    c.headers.push(("idempotency-key".into(), "busy".into()));
    let a = c.post(RECORDS, record.clone()).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert_eq!(a.body["type"], "urn:apex:problem:idempotency-key-in-flight");
    assert_eq!(records_named(&pool, "www.example.com.").await, 0);

    // A failed request is not kept: its retry runs again.
    c.headers = vec![("idempotency-key".into(), "fails".into())];
    let bad = json!({"name": "www", "type": "A", "content": "not an address"});
    let a = c.post(RECORDS, bad.clone()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["type"], "urn:apex:problem:invalid");
    // The claim is released in the background.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let a = c.post(RECORDS, record.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);

    // A key that is not a printable string: 400.
    c.headers = vec![("idempotency-key".into(), "\"\"".into())];
    let a = c.post(RECORDS, record).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["type"], "urn:apex:problem:invalid-idempotency-key");
}
