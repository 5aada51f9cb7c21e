//! Large zones: one-record edits to the signed 100k-name zone, each timed from sending the
//! API request to the new answer on three apex-dnsserver processes, next to Knot and NSD as
//! secondaries of the same transfer server, timed the same way in the same run.
//!
//! Run by `bench/large-zone`, which starts the platform (bench/platform.sh), Knot and NSD, and
//! passes them here:
//!
//! ```text
//! LZ_API=http://… LZ_TOKEN=… LZ_APEX=127.0.0.1:5301,… LZ_KNOT=127.0.0.1:… LZ_NSD=127.0.0.1:… \
//!   LZ_ZONEFILE=/tmp/apex-bench/z100k/zone.db LZ_PIDS=… cargo bench -p apex --bench large_zone
//! ```
//!
//! `LZ_EDITS` (300), `LZ_SIGNED` (1: DNSSEC with NSEC3 before the import).
//!
//! Targets (issue 16): apex p50 under 20 ms and p99 under 60 ms, no slower than Knot or NSD;
//! apex-dnsserver's resident memory during the edits within 1.5 times its resting size.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    Api, GIVE_UP, a_is, a_records, all_served, ms, rss_mib, served_each, servers, summary, var,
};
use hickory_proto::rr::{Name, RecordType};
use serde_json::json;

const ZONE: &str = "bench.test";

/// CPU time so far, in clock ticks, of each process tree: `(label, root pid)` from `LZ_CPU`
/// (`serve=1,worker=2,…`), and `postgres` (every process of that name). Each process counts
/// its own time and that of its children already reaped.
fn cpu_ticks(roots: &[(String, u32)]) -> Vec<(String, u64)> {
    // pid -> (parent, command, own and reaped children's ticks)
    let mut procs = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        // After the command: state, ppid, … utime (14th field), stime, cutime, cstime.
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        procs.insert(pid, (n(1) as u32, comm, n(11) + n(12) + n(13) + n(14)));
    }
    let under = |pid: u32, root: u32| {
        let mut p = pid;
        for _ in 0..64 {
            if p == root {
                return true;
            }
            match procs.get(&p) {
                Some((parent, _, _)) if *parent != 0 => p = *parent,
                _ => return false,
            }
        }
        false
    };
    let mut out: Vec<(String, u64)> = roots
        .iter()
        .map(|(label, root)| {
            let t = procs
                .iter()
                .filter(|(pid, _)| under(**pid, *root))
                .map(|(_, (_, _, t))| t)
                .sum();
            (label.clone(), t)
        })
        .collect();
    let postgres = procs
        .values()
        .filter(|(_, comm, _)| comm == "postgres")
        .map(|(_, _, t)| t)
        .sum();
    out.push(("postgres".into(), postgres));
    out
}

/// Ticks the machine's CPUs spent busy and in all, from `/proc/stat`.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = f.iter().take(8).sum();
    // idle and iowait
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 250, (i >> 8) as u8, i as u8)
}

