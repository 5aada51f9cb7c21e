//! A domain's other pages, as a browser without JavaScript uses them: history with diffs,
//! sharing (invite, change a role, withdraw an invitation, remove), settings (SOA timers with
//! an error on its field, secondaries, deleting the domain by typing its name), webhooks
//! (the secret shown once, deliveries), import with its preview, and DNSSEC on and off.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::{domains, users};
use axum::http::{StatusCode, header};
use common::*;
use sqlx::PgPool;

const OWNER: &str = "owner@example.org";

/// A platform whose webhooks may point at loopback (the test's own addresses).
fn web(pool: PgPool) -> Web {
    let mut c = config("invite");
    c.webhook_allow_private = true;
    c.webhook_ports = vec!["*".into()];
    Web::new(pool, &c)
}

/// An owner with a domain, signed in.
async fn signed_in_owner(web: &Web) {
    let id = users::create_user(web.pool(), OWNER, PASSWORD, false)
        .await
        .unwrap();
    domains::create(
        &web.core,
        &Actor::cli(id, PlatformRoles::default()),
        "shop.test",
    )
    .await
    .unwrap();
    web.get("/login").await;
    let page = web
        .post(
            "/login",
            &[
                ("email", OWNER),
                ("password", PASSWORD),
                ("next", "/domains"),
            ],
        )
        .await;
    assert_eq!(page.location(), "/domains", "{}", page.source);
}

