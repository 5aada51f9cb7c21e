//! DNSSEC through the platform (RFC 4033-4035, 5155, 7344, 8078): a domain turned on through
//! the API is published signed; what the hidden primary transfers, and what the nameserver
//! serves after its own transfer, pass `dnssec-verify` and `ldns-verify-zone`, with NSEC3 and
//! with NSEC, after edits, and while turning DNSSEC off (CDS delete records first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Env, shared_redis, test_config};
use hickory_proto::rr::RecordType;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::process::Command;

/// The zone transferred from `server` with the fleet key, as dig prints it.
async fn axfr(server: SocketAddr, zone: &str, key: &apex_net::TsigKey) -> String {
    let out = Command::new("dig")
        .arg(format!("@{}", server.ip()))
        .args([
            "-p",
            &server.port().to_string(),
            zone,
            "AXFR",
            "-y",
            &key.dig_arg(),
        ])
        .args(["+nocmd", "+nostats", "+nocomments"])
        .output()
        .await
        .expect("dig (make test installs bind9-dnsutils)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains("tsig verify failure"), "{text}");
    // The closing SOA and TSIG lines out: a zone file.
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("\tTSIG\t"))
        .collect();
    lines.pop();
    lines.join("\n") + "\n"
}

async fn verify(what: &str, zone: &str, text: &str) {
    let dir = std::env::temp_dir().join(format!(
        "apex-dnssec-{}-{}",
        std::process::id(),
        what.replace(' ', "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("zone");
    std::fs::write(&file, text).unwrap();
    let ldns = Command::new("ldns-verify-zone")
        .arg(&file)
        .output()
        .await
        .expect("ldns-verify-zone");
    assert!(
        ldns.status.success(),
        "{what}: ldns-verify-zone:\n{}{}\n{text}",
        String::from_utf8_lossy(&ldns.stdout),
        String::from_utf8_lossy(&ldns.stderr)
    );
    let bind = Command::new("dnssec-verify")
        .args(["-z", "-o", zone])
        .arg(&file)
        .output()
        .await
        .expect("dnssec-verify");
    assert!(
        bind.status.success(),
        "{what}: dnssec-verify:\n{}{}\n{text}",
        String::from_utf8_lossy(&bind.stdout),
        String::from_utf8_lossy(&bind.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// PATCHes the domain and waits until the nameserver serves the new serial.
async fn patch_and_wait(env: &Env, body: Value) -> Value {
    let (s, b) = env
        .api(Method::PATCH, "/api/v1/domains/example.com", Some(body))
        .await;
    assert_eq!(s, 200, "{b}");
    wait_serial(env, b["change"]["serial"].as_u64().unwrap()).await;
    b
}

async fn wait_serial(env: &Env, serial: u64) {
    env.wait_for(
        "example.com.",
        RecordType::SOA,
        Duration::from_secs(10),
        |m| {
            m.answers.iter().any(|r| match &r.data {
                hickory_proto::rr::RData::SOA(s) => u64::from(s.serial) == serial,
                _ => false,
            })
        },
    )
    .await;
}

async fn both_verify(env: &Env, what: &str) -> String {
    let primary = axfr(env.platform.transfer, "example.com", &env.key).await;
    verify(&format!("{what} primary"), "example.com", &primary).await;
    let served = axfr(env.platform.dns, "example.com", &env.key).await;
    verify(&format!("{what} nameserver"), "example.com", &served).await;
    served
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn signed_zones_verify_through_their_life(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool, config, key).await;
    env.create_domain("example.com").await;
    for (name, rtype, content) in [
        ("www", "A", "192.0.2.1"),
        ("www", "AAAA", "2001:db8::1"),
        ("@", "MX", "10 mail.example.com."),
        ("mail", "A", "192.0.2.2"),
        ("*.wild", "TXT", "\"wildcard\""),
        ("deep.ent", "A", "192.0.2.3"),
        ("sub", "NS", "ns.sub.example.com."),
        ("ns.sub", "A", "192.0.2.53"),
        ("secure", "NS", "ns.other.example."),
        (
            "secure",
            "DS",
            "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
        ),
    ] {
        env.add_record("example.com", name, rtype, content).await;
    }

    // On, with NSEC3.
    let b = patch_and_wait(&env, json!({"dnssec": {"enabled": true}})).await;
    assert_eq!(b["domain"]["dnssec"], "signed");
    let zone = both_verify(&env, "nsec3").await;
    assert!(
        zone.contains("NSEC3PARAM") && zone.contains("\tCDS\t"),
        "{zone}"
    );
    let (s, view) = env
        .api(Method::GET, "/api/v1/domains/example.com/dnssec", None)
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["state"], "signed");
    assert_eq!(view["keys"].as_array().unwrap().len(), 1);
    assert_eq!(view["keys"][0]["role"], "csk");
    assert!(
        view["ds"][0]
            .as_str()
            .unwrap()
            .starts_with("example.com. DS "),
        "{view}"
    );
    assert!(!view.to_string().contains("private"), "{view}");

    // An edit: still fully signed.
    let r = env.add_record("example.com", "new", "A", "192.0.2.9").await;
    wait_serial(&env, r["change"]["serial"].as_u64().unwrap()).await;
    both_verify(&env, "after an edit").await;

    // NSEC instead.
    patch_and_wait(&env, json!({"dnssec": {"denial": "nsec"}})).await;
    let zone = both_verify(&env, "nsec").await;
    assert!(!zone.contains("NSEC3PARAM"));
    // Edits under NSEC (incremental): a new name joins the chain, a name leaves it.
    let r = env
        .add_record("example.com", "nsec-new", "TXT", "\"hi\"")
        .await;
    wait_serial(&env, r["change"]["serial"].as_u64().unwrap()).await;
    both_verify(&env, "nsec, after adding a name").await;
    let id = r["record"]["id"].as_i64().unwrap();
    let (s, b) = env
        .api(
            Method::DELETE,
            &format!("/api/v1/domains/example.com/records/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    wait_serial(&env, b["change"]["serial"].as_u64().unwrap()).await;
    both_verify(&env, "nsec, after removing a name").await;

    // Off: first the CDS/CDNSKEY delete records, still signed ...
    let b = patch_and_wait(&env, json!({"dnssec": {"enabled": false}})).await;
    assert_eq!(b["domain"]["dnssec"], "disabling");
    let zone = both_verify(&env, "disabling").await;
    assert!(zone.contains("\tCDS\t0 0 0 00"), "{zone}");
    // ... then, forced, unsigned.
    patch_and_wait(&env, json!({"dnssec": {"enabled": false, "force": true}})).await;
    let zone = axfr(env.platform.dns, "example.com", &env.key).await;
    assert!(
        !zone.contains("RRSIG") && !zone.contains("DNSKEY"),
        "{zone}"
    );

    // And on again, with a KSK and a ZSK.
    patch_and_wait(
        &env,
        json!({"dnssec": {"enabled": true, "keys": "ksk+zsk", "algorithm": "ED25519"}}),
    )
    .await;
    both_verify(&env, "ksk+zsk ed25519").await;
    let r = env
        .add_record("example.com", "again", "A", "192.0.2.10")
        .await;
    wait_serial(&env, r["change"]["serial"].as_u64().unwrap()).await;
    both_verify(&env, "ksk+zsk ed25519, after an edit").await;
}

/// Scheduled work: signatures are renewed when they age, and a zone being turned off goes
/// unsigned once the removal delay has passed, each as a new version with a system change
/// made by the reconciler (every second here).
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn signatures_are_renewed_and_removal_completes(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool.clone(), config, key).await;
    env.create_domain("example.com").await;
    env.add_record("example.com", "www", "A", "192.0.2.1").await;
    patch_and_wait(&env, json!({"dnssec": {"enabled": true}})).await;
    // Nothing is due yet.
    assert!(
        apex_core::dnssec::maintain(&pool, 7 * 86_400, 48 * 3600)
            .await
            .unwrap()
            .is_empty()
    );

    // The serial of the newest system change `action` above serial `after`.
    let system_change = |action: &'static str, after: u64| {
        let pool = pool.clone();
        async move {
            for _ in 0..100 {
                let serial: Option<i64> = sqlx::query_scalar(
                    "SELECT max(serial) FROM changes WHERE via = 'system' AND action = $1 AND serial > $2",
                )
                .bind(action)
                .bind(i64::try_from(after).unwrap())
                .fetch_optional(&pool)
                .await
                .unwrap()
                .flatten();
                if let Some(s) = serial {
                    return u64::try_from(s).unwrap();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("the reconciler made no {action} change");
        }
    };

    let signed_long_ago = || async {
        sqlx::query(
            "UPDATE domains SET dnssec_signed_at = now() - interval '8 days' WHERE name = 'example.com'",
        )
        .execute(&pool)
        .await
        .unwrap();
    };
    // Signed in full eight days ago and not edited since: renewed by the reconciler.
    signed_long_ago().await;
    let renewed = system_change("dnssec.renew", 0).await;
    wait_serial(&env, renewed).await;
    both_verify(&env, "renewed (nsec3)").await;

    // The same with NSEC.
    patch_and_wait(&env, json!({"dnssec": {"denial": "nsec"}})).await;
    signed_long_ago().await;
    wait_serial(&env, system_change("dnssec.renew", renewed).await).await;
    let zone = both_verify(&env, "renewed (nsec)").await;
    assert!(!zone.contains("NSEC3"), "{zone}");

    // Being turned off for three days: removed.
    patch_and_wait(&env, json!({"dnssec": {"enabled": false}})).await;
    sqlx::query("UPDATE domains SET dnssec_disabling_since = now() - interval '3 days' WHERE name = 'example.com'")
        .execute(&pool)
        .await
        .unwrap();
    wait_serial(&env, system_change("dnssec.remove", 0).await).await;
    let zone = axfr(env.platform.dns, "example.com", &env.key).await;
    assert!(!zone.contains("RRSIG"), "{zone}");
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM dnssec_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(keys, 0);
}
