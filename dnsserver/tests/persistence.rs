//! Surviving the loss of the primary (RFC 1035 section 3.3.13): zones keep answering until
//! their SOA expire, and a restarted server answers from its copies on disk at once, before
//! (and without) reaching any primary; a copy's expire keeps running across the restart.

mod common;

use std::time::{Duration, Instant};

use common::peers::TempDir;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[tokio::test(flavor = "multi_thread")]
async fn restart_without_the_primary_answers_from_disk() {
    let dir = TempDir::new("persist");
    let key = key();
    let primary = FakePrimary::start(&key).await;
    let members = [
        ("z1", "one.example."),
        ("z2", "two.example."),
        ("z3", "short.example."),
    ];
    primary.set_zone(catalog(1, &members));
    primary.set_zone(zone("one.example.", 7, vec![("www.one.example.", a(1))]));
    primary.set_zone(zone("two.example.", 8, vec![("www.two.example.", a(2))]));
    // Expires 3 seconds after the last successful refresh.
    primary.set_zone(zone_with(
        "short.example.",
        9,
        (3600, 3600, 3),
        vec![("www.short.example.", a(3))],
    ));
    let server = start_server_with(vec![primary.addr], &key, Some(dir.path())).await;
    let addr = server.local_addrs()[0];
    for (_, z) in members {
        let www = format!("www.{z}");
        let www = www.as_str();
        assert!(
            eventually(Duration::from_secs(5), move || async move {
                ask(addr, www, RecordType::A).await.metadata.response_code == ResponseCode::NoError
            })
            .await,
            "{z} not loaded"
        );
    }
    // The copies are on disk (written as each zone is built; wait for the last of them, so
    // the restart below reads what this server had, not what it was still writing).
    let names = [CATALOG, "one.example.", "two.example.", "short.example."];
    let dir_path = dir.path().to_path_buf();
    assert!(
        eventually(Duration::from_secs(5), move || {
            let dir_path = dir_path.clone();
            async move {
                names.iter().all(|z| {
                    apex_dnsserver::persist::path_of(
                        &dir_path,
                        &apex_zone::dname::DName::parse(z.as_bytes(), None).unwrap(),
                    )
                    .is_file()
                })
            }
        })
        .await,
        "copies not written: {:?}",
        std::fs::read_dir(dir.path())
            .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    server.shutdown();
    let primary_addr = primary.addr;
    drop(primary);

    // Restarted with the primary gone: answers from disk within 2 seconds of starting.
    let started = Instant::now();
    let server = start_server_with(vec![primary_addr], &key, Some(dir.path())).await;
    let addr = server.local_addrs()[0];
    let m = ask(addr, "www.one.example.", RecordType::A).await;
    let elapsed = started.elapsed();
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(addresses(&m), ["192.0.2.1"]);
    assert!(
        elapsed < Duration::from_secs(2),
        "first answer after {elapsed:?}"
    );
    assert_eq!(
        addresses(&ask(addr, "www.two.example.", RecordType::A).await),
        ["192.0.2.2"]
    );
    assert_eq!(server.zone_serial(&n("two.example.")), Some(8));

    // The short zone's expire kept running while the server was down: once 3 seconds have
    // passed since its last refresh, it answers SERVFAIL, and the others still answer.
    assert!(
        eventually(Duration::from_secs(6), move || async move {
            ask(addr, "www.short.example.", RecordType::A)
                .await
                .metadata
                .response_code
                == ResponseCode::ServFail
        })
        .await,
        "the short zone never expired"
    );
    assert_eq!(
        ask(addr, "www.one.example.", RecordType::A)
            .await
            .metadata
            .response_code,
        ResponseCode::NoError
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_copy_is_transferred_afresh() {
    let dir = TempDir::new("persist-damaged");
    let key = key();
    let primary = FakePrimary::start(&key).await;
    primary.set_zone(catalog(1, &[("z1", "one.example.")]));
    primary.set_zone(zone("one.example.", 7, vec![("www.one.example.", a(1))]));
    let server = start_server_with(vec![primary.addr], &key, Some(dir.path())).await;
    let addr = server.local_addrs()[0];
    assert!(
        eventually(Duration::from_secs(5), move || async move {
            !addresses(&ask(addr, "www.one.example.", RecordType::A).await).is_empty()
        })
        .await
    );
    server.shutdown();
    // Damage the copy: flip a byte in the middle.
    let file = apex_dnsserver::persist::path_of(
        dir.path(),
        &apex_zone::dname::DName::parse(b"one.example.", None).unwrap(),
    );
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let before = primary.transfers("one.example.");

    let server = start_server_with(vec![primary.addr], &key, Some(dir.path())).await;
    let addr = server.local_addrs()[0];
    assert!(
        eventually(Duration::from_secs(5), move || async move {
            addresses(&ask(addr, "www.one.example.", RecordType::A).await) == ["192.0.2.1"]
        })
        .await
    );
    assert!(
        primary.transfers("one.example.") > before,
        "not transferred afresh"
    );
}
