//! One-record changes to a signed 100k-name zone: committed → new signed version stored, on
//! the incremental path, next to a full publish of the same zone. Run by `bench/incremental`,
//! which makes the database and checks the last version with ldns-verify-zone.
//!
//! Environment: `APEX_BENCH_DATABASE_URL` (a database of its own, migrated here), `ZONE` and
//! `ORIGIN` (the zone file), `ROUNDS` (changes, default 300), `OUT` (where the last version is
//! written as a zone file).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::config::Config;
use apex_core::ids::{DomainId, RecordId};
use apex_core::queue::Queue;
use apex_core::records::{RecordInput, RecordPatch};
use apex_core::settings::SettingsPatch;
use apex_core::zonefiles::ImportMode;
use apex_core::{Core, domains, records, users, versions, zonefiles};
use apex_worker::Context;
use apex_worker::notify::Notifier;
use apex_worker::publish::{Outcome, SNAPSHOT_EVERY, SNAPSHOT_LIMIT, publish_zone};
use secrecy::SecretString;

fn env(name: &str, default: Option<&str>) -> String {
    std::env::var(name)
        .ok()
        .or(default.map(str::to_string))
        .unwrap_or_else(|| panic!("set {name}"))
}

fn stats(label: &str, mut d: Vec<Duration>) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let at = |p: f64| d[((d.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{label:<28} n={:<4} median {:7.2} ms  p90 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
        d.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(*d.last().unwrap())
    );
}

#[tokio::main]
async fn main() {
    let url = env("APEX_BENCH_DATABASE_URL", None);
    let zone_file = env("ZONE", None);
    let origin = env("ORIGIN", Some("bench.test"));
    let rounds: usize = env("ROUNDS", Some("300")).parse().unwrap();
    let out = env("OUT", Some("/tmp/apex-incremental.zone"));

    let pool = apex_core::db::connect(&url).await.unwrap();
    apex_core::db::migrate(&pool).await.unwrap();
    let mut config = Config::defaults();
    config.master_key = Some(SecretString::from(
        apex_core::sealing::MasterKey::generate_text(),
    ));
    let core = Core {
        pool: pool.clone(),
        queue: Queue::disabled(),
        platform: Arc::new(config.platform().unwrap()),
    };
    let user = users::create_user(&pool, "bench@example.com", "a long bench password", true)
        .await
        .unwrap();
    let actor = Actor::cli(
        user,
        PlatformRoles {
            admin: true,
            granted: vec![],
        },
    );
    domains::create(&core, &actor, &origin).await.unwrap();
    let text = std::fs::read(&zone_file).unwrap();
    let t = Instant::now();
    zonefiles::import(&core, &actor, &origin, &text, ImportMode::Replace, false)
        .await
        .unwrap();
    println!("import: {:.2} s", t.elapsed().as_secs_f64());
    let patch: SettingsPatch = serde_json::from_value(serde_json::json!({
        "dnssec": {"enabled": true, "algorithm": "ECDSAP256SHA256", "denial": "nsec3"}
    }))
    .unwrap();
    domains::update(&core, &actor, &origin, &patch)
        .await
        .unwrap();
    let domain = DomainId(
        sqlx::query_scalar::<_, i64>("SELECT id FROM domains WHERE name = $1")
            .bind(&origin)
            .fetch_one(&pool)
            .await
            .unwrap(),
    );
    let ctx = Context::new(core, Notifier::new(Vec::new()), 10);

    let t = Instant::now();
    let first = publish_zone(&ctx, domain).await.unwrap();
    let full = t.elapsed();
    println!(
        "full publish (render, sign ECDSA P-256 NSEC3 on {} CPUs, store): {:.2} s, {first:?}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        full.as_secs_f64()
    );

    // Changes of three kinds: a record at a new name (the NSEC3 chain grows), a changed record
    // of an existing RRset, the new name's record deleted again (the chain shrinks).
    let (mut new_name, mut changed, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    let mut created: Vec<RecordId> = Vec::new();
    let mut incremental = 0;
    let mut timeline: Vec<Duration> = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let core = &ctx.core;
        match i % 3 {
            0 => {
                let input = RecordInput {
                    name: format!("bench-{i}"),
                    rtype: "TXT".into(),
                    ttl: None,
                    content: format!("\"change {i}\""),
                    comment: None,
                    disabled: false,
                };
                let (view, _, _) = records::create(core, &actor, &origin, &input)
                    .await
                    .unwrap();
                created.push(view.id);
            }
            1 => {
                let id = RecordId(
                    sqlx::query_scalar::<_, i64>(
                        "SELECT id FROM records WHERE domain_id = $1 AND name = $2 AND type = 'A'",
                    )
                    .bind(domain.0)
                    .bind(format!("h{i}.{origin}."))
                    .fetch_one(&core.pool)
                    .await
                    .unwrap(),
                );
                let patch = RecordPatch {
                    content: Some(format!("198.51.100.{}", i % 250)),
                    ..RecordPatch::default()
                };
                records::update(core, &actor, &origin, id, &patch)
                    .await
                    .unwrap();
            }
            _ => {
                let id = created.pop().unwrap();
                records::delete(core, &actor, &origin, id).await.unwrap();
            }
        }
        // Committed: now the version.
        let t = Instant::now();
        let outcome = publish_zone(&ctx, domain).await.unwrap();
        let took = t.elapsed();
        assert!(matches!(outcome, Outcome::Published { .. }), "{outcome:?}");
        let was_incremental: bool = sqlx::query_scalar(
            "SELECT data IS NULL FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(domain.0)
        .fetch_one(&ctx.core.pool)
        .await
        .unwrap();
        incremental += usize::from(was_incremental);
        [&mut new_name, &mut changed, &mut deleted][i % 3].push(took);
        timeline.push(took);
    }
    println!("incremental versions: {incremental} of {rounds}");
    let mut slowest: Vec<(Duration, usize)> = timeline.iter().copied().zip(0..).collect();
    slowest.sort_by(|a, b| b.cmp(a));
    let slowest: Vec<String> = slowest
        .iter()
        .take(6)
        .map(|(d, i)| format!("#{i} {:.1} ms", d.as_secs_f64() * 1000.0))
        .collect();
    println!(
        "slowest changes (snapshots wait for {SNAPSHOT_EVERY} incremental versions and an idle zone, or {SNAPSHOT_LIMIT}): {}",
        slowest.join(", ")
    );
    stats("add TXT at a new name", new_name.clone());
    stats("change an A record", changed.clone());
    stats("delete the new name", deleted.clone());
    let all: Vec<Duration> = new_name.into_iter().chain(changed).chain(deleted).collect();
    stats("all one-record changes", all.clone());
    let mut sorted = all;
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    println!(
        "one-record change median {:.2} ms vs full publish {:.0} ms: {:.0}x faster (target < 20 ms)",
        median.as_secs_f64() * 1000.0,
        full.as_secs_f64() * 1000.0,
        full.as_secs_f64() / median.as_secs_f64()
    );

    // The newest version, built from its snapshot and diffs, for ldns-verify-zone.
    let serial: i64 = sqlx::query_scalar("SELECT published_serial FROM domains WHERE id = $1")
        .bind(domain.0)
        .fetch_one(&ctx.core.pool)
        .await
        .unwrap();
    let diffs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM zone_versions WHERE domain_id = $1
            AND id > (SELECT max(id) FROM zone_versions WHERE domain_id = $1 AND data IS NOT NULL)",
    )
    .bind(domain.0)
    .fetch_one(&ctx.core.pool)
    .await
    .unwrap();
    let t = Instant::now();
    let version = versions::load(&ctx.core.pool, domain, u32::try_from(serial).unwrap())
        .await
        .unwrap()
        .unwrap();
    println!(
        "newest version built from its snapshot and {diffs} diffs (what a snapshot or an AXFR of it costs): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut records: Vec<apex_zone::record::ZoneRecord> = apex_zone::wire::decode(&version.data)
        .unwrap()
        .iter()
        .map(|r| apex_zone::record::ZoneRecord::from_record(r).unwrap())
        .collect();
    let count = records.len();
    let soa = records.remove(0);
    let apex = apex_zone::dname::DName::parse(format!("{origin}.").as_bytes(), None).unwrap();
    // Written by apex's own zone-file writer: hickory's display of TXT data does not read
    // back byte for byte.
    let text = apex_zone::zonefile::write(&apex, Some(&soa), &mut records).unwrap();
    std::fs::write(&out, text).unwrap();
    println!("newest version ({count} records) written to {out}");
}
