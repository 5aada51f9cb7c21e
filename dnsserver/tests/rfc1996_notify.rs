//! RFC 1996 NOTIFY: the fast path by which changes reach the nameserver, and who may use it.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use apex_net::client::{ClientError, notify};
use common::*;
use hickory_proto::op::{OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::task::JoinSet;

#[tokio::test]
async fn notify_makes_a_change_visible_within_two_seconds() {
    let (primary, server, key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(zone("example.com.", 2, vec![("www.example.com.", a(2))]));
    // The reply to a signed NOTIFY is signed: `notify` verifies it.
    notify(
        addr,
        &n("example.com."),
        2,
        Some(&key),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let changed = eventually(Duration::from_secs(2), move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.2"]
    })
    .await;
    assert!(changed, "the new data was not served within 2 s of NOTIFY");
    assert_eq!(server.zone_serial(&n("example.com.")), Some(2));
}

/// A primary serving example.com (`www` at 192.0.2.1), signing with `key`, and a nameserver
/// following it whose catalog settings `tweak` changes, once it serves the zone.
async fn serving(
    key: &apex_net::TsigKey,
    tweak: impl FnOnce(&mut apex_dnsserver::CatalogConfig),
) -> (FakePrimary, apex_dnsserver::Running) {
    let primary = FakePrimary::start(key).await;
    primary.set_zone(catalog(1, &[("z1", "example.com.")]));
    primary.set_zone(zone("example.com.", 1, vec![("www.example.com.", a(1))]));
    let mut catalog =
        apex_dnsserver::CatalogConfig::new(&n(CATALOG), vec![primary.addr], key.clone());
    tweak(&mut catalog);
    let server = apex_dnsserver::start(apex_dnsserver::Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        catalog,
    ))
    .await
    .unwrap();
    let addr = server.local_addrs()[0];
    let loaded = eventually(Duration::from_secs(5), move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.1"]
    })
    .await;
    assert!(loaded, "the zone was not transferred");
    (primary, server)
}

/// An unsigned NOTIFY from the primary's own address is refused by default (a spoofed source
/// address is cheap), and causes no refresh.
#[tokio::test]
async fn unsigned_notify_from_a_primary_address_is_refused() {
    let (primary, server, _key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(zone("example.com.", 3, vec![("www.example.com.", a(3))]));
    let soa_before = primary.soa_queries();
    let reply = exchange_udp(addr, &notify_message("Example.COM.", None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert!(!reply.metadata.authoritative);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        primary.soa_queries(),
        soa_before,
        "a refused NOTIFY caused a refresh"
    );
    assert_eq!(server.zone_serial(&n("example.com.")), Some(1));
}

/// With `notify_requires_tsig = false`, an unsigned NOTIFY from a primary's address is
/// accepted (a primary that cannot sign).
#[tokio::test]
async fn unsigned_notify_from_a_primary_address_when_allowed() {
    let key = key();
    let (primary, server) = serving(&key, |c| c.notify_requires_tsig = false).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(zone("example.com.", 3, vec![("www.example.com.", a(3))]));
    let reply = exchange_udp(addr, &notify_message("Example.COM.", None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.metadata.op_code, OpCode::Notify);
    assert!(reply.metadata.authoritative);
    assert!(reply.queries[0].name().eq_case(&n("Example.COM.")));
    let changed = eventually(Duration::from_secs(2), move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.3"]
    })
    .await;
    assert!(changed);
}

/// A key rollover: the server signs with the new key and still accepts NOTIFY signed with
/// the old one (`accept_tsig_keys`) until it is removed; any third key is NOTAUTH.
#[tokio::test]
async fn notify_during_a_key_rollover() {
    let new_key = key();
    let old_key = other_key("apex-fleet-2025");
    let accepted = old_key.clone();
    let (primary, server) = serving(&new_key, |c| c.accept_tsig_keys = vec![accepted]).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(zone("example.com.", 2, vec![("www.example.com.", a(2))]));
    let reply = exchange_udp_from(
        "127.0.0.2:0",
        addr,
        &notify_message("example.com.", Some(&old_key)),
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    let changed = eventually(Duration::from_secs(2), move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.2"]
    })
    .await;
    assert!(changed, "NOTIFY signed with the old key did not refresh");
    let third = other_key("apex-fleet-2024");
    let reply = exchange_udp_from(
        "127.0.0.2:0",
        addr,
        &notify_message("example.com.", Some(&third)),
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NotAuth);
}

#[tokio::test]
async fn notify_from_elsewhere_without_our_key_is_refused() {
    let (primary, server, _key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(zone("example.com.", 2, vec![("www.example.com.", a(2))]));
    let soa_before = primary.soa_queries();

    // Same key name, other secret: BADSIG.
    let forged = other_key("apex-fleet");
    let reply = exchange_udp_from(
        "127.0.0.2:0",
        addr,
        &notify_message("example.com.", Some(&forged)),
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NotAuth);
    // Unknown key name: BADKEY.
    let stranger = other_key("someone-else");
    let reply = exchange_udp_from(
        "127.0.0.2:0",
        addr,
        &notify_message("example.com.", Some(&stranger)),
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NotAuth);
    // No key, not a primary.
    let reply = exchange_udp_from("127.0.0.2:0", addr, &notify_message("example.com.", None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert!(!reply.metadata.authoritative);

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        primary.soa_queries(),
        soa_before,
        "a refused NOTIFY caused a refresh"
    );
    assert_eq!(server.zone_serial(&n("example.com.")), Some(1));
    let m = ask(addr, "www.example.com.", RecordType::A).await;
    assert_eq!(addresses(&m), ["192.0.2.1"]);
}

#[tokio::test]
async fn signed_notify_from_elsewhere_is_accepted() {
    let (primary, server, key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(zone("example.com.", 4, vec![("www.example.com.", a(4))]));
    let reply = exchange_udp_from(
        "127.0.0.2:0",
        addr,
        &notify_message("example.com.", Some(&key)),
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(
        reply.signature.is_some(),
        "the reply to a signed NOTIFY is signed"
    );
    let changed = eventually(Duration::from_secs(2), move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.4"]
    })
    .await;
    assert!(changed);
}

#[tokio::test]
async fn notify_for_a_zone_we_do_not_serve_is_notauth() {
    let (_primary, server, key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    let result = notify(
        addr,
        &n("example.org."),
        1,
        Some(&key),
        Duration::from_secs(2),
    )
    .await;
    assert!(
        matches!(result, Err(ClientError::Rcode(ResponseCode::NotAuth))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_burst_of_notify_is_coalesced() {
    let (primary, server, key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    assert_eq!(primary.transfers("example.com."), 1);
    primary.set_zone(zone("example.com.", 2, vec![("www.example.com.", a(2))]));
    let mut burst = JoinSet::new();
    for _ in 0..20 {
        let key = key.clone();
        burst.spawn(async move {
            notify(
                addr,
                &n("example.com."),
                2,
                Some(&key),
                Duration::from_secs(2),
            )
            .await
        });
    }
    while let Some(result) = burst.join_next().await {
        result.unwrap().unwrap();
    }
    let server = &server;
    let changed = eventually(Duration::from_secs(2), move || async move {
        server.zone_serial(&n("example.com.")) == Some(2)
    })
    .await;
    assert!(changed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One transfer for the change; the burst adds at most SOA checks, never parallel AXFRs.
    assert_eq!(primary.transfers("example.com."), 2);
}
