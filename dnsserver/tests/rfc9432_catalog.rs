//! RFC 9432: the nameserver serves exactly the member zones its catalog lists, following
//! additions, removals and changes of unique id, with failover between primaries.

mod common;

use std::time::Duration;

use apex_dnsserver::{CatalogConfig, Config};
use apex_net::client::notify;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[tokio::test]
async fn members_are_served_and_nothing_else() {
    let (_primary, server, _key) = setup(&[("z1", "example.com."), ("z2", "example.net.")]).await;
    let addr = server.local_addrs()[0];
    assert_ne!(addr.port(), 0);

    let m = ask(addr, "www.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(!m.metadata.recursion_available);
    assert_eq!(addresses(&m), ["192.0.2.1"]);
    assert_eq!(server.zone_serial(&n("example.com.")), Some(1));
    assert_eq!(server.zone_count(), 2);

    let m = ask(addr, "www.example.org.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(!m.metadata.authoritative);
    assert!(m.answers.is_empty());

    // The catalog is for the fleet, not for clients.
    let m = ask(addr, CATALOG, RecordType::SOA).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);

    // TCP answers the same.
    let m = exchange_tcp(
        addr,
        &query_message("www.example.net.", RecordType::A, None),
    )
    .await;
    assert!(m.metadata.authoritative);
    assert_eq!(addresses(&m), ["192.0.2.1"]);
}

#[tokio::test]
async fn removed_member_is_refused_after_notify() {
    let (primary, server, key) = setup(&[("z1", "example.com."), ("z2", "example.net.")]).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(catalog(2, &[("z2", "example.net.")]));
    notify(addr, &n(CATALOG), 2, Some(&key), Duration::from_secs(2))
        .await
        .unwrap();
    let gone = eventually(Duration::from_secs(2), move || async move {
        ask(addr, "www.example.com.", RecordType::A)
            .await
            .metadata
            .response_code
            == ResponseCode::Refused
    })
    .await;
    assert!(gone, "example.com still answered after leaving the catalog");
    assert_eq!(server.zone_serial(&n("example.com.")), None);
    let m = ask(addr, "www.example.net.", RecordType::A).await;
    assert_eq!(addresses(&m), ["192.0.2.1"]);
}

#[tokio::test]
async fn added_member_is_served_after_notify() {
    let (primary, server, key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    primary.set_zone(zone("example.org.", 5, vec![("www.example.org.", a(5))]));
    primary.set_zone(catalog(
        2,
        &[("z1", "example.com."), ("z3", "example.org.")],
    ));
    notify(addr, &n(CATALOG), 2, Some(&key), Duration::from_secs(2))
        .await
        .unwrap();
    let added = eventually(Duration::from_secs(2), move || async move {
        addresses(&ask(addr, "www.example.org.", RecordType::A).await) == ["192.0.2.5"]
    })
    .await;
    assert!(added);
    assert_eq!(
        primary.transfers("example.com."),
        1,
        "unchanged members are left alone"
    );
}

#[tokio::test]
async fn changed_unique_id_starts_afresh() {
    let (primary, server, key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    // Same serial, new content: only a fresh start (RFC 9432 section 5.4) picks it up.
    primary.set_zone(zone("example.com.", 1, vec![("www.example.com.", a(9))]));
    primary.set_zone(catalog(2, &[("z1-new", "example.com.")]));
    notify(addr, &n(CATALOG), 2, Some(&key), Duration::from_secs(2))
        .await
        .unwrap();
    let fresh = eventually(Duration::from_secs(2), move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.9"]
    })
    .await;
    assert!(fresh);
    assert_eq!(primary.transfers("example.com."), 2);
}

#[tokio::test]
async fn fails_over_to_the_next_primary() {
    let key = key();
    let primary = FakePrimary::start(&key).await;
    primary.set_zone(catalog(1, &[("z1", "example.com.")]));
    primary.set_zone(zone("example.com.", 1, vec![("www.example.com.", a(1))]));
    // A port nobody listens on, tried first.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let server = start_server(vec![dead, primary.addr], &key).await;
    let addr = server.local_addrs()[0];
    let served = eventually(Duration::from_secs(5), move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.1"]
    })
    .await;
    assert!(served);
}

#[tokio::test]
async fn shutdown_stops_answering() {
    let (_primary, server, _key) = setup(&[("z1", "example.com.")]).await;
    let addr = server.local_addrs()[0];
    server.shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let query = query_message("www.example.com.", RecordType::A, None);
    socket
        .send_to(&query.to_vec().unwrap(), addr)
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let reply = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await;
    assert!(
        !matches!(reply, Ok(Ok(_))),
        "still answering after shutdown"
    );
}

/// RFC 9432 section 5.6: a member's `coo` property hands it to another catalog, which keeps
/// it (and its data: the unique id is the same) when the old catalog drops it. A zone listed
/// by a second catalog without `coo` stays with the first.
#[tokio::test]
async fn coo_moves_a_member_to_another_catalog() {
    use apex_zone::catalog::{Member, render};
    use hickory_proto::rr::rdata::PTR;
    use hickory_proto::rr::{RData, Record};

    const OTHER: &str = "other-catalog.apex.invalid.";
    let key = key();
    let primary = FakePrimary::start(&key).await;
    let member = |id: &str| Member {
        id: id.to_string(),
        zone: n("example.com."),
    };
    primary.set_zone(catalog(1, &[("z1", "example.com.")]));
    primary.set_zone(render(&n(OTHER), 1, &[]));
    primary.set_zone(zone("example.com.", 1, vec![("www.example.com.", a(1))]));
    let first = CatalogConfig::new(&n(CATALOG), vec![primary.addr], key.clone());
    let second = CatalogConfig::new(&n(OTHER), vec![primary.addr], key.clone());
    let mut config = Config::new(vec!["127.0.0.1:0".parse().unwrap()], first);
    config.catalogs.push(second);
    let server = apex_dnsserver::start(config).await.unwrap();
    let addr = server.local_addrs()[0];
    let served = move || async move {
        addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.1"]
    };
    assert!(eventually(Duration::from_secs(5), served).await);
    let notify_both = |serial| {
        let key = key.clone();
        async move {
            // The other catalog is read first: the move happens when the first one says coo.
            for cat in [OTHER, CATALOG] {
                notify(addr, &n(cat), serial, Some(&key), Duration::from_secs(2))
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };

    // The first catalog points the zone at the other, which lists it with the same id.
    let mut first_v2 = catalog(2, &[("z1", "example.com.")]);
    first_v2.push(Record::from_rdata(
        n(&format!("coo.z1.zones.{CATALOG}")),
        0,
        RData::PTR(PTR(n(OTHER))),
    ));
    primary.set_zone(first_v2);
    primary.set_zone(render(&n(OTHER), 2, &[member("z1")]));
    notify_both(2).await;

    // The first catalog drops it: the zone stays, with its data (no new transfer).
    let transfers = primary.transfers("example.com.");
    primary.set_zone(catalog(3, &[]));
    notify_both(3).await;
    assert!(
        served().await,
        "the zone left with the old catalog despite coo"
    );
    assert_eq!(
        primary.transfers("example.com."),
        transfers,
        "the zone was reset"
    );

    // Now the other catalog drops it too: it goes.
    primary.set_zone(render(&n(OTHER), 3, &[]));
    notify_both(4).await;
    assert!(
        eventually(Duration::from_secs(3), move || async move {
            ask(addr, "www.example.com.", RecordType::A)
                .await
                .metadata
                .response_code
                == ResponseCode::Refused
        })
        .await
    );
}
