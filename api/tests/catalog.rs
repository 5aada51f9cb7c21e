//! `/api/v1/account/catalog` through the router: turning an account's catalog on, reading it,
//! bad input named by field, rotating the key, turning it off. (Knot following a catalog is
//! tests/customer_catalog.rs; who may call what, api/tests/authz_matrix.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apex_core::auth::keys;
use apex_core::users;
use axum::http::StatusCode;
use common::{Client, accounts_config, router_for};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_accounts_catalog_from_on_to_off(pool: PgPool) {
    let config = accounts_config();
    let router = router_for(&pool, &config);
    let id = users::create_user(&pool, "cat@example.com", "a long enough password", false)
        .await
        .unwrap();
    let (_, key) = keys::create_full(&pool, id, "test").await.unwrap();
    let mut me = Client::with_key(&router, &key);

    let a = me.get("/api/v1/account/catalog").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

    // Bad input changes nothing, and names the entry.
    for (body, field) in [
        (json!({"secondaries": ["127.0.0.1"]}), "/secondaries/0"),
        (
            json!({"secondaries": ["9.9.9.9", "ns1.example.net"]}),
            "/secondaries/1",
        ),
        (json!({"algorithm": "hmac-md5"}), "/algorithm"),
    ] {
        let a = me.post("/api/v1/account/catalog", body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.body
        );
        assert!(a.body.to_string().contains(field), "{body}: {}", a.body);
    }
    let a = me.get("/api/v1/account/catalog").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

    let a = me
        .post(
            "/api/v1/account/catalog",
            json!({"secondaries": ["9.9.9.9", "[2620:fe::fe]:5353"], "algorithm": "hmac-sha512"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let zone = format!("{}.catalog.apex.invalid.", id.0);
    assert_eq!(a.body["zone"], zone.as_str());
    assert_eq!(a.body["key"]["name"], zone.as_str());
    assert_eq!(a.body["key"]["algorithm"], "hmac-sha512");
    assert_eq!(a.body["members"], 0);
    assert_eq!(
        a.body["secondaries"],
        json!(["9.9.9.9:53", "[2620:fe::fe]:5353"])
    );
    let secret = a.body["secret"].as_str().unwrap().to_string();
    assert!(
        a.body["dig"]
            .as_str()
            .unwrap()
            .starts_with(&format!("hmac-sha512:{}:", zone.trim_end_matches('.')))
    );
    let serial = a.body["serial"].as_u64().unwrap();

    // Shown without its secret; a second POST is a conflict.
    let a = me.get("/api/v1/account/catalog").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.to_string().contains(&secret));
    assert_eq!(a.body["serial"].as_u64().unwrap(), serial);
    let a = me.post("/api/v1/account/catalog", json!({})).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);

    // A published domain of the account joins it and moves the serial.
    let a = me
        .post("/api/v1/domains", json!({"name": "cat.test"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    sqlx::query("UPDATE domains SET published_serial = wanted_serial WHERE name = 'cat.test'")
        .execute(&pool)
        .await
        .unwrap();
    let a = me.get("/api/v1/account/catalog").await;
    assert_eq!(a.body["members"], 1, "{}", a.body);
    assert_eq!(a.body["serial"].as_u64().unwrap(), serial + 1);
    let a = me.get("/api/v1/account/catalog").await;
    assert_eq!(
        a.body["serial"].as_u64().unwrap(),
        serial + 1,
        "a read alone moves nothing"
    );

    let a = me
        .send(
            "PATCH",
            "/api/v1/account/catalog",
            Some(json!({"secondaries": ["9.9.9.9:53", "9.9.9.9"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = me
        .send(
            "PATCH",
            "/api/v1/account/catalog",
            Some(json!({"secondaries": []})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["secondaries"], json!([]));

    let a = me.post("/api/v1/account/catalog/key", json!(null)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_ne!(a.body["secret"].as_str().unwrap(), secret);

    let a = me.send("DELETE", "/api/v1/account/catalog", None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let a = me.get("/api/v1/account/catalog").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM audit_events WHERE event LIKE 'catalog.%' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            "catalog.enable",
            "catalog.update",
            "catalog.key_rotate",
            "catalog.disable"
        ]
    );
}

/// A domain handed to another owner leaves the old owner's catalog and joins the new one's,
/// each serial moving on.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_handed_over_domain_moves_between_catalogs(pool: PgPool) {
    let config = accounts_config();
    let router = router_for(&pool, &config);
    let mut people = Vec::new();
    for email in ["alice@example.com", "bob@example.com"] {
        let id = users::create_user(&pool, email, "a long enough password", false)
            .await
            .unwrap();
        let (_, key) = keys::create_full(&pool, id, "test").await.unwrap();
        let mut c = Client::with_key(&router, &key);
        let a = c.post("/api/v1/account/catalog", json!({})).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        people.push((id, c));
    }
    let [(_, mut alice), (bob_id, mut bob)] = <[_; 2]>::try_from(people).ok().unwrap();
    let a = alice
        .post("/api/v1/domains", json!({"name": "moving.test"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    sqlx::query("UPDATE domains SET published_serial = wanted_serial")
        .execute(&pool)
        .await
        .unwrap();
    let before_alice = alice.get("/api/v1/account/catalog").await.body;
    let before_bob = bob.get("/api/v1/account/catalog").await.body;
    assert_eq!(before_alice["members"], 1);
    assert_eq!(before_bob["members"], 0);

    let a = alice
        .post(
            "/api/v1/domains/moving.test/members",
            json!({"email": "bob@example.com", "role": "admin"}),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);
    // Shared with Bob, still Alice's.
    assert_eq!(bob.get("/api/v1/account/catalog").await.body["members"], 0);
    let a = alice
        .send(
            "PATCH",
            &format!("/api/v1/domains/moving.test/members/{}", bob_id.0),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);

    let after_alice = alice.get("/api/v1/account/catalog").await.body;
    let after_bob = bob.get("/api/v1/account/catalog").await.body;
    assert_eq!(after_alice["members"], 0, "{after_alice}");
    assert_eq!(after_bob["members"], 1, "{after_bob}");
    assert_eq!(
        after_alice["serial"].as_u64().unwrap(),
        before_alice["serial"].as_u64().unwrap() + 1
    );
    assert_eq!(
        after_bob["serial"].as_u64().unwrap(),
        before_bob["serial"].as_u64().unwrap() + 1
    );
}
