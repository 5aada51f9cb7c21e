//! RFC 2136 UPDATE with the real client, BIND's `nsupdate -y`, sent to the nameserver (the
//! zone's MNAME in real life), which forwards it to the primary: additions, changes and
//! deletions with prerequisites; a key limited to `_acme-challenge.*` TXT refused for anything
//! else; another domain's key NOTAUTH; nothing partial ever applied; every use audited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Env, a_records, shared_redis, test_config};
use hickory_proto::rr::RecordType;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;

const ZONE: &str = "upd.test";

/// `nsupdate -y key` with `script` for this file's zone.
async fn nsupdate(server: std::net::SocketAddr, key: &str, script: &str) -> (bool, String) {
    common::nsupdate(server, key, ZONE, script).await
}

async fn tsig_key(env: &Env, zone: &str, body: Value) -> String {
    let (s, created) = env
        .api(
            Method::POST,
            &format!("/api/v1/domains/{zone}/tsig-keys"),
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert!(created["secret"].as_str().unwrap().len() >= 40);
    created["nsupdate"].as_str().unwrap().to_string()
}

async fn records(env: &Env) -> Vec<(String, String, String)> {
    let (s, body) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/records"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let mut v: Vec<(String, String, String)> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["type"].as_str().unwrap().to_string(),
                r["content"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn nsupdate_with_scoped_keys(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool, config, key).await;
    env.create_domain(ZONE).await;
    env.create_domain("other.test").await;
    let dns = env.platform.dns;
    let full = tsig_key(&env, ZONE, json!({"name": "ddns"})).await;
    let acme = tsig_key(
        &env,
        ZONE,
        json!({"name": "certbot", "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}]}),
    )
    .await;
    let other = tsig_key(&env, "other.test", json!({"name": "ddns"})).await;

    // The listing shows limits, never the secret.
    let (_, list) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/tsig-keys"),
            None,
        )
        .await;
    assert_eq!(list["tsig_keys"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(full.rsplit(':').next().unwrap()));
    assert_eq!(list["tsig_keys"][0]["name"], "ddns.upd.test.");

    // Add with a prerequisite (the name must not exist yet).
    let (ok, out) = nsupdate(
        dns,
        &full,
        "prereq nxdomain www.upd.test.\nupdate add www.upd.test. 300 A 192.0.2.1\nupdate add www.upd.test. 300 A 192.0.2.2",
    )
    .await;
    assert!(ok, "{out}");
    env.wait_for(
        &format!("www.{ZONE}"),
        RecordType::A,
        Duration::from_secs(10),
        |m| a_records(m) == ["192.0.2.1", "192.0.2.2"],
    )
    .await;

    // The same prerequisite fails now: YXDOMAIN, and its update is not applied.
    let (ok, out) = nsupdate(
        dns,
        &full,
        "prereq nxdomain www.upd.test.\nupdate add www.upd.test. 300 A 192.0.2.9",
    )
    .await;
    assert!(!ok && out.contains("YXDOMAIN"), "{out}");

    // A value-dependent prerequisite, then a change: one record out, one in.
    let (ok, out) = nsupdate(
        dns,
        &full,
        "prereq yxrrset www.upd.test. A 192.0.2.1\nprereq yxrrset www.upd.test. A 192.0.2.2\nupdate delete www.upd.test. A 192.0.2.1\nupdate add www.upd.test. 300 A 192.0.2.3",
    )
    .await;
    assert!(ok, "{out}");
    env.wait_for(
        &format!("www.{ZONE}"),
        RecordType::A,
        Duration::from_secs(10),
        |m| a_records(m) == ["192.0.2.2", "192.0.2.3"],
    )
    .await;
    let (ok, out) = nsupdate(
        dns,
        &full,
        "prereq yxrrset www.upd.test. A 192.0.2.1\nupdate add x.upd.test. 60 TXT x",
    )
    .await;
    assert!(!ok && out.contains("NXRRSET"), "{out}");
    let (ok, out) = nsupdate(
        dns,
        &full,
        "prereq nxrrset www.upd.test. A\nupdate add x.upd.test. 60 TXT x",
    )
    .await;
    assert!(!ok && out.contains("YXRRSET"), "{out}");
    let (ok, out) = nsupdate(
        dns,
        &full,
        "prereq yxdomain nothing.upd.test.\nupdate add x.upd.test. 60 TXT x",
    )
    .await;
    assert!(!ok && out.contains("NXDOMAIN"), "{out}");

    // Nothing partial: the first update is fine, the second breaks a rule (CNAME beside A).
    let before = records(&env).await;
    let (ok, out) = nsupdate(
        dns,
        &full,
        "update add ok.upd.test. 300 A 192.0.2.7\nupdate add www.upd.test. 300 CNAME ok.upd.test.",
    )
    .await;
    assert!(!ok && out.contains("REFUSED"), "{out}");
    assert_eq!(
        records(&env).await,
        before,
        "nothing of a refused update is applied"
    );
    // The platform's apex NS cannot be taken over.
    let (ok, out) = nsupdate(dns, &full, "update add upd.test. 300 NS ns.evil.test.").await;
    assert!(!ok && out.contains("REFUSED"), "{out}");

    // The challenge key: its TXT records, nothing else.
    let (ok, out) = nsupdate(
        dns,
        &acme,
        "update add _acme-challenge.upd.test. 60 TXT token-1",
    )
    .await;
    assert!(ok, "{out}");
    for script in [
        "check-names no\nupdate add _acme-challenge.upd.test. 60 A 192.0.2.1",
        "update add www.upd.test. 60 TXT token-2",
        // One allowed update and one not: the whole message is refused.
        "update add _acme-challenge.www.upd.test. 60 TXT token-3\nupdate delete www.upd.test. A",
    ] {
        let (ok, out) = nsupdate(dns, &acme, script).await;
        assert!(!ok && out.contains("REFUSED"), "{script}: {out}");
    }
    // Another domain's key: NOTAUTH.
    let (ok, out) = nsupdate(dns, &other, "update add www.upd.test. 60 A 192.0.2.5").await;
    assert!(!ok && out.contains("NOTAUTH"), "{out}");
    // A wrong secret: NOTAUTH (BADSIG), signed answers only for the key's holder.
    let forged = format!(
        "{}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        &full[..full.rfind(':').unwrap() + 1]
    );
    let (ok, out) = nsupdate(dns, &forged, "update add www.upd.test. 60 A 192.0.2.5").await;
    assert!(!ok, "{out}");
    let www = env.query(&format!("www.{ZONE}"), RecordType::A).await;
    assert_eq!(a_records(&www), ["192.0.2.2", "192.0.2.3"]);

    // Deletions: one RRset, then the challenge record by the challenge key.
    let (ok, out) = nsupdate(dns, &full, "update delete www.upd.test. A").await;
    assert!(ok, "{out}");
    let (ok, out) = nsupdate(dns, &acme, "update delete _acme-challenge.upd.test. TXT").await;
    assert!(ok, "{out}");
    env.wait_for(
        &format!("www.{ZONE}"),
        RecordType::A,
        Duration::from_secs(10),
        |m| a_records(m).is_empty(),
    )
    .await;
    assert!(
        !records(&env)
            .await
            .iter()
            .any(|(n, _, _)| n.starts_with("www") || n.starts_with("_acme")),
        "{:?}",
        records(&env).await
    );

    // Changes say how they were made and with which key; every use is in the audit log.
    let (_, changes) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/changes"),
            None,
        )
        .await;
    let by_update: Vec<&Value> = changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["by"]["via"] == "dns-update")
        .collect();
    assert_eq!(by_update.len(), 5, "{changes}");
    assert!(by_update.iter().all(|c| c["action"] == "dns.update"));
    assert!(
        by_update
            .iter()
            .any(|c| c["by"]["tsig_key"] == "certbot.upd.test.")
    );
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE event = 'tsig_key.use' AND NOT success",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!(refused >= 9, "{refused} refusals audited");

    // A deleted key stops working at once.
    let (_, list) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/tsig-keys"),
            None,
        )
        .await;
    let id = list["tsig_keys"][0]["id"].as_i64().unwrap();
    let (s, _) = env
        .api(
            Method::DELETE,
            &format!("/api/v1/domains/{ZONE}/tsig-keys/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (ok, out) = nsupdate(dns, &full, "update add www.upd.test. 60 A 192.0.2.5").await;
    assert!(!ok && out.contains("NOTAUTH"), "{out}");
}

/// Item 5: UPDATE is limited per key and per zone; over a limit the answer is REFUSED,
/// nothing is applied, and the refusal is in the audit log.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn updates_over_a_rate_limit_are_refused_and_audited(pool: PgPool) {
    let (mut config, key) = test_config(&shared_redis(), 3600);
    // Bursts of 10 per key, 15 per zone (a quarter of the minute's budget, at least 10).
    config.update_per_minute_per_key = 10;
    config.update_per_minute_per_zone = 60;
    let env = Env::start(pool, config, key).await;
    env.create_domain(ZONE).await;
    let dns = env.platform.dns;
    let first = tsig_key(&env, ZONE, json!({"name": "first"})).await;
    let second = tsig_key(&env, ZONE, json!({"name": "second"})).await;
    let add = |i: usize| format!("update add n{i}.upd.test. 60 TXT \"{i}\"");

    for i in 0..10 {
        let (ok, out) = nsupdate(dns, &first, &add(i)).await;
        assert!(ok, "update {i}: {out}");
    }
    // The key's burst is spent.
    let (ok, out) = nsupdate(dns, &first, &add(10)).await;
    assert!(!ok && out.contains("REFUSED"), "{out}");
    // Another key of the zone goes on, until the zone's burst is spent.
    for i in 11..16 {
        let (ok, out) = nsupdate(dns, &second, &add(i)).await;
        assert!(ok, "update {i}: {out}");
    }
    let (ok, out) = nsupdate(dns, &second, &add(16)).await;
    assert!(!ok && out.contains("REFUSED"), "{out}");

    let names: Vec<String> = records(&env).await.into_iter().map(|r| r.0).collect();
    assert!(names.iter().any(|n| n == "n15"), "{names:?}");
    assert!(
        !names.iter().any(|n| n == "n10" || n == "n16"),
        "a refused update was applied: {names:?}"
    );
    let (_, audit) = env
        .api(
            Method::GET,
            "/api/v1/audit?all=true&event=tsig_key.use",
            None,
        )
        .await;
    let limited: Vec<&Value> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["success"] == false
                && e["detail"]["rcode"] == "REFUSED"
                && e["detail"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("rate limit"))
        })
        .collect();
    assert_eq!(limited.len(), 2, "{audit}");
    assert!(
        limited
            .iter()
            .any(|e| e["detail"]["reason"].as_str().unwrap().contains("per key"))
    );
    assert!(
        limited
            .iter()
            .any(|e| e["detail"]["reason"].as_str().unwrap().contains("per zone"))
    );
}
