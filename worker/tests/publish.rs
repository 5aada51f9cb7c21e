//! The publishing pipeline against a real Postgres: idempotent publishing, the reconciler as
//! the safety net, lost NOTIFYs repaired, a broken zone never holding up the others.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::config::Config;
use apex_core::ids::DomainId;
use apex_core::queue::Queue;
use apex_core::records::RecordInput;
use apex_core::{Core, domains, records, users};
use apex_net::TsigKey;
use apex_net::tsig::{RequestAuth, verify_request};
use apex_worker::notify::Notifier;
use apex_worker::publish::{Outcome, publish_zone};
use apex_worker::{Context, reconciler};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use sqlx::PgPool;
use tokio::net::UdpSocket;

struct Fixture {
    ctx: Context,
    actor: Actor,
    notify_rx: UdpSocket,
    key: TsigKey,
}

async fn fixture(pool: PgPool) -> Fixture {
    let core = Core {
        pool: pool.clone(),
        queue: Queue::disabled(),
        platform: Arc::new({
            let mut c = Config::defaults();
            c.master_key = Some(secrecy::SecretString::from(
                apex_core::sealing::MasterKey::generate_text(),
            ));
            c.platform().unwrap()
        }),
    };
    let notify_rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let key = TsigKey::parse(&TsigKey::generate_text("apex-fleet")).unwrap();
    let notifier = Notifier::new(vec![apex_worker::notify::FleetTarget {
        name: "ns1.example.net".into(),
        addr: notify_rx.local_addr().unwrap(),
        key: key.clone(),
    }]);
    let user = users::create_user(&pool, "w@example.com", "a long enough password", false)
        .await
        .unwrap();
    let actor = Actor::cli(
        user,
        PlatformRoles {
            admin: false,
            granted: vec![],
        },
    );
    Fixture {
        ctx: Context::new(core, notifier, 3),
        actor,
        notify_rx,
        key,
    }
}

impl Fixture {
    async fn domain(&self, name: &str) -> DomainId {
        domains::create(&self.ctx.core, &self.actor, name)
            .await
            .unwrap();
        sqlx::query_scalar::<_, i64>("SELECT id FROM domains WHERE name = $1")
            .bind(name)
            .fetch_one(&self.ctx.core.pool)
            .await
            .map(DomainId)
            .unwrap()
    }

    async fn add_a(&self, zone: &str, name: &str, ip: &str) {
        let input = RecordInput {
            name: name.into(),
            rtype: "A".into(),
            ttl: Some(300),
            content: ip.into(),
            comment: None,
            disabled: false,
        };
        records::create(&self.ctx.core, &self.actor, zone, &input)
            .await
            .unwrap();
    }

