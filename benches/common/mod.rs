//! What the end-to-end benches share: asking nameservers over UDP until they answer what a
//! write wrote, the API client, percentiles.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::Value;
use tokio::net::UdpSocket;

/// A write not served by every nameserver within this counts as missed.
pub const GIVE_UP: Duration = Duration::from_secs(10);
/// Pause between two queries to one nameserver that did not have the new answer yet.
const POLL: Duration = Duration::from_millis(1);

static NEXT_ID: AtomicU16 = AtomicU16::new(1);

/// An environment variable the bench's script sets.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (run the bench/ script)"))
}

/// The nameservers of `var` (`host:port,…`).
pub fn servers(var_name: &str) -> Vec<SocketAddr> {
    var(var_name)
        .split(',')
        .map(|s| s.trim().parse().expect("host:port,…"))
        .collect()
}

/// What an answer must be for a write to count as served.
pub type Want = Arc<dyn Fn(&Message) -> bool + Send + Sync>;

/// The A addresses of an answer.
pub fn a_records(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// An answer of exactly the A record `want`.
pub fn a_is(want: Ipv4Addr) -> Want {
    Arc::new(move |m| a_records(m) == [want])
}

/// The TXT strings of an answer (each record's strings joined).
pub fn txt_records(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

/// `server`'s answer for `name`/`rtype`, or `None` on a timeout or a foreign reply.
async fn ask(
    socket: &UdpSocket,
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
) -> Option<Message> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(name.clone(), rtype));
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
            return Some(reply);
        }
    }
}

/// When `server` first answers as `want` says for `name`/`rtype`, or `None` past `until`.
async fn served(
    server: SocketAddr,
    name: Name,
    rtype: RecordType,
    want: Want,
    until: Instant,
) -> Option<Instant> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    loop {
        if ask(&socket, server, &name, rtype)
            .await
            .is_some_and(|m| want(&m))
        {
            return Some(Instant::now());
        }
        if Instant::now() > until {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// When the last of `servers` answers as `want` says, or `None` if one did not within
/// [`GIVE_UP`]; each is asked every millisecond.
pub async fn all_served(
    servers: &[SocketAddr],
    name: &Name,
    rtype: RecordType,
    want: Want,
) -> Option<Instant> {
    let until = Instant::now() + GIVE_UP;
    let mut tasks = tokio::task::JoinSet::new();
    for &s in servers {
        tasks.spawn(served(s, name.clone(), rtype, want.clone(), until));
    }
    let mut last = None;
    while let Some(r) = tasks.join_next().await {
        last = last.max(Some(r.unwrap()?));
    }
    last
}

/// When each of `servers` first answers as `want` says (`None`: not within [`GIVE_UP`]), in
/// the order given.
pub async fn served_each(
    servers: &[SocketAddr],
    name: &Name,
    rtype: RecordType,
    want: Want,
) -> Vec<Option<Instant>> {
    let until = Instant::now() + GIVE_UP;
    let tasks: Vec<_> = servers
        .iter()
        .map(|&s| tokio::spawn(served(s, name.clone(), rtype, want.clone(), until)))
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Resident memory of process `pid` in MiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The REST API with a bearer token.
pub struct Api {
    /// The client.
    pub http: reqwest::Client,
    /// `http://host:port`.
    pub base: String,
    /// The API key.
    pub token: String,
}

impl Api {
    /// One call under `/api/v1`; panics unless it succeeds.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }
}

/// The `p`th percentile by nearest rank of sorted `v`.
pub fn percentile(v: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `median … p90 … p99 … max …` of `v` (sorted here).
pub fn summary(v: &mut [Duration]) -> String {
    v.sort();
    format!(
        "median {:6.1} ms  p90 {:6.1} ms  p99 {:6.1} ms  max {:6.1} ms",
        ms(percentile(v, 50.0)),
        ms(percentile(v, 90.0)),
        ms(percentile(v, 99.0)),
        ms(*v.last().unwrap_or(&Duration::ZERO)),
    )
}
