//! A real ACME client gets a certificate through a scoped key: certbot, with two small curl
//! hook scripts, answers DNS-01 challenges from Pebble (Let's Encrypt's test CA), which really
//! queries Apex's nameserver. The key may only write `_acme-challenge.*` TXT records of one
//! domain, and that is all certbot needs.
//!
//! `make test` installs certbot, pebble, curl and jq; without them the test says so and passes.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../dnsserver/tests/common/peers.rs"]
mod peers;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, api_request, rcode, shared_redis, test_config};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use peers::{TempDir, free_port};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;

const ZONE: &str = "acme-e2e.test";

/// certbot's `--manual-auth-hook`: adds the challenge's TXT record with the scoped key, then
/// waits until every nameserver serves it (the change is `in_sync`), so the CA's lookup finds it.
const AUTH_HOOK: &str = r#"#!/bin/sh
set -eu
api="$APEX_URL/api/v1/domains/$APEX_ZONE"
body=$(jq -n --arg name "_acme-challenge.$CERTBOT_DOMAIN." --arg txt "\"$CERTBOT_VALIDATION\"" \
  '{name: $name, type: "TXT", ttl: 60, content: $txt}')
created=$(curl -sSf -H "Authorization: Bearer $APEX_TOKEN" -H 'Content-Type: application/json' \
  -d "$body" "$api/records")
change=$(echo "$created" | jq -r .change.id)
echo "auth $CERTBOT_DOMAIN record=$(echo "$created" | jq -r .record.id) change=$change" >>"$HOOK_LOG"
i=0
while [ "$(curl -sSf -H "Authorization: Bearer $APEX_TOKEN" "$api/changes/$change" | jq -r .state)" != in_sync ]; do
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then echo "change $change not in sync after 30 s" >&2; exit 1; fi
  sleep 0.1
done
"#;

/// certbot's `--manual-cleanup-hook`: finds the challenge's TXT record and deletes it.
const CLEANUP_HOOK: &str = r#"#!/bin/sh
set -eu
api="$APEX_URL/api/v1/domains/$APEX_ZONE"
ids=$(curl -sSf -H "Authorization: Bearer $APEX_TOKEN" "$api/records" \
  | jq -r --arg fqdn "_acme-challenge.$CERTBOT_DOMAIN." --arg txt "$CERTBOT_VALIDATION" \
      '.records[] | select(.type == "TXT" and .fqdn == $fqdn and .text == $txt) | .id')
for id in $ids; do
  change=$(curl -sSf -X DELETE -H "Authorization: Bearer $APEX_TOKEN" "$api/records/$id" | jq -r .change.id)
  echo "cleanup $CERTBOT_DOMAIN record=$id change=$change" >>"$HOOK_LOG"
