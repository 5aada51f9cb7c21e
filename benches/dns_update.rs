//! DNS UPDATE to the fleet: 1,000 sequential `nsupdate` TXT add/delete pairs (what an ACME
//! client does for each certificate), each timed from the UPDATE reply to the moment every
//! nameserver answers it, next to the same changes made through the REST API.
//!
//! Run by `bench/dns-update`, which starts `apex serve`, `apex worker` and three nameservers
//! and passes them here:
//!
//! ```text
//! UPDATE_API=http://127.0.0.1:8080 UPDATE_TOKEN=… UPDATE_NS=127.0.0.1:5301,… \
//!   cargo bench -p apex --bench dns_update               (UPDATE_PAIRS=1000 by default)
//! ```
//!
//! `nsupdate -d -y` is started for each message and sends it to the first nameserver (the
//! zone's MNAME), which forwards it to the primary (RFC 2136 section 6); the reply's time is when
//! nsupdate prints it. "request" times start before nsupdate is started, so they include its
//! start-up. The REST changes are a POST of the TXT record and a DELETE of it.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Api, GIVE_UP, Want, a_is, all_served, servers, summary, txt_records, var};
use hickory_proto::rr::{Name, RecordType};
use serde_json::json;
use tokio::io::AsyncWriteExt;

const ZONE: &str = "update.bench";
const OWNER: &str = "_acme-challenge.update.bench.";

/// Times of one change: request sent, reply received, served by every nameserver.
struct Timed {
    sent: Instant,
    replied: Instant,
    served: Option<Instant>,
}

#[derive(Default)]
struct Series {
    reply_to_fleet: Vec<Duration>,
    request_to_fleet: Vec<Duration>,
    request_to_reply: Vec<Duration>,
    missed: usize,
}

impl Series {
    fn add(&mut self, t: Timed) {
        self.request_to_reply.push(t.replied - t.sent);
        match t.served {
            Some(at) => {
                self.reply_to_fleet
                    .push(at.saturating_duration_since(t.replied));
                self.request_to_fleet.push(at - t.sent);
            }
            None => {
                self.missed += 1;
                self.reply_to_fleet.push(GIVE_UP);
                self.request_to_fleet.push(GIVE_UP);
            }
        }
    }

    fn print(&mut self, label: &str) {
        println!("{label}");
        println!(
            "  reply -> all nameservers    {}",
            summary(&mut self.reply_to_fleet)
        );
        println!(
            "  request -> all nameservers  {}",
            summary(&mut self.request_to_fleet)
        );
        println!(
            "  request -> reply            {}",
            summary(&mut self.request_to_reply)
        );
        if self.missed > 0 {
            println!(
                "  {} changes not served everywhere within {GIVE_UP:?}",
                self.missed
            );
        }
    }
}

fn txt_is(want: String) -> Want {
    Arc::new(move |m| txt_records(m) == [want.clone()])
}

fn txt_gone() -> Want {
    Arc::new(|m| txt_records(m).is_empty() && m.metadata.response_code.low() <= 3)
}

/// Runs `nsupdate -d -y key` with one update; panics unless it succeeds. Returns when its
/// reply arrived: the moment nsupdate prints "Reply from update query" (its debug output,
/// read as it comes), not its exit, which comes later.
async fn nsupdate(server: SocketAddr, key: &str, update: &str) -> Instant {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new("nsupdate")
        .args(["-d", "-y", key])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("nsupdate is not installed (bind9-dnsutils)");
    let script = format!(
        "server {} {}\nzone {ZONE}\n{update}\nsend\n",
        server.ip(),
        server.port()
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(script.as_bytes()).await.unwrap();
    drop(stdin);
    // The marker goes to one stream and the message to the other: both are read as they come.
    let watch = |stream: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stream).lines();
            let (mut at, mut text) = (None, String::new());
            while let Ok(Some(line)) = lines.next_line().await {
                if at.is_none() && line.contains("Reply from update query") {
                    at = Some(Instant::now());
                }
                text.push_str(&line);
                text.push('\n');
            }
            (at, text)
        })
    };
    let out = watch(Box::new(child.stdout.take().unwrap()));
    let err = watch(Box::new(child.stderr.take().unwrap()));
    let status = child.wait().await.unwrap();
    let (out_at, out) = out.await.unwrap();
    let (err_at, err) = err.await.unwrap();
    let replied = out_at.or(err_at);
    assert!(
        status.success() && format!("{out}{err}").contains("status: NOERROR"),
        "nsupdate failed: {out}{err}"
    );
    replied.expect("nsupdate printed no reply")
}

