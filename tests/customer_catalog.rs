//! Customers' own secondaries (issue 15, items 3 and 4), with the real, unmodified Knot DNS and
//! dig:
//!
//! - A Knot secondary configured only with an account's catalog name, its key and the transfer
//!   server's address serves exactly that account's zones, follows a domain created and one
//!   deleted through the API (NOTIFY signed with the catalog key), and is refused the catalog
//!   of another account and that account's zones.
//! - A domain's TSIG key that may transfer gets AXFR of its own zone and nothing else; one that
//!   may not transfer gets REFUSED.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../dnsserver/tests/common/peers.rs"]
mod peers;

use std::time::Duration;

use apex_core::{auth, users};
use common::{Env, a_records, answer_lines, dig, rcode, shared_redis, test_config};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use peers::{PrimaryKind, TempDir, catalog_secondary};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;

/// A second account, with a full API key.
async fn account(env: &Env, email: &str) -> String {
    let user = users::create_user(&env.pool, email, "a long enough password", true)
        .await
        .unwrap();
    auth::keys::create_full(&env.pool, user, "catalog test")
        .await
        .unwrap()
        .1
}

async fn call(env: &Env, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (s, b) = env.api_as(token, method, path, body).await;
    assert!((200..300).contains(&s), "{path}: {s} {b}");
    b
}

async fn domain_with_www(env: &Env, token: &str, zone: &str, ip: &str) {
    call(
        env,
        token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": zone})),
    )
    .await;
    call(
        env,
        token,
        Method::POST,
        &format!("/api/v1/domains/{zone}/records"),
        Some(json!({"name": "www", "type": "A", "ttl": 300, "content": ip})),
    )
    .await;
}

async fn wait(peer: &peers::Peer, zone: &str, what: &str, check: impl Fn(&Message) -> bool) {
    common::wait_answer(
        peer.addr,
        &format!("www.{zone}."),
        RecordType::A,
        Duration::from_secs(40),
        what,
        || peer.log(),
        check,
    )
    .await;
}

