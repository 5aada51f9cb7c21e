//! The dashboard driven as a browser without JavaScript would: sign in with the second
//! factor, add a domain and records (with an error shown on its field), delete several at
//! once, share read-only; and forms without this browser's CSRF token change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use apex_core::actor::{Actor, PlatformRoles, Role};
use apex_core::auth::totp;
use apex_core::members::{self, NewMember};
use apex_core::users::{self, twofa};
use axum::http::StatusCode;
use common::*;
use sqlx::PgPool;

const OWNER: &str = "owner@example.org";
/// A second owner, without a second factor.
const OWNER_PLAIN: &str = "plain@example.org";

/// A user with a password and, when `with_totp`, an authenticator; returns the TOTP secret.
async fn user(web: &Web, email: &str, with_totp: bool) -> Option<Vec<u8>> {
    let id = users::create_user(web.pool(), email, PASSWORD, false)
        .await
        .unwrap();
    if !with_totp {
        return None;
    }
    let actor = Actor::cli(id, PlatformRoles::default());
    let enrolment = twofa::start(&web.core, &actor).await.unwrap();
    let secret = totp::secret_from_base32(&enrolment.secret).unwrap();
    twofa::confirm(&web.core, &actor, &totp::code_at(&secret, now()))
        .await
        .unwrap();
    Some(secret)
}