done
"#;

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn certbot_gets_a_certificate_with_a_challenge_only_key(pool: PgPool) {
    let missing: Vec<&str> = ["pebble", "certbot", "curl", "jq", "openssl"]
        .into_iter()
        .filter(|p| in_path(p).is_none())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED certbot_gets_a_certificate_with_a_challenge_only_key: {} not installed \
             (scripts/test.sh installs them; or apt-get install pebble certbot curl jq openssl)",
            missing.join(", ")
        );
        return;
    }
    let started = Instant::now();
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool, config, key).await;
    env.create_domain(ZONE).await;
    env.create_domain("acme-other.test").await;

    // The key a user would give certbot: one domain, challenge TXT records only.
    let (s, created) = env
        .api(
            Method::POST,
            "/api/v1/keys",
            Some(json!({
                "description": "certbot",
                "domains": [ZONE],
                "role": "write",
                "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}],
            })),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let scoped = created["token"].as_str().unwrap().to_string();
    let scoped_id = created["id"].as_i64().unwrap();

    let dir = TempDir::new("acme-certbot");
    let pebble = Pebble::start(dir.path(), env.platform.dns).await;
    let hooks = dir.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let auth_hook = script(&hooks, "auth.sh", AUTH_HOOK);
    let setup = started.elapsed();

    let certbot = Certbot {
        dir: dir.path(),
        pebble: &pebble,
        api: env.url(""),
        token: scoped.clone(),
        cleanup_hook: script(&hooks, "cleanup.sh", CLEANUP_HOOK),
        hook_log: dir.path().join("hooks.log"),
    };
    let certbot_started = Instant::now();
    let out = certbot
        .run(&auth_hook, &[ZONE, &format!("www.{ZONE}")])
        .await;
    let certbot_took = certbot_started.elapsed();
    assert!(out.status.success(), "{}", certbot.report(&out));
    let hooks_ran = std::fs::read_to_string(&certbot.hook_log).unwrap();

    // The certificate, for both names.
    let fullchain = dir.path().join(format!("config/live/{ZONE}/fullchain.pem"));
    let pem = std::fs::read_to_string(&fullchain)
        .unwrap_or_else(|e| panic!("no {}: {e}", fullchain.display()));
    assert!(pem.contains("-----BEGIN CERTIFICATE-----"), "{pem}");
    let san = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(&fullchain)
        .output()
        .unwrap();
    let san = String::from_utf8_lossy(&san.stdout);
    assert!(
        san.contains(&format!("DNS:{ZONE}")) && san.contains(&format!("DNS:www.{ZONE}")),
        "{san}"
    );
    // Each hook ran for each name, and every change was the scoped key's.
    let lines: Vec<&str> = hooks_ran.lines().collect();
    for (hook, name) in [
        ("auth", ZONE.to_string()),
        ("auth", format!("www.{ZONE}")),
        ("cleanup", ZONE.to_string()),
        ("cleanup", format!("www.{ZONE}")),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{hook} {name} record="))),
            "no {hook} hook for {name}:\n{hooks_ran}"
        );
    }
    for line in &lines {
        let change = line.rsplit("change=").next().unwrap();
        let (s, c) = env
            .api(
                Method::GET,
                &format!("/api/v1/domains/{ZONE}/changes/{change}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{line}: {c}");
        assert_eq!(c["by"]["api_key_id"], json!(scoped_id), "{line}: {c}");
        assert_eq!(c["by"]["via"], "api", "{c}");
    }

    // The challenge records are gone, from the API and from the nameserver.
    let (s, records) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/records"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{records}");
    let leftover: Vec<&Value> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "TXT" || r["name"].as_str().unwrap().contains("_acme"))
        .collect();
    assert!(leftover.is_empty(), "left behind: {leftover:?}");
    for name in [ZONE.to_string(), format!("www.{ZONE}")] {
        env.wait_for(
            &format!("_acme-challenge.{name}."),
            RecordType::TXT,
            Duration::from_secs(5),
            |m| rcode(m) == ResponseCode::NXDomain && m.answers.is_empty(),
        )
        .await;
    }

    // The same key, used as the hook uses it, for anything else: refused.
    for (zone, name, rtype, content, what) in [
        (ZONE, "_acme-challenge", "A", "192.0.2.1", "an A record"),
        (
            ZONE,
            "www",
            "TXT",
            "\"x\"",
            "a TXT record outside _acme-challenge",
        ),
        (
            "acme-other.test",
            "_acme-challenge",
            "TXT",
            "\"x\"",
            "another domain",
        ),
    ] {
        let body = json!({"name": name, "type": rtype, "ttl": 60, "content": content});
        let url = env.url(&format!("/api/v1/domains/{zone}/records"));
        let (s, b) = api_request(&env.http, &url, &scoped, Method::POST, Some(body)).await;
        assert_eq!(s, 403, "{what}: {b}");
    }
    // A control: a hook that publishes nothing gets no certificate, so Pebble really looks
    // the challenges up in Apex's nameserver.
    let lying_hook = script(&hooks, "publish-nothing.sh", "#!/bin/sh\nexit 0\n");
    let out = certbot
        .run(&lying_hook, &[&format!("nothing.{ZONE}")])
        .await;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success()
            && said.contains("Error retrieving TXT records for DNS challenge")
            && said.contains(&format!("_acme-challenge.nothing.{ZONE}")),
        "{}",
        certbot.report(&out)
    );
    eprintln!(
        "certbot {certbot_took:?} (platform and pebble up in {setup:?}), total {:?}",
        started.elapsed()
    );
}