/// `dig -y key AXFR zone` at the transfer server: the status line's rcode and the records.
async fn axfr(env: &Env, key: Option<&str>, zone: &str) -> (String, Vec<String>) {
    let server = format!("@{}", env.platform.transfer.ip());
    let port = env.platform.transfer.port().to_string();
    let mut args = vec![server.as_str(), "-p", port.as_str()];
    if let Some(k) = key {
        args.extend(["-y", k]);
    }
    args.extend(["AXFR", zone, "+tries=1", "+time=5"]);
    let out = dig(&args).await;
    let failed = out.contains("Transfer failed") || out.contains("communications error");
    let lines: Vec<String> = answer_lines(&out).into_iter().map(str::to_string).collect();
    (if failed { "failed".into() } else { "ok".into() }, lines)
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_knot_secondary_follows_one_accounts_catalog(pool: PgPool) {
    let (mut config, fleet_key) = test_config(&shared_redis(), 2);
    // The secondaries here are on loopback.
    config.secondary_allow_private = true;
    let env = Env::start(pool, config, fleet_key).await;
    let alice = account(&env, "alice@example.net").await;
    let bob = account(&env, "bob@example.net").await;
    domain_with_www(&env, &alice, "alice-one.test", "192.0.2.1").await;
    domain_with_www(&env, &alice, "alice-two.test", "192.0.2.2").await;
    domain_with_www(&env, &bob, "bob.test", "192.0.2.9").await;

    // Alice turns her catalog on; the key's secret comes back once.
    let created = call(
        &env,
        &alice,
        Method::POST,
        "/api/v1/account/catalog",
        Some(json!({})),
    )
    .await;
    let catalog = created["zone"].as_str().unwrap().to_string();
    let dig_key = created["dig"].as_str().unwrap().to_string();
    assert_eq!(created["key"]["name"], catalog.as_str());
    let shown = call(&env, &alice, Method::GET, "/api/v1/account/catalog", None).await;
    assert!(shown.get("secret").is_none(), "{shown}");
    assert!(
        !shown
            .to_string()
            .contains(created["secret"].as_str().unwrap())
    );
    // Bob has one too.
    let bobs = call(
        &env,
        &bob,
        Method::POST,
        "/api/v1/account/catalog",
        Some(json!({})),
    )
    .await;
    let bob_catalog = bobs["zone"].as_str().unwrap().to_string();
    assert_ne!(catalog, bob_catalog);

    // Knot, with nothing but the catalog's name, its key and the primary's address.
    let mut parts = dig_key.splitn(3, ':');
    let (alg, name, secret) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let dir = TempDir::new("customer-knot");
    let knot = catalog_secondary(
        PrimaryKind::Knot,
        dir.path(),
        &catalog,
        env.platform.transfer,
        &format!("{name}:{alg}:{secret}"),
    );
    // NOTIFY goes to Knot from now on.
    let patched = call(
        &env,
        &alice,
        Method::PATCH,
        "/api/v1/account/catalog",
        Some(json!({"secondaries": [knot.addr.to_string()]})),
    )
    .await;
    assert_eq!(patched["secondaries"], json!([knot.addr.to_string()]));
    // Members are published domains: both of Alice's once the worker has published them.
    let listed = std::time::Instant::now();
    loop {
        let shown = call(&env, &alice, Method::GET, "/api/v1/account/catalog", None).await;
        if shown["members"] == 2 {
            break;
        }
        assert!(listed.elapsed() < Duration::from_secs(20), "{shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for (zone, ip) in [
        ("alice-one.test", "192.0.2.1"),
        ("alice-two.test", "192.0.2.2"),
    ] {
        wait(&knot, zone, "Alice's zone never reached her Knot", |m| {
            a_records(m) == [ip]
        })
        .await;
    }
    // Bob's zone is not among them.
    let m = common::query(knot.addr, "www.bob.test.", RecordType::A).await;
    assert_eq!(rcode(&m), ResponseCode::Refused, "{m}");

    // A new domain through the API: the catalog moves, Knot is told and follows.
    domain_with_www(&env, &alice, "alice-three.test", "192.0.2.3").await;
    wait(
        &knot,
        "alice-three.test",
        "the new domain never reached Alice's Knot",
        |m| a_records(m) == ["192.0.2.3"],
    )
    .await;
    // A change to a member: NOTIFY signed with the catalog key, then IXFR.
    let (s, records) = env
        .api_as(
            &alice,
            Method::GET,
            "/api/v1/domains/alice-one.test/records?name=www&type=A",
            None,
        )
        .await;
    assert_eq!(s, 200, "{records}");
    let id = records["records"][0]["id"].as_i64().unwrap();
    call(
        &env,
        &alice,
        Method::PATCH,
        &format!("/api/v1/domains/alice-one.test/records/{id}"),
        Some(json!({"content": "192.0.2.11"})),
    )
    .await;
    wait(
        &knot,
        "alice-one.test",
        "the change never reached Alice's Knot",
        |m| a_records(m) == ["192.0.2.11"],
    )
    .await;
    // A deletion through the API: Knot drops the zone.
    call(
        &env,
        &alice,
        Method::DELETE,
        "/api/v1/domains/alice-two.test",
        None,
    )
    .await;
    wait(
        &knot,
        "alice-two.test",
        "the deleted domain is still served by Alice's Knot",
        |m| rcode(m) != ResponseCode::NoError,
    )
    .await;

    // Alice's key reads her catalog and her zones, and nothing of Bob's.
    let (status, lines) = axfr(&env, Some(&dig_key), &catalog).await;
    assert_eq!(status, "ok");
    let members: Vec<&String> = lines.iter().filter(|l| l.contains("PTR")).collect();
    assert_eq!(members.len(), 2, "{lines:?}");
    assert!(members.iter().any(|l| l.ends_with("alice-one.test.")));
    assert!(members.iter().any(|l| l.ends_with("alice-three.test.")));
    let (status, lines) = axfr(&env, Some(&dig_key), "alice-one.test").await;
    assert_eq!(status, "ok", "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("192.0.2.11")), "{lines:?}");
    for zone in [bob_catalog.as_str(), "bob.test"] {
        let (status, lines) = axfr(&env, Some(&dig_key), zone).await;
        assert_eq!(status, "failed", "{zone} was transferred: {lines:?}");
    }
    // Without a key, and with the fleet's key, a customer's catalog is refused too.
    let (status, _) = axfr(&env, None, &catalog).await;
    assert_eq!(status, "failed");
    let (status, _) = axfr(&env, Some(&env.key.dig_arg()), &catalog).await;
    assert_eq!(status, "failed");
    // A Knot following Bob's catalog with Alice's key gets nothing.
    let dir2 = TempDir::new("customer-knot-wrong");
    let wrong = catalog_secondary(
        PrimaryKind::Knot,
        dir2.path(),
        &bob_catalog,
        env.platform.transfer,
        &format!("{name}:{alg}:{secret}"),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let m = common::query(wrong.addr, "www.bob.test.", RecordType::A).await;
    assert_eq!(rcode(&m), ResponseCode::Refused, "{m}");
    assert!(
        wrong.log().contains("REFUSED") || wrong.log().contains("refused"),
        "{}",
        wrong.log()
    );

    // Every transfer with the catalog key is in Alice's audit log, the refused ones too.
    let audit = call(
        &env,
        &alice,
        Method::GET,
        "/api/v1/audit?event=catalog_key.use",
        None,
    )
    .await;
    let events = audit["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["success"] == true), "{audit}");
    assert!(
        events
            .iter()
            .any(|e| e["success"] == false && e["detail"]["zone"] == "bob.test"),
        "{audit}"
    );

    // A catalog key transfers; it does not update (REFUSED, not applied).
    let (ok, printed) = common::nsupdate(
        env.platform.transfer,
        &dig_key,
        "alice-one.test",
        "update add evil.alice-one.test. 60 A 192.0.2.66",
    )
    .await;
    assert!(!ok && printed.contains("REFUSED"), "{printed}");
    let (_, lines) = axfr(&env, Some(&dig_key), "alice-one.test").await;
    assert!(!lines.iter().any(|l| l.contains("192.0.2.66")), "{lines:?}");

    // Rotating the key: the old secret stops working at once.
    let rotated = call(
        &env,
        &alice,
        Method::POST,
        "/api/v1/account/catalog/key",
        None,
    )
    .await;
    assert_ne!(rotated["secret"], created["secret"]);
    let (status, _) = axfr(&env, Some(&dig_key), &catalog).await;
    assert_eq!(status, "failed");
    let (status, _) = axfr(&env, Some(rotated["dig"].as_str().unwrap()), &catalog).await;
    assert_eq!(status, "ok");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_domain_key_transfers_its_own_zone_only(pool: PgPool) {
    let (config, fleet_key) = test_config(&shared_redis(), 2);
    let env = Env::start(pool, config, fleet_key).await;
    for zone in ["mine.test", "theirs.test"] {
        env.create_domain(zone).await;
        env.add_record(zone, "www", "A", "192.0.2.1").await;
    }
    env.wait_for(
        "www.theirs.test.",
        RecordType::A,
        Duration::from_secs(20),
        |m| a_records(m) == ["192.0.2.1"],
    )
    .await;
    let key = |body: Value| {
        let env = &env;
        async move {
            let (s, b) = env
                .api(
                    Method::POST,
                    "/api/v1/domains/mine.test/tsig-keys",
                    Some(body),
                )
                .await;
            assert_eq!(s, 201, "{b}");
            b["nsupdate"].as_str().unwrap().to_string()
        }
    };
    let transfer = key(json!({"name": "secondary", "update": false, "transfer": true})).await;
    let update_only = key(json!({"name": "certbot"})).await;

    let (status, lines) = axfr(&env, Some(&transfer), "mine.test").await;
    assert_eq!(status, "ok", "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("www.mine.test.")),
        "{lines:?}"
    );
    let (status, _) = axfr(&env, Some(&transfer), "theirs.test").await;
    assert_eq!(status, "failed");
    let (status, _) = axfr(&env, Some(&update_only), "mine.test").await;
    assert_eq!(status, "failed");
}
