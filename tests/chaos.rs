//! Chaos: 2,000 record writes over 50 zones through the API while the worker, a separate
//! `apex worker` process, is killed with SIGKILL twice and Redis is restarted once. Afterwards
//! every change is published, the database holds every acknowledged write, and every zone the
//! nameserver serves is exactly its records in Postgres plus the platform's SOA and NS.
//!
//! The API runs in-process, the nameserver too (a catalog secondary of the worker's transfer
//! server, as `apex-dnsserver` runs in production); Redis is a private `redis-server`.

// Test helpers panic on the unexpected, like the tests themselves, and report the run's
// figures on stderr (the scenario is shared by two tests, so it is not a test function).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
#[path = "../dnsserver/tests/common/peers.rs"]
mod peers;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apex_core::{auth, users};
use apex_net::client::axfr;
use apex_zone::content;
use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::{Name, RData, Record};
use common::{PrivateRedis, test_config};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::{PgPool, Row};

const ZONES: usize = 50;
const WRITES: usize = 2_000;
/// After the last write, everything must be served within this.
const SETTLE: Duration = Duration::from_secs(60);
/// How long the worker stays dead, and Redis down, while writes go on.
const OUTAGE: Duration = Duration::from_millis(700);
/// Seconds between reconciler passes: the production default.
const RECONCILE_SECS: u64 = 5;

/// `apex worker` as a child process, restartable on the same transfer port.
struct WorkerProcess {
    child: Option<Child>,
    env: Vec<(String, String)>,
    log: PathBuf,
    transfer: SocketAddr,
    starts: u32,
}