    async fn versions(&self, id: DomainId) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM zone_versions WHERE domain_id = $1")
            .bind(id.0)
            .fetch_one(&self.ctx.core.pool)
            .await
            .unwrap()
    }

    /// The next NOTIFY received, acknowledged like a nameserver would: (zone, source).
    async fn next_notify(&self) -> (String, SocketAddr) {
        let mut buf = vec![0u8; 4096];
        // The sync watcher's SOA queries arrive here too (this socket is the fleet): skip them.
        let (len, src, m) = loop {
            let (len, src) =
                tokio::time::timeout(Duration::from_secs(3), self.notify_rx.recv_from(&mut buf))
                    .await
                    .expect("no NOTIFY arrived")
                    .unwrap();
            let m = Message::from_vec(&buf[..len]).unwrap();
            if m.metadata.op_code == OpCode::Notify {
                break (len, src, m);
            }
        };
        let RequestAuth::Signed(mut signer) =
            verify_request(&buf[..len], &m, std::slice::from_ref(&self.key))
        else {
            panic!("NOTIFY must be signed with the fleet key");
        };
        let mut ack = Message::new(m.metadata.id, MessageType::Response, OpCode::Notify);
        ack.metadata.response_code = ResponseCode::NoError;
        ack.queries = m.queries.clone();
        let mut bytes = ack.to_vec().unwrap();
        signer.sign(&mut bytes).unwrap();
        self.notify_rx.send_to(&bytes, src).await.unwrap();
        (m.queries[0].name().to_ascii(), src)
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn publishing_is_idempotent(pool: PgPool) {
    let f = fixture(pool).await;
    let id = f.domain("example.com").await;
    f.add_a("example.com", "www", "192.0.2.1").await;
    let first = publish_zone(&f.ctx, id).await.unwrap();
    assert!(
        matches!(first, Outcome::Published { records: 4, .. }),
        "{first:?}"
    );
    assert_eq!(publish_zone(&f.ctx, id).await.unwrap(), Outcome::UpToDate);
    assert_eq!(f.versions(id).await, 1);
    // A new zone enters the fleet through the catalog.
    assert_eq!(f.next_notify().await.0, "catalog.apex.invalid.");
    // Every change is published; only the newest versions are kept.
    for i in 2..=6 {
        f.add_a("example.com", "www", &format!("192.0.2.{i}")).await;
        publish_zone(&f.ctx, id).await.unwrap();
        assert_eq!(f.next_notify().await.0, "example.com.");
    }
    // The newest three, and what they are built from: the first version is the snapshot
    // the incremental ones after it apply their diffs to.
    assert_eq!(f.versions(id).await, 6);
    let serial: i64 = sqlx::query_scalar("SELECT published_serial FROM domains WHERE id = $1")
        .bind(id.0)
        .fetch_one(&f.ctx.core.pool)
        .await
        .unwrap();
    let newest = apex_core::versions::load(&f.ctx.core.pool, id, u32::try_from(serial).unwrap())
        .await
        .unwrap()
        .unwrap();
    let records = apex_zone::wire::decode(&newest.data).unwrap();
    assert_eq!(records[0].record_type(), hickory_proto::rr::RecordType::SOA);
    let www: Vec<String> = records
        .iter()
        .filter(|r| r.name.to_ascii() == "www.example.com.")
        .map(|r| r.data.to_string())
        .collect();
    assert_eq!(www.len(), 6, "{www:?}");
    // Once the oldest of the newest three has a snapshot of its own, the rest go.
    let serials: Vec<i64> = sqlx::query_scalar(
        "SELECT serial FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT 2",
    )
    .bind(id.0)
    .fetch_all(&f.ctx.core.pool)
    .await
    .unwrap();
    apex_core::versions::fill_snapshot(&f.ctx.core.pool, id, u32::try_from(serials[1]).unwrap())
        .await
        .unwrap();
    f.add_a("example.com", "www", "192.0.2.7").await;
    publish_zone(&f.ctx, id).await.unwrap();
    assert_eq!(f.next_notify().await.0, "example.com.");
    assert_eq!(f.versions(id).await, 3);
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM changes WHERE published_at IS NULL")
            .fetch_one(&f.ctx.core.pool)
            .await
            .unwrap();
    assert_eq!(unpublished, 0);
    assert_eq!(
        publish_zone(&f.ctx, DomainId(9999)).await.unwrap(),
        Outcome::Gone
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn reconciler_repairs_what_was_lost(pool: PgPool) {
    let f = fixture(pool.clone()).await;
    let a = f.domain("a.example").await;
    f.domain("b.example").await;
    // No queue: the reconciler alone publishes both.
    assert_eq!(reconciler::pass(&f.ctx).await.unwrap(), 2);
    let mut got = vec![f.next_notify().await.0, f.next_notify().await.0];
    got.sort();
    assert_eq!(got, vec!["catalog.apex.invalid.", "catalog.apex.invalid."]);
    assert_eq!(reconciler::pass(&f.ctx).await.unwrap(), 0);

    // A worker killed between storing a version and announcing it: announced on the next pass.
    f.add_a("a.example", "www", "192.0.2.1").await;
    publish_zone(&f.ctx, a).await.unwrap();
    assert_eq!(f.next_notify().await.0, "a.example.");
    sqlx::query("UPDATE domains SET notified_serial = NULL WHERE id = $1")
        .bind(a.0)
        .execute(&pool)
        .await
        .unwrap();
    reconciler::pass(&f.ctx).await.unwrap();
    assert_eq!(f.next_notify().await.0, "a.example.");
    let behind: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM domains WHERE notified_serial IS DISTINCT FROM published_serial",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(behind, 0);

    // A zone that cannot be published (a stored record broken by hand) fails loudly and stays
    // pending, and does not hold up the zone after it.
    sqlx::query("INSERT INTO records (domain_id, name, type, ttl, content) VALUES ($1, 'x.a.example.', 'A', 300, 'not an address')")
        .bind(a.0)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE domains SET wanted_serial = wanted_serial + 1")
        .execute(&pool)
        .await
        .unwrap();
    let err = publish_zone(&f.ctx, a).await.unwrap_err().to_string();
    assert!(
        err.contains("x.a.example.") && err.contains("does not parse"),
        "{err}"
    );
    assert_eq!(reconciler::pass(&f.ctx).await.unwrap(), 1);
    assert_eq!(f.next_notify().await.0, "b.example.");
    let (wanted, published): (i64, Option<i64>) =
        sqlx::query_as("SELECT wanted_serial, published_serial FROM domains WHERE id = $1")
            .bind(a.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_ne!(Some(wanted), published);
}

/// A publish that fails is recorded and retried with backoff: the next pass leaves it alone
/// until its time, an admin retry makes it due at once, and a success clears the record.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn failed_publishes_back_off(pool: PgPool) {
    let f = fixture(pool.clone()).await;
    let id = f.domain("example.com").await;
    // A stored record that no longer parses (a hand edit).
    sqlx::query(
        "INSERT INTO records (domain_id, name, type, ttl, content) VALUES ($1, 'www.example.com.', 'A', 300, 'not an address')",
    )
    .bind(id.0)
    .execute(&pool)
    .await
    .unwrap();
    let attempts = || async {
        sqlx::query_as::<_, (i32, Option<String>)>(
            "SELECT publish_attempts, publish_error FROM domains WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(reconciler::pass(&f.ctx).await.unwrap(), 0);
    let (n, error) = attempts().await;
    assert_eq!(n, 1);
    assert!(error.unwrap().contains("does not parse"));
    // Backing off: the next pass does not try.
    reconciler::pass(&f.ctx).await.unwrap();
    assert_eq!(attempts().await.0, 1);
    // An admin retry makes it due; it fails again.
    let admin = users::create_user(&pool, "root@example.com", "an admin's long password", true)
        .await
        .unwrap();
    let actor = Actor::cli(
        admin,
        PlatformRoles {
            admin: true,
            granted: vec![],
        },
    );
    apex_core::jobs::retry(&f.ctx.core, &actor, &format!("publish_zone:{}", id.0))
        .await
        .unwrap();
    reconciler::pass(&f.ctx).await.unwrap();
    assert_eq!(attempts().await.0, 2);
    // Fixed: the next publish succeeds and clears the record.
    sqlx::query("DELETE FROM records WHERE content = 'not an address'")
        .execute(&pool)
        .await
        .unwrap();
    publish_zone(&f.ctx, id).await.unwrap();
    assert_eq!(attempts().await, (0, None));
}

/// Edits are signed incrementally until the last full signing is older than the refresh
/// time; then the next edit signs the whole zone (the untouched signatures would otherwise
/// only age).
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn edits_sign_in_full_once_renewal_is_due(pool: PgPool) {
    let f = fixture(pool.clone()).await;
    let id = f.domain("example.com").await;
    let patch: apex_core::settings::SettingsPatch =
        serde_json::from_value(serde_json::json!({"dnssec": {"enabled": true}})).unwrap();
    apex_core::domains::update(&f.ctx.core, &f.actor, "example.com", &patch)
        .await
        .unwrap();
    publish_zone(&f.ctx, id).await.unwrap();
    let newest_is_whole = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT data IS NOT NULL FROM zone_versions WHERE domain_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(id.0)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert!(newest_is_whole().await);
    f.add_a("example.com", "www", "192.0.2.1").await;
    publish_zone(&f.ctx, id).await.unwrap();
    assert!(!newest_is_whole().await, "an edit is signed incrementally");
    sqlx::query("UPDATE domains SET dnssec_signed_at = now() - interval '8 days' WHERE id = $1")
        .bind(id.0)
        .execute(&pool)
        .await
        .unwrap();
    f.add_a("example.com", "www", "192.0.2.2").await;
    publish_zone(&f.ctx, id).await.unwrap();
    assert!(newest_is_whole().await, "renewal due: signed in full");
    let fresh: bool = sqlx::query_scalar(
        "SELECT dnssec_signed_at > now() - interval '1 minute' FROM domains WHERE id = $1",
    )
    .bind(id.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(fresh);
}