/// Signs in through the two forms; the code is the one after the enrolment's.
async fn sign_in(web: &Web, email: &str, secret: Option<&[u8]>) {
    let page = web.get("/domains").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Fdomains");
    let page = web.get(&page.location()).await;
    page.assert_input("email", Some("email"), "username");
    page.assert_input("password", Some("password"), "current-password");
    let page = web
        .post(
            "/login",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("next", "/domains"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let Some(secret) = secret else {
        assert_eq!(page.location(), "/domains");
        return;
    };
    assert_eq!(page.location(), "/login/2fa?next=%2Fdomains");
    let page = web.get(&page.location()).await;
    page.assert_input("code", Some("code"), "one-time-code");
    let page = web
        .post("/login/2fa", &[("code", "000000"), ("next", "/domains")])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page.attr("#code", "aria-invalid"), "true");
    let code = totp::code_at(secret, now() + 30);
    let page = web
        .post("/login/2fa", &[("code", &code), ("next", "/domains")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert_eq!(page.location(), "/domains");
}

async fn record_count(web: &Web, zone: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM records r JOIN domains d ON d.id = r.domain_id WHERE d.name = $1",
    )
    .bind(zone)
    .fetch_one(web.pool())
    .await
    .unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_owner_manages_records_and_a_viewer_only_reads(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    let secret = user(&web, OWNER, true).await.unwrap();
    sign_in(&web, OWNER, Some(&secret)).await;

    let page = web.get("/domains").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("main").contains("You have no domains yet"));
    for h in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(page.headers.contains_key(h), "{h}");
    }
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // A domain from a pasted zone file.
    web.get("/domains/new").await;
    let zone = "$ORIGIN shop.test.\n$TTL 300\nwww IN A 192.0.2.10\n@ IN MX 10 mail\n";
    let page = web
        .post("/domains", &[("name", "shop.test"), ("zone", zone)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert!(page.location().starts_with("/domains/shop.test/changes/"));
    assert_eq!(record_count(&web, "shop.test").await, 2);

    // A zone file with a bad line: nothing is created, the line is named.
    let bad = "www IN A 192.0.2.300\n";
    let page = web
        .post("/domains", &[("name", "broken.test"), ("zone", bad)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text("#zone-error").contains("line 1"),
        "{}",
        page.text("#zone-error")
    );
    // A file that parses but breaks a rule of the zone (a CNAME beside other data), found
    // once the domain exists: still nothing is kept, not even a change in the log.
    let clash = "www IN CNAME shop.test.\nwww IN A 192.0.2.1\n";
    let page = web
        .post("/domains", &[("name", "clash.test"), ("zone", clash)])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.source
    );
    assert!(page.has("#zone-error"), "{}", page.source);
    for zone in ["broken.test", "clash.test"] {
        let gone: bool = sqlx::query_scalar(
            "SELECT NOT EXISTS (SELECT 1 FROM domains WHERE name = $1)
                AND NOT EXISTS (SELECT 1 FROM changes WHERE zone = $1)",
        )
        .bind(zone)
        .fetch_one(web.pool())
        .await
        .unwrap();
        assert!(gone, "{zone}");
    }

    // A record whose address is wrong: the error is on the field, the form keeps the input.
    let page = web.get("/domains/shop.test/records/new?type=A").await;
    page.assert_input("address", Some("address"), "off");
    let page = web
        .post(
            "/domains/shop.test/records",
            &[
                ("type", "A"),
                ("name", "api"),
                ("ttl", "300"),
                ("address", "192.0.2.999"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#address", "aria-invalid"), "true");
    assert_eq!(page.attr("#address", "value"), "192.0.2.999");
    assert!(page.has("#address-error"));
    assert_eq!(record_count(&web, "shop.test").await, 2);
    // Fixed, it is added; the list shows the receipt.
    let page = web
        .post(
            "/domains/shop.test/records",
            &[
                ("type", "A"),
                ("name", "api"),
                ("ttl", "300"),
                ("address", "192.0.2.11"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get(&page.location()).await;
    assert!(page.has("[data-receipt]"));
    assert!(
        page.text("[data-summary]")
            .contains("waiting to be published")
    );

    // A DKIM key longer than one TXT string, and an MX with its own fields.
    let key = format!(
        "v=DKIM1; k=rsa; p={}",
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".repeat(9)
    );
    let page = web
        .post(
            "/domains/shop.test/records",
            &[("type", "TXT"), ("name", "sel._domainkey"), ("text", &key)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web
        .post(
            "/domains/shop.test/records",
            &[
                ("type", "MX"),
                ("name", "@"),
                ("priority", "20"),
                ("target", "backup.example.net"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get("/domains/shop.test?q=DKIM").await;
    assert!(page.text("tbody").contains(&key), "{}", page.text("tbody"));
    let page = web.get("/domains/shop.test?type=MX").await;
    assert_eq!(page.all("tbody tr").len(), 2);
    assert!(page.text("tbody").contains("20 backup.example.net."));

    // A record that is valid but suspect is saved with a remark; a remark in a link made
    // elsewhere (without this browser's signature) is not shown.
    let page = web
        .post(
            "/domains/shop.test/records",
            &[
                ("type", "TXT"),
                ("name", "spf"),
                ("text", "v=spf1 bogus:example.net ~all"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get(&page.location()).await;
    assert!(page.text(".notice.warn").contains("SPF"), "{}", page.source);
    let page = web
        .get("/domains/shop.test?warning=Call+0800+now&sig=0123456789abcdef0123456789abcdef")
        .await;
    assert!(!page.has(".notice.warn"));
    assert!(!page.source.contains("0800"));
    let spf: i64 = sqlx::query_scalar("SELECT id FROM records WHERE name = 'spf.shop.test.'")
        .fetch_one(web.pool())
        .await
        .unwrap();
    web.post(
        "/domains/shop.test/records/delete",
        &[("id", &spf.to_string()), ("confirm", "1")],
    )
    .await;

    // Editing keeps the type's form.
    let id: i64 = sqlx::query_scalar("SELECT id FROM records WHERE name = 'api.shop.test.'")
        .fetch_one(web.pool())
        .await
        .unwrap();
    let page = web.get(&format!("/domains/shop.test/records/{id}")).await;
    assert_eq!(page.attr("#address", "value"), "192.0.2.11");
    let page = web
        .post(
            &format!("/domains/shop.test/records/{id}"),
            &[
                ("type", "A"),
                ("name", "api"),
                ("ttl", "60"),
                ("address", "192.0.2.12"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);

    // Several deleted at once, after a look at what goes.
    let mx: Vec<i64> = sqlx::query_scalar("SELECT id FROM records WHERE type = 'MX' ORDER BY id")
        .fetch_all(web.pool())
        .await
        .unwrap();
    web.get("/domains/shop.test").await;
    let (a, b) = (mx[0].to_string(), mx[1].to_string());
    let page = web
        .post(
            "/domains/shop.test/records/delete",
            &[("id", &a), ("id", &b)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.all("tbody tr").len(), 2);
    assert_eq!(record_count(&web, "shop.test").await, 5);
    let page = web
        .post(
            "/domains/shop.test/records/delete",
            &[("id", &a), ("id", &b), ("confirm", "1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(record_count(&web, "shop.test").await, 3);

    // Without this browser's token, nothing changes.
    let page = web
        .post(
            "/domains/shop.test/records",
            &[
                ("type", "A"),
                ("name", "x"),
                ("address", "192.0.2.1"),
                ("csrf", "nope"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(record_count(&web, "shop.test").await, 3);

    // Shared read-only: the viewer sees the records but no form, and a forged post fails.
    let owner_id = users::find_by_email(web.pool(), OWNER).await.unwrap();
    user(&web, "viewer@example.org", false).await;
    user(&web, OWNER_PLAIN, false).await;
    members::add(
        &web.core,
        &Actor::cli(owner_id, PlatformRoles::default()),
        "shop.test",
        &NewMember {
            email: "viewer@example.org".into(),
            role: Role::Read,
        },
    )
    .await
    .unwrap();
    web.clear_cookies();
    sign_in(&web, "viewer@example.org", None).await;
    let page = web.get("/domains/shop.test").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("tbody").contains("192.0.2.12"));
    assert!(!page.has("form[action$='/records/new']"));
    assert!(!page.has("input[name=id]"));
    let page = web
        .post(
            "/domains/shop.test/records",
            &[("type", "A"), ("name", "x"), ("address", "192.0.2.1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.source);
    assert_eq!(record_count(&web, "shop.test").await, 3);

    // Internationalised names read in Unicode, in the list and on the records page.
    web.clear_cookies();
    web.sign_in(OWNER_PLAIN).await;
    web.get("/domains/new").await;
    let page = web
        .post("/domains", &[("name", "bücher.test"), ("zone", "")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    web.get("/domains/xn--bcher-kva.test/records/new?type=A")
        .await;
    let page = web
        .post(
            "/domains/xn--bcher-kva.test/records",
            &[("type", "A"), ("name", "müller"), ("address", "192.0.2.8")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get("/domains?q=bücher").await;
    assert!(
        page.text("tbody").contains("bücher.test"),
        "{}",
        page.text("tbody")
    );
    assert!(page.text("tbody").contains("xn--bcher-kva.test"));
    let page = web.get("/domains/xn--bcher-kva.test").await;
    assert_eq!(page.text("h1"), "bücher.test xn--bcher-kva.test");
    assert!(
        page.text("tbody").contains("müller"),
        "{}",
        page.text("tbody")
    );

    // Signing out ends the session.
    let page = web.post("/logout", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(web.get("/domains").await.status, StatusCode::SEE_OTHER);
}
