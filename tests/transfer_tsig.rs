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
