//! `GET /api/v1/admin/jobs` and `POST /api/v1/admin/jobs/{id}/retry`: admins only; zones behind
//! and failing publishes listed from Postgres; a retry clears the backoff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apex_core::ids::DomainId;
use apex_core::{auth, users};
use axum::http::StatusCode;
use common::{assert_problem, setup};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn admins_list_and_retry_jobs(pool: PgPool) {
    let api = setup(pool.clone()).await;
    let (s, b) = api
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // Not an admin: too little power.
    let (s, b, c) = api.call("GET", "/api/v1/admin/jobs", None).await;
    assert_problem(s, &b, &c, StatusCode::FORBIDDEN, None);
    let (s, b, c) = api
        .call("POST", "/api/v1/admin/jobs/publish_zone:1/retry", None)
        .await;
    assert_problem(s, &b, &c, StatusCode::FORBIDDEN, None);

    let admin = users::create_user(&pool, "root@example.com", "an admin's long password", true)
        .await
        .unwrap();
    let key = auth::keys::create_full(&pool, admin, "ops")
        .await
        .unwrap()
        .1;

    // The new zone is waiting for its first publish.
    let (s, b, _) = api.call_as(&key, "GET", "/api/v1/admin/jobs", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let jobs = b["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{b}");
    let job = &jobs[0];
    assert_eq!(job["job"], "publish_zone");
    assert_eq!(job["state"], "pending");
    assert_eq!(job["zone"], "example.com");
    assert!(job["detail"]["published_serial"].is_null());
    let id = job["id"].as_str().unwrap().to_string();

    // A publish that failed twice: retrying, with its error and backoff.
    let domain: i64 = sqlx::query_scalar("SELECT id FROM domains WHERE name = 'example.com'")
        .fetch_one(&pool)
        .await
        .unwrap();
    for _ in 0..2 {
        apex_core::publishing::failed(&pool, DomainId(domain), "record 7 does not parse")
            .await
            .unwrap();
    }
    let (_, b, _) = api
        .call_as(&key, "GET", "/api/v1/admin/jobs?state=retrying", None)
        .await;
    let job = &b["jobs"][0];
    assert_eq!(job["state"], "retrying", "{b}");
    assert_eq!(job["attempts"], 2);
    assert_eq!(job["last_error"], "record 7 does not parse");
    assert!(job["next_attempt_at"].is_string());
    let (_, b, _) = api
        .call_as(&key, "GET", "/api/v1/admin/jobs?state=failed", None)
        .await;
    assert_eq!(b["jobs"], json!([]));

    // Retry: due now.
    let (s, b, _) = api
        .call_as(
            &key,
            "POST",
            &format!("/api/v1/admin/jobs/{id}/retry"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["retried"], id);
    let (_, b, _) = api.call_as(&key, "GET", "/api/v1/admin/jobs", None).await;
    assert!(b["jobs"][0]["next_attempt_at"].is_null(), "{b}");

    // Bad ids and filters name the problem.
    let (s, b, c) = api
        .call_as(
            &key,
            "POST",
            "/api/v1/admin/jobs/publish_zone:999999/retry",
            None,
        )
        .await;
    assert_problem(s, &b, &c, StatusCode::NOT_FOUND, None);
    let (s, b, c) = api
        .call_as(&key, "POST", "/api/v1/admin/jobs/reboot:1/retry", None)
        .await;
    assert_problem(s, &b, &c, StatusCode::UNPROCESSABLE_ENTITY, Some("/id"));
    let (s, b, c) = api
        .call_as(&key, "GET", "/api/v1/admin/jobs?state=stuck", None)
        .await;
    assert_problem(s, &b, &c, StatusCode::UNPROCESSABLE_ENTITY, Some("/state"));
}