#[tokio::main]
async fn main() {
    let api = Api {
        http: reqwest::Client::new(),
        base: var("UPDATE_API"),
        token: var("UPDATE_TOKEN"),
    };
    let servers = servers("UPDATE_NS");
    let pairs: usize = std::env::var("UPDATE_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let owner = Name::from_ascii(OWNER).unwrap();

    // The zone, a probe record served everywhere, and an ACME-style key.
    api.send(
        reqwest::Method::POST,
        "/domains",
        Some(json!({"name": ZONE})),
    )
    .await;
    api.send(
        reqwest::Method::POST,
        &format!("/domains/{ZONE}/records"),
        Some(json!({"name": "probe", "type": "A", "ttl": 300, "content": "192.0.2.1"})),
    )
    .await;
    let probe = Name::from_ascii(format!("probe.{ZONE}.")).unwrap();
    let want: std::net::Ipv4Addr = "192.0.2.1".parse().unwrap();
    all_served(&servers, &probe, RecordType::A, a_is(want))
        .await
        .expect("the zone did not reach every nameserver");
    let created = api
        .send(
            reqwest::Method::POST,
            &format!("/domains/{ZONE}/tsig-keys"),
            Some(json!({"name": "certbot", "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}]})),
        )
        .await;
    let key = created["nsupdate"].as_str().unwrap().to_string();

    let mut update = Series::default();
    let started = Instant::now();
    for i in 1..=pairs {
        let token = format!("nsupdate-{i}");
        let sent = Instant::now();
        let replied = nsupdate(
            servers[0],
            &key,
            &format!("update add {OWNER} 60 TXT \"{token}\""),
        )
        .await;
        let served = all_served(&servers, &owner, RecordType::TXT, txt_is(token)).await;
        update.add(Timed {
            sent,
            replied,
            served,
        });

        let sent = Instant::now();
        let replied = nsupdate(servers[0], &key, &format!("update delete {OWNER} TXT")).await;
        let served = all_served(&servers, &owner, RecordType::TXT, txt_gone()).await;
        update.add(Timed {
            sent,
            replied,
            served,
        });
    }
    let update_run = started.elapsed();

    let mut rest = Series::default();
    let started = Instant::now();
    for i in 1..=pairs {
        let token = format!("rest-{i}");
        let sent = Instant::now();
        let created = api
            .send(
                reqwest::Method::POST,
                &format!("/domains/{ZONE}/records"),
                Some(json!({"name": "_acme-challenge", "type": "TXT", "ttl": 60, "content": format!("\"{token}\"")})),
            )
            .await;
        let replied = Instant::now();
        let served = all_served(&servers, &owner, RecordType::TXT, txt_is(token)).await;
        rest.add(Timed {
            sent,
            replied,
            served,
        });

        let id = created["record"]["id"].as_i64().unwrap();
        let sent = Instant::now();
        api.send(
            reqwest::Method::DELETE,
            &format!("/domains/{ZONE}/records/{id}"),
            None,
        )
        .await;
        let replied = Instant::now();
        let served = all_served(&servers, &owner, RecordType::TXT, txt_gone()).await;
        rest.add(Timed {
            sent,
            replied,
            served,
        });
    }
    let rest_run = started.elapsed();

    println!(
        "{pairs} TXT add/delete pairs ({} changes) each way, one after another, {} nameservers:",
        pairs * 2,
        servers.len()
    );
    update.print(&format!(
        "nsupdate -y (RFC 2136 via the nameserver), {:.1} s:",
        update_run.as_secs_f64()
    ));
    rest.print(&format!(
        "REST API (POST and DELETE of the record), {:.1} s:",
        rest_run.as_secs_f64()
    ));
}
