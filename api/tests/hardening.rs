//! The hardening issue through the router: each test does what an attacker or a careless
//! tenant did, and checks that it now hurts nobody.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use apex_core::auth::keys;
use apex_core::users;
use axum::http::StatusCode;
use common::{Client, accounts_config, router_for};
use serde_json::json;
use sqlx::PgPool;

async fn person(pool: &PgPool, router: &axum::Router, email: &str) -> Client {
    let id = users::create_user(pool, email, "a long enough password", false)
        .await
        .unwrap();
    let (_, key) = keys::create_full(pool, id, "test").await.unwrap();
    Client::with_key(router, &key)
}

/// Item 9: a stranger's DELETE of someone else's domain is refused before it takes any lock.
/// The owner's transaction holds the domain's row lock and its receipt lock (as publishing
/// and receipt marking do); the stranger gets 404 at once instead of queuing behind it, and
/// nothing is locked on their behalf.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_stranger_cannot_lock_a_domain_by_deleting_it(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let mut alice = person(&pool, &router, "alice@example.com").await;
    let mut mallory = person(&pool, &router, "mallory@example.com").await;
    let a = alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id: i64 = sqlx::query_scalar("SELECT id FROM domains WHERE name = 'example.com'")
        .fetch_one(&pool)
        .await
        .unwrap();

    let mut busy = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(5155, ($1::bigint % 2147483647)::int)")
        .bind(id)
        .execute(&mut *busy)
        .await
        .unwrap();
    sqlx::query("SELECT id FROM domains WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *busy)
        .await
        .unwrap();

    for (method, uri, body) in [
        ("DELETE", "/api/v1/domains/example.com", None),
        (
            "POST",
            "/api/v1/domains/example.com/records",
            Some(json!({"name": "www", "type": "A", "content": "192.0.2.1"})),
        ),
        (
            "PATCH",
            "/api/v1/domains/example.com",
            Some(json!({"soa": {"refresh": 7200}})),
        ),
    ] {
        let a = tokio::time::timeout(Duration::from_secs(3), mallory.send(method, uri, body))
            .await
            .unwrap_or_else(|_| panic!("{method} {uri} waited on the owner's lock"));
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "{method} {uri}: {}",
            a.body
        );
    }
    busy.rollback().await.unwrap();

    // The owner still can, once the lock is free.
    let a = alice
        .send("DELETE", "/api/v1/domains/example.com", None)
        .await;
    assert!(a.status.is_success(), "{}", a.body);
}

/// Item 12: bodies are limited per route. A 3 MB record is refused with 413 and a problem
/// naming the limit; an RRset batch of the same size (10,000 RRsets) is taken.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn request_bodies_are_limited_per_route(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let mut alice = person(&pool, &router, "alice@example.com").await;
    alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let a = alice
        .post(
            "/api/v1/domains/example.com/records",
            json!({"name": "www", "type": "TXT", "content": "x".repeat(3 << 20)}),
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.body);
    assert_eq!(a.body["type"], "urn:apex:problem:too-large", "{}", a.body);

    let rrsets: Vec<_> = (0..10_000)
        .map(|i| {
            json!({"name": format!("h{i}"), "type": "TXT", "ttl": 300,
                   "records": [format!("\"{}\"", "y".repeat(250))]})
        })
        .collect();
    let body = json!(rrsets);
    assert!(body.to_string().len() > 2 << 20);
    let a = alice
        .send(
            "PUT",
            "/api/v1/domains/example.com/rrsets?dry_run=true",
            Some(body),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        a.body.to_string().chars().take(500).collect::<String>()
    );
}

/// Item 10: a stolen database dump holds only sealed secrets, each naming its key; the master
/// key changes without a pause: with `APEX_MASTER_KEY=NEW,OLD` everything still opens,
/// `rotate` re-seals every secret under NEW in one go, and then NEW alone opens them all.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_master_key_is_rotated(pool: PgPool) {
    use apex_core::rekey::rotate;
    use apex_core::sealing::MasterKey;
    let old_text = MasterKey::generate_text();
    let new_text = MasterKey::generate_text();
    let mut config = accounts_config();
    config.master_key = Some(secrecy::SecretString::from(old_text.clone()));
    config.webhook_allow_private = true;
    let router = router_for(&pool, &config);
    let mut alice = person(&pool, &router, "alice@example.com").await;
    alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let a = alice
        .send(
            "PATCH",
            "/api/v1/domains/example.com",
            Some(json!({"dnssec": {"enabled": true}})),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);
    let a = alice
        .post(
            "/api/v1/domains/example.com/webhooks",
            json!({"url": "http://127.0.0.1/hook"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = alice
        .post(
            "/api/v1/domains/example.com/tsig-keys",
            json!({"name": "ddns"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = alice.post("/api/v1/account/catalog", json!({})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let old = MasterKey::parse(&old_text).unwrap();
    apex_core::auth::device::signing_key(&pool, &old)
        .await
        .unwrap();

    let blobs = || async {
        let mut all: Vec<Vec<u8>> = sqlx::query_scalar("SELECT private_key FROM dnssec_keys")
            .fetch_all(&pool)
            .await
            .unwrap();
        all.extend(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT secret FROM webhooks")
                .fetch_all(&pool)
                .await
                .unwrap(),
        );
        all.extend(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT secret FROM tsig_keys")
                .fetch_all(&pool)
                .await
                .unwrap(),
        );
        all.extend(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT key_secret FROM account_catalogs")
                .fetch_all(&pool)
                .await
                .unwrap(),
        );
        all.extend(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT secret FROM platform_secrets")
                .fetch_all(&pool)
                .await
                .unwrap(),
        );
        all
    };
    let before = blobs().await;
    assert!(before.len() >= 5, "{}", before.len());
    assert!(before.iter().all(|b| old.is_current(b)));

    let ring = MasterKey::parse(&format!("{new_text},{old_text}")).unwrap();
    let done = rotate(&pool, &ring).await.unwrap();
    assert_eq!(done.webhooks, 1);
    assert_eq!(done.tsig_keys, 1);
    assert_eq!(done.catalog_keys, 1);
    assert_eq!(done.platform, 1);
    assert!(done.dnssec_keys >= 1);
    let new = MasterKey::parse(&new_text).unwrap();
    let after = blobs().await;
    assert!(after.iter().all(|b| new.is_current(b)));
    // Twice is harmless.
    let again = rotate(&pool, &ring).await.unwrap();
    assert_eq!(
        again.dnssec_keys + again.webhooks + again.tsig_keys + again.catalog_keys + again.platform,
        0
    );

    // With the new key alone: the zone's signing keys open, and so does the cookie key.
    let domain: i64 = sqlx::query_scalar("SELECT id FROM domains WHERE name = 'example.com'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let domain = apex_core::ids::DomainId(domain);
    let mut conn = pool.acquire().await.unwrap();
    let keys = apex_core::dnssec::signing_keys(&mut *conn, domain, Some(&new))
        .await
        .unwrap();
    assert!(!keys.is_empty());
    apex_core::auth::device::signing_key(&pool, &new)
        .await
        .unwrap();
    // The old key alone no longer opens anything.
    assert!(
        apex_core::dnssec::signing_keys(&mut *conn, domain, Some(&old))
            .await
            .is_err()
    );
    assert!(
        apex_core::auth::device::signing_key(&pool, &old)
            .await
            .is_err()
    );
}
