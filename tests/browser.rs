//! The dashboard in a real browser: Debian's Chromium, headless, driven through
//! chromedriver (WebDriver) against the whole platform running in-process, with its
//! nameserver answering `dig`. Each step saves a screenshot under `target/screenshots/`, and
//! axe-core checks every page for serious or critical accessibility violations.
//!
//! `make test` installs chromium, chromium-driver and axe-core (scripts/test.sh) and sets
//! `APEX_BROWSER_TESTS=required`; without them and that setting, the test says so and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;
#[path = "../dnsserver/tests/common/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::auth::totp;
use apex_core::users::{self, twofa};
use common::{Env, shared_redis, test_config};
use fantoccini::{Client, ClientBuilder, Locator};
use peers::free_port;
use serde_json::{Value, json};
use sqlx::PgPool;

const PASSWORD: &str = "a browser's long password";

/// What the browser tests need, found on this machine.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    axe: PathBuf,
}

fn in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tools, or `None` (after saying what is missing) when the test may be skipped.
fn tools() -> Option<Tools> {
    let axe = std::env::var_os("APEX_AXE_JS").map_or_else(
        || workspace().join("target/browser-test/node_modules/axe-core/axe.min.js"),
        PathBuf::from,
    );
    let found = (
        in_path("chromium"),
        in_path("chromedriver"),
        axe.is_file().then_some(axe.clone()),
    );
    match found {
        (Some(chromium), Some(chromedriver), Some(axe)) => Some(Tools {
            chromium,
            chromedriver,
            axe,
        }),
        missing => {
            let what = format!(
                "chromium: {:?}, chromedriver: {:?}, axe-core at {}: {:?}",
                missing.0,
                missing.1,
                axe.display(),
                missing.2
            );
            assert!(
                std::env::var("APEX_BROWSER_TESTS").as_deref() != Ok("required"),
                "browser tests are required but a tool is missing ({what})"
            );
            eprintln!("SKIPPED browser tests: {what} (scripts/test.sh installs them)");
            None
        }
    }
}

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(tools: &Tools) -> Self {
        let port = free_port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    /// A headless browser; `phone_dark`: a phone-sized window in the dark theme.
    async fn browser(&self, tools: &Tools, phone_dark: bool) -> Client {
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
        ];
        if phone_dark {
            args.extend(["--window-size=390,844", "--force-dark-mode"]);
        } else {
            args.push("--window-size=1280,1000");
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": tools.chromium, "args": args }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a browser session")
    }
}

/// A browser on the platform: screenshots and accessibility checks as it goes.
struct Browser {
    client: Client,
    base: String,
    axe: String,
    shots: PathBuf,
}

impl Browser {
    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .attr(name)
            .await
            .unwrap()
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    async fn wait_for(&self, css: &str, limit: Duration) {
        if let Err(e) = self
            .client
            .wait()
            .at_most(limit)
            .for_element(Locator::Css(css))
            .await
        {
            let _ = std::fs::write(
                self.shots.join("failed.png"),
                self.client.screenshot().await.unwrap_or_default(),
            );
            panic!(
                "{css} did not appear within {limit:?} ({e}) on {}:\n{}",
                self.path().await,
                self.client.source().await.unwrap_or_default()
            );
        }
    }

    /// Waits for the browser to leave pages under `prefix` (a form posted from a page with an
    /// h1 lands on another page with an h1: waiting for an h1 alone can read the old page).
    async fn wait_to_leave(&self, prefix: &str) {
        let started = std::time::Instant::now();
        while self.path().await.starts_with(prefix) && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait_for("main h1", Duration::from_secs(10)).await;
    }

    /// Waits for `css` to be gone from the page.
    async fn wait_gone(&self, css: &str) {
        let started = std::time::Instant::now();
        while self.has(css).await && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait_for("main h1", Duration::from_secs(10)).await;
    }

