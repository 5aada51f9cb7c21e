//! Quotas per account: records and webhooks per domain, platform defaults and an
//! administrator's limits for one account.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apex_core::{auth, users};
use axum::http::StatusCode;
use common::{Api, setup_with};
use serde_json::{Value, json};
use sqlx::PgPool;

const DOMAIN: &str = "/api/v1/domains/example.com";

fn config() -> apex_core::config::Config {
    let mut c = common::accounts_config();
    c.webhook_allow_private = true;
    c.webhook_ports = vec!["*".into()];
    c
}

async fn admin_key(pool: &PgPool) -> String {
    let admin = users::create_user(pool, "root@example.com", "a long admin password", true)
        .await
        .unwrap();
    auth::keys::create_full(pool, admin, "admin")
        .await
        .unwrap()
        .1
}

async fn alice(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = 'alice@example.com'")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn record(api: &Api, name: &str) -> (StatusCode, Value) {
    api.post(
        &format!("{DOMAIN}/records"),
        json!({"name": name, "type": "A", "content": "192.0.2.1"}),
    )
    .await
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_administrator_limits_an_account(pool: PgPool) {
    let api = setup_with(pool.clone(), config()).await;
    let admin = admin_key(&pool).await;
    let id = alice(&pool).await;
    let (s, b, _) = api
        .call_as(
            &admin,
            "PATCH",
            &format!("/api/v1/admin/users/{id}"),
            Some(&json!({"max_records_per_domain": 2, "max_webhooks_per_domain": 1}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["max_records_per_domain"], 2);
    assert_eq!(b["max_webhooks_per_domain"], 1);
    let (s, b) = api
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    for name in ["a", "b"] {
        let (s, b) = record(&api, name).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let before = api.state().await;
    let (s, b) = record(&api, "c").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["type"], "urn:apex:problem:quota-exceeded");
    assert_eq!(
        b["detail"],
        "example.com has 2 records, the limit of its owner's account is 2; delete some or ask an administrator to raise it"
    );
    assert_eq!(api.state().await, before);

    // An import that would leave more is refused, dry run or not; one that leaves as many
    // goes through.
    for url in [
        format!("{DOMAIN}/import?mode=merge"),
        format!("{DOMAIN}/import?mode=merge&dry_run=true"),
    ] {
        let (s, b) = api
            .upload(
                &url,
                "text/dns",
                "$TTL 300\nnew A 192.0.2.10\nnew A 192.0.2.11\n",
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert_eq!(b["type"], "urn:apex:problem:quota-exceeded");
        assert!(
            b["detail"]
                .as_str()
                .unwrap()
                .contains("has 2 records and would have 4"),
            "{b}"
        );
    }
    assert_eq!(api.state().await, before);
    let (s, b) = api
        .upload(
            &format!("{DOMAIN}/import"),
            "text/dns",
            "$TTL 300\nx A 192.0.2.10\ny A 192.0.2.11\n",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Webhooks: one.
    let hooks = format!("{DOMAIN}/webhooks");
    let (s, b) = api.post(&hooks, json!({"url": "https://1.1.1.1/"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = api.post(&hooks, json!({"url": "https://1.0.0.1/"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["type"], "urn:apex:problem:quota-exceeded");
    assert!(b["detail"].as_str().unwrap().contains("1 webhooks"), "{b}");

    // Back to the platform's limits (200,000 records, ten webhooks).
    let (s, b, _) = api
        .call_as(
            &admin,
            "PATCH",
            &format!("/api/v1/admin/users/{id}"),
            Some(
                &json!({"max_records_per_domain": null, "max_webhooks_per_domain": null})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["max_records_per_domain"], Value::Null);
    let (s, b) = record(&api, "c").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = api.post(&hooks, json!({"url": "https://1.0.0.1/"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // The count the limit is checked against (kept by triggers) is the true one after
    // creates, a refused import, an import and deletes.
    let (s, b) = api
        .upload(
            &format!("{DOMAIN}/import?mode=replace"),
            "text/dns",
            "$TTL 300\nonly A 192.0.2.20\n",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (kept, counted): (i64, i64) = sqlx::query_as(
        "SELECT d.record_count, (SELECT count(*) FROM records r WHERE r.domain_id = d.id)
           FROM domains d WHERE d.name = $1",
    )
    .bind(DOMAIN.rsplit('/').next().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(kept, counted);
    assert!(counted >= 1);

    // Limits are numbers of 0 (none) or more.
    let (s, b, _) = api
        .call_as(
            &admin,
            "PATCH",
            &format!("/api/v1/admin/users/{id}"),
            Some(&json!({"max_records_per_domain": -1}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_platform_default_applies_and_zero_is_no_limit(pool: PgPool) {
    let mut c = config();
    c.max_records_per_domain = 1;
    let api = setup_with(pool.clone(), c).await;
    let (s, _) = api
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(record(&api, "a").await.0, StatusCode::CREATED);
    let (s, b) = record(&api, "b").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    // An administrator's 0 lifts the limit for the account.
    let admin = admin_key(&pool).await;
    let id = alice(&pool).await;
    let (s, _, _) = api
        .call_as(
            &admin,
            "PATCH",
            &format!("/api/v1/admin/users/{id}"),
            Some(&json!({"max_records_per_domain": 0}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(record(&api, "b").await.0, StatusCode::CREATED);
}
