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

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::{Value, json};
use tokio::net::UdpSocket;

/// A write not served by every nameserver within this counts as missed.
const GIVE_UP: Duration = Duration::from_secs(10);
/// Pause between two queries to one nameserver that did not have the new answer yet.
const POLL: Duration = Duration::from_millis(1);
const ZONE: &str = "propagation.bench";

static NEXT_ID: AtomicU16 = AtomicU16::new(1);

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (run bench/propagation)"))
}

/// The address written by write `i` (never written before in this run).
fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

/// The A addresses `server` answers for `name`, or `None` on a timeout or a foreign reply.
async fn ask(socket: &UdpSocket, server: SocketAddr, name: &Name) -> Option<Vec<Ipv4Addr>> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(name.clone(), RecordType::A));
    socket.send_to(&m.to_vec().ok()?, server).await.ok()?;
    let mut buf = [0u8; 1232];
    let deadline = Instant::now() + Duration::from_millis(200);
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let (len, from) = tokio::time::timeout(left, socket.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        let Ok(reply) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        // A late reply to an earlier query is skipped.
        if from == server && reply.metadata.id == id {
            return Some(
                reply
                    .answers
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(a.0),
                        _ => None,
                    })
                    .collect(),
            );
        }
    }
}

/// When `server` first answers exactly `want` for `name`, or `None` past `until`.
async fn served(server: SocketAddr, name: Name, want: Ipv4Addr, until: Instant) -> Option<Instant> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    loop {
        if ask(&socket, server, &name).await.as_deref() == Some(&[want][..]) {
            return Some(Instant::now());
        }
        if Instant::now() > until {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// When the last of `servers` answers `want`, or `None` if one did not within [`GIVE_UP`].
async fn all_served(servers: &[SocketAddr], name: &Name, want: Ipv4Addr) -> Option<Instant> {
    let until = Instant::now() + GIVE_UP;
    let mut tasks = tokio::task::JoinSet::new();
    for &s in servers {
        tasks.spawn(served(s, name.clone(), want, until));
    }
    let mut last = None;
    while let Some(r) = tasks.join_next().await {
        last = last.max(Some(r.unwrap()?));
    }
    last
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }
}

/// The `p`th percentile by nearest rank of sorted `v`.
fn percentile(v: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let api = Api {
        http: reqwest::Client::new(),
        base: var("PROPAGATION_API"),
        token: var("PROPAGATION_TOKEN"),
    };
    let servers: Vec<SocketAddr> = var("PROPAGATION_NS")
        .split(',')
        .map(|s| s.trim().parse().expect("PROPAGATION_NS: host:port,…"))
        .collect();
    let writes: usize = std::env::var("PROPAGATION_WRITES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let name = Name::from_ascii(format!("probe.{ZONE}.")).unwrap();

    // The zone and its record, served everywhere before the clock starts.
    let t = Instant::now();
    api.send(reqwest::Method::POST, "/domains", json!({"name": ZONE}))
        .await;
    let first = address(0);
    let created = api
        .send(
            reqwest::Method::POST,
            &format!("/domains/{ZONE}/records"),
            json!({"name": "probe", "type": "A", "ttl": 300, "content": first.to_string()}),
        )
        .await;
    let id = created["record"]["id"].as_i64().unwrap();
    all_served(&servers, &name, first)
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
            json!({"content": want.to_string()}),
        )
        .await;
        api_times.push(start.elapsed());
        match all_served(&servers, &name, want).await {
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
