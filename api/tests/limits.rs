//! Rate limits: 429 with a correct Retry-After and the RateLimit headers, expensive requests,
//! anonymous requests per address, one budget across API processes sharing a Redis, and
//! per-process limits when Redis is unreachable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use apex_api::{AppState, app};
use apex_core::config::Config;
use apex_core::queue::Queue;
use apex_core::{Core, auth, users};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

fn redis_url() -> String {
    std::env::var("APEX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test uses.
fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-limits-{name}-{}-{nanos}:", std::process::id())
}

/// Limits small enough to reach: per credential 60 a minute (one a second) in bursts of
/// `burst`; per address and anonymous, the same unless changed.
fn config(burst: u32) -> Config {
    let mut c = Config::defaults();
    c.rate_limit = true;
    c.rate_limit_credential_per_minute = 60;
    c.rate_limit_credential_burst = burst;
    c.rate_limit_address_per_minute = 0;
    c.rate_limit_anonymous_per_minute = 60;
    c.rate_limit_anonymous_burst = burst;
    c
}

/// A router on `queue`, as a server would run it (requests from 192.0.2.1).
fn router(pool: &PgPool, config: &Config, queue: Queue) -> axum::Router {
    let core = Core {
        pool: pool.clone(),
        queue,
        platform: Arc::new(config.platform().unwrap()),
    };
    app(AppState { core }).layer(axum::extract::connect_info::MockConnectInfo(
        std::net::SocketAddr::from(([192, 0, 2, 1], 40000)),
    ))
}

async fn user_key(pool: &PgPool, email: &str) -> String {
    let user = users::create_user(pool, email, "a long enough password", false)
        .await
        .unwrap();
    auth::keys::create_full(pool, user, "test").await.unwrap().1
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

async fn send(
    router: &axum::Router,
    key: Option<&str>,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> Answer {
    send_with(router, key, method, uri, body, &[]).await
}

async fn send_with(
    router: &axum::Router,
    key: Option<&str>,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(k) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn over_the_limit_is_429_with_retry_after_and_headers(pool: PgPool) {
    let key = user_key(&pool, "alice@example.com").await;
    let router = router(&pool, &config(3), Queue::disabled());
    // Each request leaves a token fewer; the next comes back within a second.
    for left in [2, 1, 0] {
        let a = send(&router, Some(&key), "GET", "/api/v1/domains", None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.header("ratelimit-policy"), "\"credential\";q=3;w=3");
        assert_eq!(
            a.header("ratelimit"),
            format!("\"credential\";r={left};t=1")
        );
    }
    let a = send(&router, Some(&key), "GET", "/api/v1/domains", None).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.header("content-type"), "application/problem+json");
    assert_eq!(a.body["type"], "urn:apex:problem:too-many-requests");
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("this credential"),
        "{}",
        a.body
    );
    // One token a second: the next comes within a second.
    assert_eq!(a.header("retry-after"), "1");
    assert_eq!(a.header("ratelimit-policy"), "\"credential\";q=3;w=3");
    assert_eq!(a.header("ratelimit"), "\"credential\";r=0;t=1");

    // Another key has its own budget; health checks have none.
    let other = user_key(&pool, "bob@example.com").await;
    let a = send(&router, Some(&other), "GET", "/api/v1/domains", None).await;
    assert_eq!(a.status, StatusCode::OK);
    for _ in 0..10 {
        let a = send(&router, None, "GET", "/healthz", None).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.headers.get("ratelimit").is_none());
    }

    // After the wait, the request goes through.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let a = send(&router, Some(&key), "GET", "/api/v1/domains", None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn expensive_requests_cost_more(pool: PgPool) {
    let key = user_key(&pool, "alice@example.com").await;
    // One token every ten seconds, 21 at most; expensive requests take ten.
    let mut c = config(21);
    c.rate_limit_credential_per_minute = 6;
    c.rate_limit_expensive_cost = 10;
    let router = router(&pool, &c, Queue::disabled());
    let ratelimit = |a: &Answer| a.header("ratelimit").to_string();
    let a = send(
        &router,
        Some(&key),
        "POST",
        "/api/v1/domains",
        Some(json!({"name": "example.com"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(ratelimit(&a), "\"credential\";r=11;t=10");
    assert_eq!(a.header("ratelimit-policy"), "\"credential\";q=21;w=210");
    // A PATCH that does not touch DNSSEC takes one token; one that does, ten.
    let a = send(
        &router,
        Some(&key),
        "PATCH",
        "/api/v1/domains/example.com",
        Some(json!({"serial_policy": "counter"})),
    )
    .await;
    assert_eq!(ratelimit(&a), "\"credential\";r=10;t=10", "{}", a.body);
    let a = send(
        &router,
        Some(&key),
        "PATCH",
        "/api/v1/domains/example.com",
        Some(json!({"dnssec": {"enabled": false}})),
    )
    .await;
    assert_eq!(ratelimit(&a), "\"credential\";r=0;t=10", "{}", a.body);
    // Nothing left: ten tokens come in 100 seconds, one in ten.
    let a = send(
        &router,
        Some(&key),
        "POST",
        "/api/v1/domains",
        Some(json!({"name": "example.net"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.header("retry-after"), "100");
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("costs 10 tokens"),
        "{}",
        a.body
    );
    let a = send(&router, Some(&key), "GET", "/api/v1/domains", None).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.header("retry-after"), "10");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn anonymous_requests_are_limited_per_address(pool: PgPool) {
    let direct = router(&pool, &config(2), Queue::disabled());
    let login = json!({"email": "nobody@example.com", "password": "wrong password here"});
    for _ in 0..2 {
        let a = send(
            &direct,
            None,
            "POST",
            "/api/v1/auth/login",
            Some(login.clone()),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
        assert_eq!(a.header("ratelimit-policy"), "\"anonymous\";q=2;w=2");
    }
    let a = send(
        &direct,
        None,
        "POST",
        "/api/v1/auth/login",
        Some(login.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("without a credential")
    );
    assert_eq!(a.header("ratelimit"), "\"anonymous\";r=0;t=1");
    // X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
    let forwarded = [("x-forwarded-for", "198.51.100.7")];
    let a = send_with(
        &direct,
        None,
        "POST",
        "/api/v1/auth/login",
        Some(login.clone()),
        &forwarded,
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // Behind a trusted proxy, each forwarded client has its own budget.
    let mut c = config(2);
    c.trusted_proxies = vec!["192.0.2.1".into()];
    let proxied = router(&pool, &c, Queue::disabled());
    for (i, client) in ["198.51.100.7", "198.51.100.8"].into_iter().enumerate() {
        let forwarded = [("x-forwarded-for", client)];
        // (Addresses of their own, so sign-in throttling per account stays out of it.)
        let login =
            json!({"email": format!("nobody{i}@example.com"), "password": "wrong password here"});
        for expected in [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            let a = send_with(
                &proxied,
                None,
                "POST",
                "/api/v1/auth/login",
                Some(login.clone()),
                &forwarded,
            )
            .await;
            assert_eq!(a.status, expected, "{client}: {}", a.body);
        }
        assert_eq!(
            a_limit_header(&proxied, &forwarded).await,
            "\"anonymous\";r=0;t=1"
        );
    }
}

/// The `RateLimit` header of one more anonymous request from `forwarded`.
async fn a_limit_header(router: &axum::Router, forwarded: &[(&str, &str)]) -> String {
    send_with(router, None, "GET", "/api/v1/domains", None, forwarded)
        .await
        .header("ratelimit")
        .to_string()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn keyed_requests_are_limited_per_address_too(pool: PgPool) {
    let mut c = config(100);
    c.rate_limit_address_per_minute = 60;
    c.rate_limit_address_burst = 3;
    let router = router(&pool, &c, Queue::disabled());
    // Made-up keys: each its own credential bucket, one address.
    for i in 0..3 {
        let a = send(
            &router,
            Some(&format!("apex_{i}")),
            "GET",
            "/api/v1/domains",
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            a.header("ratelimit-policy"),
            "\"credential\";q=100;w=100, \"address\";q=3;w=3"
        );
    }
    let a = send(&router, Some("apex_x"), "GET", "/api/v1/domains", None).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.body["detail"].as_str().unwrap().contains("your address"));
    // Refused by the address, nothing was taken from the credential's bucket.
    assert_eq!(
        a.header("ratelimit"),
        "\"credential\";r=100;t=0, \"address\";r=0;t=1"
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn two_api_processes_share_one_budget_in_redis(pool: PgPool) {
    let key = user_key(&pool, "alice@example.com").await;
    let c = config(4);
    let prefix = unique_prefix("shared");
    // Two routers, each with its own Core and connection, as two API processes.
    let a = router(&pool, &c, Queue::new(&redis_url(), &prefix).unwrap());
    let b = router(&pool, &c, Queue::new(&redis_url(), &prefix).unwrap());
    let mut left = vec![];
    for r in [&a, &b, &a, &b] {
        let ans = send(r, Some(&key), "GET", "/api/v1/domains", None).await;
        assert_eq!(ans.status, StatusCode::OK, "{}", ans.body);
        left.push(ans.header("ratelimit").to_string());
    }
    assert!(left[3].starts_with("\"credential\";r=0;"), "{left:?}");
    // Each has made two requests; together they spent the budget of four.
    let ans = send(&b, Some(&key), "GET", "/api/v1/domains", None).await;
    assert_eq!(ans.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(ans.header("retry-after"), "1");
    let ans = send(&a, Some(&key), "GET", "/api/v1/domains", None).await;
    assert_eq!(ans.status, StatusCode::TOO_MANY_REQUESTS);

    // The bucket is in Redis under the installation's prefix, and expires.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}{{ratelimit}}:credential:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 5_000, "{ttl}");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn without_redis_requests_succeed_and_are_limited_per_process(pool: PgPool) {
    let key = user_key(&pool, "alice@example.com").await;
    let c = config(2);
    // Nothing listens on port 1: every connection is refused.
    let dead = "redis://127.0.0.1:1";
    let a = router(&pool, &c, Queue::new(dead, "dead:").unwrap());
    let b = router(&pool, &c, Queue::new(dead, "dead:").unwrap());
    let started = std::time::Instant::now();
    for r in [&a, &a, &b, &b] {
        let ans = send(r, Some(&key), "GET", "/api/v1/domains", None).await;
        assert_eq!(ans.status, StatusCode::OK, "{}", ans.body);
    }
    // Each process has its own budget now.
    for r in [&a, &b] {
        let ans = send(r, Some(&key), "GET", "/api/v1/domains", None).await;
        assert_eq!(ans.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(ans.header("retry-after"), "1");
        assert!(ans.headers.get("ratelimit-policy").is_some());
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn limits_can_be_turned_off(pool: PgPool) {
    let key = user_key(&pool, "alice@example.com").await;
    let mut c = config(1);
    c.rate_limit = false;
    let router = router(&pool, &c, Queue::disabled());
    for _ in 0..5 {
        let a = send(&router, Some(&key), "GET", "/api/v1/domains", None).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.headers.get("ratelimit").is_none());
    }
}
