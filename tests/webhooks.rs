//! Webhooks end to end: a record edit is published by the worker, which POSTs `zone.published`
//! to a real HTTP receiver on the loopback; the receiver checks the Standard Webhooks
//! signature on its own (hmac + sha2, not the platform's signer), retries show in the delivery
//! log, and a target that turns private after creation is refused at delivery.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Env, shared_redis, test_config};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgPool;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

/// An HTTP server on 127.0.0.1:0 that records every request and answers with the statuses
/// it was given, then 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<StatusCode>>>,
    /// Answers every request this late.
    delay: Arc<Mutex<Duration>>,
    /// Answers every request with this status once `answers` is spent (200 by default).
    then: Arc<Mutex<Option<StatusCode>>>,
}

impl Receiver {
    async fn start(answers: &[StatusCode]) -> (Self, SocketAddr) {
        let r = Self::default();
        r.answers.lock().unwrap().extend(answers.iter().copied());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(Self::hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, addr)
    }

    async fn hook(
        State(r): State<Self>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, &'static str) {
        r.got.lock().unwrap().push(Received {
            headers,
            body,
            at: Instant::now(),
        });
        let delay = *r.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        let then = r.then.lock().unwrap().unwrap_or(StatusCode::OK);
        let status = r.answers.lock().unwrap().pop_front().unwrap_or(then);
        // A body the platform must not keep.
        (status, "stack trace: password=hunter2")
    }

