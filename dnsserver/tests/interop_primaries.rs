//! Interoperability (RFC 9432, RFC 5936, RFC 1995, RFC 1996): apex-dnsserver follows a catalog
//! and its member zones served by Knot DNS and by BIND 9 as primaries, with TSIG: the first
//! transfer, an incremental change arriving by NOTIFY and IXFR, and members added and removed.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use apex_net::TsigKey;
use common::peers::{PrimaryKind, TempDir, free_port, primary, reload};
use common::{addresses, ask, eventually};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

const CATALOG: &str = "catalog.apex.invalid.";

fn catalog(serial: u32, members: &[(&str, &str)]) -> String {
    let mut z = format!(
        "$ORIGIN {CATALOG}\n$TTL 0\n@ SOA invalid. invalid. {serial} 3600 600 2147483646 0\n@ NS invalid.\nversion TXT \"2\"\n"
    );
    for (id, zone) in members {
        z.push_str(&format!("{id}.zones PTR {zone}\n"));
    }
    z
}

fn member(origin: &str, serial: u32, last: u8, extra: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.{last}\n{extra}"
    )
}

async fn follows(kind: PrimaryKind) {
    let dir = TempDir::new(&format!("interop-{kind:?}"));
    let d = dir.path();
    let key_text = TsigKey::generate_text("apex-fleet");
    let key = TsigKey::parse(&key_text).unwrap();
    std::fs::write(
        d.join("catalog.zone"),
        catalog(1, &[("z1", "a.example."), ("z2", "b.example.")]),
    )
    .unwrap();
    std::fs::write(d.join("a.zone"), member("a.example.", 1, 1, "")).unwrap();
    std::fs::write(d.join("b.zone"), member("b.example.", 1, 2, "")).unwrap();
    std::fs::write(d.join("c.zone"), member("c.example.", 1, 3, "")).unwrap();
    let apex_port = free_port();
    let apex_addr = format!("127.0.0.1:{apex_port}").parse().unwrap();
    let peer = primary(
        kind,
        d,
        &[
            (CATALOG, "catalog.zone"),
            ("a.example.", "a.zone"),
            ("b.example.", "b.zone"),
            ("c.example.", "c.zone"),
        ],
        &key_text,
        apex_addr,
    );

    let catalog_config = apex_dnsserver::CatalogConfig::new(
        &hickory_proto::rr::Name::from_ascii(CATALOG).unwrap(),
        vec![peer.addr],
        key.clone(),
    );
    let config = apex_dnsserver::Config::new(vec![apex_addr], catalog_config);
    let server = apex_dnsserver::start(config).await.unwrap();
    let addr = server.local_addrs()[0];
    let answer =
        move |name: &'static str| async move { addresses(&ask(addr, name, RecordType::A).await) };
    assert!(
        eventually(Duration::from_secs(10), move || async move {
            answer("www.a.example.").await == ["192.0.2.1"]
                && answer("www.b.example.").await == ["192.0.2.2"]
        })
        .await,
        "members not transferred from {kind:?}:\n{}",
        peer.log()
    );
    // c.example is served by the primary but not listed: not ours.
    assert_eq!(
        ask(addr, "www.c.example.", RecordType::A)
            .await
            .metadata
            .response_code,
        ResponseCode::Refused
    );

    // A change to a member: NOTIFY, then IXFR.
    let (_, ixfr_before, _, _) = server.transfer_counts();
    std::fs::write(
        d.join("a.zone"),
        member("a.example.", 2, 11, "new TXT \"added\"\n"),
    )
    .unwrap();
    reload(kind, &peer, d);
    assert!(
        eventually(Duration::from_secs(10), move || async move {
            answer("www.a.example.").await == ["192.0.2.11"]
        })
        .await,
        "the change did not arrive from {kind:?}:\n{}",
        peer.log()
    );
    let txt = ask(addr, "new.a.example.", RecordType::TXT).await;
    assert_eq!(txt.answers.len(), 1);
    let (_, ixfr_after, _, _) = server.transfer_counts();
    assert!(
        ixfr_after > ixfr_before,
        "the change did not come by IXFR: {:?}\n{}",
        server.transfer_counts(),
        peer.log()
    );

    // The catalog changes: c.example joins, b.example leaves.
    std::fs::write(
        d.join("catalog.zone"),
        catalog(2, &[("z1", "a.example."), ("z3", "c.example.")]),
    )
    .unwrap();
    reload(kind, &peer, d);
    assert!(
        eventually(Duration::from_secs(10), move || async move {
            answer("www.c.example.").await == ["192.0.2.3"]
                && ask(addr, "www.b.example.", RecordType::A)
                    .await
                    .metadata
                    .response_code
                    == ResponseCode::Refused
        })
        .await,
        "catalog change not followed from {kind:?}:\n{}",
        peer.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn follows_knot() {
    follows(PrimaryKind::Knot).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn follows_bind() {
    follows(PrimaryKind::Bind).await;
}

/// An incremental change is kept on disk as a journal entry, not as a new copy of the zone
/// (the copy stays at the serial of the full transfer), and a restart with the primary gone
/// replays the journal: the changed data is answered at once.
#[tokio::test(flavor = "multi_thread")]
async fn an_ixfr_is_journaled_and_a_restart_replays_it() {
    let dir = TempDir::new("interop-journal");
    let data = TempDir::new("interop-journal-data");
    let d = dir.path();
    let key_text = TsigKey::generate_text("apex-fleet");
    let key = TsigKey::parse(&key_text).unwrap();
    std::fs::write(d.join("catalog.zone"), catalog(1, &[("z1", "a.example.")])).unwrap();
    std::fs::write(d.join("a.zone"), member("a.example.", 1, 1, "")).unwrap();
    let apex_port = free_port();
    let apex_addr = format!("127.0.0.1:{apex_port}").parse().unwrap();
    let peer = primary(
        PrimaryKind::Knot,
        d,
        &[(CATALOG, "catalog.zone"), ("a.example.", "a.zone")],
        &key_text,
        apex_addr,
    );
    let primary_addr = peer.addr;
    let config = |listen: std::net::SocketAddr| {
        let catalog_config = apex_dnsserver::CatalogConfig::new(
            &hickory_proto::rr::Name::from_ascii(CATALOG).unwrap(),
            vec![primary_addr],
            key.clone(),
        );
        let mut config = apex_dnsserver::Config::new(vec![listen], catalog_config);
        config.data_dir = Some(data.path().to_path_buf());
        config
    };
    let server = apex_dnsserver::start(config(apex_addr)).await.unwrap();
    let addr = server.local_addrs()[0];
    let answer =
        move |name: &'static str| async move { addresses(&ask(addr, name, RecordType::A).await) };
    assert!(
        eventually(Duration::from_secs(10), move || async move {
            answer("www.a.example.").await == ["192.0.2.1"]
        })
        .await,
        "member not transferred:\n{}",
        peer.log()
    );
    let zone = apex_zone::dname::DName::parse(b"a.example.", None).unwrap();
    let copy = apex_dnsserver::persist::path_of(data.path(), &zone);
    let journal = apex_dnsserver::persist::journal_of(data.path(), &zone);
    assert!(
        eventually(Duration::from_secs(5), || {
            let copy = copy.clone();
            async move { copy.is_file() }
        })
        .await
    );

    std::fs::write(
        d.join("a.zone"),
        member("a.example.", 2, 11, "new.deep A 192.0.2.99\n"),
    )
    .unwrap();
    reload(PrimaryKind::Knot, &peer, d);
    assert!(
        eventually(Duration::from_secs(10), move || async move {
            answer("www.a.example.").await == ["192.0.2.11"]
        })
        .await,
        "the change did not arrive:\n{}",
        peer.log()
    );
    let (_, ixfr, _, _) = server.transfer_counts();
    assert!(ixfr >= 1, "not by IXFR: {:?}", server.transfer_counts());
    assert!(
        eventually(Duration::from_secs(5), || {
            let journal = journal.clone();
            async move { journal.is_file() }
        })
        .await,
        "no journal written"
    );
    // The copy is still the full transfer's.
    let (records, _) = apex_dnsserver::persist::load(data.path(), &zone)
        .unwrap()
        .unwrap();
    let soa = records.iter().find(|r| r.rtype.0 == 6).unwrap();
    assert_eq!(
        &soa.rdata[soa.rdata.len() - 20..soa.rdata.len() - 16],
        &1u32.to_be_bytes()
    );
    let entries = apex_dnsserver::persist::journal(data.path(), &zone).unwrap();
    assert_eq!(entries.len(), 1);

    // Restarted with the primary gone: the journal is replayed.
    server.shutdown();
    drop(peer);
    let server = apex_dnsserver::start(config("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let addr = server.local_addrs()[0];
    assert_eq!(
        addresses(&ask(addr, "www.a.example.", RecordType::A).await),
        ["192.0.2.11"]
    );
    assert_eq!(
        addresses(&ask(addr, "new.deep.a.example.", RecordType::A).await),
        ["192.0.2.99"]
    );
    // The empty non-terminal the change made exists too.
    let ent = ask(addr, "deep.a.example.", RecordType::A).await;
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
    server.shutdown();
}
