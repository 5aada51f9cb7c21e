//! The transfer server (hidden primary) with real tools: AXFR without the fleet key is
//! refused; with it `dig -y` transfers the zone, across many TSIG-signed messages.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use apex_net::TsigKey;
use apex_net::client::{ClientError, axfr};
use common::{Env, answer_lines, dig, shared_redis, test_config};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use sqlx::PgPool;

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn axfr_needs_the_fleet_key(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool.clone(), config, key.clone()).await;
    env.create_domain("big.example").await;
    // 3,000 records: a transfer of many messages, each signed and chained.
    sqlx::query(
        "INSERT INTO records (domain_id, name, type, ttl, content)
         SELECT d.id, 'h' || g || '.big.example.', 'A', 300, '10.0.' || (g / 256) || '.' || (g % 256)
           FROM domains d, generate_series(1, 3000) g WHERE d.name = 'big.example'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE domains SET wanted_serial = wanted_serial + 1 WHERE name = 'big.example'")
        .execute(&pool)
        .await
        .unwrap();
    env.wait_for(
        "h3000.big.example.",
        RecordType::A,
        Duration::from_secs(5),
        |m| !m.answers.is_empty(),
    )
    .await;

    let port = env.platform.transfer.port().to_string();
    let server = format!("@{}", env.platform.transfer.ip());
    let zone = Name::from_ascii("big.example.").unwrap();

    // Without a key: refused, by dig and by our own client.
    let out = dig(&[&server, "-p", &port, "big.example", "AXFR"]).await;
    assert!(
        out.contains("Transfer failed") && answer_lines(&out).is_empty(),
        "{out}"
    );
    match axfr(env.platform.transfer, &zone, None, Duration::from_secs(5)).await {
        Err(ClientError::Rcode(ResponseCode::Refused)) => {}
        other => panic!("unsigned AXFR should be refused, got {other:?}"),
    }

    // With a key of the same name but another secret: refused too.
    let wrong = TsigKey::parse(&TsigKey::generate_text("apex-fleet")).unwrap();
    let out = dig(&[
        &server,
        "-p",
        &port,
        "big.example",
        "AXFR",
        "-y",
        &wrong.dig_arg(),
    ])
    .await;
    assert!(
        answer_lines(&out).is_empty() && out.contains("BADSIG"),
        "{out}"
    );

    // With the fleet key: the whole zone, SOA at both ends, every message's TSIG verified by dig.
    let out = dig(&[
        &server,
        "-p",
        &port,
        "big.example",
        "AXFR",
        "-y",
        &key.dig_arg(),
    ])
    .await;
    let lines = answer_lines(&out);
    let records = &lines;
    // SOA + 2 NS + 3,000 A + closing SOA
    assert_eq!(records.len(), 3004, "{out}");
    assert!(records[0].contains("SOA") && records[3003].contains("SOA"));
    let messages = out
        .lines()
        .find(|l| l.starts_with(";; XFR size"))
        .unwrap_or_default();
    eprintln!("dig: {messages}");
    assert!(!out.contains("tsig verify failure"), "{out}");

    // Our own client verifies the chain the same way.
    let got = axfr(
        env.platform.transfer,
        &zone,
        Some(&key),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 3003);

    // SOA queries are answered to anyone; other queries are refused on the transfer port.
    let soa = dig(&[&server, "-p", &port, "big.example", "SOA", "+short"]).await;
    assert!(soa.contains("hostmaster.apex.test."), "{soa}");
    let a = dig(&[&server, "-p", &port, "h1.big.example", "A"]).await;
    assert!(a.contains("status: REFUSED"), "{a}");
}

/// RFC 1995: after a one-record change, IXFR from the old serial is the change, not the zone;
/// from the current serial it is the SOA alone; from a serial never kept it is the whole zone.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn ixfr_sends_the_difference(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool.clone(), config, key.clone()).await;
    env.create_domain("big.example").await;
    sqlx::query(
        "INSERT INTO records (domain_id, name, type, ttl, content)
         SELECT d.id, 'h' || g || '.big.example.', 'A', 300, '10.0.' || (g / 256) || '.' || (g % 256)
           FROM domains d, generate_series(1, 3000) g WHERE d.name = 'big.example'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE domains SET wanted_serial = wanted_serial + 1 WHERE name = 'big.example'")
        .execute(&pool)
        .await
        .unwrap();
    env.wait_for(
        "h3000.big.example.",
        RecordType::A,
        Duration::from_secs(5),
        |m| !m.answers.is_empty(),
    )
    .await;
    let serial_of = |out: &str| -> u32 {
        out.split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap()
    };
    let server = format!("@{}", env.platform.transfer.ip());
    let port = env.platform.transfer.port().to_string();
    let old = serial_of(&dig(&[&server, "-p", &port, "big.example", "SOA", "+short"]).await);

    // One record changes.
    env.add_record("big.example", "new", "A", "192.0.2.99")
        .await;
    env.wait_for(
        "new.big.example.",
        RecordType::A,
        Duration::from_secs(5),
        |m| !m.answers.is_empty(),
    )
    .await;
    let new = serial_of(&dig(&[&server, "-p", &port, "big.example", "SOA", "+short"]).await);
    assert_ne!(old, new);

    let ixfr = |from: u32| {
        let (server, port, key) = (server.clone(), port.clone(), key.dig_arg());
        async move {
            dig(&[
                &server,
                "-p",
                &port,
                "big.example",
                &format!("IXFR={from}"),
                "-y",
                &key,
            ])
            .await
        }
    };
    let out = ixfr(old).await;
    assert!(!out.contains("tsig verify failure"), "{out}");
    let lines = answer_lines(&out);
    // new SOA, old SOA, (nothing removed), new SOA, the added record, new SOA
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[0].contains(&new.to_string()) && lines[1].contains(&old.to_string()),
        "{out}"
    );
    assert!(
        lines[3].contains("new.big.example.") && lines[3].contains("192.0.2.99"),
        "{out}"
    );

    // Current: the SOA alone.
    let lines_now = answer_lines(&ixfr(new).await).len();
    assert_eq!(lines_now, 1);
    // A serial we never had: the whole zone (SOA, 2 NS, 3,001 A, SOA).
    let full = answer_lines(&ixfr(old.wrapping_sub(1000)).await).len();
    assert_eq!(full, 3005);
}