impl WorkerProcess {
    /// Starts the worker. The transfer port, free when the test took it, can be held for a
    /// moment by another test's socket while the worker is dead (the kernel hands it out
    /// again): a start that fails on that alone is tried again, for up to 10 s.
    async fn start(&mut self) {
        let t = Instant::now();
        while !self.try_start().await {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the transfer port {} stayed taken for 10 s",
                self.transfer
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One start; false when the worker exited because its address was in use.
    async fn try_start(&mut self) -> bool {
        assert!(self.child.is_none(), "the worker is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex"));
        cmd.arg("worker");
        // Only what this test sets: nothing from the developer's own APEX_* environment.
        for (k, _) in std::env::vars() {
            if k.starts_with("APEX_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn().unwrap());
        self.starts += 1;
        // Up when the transfer server accepts connections.
        let t = Instant::now();
        while tokio::net::TcpStream::connect(self.transfer).await.is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                if self
                    .log_tail()
                    .ends_with("Address already in use (os error 98)")
                {
                    self.child = None;
                    return false;
                }
                panic!(
                    "the worker exited at start ({status}):\n{}",
                    self.log_tail()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the worker did not bind {} within 20 s:\n{}",
                self.transfer,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no clean-up, as in a crash.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        } else {
            eprintln!(
                "worker log {}, last lines:\n{}",
                self.log.display(),
                self.log_tail()
            );
        }
    }
}

/// The URL of the test's own database: `DATABASE_URL` with its database name replaced.
fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for sqlx::test");
    let options = pool.connect_options();
    let db = options
        .get_database()
        .expect("the test database has a name");
    let (head, query) = base
        .split_once('?')
        .map_or((base.as_str(), None), |(h, q)| (h, Some(q)));
    let after_scheme = head.find("://").map_or(0, |i| i + 3);
    let path = head[after_scheme..]
        .find('/')
        .map_or(head.len(), |i| i + after_scheme);
    let mut url = format!("{}/{db}", &head[..path]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// A small deterministic generator (xorshift), one per zone, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A record as the API acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Acked {
    fqdn: String,
    rtype: String,
    ttl: i64,
    content: String,
}

impl Acked {
    fn from_api(r: &Value) -> (i64, Self) {
        (
            r["id"].as_i64().unwrap(),
            Self {
                fqdn: r["fqdn"].as_str().unwrap().to_string(),
                rtype: r["type"].as_str().unwrap().to_string(),
                ttl: r["ttl"].as_i64().unwrap(),
                content: r["content"].as_str().unwrap().to_string(),
            },
        )
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        common::api_request(
            &self.http,
            &format!("{}{path}", self.base),
            &self.token,
            method,
            body,
        )
        .await
    }
}

const NAMES: [&str; 7] = ["@", "www", "mail", "api", "h1", "h2", "a.b"];
const TTLS: [u32; 3] = [300, 600, 3600];

/// Content nobody else writes: every write is accepted (no duplicate), and each is visible.
fn content_for(rtype: &str, n: usize) -> String {
    match rtype {
        "A" => format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
        "AAAA" => format!("2001:db8::{n:x}"),
        "TXT" => format!("chaos write {n}"),
        _ => format!("{} mx{n}.example.net.", n % 50),
    }
}

/// One zone's share of the writes, one after another (so the expected state is exact), while
/// the other zones' writers run at the same time. Returns the records the API acknowledged
/// and the ids of the changes it returned.
async fn drive_zone(
    api: Arc<Api>,
    zone: String,
    seed: u64,
    writes: usize,
    counter: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
) -> (String, BTreeMap<i64, Acked>, Vec<i64>) {
    let mut rng = Rng(seed | 1);
    let mut model: BTreeMap<i64, Acked> = BTreeMap::new();
    let mut changes = Vec::with_capacity(writes);
    for _ in 0..writes {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let rtype = ["A", "A", "A", "AAAA", "TXT", "MX"][rng.below(6)];
        let ttl = TTLS[rng.below(TTLS.len())];
        let roll = rng.below(10);
        let (status, body, deleted) = if model.is_empty() || roll < 5 {
            let name = NAMES[rng.below(NAMES.len())];
            let (s, b) = api
                .call(
                    Method::POST,
                    &format!("/api/v1/domains/{zone}/records"),
                    Some(json!({"name": name, "type": rtype, "ttl": ttl, "content": content_for(rtype, n)})),
                )
                .await;
            (s, b, None)
        } else {
            let ids: Vec<i64> = model.keys().copied().collect();
            let id = ids[rng.below(ids.len())];
            if roll < 8 {
                // New content (of the record's own type), a TTL, sometimes a new name.
                let old = &model[&id];
                let mut patch = json!({"content": content_for(&old.rtype, n), "ttl": ttl});
                if rng.below(3) == 0 {
                    patch["name"] = json!(NAMES[rng.below(NAMES.len())]);
                }
                let (s, b) = api
                    .call(
                        Method::PATCH,
                        &format!("/api/v1/domains/{zone}/records/{id}"),
                        Some(patch),
                    )
                    .await;
                (s, b, None)
            } else {
                let (s, b) = api
                    .call(
                        Method::DELETE,
                        &format!("/api/v1/domains/{zone}/records/{id}"),
                        None,
                    )
                    .await;
                (s, b, Some(id))
            }
        };
        assert!(
            (200..300).contains(&status),
            "write {n} to {zone} failed: {status} {body}"
        );
        changes.push(body["change"]["id"].as_i64().unwrap());
        match deleted {
            Some(id) => {
                model.remove(&id);
            }
            None => {
                let (id, rec) = Acked::from_api(&body["record"]);
                // TTL belongs to the RRset: the write gave its whole RRset this TTL.
                for other in model.values_mut() {
                    if other.fqdn == rec.fqdn && other.rtype == rec.rtype {
                        other.ttl = rec.ttl;
                    }
                }
                model.insert(id, rec);
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    (zone, model, changes)
}

/// A record's identity for comparison: owner, type, TTL and canonical RDATA bytes.
type Key = (String, u16, u32, Vec<u8>);

fn key_of(r: &Record) -> Key {
    let mut rdata = Vec::new();
    let mut enc = BinEncoder::new(&mut rdata);
    enc.set_canonical_form(true);
    r.data.emit(&mut enc).unwrap();
    (
        r.name.to_ascii().to_lowercase(),
        u16::from(r.record_type()),
        r.ttl,
        rdata,
    )
}

/// What the nameserver must serve for every zone (SOA aside): the records in Postgres, read
/// the way the worker reads them, plus the platform's apex NS set.
async fn expected_zones(
    pool: &PgPool,
    apex_ns: &apex_zone::render::ApexNs,
) -> BTreeMap<String, BTreeMap<Key, String>> {
    let mut zones: BTreeMap<String, BTreeMap<Key, String>> = BTreeMap::new();
    for row in sqlx::query("SELECT name FROM domains")
        .fetch_all(pool)
        .await
        .unwrap()
    {
        let zone: String = row.get("name");
        let apex = Name::from_ascii(format!("{zone}.")).unwrap();
        let set = zones.entry(zone).or_default();
        for host in &apex_ns.hosts {
            let r = Record::from_rdata(
                apex.clone(),
                apex_ns.ttl,
                RData::NS(hickory_proto::rr::rdata::NS(host.clone())),
            );
            set.insert(key_of(&r), r.to_string());
        }
    }
    let rows = sqlx::query(
        "SELECT d.name AS zone, r.name, r.type, r.ttl, r.content
           FROM records r JOIN domains d ON d.id = r.domain_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in rows {
        let zone: String = row.get("zone");
        let origin = DName::parse(format!("{zone}.").as_bytes(), None).unwrap();
        let rtype = RrType::parse(row.get::<String, _>("type").as_bytes()).unwrap();
        let wire = content::parse(rtype, row.get("content"), Some(&origin)).unwrap();
        let r = Record::from_rdata(
            Name::from_ascii(row.get::<String, _>("name")).unwrap(),
            u32::try_from(row.get::<i32, _>("ttl")).unwrap(),
            content::to_rdata(rtype, &wire).unwrap(),
        );
        let set = zones.get_mut(&zone).unwrap();
        assert!(
            set.insert(key_of(&r), r.to_string()).is_none(),
            "{zone}: record twice in the database: {r}"
        );
    }
    zones
}

/// Serials per zone: (wanted, published, notified).
async fn serials(pool: &PgPool) -> BTreeMap<String, (i64, Option<i64>, Option<i64>)> {
    sqlx::query("SELECT name, wanted_serial, published_serial, notified_serial FROM domains")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.get("name"),
                (
                    r.get("wanted_serial"),
                    r.get("published_serial"),
                    r.get("notified_serial"),
                ),
            )
        })
        .collect()
}

/// What is taken down during the writes (and brought back after [`OUTAGE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    /// SIGKILL to the worker process, then a new one on the same transfer port.
    Worker,
    /// SIGKILL to redis-server, then a new, empty one on the same port.
    Redis,
}

/// The acceptance test: the worker killed a quarter and three quarters into the writes, Redis
/// restarted half-way.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn writes_survive_worker_kills_and_a_redis_restart(pool: PgPool) {
    chaos(
        pool,
        &[
            (WRITES / 4, Outage::Worker),
            (WRITES / 2, Outage::Redis),
            (WRITES * 3 / 4, Outage::Worker),
        ],
    )
    .await;
}

/// The worker killed as the last writes are published: a nameserver whose transfer was cut
/// by the kill has had its NOTIFY already, and nothing but the next worker's sync watcher
/// (resumed from the waiting `fleet_sync` rows, reminding nameservers that stay behind)
/// makes it try again before the SOA retry timer (600 s by default).
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_worker_killed_as_the_writes_end_leaves_no_zone_behind(pool: PgPool) {
    chaos(
        pool,
        &[(WRITES / 2, Outage::Redis), (WRITES - 15, Outage::Worker)],
    )
    .await;
}

/// Runs the writes with `outages` (after so many writes, this goes down), then checks that
/// nothing was lost and everything is served as stored.
async fn chaos(pool: PgPool, outages: &[(usize, Outage)]) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let started = Instant::now();
    let mut redis = PrivateRedis::start();
    let (config, key) = test_config(&redis.url(), RECONCILE_SECS);
    let platform = config.platform().unwrap();
    let db_url = database_url(&pool);

    // The nameserver: a catalog secondary of the worker's transfer port (fixed up front, so
    // every worker started binds the same one).
    let transfer: SocketAddr = format!("127.0.0.1:{}", peers::free_port()).parse().unwrap();
    let mut ns_config = apex_dnsserver::Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        apex_dnsserver::CatalogConfig::new(&platform.catalog, vec![transfer], key.clone()),
    );
    ns_config.rrl.responses_per_second = 0;
    let ns = apex_dnsserver::start(ns_config).await.unwrap();
    let ns_addr = ns.local_addrs()[0];