    /// Waits until `n` requests arrived.
    async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "{} of {n} webhook requests within {limit:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A platform whose webhooks may call the loopback, retrying after a second.
async fn env(pool: PgPool, allow_private: bool) -> Env {
    let (mut config, key) = test_config(&shared_redis(), 3600);
    config.webhook_allow_private = allow_private;
    // The receivers listen on ports picked by the system.
    config.webhook_ports = vec!["*".into()];
    config.webhook_first_retry = 1;
    Env::start(pool, config, key).await
}

/// Creates the domain and waits for its first publish, so later events are the test's own.
async fn published_domain(env: &Env, zone: &str) -> u64 {
    env.create_domain(zone).await;
    let start = Instant::now();
    loop {
        let (_, d) = env
            .api(Method::GET, &format!("/api/v1/domains/{zone}"), None)
            .await;
        if d["state"] == "published" {
            return d["published_serial"].as_u64().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not published: {d}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_webhook(env: &Env, zone: &str, body: Value) -> Value {
    let (s, b) = env
        .api(
            Method::POST,
            &format!("/api/v1/domains/{zone}/webhooks"),
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b
}

/// The newest delivery of a webhook once `done` holds for it.
async fn delivery_when(env: &Env, zone: &str, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (s, b) = env
            .api(
                Method::GET,
                &format!("/api/v1/domains/{zone}/webhooks/{id}/deliveries"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let newest = &b["deliveries"][0];
        if done(newest) {
            return newest.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "delivery log: {b}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// Checks the Standard Webhooks signature as a receiver would, with the secret shown at
/// creation.
fn verify(r: &Received, secret: &str) {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let id = header(r, "webhook-id");
    let timestamp = header(r, "webhook-timestamp");
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!(
        (-5..60).contains(&age),
        "timestamp {timestamp} is {age} s old"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&r.body);
    let expected = B64.encode(mac.finalize().into_bytes());
    let signatures: Vec<&str> = header(r, "webhook-signature").split(' ').collect();
    assert!(
        signatures
            .iter()
            .any(|s| s.strip_prefix("v1,") == Some(expected.as_str())),
        "signature {signatures:?} is not v1,{expected}"
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_publish_is_posted_signed(pool: PgPool) {
    let env = env(pool, true).await;
    let (receiver, addr) = Receiver::start(&[]).await;
    let first_serial = published_domain(&env, "example.com").await;
    let hook = create_webhook(
        &env,
        "example.com",
        json!({"url": format!("http://{addr}/hook"), "events": ["zone.published"]}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();

    let record = env.add_record("example.com", "www", "A", "192.0.2.1").await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let r = &got[0];
    verify(r, secret);
    assert_eq!(header(r, "content-type"), "application/json");
    assert!(header(r, "webhook-id").starts_with("msg_"));

    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["type"], "zone.published");
    chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).unwrap();
    let change = &record["change"];
    assert_eq!(
        body["data"],
        json!({
            "zone": "example.com",
            "serial": change["serial"],
            "previous_serial": first_serial,
            "changes": [{"id": change["id"], "action": "record.create", "serial": change["serial"]}],
        })
    );

    let d = delivery_when(&env, "example.com", hook["id"].as_i64().unwrap(), |d| {
        d["state"] == "succeeded"
    })
    .await;
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status"], 200);
    assert_eq!(d["msg_id"], header(r, "webhook-id"));
    assert!(d["delivered_at"].is_string());
    assert_eq!(d["next_attempt_at"], Value::Null);
    assert_eq!(d["data"], body["data"]);
    // One event, one request.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
}

/// `zone.in_sync` follows `zone.published` once the fleet (here the embedded nameserver)
/// serves the version.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_fleet_in_sync_is_posted(pool: PgPool) {
    let env = env(pool, true).await;
    let (receiver, addr) = Receiver::start(&[]).await;
    published_domain(&env, "example.com").await;
    let hook = create_webhook(
        &env,
        "example.com",
        json!({"url": format!("http://{addr}/hook")}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();
    let record = env.add_record("example.com", "www", "A", "192.0.2.1").await;
    // The first version's own zone.in_sync may come too (its fleet check can end after the
    // webhook was made): look for the events of this change's serial.
    let serial = record["change"]["serial"].clone();
    let mut n = 2;
    loop {
        let got = receiver.wait_for(n, Duration::from_secs(10)).await;
        let bodies: Vec<Value> = got
            .iter()
            .map(|r| {
                verify(r, secret);
                serde_json::from_slice(&r.body).unwrap()
            })
            .collect();
        let of = |t: &str| {
            bodies
                .iter()
                .any(|b| b["type"] == t && b["data"]["serial"] == serial)
        };
        if of("zone.published") && of("zone.in_sync") {
            let in_sync = bodies
                .iter()
                .find(|b| b["type"] == "zone.in_sync" && b["data"]["serial"] == serial)
                .unwrap();
            assert_eq!(
                in_sync["data"],
                json!({"zone": "example.com", "serial": serial})
            );
            break;
        }
        assert!(
            n < 3,
            "no zone.published and zone.in_sync for {serial}: {bodies:?}"
        );
        n += 1;
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_failed_delivery_is_retried(pool: PgPool) {
    let env = env(pool, true).await;
    let (receiver, addr) = Receiver::start(&[StatusCode::INTERNAL_SERVER_ERROR]).await;
    published_domain(&env, "example.com").await;
    // One event kind, so the two requests are one delivery's two attempts.
    let hook = create_webhook(
        &env,
        "example.com",
        json!({"url": format!("http://{addr}/hook"), "events": ["zone.published"]}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();
    env.add_record("example.com", "www", "A", "192.0.2.1").await;

    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    // The same message, signed afresh at each attempt, about a second apart.
    assert_eq!(header(&got[0], "webhook-id"), header(&got[1], "webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    verify(&got[0], secret);
    verify(&got[1], secret);
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");

    let d = delivery_when(&env, "example.com", hook["id"].as_i64().unwrap(), |d| {
        d["state"] == "succeeded"
    })
    .await;
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["last_status"], 200);
    assert_eq!(d["event"], "zone.published");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn targets_are_checked_again_at_delivery(pool: PgPool) {
    let env = env(pool.clone(), false).await;
    let (receiver, addr) = Receiver::start(&[]).await;
    published_domain(&env, "example.com").await;
    // Accepted when created (a public address) …
    let literal = create_webhook(&env, "example.com", json!({"url": "http://1.1.1.1/"})).await;
    let name = create_webhook(&env, "example.com", json!({"url": "http://1.0.0.1/"})).await;
    // … then pointing at the loopback, as a name can after its check (DNS rebinding).
    for (hook, url) in [
        (&literal, format!("http://{addr}/hook")),
        (&name, format!("http://localhost:{}/hook", addr.port())),
    ] {
        sqlx::query("UPDATE webhooks SET url = $1 WHERE id = $2")
            .bind(url)
            .bind(hook["id"].as_i64().unwrap())
            .execute(&pool)
            .await
            .unwrap();
    }
    env.add_record("example.com", "www", "A", "192.0.2.1").await;

    for (hook, why) in [(&literal, "loopback"), (&name, "local host")] {
        let d = delivery_when(&env, "example.com", hook["id"].as_i64().unwrap(), |d| {
            d["attempts"].as_i64() >= Some(1)
        })
        .await;
        assert_eq!(d["state"], "pending", "{d}");
        assert_eq!(d["last_status"], Value::Null);
        let error = d["last_error"].as_str().unwrap();
        assert!(error.contains(why), "{error}");
        assert!(d["next_attempt_at"].is_string());
    }
    assert!(receiver.got.lock().unwrap().is_empty());
}

/// Hardening item 7: a slow target holds up no other webhook (there are no batches that wait
/// for their slowest delivery); a target that has failed for a day is disabled, its domain's
/// admins are told, and only the status and its reason are kept, not the answer's body.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_slow_target_holds_up_nobody_and_a_dead_one_is_disabled(pool: PgPool) {
    let env = env(pool.clone(), true).await;
    let (slow, slow_addr) = Receiver::start(&[]).await;
    *slow.delay.lock().unwrap() = Duration::from_secs(4);
    let (fast, fast_addr) = Receiver::start(&[]).await;
    let (dead, dead_addr) = Receiver::start(&[]).await;
    *dead.then.lock().unwrap() = Some(StatusCode::INTERNAL_SERVER_ERROR);
    published_domain(&env, "slow.example").await;
    published_domain(&env, "fast.example").await;
    let published = json!(["zone.published"]);
    create_webhook(
        &env,
        "slow.example",
        json!({"url": format!("http://{slow_addr}/hook"), "events": published}),
    )
    .await;
    create_webhook(
        &env,
        "fast.example",
        json!({"url": format!("http://{fast_addr}/hook"), "events": published}),
    )
    .await;
    let dead_hook = create_webhook(
        &env,
        "fast.example",
        json!({"url": format!("http://{dead_addr}/hook?token=abc"), "events": published}),
    )
    .await;
    let dead_id = dead_hook["id"].as_i64().unwrap();
    // It has been failing for a day already.
    sqlx::query("UPDATE webhooks SET failing_since = now() - interval '25 hours' WHERE id = $1")
        .bind(dead_id)
        .execute(&pool)
        .await
        .unwrap();

    // The slow target is being called (for four seconds) ...
    env.add_record("slow.example", "a", "A", "192.0.2.1").await;
    slow.wait_for(1, Duration::from_secs(10)).await;
    // ... when the other domain changes: its webhook is called at once.
    let t = Instant::now();
    env.add_record("fast.example", "b", "A", "192.0.2.2").await;
    fast.wait_for(1, Duration::from_secs(10)).await;
    let waited = t.elapsed();
    eprintln!("fast target called {waited:?} after the edit, the slow one still answering");
    assert!(
        waited < Duration::from_secs(2),
        "waited {waited:?} behind the slow target"
    );

    // The dead target failed once more: disabled, with the reason, and the admin told.
    let d = delivery_when(&env, "fast.example", dead_id, |d| {
        d["attempts"].as_i64() >= Some(1)
    })
    .await;
    assert_eq!(d["last_status"], 500, "{d}");
    assert_eq!(d["last_error"], "HTTP 500 Internal Server Error", "{d}");
    let (_, h) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/fast.example/webhooks/{dead_id}"),
            None,
        )
        .await;
    assert!(h["disabled_at"].is_string(), "{h}");
    assert!(
        h["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("failed for a day") && r.contains("HTTP 500")),
        "{h}"
    );
    let (_, subject, body) =
        apex_core::mail::latest_to(&pool, "admin@example.com", "notice.webhook")
            .await
            .unwrap()
            .expect("no notice to the admin");
    assert!(subject.contains("fast.example"), "{subject}");
    assert!(body.contains(&format!("http://{dead_addr}/hook")), "{body}");
    assert!(!body.contains("token=abc"), "{body}");
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT coalesce(last_error, '') FROM webhook_deliveries")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(kept.iter().all(|e| !e.contains("hunter2")), "{kept:?}");

    // Nothing more is sent to it; an admin turns it on again.
    let before = dead.got.lock().unwrap().len();
    env.add_record("fast.example", "c", "A", "192.0.2.3").await;
    fast.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(dead.got.lock().unwrap().len(), before);
    let (s, h) = env
        .api(
            Method::PATCH,
            &format!("/api/v1/domains/fast.example/webhooks/{dead_id}"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["disabled_at"], Value::Null);
    assert_eq!(h["failing_since"], Value::Null);
}
