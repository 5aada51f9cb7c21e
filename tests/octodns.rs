//! octoDNS (issue 15 acceptance), unmodified from PyPI (`octodns`, `octodns-bind`): a YAML
//! zone is synced into Apex through `Rfc2136Provider` (which reads the zone by AXFR and sends
//! the differences as RFC 2136 UPDATE, signed with a domain's TSIG key), Apex publishes it,
//! `AxfrSource` reads it back equal to the YAML, and a second sync plans no change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../dnsserver/tests/common/peers.rs"]
mod peers;

use std::path::Path;
use std::time::Duration;

use common::{Env, shared_redis, test_config};
use hickory_proto::rr::RecordType;
use peers::TempDir;
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

const ZONE: &str = "oct.test";

/// The zone as its owner keeps it in git. The apex NS are the platform's (octoDNS manages
/// root NS where a provider has them; listing them keeps the plan about the rest).
fn zone_yaml(ns: &[String]) -> String {
    let ns: Vec<String> = ns.iter().map(|n| format!("      - {n}")).collect();
    format!(
        r#"---
'':
  - type: NS
    ttl: 3600
    values:
{}
  - type: A
    ttl: 300
    values:
      - 192.0.2.1
      - 192.0.2.2
  - type: MX
    values:
      - exchange: mail.oct.test.
        preference: 10
      - exchange: backup.example.net.
        preference: 20
  - type: TXT
    values:
      - v=spf1 mx -all
      - google-site-verification=abc123
  - type: CAA
    value:
      flags: 0
      tag: issue
      value: letsencrypt.org
_sip._tcp:
  type: SRV
  value:
    port: 5060
    priority: 10
    target: sip.oct.test.
    weight: 20
mail:
  - type: A
    value: 192.0.2.25
  - type: AAAA
    value: 2001:db8::25
notes:
  type: TXT
  value: a note with spaces\; and a semicolon
sip:
  type: A
  ttl: 60
  value: 192.0.2.50
www:
  type: CNAME
  value: oct.test.
"#,
        ns.join("\n")
    )
}

fn write_config(dir: &Path, env: &Env, key: &str, source: &str, target: &str) -> String {
    // `algorithm:name:secret`, as the API gives it for nsupdate.
    let mut parts = key.splitn(3, ':');
    let (alg, name, secret) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let transfer = env.platform.transfer;
    let apex = |class: &str| {
        format!(
            "    class: octodns_bind.{class}\n    host: {}\n    port: {}\n    key_name: {name}.\n    key_secret: {secret}\n    key_algorithm: {alg}\n",
            transfer.ip(),
            transfer.port()
        )
    };
    let config = format!(
        "---\nproviders:\n  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: {}\n    default_ttl: 3600\n    enforce_order: false\n  apex:\n{}  axfr:\n{}zones:\n  {ZONE}.:\n    sources:\n      - {source}\n    targets:\n      - {target}\n",
        dir.join("zones").display(),
        apex("Rfc2136Provider"),
        apex("AxfrSource"),
    );
    let path = dir.join(format!("{source}-to-{target}.yaml"));
    std::fs::write(&path, config).unwrap();
    path.display().to_string()
}

/// Runs `octodns-sync` (with `--doit` when `doit`): its exit status and everything it printed.
async fn sync(config: &str, doit: bool) -> (bool, String) {
    let mut args = vec!["--config-file", config, "--log-stream-stdout"];
    if doit {
        args.push("--doit");
    }
    let out = tokio::process::Command::new("octodns-sync")
        .args(&args)
        .output()
        .await
        .expect("octodns-sync not installed (make test installs octodns and octodns-bind)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The plan's verdict, from octoDNS's own summary lines.
fn no_changes(out: &str) -> bool {
    out.contains("No changes were planned")
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn octodns_syncs_a_yaml_zone_and_reads_it_back(pool: PgPool) {
    let (config, key) = test_config(&shared_redis(), 3600);
    let ns: Vec<String> = config
        .platform()
        .unwrap()
        .apex_ns
        .hosts
        .iter()
        .map(ToString::to_string)
        .collect();
    let env = Env::start(pool, config, key).await;
    env.create_domain(ZONE).await;
    let (s, created) = env
        .api(
            Method::POST,
            &format!("/api/v1/domains/{ZONE}/tsig-keys"),
            Some(json!({"name": "octodns", "transfer": true, "description": "octoDNS from CI"})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let key = created["nsupdate"].as_str().unwrap().to_string();

    let dir = TempDir::new("octodns");
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(
        dir.path().join("zones").join(format!("{ZONE}.yaml")),
        zone_yaml(&ns),
    )
    .unwrap();
    let push = write_config(dir.path(), &env, &key, "config", "apex");

    // The first sync plans the records and applies them by UPDATE.
    let (ok, out) = sync(&push, true).await;
    assert!(ok, "{out}");
    assert!(!no_changes(&out), "{out}");
    // Published, and served by the nameserver.
    env.wait_for(
        &format!("sip.{ZONE}."),
        RecordType::A,
        Duration::from_secs(20),
        |m| common::a_records(m) == ["192.0.2.50"],
    )
    .await;
    let (s, changes) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/changes"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        changes["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["by"]["via"] == "dns-update" && c["by"]["tsig_key"] == "octodns.oct.test."),
        "{changes}"
    );

    // A second sync plans nothing: what Apex serves is what the YAML says.
    let (ok, out) = sync(&push, false).await;
    assert!(ok, "{out}");
    assert!(no_changes(&out), "a second sync planned changes:\n{out}");

    // AxfrSource reads the zone back: synced towards the YAML, nothing differs.
    let pull = write_config(dir.path(), &env, &key, "axfr", "config");
    let (ok, out) = sync(&pull, false).await;
    assert!(ok, "{out}");
    assert!(
        no_changes(&out),
        "the zone read back by AXFR differs from the YAML:\n{out}"
    );

    // A change in git reaches Apex with the next sync, and only it.
    let yaml = zone_yaml(&ns).replace("value: 192.0.2.50", "value: 192.0.2.51");
    std::fs::write(dir.path().join("zones").join(format!("{ZONE}.yaml")), yaml).unwrap();
    let (ok, out) = sync(&push, true).await;
    assert!(ok, "{out}");
    assert!(out.contains("Update"), "{out}");
    env.wait_for(
        &format!("sip.{ZONE}."),
        RecordType::A,
        Duration::from_secs(20),
        |m| common::a_records(m) == ["192.0.2.51"],
    )
    .await;
    let (ok, out) = sync(&push, false).await;
    assert!(ok && no_changes(&out), "{out}");
}
