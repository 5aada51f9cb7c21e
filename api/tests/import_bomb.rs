//! Hardening item 2, alone in its test binary so that the process's memory is its own: a
//! zone file whose `$GENERATE` would make gigabytes (65,536 records of 64,000 bytes each,
//! from 128 KB of upload) is refused quickly, with little memory, and its error does not
//! quote the 128,000-character token back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::setup;
use serde_json::json;
use sqlx::PgPool;

/// A line of /proc/self/status, in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// `$GENERATE 0-65535 h$ TYPE65280 \# <len> <hex>`, the hex split over lines of 1,000
/// characters in parentheses (no line of the file is long).
fn bomb(len: usize) -> String {
    let hex = "ab".repeat(len);
    let lines: Vec<&str> = hex
        .as_bytes()
        .chunks(1000)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "$ORIGIN bomb.example.\n$TTL 300\n$GENERATE 0-65535 h$ TYPE65280 \\# {len} (\n{}\n)\n",
        lines.join("\n")
    )
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_generate_bomb_is_refused_quickly_and_cheaply(pool: PgPool) {
    let api = setup(pool).await;
    let (s, b) = api
        .post("/api/v1/domains", json!({"name": "bomb.example"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // The file: 65,536 records of 64,000 bytes (4 GB) from 130 KB. And one whose
    // produced lines stay short enough to be read (30,000 bytes each, 2 GB): the bytes an
    // import may make stop it.
    for (len, expect) in [(64_000, "too large"), (30_000, "too large")] {
        let file = bomb(len);
        assert!(file.len() < 2 * len + 1000);

        // The peak resident size, measured from here: writing 5 to clear_refs resets it.
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let before = status_kb("VmRSS:");
        let started = Instant::now();
        let (s, b) = api
            .upload(
                "/api/v1/domains/bomb.example/import?dry_run=true",
                "text/dns",
                &file,
            )
            .await;
        let took = started.elapsed();
        let peak = status_kb("VmHWM:");
        eprintln!(
            "{len}-byte records: refused in {took:?}; resident {before} kB before, peak {peak} kB (+{} MB)",
            peak.saturating_sub(before) / 1024
        );
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let text = b.to_string();
        assert!(text.contains(expect), "{text}");
        assert!(
            text.len() < 4_000,
            "the error quotes too much: {} bytes",
            text.len()
        );
        assert!(took < Duration::from_secs(1), "took {took:?}");
        assert!(
            peak.saturating_sub(before) < 100 * 1024,
            "resident size grew by {} MB",
            peak.saturating_sub(before) / 1024
        );

        // Without dry_run: refused the same way, and nothing was written.
        let (s, _) = api
            .upload("/api/v1/domains/bomb.example/import", "text/dns", &file)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, records, _) = api
            .call("GET", "/api/v1/domains/bomb.example/records", None)
            .await;
        assert_eq!(
            records["records"].as_array().map(Vec::len),
            Some(0),
            "{records}"
        );
    }
}
