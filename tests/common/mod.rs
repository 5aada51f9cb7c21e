//! The whole platform in-process for end-to-end tests: API, worker and nameserver on ports of
//! their own (port 0), on the test's own database, with a Redis key prefix of its own.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apex::Platform;
use apex_core::config::Config;
use apex_core::{auth, users};
use apex_net::TsigKey;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::UdpSocket;

/// The Redis every test shares unless it brings its own (`APEX_TEST_REDIS_URL` overrides).
pub fn shared_redis() -> String {
    std::env::var("APEX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    ring_fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ring_fill(b: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(b)
        .unwrap();
}

/// A config for a test: every listener on port 0, a fresh TSIG key and Redis prefix.
pub fn test_config(redis_url: &str, reconcile_secs: u64) -> (Config, TsigKey) {
    let mut c = Config::defaults();
    let key_text = TsigKey::generate_text("apex-fleet");
    c.redis_url = Some(SecretString::from(redis_url.to_string()));
    c.redis_prefix = format!("test-{}:", random_hex(6));
    c.http_listen = "127.0.0.1:0".parse().unwrap();
    c.dns_listen = "127.0.0.1:0".parse().unwrap();
    c.transfer_listen = "127.0.0.1:0".parse().unwrap();
    c.tsig_key = Some(SecretString::from(key_text.clone()));
    c.master_key = Some(SecretString::from(
        apex_core::sealing::MasterKey::generate_text(),
    ));
    c.reconcile_interval = reconcile_secs;
    // Tests drive the API faster than people do; tests/limits.rs turns the limits back on.
    c.rate_limit = false;
    (c, TsigKey::parse(&key_text).unwrap())
}

/// A running platform with an admin's API key.
pub struct Env {
    pub platform: Platform,
    pub key: TsigKey,
    pub token: String,
    pub pool: PgPool,
    pub http: reqwest::Client,
    pub config: Config,
}

impl Env {
    pub async fn start(pool: PgPool, config: Config, key: TsigKey) -> Self {
        // Logs with RUST_LOG=info (shown for failing tests).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let user = users::create_user(&pool, "admin@example.com", "a long admin password", true)
            .await
            .unwrap();
        let token = auth::keys::create_full(&pool, user, "e2e").await.unwrap().1;
        let platform = apex::start_all(&config, pool.clone()).await.unwrap();
        Self {
            platform,
            key,
            token,
            pool,
            http: reqwest::Client::new(),
            config,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.platform.http, path)
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        api_request(&self.http, &self.url(path), &self.token, method, body).await
    }

    /// An API call with another key than the admin's.
    pub async fn api_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        api_request(&self.http, &self.url(path), token, method, body).await
    }

    pub async fn create_domain(&self, name: &str) -> Value {
        let (s, b) = self
            .api(
                reqwest::Method::POST,
                "/api/v1/domains",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b
    }

    pub async fn add_record(&self, zone: &str, name: &str, rtype: &str, content: &str) -> Value {
        let (s, b) = self
            .api(
                reqwest::Method::POST,
                &format!("/api/v1/domains/{zone}/records"),
                Some(json!({"name": name, "type": rtype, "ttl": 300, "content": content})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b
    }

    pub async fn query(&self, name: &str, rtype: RecordType) -> Message {
        query(self.platform.dns, name, rtype).await
    }

    /// The time until the nameserver's answer for `name`/`rtype` satisfies `want`, or panics
    /// after `limit`.
    pub async fn wait_for<F: Fn(&Message) -> bool>(
        &self,
        name: &str,
        rtype: RecordType,
        limit: Duration,
        want: F,
    ) -> Duration {
        let start = Instant::now();
        loop {
            let m = self.query(name, rtype).await;
            if want(&m) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "no matching answer for {name} {rtype} within {limit:?}; last: {m}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One API call with a bearer token: the status and the JSON body (`null` when none).
pub async fn api_request(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    method: reqwest::Method,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// One UDP query; `None` when no reply comes within `timeout`.
pub async fn try_query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    timeout: Duration,
) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    let id = u16::from_be_bytes(random_hex(2).as_bytes()[..2].try_into().ok()?);
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_ascii(name).ok()?, rtype));
    socket.send_to(&m.to_vec().ok()?, server).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(timeout, socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    Message::from_vec(&buf[..len]).ok()
}

/// One UDP query, which must be answered within two seconds.
pub async fn query(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    try_query(server, name, rtype, Duration::from_secs(2))
        .await
        .expect("no DNS reply")
}

/// Asks `server` for `name`/`rtype` until the answer satisfies `check`; after `limit`, panics
/// with `what` and `log()` (another server's log, say).
pub async fn wait_answer(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    limit: Duration,
    what: &str,
    log: impl Fn() -> String,
    check: impl Fn(&Message) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if try_query(server, name, rtype, Duration::from_millis(500))
            .await
            .is_some_and(|m| check(&m))
        {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}:\n{}", log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs BIND's `nsupdate -y key` with `script` for `zone` (the server and zone lines added):
/// its exit status and what it printed.
pub async fn nsupdate(server: SocketAddr, key: &str, zone: &str, script: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("nsupdate")
        .args(["-y", key])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("nsupdate not installed (make test installs bind9-dnsutils)");
    let text = format!(
        "server {} {}\nzone {zone}\n{script}\nsend\n",
        server.ip(),
        server.port()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs dig without blocking the runtime the servers under test share.
pub async fn dig(args: &[&str]) -> String {
    let out = tokio::process::Command::new("dig")
        .args(args)
        .output()
        .await
        .expect("dig not installed (make test installs bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The records dig printed, without TSIG pseudo-records.
pub fn answer_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("\tTSIG\t"))
        .collect()
}

/// The A addresses in an answer.
pub fn a_records(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

pub fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

/// A private redis-server on a free loopback port, for tests that stop and restart Redis.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self { port, child: None };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not installed (make test installs it)");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: Redis disappears as it would in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
