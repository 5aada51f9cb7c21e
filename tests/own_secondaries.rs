//! A domain's own secondaries outside the fleet (RFC 1996 NOTIFY, RFC 5936 transfers): a
//! customer's Knot on 127.0.0.2, configured with no key, only the worker's transfer address,
//! follows the zone once the domain lists it. Its host joins the apex NS set, it is sent
//! NOTIFY after each publish (its SOA refresh is an hour, so only NOTIFY brings a change
//! within seconds), and it may transfer without TSIG from its listed address while any other
//! address is still refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../dnsserver/tests/common/peers.rs"]
mod peers;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Env, a_records, shared_redis, test_config};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use peers::{TempDir, program};
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

fn ns_hosts(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(ns.0.to_ascii()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// Knot as a plain secondary of `zone` from `primary`, no TSIG, transfers from 127.0.0.2.
fn knot_secondary(
    dir: &std::path::Path,
    port: u16,
    zone: &str,
    primary: SocketAddr,
) -> peers::Peer {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("db")).unwrap();
    let conf = format!(
        "server:\n  listen: 127.0.0.2@{port}\n  rundir: {d}\nlog:\n  - target: stderr\n    any: info\ndatabase:\n  storage: {d}/db\nremote:\n  - id: apex\n    address: {}@{}\n    via: 127.0.0.2\nacl:\n  - id: notify\n    address: 127.0.0.0/8\n    action: notify\nzone:\n  - domain: {zone}\n    storage: {d}\n    master: apex\n    acl: notify\n",
        primary.ip(),
        primary.port()
    );
    let path = dir.join("knot.conf");
    std::fs::write(&path, conf).unwrap();
    let log = dir.join("knot.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(program("knotd"))
        .arg("-c")
        .arg(&path)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    peers::Peer::new(format!("127.0.0.2:{port}").parse().unwrap(), child, log)
}

async fn wait(peer: &peers::Peer, what: &str, limit: Duration, check: impl Fn(&Message) -> bool) {
    let log = || peer.log();
    common::wait_answer(
        peer.addr,
        "www.example.com.",
        RecordType::A,
        limit,
        what,
        log,
        check,
    )
    .await;
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn own_secondary_gets_notify_and_transfers(pool: PgPool) {
    let knot_port = peers::free_port_on("127.0.0.2");
    let (mut config, key) = test_config(&shared_redis(), 3600);
    config.secondary_allow_private = true;
    config.secondary_notify_port = knot_port;
    let env = Env::start(pool, config, key).await;
    env.create_domain("example.com").await;
    let record = env.add_record("example.com", "www", "A", "192.0.2.1").await;

    // Not a host name, or inside the zone without an address: refused, nothing changed.
    let (status, body) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/example.com",
            Some(json!({"secondaries": [{"host": "ns3.example.com", "addresses": ["127.0.0.2"]}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["pointer"], "/secondaries/0/host",
        "{body}"
    );

    // With an address record it is accepted, and that record cannot go while it is listed.
    let glue = env
        .add_record("example.com", "ns3", "A", "192.0.2.53")
        .await;
    let (status, body) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/example.com",
            Some(json!({"secondaries": [{"host": "ns3.example.com"}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let glue_id = glue["record"]["id"].as_i64().unwrap();
    let (status, body) = env
        .api(
            Method::DELETE,
            &format!("/api/v1/domains/example.com/records/{glue_id}"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/name", "{body}");

    let (status, body) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/example.com",
            Some(
                json!({"secondaries": [{"host": "NS3.External.test", "addresses": ["127.0.0.2"]}]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["domain"]["secondaries"],
        json!([{"host": "ns3.external.test.", "addresses": ["127.0.0.2"]}])
    );

    // The apex NS set the fleet serves names the secondary.
    let ns_set = |want: &'static [&'static str]| move |m: &Message| ns_hosts(m) == want;
    env.wait_for(
        "example.com.",
        RecordType::NS,
        Duration::from_secs(5),
        ns_set(&["ns1.apex.test.", "ns2.apex.test.", "ns3.external.test."]),
    )
    .await;

    // An unlisted address still needs the fleet key.
    let refused = apex_net::client::axfr(
        env.platform.transfer,
        &Name::from_ascii("example.com.").unwrap(),
        None,
        Duration::from_secs(5),
    )
    .await;
    assert!(refused.is_err(), "unsigned AXFR from 127.0.0.1 was served");

    // The customer's Knot transfers the zone without a key from 127.0.0.2.
    let dir = TempDir::new("own-secondary");
    let knot = knot_secondary(dir.path(), knot_port, "example.com.", env.platform.transfer);
    wait(
        &knot,
        "the secondary never transferred the zone",
        Duration::from_secs(30),
        |m| a_records(m) == ["192.0.2.1"],
    )
    .await;

    // A change reaches it by NOTIFY (its refresh timer is an hour away).
    let id = record["record"]["id"].as_i64().unwrap();
    let (status, body) = env
        .api(
            Method::PATCH,
            &format!("/api/v1/domains/example.com/records/{id}"),
            Some(json!({"content": "192.0.2.2"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wait(
        &knot,
        "the change never reached the secondary",
        Duration::from_secs(10),
        |m| a_records(m) == ["192.0.2.2"],
    )
    .await;
    assert!(
        knot.log().contains("notify, incoming"),
        "the secondary logged no NOTIFY:\n{}",
        knot.log()
    );

    // Removed from the list: no longer in the NS set, no longer allowed to transfer.
    let (status, body) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/example.com",
            Some(json!({"secondaries": []})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    env.wait_for(
        "example.com.",
        RecordType::NS,
        Duration::from_secs(5),
        ns_set(&["ns1.apex.test.", "ns2.apex.test."]),
    )
    .await;
    let transfer = env.platform.transfer;
    let out = common::dig(&[
        "-b",
        "127.0.0.2",
        "-p",
        &transfer.port().to_string(),
        &format!("@{}", transfer.ip()),
        "example.com.",
        "AXFR",
    ])
    .await;
    assert!(
        out.contains("Transfer failed") && !out.contains("192.0.2.2"),
        "a removed secondary could still transfer:\n{out}"
    );
}
