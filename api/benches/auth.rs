//! What authentication costs a request, and what a sign-in costs.
//!
//! `GET /api/v1/domains/{name}` through the real router with an API key, next to the same
//! handler body (`domain::load` for read, then the JSON view) on a router that takes no
//! credential at all and acts as the same user: interleaved, in-process (`oneshot`) and over
//! loopback HTTP with keep-alive. Then the password hash at Apex's argon2id parameters next
//! to the argon2 crate's default, and a whole sign-in (`POST /api/v1/auth/login`).
//!
//! Run by `bench/auth` (which makes and drops a database); needs `DATABASE_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use apex_api::{AppState, app};
use apex_core::actor::{Actor, PlatformRoles};
use apex_core::auth::{keys, password};
use apex_core::authz::Action;
use apex_core::config::Config;
use apex_core::domain;
use apex_core::queue::Queue;
use apex_core::{Core, domains, users};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use http_body_util::BodyExt;
use tower::ServiceExt;

const ROUNDS: usize = 5000;

#[derive(Clone)]
struct Bare {
    core: Core,
    actor: Arc<Actor>,
}

/// The handler of `GET /api/v1/domains/{name}`, minus the credential: the same load, the same
/// authorization of the fixed actor, the same view.
async fn bare_show(
    State(s): State<Bare>,
    Path(name): Path<String>,
) -> Result<Json<domain::DomainView>, StatusCode> {
    let d = domain::load(&s.core.pool, &s.actor, &name, Action::Read)
        .await
        .map_err(|_| StatusCode::NOT_FOUND)?;
    Ok(Json(d.view(&s.core)))
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    (at(0.5), at(0.9), at(0.99))
}

async fn oneshot(router: &axum::Router, key: Option<&str>) -> Duration {
    let mut req = Request::get("/api/v1/domains/example.com");
    if let Some(k) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    let start = Instant::now();
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.into_body().collect().await.unwrap();
    start.elapsed()
}

async fn http(client: &reqwest::Client, url: &str, key: Option<&str>) -> Duration {
    let mut req = client.get(url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let start = Instant::now();
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    start.elapsed()
}

fn line(label: &str, (p50, p90, p99): (f64, f64, f64)) {
    println!("{label:<34} median {p50:6.3} ms  p90 {p90:6.3} ms  p99 {p99:6.3} ms");
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL (bench/auth sets it)");
    let pool = apex_core::db::connect(&url).await.unwrap();
    apex_core::db::migrate(&pool).await.unwrap();
    let mut config = Config::defaults();
    config.rate_limit = false;
    config.master_key = Some(secrecy::SecretString::from(
        apex_core::sealing::MasterKey::generate_text(),
    ));
    let core = Core {
        pool: pool.clone(),
        queue: Queue::disabled(),
        platform: Arc::new(config.platform().unwrap()),
    };
    let user = users::create_user(&pool, "bench@example.com", "the bench's password", false)
        .await
        .unwrap();
    let actor = Actor::cli(user, PlatformRoles::default());
    domains::create(&core, &actor, "example.com").await.unwrap();
    let (_, token) = keys::create_full(&pool, user, "bench").await.unwrap();

    let with_auth = app(AppState { core: core.clone() });
    let without = axum::Router::new()
        .route("/api/v1/domains/{name}", get(bare_show))
        .with_state(Bare {
            core: core.clone(),
            actor: Arc::new(actor),
        });

    // Warm both up (connections in the pool, caches).
    for _ in 0..200 {
        oneshot(&with_auth, Some(&token)).await;
        oneshot(&without, None).await;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(oneshot(&with_auth, Some(&token)).await);
        b.push(oneshot(&without, None).await);
    }
    let (sa, sb) = (stats(a), stats(b));
    println!("GET /api/v1/domains/example.com, {ROUNDS} requests each, interleaved");
    println!("in-process (tower oneshot):");
    line("  with an API key", sa);
    line("  same handler, no credential", sb);
    println!(
        "  authentication adds {:.3} ms at the median (target < 1 ms)",
        sa.0 - sb.0
    );

    // The same over loopback HTTP, both routers served by this process.
    let serve = |router: axum::Router| async move {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, router).await.unwrap() });
        format!("http://{addr}/api/v1/domains/example.com")
    };
    let url_a = serve(with_auth.clone()).await;
    let url_b = serve(without.clone()).await;
    let client = reqwest::Client::new();
    for _ in 0..200 {
        http(&client, &url_a, Some(&token)).await;
        http(&client, &url_b, None).await;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(http(&client, &url_a, Some(&token)).await);
        b.push(http(&client, &url_b, None).await);
    }
    let (ha, hb) = (stats(a), stats(b));
    println!("loopback HTTP (keep-alive):");
    line("  with an API key", ha);
    line("  same handler, no credential", hb);
    println!(
        "  authentication adds {:.3} ms at the median (target < 1 ms)",
        ha.0 - hb.0
    );

    // Password hashing: Apex's parameters next to the crate's default.
    println!(
        "argon2id m={} KiB t={} p={} (Apex) vs the argon2 crate's default (m=19456 KiB t=2 p=1), 20 runs each:",
        password::M_COST_KIB,
        password::T_COST,
        password::P_COST
    );
    let stored = password::hash("the bench's password").await.unwrap();
    let default_hash = {
        use argon2::password_hash::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(b"the bench's password")
            .unwrap()
            .to_string()
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        assert!(
            password::verify("the bench's password", &stored)
                .await
                .unwrap()
                .ok
        );
        ours.push(t.elapsed());
        let t = Instant::now();
        {
            use argon2::password_hash::PasswordVerifier;
            let parsed = argon2::password_hash::phc::PasswordHash::new(&default_hash).unwrap();
            assert!(
                argon2::Argon2::default()
                    .verify_password(b"the bench's password", &parsed)
                    .is_ok()
            );
        }
        theirs.push(t.elapsed());
    }
    line("  verify, Apex parameters", stats(ours));
    line("  verify, crate default", stats(theirs));

    // A whole sign-in: throttle check, argon2, session, audit event.
    let router = with_auth.layer(axum::extract::connect_info::MockConnectInfo(
        std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
    ));
    let mut logins = Vec::new();
    for _ in 0..20 {
        let req = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"email": "bench@example.com", "password": "the bench's password"}"#,
            ))
            .unwrap();
        let t = Instant::now();
        let resp = router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        logins.push(t.elapsed());
    }
    line("POST /api/v1/auth/login (whole)", stats(logins));
}
