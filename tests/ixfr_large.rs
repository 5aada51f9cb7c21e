//! IXFR on a zone of 100,000 records (RFC 1995): imported through the API, one record changed,
//! and `dig IXFR=<old serial>` with the fleet key gets the change, not the zone.
//!
//! Worker and API run in-process without a nameserver of their own: nothing else transfers
//! the big zone while the test measures.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use apex_core::{auth, users};
use common::{answer_lines, dig, shared_redis, test_config};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Names in the zone; each has A, AAAA and TXT, every tenth also MX (as genzone.py writes
/// them): 32,259 names make 100,003 records, 100,004 with the one at the apex.
const NAMES: usize = 32_259;

/// Publishing the imported zone, and then the one-record change, must finish within this.
const PUBLISH_LIMIT: Duration = Duration::from_secs(120);

/// The zone file, in the style of the standard benchmark zone (`bench/` generates it).
fn zone_file(origin: &str) -> (String, usize) {
    let mut z = String::with_capacity(NAMES * 110);
    let mut records = 1;
    writeln!(z, "$ORIGIN {origin}.\n$TTL 3600\n@ IN A 192.0.2.10").unwrap();
    for i in 0..NAMES {
        writeln!(
            z,
            "h{i} IN A 10.{}.{}.{}\nh{i} IN AAAA 2001:db8::{:x}:{:x}\nh{i} IN TXT \"v=spf1 ip4:10.0.0.0/8 -all\" \"host {i}\"",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            i >> 16,
            i & 0xffff
        )
        .unwrap();
        records += 3;
        if i % 10 == 0 {
            writeln!(z, "h{i} IN MX 10 mail.{origin}.").unwrap();
            records += 1;
        }
    }
    (z, records)
}

/// The serial of a SOA line as dig prints it (`owner ttl IN SOA mname rname serial …`).
fn soa_serial(line: &str) -> Option<u32> {
    let f: Vec<&str> = line.split_whitespace().collect();
    (f.get(3) == Some(&"SOA"))
        .then(|| f.get(6).and_then(|s| s.parse().ok()))
        .flatten()
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.bearer_auth(&self.token).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until the zone's published serial is `serial`; the time it took.
    async fn published(&self, zone: &str, serial: u64) -> Duration {
        let t = Instant::now();
        loop {
            let (s, d) = self
                .call(self.http.get(self.url(&format!("/api/v1/domains/{zone}"))))
                .await;
            assert_eq!(s, 200, "{d}");
            if d["published_serial"].as_u64() == Some(serial) && d["state"] == "published" {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < PUBLISH_LIMIT,
                "{zone} not published at {serial} within {PUBLISH_LIMIT:?}: {d}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn ixfr_of_a_100k_record_zone_is_the_change(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 1);
    let user = users::create_user(&pool, "admin@example.com", "a long admin password", true)
        .await
        .unwrap();
    let token = auth::keys::create_full(&pool, user, "ixfr")
        .await
        .unwrap()
        .1;
    let worker = apex::start_worker(&config, pool.clone()).await.unwrap();
    let transfer = worker.transfer_addr();
    let (http, _http_task) = apex::start_http(
        apex::core(&config, pool.clone()).unwrap(),
        config.http_listen,
    )
    .await
    .unwrap();
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{http}"),
        token,
    };
    let zone = "big.example";
    let (s, b) = api
        .call(
            api.http
                .post(api.url("/api/v1/domains"))
                .json(&json!({"name": zone})),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    // The import: one change, one new version of 100,000 records.
    let (text, records) = zone_file(zone);
    let t = Instant::now();
    let (s, b) = api
        .call(
            api.http
                .post(api.url(&format!("/api/v1/domains/{zone}/import")))
                .header("content-type", "text/dns")
                .body(text.clone()),
        )
        .await;
    let import_took = t.elapsed();
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["added"]["count"].as_u64(), Some(records as u64), "{b}");
    let old = b["change"]["serial"].as_u64().unwrap();
    let publish_took = api.published(zone, old).await;
    eprintln!(
        "import of {records} records ({} MB): API {import_took:?}, published {publish_took:?} later",
        text.len() / 1_000_000
    );

    // One record changes.
    let id: i64 = sqlx::query_scalar(
        "SELECT r.id FROM records r JOIN domains d ON d.id = r.domain_id
          WHERE d.name = $1 AND r.name = $2 AND r.type = 'A'",
    )
    .bind(zone)
    .bind(format!("h7.{zone}."))
    .fetch_one(&pool)
    .await
    .unwrap();
    let t = Instant::now();
    let (s, b) = api
        .call(
            api.http
                .patch(api.url(&format!("/api/v1/domains/{zone}/records/{id}")))
                .json(&json!({"content": "192.0.2.77"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let new = b["change"]["serial"].as_u64().unwrap();
    let change_took = api.published(zone, new).await;
    eprintln!(
        "one-record change: published {change_took:?} after the API call ({:?} in all)",
        t.elapsed()
    );

    // IXFR from the old serial: the change alone, TSIG verified by dig on every message.
    let server = format!("@{}", transfer.ip());
    let port = transfer.port().to_string();
    let t = Instant::now();
    let out = dig(&[
        &server,
        "-p",
        &port,
        zone,
        &format!("IXFR={old}"),
        "-y",
        &key.dig_arg(),
    ])
    .await;
    let ixfr_took = t.elapsed();
    assert!(!out.contains("tsig verify failure"), "{out}");
    let lines = answer_lines(&out);
    eprintln!("IXFR={old} took {ixfr_took:?}:\n{}", lines.join("\n"));
    let serials: Vec<Option<u32>> = lines.iter().map(|l| soa_serial(l)).collect();
    let (old, new) = (u32::try_from(old).unwrap(), u32::try_from(new).unwrap());
    // new SOA, old SOA, the old h7 A, new SOA, the new h7 A, new SOA (RFC 1995 section 4)
    assert_eq!(lines.len(), 6, "not the difference:\n{out}");
    assert_eq!(
        serials,
        [Some(new), Some(old), None, Some(new), None, Some(new)],
        "{out}"
    );
    let h7 = format!("h7.{zone}.");
    assert!(
        lines[2].starts_with(&h7) && lines[2].ends_with("\t10.0.0.7"),
        "{out}"
    );
    assert!(
        lines[4].starts_with(&h7) && lines[4].ends_with("\t192.0.2.77"),
        "{out}"
    );

    // For scale: the same question answered with the whole zone (AXFR), counted, not kept.
    let t = Instant::now();
    let full = dig(&[&server, "-p", &port, zone, "AXFR", "-y", &key.dig_arg()]).await;
    let full_records = answer_lines(&full).len();
    eprintln!("AXFR: {full_records} records in {:?}", t.elapsed());
    // SOA, the 2 platform NS, every record, SOA
    assert_eq!(full_records, records + 4);
    drop(worker);
}