    /// A screenshot of the page as `name`.png, and the page's accessibility check.
    async fn page(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
        self.client.execute(&self.axe, vec![]).await.unwrap();
        let found = self
            .client
            .execute_async(
                r"const done = arguments[arguments.length - 1];
                  axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations
                      .filter(v => v.impact === 'serious' || v.impact === 'critical')
                      .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        let violations: Vec<String> = serde_json::from_value(found).unwrap();
        // Nothing was loaded from another origin (the CSP forbids it; this is what the
        // browser actually fetched).
        let foreign: Vec<String> = serde_json::from_value(
            self.client
                .execute(
                    "return performance.getEntriesByType('resource').map(e => e.name)
                       .filter(u => !u.startsWith(location.origin + '/'));",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(
            foreign.is_empty(),
            "{name} loaded from elsewhere: {foreign:?}"
        );
        assert!(
            violations.is_empty(),
            "accessibility on {name} ({}):\n{}",
            self.path().await,
            violations.join("\n")
        );
    }
}

/// `dig @server -p port +short name type`.
fn dig(server: std::net::SocketAddr, name: &str, rtype: &str) -> String {
    let out = Command::new("dig")
        .args([
            &format!("@{}", server.ip()),
            "-p",
            &server.port().to_string(),
            "+short",
            "+tries=1",
            "+time=2",
            name,
            rtype,
        ])
        .output()
        .expect("dig runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A user; with `totp`, enrolled in two-factor sign-in (the secret is returned).
async fn make_user(env: &Env, email: &str, with_totp: bool) -> Option<Vec<u8>> {
    let id = users::create_user(&env.pool, email, PASSWORD, false)
        .await
        .unwrap();
    if !with_totp {
        return None;
    }
    let core = apex_core::Core {
        pool: env.pool.clone(),
        queue: apex_core::queue::Queue::disabled(),
        platform: std::sync::Arc::new(env.config.platform().unwrap()),
    };
    let actor = Actor::cli(id, PlatformRoles::default());
    let enrolment = twofa::start(&core, &actor).await.unwrap();
    let secret = totp::secret_from_base32(&enrolment.secret).unwrap();
    twofa::confirm(&core, &actor, &totp::code_at(&secret, now()))
        .await
        .unwrap();
    Some(secret)
}

/// Signs in through the pages; with a secret, through the code form too.
async fn sign_in(b: &Browser, email: &str, secret: Option<&[u8]>, shots: bool) {
    b.goto("/domains").await;
    assert!(b.path().await.starts_with("/login"), "{}", b.path().await);
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    if shots {
        b.page("01-sign-in").await;
    }
    b.click("main button[type=submit]").await;
    if let Some(secret) = secret {
        b.wait_for("#code", Duration::from_secs(10)).await;
        // The code after the one the enrolment used.
        b.fill("#code", &totp::code_at(secret, now() + 30)).await;
        if shots {
            b.page("02-sign-in-code").await;
        }
        b.click("main button[type=submit]").await;
    }
    b.wait_to_leave("/login").await;
    let path = b.path().await;
    assert_eq!(
        path,
        "/domains",
        "{}",
        b.client.source().await.unwrap_or_default()
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_domain_owner_in_the_browser(pool: PgPool) {
    let Some(tools) = tools() else { return };
    let shots = workspace().join("target/screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let (config, key) = test_config(&shared_redis(), 1);
    let env = Env::start(pool, config, key).await;
    let driver = Driver::start(&tools);
    let b = Browser {
        client: driver.browser(&tools, false).await,
        base: env.url(""),
        axe: std::fs::read_to_string(&tools.axe).unwrap(),
        shots: shots.clone(),
    };

    // Sign in with a password and a TOTP code.
    let secret = make_user(&env, "owner@example.org", true).await.unwrap();
    sign_in(&b, "owner@example.org", Some(&secret), true).await;
    b.page("03-domains-empty").await;

    // Create a domain.
    b.click("a[href='/domains/new']").await;
    b.fill("#name", "shop.test").await;
    b.page("04-domain-new").await;
    b.click("main button[type=submit]").await;
    b.wait_for("[data-receipt]", Duration::from_secs(10)).await;

    // An A record, first with a wrong address: the error is on the field.
    b.goto("/domains/shop.test/records/new?type=A").await;
    b.fill("#name", "www").await;
    b.fill("#address", "192.0.2.300").await;
    b.click("main form.card button[type=submit]").await;
    b.wait_for("#address-error", Duration::from_secs(10)).await;
    assert_eq!(
        b.attr("#address", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert!(
        b.text("#address-error").await.contains("192.0.2.300"),
        "{}",
        b.text("#address-error").await
    );
    b.page("05-record-error").await;
    b.fill("#address", "192.0.2.10").await;
    b.click("main form.card button[type=submit]").await;

    // The receipt goes live to "served by all nameservers"; dig agrees.
    b.wait_for("[data-step=served].done", Duration::from_secs(30))
        .await;
    assert!(
        b.text("[data-summary]")
            .await
            .starts_with("Served by all nameservers")
    );
    b.page("06-receipt-served").await;
    assert_eq!(dig(env.platform.dns, "www.shop.test.", "A"), "192.0.2.10");

    // An MX with its own fields, in a form opened in place on the records page.
    b.goto("/domains/shop.test").await;
    b.client
        .find(Locator::Css("#new-type"))
        .await
        .unwrap()
        .select_by_value("MX")
        .await
        .unwrap();
    b.click("form[data-inline] button[type=submit]").await;
    b.wait_for(".inline-form #priority", Duration::from_secs(10))
        .await;
    assert_eq!(
        b.path().await,
        "/domains/shop.test",
        "the form opened in place"
    );
    b.fill(".inline-form #name", "@").await;
    b.fill(".inline-form #priority", "10").await;
    b.fill(".inline-form #target", "mail").await;
    b.page("07-record-mx-inline").await;
    b.click(".inline-form button[type=submit]").await;
    b.wait_for("[data-step=served].done", Duration::from_secs(30))
        .await;
    assert_eq!(
        dig(env.platform.dns, "shop.test.", "MX"),
        "10 mail.shop.test."
    );

    // A 2048-bit DKIM key: longer than one TXT string, pasted as it is.
    let dkim = format!(
        "v=DKIM1; k=rsa; p={}",
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5Wd".repeat(8)
    );
    b.goto("/domains/shop.test/records/new?type=TXT").await;
    b.fill("#name", "mail._domainkey").await;
    b.fill("#text", &dkim).await;
    b.click("main form.card button[type=submit]").await;
    b.wait_for("[data-step=served].done", Duration::from_secs(30))
        .await;
    let served = dig(env.platform.dns, "mail._domainkey.shop.test.", "TXT");
    let joined: String = served
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(joined, dkim, "{served}");
    assert!(
        served.matches('"').count() >= 4,
        "split into strings: {served}"
    );
    b.page("08-records").await;

    // A genuine Cloudflare export, pasted: the preview lists what changes and warns (its
    // SOA and NS are the platform's, "auto" TTLs of 1 s are raised); then it is applied.
    let cloudflare = include_str!("../zone/tests/corpus/cloudflare-export.txt")
        .replace("example.com", "shop.test");
    // Uploaded as a file, as a person would choose it.
    let upload = peers::TempDir::new("browser-upload");
    let file = upload.path().join("shop.test.txt");
    std::fs::write(&file, cloudflare).unwrap();
    b.goto("/domains/shop.test/import").await;
    b.client
        .find(Locator::Css("#file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    b.click("main form.card button[type=submit]").await;
    b.wait_for("#apply", Duration::from_secs(10)).await;
    let preview = b.text("main").await;
    assert!(
        preview.contains("Preview: nothing has changed yet"),
        "{preview}"
    );
    assert!(preview.contains("Warnings"), "{preview}");
    assert!(b.text("main").await.contains("blog"), "{preview}");
    b.page("09-import-preview").await;
    assert_eq!(dig(env.platform.dns, "blog.shop.test.", "CNAME"), "");
    b.click("#apply").await;
    b.wait_for("[data-step=served].done", Duration::from_secs(30))
        .await;
    assert_eq!(
        dig(env.platform.dns, "blog.shop.test.", "CNAME"),
        "shop.test."
    );

    // DNSSEC on: the DS to copy, and the zone served signed.
    b.goto("/domains/shop.test/dnssec").await;
    b.page("10-dnssec-off").await;
    b.click("main form.card button[type=submit]").await;
    b.wait_for("pre#ds-1", Duration::from_secs(10)).await;
    let ds = b.text("pre#ds-1").await;
    assert!(
        ds.starts_with("shop.test. DS ") && ds.contains(" 13 2 "),
        "{ds}"
    );
    assert!(b.has("button[data-copy='ds-1']").await);
    b.page("11-dnssec-on").await;
    let started = Instant::now();
    while dig(env.platform.dns, "shop.test.", "DNSKEY").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no DNSKEY served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Edited in place: the row's form opens under it.
    let www: i64 =
        sqlx::query_scalar("SELECT id FROM records WHERE name = 'www.shop.test.' AND type = 'A'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    b.goto("/domains/shop.test?type=A").await;
    b.click(&format!("a[data-inline='record-{www}']")).await;
    b.wait_for(".inline-form #address", Duration::from_secs(10))
        .await;
    b.fill(".inline-form #address", "192.0.2.11").await;
    b.click(".inline-form button[type=submit]").await;
    b.wait_for("[data-step=served].done", Duration::from_secs(30))
        .await;
    // The Cloudflare export brought a second address for www.
    let mut served: Vec<String> = dig(env.platform.dns, "www.shop.test.", "A")
        .lines()
        .map(String::from)
        .collect();
    served.sort();
    assert_eq!(served, ["192.0.2.11", "192.0.2.80"]);

    // The domain's other pages, each checked for accessibility.
    for (path, shot) in [
        ("/domains/shop.test/history", "13-history"),
        ("/domains/shop.test/sharing", "14-sharing"),
        ("/domains/shop.test/webhooks", "15-webhooks"),
        ("/domains/shop.test/settings", "16-settings"),
        ("/domains", "17-domains"),
    ] {
        b.goto(path).await;
        b.wait_for("main h1", Duration::from_secs(10)).await;
        b.page(shot).await;
    }
    assert!(b.text("main").await.contains("shop.test"));

    // An API key: made on the account page (its secret shown once), then revoked.
    b.goto("/account/keys/new").await;
    b.fill("#description", "deploy script").await;
    b.page("18-account-key-new").await;
    b.click("main form button[type=submit]").await;
    b.wait_for("#key-secret", Duration::from_secs(10)).await;
    let token = b.attr("#key-secret", "value").await.unwrap();
    let (status, _) = env
        .api_as(&token, reqwest::Method::GET, "/api/v1/domains", None)
        .await;
    assert_eq!(status, 200, "the new key works");
    b.goto("/account/keys").await;
    assert!(!b.client.source().await.unwrap().contains(&token));
    b.page("19-account-keys").await;
    b.click("main form[action$='/revoke'] button[type=submit]")
        .await;
    b.wait_for("input[name=confirm]", Duration::from_secs(10))
        .await;
    b.click("main form[action$='/revoke'] button[type=submit]")
        .await;
    // The confirmation page has an h1 too: wait for the notice the list shows after revoking.
    b.wait_for("main .notice.ok[role=status]", Duration::from_secs(10))
        .await;
    assert!(
        b.text("main").await.contains("revoked"),
        "{}",
        b.text("main").await
    );
    let (status, _) = env
        .api_as(&token, reqwest::Method::GET, "/api/v1/domains", None)
        .await;
    assert_eq!(status, 401, "the revoked key is refused");
    for (path, shot) in [
        ("/account", "19-account"),
        ("/account/password", "19-account-password"),
        ("/account/2fa", "19-account-2fa"),
        ("/account/sessions", "19-account-sessions"),
        ("/domains/shop.test/keys", "19-domain-keys"),
    ] {
        b.goto(path).await;
        b.wait_for("main h1", Duration::from_secs(10)).await;
        b.page(shot).await;
    }

    // Share the domain read-only on its Sharing page; the viewer signs in and cannot edit.
    make_user(&env, "viewer@example.org", false).await;
    b.goto("/domains/shop.test/sharing").await;
    b.fill("#email", "viewer@example.org").await;
    b.client
        .find(Locator::Css("#role"))
        .await
        .unwrap()
        .select_by_value("read")
        .await
        .unwrap();
    b.click("main form.card button[type=submit]").await;
    b.wait_for(".notice.ok", Duration::from_secs(10)).await;
    assert!(b.text("main table").await.contains("viewer@example.org"));
    b.page("20-sharing-added").await;
    b.click(".who button[type=submit]").await;
    b.wait_for(".notice.ok", Duration::from_secs(10)).await;
    b.client.delete_all_cookies().await.unwrap();
    sign_in(&b, "viewer@example.org", None, false).await;
    b.goto("/domains/shop.test").await;
    assert!(b.text("tbody").await.contains("192.0.2.11"));
    assert!(b.text("main").await.contains("Your role: read-only"));
    assert!(!b.has("form[action$='/records/new']").await);
    assert!(!b.has("input[name=id]").await);
    b.page("12-records-read-only").await;

    // A platform administrator: the administration pages, and acting as the viewer (for
    // support) under a banner that says so, until they stop.
    b.click(".who button[type=submit]").await;
    b.wait_for(".notice.ok", Duration::from_secs(10)).await;
    b.goto("/login").await;
    b.fill("#email", "admin@example.com").await;
    b.fill("#password", "a long admin password").await;
    b.click("main button[type=submit]").await;
    b.wait_to_leave("/login").await;
    for (path, shot) in [
        ("/admin", "24-admin"),
        ("/admin/users", "25-admin-users"),
        ("/admin/jobs", "26-admin-jobs"),
        ("/admin/fleet", "27-admin-fleet"),
        ("/admin/audit", "28-admin-audit"),
    ] {
        b.goto(path).await;
        b.wait_for("main h1", Duration::from_secs(10)).await;
        b.page(shot).await;
    }
    let viewer = users::find_by_email(&env.pool, "viewer@example.org")
        .await
        .unwrap();
    b.goto(&format!("/admin/users/{viewer}")).await;
    b.page("29-admin-user").await;
    b.click("form[action$='/impersonate'] button[type=submit]")
        .await;
    b.wait_for(".banner", Duration::from_secs(10)).await;
    assert!(b.text(".banner").await.contains("viewer@example.org"));
    b.goto("/domains/shop.test").await;
    b.page("30-impersonating").await;
    b.click(".banner button[type=submit]").await;
    b.wait_gone(".banner").await;
    assert!(!b.has(".banner").await);
    assert!(b.text(".who").await.contains("admin@example.com"));
    b.client.close().await.unwrap();

    // On a phone, in the dark theme: the same pages pass the same checks.
    let phone = Browser {
        client: driver.browser(&tools, true).await,
        base: env.url(""),
        axe: b.axe.clone(),
        shots: shots.clone(),
    };
    sign_in(&phone, "viewer@example.org", None, false).await;
    let dark: bool = serde_json::from_value(
        phone
            .client
            .execute(
                "return matchMedia('(prefers-color-scheme: dark)').matches;",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(dark, "the browser prefers the dark theme");
    for (path, shot) in [
        ("/domains", "20-phone-dark-domains"),
        ("/domains/shop.test", "21-phone-dark-records"),
        ("/domains/shop.test/dnssec", "22-phone-dark-dnssec"),
        ("/domains/shop.test/history", "23-phone-dark-history"),
    ] {
        phone.goto(path).await;
        phone.wait_for("main h1", Duration::from_secs(10)).await;
        phone.page(shot).await;
    }
    phone.client.close().await.unwrap();
    drop(driver);
    assert!(Path::new(&shots.join("06-receipt-served.png")).is_file());
}
