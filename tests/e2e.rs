//! End to end, as a user sees it: an API write reaches the nameserver, through Postgres, the
//! Redis stream, the worker, NOTIFY, the catalog and AXFR with TSIG, all on real sockets.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Env, a_records, answer_lines, rcode, shared_redis, test_config};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

/// The acceptance limit: an edit is served within 2 seconds of the API call.
const LIMIT: Duration = Duration::from_secs(2);

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_edit_reaches_the_nameserver(pool: PgPool) {
    // A reconciler that never runs during the test: the fast path (Redis, NOTIFY) must do it.
    let (config, key) = test_config(&shared_redis(), 3600);
    let env = Env::start(pool, config, key).await;

    // Before anything: the nameserver knows nothing of the domain.
    assert_eq!(
        rcode(&env.query("www.example.com.", RecordType::A).await),
        ResponseCode::Refused
    );

    let t = Instant::now();
    env.create_domain("example.com").await;
    let record = env.add_record("example.com", "www", "A", "192.0.2.1").await;
    let api_done = t.elapsed();
    let took = env
        .wait_for("www.example.com.", RecordType::A, LIMIT, |m| {
            a_records(m) == ["192.0.2.1"]
        })
        .await;
    eprintln!("create domain + record: API {api_done:?}, served {took:?} after the API call");
    let m = env.query("www.example.com.", RecordType::A).await;
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers[0].ttl, 300);

    // Changing the record changes the answer.
    let id = record["record"]["id"].as_i64().unwrap();
    let (s, b) = env
        .api(
            Method::PATCH,
            &format!("/api/v1/domains/example.com/records/{id}"),
            Some(json!({"content": "192.0.2.2"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let serial = b["change"]["serial"].as_u64().unwrap();
    let took = env
        .wait_for("www.example.com.", RecordType::A, LIMIT, |m| {
            a_records(m) == ["192.0.2.2"]
        })
        .await;
    eprintln!("update: served {took:?} after the API call");
    // The SOA served carries the serial the API returned.
    let soa = env.query("example.com.", RecordType::SOA).await;
    match &soa.answers[0].data {
        hickory_proto::rr::RData::SOA(s) => assert_eq!(u64::from(s.serial), serial),
        other => panic!("not a SOA: {other:?}"),
    }
    // The change is marked published.
    let change_id = b["change"]["id"].as_i64().unwrap();
    let (_, c) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/example.com/changes/{change_id}"),
            None,
        )
        .await;
    assert!(c["state"] == "published" || c["state"] == "in_sync", "{c}");

    // A second record joins the RRset; deleting it leaves the first.
    let second = env.add_record("example.com", "www", "A", "192.0.2.3").await;
    env.wait_for("www.example.com.", RecordType::A, LIMIT, |m| {
        a_records(m) == ["192.0.2.2", "192.0.2.3"]
    })
    .await;
    let id2 = second["record"]["id"].as_i64().unwrap();
    let (s, _) = env
        .api(
            Method::DELETE,
            &format!("/api/v1/domains/example.com/records/{id2}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    env.wait_for("www.example.com.", RecordType::A, LIMIT, |m| {
        a_records(m) == ["192.0.2.2"]
    })
    .await;

    // Deleting the domain removes it from the catalog: the nameserver stops answering.
    let (s, b) = env
        .api(Method::DELETE, "/api/v1/domains/example.com", None)
        .await;
    assert_eq!(s, 200, "{b}");
    let took = env
        .wait_for("www.example.com.", RecordType::A, LIMIT, |m| {
            rcode(m) == ResponseCode::Refused
        })
        .await;
    eprintln!("delete domain: REFUSED {took:?} after the API call");
}

/// Change receipts: a change goes committed → published → in_sync, with each fleet
/// nameserver's serial and time; a nameserver that does not answer holds it at published.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn changes_report_fleet_sync(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 3600);
    let env = Env::start(pool, config, key).await;
    env.create_domain("example.com").await;
    let b = env.add_record("example.com", "www", "A", "192.0.2.1").await;
    let change = |b: &serde_json::Value| {
        format!(
            "/api/v1/domains/example.com/changes/{}",
            b["change"]["id"].as_i64().unwrap()
        )
    };
    let serial = b["change"]["serial"].as_u64().unwrap();
    let path = change(&b);
    let start = Instant::now();
    let c = loop {
        let (s, c) = env.api(Method::GET, &path, None).await;
        assert_eq!(s, 200, "{c}");
        if c["state"] == "in_sync" {
            break c;
        }
        assert!(start.elapsed() < LIMIT, "not in sync within {LIMIT:?}: {c}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    eprintln!("in sync {:?} after the API call", start.elapsed());
    let ns = c["nameservers"].as_array().unwrap();
    assert_eq!(ns.len(), 1, "{c}");
    // Receipts name the nameserver; its address is not for every reader to see.
    assert_eq!(ns[0]["nameserver"], apex::EMBEDDED_NAMESERVER, "{c}");
    assert!(
        !c.to_string().contains(&env.platform.dns.to_string()),
        "{c}"
    );
    assert!(ns[0]["serial"].as_u64().unwrap() >= serial, "{c}");
    assert!(ns[0]["seen_at"].is_string(), "{c}");
    assert!(c["in_sync_at"].is_string() && c["published_at"].is_string());

    // A second fleet member that never answers: the next change is published, served by
    // the first nameserver, and waits for the second.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    env.platform
        .add_notify_target("ns-silent.example.net", silent.local_addr().unwrap(), None);
    let b = env
        .add_record("example.com", "mail", "A", "192.0.2.2")
        .await;
    let path = change(&b);
    env.wait_for("mail.example.com.", RecordType::A, LIMIT, |m| {
        a_records(m) == ["192.0.2.2"]
    })
    .await;
    let start = Instant::now();
    let c = loop {
        let (_, c) = env.api(Method::GET, &path, None).await;
        let seen = c["nameservers"]
            .as_array()
            .is_some_and(|a| a.iter().any(|n| n["seen_at"].is_string()));
        if seen {
            break c;
        }
        assert!(start.elapsed() < LIMIT, "first nameserver not seen: {c}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(c["state"], "published", "{c}");
    assert!(c["in_sync_at"].is_null());
    let waiting: Vec<_> = c["nameservers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["serial"].is_null())
        .collect();
    assert_eq!(waiting.len(), 1, "{c}");
    assert_eq!(waiting[0]["nameserver"], "ns-silent.example.net");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn answers_follow_dns_rules(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 3600);
    let env = Env::start(pool, config, key).await;
    env.create_domain("example.org").await;
    env.add_record("example.org", "www", "A", "192.0.2.10")
        .await;
    env.add_record("example.org", "alias", "CNAME", "www.example.org.")
        .await;
    env.add_record("example.org", "@", "MX", "10 mail.example.org.")
        .await;
    env.add_record("example.org", "@", "TXT", "v=spf1 -all")
        .await;
    // The last write is served, so every earlier one is too.
    env.wait_for("example.org.", RecordType::TXT, LIMIT, |m| {
        !m.answers.is_empty()
    })
    .await;

    // The CNAME and its target in one answer.
    let m = env.query("alias.example.org.", RecordType::A).await;
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
    // NXDOMAIN with the SOA in authority; NODATA likewise.
    let m = env.query("nope.example.org.", RecordType::A).await;
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    let m = env.query("www.example.org.", RecordType::AAAA).await;
    assert_eq!((rcode(&m), m.answers.len()), (ResponseCode::NoError, 0));
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    // The platform's apex NS set.
    let m = env.query("example.org.", RecordType::NS).await;
    assert_eq!(m.answers.len(), 2);
    let m = env.query("example.org.", RecordType::MX).await;
    assert_eq!(m.answers.len(), 1);
}

/// Every type goes from the API to the nameserver byte for byte: what a resolver receives is
/// the wire form of what was written.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn every_type_is_served_exactly(pool: PgPool) {
    use apex_zone::content;
    use apex_zone::rdata::RrType;
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

    let (config, key) = test_config(&shared_redis(), 3600);
    let env = Env::start(pool, config, key).await;
    env.create_domain("types.example").await;
    let cases = [
        (
            "caa",
            "CAA",
            "0 issue \"letsencrypt.org; validationmethods=dns-01\"",
        ),
        ("caa2", "CAA", "128 iodef \"mailto:sec@types.example\""),
        (
            "tlsa",
            "TLSA",
            "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6",
        ),
        ("svcb", "HTTPS", "1 . alpn=h2,h3 port=8443 key667=hello"),
        (
            "sshfp",
            "SSHFP",
            "4 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
        ),
        ("loc", "LOC", "52 22 23 N 4 53 32 E -2m"),
        ("uri", "URI", "10 1 \"https://types.example/\""),
        (
            "naptr",
            "NAPTR",
            "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.types.example.",
        ),
        (
            "ds",
            "DS",
            "12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118000000000000000000000000",
        ),
        ("gen", "TYPE65534", "\\# 4 0a000001"),
        ("txt", "TXT", "\"a\" \"b\""),
        ("cname", "CNAME", "target.example.net."),
    ];
    for (name, rtype, text) in cases {
        let (s, b) = env
            .api(
                Method::POST,
                "/api/v1/domains/types.example/records",
                Some(json!({"name": name, "type": rtype, "ttl": 300, "content": text})),
            )
            .await;
        assert_eq!(s, 201, "{rtype}: {b}");
    }
    env.wait_for("cname.types.example.", RecordType::CNAME, LIMIT, |m| {
        !m.answers.is_empty()
    })
    .await;
    for (name, rtype, text) in cases {
        let t = RrType::parse(rtype.as_bytes()).unwrap();
        let want = content::parse(t, text, None).unwrap();
        let m = env
            .query(&format!("{name}.types.example."), t.to_hickory())
            .await;
        assert_eq!(m.answers.len(), 1, "{rtype}: {m}");
        let mut got = Vec::new();
        let mut enc = BinEncoder::new(&mut got);
        enc.set_canonical_form(true);
        m.answers[0].data.emit(&mut enc).unwrap();
        assert_eq!(got, want, "{rtype} {text} served differently");
    }
}

/// The serial the nameserver serves for `zone`.
async fn served_serial(env: &Env, zone: &str) -> Option<u32> {
    let m = env.query(zone, RecordType::SOA).await;
    m.answers.first().and_then(|r| match &r.data {
        hickory_proto::rr::RData::SOA(s) => Some(s.serial),
        _ => None,
    })
}

async fn wait_serial(env: &Env, zone: &str, serial: u64) {
    let start = Instant::now();
    while served_serial(env, zone).await.map(u64::from) != Some(serial) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "serial {serial} of {zone} not served within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A zone file in canonical form (named-checkzone's dump: absolute names, one record per
/// line), without the SOA, as a sorted list of lines.
async fn canonical_without_soa(zone: &str, text: &str, what: &str) -> Vec<String> {
    let file = std::env::temp_dir().join(format!("apex-revert-{}-{what}", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let out = tokio::process::Command::new("named-checkzone")
        .args(["-q", "-D", "-o", "-", zone])
        .arg(&file)
        .output()
        .await
        .expect("named-checkzone (make test installs bind9-utils)");
    assert!(out.status.success(), "{what}: {out:?}\n{text}");
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(3).is_none_or(|t| t != "SOA"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn revert_serves_the_zone_of_an_earlier_serial(pool: PgPool) {
    let (mut config, key) = test_config(&shared_redis(), 3600);
    config.keep_versions = 40;
    let env = Env::start(pool, config, key).await;
    let zone = "revert.example";
    env.create_domain(zone).await;

    // Twenty changes of every kind, each served before the next.
    let mut serials = Vec::new();
    for i in 0..20u32 {
        let (s, b) = if i % 3 == 0 {
            env.api(
                Method::POST,
                &format!("/api/v1/domains/{zone}/records"),
                Some(json!({"name": format!("h{i}"), "type": "A", "content": format!("192.0.2.{i}")})),
            )
            .await
        } else {
            let body = if i % 3 == 1 {
                json!([{"name": "www", "type": "TXT", "ttl": 300 + i, "records": [format!("\"v{i}\"")]},
                       {"name": "@", "type": "MX", "records": [format!("{i} mx{i}.example.net.")]}])
            } else {
                json!([{"name": format!("h{}", i - 2), "type": "A", "records": []},
                       {"name": format!("s{i}"), "type": "AAAA", "records": ["2001:db8::1", format!("2001:db8::{i}")]}])
            };
            env.api(
                Method::PUT,
                &format!("/api/v1/domains/{zone}/rrsets"),
                Some(body),
            )
            .await
        };
        assert!((200..300).contains(&s), "change {i}: {b}");
        let serial = b["change"]["serial"].as_u64().unwrap();
        wait_serial(&env, &format!("{zone}."), serial).await;
        serials.push(serial);
    }

    // Version 5 as it was served, then back to it.
    let export = env
        .http
        .get(env.url(&format!(
            "/api/v1/domains/{zone}/versions/{}/export",
            serials[4]
        )))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let version5 = export.text().await.unwrap();
    let (s, b) = env
        .api(
            Method::POST,
            &format!("/api/v1/domains/{zone}/revert"),
            Some(json!({"to_serial": serials[4]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let reverted = b["change"]["serial"].as_u64().unwrap();
    wait_serial(&env, &format!("{zone}."), reverted).await;

    // The nameserver serves version 5's records, under the new serial.
    let served = {
        let ns = env.platform.dns;
        let out = tokio::process::Command::new("dig")
            .arg(format!("@{}", ns.ip()))
            .args(["-p", &ns.port().to_string(), zone, "AXFR", "-y"])
            .arg(env.key.dig_arg())
            .args(["+nocmd", "+nostats", "+nocomments"])
            .output()
            .await
            .expect("dig");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines: Vec<&str> = answer_lines(&text);
        lines.pop(); // the closing SOA
        lines.join("\n") + "\n"
    };
    let want = canonical_without_soa(zone, &version5, "version5").await;
    let got = canonical_without_soa(zone, &served, "served").await;
    assert!(want.len() > 5, "{want:?}");
    assert_eq!(got, want);
    assert_eq!(
        served_serial(&env, &format!("{zone}."))
            .await
            .map(u64::from),
        Some(reverted)
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn disabled_records_are_kept_but_not_served(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 3600);
    let env = Env::start(pool, config, key).await;
    env.create_domain("off.example").await;
    env.add_record("off.example", "www", "A", "192.0.2.1").await;
    let second = env.add_record("off.example", "www", "A", "192.0.2.2").await;
    env.wait_for("www.off.example.", RecordType::A, LIMIT, |m| {
        a_records(m) == ["192.0.2.1", "192.0.2.2"]
    })
    .await;
    let id = second["record"]["id"].as_i64().unwrap();
    for (disabled, want) in [
        (true, vec!["192.0.2.1"]),
        (false, vec!["192.0.2.1", "192.0.2.2"]),
    ] {
        let (s, b) = env
            .api(
                Method::PATCH,
                &format!("/api/v1/domains/off.example/records/{id}"),
                Some(json!({"disabled": disabled})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        env.wait_for("www.off.example.", RecordType::A, LIMIT, |m| {
            a_records(m) == want
        })
        .await;
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_alias_serves_its_targets_records(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 3600);
    let env = Env::start(pool, config, key).await;
    env.create_domain("target.example").await;
    env.add_record("target.example", "www", "A", "192.0.2.1")
        .await;
    env.add_record("target.example", "@", "A", "192.0.2.10")
        .await;
    env.create_domain("alias.example").await;

    // An alias holds no records of its own.
    let other = env
        .add_record("alias.example", "old", "A", "192.0.2.99")
        .await;
    let (s, b) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/alias.example",
            Some(json!({"alias_of": "target.example"})),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("records of its own"),
        "{b}"
    );
    let id = other["record"]["id"].as_i64().unwrap();
    let (s, _) = env
        .api(
            Method::DELETE,
            &format!("/api/v1/domains/alias.example/records/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/alias.example",
            Some(json!({"alias_of": "target.example"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["domain"]["alias_of"], "target.example");

    // Served under its own name, with its own SOA.
    for (name, want) in [
        ("www.alias.example.", vec!["192.0.2.1"]),
        ("alias.example.", vec!["192.0.2.10"]),
    ] {
        env.wait_for(name, RecordType::A, LIMIT, |m| a_records(m) == want)
            .await;
    }
    let soa = env.query("alias.example.", RecordType::SOA).await;
    assert_eq!(soa.answers[0].name.to_ascii(), "alias.example.");

    // A change of the target reaches the alias.
    let t = Instant::now();
    env.add_record("target.example", "new", "A", "192.0.2.2")
        .await;
    let took = env
        .wait_for("new.alias.example.", RecordType::A, LIMIT, |m| {
            a_records(m) == ["192.0.2.2"]
        })
        .await;
    eprintln!(
        "a target's edit served by its alias {took:?} after the API call ({:?} in all)",
        t.elapsed()
    );

    // Its records are its target's: writes go there; the target cannot go while aliased.
    let (s, b) = env
        .api(
            Method::POST,
            "/api/v1/domains/alias.example/records",
            Some(json!({"name": "x", "type": "A", "content": "192.0.2.3"})),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("target.example"),
        "{b}"
    );
    let (s, b) = env
        .api(Method::DELETE, "/api/v1/domains/target.example", None)
        .await;
    assert_eq!(s, 409, "{b}");
    // No chains.
    env.create_domain("third.example").await;
    let (s, b) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/third.example",
            Some(json!({"alias_of": "alias.example"})),
        )
        .await;
    assert_eq!(s, 409, "{b}");

    // The export is what is served.
    let export = env
        .http
        .get(env.url("/api/v1/domains/alias.example/export"))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        export.contains("new") && export.contains("192.0.2.2"),
        "{export}"
    );

    // Ending the alias empties it.
    let (s, b) = env
        .api(
            Method::PATCH,
            "/api/v1/domains/alias.example",
            Some(json!({"alias_of": null})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["domain"]["alias_of"].is_null(), "{b}");
    env.wait_for("www.alias.example.", RecordType::A, LIMIT, |m| {
        rcode(m) == ResponseCode::NXDomain
    })
    .await;
}