    let mut worker = WorkerProcess {
        child: None,
        env: vec![
            ("APEX_DATABASE_URL".into(), db_url.clone()),
            ("APEX_REDIS_URL".into(), redis.url()),
            ("APEX_REDIS_PREFIX".into(), config.redis_prefix.clone()),
            ("APEX_TRANSFER_LISTEN".into(), transfer.to_string()),
            ("APEX_TSIG_KEY".into(), key.config_text()),
            (
                "APEX_MASTER_KEY".into(),
                config
                    .master_key
                    .as_ref()
                    .unwrap()
                    .expose_secret()
                    .to_string(),
            ),
            ("APEX_NOTIFY".into(), ns_addr.to_string()),
            ("APEX_RECONCILE_INTERVAL".into(), RECONCILE_SECS.to_string()),
            ("RUST_LOG".into(), "info,sqlx=warn".into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        log: std::env::temp_dir().join(format!(
            "apex-chaos-worker-{}-{}.log",
            std::process::id(),
            config.redis_prefix.trim_end_matches(':')
        )),
        transfer,
        starts: 0,
    };
    worker.start().await;

    // The API, on a pool of its own as `apex serve` would have.
    let api_pool = apex_core::db::connect(&db_url).await.unwrap();
    let user = users::create_user(
        &api_pool,
        "chaos@example.com",
        "a long admin password",
        true,
    )
    .await
    .unwrap();
    let token = auth::keys::create_full(&api_pool, user, "chaos")
        .await
        .unwrap()
        .1;
    let (http, http_task) = apex::start_http(
        apex::core(&config, api_pool.clone()).unwrap(),
        config.http_listen,
    )
    .await
    .unwrap();
    let api = Arc::new(Api {
        http: reqwest::Client::new(),
        base: format!("http://{http}"),
        token,
    });

    let zones: Vec<String> = (0..ZONES)
        .map(|i| format!("z{i:02}.chaos.example"))
        .collect();
    for z in &zones {
        let (s, b) = api
            .call(Method::POST, "/api/v1/domains", Some(json!({"name": z})))
            .await;
        assert_eq!(s, 201, "{b}");
    }
    eprintln!("setup done in {:?}", started.elapsed());

    // The writes, every zone's writer at once.
    let counter = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let writes_started = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for (i, z) in zones.iter().enumerate() {
        writers.spawn(drive_zone(
            api.clone(),
            z.clone(),
            0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(i as u64 + 1),
            WRITES / ZONES,
            counter.clone(),
            done.clone(),
        ));
    }

    // The chaos, at fixed points of the run.
    let wait_for_progress = |at: usize| {
        let done = done.clone();
        async move {
            // A writer that failed stops the count: give up rather than wait for ever.
            let (mut seen, mut since) = (done.load(Ordering::Relaxed), Instant::now());
            while done.load(Ordering::Relaxed) < at {
                let now = done.load(Ordering::Relaxed);
                if now != seen {
                    (seen, since) = (now, Instant::now());
                }
                assert!(
                    since.elapsed() < Duration::from_secs(30),
                    "the writes stalled at {now}"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    for &(at, what) in outages {
        wait_for_progress(at).await;
        let down_at = done.load(Ordering::Relaxed);
        let when = writes_started.elapsed();
        // The outage must come while writes are still being made.
        assert!(
            down_at < WRITES,
            "the writes were over before the {what:?} outage"
        );
        match what {
            Outage::Worker => worker.kill(),
            Outage::Redis => redis.kill(),
        }
        tokio::time::sleep(OUTAGE).await;
        match what {
            Outage::Worker => worker.start().await,
            Outage::Redis => redis.restart(),
        }
        let up_at = done.load(Ordering::Relaxed);
        eprintln!(
            "{what:?} killed {when:?} into the run after {down_at} writes, back after {up_at}"
        );
    }
    let mut expected: BTreeMap<String, BTreeMap<i64, Acked>> = BTreeMap::new();
    let mut change_ids: Vec<(String, i64)> = Vec::new();
    while let Some(r) = writers.join_next().await {
        let (zone, model, changes) = r.unwrap();
        change_ids.extend(changes.iter().map(|c| (zone.clone(), *c)));
        expected.insert(zone, model);
    }
    let writes_took = writes_started.elapsed();
    eprintln!(
        "{} writes over {ZONES} zones in {writes_took:?}; worker started {} times",
        done.load(Ordering::Relaxed),
        worker.starts
    );
    assert_eq!(done.load(Ordering::Relaxed), WRITES);

    // Everything published and served, within the bound.
    let settle = Instant::now();
    loop {
        let s = serials(&pool).await;
        let mut behind = Vec::new();
        for (zone, (wanted, published, notified)) in &s {
            let served = ns.zone_serial(&Name::from_ascii(format!("{zone}.")).unwrap());
            if *published != Some(*wanted)
                || *notified != Some(*wanted)
                || served.map(i64::from) != Some(*wanted)
            {
                behind.push(format!(
                    "{zone}: wanted {wanted}, published {published:?}, notified {notified:?}, served {served:?}"
                ));
            }
        }
        if behind.is_empty() {
            break;
        }
        assert!(
            settle.elapsed() < SETTLE,
            "not everything served {SETTLE:?} after the last write; behind:\n{}",
            behind.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "every zone published and served {:?} after the last write",
        settle.elapsed()
    );

    // No change is missing: every change the API returned is published …
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM changes WHERE published_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unpublished, 0, "changes left unpublished");
    assert_eq!(change_ids.len(), WRITES);
    let mut checks = tokio::task::JoinSet::new();
    for chunk in change_ids.chunks(WRITES / 8) {
        let (api, chunk) = (api.clone(), chunk.to_vec());
        checks.spawn(async move {
            for (zone, id) in chunk {
                let (s, c) = api
                    .call(
                        Method::GET,
                        &format!("/api/v1/domains/{zone}/changes/{id}"),
                        None,
                    )
                    .await;
                assert_eq!(
                    (s, c["state"] == "published" || c["state"] == "in_sync"),
                    (200, true),
                    "change {id} of {zone}: {c}"
                );
            }
        });
    }
    while let Some(r) = checks.join_next().await {
        r.unwrap();
    }

    // … and the database holds exactly what the API acknowledged, zone by zone.
    let rows = sqlx::query(
        "SELECT d.name AS zone, r.id, r.name, r.type, r.ttl, r.content
           FROM records r JOIN domains d ON d.id = r.domain_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut stored: BTreeMap<String, BTreeMap<i64, Acked>> = BTreeMap::new();
    for row in rows {
        stored.entry(row.get("zone")).or_default().insert(
            row.get("id"),
            Acked {
                fqdn: row.get("name"),
                rtype: row.get("type"),
                ttl: i64::from(row.get::<i32, _>("ttl")),
                content: row.get("content"),
            },
        );
    }
    for z in &zones {
        let want = expected.get(z).cloned().unwrap_or_default();
        let got = stored.get(z).cloned().unwrap_or_default();
        assert_eq!(
            got, want,
            "{z}: the database differs from the acknowledged writes"
        );
    }

    // Every zone as served by the nameserver (AXFR from it, with the fleet key) is the
    // database's records plus the platform's NS set, under the wanted serial.
    let want_zones = expected_zones(&pool, &platform.apex_ns).await;
    assert_eq!(want_zones.len(), ZONES);
    let s = serials(&pool).await;
    let mut served_records = 0;
    for (zone, want) in &want_zones {
        let name = Name::from_ascii(format!("{zone}.")).unwrap();
        let got = axfr(ns_addr, &name, Some(&key), Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("AXFR of {zone} from the nameserver: {e}"));
        let (soa, rest) = got.split_first().expect("an empty transfer");
        match &soa.data {
            RData::SOA(soa) => assert_eq!(i64::from(soa.serial), s[zone].0, "{zone}: serial"),
            other => panic!("{zone}: transfer begins with {other:?}"),
        }
        let mut served: BTreeMap<Key, String> = BTreeMap::new();
        for r in rest {
            assert!(
                served.insert(key_of(r), r.to_string()).is_none(),
                "{zone}: served twice: {r}"
            );
        }
        if &served != want {
            let missing: Vec<&String> = want
                .iter()
                .filter(|(k, _)| !served.contains_key(*k))
                .map(|(_, v)| v)
                .collect();
            let extra: Vec<&String> = served
                .iter()
                .filter(|(k, _)| !want.contains_key(*k))
                .map(|(_, v)| v)
                .collect();
            panic!(
                "{zone}: the nameserver serves other records than the database holds\n\
                 in the database, not served: {missing:#?}\nserved, not in the database: {extra:#?}"
            );
        }
        served_records += served.len();
    }
    eprintln!(
        "{ZONES} zones, {served_records} records served exactly as stored; test took {:?}",
        started.elapsed()
    );
    let (full, incremental, current, failed) = ns.transfer_counts();
    eprintln!(
        "nameserver transfers: {full} AXFR, {incremental} IXFR, {current} already current, {failed} failed"
    );
    // The test database is dropped after the test: nothing may stay connected to it.
    drop(worker);
    http_task.abort();
    api_pool.close().await;
    drop(redis);
}