/// certbot's own RFC 2136 plugin (python3-certbot-dns-rfc2136), unmodified, with a TSIG key
/// that may write `_acme-challenge.*` TXT records only, sent to Apex's nameserver as it would
/// be to a zone's MNAME: the nameserver forwards the UPDATE to the primary.
#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn certbot_rfc2136_plugin_with_a_challenge_only_tsig_key(pool: PgPool) {
    // The plugin must be importable by certbot's own Python (its `#!` line).
    let certbot_python = in_path("certbot")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.trim_start_matches("#!").trim().to_string())
        })
        .unwrap_or_else(|| "python3".into());
    let plugin_installed = Command::new(&certbot_python)
        .args(["-c", "import certbot_dns_rfc2136"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ["pebble", "certbot"].iter().any(|p| in_path(p).is_none()) || !plugin_installed {
        eprintln!(
            "SKIPPED certbot_rfc2136_plugin_with_a_challenge_only_tsig_key: pebble, certbot or \
             python3-certbot-dns-rfc2136 not installed (scripts/test.sh installs them)"
        );
        return;
    }
    let started = Instant::now();
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool, config, key).await;
    env.create_domain(ZONE).await;
    let (s, created) = env
        .api(
            Method::POST,
            &format!("/api/v1/domains/{ZONE}/tsig-keys"),
            Some(json!({
                "name": "certbot",
                "algorithm": "hmac-sha512",
                "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}],
            })),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let dir = TempDir::new("acme-rfc2136");
    let credentials = dir.path().join("rfc2136.ini");
    std::fs::write(
        &credentials,
        format!(
            "dns_rfc2136_server = {}\ndns_rfc2136_port = {}\ndns_rfc2136_name = {}\n\
             dns_rfc2136_secret = {}\ndns_rfc2136_algorithm = HMAC-SHA512\n",
            env.platform.dns.ip(),
            env.platform.dns.port(),
            created["name"].as_str().unwrap(),
            created["secret"].as_str().unwrap(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pebble = Pebble::start(dir.path(), env.platform.dns).await;
    let certbot = Certbot {
        dir: dir.path(),
        pebble: &pebble,
        api: env.url(""),
        token: String::new(),
        cleanup_hook: PathBuf::new(),
        hook_log: dir.path().join("hooks.log"),
    };
    let plugin = [
        "--dns-rfc2136".into(),
        "--dns-rfc2136-credentials".into(),
        credentials.as_os_str().to_owned(),
        // The change is on every nameserver within a second (the e2e tests measure it).
        "--dns-rfc2136-propagation-seconds".into(),
        "2".into(),
    ];
    let certbot_started = Instant::now();
    let out = certbot
        .run_with(&plugin, &[ZONE, &format!("www.{ZONE}")])
        .await;
    let certbot_took = certbot_started.elapsed();
    assert!(out.status.success(), "{}", certbot.report(&out));
    let fullchain = dir.path().join(format!("config/live/{ZONE}/fullchain.pem"));
    let pem = std::fs::read_to_string(&fullchain)
        .unwrap_or_else(|e| panic!("no {}: {e}", fullchain.display()));
    assert!(pem.contains("-----BEGIN CERTIFICATE-----"), "{pem}");

    // The plugin added and removed the challenges through UPDATE, as the key's changes show.
    let (_, changes) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/changes"),
            None,
        )
        .await;
    let by_key: Vec<&Value> = changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["by"]["tsig_key"] == format!("certbot.{ZONE}."))
        .collect();
    assert!(by_key.len() >= 4, "{changes}");
    assert!(by_key.iter().all(|c| c["by"]["via"] == "dns-update"));
    let (_, records) = env
        .api(
            Method::GET,
            &format!("/api/v1/domains/{ZONE}/records"),
            None,
        )
        .await;
    assert!(
        !records.to_string().contains("_acme-challenge"),
        "challenges left behind: {records}"
    );
    for name in [ZONE.to_string(), format!("www.{ZONE}")] {
        env.wait_for(
            &format!("_acme-challenge.{name}."),
            RecordType::TXT,
            Duration::from_secs(5),
            |m| rcode(m) == ResponseCode::NXDomain && m.answers.is_empty(),
        )
        .await;
    }
    eprintln!(
        "certbot --dns-rfc2136 {certbot_took:?}, total {:?}",
        started.elapsed()
    );
}

/// Where `name` is on `PATH`.
fn in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Writes an executable script.
fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// certbot against Pebble, with `--manual` hooks that call Apex with one API key.
struct Certbot<'a> {
    dir: &'a Path,
    pebble: &'a Pebble,
    /// The API's base URL.
    api: String,
    token: String,
    cleanup_hook: PathBuf,
    /// Each hook appends a line per record it adds or deletes.
    hook_log: PathBuf,
}

impl Certbot<'_> {
    /// `certbot certonly --manual` with the hooks for `names`, which must be done within 60 s.
    async fn run(&self, auth_hook: &Path, names: &[&str]) -> std::process::Output {
        let manual = [
            "--manual".into(),
            "--preferred-challenges".into(),
            "dns".into(),
            "--manual-auth-hook".into(),
            auth_hook.as_os_str().to_owned(),
            "--manual-cleanup-hook".into(),
            self.cleanup_hook.as_os_str().to_owned(),
        ];
        self.run_with(&manual, names).await
    }

    /// `certbot certonly` with the authenticator `plugin` (its arguments) for `names`.
    async fn run_with(
        &self,
        plugin: &[std::ffi::OsString],
        names: &[&str],
    ) -> std::process::Output {
        let mut cmd = tokio::process::Command::new("certbot");
        cmd.arg("certonly")
            .args(plugin)
            .args(["--server", &self.pebble.directory()])
            .arg("--config-dir")
            .arg(self.dir.join("config"))
            .arg("--work-dir")
            .arg(self.dir.join("work"))
            .arg("--logs-dir")
            .arg(self.dir.join("logs"))
            .args(["--agree-tos", "--register-unsafely-without-email"])
            .arg("--non-interactive");
        for name in names {
            cmd.args(["-d", name]);
        }
        // Pebble's HTTPS certificate is the one it was started with.
        cmd.env("REQUESTS_CA_BUNDLE", self.pebble.dir.join("cert.pem"))
            .env("APEX_URL", &self.api)
            .env("APEX_ZONE", ZONE)
            .env("APEX_TOKEN", &self.token)
            .env("HOOK_LOG", &self.hook_log)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("certbot still running after 60 s\n{}", self.pebble.log()))
            .expect("certbot runs")
    }

    /// What certbot, the hooks and Pebble said.
    fn report(&self, out: &std::process::Output) -> String {
        format!(
            "certbot {}:\n{}\n{}\nhooks:\n{}\ncertbot log:\n{}\npebble:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.hook_log).unwrap_or_default(),
            std::fs::read_to_string(self.dir.join("logs/letsencrypt.log")).unwrap_or_default(),
            self.pebble.log(),
        )
    }
}

/// Pebble on loopback ports of its own, validating DNS-01 against `dns`; killed when dropped.
struct Pebble {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Pebble {
    async fn start(parent: &Path, dns: SocketAddr) -> Self {
        let dir = parent.join("pebble");
        std::fs::create_dir_all(&dir).unwrap();
        // Its HTTPS certificate, which certbot is told to trust.
        let openssl = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=pebble", "-addext"])
            .args(["subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout"])
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .output()
            .unwrap();
        assert!(
            openssl.status.success(),
            "{}",
            String::from_utf8_lossy(&openssl.stderr)
        );
        let (port, management) = (free_port(), free_port());
        let config = json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.join("cert.pem"),
            "privateKey": dir.join("key.pem"),
            // HTTP-01 and TLS-ALPN-01 are not used here.
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let log = std::fs::File::create(dir.join("pebble.log")).unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .args(["-dnsserver", &dns.to_string()])
            // Validate at once, accept every good nonce, and really validate.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env_remove("PEBBLE_VA_ALWAYS_VALID")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("pebble starts");
        let pebble = Self { child, port, dir };
        let start = Instant::now();
        while !pebble.log().contains("Listening on:") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "pebble did not start:\n{}",
                pebble.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pebble
    }

    fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
