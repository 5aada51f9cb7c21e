//! The records page of a domain with 10,000 records: server time per page, p50 and p99.
//!
//! Through the dashboard's real router (`oneshot`, a signed-in session cookie, the whole
//! request: session check, the page's queries, rendering): the first page, a page deep in
//! the zone, a search, a type filter and an edit form; next to them, the API's
//! `GET /api/v1/domains/{name}/records` for the same zone (every record as JSON, one key),
//! the call a script would make instead. Target: under 50 ms.
//!
//! Run by `bench/web` (which makes and drops a database); needs `DATABASE_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::auth::keys;
use apex_core::auth::sessions::{self, Client};
use apex_core::config::Config;
use apex_core::queue::Queue;
use apex_core::{Core, domains, users};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

const RECORDS: usize = 10_000;
const ROUNDS: usize = 400;

/// A request to time: its name, the router, the path, the headers.
type Case<'a> = (
    &'a str,
    &'a axum::Router,
    &'a str,
    &'a Vec<(header::HeaderName, String)>,
);

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    (at(0.5), at(0.9), at(0.99))
}

async fn time(
    router: &axum::Router,
    path: &str,
    headers: &[(header::HeaderName, String)],
) -> (Duration, usize) {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let start = Instant::now();
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (start.elapsed(), body.len())
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let pool = apex_core::db::connect(&url).await.unwrap();
    apex_core::db::migrate(&pool).await.unwrap();
    let mut config = Config::defaults();
    config.rate_limit = false;
    config.master_key = Some(secrecy::SecretString::from(
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_string(),
    ));
    let core = Core {
        pool: pool.clone(),
        queue: Queue::disabled(),
        platform: Arc::new(config.platform().unwrap()),
    };
    let user = users::create_user(&pool, "bench@example.org", "a long bench password", false)
        .await
        .unwrap();
    let actor = Actor::cli(user, PlatformRoles::default());
    domains::create(&core, &actor, "big.test").await.unwrap();
    // 10,000 records of a mix of types, written straight to the table (the page reads them).
    sqlx::query(
        "INSERT INTO records (domain_id, name, type, ttl, content, comment)
         SELECT d.id,
                'host' || i || '.big.test.',
                (ARRAY['A', 'AAAA', 'TXT', 'MX'])[1 + i % 4],
                3600,
                CASE i % 4
                  WHEN 0 THEN '192.0.' || (i / 256) % 256 || '.' || i % 256
                  WHEN 1 THEN '2001:db8::' || to_hex(i)
                  WHEN 2 THEN '\"v=spf1 include:_spf.example.net ~all ' || i || '\"'
                  ELSE '10 mx' || i || '.example.net.'
                END,
                CASE WHEN i % 10 = 0 THEN 'record ' || i END
           FROM domains d, generate_series(1, $1) AS i
          WHERE d.name = 'big.test'",
    )
    .bind(i32::try_from(RECORDS).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar("SELECT id FROM records WHERE name = 'host5000.big.test.'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let session = sessions::create(&pool, &core, user, false, None, &Client::default())
        .await
        .unwrap();
    let (_, key) = keys::create_full(&pool, user, "bench").await.unwrap();

    let web = apex_web::router(core.clone());
    let api = apex_api::app(apex_api::AppState { core: core.clone() });
    let cookie = vec![(
        header::COOKIE,
        format!(
            "apex_session={}; apex_csrf={}",
            session.token,
            "0".repeat(64)
        ),
    )];
    let bearer = vec![(header::AUTHORIZATION, format!("Bearer {key}"))];
    let edit = format!("/domains/big.test/records/{id}");
    let cases: Vec<Case<'_>> = vec![
        (
            "records page 1 (100 rows)",
            &web,
            "/domains/big.test",
            &cookie,
        ),
        (
            "records page 50",
            &web,
            "/domains/big.test?page=50",
            &cookie,
        ),
        (
            "search \"host99\"",
            &web,
            "/domains/big.test?q=host99",
            &cookie,
        ),
        (
            "type filter MX",
            &web,
            "/domains/big.test?type=MX&page=10",
            &cookie,
        ),
        ("edit form", &web, &edit, &cookie),
        (
            "API: all 10,000 records (JSON)",
            &api,
            "/api/v1/domains/big.test/records",
            &bearer,
        ),
    ];
    // Warm up, then interleave the cases so that none has the machine to itself.
    for (_, router, path, headers) in &cases {
        for _ in 0..20 {
            time(router, path, headers).await;
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    let mut sizes = vec![0; cases.len()];
    for _ in 0..ROUNDS {
        for (i, (_, router, path, headers)) in cases.iter().enumerate() {
            let (d, size) = time(router, path, headers).await;
            samples[i].push(d);
            sizes[i] = size;
        }
    }
    println!(
        "Server time per request, {RECORDS} records in the zone, {ROUNDS} requests each (interleaved), in-process:"
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>10}",
        "", "p50 ms", "p90 ms", "p99 ms", "bytes"
    );
    for (i, (name, ..)) in cases.iter().enumerate() {
        let (p50, p90, p99) = stats(std::mem::take(&mut samples[i]));
        println!(
            "{name:<34} {p50:>9.2} {p90:>9.2} {p99:>9.2} {:>10}",
            sizes[i]
        );
    }
}
