//! Propagation: from an API write to the moment every nameserver answers it.
//!
//! Run by `bench/propagation`, which starts `apex serve`, `apex worker` and the nameservers
//! and passes them here:
//!
//! ```text
//! PROPAGATION_API=http://127.0.0.1:8080 PROPAGATION_TOKEN=… PROPAGATION_NS=127.0.0.1:5301,… \
//!   cargo bench -p apex --bench propagation            (PROPAGATION_WRITES=1000 by default)
//! ```
//!
//! Creates a zone with one A record, waits until every nameserver serves it, then changes the
//! record's address WRITES times, one write after another. Each measurement starts just before
//! the write is sent and ends when the last nameserver answers the new address; each
//! nameserver is asked over UDP every millisecond until it does.
//!
//! Targets (issue: propagation): median < 50 ms, p99 < 200 ms.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{Api, GIVE_UP, a_is, all_served, ms, percentile, servers, var};
use hickory_proto::rr::{Name, RecordType};
use serde_json::json;

const ZONE: &str = "propagation.bench";

/// The address written by write `i` (never written before in this run).
fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

#[tokio::main]
async fn main() {
    let api = Api {
        http: reqwest::Client::new(),
        base: var("PROPAGATION_API"),
        token: var("PROPAGATION_TOKEN"),
    };
    let servers = servers("PROPAGATION_NS");
    let writes: usize = std::env::var("PROPAGATION_WRITES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let name = Name::from_ascii(format!("probe.{ZONE}.")).unwrap();

    // The zone and its record, served everywhere before the clock starts.
    let t = Instant::now();
    api.send(
        reqwest::Method::POST,
        "/domains",
        Some(json!({"name": ZONE})),
    )
    .await;
    let first = address(0);
    let created = api
        .send(
            reqwest::Method::POST,
            &format!("/domains/{ZONE}/records"),
            Some(json!({"name": "probe", "type": "A", "ttl": 300, "content": first.to_string()})),
        )
        .await;
    let id = created["record"]["id"].as_i64().unwrap();
    all_served(&servers, &name, RecordType::A, a_is(first))
        .await
        .expect("the new zone did not reach every nameserver");
    println!(
        "zone {ZONE} created and served by {} nameservers in {:.0} ms",
        servers.len(),
        ms(t.elapsed())
    );

    let path = format!("/domains/{ZONE}/records/{id}");
    let mut total = Vec::with_capacity(writes);
    let mut api_times = Vec::with_capacity(writes);
    let mut missed = 0;
    let run = Instant::now();
    for i in 1..=writes {
        let want = address(i);
        let start = Instant::now();
        api.send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"content": want.to_string()})),
        )
        .await;
        api_times.push(start.elapsed());
        match all_served(&servers, &name, RecordType::A, a_is(want)).await {
            Some(at) => total.push(at - start),
            None => {
                missed += 1;
                total.push(GIVE_UP);
            }
        }
    }
    let run = run.elapsed();
    total.sort();
    api_times.sort();
    let (median, p90, p99, max) = (
        percentile(&total, 50.0),
        percentile(&total, 90.0),
        percentile(&total, 99.0),
        *total.last().unwrap(),
    );
    println!(
        "{writes} sequential writes in {:.1} s; time from sending the write until all {} nameservers answer it:",
        run.as_secs_f64(),
        servers.len()
    );
    println!(
        "propagation  median {:6.1} ms  p90 {:6.1} ms  p99 {:6.1} ms  max {:6.1} ms  min {:6.1} ms",
        ms(median),
        ms(p90),
        ms(p99),
        ms(max),
        ms(total[0])
    );
    println!(
        "  of which the API call  median {:6.1} ms  p99 {:6.1} ms",
        ms(percentile(&api_times, 50.0)),
        ms(percentile(&api_times, 99.0))
    );
    if missed > 0 {
        println!(
            "{missed} writes not served everywhere within {GIVE_UP:?} (counted as {GIVE_UP:?})"
        );
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "target median < 50 ms: {}; target p99 < 200 ms: {}",
        verdict(median < Duration::from_millis(50)),
        verdict(p99 < Duration::from_millis(200))
    );
}
