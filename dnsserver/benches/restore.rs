//! How fast a restarted nameserver answers from its copies on disk: writes a catalog of
//! ZONES member zones (7 records each) into a data directory, then starts the server with
//! its primary unreachable and times start-up until the last zone answers.
//!
//!   cargo bench -p apex-dnsserver --bench restore [-- ZONES]      (default 10000)
//!
//! Target (issue: persistence): 10,000 zones load in under 2 seconds.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::Instant;

use apex_dnsserver::{CatalogConfig, Config, persist};
use apex_net::TsigKey;
use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;

fn rec(name: &DName, rtype: RrType, rdata: Vec<u8>) -> ZoneRecord {
    ZoneRecord {
        name: name.clone(),
        ttl: 300,
        rtype,
        rdata: rdata.into(),
        comment: None,
        line: 0,
    }
}

fn wire(text: &str) -> Vec<u8> {
    DName::parse(text.as_bytes(), None).unwrap().wire().to_vec()
}

fn soa(serial: u32) -> Vec<u8> {
    let mut r = wire("ns1.example.net.");
    r.extend(wire("hostmaster.example.net."));
    for v in [serial, 3600, 600, 1_209_600, 300] {
        r.extend(v.to_be_bytes());
    }
    r
}

#[tokio::main]
async fn main() {
    let zones: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("apex-restore-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = DName::parse(b"catalog.apex.invalid.", None).unwrap();
    let mut cat = vec![
        rec(&catalog, RrType::SOA, soa(1)),
        rec(&catalog, RrType::NS, wire("invalid.")),
        rec(
            &DName::parse(b"version.catalog.apex.invalid.", None).unwrap(),
            RrType::TXT,
            b"\x012".to_vec(),
        ),
    ];
    let written = Instant::now();
    for i in 0..zones {
        let apex = DName::parse(format!("zone{i}.example.").as_bytes(), None).unwrap();
        let www = DName::parse(format!("www.zone{i}.example.").as_bytes(), None).unwrap();
        let records = vec![
            rec(&apex, RrType::SOA, soa(1)),
            rec(&apex, RrType::NS, wire("ns1.example.net.")),
            rec(&apex, RrType::NS, wire("ns2.example.net.")),
            rec(
                &apex,
                RrType::MX,
                [vec![0, 10], wire("mail.example.net.")].concat(),
            ),
            rec(&apex, RrType::TXT, b"\x0fv=spf1 mx -all".to_vec()),
            rec(&www, RrType::A, vec![192, 0, 2, (i % 250) as u8]),
            rec(
                &www,
                RrType::AAAA,
                [0x20, 0x01, 0x0d, 0xb8]
                    .iter()
                    .copied()
                    .chain([0; 11])
                    .chain([1])
                    .collect(),
            ),
        ];
        persist::save(&dir, &apex, &records).unwrap();
        let member =
            DName::parse(format!("z{i}.zones.catalog.apex.invalid.").as_bytes(), None).unwrap();
        cat.push(rec(&member, RrType::PTR, apex.wire().to_vec()));
    }
    persist::save(&dir, &catalog, &cat).unwrap();
    println!("wrote {zones} zones in {:.2?}", written.elapsed());

    // The primary is a port nothing listens on.
    let key = TsigKey::parse(&TsigKey::generate_text("apex-fleet")).unwrap();
    let catalog_config = CatalogConfig::new(
        &catalog.to_name(),
        vec!["127.0.0.1:9".parse().unwrap()],
        key,
    );
    let mut config = Config::new(vec!["127.0.0.1:0".parse().unwrap()], catalog_config);
    config.data_dir = Some(dir.clone());
    let started = Instant::now();
    let server = apex_dnsserver::start(config).await.unwrap();
    let up = started.elapsed();
    let last = DName::parse(format!("zone{}.example.", zones - 1).as_bytes(), None).unwrap();
    assert_eq!(
        server.zone_serial(&last.to_name()),
        Some(1),
        "the last zone is not served"
    );
    println!(
        "{} zones served from disk {:.0} ms after start (target < 2000 ms)",
        server.zone_count(),
        up.as_secs_f64() * 1000.0
    );
    server.shutdown();
    std::fs::remove_dir_all(&dir).unwrap();
}