/// A NOTIFY for `zone`, signed with `key` if given, sent from 127.0.0.1 (the primary's own
/// address) to `server`: the reply's rcode.
async fn notify_rcode(
    server: std::net::SocketAddr,
    zone: &str,
    key: Option<&TsigKey>,
) -> ResponseCode {
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Notify);
    m.metadata.authoritative = true;
    m.add_query(Query::query(
        Name::from_ascii(zone).unwrap(),
        RecordType::SOA,
    ));
    if let Some(key) = key {
        let (tsig, _) = key
            .signer()
            .sign_message(&m, apex_net::tsig::now())
            .unwrap();
        m.set_signature(tsig);
    }
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(&m.to_vec().unwrap(), server).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .expect("no reply to NOTIFY")
        .unwrap();
    Message::from_vec(&buf[..len])
        .unwrap()
        .metadata
        .response_code
}

/// Hardening item 5: each fleet nameserver has its own key. A second nameserver, `ns2`,
/// holds only its key: it transfers with it, the worker signs its NOTIFYs with it, and the
/// receipts name it. Spoofed NOTIFY from the primary's own address, unsigned, is refused
/// (TSIG is required by default), and so is one signed with another nameserver's key: a
/// compromised nameserver cannot drive the others' transfers.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn every_nameserver_has_its_own_key(pool: PgPool) {
    let (mut config, fleet_key) = test_config(&shared_redis(), 3600);
    let ns2_text = TsigKey::generate_text("ns2-2026");
    config.tsig_keys = Some(secrecy::SecretString::from(ns2_text.clone()));
    let ns2_key = TsigKey::parse(&ns2_text).unwrap();
    let env = Env::start(pool, config.clone(), fleet_key.clone()).await;

    let catalog = apex_dnsserver::CatalogConfig::new(
        &config.platform().unwrap().catalog,
        vec![env.platform.transfer],
        ns2_key.clone(),
    );
    let ns2 = apex_dnsserver::start(apex_dnsserver::Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        catalog,
    ))
    .await
    .unwrap();
    let ns2_addr = ns2.local_addrs()[0];
    env.platform
        .add_notify_target("ns2.example.net", ns2_addr, Some(ns2_key.clone()));

    env.create_domain("example.com").await;
    let b = env.add_record("example.com", "www", "A", "192.0.2.1").await;
    let path = format!(
        "/api/v1/domains/example.com/changes/{}",
        b["change"]["id"].as_i64().unwrap()
    );
    // Both nameservers serve it: ns2 transferred with its own key after a NOTIFY signed
    // with it.
    let start = std::time::Instant::now();
    let c = loop {
        let (_, c) = env.api(reqwest::Method::GET, &path, None).await;
        if c["state"] == "in_sync" {
            break c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not in sync on both: {c}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut names: Vec<String> = c["nameservers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nameserver"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["embedded", "ns2.example.net"], "{c}");
    assert!(!c.to_string().contains(&ns2_addr.to_string()), "{c}");

    // The transfer server accepts both keys, and no other.
    let zone = Name::from_ascii("example.com.").unwrap();
    for key in [&fleet_key, &ns2_key] {
        axfr(
            env.platform.transfer,
            &zone,
            Some(key),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    }
    let stranger = TsigKey::parse(&TsigKey::generate_text("stranger")).unwrap();
    let out = dig(&[
        &format!("@{}", env.platform.transfer.ip()),
        "-p",
        &env.platform.transfer.port().to_string(),
        "example.com",
        "AXFR",
        "-y",
        &stranger.dig_arg(),
    ])
    .await;
    assert!(
        answer_lines(&out).is_empty() && out.contains("BADKEY"),
        "{out}"
    );

    // At ns2: unsigned from the primary's address, refused; signed with the other
    // nameserver's (the fleet) key, NOTAUTH (BADKEY); signed with its own, accepted.
    assert_eq!(
        notify_rcode(ns2_addr, "example.com.", None).await,
        ResponseCode::Refused
    );
    assert_eq!(
        notify_rcode(ns2_addr, "example.com.", Some(&fleet_key)).await,
        ResponseCode::NotAuth
    );
    assert_eq!(
        notify_rcode(ns2_addr, "example.com.", Some(&ns2_key)).await,
        ResponseCode::NoError
    );
}
