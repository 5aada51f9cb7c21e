//! Webhooks through the router, without TCP: the secret shown once, the address rules, who
//! may manage them, and the delivery log. Sending is the worker's (see `tests/webhooks.rs`).

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apex_core::config::Config;
use apex_core::ids::DomainId;
use apex_core::{auth, users, webhooks};
use axum::http::StatusCode;
use base64::Engine as _;
use common::{Api, assert_problem, setup, setup_with};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;

const HOOKS: &str = "/api/v1/domains/example.com/webhooks";

/// A platform with a master key; webhooks to private addresses allowed or not.
async fn platform(pool: PgPool, allow_private: bool) -> Api {
    let mut config = Config::defaults();
    config.master_key = Some(SecretString::from(
        apex_core::sealing::MasterKey::generate_text(),
    ));
    config.webhook_allow_private = allow_private;
    if allow_private {
        // Local receivers listen on any port.
        config.webhook_ports = vec!["*".into()];
    }
    let api = setup_with(pool, config).await;
    let (s, b) = api
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    api
}

async fn create(api: &Api, body: Value) -> Value {
    let (s, b) = api.post(HOOKS, body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_secret_is_shown_once(pool: PgPool) {
    let api = platform(pool, false).await;
    let b = create(
        &api,
        json!({"url": "https://1.1.1.1/hooks/apex", "description": "  deploys  "}),
    )
    .await;
    let id = b["id"].as_i64().unwrap();
    assert_eq!(b["url"], "https://1.1.1.1/hooks/apex");
    assert_eq!(b["events"], json!(["zone.published", "zone.in_sync"]));
    assert_eq!(b["description"], "deploys");
    assert_eq!(b["disabled_at"], Value::Null);
    let secret = b["secret"].as_str().unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert!(key.len() >= 24, "{secret}");

    // Never again: not in the listing, not in the webhook, not in the delivery log.
    for uri in [
        HOOKS.to_string(),
        format!("{HOOKS}/{id}"),
        format!("{HOOKS}/{id}/deliveries"),
    ] {
        let (s, v, _) = api.call("GET", &uri, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
        let text = v.to_string();
        assert!(
            !text.contains("secret") && !text.contains(secret),
            "{uri}: {v}"
        );
    }
    let (_, list, _) = api.call("GET", HOOKS, None).await;
    assert_eq!(list["webhooks"][0]["id"], id);
    let (_, one, _) = api.call("GET", &format!("{HOOKS}/{id}"), None).await;
    assert_eq!(one["url"], b["url"]);

    // At rest it is sealed: a format byte, the master key's id, nonce, ciphertext, tag; not
    // the key itself.
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret FROM webhooks")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(sealed.len(), 1 + 8 + 12 + key.len() + 16);
    assert_eq!(sealed[0], 1);
    assert!(!sealed.windows(key.len()).any(|w| w == key.as_slice()));

    // A second webhook gets a secret of its own.
    let other = create(&api, json!({"url": "https://1.0.0.1/"})).await;
    assert_ne!(other["secret"], b["secret"]);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn private_targets_are_refused(pool: PgPool) {
    let api = platform(pool, false).await;
    for (url, why) in [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("https://192.168.0.10/", "private"),
        ("http://[::1]:9000/", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://100.64.1.1/", "carrier-grade NAT"),
        ("http://[fd00::1]/", "unique local"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://[::ffff:1.1.1.1]/", "IPv4-mapped"),
        ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),
        // Public, on a port webhooks may not call (80, 443 and APEX_WEBHOOK_PORTS).
        ("https://1.1.1.1:8443/hook", "port 8443 is not allowed"),
        ("http://1.1.1.1:6379/", "port 6379 is not allowed"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://localhost:9000/", "local host"),
        ("http://hooks.localhost/", "local host"),
    ] {
        let (s, b, c) = api
            .call("POST", HOOKS, Some(&json!({"url": url}).to_string()))
            .await;
        assert_problem(s, &b, &c, StatusCode::UNPROCESSABLE_ENTITY, Some("/url"));
        let detail = b["detail"].as_str().unwrap();
        assert!(detail.starts_with("url: "), "{url}: {detail}");
        assert!(detail.contains(why), "{url}: {detail}");
    }
    let (_, list, _) = api.call("GET", HOOKS, None).await;
    assert_eq!(list["webhooks"], json!([]));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn private_targets_when_the_platform_allows_them(pool: PgPool) {
    let api = platform(pool, true).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/",
        "http://[::1]/",
    ] {
        create(&api, json!({"url": url})).await;
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn bad_input_names_the_field(pool: PgPool) {
    let api = platform(pool, false).await;
    for (body, status, pointer, fragment) in [
        (
            json!({"url": "https://1.1.1.1/", "events": ["zone.published", "zone.deleted"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/events/1",
            "zone.deleted",
        ),
        (
            json!({"url": "https://1.1.1.1/", "events": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/events",
            "at least one",
        ),
        (
            json!({"url": "ftp://1.1.1.1/"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/url",
            "scheme",
        ),
        (
            json!({"url": "hooks.example.com/x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/url",
            "not a URL",
        ),
        (
            json!({"url": "https://1.1.1.1/", "description": "x".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "/description",
            "longer",
        ),
        (
            json!({"url": "https://1.1.1.1/", "secret": "mine"}),
            StatusCode::BAD_REQUEST,
            "/secret",
            "unknown field",
        ),
        (
            json!({"events": ["zone.published"]}),
            StatusCode::BAD_REQUEST,
            "/url",
            "missing field",
        ),
    ] {
        let (s, b, c) = api.call("POST", HOOKS, Some(&body.to_string())).await;
        assert_problem(s, &b, &c, status, Some(pointer));
        assert!(
            b["detail"].as_str().unwrap().contains(fragment),
            "{body}: {b}"
        );
    }
    let (_, list, _) = api.call("GET", HOOKS, None).await;
    assert_eq!(list["webhooks"], json!([]));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn webhooks_need_a_master_key(pool: PgPool) {
    let api = setup(pool).await;
    api.post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let (s, b, c) = api
        .call(
            "POST",
            HOOKS,
            Some(&json!({"url": "https://1.1.1.1/"}).to_string()),
        )
        .await;
    assert_problem(s, &b, &c, StatusCode::UNPROCESSABLE_ENTITY, Some("/url"));
    assert!(b["detail"].as_str().unwrap().contains("APEX_MASTER_KEY"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn only_administrators_manage_webhooks(pool: PgPool) {
    let api = platform(pool.clone(), false).await;
    let id = create(&api, json!({"url": "https://1.1.1.1/"})).await["id"]
        .as_i64()
        .unwrap();
    let bob = users::create_user(&pool, "bob@example.com", "another long password", false)
        .await
        .unwrap();
    let bob_key = auth::keys::create_full(&pool, bob, "bob").await.unwrap().1;
    let body = json!({"url": "https://1.0.0.1/"}).to_string();

    // No role: the domain does not exist for bob.
    let (s, b, c) = api.call_as(&bob_key, "GET", HOOKS, None).await;
    assert_problem(s, &b, &c, StatusCode::NOT_FOUND, None);
    let (s, b, c) = api.call_as(&bob_key, "POST", HOOKS, Some(&body)).await;
    assert_problem(s, &b, &c, StatusCode::NOT_FOUND, None);

    // Read role: sees the webhooks and their deliveries, may not add or remove one.
    sqlx::query(
        "INSERT INTO domain_members (domain_id, user_id, role) SELECT id, $1, 'read' FROM domains",
    )
    .bind(bob.0)
    .execute(&pool)
    .await
    .unwrap();
    let (s, b, _) = api.call_as(&bob_key, "GET", HOOKS, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["webhooks"][0]["id"], id);
    let (s, _, _) = api
        .call_as(&bob_key, "GET", &format!("{HOOKS}/{id}/deliveries"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b, c) = api.call_as(&bob_key, "POST", HOOKS, Some(&body)).await;
    assert_problem(s, &b, &c, StatusCode::FORBIDDEN, None);
    let (s, b, c) = api
        .call_as(&bob_key, "DELETE", &format!("{HOOKS}/{id}"), None)
        .await;
    assert_problem(s, &b, &c, StatusCode::FORBIDDEN, None);

    // Write role is not enough either; admin is.
    sqlx::query("UPDATE domain_members SET role = 'write' WHERE user_id = $1")
        .bind(bob.0)
        .execute(&pool)
        .await
        .unwrap();
    let (s, b, c) = api.call_as(&bob_key, "POST", HOOKS, Some(&body)).await;
    assert_problem(s, &b, &c, StatusCode::FORBIDDEN, None);
    sqlx::query("UPDATE domain_members SET role = 'admin' WHERE user_id = $1")
        .bind(bob.0)
        .execute(&pool)
        .await
        .unwrap();
    let (s, b, _) = api.call_as(&bob_key, "POST", HOOKS, Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, _) = api
        .call_as(&bob_key, "DELETE", &format!("{HOOKS}/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn delete_a_webhook(pool: PgPool) {
    let api = platform(pool, false).await;
    let id = create(&api, json!({"url": "https://1.1.1.1/"})).await["id"]
        .as_i64()
        .unwrap();
    let keep = create(&api, json!({"url": "https://1.0.0.1/"})).await["id"]
        .as_i64()
        .unwrap();
    let (s, _, _) = api.call("DELETE", &format!("{HOOKS}/{id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for (method, uri) in [
        ("GET", format!("{HOOKS}/{id}")),
        ("DELETE", format!("{HOOKS}/{id}")),
        ("GET", format!("{HOOKS}/{id}/deliveries")),
        ("GET", format!("{HOOKS}/nonsense")),
        // A webhook is found only under its own domain.
        (
            "GET",
            format!("/api/v1/domains/example.org/webhooks/{keep}"),
        ),
    ] {
        let (s, b, c) = api.call(method, &uri, None).await;
        assert_problem(s, &b, &c, StatusCode::NOT_FOUND, None);
    }
    let (_, list, _) = api.call("GET", HOOKS, None).await;
    let ids: Vec<i64> = list["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [keep]);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_delivery_log(pool: PgPool) {
    let api = platform(pool.clone(), false).await;
    let all = create(&api, json!({"url": "https://1.1.1.1/"})).await["id"]
        .as_i64()
        .unwrap();
    let in_sync_only = create(
        &api,
        json!({"url": "https://1.0.0.1/", "events": ["zone.in_sync"]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let (s, r) = api
        .post(
            "/api/v1/domains/example.com/records",
            json!({"name": "www", "type": "A", "ttl": 300, "content": "192.0.2.1"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let domain: i64 = sqlx::query_scalar("SELECT id FROM domains")
        .fetch_one(&pool)
        .await
        .unwrap();

    // What the worker does when it publishes, and what the in-sync check will do.
    let mut tx = pool.begin().await.unwrap();
    let zone = apex_zone::name::ZoneName::parse("example.com").unwrap();
    webhooks::enqueue_published(&mut tx, DomainId(domain), &zone, 2026112102, None)
        .await
        .unwrap();
    webhooks::enqueue(
        &mut tx,
        DomainId(domain),
        "zone.in_sync",
        json!({"zone": "example.com", "serial": 2026112102}),
    )
    .await
    .unwrap();
    assert!(
        webhooks::enqueue(&mut tx, DomainId(domain), "zone.gone", json!({}))
            .await
            .is_err()
    );
    tx.commit().await.unwrap();

    let (s, b, _) = api
        .call("GET", &format!("{HOOKS}/{all}/deliveries"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let list = b["deliveries"].as_array().unwrap();
    // Newest first.
    let events: Vec<&str> = list.iter().map(|d| d["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["zone.in_sync", "zone.published"]);
    let published = &list[1];
    assert_eq!(published["state"], "pending");
    assert_eq!(published["attempts"], 0);
    assert_eq!(published["last_status"], Value::Null);
    assert_eq!(published["last_error"], Value::Null);
    assert_eq!(published["delivered_at"], Value::Null);
    assert!(published["next_attempt_at"].is_string());
    assert!(published["created_at"].is_string());
    assert!(published["msg_id"].as_str().unwrap().starts_with("msg_"));
    assert_ne!(published["msg_id"], list[0]["msg_id"]);
    assert_eq!(published["data"]["zone"], "example.com");
    assert_eq!(published["data"]["serial"], 2026112102);
    assert_eq!(published["data"]["previous_serial"], Value::Null);
    let actions: Vec<&str> = published["data"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["domain.create", "record.create"]);
    assert_eq!(
        published["data"]["changes"][1]["id"], r["change"]["id"],
        "{published}"
    );
    assert_eq!(
        published["data"]["changes"][1]["serial"],
        r["change"]["serial"]
    );

    // The webhook subscribed to zone.in_sync alone got only that.
    let (_, b, _) = api
        .call("GET", &format!("{HOOKS}/{in_sync_only}/deliveries"), None)
        .await;
    let events: Vec<&str> = b["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["zone.in_sync"]);

    // A limit; out of range is refused.
    let (_, b, _) = api
        .call("GET", &format!("{HOOKS}/{all}/deliveries?limit=1"), None)
        .await;
    assert_eq!(b["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(b["deliveries"][0]["event"], "zone.in_sync");
    let (s, b, c) = api
        .call("GET", &format!("{HOOKS}/{all}/deliveries?limit=0"), None)
        .await;
    assert_problem(s, &b, &c, StatusCode::UNPROCESSABLE_ENTITY, Some("/limit"));

    // Deleting the webhook takes its log along.
    api.call("DELETE", &format!("{HOOKS}/{all}"), None).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 1);
}