async fn scalar<T>(web: &Web, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql).fetch_one(web.pool()).await.unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn history_shows_who_changed_what(pool: PgPool) {
    let web = web(pool);
    signed_in_owner(&web).await;
    web.get("/domains/shop.test/records/new?type=A").await;
    web.post(
        "/domains/shop.test/records",
        &[
            ("type", "A"),
            ("name", "www"),
            ("ttl", "300"),
            ("address", "192.0.2.1"),
        ],
    )
    .await;
    let page = web.get("/domains/shop.test/history").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text("main");
    assert!(text.contains("Record added"), "{text}");
    assert!(
        text.contains("by owner@example.org through the dashboard"),
        "{text}"
    );
    assert!(text.contains("www 300 A 192.0.2.1"), "{text}");
    assert!(text.contains("Domain created"), "{text}");
    assert_eq!(page.all("article").len(), 2);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn sharing_invites_changes_and_removes(pool: PgPool) {
    let web = web(pool);
    signed_in_owner(&web).await;
    users::create_user(web.pool(), "bob@example.org", PASSWORD, false)
        .await
        .unwrap();
    web.get("/domains/shop.test/sharing").await;
    // Someone with an account is added at once.
    let page = web
        .post(
            "/domains/shop.test/members",
            &[("email", "bob@example.org"), ("role", "read")],
        )
        .await;
    assert_eq!(page.location(), "/domains/shop.test/sharing?done=added");
    // Someone without gets an invitation, which can be withdrawn.
    let page = web
        .post(
            "/domains/shop.test/members",
            &[("email", "new@example.org"), ("role", "write")],
        )
        .await;
    assert_eq!(page.location(), "/domains/shop.test/sharing?done=invited");
    // A bad address: the error is on the field.
    let page = web
        .post(
            "/domains/shop.test/members",
            &[("email", "not an address"), ("role", "read")],
        )
        .await;
    assert_eq!(page.attr("#email", "aria-invalid"), "true");
    let page = web.get("/domains/shop.test/sharing").await;
    assert!(page.text("main").contains("bob@example.org"));
    assert!(page.text("main").contains("new@example.org"));
    let invitation: i64 = scalar(
        &web,
        "SELECT id FROM invitations WHERE email = 'new@example.org'",
    )
    .await;
    let page = web
        .post(
            &format!("/domains/shop.test/invitations/{invitation}/revoke"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let bob: i64 = scalar(&web, "SELECT id FROM users WHERE email = 'bob@example.org'").await;
    web.get("/domains/shop.test/sharing").await;
    let page = web
        .post(
            &format!("/domains/shop.test/members/{bob}"),
            &[("role", "write")],
        )
        .await;
    assert_eq!(page.location(), "/domains/shop.test/sharing?done=role");
    let role: String = scalar(&web, "SELECT role::text FROM domain_members WHERE user_id = (SELECT id FROM users WHERE email = 'bob@example.org')").await;
    assert_eq!(role, "write");
    let page = web
        .post(&format!("/domains/shop.test/members/{bob}/remove"), &[])
        .await;
    assert_eq!(page.location(), "/domains/shop.test/sharing?done=removed");
    let members: i64 = scalar(&web, "SELECT count(*) FROM domain_members").await;
    assert_eq!(members, 1);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn settings_soa_secondaries_and_deletion(pool: PgPool) {
    let web = web(pool);
    signed_in_owner(&web).await;
    let page = web.get("/domains/shop.test/settings").await;
    let refresh = page.attr("#refresh", "value");
    let page = web
        .post(
            "/domains/shop.test/settings",
            &[
                ("refresh", "5"),
                ("retry", ""),
                ("expire", ""),
                ("minimum", ""),
                ("ttl", ""),
                ("serial_policy", "date"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#refresh", "aria-invalid"), "true");
    assert_eq!(page.attr("#refresh", "value"), "5");
    let page = web
        .post(
            "/domains/shop.test/settings",
            &[
                ("refresh", "7200"),
                ("retry", ""),
                ("expire", ""),
                ("minimum", ""),
                ("ttl", ""),
                ("serial_policy", "date"),
            ],
        )
        .await;
    assert_eq!(
        page.location(),
        "/domains/shop.test/settings?saved=1",
        "{}",
        page.source
    );
    let page = web.get(&page.location()).await;
    assert_eq!(page.attr("#refresh", "value"), "7200");
    assert_ne!(refresh, "7200");
    let page = web
        .post(
            "/domains/shop.test/secondaries",
            &[("secondaries", "ns3.example.net. 45.77.0.53\n")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get("/domains/shop.test/settings").await;
    assert_eq!(page.text("#secondaries"), "ns3.example.net. 45.77.0.53");
    let page = web
        .post("/domains/shop.test/delete", &[("confirm_name", "shop")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has("#confirm_name-error"));
    let page = web
        .post(
            "/domains/shop.test/delete",
            &[("confirm_name", "shop.test")],
        )
        .await;
    assert_eq!(page.location(), "/domains");
    let left: i64 = scalar(&web, "SELECT count(*) FROM domains").await;
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn webhooks_show_their_secret_once(pool: PgPool) {
    let web = web(pool);
    signed_in_owner(&web).await;
    web.get("/domains/shop.test/webhooks").await;
    let page = web
        .post(
            "/domains/shop.test/webhooks",
            &[("url", "ftp://example.net/"), ("events", "zone.published")],
        )
        .await;
    assert_eq!(page.attr("#url", "aria-invalid"), "true");
    let page = web
        .post(
            "/domains/shop.test/webhooks",
            &[
                ("url", "http://127.0.0.1:9/hook"),
                ("events", "zone.in_sync"),
                ("description", "ci"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.source);
    let secret = page.text("#webhook-secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let page = web.get("/domains/shop.test/webhooks").await;
    assert!(!page.source.contains(&secret));
    assert!(page.text("tbody").contains("zone.in_sync"));
    let id: i64 = scalar(&web, "SELECT id FROM webhooks").await;
    let page = web.get(&format!("/domains/shop.test/webhooks/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("main").contains("Nothing was sent yet"));
    let page = web
        .post(&format!("/domains/shop.test/webhooks/{id}/delete"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let left: i64 = scalar(&web, "SELECT count(*) FROM webhooks").await;
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn import_preview_then_apply_and_dnssec(pool: PgPool) {
    let web = web(pool);
    signed_in_owner(&web).await;
    web.get("/domains/shop.test/import").await;
    let zone = "$ORIGIN shop.test.\nwww 300 IN A 192.0.2.5\nmail 300 IN A 192.0.2.6\n";
    let page = web
        .post(
            "/domains/shop.test/import",
            &[("zone", zone), ("mode", "merge")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text("main")
            .contains("Preview: nothing has changed yet")
    );
    assert!(page.has("#apply"));
    assert_eq!(page.all("tr.diff-add").len(), 2);
    let records: i64 = scalar(&web, "SELECT count(*) FROM records").await;
    assert_eq!(records, 0);
    let page = web
        .post(
            "/domains/shop.test/import",
            &[("zone", zone), ("mode", "merge"), ("apply", "1")],
        )
        .await;
    assert!(
        page.location().starts_with("/domains/shop.test?change="),
        "{}",
        page.source
    );
    let records: i64 = scalar(&web, "SELECT count(*) FROM records").await;
    assert_eq!(records, 2);
    let history = web.get("/domains/shop.test/history").await.text("main");
    assert!(history.contains("Zone file imported"), "{history}");
    assert!(history.contains("www 300 A 192.0.2.5"), "{history}");
    // Uploaded as a file (multipart), with the page's token; without it, refused.
    let upload = |token: &str| {
        let b = "----apexboundary";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"zone\"\r\n\r\n\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nmerge\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shop.zone\"\r\n\
             Content-Type: text/plain\r\n\r\nftp 300 IN A 192.0.2.7\n\r\n--{b}--\r\n"
        );
        axum::http::Request::post("/domains/shop.test/import")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, PUBLIC_URL)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    web.get("/domains/shop.test/import").await;
    let page = web.send(upload("not-the-token")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = web.send(upload(&web.csrf())).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(
        page.text("main").contains("ftp 300 A 192.0.2.7")
            || page.text("tbody").contains("192.0.2.7"),
        "{}",
        page.text("main")
    );
    // The preview carries the uploaded text on to "Apply".
    assert!(page.text("#zone-again").contains("192.0.2.7"));

    // A bad line is named.
    let page = web
        .post(
            "/domains/shop.test/import",
            &[("zone", "www 300 IN A 300.1.1.1\n"), ("mode", "merge")],
        )
        .await;
    assert!(page.text("#zone-error").contains("line 1"));
    // The export is a download.
    let page = web.get("/domains/shop.test/export").await;
    assert_eq!(
        page.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"shop.test.zone\""
    );
    assert!(page.source.contains("192.0.2.5"));

    web.get("/domains/shop.test/dnssec").await;
    let page = web
        .post(
            "/domains/shop.test/dnssec",
            &[
                ("enabled", "true"),
                ("algorithm", "ED25519"),
                ("denial", "nsec"),
                ("keys", "csk"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get("/domains/shop.test/dnssec").await;
    assert!(page.text("pre#ds-1").starts_with("shop.test. DS "));
    assert!(page.text("main").contains("Ed25519") || page.text("main").contains("ED25519"));
    let page = web
        .post(
            "/domains/shop.test/dnssec",
            &[("enabled", "false"), ("force", "1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let state: String = scalar(&web, "SELECT dnssec_state FROM domains").await;
    assert_eq!(state, "off");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn domain_keys_are_made_shown_once_and_revoked(pool: PgPool) {
    let web = web(pool);
    signed_in_owner(&web).await;
    web.get("/domains/shop.test/keys").await;
    let page = web
        .post(
            "/domains/shop.test/keys",
            &[
                ("description", "certbot"),
                ("role", "write"),
                ("records", "_acme-challenge.*"),
                ("record_types", "TXT"),
                ("networks", "not-a-network"),
            ],
        )
        .await;
    assert_eq!(
        page.attr("#networks", "aria-invalid"),
        "true",
        "{}",
        page.source
    );
    assert_eq!(page.attr("#records", "value"), "_acme-challenge.*");
    let page = web
        .post(
            "/domains/shop.test/keys",
            &[
                ("description", "certbot"),
                ("role", "write"),
                ("records", "_acme-challenge.*"),
                ("record_types", "TXT"),
                ("networks", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.source);
    let secret = page.attr("#key-secret", "value");
    assert!(secret.len() > 20);
    let page = web.get("/domains/shop.test/keys").await;
    assert!(!page.source.contains(&secret));
    assert!(
        page.text("tbody").contains("_acme-challenge.* (TXT)"),
        "{}",
        page.text("tbody")
    );
    let id: i64 = scalar(&web, "SELECT id FROM api_keys WHERE name = 'certbot'").await;
    let page = web
        .post(&format!("/domains/shop.test/keys/{id}/revoke"), &[])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("main").contains("Revoke the key “certbot”?"));
    let revoked: bool = scalar(
        &web,
        "SELECT revoked_at IS NOT NULL FROM api_keys WHERE name = 'certbot'",
    )
    .await;
    assert!(!revoked);
    let page = web
        .post(
            &format!("/domains/shop.test/keys/{id}/revoke"),
            &[("confirm", "1")],
        )
        .await;
    assert_eq!(page.location(), "/domains/shop.test/keys");
    let revoked: bool = scalar(
        &web,
        "SELECT revoked_at IS NOT NULL FROM api_keys WHERE name = 'certbot'",
    )
    .await;
    assert!(revoked);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn changing_a_key_keeps_limits_the_form_cannot_show(pool: PgPool) {
    let web = web(pool);
    signed_in_owner(&web).await;
    // A key made through the API: other types for each name, an expiry at 12:34.
    let owner = users::find_by_email(web.pool(), OWNER).await.unwrap();
    let input = apex_core::auth::keys::KeyInput {
        description: "ci".into(),
        expires_at: Some("2031-06-01T12:34:00Z".parse().unwrap()),
        domains: None,
        role: Some(apex_core::actor::Role::Write),
        records: Some(vec![
            apex_core::actor::RecordScope {
                name: "_acme-challenge.*".into(),
                types: vec!["TXT".into()],
            },
            apex_core::actor::RecordScope {
                name: "www.shop.test".into(),
                types: vec![],
            },
        ]),
        networks: None,
        manage_keys: false,
        manage_members: false,
        manage_account: false,
        platform_roles: false,
    };
    apex_core::auth::keys::create_domain_key(
        &web.core,
        &Actor::cli(owner, PlatformRoles::default()),
        "shop.test",
        input,
    )
    .await
    .unwrap();
    let id: i64 = scalar(&web, "SELECT id FROM api_keys WHERE name = 'ci'").await;
    let before: (String, String) =
        sqlx::query_as("SELECT record_scopes::text, expires_at::text FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_one(web.pool())
            .await
            .unwrap();
    // Only the name changes on the form.
    let page = web.get(&format!("/domains/shop.test/keys/{id}")).await;
    let field = |css: &str| page.attr(css, "value");
    let form = [
        ("description", "ci runner".to_string()),
        ("role", "write".to_string()),
        ("expires_at", field("#expires_at")),
        ("records", field("#records")),
        ("record_types", field("#record_types")),
        ("networks", field("#networks")),
        ("shown_records", field("input[name=shown_records]")),
        ("shown_expiry", field("input[name=shown_expiry]")),
    ];
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = web
        .post(&format!("/domains/shop.test/keys/{id}"), &pairs)
        .await;
    assert_eq!(
        page.location(),
        "/domains/shop.test/keys",
        "{}",
        page.source
    );
    let after: (String, String, String) = sqlx::query_as(
        "SELECT record_scopes::text, expires_at::text, name FROM api_keys WHERE id = $1",
    )
    .bind(id)
    .fetch_one(web.pool())
    .await
    .unwrap();
    assert_eq!((after.0, after.1), before);
    assert_eq!(after.2, "ci runner");
}