#[tokio::main]
async fn main() {
    let api = Api {
        http: reqwest::Client::new(),
        base: var("LZ_API"),
        token: var("LZ_TOKEN"),
    };
    let apex = servers("LZ_APEX");
    let knot = servers("LZ_KNOT");
    let nsd = servers("LZ_NSD");
    let pids: Vec<u32> = var("LZ_PIDS")
        .split(',')
        .map(|p| p.trim().parse().unwrap())
        .collect();
    let edits: usize = std::env::var("LZ_EDITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let signed = std::env::var("LZ_SIGNED").map_or(true, |v| v != "0");
    let zonefile = std::fs::read(var("LZ_ZONEFILE")).unwrap();
    let cpu_roots: Vec<(String, u32)> = std::env::var("LZ_CPU")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect();
    let tick_hz = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);

    api.send(
        reqwest::Method::POST,
        "/domains",
        Some(json!({"name": ZONE})),
    )
    .await;
    if signed {
        api.send(
            reqwest::Method::PATCH,
            &format!("/domains/{ZONE}"),
            Some(json!({"dnssec": {"enabled": true, "denial": "nsec3"}})),
        )
        .await;
    }
    // The import, timed to the first (signed) answer on a nameserver, with the CPU time each
    // process spent meanwhile: on a machine of few cores, the sum bounds how fast it can be.
    let cpu_before = cpu_ticks(&cpu_roots);
    let machine_before = machine_ticks();
    let started = Instant::now();
    let resp = api
        .http
        .post(format!(
            "{}/api/v1/domains/{ZONE}/import?mode=replace",
            api.base
        ))
        .bearer_auth(&api.token)
        .header("content-type", "text/dns")
        .body(zonefile)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "import: {}", resp.status());
    let imported = started.elapsed();
    let apex_name = Name::from_ascii(format!("{ZONE}.")).unwrap();
    // The first answer at the apex: with DNSSEC on, only signed versions are published, so
    // the first answer is from the signed zone (the queries carry no DO bit to show RRSIGs).
    let mut first = None;
    while first.is_none() && started.elapsed() < Duration::from_secs(600) {
        first = all_served(
            &apex[..1],
            &apex_name,
            RecordType::A,
            Arc::new(|m| !a_records(m).is_empty()),
        )
        .await;
    }
    match first {
        Some(at) => println!(
            "import of {ZONE} ({}): API answer {:.1} s, first {}answer on a nameserver {:.1} s",
            if signed {
                "DNSSEC on, NSEC3"
            } else {
                "unsigned"
            },
            imported.as_secs_f64(),
            if signed { "signed " } else { "" },
            (at - started).as_secs_f64()
        ),
        None => println!("import: no answer on the nameserver within 600 s"),
    }
    let (busy, total) = machine_ticks();
    let cpu: Vec<String> = cpu_ticks(&cpu_roots)
        .into_iter()
        .zip(&cpu_before)
        .map(|((label, t), (_, t0))| {
            format!("{label} {:.1}", t.saturating_sub(*t0) as f64 / tick_hz)
        })
        .collect();
    println!(
        "  CPU seconds meanwhile: {}; the machine's {} CPUs busy {:.0}% of the time",
        cpu.join(", "),
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        100.0 * busy.saturating_sub(machine_before.0) as f64
            / total.saturating_sub(machine_before.1).max(1) as f64
    );

    // The probe record, served everywhere before the clock starts.
    let name = Name::from_ascii(format!("probe.{ZONE}.")).unwrap();
    let created = api
        .send(
            reqwest::Method::POST,
            &format!("/domains/{ZONE}/records"),
            Some(json!({"name": "probe", "type": "A", "ttl": 300, "content": address(0).to_string()})),
        )
        .await;
    let id = created["record"]["id"].as_i64().unwrap();
    let everyone: Vec<_> = apex.iter().chain(&knot).chain(&nsd).copied().collect();
    let t = Instant::now();
    loop {
        if all_served(&everyone, &name, RecordType::A, a_is(address(0)))
            .await
            .is_some()
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "the zone never reached every server"
        );
    }
    println!(
        "probe served by {} apex-dnsserver, Knot and NSD {:.1} s after it was written",
        apex.len(),
        t.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resting: Vec<f64> = pids.iter().map(|&p| rss_mib(p)).collect();

    let path = format!("/domains/{ZONE}/records/{id}");
    let (mut t_apex, mut t_knot, mut t_nsd, mut t_api) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut peak = resting.clone();
    let mut missed = 0;
    for i in 1..=edits {
        let want = address(i);
        let sent = Instant::now();
        api.send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"content": want.to_string()})),
        )
        .await;
        t_api.push(sent.elapsed());
        let at = served_each(&everyone, &name, RecordType::A, a_is(want)).await;
        let took = |slice: &[Option<Instant>]| -> Duration {
            slice
                .iter()
                .map(|a| a.map_or(GIVE_UP, |a| a - sent))
                .max()
                .unwrap_or(GIVE_UP)
        };
        missed += at.iter().filter(|a| a.is_none()).count();
        t_apex.push(took(&at[..apex.len()]));
        t_knot.push(took(&at[apex.len()..apex.len() + knot.len()]));
        t_nsd.push(took(&at[apex.len() + knot.len()..]));
        for (p, &pid) in peak.iter_mut().zip(&pids) {
            *p = p.max(rss_mib(pid));
        }
    }
    println!("{edits} one-record edits of {ZONE}, each from sending the PATCH to the new answer:");
    println!(
        "  apex-dnsserver (last of {})  {}",
        apex.len(),
        summary(&mut t_apex)
    );
    println!("  knotd                        {}", summary(&mut t_knot));
    println!("  nsd                          {}", summary(&mut t_nsd));
    println!("  the API call                 {}", summary(&mut t_api));
    if missed > 0 {
        println!("  {missed} answers not seen within {GIVE_UP:?} (counted as {GIVE_UP:?})");
    }
    for (i, (r, p)) in resting.iter().zip(&peak).enumerate() {
        println!(
            "  apex-dnsserver {i} resident memory: resting {r:.0} MiB, peak during the edits {p:.0} MiB ({:.2}x)",
            p / r
        );
    }
    let p = |v: &[Duration], q: f64| ms(common::percentile(v, q));
    println!(
        "targets: apex p50 < 20 ms: {}; p99 < 60 ms: {}; no slower than Knot and NSD (p50): {}",
        p(&t_apex, 50.0) < 20.0,
        p(&t_apex, 99.0) < 60.0,
        p(&t_apex, 50.0) <= p(&t_knot, 50.0).min(p(&t_nsd, 50.0))
    );
}
