//! Interoperability of the hidden primary (RFC 9432, RFC 5936, RFC 1996): Knot DNS and BIND 9,
//! configured only with the catalog zone's name, the worker's transfer address and the fleet
//! key, follow Apex: a domain created through the API is served by both, a change reaches
//! them by NOTIFY, and a deleted domain leaves them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../dnsserver/tests/common/peers.rs"]
mod peers;

use std::time::Duration;

use common::{Env, a_records, rcode, shared_redis, test_config};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use peers::{PrimaryKind, TempDir, catalog_secondary};
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

async fn wait(peer: &peers::Peer, what: &str, check: impl Fn(&Message) -> bool) {
    common::wait_answer(
        peer.addr,
        "www.example.com.",
        RecordType::A,
        Duration::from_secs(30),
        what,
        || peer.log(),
        check,
    )
    .await;
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn knot_and_bind_follow_the_catalog(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 3600);
    let catalog = config.platform().unwrap().catalog.to_ascii();
    let env = Env::start(pool, config, key.clone()).await;
    // name:algorithm:secret, from dig's hmac-sha256:name:secret form.
    let dig = key.dig_arg();
    let mut parts = dig.splitn(3, ':');
    let (alg, name, secret) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let key_text = format!("{name}:{alg}:{secret}");

    env.create_domain("example.com").await;
    let record = env.add_record("example.com", "www", "A", "192.0.2.1").await;

    let dirs = [
        TempDir::new("knot-secondary"),
        TempDir::new("bind-secondary"),
    ];
    let secondaries: Vec<peers::Peer> = [PrimaryKind::Knot, PrimaryKind::Bind]
        .into_iter()
        .zip(&dirs)
        .map(|(kind, dir)| {
            catalog_secondary(kind, dir.path(), &catalog, env.platform.transfer, &key_text)
        })
        .collect();
    for s in &secondaries {
        env.platform
            .add_notify_target(&format!("secondary-{}", s.addr), s.addr, None);
    }
    for s in &secondaries {
        wait(s, "the domain never reached the secondary", |m| {
            a_records(m) == ["192.0.2.1"]
        })
        .await;
    }

    // A change: NOTIFY from the worker, then a transfer.
    let id = record["record"]["id"].as_i64().unwrap();
    let (status, body) = env
        .api(
            Method::PATCH,
            &format!("/api/v1/domains/example.com/records/{id}"),
            Some(json!({"content": "192.0.2.2"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for s in &secondaries {
        wait(s, "the change never reached the secondary", |m| {
            a_records(m) == ["192.0.2.2"]
        })
        .await;
    }

    // Deleted: the catalog drops it, and so do the secondaries.
    let (status, body) = env
        .api(Method::DELETE, "/api/v1/domains/example.com", None)
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    for s in &secondaries {
        wait(s, "the deleted domain is still served", |m| {
            rcode(m) != ResponseCode::NoError
        })
        .await;
    }
}
